#include "gateway/resilience/resilient_city_adapter.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gateway/base/cities.h"
#include "gateway/base/log.h"
#include "gateway/base/rich_status.h"

namespace interop::resilience {
namespace {

using adapters::CallOptions;
using adapters::Callback;

absl::Status FieldOver100(absl::string_view prefix, absl::string_view field) {
  return FieldError(absl::StrCat(prefix, field), "a percentage must be at most 100");
}

// The first non-zero of `city`, `fallback`, `otherwise`.
uint32_t Pick(uint32_t city, uint32_t fallback, uint32_t otherwise) {
  if (city != 0) return city;
  if (fallback != 0) return fallback;
  return otherwise;
}

bool CountsAsFailure(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
      return true;
    default:
      return false;
  }
}

}  // namespace

absl::StatusOr<ResilienceOptions> ResolveResilienceOptions(const config::v1::GatewayConfig& config,
                                                           const config::v1::CityBackendConfig& city) {
  const config::v1::ResilienceConfig& own = city.resilience();
  const config::v1::ResilienceConfig& fallback = config.default_resilience();
  const std::string own_prefix = absl::StrCat("cities[", CityName(city.city()), "].resilience.");
  const std::string default_prefix = "default_resilience.";
  if (fallback.retry_budget_percent() > 100) return FieldOver100(default_prefix, "retry_budget_percent");
  if (fallback.breaker_failure_percent() > 100) return FieldOver100(default_prefix, "breaker_failure_percent");
  if (own.retry_budget_percent() > 100) return FieldOver100(own_prefix, "retry_budget_percent");
  if (own.breaker_failure_percent() > 100) return FieldOver100(own_prefix, "breaker_failure_percent");

  ResilienceOptions options;
  options.deadline_cap = absl::Milliseconds(Pick(city.deadline_ms(), config.default_city_deadline_ms(), 2000));
  options.max_concurrent_calls =
      static_cast<int>(Pick(own.max_concurrent_calls(), fallback.max_concurrent_calls(), 1024));
  options.max_attempts = static_cast<int>(Pick(own.max_attempts(), fallback.max_attempts(), 3));
  options.initial_backoff =
      absl::Milliseconds(Pick(own.retry_initial_backoff_ms(), fallback.retry_initial_backoff_ms(), 25));
  options.retry_budget.budget_percent =
      static_cast<int>(Pick(own.retry_budget_percent(), fallback.retry_budget_percent(), 20));
  options.retry_budget.min_per_second =
      static_cast<int>(Pick(own.retry_budget_min_per_second(), fallback.retry_budget_min_per_second(), 10));
  options.breaker.failure_percent =
      static_cast<int>(Pick(own.breaker_failure_percent(), fallback.breaker_failure_percent(), 50));
  options.breaker.minimum_calls =
      static_cast<int>(Pick(own.breaker_minimum_calls(), fallback.breaker_minimum_calls(), 20));
  options.breaker.window = absl::Milliseconds(Pick(own.breaker_window_ms(), fallback.breaker_window_ms(), 10000));
  options.breaker.open_duration = absl::Milliseconds(Pick(own.breaker_open_ms(), fallback.breaker_open_ms(), 5000));
  options.breaker.half_open_calls =
      static_cast<int>(Pick(own.breaker_half_open_calls(), fallback.breaker_half_open_calls(), 3));
  return options;
}

template <typename T>
struct ResilientCityAdapter::Call {
  std::string method;
  Retry retry = Retry::kNever;
  CallOptions options;           // with the capped deadline
  bool caller_deadline_binds = false;
  absl::Time started;
  int attempts = 0;
  CircuitBreaker::Admission admission;  // of the attempt in flight
  std::function<void(const CallOptions&, Callback<T>)> attempt;
  Callback<T> done;
};

