#include "adapters/dialect/dialect.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace interop::adapters {
namespace {

using config::v1::CityDialect;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kSource[] = "adapters/jinzhong/dialect.textproto";

// A valid dialect with local codes in every table.
CityDialect ValidProto() {
  CityDialect proto;
  const char* text = R"pb(
    city: CITY_JINZHONG
    money_format: MONEY_FORMAT_YUAN_DECIMAL
    date_format: "YYYY-MM-DD"
    text_encoding: TEXT_ENCODING_UTF_8
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
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &proto));
  return proto;
}

// Expects INVALID_ARGUMENT starting with "<kSource>: <prefix>" and containing `part`.
void ExpectInvalid(const CityDialect& proto, absl::string_view prefix, absl::string_view part = "") {
  absl::StatusOr<std::shared_ptr<const Dialect>> dialect = Dialect::FromProto(proto, kSource);
  ASSERT_FALSE(dialect.ok()) << "accepted an invalid dialect";
  EXPECT_EQ(dialect.status().code(), absl::StatusCode::kInvalidArgument) << dialect.status();
  EXPECT_THAT(std::string(dialect.status().message()), StartsWith(absl::StrCat(kSource, ": ", prefix)))
      << dialect.status();
  EXPECT_THAT(std::string(dialect.status().message()), HasSubstr(std::string(part))) << dialect.status();
}

TEST(DialectTest, ValidDialectCompiles) {
  absl::StatusOr<std::shared_ptr<const Dialect>> dialect = Dialect::FromProto(ValidProto(), kSource);
  ASSERT_TRUE(dialect.ok()) << dialect.status();
  const Dialect& d = **dialect;
  EXPECT_EQ(d.city(), City::CITY_JINZHONG);
  EXPECT_EQ(d.source(), kSource);
  EXPECT_EQ(d.money_format(), config::v1::MONEY_FORMAT_YUAN_DECIMAL);
  EXPECT_EQ(d.date_format().date_pattern(), "YYYY-MM-DD");
  EXPECT_EQ(d.text_encoding(), config::v1::TEXT_ENCODING_UTF_8);
  EXPECT_EQ(d.legacy_id_born_before_year(), 0);
  EXPECT_EQ(d.table(CodeTableKind::kInsuranceTypes).size(), 4u);
  EXPECT_TRUE(d.CheckCoversEveryNationalCode().ok());
}

TEST(DialectTest, CodeTablesMapBothWaysAndTheFirstLocalCodeWins) {
  std::shared_ptr<const Dialect> d = *Dialect::FromProto(ValidProto(), kSource);
  const CodeTable& types = d->table(CodeTableKind::kInsuranceTypes);
  EXPECT_EQ(*types.ToNational("ZG"), "310");
  EXPECT_EQ(*types.ToNational("TX"), "310");
  EXPECT_EQ(*types.ToNational("JM"), "390");
  EXPECT_EQ(types.ToNational("zg"), nullptr);   // exact comparison
  EXPECT_EQ(types.ToNational("310"), nullptr);  // the national code is not a local code here
  EXPECT_EQ(types.ToNational(""), nullptr);
  EXPECT_EQ(*types.ToLocal("310"), "ZG");
  EXPECT_EQ(types.ToLocal("999"), nullptr);
  EXPECT_EQ(*d->table(CodeTableKind::kHouseholdTypes).ToNational("02"), "2");
  EXPECT_EQ(d->table(CodeTableKind::kHouseholdTypes).ToNational("2"), nullptr);
}

TEST(DialectTest, CityMustBeOneOfTheFive) {
  CityDialect proto = ValidProto();
  proto.clear_city();
  ExpectInvalid(proto, "city: must be one of the five cities");
  proto.set_city(static_cast<City>(42));
  ExpectInvalid(proto, "city: must be one of the five cities");
}

TEST(DialectTest, FormatsAreRequired) {
  CityDialect proto = ValidProto();
  proto.clear_money_format();
  ExpectInvalid(proto, "money_format: must be");
  proto = ValidProto();
  proto.clear_text_encoding();
  ExpectInvalid(proto, "text_encoding: must be");
  proto = ValidProto();
  proto.clear_date_format();
  ExpectInvalid(proto, "date_format: ", "is not a date format");
  proto.set_date_format("DD/MM/YYYY");
  ExpectInvalid(proto, "date_format: \"DD/MM/YYYY\" is not a date format");
}

TEST(DialectTest, LegacyYearIsZeroOrARealCutOff) {
  CityDialect proto = ValidProto();
  for (int year : {1901, 1970, 2000}) {
    proto.set_legacy_id_born_before_year(year);
    EXPECT_TRUE(Dialect::FromProto(proto, kSource).ok()) << year;
  }
  for (int year : {-1, 1, 1900, 2001, 19700}) {
    proto.set_legacy_id_born_before_year(year);
    ExpectInvalid(proto, "legacy_id_born_before_year: ", "from 1901 to 2000");
  }
}

