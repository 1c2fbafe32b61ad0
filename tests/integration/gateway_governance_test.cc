// Governance end to end: who may see what, and an access log that citizens can read and nobody can
// quietly change. Real gateway and mock-city processes, real certificates, real SQLite file.
#include <sqlite3.h>

#include <atomic>
#include <fstream>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gateway/base/cities.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "interop/accesslog/v1/access_log.grpc.pb.h"
#include "interop/household/v1/household.grpc.pb.h"
#include "interop/medical/v1/medical.grpc.pb.h"
#include "interop/social/v1/social.grpc.pb.h"
#include "tests/integration/city_cluster.h"
#include "tools/mock_city/population.h"

namespace interop::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using common::v1::Purpose;
using mock_city::Population;
using mock_city::SyntheticPerson;

void CopyFile(const std::string& from, const std::string& to) {
  std::string tmp = to + ".tmp";
  std::ofstream(tmp) << ReadFileOrEmpty(from);
  std::rename(tmp.c_str(), to.c_str());
}

struct CallResult {
  grpc::Status status;
  std::string request_id;
  std::string reason;         // google.rpc.ErrorInfo.reason
  std::string bad_field;      // google.rpc.BadRequest field
  absl::Duration retry_delay = absl::ZeroDuration();  // google.rpc.RetryInfo
};

CallResult Examine(const grpc::Status& status, const grpc::ClientContext& context) {
  CallResult result;
  result.status = status;
  auto it = context.GetServerInitialMetadata().find("x-request-id");
  if (it != context.GetServerInitialMetadata().end()) result.request_id = std::string(it->second.data(), it->second.size());
  google::rpc::Status rich;
  if (!status.error_details().empty() && rich.ParseFromString(status.error_details())) {
    for (const google::protobuf::Any& any : rich.details()) {
      google::rpc::ErrorInfo info;
      google::rpc::BadRequest bad;
      google::rpc::RetryInfo retry;
      if (any.UnpackTo(&info)) result.reason = info.reason();
      if (any.UnpackTo(&bad) && bad.field_violations_size() > 0) result.bad_field = bad.field_violations(0).field();
      if (any.UnpackTo(&retry)) {
        result.retry_delay = absl::Seconds(retry.retry_delay().seconds()) + absl::Nanoseconds(retry.retry_delay().nanos());
      }
    }
  }
  return result;
}

class GovernanceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDir("interop-governance-"));
    ClusterOptions options;
    // Policy and CRL are copies the tests may change while the gateway runs.
    options.access_policy_file = *dir_ + "/access_policy.textproto";
    options.crl_file = *dir_ + "/crl.pem";
    CopyFile(INTEROP_SOURCE_DIR "/gateway/server/access_policy.textproto", options.access_policy_file);
    CopyFile(options.certs_dir + "/crl-empty.pem", options.crl_file);
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
    delete dir_;
  }

  static const SyntheticPerson& FindPerson(const std::function<bool(const SyntheticPerson&)>& pred, int skip = 0) {
    for (const SyntheticPerson& p : population_->persons()) {
      if (pred(p) && skip-- == 0) return p;
    }
    ADD_FAILURE() << "no such person";
    return population_->persons().front();
  }
  static const SyntheticPerson& Insured(int skip = 0) {
    return FindPerson([](const SyntheticPerson& p) { return p.has_medical; }, skip);
  }

  static void Deadline(grpc::ClientContext* context) {
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  }

  static CallResult Medical(const std::shared_ptr<grpc::Channel>& channel, const std::string& id, Purpose purpose,
                            const std::string& on_behalf_of = "",
                            medical::v1::GetInsuranceStatusResponse* out = nullptr) {
    auto stub = medical::v1::MedicalInsuranceService::NewStub(channel);
    grpc::ClientContext context;
    Deadline(&context);
    medical::v1::GetInsuranceStatusRequest request;
    request.mutable_person()->set_resident_id(id);
    request.mutable_access()->set_purpose(purpose);
    request.mutable_access()->set_on_behalf_of_resident_id(on_behalf_of);
    medical::v1::GetInsuranceStatusResponse response;
    grpc::Status status = stub->GetInsuranceStatus(&context, request, &response);
    if (out != nullptr) *out = response;
    return Examine(status, context);
  }

  static CallResult Household(const std::shared_ptr<grpc::Channel>& channel, const std::string& id, Purpose purpose,
                              household::v1::GetHouseholdRecordResponse* out = nullptr) {
    auto stub = household::v1::HouseholdRegistrationService::NewStub(channel);
    grpc::ClientContext context;
    Deadline(&context);
    household::v1::GetHouseholdRecordRequest request;
    request.mutable_person()->set_resident_id(id);
    request.mutable_access()->set_purpose(purpose);
    household::v1::GetHouseholdRecordResponse response;
    grpc::Status status = stub->GetHouseholdRecord(&context, request, &response);
    if (out != nullptr) *out = response;
    return Examine(status, context);
  }

  static CallResult Contributions(const std::shared_ptr<grpc::Channel>& channel, const std::string& id,
                                  Purpose purpose, social::v1::GetContributionHistoryResponse* out = nullptr) {
    auto stub = social::v1::SocialSecurityService::NewStub(channel);
    grpc::ClientContext context;
    Deadline(&context);
    social::v1::GetContributionHistoryRequest request;
    request.mutable_person()->set_resident_id(id);
    request.mutable_access()->set_purpose(purpose);
    social::v1::GetContributionHistoryResponse response;
    grpc::Status status = stub->GetContributionHistory(&context, request, &response);
    if (out != nullptr) *out = response;
    return Examine(status, context);
  }

  // Every access record about `person`, as the operator (auditor) sees them.
  static std::vector<accesslog::v1::AccessEvent> AccessesTo(const std::string& person) {
    auto stub = accesslog::v1::AccessLogService::NewStub(cluster_->CallerChannel("caller-operator-taiyuan"));
    std::vector<accesslog::v1::AccessEvent> events;
    std::string token;
    do {
      grpc::ClientContext context;
      Deadline(&context);
      accesslog::v1::ListAccessesToPersonRequest request;
      request.mutable_person()->set_resident_id(person);
      request.mutable_access()->set_purpose(common::v1::PURPOSE_AUDIT);
      request.set_page_size(100);
      request.set_page_token(token);
      accesslog::v1::ListAccessesToPersonResponse response;
      grpc::Status status = stub->ListAccessesToPerson(&context, request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      for (const auto& e : response.events()) events.push_back(e);
      token = response.next_page_token();
    } while (!token.empty());
    return events;
  }

  // Request ids of every access record in the gateway's database file, read directly.
  static std::set<std::string> StoredRequestIds() {
    std::set<std::string> stored;
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2((cluster_->dir() + "/gateway.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
              SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT request_id FROM access_records", -1, &stmt, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    while (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) {
      stored.insert(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return stored;
  }

  // The access record of `request_id` about `person`, or nullopt.
  static std::optional<accesslog::v1::AccessEvent> RecordOf(const std::string& person, const std::string& request_id) {
    for (const auto& e : AccessesTo(person)) {
      if (e.request_id() == request_id) return e;
    }
    return std::nullopt;
  }

  // Asserts a refusal with `code` and `reason`, and that it left an access record.
  static void ExpectRefusedAndRecorded(const CallResult& result, grpc::StatusCode code, const std::string& reason,
                                       const std::string& person) {
    EXPECT_EQ(result.status.error_code(), code) << result.status.error_message();
    EXPECT_EQ(result.reason, reason) << result.status.error_message();
    ASSERT_FALSE(result.request_id.empty());
    std::optional<accesslog::v1::AccessEvent> event = RecordOf(person, result.request_id);
    ASSERT_TRUE(event.has_value()) << "no access record for refused request " << result.request_id;
    EXPECT_EQ(event->status_code(), static_cast<int>(code));
    EXPECT_EQ(event->outcome(), accesslog::v1::ACCESS_OUTCOME_REFUSED);
  }

  static CityCluster* cluster_;
  static Population* population_;
  static std::string* dir_;
};

CityCluster* GovernanceTest::cluster_ = nullptr;
Population* GovernanceTest::population_ = nullptr;
std::string* GovernanceTest::dir_ = nullptr;

TEST_F(GovernanceTest, NoCertificateIsRefusedAndRecorded) {
  const std::string& id = Insured(1).resident_id;
  CallResult result = Medical(cluster_->ChannelWithoutClientCertificate(), id, common::v1::PURPOSE_TREATMENT);
  ExpectRefusedAndRecorded(result, grpc::StatusCode::UNAUTHENTICATED, "CERTIFICATE_MISSING", id);
}

TEST_F(GovernanceTest, CertificateFromAnotherCaIsRefusedAndRecorded) {
  const std::string& id = Insured(2).resident_id;
  CallResult result = Medical(cluster_->ChannelWith("caller-untrusted.pem", "caller-untrusted.key"), id,
                              common::v1::PURPOSE_TREATMENT);
  ExpectRefusedAndRecorded(result, grpc::StatusCode::UNAUTHENTICATED, "CERTIFICATE_UNTRUSTED", id);
}

TEST_F(GovernanceTest, ExpiredCertificateIsRefusedAndRecorded) {
  const std::string& id = Insured(3).resident_id;
  CallResult result =
      Medical(cluster_->ChannelWith("caller-expired.pem", "caller-expired.key"), id, common::v1::PURPOSE_TREATMENT);
  ExpectRefusedAndRecorded(result, grpc::StatusCode::UNAUTHENTICATED, "CERTIFICATE_EXPIRED", id);
}

TEST_F(GovernanceTest, NotYetValidCertificateIsRefusedAndRecorded) {
  const std::string& id = Insured(4).resident_id;
  CallResult result =
      Medical(cluster_->ChannelWith("caller-notyet.pem", "caller-notyet.key"), id, common::v1::PURPOSE_TREATMENT);
  ExpectRefusedAndRecorded(result, grpc::StatusCode::UNAUTHENTICATED, "CERTIFICATE_NOT_YET_VALID", id);
}

TEST_F(GovernanceTest, RevocationTakesEffectWhenTheCrlIsReloaded) {
  const std::string& id = Insured(5).resident_id;
  auto revoked = cluster_->ChannelWith("caller-revoked.pem", "caller-revoked.key");
  // The gateway started with an empty CRL: the certificate is still good.
  CallResult before = Medical(revoked, id, common::v1::PURPOSE_TREATMENT);
  ASSERT_TRUE(before.status.ok()) << before.status.error_message();

  // Publish the CRL that revokes it; the gateway picks it up without a restart.
  CopyFile(cluster_->CertPath("crl.pem"), cluster_->options().crl_file);
  CallResult after;
  absl::Time end = absl::Now() + absl::Seconds(10);
  do {
    absl::SleepFor(absl::Milliseconds(100));
    after = Medical(revoked, id, common::v1::PURPOSE_TREATMENT);
  } while (after.status.ok() && absl::Now() < end);
  ExpectRefusedAndRecorded(after, grpc::StatusCode::UNAUTHENTICATED, "CERTIFICATE_REVOKED", id);

  // Others are unaffected.
  EXPECT_TRUE(Medical(cluster_->CallerChannel("caller-hospital-taiyuan"), id, common::v1::PURPOSE_TREATMENT).status.ok());
}

TEST_F(GovernanceTest, RoleNotAllowedForMethodIsRefusedAndRecorded) {
  const SyntheticPerson& person = Insured(6);
  // A hospital may not read household records...
  CallResult household = Household(cluster_->CallerChannel("caller-hospital-taiyuan"), person.resident_id,
                                   common::v1::PURPOSE_TREATMENT);
  ExpectRefusedAndRecorded(household, grpc::StatusCode::PERMISSION_DENIED, "ROLE_NOT_ALLOWED", person.resident_id);
  // ...and a household office no medical data.
  CallResult medical = Medical(cluster_->CallerChannel("caller-household-office-xinzhou"), person.resident_id,
                               common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION);
  ExpectRefusedAndRecorded(medical, grpc::StatusCode::PERMISSION_DENIED, "ROLE_NOT_ALLOWED", person.resident_id);
}

TEST_F(GovernanceTest, MissingPurposeIsRefusedAndRecorded) {
  const std::string& id = Insured(7).resident_id;
  CallResult result = Medical(cluster_->CallerChannel("caller-hospital-taiyuan"), id, common::v1::PURPOSE_UNSPECIFIED);
  ExpectRefusedAndRecorded(result, grpc::StatusCode::PERMISSION_DENIED, "PURPOSE_MISSING", id);
}

TEST_F(GovernanceTest, PurposeNotAllowedIsRefusedAndRecorded) {
  const std::string& id = Insured(8).resident_id;
  CallResult result = Medical(cluster_->CallerChannel("caller-hospital-taiyuan"), id, common::v1::PURPOSE_AUDIT);
  ExpectRefusedAndRecorded(result, grpc::StatusCode::PERMISSION_DENIED, "PURPOSE_NOT_ALLOWED", id);
}

TEST_F(GovernanceTest, CitizenPortalMayReadOnlyItsCitizen) {
  const SyntheticPerson& citizen = Insured(9);
  const SyntheticPerson& someone_else = Insured(10);
  auto portal = cluster_->CallerChannel("caller-citizen-portal-yangquan");
  CallResult own = Medical(portal, citizen.resident_id, common::v1::PURPOSE_CITIZEN_SELF_SERVICE, citizen.resident_id);
  EXPECT_TRUE(own.status.ok()) << own.status.error_message();
  CallResult other = Medical(portal, someone_else.resident_id, common::v1::PURPOSE_CITIZEN_SELF_SERVICE,
                             citizen.resident_id);
  ExpectRefusedAndRecorded(other, grpc::StatusCode::PERMISSION_DENIED, "NOT_OWN_RECORD", someone_else.resident_id);
}

TEST_F(GovernanceTest, BadIdentityNumberGetsBadRequestAndIsRecorded) {
  CallResult result = Medical(cluster_->CallerChannel("caller-hospital-taiyuan"), "140105199001011234",
                              common::v1::PURPOSE_TREATMENT);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(result.bad_field, "person.resident_id");
  // Not listable by person (the number is not valid), but recorded all the same.
  EXPECT_EQ(StoredRequestIds().count(result.request_id), 1u);
}

TEST_F(GovernanceTest, HospitalSeesCoverageAndBalance) {
  const SyntheticPerson& person = FindPerson(
      [](const SyntheticPerson& p) { return p.has_medical && p.medical.balance_fen > 0; });
  medical::v1::GetInsuranceStatusResponse response;
  CallResult result = Medical(cluster_->CallerChannel("caller-hospital-jinzhong"), person.resident_id,
                              common::v1::PURPOSE_TREATMENT, "", &response);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(response.personal_account_balance().fen(), person.medical.balance_fen);
  EXPECT_TRUE(response.has_insured_city());
  EXPECT_THAT(response.provenance().withheld_fields(), IsEmpty());
}

TEST_F(GovernanceTest, SocialSecurityBureauDoesNotSeeTheAccountBalance) {
  const SyntheticPerson& person = FindPerson(
      [](const SyntheticPerson& p) { return p.has_medical && p.medical.balance_fen > 0; }, 1);
  medical::v1::GetInsuranceStatusResponse response;
  CallResult result = Medical(cluster_->CallerChannel("caller-social-security-bureau-xinzhou"), person.resident_id,
                              common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION, "", &response);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_FALSE(response.has_personal_account_balance());  // absent, not zero-filled
  EXPECT_TRUE(response.has_insured_city());
  EXPECT_EQ(response.insured_city().city(), person.medical.city);
  EXPECT_THAT(response.provenance().withheld_fields(), UnorderedElementsAre("personal_account_balance"));
}

TEST_F(GovernanceTest, HouseholdFieldsPerRole) {
  const SyntheticPerson& person = FindPerson([](const SyntheticPerson& p) { return true; }, 12);
  // The household office sees the whole record.
  household::v1::GetHouseholdRecordResponse full;
  ASSERT_TRUE(Household(cluster_->CallerChannel("caller-household-office-taiyuan"), person.resident_id,
                        common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION, &full)
                  .status.ok());
  EXPECT_EQ(full.household_number(), person.household.household_number);
  EXPECT_EQ(full.address_code(), person.household.address_code);
  EXPECT_NE(full.relation_to_head(), household::v1::RELATION_TO_HEAD_UNSPECIFIED);
  EXPECT_THAT(full.provenance().withheld_fields(), IsEmpty());

  // A medical-insurance bureau learns only the city of registration.
  household::v1::GetHouseholdRecordResponse city_only;
  ASSERT_TRUE(Household(cluster_->CallerChannel("caller-medical-insurance-bureau-jinzhong"), person.resident_id,
                        common::v1::PURPOSE_MEDICAL_INSURANCE_ADMINISTRATION, &city_only)
                  .status.ok());
  EXPECT_EQ(city_only.registered_city().city(), person.household.city);
  EXPECT_EQ(city_only.address_code(), "");
  EXPECT_EQ(city_only.household_number(), "");
  EXPECT_EQ(city_only.relation_to_head(), household::v1::RELATION_TO_HEAD_UNSPECIFIED);
  EXPECT_FALSE(city_only.has_registered_since());
  EXPECT_THAT(city_only.provenance().withheld_fields(),
              UnorderedElementsAre("address_code", "household_number", "relation_to_head", "household_type",
                                   "registered_since"));

  // A social-security bureau sees the county and since-date, not the household number.
  household::v1::GetHouseholdRecordResponse social;
  ASSERT_TRUE(Household(cluster_->CallerChannel("caller-social-security-bureau-lvliang"), person.resident_id,
                        common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION, &social)
                  .status.ok());
  EXPECT_EQ(social.address_code(), person.household.address_code);
  EXPECT_TRUE(social.has_registered_since());
  EXPECT_EQ(social.household_number(), "");
  EXPECT_THAT(social.provenance().withheld_fields(), Contains("household_number"));
}

TEST_F(GovernanceTest, ContributionHistoryPerRole) {
  const SyntheticPerson& worker = FindPerson([](const SyntheticPerson& p) { return !p.employment.empty(); }, 3);
  social::v1::GetContributionHistoryResponse history;
  CallResult bureau = Contributions(cluster_->CallerChannel("caller-social-security-bureau-taiyuan"),
                                    worker.resident_id, common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION, &history);
  ASSERT_TRUE(bureau.status.ok()) << bureau.status.error_message();
  EXPECT_GT(history.entries_size(), 0);
  CallResult hospital = Contributions(cluster_->CallerChannel("caller-hospital-taiyuan"), worker.resident_id,
                                      common::v1::PURPOSE_TREATMENT);
  EXPECT_EQ(hospital.reason, "ROLE_NOT_ALLOWED");
  CallResult household_office = Contributions(cluster_->CallerChannel("caller-household-office-taiyuan"),
                                              worker.resident_id, common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION);
  EXPECT_EQ(household_office.reason, "ROLE_NOT_ALLOWED");
}

TEST_F(GovernanceTest, CitizenSeesWhoReadTheirRecordsNewestFirst) {
  const SyntheticPerson& citizen = Insured(20);
  CallResult first = Medical(cluster_->CallerChannel("caller-hospital-taiyuan"), citizen.resident_id,
                             common::v1::PURPOSE_TREATMENT);
  CallResult second = Medical(cluster_->CallerChannel("caller-medical-insurance-bureau-jinzhong"),
                              citizen.resident_id, common::v1::PURPOSE_MEDICAL_INSURANCE_ADMINISTRATION);
  ASSERT_TRUE(first.status.ok() && second.status.ok());

  auto stub = accesslog::v1::AccessLogService::NewStub(cluster_->CallerChannel("caller-citizen-portal-taiyuan"));
  std::vector<accesslog::v1::AccessEvent> events;
  std::string token;
  int pages = 0;
  do {
    grpc::ClientContext context;
    Deadline(&context);
    accesslog::v1::ListAccessesToPersonRequest request;
    request.mutable_person()->set_resident_id(citizen.resident_id);
    request.mutable_access()->set_purpose(common::v1::PURPOSE_CITIZEN_SELF_SERVICE);
    request.mutable_access()->set_on_behalf_of_resident_id(citizen.resident_id);
    request.set_page_size(1);
    request.set_page_token(token);
    accesslog::v1::ListAccessesToPersonResponse response;
    grpc::Status status = stub->ListAccessesToPerson(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_LE(response.events_size(), 1);
    for (const auto& e : response.events()) events.push_back(e);
    token = response.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 20);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[0].request_id(), second.request_id);  // newest first
  EXPECT_EQ(events[0].caller_role(), common::v1::CALLER_ROLE_MEDICAL_INSURANCE_BUREAU);
  EXPECT_EQ(events[0].caller_city().city(), City::CITY_JINZHONG);
  EXPECT_EQ(events[0].purpose(), common::v1::PURPOSE_MEDICAL_INSURANCE_ADMINISTRATION);
  EXPECT_EQ(events[1].request_id(), first.request_id);
  EXPECT_EQ(events[1].caller_organization(), "H14010500001");
  EXPECT_EQ(events[1].purpose(), common::v1::PURPOSE_TREATMENT);
  EXPECT_EQ(events[1].outcome(), accesslog::v1::ACCESS_OUTCOME_ALLOWED);
  ASSERT_EQ(events[1].cities_consulted_size(), 1);
  EXPECT_EQ(events[1].cities_consulted(0).city(), citizen.medical.city);
  EXPECT_GT(events[0].sequence(), events[1].sequence());

  // The portal may not list someone else's accesses.
  grpc::ClientContext context;
  Deadline(&context);
  accesslog::v1::ListAccessesToPersonRequest request;
  request.mutable_person()->set_resident_id(Insured(21).resident_id);
  request.mutable_access()->set_purpose(common::v1::PURPOSE_CITIZEN_SELF_SERVICE);
  request.mutable_access()->set_on_behalf_of_resident_id(citizen.resident_id);
  accesslog::v1::ListAccessesToPersonResponse response;
  CallResult refused = Examine(stub->ListAccessesToPerson(&context, request, &response), context);
  EXPECT_EQ(refused.reason, "NOT_OWN_RECORD");
}

TEST_F(GovernanceTest, PolicyReloadsWithoutRestartAndRateLimitsAnswerWithRetryDelay) {
  const std::string& id = Insured(30).resident_id;
  auto operator_channel = cluster_->CallerChannel("caller-operator-taiyuan");
  std::string policy = ReadFileOrEmpty(cluster_->options().access_policy_file);
  // Tighten the operators' limit to 1 call per second with a burst of 2.
  size_t at = policy.find("rate_limits { role: CALLER_ROLE_OPERATOR");
  ASSERT_NE(at, std::string::npos);
  std::string tightened = policy;
  tightened.replace(at, policy.find('\n', at) - at,
                    "rate_limits { role: CALLER_ROLE_OPERATOR calls_per_second: 1 burst: 2 }");
  // An invalid policy is refused and the old one stays in force.
  std::ofstream(cluster_->options().access_policy_file) << "grants { role: NO_SUCH_ROLE }";
  absl::SleepFor(absl::Milliseconds(600));
  EXPECT_TRUE(Medical(cluster_->CallerChannel("caller-hospital-taiyuan"), id, common::v1::PURPOSE_TREATMENT).status.ok());

  std::ofstream(cluster_->options().access_policy_file) << tightened;
  absl::SleepFor(absl::Milliseconds(600));
  auto stub = accesslog::v1::AccessLogService::NewStub(operator_channel);
  CallResult limited;
  for (int i = 0; i < 5; ++i) {
    grpc::ClientContext context;
    Deadline(&context);
    accesslog::v1::VerifyAccessLogRequest request;
    accesslog::v1::VerifyAccessLogResponse response;
    limited = Examine(stub->VerifyAccessLog(&context, request, &response), context);
    if (!limited.status.ok()) break;
  }
  EXPECT_EQ(limited.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << limited.status.error_message();
  EXPECT_EQ(limited.reason, "RATE_LIMITED");
  EXPECT_GT(limited.retry_delay, absl::ZeroDuration());
  EXPECT_LE(limited.retry_delay, absl::Seconds(1));
  std::ofstream(cluster_->options().access_policy_file) << policy;
  absl::SleepFor(absl::Milliseconds(600));
}

TEST_F(GovernanceTest, OperatorVerifiesTheLog) {
  for (int i = 0; i < 5; ++i) {
    Medical(cluster_->CallerChannel("caller-hospital-lvliang"), Insured(40 + i).resident_id,
            common::v1::PURPOSE_TREATMENT);
  }
  auto stub = accesslog::v1::AccessLogService::NewStub(cluster_->CallerChannel("caller-operator-taiyuan"));
  grpc::ClientContext context;
  Deadline(&context);
  accesslog::v1::VerifyAccessLogRequest request;
  accesslog::v1::VerifyAccessLogResponse response;
  grpc::Status status = stub->VerifyAccessLog(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.intact()) << response.problem();
  EXPECT_GT(response.records_checked(), 5u);

  // A hospital may not.
  auto hospital = accesslog::v1::AccessLogService::NewStub(cluster_->CallerChannel("caller-hospital-taiyuan"));
  grpc::ClientContext hospital_context;
  Deadline(&hospital_context);
  CallResult refused = Examine(hospital->VerifyAccessLog(&hospital_context, request, &response), hospital_context);
  EXPECT_EQ(refused.reason, "ROLE_NOT_ALLOWED");
}

// Runs last in this suite (the order is the file's): it kills the gateway.
TEST_F(GovernanceTest, ZzCrashLosesNoAcknowledgedAccessRecord) {
  auto channel = cluster_->CallerChannel("caller-hospital-taiyuan");
  absl::Mutex mu;
  std::vector<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::vector<std::thread> callers;
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        CallResult r = Medical(channel, Insured(100 + (t * 1000 + i) % 5000).resident_id, common::v1::PURPOSE_TREATMENT);
        if (r.status.ok()) {
          absl::MutexLock lock(&mu);
          acknowledged.push_back(r.request_id);
        }
      }
    });
  }
  // Let calls flow, then kill -9 the gateway in the middle of them.
  absl::Time end = absl::Now() + absl::Seconds(10);
  while (absl::Now() < end) {
    absl::SleepFor(absl::Milliseconds(50));
    absl::MutexLock lock(&mu);
    if (acknowledged.size() >= 200) break;
  }
  cluster_->gateway().Kill();
  stop = true;
  for (std::thread& t : callers) t.join();
  ASSERT_GE(acknowledged.size(), 50u);

  // Read the log's file directly: every acknowledged call has its record.
  std::set<std::string> stored = StoredRequestIds();
  int missing = 0;
  for (const std::string& id : acknowledged) missing += stored.count(id) == 0 ? 1 : 0;
  EXPECT_EQ(missing, 0) << "of " << acknowledged.size() << " acknowledged calls";

  // The gateway restarts on the same store; the chain continues and verifies.
  ASSERT_TRUE(cluster_->RestartGateway().ok());
  CallResult after_restart =
      Medical(cluster_->CallerChannel("caller-hospital-taiyuan"), Insured(7).resident_id, common::v1::PURPOSE_TREATMENT);
  EXPECT_TRUE(after_restart.status.ok()) << after_restart.status.error_message();
  auto stub = accesslog::v1::AccessLogService::NewStub(cluster_->CallerChannel("caller-operator-taiyuan"));
  grpc::ClientContext context;
  Deadline(&context);
  accesslog::v1::VerifyAccessLogRequest request;
  accesslog::v1::VerifyAccessLogResponse response;
  ASSERT_TRUE(stub->VerifyAccessLog(&context, request, &response).ok());
  EXPECT_TRUE(response.intact()) << response.problem();
  EXPECT_GE(response.records_checked(), acknowledged.size());
}

}  // namespace
}  // namespace interop::testing
