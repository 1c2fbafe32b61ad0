// End to end: five mock cities and the gateway as real processes with mutual TLS; real calls for
// every record type, for persons of every city, including persons who moved.
#include <algorithm>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gateway/base/cities.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "interop/household/v1/household.grpc.pb.h"
#include "interop/medical/v1/medical.grpc.pb.h"
#include "interop/social/v1/social.grpc.pb.h"
#include "tests/integration/city_cluster.h"
#include "tools/mock_city/population.h"

namespace interop::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using mock_city::Population;
using mock_city::SyntheticPerson;

class GatewayEndToEndTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ClusterOptions options;
    auto cluster = CityCluster::Start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = cluster->release();
    mock_city::PopulationOptions population_options;
    population_options.seed = options.seed;
    population_options.persons_per_issuing_city = options.persons_per_city;
    population_ = new Population(Population::Generate(population_options));
  }
  static void TearDownTestSuite() {
    delete cluster_;
    delete population_;
  }

  void SetUp() override {
    ASSERT_NE(cluster_, nullptr);
    channel_ = cluster_->CallerChannel("caller-hospital-taiyuan");
    medical_ = medical::v1::MedicalInsuranceService::NewStub(channel_);
    social_ = social::v1::SocialSecurityService::NewStub(
        cluster_->CallerChannel("caller-social-security-bureau-lvliang"));
    household_ = household::v1::HouseholdRegistrationService::NewStub(
        cluster_->CallerChannel("caller-household-office-xinzhou"));
  }

  static void SetDeadline(grpc::ClientContext* context) {
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  }

  // The first person matching `pred`, skipping `skip` matches.
  static const SyntheticPerson& FindPerson(const std::function<bool(const SyntheticPerson&)>& pred,
                                           int skip = 0) {
    for (const SyntheticPerson& p : population_->persons()) {
      if (pred(p) && skip-- == 0) return p;
    }
    ADD_FAILURE() << "no such person in the population";
    return population_->persons().front();
  }

  grpc::Status GetMedical(const std::string& id, medical::v1::GetInsuranceStatusResponse* response) {
    grpc::ClientContext context;
    SetDeadline(&context);
    medical::v1::GetInsuranceStatusRequest request;
    request.mutable_person()->set_resident_id(id);
    request.mutable_access()->set_purpose(common::v1::PURPOSE_TREATMENT);
    return medical_->GetInsuranceStatus(&context, request, response);
  }

  static CityCluster* cluster_;
  static Population* population_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<medical::v1::MedicalInsuranceService::Stub> medical_;
  std::unique_ptr<social::v1::SocialSecurityService::Stub> social_;
  std::unique_ptr<household::v1::HouseholdRegistrationService::Stub> household_;
};

CityCluster* GatewayEndToEndTest::cluster_ = nullptr;
Population* GatewayEndToEndTest::population_ = nullptr;

TEST_F(GatewayEndToEndTest, MedicalStatusForPersonsOfEveryCity) {
  for (City city : kAllCities) {
    for (int i = 0; i < 3; ++i) {
      const SyntheticPerson& person =
          FindPerson([city](const SyntheticPerson& p) { return p.has_medical && p.medical.city == city; }, i * 7);
      medical::v1::GetInsuranceStatusResponse response;
      grpc::Status status = GetMedical(person.resident_id, &response);
      ASSERT_TRUE(status.ok()) << CityName(city) << ": " << status.error_message();
      EXPECT_EQ(response.resident_id(), person.resident_id);
      EXPECT_EQ(response.name(), person.name);
      EXPECT_EQ(response.insured_city().city(), city);
      EXPECT_EQ(response.insured_city().division_code(), CityDivisionCode(city));
      EXPECT_EQ(response.insured_region_code(), person.medical.insured_region_code);
      EXPECT_EQ(absl::StrCat(static_cast<int>(response.insurance_type())), person.medical.insurance_type_code);
      EXPECT_EQ(absl::StrCat(static_cast<int>(response.status())), person.medical.status_code);
      EXPECT_EQ(response.personal_account_balance().fen(), person.medical.balance_fen);
      EXPECT_EQ(response.enrollment_date().year(), person.medical.enrollment_date.year());
      EXPECT_EQ(response.enrollment_date().month(), person.medical.enrollment_date.month());
      EXPECT_EQ(response.enrollment_date().day(), person.medical.enrollment_date.day());
      ASSERT_EQ(response.provenance().source_cities_size(), 1);
      EXPECT_EQ(response.provenance().source_cities(0).city(), city);
      EXPECT_EQ(response.provenance().request_id().size(), 32u);
    }
  }
}

