// Test helper: the reference access policy shipped in gateway/server/access_policy.textproto.
#ifndef INTEROP_TESTS_GATEWAY_POLICY_REFERENCE_POLICY_H_
#define INTEROP_TESTS_GATEWAY_POLICY_REFERENCE_POLICY_H_

#include <fstream>
#include <sstream>
#include <string>

namespace interop::policy::test_support {

inline constexpr char kGetInsuranceStatus[] =
    "/interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus";
inline constexpr char kGetContributionHistory[] =
    "/interop.social.v1.SocialSecurityService/GetContributionHistory";
inline constexpr char kGetHouseholdRecord[] =
    "/interop.household.v1.HouseholdRegistrationService/GetHouseholdRecord";
inline constexpr char kListAccessesToPerson[] = "/interop.accesslog.v1.AccessLogService/ListAccessesToPerson";
inline constexpr char kVerifyAccessLog[] = "/interop.accesslog.v1.AccessLogService/VerifyAccessLog";

inline std::string ReferencePolicyPath() {
  return std::string(INTEROP_SOURCE_DIR) + "/gateway/server/access_policy.textproto";
}

// The text of the reference policy, or "" if it cannot be read.
inline std::string ReferencePolicyText() {
  std::ifstream in(ReferencePolicyPath());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace interop::policy::test_support

#endif  // INTEROP_TESTS_GATEWAY_POLICY_REFERENCE_POLICY_H_
