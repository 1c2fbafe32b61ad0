// The metrics endpoint on port 0, scraped with cpp-httplib's client.
#include "gateway/metrics/metrics_exporter.h"

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace interop::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(MetricsExporterTest, ServesTheRegistryAtMetricsWithTheTextFormatContentType) {
  MetricRegistry registry;
  Counter& counter = registry.AddCounterFamily("scrapes_seen_total", "A counter.", {"k"}).WithLabels({"v"});
  counter.Increment(5);
  absl::StatusOr<std::unique_ptr<MetricsExporter>> exporter = MetricsExporter::Start("127.0.0.1:0", registry);
  ASSERT_TRUE(exporter.ok()) << exporter.status();
  ASSERT_GT((*exporter)->port(), 0);

  httplib::Client client("127.0.0.1", (*exporter)->port());
  httplib::Result result = client.Get("/metrics");
  ASSERT_TRUE(result) << httplib::to_string(result.error());
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(result->body, registry.RenderText());
  EXPECT_THAT(result->body, HasSubstr("scrapes_seen_total{k=\"v\"} 5\n"));

  // A second scrape sees the new value.
  counter.Increment();
  result = client.Get("/metrics");
  ASSERT_TRUE(result);
  EXPECT_THAT(result->body, HasSubstr("scrapes_seen_total{k=\"v\"} 6\n"));
}

TEST(MetricsExporterTest, HealthzAnswersOkAndOtherPathsAreNotFound) {
  MetricRegistry registry;
  absl::StatusOr<std::unique_ptr<MetricsExporter>> exporter = MetricsExporter::Start("127.0.0.1:0", registry);
  ASSERT_TRUE(exporter.ok()) << exporter.status();
  httplib::Client client("127.0.0.1", (*exporter)->port());
  httplib::Result health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok\n");
  httplib::Result missing = client.Get("/nothing-here");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST(MetricsExporterTest, ReadyzFollowsTheReadinessFunction) {
  MetricRegistry registry;
  absl::Mutex mu;
  absl::Status ready;  // guarded by mu
  absl::StatusOr<std::unique_ptr<MetricsExporter>> exporter =
      MetricsExporter::Start("127.0.0.1:0", registry, [&] {
        absl::MutexLock lock(&mu);
        return ready;
      });
  ASSERT_TRUE(exporter.ok()) << exporter.status();
  httplib::Client client("127.0.0.1", (*exporter)->port());
  httplib::Result result = client.Get("/readyz");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, "ready\n");

  {
    absl::MutexLock lock(&mu);
    ready = absl::UnavailableError("the store does not answer: connection refused");
  }
  result = client.Get("/readyz");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503);
  EXPECT_EQ(result->body, "not ready: the store does not answer: connection refused\n");
  // Liveness is not readiness.
  httplib::Result alive = client.Get("/healthz");
  ASSERT_TRUE(alive);
  EXPECT_EQ(alive->status, 200);

  {
    absl::MutexLock lock(&mu);
    ready = absl::OkStatus();
  }
  result = client.Get("/readyz");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
}

TEST(MetricsExporterTest, ReadyzWithoutAReadinessFunctionIsReady) {
  MetricRegistry registry;
  absl::StatusOr<std::unique_ptr<MetricsExporter>> exporter = MetricsExporter::Start("127.0.0.1:0", registry);
  ASSERT_TRUE(exporter.ok()) << exporter.status();
  httplib::Client client("127.0.0.1", (*exporter)->port());
  httplib::Result result = client.Get("/readyz");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
}

TEST(MetricsExporterTest, StopClosesThePortAndIsIdempotent) {
  MetricRegistry registry;
  absl::StatusOr<std::unique_ptr<MetricsExporter>> exporter = MetricsExporter::Start("127.0.0.1:0", registry);
  ASSERT_TRUE(exporter.ok()) << exporter.status();
  const int port = (*exporter)->port();
  (*exporter)->Stop();
  (*exporter)->Stop();
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2, 0);
  httplib::Result result = client.Get("/metrics");
  EXPECT_FALSE(result) << "still serving after Stop()";
}

TEST(MetricsExporterTest, StartsAndStopsRightAwayManyTimes) {
  // Stop() straight after Start() must neither hang nor leave the listener running.
  MetricRegistry registry;
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<std::unique_ptr<MetricsExporter>> exporter =
        MetricsExporter::Start("127.0.0.1:0", registry);
    ASSERT_TRUE(exporter.ok()) << exporter.status();
  }
}

TEST(MetricsExporterTest, APortInUseIsUnavailableNamingTheAddress) {
  MetricRegistry registry;
  absl::StatusOr<std::unique_ptr<MetricsExporter>> first = MetricsExporter::Start("127.0.0.1:0", registry);
  ASSERT_TRUE(first.ok()) << first.status();
  std::string address = absl::StrCat("127.0.0.1:", (*first)->port());
  absl::StatusOr<std::unique_ptr<MetricsExporter>> second = MetricsExporter::Start(address, registry);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr(address));
}

TEST(MetricsExporterTest, MalformedAddressesAreInvalidArguments) {
  MetricRegistry registry;
  for (const char* address : {"127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000", "::1:9000", "host:-1"}) {
    absl::StatusOr<std::unique_ptr<MetricsExporter>> exporter = MetricsExporter::Start(address, registry);
    ASSERT_FALSE(exporter.ok()) << address;
    EXPECT_EQ(exporter.status().code(), absl::StatusCode::kInvalidArgument) << address;
    EXPECT_THAT(std::string(exporter.status().message()), StartsWith("metrics_listen_address")) << address;
  }
}

TEST(MetricsExporterTest, BracketedIpv6LoopbackWorks) {
  MetricRegistry registry;
  absl::StatusOr<std::unique_ptr<MetricsExporter>> exporter = MetricsExporter::Start("[::1]:0", registry);
  if (!exporter.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << exporter.status();
  httplib::Client client("::1", (*exporter)->port());
  httplib::Result result = client.Get("/healthz");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
}

}  // namespace
}  // namespace interop::metrics
