// MockMedicalLedger: the mock insured city's record of truth for cross-city medical settlement, in
// canonical terms (adapters/city_adapter.h: integer fen, civil days, 18-character numbers, national
// codes). The mock city's transports (MockCityBackend over gRPC, NationalInterfacePlatform over
// HTTP/JSON) translate their dialect to and from these calls.
//
// What it holds, for the persons its city insures (SyntheticPerson::medical.city == city):
//  - each person's personal-account balance, starting at the enrolment's balance_fen;
//  - each person's accumulators per calendar year: deductible used by outpatient visits, by
//    inpatient stays, and fund paid. The seeded year (MockMedicalLedgerOptions::seeded_year)
//    starts at SeededAccumulators(person); every other year starts at zero;
//  - one version per person, 1 at the start, incremented by every commit and every reversal (of
//    any year): all the changes an account has here, as the insurance type and the enrolment
//    status are the population's and never change (the contract also moves the version on those);
//  - the settlements committed here, by settlement_id;
//  - each person's treatment filings, oldest first.
//
// In memory only: the mock does NOT persist anything across its own restarts. A restarted mock
// city starts again from the population (balances, seeded accumulators, version 1, no
// settlements, no filings).
//
// Seeding, so that tests can find a person with a partly used deductible without committing
// anything: SeededAccumulators(person) is a pure function of person.seed. About one person in three
// (SplitMix64(seed ^ kSeedSalt) % 3 == 0) starts the seeded year with 10.00-409.99 yuan of outpatient
// deductible used, inpatient deductible used 50.00-549.99 yuan for about half of those (zero for
// the rest), and 100.00-3099.99 yuan paid by the fund (never more than the city's cap for the
// person's insurance type). Everyone else starts at zero.
//
// Errors (absl::Status, codes as the city backend contract says). INVALID_ARGUMENT messages start
// with the name of the offending field as the city backend contract
// (protos/interop/citybackend/v1/city_backend.proto) spells it, e.g. "total: ...", "valid_to: ...".
//
// Thread-safe: one mutex per person (commits for different persons never wait for each other) and
// one short-held mutex over the settlement index; lock order person, then index.
#ifndef INTEROP_TOOLS_MOCK_CITY_MEDICAL_LEDGER_H_
#define INTEROP_TOOLS_MOCK_CITY_MEDICAL_LEDGER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "adapters/city_adapter.h"
#include "tools/mock_city/population.h"

namespace interop::mock_city {

// One year's accumulators of one person.
struct Accumulators {
  int64_t deductible_used_outpatient_fen = 0;
  int64_t deductible_used_inpatient_fen = 0;
  int64_t fund_paid_fen = 0;

  friend bool operator==(const Accumulators& a, const Accumulators& b) {
    return a.deductible_used_outpatient_fen == b.deductible_used_outpatient_fen &&
           a.deductible_used_inpatient_fen == b.deductible_used_inpatient_fen &&
           a.fund_paid_fen == b.fund_paid_fen;
  }
};

struct MockMedicalLedgerOptions {
  // The most the pooled fund pays for one person in one calendar year, per national insurance
  // type code ("310", "340", "390"), in fen. A type without an entry has no cap. mock-city fills it
  // from the city's MedicalPolicy (adapters/<city>/medical_policy.textproto) when there is one.
  absl::flat_hash_map<std::string, int64_t> annual_fund_cap_fen;
  // The year whose accumulators start at SeededAccumulators; 0 means the population's "today".
  int seeded_year = 0;
};

class MockMedicalLedger {
 public:
  // Salt of the seeding rule (see the top of this file).
  static constexpr uint64_t kSeedSalt = 0x6d65646c65646772ULL;  // "medledgr"

  // The ledger of `city` over `population`, which must outlive it.
  MockMedicalLedger(const Population& population, City city, MockMedicalLedgerOptions options = {});

  MockMedicalLedger(const MockMedicalLedger&) = delete;
  MockMedicalLedger& operator=(const MockMedicalLedger&) = delete;

  City city() const { return city_; }
  int seeded_year() const { return seeded_year_; }

  // What `person` starts the seeded year with, before any cap (see the top of this file).
  static Accumulators SeededAccumulators(const SyntheticPerson& person);

  // True if this city insures the person with the 18-character `resident_id`.
  bool Insures(absl::string_view resident_id) const;

  // The person's account and the accumulators of `year`. NOT_FOUND if this city does not insure
  // the person; INVALID_ARGUMENT ("year: ...") unless 1900 <= year <= 9999.
  absl::StatusOr<adapters::MedicalAccount> GetAccount(absl::string_view resident_id, int year) const;

  // The person's personal-account balance now (what the enrolment reads answer), or `fallback` if
  // this city does not insure the person.
  int64_t BalanceOr(absl::string_view resident_id, int64_t fallback) const;

