#include "tools/mock_city/mobility_records.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gateway/base/cities.h"
#include "gateway/transfers/pension_funds.h"

namespace interop::mock_city {
namespace {

constexpr char kPensionKind[] = "110";
// A person "still contributes here" if they paid a pension month here in the population's last two
// months.
constexpr int kOngoingMonths = 2;

bool IsCountyOf(absl::string_view code, absl::string_view city_code) {
  return code.size() == 6 &&
         std::all_of(code.begin(), code.end(),
                     [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); }) &&
         code.substr(0, 4) == city_code.substr(0, 4) && code.substr(4) != "00";
}

// A nine-digit household number derived from the permit (FNV-1a), stable for one permit.
std::string HouseholdNumberFor(absl::string_view permit) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : permit) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return absl::StrCat(100000000 + h % 900000000);
}

std::string SheetFingerprint(const adapters::PensionTransferSheet& sheet) {
  std::string f =
      absl::StrCat(sheet.personal_account_fen, "/", sheet.pooled_fund_fen, "/", sheet.years.size());
  for (const social::v1::ContributionEntry& e : sheet.months) {
    absl::StrAppend(&f, "|", e.year(), "-", e.month(), ":", e.wage_base().fen(), ",",
                    e.personal_amount().fen(), ",", e.employer_amount().fen());
  }
  return f;
}

}  // namespace

social::v1::ContributionEntry ToPensionEntry(const ContributionMonth& month) {
  social::v1::ContributionEntry e;
  *e.mutable_city() = MakeCityInfo(month.city);
  e.set_kind(social::v1::INSURANCE_KIND_EMPLOYEE_PENSION);
  e.set_year(static_cast<int>(month.month.year()));
  e.set_month(month.month.month());
  e.mutable_wage_base()->set_fen(month.wage_base_fen);
  e.set_months(1);
  e.mutable_personal_amount()->set_fen(month.personal_fen);
  e.mutable_employer_amount()->set_fen(month.employer_fen);
  return e;
}

MockMobilityRecords::MockMobilityRecords(const Population& population, City city)
    : population_(population), city_(city), city_code_(CityDivisionCode(city)) {}

template <typename T>
std::optional<absl::StatusOr<T>> MockMobilityRecords::Replay(const Replies<T>& replies,
                                                             const std::string& key,
                                                             const std::string& fingerprint) {
  auto it = replies.find(key);
  if (it == replies.end()) return std::nullopt;
  if (it->second.fingerprint != fingerprint) {
    return absl::StatusOr<T>(
        absl::AlreadyExistsError(absl::StrCat("request_key: \"", key, "\" was used for another request")));
  }
  T answer = it->second.answer;
  answer.replayed = true;
  return absl::StatusOr<T>(std::move(answer));
}

std::string MockMobilityRecords::NextNumber(absl::string_view prefix) {
  return absl::StrFormat("%s%s%08d", prefix, city_code_, ++sequence_);
}

std::optional<HouseholdRegistration> MockMobilityRecords::RegistrationLocked(
    const SyntheticPerson& person) const {
  auto it = registrations_.find(person.resident_id);
  if (it != registrations_.end()) return it->second;
  if (person.household.city == city_) return person.household;
  return std::nullopt;
}

std::optional<HouseholdRegistration> MockMobilityRecords::Registration(const SyntheticPerson& person) const {
  absl::MutexLock lock(&mu_);
  return RegistrationLocked(person);
}

std::vector<ContributionMonth> MockMobilityRecords::ContributionsLocked(const SyntheticPerson& person,
                                                                        int from_year, int to_year) const {
  std::vector<ContributionMonth> months = population_.Contributions(person, city_, from_year, to_year);
  if (pension_ended_.contains(person.resident_id)) {
    months.erase(std::remove_if(months.begin(), months.end(),
                                [](const ContributionMonth& m) { return m.kind_code == kPensionKind; }),
                 months.end());
  }
  auto merged = merged_.find(person.resident_id);
  if (merged != merged_.end()) {
    for (const ContributionMonth& m : merged->second) {
      const int year = static_cast<int>(m.month.year());
      if ((from_year != 0 && year < from_year) || (to_year != 0 && year > to_year)) continue;
      months.push_back(m);
    }
  }
  std::stable_sort(months.begin(), months.end(), [](const ContributionMonth& a, const ContributionMonth& b) {
    return std::tie(a.month, a.kind_code) < std::tie(b.month, b.kind_code);
  });
  return months;
}

