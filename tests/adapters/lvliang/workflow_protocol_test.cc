// The household migration and pension transfer transactions of Lüliang's national-interface protocol
// without I/O (L9302 permit, L9303 move-out, L9304 settle-in; L9202 application, L9203 contact
// letter, L9204 sheet, L9205 transfer out, L9206 transfer in): the request fields in Lüliang's
// dialect with the idempotency key as biz_sn, the translation of every reply, the error codes mapped
// as the gRPC adapter maps a backend's status codes, and strict parsing: a malformed reply is
// INTERNAL naming the city, the transaction and the field, never a crash.
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapters/dialect/money.h"
#include "adapters/lvliang/national_interface.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace interop::adapters::lvliang {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::ordered_json;

constexpr char kId[] = "141102199003071252";
constexpr char kOtherId[] = "141102199003071260";
constexpr char kKey[] = "wf-7/move_in_permit";
const std::string kDialectPath = INTEROP_SOURCE_DIR "/adapters/lvliang/dialect.textproto";

const Dialect& Lvliang() {
  static const std::shared_ptr<const Dialect> dialect = [] {
    absl::StatusOr<std::shared_ptr<const Dialect>> loaded = Dialect::LoadFile(kDialectPath);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return loaded.ok() ? *loaded : nullptr;
  }();
  return *dialect;
}

// Xinzhou's dialect on the same transport: amounts in fen, slashed dates, local codes.
const Dialect& Xinzhou() {
  static const std::shared_ptr<const Dialect> dialect = [] {
    absl::StatusOr<std::shared_ptr<const Dialect>> loaded =
        Dialect::LoadFile(INTEROP_SOURCE_DIR "/adapters/xinzhou/dialect.textproto");
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return loaded.ok() ? *loaded : nullptr;
  }();
  return *dialect;
}

std::string Dump(const json& value) { return value.dump(); }

json Envelope(json output) {
  json reply;
  reply["infcode"] = 0;
  reply["inf_refmsgid"] = "141100202606301200000000000001";
  reply["err_msg"] = nullptr;
  reply["output"] = std::move(output);
  return reply;
}

json ErrorReply(const std::string& err_msg) {
  json reply;
  reply["infcode"] = -1;
  reply["err_msg"] = err_msg;
  reply["output"] = nullptr;
  return reply;
}

RequestEnvelope TestEnvelope() {
  RequestEnvelope envelope;
  envelope.msgid = "GW0000000000202606301200000001";
  envelope.region_code = "141100";
  envelope.inf_time = absl::FromUnixSeconds(1782792000);
  return envelope;
}

json Data(const absl::StatusOr<std::string>& body, const std::string& infno) {
  EXPECT_TRUE(body.ok()) << body.status();
  if (!body.ok()) return json::object();
  json request = json::parse(*body);
  EXPECT_EQ(request["infno"], infno);
  EXPECT_EQ(request["msgid"], "GW0000000000202606301200000001");
  EXPECT_EQ(request["mdtrtarea_admvs"], "141100");
  const json& data = request["input"]["data"];
  EXPECT_EQ(data["psn_cert_type"], "01");
  EXPECT_EQ(data["certno"], kId);
  return data;
}

social::v1::ContributionEntry PensionMonth(int year, int month, int64_t base, int64_t personal,
                                           int64_t employer) {
  social::v1::ContributionEntry e;
  e.set_kind(social::v1::INSURANCE_KIND_EMPLOYEE_PENSION);
  e.set_year(year);
  e.set_month(month);
  e.set_months(1);
  e.mutable_wage_base()->set_fen(base);
  e.mutable_personal_amount()->set_fen(personal);
  e.mutable_employer_amount()->set_fen(employer);
  return e;
}

// A sheet of two months in 1997-12 and 1998-01.
PensionTransferSheet Sheet() {
  PensionTransferSheet sheet;
  sheet.months = {PensionMonth(1997, 12, 150000, 12000, 24000), PensionMonth(1998, 1, 300000, 24000, 48000)};
  sheet.years = {{1997, 1, 150000, 12000, 24000}, {1998, 1, 300000, 24000, 48000}};
  sheet.personal_account_fen = 36000;
  sheet.pooled_fund_fen = 36000;
  return sheet;
}

