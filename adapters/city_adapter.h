// CityAdapter: the gateway's only view of a city's backend, in canonical types.
//
// Everything that differs between cities (transport, field names, code tables, money units, date
// formats, identity formats, text encoding) lives behind this interface, in adapters/<city>/. The
// gateway never sees a city's dialect.
//
// Contract for every method:
//  - Asynchronous: returns at once and calls `done` exactly once, later, on a gRPC or adapter
//    thread (or, for an immediate local failure, possibly before returning). `done` must not block.
//  - `resident_id` is a validated, normalised 18-character number.
//  - The call ends by `options.deadline` at the latest (the adapter may apply a shorter, per-city
//    deadline from its configuration).
//  - Errors name the city in the message: NOT_FOUND when the city holds no such record,
//    UNAVAILABLE or DEADLINE_EXCEEDED when the city did not answer, INTERNAL when the city's answer
//    could not be translated (a malformed or unmapped value; the message names the field).
//
// Thread-safe: methods may be called concurrently from any thread.
#ifndef INTEROP_ADAPTERS_CITY_ADAPTER_H_
#define INTEROP_ADAPTERS_CITY_ADAPTER_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "interop/common/v1/common.pb.h"
#include "interop/config/v1/medical_rules.pb.h"
#include "interop/household/v1/household.pb.h"
#include "interop/medical/v1/medical.pb.h"
#include "interop/medical/v1/settlement.pb.h"
#include "interop/social/v1/social.pb.h"

namespace interop::adapters {

using ::interop::common::v1::City;

// Which records a city holds for one person.
struct PersonLocation {
  bool found = false;
  bool holds_medical_enrollment = false;
  bool holds_contribution_history = false;
  bool holds_household_registration = false;
};

struct CallOptions {
  // Absolute deadline of the caller; absl::InfiniteFuture() for none.
  absl::Time deadline = absl::InfiniteFuture();
  // The gateway's request id, passed to the city for its own logs.
  std::string request_id;
};

template <typename T>
using Callback = std::function<void(absl::StatusOr<T>)>;

// --- Cross-city medical settlement, in canonical terms (integer fen, civil days, 18-character
// identity numbers, national codes). The insured city is the record of truth for these.

// A person's personal account and one year's accumulators in the insured city.
struct MedicalAccount {
  std::string resident_id;  // 18 characters
  medical::v1::InsuranceType insurance_type = medical::v1::INSURANCE_TYPE_UNSPECIFIED;
  medical::v1::EnrollmentStatus status = medical::v1::ENROLLMENT_STATUS_UNSPECIFIED;
  int64_t balance_fen = 0;
  int year = 0;
  int64_t deductible_used_outpatient_fen = 0;
  int64_t deductible_used_inpatient_fen = 0;
  int64_t fund_paid_fen = 0;
  // Moves with every commit or reversal for the person.
  int64_t version = 0;
};

// A settlement as committed in the insured city.
struct SettlementRecord {
  std::string settlement_id;
  std::string resident_id;  // 18 characters
  int year = 0;
  config::v1::VisitType visit_type = config::v1::VISIT_TYPE_UNSPECIFIED;
  std::string institution_code;
  City treatment_city = City::CITY_UNSPECIFIED;
  absl::CivilDay settle_date;
  int64_t total_fen = 0;
  int64_t deductible_applied_fen = 0;
  int64_t fund_pay_fen = 0;
  int64_t account_pay_fen = 0;
  int64_t cash_pay_fen = 0;
  bool reversed = false;
  absl::CivilDay reversed_date;  // meaningful only when reversed
};

// The answer of a commit or a reversal.
struct CommitResult {
  MedicalAccount account;      // after the commit or reversal (for a replay: as it is now)
  SettlementRecord settlement;  // as recorded by the city
  bool replayed = false;       // the request repeated an earlier one; nothing changed
};

// A cross-city treatment filing as the insured city records it.
struct FilingRecord {
  std::string filing_id;    // assigned by the city
  std::string resident_id;  // 18 characters
  City treatment_city = City::CITY_UNSPECIFIED;
  absl::CivilDay valid_from;
  absl::CivilDay valid_to;
  medical::v1::FilingReason reason = medical::v1::FILING_REASON_UNSPECIFIED;
  bool revoked = false;
};

class CityAdapter {
 public:
  virtual ~CityAdapter() = default;

