// The national-interface protocol of Lüliang's backend without I/O: request bodies, and the strict
// parsing and translation of every reply, good and malformed, in Lüliang's dialect
// (adapters/lvliang/dialect.textproto).
#include "adapters/lvliang/national_interface.h"

#include <cstdio>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace interop::adapters::lvliang {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using json = nlohmann::ordered_json;

constexpr char kId[] = "141102199003071252";
constexpr char kOlderId[] = "141102195001010028";
const std::string kDialectPath = INTEROP_SOURCE_DIR "/adapters/lvliang/dialect.textproto";

std::string ReadDialectText() {
  std::string text;
  FILE* file = std::fopen(kDialectPath.c_str(), "rb");
  if (file == nullptr) return text;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  std::fclose(file);
  return text;
}

std::shared_ptr<const Dialect> LvliangDialect() {
  static const std::shared_ptr<const Dialect> dialect = [] {
    absl::StatusOr<std::shared_ptr<const Dialect>> loaded = Dialect::LoadFile(kDialectPath);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return loaded.ok() ? *loaded : nullptr;
  }();
  return dialect;
}

// Lüliang's dialect with one line replaced, e.g. keying persons born before 1980 by legacy numbers.
std::shared_ptr<const Dialect> VariantDialect(absl::string_view from, absl::string_view to) {
  std::string text = ReadDialectText();
  EXPECT_NE(text.find(std::string(from)), std::string::npos) << from;
  absl::StatusOr<std::shared_ptr<const Dialect>> dialect =
      Dialect::Parse(absl::StrReplaceAll(text, {{from, to}}), "variant.textproto");
  EXPECT_TRUE(dialect.ok()) << dialect.status();
  return dialect.ok() ? *dialect : nullptr;
}

json Envelope(json output) {
  json reply;
  reply["infcode"] = 0;
  reply["inf_refmsgid"] = "141100202606301200000000000001";
  reply["refmsg_time"] = "20260630120000123";
  reply["respond_time"] = "20260630120000125";
  reply["err_msg"] = nullptr;
  reply["output"] = std::move(output);
  return reply;
}

json ErrorReply(int infcode, const std::string& err_msg) {
  json reply;
  reply["infcode"] = infcode;
  reply["inf_refmsgid"] = "141100202606301200000000000001";
  reply["err_msg"] = err_msg;
  reply["output"] = nullptr;
  return reply;
}

json InsuranceEntry() {
  json entry;
  entry["balc"] = "2865.97";
  entry["insutype"] = "310";
  entry["psn_type"] = "1101";
  entry["psn_insu_stas"] = "1";
  entry["psn_insu_date"] = "2001-08-16";
  entry["paus_insu_date"] = nullptr;
  entry["cvlserv_flag"] = "0";
  entry["insuplc_admdvs"] = "141102";
  entry["emp_name"] = "";
  return entry;
}

json PersonInfoReply() {
  json output;
  output["baseinfo"] = {{"psn_no", "1411000000000027"},
                        {"psn_cert_type", "01"},
                        {"certno", kId},
                        {"psn_name", "尹璐洁"},
                        {"gend", "2"},
                        {"naty", "01"},
                        {"brdy", "1990-03-07"},
                        {"age", 36}};
  output["insuinfo"] = json::array({InsuranceEntry()});
  output["idetinfo"] = json::array();
  return Envelope(std::move(output));
}

json ContributionRow(const char* insutype, const char* ym, const char* base = "5000.00") {
  return {{"insutype", insutype},
          {"ym", ym},
          {"clct_base", base},
          {"psn_clct_amt", "400.00"},
          {"emp_clct_amt", "800.50"}};
}

json ContributionsReply() {
  json output;
  output["baseinfo"] = {{"psn_no", "1411000000000027"}, {"certno", kId}, {"psn_name", "尹璐洁"}};
  output["clctinfo"] = json::array({ContributionRow("310", "2024-02"), ContributionRow("110", "2024-02"),
                                    ContributionRow("110", "2023-12", "4800.5")});
  return Envelope(std::move(output));
}

json HouseholdReply() {
  json output;
  output["hhreginfo"] = {
      {"certno", kId}, {"psn_name", "尹璐洁"}, {"hhreg_admdvs", "141126"},  {"hh_no", "915802952"},
      {"rlts", "10"},  {"hh_type", "1"},       {"hhreg_date", "2010-11-24"}};
  return Envelope(std::move(output));
}

json LocateReply(const char* exist, const char* insu, const char* clct, const char* hhreg) {
  return Envelope({{"certno", kId},
                   {"psn_exist_flag", exist},
                   {"insu_flag", insu},
                   {"clct_flag", clct},
                   {"hhreg_flag", hhreg}});
}

std::string Dump(const json& value) { return value.dump(); }

absl::Time At(int y, int m, int d, int hh, int mm, int ss) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), absl::FixedTimeZone(8 * 3600));
}

RequestEnvelope TestEnvelope() {
  RequestEnvelope envelope;
  envelope.msgid = "GW0123456789202606301200000001";
  envelope.region_code = "141100";
  envelope.inf_time = At(2026, 6, 30, 12, 0, 5);
  return envelope;
}