// Output of each transaction as the mock writes it.
json PermitOutput() {
  return {{"pmtinfo",
           {{"certno", kId}, {"mvin_pmt_no", "ZR14110000000001"}, {"issu_date", "2026-06-30"},
            {"vali_enddate", "2026-08-08"}}},
          {"rpt_flag", "0"}};
}
json MoveOutOutput() {
  return {{"mvoutinfo", {{"certno", kId}, {"hhreg_admdvs", "141126"}, {"mvout_date", "2026-06-30"}}},
          {"rpt_flag", "0"}};
}
json SettleInOutput() {
  return {{"hhreginfo",
           {{"certno", kId}, {"psn_name", "尹璐洁"}, {"hhreg_admdvs", "141102"}, {"hh_no", "915802952"},
            {"rlts", "02"}, {"hh_type", "1"}, {"hhreg_date", "2026-06-30"}}},
          {"rpt_flag", "0"}};
}
json ApplicationOutput() {
  return {{"aplyinfo", {{"certno", kId}, {"aply_no", "ZJ14110000000002"}, {"aply_date", "2026-06-30"}}},
          {"rpt_flag", "0"}};
}
json LetterOutput() {
  return {{"letrinfo",
           {{"certno", kId}, {"letr_no", "LX14110000000003"}, {"aply_no", "ZJ14110000000002"},
            {"issu_date", "2026-06-30"}}},
          {"rpt_flag", "0"}};
}
json SheetOutput() {
  json output;
  output["baseinfo"] = {{"certno", kId}, {"psn_acct_balc", "360.00"}, {"pool_fund_amt", "360.00"}};
  output["yearinfo"] = json::array(
      {{{"year", "1998"}, {"clct_mons", "1"}, {"clct_base_sum", "3000.00"}, {"psn_clct_amt", "240.00"},
        {"emp_clct_amt", "480.00"}},
       {{"year", "1997"}, {"clct_mons", "1"}, {"clct_base_sum", "1500.00"}, {"psn_clct_amt", "120.00"},
        {"emp_clct_amt", "240.00"}}});
  output["clctinfo"] = json::array(
      {{{"insutype", "110"}, {"ym", "1998-01"}, {"clct_base", "3000.00"}, {"psn_clct_amt", "240.00"},
        {"emp_clct_amt", "480.00"}},
       {{"insutype", "110"}, {"ym", "1997-12"}, {"clct_base", "1500.00"}, {"psn_clct_amt", "120.00"},
        {"emp_clct_amt", "240.00"}}});
  output["rpt_flag"] = "0";
  return output;
}
json CompleteOutput() {
  return {{"trfoutinfo", {{"certno", kId}, {"trfout_date", "2026-06-30"}}}, {"rpt_flag", "0"}};
}
json ConfirmOutput() {
  return {{"trfininfo", {{"certno", kId}, {"cfm_date", "2026-06-30"}, {"ntc_flag", "1"}}}, {"rpt_flag", "0"}};
}

// Every parser, with what it is asked, as one function of the body.
struct Parser {
  std::string infno;
  std::function<absl::Status(const std::string& body)> parse;
  std::function<json()> output;
};

std::vector<Parser> Parsers() {
  const Dialect& d = Lvliang();
  return {
      {"L9302", [&d](const std::string& b) { return ParseMoveInPermitReply(d, kId, b).status(); }, PermitOutput},
      {"L9303", [&d](const std::string& b) { return ParseMoveOutReply(d, kId, b).status(); }, MoveOutOutput},
      {"L9304", [&d](const std::string& b) { return ParseSettleInReply(d, kId, "141102", b).status(); },
       SettleInOutput},
      {"L9202", [&d](const std::string& b) { return ParsePensionApplicationReply(d, kId, b).status(); },
       ApplicationOutput},
      {"L9203",
       [&d](const std::string& b) { return ParseContactLetterReply(d, kId, "ZJ14110000000002", b).status(); },
       LetterOutput},
      {"L9204", [&d](const std::string& b) { return ParsePrepareTransferOutReply(d, kId, b).status(); },
       SheetOutput},
      {"L9205", [&d](const std::string& b) { return ParseCompleteTransferOutReply(d, kId, b).status(); },
       CompleteOutput},
      {"L9206", [&d](const std::string& b) { return ParseConfirmTransferInReply(d, kId, b).status(); },
       ConfirmOutput},
  };
}

