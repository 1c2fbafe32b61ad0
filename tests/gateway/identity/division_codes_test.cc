#include "gateway/identity/division_codes.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::identity {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr absl::string_view kHeader =
    "代码,一级行政区,二级行政区,名称,级别,状态,启用时间,变更/弃用时间,新代码\n";

std::vector<std::string> Codes(const std::vector<const Division*>& divisions) {
  std::vector<std::string> codes;
  for (const Division* division : divisions) codes.push_back(division->code);
  return codes;
}

const DivisionRegistry& Registry() { return DivisionRegistry::Embedded(); }

TEST(EmbeddedRegistryTest, FindsCodeInUse) {
  const Division* division = Registry().Find("140105");
  ASSERT_NE(division, nullptr);
  EXPECT_EQ(division->name, "小店区");
  EXPECT_EQ(division->province, "山西省");
  EXPECT_EQ(division->prefecture, "太原市");
  EXPECT_EQ(division->level, DivisionLevel::kCounty);
  EXPECT_EQ(division->first_year, 1997);
  EXPECT_TRUE(division->in_use());
  EXPECT_THAT(division->successors, IsEmpty());
}

TEST(EmbeddedRegistryTest, FindsRetiredCodeWithSuccessor) {
  const Division* division = Registry().Find("142401");
  ASSERT_NE(division, nullptr);
  EXPECT_EQ(division->name, "榆次市");
  EXPECT_EQ(division->prefecture, "晋中地区");
  EXPECT_EQ(division->first_year, 1981);
  EXPECT_EQ(division->end_year, 1999);
  EXPECT_FALSE(division->in_use());
  EXPECT_THAT(division->successors, ElementsAre("140702"));
}

TEST(EmbeddedRegistryTest, ReusedCodeFindsMostRecentRow) {
  // 142222 定襄县 was listed under 忻县地区 (1981-1983), then under 忻州地区 (1983-2000).
  const Division* division = Registry().Find("142222");
  ASSERT_NE(division, nullptr);
  EXPECT_EQ(division->prefecture, "忻州地区");
  EXPECT_EQ(division->first_year, 1983);
  // 130502 was 邢台 桥东区 until 2020, then 襄都区.
  division = Registry().Find("130502");
  ASSERT_NE(division, nullptr);
  EXPECT_EQ(division->name, "襄都区");
  EXPECT_TRUE(division->in_use());
}

TEST(EmbeddedRegistryTest, RetiredCodeKeepsPartialTransfersAsSuccessors) {
  // 栾城县: part to 130108 in 2001, the rest became 130111 in 2014.
  const Division* division = Registry().Find("130124");
  ASSERT_NE(division, nullptr);
  EXPECT_THAT(division->successors, ElementsAre("130108", "130111"));
  // A code in use has no successor even if it gave up territory (阳高县 -> 140222 in 2018).
  division = Registry().Find("140221");
  ASSERT_NE(division, nullptr);
  EXPECT_THAT(division->successors, IsEmpty());
}

TEST(EmbeddedRegistryTest, FindUnknownCode) {
  EXPECT_EQ(Registry().Find("999999"), nullptr);
  EXPECT_EQ(Registry().Find(""), nullptr);
  EXPECT_EQ(Registry().Find("14"), nullptr);
  EXPECT_EQ(Registry().Find("1401050"), nullptr);
}

TEST(EmbeddedRegistryTest, ProvincePrefixes) {
  for (absl::string_view prefix : {"11", "14", "46", "50", "65", "71", "81", "82"}) {
    EXPECT_TRUE(Registry().IsProvincePrefix(prefix)) << prefix;
  }
  for (absl::string_view prefix :
       {"99", "00", "19", "16", "47", "", "1", "140", "1a", "\xEF\xBC"}) {
    EXPECT_FALSE(Registry().IsProvincePrefix(prefix)) << prefix;
  }
}

