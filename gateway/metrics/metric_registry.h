// MetricRegistry: named metric families with labels, rendered in the Prometheus text exposition
// format 0.0.4 (what GET /metrics of gateway/metrics/metrics_exporter.h serves).
//
//   MetricRegistry registry;
//   CounterFamily& calls = registry.AddCounterFamily("interop_city_calls_total", "Calls to cities.",
//                                                    {"city", "code"});
//   Counter& taiyuan_ok = calls.WithLabels({"taiyuan", "OK"});  // once: it locks the family
//   taiyuan_ok.Increment();                                     // per call: one relaxed atomic add
//
//   HistogramFamily& latency = registry.AddHistogramFamily(
//       "interop_city_call_duration_seconds", "...", {"city"}, LatencyBucketsSeconds());
//   latency.WithLabels({"taiyuan"}).ObserveDuration(absl::Milliseconds(3));
//
//   // Values owned elsewhere, read when /metrics is scraped:
//   CallbackFamily& state = registry.AddCallbackGaugeFamily("interop_city_breaker_state", "...", {"city"});
//   state.Add({"taiyuan"}, [breaker] { return static_cast<double>(breaker->state()); });
//
// Cost model. WithLabels() takes the family's mutex and searches its children: look a child up
// once and keep the reference (children live as long as the registry and never move). On the
// child, Counter::Increment() is one relaxed fetch_add; Gauge::Set() a relaxed store and
// Gauge::Add() a relaxed compare-and-swap loop; Histogram::Observe() a binary search over the
// bucket bounds, one relaxed fetch_add and a relaxed compare-and-swap loop for the sum. No lock is
// taken per observation.
//
// Programming errors crash at once (they are fixed in code, not handled): an invalid metric or
// label name (Prometheus' [a-zA-Z_:][a-zA-Z0-9_:]* and [a-zA-Z_][a-zA-Z0-9_]*, label names not
// starting with "__", no "le" label on a histogram), a name registered twice, a wrong number of
// label values, histogram bounds that are empty, not finite or not strictly increasing.
//
// Thread-safe: every method of every class here may be called from any thread at any time,
// including while RenderText() runs. A scrape is not a snapshot: a histogram observed during the
// scrape may show its new bucket count with the old _sum (its _count always equals its +Inf bucket).
#ifndef INTEROP_GATEWAY_METRICS_METRIC_REGISTRY_H_
#define INTEROP_GATEWAY_METRICS_METRIC_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace interop::metrics {

// Bucket upper bounds in seconds for latencies from 50 µs to 10 s (1-2.5-5 steps):
// 0.00005, 0.0001, 0.00025, 0.0005, 0.001, ..., 2.5, 5, 10.
std::vector<double> LatencyBucketsSeconds();

// `count` bounds start, start*factor, start*factor^2, ... (start > 0, factor > 1, count >= 1).
std::vector<double> ExponentialBuckets(double start, double factor, int count);

