// MockMedicalLedger: the mock insured city's record of truth for accounts, accumulators,
// settlements and filings, in canonical terms.
#include "tools/mock_city/medical_ledger.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/base/cities.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::mock_city {
namespace {

using adapters::CommitResult;
using adapters::FilingRecord;
using adapters::MedicalAccount;
using adapters::SettlementRecord;
using ::testing::HasSubstr;

constexpr int kYear = 2026;

const Population& TestPopulation() {
  static const Population* population = [] {
    PopulationOptions options;
    options.persons_per_issuing_city = 400;
    return new Population(Population::Generate(options));
  }();
  return *population;
}

// The first person insured in `city` who matches `pred`.
const SyntheticPerson* Insured(City city, const std::function<bool(const SyntheticPerson&)>& pred) {
  for (const SyntheticPerson& p : TestPopulation().persons()) {
    if (p.has_medical && p.medical.city == city && pred(p)) return &p;
  }
  return nullptr;
}

const SyntheticPerson* WithBalance(City city, int64_t at_least_fen) {
  return Insured(city,
                 [at_least_fen](const SyntheticPerson& p) { return p.medical.balance_fen >= at_least_fen; });
}

SettlementRecord Settlement(const SyntheticPerson& person, const std::string& id, int64_t fund,
                            int64_t account, int64_t cash, int64_t deductible = 0) {
  SettlementRecord s;
  s.settlement_id = id;
  s.resident_id = person.resident_id;
  s.year = kYear;
  s.visit_type = config::v1::VISIT_TYPE_OUTPATIENT;
  s.institution_code = "H14010500001";
  s.treatment_city = person.medical.city == City::CITY_JINZHONG ? City::CITY_TAIYUAN : City::CITY_JINZHONG;
  s.settle_date = absl::CivilDay(kYear, 3, 15);
  s.total_fen = fund + account + cash;
  s.deductible_applied_fen = deductible;
  s.fund_pay_fen = fund;
  s.account_pay_fen = account;
  s.cash_pay_fen = cash;
  return s;
}

MockMedicalLedgerOptions Options(absl::flat_hash_map<std::string, int64_t> caps = {}) {
  MockMedicalLedgerOptions options;
  options.annual_fund_cap_fen = std::move(caps);
  options.seeded_year = kYear;
  return options;
}

TEST(MockMedicalLedgerTest, StartsFromThePopulationWithSeededAccumulatorsInTheSeededYearOnly) {
  MockMedicalLedger ledger(TestPopulation(), City::CITY_TAIYUAN, Options());
  int insured = 0, seeded = 0;
  for (const SyntheticPerson& p : TestPopulation().persons()) {
    const bool here = p.has_medical && p.medical.city == City::CITY_TAIYUAN;
    EXPECT_EQ(ledger.Insures(p.resident_id), here);
    if (!here) continue;
    ++insured;
    absl::StatusOr<MedicalAccount> account = ledger.GetAccount(p.resident_id, kYear);
    ASSERT_TRUE(account.ok()) << account.status();
    EXPECT_EQ(account->resident_id, p.resident_id);
    EXPECT_EQ(account->balance_fen, p.medical.balance_fen);
    EXPECT_EQ(account->version, 1);
    EXPECT_EQ(account->year, kYear);
    EXPECT_NE(account->insurance_type, medical::v1::INSURANCE_TYPE_UNSPECIFIED);
    EXPECT_NE(account->status, medical::v1::ENROLLMENT_STATUS_UNSPECIFIED);
    const Accumulators expected = MockMedicalLedger::SeededAccumulators(p);
    EXPECT_EQ(account->deductible_used_outpatient_fen, expected.deductible_used_outpatient_fen);
    EXPECT_EQ(account->deductible_used_inpatient_fen, expected.deductible_used_inpatient_fen);
    EXPECT_EQ(account->fund_paid_fen, expected.fund_paid_fen);
    if (expected.deductible_used_outpatient_fen > 0) {
      ++seeded;
      EXPECT_GT(expected.fund_paid_fen, 0);
    } else {
      EXPECT_EQ(expected, Accumulators());
    }
    absl::StatusOr<MedicalAccount> last_year = ledger.GetAccount(p.resident_id, kYear - 1);
    ASSERT_TRUE(last_year.ok());
    EXPECT_EQ(last_year->deductible_used_outpatient_fen, 0);
    EXPECT_EQ(last_year->deductible_used_inpatient_fen, 0);
    EXPECT_EQ(last_year->fund_paid_fen, 0);
  }
  ASSERT_GT(insured, 100);
  // About a third start with part of the deductible used; most start at zero.
  EXPECT_GT(seeded * 100 / insured, 22);
  EXPECT_LT(seeded * 100 / insured, 45);
}

TEST(MockMedicalLedgerTest, SeedingIsDeterministicAndRespectsTheCap) {
  const SyntheticPerson* person = Insured(City::CITY_XINZHOU, [](const SyntheticPerson& p) {
    return MockMedicalLedger::SeededAccumulators(p).fund_paid_fen > 100;
  });
  ASSERT_NE(person, nullptr);
  EXPECT_EQ(MockMedicalLedger::SeededAccumulators(*person), MockMedicalLedger::SeededAccumulators(*person));
  MockMedicalLedger capped(TestPopulation(), City::CITY_XINZHOU,
                           Options({{person->medical.insurance_type_code, 100}}));
  EXPECT_EQ(capped.GetAccount(person->resident_id, kYear)->fund_paid_fen, 100);
}

TEST(MockMedicalLedgerTest, AnswersOnlyForPersonsItInsures) {
  MockMedicalLedger ledger(TestPopulation(), City::CITY_TAIYUAN, Options());
  const SyntheticPerson* elsewhere =
      Insured(City::CITY_YANGQUAN, [](const SyntheticPerson&) { return true; });
  ASSERT_NE(elsewhere, nullptr);
  EXPECT_EQ(ledger.GetAccount(elsewhere->resident_id, kYear).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ledger.Commit(Settlement(*elsewhere, "S1", 100, 0, 0), 1).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ledger.ListFilings(elsewhere->resident_id).status().code(), absl::StatusCode::kNotFound);
  const SyntheticPerson* here = WithBalance(City::CITY_TAIYUAN, 0);
  absl::Status bad_year = ledger.GetAccount(here->resident_id, 0).status();
  EXPECT_EQ(bad_year.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_year.message(), HasSubstr("year"));
}

TEST(MockMedicalLedgerTest, CommitAppliesTheSettlementAndMovesTheVersion) {
  MockMedicalLedger ledger(TestPopulation(), City::CITY_TAIYUAN, Options());
  const SyntheticPerson* person = WithBalance(City::CITY_TAIYUAN, 10000);
  ASSERT_NE(person, nullptr);
  const MedicalAccount before = *ledger.GetAccount(person->resident_id, kYear);
  SettlementRecord inpatient = Settlement(*person, "S-in", 50000, 3000, 7000, 6000);
  inpatient.visit_type = config::v1::VISIT_TYPE_INPATIENT;
  absl::StatusOr<CommitResult> result = ledger.Commit(inpatient, before.version);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->replayed);
  EXPECT_EQ(result->settlement.settlement_id, "S-in");
  EXPECT_FALSE(result->settlement.reversed);
  EXPECT_EQ(result->account.version, before.version + 1);
  EXPECT_EQ(result->account.balance_fen, before.balance_fen - 3000);
  EXPECT_EQ(result->account.deductible_used_inpatient_fen, before.deductible_used_inpatient_fen + 6000);
  EXPECT_EQ(result->account.deductible_used_outpatient_fen, before.deductible_used_outpatient_fen);
  EXPECT_EQ(result->account.fund_paid_fen, before.fund_paid_fen + 50000);
  // The version is the person's, whatever the year: a commit for last year moves it too.
  SettlementRecord last_year = Settlement(*person, "S-last", 100, 0, 0, 100);
  last_year.year = kYear - 1;
  absl::StatusOr<CommitResult> second = ledger.Commit(last_year, before.version + 1);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->account.year, kYear - 1);
  EXPECT_EQ(second->account.deductible_used_outpatient_fen, 100);
  EXPECT_EQ(ledger.GetAccount(person->resident_id, kYear)->version, before.version + 2);
  EXPECT_EQ(ledger.GetAccount(person->resident_id, kYear)->fund_paid_fen, before.fund_paid_fen + 50000);
}

