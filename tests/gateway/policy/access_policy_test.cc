// AccessPolicy: the reference policy allows and refuses what it says, Compile() refuses invalid
// policies naming the offending field, FromText() names the line of a syntax error, and
// IsPersonalRecordMethod() recognises the calls that read personal records.
#include "gateway/policy/access_policy.h"

#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gateway/base/rich_status.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "interop/citybackend/v1/city_backend.pb.h"
#include "reference_policy.h"

namespace interop::policy {
namespace {

using ::interop::policy::test_support::kGetContributionHistory;
using ::interop::policy::test_support::kGetHouseholdRecord;
using ::interop::policy::test_support::kGetInsuranceStatus;
using ::interop::policy::test_support::kListAccessesToPerson;
using ::interop::policy::test_support::kVerifyAccessLog;
using ::interop::policy::test_support::ReferencePolicyText;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;

using common::v1::CALLER_ROLE_CITIZEN_PORTAL;
using common::v1::CALLER_ROLE_HOSPITAL;
using common::v1::CALLER_ROLE_HOUSEHOLD_OFFICE;
using common::v1::CALLER_ROLE_MEDICAL_INSURANCE_BUREAU;
using common::v1::CALLER_ROLE_OPERATOR;
using common::v1::CALLER_ROLE_SOCIAL_SECURITY_BUREAU;
using common::v1::CALLER_ROLE_UNSPECIFIED;
using common::v1::PURPOSE_AUDIT;
using common::v1::PURPOSE_CITIZEN_SELF_SERVICE;
using common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION;
using common::v1::PURPOSE_MEDICAL_INSURANCE_ADMINISTRATION;
using common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION;
using common::v1::PURPOSE_TREATMENT;
using common::v1::PURPOSE_UNSPECIFIED;

const std::vector<CallerRole>& AllRoles() {
  static const auto* roles = new std::vector<CallerRole>{
      CALLER_ROLE_HOSPITAL,         CALLER_ROLE_MEDICAL_INSURANCE_BUREAU, CALLER_ROLE_SOCIAL_SECURITY_BUREAU,
      CALLER_ROLE_HOUSEHOLD_OFFICE, CALLER_ROLE_CITIZEN_PORTAL,           CALLER_ROLE_OPERATOR};
  return *roles;
}

const std::vector<std::string>& AllMethods() {
  static const auto* methods =
      new std::vector<std::string>{kGetInsuranceStatus, kGetContributionHistory, kGetHouseholdRecord,
                                   kListAccessesToPerson, kVerifyAccessLog};
  return *methods;
}

const std::vector<Purpose>& AllPurposes() {
  static const auto* purposes = new std::vector<Purpose>{PURPOSE_UNSPECIFIED,
                                                         PURPOSE_TREATMENT,
                                                         PURPOSE_MEDICAL_INSURANCE_ADMINISTRATION,
                                                         PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION,
                                                         PURPOSE_HOUSEHOLD_ADMINISTRATION,
                                                         PURPOSE_CITIZEN_SELF_SERVICE,
                                                         PURPOSE_AUDIT};
  return *purposes;
}

// Whether the method's request carries an AccessContext (stated here, not asked of the code under test).
bool IsPersonal(const std::string& method) { return method != kVerifyAccessLog; }

// What the reference policy intends, transcribed by hand from gateway/server/access_policy.textproto.
struct Intended {
  std::set<Purpose> purposes;  // empty for the non-personal VerifyAccessLog
  bool all_fields = false;
  std::set<std::string> fields;
  bool own_records_only = false;
};

const std::map<std::pair<CallerRole, std::string>, Intended>& IntendedGrants() {
  static const auto* grants = new std::map<std::pair<CallerRole, std::string>, Intended>{
      {{CALLER_ROLE_HOSPITAL, kGetInsuranceStatus},
       {{PURPOSE_TREATMENT},
        false,
        {"name", "insured_city", "insured_region_code", "insurance_type", "status", "enrollment_date",
         "personal_account_balance"}}},
      {{CALLER_ROLE_MEDICAL_INSURANCE_BUREAU, kGetInsuranceStatus},
       {{PURPOSE_MEDICAL_INSURANCE_ADMINISTRATION, PURPOSE_AUDIT}, true, {}}},
      {{CALLER_ROLE_MEDICAL_INSURANCE_BUREAU, kGetContributionHistory},
       {{PURPOSE_MEDICAL_INSURANCE_ADMINISTRATION}, true, {}}},
      {{CALLER_ROLE_MEDICAL_INSURANCE_BUREAU, kGetHouseholdRecord},
       {{PURPOSE_MEDICAL_INSURANCE_ADMINISTRATION}, false, {"name", "registered_city"}}},
      {{CALLER_ROLE_SOCIAL_SECURITY_BUREAU, kGetContributionHistory},
       {{PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION, PURPOSE_AUDIT}, true, {}}},
      {{CALLER_ROLE_SOCIAL_SECURITY_BUREAU, kGetInsuranceStatus},
       {{PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION},
        false,
        {"name", "insured_city", "insured_region_code", "insurance_type", "status", "enrollment_date"}}},
      {{CALLER_ROLE_SOCIAL_SECURITY_BUREAU, kGetHouseholdRecord},
       {{PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION},
        false,
        {"name", "registered_city", "address_code", "registered_since"}}},
      {{CALLER_ROLE_HOUSEHOLD_OFFICE, kGetHouseholdRecord}, {{PURPOSE_HOUSEHOLD_ADMINISTRATION}, true, {}}},
      {{CALLER_ROLE_CITIZEN_PORTAL, kGetInsuranceStatus}, {{PURPOSE_CITIZEN_SELF_SERVICE}, true, {}, true}},
      {{CALLER_ROLE_CITIZEN_PORTAL, kGetContributionHistory},
       {{PURPOSE_CITIZEN_SELF_SERVICE}, true, {}, true}},
      {{CALLER_ROLE_CITIZEN_PORTAL, kGetHouseholdRecord}, {{PURPOSE_CITIZEN_SELF_SERVICE}, true, {}, true}},
      {{CALLER_ROLE_CITIZEN_PORTAL, kListAccessesToPerson}, {{PURPOSE_CITIZEN_SELF_SERVICE}, true, {}, true}},
      {{CALLER_ROLE_OPERATOR, kListAccessesToPerson}, {{PURPOSE_AUDIT}, true, {}}},
      {{CALLER_ROLE_OPERATOR, kVerifyAccessLog}, {{}, true, {}}},
  };
  return *grants;
}

std::shared_ptr<const AccessPolicy> ReferencePolicy() {
  static const auto* policy = [] {
    std::string text = ReferencePolicyText();
    EXPECT_FALSE(text.empty()) << "cannot read " << test_support::ReferencePolicyPath();
    absl::StatusOr<std::shared_ptr<const AccessPolicy>> compiled = AccessPolicy::FromText(text);
    EXPECT_TRUE(compiled.ok()) << compiled.status();
    return new std::shared_ptr<const AccessPolicy>(compiled.ok() ? *compiled : nullptr);
  }();
  return *policy;
}

// ---------------------------------------------------------------------------------------------
// The reference policy.

TEST(ReferencePolicyTest, Compiles) {
  std::string text = ReferencePolicyText();
  ASSERT_FALSE(text.empty());
  absl::StatusOr<std::shared_ptr<const AccessPolicy>> policy = AccessPolicy::FromText(text);
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_NE(*policy, nullptr);
}

TEST(ReferencePolicyTest, RateLimitsPerRole) {
  std::shared_ptr<const AccessPolicy> policy = ReferencePolicy();
  ASSERT_NE(policy, nullptr);
  const std::map<CallerRole, std::pair<double, uint32_t>> expected = {
      {CALLER_ROLE_HOSPITAL, {200, 400}},
      {CALLER_ROLE_MEDICAL_INSURANCE_BUREAU, {500, 1000}},
      {CALLER_ROLE_SOCIAL_SECURITY_BUREAU, {500, 1000}},
      {CALLER_ROLE_HOUSEHOLD_OFFICE, {200, 400}},
      {CALLER_ROLE_CITIZEN_PORTAL, {100, 200}},
      {CALLER_ROLE_OPERATOR, {20, 40}}};
  for (const auto& [role, limit] : expected) {
    const config::v1::RateLimit* got = policy->RateLimitFor(role);
    ASSERT_NE(got, nullptr) << CallerRole_Name(role);
    EXPECT_EQ(got->role(), role);
    EXPECT_EQ(got->calls_per_second(), limit.first) << CallerRole_Name(role);
    EXPECT_EQ(got->burst(), limit.second) << CallerRole_Name(role);
  }
  EXPECT_EQ(policy->RateLimitFor(CALLER_ROLE_UNSPECIFIED), nullptr);
}

class ReferencePolicyAuthorizeTest : public ::testing::TestWithParam<std::tuple<CallerRole, std::string>> {};

TEST_P(ReferencePolicyAuthorizeTest, AllowsAndRefusesAsTheFileIntends) {
  const auto& [role, method] = GetParam();
  std::shared_ptr<const AccessPolicy> policy = ReferencePolicy();
  ASSERT_NE(policy, nullptr);
  const bool personal = IsPersonal(method);
  auto intended = IntendedGrants().find({role, method});

  for (Purpose purpose : AllPurposes()) {
    SCOPED_TRACE(Purpose_Name(purpose));
    absl::StatusOr<const CompiledGrant*> grant = policy->Authorize(role, method, purpose, personal);
    if (intended == IntendedGrants().end()) {
      ASSERT_FALSE(grant.ok());
      EXPECT_EQ(grant.status().code(), absl::StatusCode::kPermissionDenied);
      EXPECT_EQ(ErrorReason(grant.status()), "ROLE_NOT_ALLOWED");
      continue;
    }
    if (personal && purpose == PURPOSE_UNSPECIFIED) {
      ASSERT_FALSE(grant.ok());
      EXPECT_EQ(grant.status().code(), absl::StatusCode::kPermissionDenied);
      EXPECT_EQ(ErrorReason(grant.status()), "PURPOSE_MISSING");
      continue;
    }
    if (personal && intended->second.purposes.count(purpose) == 0) {
      ASSERT_FALSE(grant.ok());
      EXPECT_EQ(grant.status().code(), absl::StatusCode::kPermissionDenied);
      EXPECT_EQ(ErrorReason(grant.status()), "PURPOSE_NOT_ALLOWED");
      continue;
    }
    ASSERT_TRUE(grant.ok()) << grant.status();
    ASSERT_NE(*grant, nullptr);
    const CompiledGrant& g = **grant;
    std::set<int> purposes(intended->second.purposes.begin(), intended->second.purposes.end());
    EXPECT_EQ(g.purposes, purposes);
    EXPECT_EQ(g.all_fields_visible, intended->second.all_fields);
    EXPECT_EQ(g.visible_fields, intended->second.fields);
    EXPECT_EQ(g.own_records_only, intended->second.own_records_only);
  }
}

std::string RoleMethodName(const ::testing::TestParamInfo<std::tuple<CallerRole, std::string>>& info) {
  std::string role = CallerRole_Name(std::get<0>(info.param)).substr(sizeof("CALLER_ROLE_") - 1);
  const std::string& method = std::get<1>(info.param);
  return absl::StrCat(role, "_", method.substr(method.rfind('/') + 1));
}

INSTANTIATE_TEST_SUITE_P(RolesByMethods, ReferencePolicyAuthorizeTest,
                         ::testing::Combine(::testing::ValuesIn(AllRoles()),
                                            ::testing::ValuesIn(AllMethods())),
                         RoleMethodName);

// A few cases spelled out, so that a failure of the matrix above has a readable counterpart.
TEST(ReferencePolicyTest, SpelledOutCases) {
  std::shared_ptr<const AccessPolicy> policy = ReferencePolicy();
  ASSERT_NE(policy, nullptr);

  EXPECT_TRUE(policy->Authorize(CALLER_ROLE_HOSPITAL, kGetInsuranceStatus, PURPOSE_TREATMENT, true).ok());

  absl::Status s =
      policy->Authorize(CALLER_ROLE_HOSPITAL, kGetHouseholdRecord, PURPOSE_TREATMENT, true).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrorReason(s), "ROLE_NOT_ALLOWED");
  EXPECT_THAT(std::string(s.message()), HasSubstr("CALLER_ROLE_HOSPITAL"));

