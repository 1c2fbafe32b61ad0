// Per-city resilience with real processes: the five mock cities and the gateway, one city made to
// hang, fail or go down through the mock's fault-injection admin RPC (tools/mock_city/fault_injector.h).
//   - a hung city does not delay calls to the other cities beyond their own deadline;
//   - a failing city's breaker opens, calls then fail fast with CITY_CIRCUIT_OPEN naming the city,
//     and the breaker closes again once the city recovers;
//   - a read is retried against a city that refuses, a write without an idempotency key is not.
#include <atomic>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/base/cities.h"
#include "gateway/base/rich_status.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "interop/medical/v1/medical.grpc.pb.h"
#include "interop/medical/v1/settlement.grpc.pb.h"
#include "interop/mockcity/v1/mock_city_admin.grpc.pb.h"
#include "tests/integration/city_cluster.h"
#include "tools/mock_city/population.h"

namespace interop::testing {
namespace {

using mock_city::Population;
using mock_city::SyntheticPerson;
using ::testing::HasSubstr;

constexpr uint32_t kCityDeadlineMs = 800;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class ResilienceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClusterOptions options;
    options.city_deadline_ms = kCityDeadlineMs;
    // A breaker that a test can open with a few calls, and that tries again soon.
    options.extra_gateway_config =
        "default_resilience { breaker_minimum_calls: 6 breaker_failure_percent: 50 breaker_window_ms: 2000 "
        "breaker_open_ms: 1500 "
        "breaker_half_open_calls: 1 max_attempts: 3 retry_initial_backoff_ms: 5 }\n";
    auto cluster = CityCluster::Start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
    mock_city::PopulationOptions population_options;
    population_options.seed = options.seed;
    population_options.persons_per_issuing_city = options.persons_per_city;
    population_ = std::make_unique<Population>(Population::Generate(population_options));
    medical_ = medical::v1::MedicalInsuranceService::NewStub(cluster_->CallerChannel("caller-hospital-taiyuan"));
  }

  std::unique_ptr<mockcity::v1::MockCityAdminService::Stub> Admin(City city) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadAll(cluster_->CertPath("ca.pem"));
    ssl.pem_cert_chain = ReadAll(cluster_->CertPath("gateway.pem"));
    ssl.pem_private_key = ReadAll(cluster_->CertPath("gateway.key"));
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    return mockcity::v1::MockCityAdminService::NewStub(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", cluster_->city(city).port()), grpc::SslCredentials(ssl), args));
  }

