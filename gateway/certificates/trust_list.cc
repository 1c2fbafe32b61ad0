#include "gateway/certificates/trust_list.h"

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gateway/base/cities.h"
#include "gateway/base/rich_status.h"

namespace interop::certificates {
namespace {

// Seconds since the epoch of an RFC 3339 time, 0 for "", or INVALID_ARGUMENT naming `field`.
absl::StatusOr<int64_t> ParseTimeField(const std::string& text, const std::string& field) {
  if (text.empty()) return 0;
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
    return FieldError(field, absl::StrCat("\"", text, "\" is not an RFC 3339 time (", error, ")"));
  }
  return absl::ToUnixSeconds(time);
}

}  // namespace

SignatureAlgorithm ToProto(signing::Algorithm algorithm) {
  return algorithm == signing::Algorithm::kSm2Sm3 ? certificates::v1::SIGNATURE_ALGORITHM_SM2_SM3
                                                  : certificates::v1::SIGNATURE_ALGORITHM_ECDSA_P256_SHA256;
}

std::optional<signing::Algorithm> FromProto(SignatureAlgorithm algorithm) {
  switch (algorithm) {
    case certificates::v1::SIGNATURE_ALGORITHM_ECDSA_P256_SHA256:
      return signing::Algorithm::kEcdsaP256Sha256;
    case certificates::v1::SIGNATURE_ALGORITHM_SM2_SM3:
      return signing::Algorithm::kSm2Sm3;
    default:
      return std::nullopt;
  }
}

absl::StatusOr<TrustList> BuildTrustList(const config::v1::CertificatesConfig& config, absl::Time now) {
  TrustList list;
  list.set_version(config.trust_list_version() == 0 ? 1 : config.trust_list_version());
  list.set_issued_at_unix(absl::ToUnixSeconds(now));
  std::set<std::string> ids;
  for (int i = 0; i < config.city_keys_size(); ++i) {
    const config::v1::CitySigningKey& entry = config.city_keys(i);
    const std::string at = absl::StrCat("certificates.city_keys[", i, "]");
    if (CityDivisionCode(entry.city()).empty()) {
      return FieldError(absl::StrCat(at, ".city"), "must be one of the five cities");
    }
    if (entry.public_key_file().empty()) return FieldError(absl::StrCat(at, ".public_key_file"), "is required");
    absl::StatusOr<std::unique_ptr<signing::PublicKey>> key = signing::PublicKey::FromPemFile(entry.public_key_file());
    if (!key.ok()) return FieldError(absl::StrCat(at, ".public_key_file"), key.status().message());
    certificates::v1::TrustedKey* trusted = list.add_keys();
    *trusted->mutable_city() = MakeCityInfo(entry.city());
    trusted->set_key_id(entry.key_id().empty() ? signing::DeriveKeyId(entry.city(), **key) : entry.key_id());
    if (!ids.insert(trusted->key_id()).second) {
      return FieldError(absl::StrCat(at, ".key_id"), absl::StrCat("\"", trusted->key_id(), "\" appears twice"));
    }
    trusted->set_algorithm(ToProto((*key)->algorithm()));
    trusted->set_public_key_der((*key)->der());
    absl::StatusOr<int64_t> from = ParseTimeField(entry.valid_from(), absl::StrCat(at, ".valid_from"));
    if (!from.ok()) return from.status();
    absl::StatusOr<int64_t> to = ParseTimeField(entry.valid_to(), absl::StrCat(at, ".valid_to"));
    if (!to.ok()) return to.status();
    absl::StatusOr<int64_t> revoked = ParseTimeField(entry.revoked_at(), absl::StrCat(at, ".revoked_at"));
    if (!revoked.ok()) return revoked.status();
    if (*from != 0 && *to != 0 && *to <= *from) {
      return FieldError(absl::StrCat(at, ".valid_to"), "must be after valid_from");
    }
    trusted->set_valid_from_unix(*from);
    trusted->set_valid_to_unix(*to);
    trusted->set_revoked_at_unix(*revoked);
  }
  return list;
}

absl::StatusOr<SignedTrustList> SignTrustList(const TrustList& list, const signing::SigningKey& key) {
  SignedTrustList signed_list;
  std::string bytes;
  if (!list.SerializeToString(&bytes)) return absl::InternalError("the trust list cannot be serialized");
  absl::StatusOr<std::string> signature = key.Sign(bytes);
  if (!signature.ok()) return signature.status();
  signed_list.set_trust_list(std::move(bytes));
  signed_list.set_signature(*std::move(signature));
  signed_list.set_algorithm(ToProto(key.algorithm()));
  return signed_list;
}

}  // namespace interop::certificates
