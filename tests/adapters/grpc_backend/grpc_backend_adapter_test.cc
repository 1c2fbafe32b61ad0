// GrpcBackendAdapter against a real in-process gRPC server (127.0.0.1, port 0, plaintext) running a
// small fake of the city backend contract.
#include "adapters/grpc_backend/grpc_backend_adapter.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "interop/citybackend/v1/city_backend.grpc.pb.h"

namespace interop::adapters {
namespace {

namespace backend = ::interop::citybackend::v1;
using ::interop::common::v1::City;
using ::testing::HasSubstr;

constexpr char kResidentId[] = "140105199003071250";

// A city backend that answers what the test tells it to: a fixed status for every call, canned
// responses, and optionally a delay before answering (on its own thread, so no gRPC thread blocks).
class FakeCityBackend final : public backend::CityBackendService::CallbackService {
 public:
  ~FakeCityBackend() override { ReleaseAndJoin(); }

  void SetStatus(grpc::Status status) {
    absl::MutexLock lock(&mu_);
    status_ = std::move(status);
  }
  void SetDelay(absl::Duration delay) {
    absl::MutexLock lock(&mu_);
    delay_ = delay;
  }
  void SetLocate(backend::LocatePersonResponse r) {
    absl::MutexLock lock(&mu_);
    locate_ = std::move(r);
  }
  void SetMedical(backend::GetMedicalEnrollmentResponse r) {
    absl::MutexLock lock(&mu_);
    medical_ = std::move(r);
  }
  void SetContributions(backend::GetContributionsResponse r) {
    absl::MutexLock lock(&mu_);
    contributions_ = std::move(r);
  }
  void SetHousehold(backend::GetHouseholdRegistrationResponse r) {
    absl::MutexLock lock(&mu_);
    household_ = std::move(r);
  }

  int calls() const { return calls_.load(); }
  std::string last_resident_id() {
    absl::MutexLock lock(&mu_);
    return last_resident_id_;
  }
  std::string last_request_id() {
    absl::MutexLock lock(&mu_);
    return last_request_id_;
  }
  std::pair<int, int> last_year_range() {
    absl::MutexLock lock(&mu_);
    return last_year_range_;
  }

  // Answers every delayed call now and joins their threads. Safe to call more than once.
  void ReleaseAndJoin() {
    if (!release_.HasBeenNotified()) release_.Notify();
    std::vector<std::thread> threads;
    {
      absl::MutexLock lock(&mu_);
      threads.swap(threads_);
    }
    for (std::thread& t : threads) t.join();
  }

  grpc::ServerUnaryReactor* LocatePerson(grpc::CallbackServerContext* context,
                                         const backend::LocatePersonRequest* request,
                                         backend::LocatePersonResponse* response) override {
    Record(context, request->resident_id());
    absl::MutexLock lock(&mu_);
    *response = locate_;
    return FinishLocked(context);
  }
  grpc::ServerUnaryReactor* GetMedicalEnrollment(grpc::CallbackServerContext* context,
                                                 const backend::GetMedicalEnrollmentRequest* request,
                                                 backend::GetMedicalEnrollmentResponse* response) override {
    Record(context, request->resident_id());
    absl::MutexLock lock(&mu_);
    *response = medical_;
    return FinishLocked(context);
  }
  grpc::ServerUnaryReactor* GetContributions(grpc::CallbackServerContext* context,
                                             const backend::GetContributionsRequest* request,
                                             backend::GetContributionsResponse* response) override {
    Record(context, request->resident_id());
    absl::MutexLock lock(&mu_);
    last_year_range_ = {request->from_year(), request->to_year()};
    *response = contributions_;
    return FinishLocked(context);
  }
  grpc::ServerUnaryReactor* GetHouseholdRegistration(
      grpc::CallbackServerContext* context, const backend::GetHouseholdRegistrationRequest* request,
      backend::GetHouseholdRegistrationResponse* response) override {
    Record(context, request->resident_id());
    absl::MutexLock lock(&mu_);
    *response = household_;
    return FinishLocked(context);
  }

 private:
  void Record(grpc::CallbackServerContext* context, const std::string& resident_id) {
    ++calls_;
    absl::MutexLock lock(&mu_);
    last_resident_id_ = resident_id;
    auto it = context->client_metadata().find("x-request-id");
    last_request_id_ =
        it == context->client_metadata().end() ? "" : std::string(it->second.data(), it->second.size());
  }

