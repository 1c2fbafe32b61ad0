#include "tests/gateway/services/service_test_support.h"

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/base/rich_status.h"
#include "gateway/store/schema.h"
#include "gtest/gtest.h"

namespace interop::services::test_support {

TempDir::TempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string pattern =
      absl::StrCat(base != nullptr && *base != '\0' ? base : "/tmp", "/interop-services-XXXXXX");
  char* made = mkdtemp(pattern.data());
  if (made == nullptr) {
    ADD_FAILURE() << "mkdtemp failed for " << pattern;
    std::abort();
  }
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void RecordingAccessLog::Append(accesslog::AccessRecord record,
                                std::function<void(absl::StatusOr<uint64_t>)> done) {
  uint64_t sequence = 0;
  {
    absl::MutexLock lock(&mu_);
    if (!fail_with_.ok()) {
      completions_.Schedule([done = std::move(done), failure = fail_with_] { done(failure); });
      return;
    }
    sequence = records_.size() + 1;
    record.sequence = sequence;
    records_.push_back(std::move(record));
  }
  completions_.Schedule([done = std::move(done), sequence] { done(sequence); });
}

void RecordingAccessLog::FailAppends(absl::Status status) {
  absl::MutexLock lock(&mu_);
  fail_with_ = std::move(status);
}

uint64_t RecordingAccessLog::LastSequence() {
  absl::MutexLock lock(&mu_);
  return records_.size();
}

std::vector<accesslog::AccessRecord> RecordingAccessLog::records() {
  absl::MutexLock lock(&mu_);
  return records_;
}

accesslog::AccessRecord RecordingAccessLog::last() {
  absl::MutexLock lock(&mu_);
  return records_.empty() ? accesslog::AccessRecord() : records_.back();
}

ServiceHarness::ServiceHarness(std::vector<std::unique_ptr<adapters::CityAdapter>> cities, absl::Time now)
    : store_path_(dir_.File("gateway.db")), clock_(now) {
  cities_ = std::make_unique<router::CityDirectory>(std::move(cities));
  absl::StatusOr<std::unique_ptr<store::SqliteDatabase>> database =
      store::SqliteDatabase::Open(store_path_, store::GatewaySchemaMigrations());
  if (!database.ok()) {
    ADD_FAILURE() << database.status();
    std::abort();
  }
  database_ = *std::move(database);
  absl::StatusOr<std::unique_ptr<store::SqliteLocationStore>> locations =
      store::SqliteLocationStore::Open(*database_);
  if (!locations.ok()) {
    ADD_FAILURE() << locations.status();
    std::abort();
  }
  locations_ = *std::move(locations);
  locator_ = std::make_unique<router::RecordLocator>(*cities_, *locations_, clock_, absl::Hours(1));
  absl::StatusOr<std::unique_ptr<policy::PolicyFile>> policy =
      policy::PolicyFile::Open(std::string(INTEROP_SOURCE_DIR) + "/gateway/server/access_policy.textproto");
  if (!policy.ok()) {
    ADD_FAILURE() << policy.status();
    std::abort();
  }
  policy_ = *std::move(policy);
  rate_limiter_ = std::make_unique<policy::RateLimiter>(clock_);
  GuardDependencies guard;
  guard.policy = policy_.get();
  guard.rate_limiter = rate_limiter_.get();
  guard.access_log = &access_log_;
  guard.clock = &clock_;
  guard.insecure_dev = true;
  guard_ = std::make_unique<CallGuard>(guard);
  deps_ = ServiceDependencies{cities_.get(), locator_.get(), &clock_, guard_.get()};
}

ServiceHarness::~ServiceHarness() { Stop(); }

void ServiceHarness::Serve(const std::vector<grpc::Service*>& services) {
  grpc::ServerBuilder builder;
  for (grpc::Service* service : services) builder.RegisterService(service);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr) {
    ADD_FAILURE() << "the in-process server did not start";
    std::abort();
  }
  channel_ = server_->InProcessChannel(grpc::ChannelArguments());
}

void ServiceHarness::Stop() {
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
    server_->Wait();
    server_.reset();
  }
}

std::unique_ptr<grpc::ClientContext> Context(const std::string& caller_uri) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("x-interop-dev-caller", caller_uri);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return context;
}

common::v1::AccessContext Access(common::v1::Purpose purpose, const std::string& on_behalf_of) {
  common::v1::AccessContext access;
  access.set_purpose(purpose);
  access.set_on_behalf_of_resident_id(on_behalf_of);
  return access;
}

common::v1::PersonRef Person(const std::string& resident_id) {
  common::v1::PersonRef person;
  person.set_resident_id(resident_id);
  return person;
}

std::string BadRequestFieldOf(const grpc::Status& status) { return BadRequestField(FromGrpcStatus(status)); }

std::string ReasonOf(const grpc::Status& status) { return ErrorReason(FromGrpcStatus(status)); }

std::string Describe(const grpc::Status& status) {
  absl::Status s = FromGrpcStatus(status);
  return absl::StrCat(absl::StatusCodeToString(s.code()), ": ", s.message(), " [field ", BadRequestField(s),
                      ", reason ", ErrorReason(s), "]");
}

}  // namespace interop::services::test_support
