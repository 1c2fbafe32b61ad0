#include "adapters/grpc_backend/backend_translation.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::adapters {
namespace {

namespace backend = ::interop::citybackend::v1;
using ::interop::common::v1::City;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kResidentId[] = "140105199003071250";
// Born 1965-03-07 (valid check character); its legacy 15-digit number.
constexpr char kOldPerson[] = "142201196503071239";
constexpr char kOldPersonLegacy[] = "142201650307123";

// The code tables every local test dialect below shares (Jinzhong's style).
constexpr char kLocalTables[] = R"pb(
  insurance_types { local_code: "ZG" national_code: "310" }
  insurance_types { local_code: "TX" national_code: "310" }
  insurance_types { local_code: "LX" national_code: "340" }
  insurance_types { local_code: "JM" national_code: "390" }
  enrollment_statuses { local_code: "ZC" national_code: "1" }
  enrollment_statuses { local_code: "ZT" national_code: "2" }
  enrollment_statuses { local_code: "ZZ" national_code: "3" }
  contribution_kinds { local_code: "YL" national_code: "110" }
  contribution_kinds { local_code: "SY" national_code: "210" }
  contribution_kinds { local_code: "YB" national_code: "310" }
  contribution_kinds { local_code: "GS" national_code: "410" }
  relations { local_code: "HZ" national_code: "02" }
  relations { local_code: "PO" national_code: "10" }
  relations { local_code: "ZN" national_code: "20" }
  relations { local_code: "SZ" national_code: "30" }
  relations { local_code: "FM" national_code: "50" }
  relations { local_code: "QT" national_code: "99" }
  household_types { local_code: "01" national_code: "1" }
  household_types { local_code: "02" national_code: "2" }
)pb";

std::shared_ptr<const Dialect> MakeDialect(absl::string_view city, absl::string_view money,
                                           absl::string_view date, absl::string_view encoding,
                                           int legacy_year = 0) {
  const std::string text = absl::StrCat("city: ", city, " money_format: ", money, " date_format: \"", date,
                                        "\" text_encoding: ", encoding,
                                        " legacy_id_born_before_year: ", legacy_year, kLocalTables);
  absl::StatusOr<std::shared_ptr<const Dialect>> dialect = Dialect::Parse(
      text, absl::StrCat("adapters/", absl::AsciiStrToLower(city.substr(5)), "/dialect.textproto"));
  EXPECT_TRUE(dialect.ok()) << dialect.status();
  return *dialect;
}

// Jinzhong's dialect: yuan, dashes, UTF-8, local codes.
DialectTranslator Jinzhong() {
  return DialectTranslator(
      MakeDialect("CITY_JINZHONG", "MONEY_FORMAT_YUAN_DECIMAL", "YYYY-MM-DD", "TEXT_ENCODING_UTF_8"));
}
// Xinzhou's: fen, slashes, legacy numbers before 1970.
DialectTranslator Xinzhou() {
  return DialectTranslator(
      MakeDialect("CITY_XINZHOU", "MONEY_FORMAT_FEN_INTEGER", "YYYY/MM/DD", "TEXT_ENCODING_UTF_8", 1970));
}
// Yangquan's: fen, dots, GB 18030.
DialectTranslator Yangquan() {
  return DialectTranslator(
      MakeDialect("CITY_YANGQUAN", "MONEY_FORMAT_FEN_INTEGER", "YYYY.MM.DD", "TEXT_ENCODING_GB18030"));
}
// The contract's reference dialect (national codes, fen, YYYYMMDD, UTF-8).
DialectTranslator Reference(City city = City::CITY_TAIYUAN) {
  return DialectTranslator(Dialect::Reference(city));
}

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
// Medical enrolment

backend::GetMedicalEnrollmentResponse ReferenceEnrollment() {
  backend::GetMedicalEnrollmentResponse reply;
  reply.set_resident_id(kResidentId);
  reply.set_name("张三");
  reply.set_insured_region_code("140105");
  reply.set_insurance_type_code("310");
  reply.set_status_code("2");
  reply.set_enrollment_date("20180701");
  reply.set_balance("123456");
  return reply;
}

backend::GetMedicalEnrollmentResponse JinzhongEnrollment() {
  backend::GetMedicalEnrollmentResponse reply;
  reply.set_resident_id(kResidentId);
  reply.set_name("张三");
  reply.set_insured_region_code("140702");
  reply.set_insurance_type_code("JM");
  reply.set_status_code("ZC");
  reply.set_enrollment_date("2018-07-01");
  reply.set_balance("1234.56");
  return reply;
}

