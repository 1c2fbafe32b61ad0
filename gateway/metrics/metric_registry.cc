#include "gateway/metrics/metric_registry.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <type_traits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gateway/base/log.h"

namespace interop::metrics {
namespace {

// Programming errors in the use of the registry: fixed in code, so they stop the process.
[[noreturn]] void Fail(const std::string& what) {
  LogError("metrics: invalid use of the registry", {{"error", what}});
  std::abort();
}

bool IsValidName(const std::string& name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_' || (allow_colon && c == ':') ||
              (i > 0 && absl::ascii_isdigit(static_cast<unsigned char>(c)));
    if (!ok) return false;
  }
  return true;
}

void CheckBounds(const std::vector<double>& bounds, const std::string& name) {
  if (bounds.empty()) Fail(absl::StrCat(name, ": a histogram needs at least one bucket bound"));
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) Fail(absl::StrCat(name, ": bucket bounds must be finite"));
    if (i > 0 && !(bounds[i - 1] < bounds[i]))
      Fail(absl::StrCat(name, ": bucket bounds must increase strictly"));
  }
}

// Adds `delta` to an atomic double with relaxed ordering.
void AtomicAdd(std::atomic<double>& target, double delta) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + delta, std::memory_order_relaxed)) {
  }
}

std::string EscapeHelp(const std::string& help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// `{a="x",b="y"}` for the label names and values, plus `extra` (already formatted, e.g.
// `le="0.5"`) at the end; "" when there is nothing to put between the braces.
std::string LabelSet(const std::vector<std::string>& names, const std::vector<std::string>& values,
                     const std::string& extra = "") {
  if (names.empty() && extra.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    absl::StrAppend(&out, names[i], "=\"", EscapeLabelValue(values[i]), "\"");
  }
  if (!extra.empty()) {
    if (!names.empty()) out += ',';
    out += extra;
  }
  out += '}';
  return out;
}

const char* TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

void AppendSample(std::string* out, const std::string& name, const std::string& labels,
                  const std::string& value) {
  absl::StrAppend(out, name, labels, " ", value, "\n");
}

}  // namespace

std::vector<double> LatencyBucketsSeconds() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  if (!(start > 0) || !(factor > 1) || count < 1)
    Fail("ExponentialBuckets: start > 0, factor > 1, count >= 1");
  std::vector<double> bounds;
  bounds.reserve(static_cast<size_t>(count));
  double bound = start;
  for (int i = 0; i < count; ++i) {
    bounds.push_back(bound);
    bound *= factor;
  }
  return bounds;
}

std::string FormatSampleValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Integers (counts, most gauges) print as integers, as long as a double holds them exactly.
  if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  char buffer[32];
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  return buffer;
}

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

void Gauge::Add(double delta) { AtomicAdd(value_, delta); }

Histogram::Histogram(std::shared_ptr<const std::vector<double>> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<uint64_t>[bounds_->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  // The first bound >= value: buckets are "less than or equal".
  size_t bucket =
      static_cast<size_t>(std::lower_bound(bounds_->begin(), bounds_->end(), value) - bounds_->begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, value);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  snapshot.cumulative_counts.resize(bounds_->size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    snapshot.cumulative_counts[i] = running;
  }
  snapshot.count = running;
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

MetricFamily::MetricFamily(std::string name, std::string help, MetricType type,
                           std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), type_(type), label_names_(std::move(label_names)) {
  if (!IsValidName(name_, /*allow_colon=*/true)) Fail(absl::StrCat("invalid metric name \"", name_, "\""));
  for (size_t i = 0; i < label_names_.size(); ++i) {
    const std::string& label = label_names_[i];
    if (!IsValidName(label, /*allow_colon=*/false) || label.rfind("__", 0) == 0) {
      Fail(absl::StrCat(name_, ": invalid label name \"", label, "\""));
    }
    if (type_ == MetricType::kHistogram && label == "le")
      Fail(absl::StrCat(name_, ": a histogram cannot use \"le\""));
    if (std::find(label_names_.begin(), label_names_.begin() + static_cast<std::ptrdiff_t>(i), label) !=
        label_names_.begin() + static_cast<std::ptrdiff_t>(i)) {
      Fail(absl::StrCat(name_, ": label \"", label, "\" given twice"));
    }
  }
}

void MetricFamily::CheckLabelCount(const std::vector<std::string>& values) const {
  if (values.size() != label_names_.size()) {
    Fail(absl::StrCat(name_, ": ", values.size(), " label values for ", label_names_.size(), " labels (",
                      absl::StrJoin(label_names_, ","), ")"));
  }
}

template <typename Metric>
LabelledFamily<Metric>::LabelledFamily(std::string name, std::string help,
                                       std::vector<std::string> label_names,
                                       std::shared_ptr<const std::vector<double>> bounds)
    : MetricFamily(std::move(name), std::move(help),
                   std::is_same_v<Metric, Counter> ? MetricType::kCounter
                   : std::is_same_v<Metric, Gauge> ? MetricType::kGauge
                                                   : MetricType::kHistogram,
                   std::move(label_names)),
      bounds_(std::move(bounds)) {
  if (this->label_names().empty()) WithLabels({});
}

template <typename Metric>
Metric& LabelledFamily<Metric>::WithLabels(const std::vector<std::string>& label_values) {
  CheckLabelCount(label_values);
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Metric>& child = children_[label_values];
  if (child == nullptr) {
    if constexpr (std::is_same_v<Metric, Histogram>) {
      child = std::make_unique<Histogram>(bounds_);
    } else {
      child = std::make_unique<Metric>();
    }
  }
  return *child;
}

template <typename Metric>
void LabelledFamily<Metric>::AppendSamples(std::string* out) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [values, child] : children_) {
    if constexpr (std::is_same_v<Metric, Histogram>) {
      Histogram::Snapshot snapshot = child->Read();
      const std::vector<double>& bounds = child->bounds();
      const std::string bucket_name = absl::StrCat(name(), "_bucket");
      for (size_t i = 0; i <= bounds.size(); ++i) {
        std::string le =
            absl::StrCat("le=\"", i < bounds.size() ? FormatSampleValue(bounds[i]) : "+Inf", "\"");
        AppendSample(out, bucket_name, LabelSet(label_names(), values, le),
                     absl::StrCat(snapshot.cumulative_counts[i]));
      }
      std::string labels = LabelSet(label_names(), values);
      AppendSample(out, absl::StrCat(name(), "_sum"), labels, FormatSampleValue(snapshot.sum));
      AppendSample(out, absl::StrCat(name(), "_count"), labels, absl::StrCat(snapshot.count));
    } else if constexpr (std::is_same_v<Metric, Counter>) {
      AppendSample(out, name(), LabelSet(label_names(), values), absl::StrCat(child->Value()));
    } else {
      AppendSample(out, name(), LabelSet(label_names(), values), FormatSampleValue(child->Value()));
    }
  }
}