// ---------------------------------------------------------------------------------------------
// Requests

TEST(NationalInterfaceRequestTest, PersonInfoRequestIsTheNationalEnvelopeOf1101) {
  json request = json::parse(BuildPersonInfoRequest(*LvliangDialect(), TestEnvelope(), kId));
  EXPECT_EQ(request["infno"], "1101");
  EXPECT_EQ(request["msgid"], "GW0123456789202606301200000001");
  EXPECT_EQ(request["mdtrtarea_admvs"], "141100");
  EXPECT_EQ(request["insuplc_admdvs"], "141100");
  EXPECT_EQ(request["recer_sys_code"], "INTEROP");
  EXPECT_EQ(request["infver"], "V1.0");
  EXPECT_EQ(request["opter_type"], "1");
  EXPECT_EQ(request["opter"], "gateway");
  EXPECT_EQ(request["inf_time"], "2026-06-30 12:00:05");
  for (const char* empty :
       {"dev_no", "dev_safe_info", "cainfo", "signtype", "fixmedins_code", "fixmedins_name", "sign_no"}) {
    EXPECT_EQ(request[empty], "") << empty;
  }
  const json& data = request["input"]["data"];
  EXPECT_EQ(data["mdtrt_cert_type"], "02");
  EXPECT_EQ(data["mdtrt_cert_no"], kId);
  EXPECT_EQ(data["psn_cert_type"], "01");
  EXPECT_EQ(data["certno"], kId);
  EXPECT_EQ(data["psn_name"], "");
}

TEST(NationalInterfaceRequestTest, LocalTransactionsCarryTheirInfnoAndTheYearRangeAsMonthsOfTheDialect) {
  json locate = json::parse(BuildLocatePersonRequest(*LvliangDialect(), TestEnvelope(), kId));
  EXPECT_EQ(locate["infno"], "L9101");
  EXPECT_EQ(locate["input"]["data"]["certno"], kId);
  json household = json::parse(BuildHouseholdRequest(*LvliangDialect(), TestEnvelope(), kId));
  EXPECT_EQ(household["infno"], "L9301");

  json bounded = json::parse(BuildContributionsRequest(*LvliangDialect(), TestEnvelope(), kId, 2015, 2020));
  EXPECT_EQ(bounded["infno"], "L9201");
  EXPECT_EQ(bounded["input"]["data"]["begn_ym"], "2015-01");  // Lüliang writes months "YYYY-MM"
  EXPECT_EQ(bounded["input"]["data"]["end_ym"], "2020-12");
  json open = json::parse(BuildContributionsRequest(*LvliangDialect(), TestEnvelope(), kId, 0, 0));
  EXPECT_EQ(open["input"]["data"]["begn_ym"], "");
  EXPECT_EQ(open["input"]["data"]["end_ym"], "");
}

TEST(NationalInterfaceRequestTest, PersonsKeyedByLegacyNumbersAreAskedForByThem) {
  auto legacy = VariantDialect("legacy_id_born_before_year: 0", "legacy_id_born_before_year: 1980");
  json older = json::parse(BuildPersonInfoRequest(*legacy, TestEnvelope(), kOlderId));
  EXPECT_EQ(older["input"]["data"]["certno"], "141102500101002");
  json younger = json::parse(BuildPersonInfoRequest(*legacy, TestEnvelope(), kId));
  EXPECT_EQ(younger["input"]["data"]["certno"], kId);

  // ... and the reply must name them by it.
  json reply = PersonInfoReply();
  reply["output"]["baseinfo"]["certno"] = "141102500101002";
  absl::StatusOr<medical::v1::GetInsuranceStatusResponse> status =
      ParsePersonInfoReply(*legacy, kOlderId, Dump(reply));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->resident_id(), kOlderId);
  reply["output"]["baseinfo"]["certno"] = kOlderId;
  EXPECT_EQ(ParsePersonInfoReply(*legacy, kOlderId, Dump(reply)).status().code(),
            absl::StatusCode::kInternal);
}

TEST(NationalInterfaceRequestTest, MessageIdsAre30CharactersUniqueAndCarryTheTime) {
  MessageIdGenerator generator;
  EXPECT_EQ(generator.sender_code().size(), 12u);
  EXPECT_EQ(generator.sender_code().substr(0, 2), "GW");
  std::set<std::string> ids;
  const absl::Time now = At(2026, 6, 30, 12, 0, 5);
  for (int i = 0; i < 20000; ++i) {
    std::string id = generator.Next(now);
    ASSERT_EQ(id.size(), 30u) << id;
    EXPECT_EQ(id.substr(12, 14), "20260630120005");
    ids.insert(std::move(id));
  }
  EXPECT_EQ(ids.size(), 20000u);
  EXPECT_NE(MessageIdGenerator().sender_code(), generator.sender_code());  // replicas do not collide
  EXPECT_EQ(FormatInfTime(absl::FromUnixSeconds(0)), "1970-01-01 08:00:00");
}

