#include "gateway/metrics/gateway_metrics.h"

namespace interop::metrics {

absl::string_view GrpcCodeName(absl::StatusCode code) {
  static constexpr std::array<absl::string_view, kGrpcCodeCount> kNames = {
      "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
      "DATA_LOSS", "UNAUTHENTICATED"};
  size_t index = static_cast<size_t>(code);
  return index < kNames.size() ? kNames[index] : "UNKNOWN";
}

CountersByCode::CountersByCode(CounterFamily& family, std::vector<std::string> fixed_labels)
    : family_(family), fixed_labels_(std::move(fixed_labels)) {}

void CountersByCode::Increment(absl::StatusCode code) {
  size_t index = static_cast<size_t>(code);
  if (index >= kGrpcCodeCount) index = static_cast<size_t>(absl::StatusCode::kUnknown);
  Counter* counter = counters_[index].load(std::memory_order_acquire);
  if (counter == nullptr) {
    // Two threads may both get here: the family returns the same child to both.
    std::vector<std::string> labels = fixed_labels_;
    labels.emplace_back(GrpcCodeName(static_cast<absl::StatusCode>(index)));
    counter = &family_.WithLabels(labels);
    counters_[index].store(counter, std::memory_order_release);
  }
  counter->Increment();
}

PublicCallMetrics::Method::Method(PublicCallMetrics& owner, const std::string& method)
    : requests_(&owner.requests_.WithLabels({method})),
      responses_(owner.responses_, {method}),
      duration_(&owner.duration_.WithLabels({method})) {}

PublicCallMetrics::PublicCallMetrics(MetricRegistry& registry, const std::vector<std::string>& methods)
    : requests_(registry.AddCounterFamily("interop_requests_total",
                                          "Calls to the gateway's public methods, allowed or refused.",
                                          {"method"})),
      responses_(registry.AddCounterFamily("interop_responses_total",
                                           "Replies of the gateway's public methods, by gRPC status code.",
                                           {"method", "code"})),
      duration_(registry.AddHistogramFamily("interop_request_duration_seconds",
                                            "Time from the admission of a public call to its reply.",
                                            {"method"}, LatencyBucketsSeconds())) {
  for (const std::string& method : methods) {
    if (!known_.contains(method)) known_.emplace(method, std::unique_ptr<Method>(new Method(*this, method)));
  }
}

PublicCallMetrics::Method& PublicCallMetrics::ForMethod(const std::string& method) {
  auto known = known_.find(method);
  if (known != known_.end()) return *known->second;
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Method>& other = others_[method];
  if (other == nullptr) other.reset(new Method(*this, method));
  return *other;
}

CityCallMetrics::CityCallMetrics(MetricRegistry& registry) {
  CounterFamily& calls = registry.AddCounterFamily(
      "interop_city_calls_total", "Calls to the cities' backends, by gRPC status code.", {"city", "code"});
  HistogramFamily& durations = registry.AddHistogramFamily("interop_city_call_duration_seconds",
                                                           "Duration of the calls to the cities' backends.",
                                                           {"city"}, LatencyBucketsSeconds());
  std::vector<City> slots = {City::CITY_UNSPECIFIED};
  slots.insert(slots.end(), kAllCities.begin(), kAllCities.end());
  for (City city : slots) {
    std::string name(CityName(city));
    calls_.push_back(std::make_unique<CountersByCode>(calls, std::vector<std::string>{name}));
    // The unspecified slot's histogram would be a series of zeros: it is made on first use.
    durations_.push_back(city == City::CITY_UNSPECIFIED ? nullptr : &durations.WithLabels({name}));
  }
  duration_family_ = &durations;
}

size_t CityCallMetrics::Slot(City city) {
  for (size_t i = 0; i < kAllCities.size(); ++i) {
    if (kAllCities[i] == city) return i + 1;
  }
  return 0;
}

void CityCallMetrics::RecordCityCall(City city, absl::StatusCode code, absl::Duration duration) {
  size_t slot = Slot(city);
  calls_[slot]->Increment(code);
  Histogram* histogram = durations_[slot];
  if (histogram == nullptr) {
    histogram = &duration_family_->WithLabels({std::string(CityName(City::CITY_UNSPECIFIED))});
  }
  histogram->ObserveDuration(duration);
}

AccessLogMetrics::AccessLogMetrics(MetricRegistry& registry)
    : batch_records_(registry
                         .AddHistogramFamily("interop_accesslog_batch_records",
                                             "Access records per group commit of the access log.", {},
                                             ExponentialBuckets(1, 2, 11))
                         .WithLabels({})),
      commit_duration_(registry
                           .AddHistogramFamily("interop_accesslog_commit_duration_seconds",
                                               "Duration of the access log's group commits, fsync included.",
                                               {}, LatencyBucketsSeconds())
                           .WithLabels({})),
      failures_(registry
                    .AddCounterFamily("interop_accesslog_commit_failures_total",
                                      "Group commits of the access log that were rolled back.")
                    .WithLabels({})) {}

void AccessLogMetrics::RecordCommit(size_t records, absl::Duration duration, bool committed) {
  if (!committed) failures_.Increment();
  if (records > 0) batch_records_.Observe(static_cast<double>(records));
  commit_duration_.ObserveDuration(duration);
}

}  // namespace interop::metrics
