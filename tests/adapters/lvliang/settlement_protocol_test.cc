// The cross-city settlement transactions of Lüliang's national-interface protocol without I/O
// (5206, 2207A, 2208A, 5203, 3202, 2501A, 2502A, 5301A): request bodies, the error-code mapping,
// and strict parsing of every reply: a malformed reply is INTERNAL naming the city, the
// transaction and the field, never a crash.
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapters/lvliang/national_interface.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace interop::adapters::lvliang {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::ordered_json;

constexpr char kId[] = "141102199003071252";
const std::string kDialectPath = INTEROP_SOURCE_DIR "/adapters/lvliang/dialect.textproto";

std::shared_ptr<const Dialect> LvliangDialect() {
  static const std::shared_ptr<const Dialect> dialect = [] {
    absl::StatusOr<std::shared_ptr<const Dialect>> loaded = Dialect::LoadFile(kDialectPath);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return loaded.ok() ? *loaded : nullptr;
  }();
  return dialect;
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

SettlementRecord Sent() {
  SettlementRecord s;
  s.settlement_id = "S1";
  s.resident_id = kId;
  s.year = 2026;
  s.visit_type = config::v1::VISIT_TYPE_INPATIENT;
  s.institution_code = "H14010500001";
  s.treatment_city = City::CITY_TAIYUAN;
  s.settle_date = absl::CivilDay(2026, 3, 15);
  s.total_fen = 150000;
  s.deductible_applied_fen = 80000;
  s.fund_pay_fen = 50000;
  s.account_pay_fen = 20000;
  s.cash_pay_fen = 80000;
  return s;
}

json SetlInfo() {
  json info;
  info["setl_id"] = "S1";
  info["certno"] = kId;
  info["year"] = "2026";
  info["med_type"] = "21";
  info["fixmedins_code"] = "H14010500001";
  info["mdtrtarea_admvs"] = "140100";
  info["setl_date"] = "2026-03-15";
  info["medfee_sumamt"] = "1500.00";
  info["act_pay_dedc"] = "800.00";
  info["fund_pay_sumamt"] = "500.00";
  info["acct_pay"] = "200.00";
  info["psn_cash_pay"] = "800.00";
  info["refd_setl_flag"] = "0";
  info["refd_date"] = "";
  return info;
}

json AccountOutput() {
  json output;
  output["baseinfo"] = {{"psn_no", ""},         {"certno", kId},     {"insutype", "310"},
                        {"psn_insu_stas", "1"}, {"balc", "2865.97"}, {"acct_ver", "4"}};
  output["cuminfo"] = json::array({
      {{"insutype", "310"}, {"year", "2026"}, {"cum_type_code", "C11"}, {"cum", "120.50"}},
      {{"insutype", "310"}, {"year", "2026"}, {"cum_type_code", "C21"}, {"cum", "0"}},
      {{"insutype", "310"}, {"year", "2026"}, {"cum_type_code", "C90"}, {"cum", "3000.01"}},
      {{"insutype", "310"},
       {"year", "2026"},
       {"cum_type_code", "Z99"},
       {"cum", "7.00"}},  // not used: ignored
  });
  return output;
}

json SettleOutput() {
  json output = AccountOutput();
  output["setlinfo"] = SetlInfo();
  output["rpt_flag"] = "0";
  return output;
}

json FileInfo() {
  json info;
  info["trt_dcla_detl_sn"] = "F14110000000001";
  info["certno"] = kId;
  info["mdtrtarea_admvs"] = "140100";
  info["begndate"] = "2026-01-01";
  info["enddate"] = "2026-12-31";
  info["fil_type"] = "2";
  info["vali_flag"] = "1";
  return info;
}

FilingRecord SentFiling() {
  FilingRecord f;
  f.resident_id = kId;
  f.treatment_city = City::CITY_TAIYUAN;
  f.valid_from = absl::CivilDay(2026, 1, 1);
  f.valid_to = absl::CivilDay(2026, 12, 31);
  f.reason = medical::v1::FILING_REASON_LONG_TERM_RESIDENT;
  return f;
}

template <typename T>
void ExpectInternal(const absl::StatusOr<T>& result, const std::vector<std::string>& parts) {
  ASSERT_FALSE(result.ok()) << "parsed a malformed reply";
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal) << result.status();
  for (const std::string& part : parts)
    EXPECT_THAT(result.status().message(), HasSubstr(part)) << result.status();
}

TEST(SettlementProtocolTest, RequestsCarryTheDialect) {
  absl::StatusOr<std::string> body = BuildSettleRequest(*LvliangDialect(), TestEnvelope(), Sent(), 4);
  ASSERT_TRUE(body.ok()) << body.status();
  json request = json::parse(*body);
  EXPECT_EQ(request["infno"], "2207A");
  const json& data = request["input"]["data"];
  EXPECT_EQ(data["setl_id"], "S1");
  EXPECT_EQ(data["certno"], kId);
  EXPECT_EQ(data["med_type"], "21");
  EXPECT_EQ(data["mdtrtarea_admvs"], "140100");
  EXPECT_EQ(data["setl_date"], "2026-03-15");
  EXPECT_EQ(data["medfee_sumamt"], "1500.00");
  EXPECT_EQ(data["acct_pay"], "200.00");
  EXPECT_EQ(data["acct_ver"], "4");

  json account = json::parse(BuildAccountRequest(*LvliangDialect(), TestEnvelope(), kId, 2026));
  EXPECT_EQ(account["infno"], "5206");
  EXPECT_EQ(account["input"]["data"]["year"], "2026");
  absl::StatusOr<std::string> list = BuildReconciliationRequest(
      *LvliangDialect(), TestEnvelope(), absl::CivilDay(2026, 3, 1), absl::CivilDay(2026, 3, 31), "S9", 500);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(json::parse(*list)["input"]["data"]["stmt_enddate"], "2026-03-31");
  EXPECT_EQ(json::parse(*list)["input"]["data"]["after_setl_id"], "S9");
  absl::StatusOr<std::string> filing =
      BuildFileTreatmentRequest(*LvliangDialect(), TestEnvelope(), SentFiling());
  ASSERT_TRUE(filing.ok());
  EXPECT_EQ(json::parse(*filing)["infno"], "2501A");
  EXPECT_EQ(json::parse(*filing)["input"]["data"]["fil_type"], "2");

  SettlementRecord bad = Sent();
  bad.visit_type = config::v1::VISIT_TYPE_UNSPECIFIED;
  EXPECT_EQ(BuildSettleRequest(*LvliangDialect(), TestEnvelope(), bad, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  bad = Sent();
  bad.account_pay_fen = -5;
  EXPECT_THAT(BuildSettleRequest(*LvliangDialect(), TestEnvelope(), bad, 1).status().message(),
              HasSubstr("account_pay_fen"));
  FilingRecord no_city = SentFiling();
  no_city.treatment_city = City::CITY_UNSPECIFIED;
  EXPECT_EQ(BuildFileTreatmentRequest(*LvliangDialect(), TestEnvelope(), no_city).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SettlementProtocolTest, RepliesTranslate) {
  absl::StatusOr<MedicalAccount> account =
      ParseAccountReply(*LvliangDialect(), kId, 2026, Dump(Envelope(AccountOutput())));
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_EQ(account->balance_fen, 286597);
  EXPECT_EQ(account->deductible_used_outpatient_fen, 12050);
  EXPECT_EQ(account->deductible_used_inpatient_fen, 0);
  EXPECT_EQ(account->fund_paid_fen, 300001);
  EXPECT_EQ(account->version, 4);
  EXPECT_EQ(account->insurance_type, medical::v1::INSURANCE_TYPE_EMPLOYEE);

  json sparse = AccountOutput();
  sparse["cuminfo"] = json::array();  // nothing accumulated yet
  absl::StatusOr<MedicalAccount> fresh =
      ParseAccountReply(*LvliangDialect(), kId, 2026, Dump(Envelope(sparse)));
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(fresh->fund_paid_fen, 0);

  absl::StatusOr<CommitResult> commit =
      ParseSettleReply(*LvliangDialect(), Sent(), Dump(Envelope(SettleOutput())));
  ASSERT_TRUE(commit.ok()) << commit.status();
  EXPECT_FALSE(commit->replayed);
  EXPECT_EQ(commit->settlement.fund_pay_fen, 50000);

  json reversed = SettleOutput();
  reversed["setlinfo"]["refd_setl_flag"] = "1";
  reversed["setlinfo"]["refd_date"] = "2026-03-20";
  absl::StatusOr<CommitResult> reversal =
      ParseReverseSettlementReply(*LvliangDialect(), "S1", kId, Dump(Envelope(reversed)));
  ASSERT_TRUE(reversal.ok()) << reversal.status();
  EXPECT_EQ(reversal->settlement.reversed_date, absl::CivilDay(2026, 3, 20));

  json page;
  page["setlinfo"] = json::array({SetlInfo()});
  page["more_flag"] = "0";
  absl::StatusOr<ReconciliationPage> listed = ParseReconciliationReply(
      *LvliangDialect(), absl::CivilDay(2026, 3, 1), absl::CivilDay(2026, 3, 31), "", Dump(Envelope(page)));
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->records.size(), 1u);
  EXPECT_FALSE(listed->more);

  json filings;
  filings["fileinfo"] = json::array({FileInfo()});
  absl::StatusOr<std::vector<FilingRecord>> list =
      ParseFilingQueryReply(*LvliangDialect(), kId, Dump(Envelope(filings)));
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].reason, medical::v1::FILING_REASON_LONG_TERM_RESIDENT);
}

TEST(SettlementProtocolTest, ErrorCodesMapLikeTheGrpcPath) {
  struct Case {
    std::string err_msg;
    absl::StatusCode code;
  };
  const Case cases[] = {
      {"E1001:未查询到", absl::StatusCode::kNotFound},
      {"E1002:input.data.setl_date: bad", absl::StatusCode::kInvalidArgument},
      {"E1003:不支持的交易", absl::StatusCode::kUnimplemented},
      {"E2001:account version moved", absl::StatusCode::kAborted},
      {"E2002:settlement_id reused", absl::StatusCode::kAlreadyExists},
      {"E2003:would overdraw", absl::StatusCode::kFailedPrecondition},
      {"E9001:系统繁忙", absl::StatusCode::kUnavailable},
      {"E1999:anything else", absl::StatusCode::kInternal},
      {"no code", absl::StatusCode::kInternal},
  };
  for (const Case& c : cases) {
    absl::Status status = ParseSettleReply(*LvliangDialect(), Sent(), Dump(ErrorReply(c.err_msg))).status();
    EXPECT_EQ(status.code(), c.code) << c.err_msg << " -> " << status;
    EXPECT_THAT(status.message(), HasSubstr("city lvliang")) << status;
  }
  EXPECT_THAT(ParseSettleReply(*LvliangDialect(), Sent(), Dump(ErrorReply("E2001:account version moved")))
                  .status()
                  .message(),
              HasSubstr("account version moved"));
  // The read transactions keep their mapping: E1002 there is the gateway's fault, INTERNAL.
  EXPECT_EQ(ParsePersonInfoReply(*LvliangDialect(), kId, Dump(ErrorReply("E1002:x"))).status().code(),
            absl::StatusCode::kInternal);
}

TEST(SettlementProtocolTest, MalformedAccountRepliesAreInternalNamingTheField) {
  struct Case {
    std::function<void(json&)> mutate;
    std::string field;
  };
  const Case cases[] = {
      {[](json& o) { o["baseinfo"]["balc"] = "12.345"; }, "output.baseinfo.balc"},
      {[](json& o) { o["baseinfo"]["balc"] = 12.5; }, "output.baseinfo.balc"},
      {[](json& o) { o["baseinfo"]["acct_ver"] = "v4"; }, "output.baseinfo.acct_ver"},
      {[](json& o) { o["baseinfo"]["acct_ver"] = 4; }, "output.baseinfo.acct_ver"},
      {[](json& o) { o["baseinfo"]["insutype"] = "999"; }, "output.baseinfo.insutype"},
      {[](json& o) { o["baseinfo"]["psn_insu_stas"] = "4"; }, "output.baseinfo.psn_insu_stas"},
      {[](json& o) { o["baseinfo"]["certno"] = "141102199003071260"; }, "output.baseinfo.certno"},
      {[](json& o) { o["cuminfo"][0]["year"] = "2025"; }, "output.cuminfo[0].year"},
      {[](json& o) { o["cuminfo"][2]["cum"] = "-1.00"; }, "output.cuminfo[2].cum"},
      {[](json& o) { o["cuminfo"][1]["cum_type_code"] = "C11"; }, "output.cuminfo[1].cum_type_code"},
      {[](json& o) { o["cuminfo"] = "none"; }, "output.cuminfo"},
      {[](json& o) { o.erase("baseinfo"); }, "output.baseinfo"},
  };
  for (const Case& c : cases) {
    json output = AccountOutput();
    c.mutate(output);
    ExpectInternal(ParseAccountReply(*LvliangDialect(), kId, 2026, Dump(Envelope(output))),
                   {"city lvliang", "transaction 5206", c.field});
  }
}

TEST(SettlementProtocolTest, MalformedSettlementRepliesAreInternalNamingTheField) {
  struct Case {
    std::function<void(json&)> mutate;
    std::string field;
  };
  const Case cases[] = {
      {[](json& o) { o["setlinfo"]["setl_id"] = "S2"; }, "output.setlinfo.setl_id"},
      {[](json& o) { o["setlinfo"]["setl_id"] = ""; }, "output.setlinfo.setl_id"},
      {[](json& o) { o["setlinfo"]["med_type"] = "14"; }, "output.setlinfo.med_type"},
      {[](json& o) { o["setlinfo"]["mdtrtarea_admvs"] = "110100"; }, "output.setlinfo.mdtrtarea_admvs"},
      {[](json& o) { o["setlinfo"]["setl_date"] = "20260315"; }, "output.setlinfo.setl_date"},
      {[](json& o) { o["setlinfo"]["medfee_sumamt"] = "1500.01"; }, "output.setlinfo.medfee_sumamt"},
      {[](json& o) {
         o["setlinfo"]["fund_pay_sumamt"] = "400.00";
         o["setlinfo"]["psn_cash_pay"] = "900.00";
       },
       "output.setlinfo.fund_pay_sumamt"},
      {[](json& o) { o["setlinfo"]["refd_setl_flag"] = "Y"; }, "output.setlinfo.refd_setl_flag"},
      {[](json& o) { o["setlinfo"]["refd_date"] = "2026-03-16"; }, "output.setlinfo.refd_date"},
      {[](json& o) {
         o["setlinfo"]["refd_setl_flag"] = "1";
         o["setlinfo"]["refd_date"] = "2026-03-16";
       },
       "output.setlinfo.refd_setl_flag"},  // a new commit cannot be reversed
      {[](json& o) { o["setlinfo"]["year"] = 2026; }, "output.setlinfo.year"},
      {[](json& o) { o.erase("rpt_flag"); }, "output.rpt_flag"},
      {[](json& o) { o["setlinfo"]["certno"] = "141102199003071260"; }, "output.setlinfo.certno"},
  };
  for (const Case& c : cases) {
    json output = SettleOutput();
    c.mutate(output);
    ExpectInternal(ParseSettleReply(*LvliangDialect(), Sent(), Dump(Envelope(output))),
                   {"city lvliang", "transaction 2207A", c.field});
  }
  ExpectInternal(ParseReverseSettlementReply(*LvliangDialect(), "S1", kId, Dump(Envelope(SettleOutput()))),
                 {"transaction 2208A", "output.setlinfo.refd_setl_flag"});
  ExpectInternal(
      ParseSettlementRecordReply(*LvliangDialect(), "S9", Dump(Envelope(json{{"setlinfo", SetlInfo()}}))),
      {"transaction 5203", "output.setlinfo.setl_id"});
  json bad_certno = SetlInfo();
  bad_certno["certno"] = "141102199003071253";  // check character wrong
  ExpectInternal(
      ParseSettlementRecordReply(*LvliangDialect(), "S1", Dump(Envelope(json{{"setlinfo", bad_certno}}))),
      {"output.setlinfo.certno", "check character"});
  bad_certno["certno"] = "141102900307125";  // legacy, but Lüliang keys no one by legacy numbers
  ExpectInternal(
      ParseSettlementRecordReply(*LvliangDialect(), "S1", Dump(Envelope(json{{"setlinfo", bad_certno}}))),
      {"output.setlinfo.certno", "legacy"});
  // Not JSON, or not an object: INTERNAL, never a crash.
  ExpectInternal(ParseSettleReply(*LvliangDialect(), Sent(), "{\"infcode\": 0, \"output\": [}"), {"reply"});
  ExpectInternal(ParseSettleReply(*LvliangDialect(), Sent(), Dump(Envelope(json::array()))), {"output"});
}

TEST(SettlementProtocolTest, MalformedReconciliationPagesAreInternal) {
  const auto parse = [](const json& page, const std::string& after = "") {
    return ParseReconciliationReply(*LvliangDialect(), absl::CivilDay(2026, 3, 1),
                                    absl::CivilDay(2026, 3, 31), after, Dump(Envelope(page)));
  };
  json outside;
  json late = SetlInfo();
  late["setl_date"] = "2026-04-01";
  outside["setlinfo"] = json::array({late});
  outside["more_flag"] = "0";
  ExpectInternal(parse(outside), {"transaction 3202", "output.setlinfo[0].setl_date", "outside"});

  json unordered;
  json second = SetlInfo();
  second["setl_id"] = "S0";
  unordered["setlinfo"] = json::array({SetlInfo(), second});
  unordered["more_flag"] = "0";
  ExpectInternal(parse(unordered), {"output.setlinfo[1].setl_id"});
  json repeated;
  repeated["setlinfo"] = json::array({SetlInfo()});
  repeated["more_flag"] = "1";
  ExpectInternal(parse(repeated, "S1"), {"output.setlinfo[0].setl_id"});  // not after after_setl_id

  json stuck;
  stuck["setlinfo"] = json::array();
  stuck["more_flag"] = "1";
  ExpectInternal(parse(stuck), {"output.more_flag"});
  json no_flag;
  no_flag["setlinfo"] = json::array();
  ExpectInternal(parse(no_flag), {"output.more_flag"});
}

TEST(SettlementProtocolTest, MalformedFilingRepliesAreInternal) {
  struct Case {
    std::function<void(json&)> mutate;
    std::string field;
  };
  const Case cases[] = {
      {[](json& f) { f["fil_type"] = "6"; }, "output.fileinfo.fil_type"},
      {[](json& f) { f["enddate"] = "2025-12-31"; }, "output.fileinfo.enddate"},
      {[](json& f) { f["vali_flag"] = "0"; }, "output.fileinfo.vali_flag"},  // a new filing is valid
      {[](json& f) { f["mdtrtarea_admvs"] = "141100"; },
       "output.fileinfo.mdtrtarea_admvs"},  // not what was sent
      {[](json& f) { f.erase("trt_dcla_detl_sn"); }, "output.fileinfo.trt_dcla_detl_sn"},
      {[](json& f) { f["certno"] = "141102199003071260"; }, "output.fileinfo.certno"},
  };
  for (const Case& c : cases) {
    json info = FileInfo();
    c.mutate(info);
    ExpectInternal(
        ParseFileTreatmentReply(*LvliangDialect(), SentFiling(), Dump(Envelope(json{{"fileinfo", info}}))),
        {"transaction 2501A", c.field});
  }
  ExpectInternal(ParseRevokeFilingReply(*LvliangDialect(), kId, "F14110000000001",
                                        Dump(Envelope(json{{"fileinfo", FileInfo()}}))),
                 {"transaction 2502A", "output.fileinfo.vali_flag"});
  json twice;
  twice["fileinfo"] = json::array({FileInfo(), FileInfo()});
  ExpectInternal(ParseFilingQueryReply(*LvliangDialect(), kId, Dump(Envelope(twice))),
                 {"transaction 5301A", "output.fileinfo[1].trt_dcla_detl_sn"});
}

}  // namespace
}  // namespace interop::adapters::lvliang