  // Applies `settlement` atomically if the person's version is `expected_version`:
  //   balance -= account_pay; of settlement.year: the visit type's deductible used +=
  //   deductible_applied, fund paid += fund_pay; version += 1.
  // Checks, in this order:
  //  - INVALID_ARGUMENT for a malformed settlement: settlement_id not 1-64 printable ASCII
  //    characters without spaces, year outside 1900-9999, visit type unset, institution_code not
  //    1-64 printable ASCII characters, treatment city not one of the five, an amount negative or
  //    above kMaxMoneyFen, total != fund_pay + account_pay + cash_pay, deductible_applied > total,
  //    reversed set;
  //  - NOT_FOUND if this city does not insure the person;
  //  - a settlement_id already committed: with the same content (every field but the reversal)
  //    the stored result, replayed = true, nothing changed (even if the version moved since, or
  //    the settlement was reversed since); otherwise ALREADY_EXISTS;
  //  - ABORTED "account version moved" if the version is not expected_version;
  //  - FAILED_PRECONDITION if account_pay > balance (overdraw), or fund paid + fund_pay would
  //    pass the cap of the person's insurance type.
  absl::StatusOr<adapters::CommitResult> Commit(const adapters::SettlementRecord& settlement,
                                                int64_t expected_version);

  // Reverses a committed settlement on `reversed_date`: subtracts exactly what it added (the
  // visit type's deductible used, fund paid, of its year), refunds account_pay to the balance,
  // version += 1, and marks it reversed. Idempotent: a reversed settlement is answered as it is
  // (replayed = true, nothing changed, the first reversal date kept). NOT_FOUND if there is no
  // such settlement, or it is another person's; INVALID_ARGUMENT ("reversed_date: ...") if
  // `reversed_date` is before its settle date.
  absl::StatusOr<adapters::CommitResult> Reverse(absl::string_view settlement_id,
                                                 absl::string_view resident_id, absl::CivilDay reversed_date);

  // One settlement committed here; NOT_FOUND if none has this id.
  absl::StatusOr<adapters::SettlementRecord> GetSettlement(absl::string_view settlement_id) const;

  // A page of the settlements with a settle date in [from, to], ordered by settlement_id: those
  // whose id is greater than `after_settlement_id` ("" for the first page), at most `max_records`
  // (at least 1). `more` is true if further records follow the page.
  struct SettlementPage {
    std::vector<adapters::SettlementRecord> records;
    bool more = false;
  };
  SettlementPage ListSettlements(absl::CivilDay from, absl::CivilDay to,
                                 absl::string_view after_settlement_id, size_t max_records) const;

  // Records a filing and answers it with its new filing_id, "F" + the city's division code + an
  // 8-digit counter ("F14010000000001"). INVALID_ARGUMENT for filing_id set, revoked set, a
  // treatment city that is not one of the five, a reason that is unset or unknown, or valid_to
  // before valid_from ("valid_to: ..."); NOT_FOUND if this city does not insure the person;
  // FAILED_PRECONDITION if the treatment city is this city.
  absl::StatusOr<adapters::FilingRecord> FileTreatment(const adapters::FilingRecord& filing);

  // Revokes the person's filing; a revoked one is answered unchanged. NOT_FOUND if this city does
  // not insure the person or the person has no such filing.
  absl::StatusOr<adapters::FilingRecord> RevokeFiling(absl::string_view resident_id,
                                                      absl::string_view filing_id);

  // The person's filings, revoked ones included, oldest first. NOT_FOUND if this city does not
  // insure the person.
  absl::StatusOr<std::vector<adapters::FilingRecord>> ListFilings(absl::string_view resident_id) const;

 private:
  struct PersonState {
    const SyntheticPerson* person = nullptr;
    mutable absl::Mutex mu;
    int64_t balance_fen ABSL_GUARDED_BY(mu) = 0;
    int64_t version ABSL_GUARDED_BY(mu) = 1;
    // Years that moved since the start; a year not listed is at its initial value.
    absl::flat_hash_map<int, Accumulators> years ABSL_GUARDED_BY(mu);
    std::vector<adapters::FilingRecord> filings ABSL_GUARDED_BY(mu);
  };

  PersonState* Find(absl::string_view resident_id) const;
  // The person's accumulators of `year`, as they are now.
  Accumulators YearOf(const PersonState& state, int year) const ABSL_SHARED_LOCKS_REQUIRED(state.mu);
  adapters::MedicalAccount AccountOf(const PersonState& state, int year) const
      ABSL_SHARED_LOCKS_REQUIRED(state.mu);
  // The cap of the person's insurance type, or -1 for none.
  int64_t CapOf(const SyntheticPerson& person) const;

  const City city_;
  const int seeded_year_;
  const absl::flat_hash_map<std::string, int64_t> caps_;
  // Built once in the constructor, then only the states change.
  absl::flat_hash_map<std::string, std::unique_ptr<PersonState>> persons_;

  // Taken after a PersonState::mu when both are needed.
  mutable absl::Mutex settlements_mu_;
  std::map<std::string, adapters::SettlementRecord, std::less<>> settlements_
      ABSL_GUARDED_BY(settlements_mu_);

  std::atomic<uint64_t> next_filing_{1};
};

}  // namespace interop::mock_city

#endif  // INTEROP_TOOLS_MOCK_CITY_MEDICAL_LEDGER_H_
