// CertificateService (gateway/services/certificate_service.h) in process: the service behind the
// real CallGuard (reference access policy, development callers), a ManualClock, a trust list signed
// by a gateway key made here, and fake cities that hold a few persons' records and sign with their
// own keys through the mock cities' signer (tools/mock_city/certificate_signer.h), which never signs
// in another city's name.
//
// Covered: issuing each kind (who signs, the claims, the times, the provenance); every refusal of
// the issuing methods (not configured, invalid fields, no record, no current key for the signing
// city, the city refusing, down, unable to sign, or answering a signature that does not verify);
// VerifyCertificate with every verdict it can give, agreeing with the offline verifier library on
// the saved trust list; GetTrustList; who may call what.
#include "gateway/services/certificate_service.h"

#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/base/cities.h"
#include "gateway/certificates/certificate_payload.h"
#include "gateway/certificates/certificate_verifier.h"
#include "gateway/certificates/trust_list.h"
#include "gateway/identity/resident_id.h"
#include "gateway/signing/signing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/services/service_test_support.h"
#include "tests/gateway/signing/test_keys.h"
#include "tools/mock_city/certificate_signer.h"

namespace interop::services {
namespace {

namespace pb = ::interop::certificates::v1;
using ::interop::common::v1::City;
using test_support::Access;
using test_support::BadRequestFieldOf;
using test_support::Context;
using test_support::Describe;
using test_support::Person;
using test_support::ReasonOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// 2026-07-01 09:00 in China.
const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2026, 7, 1, 9, 0, 0), absl::FixedTimeZone(8 * 3600));
constexpr absl::Duration kDefaultValidity = absl::Hours(24 * 90);

// A valid 18-character number from its first 17 digits.
std::string Id(const std::string& first17) { return first17 + identity::ComputeCheckCharacter(first17); }

social::v1::ContributionEntry Month(City city, int year, int month, social::v1::InsuranceKind kind,
                                    int64_t base) {
  social::v1::ContributionEntry e;
  *e.mutable_city() = MakeCityInfo(city);
  e.set_kind(kind);
  e.set_year(year);
  e.set_month(month);
  e.set_months(1);
  e.mutable_wage_base()->set_fen(base);
  e.mutable_personal_amount()->set_fen(base * 8 / 100);
  e.mutable_employer_amount()->set_fen(base * 16 / 100);
  return e;
}

// What a fake city holds of one person.
struct Held {
  std::optional<medical::v1::GetInsuranceStatusResponse> insurance;
  std::optional<household::v1::GetHouseholdRecordResponse> household;
  std::vector<social::v1::ContributionEntry> contributions;  // monthly, ascending
};

// A city that answers from what it holds and signs with its own key.
class RecordsCity final : public adapters::CityAdapter {
 public:
  enum class Signing { kSign, kRefuse, kDown, kCannotSign };

  explicit RecordsCity(City city) : city_(city) {}
  City city() const override { return city_; }

  void Hold(const std::string& id, Held held) { held_[id] = std::move(held); }
  void SetSigner(std::unique_ptr<mock_city::MockCertificateSigner> signer) { signer_ = std::move(signer); }
  void SetSigning(Signing signing) { signing_ = signing; }
  void SetContributionsDown(bool down) { contributions_down_ = down; }
  int signed_count() const { return signed_; }

  void LocatePerson(const std::string& id, const adapters::CallOptions&,
                    adapters::Callback<adapters::PersonLocation> done) override {
    adapters::PersonLocation location;
    if (const Held* held = Find(id)) {
      location.found = true;
      location.holds_medical_enrollment = held->insurance.has_value();
      location.holds_household_registration = held->household.has_value();
      location.holds_contribution_history = !held->contributions.empty();
    }
    done(location);
  }
  void GetInsuranceStatus(const std::string& id, const adapters::CallOptions&,
                          adapters::Callback<medical::v1::GetInsuranceStatusResponse> done) override {
    const Held* held = Find(id);
    if (held == nullptr || !held->insurance.has_value()) return done(NotHere("insures"));
    done(*held->insurance);
  }
  void GetMonthlyContributions(const std::string& id, int from_year, int to_year,
                               const adapters::CallOptions&,
                               adapters::Callback<std::vector<social::v1::ContributionEntry>> done) override {
    if (contributions_down_)
      return done(absl::UnavailableError(absl::StrCat("city ", CityName(city_), " is down")));
    const Held* held = Find(id);
    if (held == nullptr || held->contributions.empty()) return done(NotHere("holds contributions of"));
    std::vector<social::v1::ContributionEntry> out;
    for (const social::v1::ContributionEntry& e : held->contributions) {
      if ((from_year == 0 || e.year() >= from_year) && (to_year == 0 || e.year() <= to_year))
        out.push_back(e);
    }
    done(std::move(out));
  }
  void GetHouseholdRecord(const std::string& id, const adapters::CallOptions&,
                          adapters::Callback<household::v1::GetHouseholdRecordResponse> done) override {
    const Held* held = Find(id);
    if (held == nullptr || !held->household.has_value()) return done(NotHere("registers"));
    done(*held->household);
  }
  void CheckHealth(const adapters::CallOptions&, std::function<void(absl::Status)> done) override {
    done(absl::OkStatus());
  }
  void SignCertificate(const std::string& payload, const adapters::CallOptions& options,
                       adapters::Callback<adapters::CertificateSignature> done) override {
    switch (signing_) {
      case Signing::kRefuse:
        return done(
            absl::FailedPreconditionError(absl::StrCat("city ", CityName(city_), " refuses to sign")));
      case Signing::kDown:
        return done(absl::UnavailableError(absl::StrCat("city ", CityName(city_), " is down")));
      case Signing::kCannotSign:
        return adapters::CityAdapter::SignCertificate(payload, options, std::move(done));  // UNIMPLEMENTED
      case Signing::kSign:
        break;
    }
    if (signer_ == nullptr) return done(absl::FailedPreconditionError("no signing key"));
    absl::StatusOr<adapters::CertificateSignature> signature = signer_->Sign(payload);
    if (signature.ok()) ++signed_;
    done(std::move(signature));
  }