  grpc::ServerUnaryReactor* FinishLocked(grpc::CallbackServerContext* context)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (delay_ <= absl::ZeroDuration()) {
      reactor->Finish(status_);
      return reactor;
    }
    threads_.emplace_back([this, reactor, delay = delay_, status = status_] {
      release_.WaitForNotificationWithTimeout(delay);
      reactor->Finish(status);
    });
    return reactor;
  }

  absl::Mutex mu_;
  grpc::Status status_ ABSL_GUARDED_BY(mu_) = grpc::Status::OK;
  absl::Duration delay_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  backend::LocatePersonResponse locate_ ABSL_GUARDED_BY(mu_);
  backend::GetMedicalEnrollmentResponse medical_ ABSL_GUARDED_BY(mu_);
  backend::GetContributionsResponse contributions_ ABSL_GUARDED_BY(mu_);
  backend::GetHouseholdRegistrationResponse household_ ABSL_GUARDED_BY(mu_);
  std::string last_resident_id_ ABSL_GUARDED_BY(mu_);
  std::string last_request_id_ ABSL_GUARDED_BY(mu_);
  std::pair<int, int> last_year_range_ ABSL_GUARDED_BY(mu_) = {-1, -1};
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> calls_{0};
  absl::Notification release_;
};

// The result of one asynchronous adapter call.
template <typename T>
struct Outcome {
  absl::Notification done;
  absl::StatusOr<T> result = absl::UnknownError("callback not called");
  absl::Time finished_at;

  Callback<T> callback() {
    return [this](absl::StatusOr<T> r) {
      result = std::move(r);
      finished_at = absl::Now();
      done.Notify();
    };
  }
  // Waits (bounded, so a broken adapter fails the test instead of hanging it).
  bool Wait() { return done.WaitForNotificationWithTimeout(absl::Seconds(10)); }
};

class GrpcBackendAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&fake_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
    adapter_ = MakeAdapter(absl::Seconds(2));
  }

  void TearDown() override {
    fake_.ReleaseAndJoin();
    ShutdownServer();
    adapter_.reset();
  }

  void ShutdownServer() {
    if (server_ == nullptr || shut_down_) return;
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_->Wait();
    shut_down_ = true;
  }

  std::unique_ptr<GrpcBackendAdapter> MakeAdapter(absl::Duration city_deadline,
                                                  City city = City::CITY_LVLIANG,
                                                  std::shared_ptr<const Dialect> dialect = nullptr) {
    GrpcBackendOptions options;
    options.city = city;
    options.city_deadline = city_deadline;
    options.dialect = std::move(dialect);
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
    auto stub = backend::CityBackendService::NewStub(channel);
    return std::make_unique<GrpcBackendAdapter>(std::move(options), channel, std::move(stub));
  }

  FakeCityBackend fake_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  bool shut_down_ = false;
  std::unique_ptr<GrpcBackendAdapter> adapter_;
};

TEST_F(GrpcBackendAdapterTest, CityIsTheConfiguredOne) { EXPECT_EQ(adapter_->city(), City::CITY_LVLIANG); }

TEST_F(GrpcBackendAdapterTest, LocatePersonMapsEveryField) {
  backend::LocatePersonResponse reply;
  reply.set_found(true);
  reply.set_holds_medical_enrollment(false);
  reply.set_holds_contribution_history(true);
  reply.set_holds_household_registration(true);
  fake_.SetLocate(reply);

  Outcome<PersonLocation> outcome;
  CallOptions options;
  options.request_id = "req-42";
  adapter_->LocatePerson(kResidentId, options, outcome.callback());
  ASSERT_TRUE(outcome.Wait());
  ASSERT_TRUE(outcome.result.ok()) << outcome.result.status();
  EXPECT_TRUE(outcome.result->found);
  EXPECT_FALSE(outcome.result->holds_medical_enrollment);
  EXPECT_TRUE(outcome.result->holds_contribution_history);
  EXPECT_TRUE(outcome.result->holds_household_registration);
  EXPECT_EQ(fake_.last_resident_id(), kResidentId);
  EXPECT_EQ(fake_.last_request_id(), "req-42");
}