ResilientCityAdapter::ResilientCityAdapter(std::unique_ptr<adapters::CityAdapter> inner,
                                           const ResilienceOptions& options, const Clock& clock,
                                           DelayScheduler& scheduler, CityCallListener listener)
    : city_(inner->city()),
      city_name_(CityName(inner->city())),
      inner_(std::move(inner)),
      options_(options),
      clock_(clock),
      scheduler_(scheduler),
      listener_(std::move(listener)),
      breaker_(options.breaker, clock,
               [name = city_name_](BreakerState from, BreakerState to, const BreakerSnapshot& now) {
                 LogWarning("city circuit breaker changed state",
                            {{"city", name},
                             {"from", BreakerStateName(from)},
                             {"to", BreakerStateName(to)},
                             {"window_calls", absl::StrCat(now.window_calls)},
                             {"window_failures", absl::StrCat(now.window_failures)}});
               }),
      budget_(options.retry_budget, clock),
      jitter_state_(0x9E3779B97F4A7C15ULL ^ static_cast<uint64_t>(inner_->city())) {}

ResilientCityAdapter::~ResilientCityAdapter() = default;

ResilienceStats ResilientCityAdapter::Stats() const {
  ResilienceStats stats;
  stats.breaker = breaker_.Snapshot();
  stats.in_flight = in_flight_.load(std::memory_order_relaxed);
  stats.calls = calls_.load(std::memory_order_relaxed);
  stats.retries = retries_.load(std::memory_order_relaxed);
  stats.retries_refused_by_budget = budget_.exhausted_count();
  stats.refused_by_limit = refused_by_limit_.load(std::memory_order_relaxed);
  stats.refused_by_breaker = refused_by_breaker_.load(std::memory_order_relaxed);
  return stats;
}

absl::Status ResilientCityAdapter::BreakerRefusal(const CircuitBreaker::Admission& admission) const {
  const BreakerSnapshot snapshot = breaker_.Snapshot();
  std::string message;
  if (admission.refused_in == BreakerState::kOpen) {
    message = absl::StrFormat(
        "%s: not called, its circuit breaker is open (%d of the last %d calls failed); trial calls resume in %d ms",
        city_name_, snapshot.window_failures, snapshot.window_calls,
        absl::ToInt64Milliseconds(admission.retry_after));
  } else {
    message = absl::StrFormat("%s: not called, its circuit breaker is half-open and its trial calls are in flight",
                              city_name_);
  }
  absl::Status status = Refusal(absl::StatusCode::kUnavailable, "CITY_CIRCUIT_OPEN", message,
                                {{"city", city_name_}, {"breaker_state", BreakerStateName(admission.refused_in)}});
  return WithRetryDelay(status, std::max(admission.retry_after, absl::Milliseconds(100)));
}

absl::Duration ResilientCityAdapter::Backoff(int retry_number) {
  // Full jitter: uniform in [0, initial * 2^(n-1)]. A splitmix64 step per draw; quality is ample
  // for spreading retries.
  uint64_t z = jitter_state_.fetch_add(0x9E3779B97F4A7C15ULL, std::memory_order_relaxed);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  const absl::Duration ceiling = options_.initial_backoff * (1 << std::min(retry_number - 1, 10));
  return ceiling * (static_cast<double>(z >> 11) / static_cast<double>(1ULL << 53));
}

template <typename T>
void ResilientCityAdapter::Run(absl::string_view method, Retry retry, const CallOptions& options,
                               std::function<void(const CallOptions&, Callback<T>)> attempt, Callback<T> done) {
  calls_.fetch_add(1, std::memory_order_relaxed);
  const absl::Time now = clock_.Now();
  if (in_flight_.fetch_add(1, std::memory_order_relaxed) >= options_.max_concurrent_calls) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    refused_by_limit_.fetch_add(1, std::memory_order_relaxed);
    absl::Status status = Refusal(
        absl::StatusCode::kUnavailable, "CITY_CONCURRENCY_LIMIT",
        absl::StrFormat("%s: not called, %d calls to it are in flight already (its concurrency limit)", city_name_,
                        options_.max_concurrent_calls),
        {{"city", city_name_}, {"limit", absl::StrCat(options_.max_concurrent_calls)}});
    if (listener_) listener_(city_, method, status.code(), absl::ZeroDuration());
    done(WithRetryDelay(status, absl::Milliseconds(100)));
    return;
  }
  budget_.RecordCall();
  auto call = std::make_shared<Call<T>>();
  call->method = std::string(method);
  call->retry = retry;
  call->options = options;
  const absl::Time city_deadline = now + options_.deadline_cap;
  call->caller_deadline_binds = options.deadline <= city_deadline;
  call->options.deadline = std::min(options.deadline, city_deadline);
  call->started = now;
  call->attempt = std::move(attempt);
  call->done = std::move(done);
  StartAttempt(std::move(call));
}