TEST(EmbeddedRegistryTest, CurrentPrefecturesOfCodesInUse) {
  EXPECT_THAT(Registry().CurrentPrefectures("140105"), ElementsAre("140100"));
  EXPECT_THAT(Registry().CurrentPrefectures("140700"), ElementsAre("140700"));
  EXPECT_THAT(Registry().CurrentPrefectures("110101"), ElementsAre("110000"));
  EXPECT_THAT(Registry().CurrentPrefectures("140000"), ElementsAre("140000"));
}

TEST(EmbeddedRegistryTest, CurrentPrefecturesOfOldJinzhongCodes) {
  EXPECT_THAT(Registry().CurrentPrefectures("142401"), ElementsAre("140700"));  // 榆次市
  EXPECT_THAT(Registry().CurrentPrefectures("142429"), ElementsAre("140700"));  // 太谷县
  // 榆次县 -> 榆次市 (1983) -> 榆次区 (1999).
  EXPECT_THAT(Registry().CurrentPrefectures("142428"), ElementsAre("140700"));
  // 平定县 and 盂县 moved from 晋中地区 to Yangquan in 1983.
  EXPECT_THAT(Registry().CurrentPrefectures("142425"), ElementsAre("140300"));
  EXPECT_THAT(Registry().CurrentPrefectures("142426"), ElementsAre("140300"));
}

TEST(EmbeddedRegistryTest, CurrentPrefecturesOfOldXinzhouCodes) {
  EXPECT_THAT(Registry().CurrentPrefectures("142201"), ElementsAre("140900"));  // 忻州市
  EXPECT_THAT(Registry().CurrentPrefectures("142221"), ElementsAre("140900"));  // 忻县
  EXPECT_THAT(Registry().CurrentPrefectures("142224"), ElementsAre("140900"));  // 原平县
  EXPECT_THAT(Registry().CurrentPrefectures("142222"), ElementsAre("140900"));  // 定襄县
}

TEST(EmbeddedRegistryTest, CurrentPrefecturesOfOldLvliangCodes) {
  EXPECT_THAT(Registry().CurrentPrefectures("142301"), ElementsAre("141100"));  // 孝义市
  EXPECT_THAT(Registry().CurrentPrefectures("142321"), ElementsAre("141100"));  // 汾阳县
  EXPECT_THAT(Registry().CurrentPrefectures("142331"), ElementsAre("141100"));  // 离石县
}

TEST(EmbeddedRegistryTest, CurrentPrefecturesOfOldTaiyuanCodes) {
  EXPECT_THAT(Registry().CurrentPrefectures("140102"), ElementsAre("140100"));  // 南城区
  // 古交工矿区 -> 古交市 (149001, directly under the province) -> 古交市 (140181).
  EXPECT_THAT(Registry().CurrentPrefectures("140111"), ElementsAre("140100"));
}

TEST(EmbeddedRegistryTest, CurrentPrefecturesEmptyWhenUnknownOrWithoutSuccessor) {
  EXPECT_THAT(Registry().CurrentPrefectures("999999"), IsEmpty());
  EXPECT_THAT(Registry().CurrentPrefectures(""), IsEmpty());
  EXPECT_THAT(Registry().CurrentPrefectures("142400"), IsEmpty());  // 晋中地区, no successor
}

TEST(EmbeddedRegistryTest, CountiesOfTaiyuan) {
  EXPECT_THAT(Codes(Registry().CountiesOf("140100", false)),
              ElementsAre("140105", "140106", "140107", "140108", "140109", "140110", "140121",
                          "140122", "140123", "140181"));
}

TEST(EmbeddedRegistryTest, CountiesOfYangquan) {
  EXPECT_THAT(Codes(Registry().CountiesOf("140300", false)),
              ElementsAre("140302", "140303", "140311", "140321", "140322"));
}

TEST(EmbeddedRegistryTest, CountiesOfJinzhong) {
  EXPECT_THAT(Codes(Registry().CountiesOf("140700", false)),
              ElementsAre("140702", "140703", "140721", "140722", "140723", "140724", "140725",
                          "140727", "140728", "140729", "140781"));
}