 private:
  const Held* Find(const std::string& id) const {
    auto it = held_.find(id);
    return it == held_.end() ? nullptr : &it->second;
  }
  absl::Status NotHere(absl::string_view what) const {
    return absl::NotFoundError(absl::StrCat("city ", CityName(city_), " ", what, " no such person"));
  }

  const City city_;
  std::map<std::string, Held> held_;  // set up before the calls; read-only after
  std::unique_ptr<mock_city::MockCertificateSigner> signer_;
  std::atomic<Signing> signing_{Signing::kSign};
  std::atomic<bool> contributions_down_{false};
  std::atomic<int> signed_{0};
};

class CertificateServiceTest : public ::testing::Test {
 protected:
  // The persons.
  const std::string kAlice = Id("14010519800101001");  // insured in Taiyuan, registered in Xinzhou
  const std::string kBob = Id("14090219750505002");    // insured nowhere; contributions Xinzhou then Taiyuan
  const std::string kChen = Id("14070219850707003");   // insured in Jinzhong (no current key)
  const std::string kDing = Id("14110219900909004");   // registered in Lvliang (its key is revoked)
  const std::string kNobody = Id("14010519950303005");

  void SetUp() override {
    std::vector<std::unique_ptr<adapters::CityAdapter>> adapters;
    for (City city : {City::CITY_TAIYUAN, City::CITY_YANGQUAN, City::CITY_JINZHONG, City::CITY_XINZHOU,
                      City::CITY_LVLIANG}) {
      auto fake = std::make_unique<RecordsCity>(city);
      fakes_[city] = fake.get();
      adapters.push_back(std::move(fake));
    }
    HoldRecords();
    harness_ = std::make_unique<test_support::ServiceHarness>(std::move(adapters), kNow);
    MakeKeysAndTrustList();
    service_ = std::make_unique<CertificateServiceImpl>(harness_->deps(), trust_, kDefaultValidity);
    harness_->Serve({service_.get()});
    stub_ = pb::CertificateService::NewStub(harness_->channel());
  }

  void TearDown() override { harness_->Stop(); }

  void HoldRecords() {
    Held alice;
    medical::v1::GetInsuranceStatusResponse insured;
    insured.set_resident_id(kAlice);
    insured.set_name("王丽");
    *insured.mutable_insured_city() = MakeCityInfo(City::CITY_TAIYUAN);
    insured.set_insured_region_code("140105");
    insured.set_insurance_type(medical::v1::INSURANCE_TYPE_EMPLOYEE);
    insured.set_status(medical::v1::ENROLLMENT_STATUS_ACTIVE);
    insured.mutable_enrollment_date()->set_year(2016);
    insured.mutable_enrollment_date()->set_month(3);
    insured.mutable_enrollment_date()->set_day(1);
    alice.insurance = insured;
    Held alice_xinzhou;
    household::v1::GetHouseholdRecordResponse registered;
    registered.set_resident_id(kAlice);
    registered.set_name("王丽");
    *registered.mutable_registered_city() = MakeCityInfo(City::CITY_XINZHOU);
    registered.set_address_code("140902");
    registered.set_household_number("140902001");
    registered.mutable_registered_since()->set_year(1980);
    registered.mutable_registered_since()->set_month(1);
    registered.mutable_registered_since()->set_day(1);
    alice_xinzhou.household = registered;
    for (int year = 2012; year <= 2015; ++year) {
      for (int month = 1; month <= 12; ++month) {
        alice_xinzhou.contributions.push_back(
            Month(City::CITY_XINZHOU, year, month, social::v1::INSURANCE_KIND_EMPLOYEE_PENSION, 400000));
      }
    }
    for (int year = 2016; year <= 2017; ++year) {
      for (int month = 1; month <= 12; ++month) {
        alice.contributions.push_back(
            Month(City::CITY_TAIYUAN, year, month, social::v1::INSURANCE_KIND_EMPLOYEE_PENSION, 500000));
      }
    }
    fakes_[City::CITY_TAIYUAN]->Hold(kAlice, alice);
    fakes_[City::CITY_XINZHOU]->Hold(kAlice, alice_xinzhou);

    Held bob_xinzhou, bob_taiyuan;
    for (int month = 1; month <= 6; ++month) {
      bob_xinzhou.contributions.push_back(
          Month(City::CITY_XINZHOU, 2010, month, social::v1::INSURANCE_KIND_EMPLOYEE_PENSION, 300000));
      bob_taiyuan.contributions.push_back(
          Month(City::CITY_TAIYUAN, 2011, month, social::v1::INSURANCE_KIND_EMPLOYEE_PENSION, 350000));
    }
    fakes_[City::CITY_XINZHOU]->Hold(kBob, bob_xinzhou);
    fakes_[City::CITY_TAIYUAN]->Hold(kBob, bob_taiyuan);

    Held chen;
    medical::v1::GetInsuranceStatusResponse chen_insured = insured;
    chen_insured.set_resident_id(kChen);
    *chen_insured.mutable_insured_city() = MakeCityInfo(City::CITY_JINZHONG);
    chen_insured.set_insured_region_code("140702");
    chen.insurance = chen_insured;
    fakes_[City::CITY_JINZHONG]->Hold(kChen, chen);

    Held ding;
    household::v1::GetHouseholdRecordResponse ding_registered = registered;
    ding_registered.set_resident_id(kDing);
    *ding_registered.mutable_registered_city() = MakeCityInfo(City::CITY_LVLIANG);
    ding_registered.set_address_code("141102");
    ding.household = ding_registered;
    fakes_[City::CITY_LVLIANG]->Hold(kDing, ding);
  }

