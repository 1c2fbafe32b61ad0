#include "adapters/grpc_backend/backend_translation.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::adapters {
namespace {

namespace backend = ::interop::citybackend::v1;
using ::interop::common::v1::City;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr char kResidentId[] = "140105199003071250";

// Expects INTERNAL whose message contains every one of `parts`.
template <typename T>
void ExpectInternal(const absl::StatusOr<T>& result, const std::vector<std::string>& parts) {
  ASSERT_FALSE(result.ok()) << "translated a malformed answer";
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal) << result.status();
  for (const std::string& part : parts) {
    EXPECT_THAT(std::string(result.status().message()), HasSubstr(part)) << result.status();
  }
}

// ---------------------------------------------------------------------------------------------
// ParseCompactDate / ParseCompactMonth

TEST(ParseCompactDateTest, ValidDate) {
  absl::StatusOr<common::v1::Date> date = ParseCompactDate("20240315");
  ASSERT_TRUE(date.ok()) << date.status();
  EXPECT_EQ(date->year(), 2024);
  EXPECT_EQ(date->month(), 3);
  EXPECT_EQ(date->day(), 15);
}

TEST(ParseCompactDateTest, LeapDayOnlyInLeapYears) {
  absl::StatusOr<common::v1::Date> leap = ParseCompactDate("20240229");
  ASSERT_TRUE(leap.ok()) << leap.status();
  EXPECT_EQ(leap->month(), 2);
  EXPECT_EQ(leap->day(), 29);

  absl::StatusOr<common::v1::Date> not_leap = ParseCompactDate("20230229");
  ASSERT_FALSE(not_leap.ok());
  EXPECT_EQ(not_leap.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(not_leap.status().message()), HasSubstr("20230229"));

  EXPECT_TRUE(ParseCompactDate("20000229").ok());    // divisible by 400
  EXPECT_FALSE(ParseCompactDate("19000229").ok());   // divisible by 100, not 400
}

