#include "gateway/auth/caller_identity.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace interop::auth {
namespace {

constexpr absl::string_view kScheme = "interop://";
// Longest prefix of a rejected URI quoted in an error message.
constexpr size_t kMaxQuotedLength = 120;

std::string Quoted(absl::string_view uri) {
  std::string quoted = absl::StrCat("\"", absl::CHexEscape(uri.substr(0, kMaxQuotedLength)), "\"");
  if (uri.size() > kMaxQuotedLength) absl::StrAppend(&quoted, "...");
  return quoted;
}

absl::Status UriError(absl::string_view uri, absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("caller URI ", Quoted(uri), " is not interop://<city>/<role>/<org-id>: ", problem));
}

bool IsOrganizationIdChar(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-'; }

}  // namespace

absl::string_view RoleName(CallerRole role) {
  switch (role) {
    case CallerRole::kHospital:
      return "hospital";
    case CallerRole::kMedicalInsuranceBureau:
      return "medical-insurance-bureau";
    case CallerRole::kSocialSecurityBureau:
      return "social-security-bureau";
    case CallerRole::kHouseholdOffice:
      return "household-office";
    case CallerRole::kCitizenPortal:
      return "citizen-portal";
    case CallerRole::kOperator:
      return "operator";
  }
  return "unknown";
}

std::optional<CallerRole> RoleFromName(absl::string_view name) {
  for (CallerRole role : kAllCallerRoles) {
    if (RoleName(role) == name) return role;
  }
  return std::nullopt;
}

absl::StatusOr<CallerIdentity> ParseCallerUri(absl::string_view uri) {
  if (!absl::StartsWith(uri, kScheme)) return UriError(uri, "the scheme must be \"interop://\"");
  // Segments are checked left to right, so the error names the first one that is wrong.
  std::vector<absl::string_view> parts = absl::StrSplit(uri.substr(kScheme.size()), '/');
  // CityForName is lenient (any case, "lüliang"); the URI must use the canonical name.
  City city = CityForName(parts[0]);
  if (city == City::CITY_UNSPECIFIED || CityName(city) != parts[0]) {
    return UriError(uri, absl::StrCat("unknown city ", Quoted(parts[0]),
                                      " (expected taiyuan, yangquan, jinzhong, xinzhou or lvliang)"));
  }
  if (parts.size() < 3) return UriError(uri, "expected three path segments: city, role and org-id");
  std::optional<CallerRole> role = RoleFromName(parts[1]);
  if (!role.has_value()) return UriError(uri, absl::StrCat("unknown role ", Quoted(parts[1])));
  if (parts.size() > 3) return UriError(uri, "unexpected text after the org-id");
  absl::string_view org = parts[2];
  if (org.empty()) return UriError(uri, "the org-id is empty");
  for (char c : org) {
    if (!IsOrganizationIdChar(c)) return UriError(uri, "the org-id may hold only A-Z, a-z, 0-9 and '-'");
  }

  CallerIdentity identity;
  identity.organization_id = std::string(org);
  identity.city = city;
  identity.role = *role;
  identity.uri = std::string(uri);
  return identity;
}

}  // namespace interop::auth