  std::unique_ptr<signing::SigningKey> NewKey(const char* curve, const std::string& name) {
    const std::string pem = signing::test_support::NewPrivateKeyPem(curve);
    EXPECT_FALSE(pem.empty()) << curve;
    const std::string path = harness_->dir().File(name + ".key");
    std::ofstream(path) << pem;
    key_files_[name] = path;
    absl::StatusOr<std::unique_ptr<signing::SigningKey>> key = signing::SigningKey::FromPem(pem, name);
    EXPECT_TRUE(key.ok()) << key.status();
    return *std::move(key);
  }

  pb::TrustedKey Trusted(City city, const signing::SigningKey& key) {
    pb::TrustedKey trusted;
    *trusted.mutable_city() = MakeCityInfo(city);
    trusted.set_key_id(signing::DeriveKeyId(city, key.public_key()));
    trusted.set_algorithm(certificates::ToProto(key.algorithm()));
    trusted.set_public_key_der(key.public_key().der());
    return trusted;
  }

  // The city signs with the key in `name`'s file, under `key_id` ("" for the key's own id).
  void GiveSigner(City city, const std::string& name, const std::string& key_id = "") {
    absl::StatusOr<std::unique_ptr<mock_city::MockCertificateSigner>> signer =
        mock_city::MockCertificateSigner::FromPemFile(city, key_files_[name], key_id);
    ASSERT_TRUE(signer.ok()) << signer.status();
    fakes_[city]->SetSigner(*std::move(signer));
  }

  // Taiyuan: P-256; Xinzhou: SM2 (P-256 if this OpenSSL lacks SM2); Jinzhong: a key whose validity
  // ended yesterday; Lvliang: a revoked key; Yangquan: no key at all.
  void MakeKeysAndTrustList() {
    gateway_ = NewKey("P-256", "gateway");
    taiyuan_ = NewKey("P-256", "taiyuan");
    xinzhou_ = NewKey(signing::Sm2Available() ? "SM2" : "P-256", "xinzhou");
    jinzhong_ = NewKey("P-256", "jinzhong");
    lvliang_ = NewKey("P-256", "lvliang");
    stranger_ = NewKey("P-256", "stranger");
    list_.set_version(3);
    list_.set_issued_at_unix(absl::ToUnixSeconds(kNow - absl::Hours(1)));
    *list_.add_keys() = Trusted(City::CITY_TAIYUAN, *taiyuan_);
    *list_.add_keys() = Trusted(City::CITY_XINZHOU, *xinzhou_);
    pb::TrustedKey expired = Trusted(City::CITY_JINZHONG, *jinzhong_);
    expired.set_valid_from_unix(absl::ToUnixSeconds(kNow - absl::Hours(24 * 365)));
    expired.set_valid_to_unix(absl::ToUnixSeconds(kNow - absl::Hours(24)));
    *list_.add_keys() = expired;
    pb::TrustedKey revoked = Trusted(City::CITY_LVLIANG, *lvliang_);
    revoked.set_revoked_at_unix(absl::ToUnixSeconds(kNow - absl::Hours(2)));
    *list_.add_keys() = revoked;
    absl::StatusOr<pb::SignedTrustList> signed_list = certificates::SignTrustList(list_, *gateway_);
    ASSERT_TRUE(signed_list.ok()) << signed_list.status();
    absl::StatusOr<certificates::VerifiedTrustList> verified =
        certificates::VerifiedTrustList::Open(*signed_list, gateway_->public_key());
    ASSERT_TRUE(verified.ok()) << verified.status();
    auto published = std::make_shared<certificates::PublishedTrustList>();
    published->signed_list = *signed_list;
    published->verified = *std::move(verified);
    trust_ = published;
    GiveSigner(City::CITY_TAIYUAN, "taiyuan");
    GiveSigner(City::CITY_XINZHOU, "xinzhou");
    GiveSigner(City::CITY_JINZHONG, "jinzhong");
    GiveSigner(City::CITY_LVLIANG, "lvliang");
  }

  // A certificate made and signed here, outside the service (for verdicts the service would never
  // issue).
  pb::SignedCertificate MakeCertificate(City issuer, const std::string& key_id,
                                        const signing::SigningKey& key, absl::Time issued_at,
                                        absl::Duration valid_for = absl::Hours(24)) {
    pb::CertificatePayload payload = certificates::NewPayload(pb::CERTIFICATE_KIND_RESIDENCE, issuer, key_id,
                                                              kAlice, "王丽", issued_at, valid_for);
    *payload.mutable_residence()->mutable_registered_city() = MakeCityInfo(issuer);
    payload.mutable_residence()->set_address_code("140902");
    return SignBytes(payload.SerializeAsString(), key_id, key);
  }
  pb::SignedCertificate SignBytes(const std::string& bytes, const std::string& key_id,
                                  const signing::SigningKey& key) {
    pb::SignedCertificate certificate;
    certificate.set_payload(bytes);
    certificate.set_signature(key.Sign(bytes).value());
    certificate.set_algorithm(certificates::ToProto(key.algorithm()));
    certificate.set_key_id(key_id);
    return certificate;
  }
  std::string KeyIdOf(City city, const signing::SigningKey& key) {
    return signing::DeriveKeyId(city, key.public_key());
  }

  // --- Calls.

