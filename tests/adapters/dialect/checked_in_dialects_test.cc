// The dialect files the cities keep in adapters/<city>/dialect.textproto: each loads, is its own
// city's, can write every national code (the mock cities need that), and together they cover the
// differences the exchange must absorb.
#include <map>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "adapters/dialect/dialect.h"
#include "gateway/base/cities.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace interop::adapters {
namespace {

std::shared_ptr<const Dialect> Load(City city) {
  const std::string path =
      absl::StrCat(INTEROP_SOURCE_DIR, "/adapters/", CityName(city), "/dialect.textproto");
  absl::StatusOr<std::shared_ptr<const Dialect>> dialect = Dialect::LoadFile(path);
  EXPECT_TRUE(dialect.ok()) << dialect.status();
  return dialect.ok() ? *dialect : Dialect::Reference(city);
}

bool UsesNationalCodes(const Dialect& dialect) {
  for (CodeTableKind kind : kAllCodeTables) {
    if (dialect.table(kind).size() != NationalCodes(kind).size()) return false;
    for (absl::string_view code : NationalCodes(kind)) {
      const std::string* national = dialect.table(kind).ToNational(code);
      if (national == nullptr || *national != code) return false;
    }
  }
  return true;
}

TEST(CheckedInDialectsTest, EachLoadsIsItsCitysAndCoversEveryNationalCode) {
  for (City city : kAllCities) {
    std::shared_ptr<const Dialect> dialect = Load(city);
    EXPECT_EQ(dialect->city(), city) << CityName(city);
    EXPECT_EQ(dialect->source(), absl::StrCat("adapters/", CityName(city), "/dialect.textproto"));
    absl::Status covers = dialect->CheckCoversEveryNationalCode();
    EXPECT_TRUE(covers.ok()) << covers;
  }
}

TEST(CheckedInDialectsTest, EachCitySpeaksItsOwnDialect) {
  const auto taiyuan = Load(City::CITY_TAIYUAN);
  EXPECT_EQ(taiyuan->money_format(), config::v1::MONEY_FORMAT_FEN_INTEGER);
  EXPECT_EQ(taiyuan->date_format().date_pattern(), "YYYYMMDD");
  EXPECT_EQ(taiyuan->text_encoding(), config::v1::TEXT_ENCODING_UTF_8);
  EXPECT_EQ(taiyuan->legacy_id_born_before_year(), 0);
  EXPECT_TRUE(UsesNationalCodes(*taiyuan));

  const auto jinzhong = Load(City::CITY_JINZHONG);
  EXPECT_EQ(jinzhong->money_format(), config::v1::MONEY_FORMAT_YUAN_DECIMAL);
  EXPECT_EQ(jinzhong->date_format().date_pattern(), "YYYY-MM-DD");
  EXPECT_FALSE(UsesNationalCodes(*jinzhong));
  EXPECT_EQ(*jinzhong->table(CodeTableKind::kInsuranceTypes).ToNational("ZG"), "310");
  EXPECT_EQ(*jinzhong->table(CodeTableKind::kInsuranceTypes).ToNational("JM"), "390");
  EXPECT_EQ(*jinzhong->table(CodeTableKind::kInsuranceTypes).ToNational("LX"), "340");
  EXPECT_EQ(*jinzhong->table(CodeTableKind::kEnrollmentStatuses).ToNational("ZC"), "1");

  const auto xinzhou = Load(City::CITY_XINZHOU);
  EXPECT_EQ(xinzhou->money_format(), config::v1::MONEY_FORMAT_FEN_INTEGER);
  EXPECT_EQ(xinzhou->date_format().date_pattern(), "YYYY/MM/DD");
  EXPECT_EQ(xinzhou->legacy_id_born_before_year(), 1970);
  EXPECT_FALSE(UsesNationalCodes(*xinzhou));
  // The trap a silent identity mapping would fall into.
  EXPECT_EQ(*xinzhou->table(CodeTableKind::kEnrollmentStatuses).ToNational("1"), "2");

  const auto yangquan = Load(City::CITY_YANGQUAN);
  EXPECT_EQ(yangquan->money_format(), config::v1::MONEY_FORMAT_FEN_INTEGER);
  EXPECT_EQ(yangquan->date_format().date_pattern(), "YYYY.MM.DD");
  EXPECT_EQ(yangquan->text_encoding(), config::v1::TEXT_ENCODING_GB18030);
  EXPECT_FALSE(UsesNationalCodes(*yangquan));

  const auto lvliang = Load(City::CITY_LVLIANG);
  EXPECT_EQ(lvliang->money_format(), config::v1::MONEY_FORMAT_YUAN_DECIMAL);
  EXPECT_EQ(lvliang->date_format().date_pattern(), "YYYY-MM-DD");
  EXPECT_EQ(lvliang->text_encoding(), config::v1::TEXT_ENCODING_UTF_8);
  EXPECT_TRUE(UsesNationalCodes(*lvliang));
}

TEST(CheckedInDialectsTest, TogetherTheyCoverEveryDifference) {
  std::set<config::v1::MoneyFormat> money;
  std::set<std::string> dates;
  std::set<config::v1::TextEncoding> encodings;
  int legacy = 0;
  int local_codes = 0;
  for (City city : kAllCities) {
    const auto dialect = Load(city);
    money.insert(dialect->money_format());
    dates.insert(dialect->date_format().date_pattern());
    encodings.insert(dialect->text_encoding());
    legacy += dialect->legacy_id_born_before_year() != 0 ? 1 : 0;
    local_codes += UsesNationalCodes(*dialect) ? 0 : 1;
  }
  EXPECT_EQ(money.size(), 2u);
  EXPECT_EQ(dates.size(), 4u);
  EXPECT_EQ(encodings.size(), 2u);
  EXPECT_GE(legacy, 1);
  EXPECT_GE(local_codes, 3);
}

TEST(CheckedInDialectsTest, NoTwoCitiesShareADialect) {
  for (City a : kAllCities) {
    for (City b : kAllCities) {
      if (a >= b) continue;
      config::v1::CityDialect pa = Load(a)->proto();
      config::v1::CityDialect pb = Load(b)->proto();
      pa.clear_city();
      pb.clear_city();
      EXPECT_FALSE(google::protobuf::util::MessageDifferencer::Equals(pa, pb))
          << CityName(a) << " and " << CityName(b) << " have the same dialect";
    }
  }
}

}  // namespace
}  // namespace interop::adapters