TEST(NationalInterfaceRequestTest, OnlyUtf8DialectsCanSpeakJson) {
  EXPECT_TRUE(CheckDialectForNationalInterface(*LvliangDialect()).ok());
  auto gb18030 = VariantDialect("text_encoding: TEXT_ENCODING_UTF_8", "text_encoding: TEXT_ENCODING_GB18030");
  absl::Status status = CheckDialectForNationalInterface(*gb18030);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("variant.textproto"), HasSubstr("text_encoding")));
}

// ---------------------------------------------------------------------------------------------
// 1101 person information

TEST(PersonInfoReplyTest, TranslatesTheEnrolment) {
  absl::StatusOr<medical::v1::GetInsuranceStatusResponse> status =
      ParsePersonInfoReply(*LvliangDialect(), kId, Dump(PersonInfoReply()));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->resident_id(), kId);
  EXPECT_EQ(status->name(), "尹璐洁");
  EXPECT_EQ(status->insured_city().city(), City::CITY_LVLIANG);
  EXPECT_EQ(status->insured_city().division_code(), "141100");
  EXPECT_EQ(status->insured_region_code(), "141102");
  EXPECT_EQ(status->insurance_type(), medical::v1::INSURANCE_TYPE_EMPLOYEE);
  EXPECT_EQ(status->status(), medical::v1::ENROLLMENT_STATUS_ACTIVE);
  EXPECT_EQ(status->enrollment_date().year(), 2001);
  EXPECT_EQ(status->enrollment_date().month(), 8);
  EXPECT_EQ(status->enrollment_date().day(), 16);
  EXPECT_EQ(status->personal_account_balance().fen(), 286597);
  EXPECT_FALSE(status->has_provenance());
}

TEST(PersonInfoReplyTest, AmountsWithFewerDecimalsAndTheOtherCodesTranslate) {
  json reply = PersonInfoReply();
  json& entry = reply["output"]["insuinfo"][0];
  entry["balc"] = "0";
  entry["insutype"] = "390";
  entry["psn_insu_stas"] = "3";
  entry["insuplc_admdvs"] = "141100";  // the city's own pooling region
  auto status = ParsePersonInfoReply(*LvliangDialect(), kId, Dump(reply));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->personal_account_balance().fen(), 0);
  EXPECT_EQ(status->insurance_type(), medical::v1::INSURANCE_TYPE_URBAN_RURAL_RESIDENT);
  EXPECT_EQ(status->status(), medical::v1::ENROLLMENT_STATUS_TERMINATED);
  entry["balc"] = "12.5";
  entry["insutype"] = "340";
  entry["psn_insu_stas"] = "2";
  status = ParsePersonInfoReply(*LvliangDialect(), kId, Dump(reply));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->personal_account_balance().fen(), 1250);
  EXPECT_EQ(status->insurance_type(), medical::v1::INSURANCE_TYPE_RETIRED_CADRE);
  EXPECT_EQ(status->status(), medical::v1::ENROLLMENT_STATUS_SUSPENDED);
}

TEST(PersonInfoReplyTest, OfSeveralEnrolmentsTheActiveOneElseTheLatest) {
  json reply = PersonInfoReply();
  json old_active = InsuranceEntry();
  old_active["psn_insu_date"] = "1999-01-01";
  old_active["balc"] = "1.00";
  json newer_terminated = InsuranceEntry();
  newer_terminated["psn_insu_stas"] = "3";
  newer_terminated["psn_insu_date"] = "2020-05-01";
  newer_terminated["balc"] = "2.00";
  reply["output"]["insuinfo"] = json::array({newer_terminated, old_active});
  auto status = ParsePersonInfoReply(*LvliangDialect(), kId, Dump(reply));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->personal_account_balance().fen(), 100);

  json older_terminated = newer_terminated;
  older_terminated["psn_insu_date"] = "2010-05-01";
  older_terminated["balc"] = "3.00";
  reply["output"]["insuinfo"] = json::array({older_terminated, newer_terminated});
  status = ParsePersonInfoReply(*LvliangDialect(), kId, Dump(reply));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->personal_account_balance().fen(), 200);
}

TEST(PersonInfoReplyTest, KnownButNotInsuredHereIsNotFound) {
  json reply = PersonInfoReply();
  reply["output"]["insuinfo"] = json::array();
  absl::Status status = ParsePersonInfoReply(*LvliangDialect(), kId, Dump(reply)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("city lvliang holds no medical-insurance enrolment"));
}