TEST_F(GrpcBackendAdapterTest, LocatePersonUnknownPersonIsNotFoundFalseNotAnError) {
  fake_.SetLocate(backend::LocatePersonResponse());
  Outcome<PersonLocation> outcome;
  adapter_->LocatePerson(kResidentId, {}, outcome.callback());
  ASSERT_TRUE(outcome.Wait());
  ASSERT_TRUE(outcome.result.ok()) << outcome.result.status();
  EXPECT_FALSE(outcome.result->found);
  EXPECT_FALSE(outcome.result->holds_medical_enrollment);
  EXPECT_FALSE(outcome.result->holds_contribution_history);
  EXPECT_FALSE(outcome.result->holds_household_registration);
}

TEST_F(GrpcBackendAdapterTest, GetInsuranceStatusTranslates) {
  backend::GetMedicalEnrollmentResponse reply;
  reply.set_resident_id(kResidentId);
  reply.set_name("王五");
  reply.set_insured_region_code("141102");
  reply.set_insurance_type_code("390");
  reply.set_status_code("1");
  reply.set_enrollment_date("20200101");
  reply.set_balance("9900");
  fake_.SetMedical(reply);

  Outcome<medical::v1::GetInsuranceStatusResponse> outcome;
  adapter_->GetInsuranceStatus(kResidentId, {}, outcome.callback());
  ASSERT_TRUE(outcome.Wait());
  ASSERT_TRUE(outcome.result.ok()) << outcome.result.status();
  EXPECT_EQ(outcome.result->resident_id(), kResidentId);
  EXPECT_EQ(outcome.result->name(), "王五");
  EXPECT_EQ(outcome.result->insured_city().city(), City::CITY_LVLIANG);
  EXPECT_EQ(outcome.result->insured_city().division_code(), "141100");
  EXPECT_EQ(outcome.result->insured_region_code(), "141102");
  EXPECT_EQ(outcome.result->insurance_type(), medical::v1::INSURANCE_TYPE_URBAN_RURAL_RESIDENT);
  EXPECT_EQ(outcome.result->status(), medical::v1::ENROLLMENT_STATUS_ACTIVE);
  EXPECT_EQ(outcome.result->enrollment_date().year(), 2020);
  EXPECT_EQ(outcome.result->personal_account_balance().fen(), 9900);
}

TEST_F(GrpcBackendAdapterTest, UntranslatableAnswerIsInternalNamingCityAndField) {
  backend::GetMedicalEnrollmentResponse reply;
  reply.set_resident_id(kResidentId);
  reply.set_name("王五");
  reply.set_insured_region_code("141102");
  reply.set_insurance_type_code("999");
  reply.set_status_code("1");
  reply.set_enrollment_date("20200101");
  fake_.SetMedical(reply);

  Outcome<medical::v1::GetInsuranceStatusResponse> outcome;
  adapter_->GetInsuranceStatus(kResidentId, {}, outcome.callback());
  ASSERT_TRUE(outcome.Wait());
  ASSERT_FALSE(outcome.result.ok());
  EXPECT_EQ(outcome.result.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(outcome.result.status().message()), HasSubstr("lvliang"));
  EXPECT_THAT(std::string(outcome.result.status().message()), HasSubstr("insurance_type_code"));
}

TEST_F(GrpcBackendAdapterTest, GetMonthlyContributionsPassesTheYearRangeAndTranslates) {
  backend::GetContributionsResponse reply;
  reply.set_resident_id(kResidentId);
  backend::MonthlyContribution* m = reply.add_months();
  m->set_kind_code("110");
  m->set_year_month("201903");
  m->set_wage_base("400000");
  m->set_personal_amount("32000");
  m->set_employer_amount("64000");
  fake_.SetContributions(reply);

  Outcome<std::vector<social::v1::ContributionEntry>> outcome;
  adapter_->GetMonthlyContributions(kResidentId, 2018, 2020, {}, outcome.callback());
  ASSERT_TRUE(outcome.Wait());
  ASSERT_TRUE(outcome.result.ok()) << outcome.result.status();
  EXPECT_EQ(fake_.last_year_range(), std::make_pair(2018, 2020));
  ASSERT_EQ(outcome.result->size(), 1u);
  const social::v1::ContributionEntry& entry = (*outcome.result)[0];
  EXPECT_EQ(entry.city().city(), City::CITY_LVLIANG);
  EXPECT_EQ(entry.kind(), social::v1::INSURANCE_KIND_EMPLOYEE_PENSION);
  EXPECT_EQ(entry.year(), 2019);
  EXPECT_EQ(entry.month(), 3);
  EXPECT_EQ(entry.months(), 1);
  EXPECT_EQ(entry.wage_base().fen(), 400000);
  EXPECT_EQ(entry.personal_amount().fen(), 32000);
  EXPECT_EQ(entry.employer_amount().fen(), 64000);
}

