#include "tools/mock_city/grpc_fault_gate.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/health_check_service_interface.h"
#include "interop/citybackend/v1/city_backend.pb.h"

namespace interop::mock_city {
namespace {

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

// Answers a call with a fixed status at a fixed time, or with CANCELLED as soon as the call is
// cancelled (the caller gave up, its deadline passed, or the server is shutting down), whichever
// comes first. Deletes itself when the call is done.
class TimedReplyReactor final : public grpc::ServerUnaryReactor {
 public:
  TimedReplyReactor(ReplyScheduler& scheduler, grpc::Status status, absl::Time when)
      : scheduler_(scheduler), claim_(std::make_shared<std::atomic<bool>>(false)) {
    // The task holds the claim, not the reactor's lifetime: once the claim is taken the reactor is
    // not touched by the other side again.
    task_ = scheduler_.RunAt(when, [this, claim = claim_, status = std::move(status)] {
      if (!claim->exchange(true)) Finish(status);
    });
  }

  void OnCancel() override {
    if (claim_->exchange(true)) return;
    scheduler_.Cancel(task_);
    Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the call was cancelled while a fault held its reply"));
  }

  void OnDone() override { delete this; }

 private:
  ReplyScheduler& scheduler_;
  const std::shared_ptr<std::atomic<bool>> claim_;  // true once one side has finished the call
  ReplyScheduler::TaskId task_ = 0;
};

}  // namespace

grpc::ServerUnaryReactor* GrpcFaultGate::Admit(grpc::CallbackServerContext* context,
                                               absl::string_view method) {
  const FaultDecision decision = injector_.Decide(method);
  const absl::Time now = absl::Now();
  switch (decision.action) {
    case FaultAction::kProceed:
      if (decision.reply_delay > absl::ZeroDuration()) {
        absl::MutexLock lock(&mu_);
        delays_[context] = decision.reply_delay;
        delayed_calls_.store(delays_.size(), std::memory_order_release);
      }
      return nullptr;
    case FaultAction::kRefuse:
      if (decision.reply_delay > absl::ZeroDuration()) {
        return new TimedReplyReactor(scheduler_, ToGrpc(decision.refusal), now + decision.reply_delay);
      } else {
        grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
        reactor->Finish(ToGrpc(decision.refusal));
        return reactor;
      }
    case FaultAction::kHang: {
      absl::Time until = now + FaultInjector::kHangCap;
      const std::chrono::system_clock::time_point deadline = context->deadline();
      if (deadline != std::chrono::system_clock::time_point::max()) {
        until = std::min(until, absl::FromChrono(deadline));
      }
      return new TimedReplyReactor(scheduler_,
                                   grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                                absl::StrCat("injected hang (call ", decision.call_index,
                                                             "): never answered in time")),
                                   until);
    }
  }
  return nullptr;
}

grpc::ServerUnaryReactor* GrpcFaultGate::Finish(grpc::CallbackServerContext* context,
                                                const grpc::Status& status) {
  absl::Duration delay = absl::ZeroDuration();
  if (delayed_calls_.load(std::memory_order_acquire) > 0) {
    absl::MutexLock lock(&mu_);
    auto it = delays_.find(context);
    if (it != delays_.end()) {
      delay = it->second;
      delays_.erase(it);
      delayed_calls_.store(delays_.size(), std::memory_order_release);
    }
  }
  if (delay > absl::ZeroDuration()) return new TimedReplyReactor(scheduler_, status, absl::Now() + delay);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

std::vector<std::string> CityBackendMethodNames() {
  const google::protobuf::ServiceDescriptor* service =
      citybackend::v1::LocatePersonRequest::descriptor()->file()->FindServiceByName("CityBackendService");
  std::vector<std::string> names;
  if (service == nullptr) return names;
  for (int i = 0; i < service->method_count(); ++i) names.push_back(service->method(i)->name());
  return names;
}

void ReportDownToHealth(FaultInjector& injector, grpc::Server& server) {
  grpc::HealthCheckServiceInterface* health = server.GetHealthCheckService();
  if (health == nullptr) return;
  injector.SetDownObserver([health](bool down) { health->SetServingStatus(!down); });
}

}  // namespace interop::mock_city
