#include "tools/mock_city/medical_ledger.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "adapters/dialect/money.h"
#include "gateway/base/cities.h"

namespace interop::mock_city {
namespace {

using adapters::CommitResult;
using adapters::FilingRecord;
using adapters::MedicalAccount;
using adapters::SettlementRecord;

constexpr size_t kMaxIdLength = 64;

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

bool IsPrintableId(absl::string_view text) {
  if (text.empty() || text.size() > kMaxIdLength) return false;
  return std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

bool IsOneOfTheCities(City city) { return !CityDivisionCode(city).empty(); }

medical::v1::InsuranceType InsuranceTypeOf(const std::string& code) {
  if (code == "310") return medical::v1::INSURANCE_TYPE_EMPLOYEE;
  if (code == "340") return medical::v1::INSURANCE_TYPE_RETIRED_CADRE;
  if (code == "390") return medical::v1::INSURANCE_TYPE_URBAN_RURAL_RESIDENT;
  return medical::v1::INSURANCE_TYPE_UNSPECIFIED;
}

medical::v1::EnrollmentStatus StatusOf(const std::string& code) {
  if (code == "1") return medical::v1::ENROLLMENT_STATUS_ACTIVE;
  if (code == "2") return medical::v1::ENROLLMENT_STATUS_SUSPENDED;
  if (code == "3") return medical::v1::ENROLLMENT_STATUS_TERMINATED;
  return medical::v1::ENROLLMENT_STATUS_UNSPECIFIED;
}

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

absl::Status CheckAmount(absl::string_view field, int64_t fen) {
  if (fen < 0 || fen > adapters::kMaxMoneyFen) {
    return Invalid(field,
                   absl::StrCat(fen, " fen is not an amount from 0 to ", adapters::kMaxMoneyFen, " fen"));
  }
  return absl::OkStatus();
}

absl::Status CheckSettlement(const SettlementRecord& s) {
  if (!IsPrintableId(s.settlement_id)) {
    return Invalid("settlement_id", "must be 1 to 64 printable ASCII characters without spaces");
  }
  if (s.year < 1900 || s.year > 9999)
    return Invalid("year", absl::StrCat(s.year, " is not a year from 1900 to 9999"));
  if (s.visit_type != config::v1::VISIT_TYPE_OUTPATIENT && s.visit_type != config::v1::VISIT_TYPE_INPATIENT) {
    return Invalid("visit_type_code", "must be outpatient (11) or inpatient (21)");
  }
  if (!IsPrintableId(s.institution_code)) {
    return Invalid("institution_code", "must be 1 to 64 printable ASCII characters without spaces");
  }
  if (!IsOneOfTheCities(s.treatment_city))
    return Invalid("treatment_city_code", "must be one of the five cities");
  if (s.settle_date.year() < 1900 || s.settle_date.year() > 9999) {
    return Invalid("settle_date", "must be in the years 1900 to 9999");
  }
  const std::pair<const char*, int64_t> amounts[] = {{"total", s.total_fen},
                                                     {"deductible_applied", s.deductible_applied_fen},
                                                     {"fund_pay", s.fund_pay_fen},
                                                     {"account_pay", s.account_pay_fen},
                                                     {"cash_pay", s.cash_pay_fen}};
  for (const auto& [field, fen] : amounts) {
    absl::Status ok = CheckAmount(field, fen);
    if (!ok.ok()) return ok;
  }
  if (s.fund_pay_fen + s.account_pay_fen + s.cash_pay_fen != s.total_fen) {
    return Invalid("total", absl::StrCat(s.total_fen, " fen is not fund_pay + account_pay + cash_pay (",
                                         s.fund_pay_fen + s.account_pay_fen + s.cash_pay_fen, " fen)"));
  }
  if (s.deductible_applied_fen > s.total_fen) {
    return Invalid("deductible_applied", "is more than the total");
  }
  if (s.reversed) return Invalid("reversed", "must be unset in a commit");
  return absl::OkStatus();
}

// True if `a` and `b` describe the same settlement (the reversal aside).
bool SameContent(const SettlementRecord& a, const SettlementRecord& b) {
  return a.settlement_id == b.settlement_id && a.resident_id == b.resident_id && a.year == b.year &&
         a.visit_type == b.visit_type && a.institution_code == b.institution_code &&
         a.treatment_city == b.treatment_city && a.settle_date == b.settle_date &&
         a.total_fen == b.total_fen && a.deductible_applied_fen == b.deductible_applied_fen &&
         a.fund_pay_fen == b.fund_pay_fen && a.account_pay_fen == b.account_pay_fen &&
         a.cash_pay_fen == b.cash_pay_fen;
}

int64_t* DeductibleOf(Accumulators& year, config::v1::VisitType visit_type) {
  return visit_type == config::v1::VISIT_TYPE_INPATIENT ? &year.deductible_used_inpatient_fen
                                                        : &year.deductible_used_outpatient_fen;
}

}  // namespace

MockMedicalLedger::MockMedicalLedger(const Population& population, City city,
                                     MockMedicalLedgerOptions options)
    : city_(city),
      seeded_year_(options.seeded_year != 0 ? options.seeded_year
                                            : static_cast<int>(population.options().today.year())),
      caps_(std::move(options.annual_fund_cap_fen)) {
  for (const SyntheticPerson& person : population.persons()) {
    if (!person.has_medical || person.medical.city != city_) continue;
    auto state = std::make_unique<PersonState>();
    state->person = &person;
    {
      absl::MutexLock lock(&state->mu);
      state->balance_fen = person.medical.balance_fen;
    }
    persons_.emplace(person.resident_id, std::move(state));
  }
}

Accumulators MockMedicalLedger::SeededAccumulators(const SyntheticPerson& person) {
  const uint64_t r = SplitMix64(person.seed ^ kSeedSalt);
  Accumulators seeded;
  if (r % 3 != 0) return seeded;
  const uint64_t s = SplitMix64(r);
  seeded.deductible_used_outpatient_fen = 1000 + static_cast<int64_t>(s % 40000);
  if ((s >> 20) % 2 == 0)
    seeded.deductible_used_inpatient_fen = 5000 + static_cast<int64_t>((s >> 21) % 50000);
  seeded.fund_paid_fen = 10000 + static_cast<int64_t>((s >> 40) % 300000);
  return seeded;
}

MockMedicalLedger::PersonState* MockMedicalLedger::Find(absl::string_view resident_id) const {
  auto it = persons_.find(resident_id);
  return it == persons_.end() ? nullptr : it->second.get();
}

bool MockMedicalLedger::Insures(absl::string_view resident_id) const { return Find(resident_id) != nullptr; }

int64_t MockMedicalLedger::CapOf(const SyntheticPerson& person) const {
  auto it = caps_.find(person.medical.insurance_type_code);
  return it == caps_.end() ? -1 : it->second;
}

Accumulators MockMedicalLedger::YearOf(const PersonState& state, int year) const {
  auto it = state.years.find(year);
  if (it != state.years.end()) return it->second;
  if (year != seeded_year_) return Accumulators();
  Accumulators seeded = SeededAccumulators(*state.person);
  const int64_t cap = CapOf(*state.person);
  if (cap >= 0) seeded.fund_paid_fen = std::min(seeded.fund_paid_fen, cap);
  return seeded;
}

MedicalAccount MockMedicalLedger::AccountOf(const PersonState& state, int year) const {
  const Accumulators accumulators = YearOf(state, year);
  MedicalAccount account;
  account.resident_id = state.person->resident_id;
  account.insurance_type = InsuranceTypeOf(state.person->medical.insurance_type_code);
  account.status = StatusOf(state.person->medical.status_code);
  account.balance_fen = state.balance_fen;
  account.year = year;
  account.deductible_used_outpatient_fen = accumulators.deductible_used_outpatient_fen;
  account.deductible_used_inpatient_fen = accumulators.deductible_used_inpatient_fen;
  account.fund_paid_fen = accumulators.fund_paid_fen;
  account.version = state.version;
  return account;
}

absl::StatusOr<MedicalAccount> MockMedicalLedger::GetAccount(absl::string_view resident_id, int year) const {
  if (year < 1900 || year > 9999)
    return Invalid("year", absl::StrCat(year, " is not a year from 1900 to 9999"));
  PersonState* state = Find(resident_id);
  if (state == nullptr) return absl::NotFoundError("this city does not insure the person");
  absl::ReaderMutexLock lock(&state->mu);
  return AccountOf(*state, year);
}

int64_t MockMedicalLedger::BalanceOr(absl::string_view resident_id, int64_t fallback) const {
  PersonState* state = Find(resident_id);
  if (state == nullptr) return fallback;
  absl::ReaderMutexLock lock(&state->mu);
  return state->balance_fen;
}

absl::StatusOr<CommitResult> MockMedicalLedger::Commit(const SettlementRecord& settlement,
                                                       int64_t expected_version) {
  absl::Status valid = CheckSettlement(settlement);
  if (!valid.ok()) return valid;
  PersonState* state = Find(settlement.resident_id);
  if (state == nullptr) return absl::NotFoundError("this city does not insure the person");

  absl::MutexLock person_lock(&state->mu);
  // Only commits of this person can add this id for this person, and they wait for person_lock; a
  // commit of another person with the same id is caught again when inserting below.
  std::optional<SettlementRecord> stored;
  {
    absl::MutexLock lock(&settlements_mu_);
    auto it = settlements_.find(settlement.settlement_id);
    if (it != settlements_.end()) stored = it->second;
  }
  if (stored.has_value()) {
    if (!SameContent(*stored, settlement)) {
      return absl::AlreadyExistsError(absl::StrCat("settlement_id \"", settlement.settlement_id,
                                                   "\" was already committed with different content"));
    }
    CommitResult result;
    result.account = AccountOf(*state, stored->year);
    result.settlement = *std::move(stored);
    result.replayed = true;
    return result;
  }
  if (state->version != expected_version) {
    return absl::AbortedError(
        absl::StrCat("account version moved: expected ", expected_version, ", it is ", state->version));
  }
  if (settlement.account_pay_fen > state->balance_fen) {
    return absl::FailedPreconditionError(absl::StrCat("account_pay of ", settlement.account_pay_fen,
                                                      " fen would overdraw the balance of ",
                                                      state->balance_fen, " fen"));
  }
  Accumulators year = YearOf(*state, settlement.year);
  const int64_t cap = CapOf(*state->person);
  if (cap >= 0 && year.fund_paid_fen + settlement.fund_pay_fen > cap) {
    return absl::FailedPreconditionError(absl::StrCat(
        "fund_pay of ", settlement.fund_pay_fen, " fen would take the fund paid in ", settlement.year, " to ",
        year.fund_paid_fen + settlement.fund_pay_fen, " fen, past the annual cap of ", cap,
        " fen for insurance type ", state->person->medical.insurance_type_code));
  }
  SettlementRecord recorded = settlement;
  recorded.reversed = false;
  recorded.reversed_date = absl::CivilDay();
  {
    absl::MutexLock lock(&settlements_mu_);
    auto [it, inserted] = settlements_.emplace(recorded.settlement_id, recorded);
    if (!inserted) {
      // Another person's commit took the id meanwhile: never the same content (other person).
      return absl::AlreadyExistsError(absl::StrCat("settlement_id \"", settlement.settlement_id,
                                                   "\" was already committed with different content"));
    }
  }
  *DeductibleOf(year, settlement.visit_type) += settlement.deductible_applied_fen;
  year.fund_paid_fen += settlement.fund_pay_fen;
  state->years[settlement.year] = year;
  state->balance_fen -= settlement.account_pay_fen;
  ++state->version;

  CommitResult result;
  result.account = AccountOf(*state, settlement.year);
  result.settlement = std::move(recorded);
  return result;
}

absl::StatusOr<CommitResult> MockMedicalLedger::Reverse(absl::string_view settlement_id,
                                                        absl::string_view resident_id,
                                                        absl::CivilDay reversed_date) {
  PersonState* state = Find(resident_id);
  const absl::Status not_found =
      absl::NotFoundError(absl::StrCat("no settlement \"", settlement_id, "\" of this person"));
  if (state == nullptr) return not_found;
  absl::MutexLock person_lock(&state->mu);
  absl::MutexLock lock(&settlements_mu_);
  auto it = settlements_.find(settlement_id);
  if (it == settlements_.end() || it->second.resident_id != resident_id) return not_found;
  SettlementRecord& stored = it->second;
  CommitResult result;
  if (stored.reversed) {
    result.account = AccountOf(*state, stored.year);
    result.settlement = stored;
    result.replayed = true;
    return result;
  }
  if (reversed_date < stored.settle_date) {
    return Invalid("reversed_date", "is before the settlement's settle_date");
  }
  Accumulators year = YearOf(*state, stored.year);
  *DeductibleOf(year, stored.visit_type) -= stored.deductible_applied_fen;
  year.fund_paid_fen -= stored.fund_pay_fen;
  state->years[stored.year] = year;
  state->balance_fen += stored.account_pay_fen;
  ++state->version;
  stored.reversed = true;
  stored.reversed_date = reversed_date;
  result.account = AccountOf(*state, stored.year);
  result.settlement = stored;
  return result;
}

absl::StatusOr<SettlementRecord> MockMedicalLedger::GetSettlement(absl::string_view settlement_id) const {
  absl::MutexLock lock(&settlements_mu_);
  auto it = settlements_.find(settlement_id);
  if (it == settlements_.end()) {
    return absl::NotFoundError(absl::StrCat("no settlement \"", settlement_id, "\" was committed here"));
  }
  return it->second;
}

MockMedicalLedger::SettlementPage MockMedicalLedger::ListSettlements(absl::CivilDay from, absl::CivilDay to,
                                                                     absl::string_view after_settlement_id,
                                                                     size_t max_records) const {
  max_records = std::max<size_t>(max_records, 1);
  SettlementPage page;
  absl::MutexLock lock(&settlements_mu_);
  for (auto it = settlements_.upper_bound(after_settlement_id); it != settlements_.end(); ++it) {
    const SettlementRecord& record = it->second;
    if (record.settle_date < from || record.settle_date > to) continue;
    if (page.records.size() == max_records) {
      page.more = true;
      break;
    }
    page.records.push_back(record);
  }
  return page;
}

absl::StatusOr<FilingRecord> MockMedicalLedger::FileTreatment(const FilingRecord& filing) {
  if (!filing.filing_id.empty()) return Invalid("filing_id", "must be empty in a new filing");
  if (filing.revoked) return Invalid("revoked", "must be unset in a new filing");
  if (!IsOneOfTheCities(filing.treatment_city)) {
    return Invalid("treatment_city_code", "must be one of the five cities");
  }
  if (filing.reason < medical::v1::FILING_REASON_RESETTLED_RETIREE ||
      filing.reason > medical::v1::FILING_REASON_TEMPORARY) {
    return Invalid("reason_code", "must be a filing reason from 1 to 5");
  }
  if (filing.valid_to < filing.valid_from) return Invalid("valid_to", "is before valid_from");
  PersonState* state = Find(filing.resident_id);
  if (state == nullptr) return absl::NotFoundError("this city does not insure the person");
  if (filing.treatment_city == city_) {
    return absl::FailedPreconditionError(
        absl::StrCat("the treatment city is ", CityName(city_), ", the city that insures the person"));
  }
  FilingRecord recorded = filing;
  recorded.filing_id = absl::StrFormat("F%s%08d", CityDivisionCode(city_),
                                       static_cast<unsigned long long>(next_filing_.fetch_add(1)));
  absl::MutexLock lock(&state->mu);
  state->filings.push_back(recorded);
  return recorded;
}

absl::StatusOr<FilingRecord> MockMedicalLedger::RevokeFiling(absl::string_view resident_id,
                                                             absl::string_view filing_id) {
  PersonState* state = Find(resident_id);
  if (state == nullptr) return absl::NotFoundError("this city does not insure the person");
  absl::MutexLock lock(&state->mu);
  for (FilingRecord& filing : state->filings) {
    if (filing.filing_id != filing_id) continue;
    filing.revoked = true;
    return filing;
  }
  return absl::NotFoundError(absl::StrCat("the person has no filing \"", filing_id, "\""));
}

absl::StatusOr<std::vector<FilingRecord>> MockMedicalLedger::ListFilings(
    absl::string_view resident_id) const {
  PersonState* state = Find(resident_id);
  if (state == nullptr) return absl::NotFoundError("this city does not insure the person");
  absl::ReaderMutexLock lock(&state->mu);
  return state->filings;
}

}  // namespace interop::mock_city