TEST(ParseCompactDateTest, ImpossibleMonthsAndDays) {
  for (const char* text : {"20241301", "20240001", "20240100", "20240431", "20241232"}) {
    absl::StatusOr<common::v1::Date> date = ParseCompactDate(text);
    EXPECT_FALSE(date.ok()) << text;
    EXPECT_EQ(date.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

TEST(ParseCompactDateTest, WrongLength) {
  for (const char* text : {"", "2024031", "202403150", "2024-03-15"}) {
    absl::StatusOr<common::v1::Date> date = ParseCompactDate(text);
    EXPECT_FALSE(date.ok()) << text;
    EXPECT_EQ(date.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

TEST(ParseCompactDateTest, NonDigits) {
  for (const char* text : {"2024O315", "abcdefgh", "+2024031", "2024 315", "-2024031"}) {
    absl::StatusOr<common::v1::Date> date = ParseCompactDate(text);
    EXPECT_FALSE(date.ok()) << text;
    EXPECT_EQ(date.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(date.status().message()), HasSubstr("YYYYMMDD")) << text;
  }
}

TEST(ParseCompactMonthTest, Valid) {
  absl::StatusOr<std::pair<int, int>> month = ParseCompactMonth("202401");
  ASSERT_TRUE(month.ok()) << month.status();
  EXPECT_THAT(*month, Pair(2024, 1));
  month = ParseCompactMonth("199912");
  ASSERT_TRUE(month.ok()) << month.status();
  EXPECT_THAT(*month, Pair(1999, 12));
}

TEST(ParseCompactMonthTest, Invalid) {
  for (const char* text : {"202400", "202413", "20241", "2024011", "2024a1", "", "2024-1", "+20241"}) {
    absl::StatusOr<std::pair<int, int>> month = ParseCompactMonth(text);
    EXPECT_FALSE(month.ok()) << text;
    EXPECT_EQ(month.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

// ---------------------------------------------------------------------------------------------
// TranslateMedicalEnrollment

backend::GetMedicalEnrollmentResponse ValidEnrollment() {
  backend::GetMedicalEnrollmentResponse reply;
  reply.set_resident_id(kResidentId);
  reply.set_name("张三");
  reply.set_insured_region_code("141102");
  reply.set_insurance_type_code("310");
  reply.set_status_code("2");
  reply.set_enrollment_date("20180701");
  reply.set_balance_fen(123456);
  return reply;
}

TEST(TranslateMedicalEnrollmentTest, MapsEveryField) {
  absl::StatusOr<medical::v1::GetInsuranceStatusResponse> out =
      TranslateMedicalEnrollment(City::CITY_LVLIANG, CityCodeTables::National(), ValidEnrollment());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->resident_id(), kResidentId);
  EXPECT_EQ(out->name(), "张三");
  EXPECT_EQ(out->insured_city().city(), City::CITY_LVLIANG);
  EXPECT_EQ(out->insured_city().division_code(), "141100");
  EXPECT_EQ(out->insured_region_code(), "141102");
  EXPECT_EQ(out->insurance_type(), medical::v1::INSURANCE_TYPE_EMPLOYEE);
  EXPECT_EQ(out->status(), medical::v1::ENROLLMENT_STATUS_SUSPENDED);
  EXPECT_EQ(out->enrollment_date().year(), 2018);
  EXPECT_EQ(out->enrollment_date().month(), 7);
  EXPECT_EQ(out->enrollment_date().day(), 1);
  EXPECT_EQ(out->personal_account_balance().fen(), 123456);
  EXPECT_FALSE(out->has_provenance());
}

TEST(TranslateMedicalEnrollmentTest, EveryNationalCodeMaps) {
  const std::pair<const char*, medical::v1::InsuranceType> types[] = {
      {"310", medical::v1::INSURANCE_TYPE_EMPLOYEE},
      {"340", medical::v1::INSURANCE_TYPE_RETIRED_CADRE},
      {"390", medical::v1::INSURANCE_TYPE_URBAN_RURAL_RESIDENT}};
  for (const auto& [code, type] : types) {
    backend::GetMedicalEnrollmentResponse reply = ValidEnrollment();
    reply.set_insurance_type_code(code);
    auto out = TranslateMedicalEnrollment(City::CITY_TAIYUAN, CityCodeTables::National(), reply);
    ASSERT_TRUE(out.ok()) << code << ": " << out.status();
    EXPECT_EQ(out->insurance_type(), type) << code;
  }
  const std::pair<const char*, medical::v1::EnrollmentStatus> statuses[] = {
      {"1", medical::v1::ENROLLMENT_STATUS_ACTIVE},
      {"2", medical::v1::ENROLLMENT_STATUS_SUSPENDED},
      {"3", medical::v1::ENROLLMENT_STATUS_TERMINATED}};
  for (const auto& [code, status] : statuses) {
    backend::GetMedicalEnrollmentResponse reply = ValidEnrollment();
    reply.set_status_code(code);
    auto out = TranslateMedicalEnrollment(City::CITY_TAIYUAN, CityCodeTables::National(), reply);
    ASSERT_TRUE(out.ok()) << code << ": " << out.status();
    EXPECT_EQ(out->status(), status) << code;
  }
}

TEST(TranslateMedicalEnrollmentTest, ZeroBalanceIsFine) {
  backend::GetMedicalEnrollmentResponse reply = ValidEnrollment();
  reply.set_balance_fen(0);
  auto out = TranslateMedicalEnrollment(City::CITY_TAIYUAN, CityCodeTables::National(), reply);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->personal_account_balance().fen(), 0);
}

TEST(TranslateMedicalEnrollmentTest, UnmappedInsuranceTypeNamesCityFieldAndCode) {
  backend::GetMedicalEnrollmentResponse reply = ValidEnrollment();
  reply.set_insurance_type_code("391");
  ExpectInternal(TranslateMedicalEnrollment(City::CITY_LVLIANG, CityCodeTables::National(), reply),
                 {"lvliang", "insurance_type_code", "\"391\""});
}

TEST(TranslateMedicalEnrollmentTest, UnmappedStatusNamesCityFieldAndCode) {
  backend::GetMedicalEnrollmentResponse reply = ValidEnrollment();
  reply.set_status_code("9");
  ExpectInternal(TranslateMedicalEnrollment(City::CITY_YANGQUAN, CityCodeTables::National(), reply),
                 {"yangquan", "status_code", "\"9\""});
}

TEST(TranslateMedicalEnrollmentTest, EmptyCodeIsNotMapped) {
  backend::GetMedicalEnrollmentResponse reply = ValidEnrollment();
  reply.clear_insurance_type_code();
  ExpectInternal(TranslateMedicalEnrollment(City::CITY_JINZHONG, CityCodeTables::National(), reply),
                 {"jinzhong", "insurance_type_code"});
}

TEST(TranslateMedicalEnrollmentTest, UsesTheCitysOwnTables) {
  CityCodeTables local = CityCodeTables::National();
  local.insurance_types = {{"A1", medical::v1::INSURANCE_TYPE_URBAN_RURAL_RESIDENT}};
  backend::GetMedicalEnrollmentResponse reply = ValidEnrollment();
  reply.set_insurance_type_code("A1");
  auto out = TranslateMedicalEnrollment(City::CITY_XINZHOU, local, reply);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->insurance_type(), medical::v1::INSURANCE_TYPE_URBAN_RURAL_RESIDENT);

  // The national code is not in this city's table.
  reply.set_insurance_type_code("310");
  ExpectInternal(TranslateMedicalEnrollment(City::CITY_XINZHOU, local, reply),
                 {"xinzhou", "insurance_type_code", "\"310\""});
}

TEST(TranslateMedicalEnrollmentTest, MalformedRegionCode) {
  for (const char* code : {"", "14110", "1411020", "14110a", "1411 2"}) {
    backend::GetMedicalEnrollmentResponse reply = ValidEnrollment();
    reply.set_insured_region_code(code);
    SCOPED_TRACE(code);
    ExpectInternal(TranslateMedicalEnrollment(City::CITY_TAIYUAN, CityCodeTables::National(), reply),
                   {"taiyuan", "insured_region_code"});
  }
}

TEST(TranslateMedicalEnrollmentTest, NegativeBalance) {
  backend::GetMedicalEnrollmentResponse reply = ValidEnrollment();
  reply.set_balance_fen(-1);
  ExpectInternal(TranslateMedicalEnrollment(City::CITY_TAIYUAN, CityCodeTables::National(), reply),
                 {"taiyuan", "balance_fen", "negative"});
}

TEST(TranslateMedicalEnrollmentTest, BadEnrollmentDate) {
  for (const char* date : {"20230229", "2018071", "2018-7-1", ""}) {
    backend::GetMedicalEnrollmentResponse reply = ValidEnrollment();
    reply.set_enrollment_date(date);
    SCOPED_TRACE(date);
    ExpectInternal(TranslateMedicalEnrollment(City::CITY_XINZHOU, CityCodeTables::National(), reply),
                   {"xinzhou", "enrollment_date"});
  }
}

TEST(TranslateMedicalEnrollmentTest, BadResidentId) {
  backend::GetMedicalEnrollmentResponse reply = ValidEnrollment();
  reply.set_resident_id("14010519900307125");
  ExpectInternal(TranslateMedicalEnrollment(City::CITY_TAIYUAN, CityCodeTables::National(), reply),
                 {"taiyuan", "resident_id"});
}

// ---------------------------------------------------------------------------------------------
// TranslateContributions

backend::MonthlyContribution Month(const char* kind, const char* year_month, int64_t base, int64_t personal,
                                   int64_t employer) {
  backend::MonthlyContribution m;
  m.set_kind_code(kind);
  m.set_year_month(year_month);
  m.set_wage_base_fen(base);
  m.set_personal_fen(personal);
  m.set_employer_fen(employer);
  return m;
}

TEST(TranslateContributionsTest, MapsEveryFieldOfEveryMonth) {
  backend::GetContributionsResponse reply;
  reply.set_resident_id(kResidentId);
  *reply.add_months() = Month("110", "202311", 500000, 40000, 80000);
  *reply.add_months() = Month("210", "202311", 500000, 2500, 3500);
  *reply.add_months() = Month("310", "202312", 510000, 10200, 30600);
  *reply.add_months() = Month("410", "202401", 520000, 0, 2600);
  auto out = TranslateContributions(City::CITY_JINZHONG, CityCodeTables::National(), reply);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 4u);

  const social::v1::ContributionEntry& first = (*out)[0];
  EXPECT_EQ(first.city().city(), City::CITY_JINZHONG);
  EXPECT_EQ(first.city().division_code(), "140700");
  EXPECT_EQ(first.kind(), social::v1::INSURANCE_KIND_EMPLOYEE_PENSION);
  EXPECT_EQ(first.year(), 2023);
  EXPECT_EQ(first.month(), 11);
  EXPECT_EQ(first.wage_base().fen(), 500000);
  EXPECT_EQ(first.months(), 1);
  EXPECT_EQ(first.personal_amount().fen(), 40000);
  EXPECT_EQ(first.employer_amount().fen(), 80000);

  EXPECT_EQ((*out)[1].kind(), social::v1::INSURANCE_KIND_UNEMPLOYMENT);
  EXPECT_EQ((*out)[1].personal_amount().fen(), 2500);
  EXPECT_EQ((*out)[1].employer_amount().fen(), 3500);
  EXPECT_EQ((*out)[2].kind(), social::v1::INSURANCE_KIND_EMPLOYEE_MEDICAL);
  EXPECT_EQ((*out)[2].month(), 12);
  EXPECT_EQ((*out)[2].wage_base().fen(), 510000);
  EXPECT_EQ((*out)[3].kind(), social::v1::INSURANCE_KIND_WORK_INJURY);
  EXPECT_EQ((*out)[3].year(), 2024);
  EXPECT_EQ((*out)[3].month(), 1);
  EXPECT_EQ((*out)[3].personal_amount().fen(), 0);
  for (const auto& entry : *out) EXPECT_EQ(entry.months(), 1);
}

TEST(TranslateContributionsTest, NoMonthsIsAnEmptyHistory) {
  backend::GetContributionsResponse reply;
  reply.set_resident_id(kResidentId);
  auto out = TranslateContributions(City::CITY_TAIYUAN, CityCodeTables::National(), reply);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->empty());
}

TEST(TranslateContributionsTest, UnmappedKindNamesCityIndexedFieldAndCode) {
  backend::GetContributionsResponse reply;
  *reply.add_months() = Month("110", "202301", 1, 1, 1);
  *reply.add_months() = Month("510", "202301", 1, 1, 1);  // maternity: not a kind the exchange knows
  ExpectInternal(TranslateContributions(City::CITY_LVLIANG, CityCodeTables::National(), reply),
                 {"lvliang", "months[1].kind_code", "\"510\""});
}

TEST(TranslateContributionsTest, BadYearMonthNamesTheIndexedField) {
  for (const char* ym : {"202313", "202300", "20231", "2023-1", "2023a1"}) {
    backend::GetContributionsResponse reply;
    *reply.add_months() = Month("110", "202301", 1, 1, 1);
    *reply.add_months() = Month("110", "202302", 1, 1, 1);
    *reply.add_months() = Month("110", ym, 1, 1, 1);
    SCOPED_TRACE(ym);
    ExpectInternal(TranslateContributions(City::CITY_YANGQUAN, CityCodeTables::National(), reply),
                   {"yangquan", "months[2].year_month"});
  }
}

TEST(TranslateContributionsTest, NegativeAmounts) {
  const backend::MonthlyContribution bad[] = {Month("110", "202301", -1, 1, 1), Month("110", "202301", 1, -1, 1),
                                              Month("110", "202301", 1, 1, -1)};
  for (const backend::MonthlyContribution& month : bad) {
    backend::GetContributionsResponse reply;
    *reply.add_months() = month;
    SCOPED_TRACE(month.ShortDebugString());
    ExpectInternal(TranslateContributions(City::CITY_XINZHOU, CityCodeTables::National(), reply),
                   {"xinzhou", "months[0]", "negative"});
  }
}

// ---------------------------------------------------------------------------------------------
// TranslateHouseholdRegistration

backend::GetHouseholdRegistrationResponse ValidHousehold() {
  backend::GetHouseholdRegistrationResponse reply;
  reply.set_resident_id(kResidentId);
  reply.set_name("李四");
  reply.set_address_code("140105");
  reply.set_household_number("012345678");
  reply.set_relation_code("10");
  reply.set_household_type_code("2");
  reply.set_registered_since("20100915");
  return reply;
}

TEST(TranslateHouseholdRegistrationTest, MapsEveryField) {
  auto out = TranslateHouseholdRegistration(City::CITY_TAIYUAN, CityCodeTables::National(), ValidHousehold());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->resident_id(), kResidentId);
  EXPECT_EQ(out->name(), "李四");
  EXPECT_EQ(out->registered_city().city(), City::CITY_TAIYUAN);
  EXPECT_EQ(out->registered_city().division_code(), "140100");
  EXPECT_EQ(out->address_code(), "140105");
  EXPECT_EQ(out->household_number(), "012345678");
  EXPECT_EQ(out->relation_to_head(), household::v1::RELATION_TO_HEAD_SPOUSE);
  EXPECT_EQ(out->household_type(), household::v1::HOUSEHOLD_TYPE_COLLECTIVE);
  EXPECT_EQ(out->registered_since().year(), 2010);
  EXPECT_EQ(out->registered_since().month(), 9);
  EXPECT_EQ(out->registered_since().day(), 15);
  EXPECT_FALSE(out->has_provenance());
}

TEST(TranslateHouseholdRegistrationTest, EveryNationalRelationAndTypeMaps) {
  const std::pair<const char*, household::v1::RelationToHead> relations[] = {
      {"02", household::v1::RELATION_TO_HEAD_HEAD},       {"10", household::v1::RELATION_TO_HEAD_SPOUSE},
      {"20", household::v1::RELATION_TO_HEAD_CHILD},      {"30", household::v1::RELATION_TO_HEAD_GRANDCHILD},
      {"50", household::v1::RELATION_TO_HEAD_PARENT},     {"99", household::v1::RELATION_TO_HEAD_OTHER}};
  for (const auto& [code, relation] : relations) {
    backend::GetHouseholdRegistrationResponse reply = ValidHousehold();
    reply.set_relation_code(code);
    auto out = TranslateHouseholdRegistration(City::CITY_TAIYUAN, CityCodeTables::National(), reply);
    ASSERT_TRUE(out.ok()) << code << ": " << out.status();
    EXPECT_EQ(out->relation_to_head(), relation) << code;
  }
  backend::GetHouseholdRegistrationResponse reply = ValidHousehold();
  reply.set_household_type_code("1");
  auto out = TranslateHouseholdRegistration(City::CITY_TAIYUAN, CityCodeTables::National(), reply);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->household_type(), household::v1::HOUSEHOLD_TYPE_FAMILY);
}

TEST(TranslateHouseholdRegistrationTest, UnmappedRelationNamesCityFieldAndCode) {
  backend::GetHouseholdRegistrationResponse reply = ValidHousehold();
  reply.set_relation_code("2");  // "02" without its leading zero
  ExpectInternal(TranslateHouseholdRegistration(City::CITY_LVLIANG, CityCodeTables::National(), reply),
                 {"lvliang", "relation_code", "\"2\""});
}

TEST(TranslateHouseholdRegistrationTest, UnmappedHouseholdTypeNamesCityFieldAndCode) {
  backend::GetHouseholdRegistrationResponse reply = ValidHousehold();
  reply.set_household_type_code("3");
  ExpectInternal(TranslateHouseholdRegistration(City::CITY_JINZHONG, CityCodeTables::National(), reply),
                 {"jinzhong", "household_type_code", "\"3\""});
}

TEST(TranslateHouseholdRegistrationTest, MalformedAddressCode) {
  for (const char* code : {"", "1401", "1401050", "14O105"}) {
    backend::GetHouseholdRegistrationResponse reply = ValidHousehold();
    reply.set_address_code(code);
    SCOPED_TRACE(code);
    ExpectInternal(TranslateHouseholdRegistration(City::CITY_TAIYUAN, CityCodeTables::National(), reply),
                   {"taiyuan", "address_code"});
  }
}

TEST(TranslateHouseholdRegistrationTest, BadHouseholdNumber) {
  for (const char* number : {"", "12345678", "1234567890", "12345678a", "1234-5678"}) {
    backend::GetHouseholdRegistrationResponse reply = ValidHousehold();
    reply.set_household_number(number);
    SCOPED_TRACE(number);
    ExpectInternal(TranslateHouseholdRegistration(City::CITY_XINZHOU, CityCodeTables::National(), reply),
                   {"xinzhou", "household_number"});
  }
}

TEST(TranslateHouseholdRegistrationTest, BadRegisteredSince) {
  for (const char* date : {"20230229", "20101315", "2010091", ""}) {
    backend::GetHouseholdRegistrationResponse reply = ValidHousehold();
    reply.set_registered_since(date);
    SCOPED_TRACE(date);
    ExpectInternal(TranslateHouseholdRegistration(City::CITY_YANGQUAN, CityCodeTables::National(), reply),
                   {"yangquan", "registered_since"});
  }
}

TEST(TranslateHouseholdRegistrationTest, BadResidentId) {
  backend::GetHouseholdRegistrationResponse reply = ValidHousehold();
  reply.clear_resident_id();
  ExpectInternal(TranslateHouseholdRegistration(City::CITY_TAIYUAN, CityCodeTables::National(), reply),
                 {"taiyuan", "resident_id"});
}

}  // namespace
}  // namespace interop::adapters