TEST(MockMedicalLedgerTest, StaleExpectedVersionIsAborted) {
  MockMedicalLedger ledger(TestPopulation(), City::CITY_TAIYUAN, Options());
  const SyntheticPerson* person = WithBalance(City::CITY_TAIYUAN, 0);
  ASSERT_TRUE(ledger.Commit(Settlement(*person, "S1", 100, 0, 0), 1).ok());
  absl::Status stale = ledger.Commit(Settlement(*person, "S2", 100, 0, 0), 1).status();
  EXPECT_EQ(stale.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(stale.message(), HasSubstr("account version moved"));
  EXPECT_EQ(ledger.GetAccount(person->resident_id, kYear)->version, 2);
  EXPECT_EQ(ledger.GetSettlement("S2").status().code(), absl::StatusCode::kNotFound);
}

TEST(MockMedicalLedgerTest, RepeatedCommitIsReplayedAndDifferentContentAlreadyExists) {
  MockMedicalLedger ledger(TestPopulation(), City::CITY_JINZHONG, Options());
  const SyntheticPerson* person = WithBalance(City::CITY_JINZHONG, 1000);
  ASSERT_NE(person, nullptr);
  const SettlementRecord s = Settlement(*person, "S1", 2000, 1000, 500);
  absl::StatusOr<CommitResult> first = ledger.Commit(s, 1);
  ASSERT_TRUE(first.ok()) << first.status();
  // A retry after the first answer was lost names the version it was computed against: still replayed.
  absl::StatusOr<CommitResult> again = ledger.Commit(s, 1);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->account.version, 2);
  EXPECT_EQ(again->account.balance_fen, first->account.balance_fen);
  EXPECT_EQ(again->settlement.fund_pay_fen, 2000);

  SettlementRecord other = s;
  other.fund_pay_fen += 1;
  other.total_fen += 1;
  absl::Status conflict = ledger.Commit(other, 2).status();
  EXPECT_EQ(conflict.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(conflict.message(), HasSubstr("S1"));
  // The same id for another person is a conflict too.
  const SyntheticPerson* someone_else =
      Insured(City::CITY_JINZHONG, [person](const SyntheticPerson& p) { return &p != person; });
  EXPECT_EQ(ledger.Commit(Settlement(*someone_else, "S1", 2000, 0, 1500), 1).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ledger.GetAccount(person->resident_id, kYear)->version, 2);
}

TEST(MockMedicalLedgerTest, RefusesToOverdrawOrPassTheCap) {
  const SyntheticPerson* person = WithBalance(City::CITY_TAIYUAN, 100);
  ASSERT_NE(person, nullptr);
  const int64_t seeded_fund = MockMedicalLedger::SeededAccumulators(*person).fund_paid_fen;
  const int64_t cap = seeded_fund + 10000;
  MockMedicalLedger ledger(TestPopulation(), City::CITY_TAIYUAN,
                           Options({{person->medical.insurance_type_code, cap}}));
  const int64_t balance = person->medical.balance_fen;

  absl::Status overdraw = ledger.Commit(Settlement(*person, "S1", 0, balance + 1, 0), 1).status();
  EXPECT_EQ(overdraw.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(overdraw.message(), HasSubstr("overdraw"));
  absl::Status past_cap = ledger.Commit(Settlement(*person, "S2", 10001, 0, 0), 1).status();
  EXPECT_EQ(past_cap.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(past_cap.message(), HasSubstr("cap"));
  EXPECT_EQ(ledger.GetAccount(person->resident_id, kYear)->version, 1);

  // Exactly the balance and exactly up to the cap are fine.
  absl::StatusOr<CommitResult> full = ledger.Commit(Settlement(*person, "S3", 10000, balance, 0), 1);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->account.balance_fen, 0);
  EXPECT_EQ(full->account.fund_paid_fen, cap);
  EXPECT_EQ(ledger.Commit(Settlement(*person, "S4", 1, 0, 0), 2).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Another year has a cap of its own.
  SettlementRecord next_year = Settlement(*person, "S5", 10000, 0, 0);
  next_year.year = kYear + 1;
  EXPECT_TRUE(ledger.Commit(next_year, 2).ok());
}

TEST(MockMedicalLedgerTest, MalformedSettlementsAreInvalidNamingTheField) {
  MockMedicalLedger ledger(TestPopulation(), City::CITY_TAIYUAN, Options());
  const SyntheticPerson* person = WithBalance(City::CITY_TAIYUAN, 0);
  struct Case {
    std::function<void(SettlementRecord&)> mutate;
    std::string field;
  };
  const Case cases[] = {
      {[](SettlementRecord& s) { s.settlement_id.clear(); }, "settlement_id"},
      {[](SettlementRecord& s) { s.settlement_id = "has space"; }, "settlement_id"},
      {[](SettlementRecord& s) { s.year = 0; }, "year"},
      {[](SettlementRecord& s) { s.visit_type = config::v1::VISIT_TYPE_UNSPECIFIED; }, "visit_type_code"},
      {[](SettlementRecord& s) { s.institution_code.clear(); }, "institution_code"},
      {[](SettlementRecord& s) { s.treatment_city = City::CITY_UNSPECIFIED; }, "treatment_city_code"},
      {[](SettlementRecord& s) { s.total_fen += 1; }, "total"},
      {[](SettlementRecord& s) { s.cash_pay_fen = -1; }, "cash_pay"},
      {[](SettlementRecord& s) { s.deductible_applied_fen = s.total_fen + 1; }, "deductible_applied"},
      {[](SettlementRecord& s) { s.reversed = true; }, "reversed"},
  };
  for (const Case& c : cases) {
    SettlementRecord s = Settlement(*person, "S1", 100, 0, 50, 10);
    c.mutate(s);
    absl::Status status = ledger.Commit(s, 1).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.field << ": " << status;
    EXPECT_THAT(std::string(status.message()), ::testing::StartsWith(c.field + ":")) << status;
  }
  EXPECT_EQ(ledger.GetAccount(person->resident_id, kYear)->version, 1);
}

TEST(MockMedicalLedgerTest, ReversalRestoresExactlyAndOnlyOnce) {
  MockMedicalLedger ledger(TestPopulation(), City::CITY_TAIYUAN, Options());
  const SyntheticPerson* person = WithBalance(City::CITY_TAIYUAN, 5000);
  ASSERT_NE(person, nullptr);
  const MedicalAccount before = *ledger.GetAccount(person->resident_id, kYear);
  ASSERT_TRUE(ledger.Commit(Settlement(*person, "S1", 30000, 5000, 2000, 4000), 1).ok());
  ASSERT_TRUE(ledger.Commit(Settlement(*person, "S2", 100, 0, 0, 0), 2).ok());

  absl::StatusOr<CommitResult> reversed =
      ledger.Reverse("S1", person->resident_id, absl::CivilDay(kYear, 3, 20));
  ASSERT_TRUE(reversed.ok()) << reversed.status();
  EXPECT_FALSE(reversed->replayed);
  EXPECT_TRUE(reversed->settlement.reversed);
  EXPECT_EQ(reversed->settlement.reversed_date, absl::CivilDay(kYear, 3, 20));
  EXPECT_EQ(reversed->account.version, 4);
  EXPECT_EQ(reversed->account.balance_fen, before.balance_fen);
  EXPECT_EQ(reversed->account.deductible_used_outpatient_fen, before.deductible_used_outpatient_fen);
  EXPECT_EQ(reversed->account.fund_paid_fen, before.fund_paid_fen + 100);  // S2 stays

  absl::StatusOr<CommitResult> again = ledger.Reverse("S1", person->resident_id, absl::CivilDay(kYear, 4, 1));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->settlement.reversed_date, absl::CivilDay(kYear, 3, 20));
  EXPECT_EQ(again->account.version, 4);
  EXPECT_EQ(again->account.fund_paid_fen, before.fund_paid_fen + 100);
  EXPECT_TRUE(ledger.GetSettlement("S1")->reversed);

  // Unknown ids, another person's settlement, and a date before the settle date.
  EXPECT_EQ(ledger.Reverse("S9", person->resident_id, absl::CivilDay(kYear, 4, 1)).status().code(),
            absl::StatusCode::kNotFound);
  const SyntheticPerson* other =
      Insured(City::CITY_TAIYUAN, [person](const SyntheticPerson& p) { return &p != person; });
  EXPECT_EQ(ledger.Reverse("S2", other->resident_id, absl::CivilDay(kYear, 4, 1)).status().code(),
            absl::StatusCode::kNotFound);
  absl::Status early = ledger.Reverse("S2", person->resident_id, absl::CivilDay(kYear, 1, 1)).status();
  EXPECT_EQ(early.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(early.message()), ::testing::StartsWith("reversed_date:"));
  // A replayed commit of a reversed settlement answers it as it is now.
  absl::StatusOr<CommitResult> replay = ledger.Commit(Settlement(*person, "S1", 30000, 5000, 2000, 4000), 1);
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_TRUE(replay->replayed);
  EXPECT_TRUE(replay->settlement.reversed);
}

TEST(MockMedicalLedgerTest, ListsByDateRangeOrderedBySettlementIdInPages) {
  MockMedicalLedger ledger(TestPopulation(), City::CITY_TAIYUAN, Options());
  const SyntheticPerson* person = WithBalance(City::CITY_TAIYUAN, 0);
  int64_t version = 1;
  const std::vector<std::pair<std::string, int>> ids_and_days = {
      {"S05", 1}, {"S01", 2}, {"S04", 3}, {"S02", 4}, {"S03", 5}, {"S06", 9}, {"S00", 10}};
  for (const auto& [id, day] : ids_and_days) {
    SettlementRecord s = Settlement(*person, id, 10, 0, 0);
    s.settle_date = absl::CivilDay(kYear, 5, day);
    ASSERT_TRUE(ledger.Commit(s, version++).ok());
  }
  auto ids = [](const std::vector<SettlementRecord>& records) {
    std::vector<std::string> out;
    for (const SettlementRecord& r : records) out.push_back(r.settlement_id);
    return out;
  };
  MockMedicalLedger::SettlementPage all =
      ledger.ListSettlements(absl::CivilDay(kYear, 5, 2), absl::CivilDay(kYear, 5, 9), "", 100);
  EXPECT_THAT(ids(all.records), ::testing::ElementsAre("S01", "S02", "S03", "S04", "S06"));
  EXPECT_FALSE(all.more);
  MockMedicalLedger::SettlementPage first =
      ledger.ListSettlements(absl::CivilDay(kYear, 5, 2), absl::CivilDay(kYear, 5, 9), "", 2);
  EXPECT_THAT(ids(first.records), ::testing::ElementsAre("S01", "S02"));
  EXPECT_TRUE(first.more);
  MockMedicalLedger::SettlementPage rest =
      ledger.ListSettlements(absl::CivilDay(kYear, 5, 2), absl::CivilDay(kYear, 5, 9), "S04", 2);
  EXPECT_THAT(ids(rest.records), ::testing::ElementsAre("S06"));
  EXPECT_FALSE(rest.more);
}

TEST(MockMedicalLedgerTest, FilingsFollowTheRules) {
  MockMedicalLedger ledger(TestPopulation(), City::CITY_XINZHOU, Options());
  const SyntheticPerson* person = WithBalance(City::CITY_XINZHOU, 0);
  ASSERT_NE(person, nullptr);
  FilingRecord filing;
  filing.resident_id = person->resident_id;
  filing.treatment_city = City::CITY_TAIYUAN;
  filing.valid_from = absl::CivilDay(kYear, 1, 1);
  filing.valid_to = absl::CivilDay(kYear, 12, 31);
  filing.reason = medical::v1::FILING_REASON_LONG_TERM_RESIDENT;

  absl::StatusOr<FilingRecord> first = ledger.FileTreatment(filing);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->filing_id, "F14090000000001");
  EXPECT_FALSE(first->revoked);
  filing.treatment_city = City::CITY_LVLIANG;
  absl::StatusOr<FilingRecord> second = ledger.FileTreatment(filing);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->filing_id, "F14090000000002");

  absl::StatusOr<FilingRecord> revoked = ledger.RevokeFiling(person->resident_id, first->filing_id);
  ASSERT_TRUE(revoked.ok());
  EXPECT_TRUE(revoked->revoked);
  EXPECT_TRUE(ledger.RevokeFiling(person->resident_id, first->filing_id)->revoked);  // idempotent
  EXPECT_EQ(ledger.RevokeFiling(person->resident_id, "F14090000000099").status().code(),
            absl::StatusCode::kNotFound);

  absl::StatusOr<std::vector<FilingRecord>> filings = ledger.ListFilings(person->resident_id);
  ASSERT_TRUE(filings.ok());
  ASSERT_EQ(filings->size(), 2u);
  EXPECT_EQ((*filings)[0].filing_id, first->filing_id);
  EXPECT_TRUE((*filings)[0].revoked);
  EXPECT_EQ((*filings)[1].treatment_city, City::CITY_LVLIANG);
  EXPECT_FALSE((*filings)[1].revoked);

  FilingRecord home = filing;
  home.treatment_city = City::CITY_XINZHOU;
  EXPECT_EQ(ledger.FileTreatment(home).status().code(), absl::StatusCode::kFailedPrecondition);
  FilingRecord backwards = filing;
  backwards.valid_to = absl::CivilDay(kYear - 1, 12, 31);
  absl::Status status = ledger.FileTreatment(backwards).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), ::testing::StartsWith("valid_to:"));
  FilingRecord no_reason = filing;
  no_reason.reason = medical::v1::FILING_REASON_UNSPECIFIED;
  EXPECT_THAT(std::string(ledger.FileTreatment(no_reason).status().message()),
              ::testing::StartsWith("reason_code:"));
  FilingRecord with_id = filing;
  with_id.filing_id = "F1";
  EXPECT_THAT(std::string(ledger.FileTreatment(with_id).status().message()),
              ::testing::StartsWith("filing_id:"));
  const SyntheticPerson* elsewhere = Insured(City::CITY_TAIYUAN, [](const SyntheticPerson&) { return true; });
  FilingRecord stranger = filing;
  stranger.resident_id = elsewhere->resident_id;
  EXPECT_EQ(ledger.FileTreatment(stranger).status().code(), absl::StatusCode::kNotFound);
}