  grpc::Status IssueContribution(
      const std::string& caller, const std::string& person, int from_year, int to_year, int valid_days,
      pb::IssueContributionCertificateResponse* response,
      common::v1::AccessContext access = Access(common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION)) {
    pb::IssueContributionCertificateRequest request;
    *request.mutable_person() = Person(person);
    *request.mutable_access() = access;
    request.set_from_year(from_year);
    request.set_to_year(to_year);
    request.mutable_validity()->set_valid_days(valid_days);
    return stub_->IssueContributionCertificate(Context(caller).get(), request, response);
  }
  grpc::Status IssueInsuranceStatus(
      const std::string& caller, const std::string& person, int valid_days,
      pb::IssueInsuranceStatusCertificateResponse* response,
      common::v1::AccessContext access = Access(common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION)) {
    pb::IssueInsuranceStatusCertificateRequest request;
    *request.mutable_person() = Person(person);
    *request.mutable_access() = access;
    request.mutable_validity()->set_valid_days(valid_days);
    return stub_->IssueInsuranceStatusCertificate(Context(caller).get(), request, response);
  }
  grpc::Status IssueResidence(
      const std::string& caller, const std::string& person, int valid_days,
      pb::IssueResidenceCertificateResponse* response,
      common::v1::AccessContext access = Access(common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION)) {
    pb::IssueResidenceCertificateRequest request;
    *request.mutable_person() = Person(person);
    *request.mutable_access() = access;
    request.mutable_validity()->set_valid_days(valid_days);
    return stub_->IssueResidenceCertificate(Context(caller).get(), request, response);
  }
  grpc::Status Verify(const pb::SignedCertificate& certificate, int64_t at_unix,
                      pb::VerifyCertificateResponse* response,
                      const std::string& caller = test_support::kTaiyuanHospital) {
    pb::VerifyCertificateRequest request;
    *request.mutable_certificate() = certificate;
    request.set_at_unix(at_unix);
    return stub_->VerifyCertificate(Context(caller).get(), request, response);
  }
  pb::SignedTrustList FetchTrustList() {
    pb::GetTrustListResponse response;
    grpc::Status status =
        stub_->GetTrustList(Context(test_support::kOperator).get(), pb::GetTrustListRequest(), &response);
    EXPECT_TRUE(status.ok()) << Describe(status);
    return response.trust_list();
  }

  // The verdict of the RPC, checked against the offline verifier on the trust list the gateway hands
  // out (what certificate-verify does with a saved list).
  pb::VerificationResult VerdictOf(const pb::SignedCertificate& certificate, absl::Time at) {
    pb::VerifyCertificateResponse response;
    grpc::Status status = Verify(certificate, absl::ToUnixSeconds(at), &response);
    EXPECT_TRUE(status.ok()) << Describe(status);
    certificates::Verdict offline =
        certificates::VerifyCertificate(FetchTrustList(), gateway_->public_key(), certificate, at);
    EXPECT_EQ(offline.result, response.result())
        << "offline: " << offline.reason << "; RPC: " << response.reason();
    EXPECT_EQ(offline.reason, response.reason());
    EXPECT_EQ(response.trust_list_version(), 3u);
    EXPECT_EQ(response.checked_at_unix(), absl::ToUnixSeconds(at));
    EXPECT_FALSE(response.reason().empty());
    return response.result();
  }

  std::map<City, RecordsCity*> fakes_;
  std::unique_ptr<test_support::ServiceHarness> harness_;
  std::map<std::string, std::string> key_files_;
  std::unique_ptr<signing::SigningKey> gateway_, taiyuan_, xinzhou_, jinzhong_, lvliang_, stranger_;
  pb::TrustList list_;
  std::shared_ptr<const certificates::PublishedTrustList> trust_;
  std::unique_ptr<CertificateServiceImpl> service_;
  std::unique_ptr<pb::CertificateService::Stub> stub_;
};

// ------------------------------------------------------------------------------------------------
// Issuing

