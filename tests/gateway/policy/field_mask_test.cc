// AccessPolicy::ApplyFieldMask on real response messages: fields a grant does not make visible are
// cleared and listed in field order; resident_id and provenance always stay; "*" keeps everything.
#include <memory>
#include <string>
#include <vector>

#include "gateway/policy/access_policy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "interop/household/v1/household.pb.h"
#include "interop/medical/v1/medical.pb.h"
#include "interop/social/v1/social.pb.h"
#include "reference_policy.h"

namespace interop::policy {
namespace {

using ::interop::household::v1::GetHouseholdRecordResponse;
using ::interop::medical::v1::GetInsuranceStatusResponse;
using ::interop::policy::test_support::kGetContributionHistory;
using ::interop::policy::test_support::kGetHouseholdRecord;
using ::interop::policy::test_support::kGetInsuranceStatus;
using ::interop::policy::test_support::ReferencePolicyText;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

using common::v1::CALLER_ROLE_CITIZEN_PORTAL;
using common::v1::CALLER_ROLE_HOSPITAL;
using common::v1::CALLER_ROLE_HOUSEHOLD_OFFICE;
using common::v1::CALLER_ROLE_MEDICAL_INSURANCE_BUREAU;
using common::v1::CALLER_ROLE_SOCIAL_SECURITY_BUREAU;
using common::v1::PURPOSE_CITIZEN_SELF_SERVICE;
using common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION;
using common::v1::PURPOSE_MEDICAL_INSURANCE_ADMINISTRATION;
using common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION;
using common::v1::PURPOSE_TREATMENT;

constexpr char kResidentId[] = "14090219880512123X";

void FillProvenance(common::v1::Provenance* provenance) {
  common::v1::CityInfo* city = provenance->add_source_cities();
  city->set_city(common::v1::CITY_XINZHOU);
  city->set_division_code("140900");
  provenance->set_request_id("req-1");
}

GetInsuranceStatusResponse FullInsuranceStatus() {
  GetInsuranceStatusResponse r;
  r.set_resident_id(kResidentId);
  r.set_name("张三");
  r.mutable_insured_city()->set_city(common::v1::CITY_XINZHOU);
  r.mutable_insured_city()->set_division_code("140900");
  r.set_insured_region_code("140902");
  r.set_insurance_type(medical::v1::INSURANCE_TYPE_EMPLOYEE);
  r.set_status(medical::v1::ENROLLMENT_STATUS_ACTIVE);
  r.mutable_enrollment_date()->set_year(2010);
  r.mutable_enrollment_date()->set_month(7);
  r.mutable_enrollment_date()->set_day(1);
  r.mutable_personal_account_balance()->set_fen(123456);
  FillProvenance(r.mutable_provenance());
  return r;
}

GetHouseholdRecordResponse FullHouseholdRecord() {
  GetHouseholdRecordResponse r;
  r.set_resident_id(kResidentId);
  r.set_name("张三");
  r.mutable_registered_city()->set_city(common::v1::CITY_XINZHOU);
  r.mutable_registered_city()->set_division_code("140900");
  r.set_address_code("140902");
  r.set_household_number("140902000123");
  r.set_relation_to_head(household::v1::RELATION_TO_HEAD_HEAD);
  r.set_household_type(household::v1::HOUSEHOLD_TYPE_FAMILY);
  r.mutable_registered_since()->set_year(1988);
  r.mutable_registered_since()->set_month(5);
  r.mutable_registered_since()->set_day(12);
  FillProvenance(r.mutable_provenance());
  return r;
}

class FieldMaskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::shared_ptr<const AccessPolicy>> policy =
        AccessPolicy::FromText(ReferencePolicyText());
    ASSERT_TRUE(policy.ok()) << policy.status();
    policy_ = *policy;
  }

  const CompiledGrant& Grant(CallerRole role, const std::string& method, Purpose purpose) {
    absl::StatusOr<const CompiledGrant*> grant = policy_->Authorize(role, method, purpose, /*personal=*/true);
    EXPECT_TRUE(grant.ok()) << grant.status();
    static const CompiledGrant kNothing;
    return grant.ok() ? **grant : kNothing;
  }

  std::shared_ptr<const AccessPolicy> policy_;
};