// 64 threads commit for one person, each with the retry loop the gateway uses (read the account,
// compute against its version, commit; on ABORTED read again). The balance never goes below zero,
// the fund paid is exactly the sum of the fund pay committed, and every commit is counted once.
TEST(MockMedicalLedgerTest, ConcurrentCommitsForOnePersonNeverOverdrawAndAddUp) {
  const SyntheticPerson* person = WithBalance(City::CITY_TAIYUAN, 20000);
  ASSERT_NE(person, nullptr);
  MockMedicalLedger ledger(TestPopulation(), City::CITY_TAIYUAN,
                           Options({{person->medical.insurance_type_code, int64_t{1} << 40}}));
  const MedicalAccount before = *ledger.GetAccount(person->resident_id, kYear);
  constexpr int kThreads = 64;
  constexpr int kPerThread = 20;
  std::atomic<int64_t> fund_committed{0}, account_committed{0};
  std::atomic<int> committed{0}, refused{0}, aborted{0};
  std::atomic<bool> negative_seen{false};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ++ready;
      while (ready.load() < kThreads) std::this_thread::yield();  // start together
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = absl::StrCat("T", t, "-", i);
        const int64_t fund = 100 + t;
        for (;;) {
          absl::StatusOr<MedicalAccount> account = ledger.GetAccount(person->resident_id, kYear);
          if (!account.ok() || account->balance_fen < 0) negative_seen = true;
          // As the calculator does: the account pays what it can of a 50-yuan share.
          const int64_t account_pay = std::min<int64_t>(account->balance_fen, 5000);
          std::this_thread::yield();  // let others move the version meanwhile
          absl::StatusOr<CommitResult> result =
              ledger.Commit(Settlement(*person, id, fund, account_pay, 5000 - account_pay), account->version);
          if (result.ok()) {
            if (!result->replayed) {
              ++committed;
              fund_committed += fund;
              account_committed += account_pay;
            }
            if (result->account.balance_fen < 0) negative_seen = true;
            break;
          }
          if (result.status().code() == absl::StatusCode::kAborted) {
            ++aborted;
            continue;
          }
          ++refused;
          break;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const MedicalAccount after = *ledger.GetAccount(person->resident_id, kYear);
  EXPECT_FALSE(negative_seen);
  EXPECT_EQ(refused.load(), 0);
  EXPECT_EQ(committed.load(), kThreads * kPerThread);
  EXPECT_GE(after.balance_fen, 0);
  EXPECT_EQ(after.balance_fen, before.balance_fen - account_committed.load());
  EXPECT_EQ(after.fund_paid_fen, before.fund_paid_fen + fund_committed.load());
  EXPECT_EQ(after.version, before.version + kThreads * kPerThread);
  // How often the threads raced (usually hundreds of times); not asserted, it depends on the machine.
  ::testing::Test::RecordProperty("aborted_commits", aborted.load());
  int64_t listed_fund = 0;
  for (const SettlementRecord& r :
       ledger.ListSettlements(absl::CivilDay(kYear, 1, 1), absl::CivilDay(kYear, 12, 31), "", 100000)
           .records) {
    listed_fund += r.fund_pay_fen;
  }
  EXPECT_EQ(listed_fund, fund_committed.load());
}

// Without the retry loop's re-read, a thread that computed against a stale balance is refused
// rather than overdrawing: many threads each try to take the whole balance.
TEST(MockMedicalLedgerTest, ConcurrentCommitsOfTheWholeBalanceTakeItOnce) {
  const SyntheticPerson* person = WithBalance(City::CITY_JINZHONG, 1000);
  ASSERT_NE(person, nullptr);
  MockMedicalLedger ledger(TestPopulation(), City::CITY_JINZHONG, Options());
  const MedicalAccount before = *ledger.GetAccount(person->resident_id, kYear);
  std::atomic<int> taken{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 64; ++t) {
    threads.emplace_back([&, t] {
      for (;;) {
        MedicalAccount account = *ledger.GetAccount(person->resident_id, kYear);
        absl::StatusOr<CommitResult> result = ledger.Commit(
            Settlement(*person, absl::StrCat("W", t), 0, before.balance_fen, 0), account.version);
        if (result.ok()) {
          ++taken;
          return;
        }
        if (result.status().code() != absl::StatusCode::kAborted) {
          EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
          return;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(taken.load(), 1);
  EXPECT_EQ(ledger.GetAccount(person->resident_id, kYear)->balance_fen, 0);
}

}  // namespace
}  // namespace interop::mock_city