TEST(TranslateMedicalEnrollmentTest, ReferenceDialectMapsEveryField) {
  auto out = Reference(City::CITY_LVLIANG).TranslateMedicalEnrollment(kResidentId, ReferenceEnrollment());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->resident_id(), kResidentId);
  EXPECT_EQ(out->name(), "张三");
  EXPECT_EQ(out->insured_city().city(), City::CITY_LVLIANG);
  EXPECT_EQ(out->insured_city().division_code(), "141100");
  EXPECT_EQ(out->insured_region_code(), "140105");
  EXPECT_EQ(out->insurance_type(), medical::v1::INSURANCE_TYPE_EMPLOYEE);
  EXPECT_EQ(out->status(), medical::v1::ENROLLMENT_STATUS_SUSPENDED);
  EXPECT_EQ(out->enrollment_date().year(), 2018);
  EXPECT_EQ(out->enrollment_date().month(), 7);
  EXPECT_EQ(out->enrollment_date().day(), 1);
  EXPECT_EQ(out->personal_account_balance().fen(), 123456);
  EXPECT_FALSE(out->has_provenance());
}

TEST(TranslateMedicalEnrollmentTest, LocalDialectGivesTheSameCanonicalAnswer) {
  auto out = Jinzhong().TranslateMedicalEnrollment(kResidentId, JinzhongEnrollment());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->insured_city().city(), City::CITY_JINZHONG);
  EXPECT_EQ(out->insurance_type(), medical::v1::INSURANCE_TYPE_URBAN_RURAL_RESIDENT);
  EXPECT_EQ(out->status(), medical::v1::ENROLLMENT_STATUS_ACTIVE);
  EXPECT_EQ(out->enrollment_date().year(), 2018);
  EXPECT_EQ(out->enrollment_date().month(), 7);
  EXPECT_EQ(out->personal_account_balance().fen(), 123456);
}

TEST(TranslateMedicalEnrollmentTest, SeveralLocalCodesMayMeanOneNationalCode) {
  for (const char* code : {"ZG", "TX"}) {
    backend::GetMedicalEnrollmentResponse reply = JinzhongEnrollment();
    reply.set_insurance_type_code(code);
    auto out = Jinzhong().TranslateMedicalEnrollment(kResidentId, reply);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(out->insurance_type(), medical::v1::INSURANCE_TYPE_EMPLOYEE) << code;
  }
}

TEST(TranslateMedicalEnrollmentTest, EveryNationalCodeOfEveryTableHasItsCanonicalValue) {
  // The canonical enums carry the national code as their number ("02" is RELATION_TO_HEAD_HEAD = 2).
  const DialectTranslator reference = Reference();
  for (absl::string_view code : NationalCodes(CodeTableKind::kInsuranceTypes)) {
    backend::GetMedicalEnrollmentResponse reply = ReferenceEnrollment();
    reply.set_insurance_type_code(std::string(code));
    auto out = reference.TranslateMedicalEnrollment(kResidentId, reply);
    ASSERT_TRUE(out.ok()) << code << ": " << out.status();
    EXPECT_EQ(absl::StrCat(static_cast<int>(out->insurance_type())), code);
  }
  for (absl::string_view code : NationalCodes(CodeTableKind::kEnrollmentStatuses)) {
    backend::GetMedicalEnrollmentResponse reply = ReferenceEnrollment();
    reply.set_status_code(std::string(code));
    auto out = reference.TranslateMedicalEnrollment(kResidentId, reply);
    ASSERT_TRUE(out.ok()) << code << ": " << out.status();
    EXPECT_EQ(absl::StrCat(static_cast<int>(out->status())), code);
  }
}

TEST(TranslateMedicalEnrollmentTest, UnmappedCodeNamesCityFieldCodeTableAndFile) {
  backend::GetMedicalEnrollmentResponse reply = JinzhongEnrollment();
  reply.set_insurance_type_code("XX");
  auto out = Jinzhong().TranslateMedicalEnrollment(kResidentId, reply);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(out.status().message(),
            "city jinzhong answered an untranslatable insurance_type_code: code \"XX\" is not in its "
            "insurance_types table (adapters/jinzhong/dialect.textproto)");
}

