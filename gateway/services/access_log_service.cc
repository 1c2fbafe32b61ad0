#include "gateway/services/access_log_service.h"

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "gateway/base/cities.h"
#include "gateway/base/rich_status.h"
#include "gateway/services/call_guard.h"

namespace interop::services {
namespace {

constexpr char kListAccessesMethod[] = "/interop.accesslog.v1.AccessLogService/ListAccessesToPerson";
constexpr char kVerifyMethod[] = "/interop.accesslog.v1.AccessLogService/VerifyAccessLog";
constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;
constexpr absl::string_view kPageTokenPrefix = "before:";

accesslog::v1::AccessOutcome Outcome(const accesslog::AccessRecord& record) {
  auto code = static_cast<absl::StatusCode>(record.result_code);
  if (code == absl::StatusCode::kOk || code == absl::StatusCode::kNotFound) return accesslog::v1::ACCESS_OUTCOME_ALLOWED;
  if (code == absl::StatusCode::kUnauthenticated || code == absl::StatusCode::kPermissionDenied ||
      code == absl::StatusCode::kResourceExhausted || code == absl::StatusCode::kInvalidArgument) {
    return accesslog::v1::ACCESS_OUTCOME_REFUSED;
  }
  return accesslog::v1::ACCESS_OUTCOME_FAILED;
}

common::v1::CallerRole RoleFromRecord(const std::string& name) {
  std::optional<auth::CallerRole> role = auth::RoleFromName(name);
  return role.has_value() ? ProtoRole(*role) : common::v1::CALLER_ROLE_UNSPECIFIED;
}

}  // namespace

accesslog::v1::AccessEvent ToAccessEvent(const accesslog::AccessRecord& record) {
  accesslog::v1::AccessEvent event;
  event.set_time_unix_ms(absl::ToUnixMillis(record.time));
  event.set_caller_organization(record.caller_organization);
  City caller_city = CityForName(record.caller_city);
  if (caller_city != City::CITY_UNSPECIFIED) *event.mutable_caller_city() = MakeCityInfo(caller_city);
  event.set_caller_role(RoleFromRecord(record.caller_role));
  common::v1::Purpose purpose = common::v1::PURPOSE_UNSPECIFIED;
  if (common::v1::Purpose_Parse(record.purpose, &purpose)) event.set_purpose(purpose);
  event.set_method(record.method);
  event.set_outcome(Outcome(record));
  event.set_status_code(record.result_code);
  for (const std::string& name : record.cities_consulted) {
    City city = CityForName(name);
    if (city != City::CITY_UNSPECIFIED) *event.add_cities_consulted() = MakeCityInfo(city);
  }
  event.set_request_id(record.request_id);
  event.set_sequence(record.sequence);
  return event;
}

grpc::ServerUnaryReactor* AccessLogServiceImpl::ListAccessesToPerson(
    grpc::CallbackServerContext* context, const accesslog::v1::ListAccessesToPersonRequest* request,
    accesslog::v1::ListAccessesToPersonResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<GuardedCall> call =
      deps_.guard->Admit(context, reactor, kListAccessesMethod, &request->access(), &request->person(), "person");
  if (!call->admitted()) return reactor;
  int page_size = request->page_size() == 0 ? kDefaultPageSize : request->page_size();
  if (page_size < 0 || page_size > kMaxPageSize) {
    call->Finish(FieldError("page_size", absl::StrCat("must be between 0 and ", kMaxPageSize)));
    return reactor;
  }
  uint64_t before = 0;
  if (!request->page_token().empty()) {
    absl::string_view token = request->page_token();
    if (!absl::ConsumePrefix(&token, kPageTokenPrefix) || !absl::SimpleAtoi(token, &before) || before == 0) {
      call->Finish(FieldError("page_token", "is not a token this service gave out"));
      return reactor;
    }
  }
  work_.Schedule([this, call, response, page_size, before] {
    absl::StatusOr<std::vector<accesslog::AccessRecord>> records =
        log_.ListByPerson(call->resident_id(), before, page_size + 1);
    if (!records.ok()) return call->Finish(records.status());
    bool more = static_cast<int>(records->size()) > page_size;
    if (more) records->resize(page_size);
    for (const accesslog::AccessRecord& record : *records) *response->add_events() = ToAccessEvent(record);
    if (more) response->set_next_page_token(absl::StrCat(kPageTokenPrefix, records->back().sequence));
    call->Finish(absl::OkStatus(), response);
  });
  return reactor;
}

grpc::ServerUnaryReactor* AccessLogServiceImpl::VerifyAccessLog(grpc::CallbackServerContext* context,
                                                                const accesslog::v1::VerifyAccessLogRequest* request,
                                                                accesslog::v1::VerifyAccessLogResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<GuardedCall> call = deps_.guard->Admit(context, reactor, kVerifyMethod, nullptr, nullptr, "");
  if (!call->admitted()) return reactor;
  if (request->last_sequence() != 0 && request->last_sequence() < request->first_sequence()) {
    call->Finish(FieldError("last_sequence", "is before first_sequence"));
    return reactor;
  }
  uint64_t first = std::max<uint64_t>(1, request->first_sequence());
  uint64_t last = request->last_sequence();
  work_.Schedule([this, call, response, first, last] {
    absl::StatusOr<accesslog::VerificationResult> result = log_.Verify(first, last);
    if (!result.ok()) return call->Finish(result.status());
    response->set_intact(result->ok);
    response->set_records_checked(result->records_checked);
    response->set_checkpoints_checked(result->checkpoints_checked);
    response->set_first_bad_sequence(result->first_bad_sequence);
    response->set_problem(result->problem);
    call->Finish(absl::OkStatus(), response);
  });
  return reactor;
}

}  // namespace interop::services
