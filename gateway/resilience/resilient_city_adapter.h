// ResilientCityAdapter: wraps one city's adapter so that a slow or failing city costs its callers
// little and the other four cities nothing. Every call passes, in order:
//
//   1. the concurrency limit (bulkhead): at most max_concurrent_calls calls to the city in flight;
//      beyond it the call fails at once with UNAVAILABLE, reason CITY_CONCURRENCY_LIMIT;
//   2. the circuit breaker (circuit_breaker.h): while open, the call fails at once with
//      UNAVAILABLE, reason CITY_CIRCUIT_OPEN, the breaker state in the message and the ErrorInfo
//      metadata, and a RetryInfo for when trials resume;
//   3. the deadline: the caller's, capped at now + the city's deadline;
//   4. retries, only for calls that cannot apply twice — reads, and writes the city applies once per
//      key (a settlement id, a workflow step's request key). A write without such a key
//      (FileTreatment, RevokeFiling) is never retried. Only UNAVAILABLE is retried (the city was
//      not reached or not serving), with exponential backoff and full jitter, while the deadline
//      leaves room, at most max_attempts attempts, and only within the city's retry budget
//      (retry_budget.h).
//
// What counts against the breaker: UNAVAILABLE, DEADLINE_EXCEEDED when the city's own deadline
// bound the call, INTERNAL, UNKNOWN and DATA_LOSS. A city's answers — OK, NOT_FOUND and its
// refusals — count as successes. DEADLINE_EXCEEDED of a caller's shorter deadline and CANCELLED
// count as neither.
//
// CheckHealth passes straight through: the gateway's own probe must see the city as it is.
//
// Thread-safe.
#ifndef INTEROP_GATEWAY_RESILIENCE_RESILIENT_CITY_ADAPTER_H_
#define INTEROP_GATEWAY_RESILIENCE_RESILIENT_CITY_ADAPTER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "adapters/city_adapter.h"
#include "gateway/base/clock.h"
#include "gateway/resilience/circuit_breaker.h"
#include "gateway/resilience/delay_scheduler.h"
#include "gateway/resilience/retry_budget.h"
#include "interop/config/v1/gateway_config.pb.h"

namespace interop::resilience {

using ::interop::common::v1::City;

struct ResilienceOptions {
  absl::Duration deadline_cap = absl::Seconds(2);
  int max_concurrent_calls = 1024;
  int max_attempts = 3;
  absl::Duration initial_backoff = absl::Milliseconds(25);
  BreakerOptions breaker;
  RetryBudgetOptions retry_budget;
};

// The options for `city` from the configuration: the city's `resilience` fields, then
// `default_resilience`, then the defaults in ResilienceConfig's comments; the deadline cap is
// CityBackendConfig.deadline_ms, then default_city_deadline_ms, then 2000. INVALID_ARGUMENT naming
// the field ("cities[<city>].resilience.breaker_failure_percent" or
// "default_resilience.breaker_failure_percent") for a percentage over 100.
absl::StatusOr<ResilienceOptions> ResolveResilienceOptions(const config::v1::GatewayConfig& config,
                                                           const config::v1::CityBackendConfig& city);

// The counters of one city, for metrics and operators.
struct ResilienceStats {
  BreakerSnapshot breaker;
  int64_t in_flight = 0;
  uint64_t calls = 0;                    // calls that reached the adapter (first attempts)
  uint64_t retries = 0;                  // further attempts made
  uint64_t retries_refused_by_budget = 0;
  uint64_t refused_by_limit = 0;         // CITY_CONCURRENCY_LIMIT
  uint64_t refused_by_breaker = 0;       // CITY_CIRCUIT_OPEN
};

// Told of every call to the city when it ends: the CityAdapter method, the final code and the
// time from the call to its answer (retries included).
using CityCallListener = std::function<void(City city, absl::string_view method, absl::StatusCode code,
                                            absl::Duration elapsed)>;

class ResilientCityAdapter final : public adapters::CityAdapter {
 public:
  // `inner` is the city's adapter. `clock` and `scheduler` must outlive this adapter and every
  // call made through it. `listener` may be empty.
  ResilientCityAdapter(std::unique_ptr<adapters::CityAdapter> inner, const ResilienceOptions& options,
                       const Clock& clock, DelayScheduler& scheduler, CityCallListener listener = nullptr);
  ~ResilientCityAdapter() override;

  ResilienceStats Stats() const;

  City city() const override { return city_; }

  void LocatePerson(const std::string& resident_id, const adapters::CallOptions& options,
                    adapters::Callback<adapters::PersonLocation> done) override;
  void GetInsuranceStatus(const std::string& resident_id, const adapters::CallOptions& options,
                          adapters::Callback<medical::v1::GetInsuranceStatusResponse> done) override;
  void GetMonthlyContributions(const std::string& resident_id, int from_year, int to_year,
                               const adapters::CallOptions& options,
                               adapters::Callback<std::vector<social::v1::ContributionEntry>> done) override;
  void GetHouseholdRecord(const std::string& resident_id, const adapters::CallOptions& options,
                          adapters::Callback<household::v1::GetHouseholdRecordResponse> done) override;
  void CheckHealth(const adapters::CallOptions& options, std::function<void(absl::Status)> done) override;