TEST_F(FieldMaskTest, SocialSecurityBureauDoesNotSeeTheAccountBalance) {
  GetInsuranceStatusResponse r = FullInsuranceStatus();
  const GetInsuranceStatusResponse full = r;
  std::vector<std::string> withheld = AccessPolicy::ApplyFieldMask(
      Grant(CALLER_ROLE_SOCIAL_SECURITY_BUREAU, kGetInsuranceStatus, PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION),
      &r);

  EXPECT_THAT(withheld, ElementsAre("personal_account_balance"));
  EXPECT_FALSE(r.has_personal_account_balance());
  // Everything else is untouched.
  GetInsuranceStatusResponse expected = full;
  expected.clear_personal_account_balance();
  EXPECT_EQ(r.SerializeAsString(), expected.SerializeAsString()) << r.DebugString();
}

TEST_F(FieldMaskTest, HospitalSeesEverythingItIsGranted) {
  GetInsuranceStatusResponse r = FullInsuranceStatus();
  const GetInsuranceStatusResponse full = r;
  std::vector<std::string> withheld =
      AccessPolicy::ApplyFieldMask(Grant(CALLER_ROLE_HOSPITAL, kGetInsuranceStatus, PURPOSE_TREATMENT), &r);
  EXPECT_THAT(withheld, IsEmpty());
  EXPECT_EQ(r.SerializeAsString(), full.SerializeAsString());
}

TEST_F(FieldMaskTest, MedicalBureauSeesOnlyNameAndCityOfTheHouseholdRecord) {
  GetHouseholdRecordResponse r = FullHouseholdRecord();
  std::vector<std::string> withheld =
      AccessPolicy::ApplyFieldMask(Grant(CALLER_ROLE_MEDICAL_INSURANCE_BUREAU, kGetHouseholdRecord,
                                         PURPOSE_MEDICAL_INSURANCE_ADMINISTRATION),
                                   &r);

  EXPECT_THAT(withheld, ElementsAre("address_code", "household_number", "relation_to_head", "household_type",
                                    "registered_since"));
  // Kept.
  EXPECT_EQ(r.resident_id(), kResidentId);
  EXPECT_EQ(r.name(), "张三");
  ASSERT_TRUE(r.has_registered_city());
  EXPECT_EQ(r.registered_city().division_code(), "140900");
  ASSERT_TRUE(r.has_provenance());
  EXPECT_EQ(r.provenance().request_id(), "req-1");
  // Cleared.
  EXPECT_EQ(r.address_code(), "");
  EXPECT_EQ(r.household_number(), "");
  EXPECT_EQ(r.relation_to_head(), household::v1::RELATION_TO_HEAD_UNSPECIFIED);
  EXPECT_EQ(r.household_type(), household::v1::HOUSEHOLD_TYPE_UNSPECIFIED);
  EXPECT_FALSE(r.has_registered_since());
}

TEST_F(FieldMaskTest, SocialSecurityBureauSeesWhereButNotTheHousehold) {
  GetHouseholdRecordResponse r = FullHouseholdRecord();
  std::vector<std::string> withheld = AccessPolicy::ApplyFieldMask(
      Grant(CALLER_ROLE_SOCIAL_SECURITY_BUREAU, kGetHouseholdRecord, PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION),
      &r);
  EXPECT_THAT(withheld, ElementsAre("household_number", "relation_to_head", "household_type"));
  EXPECT_EQ(r.address_code(), "140902");
  EXPECT_TRUE(r.has_registered_since());
  EXPECT_TRUE(r.has_registered_city());
  EXPECT_EQ(r.household_number(), "");
}

TEST_F(FieldMaskTest, StarKeepsEverythingAndWithholdsNothing) {
  {
    GetHouseholdRecordResponse r = FullHouseholdRecord();
    const GetHouseholdRecordResponse full = r;
    EXPECT_THAT(
        AccessPolicy::ApplyFieldMask(
            Grant(CALLER_ROLE_HOUSEHOLD_OFFICE, kGetHouseholdRecord, PURPOSE_HOUSEHOLD_ADMINISTRATION), &r),
        IsEmpty());
    EXPECT_EQ(r.SerializeAsString(), full.SerializeAsString());
  }
  {
    GetInsuranceStatusResponse r = FullInsuranceStatus();
    const GetInsuranceStatusResponse full = r;
    EXPECT_THAT(AccessPolicy::ApplyFieldMask(
                    Grant(CALLER_ROLE_CITIZEN_PORTAL, kGetInsuranceStatus, PURPOSE_CITIZEN_SELF_SERVICE), &r),
                IsEmpty());
    EXPECT_EQ(r.SerializeAsString(), full.SerializeAsString());
  }
  {
    social::v1::GetContributionHistoryResponse r;
    r.set_resident_id(kResidentId);
    r.add_entries()->set_year(2020);
    r.set_total_pension_months(120);
    const social::v1::GetContributionHistoryResponse full = r;
    EXPECT_THAT(
        AccessPolicy::ApplyFieldMask(Grant(CALLER_ROLE_MEDICAL_INSURANCE_BUREAU, kGetContributionHistory,
                                           PURPOSE_MEDICAL_INSURANCE_ADMINISTRATION),
                                     &r),
        IsEmpty());
    EXPECT_EQ(r.SerializeAsString(), full.SerializeAsString());
  }
}

