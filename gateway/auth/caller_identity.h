// Who a caller is: the organisation, its city and its role, as its client certificate names them in
// a subject-alternative-name URI of the form (certs/README.md, "Caller identity"):
//
//   interop://<city>/<role>/<org-id>
//
//   absl::StatusOr<CallerIdentity> id = ParseCallerUri("interop://jinzhong/hospital/H14070200001");
//   // id->city == CITY_JINZHONG, id->role == CallerRole::kHospital, id->organization_id == "H14070200001"
//
// Thread-safe: pure functions over constant tables.
#ifndef INTEROP_GATEWAY_AUTH_CALLER_IDENTITY_H_
#define INTEROP_GATEWAY_AUTH_CALLER_IDENTITY_H_

#include <array>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/base/cities.h"

namespace interop::auth {

// What kind of organisation a caller is. The access policy grants methods and purposes per role.
enum class CallerRole {
  kHospital,                // a hospital information system (HIS)
  kMedicalInsuranceBureau,  // a city's medical-insurance bureau
  kSocialSecurityBureau,    // a city's human-resources and social-security bureau
  kHouseholdOffice,         // a public-security household registration office
  kCitizenPortal,           // the citizens' portal of a city
  kOperator,                // the exchange's operations team (admin CLI)
};

// Every role, in declaration order.
inline constexpr std::array<CallerRole, 6> kAllCallerRoles = {
    CallerRole::kHospital,        CallerRole::kMedicalInsuranceBureau, CallerRole::kSocialSecurityBureau,
    CallerRole::kHouseholdOffice, CallerRole::kCitizenPortal,          CallerRole::kOperator};

// The role's name in certificates, configuration and logs: "hospital", "medical-insurance-bureau",
// "social-security-bureau", "household-office", "citizen-portal", "operator"; "unknown" for a value
// outside the enum.
absl::string_view RoleName(CallerRole role);

// The role named `name`, exactly as RoleName spells it (lower case, hyphenated; no other spelling is
// accepted); nullopt if there is none.
std::optional<CallerRole> RoleFromName(absl::string_view name);

// An authenticated caller. Made by CertificateVerifier::Verify from a verified client certificate
// (every field filled), or by ParseCallerUri from a URI alone (the certificate fields left empty).
struct CallerIdentity {
  // The organisation's identifier from the URI, [A-Za-z0-9-]+, e.g. "H14010500001", "MIB140700".
  std::string organization_id;
  // The city the organisation belongs to; never CITY_UNSPECIFIED in a parsed identity.
  City city = City::CITY_UNSPECIFIED;
  CallerRole role = CallerRole::kHospital;
  // The URI exactly as found, e.g. "interop://taiyuan/hospital/H14010500001".
  std::string uri;
  // SHA-256 of the certificate's DER encoding, 64 lower-case hex digits (the value of
  // `openssl x509 -fingerprint -sha256`, without colons); empty if not made from a certificate.
  std::string certificate_sha256_hex;
  // The certificate's notAfter: the identity is not valid from this instant on. InfiniteFuture()
  // if not made from a certificate.
  absl::Time not_after = absl::InfiniteFuture();
};

// Parses `uri` as interop://<city>/<role>/<org-id>, by the rules of certs/README.md, exactly:
//   - the scheme is "interop" followed by "://", in lower case;
//   - <city> is one of taiyuan, yangquan, jinzhong, xinzhou, lvliang, in lower case (so the
//     gateway's own "interop://gateway/..." is not a caller identity);
//   - <role> is a name RoleFromName accepts;
//   - <org-id> is one or more of [A-Za-z0-9-];
//   - nothing else: no user, port, further path segment, trailing "/", query or fragment.
// Returns the identity with organization_id, city, role and uri set. Errors: INVALID_ARGUMENT saying
// which rule is broken, quoting (an escaped prefix of) the URI.
absl::StatusOr<CallerIdentity> ParseCallerUri(absl::string_view uri);

}  // namespace interop::auth

#endif  // INTEROP_GATEWAY_AUTH_CALLER_IDENTITY_H_