TEST_F(GrpcBackendAdapterTest, GetHouseholdRecordTranslates) {
  backend::GetHouseholdRegistrationResponse reply;
  reply.set_resident_id(kResidentId);
  reply.set_name("赵六");
  reply.set_address_code("141102");
  reply.set_household_number("900000001");
  reply.set_relation_code("02");
  reply.set_household_type_code("1");
  reply.set_registered_since("19991231");
  fake_.SetHousehold(reply);

  Outcome<household::v1::GetHouseholdRecordResponse> outcome;
  adapter_->GetHouseholdRecord(kResidentId, {}, outcome.callback());
  ASSERT_TRUE(outcome.Wait());
  ASSERT_TRUE(outcome.result.ok()) << outcome.result.status();
  EXPECT_EQ(outcome.result->registered_city().city(), City::CITY_LVLIANG);
  EXPECT_EQ(outcome.result->household_number(), "900000001");
  EXPECT_EQ(outcome.result->relation_to_head(), household::v1::RELATION_TO_HEAD_HEAD);
  EXPECT_EQ(outcome.result->household_type(), household::v1::HOUSEHOLD_TYPE_FAMILY);
  EXPECT_EQ(outcome.result->registered_since().day(), 31);
}

// A dialect that differs everywhere: yuan, "YYYY/MM/DD", GB 18030 names, local codes, legacy
// numbers for persons born before 1970.
std::shared_ptr<const Dialect> LegacyDialect() {
  absl::StatusOr<std::shared_ptr<const Dialect>> dialect = Dialect::Parse(R"pb(
    city: CITY_XINZHOU
    money_format: MONEY_FORMAT_YUAN_DECIMAL
    date_format: "YYYY/MM/DD"
    text_encoding: TEXT_ENCODING_GB18030
    legacy_id_born_before_year: 1970
    insurance_types { local_code: "11" national_code: "310" }
    enrollment_statuses { local_code: "0" national_code: "1" }
    contribution_kinds { local_code: "01" national_code: "110" }
    relations { local_code: "02" national_code: "02" }
    household_types { local_code: "10" national_code: "1" }
  )pb", "adapters/xinzhou/dialect.textproto");
  EXPECT_TRUE(dialect.ok()) << dialect.status();
  return *dialect;
}

constexpr char kOldPerson[] = "142201196503071239";  // born 1965
constexpr char kOldPersonLegacy[] = "142201650307123";

TEST_F(GrpcBackendAdapterTest, OlderPersonsAreAskedForByTheirLegacyNumberEverywhere) {
  adapter_ = MakeAdapter(absl::Seconds(2), City::CITY_XINZHOU, LegacyDialect());
  fake_.SetLocate(backend::LocatePersonResponse());
  Outcome<PersonLocation> located;
  adapter_->LocatePerson(kOldPerson, {}, located.callback());
  ASSERT_TRUE(located.Wait());
  ASSERT_TRUE(located.result.ok()) << located.result.status();
  EXPECT_EQ(fake_.last_resident_id(), kOldPersonLegacy);

  // Younger persons by their 18-character number.
  Outcome<PersonLocation> young;
  adapter_->LocatePerson(kResidentId, {}, young.callback());
  ASSERT_TRUE(young.Wait());
  EXPECT_EQ(fake_.last_resident_id(), kResidentId);

  backend::GetMedicalEnrollmentResponse reply;
  reply.set_resident_id(kOldPersonLegacy);
  reply.set_name("\xCD\xF5\xCE\xE5");  // 王五 in GB 18030
  reply.set_insured_region_code("140902");
  reply.set_insurance_type_code("11");
  reply.set_status_code("0");
  reply.set_enrollment_date("2001/10/01");
  reply.set_balance("99.00");
  fake_.SetMedical(reply);
  Outcome<medical::v1::GetInsuranceStatusResponse> medical;
  adapter_->GetInsuranceStatus(kOldPerson, {}, medical.callback());
  ASSERT_TRUE(medical.Wait());
  ASSERT_TRUE(medical.result.ok()) << medical.result.status();
  EXPECT_EQ(fake_.last_resident_id(), kOldPersonLegacy);
  EXPECT_EQ(medical.result->resident_id(), kOldPerson);
  EXPECT_EQ(medical.result->name(), "王五");
  EXPECT_EQ(medical.result->insurance_type(), medical::v1::INSURANCE_TYPE_EMPLOYEE);
  EXPECT_EQ(medical.result->enrollment_date().month(), 10);
  EXPECT_EQ(medical.result->personal_account_balance().fen(), 9900);

  backend::GetContributionsResponse contributions;
  contributions.set_resident_id(kOldPersonLegacy);
  fake_.SetContributions(contributions);
  Outcome<std::vector<social::v1::ContributionEntry>> history;
  adapter_->GetMonthlyContributions(kOldPerson, 0, 0, {}, history.callback());
  ASSERT_TRUE(history.Wait());
  ASSERT_TRUE(history.result.ok()) << history.result.status();
  EXPECT_EQ(fake_.last_resident_id(), kOldPersonLegacy);

  Outcome<household::v1::GetHouseholdRecordResponse> household;
  adapter_->GetHouseholdRecord(kOldPerson, {}, household.callback());
  ASSERT_TRUE(household.Wait());
  EXPECT_EQ(fake_.last_resident_id(), kOldPersonLegacy);
}