TEST(FieldMaskGrantTest, StarAmongNamedFieldsStillMeansAll) {
  absl::StatusOr<std::shared_ptr<const AccessPolicy>> policy = AccessPolicy::FromText(R"pb(
    grants {
      role: CALLER_ROLE_HOSPITAL
      method: "/interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus"
      purposes: PURPOSE_TREATMENT
      visible_fields: [ "name", "*" ]
    }
  )pb");
  ASSERT_TRUE(policy.ok()) << policy.status();
  absl::StatusOr<const CompiledGrant*> grant =
      (*policy)->Authorize(CALLER_ROLE_HOSPITAL, kGetInsuranceStatus, PURPOSE_TREATMENT, true);
  ASSERT_TRUE(grant.ok()) << grant.status();
  GetInsuranceStatusResponse r = FullInsuranceStatus();
  const GetInsuranceStatusResponse full = r;
  EXPECT_THAT(AccessPolicy::ApplyFieldMask(**grant, &r), IsEmpty());
  EXPECT_EQ(r.SerializeAsString(), full.SerializeAsString());
}

TEST(FieldMaskGrantTest, NoVisibleFieldsKeepsOnlyResidentIdAndProvenance) {
  CompiledGrant nothing;
  GetInsuranceStatusResponse r = FullInsuranceStatus();
  std::vector<std::string> withheld = AccessPolicy::ApplyFieldMask(nothing, &r);
  EXPECT_THAT(withheld, ElementsAre("name", "insured_city", "insured_region_code", "insurance_type", "status",
                                    "enrollment_date", "personal_account_balance"));
  EXPECT_EQ(r.resident_id(), kResidentId);
  ASSERT_TRUE(r.has_provenance());
  EXPECT_EQ(r.provenance().source_cities_size(), 1);
  EXPECT_EQ(r.name(), "");
  EXPECT_FALSE(r.has_insured_city());
  EXPECT_EQ(r.insured_region_code(), "");
  EXPECT_EQ(r.insurance_type(), medical::v1::INSURANCE_TYPE_UNSPECIFIED);
  EXPECT_EQ(r.status(), medical::v1::ENROLLMENT_STATUS_UNSPECIFIED);
  EXPECT_FALSE(r.has_enrollment_date());
  EXPECT_FALSE(r.has_personal_account_balance());
}

TEST(FieldMaskGrantTest, ResidentIdAndProvenanceKeptEvenIfNotListed) {
  CompiledGrant grant;
  grant.visible_fields = {"name"};
  GetHouseholdRecordResponse r = FullHouseholdRecord();
  std::vector<std::string> withheld = AccessPolicy::ApplyFieldMask(grant, &r);
  EXPECT_THAT(withheld, ElementsAre("registered_city", "address_code", "household_number", "relation_to_head",
                                    "household_type", "registered_since"));
  EXPECT_EQ(r.resident_id(), kResidentId);
  EXPECT_EQ(r.name(), "张三");
  EXPECT_TRUE(r.has_provenance());
  EXPECT_FALSE(r.has_registered_city());
}

TEST(FieldMaskGrantTest, UnsetFieldsAreStillListedAsWithheld) {
  // The list says what the grant withholds, not what this particular answer happened to contain.
  CompiledGrant grant;
  grant.visible_fields = {"name", "registered_city", "address_code", "registered_since"};
  GetHouseholdRecordResponse r;
  r.set_resident_id(kResidentId);
  EXPECT_THAT(AccessPolicy::ApplyFieldMask(grant, &r),
              ElementsAre("household_number", "relation_to_head", "household_type"));
  EXPECT_EQ(r.resident_id(), kResidentId);
}

}  // namespace
}  // namespace interop::policy