TEST(DialectTest, EmptyTableIsAnError) {
  CityDialect proto = ValidProto();
  proto.clear_relations();
  ExpectInvalid(proto, "relations: is empty");
}

TEST(DialectTest, DuplicateLocalCodeNamesFileTableAndCode) {
  CityDialect proto = ValidProto();
  config::v1::CodeMapping* again = proto.add_insurance_types();
  again->set_local_code("ZG");
  again->set_national_code("390");
  ExpectInvalid(proto, "insurance_types: local code \"ZG\" appears twice");
}

TEST(DialectTest, UnknownNationalCodeNamesFileEntryAndCode) {
  CityDialect proto = ValidProto();
  proto.mutable_relations(3)->set_national_code("40");
  ExpectInvalid(proto, "relations[3].national_code: \"40\" is not a national code of relations",
                "(02, 10, 20, 30, 50, 99)");
  proto = ValidProto();
  proto.mutable_enrollment_statuses(0)->set_national_code("01");  // leading zeros matter
  ExpectInvalid(proto, "enrollment_statuses[0].national_code: \"01\"");
  proto = ValidProto();
  proto.mutable_contribution_kinds(1)->clear_national_code();
  ExpectInvalid(proto, "contribution_kinds[1].national_code: \"\"");
  // A national code of another table.
  proto = ValidProto();
  proto.mutable_household_types(0)->set_national_code("310");
  ExpectInvalid(proto, "household_types[0].national_code: \"310\"");
}

TEST(DialectTest, BadLocalCodes) {
  for (const std::string& code : {std::string(""), std::string("Z G"), std::string(" ZG"),
                                  std::string("职工"), std::string("Z\tG"), std::string(33, 'A')}) {
    CityDialect proto = ValidProto();
    proto.mutable_insurance_types(1)->set_local_code(code);
    ExpectInvalid(proto, "insurance_types[1].local_code: ");
  }
  CityDialect proto = ValidProto();
  proto.mutable_insurance_types(1)->set_local_code(std::string(32, 'A'));
  EXPECT_TRUE(Dialect::FromProto(proto, kSource).ok());
}

TEST(DialectTest, CoverageOfNationalCodesIsCheckedSeparately) {
  CityDialect proto = ValidProto();
  proto.mutable_insurance_types()->DeleteSubrange(2, 1);  // "LX" -> "340"
  absl::StatusOr<std::shared_ptr<const Dialect>> dialect = Dialect::FromProto(proto, kSource);
  ASSERT_TRUE(dialect.ok()) << dialect.status();  // an adapter can live with it
  absl::Status covers = (*dialect)->CheckCoversEveryNationalCode();
  EXPECT_EQ(covers.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(covers.message(),
            absl::StrCat(kSource, ": insurance_types: has no local code for the national code \"340\""));
}

TEST(DialectTest, ParseNamesTheLineOfASyntaxError) {
  absl::StatusOr<std::shared_ptr<const Dialect>> dialect =
      Dialect::Parse("city: CITY_XINZHOU\nmoney_format: MONEY_FORMAT_FEN date_format: \"YYYYMMDD\"\n",
                     "adapters/xinzhou/dialect.textproto");
  ASSERT_FALSE(dialect.ok());
  EXPECT_EQ(dialect.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(dialect.status().message()), StartsWith("adapters/xinzhou/dialect.textproto: "));
  EXPECT_THAT(std::string(dialect.status().message()), HasSubstr("line 2"));
  EXPECT_THAT(std::string(dialect.status().message()), HasSubstr("MONEY_FORMAT_FEN"));
}

TEST(DialectTest, LoadFileReadsAndNamesTheFileAsTheRepositoryKnowsIt) {
  const std::string top = absl::StrCat(::testing::TempDir(), "dialect_test_", getpid());
  const std::string dir = top + "/adapters/jinzhong";
  ASSERT_EQ(system(absl::StrCat("mkdir -p '", dir, "'").c_str()), 0);
  const std::string path = dir + "/dialect.textproto";
  std::string text;
  ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(ValidProto(), &text));
  std::ofstream(path) << "# A comment.\n" << text;
  absl::StatusOr<std::shared_ptr<const Dialect>> dialect =
      Dialect::LoadFile(dir + "/../jinzhong/./dialect.textproto");
  ASSERT_TRUE(dialect.ok()) << dialect.status();
  EXPECT_EQ((*dialect)->source(), "adapters/jinzhong/dialect.textproto");
  std::filesystem::remove_all(top);
}

TEST(DialectTest, LoadFileOfAMissingFileIsNotFound) {
  absl::StatusOr<std::shared_ptr<const Dialect>> dialect =
      Dialect::LoadFile("/nonexistent/dialect.textproto");
  ASSERT_FALSE(dialect.ok());
  EXPECT_EQ(dialect.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(dialect.status().message()), HasSubstr("/nonexistent/dialect.textproto"));
}

