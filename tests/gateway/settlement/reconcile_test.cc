// Tests of Reconcile() (gateway/settlement/reconcile.h): the gateway's ledger against one insured
// city's settlement records.
#include "gateway/settlement/reconcile.h"

#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "adapters/city_adapter.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "interop/medical/v1/settlement.pb.h"

namespace interop::settlement {
namespace {

using ::interop::adapters::SettlementRecord;
using ::interop::medical::v1::Mismatch;
using ::interop::medical::v1::MismatchKind;
using ::interop::medical::v1::ReconcileResponse;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr City kCity = City::CITY_TAIYUAN;
const absl::CivilDay kFrom(2024, 3, 1);
const absl::CivilDay kTo(2024, 3, 31);

// One settlement as both sides would hold it when they agree.
struct Both {
  LedgerEntry ledger;
  SettlementRecord city;
};

Both Agreeing(const std::string& id, int64_t total, int64_t deductible, int64_t fund, int64_t account,
              bool reversed = false) {
  const int64_t cash = total - fund - account;
  Both both;
  medical::v1::Settlement& s = both.ledger.settlement;
  s.set_settlement_id(id);
  s.set_state(reversed ? medical::v1::SETTLEMENT_STATE_REVERSED : medical::v1::SETTLEMENT_STATE_SETTLED);
  s.set_resident_id("140105199003078915");
  s.mutable_insured_city()->set_city(kCity);
  s.mutable_treatment_city()->set_city(City::CITY_JINZHONG);
  s.mutable_total()->set_fen(total);
  s.mutable_deductible_applied()->set_fen(deductible);
  s.mutable_fund_pay()->set_fen(fund);
  s.mutable_personal_account_pay()->set_fen(account);
  s.mutable_cash_pay()->set_fen(cash);
  s.set_settled_at_unix(1710468000);  // 2024-03-15 10:00 CST
  if (reversed) s.set_reversed_at_unix(1710554400);
  both.ledger.caller_organization = "H140700000001";
  both.ledger.idempotency_key = "key-" + id;

  SettlementRecord& r = both.city;
  r.settlement_id = id;
  r.resident_id = "140105199003078915";
  r.year = 2024;
  r.visit_type = config::v1::VISIT_TYPE_OUTPATIENT;
  r.institution_code = "H14070000001";
  r.treatment_city = City::CITY_JINZHONG;
  r.settle_date = absl::CivilDay(2024, 3, 15);
  r.total_fen = total;
  r.deductible_applied_fen = deductible;
  r.fund_pay_fen = fund;
  r.account_pay_fen = account;
  r.cash_pay_fen = cash;
  r.reversed = reversed;
  if (reversed) r.reversed_date = absl::CivilDay(2024, 3, 16);
  return both;
}

struct Sides {
  std::vector<LedgerEntry> ledger;
  std::vector<SettlementRecord> city;
  void Add(const Both& both) {
    ledger.push_back(both.ledger);
    city.push_back(both.city);
  }
};

ReconcileResponse ReconcileSides(const Sides& sides) { return Reconcile(kCity, kFrom, kTo, sides.ledger, sides.city); }

std::vector<std::string> Ids(const ReconcileResponse& response) {
  std::vector<std::string> ids;
  for (const Mismatch& mismatch : response.mismatches()) ids.push_back(mismatch.settlement_id());
  return ids;
}

std::vector<MismatchKind> Kinds(const ReconcileResponse& response) {
  std::vector<MismatchKind> kinds;
  for (const Mismatch& mismatch : response.mismatches()) kinds.push_back(mismatch.kind());
  return kinds;
}

TEST(ReconcileTest, AgreeingSidesAreBalanced) {
  Sides sides;
  sides.Add(Agreeing("ST1", 20000, 1000, 12000, 3000));
  sides.Add(Agreeing("ST2", 5000, 0, 4000, 0));
  sides.Add(Agreeing("ST3", 8000, 500, 6000, 1000, /*reversed=*/true));
  ReconcileResponse response = ReconcileSides(sides);
  EXPECT_TRUE(response.balanced());
  EXPECT_EQ(response.mismatches_size(), 0);
  EXPECT_EQ(response.city().city(), kCity);
  EXPECT_EQ(response.city().division_code(), "140100");
  EXPECT_EQ(response.period().from().year(), 2024);
  EXPECT_EQ(response.period().from().month(), 3);
  EXPECT_EQ(response.period().from().day(), 1);
  EXPECT_EQ(response.period().to().day(), 31);
  for (const auto* totals : {&response.ledger(), &response.city_records()}) {
    EXPECT_EQ(totals->settlements(), 2);
    EXPECT_EQ(totals->fund_pay().fen(), 16000) << "reversed settlements are not summed";
    EXPECT_EQ(totals->personal_account_pay().fen(), 3000);
    EXPECT_EQ(totals->reversed(), 1);
  }
}

TEST(ReconcileTest, EmptySidesAreBalanced) {
  ReconcileResponse response = ReconcileSides(Sides());
  EXPECT_TRUE(response.balanced());
  EXPECT_EQ(response.ledger().settlements(), 0);
  EXPECT_TRUE(response.ledger().has_fund_pay());
  EXPECT_EQ(response.city_records().fund_pay().fen(), 0);
}

TEST(ReconcileTest, MissingInCity) {
  Sides sides;
  sides.Add(Agreeing("ST1", 20000, 1000, 12000, 3000));
  sides.ledger.push_back(Agreeing("ST2", 5000, 0, 4000, 100).ledger);
  ReconcileResponse response = ReconcileSides(sides);
  EXPECT_FALSE(response.balanced());
  ASSERT_EQ(response.mismatches_size(), 1);
  EXPECT_EQ(response.mismatches(0).settlement_id(), "ST2");
  EXPECT_EQ(response.mismatches(0).kind(), medical::v1::MISMATCH_KIND_MISSING_IN_CITY);
  EXPECT_THAT(response.mismatches(0).detail(), HasSubstr("fund_pay 4000 fen"));
  EXPECT_EQ(response.ledger().settlements(), 2);
  EXPECT_EQ(response.ledger().fund_pay().fen(), 16000);
  EXPECT_EQ(response.city_records().settlements(), 1);
  EXPECT_EQ(response.city_records().fund_pay().fen(), 12000);
}

TEST(ReconcileTest, MissingInLedger) {
  Sides sides;
  sides.Add(Agreeing("ST1", 20000, 1000, 12000, 3000));
  sides.city.push_back(Agreeing("ST0", 5000, 0, 4000, 100).city);
  ReconcileResponse response = ReconcileSides(sides);
  EXPECT_FALSE(response.balanced());
  ASSERT_EQ(response.mismatches_size(), 1);
  EXPECT_EQ(response.mismatches(0).settlement_id(), "ST0");
  EXPECT_EQ(response.mismatches(0).kind(), medical::v1::MISMATCH_KIND_MISSING_IN_LEDGER);
  EXPECT_THAT(response.mismatches(0).detail(), HasSubstr("2024-03-15"));
  EXPECT_EQ(response.city_records().settlements(), 2);
  EXPECT_EQ(response.city_records().personal_account_pay().fen(), 3100);
}

TEST(ReconcileTest, EachAmountIsCompared) {
  struct Case {
    const char* field;
    void (*spoil)(SettlementRecord&);
  };
  const Case cases[] = {
      {"total: ledger 20000 fen, city 20001 fen", [](SettlementRecord& r) { r.total_fen += 1; }},
      {"deductible_applied: ledger 1000 fen, city 900 fen", [](SettlementRecord& r) { r.deductible_applied_fen -= 100; }},
      {"fund_pay: ledger 12000 fen, city 11000 fen", [](SettlementRecord& r) { r.fund_pay_fen = 11000; }},
      {"personal_account_pay: ledger 3000 fen, city 0 fen", [](SettlementRecord& r) { r.account_pay_fen = 0; }},
      {"cash_pay: ledger 5000 fen, city 5050 fen", [](SettlementRecord& r) { r.cash_pay_fen += 50; }},
  };
  for (const Case& c : cases) {
    Sides sides;
    Both both = Agreeing("ST1", 20000, 1000, 12000, 3000);
    c.spoil(both.city);
    sides.Add(both);
    ReconcileResponse response = ReconcileSides(sides);
    EXPECT_FALSE(response.balanced()) << c.field;
    ASSERT_EQ(response.mismatches_size(), 1) << c.field;
    EXPECT_EQ(response.mismatches(0).kind(), medical::v1::MISMATCH_KIND_AMOUNT_DIFFERS) << c.field;
    EXPECT_EQ(response.mismatches(0).detail(), c.field);
  }
}

TEST(ReconcileTest, EveryDifferingAmountIsNamedInOneMismatch) {
  Sides sides;
  Both both = Agreeing("ST1", 20000, 1000, 12000, 3000);
  both.city.fund_pay_fen = 11000;
  both.city.cash_pay_fen = 6000;
  sides.Add(both);
  ReconcileResponse response = ReconcileSides(sides);
  ASSERT_EQ(response.mismatches_size(), 1);
  EXPECT_EQ(response.mismatches(0).detail(),
            "fund_pay: ledger 12000 fen, city 11000 fen; cash_pay: ledger 5000 fen, city 6000 fen");
}

TEST(ReconcileTest, ReversalOnOneSideOnly) {
  Sides sides;
  Both reversed_in_ledger = Agreeing("ST1", 20000, 1000, 12000, 3000, /*reversed=*/true);
  reversed_in_ledger.city.reversed = false;
  Both reversed_in_city = Agreeing("ST2", 20000, 1000, 12000, 3000);
  reversed_in_city.city.reversed = true;
  reversed_in_city.city.reversed_date = absl::CivilDay(2024, 3, 20);
  sides.Add(reversed_in_ledger);
  sides.Add(reversed_in_city);
  ReconcileResponse response = ReconcileSides(sides);
  EXPECT_FALSE(response.balanced());
  EXPECT_THAT(Kinds(response), ElementsAre(medical::v1::MISMATCH_KIND_REVERSAL_DIFFERS,
                                           medical::v1::MISMATCH_KIND_REVERSAL_DIFFERS));
  EXPECT_EQ(response.mismatches(0).detail(), "reversed: ledger yes, city no");
  EXPECT_EQ(response.mismatches(1).detail(), "reversed: ledger no, city yes");
  EXPECT_EQ(response.ledger().reversed(), 1);
  EXPECT_EQ(response.ledger().settlements(), 1);
  EXPECT_EQ(response.city_records().reversed(), 1);
  EXPECT_EQ(response.city_records().settlements(), 1);
}

TEST(ReconcileTest, AmountAndReversalOfOneSettlementAreTwoMismatches) {
  Sides sides;
  Both both = Agreeing("ST1", 20000, 1000, 12000, 3000);
  both.city.reversed = true;
  both.city.fund_pay_fen = 1;
  sides.Add(both);
  ReconcileResponse response = ReconcileSides(sides);
  EXPECT_THAT(Ids(response), ElementsAre("ST1", "ST1"));
  EXPECT_THAT(Kinds(response), ElementsAre(medical::v1::MISMATCH_KIND_AMOUNT_DIFFERS,
                                           medical::v1::MISMATCH_KIND_REVERSAL_DIFFERS));
}

TEST(ReconcileTest, MismatchesAreOrderedBySettlementId) {
  Sides sides;
  // Given in no order on either side.
  Both d = Agreeing("ST0004", 100, 0, 50, 0);
  d.city.fund_pay_fen = 49;
  sides.city.push_back(Agreeing("ST0005", 100, 0, 50, 0).city);
  sides.Add(Agreeing("ST0003", 100, 0, 50, 0));
  sides.ledger.push_back(Agreeing("ST0006", 100, 0, 50, 0).ledger);
  sides.Add(d);
  sides.ledger.push_back(Agreeing("ST0001", 100, 0, 50, 0).ledger);
  sides.city.push_back(Agreeing("ST0002", 100, 0, 50, 0).city);
  Both e = Agreeing("ST0000", 100, 0, 50, 0, /*reversed=*/true);
  e.city.reversed = false;
  sides.Add(e);
  ReconcileResponse response = ReconcileSides(sides);
  EXPECT_THAT(Ids(response), ElementsAre("ST0000", "ST0001", "ST0002", "ST0004", "ST0005", "ST0006"));
  EXPECT_THAT(Kinds(response),
              ElementsAre(medical::v1::MISMATCH_KIND_REVERSAL_DIFFERS, medical::v1::MISMATCH_KIND_MISSING_IN_CITY,
                          medical::v1::MISMATCH_KIND_MISSING_IN_LEDGER, medical::v1::MISMATCH_KIND_AMOUNT_DIFFERS,
                          medical::v1::MISMATCH_KIND_MISSING_IN_LEDGER, medical::v1::MISMATCH_KIND_MISSING_IN_CITY));
  // Totals: ledger holds 0 (reversed), 1, 3, 4, 6; the city 0, 2, 3, 4, 5.
  EXPECT_EQ(response.ledger().settlements(), 4);
  EXPECT_EQ(response.ledger().reversed(), 1);
  EXPECT_EQ(response.ledger().fund_pay().fen(), 200);
  EXPECT_EQ(response.city_records().settlements(), 5);
  EXPECT_EQ(response.city_records().reversed(), 0);
  EXPECT_EQ(response.city_records().fund_pay().fen(), 50 + 50 + 49 + 50 + 50);
}

// A settlement listed twice by the city: no detail differs, but the totals do.
TEST(ReconcileTest, ADuplicateOnOneSideUnbalancesTheTotals) {
  Sides sides;
  Both both = Agreeing("ST1", 20000, 1000, 12000, 3000);
  sides.Add(both);
  sides.city.push_back(both.city);
  ReconcileResponse response = ReconcileSides(sides);
  EXPECT_EQ(response.mismatches_size(), 0);
  EXPECT_EQ(response.city_records().settlements(), 2);
  EXPECT_FALSE(response.balanced());
}

}  // namespace
}  // namespace interop::settlement