std::vector<ContributionMonth> MockMobilityRecords::PensionMonthsLocked(const SyntheticPerson& person) const {
  std::vector<ContributionMonth> months = ContributionsLocked(person, 0, 0);
  months.erase(std::remove_if(months.begin(), months.end(),
                              [](const ContributionMonth& m) { return m.kind_code != kPensionKind; }),
               months.end());
  return months;
}

std::vector<ContributionMonth> MockMobilityRecords::Contributions(const SyntheticPerson& person,
                                                                  int from_year, int to_year) const {
  absl::MutexLock lock(&mu_);
  return ContributionsLocked(person, from_year, to_year);
}

bool MockMobilityRecords::HasContributions(const SyntheticPerson& person) const {
  absl::MutexLock lock(&mu_);
  if (merged_.contains(person.resident_id)) return true;
  if (!Population::HasContributionsIn(person, city_)) return false;
  if (!pension_ended_.contains(person.resident_id)) return true;
  return !ContributionsLocked(person, 0, 0).empty();
}

bool MockMobilityRecords::HoldsAnyRecordBesidesMedical(const SyntheticPerson& person) const {
  return Registration(person).has_value() || HasContributions(person);
}

// --- Household migration.

absl::StatusOr<adapters::MoveInPermit> MockMobilityRecords::IssueMoveInPermit(const std::string& key,
                                                                              const SyntheticPerson& person,
                                                                              City origin,
                                                                              const std::string& address_code,
                                                                              absl::CivilDay today) {
  const std::string fingerprint = absl::StrCat(person.resident_id, "/", origin, "/", address_code);
  absl::MutexLock lock(&mu_);
  if (auto replay = Replay(permit_replies_, key, fingerprint)) return *std::move(replay);
  if (!IsCountyOf(address_code, city_code_)) {
    return absl::InvalidArgumentError(
        absl::StrCat("address_code: \"", address_code, "\" is not a county of ", CityName(city_)));
  }
  if (RegistrationLocked(person).has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the person is registered in ", CityName(city_), " already"));
  }
  adapters::MoveInPermit permit;
  permit.permit_number = NextNumber("ZR");
  permit.issued_on = today;
  permit.valid_until = today + 39;
  permits_[permit.permit_number] = Permit{person.resident_id, address_code, permit.valid_until};
  permit_replies_[key] = {fingerprint, permit};
  return permit;
}

absl::StatusOr<adapters::MoveOutRecord> MockMobilityRecords::RecordMoveOut(
    const std::string& key, const SyntheticPerson& person, City destination, const std::string& permit_number,
    absl::CivilDay permit_valid_until, absl::CivilDay today) {
  const std::string fingerprint = absl::StrCat(person.resident_id, "/", destination, "/", permit_number, "/",
                                               absl::FormatCivilTime(permit_valid_until));
  absl::MutexLock lock(&mu_);
  if (auto replay = Replay(move_out_replies_, key, fingerprint)) return *std::move(replay);
  std::optional<HouseholdRegistration> registration = RegistrationLocked(person);
  if (!registration.has_value()) {
    return absl::NotFoundError(absl::StrCat("the person is not registered in ", CityName(city_)));
  }
  if (destination == city_) return absl::InvalidArgumentError("destination_city_code: is this city");
  if (permit_valid_until < today) {
    return absl::FailedPreconditionError(
        absl::StrCat("the permit to move in expired on ", absl::FormatCivilTime(permit_valid_until)));
  }
  adapters::MoveOutRecord record;
  record.previous_address_code = registration->address_code;
  record.moved_out_on = today;
  registrations_[person.resident_id] = std::nullopt;
  move_out_replies_[key] = {fingerprint, record};
  return record;
}

