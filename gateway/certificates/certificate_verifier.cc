#include "gateway/certificates/certificate_verifier.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/base/cities.h"
#include "gateway/base/rich_status.h"
#include "gateway/certificates/trust_list.h"

namespace interop::certificates {
namespace {

namespace pb = ::interop::certificates::v1;

std::string FormatUnix(int64_t seconds) {
  return absl::FormatTime(absl::RFC3339_sec, absl::FromUnixSeconds(seconds), absl::UTCTimeZone());
}

// Empty if the payload has what every certificate must have, else what is missing.
std::string MissingInPayload(const CertificatePayload& payload) {
  if (payload.certificate_id().empty()) return "certificate_id is empty";
  if (payload.subject_resident_id().empty()) return "subject_resident_id is empty";
  if (payload.issued_at_unix() == 0) return "issued_at_unix is not set";
  if (payload.expires_at_unix() <= payload.issued_at_unix()) return "expires_at_unix is not after issued_at_unix";
  switch (payload.kind()) {
    case pb::CERTIFICATE_KIND_CONTRIBUTION:
      return payload.has_contribution() ? "" : "a contribution certificate without contribution claims";
    case pb::CERTIFICATE_KIND_INSURANCE_STATUS:
      return payload.has_insurance_status() ? "" : "an insurance status certificate without its claims";
    case pb::CERTIFICATE_KIND_RESIDENCE:
      return payload.has_residence() ? "" : "a residence certificate without residence claims";
    default:
      return absl::StrCat("kind ", static_cast<int>(payload.kind()), " is not a known kind");
  }
}

}  // namespace

std::string ResultName(VerificationResult result) {
  const std::string& name = pb::VerificationResult_Name(result);
  constexpr absl::string_view kPrefix = "VERIFICATION_RESULT_";
  if (name.empty()) return absl::StrCat("RESULT_", static_cast<int>(result));
  return name.substr(kPrefix.size());
}

absl::StatusOr<VerifiedTrustList> VerifiedTrustList::Open(const pb::SignedTrustList& signed_list,
                                                          const signing::PublicKey& gateway_key) {
  std::optional<signing::Algorithm> algorithm = FromProto(signed_list.algorithm());
  if (!algorithm.has_value() || *algorithm != gateway_key.algorithm()) {
    return absl::InvalidArgumentError(absl::StrCat("the trust list says it is signed with ",
                                                   pb::SignatureAlgorithm_Name(signed_list.algorithm()),
                                                   ", but the gateway's key signs with ",
                                                   signing::AlgorithmName(gateway_key.algorithm())));
  }
  if (!gateway_key.Verify(signed_list.trust_list(), signed_list.signature())) {
    return absl::InvalidArgumentError(
        "the trust list's signature does not match the gateway's key: the list was altered, or signed by "
        "someone else");
  }
  auto list = std::make_shared<pb::TrustList>();
  if (!list->ParseFromString(signed_list.trust_list())) {
    return absl::InvalidArgumentError("the trust list is signed by the gateway but its bytes do not parse");
  }
  VerifiedTrustList verified;
  verified.list_ = list;
  for (const pb::TrustedKey& key : list->keys()) {
    absl::StatusOr<std::unique_ptr<signing::PublicKey>> public_key = signing::PublicKey::FromDer(key.public_key_der());
    if (!public_key.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("trust list key \"", key.key_id(), "\": ", public_key.status().message()));
    }
    std::optional<signing::Algorithm> key_algorithm = FromProto(key.algorithm());
    if (!key_algorithm.has_value() || *key_algorithm != (*public_key)->algorithm()) {
      return absl::InvalidArgumentError(
          absl::StrCat("trust list key \"", key.key_id(), "\": its algorithm is not its key's"));
    }
    Entry entry;
    entry.key = &key;
    entry.public_key = std::shared_ptr<const signing::PublicKey>(std::move(*public_key));
    if (!verified.entries_.emplace(key.key_id(), std::move(entry)).second) {
      return absl::InvalidArgumentError(absl::StrCat("trust list key \"", key.key_id(), "\" appears twice"));
    }
  }
  return verified;
}

