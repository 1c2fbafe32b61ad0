// What recording a metric costs on the hot path (gateway/metrics/), in ns per operation, with one
// and two threads recording into the SAME child (the contended case: every call of a busy method
// lands on one counter) and into a child per thread. Run:
//   build/bench/metrics_bench --benchmark_min_time=0.5
// Figures go to docs/BENCHMARKS.md by hand, with the machine they ran on.
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "gateway/metrics/gateway_metrics.h"
#include "gateway/metrics/metric_registry.h"

namespace interop::metrics {
namespace {

constexpr char kMethod[] = "/interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus";

MetricRegistry& Registry() {
  static MetricRegistry* registry = new MetricRegistry();
  return *registry;
}

CounterFamily& Counters() {
  static CounterFamily* family = &Registry().AddCounterFamily("bench_total", "bench", {"thread"});
  return *family;
}

HistogramFamily& Histograms() {
  static HistogramFamily* family =
      &Registry().AddHistogramFamily("bench_seconds", "bench", {"thread"}, LatencyBucketsSeconds());
  return *family;
}

GatewayMetrics& Gateway() {
  static GatewayMetrics* metrics = new GatewayMetrics({kMethod});
  return *metrics;
}

void BM_CounterIncrementShared(benchmark::State& state) {
  Counter& counter = Counters().WithLabels({"shared"});
  for (auto _ : state) counter.Increment();
}
BENCHMARK(BM_CounterIncrementShared)->Threads(1)->Threads(2)->UseRealTime();

void BM_CounterIncrementPerThread(benchmark::State& state) {
  Counter& counter = Counters().WithLabels({std::to_string(state.thread_index())});
  for (auto _ : state) counter.Increment();
}
BENCHMARK(BM_CounterIncrementPerThread)->Threads(1)->Threads(2)->UseRealTime();

void BM_HistogramObserveShared(benchmark::State& state) {
  Histogram& histogram = Histograms().WithLabels({"shared"});
  double value = 0.0003 + 0.0001 * state.thread_index();
  for (auto _ : state) histogram.Observe(value);
}
BENCHMARK(BM_HistogramObserveShared)->Threads(1)->Threads(2)->UseRealTime();

void BM_HistogramObservePerThread(benchmark::State& state) {
  Histogram& histogram = Histograms().WithLabels({std::to_string(state.thread_index())});
  double value = 0.0003;
  for (auto _ : state) histogram.Observe(value);
}
BENCHMARK(BM_HistogramObservePerThread)->Threads(1)->Threads(2)->UseRealTime();

// Everything the call guard records for one public call: the method lookup, the request counter,
// the reply counter by code and the duration histogram.
void BM_PublicCallRecorded(benchmark::State& state) {
  const std::string method = kMethod;
  for (auto _ : state) {
    PublicCallMetrics::Method& metrics = Gateway().calls.ForMethod(method);
    metrics.Admitted();
    metrics.Answered(absl::StatusCode::kOk, absl::Microseconds(800));
  }
}
BENCHMARK(BM_PublicCallRecorded)->Threads(1)->Threads(2)->UseRealTime();

// What the resilience layer records per city call.
void BM_CityCallRecorded(benchmark::State& state) {
  for (auto _ : state) {
    Gateway().city_calls.RecordCityCall(City::CITY_TAIYUAN, absl::StatusCode::kOk, absl::Microseconds(400));
  }
}
BENCHMARK(BM_CityCallRecorded)->Threads(1)->Threads(2)->UseRealTime();

// One scrape of the gateway's families with 40 methods and five cities that have all been called
// (about 1,400 lines), for scale.
void BM_RenderGatewayMetrics(benchmark::State& state) {
  std::vector<std::string> methods;
  for (int i = 0; i < 40; ++i) methods.push_back("/interop.bench.v1.Service/Method" + std::to_string(i));
  GatewayMetrics metrics(methods);
  for (const std::string& method : methods) {
    metrics.calls.ForMethod(method).Admitted();
    metrics.calls.ForMethod(method).Answered(absl::StatusCode::kOk, absl::Milliseconds(1));
  }
  for (City city : kAllCities)
    metrics.city_calls.RecordCityCall(city, absl::StatusCode::kOk, absl::Milliseconds(1));
  size_t bytes = 0;
  for (auto _ : state) {
    std::string text = metrics.registry.RenderText();
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_RenderGatewayMetrics);

}  // namespace
}  // namespace interop::metrics

BENCHMARK_MAIN();