absl::StatusOr<HouseholdRegistration> MockMobilityRecords::SettleIn(
    const std::string& key, const SyntheticPerson& person, const std::string& permit_number,
    const std::string& address_code, const std::string& name, absl::CivilDay today, bool* replayed) {
  const std::string fingerprint =
      absl::StrCat(person.resident_id, "/", permit_number, "/", address_code, "/", name.size(), ":", name);
  absl::MutexLock lock(&mu_);
  *replayed = false;
  if (auto it = settle_replies_.find(key); it != settle_replies_.end()) {
    if (it->second.fingerprint != fingerprint) {
      return absl::AlreadyExistsError(
          absl::StrCat("request_key: \"", key, "\" was used for another request"));
    }
    *replayed = true;
    return it->second.answer;
  }
  auto permit = permits_.find(permit_number);
  if (permit == permits_.end() || permit->second.resident_id != person.resident_id) {
    return absl::FailedPreconditionError(
        absl::StrCat(CityName(city_), " issued no permit ", permit_number, " to move in for this person"));
  }
  if (!IsCountyOf(address_code, city_code_)) {
    return absl::InvalidArgumentError(
        absl::StrCat("address_code: \"", address_code, "\" is not a county of ", CityName(city_)));
  }
  if (RegistrationLocked(person).has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the person is registered in ", CityName(city_), " already"));
  }
  HouseholdRegistration registration;
  registration.city = city_;
  registration.address_code = address_code;
  registration.household_number = HouseholdNumberFor(permit_number);
  registration.relation_code = "02";  // head of a new household
  registration.household_type_code = "1";
  registration.registered_since = today;
  registrations_[person.resident_id] = registration;
  permits_.erase(permit);
  settle_replies_[key] = {fingerprint, registration};
  return registration;
}

// --- Pension transfer.

absl::StatusOr<adapters::PensionApplication> MockMobilityRecords::ApplyPensionTransfer(
    const std::string& key, const SyntheticPerson& person, City origin, absl::CivilDay today) {
  const std::string fingerprint = absl::StrCat(person.resident_id, "/", origin);
  absl::MutexLock lock(&mu_);
  if (auto replay = Replay(apply_replies_, key, fingerprint)) return *std::move(replay);
  if (origin == city_) return absl::InvalidArgumentError("origin_city_code: is this city");
  adapters::PensionApplication application;
  application.application_number = NextNumber("ZJ");
  application.applied_on = today;
  applications_[application.application_number] = person.resident_id;
  apply_replies_[key] = {fingerprint, application};
  return application;
}

absl::StatusOr<adapters::ContactLetter> MockMobilityRecords::IssueContactLetter(
    const std::string& key, const SyntheticPerson& person, const std::string& application_number,
    absl::CivilDay today) {
  const std::string fingerprint = absl::StrCat(person.resident_id, "/", application_number);
  absl::MutexLock lock(&mu_);
  if (auto replay = Replay(letter_replies_, key, fingerprint)) return *std::move(replay);
  auto application = applications_.find(application_number);
  if (application == applications_.end() || application->second != person.resident_id) {
    return absl::FailedPreconditionError(
        absl::StrCat(CityName(city_), " holds no application ", application_number, " of this person"));
  }
  adapters::ContactLetter letter;
  letter.letter_number = NextNumber("LX");
  letter.issued_on = today;
  letter_replies_[key] = {fingerprint, letter};
  return letter;
}

absl::StatusOr<adapters::PreparedTransferOut> MockMobilityRecords::PreparePensionTransferOut(
    const std::string& key, const SyntheticPerson& person, City destination,
    const std::string& letter_number) {
  const std::string fingerprint = absl::StrCat(person.resident_id, "/", destination, "/", letter_number);
  absl::MutexLock lock(&mu_);
  if (auto replay = Replay(prepare_replies_, key, fingerprint)) return *std::move(replay);
  if (destination == city_) return absl::InvalidArgumentError("destination_city_code: is this city");
  if (pension_ended_.contains(person.resident_id) && !merged_.contains(person.resident_id)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the person's pension relationship in ", CityName(city_), " has already moved away"));
  }
  std::vector<ContributionMonth> months = PensionMonthsLocked(person);
  if (months.empty()) {
    return absl::NotFoundError(absl::StrCat("the person has no pension record in ", CityName(city_)));
  }
  const absl::CivilMonth last_month(population_.options().today);
  if (!pension_ended_.contains(person.resident_id) && months.back().month > last_month - kOngoingMonths &&
      !merged_.contains(person.resident_id)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the person still contributes to pension insurance in ", CityName(city_),
                     " (last month paid ", absl::FormatCivilTime(months.back().month),
                     "): the relationship here has not ended, it cannot move"));
  }
  adapters::PreparedTransferOut prepared;
  for (const ContributionMonth& m : months) prepared.sheet.months.push_back(ToPensionEntry(m));
  prepared.sheet.years = transfers::SheetYears(prepared.sheet.months);
  const transfers::PensionFunds funds = transfers::ComputePensionFunds(prepared.sheet.months);
  prepared.sheet.personal_account_fen = funds.personal_contributions_fen;
  prepared.sheet.pooled_fund_fen = funds.pooled_fund_fen;
  prepare_replies_[key] = {fingerprint, prepared};
  return prepared;
}