TEST(EmbeddedRegistryTest, CountiesOfXinzhou) {
  EXPECT_THAT(Codes(Registry().CountiesOf("140900", false)),
              ElementsAre("140902", "140921", "140922", "140923", "140924", "140925", "140926",
                          "140927", "140928", "140929", "140930", "140931", "140932", "140981"));
}

TEST(EmbeddedRegistryTest, CountiesOfLvliang) {
  EXPECT_THAT(Codes(Registry().CountiesOf("141100", false)),
              ElementsAre("141102", "141121", "141122", "141123", "141124", "141125", "141126",
                          "141127", "141128", "141129", "141130", "141181", "141182"));
}

TEST(EmbeddedRegistryTest, CountiesOfWithRetiredCodes) {
  const std::vector<std::string> jinzhong = Codes(Registry().CountiesOf("140700", true));
  EXPECT_THAT(jinzhong, Contains("140702"));
  EXPECT_THAT(jinzhong, Contains("140726"));  // 太谷县, retired 2019
  EXPECT_THAT(jinzhong, Contains("142401"));
  EXPECT_THAT(jinzhong, Contains("142428"));
  EXPECT_THAT(jinzhong, Contains("142433"));
  EXPECT_THAT(jinzhong, Not(Contains("142425")));  // 平定县 lies in Yangquan
  EXPECT_THAT(jinzhong, Not(Contains("142400")));  // not county-level
  // In use, 140726, and the 13 counties of 晋中地区 other than 平定县 and 盂县.
  EXPECT_EQ(jinzhong.size(), 11u + 1u + 13u);

  const std::vector<std::string> yangquan = Codes(Registry().CountiesOf("140300", true));
  EXPECT_THAT(yangquan, Contains("142425"));
  EXPECT_THAT(yangquan, Contains("142426"));

  const std::vector<std::string> xinzhou = Codes(Registry().CountiesOf("140900", true));
  EXPECT_THAT(xinzhou, Contains("142201"));
  EXPECT_THAT(xinzhou, Contains("142221"));
  EXPECT_THAT(xinzhou, Contains("142234"));

  const std::vector<std::string> lvliang = Codes(Registry().CountiesOf("141100", true));
  EXPECT_THAT(lvliang, Contains("142301"));
  EXPECT_THAT(lvliang, Contains("142333"));

  const std::vector<std::string> taiyuan = Codes(Registry().CountiesOf("140100", true));
  EXPECT_THAT(taiyuan, Contains("140111"));
  EXPECT_THAT(taiyuan, Contains("149001"));
}

TEST(EmbeddedRegistryTest, CountiesOfReturnsOneEntryPerCodeSorted) {
  const std::vector<const Division*> xinzhou = Registry().CountiesOf("140900", true);
  for (size_t i = 1; i < xinzhou.size(); ++i) {
    EXPECT_LT(xinzhou[i - 1]->code, xinzhou[i]->code);
  }
  // 142222 has two rows; the most recent is returned.
  for (const Division* division : xinzhou) {
    if (division->code == "142222") {
      EXPECT_EQ(division->first_year, 1983);
    }
  }
}

TEST(EmbeddedRegistryTest, CountiesOfUnknownPrefecture) {
  EXPECT_THAT(Registry().CountiesOf("999900", true), IsEmpty());
  EXPECT_THAT(Registry().CountiesOf("", true), IsEmpty());
}

// A small table in the CSV format, valid as it stands.
std::string SmallCsv() {
  return absl::StrCat(kHeader,
                      "140000,山西省,,山西省,省级,在用,1981,,\n"
                      "140700,山西省,晋中市,晋中市,地级,在用,1999,,\n"
                      "140702,山西省,晋中市,榆次区,县级,在用,1999,,\n"
                      "142400,山西省,晋中地区,晋中地区,地级,弃用,1981,1999,\n"
                      "142401,山西省,晋中地区,榆次市,县级,弃用,1981,1999,140702\n");
}