TEST(TranslateMedicalEnrollmentTest, TheNationalCodeIsNotALocalCodeOfALocalTable) {
  backend::GetMedicalEnrollmentResponse reply = JinzhongEnrollment();
  reply.set_insurance_type_code("310");
  ExpectInternal(Jinzhong().TranslateMedicalEnrollment(kResidentId, reply),
                 {"jinzhong", "insurance_type_code", "\"310\"", "insurance_types table"});
  reply = JinzhongEnrollment();
  reply.set_status_code("1");
  ExpectInternal(Jinzhong().TranslateMedicalEnrollment(kResidentId, reply),
                 {"jinzhong", "status_code", "\"1\"", "enrollment_statuses table"});
}

TEST(TranslateMedicalEnrollmentTest, EmptyAndOddCodesAreNotMapped) {
  for (const std::string& code :
       {std::string(""), std::string("zc"), std::string(" ZC"), std::string("ZC\0", 3)}) {
    backend::GetMedicalEnrollmentResponse reply = JinzhongEnrollment();
    reply.set_status_code(code);
    ExpectInternal(Jinzhong().TranslateMedicalEnrollment(kResidentId, reply), {"jinzhong", "status_code"});
  }
}

TEST(TranslateMedicalEnrollmentTest, AmountsInTheWrongFormatNameTheField) {
  for (const char* balance : {"12.345", "1e3", "-0", " 12", "", "12.", "-1.00", "1,234.56", "0x10"}) {
    backend::GetMedicalEnrollmentResponse reply = JinzhongEnrollment();
    reply.set_balance(balance);
    SCOPED_TRACE(balance);
    ExpectInternal(Jinzhong().TranslateMedicalEnrollment(kResidentId, reply), {"jinzhong", "balance"});
  }
  backend::GetMedicalEnrollmentResponse reply = JinzhongEnrollment();
  reply.set_balance("4321.567");
  ExpectInternal(Jinzhong().TranslateMedicalEnrollment(kResidentId, reply),
                 {"untranslatable balance: \"4321.567\" has more than 2 decimals", "yuan"});
  // Fen cities write no decimal point.
  reply = ReferenceEnrollment();
  reply.set_balance("1234.56");
  ExpectInternal(Reference().TranslateMedicalEnrollment(kResidentId, reply), {"balance", "integer fen"});
  reply.set_balance("-1");
  ExpectInternal(Reference().TranslateMedicalEnrollment(kResidentId, reply), {"balance"});
  reply.set_balance("99999999999999999999");
  ExpectInternal(Reference().TranslateMedicalEnrollment(kResidentId, reply), {"balance", "too large"});
}

TEST(TranslateMedicalEnrollmentTest, ZeroBalanceIsFine) {
  backend::GetMedicalEnrollmentResponse reply = JinzhongEnrollment();
  for (const char* zero : {"0", "0.0", "0.00"}) {
    reply.set_balance(zero);
    auto out = Jinzhong().TranslateMedicalEnrollment(kResidentId, reply);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(out->personal_account_balance().fen(), 0);
  }
}

TEST(TranslateMedicalEnrollmentTest, DatesInTheWrongFormatOrImpossibleNameTheField) {
  for (const char* date :
       {"20180701", "2018/07/01", "2018-7-1", "2023-02-29", "2018-13-01", "", "0000-00-00"}) {
    backend::GetMedicalEnrollmentResponse reply = JinzhongEnrollment();
    reply.set_enrollment_date(date);
    SCOPED_TRACE(date);
    ExpectInternal(Jinzhong().TranslateMedicalEnrollment(kResidentId, reply),
                   {"jinzhong", "enrollment_date"});
  }
}

TEST(TranslateMedicalEnrollmentTest, ImpossibleDateIsQuoted) {
  backend::GetMedicalEnrollmentResponse reply = JinzhongEnrollment();
  reply.set_enrollment_date("1987-02-29");
  ExpectInternal(Jinzhong().TranslateMedicalEnrollment(kResidentId, reply),
                 {"untranslatable enrollment_date: \"1987-02-29\" is not a real date"});
}

