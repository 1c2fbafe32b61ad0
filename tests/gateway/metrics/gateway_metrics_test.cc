// The gateway's metric families: names, labels, code names, and what one recording shows.
#include "gateway/metrics/gateway_metrics.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kStatus[] = "/interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus";

TEST(GrpcCodeNameTest, NamesEveryCodeAsGrpcDoes) {
  EXPECT_EQ(GrpcCodeName(absl::StatusCode::kOk), "OK");
  EXPECT_EQ(GrpcCodeName(absl::StatusCode::kPermissionDenied), "PERMISSION_DENIED");
  EXPECT_EQ(GrpcCodeName(absl::StatusCode::kResourceExhausted), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(GrpcCodeName(absl::StatusCode::kUnauthenticated), "UNAUTHENTICATED");
  EXPECT_EQ(GrpcCodeName(static_cast<absl::StatusCode>(99)), "UNKNOWN");
}

TEST(PublicCallMetricsTest, KnownMethodsHaveSeriesFromTheStart) {
  MetricRegistry registry;
  PublicCallMetrics metrics(registry, {kStatus});
  std::string text = registry.RenderText();
  EXPECT_THAT(text, HasSubstr(absl::StrCat("interop_requests_total{method=\"", kStatus, "\"} 0\n")));
  EXPECT_THAT(
      text, HasSubstr(absl::StrCat("interop_request_duration_seconds_count{method=\"", kStatus, "\"} 0\n")));
  EXPECT_THAT(text, Not(HasSubstr("interop_responses_total{")));
}

TEST(PublicCallMetricsTest, CountsRequestsRepliesByCodeAndDurations) {
  MetricRegistry registry;
  PublicCallMetrics metrics(registry, {kStatus});
  PublicCallMetrics::Method& method = metrics.ForMethod(kStatus);
  EXPECT_EQ(&metrics.ForMethod(kStatus), &method);
  method.Admitted();
  method.Admitted();
  method.Answered(absl::StatusCode::kOk, absl::Microseconds(700));
  method.Answered(absl::StatusCode::kPermissionDenied, absl::Milliseconds(2));
  std::string text = registry.RenderText();
  EXPECT_THAT(text, HasSubstr(absl::StrCat("interop_requests_total{method=\"", kStatus, "\"} 2\n")));
  EXPECT_THAT(text,
              HasSubstr(absl::StrCat("interop_responses_total{method=\"", kStatus, "\",code=\"OK\"} 1\n")));
  EXPECT_THAT(text, HasSubstr(absl::StrCat("interop_responses_total{method=\"", kStatus,
                                           "\",code=\"PERMISSION_DENIED\"} 1\n")));
  EXPECT_THAT(text, HasSubstr(absl::StrCat("interop_request_duration_seconds_bucket{method=\"", kStatus,
                                           "\",le=\"0.001\"} 1\n")));
  EXPECT_THAT(text, HasSubstr(absl::StrCat("interop_request_duration_seconds_bucket{method=\"", kStatus,
                                           "\",le=\"0.0025\"} 2\n")));
  EXPECT_THAT(text, HasSubstr(absl::StrCat("interop_request_duration_seconds_sum{method=\"", kStatus,
                                           "\"} 0.0027\n")));
}

TEST(PublicCallMetricsTest, UnknownMethodsAreStillRecorded) {
  MetricRegistry registry;
  PublicCallMetrics metrics(registry, {});
  metrics.ForMethod("/x.Y/Z").Admitted();
  EXPECT_THAT(registry.RenderText(), HasSubstr("interop_requests_total{method=\"/x.Y/Z\"} 1\n"));
}

TEST(CityCallMetricsTest, RecordsByCityNameAndCodeName) {
  MetricRegistry registry;
  CityCallMetrics metrics(registry);
  // Every city's latency series exists before its first call.
  EXPECT_THAT(registry.RenderText(),
              HasSubstr("interop_city_call_duration_seconds_count{city=\"lvliang\"} 0\n"));
  metrics.RecordCityCall(City::CITY_TAIYUAN, absl::StatusCode::kOk, absl::Milliseconds(1));
  metrics.RecordCityCall(City::CITY_TAIYUAN, absl::StatusCode::kOk, absl::Milliseconds(1));
  metrics.RecordCityCall(City::CITY_LVLIANG, absl::StatusCode::kDeadlineExceeded, absl::Seconds(20));
  metrics.RecordCityCall(City::CITY_UNSPECIFIED, absl::StatusCode::kUnavailable, absl::Milliseconds(1));
  std::string text = registry.RenderText();
  EXPECT_THAT(text, HasSubstr("interop_city_calls_total{city=\"taiyuan\",code=\"OK\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("interop_city_calls_total{city=\"lvliang\",code=\"DEADLINE_EXCEEDED\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("interop_city_calls_total{city=\"unspecified\",code=\"UNAVAILABLE\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("interop_city_call_duration_seconds_bucket{city=\"lvliang\",le=\"10\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("interop_city_call_duration_seconds_bucket{city=\"lvliang\",le=\"+Inf\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("interop_city_call_duration_seconds_count{city=\"taiyuan\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("interop_city_call_duration_seconds_count{city=\"unspecified\"} 1\n"));
}

TEST(AccessLogMetricsTest, BatchSizesSkipCheckpointOnlyCommitsAndFailuresAreCounted) {
  MetricRegistry registry;
  AccessLogMetrics metrics(registry);
  metrics.RecordCommit(3, absl::Milliseconds(2), /*committed=*/true);
  metrics.RecordCommit(0, absl::Milliseconds(1), /*committed=*/true);
  metrics.RecordCommit(600, absl::Milliseconds(8), /*committed=*/false);
  std::string text = registry.RenderText();
  EXPECT_THAT(text, HasSubstr("interop_accesslog_batch_records_bucket{le=\"2\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("interop_accesslog_batch_records_bucket{le=\"4\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("interop_accesslog_batch_records_bucket{le=\"512\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("interop_accesslog_batch_records_bucket{le=\"1024\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("interop_accesslog_batch_records_count 2\n"));
  EXPECT_THAT(text, HasSubstr("interop_accesslog_batch_records_sum 603\n"));
  EXPECT_THAT(text, HasSubstr("interop_accesslog_commit_duration_seconds_count 3\n"));
  EXPECT_THAT(text, HasSubstr("interop_accesslog_commit_failures_total 1\n"));
}

TEST(GatewayMetricsTest, AllFamiliesShareOneRegistry) {
  GatewayMetrics metrics({kStatus});
  std::string text = metrics.registry.RenderText();
  for (const char* family :
       {"interop_requests_total", "interop_responses_total", "interop_request_duration_seconds",
        "interop_city_calls_total", "interop_city_call_duration_seconds", "interop_accesslog_batch_records",
        "interop_accesslog_commit_duration_seconds"}) {
    EXPECT_THAT(text, HasSubstr(absl::StrCat("# TYPE ", family, " "))) << family;
  }
}

}  // namespace
}  // namespace interop::metrics