absl::StatusOr<adapters::TransferOutCompletion> MockMobilityRecords::CompletePensionTransferOut(
    const std::string& key, const SyntheticPerson& person, City destination, const std::string& letter_number,
    int64_t personal_account_fen, int64_t pooled_fund_fen, absl::CivilDay today) {
  const std::string fingerprint = absl::StrCat(person.resident_id, "/", destination, "/", letter_number, "/",
                                               personal_account_fen, "/", pooled_fund_fen);
  absl::MutexLock lock(&mu_);
  if (auto replay = Replay(complete_replies_, key, fingerprint)) return *std::move(replay);
  std::vector<social::v1::ContributionEntry> entries;
  for (const ContributionMonth& m : PensionMonthsLocked(person)) entries.push_back(ToPensionEntry(m));
  const transfers::PensionFunds funds = transfers::ComputePensionFunds(entries);
  if (entries.empty() || funds.personal_contributions_fen != personal_account_fen ||
      funds.pooled_fund_fen != pooled_fund_fen) {
    return absl::FailedPreconditionError(absl::StrCat("the funds to transfer (", personal_account_fen, " + ",
                                                      pooled_fund_fen, " fen) are not the person's funds in ",
                                                      CityName(city_), " (", funds.personal_contributions_fen,
                                                      " + ", funds.pooled_fund_fen, " fen)"));
  }
  pension_ended_.insert(person.resident_id);
  merged_.erase(person.resident_id);
  adapters::TransferOutCompletion completion;
  completion.ended_on = today;
  complete_replies_[key] = {fingerprint, completion};
  return completion;
}

std::vector<ContributionMonth> MockMobilityRecords::MonthsOf(
    const adapters::PensionTransferSheet& sheet) const {
  std::vector<ContributionMonth> months;
  for (const social::v1::ContributionEntry& e : sheet.months) {
    ContributionMonth m;
    m.city = city_;
    m.kind_code = kPensionKind;
    m.month = absl::CivilMonth(e.year(), e.month());
    m.wage_base_fen = e.wage_base().fen();
    m.personal_fen = e.personal_amount().fen();
    m.employer_fen = e.employer_amount().fen();
    months.push_back(m);
  }
  return months;
}

absl::StatusOr<adapters::TransferInConfirmation> MockMobilityRecords::ConfirmPensionTransferIn(
    const std::string& key, const SyntheticPerson& person, const std::string& application_number, City origin,
    const adapters::PensionTransferSheet& sheet, absl::CivilDay today) {
  const std::string fingerprint =
      absl::StrCat(person.resident_id, "/", application_number, "/", origin, "/", SheetFingerprint(sheet));
  absl::MutexLock lock(&mu_);
  if (auto replay = Replay(confirm_replies_, key, fingerprint)) return *std::move(replay);
  auto application = applications_.find(application_number);
  if (application == applications_.end() || application->second != person.resident_id) {
    return absl::FailedPreconditionError(
        absl::StrCat(CityName(city_), " holds no application ", application_number, " of this person"));
  }
  // The personal account is the origin's balance, taken in full: not compared with the months.
  absl::Status checked = transfers::CheckSheet(sheet);
  if (!checked.ok()) return checked;
  std::vector<ContributionMonth> held = PensionMonthsLocked(person);
  std::vector<ContributionMonth> incoming = MonthsOf(sheet);
  for (const ContributionMonth& in : incoming) {
    for (const ContributionMonth& h : held) {
      if (h.month == in.month) {
        return absl::FailedPreconditionError(absl::StrCat("the month ", absl::FormatCivilTime(in.month),
                                                          " is paid in ", CityName(city_), " already"));
      }
    }
  }
  std::vector<ContributionMonth>& merged = merged_[person.resident_id];
  merged.insert(merged.end(), incoming.begin(), incoming.end());
  applications_.erase(application);
  adapters::TransferInConfirmation confirmation;
  confirmation.confirmed_on = today;
  confirmation.applicant_notified = true;
  confirm_replies_[key] = {fingerprint, confirmation};
  return confirmation;
}

}  // namespace interop::mock_city