TEST(TranslateMedicalEnrollmentTest, Gb18030NamesAreDecoded) {
  backend::GetMedicalEnrollmentResponse reply = ReferenceEnrollment();
  reply.set_name("\xD5\xC5\xC8\xFD");  // 张三 in GB 18030
  reply.set_insurance_type_code("JM");
  reply.set_status_code("ZT");
  reply.set_enrollment_date("2018.07.01");
  auto out = Yangquan().TranslateMedicalEnrollment(kResidentId, reply);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->name(), "张三");
  EXPECT_EQ(out->insured_city().city(), City::CITY_YANGQUAN);
  EXPECT_EQ(out->status(), medical::v1::ENROLLMENT_STATUS_SUSPENDED);
}

TEST(TranslateMedicalEnrollmentTest, UndecodableNamesAreRefused) {
  backend::GetMedicalEnrollmentResponse reply = ReferenceEnrollment();
  reply.set_insurance_type_code("JM");
  reply.set_status_code("ZT");
  reply.set_enrollment_date("2018.07.01");
  for (const std::string& name : {std::string("\xD5\xC5\xC8"), std::string("\x80"),
                                  std::string("\xD5\xC5\xFF"), std::string("\xD5\x20")}) {
    reply.set_name(name);
    ExpectInternal(Yangquan().TranslateMedicalEnrollment(kResidentId, reply),
                   {"yangquan", "untranslatable name", "not valid GB 18030"});
  }
  // GB 18030 where UTF-8 is expected.
  backend::GetMedicalEnrollmentResponse utf8 = ReferenceEnrollment();
  utf8.set_name("\xD5\xC5\xC8\xFD");
  ExpectInternal(Reference().TranslateMedicalEnrollment(kResidentId, utf8), {"name", "not valid UTF-8"});
  utf8.set_name("张\n三");
  ExpectInternal(Reference().TranslateMedicalEnrollment(kResidentId, utf8), {"name", "control character"});
  utf8.clear_name();
  ExpectInternal(Reference().TranslateMedicalEnrollment(kResidentId, utf8), {"name", "is empty"});
}

TEST(TranslateMedicalEnrollmentTest, MalformedRegionCode) {
  for (const char* code : {"", "14110", "1411020", "14110a", "1411 2"}) {
    backend::GetMedicalEnrollmentResponse reply = ReferenceEnrollment();
    reply.set_insured_region_code(code);
    SCOPED_TRACE(code);
    ExpectInternal(Reference().TranslateMedicalEnrollment(kResidentId, reply),
                   {"taiyuan", "insured_region_code"});
  }
}

TEST(TranslateMedicalEnrollmentTest, AnswerAboutAnotherPersonIsRefusedWithoutNamingThem) {
  backend::GetMedicalEnrollmentResponse reply = ReferenceEnrollment();
  reply.set_resident_id("140105199003071269");  // well-formed, someone else
  auto out = Reference().TranslateMedicalEnrollment(kResidentId, reply);
  ExpectInternal(out, {"taiyuan", "resident_id", "is not the person asked about"});
  EXPECT_THAT(std::string(out.status().message()), Not(HasSubstr("140105199003071269")));
}

TEST(TranslateMedicalEnrollmentTest, MalformedResidentId) {
  for (const char* id : {"", "14010519900307125", "1401051990030712500", "140105900307125"}) {
    backend::GetMedicalEnrollmentResponse reply = ReferenceEnrollment();
    reply.set_resident_id(id);
    SCOPED_TRACE(id);
    ExpectInternal(Reference().TranslateMedicalEnrollment(kResidentId, reply), {"taiyuan", "resident_id"});
  }
}

TEST(TranslateMedicalEnrollmentTest, LowerCaseXIsTheSameNumber) {
  backend::GetMedicalEnrollmentResponse reply = ReferenceEnrollment();
  reply.set_resident_id("11010519491231002x");
  auto out = Reference().TranslateMedicalEnrollment("11010519491231002X", reply);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->resident_id(), "11010519491231002X");
}

TEST(TranslateMedicalEnrollmentTest, OldContractIntegerBalanceIsRefusedNotReadAsZero) {
  // A backend still on the old contract sends balance_fen (field 7) as a varint: now reserved, it
  // is skipped, and the missing balance is an error rather than 0 yuan.
  backend::GetMedicalEnrollmentResponse reply = ReferenceEnrollment();
  reply.clear_balance();
  std::string wire = reply.SerializeAsString();
  wire += std::string("\x38\xC0\xC4\x07", 4);  // field 7, varint 123456
  // ...and a varint where the string balance (field 8) belongs: a wrong wire type.
  wire += std::string("\x40\x05", 2);
  backend::GetMedicalEnrollmentResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_TRUE(parsed.balance().empty());
  ExpectInternal(Reference().TranslateMedicalEnrollment(kResidentId, parsed), {"balance", "is empty"});
}

