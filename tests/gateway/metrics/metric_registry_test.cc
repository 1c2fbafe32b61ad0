// The registry and its exact Prometheus text (exposition format 0.0.4).
#include "gateway/metrics/metric_registry.h"

#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::metrics {
namespace {

using ::testing::HasSubstr;

TEST(MetricRegistryTest, CountersWithLabelsRenderSortedByLabelValues) {
  MetricRegistry registry;
  CounterFamily& calls =
      registry.AddCounterFamily("interop_city_calls_total", "Calls to cities.", {"city", "code"});
  calls.WithLabels({"yangquan", "OK"}).Increment();
  calls.WithLabels({"taiyuan", "UNAVAILABLE"}).Increment(3);
  calls.WithLabels({"taiyuan", "OK"}).Increment(2);
  EXPECT_EQ(registry.RenderText(),
            "# HELP interop_city_calls_total Calls to cities.\n"
            "# TYPE interop_city_calls_total counter\n"
            "interop_city_calls_total{city=\"taiyuan\",code=\"OK\"} 2\n"
            "interop_city_calls_total{city=\"taiyuan\",code=\"UNAVAILABLE\"} 3\n"
            "interop_city_calls_total{city=\"yangquan\",code=\"OK\"} 1\n");
}

TEST(MetricRegistryTest, WithLabelsReturnsTheSameChildEveryTime) {
  MetricRegistry registry;
  CounterFamily& family = registry.AddCounterFamily("c_total", "c", {"k"});
  Counter& first = family.WithLabels({"a"});
  first.Increment();
  EXPECT_EQ(&family.WithLabels({"a"}), &first);
  EXPECT_EQ(family.WithLabels({"a"}).Value(), 1u);
  EXPECT_NE(&family.WithLabels({"b"}), &first);
}

TEST(MetricRegistryTest, FamiliesWithoutLabelsRenderZeroFromTheStartInRegistrationOrder) {
  MetricRegistry registry;
  registry.AddGaugeFamily("zeta", "Registered first.");
  registry.AddCounterFamily("alpha_total", "Registered second.");
  EXPECT_EQ(registry.RenderText(),
            "# HELP zeta Registered first.\n"
            "# TYPE zeta gauge\n"
            "zeta 0\n"
            "# HELP alpha_total Registered second.\n"
            "# TYPE alpha_total counter\n"
            "alpha_total 0\n");
}

TEST(MetricRegistryTest, LabelledFamilyWithoutChildrenHasOnlyHelpAndType) {
  MetricRegistry registry;
  registry.AddCounterFamily("empty_total", "Nothing yet.", {"method"});
  EXPECT_EQ(registry.RenderText(), "# HELP empty_total Nothing yet.\n# TYPE empty_total counter\n");
}

TEST(MetricRegistryTest, LabelValuesEscapeBackslashQuoteAndNewline) {
  MetricRegistry registry;
  registry.AddCounterFamily("odd_total", "Odd values.", {"v"}).WithLabels({"a\\b\"c\nd"}).Increment();
  EXPECT_THAT(registry.RenderText(), HasSubstr("odd_total{v=\"a\\\\b\\\"c\\nd\"} 1\n"));
  EXPECT_EQ(EscapeLabelValue("plain 太原"), "plain 太原");
}

TEST(MetricRegistryTest, HelpEscapesBackslashAndNewlineButNotQuotes) {
  MetricRegistry registry;
  registry.AddGaugeFamily("g", "one \"two\"\\three\nfour");
  EXPECT_THAT(registry.RenderText(), HasSubstr("# HELP g one \"two\"\\\\three\\nfour\n"));
}

TEST(MetricRegistryTest, GaugesSetAddAndRenderFractions) {
  MetricRegistry registry;
  GaugeFamily& family = registry.AddGaugeFamily("temperature", "T.", {"room"});
  Gauge& gauge = family.WithLabels({"a"});
  gauge.Set(2);
  gauge.Add(0.5);
  gauge.Add(-3);
  EXPECT_DOUBLE_EQ(gauge.Value(), -0.5);
  EXPECT_THAT(registry.RenderText(), HasSubstr("temperature{room=\"a\"} -0.5\n"));
}

TEST(MetricRegistryTest, SampleValuesUseIntegersShortestFractionsAndInfinities) {
  EXPECT_EQ(FormatSampleValue(0), "0");
  EXPECT_EQ(FormatSampleValue(42), "42");
  EXPECT_EQ(FormatSampleValue(-7), "-7");
  EXPECT_EQ(FormatSampleValue(0.1), "0.1");
  EXPECT_EQ(FormatSampleValue(0.00005), "5e-05");
  EXPECT_EQ(FormatSampleValue(2.5), "2.5");
  EXPECT_EQ(FormatSampleValue(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatSampleValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(FormatSampleValue(1e20), "1e+20");
}

TEST(MetricRegistryTest, HistogramRendersCumulativeBucketsSumAndCount) {
  MetricRegistry registry;
  HistogramFamily& family =
      registry.AddHistogramFamily("rpc_seconds", "RPC latency.", {"method"}, {0.125, 0.5, 2});
  Histogram& histogram = family.WithLabels({"/a.B/C"});
  // Binary fractions, so that the sum is exact.
  histogram.Observe(0.0625);                           // first bucket
  histogram.Observe(0.125);                            // first bucket too: buckets are "less than or equal"
  histogram.Observe(1);                                // third
  histogram.Observe(4);                                // +Inf only
  histogram.ObserveDuration(absl::Milliseconds(250));  // second
  EXPECT_EQ(registry.RenderText(),
            "# HELP rpc_seconds RPC latency.\n"
            "# TYPE rpc_seconds histogram\n"
            "rpc_seconds_bucket{method=\"/a.B/C\",le=\"0.125\"} 2\n"
            "rpc_seconds_bucket{method=\"/a.B/C\",le=\"0.5\"} 3\n"
            "rpc_seconds_bucket{method=\"/a.B/C\",le=\"2\"} 4\n"
            "rpc_seconds_bucket{method=\"/a.B/C\",le=\"+Inf\"} 5\n"
            "rpc_seconds_sum{method=\"/a.B/C\"} 5.4375\n"
            "rpc_seconds_count{method=\"/a.B/C\"} 5\n");
}

TEST(MetricRegistryTest, HistogramWithoutLabelsPutsOnlyLeInBraces) {
  MetricRegistry registry;
  registry.AddHistogramFamily("batch", "Batch sizes.", {}, {1, 2}).WithLabels({}).Observe(2);
  EXPECT_EQ(registry.RenderText(),
            "# HELP batch Batch sizes.\n"
            "# TYPE batch histogram\n"
            "batch_bucket{le=\"1\"} 0\n"
            "batch_bucket{le=\"2\"} 1\n"
            "batch_bucket{le=\"+Inf\"} 1\n"
            "batch_sum 2\n"
            "batch_count 1\n");
}

TEST(MetricRegistryTest, HistogramIgnoresNaNAndSnapshotIsCumulative) {
  MetricRegistry registry;
  Histogram& histogram = registry.AddHistogramFamily("h", "h", {}, {1, 10}).WithLabels({});
  histogram.Observe(std::numeric_limits<double>::quiet_NaN());
  histogram.Observe(5);
  histogram.Observe(50);
  Histogram::Snapshot snapshot = histogram.Read();
  EXPECT_EQ(snapshot.cumulative_counts, (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(snapshot.count, 2u);
  EXPECT_DOUBLE_EQ(snapshot.sum, 55);
}

TEST(MetricRegistryTest, LatencyBucketsSpanFiftyMicrosecondsToTenSeconds) {
  std::vector<double> bounds = LatencyBucketsSeconds();
  ASSERT_FALSE(bounds.empty());
  EXPECT_DOUBLE_EQ(bounds.front(), 0.00005);
  EXPECT_DOUBLE_EQ(bounds.back(), 10);
  for (size_t i = 1; i < bounds.size(); ++i) EXPECT_LT(bounds[i - 1], bounds[i]);
  EXPECT_EQ(ExponentialBuckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
}

TEST(MetricRegistryTest, CallbackFamiliesReadTheirValuesAtEachScrape) {
  MetricRegistry registry;
  int state = 0;
  CallbackFamily& breaker =
      registry.AddCallbackGaugeFamily("interop_city_breaker_state", "0 closed, 1 open.", {"city"});
  breaker.Add({"taiyuan"}, [&state] { return static_cast<double>(state); });
  breaker.Add({"lvliang"}, [] { return 2.0; });
  uint64_t rejected = 7;
  registry.AddCallbackCounterFamily("interop_city_rejections_total", "Rejected.", {"city"})
      .Add({"taiyuan"}, [&rejected] { return static_cast<double>(rejected); });

  const std::string expected_prefix =
      "# HELP interop_city_breaker_state 0 closed, 1 open.\n"
      "# TYPE interop_city_breaker_state gauge\n"
      "interop_city_breaker_state{city=\"lvliang\"} 2\n";
  EXPECT_EQ(registry.RenderText(), expected_prefix +
                                       "interop_city_breaker_state{city=\"taiyuan\"} 0\n"
                                       "# HELP interop_city_rejections_total Rejected.\n"
                                       "# TYPE interop_city_rejections_total counter\n"
                                       "interop_city_rejections_total{city=\"taiyuan\"} 7\n");
  state = 1;
  rejected = 9;
  std::string second = registry.RenderText();
  EXPECT_THAT(second, HasSubstr("interop_city_breaker_state{city=\"taiyuan\"} 1\n"));
  EXPECT_THAT(second, HasSubstr("interop_city_rejections_total{city=\"taiyuan\"} 9\n"));
}

TEST(MetricRegistryTest, ConcurrentIncrementsAndObservationsAreAllCounted) {
  MetricRegistry registry;
  Counter& counter = registry.AddCounterFamily("n_total", "n").WithLabels({});
  Histogram& histogram = registry.AddHistogramFamily("h", "h", {}, {0.5}).WithLabels({});
  Gauge& gauge = registry.AddGaugeFamily("g", "g").WithLabels({});
  constexpr int kThreads = 4;
  constexpr int kEach = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        counter.Increment();
        histogram.Observe(1);
        gauge.Add(1);
        if (i % 1000 == 0) registry.RenderText();  // scrapes race with observations
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counter.Value(), uint64_t{kThreads * kEach});
  Histogram::Snapshot snapshot = histogram.Read();
  EXPECT_EQ(snapshot.count, uint64_t{kThreads * kEach});
  EXPECT_DOUBLE_EQ(snapshot.sum, kThreads * kEach);
  EXPECT_DOUBLE_EQ(gauge.Value(), kThreads * kEach);
}

using MetricRegistryDeathTest = ::testing::Test;

TEST(MetricRegistryDeathTest, MisuseCrashesWithTheReason) {
  EXPECT_DEATH(MetricRegistry().AddCounterFamily("bad-name", "x"), "invalid metric name");
  EXPECT_DEATH(MetricRegistry().AddCounterFamily("ok", "x", {"__reserved"}), "invalid label name");
  EXPECT_DEATH(MetricRegistry().AddHistogramFamily("h", "x", {"le"}, {1}), "cannot use");
  EXPECT_DEATH(MetricRegistry().AddHistogramFamily("h", "x", {}, {2, 1}), "increase strictly");
  EXPECT_DEATH(MetricRegistry().AddHistogramFamily("h", "x", {}, {}), "at least one");
  EXPECT_DEATH(
      {
        MetricRegistry registry;
        registry.AddGaugeFamily("same", "x");
        registry.AddCounterFamily("same", "y");
      },
      "registered twice");
  EXPECT_DEATH(
      {
        MetricRegistry registry;
        registry.AddCounterFamily("c", "x", {"a", "b"}).WithLabels({"only one"});
      },
      "1 label values for 2 labels");
  EXPECT_DEATH(
      {
        MetricRegistry registry;
        CallbackFamily& family = registry.AddCallbackGaugeFamily("g", "x", {"a"});
        family.Add({"v"}, [] { return 1.0; });
        family.Add({"v"}, [] { return 2.0; });
      },
      "added twice");
}

}  // namespace
}  // namespace interop::metrics