TEST(PersonInfoReplyTest, ErrorRepliesMapByTheirCode) {
  struct Case {
    json reply;
    absl::StatusCode code;
    std::string message;
  };
  const Case cases[] = {
      {ErrorReply(-1, "E1001:未查询到人员信息"), absl::StatusCode::kNotFound,
       "city lvliang holds no medical-insurance enrolment for this person"},
      {ErrorReply(-1, "E1001"), absl::StatusCode::kNotFound, "city lvliang holds no"},
      {ErrorReply(-1, "E9001:系统繁忙"), absl::StatusCode::kUnavailable, "city lvliang is unavailable"},
      {ErrorReply(-1, "E1002:input.data.certno: bad"), absl::StatusCode::kInternal,
       "city lvliang failed transaction 1101: E1002:input.data.certno: bad"},
      {ErrorReply(-1, "E1003:不支持的交易"), absl::StatusCode::kInternal,
       "failed transaction 1101: E1003:不支持的交易"},
      {ErrorReply(-1, "系统异常"), absl::StatusCode::kInternal, "failed transaction 1101: 系统异常"},
      {ErrorReply(-1, "E10011:not a code"), absl::StatusCode::kInternal, "failed transaction 1101"},
      {ErrorReply(-1, "line\nbreak\x01"), absl::StatusCode::kInternal, "line?break?"},
      {ErrorReply(1, "E1001:something"), absl::StatusCode::kInternal, "infcode 1, neither 0"},
      {ErrorReply(-2, ""), absl::StatusCode::kInternal, "infcode -2"},
  };
  for (const Case& c : cases) {
    absl::Status status = ParsePersonInfoReply(*LvliangDialect(), kId, Dump(c.reply)).status();
    EXPECT_EQ(status.code(), c.code) << Dump(c.reply) << " -> " << status;
    EXPECT_THAT(status.message(), HasSubstr(c.message)) << Dump(c.reply);
  }
  json no_message = ErrorReply(-1, "");
  no_message.erase("err_msg");
  absl::Status status = ParsePersonInfoReply(*LvliangDialect(), kId, Dump(no_message)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("(no err_msg)"));
  // A long err_msg is cut at a character boundary.
  std::string long_message = "E1002:";
  for (int i = 0; i < 200; ++i) long_message += "错";
  status = ParsePersonInfoReply(*LvliangDialect(), kId, Dump(ErrorReply(-1, long_message))).status();
  EXPECT_LT(status.message().size(), 320u);
  EXPECT_THAT(status.message(), HasSubstr("错..."));
}

// A reply text and the words its error must contain (besides "city lvliang" and the transaction).
struct Malformed {
  std::string name;
  std::string body;
  std::vector<std::string> words;
};

std::string Mutated(const std::function<void(json&)>& mutate, json reply = PersonInfoReply()) {
  mutate(reply);
  return Dump(reply);
}