void ExpectInternal(const absl::Status& status, const std::vector<std::string>& parts) {
  ASSERT_FALSE(status.ok()) << "parsed a malformed reply";
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
  for (const std::string& part : parts) EXPECT_THAT(status.message(), HasSubstr(part)) << status;
}

TEST(WorkflowProtocolTest, HouseholdRequestsCarryTheKeyAndTheDialect) {
  json permit = Data(BuildMoveInPermitRequest(Lvliang(), TestEnvelope(), kKey, kId, City::CITY_TAIYUAN, "141102"),
                     "L9302");
  EXPECT_EQ(permit["biz_sn"], kKey);
  EXPECT_EQ(permit["mvout_admdvs"], "140100");
  EXPECT_EQ(permit["hhreg_admdvs"], "141102");

  json move_out = Data(BuildMoveOutRequest(Lvliang(), TestEnvelope(), "k2", kId, City::CITY_XINZHOU,
                                           "ZR14090000000001", absl::CivilDay(2026, 8, 8)),
                       "L9303");
  EXPECT_EQ(move_out["biz_sn"], "k2");
  EXPECT_EQ(move_out["mvin_admdvs"], "140900");
  EXPECT_EQ(move_out["mvin_pmt_no"], "ZR14090000000001");
  EXPECT_EQ(move_out["pmt_vali_enddate"], "2026-08-08");

  json settle = Data(BuildSettleInRequest(Lvliang(), TestEnvelope(), "k3", kId, "ZR14110000000001", "141102", "尹璐洁"),
                     "L9304");
  EXPECT_EQ(settle["biz_sn"], "k3");
  EXPECT_EQ(settle["psn_name"], "尹璐洁");
  EXPECT_EQ(settle["mvin_pmt_no"], "ZR14110000000001");
  EXPECT_EQ(settle["hhreg_admdvs"], "141102");
}

TEST(WorkflowProtocolTest, PensionRequestsCarryTheKeyAndTheDialect) {
  json apply =
      Data(BuildPensionApplicationRequest(Lvliang(), TestEnvelope(), "k1", kId, City::CITY_JINZHONG), "L9202");
  EXPECT_EQ(apply["biz_sn"], "k1");
  EXPECT_EQ(apply["trfout_admdvs"], "140700");

  json letter = Data(BuildContactLetterRequest(Lvliang(), TestEnvelope(), "k2", kId, "ZJ1"), "L9203");
  EXPECT_EQ(letter["biz_sn"], "k2");
  EXPECT_EQ(letter["aply_no"], "ZJ1");

  json prepare =
      Data(BuildPrepareTransferOutRequest(Lvliang(), TestEnvelope(), "k3", kId, City::CITY_YANGQUAN, "LX1"), "L9204");
  EXPECT_EQ(prepare["biz_sn"], "k3");
  EXPECT_EQ(prepare["trfin_admdvs"], "140300");
  EXPECT_EQ(prepare["letr_no"], "LX1");

  json complete = Data(BuildCompleteTransferOutRequest(Lvliang(), TestEnvelope(), "k4", kId, City::CITY_YANGQUAN,
                                                       "LX1", 123456, 7),
                       "L9205");
  EXPECT_EQ(complete["biz_sn"], "k4");
  EXPECT_EQ(complete["trfin_admdvs"], "140300");
  EXPECT_EQ(complete["psn_acct_balc"], "1234.56");  // yuan, two decimals
  EXPECT_EQ(complete["pool_fund_amt"], "0.07");

  json confirm = Data(BuildConfirmTransferInRequest(Lvliang(), TestEnvelope(), "k5", kId, "ZJ1", City::CITY_TAIYUAN,
                                                    Sheet()),
                      "L9206");
  EXPECT_EQ(confirm["biz_sn"], "k5");
  EXPECT_EQ(confirm["aply_no"], "ZJ1");
  EXPECT_EQ(confirm["trfout_admdvs"], "140100");
  EXPECT_EQ(confirm["psn_acct_balc"], "360.00");
  EXPECT_EQ(confirm["pool_fund_amt"], "360.00");
  ASSERT_EQ(confirm["yearinfo"].size(), 2u);
  EXPECT_EQ(confirm["yearinfo"][0]["year"], "1997");
  EXPECT_EQ(confirm["yearinfo"][0]["clct_mons"], "1");
  EXPECT_EQ(confirm["yearinfo"][0]["clct_base_sum"], "1500.00");
  EXPECT_EQ(confirm["yearinfo"][1]["psn_clct_amt"], "240.00");
  ASSERT_EQ(confirm["clctinfo"].size(), 2u);
  EXPECT_EQ(confirm["clctinfo"][0]["insutype"], "110");
  EXPECT_EQ(confirm["clctinfo"][0]["ym"], "1997-12");
  EXPECT_EQ(confirm["clctinfo"][1]["clct_base"], "3000.00");
  EXPECT_EQ(confirm["clctinfo"][1]["emp_clct_amt"], "480.00");
}