template <typename T>
void ResilientCityAdapter::StartAttempt(std::shared_ptr<Call<T>> call) {
  call->admission = breaker_.Admit();
  if (!call->admission.admitted) {
    refused_by_breaker_.fetch_add(1, std::memory_order_relaxed);
    absl::StatusOr<T> refusal = BreakerRefusal(call->admission);
    Finish(std::move(call), std::move(refusal));
    return;
  }
  ++call->attempts;
  auto attempt = call->attempt;  // the call may finish (and drop it) before this returns
  const CallOptions options = call->options;
  attempt(options, [this, call = std::move(call)](absl::StatusOr<T> result) mutable {
    OnAttemptDone(std::move(call), std::move(result));
  });
}

template <typename T>
void ResilientCityAdapter::OnAttemptDone(std::shared_ptr<Call<T>> call, absl::StatusOr<T> result) {
  const absl::StatusCode code = result.status().code();
  const bool callers_own_deadline = code == absl::StatusCode::kDeadlineExceeded && call->caller_deadline_binds;
  if (callers_own_deadline || code == absl::StatusCode::kCancelled) {
    breaker_.Release(call->admission);
  } else {
    breaker_.Record(call->admission, CountsAsFailure(code));
  }

  if (code == absl::StatusCode::kUnavailable && call->retry == Retry::kOnUnavailable &&
      call->attempts < options_.max_attempts) {
    const absl::Duration backoff = Backoff(call->attempts);
    // Retry only if the deadline leaves the backoff and a little time for the attempt itself.
    if (clock_.Now() + backoff + absl::Milliseconds(5) < call->options.deadline && budget_.TryRetry()) {
      retries_.fetch_add(1, std::memory_order_relaxed);
      if (backoff <= absl::ZeroDuration()) {
        StartAttempt(std::move(call));
      } else {
        scheduler_.RunAfter(backoff, [this, call = std::move(call)]() mutable { StartAttempt(std::move(call)); });
      }
      return;
    }
  }
  Finish(std::move(call), std::move(result));
}

template <typename T>
void ResilientCityAdapter::Finish(std::shared_ptr<Call<T>> call, absl::StatusOr<T> result) {
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  if (listener_) listener_(city_, call->method, result.status().code(), clock_.Now() - call->started);
  Callback<T> done = std::move(call->done);
  call.reset();
  done(std::move(result));
}

// --- The CityAdapter methods: which kind of call each is, and the inner call.

void ResilientCityAdapter::LocatePerson(const std::string& resident_id, const CallOptions& options,
                                        Callback<adapters::PersonLocation> done) {
  Run<adapters::PersonLocation>(
      "LocatePerson", Retry::kOnUnavailable, options,
      [this, resident_id](const CallOptions& o, Callback<adapters::PersonLocation> cb) {
        inner_->LocatePerson(resident_id, o, std::move(cb));
      },
      std::move(done));
}

void ResilientCityAdapter::GetInsuranceStatus(const std::string& resident_id, const CallOptions& options,
                                              Callback<medical::v1::GetInsuranceStatusResponse> done) {
  Run<medical::v1::GetInsuranceStatusResponse>(
      "GetInsuranceStatus", Retry::kOnUnavailable, options,
      [this, resident_id](const CallOptions& o, Callback<medical::v1::GetInsuranceStatusResponse> cb) {
        inner_->GetInsuranceStatus(resident_id, o, std::move(cb));
      },
      std::move(done));
}