std::vector<Malformed> MalformedPersonInfoReplies() {
  const std::string good = Dump(PersonInfoReply());
  std::string deep(100, '[');
  deep += std::string(100, ']');
  std::string huge = "{\"infcode\":0,\"output\":{\"pad\":\"" + std::string(kMaxReplyBytes, 'x') + "\"}}";
  return {
      {"empty", "", {"not valid JSON"}},
      {"truncated", good.substr(0, good.size() / 2), {"not valid JSON"}},
      {"trailing garbage", good + "x", {"not valid JSON"}},
      {"html error page", "<html>502 Bad Gateway</html>", {"not valid JSON"}},
      {"comment", "/* c */" + good, {"not valid JSON"}},
      {"not an object", "[1,2,3]", {"reply: must be a JSON object, got array"}},
      {"string", "\"ok\"", {"must be a JSON object, got string"}},
      {"invalid UTF-8 in a name",
       absl::StrReplaceAll(good, {{"尹璐洁", "\xff\xfe"}}),
       {"not valid JSON", "UTF-8"}},
      {"overlong UTF-8", absl::StrReplaceAll(good, {{"尹璐洁", "\xc0\xaf"}}), {"not valid JSON", "UTF-8"}},
      {"CESU surrogate bytes", absl::StrReplaceAll(good, {{"尹璐洁", "\xed\xa0\x80"}}), {"not valid JSON"}},
      {"lone surrogate escape", absl::StrReplaceAll(good, {{"尹璐洁", "\\ud800"}}), {"not valid JSON"}},
      {"nesting", deep, {"nested deeper than 32"}},
      {"too large", huge, {"larger than"}},
      {"duplicate key",
       absl::StrReplaceAll(good, {{"\"infcode\":0", "\"infcode\":0,\"infcode\":0"}}),
       {"\"infcode\" twice"}},
      {"duplicate nested key",
       absl::StrReplaceAll(good, {{"\"balc\":\"2865.97\"", "\"balc\":\"1.00\",\"balc\":\"2865.97\""}}),
       {"\"balc\" twice"}},
      {"number overflow", absl::StrReplaceAll(good, {{"\"age\":36", "\"age\":1e999"}}), {"not valid JSON"}},
      {"infcode missing", Mutated([](json& r) { r.erase("infcode"); }), {"infcode: is missing"}},
      {"infcode string",
       Mutated([](json& r) { r["infcode"] = "0"; }),
       {"infcode: must be an integer, got string"}},
      {"infcode float",
       Mutated([](json& r) { r["infcode"] = 0.0; }),
       {"infcode: must be an integer, got number"}},
      {"infcode huge",
       absl::StrReplaceAll(good, {{"\"infcode\":0", "\"infcode\":18446744073709551615"}}),
       {"infcode: is out of range"}},
      {"err_msg number", Mutated([](json& r) { r["err_msg"] = 5; }), {"err_msg: must be a string"}},
      {"inf_refmsgid object",
       Mutated([](json& r) { r["inf_refmsgid"] = json::object(); }),
       {"inf_refmsgid: must be a string"}},
      {"output missing", Mutated([](json& r) { r.erase("output"); }), {"output: is missing"}},
      {"output null",
       Mutated([](json& r) { r["output"] = nullptr; }),
       {"output: must be an object, got null"}},
      {"baseinfo missing",
       Mutated([](json& r) { r["output"].erase("baseinfo"); }),
       {"output.baseinfo: is missing"}},
      {"baseinfo array",
       Mutated([](json& r) { r["output"]["baseinfo"] = json::array(); }),
       {"output.baseinfo: must be an object"}},
      {"certno of another person",
       Mutated([](json& r) { r["output"]["baseinfo"]["certno"] = "140105199003071250"; }),
       {"output.baseinfo.certno", "not the identity number asked about"}},
      {"certno missing",
       Mutated([](json& r) { r["output"]["baseinfo"].erase("certno"); }),
       {"output.baseinfo.certno: is missing"}},
      {"certno number",
       Mutated([](json& r) { r["output"]["baseinfo"]["certno"] = 141102; }),
       {"output.baseinfo.certno: must be a string, got number"}},
      {"passport",
       Mutated([](json& r) { r["output"]["baseinfo"]["psn_cert_type"] = "06"; }),
       {"output.baseinfo.psn_cert_type", "\"06\""}},
      {"name missing",
       Mutated([](json& r) { r["output"]["baseinfo"].erase("psn_name"); }),
       {"output.baseinfo.psn_name: is missing"}},
      {"name empty",
       Mutated([](json& r) { r["output"]["baseinfo"]["psn_name"] = ""; }),
       {"output.baseinfo.psn_name: is empty"}},
      {"name null",
       Mutated([](json& r) { r["output"]["baseinfo"]["psn_name"] = nullptr; }),
       {"output.baseinfo.psn_name: must be a string, got null"}},
      {"name with a control character",
       Mutated([](json& r) { r["output"]["baseinfo"]["psn_name"] = "尹\n璐洁"; }),
       {"output.baseinfo.psn_name", "control"}},
      {"name with NUL",
       Mutated([](json& r) { r["output"]["baseinfo"]["psn_name"] = std::string("尹\0洁", 7); }),
       {"output.baseinfo.psn_name", "control"}},
      {"insuinfo missing",
       Mutated([](json& r) { r["output"].erase("insuinfo"); }),
       {"output.insuinfo: is missing"}},
      {"insuinfo object",
       Mutated([](json& r) { r["output"]["insuinfo"] = InsuranceEntry(); }),
       {"output.insuinfo: must be an array, got object"}},
      {"entry not an object",
       Mutated([](json& r) { r["output"]["insuinfo"][0] = "310"; }),
       {"output.insuinfo[0]: must be an object, got string"}},
      {"insutype unmapped",
       Mutated([](json& r) { r["output"]["insuinfo"][0]["insutype"] = "399"; }),
       {"output.insuinfo[0].insutype", "\"399\" is not in its insurance_types table",
        "adapters/lvliang/dialect.textproto"}},
      {"insutype number",
       Mutated([](json& r) { r["output"]["insuinfo"][0]["insutype"] = 310; }),
       {"output.insuinfo[0].insutype: must be a string, got number"}},
      {"status unmapped",
       Mutated([](json& r) { r["output"]["insuinfo"][0]["psn_insu_stas"] = "9"; }),
       {"output.insuinfo[0].psn_insu_stas", "enrollment_statuses"}},
      {"balc three decimals",
       Mutated([](json& r) { r["output"]["insuinfo"][0]["balc"] = "2865.975"; }),
       {"output.insuinfo[0].balc", "2865.975", "decimals"}},
      {"balc number",
       Mutated([](json& r) { r["output"]["insuinfo"][0]["balc"] = 2865.97; }),
       {"output.insuinfo[0].balc: must be a string, got number"}},
      {"balc negative",
       Mutated([](json& r) { r["output"]["insuinfo"][0]["balc"] = "-1.00"; }),
       {"output.insuinfo[0].balc"}},
      {"balc exponent",
       Mutated([](json& r) { r["output"]["insuinfo"][0]["balc"] = "1e3"; }),
       {"output.insuinfo[0].balc"}},
      {"balc grouped",
       Mutated([](json& r) { r["output"]["insuinfo"][0]["balc"] = "2,865.97"; }),
       {"output.insuinfo[0].balc"}},
      {"balc empty",
       Mutated([](json& r) { r["output"]["insuinfo"][0]["balc"] = ""; }),
       {"output.insuinfo[0].balc"}},
      {"balc huge",
       Mutated([](json& r) { r["output"]["insuinfo"][0]["balc"] = "99999999999999999999.00"; }),
       {"output.insuinfo[0].balc"}},
      {"date not real",
       Mutated([](json& r) { r["output"]["insuinfo"][0]["psn_insu_date"] = "2023-02-29"; }),
       {"output.insuinfo[0].psn_insu_date", "not a real date"}},
      {"date compact",
       Mutated([](json& r) { r["output"]["insuinfo"][0]["psn_insu_date"] = "20010816"; }),
       {"output.insuinfo[0].psn_insu_date", "YYYY-MM-DD"}},
      {"date with time",
       Mutated([](json& r) { r["output"]["insuinfo"][0]["psn_insu_date"] = "2001-08-16 00:00:00"; }),
       {"output.insuinfo[0].psn_insu_date"}},
      {"region of another city",
       Mutated([](json& r) { r["output"]["insuinfo"][0]["insuplc_admdvs"] = "140105"; }),
       {"output.insuinfo[0].insuplc_admdvs", "not a division of lvliang"}},
      {"region short",
       Mutated([](json& r) { r["output"]["insuinfo"][0]["insuplc_admdvs"] = "14110"; }),
       {"output.insuinfo[0].insuplc_admdvs", "six-digit"}},
      {"second entry bad",
       Mutated([](json& r) {
         json bad = InsuranceEntry();
         bad["balc"] = "1.001";
         r["output"]["insuinfo"].push_back(bad);
       }),
       {"output.insuinfo[1].balc"}},
  };
}

