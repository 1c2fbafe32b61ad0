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

// A certificate signature made by a city with its own key (see SignCertificate).
struct CertificateSignature {
  std::string signature;  // DER-encoded
  std::string key_id;     // the key that signed; the payload's key_id
  std::string algorithm;  // "ecdsa-p256-sha256" or "sm2-sm3"
};

// --- Household migration and pension transfer, in canonical terms. Each write is one step of a
// gateway workflow (gateway/transfers/) and carries its idempotency key: the city applies it once
// per key and answers a repeated key with its first answer (replayed = true).

// A permit to move in (准予迁入证明), issued by the destination.
struct MoveInPermit {
  std::string permit_number;
  absl::CivilDay issued_on;
  absl::CivilDay valid_until;  // issued_on + 39: valid 40 days
  bool replayed = false;
};

// A move-out (迁出) recorded by the origin.
struct MoveOutRecord {
  std::string previous_address_code;  // six digits, in the origin city
  absl::CivilDay moved_out_on;
  bool replayed = false;
};

// A settling-in (落户) at the destination: the new registration.
struct SettleInResult {
  household::v1::GetHouseholdRecordResponse registration;  // every field but provenance
  bool replayed = false;
};

// An application to transfer a pension relationship in, recorded by the destination.
struct PensionApplication {
  std::string application_number;
  absl::CivilDay applied_on;
  bool replayed = false;
};

// The destination's contact letter (联系函) to the origin.
struct ContactLetter {
  std::string letter_number;
  absl::CivilDay issued_on;
  bool replayed = false;
};

// One year of the information sheet (信息表).
struct PensionSheetYear {
  int year = 0;
  int months = 0;                    // months paid, 1-12
  int64_t wage_base_total_fen = 0;   // sum of the monthly wage bases
  int64_t personal_fen = 0;
  int64_t employer_fen = 0;
};

// The origin's information sheet and the funds it transfers.
struct PensionTransferSheet {
  std::vector<PensionSheetYear> years;                 // ascending
  std::vector<social::v1::ContributionEntry> months;   // pension, MONTHLY entries, ascending
  int64_t personal_account_fen = 0;                    // the personal-account balance, in full
  int64_t pooled_fund_fen = 0;                         // see gateway/transfers/pension_funds.h
};

struct PreparedTransferOut {
  PensionTransferSheet sheet;
  bool replayed = false;
};

struct TransferOutCompletion {
  absl::CivilDay ended_on;
  bool replayed = false;
};

struct TransferInConfirmation {
  absl::CivilDay confirmed_on;
  bool applicant_notified = false;
  bool replayed = false;
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

  // --- Certificates (protos/interop/certificates/v1/certificates.proto).

  // Has the city sign `payload` (a serialized interop.certificates.v1.CertificatePayload naming this
  // city as issuer) with its own key, which never leaves the city. FAILED_PRECONDITION if the city
  // refuses (the payload names another issuer or key); UNIMPLEMENTED naming the city if its backend
  // cannot sign (the default below). The signature is not checked here: the caller checks it
  // against the trust list.
  virtual void SignCertificate(const std::string& payload, const CallOptions& options,
                               Callback<CertificateSignature> done);

  // --- Household migration and pension transfer (contract: city_backend.proto). `request_key` is
  // the workflow's idempotency key. Besides the errors of every call: the city's refusals keep
  // their code (FAILED_PRECONDITION, INVALID_ARGUMENT, ALREADY_EXISTS for a key reused with another
  // request), naming the city; NOT_FOUND as documented; UNIMPLEMENTED naming the city if the backend
  // does not offer them (the defaults below).

  // Destination: a permit for the person to move in from `origin`, to `address_code` (a county of
  // this city). FAILED_PRECONDITION if the person is registered here already.
  virtual void IssueMoveInPermit(const std::string& request_key, const std::string& resident_id, City origin,
                                 const std::string& address_code, const CallOptions& options,
                                 Callback<MoveInPermit> done);
  // Origin: records the move-out to `destination` on its permit. NOT_FOUND if the person is not
  // registered here; FAILED_PRECONDITION if the permit has expired.
  virtual void RecordMoveOut(const std::string& request_key, const std::string& resident_id, City destination,
                             const std::string& permit_number, absl::CivilDay permit_valid_until,
                             const CallOptions& options, Callback<MoveOutRecord> done);
  // Destination: settles the person in at `address_code` on its permit; `name` (UTF-8) as the
  // origin registered it. FAILED_PRECONDITION if it issued no such permit for the person.
  virtual void SettleIn(const std::string& request_key, const std::string& resident_id,
                        const std::string& permit_number, const std::string& address_code, const std::string& name,
                        const CallOptions& options, Callback<SettleInResult> done);
  // Destination: records an application to transfer the pension relationship in from `origin`.
  virtual void ApplyPensionTransfer(const std::string& request_key, const std::string& resident_id, City origin,
                                    const CallOptions& options, Callback<PensionApplication> done);
  // Destination: the contact letter for an application. FAILED_PRECONDITION if no such application.
  virtual void IssueContactLetter(const std::string& request_key, const std::string& resident_id,
                                  const std::string& application_number, const CallOptions& options,
                                  Callback<ContactLetter> done);
  // Origin: checks the record; answers the sheet and funds without changing anything. NOT_FOUND if
  // no pension record here; FAILED_PRECONDITION if the relationship cannot move (says why).
  virtual void PreparePensionTransferOut(const std::string& request_key, const std::string& resident_id,
                                         City destination, const std::string& letter_number,
                                         const CallOptions& options, Callback<PreparedTransferOut> done);
  // Origin: ends the local relationship, transferring out the prepared funds (which must still be
  // the person's: FAILED_PRECONDITION otherwise).
  virtual void CompletePensionTransferOut(const std::string& request_key, const std::string& resident_id,
                                          City destination, const std::string& letter_number,
                                          int64_t personal_account_fen, int64_t pooled_fund_fen,
                                          const CallOptions& options, Callback<TransferOutCompletion> done);
  // Destination: checks the funds against the sheet, merges history and account, notifies the
  // applicant. The pooled fund must be exactly what the sheet's months define; the personal account
  // is the origin's balance, taken in full (not compared with the months, only refused if negative).
  // FAILED_PRECONDITION if the sheet does not check out, or a month of it is paid here already.
  virtual void ConfirmPensionTransferIn(const std::string& request_key, const std::string& resident_id,
                                        const std::string& application_number, City origin,
                                        const PensionTransferSheet& sheet, const CallOptions& options,
                                        Callback<TransferInConfirmation> done);
};

}  // namespace interop::adapters

#endif  // INTEROP_ADAPTERS_CITY_ADAPTER_H_
