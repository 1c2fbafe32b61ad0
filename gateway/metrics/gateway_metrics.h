// The gateway's own metrics, on a MetricRegistry (gateway/metrics/metric_registry.h):
//
//   PublicCallMetrics (recorded by gateway/services/call_guard.cc, per public gRPC method):
//     interop_requests_total{method}                    calls admitted to the guard (allowed or refused)
//     interop_responses_total{method,code}              replies sent, by gRPC code name ("OK",
//     "PERMISSION_DENIED") interop_request_duration_seconds{method}          histogram, from admission to the
//     reply
//   CityCallMetrics (recorded by whoever calls the cities, e.g. gateway/resilience/):
//     interop_city_calls_total{city,code}               calls to a city's backend, by gRPC code name
//     interop_city_call_duration_seconds{city}          histogram
//   AccessLogMetrics (fed by AccessLogOptions::commit_observer, gateway/accesslog/access_log.h):
//     interop_accesslog_batch_records                   histogram of records per committed transaction
//     interop_accesslog_commit_duration_seconds         histogram of the transactions (fsync included)
//     interop_accesslog_commit_failures_total           transactions rolled back
//
// `method` is the full gRPC name ("/interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus");
// `city` the lower-case name of gateway/base/cities.h ("taiyuan"; "unspecified" for anything else).
// Latency buckets: LatencyBucketsSeconds() (50 µs .. 10 s).
//
// Cost: recording is a few relaxed atomic operations and, for a public call, one lookup of the
// method in a hash map that is fixed after construction (no lock); the first reply with a given
// code for a method (or city) takes the family's lock once to create that child.
//
// Thread-safe. Each class registers its families in the constructor (so at most one of each per
// registry) and must not outlive the registry.
#ifndef INTEROP_GATEWAY_METRICS_GATEWAY_METRICS_H_
#define INTEROP_GATEWAY_METRICS_GATEWAY_METRICS_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/base/cities.h"
#include "gateway/metrics/metric_registry.h"

namespace interop::metrics {

// "OK", "CANCELLED", ..., "UNAUTHENTICATED" (gRPC's code names); "UNKNOWN" for a value out of range.
absl::string_view GrpcCodeName(absl::StatusCode code);

// The number of gRPC status codes (OK .. UNAUTHENTICATED).
inline constexpr size_t kGrpcCodeCount = 17;

// A counter per gRPC code in one family, each created the first time it is needed and then found
// without a lock.
class CountersByCode {
 public:
  // `fixed_labels` are the family's label values before the last one, which is the code.
  CountersByCode(CounterFamily& family, std::vector<std::string> fixed_labels);
  void Increment(absl::StatusCode code);

 private:
  CounterFamily& family_;
  std::vector<std::string> fixed_labels_;
  std::array<std::atomic<Counter*>, kGrpcCodeCount> counters_{};
};

// Metrics of the public gRPC methods.
class PublicCallMetrics {
 public:
  // The metrics of one method. Obtained from ForMethod(); lives as long as the PublicCallMetrics.
  class Method {
   public:
    // A call to the method reached the guard.
    void Admitted() { requests_->Increment(); }
    // Its reply was sent with `code`, `elapsed` after admission.
    void Answered(absl::StatusCode code, absl::Duration elapsed) {
      responses_.Increment(code);
      duration_->ObserveDuration(elapsed);
    }

   private:
    friend class PublicCallMetrics;
    Method(PublicCallMetrics& owner, const std::string& method);
    Counter* requests_;
    CountersByCode responses_;
    Histogram* duration_;
  };

  // `methods`: the full names of the methods served, whose series exist from the start and are
  // found without a lock. Other names still work (found under a lock).
  PublicCallMetrics(MetricRegistry& registry, const std::vector<std::string>& methods);

  Method& ForMethod(const std::string& method) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  CounterFamily& requests_;
  CounterFamily& responses_;
  HistogramFamily& duration_;
  absl::flat_hash_map<std::string, std::unique_ptr<Method>> known_;  // fixed after construction
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Method>> others_ ABSL_GUARDED_BY(mu_);
};

// Metrics of the calls to the cities' backends.
class CityCallMetrics {
 public:
  explicit CityCallMetrics(MetricRegistry& registry);

  // One call (one attempt, for a caller that retries) to `city` ended with `code` after `duration`.
  void RecordCityCall(City city, absl::StatusCode code, absl::Duration duration);

 private:
  // 0 for CITY_UNSPECIFIED and unknown values, then the five cities in kAllCities order.
  static size_t Slot(City city);
  std::vector<std::unique_ptr<CountersByCode>> calls_;  // by Slot()
  std::vector<Histogram*> durations_;  // by Slot(); null for slot 0 (rare: looked up each time)
  HistogramFamily* duration_family_ = nullptr;
};

// Metrics of the access log's group commits.
class AccessLogMetrics {
 public:
  explicit AccessLogMetrics(MetricRegistry& registry);

  // A transaction of `records` records (0: a checkpoint alone, which is not counted as a batch)
  // took `duration`; `committed` false if it was rolled back.
  void RecordCommit(size_t records, absl::Duration duration, bool committed);

 private:
  Histogram& batch_records_;
  Histogram& commit_duration_;
  Counter& failures_;
};

// Everything above on one registry, as the gateway server holds it.
struct GatewayMetrics {
  explicit GatewayMetrics(const std::vector<std::string>& public_methods)
      : calls(registry, public_methods), city_calls(registry), access_log(registry) {}

  MetricRegistry registry;
  PublicCallMetrics calls;
  CityCallMetrics city_calls;
  AccessLogMetrics access_log;
};

}  // namespace interop::metrics

#endif  // INTEROP_GATEWAY_METRICS_GATEWAY_METRICS_H_