TEST_F(GatewayEndToEndTest, PersonInsuredInAnotherCityThanTheirNumberSays) {
  for (City insured : kAllCities) {
    const SyntheticPerson& person = FindPerson([insured](const SyntheticPerson& p) {
      return p.has_medical && p.medical.city == insured && p.issuing_city != insured;
    });
    ASSERT_NE(person.issuing_city, insured);
    medical::v1::GetInsuranceStatusResponse response;
    grpc::Status status = GetMedical(person.resident_id, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.insured_city().city(), insured)
        << "number issued in " << CityName(person.issuing_city) << " but insured in " << CityName(insured);
    // Asked again, the answer comes from the gateway's index and is the same.
    medical::v1::GetInsuranceStatusResponse again;
    ASSERT_TRUE(GetMedical(person.resident_id, &again).ok());
    EXPECT_EQ(again.insured_city().city(), insured);
  }
}

// Xinzhou's backend knows persons born before 1970 only by their legacy 15-digit number
// (adapters/xinzhou/dialect.textproto); callers still use, and get, the 18-character number.
TEST_F(GatewayEndToEndTest, OlderPersonsKeyedByLegacyNumbersInXinzhouAreFoundAndAnswered) {
  for (int i = 0; i < 3; ++i) {
    const SyntheticPerson& person = FindPerson(
        [](const SyntheticPerson& p) {
          return p.birth_date.year() < 1970 && p.has_medical && p.medical.city == City::CITY_XINZHOU &&
                 p.household.city == City::CITY_XINZHOU;
        },
        i);
    medical::v1::GetInsuranceStatusResponse response;
    grpc::Status status = GetMedical(person.resident_id, &response);
    ASSERT_TRUE(status.ok()) << person.resident_id << ": " << status.error_message();
    EXPECT_EQ(response.resident_id(), person.resident_id);
    EXPECT_EQ(response.insured_city().city(), City::CITY_XINZHOU);
    EXPECT_EQ(response.name(), person.name);
    EXPECT_EQ(response.personal_account_balance().fen(), person.medical.balance_fen);
    EXPECT_EQ(absl::StrCat(static_cast<int>(response.status())), person.medical.status_code);

    grpc::ClientContext context;
    SetDeadline(&context);
    household::v1::GetHouseholdRecordRequest request;
    request.mutable_person()->set_resident_id(person.resident_id);
    request.mutable_access()->set_purpose(common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION);
    household::v1::GetHouseholdRecordResponse household;
    status = household_->GetHouseholdRecord(&context, request, &household);
    ASSERT_TRUE(status.ok()) << person.resident_id << ": " << status.error_message();
    EXPECT_EQ(household.resident_id(), person.resident_id);
    EXPECT_EQ(household.registered_city().city(), City::CITY_XINZHOU);
    EXPECT_EQ(static_cast<int>(household.relation_to_head()), std::stoi(person.household.relation_code));
  }
}

