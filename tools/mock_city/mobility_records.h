// MockMobilityRecords: the mock city's household register and pension relationships as they change
// with the cross-city workflows of issue 5 (household migration, pension transfer), in canonical
// terms (adapters/city_adapter.h). The mock city's transports (MockCityBackend over gRPC,
// NationalInterfacePlatform over HTTP/JSON) translate their dialect to and from these calls, and
// answer their read calls (LocatePerson, GetHouseholdRegistration, GetContributions) through it, so
// a person who moved out is no longer registered here and a merged history appears here.
//
// What it holds, on top of the population (which it never changes):
//  - registrations that changed in this city: a person moved out (no longer registered here) or
//    settled in (registered here at a new address, with a new household number);
//  - permits to move in issued here (number, person, address, validity: 40 days from the issue day);
//  - pension relationships that ended here (transferred out: the person's pension months, and so
//    their funds, are no longer held here) and pension months merged in from other cities;
//  - applications and contact letters issued here, and the transfers out prepared here;
//  - every write's answer by its request key: a repeated key is answered from there (replayed),
//    the same key with a different request is ALREADY_EXISTS.
// The funds a city holds for a person are a function of the pension months it shows
// (gateway/transfers/pension_funds.h): the personal account is the sum of the personal amounts (the
// mock pays no interest), the pooled part 12% of the wage bases since 1998-01. So funds move exactly
// with the months, and a transfer conserves both.
//
// In memory only, like the medical ledger: a restarted mock city starts again from the population.
//
// Thread-safe: one mutex.
#ifndef INTEROP_TOOLS_MOCK_CITY_MOBILITY_RECORDS_H_
#define INTEROP_TOOLS_MOCK_CITY_MOBILITY_RECORDS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "adapters/city_adapter.h"
#include "tools/mock_city/population.h"

namespace interop::mock_city {

class MockMobilityRecords {
 public:
  // `population` must outlive the records.
  MockMobilityRecords(const Population& population, City city);

  City city() const { return city_; }

  // --- Reads, as the transports answer them.

  // The person's registration in this city today, or nullopt if not registered here.
  std::optional<HouseholdRegistration> Registration(const SyntheticPerson& person) const;
  // The person's contributions shown by this city: the population's, without the pension months of
  // a relationship that ended here, plus the pension months merged in; ascending by month, then kind.
  std::vector<ContributionMonth> Contributions(const SyntheticPerson& person, int from_year = 0,
                                               int to_year = 0) const;
  // True if this city shows any contribution of the person.
  bool HasContributions(const SyntheticPerson& person) const;
  // True if this city holds any record of the person (medical enrolment aside).
  bool HoldsAnyRecordBesidesMedical(const SyntheticPerson& person) const;

  // --- Household migration. `key` is the gateway's request key (non-empty, at most 200 chars).

  // INVALID_ARGUMENT "address_code: ..." if not a county code of this city; FAILED_PRECONDITION if
  // the person is registered here.
  absl::StatusOr<adapters::MoveInPermit> IssueMoveInPermit(const std::string& key,
                                                           const SyntheticPerson& person, City origin,
                                                           const std::string& address_code,
                                                           absl::CivilDay today);
  // NOT_FOUND if the person is not registered here; FAILED_PRECONDITION if the permit expired.
  absl::StatusOr<adapters::MoveOutRecord> RecordMoveOut(const std::string& key, const SyntheticPerson& person,
                                                        City destination, const std::string& permit_number,
                                                        absl::CivilDay permit_valid_until,
                                                        absl::CivilDay today);
  // `name` is the person's name as the request gives it (UTF-8, decoded from the city's text
  // encoding); like every field of the request, it is part of what a repeated `key` must repeat
  // (ALREADY_EXISTS otherwise). FAILED_PRECONDITION if this city issued no such permit for the
  // person, or the person is registered here already (under another request).
  absl::StatusOr<HouseholdRegistration> SettleIn(const std::string& key, const SyntheticPerson& person,
                                                 const std::string& permit_number,
                                                 const std::string& address_code, const std::string& name,
                                                 absl::CivilDay today, bool* replayed);

  // --- Pension transfer.