  s = policy->Authorize(CALLER_ROLE_HOSPITAL, kGetInsuranceStatus, PURPOSE_UNSPECIFIED, true).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrorReason(s), "PURPOSE_MISSING");

  s = policy->Authorize(CALLER_ROLE_HOSPITAL, kGetInsuranceStatus, PURPOSE_AUDIT, true).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrorReason(s), "PURPOSE_NOT_ALLOWED");
  EXPECT_THAT(std::string(s.message()), HasSubstr("PURPOSE_AUDIT"));

  // The operator audits the log, but does not read the records themselves.
  s = policy->Authorize(CALLER_ROLE_OPERATOR, kGetInsuranceStatus, PURPOSE_AUDIT, true).status();
  EXPECT_EQ(ErrorReason(s), "ROLE_NOT_ALLOWED");
  EXPECT_TRUE(policy->Authorize(CALLER_ROLE_OPERATOR, kVerifyAccessLog, PURPOSE_UNSPECIFIED, false).ok());

  // Nobody but the operator verifies the log; the unspecified role is refused everything.
  s = policy->Authorize(CALLER_ROLE_CITIZEN_PORTAL, kVerifyAccessLog, PURPOSE_UNSPECIFIED, false).status();
  EXPECT_EQ(ErrorReason(s), "ROLE_NOT_ALLOWED");
  for (const std::string& method : AllMethods()) {
    s = policy->Authorize(CALLER_ROLE_UNSPECIFIED, method, PURPOSE_AUDIT, IsPersonal(method)).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << method;
    EXPECT_EQ(ErrorReason(s), "ROLE_NOT_ALLOWED") << method;
  }

  // Unknown methods are refused, never allowed by accident.
  s = policy
          ->Authorize(CALLER_ROLE_OPERATOR, "/interop.accesslog.v1.AccessLogService/DeleteAccessLog",
                      PURPOSE_AUDIT, false)
          .status();
  EXPECT_EQ(ErrorReason(s), "ROLE_NOT_ALLOWED");
}