  void GetMedicalAccount(const std::string& resident_id, int year, const adapters::CallOptions& options,
                         adapters::Callback<adapters::MedicalAccount> done) override;
  void CommitSettlement(const adapters::SettlementRecord& settlement, int64_t expected_version,
                        const adapters::CallOptions& options, adapters::Callback<adapters::CommitResult> done) override;
  void ReverseSettlement(const std::string& settlement_id, const std::string& resident_id,
                         absl::CivilDay reversed_date, const adapters::CallOptions& options,
                         adapters::Callback<adapters::CommitResult> done) override;
  void GetSettlementRecord(const std::string& settlement_id, const adapters::CallOptions& options,
                           adapters::Callback<adapters::SettlementRecord> done) override;
  void ListSettlementRecords(absl::CivilDay from, absl::CivilDay to, const adapters::CallOptions& options,
                             adapters::Callback<std::vector<adapters::SettlementRecord>> done) override;
  void FileTreatment(const adapters::FilingRecord& filing, const adapters::CallOptions& options,
                     adapters::Callback<adapters::FilingRecord> done) override;
  void RevokeFiling(const std::string& resident_id, const std::string& filing_id,
                    const adapters::CallOptions& options, adapters::Callback<adapters::FilingRecord> done) override;
  void ListFilings(const std::string& resident_id, const adapters::CallOptions& options,
                   adapters::Callback<std::vector<adapters::FilingRecord>> done) override;
  void SignCertificate(const std::string& payload, const adapters::CallOptions& options,
                       adapters::Callback<adapters::CertificateSignature> done) override;

  void IssueMoveInPermit(const std::string& request_key, const std::string& resident_id, City origin,
                         const std::string& address_code, const adapters::CallOptions& options,
                         adapters::Callback<adapters::MoveInPermit> done) override;
  void RecordMoveOut(const std::string& request_key, const std::string& resident_id, City destination,
                     const std::string& permit_number, absl::CivilDay permit_valid_until,
                     const adapters::CallOptions& options, adapters::Callback<adapters::MoveOutRecord> done) override;
  void SettleIn(const std::string& request_key, const std::string& resident_id, const std::string& permit_number,
                const std::string& address_code, const std::string& name, const adapters::CallOptions& options,
                adapters::Callback<adapters::SettleInResult> done) override;
  void ApplyPensionTransfer(const std::string& request_key, const std::string& resident_id, City origin,
                            const adapters::CallOptions& options,
                            adapters::Callback<adapters::PensionApplication> done) override;
  void IssueContactLetter(const std::string& request_key, const std::string& resident_id,
                          const std::string& application_number, const adapters::CallOptions& options,
                          adapters::Callback<adapters::ContactLetter> done) override;
  void PreparePensionTransferOut(const std::string& request_key, const std::string& resident_id, City destination,
                                 const std::string& letter_number, const adapters::CallOptions& options,
                                 adapters::Callback<adapters::PreparedTransferOut> done) override;
  void CompletePensionTransferOut(const std::string& request_key, const std::string& resident_id,
                                  City destination, const std::string& letter_number, int64_t personal_account_fen,
                                  int64_t pooled_fund_fen, const adapters::CallOptions& options,
                                  adapters::Callback<adapters::TransferOutCompletion> done) override;
  void ConfirmPensionTransferIn(const std::string& request_key, const std::string& resident_id,
                                const std::string& application_number, City origin,
                                const adapters::PensionTransferSheet& sheet, const adapters::CallOptions& options,
                                adapters::Callback<adapters::TransferInConfirmation> done) override;

 private:
  // Whether a failed attempt may be repeated.
  enum class Retry { kNever, kOnUnavailable };

  template <typename T>
  struct Call;

  // Runs `attempt` (one call of the inner adapter) under the limit, the breaker, the capped
  // deadline and, if `retry` allows, retries; answers `done` once.
  template <typename T>
  void Run(absl::string_view method, Retry retry, const adapters::CallOptions& options,
           std::function<void(const adapters::CallOptions&, adapters::Callback<T>)> attempt,
           adapters::Callback<T> done);
  template <typename T>
  void StartAttempt(std::shared_ptr<Call<T>> call);
  template <typename T>
  void OnAttemptDone(std::shared_ptr<Call<T>> call, absl::StatusOr<T> result);
  template <typename T>
  void Finish(std::shared_ptr<Call<T>> call, absl::StatusOr<T> result);

  // CITY_CIRCUIT_OPEN for a refused admission.
  absl::Status BreakerRefusal(const CircuitBreaker::Admission& admission) const;
  absl::Duration Backoff(int retry_number);

  const City city_;
  const std::string city_name_;
  std::unique_ptr<adapters::CityAdapter> inner_;
  const ResilienceOptions options_;
  const Clock& clock_;
  DelayScheduler& scheduler_;
  CityCallListener listener_;
  CircuitBreaker breaker_;
  RetryBudget budget_;

  std::atomic<int64_t> in_flight_{0};
  std::atomic<uint64_t> calls_{0};
  std::atomic<uint64_t> retries_{0};
  std::atomic<uint64_t> refused_by_limit_{0};
  std::atomic<uint64_t> refused_by_breaker_{0};
  std::atomic<uint64_t> jitter_state_;
};

}  // namespace interop::resilience

#endif  // INTEROP_GATEWAY_RESILIENCE_RESILIENT_CITY_ADAPTER_H_