void ResilientCityAdapter::GetMonthlyContributions(const std::string& resident_id, int from_year, int to_year,
                                                   const CallOptions& options,
                                                   Callback<std::vector<social::v1::ContributionEntry>> done) {
  Run<std::vector<social::v1::ContributionEntry>>(
      "GetMonthlyContributions", Retry::kOnUnavailable, options,
      [this, resident_id, from_year, to_year](const CallOptions& o,
                                              Callback<std::vector<social::v1::ContributionEntry>> cb) {
        inner_->GetMonthlyContributions(resident_id, from_year, to_year, o, std::move(cb));
      },
      std::move(done));
}

void ResilientCityAdapter::GetHouseholdRecord(const std::string& resident_id, const CallOptions& options,
                                              Callback<household::v1::GetHouseholdRecordResponse> done) {
  Run<household::v1::GetHouseholdRecordResponse>(
      "GetHouseholdRecord", Retry::kOnUnavailable, options,
      [this, resident_id](const CallOptions& o, Callback<household::v1::GetHouseholdRecordResponse> cb) {
        inner_->GetHouseholdRecord(resident_id, o, std::move(cb));
      },
      std::move(done));
}

void ResilientCityAdapter::CheckHealth(const CallOptions& options, std::function<void(absl::Status)> done) {
  inner_->CheckHealth(options, std::move(done));
}

void ResilientCityAdapter::GetMedicalAccount(const std::string& resident_id, int year, const CallOptions& options,
                                             Callback<adapters::MedicalAccount> done) {
  Run<adapters::MedicalAccount>(
      "GetMedicalAccount", Retry::kOnUnavailable, options,
      [this, resident_id, year](const CallOptions& o, Callback<adapters::MedicalAccount> cb) {
        inner_->GetMedicalAccount(resident_id, year, o, std::move(cb));
      },
      std::move(done));
}

void ResilientCityAdapter::CommitSettlement(const adapters::SettlementRecord& settlement, int64_t expected_version,
                                            const CallOptions& options, Callback<adapters::CommitResult> done) {
  // Applied once per settlement_id by the city.
  Run<adapters::CommitResult>(
      "CommitSettlement", Retry::kOnUnavailable, options,
      [this, settlement, expected_version](const CallOptions& o, Callback<adapters::CommitResult> cb) {
        inner_->CommitSettlement(settlement, expected_version, o, std::move(cb));
      },
      std::move(done));
}

void ResilientCityAdapter::ReverseSettlement(const std::string& settlement_id, const std::string& resident_id,
                                             absl::CivilDay reversed_date, const CallOptions& options,
                                             Callback<adapters::CommitResult> done) {
  // Applied once per settlement_id by the city.
  Run<adapters::CommitResult>(
      "ReverseSettlement", Retry::kOnUnavailable, options,
      [this, settlement_id, resident_id, reversed_date](const CallOptions& o, Callback<adapters::CommitResult> cb) {
        inner_->ReverseSettlement(settlement_id, resident_id, reversed_date, o, std::move(cb));
      },
      std::move(done));
}

void ResilientCityAdapter::GetSettlementRecord(const std::string& settlement_id, const CallOptions& options,
                                               Callback<adapters::SettlementRecord> done) {
  Run<adapters::SettlementRecord>(
      "GetSettlementRecord", Retry::kOnUnavailable, options,
      [this, settlement_id](const CallOptions& o, Callback<adapters::SettlementRecord> cb) {
        inner_->GetSettlementRecord(settlement_id, o, std::move(cb));
      },
      std::move(done));
}