TEST(WorkflowProtocolTest, RequestsAreWrittenInTheCitysDialect) {
  // Xinzhou on the same transport: fen, slashed months and dates, its own pension code, legacy numbers.
  absl::StatusOr<std::string> body = BuildConfirmTransferInRequest(Xinzhou(), TestEnvelope(), "k", "140105199003071250",
                                                                   "ZJ1", City::CITY_TAIYUAN, Sheet());
  ASSERT_TRUE(body.ok()) << body.status();
  const json data = json::parse(*body)["input"]["data"];
  EXPECT_EQ(data["psn_acct_balc"], "36000");
  EXPECT_EQ(data["clctinfo"][0]["ym"], Xinzhou().date_format().FormatMonth(absl::CivilMonth(1997, 12)));
  EXPECT_EQ(data["clctinfo"][0]["insutype"], *Xinzhou().table(CodeTableKind::kContributionKinds).ToLocal("110"));
  absl::StatusOr<std::string> move_out = BuildMoveOutRequest(Xinzhou(), TestEnvelope(), "k", "142201196503071237",
                                                             City::CITY_TAIYUAN, "ZR1", absl::CivilDay(2026, 8, 8));
  ASSERT_TRUE(move_out.ok()) << move_out.status();
  EXPECT_EQ(json::parse(*move_out)["input"]["data"]["certno"], Xinzhou().BackendResidentId("142201196503071237"));
  EXPECT_EQ(json::parse(*move_out)["input"]["data"]["pmt_vali_enddate"],
            Xinzhou().date_format().FormatDate(absl::CivilDay(2026, 8, 8)));
}

