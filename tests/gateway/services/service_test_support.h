// What the public services' unit tests share: the gateway's call path in process, without TLS or
// other processes.
//
// ServiceHarness holds everything a service needs besides its own engine or trust list, real where
// it is cheap and deterministic: a ManualClock; a temporary directory with the gateway's SQLite
// store file (location store; the workflow store may open the same file); the record locator over
// the fake cities; the reference access policy (gateway/server/access_policy.textproto); a rate
// limiter; a RecordingAccessLog (the access records, in memory); the CallGuard in its insecure
// development mode, where the caller's identity is the "x-interop-dev-caller" header. Serve()
// registers services on an in-process gRPC server; Context() makes a client context acting as a
// caller.
//
// Thread-safe as the parts it holds.
#ifndef INTEROP_TESTS_GATEWAY_SERVICES_SERVICE_TEST_SUPPORT_H_
#define INTEROP_TESTS_GATEWAY_SERVICES_SERVICE_TEST_SUPPORT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "adapters/city_adapter.h"
#include "gateway/accesslog/access_log.h"
#include "gateway/base/clock.h"
#include "gateway/base/work_queue.h"
#include "gateway/policy/policy_file.h"
#include "gateway/policy/rate_limiter.h"
#include "gateway/router/city_directory.h"
#include "gateway/router/record_locator.h"
#include "gateway/services/call_guard.h"
#include "gateway/services/service_support.h"
#include "gateway/store/sqlite_database.h"
#include "gateway/store/sqlite_location_store.h"
#include "grpcpp/grpcpp.h"
#include "interop/common/v1/common.pb.h"

namespace interop::services::test_support {

// Callers, as interop://<city>/<role>/<org> URIs.
inline constexpr char kTaiyuanHouseholdOffice[] = "interop://taiyuan/household-office/HO140105";
inline constexpr char kXinzhouHouseholdOffice[] = "interop://xinzhou/household-office/HO140902";
inline constexpr char kTaiyuanSocialSecurity[] = "interop://taiyuan/social-security-bureau/SSB140100";
inline constexpr char kLvliangSocialSecurity[] = "interop://lvliang/social-security-bureau/SSB141100";
inline constexpr char kTaiyuanMedicalBureau[] = "interop://taiyuan/medical-insurance-bureau/MIB140100";
inline constexpr char kTaiyuanHospital[] = "interop://taiyuan/hospital/H14010500001";
inline constexpr char kCitizenPortal[] = "interop://taiyuan/citizen-portal/PORTAL";
inline constexpr char kOperator[] = "interop://taiyuan/operator/OPS";

// A new empty directory, removed with everything in it by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// An AccessLog that keeps the records in memory, in order, and calls `done` on its own thread (never
// inside Append), as the real log does.
class RecordingAccessLog final : public accesslog::AccessLog {
 public:
  RecordingAccessLog() : completions_(1) {}
  void Append(accesslog::AccessRecord record, std::function<void(absl::StatusOr<uint64_t>)> done) override;
  absl::StatusOr<std::vector<accesslog::AccessRecord>> ListByPerson(const std::string&, uint64_t,
                                                                    int) override {
    return absl::UnimplementedError("RecordingAccessLog");
  }
  absl::StatusOr<std::vector<accesslog::AccessRecord>> ReadRange(uint64_t, uint64_t) override {
    return absl::UnimplementedError("RecordingAccessLog");
  }
  absl::StatusOr<accesslog::VerificationResult> Verify(uint64_t, uint64_t) override {
    return absl::UnimplementedError("RecordingAccessLog");
  }
  absl::Status CheckpointNow() override { return absl::OkStatus(); }
  uint64_t LastSequence() override;

  // Every record appended so far.
  std::vector<accesslog::AccessRecord> records();
  // The last record appended; a default record if none.
  accesslog::AccessRecord last();
  // From now on every Append fails with `status` and keeps nothing (OK: appends succeed again), as
  // a log whose store cannot be written does.
  void FailAppends(absl::Status status);

 private:
  absl::Mutex mu_;
  std::vector<accesslog::AccessRecord> records_ ABSL_GUARDED_BY(mu_);
  absl::Status fail_with_ ABSL_GUARDED_BY(mu_);
  WorkQueue completions_;
};

class ServiceHarness {
 public:
  // `cities`: the fake cities (one adapter per city). `now`: the ManualClock's start.
  ServiceHarness(std::vector<std::unique_ptr<adapters::CityAdapter>> cities, absl::Time now);
  ~ServiceHarness();

  ManualClock& clock() { return clock_; }
  router::CityDirectory& cities() { return *cities_; }
  router::RecordLocator& locator() { return *locator_; }
  RecordingAccessLog& access_log() { return access_log_; }
  const ServiceDependencies& deps() const { return deps_; }
  // The gateway's store file (SQLite) in the temporary directory.
  const std::string& store_path() const { return store_path_; }
  const TempDir& dir() const { return dir_; }

  // Starts the in-process server with `services` (borrowed: call Stop() before destroying them).
  void Serve(const std::vector<grpc::Service*>& services);
  // Shuts the server down (waits for the calls in flight). Idempotent.
  void Stop();
  // A channel to the server.
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

 private:
  TempDir dir_;
  std::string store_path_;
  ManualClock clock_;
  std::unique_ptr<router::CityDirectory> cities_;
  std::unique_ptr<store::SqliteDatabase> database_;
  std::unique_ptr<store::SqliteLocationStore> locations_;
  std::unique_ptr<router::RecordLocator> locator_;
  std::unique_ptr<policy::PolicyFile> policy_;
  std::unique_ptr<policy::RateLimiter> rate_limiter_;
  RecordingAccessLog access_log_;
  std::unique_ptr<CallGuard> guard_;
  ServiceDependencies deps_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

// A client context acting as `caller_uri`, with a 30-second deadline.
std::unique_ptr<grpc::ClientContext> Context(const std::string& caller_uri);

// An AccessContext with `purpose` (and, for the citizen portal, the citizen it acts for).
common::v1::AccessContext Access(common::v1::Purpose purpose, const std::string& on_behalf_of = "");

// A PersonRef of `resident_id`.
common::v1::PersonRef Person(const std::string& resident_id);

// The field named by the google.rpc.BadRequest in the status's details ("" if none).
std::string BadRequestFieldOf(const grpc::Status& status);
// The google.rpc.ErrorInfo reason in the status's details ("" if none).
std::string ReasonOf(const grpc::Status& status);

// "OK", "INVALID_ARGUMENT", ...: for readable failure messages.
std::string Describe(const grpc::Status& status);

}  // namespace interop::services::test_support

#endif  // INTEROP_TESTS_GATEWAY_SERVICES_SERVICE_TEST_SUPPORT_H_