const pb::TrustedKey* VerifiedTrustList::FindKey(absl::string_view key_id) const {
  auto it = entries_.find(key_id);
  return it == entries_.end() ? nullptr : it->second.key;
}

const pb::TrustedKey* VerifiedTrustList::CurrentKey(common::v1::City city, absl::Time at) const {
  const int64_t now = absl::ToUnixSeconds(at);
  const pb::TrustedKey* best = nullptr;
  for (const pb::TrustedKey& key : list_->keys()) {
    if (key.city().city() != city || key.revoked_at_unix() != 0) continue;
    if (key.valid_from_unix() != 0 && now < key.valid_from_unix()) continue;
    if (key.valid_to_unix() != 0 && now >= key.valid_to_unix()) continue;
    if (best == nullptr || key.valid_from_unix() >= best->valid_from_unix()) best = &key;
  }
  return best;
}

Verdict VerifiedTrustList::Check(const SignedCertificate& certificate, absl::Time at) const {
  Verdict verdict;
  verdict.trust_list_version = version();
  verdict.checked_at = at;
  auto fail = [&verdict](VerificationResult result, std::string reason) {
    verdict.result = result;
    verdict.reason = std::move(reason);
    return verdict;
  };

  auto it = entries_.find(certificate.key_id());
  if (it == entries_.end()) {
    return fail(pb::VERIFICATION_RESULT_UNKNOWN_ISSUER,
                absl::StrCat("the key \"", certificate.key_id(), "\" that signed the certificate is not in trust list version ",
                             version(), ": its issuer is not recognized"));
  }
  const pb::TrustedKey& key = *it->second.key;
  const std::string city(CityName(key.city().city()));
  if (key.revoked_at_unix() != 0) {
    return fail(pb::VERIFICATION_RESULT_REVOKED_KEY,
                absl::StrCat("the key \"", key.key_id(), "\" of ", city, " was revoked at ",
                             FormatUnix(key.revoked_at_unix()), "; no certificate signed with it is valid"));
  }
  if (certificate.algorithm() != key.algorithm()) {
    return fail(pb::VERIFICATION_RESULT_TAMPERED,
                absl::StrCat("the certificate says it is signed with ", pb::SignatureAlgorithm_Name(certificate.algorithm()),
                             ", but the key \"", key.key_id(), "\" signs with ", pb::SignatureAlgorithm_Name(key.algorithm())));
  }
  if (!it->second.public_key->Verify(certificate.payload(), certificate.signature())) {
    return fail(pb::VERIFICATION_RESULT_TAMPERED,
                absl::StrCat("the signature does not match the certificate's contents under the key \"", key.key_id(),
                             "\" of ", city, ": the certificate was altered after it was signed, or not signed by that key"));
  }
  CertificatePayload payload;
  if (!payload.ParseFromString(certificate.payload())) {
    return fail(pb::VERIFICATION_RESULT_MALFORMED, "the signed payload is not a CertificatePayload");
  }
  std::string missing = MissingInPayload(payload);
  if (!missing.empty()) return fail(pb::VERIFICATION_RESULT_MALFORMED, absl::StrCat("the signed payload is incomplete: ", missing));
  verdict.payload = payload;
  if (payload.issuer().city() != key.city().city()) {
    return fail(pb::VERIFICATION_RESULT_ISSUER_MISMATCH,
                absl::StrCat("the certificate names ", CityName(payload.issuer().city()), " as its issuer, but it is signed by \"",
                             key.key_id(), "\", a key of ", city));
  }
  if (payload.key_id() != key.key_id()) {
    return fail(pb::VERIFICATION_RESULT_ISSUER_MISMATCH,
                absl::StrCat("the certificate names the key \"", payload.key_id(), "\", but it is signed by \"", key.key_id(),
                             "\""));
  }
  if ((key.valid_from_unix() != 0 && payload.issued_at_unix() < key.valid_from_unix()) ||
      (key.valid_to_unix() != 0 && payload.issued_at_unix() >= key.valid_to_unix())) {
    return fail(pb::VERIFICATION_RESULT_KEY_NOT_VALID,
                absl::StrCat("the certificate was issued at ", FormatUnix(payload.issued_at_unix()), ", outside the validity of the key \"",
                             key.key_id(), "\" (", key.valid_from_unix() == 0 ? "-" : FormatUnix(key.valid_from_unix()), " to ",
                             key.valid_to_unix() == 0 ? "-" : FormatUnix(key.valid_to_unix()), ")"));
  }
  const int64_t now = absl::ToUnixSeconds(at);
  if (now < payload.issued_at_unix()) {
    return fail(pb::VERIFICATION_RESULT_NOT_YET_VALID,
                absl::StrCat("the certificate is issued at ", FormatUnix(payload.issued_at_unix()), ", after the time checked, ",
                             FormatUnix(now)));
  }
  if (now >= payload.expires_at_unix()) {
    return fail(pb::VERIFICATION_RESULT_EXPIRED,
                absl::StrCat("the certificate expired at ", FormatUnix(payload.expires_at_unix()), ", before the time checked, ",
                             FormatUnix(now)));
  }
  return fail(pb::VERIFICATION_RESULT_VALID,
              absl::StrCat("valid: ", pb::CertificateKind_Name(payload.kind()), " ", payload.certificate_id(), " issued by ", city,
                           " with key \"", key.key_id(), "\", valid until ", FormatUnix(payload.expires_at_unix())));
}