TEST(PersonInfoReplyTest, EveryMalformedReplyIsInternalNamingCityTransactionAndField) {
  for (const Malformed& m : MalformedPersonInfoReplies()) {
    absl::StatusOr<medical::v1::GetInsuranceStatusResponse> status =
        ParsePersonInfoReply(*LvliangDialect(), kId, m.body);
    ASSERT_FALSE(status.ok()) << m.name;
    EXPECT_EQ(status.status().code(), absl::StatusCode::kInternal) << m.name << ": " << status.status();
    EXPECT_THAT(status.status().message(), HasSubstr("city lvliang answered transaction 1101")) << m.name;
    for (const std::string& word : m.words) {
      EXPECT_THAT(status.status().message(), HasSubstr(word)) << m.name;
    }
  }
}

TEST(PersonInfoReplyTest, UnknownFieldsAreIgnoredAndKeysMayComeInAnyOrder) {
  json reply = PersonInfoReply();
  reply["warn_msg"] = nullptr;
  reply["output"]["extra"] = {{"anything", json::array({1, 2.5, true})}};
  reply["output"]["baseinfo"]["exp_content"] = "";
  nlohmann::json sorted = nlohmann::json::parse(Dump(reply));  // std::map order
  EXPECT_TRUE(ParsePersonInfoReply(*LvliangDialect(), kId, sorted.dump()).ok());
  // Whitespace and escapes are JSON.
  std::string pretty = sorted.dump(2, ' ', /*ensure_ascii=*/true);
  auto status = ParsePersonInfoReply(*LvliangDialect(), kId, pretty);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->name(), "尹璐洁");
}

// ---------------------------------------------------------------------------------------------
// L9101 locate

TEST(LocatePersonReplyTest, TranslatesTheFlags) {
  auto location = ParseLocatePersonReply(*LvliangDialect(), kId, Dump(LocateReply("1", "1", "0", "1")));
  ASSERT_TRUE(location.ok()) << location.status();
  EXPECT_TRUE(location->found);
  EXPECT_TRUE(location->holds_medical_enrollment);
  EXPECT_FALSE(location->holds_contribution_history);
  EXPECT_TRUE(location->holds_household_registration);

  location = ParseLocatePersonReply(*LvliangDialect(), kId, Dump(LocateReply("0", "0", "0", "0")));
  ASSERT_TRUE(location.ok()) << location.status();
  EXPECT_FALSE(location->found);
}

TEST(LocatePersonReplyTest, NoRecordIsNotFoundFalseButOtherErrorsAreErrors) {
  auto location =
      ParseLocatePersonReply(*LvliangDialect(), kId, Dump(ErrorReply(-1, "E1001:no such person")));
  ASSERT_TRUE(location.ok()) << location.status();
  EXPECT_FALSE(location->found);
  EXPECT_EQ(
      ParseLocatePersonReply(*LvliangDialect(), kId, Dump(ErrorReply(-1, "E9001:busy"))).status().code(),
      absl::StatusCode::kUnavailable);
  EXPECT_EQ(ParseLocatePersonReply(*LvliangDialect(), kId, Dump(ErrorReply(-1, "boom"))).status().code(),
            absl::StatusCode::kInternal);
}

TEST(LocatePersonReplyTest, MalformedFlagsAreInternal) {
  struct Case {
    json reply;
    std::string words;
  };
  json missing = LocateReply("1", "1", "1", "1");
  missing["output"].erase("clct_flag");
  json boolean = LocateReply("1", "1", "1", "1");
  boolean["output"]["insu_flag"] = true;
  json other_person = LocateReply("1", "1", "1", "1");
  other_person["output"]["certno"] = "140105199003071250";
  const Case cases[] = {
      {LocateReply("1", "2", "0", "0"), "output.insu_flag: \"2\" is not \"0\" or \"1\""},
      {LocateReply("Y", "1", "0", "0"), "output.psn_exist_flag"},
      {LocateReply("0", "1", "0", "0"), "output.psn_exist_flag: is \"0\" but another flag"},
      {missing, "output.clct_flag: is missing"},
      {boolean, "output.insu_flag: must be a string, got boolean"},
      {other_person, "output.certno"},
  };
  for (const Case& c : cases) {
    absl::Status status = ParseLocatePersonReply(*LvliangDialect(), kId, Dump(c.reply)).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << Dump(c.reply);
    EXPECT_THAT(status.message(),
                AllOf(HasSubstr("city lvliang answered transaction L9101"), HasSubstr(c.words)));
  }
}