// ---------------------------------------------------------------------------------------------
// Legacy identity numbers

TEST(LegacyIdTest, RequestsUseTheLegacyNumberForOlderPersonsOnly) {
  const DialectTranslator xinzhou = Xinzhou();
  EXPECT_EQ(xinzhou.BackendResidentId(kOldPerson), kOldPersonLegacy);
  EXPECT_EQ(xinzhou.BackendResidentId(kResidentId), kResidentId);  // born 1990
  EXPECT_EQ(Reference().BackendResidentId(kOldPerson), kOldPerson);
}

TEST(LegacyIdTest, LegacyNumberInTheAnswerIsUpgraded) {
  backend::GetMedicalEnrollmentResponse reply = ReferenceEnrollment();
  reply.set_resident_id(kOldPersonLegacy);
  reply.set_insurance_type_code("LX");
  reply.set_status_code("ZZ");
  reply.set_enrollment_date("1999/01/01");
  auto out = Xinzhou().TranslateMedicalEnrollment(kOldPerson, reply);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->resident_id(), kOldPerson);
  EXPECT_EQ(out->insured_city().city(), City::CITY_XINZHOU);
  EXPECT_EQ(out->insurance_type(), medical::v1::INSURANCE_TYPE_RETIRED_CADRE);
  EXPECT_EQ(out->status(), medical::v1::ENROLLMENT_STATUS_TERMINATED);
}

TEST(LegacyIdTest, LegacyNumberOfAnotherPersonIsRefused) {
  backend::GetMedicalEnrollmentResponse reply = ReferenceEnrollment();
  reply.set_resident_id("142201650307124");  // the next sequence number
  reply.set_insurance_type_code("LX");
  reply.set_status_code("ZZ");
  reply.set_enrollment_date("1999/01/01");
  ExpectInternal(Xinzhou().TranslateMedicalEnrollment(kOldPerson, reply),
                 {"xinzhou", "resident_id", "is not the person asked about"});
}

TEST(LegacyIdTest, MalformedLegacyNumberIsRefused) {
  backend::GetMedicalEnrollmentResponse reply = ReferenceEnrollment();
  reply.set_insurance_type_code("LX");
  reply.set_status_code("ZZ");
  reply.set_enrollment_date("1999/01/01");
  reply.set_resident_id("142201651307123");  // month 13
  ExpectInternal(Xinzhou().TranslateMedicalEnrollment(kOldPerson, reply),
                 {"xinzhou", "resident_id", "not a valid legacy number"});
  reply.set_resident_id("14220165030712");  // 14 digits
  ExpectInternal(Xinzhou().TranslateMedicalEnrollment(kOldPerson, reply),
                 {"resident_id", "or a 15-digit one"});
}

TEST(LegacyIdTest, CityWithoutLegacyNumbersRefusesThem) {
  backend::GetMedicalEnrollmentResponse reply = ReferenceEnrollment();
  reply.set_resident_id(kOldPersonLegacy);
  ExpectInternal(Reference().TranslateMedicalEnrollment(kOldPerson, reply),
                 {"taiyuan", "resident_id", "keys no one by legacy numbers"});
}

// ---------------------------------------------------------------------------------------------
// Contributions

backend::MonthlyContribution Month(const char* kind, const char* year_month, const char* base,
                                   const char* personal, const char* employer) {
  backend::MonthlyContribution m;
  m.set_kind_code(kind);
  m.set_year_month(year_month);
  m.set_wage_base(base);
  m.set_personal_amount(personal);
  m.set_employer_amount(employer);
  return m;
}

TEST(TranslateContributionsTest, MapsEveryFieldOfEveryMonthAndPutsThemInCanonicalOrder) {
  backend::GetContributionsResponse reply;
  reply.set_resident_id(kResidentId);
  // The backend orders by its own kind codes: GS < SY < YB < YL.
  *reply.add_months() = Month("SY", "2023-11", "5000.00", "25.00", "35.00");
  *reply.add_months() = Month("YL", "2023-11", "5000", "400", "800.5");
  *reply.add_months() = Month("YB", "2023-12", "5100.00", "102.00", "306.00");
  *reply.add_months() = Month("GS", "2024-01", "5200.00", "0.00", "26.00");
  auto out = Jinzhong().TranslateContributions(kResidentId, reply);
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
  EXPECT_EQ(first.employer_amount().fen(), 80050);

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
  auto out = Reference().TranslateContributions(kResidentId, reply);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->empty());
}