Verdict VerifyCertificate(const pb::SignedTrustList& signed_list, const signing::PublicKey& gateway_key,
                          const SignedCertificate& certificate, absl::Time at) {
  absl::StatusOr<VerifiedTrustList> trust = VerifiedTrustList::Open(signed_list, gateway_key);
  if (!trust.ok()) {
    Verdict verdict;
    verdict.result = pb::VERIFICATION_RESULT_TRUST_LIST_INVALID;
    verdict.reason = std::string(trust.status().message());
    verdict.checked_at = at;
    return verdict;
  }
  return trust->Check(certificate, at);
}

absl::StatusOr<std::shared_ptr<const PublishedTrustList>> PublishTrustList(
    const config::v1::CertificatesConfig& config, absl::Time now) {
  absl::StatusOr<std::unique_ptr<signing::SigningKey>> key =
      signing::SigningKey::FromPemFile(config.trust_list_signing_key_file());
  if (!key.ok()) return FieldError("certificates.trust_list_signing_key_file", key.status().message());
  absl::StatusOr<std::unique_ptr<signing::PublicKey>> cert =
      signing::PublicKey::FromPemFile(config.trust_list_signing_cert_file());
  if (!cert.ok()) return FieldError("certificates.trust_list_signing_cert_file", cert.status().message());
  absl::StatusOr<pb::TrustList> list = BuildTrustList(config, now);
  if (!list.ok()) return list.status();
  absl::StatusOr<pb::SignedTrustList> signed_list = SignTrustList(*list, **key);
  if (!signed_list.ok()) return signed_list.status();
  absl::StatusOr<VerifiedTrustList> verified = VerifiedTrustList::Open(*signed_list, **cert);
  if (!verified.ok()) {
    return FieldError("certificates.trust_list_signing_cert_file",
                      absl::StrCat("does not verify the list signed with trust_list_signing_key_file: ",
                                   verified.status().message()));
  }
  auto published = std::make_shared<PublishedTrustList>();
  published->signed_list = *std::move(signed_list);
  published->verified = *std::move(verified);
  return std::shared_ptr<const PublishedTrustList>(std::move(published));
}

}  // namespace interop::certificates