absl::Status FromCsvStatus(absl::string_view csv) {
  absl::StatusOr<std::unique_ptr<DivisionRegistry>> registry = DivisionRegistry::FromCsv(csv);
  return registry.status();
}

TEST(FromCsvTest, ParsesWithAndWithoutByteOrderMarkAndCrlf) {
  for (const std::string& csv : {SmallCsv(), absl::StrCat("\xEF\xBB\xBF", SmallCsv()),
                                 absl::StrReplaceAll(SmallCsv(), {{"\n", "\r\n"}})}) {
    absl::StatusOr<std::unique_ptr<DivisionRegistry>> registry = DivisionRegistry::FromCsv(csv);
    ASSERT_TRUE(registry.ok()) << registry.status();
    EXPECT_THAT((*registry)->CurrentPrefectures("142401"), ElementsAre("140700"));
    EXPECT_TRUE((*registry)->IsProvincePrefix("14"));
    EXPECT_FALSE((*registry)->IsProvincePrefix("11"));
    EXPECT_THAT(Codes((*registry)->CountiesOf("140700", true)), ElementsAre("140702", "142401"));
  }
}

TEST(FromCsvTest, RejectsMalformedRowNamingTheLine) {
  const std::string csv = absl::StrCat(SmallCsv(), "140703,山西省,晋中市,太谷区,县级,在用,2019\n");
  const absl::Status status = FromCsvStatus(csv);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "line 7: expected 9 comma-separated fields, got 7");
}

TEST(FromCsvTest, RejectsBadFields) {
  struct Case {
    std::string row;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"14070A,山西省,晋中市,太谷区,县级,在用,2019,,", "line 7: 代码 must be six digits"},
      {"140703,山西省,晋中市,太谷区,乡级,在用,2019,,", "line 7: 级别 must be"},
      {"140703,山西省,晋中市,太谷区,县级,用过,2019,,", "line 7: 状态 must be"},
      {"140703,山西省,晋中市,太谷区,县级,在用,19,,", "line 7: 启用时间 must be a 4-digit year"},
      {"140703,山西省,晋中市,太谷区,县级,在用,2019,2020,", "line 7: 变更/弃用时间 must be empty"},
      {"140703,山西省,晋中市,太谷区,县级,弃用,2019,,", "line 7: 变更/弃用时间 must be a 4-digit"},
      {"140703,山西省,晋中市,太谷区,县级,弃用,2019,2019,",
       "line 7: 变更/弃用时间 2019 is not after"},
      {"140703,山西省,晋中市,太谷区,县级,弃用,2019,2020,1407", "line 7: 新代码 entry \"1407\""},
      {"140703,山西省,晋中市,太谷区,县级,弃用,2019,2020,140702[20]", "line 7: 新代码 year"},
      {"140703,山西省,晋中市,太谷区,县级,弃用,2019,2020,140702;", "line 7: 新代码 entry \"\""},
      {"140703,山西省,晋中市,太谷区,县级,弃用,2019,2020,149999",
       "line 7: successor 149999 has no row of its own"},
      {"140703,,晋中市,太谷区,县级,在用,2019,,", "line 7: 一级行政区 must not be empty"},
      {"140703,山西省,晋中市,,县级,在用,2019,,", "line 7: 名称 must not be empty"},
      {"140703,山西省,,太谷区,县级,在用,2019,,", "line 7: 二级行政区 must not be empty"},
      {"140700,山西省,晋中市,太谷区,县级,在用,2019,,", "line 7: county-level code 140700"},
      {"140702,山西省,晋中市,榆次区,县级,在用,2001,,", "line 7: code 140702 from 2001 overlaps"},
  };
  for (const Case& c : cases) {
    const std::string csv = absl::StrCat(SmallCsv(), c.row, "\n");
    const absl::Status status = FromCsvStatus(csv);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.row;
    EXPECT_TRUE(absl::StartsWith(status.message(), c.message))
        << c.row << "\n  got: " << status.message() << "\n  want prefix: " << c.message;
  }
}