template class LabelledFamily<Counter>;
template class LabelledFamily<Gauge>;
template class LabelledFamily<Histogram>;

CallbackFamily::CallbackFamily(std::string name, std::string help, MetricType type,
                               std::vector<std::string> label_names)
    : MetricFamily(std::move(name), std::move(help), type, std::move(label_names)) {
  if (type == MetricType::kHistogram)
    Fail(absl::StrCat(this->name(), ": callback families are counters or gauges"));
}

void CallbackFamily::Add(const std::vector<std::string>& label_values, std::function<double()> read) {
  CheckLabelCount(label_values);
  if (read == nullptr) Fail(absl::StrCat(name(), ": empty callback"));
  absl::MutexLock lock(&mu_);
  if (!children_.emplace(label_values, std::move(read)).second) {
    Fail(absl::StrCat(name(), ": child {", absl::StrJoin(label_values, ","), "} added twice"));
  }
}

void CallbackFamily::AppendSamples(std::string* out) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [values, read] : children_) {
    AppendSample(out, name(), LabelSet(label_names(), values), FormatSampleValue(read()));
  }
}

template <typename Family>
Family& MetricRegistry::Register(std::unique_ptr<Family> family) {
  Family& result = *family;
  absl::MutexLock lock(&mu_);
  for (const std::unique_ptr<MetricFamily>& existing : families_) {
    if (existing->name() == family->name())
      Fail(absl::StrCat("metric \"", family->name(), "\" registered twice"));
  }
  families_.push_back(std::move(family));
  return result;
}

CounterFamily& MetricRegistry::AddCounterFamily(const std::string& name, const std::string& help,
                                                std::vector<std::string> label_names) {
  return Register(std::make_unique<CounterFamily>(name, help, std::move(label_names), nullptr));
}

GaugeFamily& MetricRegistry::AddGaugeFamily(const std::string& name, const std::string& help,
                                            std::vector<std::string> label_names) {
  return Register(std::make_unique<GaugeFamily>(name, help, std::move(label_names), nullptr));
}

HistogramFamily& MetricRegistry::AddHistogramFamily(const std::string& name, const std::string& help,
                                                    std::vector<std::string> label_names,
                                                    std::vector<double> bucket_bounds) {
  CheckBounds(bucket_bounds, name);
  auto bounds = std::make_shared<const std::vector<double>>(std::move(bucket_bounds));
  return Register(std::make_unique<HistogramFamily>(name, help, std::move(label_names), std::move(bounds)));
}

CallbackFamily& MetricRegistry::AddCallbackCounterFamily(const std::string& name, const std::string& help,
                                                         std::vector<std::string> label_names) {
  return Register(std::make_unique<CallbackFamily>(name, help, MetricType::kCounter, std::move(label_names)));
}

CallbackFamily& MetricRegistry::AddCallbackGaugeFamily(const std::string& name, const std::string& help,
                                                       std::vector<std::string> label_names) {
  return Register(std::make_unique<CallbackFamily>(name, help, MetricType::kGauge, std::move(label_names)));
}

std::string MetricRegistry::RenderText() const {
  std::string out;
  absl::MutexLock lock(&mu_);
  for (const std::unique_ptr<MetricFamily>& family : families_) {
    absl::StrAppend(&out, "# HELP ", family->name(), " ", EscapeHelp(family->help()), "\n");
    absl::StrAppend(&out, "# TYPE ", family->name(), " ", TypeName(family->type()), "\n");
    family->AppendSamples(&out);
  }
  return out;
}

}  // namespace interop::metrics