  virtual City city() const = 0;

  // Which records the city holds for the person. A person the city does not know is found=false,
  // not an error.
  virtual void LocatePerson(const std::string& resident_id, const CallOptions& options,
                            Callback<PersonLocation> done) = 0;

  // The person's medical-insurance status in this city. Fills every field of the response except
  // `provenance`.
  virtual void GetInsuranceStatus(const std::string& resident_id, const CallOptions& options,
                                  Callback<medical::v1::GetInsuranceStatusResponse> done) = 0;

  // The person's contributions paid in this city as MONTHLY entries (month 1-12, months = 1),
  // ascending by year, month, kind; limited to [from_year, to_year], 0 meaning unbounded.
  virtual void GetMonthlyContributions(const std::string& resident_id, int from_year, int to_year,
                                       const CallOptions& options,
                                       Callback<std::vector<social::v1::ContributionEntry>> done) = 0;

  // The person's household registration in this city. Fills every field except `provenance`.
  virtual void GetHouseholdRecord(const std::string& resident_id, const CallOptions& options,
                                  Callback<household::v1::GetHouseholdRecordResponse> done) = 0;

  // Whether the city's backend is serving: OK, or UNAVAILABLE naming the city.
  virtual void CheckHealth(const CallOptions& options, std::function<void(absl::Status)> done) = 0;

  // --- Cross-city medical settlement, answered by the person's insured city. An adapter whose
  // backend does not offer it answers UNIMPLEMENTED naming the city (the defaults below).

  // The person's account and the accumulators of `year`. NOT_FOUND if the city does not insure
  // the person.
  virtual void GetMedicalAccount(const std::string& resident_id, int year, const CallOptions& options,
                                 Callback<MedicalAccount> done);
  // Commits `settlement` (reversed must be false) if the account is still at `expected_version`.
  // Idempotent on settlement_id (same amounts: replayed; different amounts: ALREADY_EXISTS).
  // ABORTED if the version moved; FAILED_PRECONDITION if it would overdraw the account or pass
  // the city's annual cap.
  virtual void CommitSettlement(const SettlementRecord& settlement, int64_t expected_version,
                                const CallOptions& options, Callback<CommitResult> done);
  // Reverses a committed settlement on `reversed_date`; idempotent (replayed). NOT_FOUND if the
  // city has no such settlement for the person.
  virtual void ReverseSettlement(const std::string& settlement_id, const std::string& resident_id,
                                 absl::CivilDay reversed_date, const CallOptions& options,
                                 Callback<CommitResult> done);
  // One settlement committed in this city; NOT_FOUND if none.
  virtual void GetSettlementRecord(const std::string& settlement_id, const CallOptions& options,
                                   Callback<SettlementRecord> done);
  // Every settlement committed in this city with a settle date in [from, to], by settlement_id.
  virtual void ListSettlementRecords(absl::CivilDay from, absl::CivilDay to, const CallOptions& options,
                                     Callback<std::vector<SettlementRecord>> done);
  // Records a filing (filing_id empty, revoked false); answers it with its filing_id.
  virtual void FileTreatment(const FilingRecord& filing, const CallOptions& options,
                             Callback<FilingRecord> done);
  // Revokes a filing; a revoked one is answered unchanged. NOT_FOUND if no such filing.
  virtual void RevokeFiling(const std::string& resident_id, const std::string& filing_id,
                            const CallOptions& options, Callback<FilingRecord> done);
  // The person's filings, revoked ones included, oldest first.
  virtual void ListFilings(const std::string& resident_id, const CallOptions& options,
                           Callback<std::vector<FilingRecord>> done);
};

}  // namespace interop::adapters

#endif  // INTEROP_ADAPTERS_CITY_ADAPTER_H_