TEST(TranslateContributionsTest, TheAnswerMustBeAboutThePersonAsked) {
  backend::GetContributionsResponse reply;
  *reply.add_months() = Month("110", "202301", "1", "1", "1");
  ExpectInternal(Reference().TranslateContributions(kResidentId, reply), {"resident_id"});
  reply.set_resident_id(kOldPersonLegacy);
  auto out = Xinzhou().TranslateContributions(kOldPerson, reply);
  ExpectInternal(out, {"xinzhou", "months[0].kind_code", "\"110\""});  // Xinzhou's table has no "110"
}

TEST(TranslateContributionsTest, UnmappedKindNamesCityIndexedFieldAndCode) {
  backend::GetContributionsResponse reply;
  reply.set_resident_id(kResidentId);
  *reply.add_months() = Month("110", "202301", "1", "1", "1");
  *reply.add_months() = Month("510", "202301", "1", "1", "1");  // maternity: not a kind the exchange knows
  ExpectInternal(Reference(City::CITY_LVLIANG).TranslateContributions(kResidentId, reply),
                 {"lvliang", "months[1].kind_code", "\"510\"", "contribution_kinds table"});
}

TEST(TranslateContributionsTest, BadYearMonthNamesTheIndexedField) {
  for (const char* ym : {"2023-13", "2023-00", "2023-1", "202301", "2023/01", "2023-a1", "1899-12", ""}) {
    backend::GetContributionsResponse reply;
    reply.set_resident_id(kResidentId);
    *reply.add_months() = Month("YL", "2023-01", "1", "1", "1");
    *reply.add_months() = Month("YL", "2023-02", "1", "1", "1");
    *reply.add_months() = Month("YL", ym, "1", "1", "1");
    SCOPED_TRACE(ym);
    ExpectInternal(Jinzhong().TranslateContributions(kResidentId, reply),
                   {"jinzhong", "months[2].year_month"});
  }
}

TEST(TranslateContributionsTest, BadAmountsNameTheIndexedField) {
  const std::pair<backend::MonthlyContribution, const char*> bad[] = {
      {Month("YL", "2023-01", "-1", "1", "1"), "months[0].wage_base"},
      {Month("YL", "2023-01", "1", "1.001", "1"), "months[0].personal_amount"},
      {Month("YL", "2023-01", "1", "1", "1e2"), "months[0].employer_amount"},
      {Month("YL", "2023-01", "", "1", "1"), "months[0].wage_base"},
      {Month("YL", "2023-01", "1", "1", " 1"), "months[0].employer_amount"}};
  for (const auto& [month, field] : bad) {
    backend::GetContributionsResponse reply;
    reply.set_resident_id(kResidentId);
    *reply.add_months() = month;
    SCOPED_TRACE(month.ShortDebugString());
    ExpectInternal(Jinzhong().TranslateContributions(kResidentId, reply), {"jinzhong", field});
  }
}

// ---------------------------------------------------------------------------------------------
// Household registration