// ---------------------------------------------------------------------------------------------
// Compile() errors.

absl::Status CompileText(const std::string& text) {
  config::v1::AccessPolicy proto;
  if (!google::protobuf::TextFormat::ParseFromString(text, &proto)) {
    ADD_FAILURE() << "test policy does not parse: " << text;
    return absl::InternalError("unparsable test policy");
  }
  return AccessPolicy::Compile(proto).status();
}

constexpr char kValidGrant[] = R"pb(
  grants {
    role: CALLER_ROLE_HOSPITAL
    method: "/interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus"
    purposes: PURPOSE_TREATMENT
    visible_fields: "name"
  }
)pb";

void ExpectFieldError(const absl::Status& status, const std::string& field) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(BadRequestField(status), field) << status;
  EXPECT_THAT(status.message(), HasSubstr(field));
}

TEST(CompileTest, EmptyPolicyCompilesAndRefusesEverything) {
  absl::StatusOr<std::shared_ptr<const AccessPolicy>> policy =
      AccessPolicy::Compile(config::v1::AccessPolicy());
  ASSERT_TRUE(policy.ok()) << policy.status();
  absl::Status s =
      (*policy)->Authorize(CALLER_ROLE_OPERATOR, kVerifyAccessLog, PURPOSE_UNSPECIFIED, false).status();
  EXPECT_EQ(ErrorReason(s), "ROLE_NOT_ALLOWED");
  EXPECT_EQ((*policy)->RateLimitFor(CALLER_ROLE_OPERATOR), nullptr);
}