void ResilientCityAdapter::ListSettlementRecords(absl::CivilDay from, absl::CivilDay to, const CallOptions& options,
                                                 Callback<std::vector<adapters::SettlementRecord>> done) {
  Run<std::vector<adapters::SettlementRecord>>(
      "ListSettlementRecords", Retry::kOnUnavailable, options,
      [this, from, to](const CallOptions& o, Callback<std::vector<adapters::SettlementRecord>> cb) {
        inner_->ListSettlementRecords(from, to, o, std::move(cb));
      },
      std::move(done));
}

void ResilientCityAdapter::FileTreatment(const adapters::FilingRecord& filing, const CallOptions& options,
                                         Callback<adapters::FilingRecord> done) {
  // The city assigns the filing id: a repeated call would file twice. Never retried.
  Run<adapters::FilingRecord>(
      "FileTreatment", Retry::kNever, options,
      [this, filing](const CallOptions& o, Callback<adapters::FilingRecord> cb) {
        inner_->FileTreatment(filing, o, std::move(cb));
      },
      std::move(done));
}

void ResilientCityAdapter::RevokeFiling(const std::string& resident_id, const std::string& filing_id,
                                        const CallOptions& options, Callback<adapters::FilingRecord> done) {
  // A write without an idempotency key: never retried.
  Run<adapters::FilingRecord>(
      "RevokeFiling", Retry::kNever, options,
      [this, resident_id, filing_id](const CallOptions& o, Callback<adapters::FilingRecord> cb) {
        inner_->RevokeFiling(resident_id, filing_id, o, std::move(cb));
      },
      std::move(done));
}

void ResilientCityAdapter::ListFilings(const std::string& resident_id, const CallOptions& options,
                                       Callback<std::vector<adapters::FilingRecord>> done) {
  Run<std::vector<adapters::FilingRecord>>(
      "ListFilings", Retry::kOnUnavailable, options,
      [this, resident_id](const CallOptions& o, Callback<std::vector<adapters::FilingRecord>> cb) {
        inner_->ListFilings(resident_id, o, std::move(cb));
      },
      std::move(done));
}

void ResilientCityAdapter::SignCertificate(const std::string& payload, const CallOptions& options,
                                           Callback<adapters::CertificateSignature> done) {
  // Signing changes nothing in the city: safe to repeat.
  Run<adapters::CertificateSignature>(
      "SignCertificate", Retry::kOnUnavailable, options,
      [this, payload](const CallOptions& o, Callback<adapters::CertificateSignature> cb) {
        inner_->SignCertificate(payload, o, std::move(cb));
      },
      std::move(done));
}

// The workflow steps below carry their request key; the city applies each once per key.

void ResilientCityAdapter::IssueMoveInPermit(const std::string& request_key, const std::string& resident_id,
                                             City origin, const std::string& address_code,
                                             const CallOptions& options, Callback<adapters::MoveInPermit> done) {
  Run<adapters::MoveInPermit>(
      "IssueMoveInPermit", Retry::kOnUnavailable, options,
      [this, request_key, resident_id, origin, address_code](const CallOptions& o,
                                                              Callback<adapters::MoveInPermit> cb) {
        inner_->IssueMoveInPermit(request_key, resident_id, origin, address_code, o, std::move(cb));
      },
      std::move(done));
}

void ResilientCityAdapter::RecordMoveOut(const std::string& request_key, const std::string& resident_id,
                                         City destination, const std::string& permit_number,
                                         absl::CivilDay permit_valid_until, const CallOptions& options,
                                         Callback<adapters::MoveOutRecord> done) {
  Run<adapters::MoveOutRecord>(
      "RecordMoveOut", Retry::kOnUnavailable, options,
      [this, request_key, resident_id, destination, permit_number, permit_valid_until](
          const CallOptions& o, Callback<adapters::MoveOutRecord> cb) {
        inner_->RecordMoveOut(request_key, resident_id, destination, permit_number, permit_valid_until, o,
                              std::move(cb));
      },
      std::move(done));
}