TEST(WorkflowProtocolTest, RequestsTheProtocolCannotCarryAreInvalidArgumentNamingTheField) {
  const RequestEnvelope e = TestEnvelope();
  const Dialect& d = Lvliang();
  struct Case {
    absl::Status status;
    std::string field;
  };
  const Case cases[] = {
      {BuildMoveInPermitRequest(d, e, "", kId, City::CITY_TAIYUAN, "141102").status(), "request_key"},
      {BuildMoveInPermitRequest(d, e, std::string(201, 'k'), kId, City::CITY_TAIYUAN, "141102").status(),
       "request_key"},
      {BuildMoveInPermitRequest(d, e, kKey, kId, City::CITY_UNSPECIFIED, "141102").status(), "origin"},
      {BuildMoveInPermitRequest(d, e, kKey, kId, City::CITY_TAIYUAN, "1411").status(), "address_code"},
      {BuildMoveOutRequest(d, e, kKey, kId, City::CITY_TAIYUAN, "", absl::CivilDay(2026, 8, 8)).status(),
       "permit_number"},
      {BuildMoveOutRequest(d, e, kKey, kId, City::CITY_TAIYUAN, "ZR1", absl::CivilDay(1899, 8, 8)).status(),
       "permit_valid_until"},
      {BuildSettleInRequest(d, e, kKey, kId, "ZR1", "141102", "").status(), "name"},
      {BuildSettleInRequest(d, e, kKey, kId, "ZR1", "141102", "\xff\xfe").status(), "name"},
      {BuildPensionApplicationRequest(d, e, kKey, kId, City::CITY_UNSPECIFIED).status(), "origin"},
      {BuildContactLetterRequest(d, e, kKey, kId, "").status(), "application_number"},
      {BuildPrepareTransferOutRequest(d, e, kKey, kId, City::CITY_TAIYUAN, "").status(), "letter_number"},
      {BuildCompleteTransferOutRequest(d, e, kKey, kId, City::CITY_TAIYUAN, "LX1", -1, 0).status(),
       "personal_account_fen"},
      {BuildCompleteTransferOutRequest(d, e, kKey, kId, City::CITY_TAIYUAN, "LX1", 0, kMaxMoneyFen + 1).status(),
       "pooled_fund_fen"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.status.code(), absl::StatusCode::kInvalidArgument) << c.field << ": " << c.status;
    EXPECT_THAT(c.status.message(), HasSubstr(c.field));
  }
  PensionTransferSheet bad = Sheet();
  bad.years[0].months = 13;
  EXPECT_THAT(BuildConfirmTransferInRequest(d, e, kKey, kId, "ZJ1", City::CITY_TAIYUAN, bad).status().message(),
              HasSubstr("sheet.years[0].months"));
  bad = Sheet();
  bad.months[1].set_kind(social::v1::INSURANCE_KIND_UNEMPLOYMENT);
  EXPECT_THAT(BuildConfirmTransferInRequest(d, e, kKey, kId, "ZJ1", City::CITY_TAIYUAN, bad).status().message(),
              HasSubstr("sheet.months[1].kind"));
  bad = Sheet();
  bad.months[0].mutable_personal_amount()->set_fen(-1);
  EXPECT_THAT(BuildConfirmTransferInRequest(d, e, kKey, kId, "ZJ1", City::CITY_TAIYUAN, bad).status().message(),
              HasSubstr("sheet.months[0].personal_amount"));
}

TEST(WorkflowProtocolTest, HouseholdRepliesTranslate) {
  absl::StatusOr<MoveInPermit> permit = ParseMoveInPermitReply(Lvliang(), kId, Dump(Envelope(PermitOutput())));
  ASSERT_TRUE(permit.ok()) << permit.status();
  EXPECT_EQ(permit->permit_number, "ZR14110000000001");
  EXPECT_EQ(permit->issued_on, absl::CivilDay(2026, 6, 30));
  EXPECT_EQ(permit->valid_until, absl::CivilDay(2026, 8, 8));
  EXPECT_FALSE(permit->replayed);
  json replayed = PermitOutput();
  replayed["rpt_flag"] = "1";
  EXPECT_TRUE(ParseMoveInPermitReply(Lvliang(), kId, Dump(Envelope(replayed)))->replayed);

  absl::StatusOr<MoveOutRecord> moved = ParseMoveOutReply(Lvliang(), kId, Dump(Envelope(MoveOutOutput())));
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->previous_address_code, "141126");
  EXPECT_EQ(moved->moved_out_on, absl::CivilDay(2026, 6, 30));

  absl::StatusOr<SettleInResult> settled =
      ParseSettleInReply(Lvliang(), kId, "141102", Dump(Envelope(SettleInOutput())));
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_EQ(settled->registration.resident_id(), kId);
  EXPECT_EQ(settled->registration.name(), "尹璐洁");
  EXPECT_EQ(settled->registration.registered_city().city(), City::CITY_LVLIANG);
  EXPECT_EQ(settled->registration.address_code(), "141102");
  EXPECT_EQ(settled->registration.household_number(), "915802952");
  EXPECT_EQ(settled->registration.relation_to_head(), household::v1::RELATION_TO_HEAD_HEAD);
  EXPECT_EQ(settled->registration.household_type(), household::v1::HOUSEHOLD_TYPE_FAMILY);
  EXPECT_EQ(settled->registration.registered_since().year(), 2026);
  EXPECT_FALSE(settled->replayed);
}