// ---------------------------------------------------------------------------------------------
// L9201 contributions

TEST(ContributionsReplyTest, TranslatesMonthsInCanonicalOrder) {
  auto entries = ParseContributionsReply(*LvliangDialect(), kId, 0, 0, Dump(ContributionsReply()));
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 3u);
  const social::v1::ContributionEntry& first = (*entries)[0];
  EXPECT_EQ(first.year(), 2023);
  EXPECT_EQ(first.month(), 12);
  EXPECT_EQ(first.kind(), social::v1::INSURANCE_KIND_EMPLOYEE_PENSION);
  EXPECT_EQ(first.wage_base().fen(), 480050);
  EXPECT_EQ(first.personal_amount().fen(), 40000);
  EXPECT_EQ(first.employer_amount().fen(), 80050);
  EXPECT_EQ(first.months(), 1);
  EXPECT_EQ(first.city().city(), City::CITY_LVLIANG);
  EXPECT_EQ((*entries)[1].kind(), social::v1::INSURANCE_KIND_EMPLOYEE_PENSION);
  EXPECT_EQ((*entries)[1].year(), 2024);
  EXPECT_EQ((*entries)[2].kind(), social::v1::INSURANCE_KIND_EMPLOYEE_MEDICAL);
}

TEST(ContributionsReplyTest, KeepsOnlyTheYearsAskedFor) {
  auto entries = ParseContributionsReply(*LvliangDialect(), kId, 2024, 0, Dump(ContributionsReply()));
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_EQ(entries->size(), 2u);
  entries = ParseContributionsReply(*LvliangDialect(), kId, 0, 2023, Dump(ContributionsReply()));
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_EQ(entries->size(), 1u);
  json empty = ContributionsReply();
  empty["output"]["clctinfo"] = json::array();
  entries = ParseContributionsReply(*LvliangDialect(), kId, 0, 0, Dump(empty));
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_TRUE(entries->empty());
}

TEST(ContributionsReplyTest, NoRecordIsNotFound) {
  absl::Status status =
      ParseContributionsReply(*LvliangDialect(), kId, 0, 0, Dump(ErrorReply(-1, "E1001:未查询到缴费信息")))
          .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("city lvliang holds no contribution history"));
}

TEST(ContributionsReplyTest, MalformedRowsAreInternalNamingTheRowAndField) {
  struct Case {
    std::function<void(json&)> mutate;
    std::string words;
  };
  const Case cases[] = {
      {[](json& r) { r["output"]["clctinfo"][1]["ym"] = "202402"; }, "output.clctinfo[1].ym"},
      {[](json& r) { r["output"]["clctinfo"][1]["ym"] = "2024-13"; }, "output.clctinfo[1].ym"},
      {[](json& r) { r["output"]["clctinfo"][1]["ym"] = 202402; }, "output.clctinfo[1].ym: must be a string"},
      {[](json& r) { r["output"]["clctinfo"][0]["insutype"] = "510"; }, "output.clctinfo[0].insutype"},
      {[](json& r) { r["output"]["clctinfo"][2]["clct_base"] = "4800.501"; }, "output.clctinfo[2].clct_base"},
      {[](json& r) { r["output"]["clctinfo"][2]["psn_clct_amt"] = "04.00"; },
       "output.clctinfo[2].psn_clct_amt"},
      {[](json& r) { r["output"]["clctinfo"][2].erase("emp_clct_amt"); },
       "output.clctinfo[2].emp_clct_amt: is missing"},
      {[](json& r) { r["output"]["clctinfo"][0] = nullptr; },
       "output.clctinfo[0]: must be an object, got null"},
      {[](json& r) { r["output"]["clctinfo"] = "none"; }, "output.clctinfo: must be an array"},
      {[](json& r) { r["output"]["clctinfo"].push_back(ContributionRow("110", "2024-02")); },
       "output.clctinfo[3]: repeats the insutype and ym of an earlier entry (110, 2024-02)"},
      {[](json& r) { r["output"]["baseinfo"]["certno"] = kOlderId; }, "output.baseinfo.certno"},
      {[](json& r) { r["output"].erase("baseinfo"); }, "output.baseinfo: is missing"},
  };
  for (const Case& c : cases) {
    std::string body = Mutated(c.mutate, ContributionsReply());
    absl::Status status = ParseContributionsReply(*LvliangDialect(), kId, 0, 0, body).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << body;
    EXPECT_THAT(status.message(),
                AllOf(HasSubstr("city lvliang answered transaction L9201"), HasSubstr(c.words)))
        << body;
  }
}

// ---------------------------------------------------------------------------------------------
// L9301 household registration

