// A stopped city harms only the calls that need it: those get UNAVAILABLE naming the city within the
// configured per-city deadline; calls for the other four cities keep working; health says which
// city is down.
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gateway/base/cities.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "interop/household/v1/household.grpc.pb.h"
#include "interop/medical/v1/medical.grpc.pb.h"
#include "interop/social/v1/social.grpc.pb.h"
#include "tests/integration/city_cluster.h"
#include "tools/mock_city/population.h"

namespace interop::testing {
namespace {

using ::testing::HasSubstr;
using mock_city::Population;
using mock_city::SyntheticPerson;

constexpr uint32_t kCityDeadlineMs = 1000;

class CityDownTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClusterOptions options;
    options.city_deadline_ms = kCityDeadlineMs;
    auto cluster = CityCluster::Start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
    mock_city::PopulationOptions population_options;
    population_options.seed = options.seed;
    population_options.persons_per_issuing_city = options.persons_per_city;
    population_ = std::make_unique<Population>(Population::Generate(population_options));
    channel_ = cluster_->CallerChannel("caller-hospital-taiyuan");
    medical_ = medical::v1::MedicalInsuranceService::NewStub(channel_);
  }

  const SyntheticPerson& FindPerson(const std::function<bool(const SyntheticPerson&)>& pred, int skip = 0) {
    for (const SyntheticPerson& p : population_->persons()) {
      if (pred(p) && skip-- == 0) return p;
    }
    ADD_FAILURE() << "no such person";
    return population_->persons().front();
  }

  grpc::Status GetMedical(const std::string& id, absl::Duration* took = nullptr) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    medical::v1::GetInsuranceStatusRequest request;
    request.mutable_person()->set_resident_id(id);
    request.mutable_access()->set_purpose(common::v1::PURPOSE_TREATMENT);
    medical::v1::GetInsuranceStatusResponse response;
    absl::Time start = absl::Now();
    grpc::Status status = medical_->GetInsuranceStatus(&context, request, &response);
    if (took != nullptr) *took = absl::Now() - start;
    return status;
  }

  // Waits until the gateway's health for the city reads `serving`, up to 10 s.
  bool WaitForCityHealth(City city, bool serving) {
    absl::Time end = absl::Now() + absl::Seconds(10);
    while (absl::Now() < end) {
      absl::StatusOr<bool> health = CheckHealth(channel_, absl::StrCat("interop.city.", CityName(city)));
      if (health.ok() && *health == serving) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }

  std::unique_ptr<CityCluster> cluster_;
  std::unique_ptr<Population> population_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<medical::v1::MedicalInsuranceService::Stub> medical_;
};

TEST_F(CityDownTest, StoppedCityIsUnavailableByNameWhileOtherCitiesKeepWorking) {
  const City down = City::CITY_YANGQUAN;
  const SyntheticPerson& insured_in_down = FindPerson(
      [down](const SyntheticPerson& p) { return p.has_medical && p.medical.city == down && p.issuing_city != down; });
  // Learn where this person is insured while the city is up.
  ASSERT_TRUE(GetMedical(insured_in_down.resident_id).ok());
  ASSERT_TRUE(WaitForCityHealth(down, true));

  cluster_->city(down).Kill();

  absl::Duration took;
  grpc::Status status = GetMedical(insured_in_down.resident_id, &took);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("yangquan"));
  EXPECT_LT(took, absl::Milliseconds(kCityDeadlineMs) + absl::Seconds(1));

  // Persons of the other four cities, never looked up before (so the gateway asks all five cities,
  // the stopped one included), are answered.
  for (City city : kAllCities) {
    if (city == down) continue;
    for (int i = 0; i < 3; ++i) {
      const SyntheticPerson& person = FindPerson(
          [city](const SyntheticPerson& p) { return p.has_medical && p.medical.city == city; }, 50 + i);
      absl::Duration other_took;
      grpc::Status other = GetMedical(person.resident_id, &other_took);
      EXPECT_TRUE(other.ok()) << CityName(city) << ": " << other.error_message();
      EXPECT_LT(other_took, absl::Milliseconds(kCityDeadlineMs) + absl::Seconds(1));
    }
  }

  // Household records of other cities too.
  auto household = household::v1::HouseholdRegistrationService::NewStub(
      cluster_->CallerChannel("caller-household-office-taiyuan"));
  const SyntheticPerson& registered = FindPerson(
      [down](const SyntheticPerson& p) { return p.household.city == City::CITY_TAIYUAN; }, 77);
  grpc::ClientContext household_context;
  household::v1::GetHouseholdRecordRequest household_request;
  household_request.mutable_person()->set_resident_id(registered.resident_id);
  household_request.mutable_access()->set_purpose(common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION);
  household::v1::GetHouseholdRecordResponse household_response;
  EXPECT_TRUE(household->GetHouseholdRecord(&household_context, household_request, &household_response).ok());

  // A contribution history that is partly in the stopped city is never answered partially.
  const SyntheticPerson& worked_there = FindPerson([down](const SyntheticPerson& p) {
    return Population::HasContributionsIn(p, down);
  });
  auto social = social::v1::SocialSecurityService::NewStub(
      cluster_->CallerChannel("caller-social-security-bureau-taiyuan"));
  grpc::ClientContext social_context;
  social::v1::GetContributionHistoryRequest social_request;
  social_request.mutable_person()->set_resident_id(worked_there.resident_id);
  social_request.mutable_access()->set_purpose(common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION);
  social::v1::GetContributionHistoryResponse social_response;
  grpc::Status social_status = social->GetContributionHistory(&social_context, social_request, &social_response);
  EXPECT_EQ(social_status.error_code(), grpc::StatusCode::UNAVAILABLE) << social_status.error_message();
  EXPECT_THAT(social_status.error_message(), HasSubstr("yangquan"));
  EXPECT_EQ(social_response.entries_size(), 0);

  // A person nobody holds cannot be called NOT_FOUND while a city is silent.
  grpc::Status unknown = GetMedical("11010519491231002X");
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNAVAILABLE) << unknown.error_message();
  EXPECT_THAT(unknown.error_message(), HasSubstr("yangquan"));

  // Health reports the stopped city, and only it, as not serving.
  EXPECT_TRUE(WaitForCityHealth(down, false));
  for (City city : kAllCities) {
    if (city == down) continue;
    absl::StatusOr<bool> health = CheckHealth(channel_, absl::StrCat("interop.city.", CityName(city)));
    ASSERT_TRUE(health.ok()) << health.status();
    EXPECT_TRUE(*health) << CityName(city);
  }
  absl::StatusOr<bool> overall = CheckHealth(channel_, "");
  ASSERT_TRUE(overall.ok());
  EXPECT_TRUE(*overall);
}

}  // namespace
}  // namespace interop::testing