void ResilientCityAdapter::SettleIn(const std::string& request_key, const std::string& resident_id,
                                    const std::string& permit_number, const std::string& address_code,
                                    const std::string& name, const CallOptions& options,
                                    Callback<adapters::SettleInResult> done) {
  Run<adapters::SettleInResult>(
      "SettleIn", Retry::kOnUnavailable, options,
      [this, request_key, resident_id, permit_number, address_code, name](const CallOptions& o,
                                                                           Callback<adapters::SettleInResult> cb) {
        inner_->SettleIn(request_key, resident_id, permit_number, address_code, name, o, std::move(cb));
      },
      std::move(done));
}

void ResilientCityAdapter::ApplyPensionTransfer(const std::string& request_key, const std::string& resident_id,
                                                City origin, const CallOptions& options,
                                                Callback<adapters::PensionApplication> done) {
  Run<adapters::PensionApplication>(
      "ApplyPensionTransfer", Retry::kOnUnavailable, options,
      [this, request_key, resident_id, origin](const CallOptions& o, Callback<adapters::PensionApplication> cb) {
        inner_->ApplyPensionTransfer(request_key, resident_id, origin, o, std::move(cb));
      },
      std::move(done));
}

void ResilientCityAdapter::IssueContactLetter(const std::string& request_key, const std::string& resident_id,
                                              const std::string& application_number, const CallOptions& options,
                                              Callback<adapters::ContactLetter> done) {
  Run<adapters::ContactLetter>(
      "IssueContactLetter", Retry::kOnUnavailable, options,
      [this, request_key, resident_id, application_number](const CallOptions& o,
                                                            Callback<adapters::ContactLetter> cb) {
        inner_->IssueContactLetter(request_key, resident_id, application_number, o, std::move(cb));
      },
      std::move(done));
}

void ResilientCityAdapter::PreparePensionTransferOut(const std::string& request_key, const std::string& resident_id,
                                                     City destination, const std::string& letter_number,
                                                     const CallOptions& options,
                                                     Callback<adapters::PreparedTransferOut> done) {
  Run<adapters::PreparedTransferOut>(
      "PreparePensionTransferOut", Retry::kOnUnavailable, options,
      [this, request_key, resident_id, destination, letter_number](const CallOptions& o,
                                                                    Callback<adapters::PreparedTransferOut> cb) {
        inner_->PreparePensionTransferOut(request_key, resident_id, destination, letter_number, o, std::move(cb));
      },
      std::move(done));
}

void ResilientCityAdapter::CompletePensionTransferOut(const std::string& request_key, const std::string& resident_id,
                                                      City destination, const std::string& letter_number,
                                                      int64_t personal_account_fen, int64_t pooled_fund_fen,
                                                      const CallOptions& options,
                                                      Callback<adapters::TransferOutCompletion> done) {
  Run<adapters::TransferOutCompletion>(
      "CompletePensionTransferOut", Retry::kOnUnavailable, options,
      [this, request_key, resident_id, destination, letter_number, personal_account_fen, pooled_fund_fen](
          const CallOptions& o, Callback<adapters::TransferOutCompletion> cb) {
        inner_->CompletePensionTransferOut(request_key, resident_id, destination, letter_number,
                                           personal_account_fen, pooled_fund_fen, o, std::move(cb));
      },
      std::move(done));
}

void ResilientCityAdapter::ConfirmPensionTransferIn(const std::string& request_key, const std::string& resident_id,
                                                    const std::string& application_number, City origin,
                                                    const adapters::PensionTransferSheet& sheet,
                                                    const CallOptions& options,
                                                    Callback<adapters::TransferInConfirmation> done) {
  Run<adapters::TransferInConfirmation>(
      "ConfirmPensionTransferIn", Retry::kOnUnavailable, options,
      [this, request_key, resident_id, application_number, origin, sheet](
          const CallOptions& o, Callback<adapters::TransferInConfirmation> cb) {
        inner_->ConfirmPensionTransferIn(request_key, resident_id, application_number, origin, sheet, o,
                                         std::move(cb));
      },
      std::move(done));
}

}  // namespace interop::resilience
