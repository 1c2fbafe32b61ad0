// Verification of signed certificates against a signed trust list: each kind of tampering, time
// and trust failure gives its own verdict.
#include "gateway/certificates/certificate_verifier.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "gateway/base/cities.h"
#include "gateway/certificates/certificate_payload.h"
#include "gateway/certificates/trust_list.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/signing/test_keys.h"

namespace interop::certificates {
namespace {

namespace pb = ::interop::certificates::v1;
using ::testing::HasSubstr;
using signing::SigningKey;
using signing::test_support::NewPrivateKeyPem;
using signing::test_support::PublicPemOf;

const absl::Time kIssued = absl::FromUnixSeconds(1780000000);  // 2026-05-28

std::unique_ptr<SigningKey> NewKey(const char* curve) {
  absl::StatusOr<std::unique_ptr<SigningKey>> key = SigningKey::FromPem(NewPrivateKeyPem(curve), curve);
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

pb::TrustedKey Trusted(common::v1::City city, const SigningKey& key) {
  pb::TrustedKey trusted;
  *trusted.mutable_city() = MakeCityInfo(city);
  trusted.set_key_id(signing::DeriveKeyId(city, key.public_key()));
  trusted.set_algorithm(ToProto(key.algorithm()));
  trusted.set_public_key_der(key.public_key().der());
  return trusted;
}

class CertificateVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gateway_ = NewKey("P-256");
    impostor_gateway_ = NewKey("P-256");
    taiyuan_ = NewKey("P-256");
    jinzhong_ = NewKey("SM2");
    lvliang_revoked_ = NewKey("P-256");
    yangquan_windowed_ = NewKey("P-256");
    stranger_ = NewKey("P-256");
    list_.set_version(7);
    list_.set_issued_at_unix(absl::ToUnixSeconds(kIssued));
    *list_.add_keys() = Trusted(common::v1::CITY_TAIYUAN, *taiyuan_);
    *list_.add_keys() = Trusted(common::v1::CITY_JINZHONG, *jinzhong_);
    pb::TrustedKey revoked = Trusted(common::v1::CITY_LVLIANG, *lvliang_revoked_);
    revoked.set_revoked_at_unix(absl::ToUnixSeconds(kIssued + absl::Hours(1)));
    *list_.add_keys() = revoked;
    pb::TrustedKey windowed = Trusted(common::v1::CITY_YANGQUAN, *yangquan_windowed_);
    windowed.set_valid_from_unix(absl::ToUnixSeconds(kIssued - absl::Hours(24 * 365)));
    windowed.set_valid_to_unix(absl::ToUnixSeconds(kIssued - absl::Hours(24)));
    *list_.add_keys() = windowed;
    absl::StatusOr<pb::SignedTrustList> signed_list = SignTrustList(list_, *gateway_);
    ASSERT_TRUE(signed_list.ok()) << signed_list.status();
    signed_list_ = *signed_list;
  }

  pb::CertificatePayload Payload(common::v1::City issuer, const SigningKey& key) {
    pb::CertificatePayload payload =
        NewPayload(pb::CERTIFICATE_KIND_RESIDENCE, issuer, signing::DeriveKeyId(issuer, key.public_key()),
                   "14010519900307125X", "尹璐洁", kIssued, absl::Hours(24 * 90));
    pb::ResidenceClaims* claims = payload.mutable_residence();
    *claims->mutable_registered_city() = MakeCityInfo(issuer);
    claims->set_address_code("140105");
    return payload;
  }

  pb::SignedCertificate Sign(const pb::CertificatePayload& payload, const SigningKey& key) {
    pb::SignedCertificate certificate;
    certificate.set_payload(payload.SerializeAsString());
    absl::StatusOr<std::string> signature = key.Sign(certificate.payload());
    EXPECT_TRUE(signature.ok()) << signature.status();
    certificate.set_signature(*signature);
    certificate.set_algorithm(ToProto(key.algorithm()));
    certificate.set_key_id(payload.key_id());
    return certificate;
  }

  pb::SignedCertificate TaiyuanCertificate() { return Sign(Payload(common::v1::CITY_TAIYUAN, *taiyuan_), *taiyuan_); }

  Verdict Check(const pb::SignedCertificate& certificate, absl::Time at = kIssued + absl::Hours(2)) {
    return VerifyCertificate(signed_list_, gateway_->public_key(), certificate, at);
  }