TEST_F(CertificateServiceTest, InsuranceStatusIsSignedByTheInsuredCityAndVerifies) {
  pb::IssueInsuranceStatusCertificateResponse response;
  grpc::Status status = IssueInsuranceStatus(test_support::kTaiyuanSocialSecurity, kAlice, 30, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  const pb::CertificatePayload& payload = response.payload();
  EXPECT_EQ(response.resident_id(), kAlice);
  EXPECT_EQ(payload.kind(), pb::CERTIFICATE_KIND_INSURANCE_STATUS);
  EXPECT_EQ(payload.issuer().city(), City::CITY_TAIYUAN);
  EXPECT_EQ(payload.key_id(), KeyIdOf(City::CITY_TAIYUAN, *taiyuan_));
  EXPECT_EQ(response.certificate().key_id(), payload.key_id());
  EXPECT_EQ(response.certificate().algorithm(), pb::SIGNATURE_ALGORITHM_ECDSA_P256_SHA256);
  EXPECT_EQ(payload.subject_resident_id(), kAlice);
  EXPECT_EQ(payload.subject_name(), "王丽");
  EXPECT_EQ(payload.issued_at_unix(), absl::ToUnixSeconds(kNow));
  EXPECT_EQ(payload.expires_at_unix(), absl::ToUnixSeconds(kNow + absl::Hours(24 * 30)));
  EXPECT_THAT(payload.certificate_id(), ::testing::MatchesRegex("[0-9a-f]{32}"));
  EXPECT_EQ(payload.insurance_status().insured_city().city(), City::CITY_TAIYUAN);
  EXPECT_EQ(payload.insurance_status().insured_region_code(), "140105");
  EXPECT_EQ(payload.insurance_status().status(), medical::v1::ENROLLMENT_STATUS_ACTIVE);
  // The parsed payload shown is the one signed.
  pb::CertificatePayload signed_payload;
  ASSERT_TRUE(signed_payload.ParseFromString(response.certificate().payload()));
  EXPECT_EQ(signed_payload.SerializeAsString(), payload.SerializeAsString());
  ASSERT_EQ(response.provenance().source_cities_size(), 1);
  EXPECT_EQ(response.provenance().source_cities(0).city(), City::CITY_TAIYUAN);
  EXPECT_FALSE(response.provenance().request_id().empty());
  EXPECT_EQ(fakes_[City::CITY_TAIYUAN]->signed_count(), 1);
  EXPECT_EQ(VerdictOf(response.certificate(), kNow + absl::Hours(1)), pb::VERIFICATION_RESULT_VALID);
}

TEST_F(CertificateServiceTest, ResidenceIsSignedByTheRegisteringCityWithItsOwnAlgorithm) {
  pb::IssueResidenceCertificateResponse response;
  grpc::Status status = IssueResidence(test_support::kXinzhouHouseholdOffice, kAlice, 0, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.payload().issuer().city(), City::CITY_XINZHOU);
  EXPECT_EQ(response.payload().residence().address_code(), "140902");
  EXPECT_EQ(response.payload().residence().registered_city().city(), City::CITY_XINZHOU);
  EXPECT_EQ(response.certificate().algorithm(), signing::Sm2Available()
                                                    ? pb::SIGNATURE_ALGORITHM_SM2_SM3
                                                    : pb::SIGNATURE_ALGORITHM_ECDSA_P256_SHA256);
  // valid_days 0: the gateway's default.
  EXPECT_EQ(response.payload().expires_at_unix(), absl::ToUnixSeconds(kNow + kDefaultValidity));
  EXPECT_EQ(fakes_[City::CITY_TAIYUAN]->signed_count(), 0);
  accesslog::AccessRecord record = harness_->access_log().last();
  EXPECT_EQ(record.method, "/interop.certificates.v1.CertificateService/IssueResidenceCertificate");
  EXPECT_EQ(record.person, kAlice);
  EXPECT_EQ(record.purpose, "PURPOSE_HOUSEHOLD_ADMINISTRATION");
  EXPECT_THAT(record.cities_consulted, ElementsAre("xinzhou", "xinzhou"));  // fetched from, signed by
  EXPECT_EQ(VerdictOf(response.certificate(), kNow), pb::VERIFICATION_RESULT_VALID);
}

TEST_F(CertificateServiceTest, ContributionsFromEveryCityAreSignedByTheInsuredCity) {
  pb::IssueContributionCertificateResponse response;
  grpc::Status status = IssueContribution(test_support::kTaiyuanSocialSecurity, kAlice, 0, 0, 0, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  const pb::ContributionClaims& claims = response.payload().contribution();
  EXPECT_EQ(response.payload().issuer().city(), City::CITY_TAIYUAN);
  EXPECT_EQ(response.payload().subject_name(), "王丽");
  EXPECT_EQ(claims.total_pension_months(), 6 * 12);
  ASSERT_EQ(claims.years_size(), 6);
  EXPECT_EQ(claims.years(0).year(), 2012);
  EXPECT_EQ(claims.years(0).city().city(), City::CITY_XINZHOU);
  EXPECT_EQ(claims.years(0).months(), 12);
  EXPECT_EQ(claims.years(5).year(), 2017);
  EXPECT_EQ(claims.years(5).city().city(), City::CITY_TAIYUAN);
  ASSERT_EQ(claims.cities_size(), 2);
  EXPECT_EQ(claims.cities(0).city(), City::CITY_XINZHOU);
  EXPECT_EQ(claims.cities(1).city(), City::CITY_TAIYUAN);
  // The source cities, the signing city last.
  std::vector<City> sources;
  for (const common::v1::CityInfo& c : response.provenance().source_cities()) sources.push_back(c.city());
  EXPECT_THAT(sources, ElementsAre(City::CITY_XINZHOU, City::CITY_TAIYUAN, City::CITY_TAIYUAN));
  EXPECT_EQ(VerdictOf(response.certificate(), kNow), pb::VERIFICATION_RESULT_VALID);

  // The years asked, only.
  pb::IssueContributionCertificateResponse some;
  status = IssueContribution(test_support::kTaiyuanSocialSecurity, kAlice, 2015, 2016, 0, &some);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(some.payload().contribution().from_year(), 2015);
  EXPECT_EQ(some.payload().contribution().to_year(), 2016);
  EXPECT_EQ(some.payload().contribution().total_pension_months(), 24);
}

TEST_F(CertificateServiceTest, ContributionsOfSomeoneInsuredNowhereAreSignedByTheCityOfTheLatest) {
  pb::IssueContributionCertificateResponse response;
  grpc::Status status = IssueContribution(test_support::kTaiyuanSocialSecurity, kBob, 0, 0, 0, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.payload().issuer().city(), City::CITY_TAIYUAN);  // 2011 in Taiyuan after 2010 in Xinzhou
  EXPECT_EQ(response.payload().subject_name(), "");                   // contribution records carry no name
  EXPECT_EQ(response.payload().contribution().total_pension_months(), 12);
  EXPECT_EQ(VerdictOf(response.certificate(), kNow), pb::VERIFICATION_RESULT_VALID);
  // Only 2010 asked: then Xinzhou's are the latest, and Xinzhou signs.
  status = IssueContribution(test_support::kTaiyuanSocialSecurity, kBob, 2010, 2010, 0, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.payload().issuer().city(), City::CITY_XINZHOU);
}

TEST_F(CertificateServiceTest, IssuingNamesEveryInvalidField) {
  struct Case {
    std::string what;
    std::string person;
    int from_year, to_year, valid_days;
    std::string field;
  };
  for (const Case& c : std::vector<Case>{
           {"no person", "", 0, 0, 0, "person.resident_id"},
           {"a malformed person", "1401051980", 0, 0, 0, "person.resident_id"},
           {"negative validity", kAlice, 0, 0, -1, "validity.valid_days"},
           {"validity over a year", kAlice, 0, 0, 367, "validity.valid_days"},
           {"from_year too early", kAlice, 1900, 0, 0, "from_year"},
           {"to_year too late", kAlice, 0, 2200, 0, "to_year"},
           {"to_year before from_year", kAlice, 2016, 2015, 0, "to_year"},
       }) {
    SCOPED_TRACE(c.what);
    pb::IssueContributionCertificateResponse response;
    grpc::Status status = IssueContribution(test_support::kTaiyuanSocialSecurity, c.person, c.from_year,
                                            c.to_year, c.valid_days, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
    EXPECT_EQ(BadRequestFieldOf(status), c.field) << Describe(status);
  }
  for (int valid_days : {-5, 400}) {
    pb::IssueInsuranceStatusCertificateResponse insurance;
    grpc::Status status =
        IssueInsuranceStatus(test_support::kTaiyuanSocialSecurity, kAlice, valid_days, &insurance);
    EXPECT_EQ(BadRequestFieldOf(status), "validity.valid_days") << Describe(status);
    pb::IssueResidenceCertificateResponse residence;
    status = IssueResidence(test_support::kXinzhouHouseholdOffice, kAlice, valid_days, &residence);
    EXPECT_EQ(BadRequestFieldOf(status), "validity.valid_days") << Describe(status);
  }
  // 366 days is the longest allowed.
  pb::IssueResidenceCertificateResponse longest;
  grpc::Status status = IssueResidence(test_support::kXinzhouHouseholdOffice, kAlice, 366, &longest);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(longest.payload().expires_at_unix(), absl::ToUnixSeconds(kNow + absl::Hours(24 * 366)));
  for (const auto& [city, fake] : fakes_) EXPECT_EQ(fake->signed_count(), city == City::CITY_XINZHOU ? 1 : 0);
}

TEST_F(CertificateServiceTest, EachRefusalOfTheIssuingMethods) {
  // No record: NOT_FOUND, for each kind.
  pb::IssueInsuranceStatusCertificateResponse insurance;
  grpc::Status status = IssueInsuranceStatus(test_support::kTaiyuanSocialSecurity, kNobody, 0, &insurance);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Describe(status);
  pb::IssueResidenceCertificateResponse residence;
  status = IssueResidence(test_support::kXinzhouHouseholdOffice, kNobody, 0, &residence);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Describe(status);
  pb::IssueContributionCertificateResponse contribution;
  status = IssueContribution(test_support::kTaiyuanSocialSecurity, kNobody, 0, 0, 0, &contribution);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Describe(status);
  // Contributions, but none in the years asked.
  status = IssueContribution(test_support::kTaiyuanSocialSecurity, kAlice, 2000, 2005, 0, &contribution);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("in the years asked"));

  // The signing city has no current key: its only key's validity ended (Jinzhong), or was revoked
  // (Lvliang). Nothing is signed.
  status = IssueInsuranceStatus(test_support::kTaiyuanSocialSecurity, kChen, 0, &insurance);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("jinzhong has no current certificate signing key"));
  status = IssueResidence(test_support::kXinzhouHouseholdOffice, kDing, 0, &residence);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("lvliang has no current certificate signing key"));
  EXPECT_EQ(fakes_[City::CITY_JINZHONG]->signed_count(), 0);
  EXPECT_EQ(fakes_[City::CITY_LVLIANG]->signed_count(), 0);

  // The signing city refuses, is down, or cannot sign: its answer, as it gave it.
  RecordsCity& taiyuan = *fakes_[City::CITY_TAIYUAN];
  taiyuan.SetSigning(RecordsCity::Signing::kRefuse);
  status = IssueInsuranceStatus(test_support::kTaiyuanSocialSecurity, kAlice, 0, &insurance);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("refuses to sign"));
  taiyuan.SetSigning(RecordsCity::Signing::kDown);
  status = IssueContribution(test_support::kTaiyuanSocialSecurity, kAlice, 0, 0, 0, &contribution);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(status);
  taiyuan.SetSigning(RecordsCity::Signing::kCannotSign);
  status = IssueInsuranceStatus(test_support::kTaiyuanSocialSecurity, kAlice, 0, &insurance);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << Describe(status);
  taiyuan.SetSigning(RecordsCity::Signing::kSign);

  // A city holding part of the history is down: no certificate of a partial history.
  fakes_[City::CITY_XINZHOU]->SetContributionsDown(true);
  status = IssueContribution(test_support::kTaiyuanSocialSecurity, kAlice, 0, 0, 0, &contribution);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(status);
  fakes_[City::CITY_XINZHOU]->SetContributionsDown(false);

  // The city answers a signature that does not verify against the trust list (another key under
  // its key id): INTERNAL, no certificate, and the caller is told only which city and the request id.
  GiveSigner(City::CITY_TAIYUAN, "stranger", KeyIdOf(City::CITY_TAIYUAN, *taiyuan_));
  insurance.Clear();
  status = IssueInsuranceStatus(test_support::kTaiyuanSocialSecurity, kAlice, 0, &insurance);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL) << Describe(status);
  EXPECT_THAT(status.error_message(), StartsWith("an answer from city taiyuan could not be used"));
  EXPECT_THAT(status.error_message(), HasSubstr(harness_->access_log().last().request_id));
  EXPECT_THAT(status.error_message(), ::testing::Not(HasSubstr("TAMPERED")));
  EXPECT_FALSE(insurance.has_certificate());
}