TEST(CompileTest, UnknownMethod) {
  absl::Status s = CompileText(absl::StrCat(kValidGrant, R"pb(
    grants {
      role: CALLER_ROLE_HOSPITAL
      method: "/interop.medical.v1.MedicalInsuranceService/GetInsuranceHistory"
      purposes: PURPOSE_TREATMENT
    }
  )pb"));
  ExpectFieldError(s, "grants[1].method");
  EXPECT_THAT(std::string(s.message()), HasSubstr("GetInsuranceHistory"));
}

TEST(CompileTest, MethodNotInFullNameForm) {
  for (const char* method :
       {"", "/", "GetInsuranceStatus", "interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus",
        "/interop.medical.v1.MedicalInsuranceService.GetInsuranceStatus",
        "/interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus/"}) {
    SCOPED_TRACE(method);
    config::v1::AccessPolicy proto;
    config::v1::Grant* grant = proto.add_grants();
    grant->set_role(CALLER_ROLE_HOSPITAL);
    grant->set_method(method);
    grant->add_purposes(PURPOSE_TREATMENT);
    ExpectFieldError(AccessPolicy::Compile(proto).status(), "grants[0].method");
  }
}

// Regression test (a bug found by this suite, fixed in gateway/policy/).
TEST(CompileTest, MethodWithMisplacedSlashIsRefused) {
  config::v1::AccessPolicy proto;
  config::v1::Grant* grant = proto.add_grants();
  grant->set_role(CALLER_ROLE_HOSPITAL);
  grant->set_method("/interop.medical.v1/MedicalInsuranceService.GetInsuranceStatus");
  grant->add_purposes(PURPOSE_TREATMENT);
  ExpectFieldError(AccessPolicy::Compile(proto).status(), "grants[0].method");
}

// Regression test (a bug found by this suite, fixed in gateway/policy/).
TEST(CompileTest, MethodOfAServiceTheGatewayDoesNotServeIsRefused) {
  ASSERT_NE(citybackend::v1::LocatePersonRequest::descriptor(), nullptr);  // registered, as in the gateway
  config::v1::AccessPolicy proto;
  config::v1::Grant* grant = proto.add_grants();
  grant->set_role(CALLER_ROLE_OPERATOR);
  grant->set_method("/interop.citybackend.v1.CityBackendService/LocatePerson");
  grant->add_visible_fields("*");
  ExpectFieldError(AccessPolicy::Compile(proto).status(), "grants[0].method");
}

TEST(CompileTest, UnspecifiedRole) {
  absl::Status s = CompileText(absl::StrCat(kValidGrant, R"pb(
    grants {
      method: "/interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus"
      purposes: PURPOSE_AUDIT
    }
  )pb"));
  ExpectFieldError(s, "grants[1].role");
}

TEST(CompileTest, RoleOutsideTheEnum) {
  config::v1::AccessPolicy proto;
  config::v1::Grant* grant = proto.add_grants();
  grant->set_role(static_cast<CallerRole>(42));
  grant->set_method(kGetInsuranceStatus);
  grant->add_purposes(PURPOSE_TREATMENT);
  ExpectFieldError(AccessPolicy::Compile(proto).status(), "grants[0].role");
}

TEST(CompileTest, VisibleFieldNotInResponse) {
  absl::Status s = CompileText(R"pb(
    grants {
      role: CALLER_ROLE_SOCIAL_SECURITY_BUREAU
      method: "/interop.household.v1.HouseholdRegistrationService/GetHouseholdRecord"
      purposes: PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION
      visible_fields: [ "name", "address", "registered_city" ]
    }
  )pb");
  ExpectFieldError(s, "grants[0].visible_fields[1]");
  EXPECT_THAT(std::string(s.message()), HasSubstr("\"address\""));
  EXPECT_THAT(std::string(s.message()), HasSubstr("interop.household.v1.GetHouseholdRecordResponse"));
}

TEST(CompileTest, VisibleFieldOfAnotherResponse) {
  // personal_account_balance is a field of the medical answer, not of the household one.
  absl::Status s = CompileText(R"pb(
    grants {
      role: CALLER_ROLE_HOUSEHOLD_OFFICE
      method: "/interop.household.v1.HouseholdRegistrationService/GetHouseholdRecord"
      purposes: PURPOSE_HOUSEHOLD_ADMINISTRATION
      visible_fields: "personal_account_balance"
    }
  )pb");
  ExpectFieldError(s, "grants[0].visible_fields[0]");
}

TEST(CompileTest, PersonalMethodWithoutPurposes) {
  for (const char* method :
       {kGetInsuranceStatus, kGetContributionHistory, kGetHouseholdRecord, kListAccessesToPerson}) {
    SCOPED_TRACE(method);
    config::v1::AccessPolicy proto;
    config::v1::Grant* grant = proto.add_grants();
    grant->set_role(CALLER_ROLE_OPERATOR);
    grant->set_method(method);
    grant->add_visible_fields("*");
    ExpectFieldError(AccessPolicy::Compile(proto).status(), "grants[0].purposes");
  }
}

TEST(CompileTest, UnspecifiedPurpose) {
  absl::Status s = CompileText(R"pb(
    grants {
      role: CALLER_ROLE_HOSPITAL
      method: "/interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus"
      purposes: [ PURPOSE_TREATMENT, PURPOSE_UNSPECIFIED ]
    }
  )pb");
  ExpectFieldError(s, "grants[0].purposes[1]");
}

TEST(CompileTest, NonPersonalMethodWithPurposes) {
  absl::Status s = CompileText(R"pb(
    grants {
      role: CALLER_ROLE_OPERATOR
      method: "/interop.accesslog.v1.AccessLogService/VerifyAccessLog"
      purposes: PURPOSE_AUDIT
      visible_fields: "*"
    }
  )pb");
  ExpectFieldError(s, "grants[0].purposes");
}

TEST(CompileTest, OwnRecordsOnlyOnNonPersonalMethod) {
  absl::Status s = CompileText(R"pb(
    grants {
      role: CALLER_ROLE_CITIZEN_PORTAL
      method: "/interop.accesslog.v1.AccessLogService/VerifyAccessLog"
      visible_fields: "*"
      own_records_only: true
    }
  )pb");
  ExpectFieldError(s, "grants[0].own_records_only");
}

TEST(CompileTest, DuplicateGrant) {
  absl::Status s = CompileText(absl::StrCat(
      kValidGrant, R"pb(
        grants { role: CALLER_ROLE_OPERATOR method: "/interop.accesslog.v1.AccessLogService/VerifyAccessLog" }
      )pb",
      kValidGrant));
  ExpectFieldError(s, "grants[2]");
  EXPECT_THAT(std::string(s.message()), HasSubstr("CALLER_ROLE_HOSPITAL"));
}

TEST(CompileTest, SameMethodForTwoRolesIsNotADuplicate) {
  absl::Status s = CompileText(absl::StrCat(kValidGrant, R"pb(
    grants {
      role: CALLER_ROLE_SOCIAL_SECURITY_BUREAU
      method: "/interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus"
      purposes: PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION
    }
  )pb"));
  EXPECT_TRUE(s.ok()) << s;
}

TEST(CompileTest, RateLimitCallsPerSecondNotPositive) {
  for (double rate : {0.0, -1.0, -0.001, std::numeric_limits<double>::quiet_NaN()}) {
    SCOPED_TRACE(rate);
    config::v1::AccessPolicy proto;
    config::v1::RateLimit* ok = proto.add_rate_limits();
    ok->set_role(CALLER_ROLE_HOSPITAL);
    ok->set_calls_per_second(10);
    ok->set_burst(10);
    config::v1::RateLimit* limit = proto.add_rate_limits();
    limit->set_role(CALLER_ROLE_OPERATOR);
    limit->set_calls_per_second(rate);
    limit->set_burst(10);
    ExpectFieldError(AccessPolicy::Compile(proto).status(), "rate_limits[1].calls_per_second");
  }
}

TEST(CompileTest, RateLimitBurstZero) {
  absl::Status s = CompileText(R"pb(
    rate_limits { role: CALLER_ROLE_OPERATOR calls_per_second: 20 burst: 0 }
  )pb");
  ExpectFieldError(s, "rate_limits[0].burst");
}

TEST(CompileTest, RateLimitUnspecifiedRole) {
  absl::Status s = CompileText(R"pb(
    rate_limits { calls_per_second: 20 burst: 40 }
  )pb");
  ExpectFieldError(s, "rate_limits[0].role");
}

TEST(CompileTest, DuplicateRateLimit) {
  absl::Status s = CompileText(R"pb(
    rate_limits { role: CALLER_ROLE_OPERATOR calls_per_second: 20 burst: 40 }
    rate_limits { role: CALLER_ROLE_HOSPITAL calls_per_second: 20 burst: 40 }
    rate_limits { role: CALLER_ROLE_OPERATOR calls_per_second: 1 burst: 1 }
  )pb");
  ExpectFieldError(s, "rate_limits[2]");
}

TEST(CompileTest, FractionalRateAndBurstOneAreValid) {
  absl::StatusOr<std::shared_ptr<const AccessPolicy>> policy = AccessPolicy::FromText(R"pb(
    rate_limits { role: CALLER_ROLE_OPERATOR calls_per_second: 0.5 burst: 1 }
  )pb");
  ASSERT_TRUE(policy.ok()) << policy.status();
  const config::v1::RateLimit* limit = (*policy)->RateLimitFor(CALLER_ROLE_OPERATOR);
  ASSERT_NE(limit, nullptr);
  EXPECT_EQ(limit->calls_per_second(), 0.5);
  EXPECT_EQ(limit->burst(), 1u);
  EXPECT_EQ((*policy)->RateLimitFor(CALLER_ROLE_HOSPITAL), nullptr);
}

// ---------------------------------------------------------------------------------------------
// FromText().

TEST(FromTextTest, SyntaxErrorNamesTheLine) {
  absl::Status s = AccessPolicy::FromText(
                       "grants {\n"
                       "  role: CALLER_ROLE_HOSPITAL\n"
                       "  method \"/interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus\"\n"
                       "}\n")
                       .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("line 3"));
}

TEST(FromTextTest, UnknownFieldNamesTheLine) {
  absl::Status s = AccessPolicy::FromText(
                       "# a comment\n"
                       "\n"
                       "grants {\n"
                       "  role: CALLER_ROLE_HOSPITAL\n"
                       "  purpose: PURPOSE_TREATMENT\n"
                       "}\n")
                       .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("line 5"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("purpose"));
}

TEST(FromTextTest, UnknownEnumValueNamesTheLine) {
  absl::Status s = AccessPolicy::FromText(
                       "grants {\n"
                       "  role: CALLER_ROLE_DOCTOR\n"
                       "}\n")
                       .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  // protobuf's text parser reports an unknown enum value at the token after it (here line 3,
  // column 1), so only "a line" and the offending value are asserted.
  EXPECT_THAT(std::string(s.message()), HasSubstr("line "));
  EXPECT_THAT(std::string(s.message()), HasSubstr("CALLER_ROLE_DOCTOR"));
}

TEST(FromTextTest, ValidationErrorsAfterParsingNameTheField) {
  absl::Status s = AccessPolicy::FromText(R"pb(
                     grants {
                       role: CALLER_ROLE_HOSPITAL
                       method: "/interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus"
                     }
                   )pb")
                       .status();
  ExpectFieldError(s, "grants[0].purposes");
}

TEST(FromTextTest, EmptyTextIsAnEmptyPolicy) {
  absl::StatusOr<std::shared_ptr<const AccessPolicy>> policy = AccessPolicy::FromText("");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(
      ErrorReason(
          (*policy)->Authorize(CALLER_ROLE_HOSPITAL, kGetInsuranceStatus, PURPOSE_TREATMENT, true).status()),
      "ROLE_NOT_ALLOWED");
}

// ---------------------------------------------------------------------------------------------
// IsPersonalRecordMethod().

TEST(IsPersonalRecordMethodTest, RecordReadsAndTheirAccessLogArePersonal) {
  EXPECT_TRUE(IsPersonalRecordMethod(kGetInsuranceStatus));
  EXPECT_TRUE(IsPersonalRecordMethod(kGetContributionHistory));
  EXPECT_TRUE(IsPersonalRecordMethod(kGetHouseholdRecord));
  EXPECT_TRUE(IsPersonalRecordMethod(kListAccessesToPerson));
}

TEST(IsPersonalRecordMethodTest, VerifyAccessLogAndUnknownNamesAreNot) {
  EXPECT_FALSE(IsPersonalRecordMethod(kVerifyAccessLog));
  for (const char* method : {"", "/", "//", "/interop.medical.v1.MedicalInsuranceService/GetInsuranceHistory",
                             "/interop.medical.v1.MedicalInsuranceService/",
                             "/interop.medical.v1.NoSuchService/GetInsuranceStatus",
                             "interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus",
                             "/interop.medical.v1.MedicalInsuranceService.GetInsuranceStatus",
                             "/interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus/extra",
                             "/interop.medical.v1.GetInsuranceStatusRequest/person"}) {
    EXPECT_FALSE(IsPersonalRecordMethod(method)) << method;
  }
}

// Regression test (a bug found by this suite, fixed in gateway/policy/).
TEST(IsPersonalRecordMethodTest, MisplacedSlashIsNotAMethod) {
  EXPECT_FALSE(IsPersonalRecordMethod("/interop.medical.v1/MedicalInsuranceService.GetInsuranceStatus"));
  EXPECT_FALSE(IsPersonalRecordMethod("/interop/medical.v1.MedicalInsuranceService.GetInsuranceStatus"));
}

}  // namespace
}  // namespace interop::policy