TEST_F(GatewayEndToEndTest, HouseholdRecordForPersonsOfEveryCityIncludingMovers) {
  for (City city : kAllCities) {
    for (bool moved : {false, true}) {
      const SyntheticPerson& person = FindPerson([city, moved](const SyntheticPerson& p) {
        return p.household.city == city && (p.issuing_city != city) == moved;
      });
      grpc::ClientContext context;
      SetDeadline(&context);
      household::v1::GetHouseholdRecordRequest request;
      request.mutable_person()->set_resident_id(person.resident_id);
      request.mutable_access()->set_purpose(common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION);
      household::v1::GetHouseholdRecordResponse response;
      grpc::Status status = household_->GetHouseholdRecord(&context, request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      EXPECT_EQ(response.registered_city().city(), city);
      EXPECT_EQ(response.address_code(), person.household.address_code);
      EXPECT_EQ(response.household_number(), person.household.household_number);
      EXPECT_EQ(absl::StrCat(static_cast<int>(response.household_type())), person.household.household_type_code);
      EXPECT_EQ(response.registered_since().year(), person.household.registered_since.year());
      EXPECT_EQ(static_cast<int>(response.relation_to_head()), std::stoi(person.household.relation_code));
      EXPECT_EQ(response.registered_since().month(), person.household.registered_since.month());
      EXPECT_EQ(response.registered_since().day(), person.household.registered_since.day());
      EXPECT_EQ(response.name(), person.name);
    }
  }
}

TEST_F(GatewayEndToEndTest, ContributionHistoryMergedAcrossCities) {
  const SyntheticPerson& person = FindPerson([](const SyntheticPerson& p) {
    std::set<int> cities;
    for (const auto& spell : p.employment) cities.insert(spell.city);
    return cities.size() >= 2;
  });
  std::vector<mock_city::ContributionMonth> expected = population_->Contributions(person, City::CITY_UNSPECIFIED);
  ASSERT_FALSE(expected.empty());

  grpc::ClientContext context;
  SetDeadline(&context);
  social::v1::GetContributionHistoryRequest request;
  request.mutable_person()->set_resident_id(person.resident_id);
  request.mutable_access()->set_purpose(common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION);
  request.set_granularity(social::v1::GRANULARITY_MONTH);
  social::v1::GetContributionHistoryResponse response;
  grpc::Status status = social_->GetContributionHistory(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.entries_size(), static_cast<int>(expected.size()));
  std::set<int> source_cities;
  for (const auto& c : response.provenance().source_cities()) source_cities.insert(c.city());
  EXPECT_GE(source_cities.size(), 2u);
  int64_t expected_personal = 0, got_personal = 0;
  int expected_pension_months = 0;
  for (const auto& m : expected) {
    expected_personal += m.personal_fen;
    if (m.kind_code == "110") ++expected_pension_months;
  }
  for (const auto& e : response.entries()) got_personal += e.personal_amount().fen();
  EXPECT_EQ(got_personal, expected_personal);
  EXPECT_EQ(response.total_pension_months(), expected_pension_months);

  // Yearly view of the same history: the same totals in fewer entries, months summed.
  grpc::ClientContext yearly_context;
  SetDeadline(&yearly_context);
  request.set_granularity(social::v1::GRANULARITY_YEAR);
  social::v1::GetContributionHistoryResponse yearly;
  ASSERT_TRUE(social_->GetContributionHistory(&yearly_context, request, &yearly).ok());
  EXPECT_LT(yearly.entries_size(), response.entries_size());
  int64_t yearly_personal = 0;
  for (const auto& e : yearly.entries()) {
    yearly_personal += e.personal_amount().fen();
    EXPECT_EQ(e.month(), 0);
    EXPECT_GE(e.months(), 1);
    EXPECT_LE(e.months(), 12);
  }
  EXPECT_EQ(yearly_personal, expected_personal);
  EXPECT_EQ(yearly.total_pension_months(), expected_pension_months);
}

TEST_F(GatewayEndToEndTest, ContributionHistoryForPersonsOfEveryCity) {
  for (City city : kAllCities) {
    const SyntheticPerson& person = FindPerson([city](const SyntheticPerson& p) {
      return p.employment.size() == 1 && p.employment[0].city == city;
    });
    grpc::ClientContext context;
    SetDeadline(&context);
    social::v1::GetContributionHistoryRequest request;
    request.mutable_person()->set_resident_id(person.resident_id);
    request.mutable_access()->set_purpose(common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION);
    request.add_kinds(social::v1::INSURANCE_KIND_EMPLOYEE_PENSION);
    social::v1::GetContributionHistoryResponse response;
    grpc::Status status = social_->GetContributionHistory(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_GT(response.entries_size(), 0);
    for (const auto& e : response.entries()) {
      EXPECT_EQ(e.city().city(), city);
      EXPECT_EQ(e.kind(), social::v1::INSURANCE_KIND_EMPLOYEE_PENSION);
    }
  }
}

TEST_F(GatewayEndToEndTest, MalformedIdentityNumberIsInvalidArgumentNamingTheField) {
  for (const std::string& bad : {std::string("14010519900101123"), std::string("140105199001011234"),
                                 std::string("1401051990013112X5"), std::string(""), std::string("abc")}) {
    medical::v1::GetInsuranceStatusResponse response;
    grpc::Status status = GetMedical(bad, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_THAT(status.error_message(), HasSubstr("person.resident_id")) << bad;
  }
}

TEST_F(GatewayEndToEndTest, UnknownPersonIsNotFound) {
  // A valid number (Beijing, 1949) that the synthetic population does not contain.
  medical::v1::GetInsuranceStatusResponse response;
  grpc::Status status = GetMedical("11010519491231002X", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();

  grpc::ClientContext context;
  SetDeadline(&context);
  household::v1::GetHouseholdRecordRequest request;
  request.mutable_person()->set_resident_id("11010519491231002X");
  request.mutable_access()->set_purpose(common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION);
  household::v1::GetHouseholdRecordResponse household;
  EXPECT_EQ(household_->GetHouseholdRecord(&context, request, &household).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(GatewayEndToEndTest, ClientWithoutCertificateIsRefused) {
  auto stub = medical::v1::MedicalInsuranceService::NewStub(cluster_->ChannelWithoutClientCertificate());
  grpc::ClientContext context;
  SetDeadline(&context);
  medical::v1::GetInsuranceStatusRequest request;
  request.mutable_person()->set_resident_id(population_->persons().front().resident_id);
  request.mutable_access()->set_purpose(common::v1::PURPOSE_TREATMENT);
  medical::v1::GetInsuranceStatusResponse response;
  grpc::Status status = stub->GetInsuranceStatus(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  EXPECT_FALSE(response.has_insured_city());
}

TEST_F(GatewayEndToEndTest, ClientCertificateFromAnotherCaIsRefused) {
  auto stub = medical::v1::MedicalInsuranceService::NewStub(
      cluster_->ChannelWith("caller-untrusted.pem", "caller-untrusted.key"));
  grpc::ClientContext context;
  SetDeadline(&context);
  medical::v1::GetInsuranceStatusRequest request;
  request.mutable_person()->set_resident_id(population_->persons().front().resident_id);
  request.mutable_access()->set_purpose(common::v1::PURPOSE_TREATMENT);
  medical::v1::GetInsuranceStatusResponse response;
  grpc::Status status = stub->GetInsuranceStatus(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  EXPECT_FALSE(response.has_insured_city());
}

TEST_F(GatewayEndToEndTest, HospitalsOfEveryCityAreServed) {
  const SyntheticPerson& person = FindPerson([](const SyntheticPerson& p) { return p.has_medical; });
  for (City city : kAllCities) {
    std::string caller = absl::StrCat("caller-hospital-", CityName(city));
    auto stub = medical::v1::MedicalInsuranceService::NewStub(cluster_->CallerChannel(caller));
    grpc::ClientContext context;
    SetDeadline(&context);
    medical::v1::GetInsuranceStatusRequest request;
    request.mutable_person()->set_resident_id(person.resident_id);
    request.mutable_access()->set_purpose(common::v1::PURPOSE_TREATMENT);
    medical::v1::GetInsuranceStatusResponse response;
    grpc::Status status = stub->GetInsuranceStatus(&context, request, &response);
    EXPECT_TRUE(status.ok()) << caller << ": " << status.error_message();
  }
}

TEST_F(GatewayEndToEndTest, LowerCaseCheckCharacterIsNormalised) {
  const SyntheticPerson& person = FindPerson(
      [](const SyntheticPerson& p) { return p.has_medical && p.resident_id.back() == 'X'; });
  std::string lower = person.resident_id;
  lower.back() = 'x';
  medical::v1::GetInsuranceStatusResponse response;
  grpc::Status status = GetMedical(lower, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.resident_id(), person.resident_id);
}

// The same calls from another gRPC implementation (@grpc/grpc-js on Node.js), against the public
// protos only: proves the API is usable from outside C++.
TEST_F(GatewayEndToEndTest, IndependentGrpcJsClientMakesTheSameCalls) {
  const SyntheticPerson& insured_elsewhere = FindPerson(
      [](const SyntheticPerson& p) { return p.has_medical && p.medical.city != p.issuing_city; }, 3);
  const SyntheticPerson& registered = FindPerson([](const SyntheticPerson& p) { return true; }, 11);
  const SyntheticPerson& worker = FindPerson([](const SyntheticPerson& p) { return !p.employment.empty(); }, 5);
  std::string certs = cluster_->options().certs_dir;
  std::string log = cluster_->dir() + "/grpc-js-client.log";
  absl::StatusOr<int> exit_code = RunToCompletion(
      {"/usr/bin/env", "node", INTEROP_SOURCE_DIR "/tests/interop/grpc_js_client.js",
       absl::StrCat("--target=", cluster_->gateway_target()), "--server-name=localhost",
       absl::StrCat("--ca=", certs, "/ca.pem"), absl::StrCat("--cert=", certs, "/caller-citizen-portal-taiyuan.pem"),
       absl::StrCat("--key=", certs, "/caller-citizen-portal-taiyuan.key"),
       absl::StrCat("--protos=", INTEROP_SOURCE_DIR, "/protos"),
       absl::StrCat("--insured-elsewhere=", insured_elsewhere.resident_id),
       absl::StrCat("--household=", registered.resident_id),
       absl::StrCat("--contributions=", worker.resident_id), "--unknown=11010519491231002X",
       "--bad-id=14010519900101123"},
      log, absl::Seconds(60));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  std::string output = ReadFileOrEmpty(log);
  EXPECT_EQ(*exit_code, 0) << output;
  EXPECT_THAT(output, Not(HasSubstr("FAIL")));
  EXPECT_THAT(output, HasSubstr("PASS"));
}

// The value of the sample `series` (name and labels exactly as rendered) in a Prometheus text
// scrape; 0 if the series is not there yet.
double SampleValue(const std::string& scrape, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(scrape, '\n')) {
    if (absl::ConsumePrefix(&line, series) && absl::ConsumePrefix(&line, " ")) {
      double value = 0;
      if (absl::SimpleAtod(line, &value)) return value;
    }
  }
  return 0;
}

TEST_F(GatewayEndToEndTest, MetricsCountRequestsRepliesByCodeAndAccessLogBatches) {
  ASSERT_GT(cluster_->gateway_metrics_port(), 0);
  httplib::Client metrics("127.0.0.1", cluster_->gateway_metrics_port());
  auto scrape = [&metrics]() -> std::string {
    httplib::Result result = metrics.Get("/metrics");
    if (!result) return "no answer: " + httplib::to_string(result.error());
    EXPECT_EQ(result->status, 200);
    EXPECT_EQ(result->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    return result->body;
  };
  const std::string method = "/interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus";
  const std::string requests = "interop_requests_total{method=\"" + method + "\"}";
  const std::string ok = "interop_responses_total{method=\"" + method + "\",code=\"OK\"}";
  const std::string denied = "interop_responses_total{method=\"" + method + "\",code=\"PERMISSION_DENIED\"}";
  const std::string duration_count = "interop_request_duration_seconds_count{method=\"" + method + "\"}";
  const std::string batch_records = "interop_accesslog_batch_records_sum";
  const std::string batches = "interop_accesslog_batch_records_count";
  const std::string before = scrape();
  ASSERT_THAT(before, HasSubstr("# TYPE interop_requests_total counter"));

  // One allowed call and one refused (a hospital may ask only for treatment).
  const SyntheticPerson& person = FindPerson([](const SyntheticPerson& p) { return p.has_medical; });
  medical::v1::GetInsuranceStatusResponse response;
  grpc::Status allowed = GetMedical(person.resident_id, &response);
  ASSERT_TRUE(allowed.ok()) << allowed.error_message();
  grpc::ClientContext context;
  SetDeadline(&context);
  medical::v1::GetInsuranceStatusRequest request;
  request.mutable_person()->set_resident_id(person.resident_id);
  request.mutable_access()->set_purpose(common::v1::PURPOSE_AUDIT);
  grpc::Status refused = medical_->GetInsuranceStatus(&context, request, &response);
  ASSERT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED) << refused.error_message();

  // Metrics are recorded before the reply is sent, so they show already.
  const std::string after = scrape();
  EXPECT_EQ(SampleValue(after, requests) - SampleValue(before, requests), 2) << after;
  EXPECT_EQ(SampleValue(after, ok) - SampleValue(before, ok), 1) << after;
  EXPECT_EQ(SampleValue(after, denied) - SampleValue(before, denied), 1) << after;
  EXPECT_EQ(SampleValue(after, duration_count) - SampleValue(before, duration_count), 2) << after;
  // Both calls left an access record, committed in one or two group commits.
  EXPECT_EQ(SampleValue(after, batch_records) - SampleValue(before, batch_records), 2) << after;
  EXPECT_GE(SampleValue(after, batches) - SampleValue(before, batches), 1) << after;
  EXPECT_THAT(after, HasSubstr("interop_accesslog_commit_duration_seconds_bucket{le=\"+Inf\"}"));

  httplib::Result health = metrics.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

}  // namespace
}  // namespace interop::testing