TEST_F(GrpcBackendAdapterTest, AnAnswerAboutSomeoneElseIsInternal) {
  backend::GetHouseholdRegistrationResponse reply;
  reply.set_resident_id("140105199003071269");
  reply.set_name("赵六");
  reply.set_address_code("141102");
  reply.set_household_number("900000001");
  reply.set_relation_code("02");
  reply.set_household_type_code("1");
  reply.set_registered_since("19991231");
  fake_.SetHousehold(reply);
  Outcome<household::v1::GetHouseholdRecordResponse> outcome;
  adapter_->GetHouseholdRecord(kResidentId, {}, outcome.callback());
  ASSERT_TRUE(outcome.Wait());
  ASSERT_FALSE(outcome.result.ok());
  EXPECT_EQ(outcome.result.status().code(), absl::StatusCode::kInternal) << outcome.result.status();
  EXPECT_THAT(std::string(outcome.result.status().message()), HasSubstr("is not the person asked about"));
}

TEST_F(GrpcBackendAdapterTest, BackendNotFoundIsNotFoundNamingTheCity) {
  fake_.SetStatus(grpc::Status(grpc::StatusCode::NOT_FOUND, "no such person"));
  Outcome<medical::v1::GetInsuranceStatusResponse> outcome;
  adapter_->GetInsuranceStatus(kResidentId, {}, outcome.callback());
  ASSERT_TRUE(outcome.Wait());
  ASSERT_FALSE(outcome.result.ok());
  EXPECT_EQ(outcome.result.status().code(), absl::StatusCode::kNotFound) << outcome.result.status();
  EXPECT_THAT(std::string(outcome.result.status().message()), HasSubstr("lvliang"));
}

TEST_F(GrpcBackendAdapterTest, BackendUnavailableIsUnavailableNamingTheCityAndNotRetried) {
  fake_.SetStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "maintenance window"));
  Outcome<household::v1::GetHouseholdRecordResponse> outcome;
  adapter_->GetHouseholdRecord(kResidentId, {}, outcome.callback());
  ASSERT_TRUE(outcome.Wait());
  ASSERT_FALSE(outcome.result.ok());
  EXPECT_EQ(outcome.result.status().code(), absl::StatusCode::kUnavailable) << outcome.result.status();
  EXPECT_THAT(std::string(outcome.result.status().message()), HasSubstr("lvliang"));
  EXPECT_EQ(fake_.calls(), 1);
}

TEST_F(GrpcBackendAdapterTest, BackendInvalidArgumentIsInternal) {
  fake_.SetStatus(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "resident_id: bad"));
  Outcome<std::vector<social::v1::ContributionEntry>> outcome;
  adapter_->GetMonthlyContributions(kResidentId, 0, 0, {}, outcome.callback());
  ASSERT_TRUE(outcome.Wait());
  ASSERT_FALSE(outcome.result.ok());
  EXPECT_EQ(outcome.result.status().code(), absl::StatusCode::kInternal) << outcome.result.status();
  EXPECT_THAT(std::string(outcome.result.status().message()), HasSubstr("lvliang"));
}