  absl::StatusOr<adapters::PensionApplication> ApplyPensionTransfer(const std::string& key,
                                                                    const SyntheticPerson& person,
                                                                    City origin, absl::CivilDay today);
  absl::StatusOr<adapters::ContactLetter> IssueContactLetter(const std::string& key,
                                                             const SyntheticPerson& person,
                                                             const std::string& application_number,
                                                             absl::CivilDay today);
  // NOT_FOUND if no pension months here; FAILED_PRECONDITION if the person still contributes here
  // (paid a pension month in the population's last two months) or the relationship already ended.
  absl::StatusOr<adapters::PreparedTransferOut> PreparePensionTransferOut(const std::string& key,
                                                                          const SyntheticPerson& person,
                                                                          City destination,
                                                                          const std::string& letter_number);
  // FAILED_PRECONDITION if the funds are not (any more) the person's funds here.
  absl::StatusOr<adapters::TransferOutCompletion> CompletePensionTransferOut(
      const std::string& key, const SyntheticPerson& person, City destination,
      const std::string& letter_number, int64_t personal_account_fen, int64_t pooled_fund_fen,
      absl::CivilDay today);
  // Takes the sheet's personal-account balance in full, as the contract says: it is the origin's
  // figure and need not equal the sum of the monthly personal amounts (a real city's balance earns
  // interest). (This mock keeps no balance besides the months: it shows the merged months, and so
  // later answers the sum of their personal amounts as the account.) FAILED_PRECONDITION if no such
  // application, or the sheet does not check out (transfers::CheckSheet: years, the pooled fund
  // exactly, a personal account not negative), or a merged month is already held here.
  absl::StatusOr<adapters::TransferInConfirmation> ConfirmPensionTransferIn(
      const std::string& key, const SyntheticPerson& person, const std::string& application_number,
      City origin, const adapters::PensionTransferSheet& sheet, absl::CivilDay today);

  // The pension months of a sheet, as this city's ContributionMonths (kind "110").
  std::vector<ContributionMonth> MonthsOf(const adapters::PensionTransferSheet& sheet) const;

 private:
  struct Permit {
    std::string resident_id;
    std::string address_code;
    absl::CivilDay valid_until;
  };
  // A remembered answer: the request it answered (a fingerprint) and the answer.
  template <typename T>
  struct Stored {
    std::string fingerprint;
    T answer;
  };
  template <typename T>
  using Replies = absl::flat_hash_map<std::string, Stored<T>>;

  // The stored answer for `key` (replayed), ALREADY_EXISTS for another request, or nullopt.
  template <typename T>
  static std::optional<absl::StatusOr<T>> Replay(const Replies<T>& replies, const std::string& key,
                                                 const std::string& fingerprint);
  std::optional<HouseholdRegistration> RegistrationLocked(const SyntheticPerson& person) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<ContributionMonth> PensionMonthsLocked(const SyntheticPerson& person) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<ContributionMonth> ContributionsLocked(const SyntheticPerson& person, int from_year,
                                                     int to_year) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string NextNumber(absl::string_view prefix) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Population& population_;
  const City city_;
  const std::string city_code_;  // "140100", ...

  mutable absl::Mutex mu_;
  int64_t sequence_ ABSL_GUARDED_BY(mu_) = 0;
  // resident_id -> the registration here (nullopt: moved out).
  absl::flat_hash_map<std::string, std::optional<HouseholdRegistration>> registrations_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Permit> permits_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> pension_ended_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::vector<ContributionMonth>> merged_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> applications_ ABSL_GUARDED_BY(mu_);  // number -> resident_id
  Replies<adapters::MoveInPermit> permit_replies_ ABSL_GUARDED_BY(mu_);
  Replies<adapters::MoveOutRecord> move_out_replies_ ABSL_GUARDED_BY(mu_);
  Replies<HouseholdRegistration> settle_replies_ ABSL_GUARDED_BY(mu_);
  Replies<adapters::PensionApplication> apply_replies_ ABSL_GUARDED_BY(mu_);
  Replies<adapters::ContactLetter> letter_replies_ ABSL_GUARDED_BY(mu_);
  Replies<adapters::PreparedTransferOut> prepare_replies_ ABSL_GUARDED_BY(mu_);
  Replies<adapters::TransferOutCompletion> complete_replies_ ABSL_GUARDED_BY(mu_);
  Replies<adapters::TransferInConfirmation> confirm_replies_ ABSL_GUARDED_BY(mu_);
};

// A pension ContributionMonth as a canonical monthly entry (kind EMPLOYEE_PENSION, months = 1).
social::v1::ContributionEntry ToPensionEntry(const ContributionMonth& month);

}  // namespace interop::mock_city

#endif  // INTEROP_TOOLS_MOCK_CITY_MOBILITY_RECORDS_H_