// A monotonically increasing count.
class alignas(64) Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void Increment(uint64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down.
class alignas(64) Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Counts of observations in fixed buckets, with their sum. Bucket i counts observations v with
// bounds[i-1] < v <= bounds[i]; the last, implicit bucket (+Inf) those above every bound.
class Histogram {
 public:
  explicit Histogram(std::shared_ptr<const std::vector<double>> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // A NaN observation is ignored.
  void Observe(double value);
  // Observes `duration` in seconds.
  void ObserveDuration(absl::Duration duration) { Observe(absl::ToDoubleSeconds(duration)); }

  struct Snapshot {
    // Cumulative: cumulative_counts[i] counts observations <= bounds[i]; the last element (one
    // more than the bounds) counts all of them and equals `count`.
    std::vector<uint64_t> cumulative_counts;
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Read() const;
  const std::vector<double>& bounds() const { return *bounds_; }

 private:
  std::shared_ptr<const std::vector<double>> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_->size() + 1, not cumulative
  std::atomic<double> sum_{0};
};

enum class MetricType { kCounter, kGauge, kHistogram };

// What every family has: a name, a help text, a type and the names of its labels. Rendering is
// the registry's business; families only hold their children.
class MetricFamily {
 public:
  virtual ~MetricFamily() = default;
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  // Appends the family's samples (not HELP and TYPE) in the text format, children ordered by
  // their label values.
  virtual void AppendSamples(std::string* out) const = 0;

 protected:
  MetricFamily(std::string name, std::string help, MetricType type, std::vector<std::string> label_names);
  // Crashes unless `values` has one value per label name.
  void CheckLabelCount(const std::vector<std::string>& values) const;

 private:
  std::string name_;
  std::string help_;
  MetricType type_;
  std::vector<std::string> label_names_;
};

// A family whose children are Counter, Gauge or Histogram, created at first use.
template <typename Metric>
class LabelledFamily final : public MetricFamily {
 public:
  // The child for `label_values` (one per label name, in order), created at first use. The
  // reference stays valid as long as the registry. Locks the family: call it once per child and
  // keep the reference, not once per observation.
  Metric& WithLabels(const std::vector<std::string>& label_values) ABSL_LOCKS_EXCLUDED(mu_);

  void AppendSamples(std::string* out) const override ABSL_LOCKS_EXCLUDED(mu_);

  // Used by MetricRegistry; `bounds` only for histograms.
  LabelledFamily(std::string name, std::string help, std::vector<std::string> label_names,
                 std::shared_ptr<const std::vector<double>> bounds);

 private:
  std::shared_ptr<const std::vector<double>> bounds_;
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_ ABSL_GUARDED_BY(mu_);
};

using CounterFamily = LabelledFamily<Counter>;
using GaugeFamily = LabelledFamily<Gauge>;
using HistogramFamily = LabelledFamily<Histogram>;

// A counter or gauge family whose children's values are read by a callback at each scrape, for
// values another component already keeps (a circuit breaker's state, calls in flight).
class CallbackFamily final : public MetricFamily {
 public:
  // Adds the child `label_values` (one per label name), whose value is `read()` at each scrape.
  // `read` is called on the scraping thread with the family's lock held: it must be quick, must not
  // block, and must not call this registry. It must stay callable for as long as the registry can
  // be rendered (in the gateway: until the metrics exporter is stopped). Adding the same label
  // values twice crashes. For a counter, `read` must never decrease.
  void Add(const std::vector<std::string>& label_values, std::function<double()> read)
      ABSL_LOCKS_EXCLUDED(mu_);

  void AppendSamples(std::string* out) const override ABSL_LOCKS_EXCLUDED(mu_);

  // Used by MetricRegistry; `type` is kCounter or kGauge.
  CallbackFamily(std::string name, std::string help, MetricType type, std::vector<std::string> label_names);

 private:
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::function<double()>> children_ ABSL_GUARDED_BY(mu_);
};

class MetricRegistry {
 public:
  MetricRegistry() = default;
  MetricRegistry(const MetricRegistry&) = delete;
  MetricRegistry& operator=(const MetricRegistry&) = delete;

  // Each Add*Family registers a new family and returns it; the reference is valid as long as the
  // registry. A family without labels has its single child from the start (it renders as 0), so
  // family.WithLabels({}) is the metric. `help` is one line of text (a newline in it is escaped).
  CounterFamily& AddCounterFamily(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names = {});
  GaugeFamily& AddGaugeFamily(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names = {});
  // `bucket_bounds`: upper bounds, finite and strictly increasing; +Inf is implicit.
  HistogramFamily& AddHistogramFamily(const std::string& name, const std::string& help,
                                      std::vector<std::string> label_names,
                                      std::vector<double> bucket_bounds);
  CallbackFamily& AddCallbackCounterFamily(const std::string& name, const std::string& help,
                                           std::vector<std::string> label_names = {});
  CallbackFamily& AddCallbackGaugeFamily(const std::string& name, const std::string& help,
                                         std::vector<std::string> label_names = {});

  // Every family in the order registered, in the Prometheus text exposition format 0.0.4:
  //   # HELP <name> <help, with \ and newline escaped>
  //   # TYPE <name> counter|gauge|histogram
  //   <name>{<label>="<value, with \ " and newline escaped>",...} <value>
  // and for histograms <name>_bucket{...,le="<bound>"} (cumulative, ending with le="+Inf"),
  // <name>_sum{...} and <name>_count{...}. A family without children has only its HELP and TYPE.
  // Numbers: integers as integers, other values in the shortest form that reads back exactly,
  // "+Inf", "-Inf", "NaN". Ends with a newline (or is empty).
  std::string RenderText() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  template <typename Family>
  Family& Register(std::unique_ptr<Family> family) ABSL_LOCKS_EXCLUDED(mu_);

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<MetricFamily>> families_ ABSL_GUARDED_BY(mu_);
};

// The text format's spelling of `value` (see RenderText). Exposed for tests.
std::string FormatSampleValue(double value);
// `value` with backslash, double quote and newline escaped, as label values are written.
std::string EscapeLabelValue(const std::string& value);

}  // namespace interop::metrics

#endif  // INTEROP_GATEWAY_METRICS_METRIC_REGISTRY_H_