TEST_F(CertificateServiceTest, WithoutCertificatesConfiguredEveryMethodIsAFailedPrecondition) {
  test_support::ServiceHarness other({}, kNow);
  CertificateServiceImpl unconfigured(other.deps(), nullptr, kDefaultValidity);
  other.Serve({&unconfigured});
  auto stub = pb::CertificateService::NewStub(other.channel());
  std::vector<grpc::Status> statuses;
  {
    pb::IssueContributionCertificateRequest request;
    *request.mutable_person() = Person(kAlice);
    *request.mutable_access() = Access(common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION);
    pb::IssueContributionCertificateResponse response;
    statuses.push_back(stub->IssueContributionCertificate(Context(test_support::kTaiyuanSocialSecurity).get(),
                                                          request, &response));
  }
  {
    pb::IssueInsuranceStatusCertificateRequest request;
    *request.mutable_person() = Person(kAlice);
    *request.mutable_access() = Access(common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION);
    pb::IssueInsuranceStatusCertificateResponse response;
    statuses.push_back(stub->IssueInsuranceStatusCertificate(
        Context(test_support::kTaiyuanSocialSecurity).get(), request, &response));
  }
  {
    pb::IssueResidenceCertificateRequest request;
    *request.mutable_person() = Person(kAlice);
    *request.mutable_access() = Access(common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION);
    pb::IssueResidenceCertificateResponse response;
    statuses.push_back(stub->IssueResidenceCertificate(Context(test_support::kXinzhouHouseholdOffice).get(),
                                                       request, &response));
  }
  {
    pb::VerifyCertificateRequest request;
    pb::VerifyCertificateResponse response;
    statuses.push_back(
        stub->VerifyCertificate(Context(test_support::kTaiyuanHospital).get(), request, &response));
  }
  {
    pb::GetTrustListResponse response;
    statuses.push_back(stub->GetTrustList(Context(test_support::kTaiyuanHospital).get(),
                                          pb::GetTrustListRequest(), &response));
  }
  for (const grpc::Status& status : statuses) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Describe(status);
    EXPECT_THAT(status.error_message(), HasSubstr("certificates are not configured"));
  }
  EXPECT_EQ(other.access_log().records().size(), 5u);
}