TEST(WorkflowProtocolTest, PensionRepliesTranslate) {
  absl::StatusOr<PensionApplication> application =
      ParsePensionApplicationReply(Lvliang(), kId, Dump(Envelope(ApplicationOutput())));
  ASSERT_TRUE(application.ok()) << application.status();
  EXPECT_EQ(application->application_number, "ZJ14110000000002");
  EXPECT_EQ(application->applied_on, absl::CivilDay(2026, 6, 30));

  absl::StatusOr<ContactLetter> letter =
      ParseContactLetterReply(Lvliang(), kId, "ZJ14110000000002", Dump(Envelope(LetterOutput())));
  ASSERT_TRUE(letter.ok()) << letter.status();
  EXPECT_EQ(letter->letter_number, "LX14110000000003");

  absl::StatusOr<PreparedTransferOut> prepared =
      ParsePrepareTransferOutReply(Lvliang(), kId, Dump(Envelope(SheetOutput())));
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  const PensionTransferSheet& sheet = prepared->sheet;
  EXPECT_EQ(sheet.personal_account_fen, 36000);
  EXPECT_EQ(sheet.pooled_fund_fen, 36000);
  ASSERT_EQ(sheet.years.size(), 2u);  // sorted ascending
  EXPECT_EQ(sheet.years[0].year, 1997);
  EXPECT_EQ(sheet.years[0].months, 1);
  EXPECT_EQ(sheet.years[0].wage_base_total_fen, 150000);
  EXPECT_EQ(sheet.years[1].employer_fen, 48000);
  ASSERT_EQ(sheet.months.size(), 2u);
  EXPECT_EQ(sheet.months[0].year(), 1997);
  EXPECT_EQ(sheet.months[0].month(), 12);
  EXPECT_EQ(sheet.months[0].kind(), social::v1::INSURANCE_KIND_EMPLOYEE_PENSION);
  EXPECT_EQ(sheet.months[0].city().city(), City::CITY_LVLIANG);
  EXPECT_EQ(sheet.months[0].months(), 1);
  EXPECT_EQ(sheet.months[1].wage_base().fen(), 300000);
  EXPECT_EQ(sheet.months[1].personal_amount().fen(), 24000);
  EXPECT_FALSE(prepared->replayed);

  absl::StatusOr<TransferOutCompletion> completion =
      ParseCompleteTransferOutReply(Lvliang(), kId, Dump(Envelope(CompleteOutput())));
  ASSERT_TRUE(completion.ok()) << completion.status();
  EXPECT_EQ(completion->ended_on, absl::CivilDay(2026, 6, 30));

  json replayed = ConfirmOutput();
  replayed["rpt_flag"] = "1";
  absl::StatusOr<TransferInConfirmation> confirmation =
      ParseConfirmTransferInReply(Lvliang(), kId, Dump(Envelope(replayed)));
  ASSERT_TRUE(confirmation.ok()) << confirmation.status();
  EXPECT_EQ(confirmation->confirmed_on, absl::CivilDay(2026, 6, 30));
  EXPECT_TRUE(confirmation->applicant_notified);
  EXPECT_TRUE(confirmation->replayed);
}