  std::unique_ptr<SigningKey> gateway_, impostor_gateway_, taiyuan_, jinzhong_, lvliang_revoked_, yangquan_windowed_,
      stranger_;
  pb::TrustList list_;
  pb::SignedTrustList signed_list_;
};

TEST_F(CertificateVerifierTest, ValidEcdsaCertificate) {
  Verdict verdict = Check(TaiyuanCertificate());
  EXPECT_EQ(verdict.result, pb::VERIFICATION_RESULT_VALID) << verdict.reason;
  EXPECT_TRUE(verdict.valid());
  ASSERT_TRUE(verdict.payload.has_value());
  EXPECT_EQ(verdict.payload->subject_resident_id(), "14010519900307125X");
  EXPECT_EQ(verdict.trust_list_version, 7u);
  EXPECT_THAT(verdict.reason, HasSubstr("taiyuan"));
}

TEST_F(CertificateVerifierTest, ValidSm2Certificate) {
  Verdict verdict = Check(Sign(Payload(common::v1::CITY_JINZHONG, *jinzhong_), *jinzhong_));
  EXPECT_EQ(verdict.result, pb::VERIFICATION_RESULT_VALID) << verdict.reason;
}

TEST_F(CertificateVerifierTest, EveryFlippedPayloadByteIsTampering) {
  const pb::SignedCertificate original = TaiyuanCertificate();
  for (size_t i = 0; i < original.payload().size(); ++i) {
    pb::SignedCertificate certificate = original;
    (*certificate.mutable_payload())[i] ^= 0x01;
    Verdict verdict = Check(certificate);
    ASSERT_EQ(verdict.result, pb::VERIFICATION_RESULT_TAMPERED) << "byte " << i << ": " << verdict.reason;
    EXPECT_FALSE(verdict.payload.has_value());
  }
}

TEST_F(CertificateVerifierTest, FlippedSignatureIsTampering) {
  pb::SignedCertificate certificate = TaiyuanCertificate();
  (*certificate.mutable_signature())[certificate.signature().size() - 3] ^= 0x40;
  Verdict verdict = Check(certificate);
  EXPECT_EQ(verdict.result, pb::VERIFICATION_RESULT_TAMPERED);
  EXPECT_THAT(verdict.reason, HasSubstr("altered"));
}

TEST_F(CertificateVerifierTest, KeyIdSwappedToAnotherCitysKeyIsTampering) {
  pb::SignedCertificate certificate = TaiyuanCertificate();
  certificate.set_key_id(list_.keys(1).key_id());  // Jinzhong's (SM2)
  certificate.set_algorithm(list_.keys(1).algorithm());
  EXPECT_EQ(Check(certificate).result, pb::VERIFICATION_RESULT_TAMPERED);
}

TEST_F(CertificateVerifierTest, IssuerCityChangedInsideThePayloadIsTampering) {
  pb::SignedCertificate certificate = TaiyuanCertificate();
  pb::CertificatePayload payload;
  ASSERT_TRUE(payload.ParseFromString(certificate.payload()));
  *payload.mutable_issuer() = MakeCityInfo(common::v1::CITY_XINZHOU);
  certificate.set_payload(payload.SerializeAsString());
  EXPECT_EQ(Check(certificate).result, pb::VERIFICATION_RESULT_TAMPERED);
}

TEST_F(CertificateVerifierTest, CitySigningInAnotherCitysNameIsIssuerMismatch) {
  pb::CertificatePayload payload = Payload(common::v1::CITY_TAIYUAN, *taiyuan_);
  *payload.mutable_issuer() = MakeCityInfo(common::v1::CITY_XINZHOU);
  Verdict verdict = Check(Sign(payload, *taiyuan_));
  EXPECT_EQ(verdict.result, pb::VERIFICATION_RESULT_ISSUER_MISMATCH);
  EXPECT_THAT(verdict.reason, HasSubstr("xinzhou"));

  payload = Payload(common::v1::CITY_TAIYUAN, *taiyuan_);
  pb::SignedCertificate certificate = Sign(payload, *taiyuan_);
  payload.set_key_id("taiyuan-0000000000000000");
  certificate.set_payload(payload.SerializeAsString());
  *certificate.mutable_signature() = *taiyuan_->Sign(certificate.payload());
  EXPECT_EQ(Check(certificate).result, pb::VERIFICATION_RESULT_ISSUER_MISMATCH);
}

TEST_F(CertificateVerifierTest, AlgorithmChangedIsTampering) {
  pb::SignedCertificate certificate = TaiyuanCertificate();
  certificate.set_algorithm(pb::SIGNATURE_ALGORITHM_SM2_SM3);
  Verdict verdict = Check(certificate);
  EXPECT_EQ(verdict.result, pb::VERIFICATION_RESULT_TAMPERED);
  EXPECT_THAT(verdict.reason, HasSubstr("SIGNATURE_ALGORITHM_SM2_SM3"));
}

TEST_F(CertificateVerifierTest, ExpiredAndNotYetValid) {
  pb::SignedCertificate certificate = TaiyuanCertificate();
  Verdict expired = Check(certificate, kIssued + absl::Hours(24 * 90));
  EXPECT_EQ(expired.result, pb::VERIFICATION_RESULT_EXPIRED);
  EXPECT_THAT(expired.reason, HasSubstr("expired at 2026-08-26"));
  EXPECT_TRUE(expired.payload.has_value());
  EXPECT_EQ(Check(certificate, kIssued + absl::Hours(24 * 90) - absl::Seconds(1)).result,
            pb::VERIFICATION_RESULT_VALID);
  EXPECT_EQ(Check(certificate, kIssued).result, pb::VERIFICATION_RESULT_VALID);
  EXPECT_EQ(Check(certificate, kIssued - absl::Seconds(1)).result, pb::VERIFICATION_RESULT_NOT_YET_VALID);
}

TEST_F(CertificateVerifierTest, UnknownIssuer) {
  pb::SignedCertificate certificate = Sign(Payload(common::v1::CITY_XINZHOU, *stranger_), *stranger_);
  Verdict verdict = Check(certificate);
  EXPECT_EQ(verdict.result, pb::VERIFICATION_RESULT_UNKNOWN_ISSUER);
  EXPECT_THAT(verdict.reason, HasSubstr(certificate.key_id()));
}

TEST_F(CertificateVerifierTest, RevokedKeyEvenForCertificatesClaimingEarlierIssue) {
  // Issued (by its own claim) an hour before the revocation: still refused.
  Verdict verdict = Check(Sign(Payload(common::v1::CITY_LVLIANG, *lvliang_revoked_), *lvliang_revoked_));
  EXPECT_EQ(verdict.result, pb::VERIFICATION_RESULT_REVOKED_KEY);
  EXPECT_THAT(verdict.reason, HasSubstr("revoked at 2026-05-28T"));
}

TEST_F(CertificateVerifierTest, IssuedOutsideTheKeysValidity) {
  Verdict verdict = Check(Sign(Payload(common::v1::CITY_YANGQUAN, *yangquan_windowed_), *yangquan_windowed_));
  EXPECT_EQ(verdict.result, pb::VERIFICATION_RESULT_KEY_NOT_VALID);
}

TEST_F(CertificateVerifierTest, SignedGarbageOrIncompletePayloadIsMalformed) {
  pb::SignedCertificate certificate = TaiyuanCertificate();
  certificate.set_payload("\xff\xff\xff");
  *certificate.mutable_signature() = *taiyuan_->Sign(certificate.payload());
  EXPECT_EQ(Check(certificate).result, pb::VERIFICATION_RESULT_MALFORMED);

  pb::CertificatePayload payload = Payload(common::v1::CITY_TAIYUAN, *taiyuan_);
  payload.clear_residence();
  Verdict verdict = Check(Sign(payload, *taiyuan_));
  EXPECT_EQ(verdict.result, pb::VERIFICATION_RESULT_MALFORMED);
  EXPECT_THAT(verdict.reason, HasSubstr("residence"));
}

TEST_F(CertificateVerifierTest, TamperedTrustList) {
  pb::TrustList forged = list_;
  forged.mutable_keys(0)->set_public_key_der(stranger_->public_key().der());
  pb::SignedTrustList tampered = signed_list_;
  tampered.set_trust_list(forged.SerializeAsString());
  Verdict verdict = VerifyCertificate(tampered, gateway_->public_key(), TaiyuanCertificate(), kIssued);
  EXPECT_EQ(verdict.result, pb::VERIFICATION_RESULT_TRUST_LIST_INVALID);
  EXPECT_THAT(verdict.reason, HasSubstr("altered"));
}

TEST_F(CertificateVerifierTest, TrustListSignedBySomeoneElse) {
  absl::StatusOr<pb::SignedTrustList> impostor = SignTrustList(list_, *impostor_gateway_);
  ASSERT_TRUE(impostor.ok());
  EXPECT_EQ(VerifyCertificate(*impostor, gateway_->public_key(), TaiyuanCertificate(), kIssued).result,
            pb::VERIFICATION_RESULT_TRUST_LIST_INVALID);
  // ... and a list signed with SM2 when the gateway's key is P-256.
  std::unique_ptr<SigningKey> sm2 = NewKey("SM2");
  absl::StatusOr<pb::SignedTrustList> other_algorithm = SignTrustList(list_, *sm2);
  EXPECT_EQ(VerifyCertificate(*other_algorithm, gateway_->public_key(), TaiyuanCertificate(), kIssued).result,
            pb::VERIFICATION_RESULT_TRUST_LIST_INVALID);
}

TEST_F(CertificateVerifierTest, CurrentKeyPerCity) {
  absl::StatusOr<VerifiedTrustList> trust = VerifiedTrustList::Open(signed_list_, gateway_->public_key());
  ASSERT_TRUE(trust.ok()) << trust.status();
  const pb::TrustedKey* taiyuan = trust->CurrentKey(common::v1::CITY_TAIYUAN, kIssued);
  ASSERT_NE(taiyuan, nullptr);
  EXPECT_EQ(taiyuan->key_id(), list_.keys(0).key_id());
  EXPECT_EQ(trust->CurrentKey(common::v1::CITY_LVLIANG, kIssued), nullptr);   // revoked
  EXPECT_EQ(trust->CurrentKey(common::v1::CITY_YANGQUAN, kIssued), nullptr);  // expired
  EXPECT_EQ(trust->CurrentKey(common::v1::CITY_XINZHOU, kIssued), nullptr);   // none
  EXPECT_EQ(ResultName(pb::VERIFICATION_RESULT_REVOKED_KEY), "REVOKED_KEY");
}

// BuildTrustList reads the configured public key files and names the field at fault.
TEST(BuildTrustListTest, FromConfiguredFiles) {
  const std::string dir = ::testing::TempDir();
  std::string pem = NewPrivateKeyPem("P-256");
  std::ofstream(dir + "/taiyuan.pub.pem") << PublicPemOf(pem);
  config::v1::CertificatesConfig config;
  config.set_trust_list_version(3);
  config::v1::CitySigningKey* key = config.add_city_keys();
  key->set_city(common::v1::CITY_TAIYUAN);
  key->set_public_key_file(dir + "/taiyuan.pub.pem");
  key->set_valid_from("2026-01-01T00:00:00+08:00");
  key->set_revoked_at("2026-06-01T00:00:00Z");
  absl::StatusOr<pb::TrustList> list = BuildTrustList(config, kIssued);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->version(), 3u);
  ASSERT_EQ(list->keys_size(), 1);
  EXPECT_THAT(list->keys(0).key_id(), ::testing::StartsWith("taiyuan-"));
  EXPECT_EQ(list->keys(0).valid_from_unix(), 1767196800);
  EXPECT_EQ(list->keys(0).revoked_at_unix(), 1780272000);
  EXPECT_EQ(list->keys(0).algorithm(), pb::SIGNATURE_ALGORITHM_ECDSA_P256_SHA256);

  key->set_revoked_at("yesterday");
  absl::Status bad = BuildTrustList(config, kIssued).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.message()), HasSubstr("certificates.city_keys[0].revoked_at"));
  key->set_revoked_at("");
  key->set_public_key_file(dir + "/missing.pem");
  EXPECT_THAT(std::string(BuildTrustList(config, kIssued).status().message()),
              HasSubstr("certificates.city_keys[0].public_key_file"));
  key->set_public_key_file(dir + "/taiyuan.pub.pem");
  *config.add_city_keys() = *key;
  EXPECT_THAT(std::string(BuildTrustList(config, kIssued).status().message()), HasSubstr("appears twice"));
}

}  // namespace
}  // namespace interop::certificates