// ------------------------------------------------------------------------------------------------
// Verifying, and the trust list

TEST_F(CertificateServiceTest, VerifyGivesEveryVerdictAndAgreesWithTheOfflineVerifier) {
  pb::IssueResidenceCertificateResponse issued;
  grpc::Status status = IssueResidence(test_support::kXinzhouHouseholdOffice, kAlice, 10, &issued);
  ASSERT_TRUE(status.ok()) << Describe(status);
  const pb::SignedCertificate& good = issued.certificate();

  EXPECT_EQ(VerdictOf(good, kNow), pb::VERIFICATION_RESULT_VALID);
  EXPECT_EQ(VerdictOf(good, kNow - absl::Seconds(1)), pb::VERIFICATION_RESULT_NOT_YET_VALID);
  EXPECT_EQ(VerdictOf(good, kNow + absl::Hours(24 * 10)), pb::VERIFICATION_RESULT_EXPIRED);

  pb::SignedCertificate flipped = good;
  (*flipped.mutable_payload())[flipped.payload().size() / 2] ^= 0x01;
  EXPECT_EQ(VerdictOf(flipped, kNow), pb::VERIFICATION_RESULT_TAMPERED);
  pb::SignedCertificate resigned = good;
  (*resigned.mutable_signature())[resigned.signature().size() - 2] ^= 0x10;
  EXPECT_EQ(VerdictOf(resigned, kNow), pb::VERIFICATION_RESULT_TAMPERED);

  // Signed by a key the trust list does not hold.
  EXPECT_EQ(VerdictOf(MakeCertificate(City::CITY_YANGQUAN, KeyIdOf(City::CITY_YANGQUAN, *stranger_),
                                      *stranger_, kNow),
                      kNow),
            pb::VERIFICATION_RESULT_UNKNOWN_ISSUER);
  // Signed with Lvliang's revoked key (whatever issue time it claims).
  EXPECT_EQ(VerdictOf(MakeCertificate(City::CITY_LVLIANG, KeyIdOf(City::CITY_LVLIANG, *lvliang_), *lvliang_,
                                      kNow - absl::Hours(24 * 30), absl::Hours(24 * 90)),
                      kNow),
            pb::VERIFICATION_RESULT_REVOKED_KEY);
  // Jinzhong's key, after its validity ended; and within it, valid.
  const std::string jinzhong_id = KeyIdOf(City::CITY_JINZHONG, *jinzhong_);
  EXPECT_EQ(VerdictOf(MakeCertificate(City::CITY_JINZHONG, jinzhong_id, *jinzhong_, kNow), kNow),
            pb::VERIFICATION_RESULT_KEY_NOT_VALID);
  EXPECT_EQ(VerdictOf(MakeCertificate(City::CITY_JINZHONG, jinzhong_id, *jinzhong_, kNow - absl::Hours(48),
                                      absl::Hours(24 * 90)),
                      kNow),
            pb::VERIFICATION_RESULT_VALID);
  // Taiyuan's key signing in Xinzhou's name.
  EXPECT_EQ(
      VerdictOf(MakeCertificate(City::CITY_XINZHOU, KeyIdOf(City::CITY_TAIYUAN, *taiyuan_), *taiyuan_, kNow),
                kNow),
      pb::VERIFICATION_RESULT_ISSUER_MISMATCH);
  // Well signed bytes that are no certificate.
  EXPECT_EQ(VerdictOf(SignBytes("not a payload", KeyIdOf(City::CITY_TAIYUAN, *taiyuan_), *taiyuan_), kNow),
            pb::VERIFICATION_RESULT_MALFORMED);
}

