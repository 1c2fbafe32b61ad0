// CallGuard: what happens around every public call, in order:
//   authenticate (the client certificate, verified here against the CA and the CRL)
//   -> rate limit (per calling organisation, by role)
//   -> authorize (role x method x purpose, from the access policy)
//   -> validate (the person's identity number; the handler validates the rest)
//   -> own-records check (the citizen portal may ask only about its citizen)
//   -> the handler's work
//   -> field mask (fields the role may not see are removed)
//   -> audit (the access record is durable before the reply is sent).
// Every call to a personal record, allowed or refused, leaves exactly one access record.
//
// Thread-safe.
#ifndef INTEROP_GATEWAY_SERVICES_CALL_GUARD_H_
#define INTEROP_GATEWAY_SERVICES_CALL_GUARD_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "adapters/city_adapter.h"
#include "gateway/accesslog/access_log.h"
#include "gateway/auth/caller_identity.h"
#include "gateway/auth/certificate_verifier.h"
#include "gateway/base/clock.h"
#include "gateway/metrics/gateway_metrics.h"
#include "gateway/policy/policy_file.h"
#include "gateway/policy/rate_limiter.h"
#include "google/protobuf/message.h"
#include "grpcpp/server_context.h"
#include "interop/common/v1/common.pb.h"

namespace interop::services {

struct GuardDependencies {
  auth::CertificateVerifier* verifier = nullptr;
  policy::PolicyFile* policy = nullptr;
  policy::RateLimiter* rate_limiter = nullptr;
  accesslog::AccessLog* access_log = nullptr;
  const Clock* clock = nullptr;
  // Development only: callers are not authenticated by certificate; the caller's identity is taken
  // from the "x-interop-dev-caller" header (an interop://<city>/<role>/<org> URI).
  bool insecure_dev = false;
  // Optional: per-method requests, replies by code and time to reply (null: none recorded).
  metrics::PublicCallMetrics* call_metrics = nullptr;
};

// One admitted (or refused) call. Obtained from CallGuard::Admit; finished exactly once.
class GuardedCall {
 public:
  bool admitted() const { return admitted_; }
  const std::string& request_id() const { return record_.request_id; }
  // The normalised 18-character identity number of the person asked about ("" for calls without one).
  const std::string& resident_id() const { return resident_id_; }
  const adapters::CallOptions& options() const { return options_; }
  const auth::CallerIdentity& caller() const { return caller_; }

  // Records that `city`'s backend was consulted.
  void AddCityConsulted(City city) ABSL_LOCKS_EXCLUDED(mu_);

  // Ends the call. On OK, `response` (may be null for an error) is masked by the policy, and
  // `provenance` (may be null) gets the request id and the withheld field names. Then the access
  // record is appended and, once durable, the reply is sent. If the record cannot be written, the
  // caller gets no data: UNAVAILABLE if the store could not be reached (retry), INTERNAL otherwise.
  void Finish(const absl::Status& status, google::protobuf::Message* response = nullptr,
              common::v1::Provenance* provenance = nullptr);

 private:
  friend class CallGuard;
  GuardedCall() = default;

  accesslog::AccessLog* access_log_ = nullptr;
  grpc::ServerUnaryReactor* reactor_ = nullptr;
  metrics::PublicCallMetrics::Method* metrics_ = nullptr;  // null: not recorded
  const Clock* clock_ = nullptr;
  bool admitted_ = false;
  bool finished_ = false;
  std::string resident_id_;
  adapters::CallOptions options_;
  auth::CallerIdentity caller_;
  const policy::CompiledGrant* grant_ = nullptr;
  std::shared_ptr<const policy::AccessPolicy> policy_;  // keeps grant_ alive
  absl::Mutex mu_;
  accesslog::AccessRecord record_ ABSL_GUARDED_BY(mu_);
};

class CallGuard {
 public:
  explicit CallGuard(GuardDependencies deps) : deps_(deps) {}

  // Runs the guard's steps for a call to `method` (full gRPC name). `access` and `person` are the
  // request's AccessContext and PersonRef (null for methods without them; `person_field` names the
  // PersonRef field for errors, e.g. "person"). If the call is refused, it is already finished
  // (recorded and answered) when this returns, and admitted() is false.
  std::shared_ptr<GuardedCall> Admit(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                                     const std::string& method, const common::v1::AccessContext* access,
                                     const common::v1::PersonRef* person, absl::string_view person_field);

 private:
  absl::StatusOr<auth::CallerIdentity> Authenticate(grpc::CallbackServerContext* context);

  GuardDependencies deps_;
};

// The proto CallerRole of an authenticated caller.
common::v1::CallerRole ProtoRole(auth::CallerRole role);

}  // namespace interop::services

#endif  // INTEROP_GATEWAY_SERVICES_CALL_GUARD_H_