TEST(WorkflowProtocolTest, ErrorCodesMapLikeTheGrpcPathNamingTheCity) {
  struct Case {
    std::string err_msg;
    absl::StatusCode code;
  };
  const Case cases[] = {
      {"E1001:未查询到人员信息", absl::StatusCode::kNotFound},
      {"E1002:input.data.hhreg_admdvs: \"140105\" is not a county of lvliang", absl::StatusCode::kInvalidArgument},
      {"E1003:不支持的交易", absl::StatusCode::kUnimplemented},
      {"E2002:biz_sn: \"k\" was used for another request", absl::StatusCode::kAlreadyExists},
      {"E2003:the permit to move in expired on 2026-05-01", absl::StatusCode::kFailedPrecondition},
      {"E9001:系统繁忙", absl::StatusCode::kUnavailable},
      {"E1999:anything else", absl::StatusCode::kInternal},
      {"no code", absl::StatusCode::kInternal},
  };
  for (const Parser& parser : Parsers()) {
    for (const Case& c : cases) {
      absl::Status status = parser.parse(Dump(ErrorReply(c.err_msg)));
      EXPECT_EQ(status.code(), c.code) << parser.infno << " " << c.err_msg << " -> " << status;
      EXPECT_THAT(status.message(), HasSubstr("city lvliang")) << status;
    }
  }
  // The city's reason is kept for a refusal, as the gRPC adapter keeps the backend's message.
  absl::Status expired = ParseMoveOutReply(Lvliang(), kId, Dump(ErrorReply("E2003:the permit to move in expired")))
                             .status();
  EXPECT_THAT(expired.message(), HasSubstr("city lvliang refused household registration for this person"));
  EXPECT_THAT(expired.message(), HasSubstr("expired"));
  // NOT_FOUND says what the city does not hold, in the gRPC adapter's words.
  EXPECT_EQ(ParsePrepareTransferOutReply(Lvliang(), kId, Dump(ErrorReply("E1001:no pension months"))).status().message(),
            "city lvliang holds no pension record for this person");
  EXPECT_EQ(ParseMoveOutReply(Lvliang(), kId, Dump(ErrorReply("E1001:not registered"))).status().message(),
            "city lvliang holds no household registration for this person");
}