TEST(HouseholdReplyTest, TranslatesTheRegistration) {
  auto record = ParseHouseholdReply(*LvliangDialect(), kId, Dump(HouseholdReply()));
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->resident_id(), kId);
  EXPECT_EQ(record->name(), "尹璐洁");
  EXPECT_EQ(record->registered_city().city(), City::CITY_LVLIANG);
  EXPECT_EQ(record->address_code(), "141126");
  EXPECT_EQ(record->household_number(), "915802952");
  EXPECT_EQ(record->relation_to_head(), household::v1::RELATION_TO_HEAD_SPOUSE);
  EXPECT_EQ(record->household_type(), household::v1::HOUSEHOLD_TYPE_FAMILY);
  EXPECT_EQ(record->registered_since().year(), 2010);
  EXPECT_EQ(record->registered_since().month(), 11);
  EXPECT_EQ(record->registered_since().day(), 24);
  EXPECT_FALSE(record->has_provenance());
}

TEST(HouseholdReplyTest, NoRecordIsNotFoundAndMalformedFieldsAreInternal) {
  absl::Status status = ParseHouseholdReply(*LvliangDialect(), kId, Dump(ErrorReply(-1, "E1001:x"))).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("city lvliang holds no household registration"));

  struct Case {
    std::function<void(json&)> mutate;
    std::string words;
  };
  const Case cases[] = {
      {[](json& r) { r["output"]["hhreginfo"]["hh_no"] = "91580295"; },
       "output.hhreginfo.hh_no: \"91580295\" is not nine digits"},
      {[](json& r) { r["output"]["hhreginfo"]["hh_no"] = "91580295X"; }, "output.hhreginfo.hh_no"},
      {[](json& r) { r["output"]["hhreginfo"]["rlts"] = "01"; },
       "output.hhreginfo.rlts: code \"01\" is not in its relations table"},
      {[](json& r) { r["output"]["hhreginfo"]["hh_type"] = "3"; }, "output.hhreginfo.hh_type"},
      {[](json& r) { r["output"]["hhreginfo"]["hhreg_admdvs"] = "140902"; }, "output.hhreginfo.hhreg_admdvs"},
      {[](json& r) { r["output"]["hhreginfo"]["hhreg_date"] = "1899-12-31"; }, "output.hhreginfo.hhreg_date"},
      {[](json& r) { r["output"]["hhreginfo"]["psn_name"] = "\x7f"; }, "output.hhreginfo.psn_name"},
      {[](json& r) { r["output"]["hhreginfo"]["psn_name"] = "\xc2\x85"; }, "output.hhreginfo.psn_name"},
      {[](json& r) { r["output"].erase("hhreginfo"); }, "output.hhreginfo: is missing"},
  };
  for (const Case& c : cases) {
    std::string body = Mutated(c.mutate, HouseholdReply());
    status = ParseHouseholdReply(*LvliangDialect(), kId, body).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << body;
    EXPECT_THAT(status.message(),
                AllOf(HasSubstr("city lvliang answered transaction L9301"), HasSubstr(c.words)))
        << body;
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP layer and envelope

TEST(HttpReplyTest, OnlyStatus200WithJsonInUtf8IsAReply) {
  EXPECT_TRUE(CheckHttpReply(City::CITY_LVLIANG, "1101", 200, "application/json;charset=UTF-8").ok());
  EXPECT_TRUE(CheckHttpReply(City::CITY_LVLIANG, "1101", 200, "application/json").ok());
  EXPECT_TRUE(CheckHttpReply(City::CITY_LVLIANG, "1101", 200, "Application/JSON; Charset=\"utf-8\"").ok());

  absl::Status status = CheckHttpReply(City::CITY_LVLIANG, "1101", 503, "text/html");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("city lvliang"), HasSubstr("HTTP 503")));
  status = CheckHttpReply(City::CITY_LVLIANG, "L9201", 404, "application/json");
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("city lvliang"), HasSubstr("L9201"), HasSubstr("HTTP 404")));
  status = CheckHttpReply(City::CITY_LVLIANG, "1101", 200, "text/html; charset=utf-8");
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("content type"));
  status = CheckHttpReply(City::CITY_LVLIANG, "1101", 200, "application/json; charset=GBK");
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("GBK"));
  EXPECT_EQ(CheckHttpReply(City::CITY_LVLIANG, "1101", 200, "").code(), absl::StatusCode::kInternal);
}

TEST(ReplyEnvelopeTest, ParsesTheEnvelopeAlone) {
  auto envelope = ParseReplyEnvelope(City::CITY_LVLIANG, "1101", Dump(ErrorReply(-1, "E1001:x")));
  ASSERT_TRUE(envelope.ok()) << envelope.status();
  EXPECT_EQ(envelope->infcode, -1);
  EXPECT_EQ(envelope->err_msg, "E1001:x");
  EXPECT_EQ(envelope->inf_refmsgid, "141100202606301200000000000001");
  EXPECT_EQ(ReplyError(City::CITY_LVLIANG, "1101", *envelope, "thing").code(), absl::StatusCode::kNotFound);
  envelope = ParseReplyEnvelope(City::CITY_LVLIANG, "1101", "{\"infcode\":0}");
  ASSERT_TRUE(envelope.ok()) << envelope.status();
  EXPECT_EQ(envelope->err_msg, "");
  EXPECT_TRUE(ReplyError(City::CITY_LVLIANG, "1101", *envelope, "thing").ok());
}

}  // namespace
}  // namespace interop::adapters::lvliang