  void SetFaults(City city, const mockcity::v1::FaultSettings& settings) {
    mockcity::v1::SetFaultsRequest request;
    *request.mutable_settings() = settings;
    mockcity::v1::SetFaultsResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::Status status = Admin(city)->SetFaults(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  mockcity::v1::FaultCounters Counters(City city) {
    mockcity::v1::GetFaultsResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::Status status = Admin(city)->GetFaults(&context, mockcity::v1::GetFaultsRequest(), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.counters();
  }

  // Persons insured in `city`, skipping the first `skip`.
  std::vector<const SyntheticPerson*> InsuredIn(City city, int count, int skip = 0) {
    std::vector<const SyntheticPerson*> found;
    for (const SyntheticPerson& p : population_->persons()) {
      if (!p.has_medical || p.medical.city != city || p.issuing_city != city) continue;
      if (skip-- > 0) continue;
      found.push_back(&p);
      if (static_cast<int>(found.size()) == count) break;
    }
    EXPECT_EQ(static_cast<int>(found.size()), count);
    return found;
  }

  grpc::Status GetMedical(const std::string& id, absl::Duration deadline = absl::Seconds(10)) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    medical::v1::GetInsuranceStatusRequest request;
    request.mutable_person()->set_resident_id(id);
    request.mutable_access()->set_purpose(common::v1::PURPOSE_TREATMENT);
    medical::v1::GetInsuranceStatusResponse response;
    return medical_->GetInsuranceStatus(&context, request, &response);
  }

  // The gateway's /metrics text ("" if it does not answer).
  std::string Metrics() { return MetricsText(cluster_->gateway_metrics_port()); }

  std::unique_ptr<CityCluster> cluster_;
  std::unique_ptr<Population> population_;
  std::unique_ptr<medical::v1::MedicalInsuranceService::Stub> medical_;
};

TEST_F(ResilienceTest, AHungCityDoesNotDelayCallsToTheOtherCities) {
  const City hung = City::CITY_XINZHOU;
  std::vector<const SyntheticPerson*> in_hung = InsuredIn(hung, 12);
  // The gateway learns where they are insured while the city answers.
  for (const SyntheticPerson* p : in_hung) ASSERT_TRUE(GetMedical(p->resident_id).ok());

  mockcity::v1::FaultSettings settings;
  settings.set_hang(true);
  SetFaults(hung, settings);

  // Calls to the hung city, all at once, with a generous deadline of their own.
  std::atomic<int> hung_failed{0};
  std::vector<std::thread> waiting;
  for (const SyntheticPerson* p : in_hung) {
    waiting.emplace_back([&, id = p->resident_id] {
      grpc::Status status = GetMedical(id, absl::Seconds(20));
      if (!status.ok() && status.error_message().find("xinzhou") != std::string::npos) ++hung_failed;
    });
  }
  // Meanwhile each other city answers within a deadline shorter than the hung city's cap.
  for (City city : kAllCities) {
    if (city == hung) continue;
    for (const SyntheticPerson* p : InsuredIn(city, 3)) {
      grpc::Status status = GetMedical(p->resident_id, absl::Milliseconds(kCityDeadlineMs / 2));
      EXPECT_TRUE(status.ok()) << CityName(city) << ": " << status.error_message();
    }
  }
  for (std::thread& t : waiting) t.join();
  // The calls to the hung city ended by the city's deadline, or fast once its breaker opened,
  // naming the city — not at the callers' 20 s.
  EXPECT_EQ(hung_failed.load(), static_cast<int>(in_hung.size()));
  EXPECT_GT(Counters(hung).hangs_injected(), 0u);
}

TEST_F(ResilienceTest, AFailingCitysBreakerOpensFailsFastAndClosesWhenItRecovers) {
  const City failing = City::CITY_JINZHONG;
  std::vector<const SyntheticPerson*> persons = InsuredIn(failing, 20);
  for (const SyntheticPerson* p : persons) ASSERT_TRUE(GetMedical(p->resident_id).ok());

  mockcity::v1::FaultSettings settings;
  settings.set_error_rate(1.0);
  settings.set_error_code("UNAVAILABLE");
  SetFaults(failing, settings);

  // Let the successful calls above leave the breaker's 2 s window, so that it holds failures only.
  absl::SleepFor(absl::Milliseconds(2200));
  // Each failing call makes three attempts (UNAVAILABLE is retried): two calls fill the window with
  // the 6 failures that open the breaker. Each failure names the city.
  grpc::Status refused;
  int failing_calls = 0;
  uint64_t reached_before = 0;
  for (; failing_calls < 12; ++failing_calls) {
    reached_before = Counters(failing).calls_seen();
    refused = GetMedical(persons[failing_calls % 3]->resident_id);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
    EXPECT_THAT(refused.error_message(), HasSubstr("jinzhong"));
    if (ErrorReason(FromGrpcStatus(refused)) == "CITY_CIRCUIT_OPEN") break;
  }
  EXPECT_EQ(failing_calls, 2);  // opened by the second call's last failure, refused the third
  EXPECT_EQ(ErrorReason(FromGrpcStatus(refused)), "CITY_CIRCUIT_OPEN");
  EXPECT_THAT(refused.error_message(), HasSubstr("circuit breaker is open"));
  EXPECT_EQ(Counters(failing).calls_seen(), reached_before);  // the refused call did not reach the city
  // Operators see it: the breaker's state and its refusals are metrics.
  const std::string metrics = Metrics();
  EXPECT_THAT(metrics, HasSubstr("interop_city_breaker_state{city=\"jinzhong\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("interop_city_breaker_state{city=\"taiyuan\"} 0\n"));
  EXPECT_THAT(metrics, HasSubstr("interop_city_refused_total{city=\"jinzhong\",guard=\"circuit_breaker\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("interop_city_calls_total{city=\"jinzhong\",code=\"UNAVAILABLE\"}"));

  // Other cities are not affected.
  for (const SyntheticPerson* p : InsuredIn(City::CITY_TAIYUAN, 2)) EXPECT_TRUE(GetMedical(p->resident_id).ok());

  // The city recovers; after the open period a trial call succeeds and the breaker closes.
  SetFaults(failing, mockcity::v1::FaultSettings());
  const absl::Time give_up = absl::Now() + absl::Seconds(15);
  grpc::Status status;
  do {
    absl::SleepFor(absl::Milliseconds(200));
    status = GetMedical(persons[3]->resident_id);
  } while (!status.ok() && absl::Now() < give_up);
  ASSERT_TRUE(status.ok()) << status.error_message();
  for (int i = 4; i < 10; ++i) EXPECT_TRUE(GetMedical(persons[i]->resident_id).ok());
}

TEST_F(ResilienceTest, AReadIsRetriedAWriteWithoutAKeyIsNot) {
  const City city = City::CITY_YANGQUAN;
  std::vector<const SyntheticPerson*> persons = InsuredIn(city, 2);
  ASSERT_TRUE(GetMedical(persons[0]->resident_id).ok());

  mockcity::v1::FaultSettings settings;
  settings.set_error_rate(1.0);
  settings.set_error_code("UNAVAILABLE");
  SetFaults(city, settings);

  grpc::Status read = GetMedical(persons[0]->resident_id);
  EXPECT_EQ(read.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Counters(city).errors_injected(), 3u);  // three attempts reached the city

  // Filing a cross-city treatment: the city assigns the filing id, so the gateway tries once. Only
  // the filing call is made to fail (the gateway reads where the person is insured first).
  mockcity::v1::FaultSettings filing_only = settings;
  filing_only.add_methods("FileTreatment");
  SetFaults(city, filing_only);
  const uint64_t before = Counters(city).errors_injected();
  // The insured city's medical-insurance bureau files on the person's behalf.
  auto settlement = medical::v1::CrossCitySettlementService::NewStub(
      cluster_->CallerChannel("caller-medical-insurance-bureau-yangquan"));
  medical::v1::FileTreatmentRequest request;
  request.mutable_person()->set_resident_id(persons[1]->resident_id);
  request.mutable_access()->set_purpose(common::v1::PURPOSE_MEDICAL_INSURANCE_ADMINISTRATION);
  request.set_treatment_city(City::CITY_TAIYUAN);
  request.mutable_valid_from()->set_year(2026);
  request.mutable_valid_from()->set_month(7);
  request.mutable_valid_from()->set_day(1);
  request.mutable_valid_to()->set_year(2026);
  request.mutable_valid_to()->set_month(12);
  request.mutable_valid_to()->set_day(31);
  request.set_reason(medical::v1::FILING_REASON_TEMPORARY);
  medical::v1::FileTreatmentResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Status write = settlement->FileTreatment(&context, request, &response);
  EXPECT_EQ(write.error_code(), grpc::StatusCode::UNAVAILABLE) << write.error_message();
  EXPECT_EQ(Counters(city).errors_injected() - before, 1u);
}

}  // namespace
}  // namespace interop::testing