TEST(WorkflowProtocolTest, MalformedRepliesAreInternalNamingTheTransactionAndTheField) {
  struct Case {
    std::string infno;
    std::function<void(json&)> mutate;
    std::string field;
  };
  const Case cases[] = {
      {"L9302", [](json& o) { o["pmtinfo"]["mvin_pmt_no"] = ""; }, "output.pmtinfo.mvin_pmt_no"},
      {"L9302", [](json& o) { o["pmtinfo"]["issu_date"] = "20260630"; }, "output.pmtinfo.issu_date"},
      {"L9302", [](json& o) { o["pmtinfo"]["vali_enddate"] = "2026-06-29"; }, "output.pmtinfo.vali_enddate"},
      {"L9302", [](json& o) { o["pmtinfo"]["certno"] = kOtherId; }, "output.pmtinfo.certno"},
      {"L9302", [](json& o) { o["rpt_flag"] = 0; }, "output.rpt_flag"},
      {"L9302", [](json& o) { o.erase("rpt_flag"); }, "output.rpt_flag"},
      {"L9302", [](json& o) { o.erase("pmtinfo"); }, "output.pmtinfo"},
      {"L9303", [](json& o) { o["mvoutinfo"]["hhreg_admdvs"] = "140105"; }, "output.mvoutinfo.hhreg_admdvs"},
      {"L9303", [](json& o) { o["mvoutinfo"]["mvout_date"] = nullptr; }, "output.mvoutinfo.mvout_date"},
      {"L9304", [](json& o) { o["hhreginfo"]["hhreg_admdvs"] = "141126"; }, "output.hhreginfo.hhreg_admdvs"},
      {"L9304", [](json& o) { o["hhreginfo"]["hh_no"] = "9158"; }, "output.hhreginfo.hh_no"},
      {"L9304", [](json& o) { o["hhreginfo"]["rlts"] = "77"; }, "output.hhreginfo.rlts"},
      {"L9304", [](json& o) { o["hhreginfo"]["psn_name"] = ""; }, "output.hhreginfo.psn_name"},
      {"L9202", [](json& o) { o["aplyinfo"]["aply_no"] = 17; }, "output.aplyinfo.aply_no"},
      {"L9202", [](json& o) { o["aplyinfo"]["aply_date"] = "2026-02-30"; }, "output.aplyinfo.aply_date"},
      {"L9203", [](json& o) { o["letrinfo"]["aply_no"] = "ZJ9"; }, "output.letrinfo.aply_no"},
      {"L9203", [](json& o) { o["letrinfo"].erase("letr_no"); }, "output.letrinfo.letr_no"},
      {"L9204", [](json& o) { o["baseinfo"]["psn_acct_balc"] = "360.001"; }, "output.baseinfo.psn_acct_balc"},
      {"L9204", [](json& o) { o["baseinfo"]["pool_fund_amt"] = 360; }, "output.baseinfo.pool_fund_amt"},
      {"L9204", [](json& o) { o["baseinfo"]["certno"] = kOtherId; }, "output.baseinfo.certno"},
      {"L9204", [](json& o) { o["yearinfo"][0]["clct_mons"] = "13"; }, "output.yearinfo[0].clct_mons"},
      {"L9204", [](json& o) { o["yearinfo"][0]["clct_mons"] = "01"; }, "output.yearinfo[0].clct_mons"},
      {"L9204", [](json& o) { o["yearinfo"][1]["year"] = "1998"; }, "output.yearinfo[1].year"},
      {"L9204", [](json& o) { o["yearinfo"] = json::object(); }, "output.yearinfo"},
      {"L9204", [](json& o) { o["clctinfo"][0]["insutype"] = "310"; }, "output.clctinfo[0].insutype"},
      {"L9204", [](json& o) { o["clctinfo"][0]["insutype"] = "999"; }, "output.clctinfo[0].insutype"},
      {"L9204", [](json& o) { o["clctinfo"][1]["ym"] = "1998-01"; }, "output.clctinfo[1].ym"},
      {"L9204", [](json& o) { o["clctinfo"][1]["ym"] = "1997-13"; }, "output.clctinfo[1].ym"},
      {"L9204", [](json& o) { o["clctinfo"][1]["clct_base"] = "-1.00"; }, "output.clctinfo[1].clct_base"},
      {"L9204", [](json& o) { o["clctinfo"][0] = "110"; }, "output.clctinfo[0]"},
      {"L9205", [](json& o) { o["trfoutinfo"]["trfout_date"] = "2026/06/30"; }, "output.trfoutinfo.trfout_date"},
      {"L9205", [](json& o) { o["trfoutinfo"]["certno"] = kOtherId; }, "output.trfoutinfo.certno"},
      {"L9206", [](json& o) { o["trfininfo"]["ntc_flag"] = "Y"; }, "output.trfininfo.ntc_flag"},
      {"L9206", [](json& o) { o["trfininfo"]["cfm_date"] = ""; }, "output.trfininfo.cfm_date"},
      {"L9206", [](json& o) { o["rpt_flag"] = "2"; }, "output.rpt_flag"},
  };
  std::vector<Parser> parsers = Parsers();
  for (const Case& c : cases) {
    const Parser* parser = nullptr;
    for (const Parser& p : parsers) {
      if (p.infno == c.infno) parser = &p;
    }
    ASSERT_NE(parser, nullptr) << c.infno;
    json output = parser->output();
    ASSERT_TRUE(parser->parse(Dump(Envelope(output))).ok()) << c.infno << " does not accept its own output";
    c.mutate(output);
    SCOPED_TRACE(c.field);
    ExpectInternal(parser->parse(Dump(Envelope(output))),
                   {"city lvliang", absl::StrCat("transaction ", c.infno), c.field});
  }
  // Not JSON, a duplicate key, no output: INTERNAL for every transaction, never a crash.
  for (const Parser& parser : parsers) {
    SCOPED_TRACE(parser.infno);
    ExpectInternal(parser.parse("{\"infcode\": 0, \"output\": [}"), {"transaction " + parser.infno, "reply"});
    ExpectInternal(parser.parse("{\"infcode\": 0, \"infcode\": 0, \"output\": {}}"), {"twice"});
    ExpectInternal(parser.parse("{\"infcode\": 0, \"output\": null}"), {"output"});
    ExpectInternal(parser.parse("{\"infcode\": \"0\", \"output\": {}}"), {"infcode"});
    ExpectInternal(parser.parse(Dump(Envelope(json::object()))), {"transaction " + parser.infno, "output."});
  }
}

}  // namespace
}  // namespace interop::adapters::lvliang