TEST(DialectDisplayNameTest, RepositoryPathOrFileName) {
  EXPECT_EQ(DialectDisplayName("adapters/xinzhou/dialect.textproto"), "adapters/xinzhou/dialect.textproto");
  EXPECT_EQ(DialectDisplayName("/srv/interop/gateway/../adapters/xinzhou/dialect.textproto"),
            "adapters/xinzhou/dialect.textproto");
  EXPECT_EQ(DialectDisplayName("/etc/interop/xinzhou.textproto"), "xinzhou.textproto");
  EXPECT_EQ(DialectDisplayName("dialect.textproto"), "dialect.textproto");
}

TEST(DialectTest, ReferenceDialectIsTheNationalOne) {
  std::shared_ptr<const Dialect> d = Dialect::Reference(City::CITY_LVLIANG);
  EXPECT_EQ(d->city(), City::CITY_LVLIANG);
  EXPECT_EQ(d->money_format(), config::v1::MONEY_FORMAT_FEN_INTEGER);
  EXPECT_EQ(d->date_format().date_pattern(), "YYYYMMDD");
  EXPECT_EQ(d->text_encoding(), config::v1::TEXT_ENCODING_UTF_8);
  EXPECT_EQ(d->legacy_id_born_before_year(), 0);
  for (CodeTableKind kind : kAllCodeTables) {
    EXPECT_EQ(d->table(kind).size(), NationalCodes(kind).size()) << CodeTableName(kind);
    for (absl::string_view code : NationalCodes(kind)) {
      ASSERT_NE(d->table(kind).ToNational(code), nullptr) << code;
      EXPECT_EQ(*d->table(kind).ToNational(code), code);
    }
  }
  EXPECT_TRUE(d->CheckCoversEveryNationalCode().ok());
}

// Valid numbers (correct check characters).
constexpr char kBorn1965[] = "142201196503071239";
constexpr char kBorn1969Dec31[] = "142201196912310026";
constexpr char kBorn1970Jan1[] = "142201197001010035";
constexpr char kBorn1900[] = "142201190001010017";
constexpr char kBorn2001[] = "142201200101010053";

TEST(LegacyNumberTest, KeysByLegacyNumberBeforeTheYearOnly) {
  CityDialect proto = ValidProto();
  proto.set_legacy_id_born_before_year(1970);
  std::shared_ptr<const Dialect> d = *Dialect::FromProto(proto, kSource);
  EXPECT_TRUE(d->KeysByLegacyNumber(kBorn1965));
  EXPECT_TRUE(d->KeysByLegacyNumber(kBorn1969Dec31));
  EXPECT_TRUE(d->KeysByLegacyNumber(kBorn1900));
  EXPECT_FALSE(d->KeysByLegacyNumber(kBorn1970Jan1));
  EXPECT_FALSE(d->KeysByLegacyNumber(kBorn2001));
  EXPECT_FALSE(d->KeysByLegacyNumber("14220119650307123"));  // not 18 characters
  EXPECT_EQ(d->BackendResidentId(kBorn1965), "142201650307123");
  EXPECT_EQ(d->BackendResidentId(kBorn1969Dec31), "142201691231002");
  EXPECT_EQ(d->BackendResidentId(kBorn1970Jan1), kBorn1970Jan1);
  EXPECT_EQ(d->BackendResidentId(kBorn2001), kBorn2001);
}

TEST(LegacyNumberTest, NoLegacyNumbersWhenTheYearIsZero) {
  std::shared_ptr<const Dialect> d = *Dialect::FromProto(ValidProto(), kSource);
  EXPECT_FALSE(d->KeysByLegacyNumber(kBorn1900));
  EXPECT_EQ(d->BackendResidentId(kBorn1965), kBorn1965);
}

TEST(LegacyNumberTest, YearTwoThousandCoversTheWholeCentury) {
  CityDialect proto = ValidProto();
  proto.set_legacy_id_born_before_year(2000);
  std::shared_ptr<const Dialect> d = *Dialect::FromProto(proto, kSource);
  EXPECT_TRUE(d->KeysByLegacyNumber("140105199003071250"));
  EXPECT_FALSE(d->KeysByLegacyNumber(kBorn2001));
}

TEST(LegacyNumberTest, LegacyNumberOf) {
  EXPECT_EQ(*LegacyNumberOf(kBorn1965), "142201650307123");
  EXPECT_EQ(*LegacyNumberOf("14220119650307123X"), "142201650307123");
  for (const char* bad : {"", "142201650307123", "1422011965030712390", "14220119650307A239", kBorn2001}) {
    absl::StatusOr<std::string> legacy = LegacyNumberOf(bad);
    EXPECT_FALSE(legacy.ok()) << bad;
    EXPECT_EQ(legacy.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace interop::adapters
