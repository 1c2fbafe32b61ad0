#include "tools/mock_city/mock_city_admin.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/base/rich_status.h"

namespace interop::mock_city {
namespace {

namespace admin = ::interop::mockcity::v1;

grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context, const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace

absl::StatusOr<FaultSettings> FaultSettingsFromProto(const admin::FaultSettings& proto,
                                                     absl::string_view field_prefix) {
  FaultSettings settings;
  settings.latency = absl::Milliseconds(proto.latency_ms());
  settings.latency_jitter = absl::Milliseconds(proto.latency_jitter_ms());
  settings.error_rate = proto.error_rate();
  if (!proto.error_code().empty()) {
    absl::StatusOr<absl::StatusCode> code = FaultInjector::ParseStatusCode(proto.error_code());
    if (!code.ok()) return FieldError(absl::StrCat(field_prefix, "error_code"), code.status().message());
    settings.error_code = *code;
  }
  settings.hang = proto.hang();
  settings.down = proto.down();
  settings.methods.assign(proto.methods().begin(), proto.methods().end());
  settings.seed = proto.seed();
  return settings;
}

admin::FaultSettings FaultSettingsToProto(const FaultSettings& settings) {
  admin::FaultSettings proto;
  proto.set_latency_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(settings.latency)));
  proto.set_latency_jitter_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(settings.latency_jitter)));
  proto.set_error_rate(settings.error_rate);
  proto.set_error_code(absl::StatusCodeToString(settings.error_code));
  proto.set_hang(settings.hang);
  proto.set_down(settings.down);
  for (const std::string& method : settings.methods) proto.add_methods(method);
  proto.set_seed(settings.seed);
  return proto;
}

absl::StatusOr<admin::SetFaultsResponse> ApplySetFaults(FaultInjector& faults,
                                                        const admin::SetFaultsRequest& request) {
  absl::StatusOr<FaultSettings> settings = FaultSettingsFromProto(request.settings(), "settings.");
  if (!settings.ok()) return settings.status();
  absl::Status valid = faults.Validate(*settings, "settings.");
  if (!valid.ok()) return valid;
  absl::Status applied = faults.Set(*settings);
  if (!applied.ok()) return applied;
  admin::SetFaultsResponse response;
  *response.mutable_settings() = FaultSettingsToProto(*settings);
  return response;
}

admin::GetFaultsResponse DescribeFaults(const FaultInjector& faults) {
  admin::GetFaultsResponse response;
  *response.mutable_settings() = FaultSettingsToProto(faults.settings());
  const FaultCounters counters = faults.counters();
  admin::FaultCounters* out = response.mutable_counters();
  out->set_calls_seen(counters.calls_seen);
  out->set_refused_down(counters.refused_down);
  out->set_errors_injected(counters.errors_injected);
  out->set_hangs_injected(counters.hangs_injected);
  out->set_replies_delayed(counters.replies_delayed);
  return response;
}

grpc::ServerUnaryReactor* MockCityAdmin::SetFaults(grpc::CallbackServerContext* context,
                                                   const admin::SetFaultsRequest* request,
                                                   admin::SetFaultsResponse* response) {
  absl::StatusOr<admin::SetFaultsResponse> applied = ApplySetFaults(faults_, *request);
  if (!applied.ok()) return Answer(context, applied.status());
  *response = *std::move(applied);
  return Answer(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* MockCityAdmin::GetFaults(grpc::CallbackServerContext* context,
                                                   const admin::GetFaultsRequest* /*request*/,
                                                   admin::GetFaultsResponse* response) {
  *response = DescribeFaults(faults_);
  return Answer(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* MockCityAdmin::ResetFaults(grpc::CallbackServerContext* context,
                                                     const admin::ResetFaultsRequest* /*request*/,
                                                     admin::ResetFaultsResponse* /*response*/) {
  faults_.Reset();
  return Answer(context, absl::OkStatus());
}

}  // namespace interop::mock_city