backend::GetHouseholdRegistrationResponse ReferenceHousehold() {
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

TEST(TranslateHouseholdRegistrationTest, ReferenceDialectMapsEveryField) {
  auto out = Reference().TranslateHouseholdRegistration(kResidentId, ReferenceHousehold());
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

TEST(TranslateHouseholdRegistrationTest, EveryNationalRelationAndTypeHasItsCanonicalValue) {
  for (absl::string_view code : NationalCodes(CodeTableKind::kRelations)) {
    backend::GetHouseholdRegistrationResponse reply = ReferenceHousehold();
    reply.set_relation_code(std::string(code));
    auto out = Reference().TranslateHouseholdRegistration(kResidentId, reply);
    ASSERT_TRUE(out.ok()) << code << ": " << out.status();
    EXPECT_EQ(static_cast<int>(out->relation_to_head()), std::stoi(std::string(code)));
  }
  for (absl::string_view code : NationalCodes(CodeTableKind::kHouseholdTypes)) {
    backend::GetHouseholdRegistrationResponse reply = ReferenceHousehold();
    reply.set_household_type_code(std::string(code));
    auto out = Reference().TranslateHouseholdRegistration(kResidentId, reply);
    ASSERT_TRUE(out.ok()) << code << ": " << out.status();
    EXPECT_EQ(absl::StrCat(static_cast<int>(out->household_type())), code);
  }
  for (absl::string_view code : NationalCodes(CodeTableKind::kContributionKinds)) {
    backend::GetContributionsResponse reply;
    reply.set_resident_id(kResidentId);
    *reply.add_months() = Month(std::string(code).c_str(), "202401", "1", "1", "1");
    auto out = Reference().TranslateContributions(kResidentId, reply);
    ASSERT_TRUE(out.ok()) << code << ": " << out.status();
    EXPECT_EQ(absl::StrCat(static_cast<int>((*out)[0].kind())), code);
  }
}

TEST(TranslateHouseholdRegistrationTest, LocalDialectWithLegacyNumber) {
  backend::GetHouseholdRegistrationResponse reply = ReferenceHousehold();
  reply.set_resident_id(kOldPersonLegacy);
  reply.set_relation_code("FM");
  reply.set_household_type_code("01");
  reply.set_registered_since("1958/03/01");
  auto out = Xinzhou().TranslateHouseholdRegistration(kOldPerson, reply);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->resident_id(), kOldPerson);
  EXPECT_EQ(out->relation_to_head(), household::v1::RELATION_TO_HEAD_PARENT);
  EXPECT_EQ(out->household_type(), household::v1::HOUSEHOLD_TYPE_FAMILY);
  EXPECT_EQ(out->registered_since().year(), 1958);
}

TEST(TranslateHouseholdRegistrationTest, UnmappedRelationNamesCityFieldAndCode) {
  backend::GetHouseholdRegistrationResponse reply = ReferenceHousehold();
  reply.set_relation_code("2");  // "02" without its leading zero
  ExpectInternal(Reference(City::CITY_LVLIANG).TranslateHouseholdRegistration(kResidentId, reply),
                 {"lvliang", "relation_code", "\"2\"", "relations table"});
}

TEST(TranslateHouseholdRegistrationTest, UnmappedHouseholdTypeNamesCityFieldAndCode) {
  backend::GetHouseholdRegistrationResponse reply = ReferenceHousehold();
  reply.set_household_type_code("3");
  ExpectInternal(Reference(City::CITY_JINZHONG).TranslateHouseholdRegistration(kResidentId, reply),
                 {"jinzhong", "household_type_code", "\"3\"", "household_types table"});
}

TEST(TranslateHouseholdRegistrationTest, MalformedAddressCode) {
  for (const char* code : {"", "1401", "1401050", "14O105"}) {
    backend::GetHouseholdRegistrationResponse reply = ReferenceHousehold();
    reply.set_address_code(code);
    SCOPED_TRACE(code);
    ExpectInternal(Reference().TranslateHouseholdRegistration(kResidentId, reply),
                   {"taiyuan", "address_code"});
  }
}

TEST(TranslateHouseholdRegistrationTest, BadHouseholdNumber) {
  for (const char* number : {"", "12345678", "1234567890", "12345678a", "1234-5678"}) {
    backend::GetHouseholdRegistrationResponse reply = ReferenceHousehold();
    reply.set_household_number(number);
    SCOPED_TRACE(number);
    ExpectInternal(Reference(City::CITY_XINZHOU).TranslateHouseholdRegistration(kResidentId, reply),
                   {"xinzhou", "household_number"});
  }
}

TEST(TranslateHouseholdRegistrationTest, BadRegisteredSince) {
  for (const char* date : {"2023.02.29", "2010.13.15", "2010.09.1", "20100915", ""}) {
    backend::GetHouseholdRegistrationResponse reply = ReferenceHousehold();
    reply.set_name("\xC0\xEE\xCB\xC4");  // 李四 in GB 18030
    reply.set_relation_code("PO");
    reply.set_household_type_code("02");
    reply.set_registered_since(date);
    SCOPED_TRACE(date);
    ExpectInternal(Yangquan().TranslateHouseholdRegistration(kResidentId, reply),
                   {"yangquan", "registered_since"});
  }
}

TEST(TranslateHouseholdRegistrationTest, BadResidentId) {
  backend::GetHouseholdRegistrationResponse reply = ReferenceHousehold();
  reply.clear_resident_id();
  ExpectInternal(Reference().TranslateHouseholdRegistration(kResidentId, reply), {"taiyuan", "resident_id"});
}

}  // namespace
}  // namespace interop::adapters