TEST_F(GrpcBackendAdapterTest, SlowBackendIsUnavailableAfterTheCityDeadline) {
  adapter_ = MakeAdapter(absl::Milliseconds(200));
  fake_.SetDelay(absl::Seconds(5));
  Outcome<PersonLocation> outcome;
  absl::Time start = absl::Now();
  adapter_->LocatePerson(kResidentId, {}, outcome.callback());  // the caller has no deadline
  ASSERT_TRUE(outcome.Wait());
  EXPECT_LT(outcome.finished_at - start, absl::Seconds(1));
  EXPECT_GE(outcome.finished_at - start, absl::Milliseconds(150));
  ASSERT_FALSE(outcome.result.ok());
  EXPECT_EQ(outcome.result.status().code(), absl::StatusCode::kUnavailable) << outcome.result.status();
  EXPECT_THAT(std::string(outcome.result.status().message()), HasSubstr("lvliang"));
}

TEST_F(GrpcBackendAdapterTest, CallerDeadlineInThePastIsDeadlineExceeded) {
  Outcome<PersonLocation> outcome;
  CallOptions options;
  options.deadline = absl::Now() - absl::Seconds(1);
  adapter_->LocatePerson(kResidentId, options, outcome.callback());
  ASSERT_TRUE(outcome.Wait());
  ASSERT_FALSE(outcome.result.ok());
  EXPECT_EQ(outcome.result.status().code(), absl::StatusCode::kDeadlineExceeded) << outcome.result.status();
  EXPECT_THAT(std::string(outcome.result.status().message()), HasSubstr("lvliang"));
}

TEST_F(GrpcBackendAdapterTest, CallerDeadlineShorterThanCityDeadlineIsDeadlineExceeded) {
  // The caller's own deadline, not the city's, ends the call: that is DEADLINE_EXCEEDED, not the
  // city's fault.
  fake_.SetDelay(absl::Seconds(5));
  Outcome<PersonLocation> outcome;
  CallOptions options;
  options.deadline = absl::Now() + absl::Milliseconds(150);
  adapter_->LocatePerson(kResidentId, options, outcome.callback());
  ASSERT_TRUE(outcome.Wait());
  ASSERT_FALSE(outcome.result.ok());
  EXPECT_EQ(outcome.result.status().code(), absl::StatusCode::kDeadlineExceeded) << outcome.result.status();
}

TEST_F(GrpcBackendAdapterTest, CheckHealthOkWhenServing) {
  absl::Notification done;
  absl::Status health = absl::UnknownError("not called");
  adapter_->CheckHealth({}, [&](absl::Status s) {
    health = s;
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(health.ok()) << health;
}

TEST_F(GrpcBackendAdapterTest, CheckHealthUnavailableWhenNotServing) {
  server_->GetHealthCheckService()->SetServingStatus(false);
  absl::Notification done;
  absl::Status health;
  adapter_->CheckHealth({}, [&](absl::Status s) {
    health = s;
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(health.code(), absl::StatusCode::kUnavailable) << health;
  EXPECT_THAT(std::string(health.message()), HasSubstr("lvliang"));
}

TEST_F(GrpcBackendAdapterTest, CheckHealthUnavailableWhenServerIsShutDown) {
  adapter_ = MakeAdapter(absl::Milliseconds(500));
  ShutdownServer();
  absl::Notification done;
  absl::Status health;
  adapter_->CheckHealth({}, [&](absl::Status s) {
    health = s;
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(health.code(), absl::StatusCode::kUnavailable) << health;
  EXPECT_THAT(std::string(health.message()), HasSubstr("lvliang"));
}

TEST_F(GrpcBackendAdapterTest, CallsToAShutDownServerAreUnavailableNamingTheCity) {
  adapter_ = MakeAdapter(absl::Milliseconds(500));
  ShutdownServer();
  Outcome<PersonLocation> outcome;
  adapter_->LocatePerson(kResidentId, {}, outcome.callback());
  ASSERT_TRUE(outcome.Wait());
  ASSERT_FALSE(outcome.result.ok());
  EXPECT_EQ(outcome.result.status().code(), absl::StatusCode::kUnavailable) << outcome.result.status();
  EXPECT_THAT(std::string(outcome.result.status().message()), HasSubstr("lvliang"));
}

}  // namespace
}  // namespace interop::adapters