TEST_F(CertificateServiceTest, VerifyChecksAtTheGatewaysTimeUnlessAskedAndNamesInvalidFields) {
  pb::IssueInsuranceStatusCertificateResponse issued;
  ASSERT_TRUE(IssueInsuranceStatus(test_support::kTaiyuanSocialSecurity, kAlice, 1, &issued).ok());
  pb::VerifyCertificateResponse response;
  grpc::Status status = Verify(issued.certificate(), 0, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.result(), pb::VERIFICATION_RESULT_VALID) << response.reason();
  EXPECT_EQ(response.checked_at_unix(), absl::ToUnixSeconds(kNow));
  EXPECT_EQ(response.payload().subject_resident_id(), kAlice);
  // A day later by the gateway's clock, the one-day certificate has expired.
  harness_->clock().Advance(absl::Hours(24));
  ASSERT_TRUE(Verify(issued.certificate(), 0, &response).ok());
  EXPECT_EQ(response.result(), pb::VERIFICATION_RESULT_EXPIRED) << response.reason();
  EXPECT_EQ(response.checked_at_unix(), absl::ToUnixSeconds(kNow + absl::Hours(24)));
  // A tampered certificate's payload is not shown.
  pb::SignedCertificate tampered = issued.certificate();
  (*tampered.mutable_payload())[3] ^= 0x04;
  ASSERT_TRUE(Verify(tampered, 0, &response).ok());
  EXPECT_EQ(response.result(), pb::VERIFICATION_RESULT_TAMPERED);
  EXPECT_FALSE(response.has_payload());

  pb::VerifyCertificateRequest no_certificate;
  status = stub_->VerifyCertificate(Context(test_support::kTaiyuanHospital).get(), no_certificate, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
  EXPECT_EQ(BadRequestFieldOf(status), "certificate");
  status = Verify(issued.certificate(), -1, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
  EXPECT_EQ(BadRequestFieldOf(status), "at_unix");
}

TEST_F(CertificateServiceTest, TheTrustListIsTheGatewaysSignedListOfEveryKey) {
  pb::GetTrustListResponse response;
  grpc::Status status = stub_->GetTrustList(Context(test_support::kTaiyuanHospital).get(),
                                            pb::GetTrustListRequest(), &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  absl::StatusOr<certificates::VerifiedTrustList> opened =
      certificates::VerifiedTrustList::Open(response.trust_list(), gateway_->public_key());
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->version(), 3u);
  EXPECT_EQ(opened->list().SerializeAsString(), list_.SerializeAsString());
  EXPECT_EQ(response.parsed().SerializeAsString(), list_.SerializeAsString());
  // Revoked and expired keys are listed too, so that verifiers can name them.
  EXPECT_EQ(response.parsed().keys_size(), 4);
  // Not under any other key.
  EXPECT_FALSE(certificates::VerifiedTrustList::Open(response.trust_list(), stranger_->public_key()).ok());
  // No person: the access record has none.
  EXPECT_EQ(harness_->access_log().last().person, "");
  EXPECT_EQ(harness_->access_log().last().result_code, 0);
}

// ------------------------------------------------------------------------------------------------
// Who may call what

TEST_F(CertificateServiceTest, OnlyTheRolesAndPurposesOfThePolicyMayIssue) {
  pb::IssueContributionCertificateResponse contribution;
  pb::IssueInsuranceStatusCertificateResponse insurance;
  pb::IssueResidenceCertificateResponse residence;
  // Hospitals and operators issue nothing; each agency its own kind.
  grpc::Status status = IssueInsuranceStatus(test_support::kTaiyuanHospital, kAlice, 0, &insurance,
                                             Access(common::v1::PURPOSE_TREATMENT));
  EXPECT_EQ(ReasonOf(status), "ROLE_NOT_ALLOWED") << Describe(status);
  status = IssueResidence(test_support::kOperator, kAlice, 0, &residence, Access(common::v1::PURPOSE_AUDIT));
  EXPECT_EQ(ReasonOf(status), "ROLE_NOT_ALLOWED") << Describe(status);
  status = IssueContribution(test_support::kXinzhouHouseholdOffice, kAlice, 0, 0, 0, &contribution,
                             Access(common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION));
  EXPECT_EQ(ReasonOf(status), "ROLE_NOT_ALLOWED") << Describe(status);
  status = IssueResidence(test_support::kTaiyuanSocialSecurity, kAlice, 0, &residence,
                          Access(common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION));
  EXPECT_EQ(ReasonOf(status), "ROLE_NOT_ALLOWED") << Describe(status);
  // The medical-insurance bureau: for its own purpose only.
  status = IssueInsuranceStatus(test_support::kTaiyuanMedicalBureau, kAlice, 0, &insurance,
                                Access(common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION));
  EXPECT_EQ(ReasonOf(status), "PURPOSE_NOT_ALLOWED") << Describe(status);
  status = IssueInsuranceStatus(test_support::kTaiyuanMedicalBureau, kAlice, 0, &insurance,
                                Access(common::v1::PURPOSE_MEDICAL_INSURANCE_ADMINISTRATION));
  EXPECT_TRUE(status.ok()) << Describe(status);
  // The citizen portal: the citizen's own records only.
  status = IssueResidence(test_support::kCitizenPortal, kAlice, 0, &residence,
                          Access(common::v1::PURPOSE_CITIZEN_SELF_SERVICE, kAlice));
  EXPECT_TRUE(status.ok()) << Describe(status);
  status = IssueResidence(test_support::kCitizenPortal, kAlice, 0, &residence,
                          Access(common::v1::PURPOSE_CITIZEN_SELF_SERVICE, kBob));
  EXPECT_EQ(ReasonOf(status), "NOT_OWN_RECORD") << Describe(status);
  status = IssueContribution(test_support::kCitizenPortal, kBob, 0, 0, 0, &contribution,
                             Access(common::v1::PURPOSE_CITIZEN_SELF_SERVICE, kBob));
  EXPECT_TRUE(status.ok()) << Describe(status);
  // Verifying and the trust list: every role, no purpose needed.
  for (const char* caller : {test_support::kTaiyuanHospital, test_support::kOperator,
                             test_support::kCitizenPortal, test_support::kXinzhouHouseholdOffice}) {
    pb::VerifyCertificateResponse verified;
    status = Verify(residence.certificate(), 0, &verified, caller);
    EXPECT_TRUE(status.ok()) << caller << ": " << Describe(status);
    EXPECT_EQ(verified.result(), pb::VERIFICATION_RESULT_VALID);
  }
  EXPECT_EQ(harness_->access_log().records().size(), 9u + 4u);
}

}  // namespace
}  // namespace interop::services
