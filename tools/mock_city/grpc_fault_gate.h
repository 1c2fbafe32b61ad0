// GrpcFaultGate: carries out a FaultInjector's decisions (fault_injector.h) for a gRPC callback
// service such as MockCityBackend, without blocking any thread: a held reply or a hung call is
// finished later by a ReplyScheduler of the gate's own.
//
//   grpc::ServerUnaryReactor* MockCityBackend::LocatePerson(context, request, response) {
//     INTEROP_MOCK_CITY_FAULT_CHECK(fault_gate_, context);   // may answer for the handler
//     ... the handler as before ...
//     return fault_gate_.Finish(context, status);             // in place of DefaultReactor()->Finish
//   }
//
// A refusal (down or an injected error) is answered without running the handler; an injected error
// after the call's reply delay. A hung call is answered DEADLINE_EXCEEDED once the caller's deadline
// has passed (FaultInjector::kHangCap after it began if the caller set none, or if its deadline is
// later). A held reply or a hung call whose caller gives up (or that the server cancels at shutdown)
// is finished at once with CANCELLED, so nothing stays behind.
//
// Thread-safe. The injector must outlive the gate; the gate must outlive every call it admitted
// (shut the server down before destroying it).
#ifndef INTEROP_TOOLS_MOCK_CITY_GRPC_FAULT_GATE_H_
#define INTEROP_TOOLS_MOCK_CITY_GRPC_FAULT_GATE_H_

#include <atomic>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/server.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "tools/mock_city/fault_injector.h"

// At the top of a unary callback handler: runs the fault check for the handler's method (its name,
// __func__, is the RPC method's name) and, if the call is refused or hung, returns the reactor that
// answers it instead of running the rest of the handler.
#define INTEROP_MOCK_CITY_FAULT_CHECK(gate, context)                                          \
  if (::grpc::ServerUnaryReactor* interop_fault_reactor_ = (gate).Admit((context), __func__)) \
  return interop_fault_reactor_

namespace interop::mock_city {

class GrpcFaultGate {
 public:
  explicit GrpcFaultGate(FaultInjector& injector) : injector_(injector) {}
  GrpcFaultGate(const GrpcFaultGate&) = delete;
  GrpcFaultGate& operator=(const GrpcFaultGate&) = delete;

  // Decides the call of `method`: null if the handler is to run (then it must end with Finish), or
  // the reactor the handler must return at once (the call is refused or hung).
  grpc::ServerUnaryReactor* Admit(grpc::CallbackServerContext* context, absl::string_view method);

  // Answers `status` (and the response the handler filled) now, or after the reply delay Admit
  // decided for this call. Returns the reactor the handler must return. Exactly once per admitted
  // call that Admit let through.
  grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context, const grpc::Status& status);

  // Calls answered later that are still waiting (held replies and hung calls).
  size_t waiting_calls() const { return scheduler_.pending(); }

 private:
  FaultInjector& injector_;
  ReplyScheduler scheduler_;
  absl::Mutex mu_;
  // Reply delays Admit decided, by call, until Finish.
  absl::flat_hash_map<const grpc::CallbackServerContext*, absl::Duration> delays_ ABSL_GUARDED_BY(mu_);
  std::atomic<size_t> delayed_calls_{0};  // delays_.size(), readable without mu_
};

// The method names of interop.citybackend.v1.CityBackendService, from its descriptor: what
// FaultSettings::methods may name for the gRPC mock.
std::vector<std::string> CityBackendMethodNames();

// Keeps `server`'s default health service (grpc::EnableDefaultHealthCheckService) in step with
// `injector`: NOT_SERVING for every service while down, SERVING otherwise, starting now. Call after
// the server started; call injector.SetDownObserver(nullptr) before the server is destroyed.
void ReportDownToHealth(FaultInjector& injector, grpc::Server& server);

}  // namespace interop::mock_city

#endif  // INTEROP_TOOLS_MOCK_CITY_GRPC_FAULT_GATE_H_