TEST(FromCsvTest, RejectsEmptyLineInTheMiddle) {
  const std::string csv =
      absl::StrCat(SmallCsv(), "\n", "140703,山西省,晋中市,太谷区,县级,在用,2019,,\n");
  const absl::Status status = FromCsvStatus(csv);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "line 7: empty line");
}

TEST(FromCsvTest, RejectsMissingOrWrongHeader) {
  EXPECT_EQ(FromCsvStatus("").message(), "line 1: missing header row");
  const absl::Status status = FromCsvStatus("code,name\n140000,山西省\n");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(status.message(), "line 1: header must be")) << status;
}

TEST(FromCsvTest, SuccessorCycleTerminates) {
  const std::string csv = absl::StrCat(kHeader,
                                       "140000,山西省,,山西省,省级,在用,1981,,\n"
                                       "142400,山西省,晋中地区,晋中地区,地级,弃用,1981,1999,\n"
                                       "142401,山西省,晋中地区,甲县,县级,弃用,1981,1990,142402\n"
                                       "142402,山西省,晋中地区,乙县,县级,弃用,1981,1990,142401\n"
                                       "142403,山西省,晋中地区,丙县,县级,弃用,1981,1990,142403\n");
  absl::StatusOr<std::unique_ptr<DivisionRegistry>> registry = DivisionRegistry::FromCsv(csv);
  ASSERT_TRUE(registry.ok()) << registry.status();
  EXPECT_THAT((*registry)->CurrentPrefectures("142401"), IsEmpty());
  EXPECT_THAT((*registry)->CurrentPrefectures("142403"), IsEmpty());
}

// A successor names a code; when that code was later reused, the row in use when the successor
// took over is the one followed, not the most recent.
TEST(FromCsvTest, SuccessorFollowsTheRowInUseWhenItTookOver) {
  const std::string csv =
      absl::StrCat(kHeader,
                   "140000,山西省,,山西省,省级,在用,1981,,\n"
                   "140700,山西省,晋中市,晋中市,地级,在用,1999,,\n"
                   "140702,山西省,晋中市,榆次区,县级,在用,1999,,\n"
                   "140900,山西省,忻州市,忻州市,地级,在用,2000,,\n"
                   "140902,山西省,忻州市,忻府区,县级,弃用,2000,2005,140702\n"
                   "140902,山西省,忻州市,忻府区,县级,在用,2005,,\n"
                   "140903,山西省,忻州市,旧区,县级,弃用,2000,2003,140902\n"
                   "140904,山西省,忻州市,另区,县级,弃用,2000,2003,140902[2010]\n");
  absl::StatusOr<std::unique_ptr<DivisionRegistry>> registry = DivisionRegistry::FromCsv(csv);
  ASSERT_TRUE(registry.ok()) << registry.status();
  EXPECT_THAT((*registry)->CurrentPrefectures("140903"), ElementsAre("140700"));
  EXPECT_THAT((*registry)->CurrentPrefectures("140904"), ElementsAre("140900"));
  // Find, and so CurrentPrefectures, use the row in use of 140902; CountiesOf also lists 140902
  // under 140700 because its earlier, retired row went there.
  EXPECT_THAT((*registry)->CurrentPrefectures("140902"), ElementsAre("140900"));
  EXPECT_THAT(Codes((*registry)->CountiesOf("140700", false)), ElementsAre("140702"));
  EXPECT_THAT(Codes((*registry)->CountiesOf("140700", true)),
              ElementsAre("140702", "140902", "140903"));
  EXPECT_THAT(Codes((*registry)->CountiesOf("140900", true)), ElementsAre("140902", "140904"));
}

}  // namespace
}  // namespace interop::identity
