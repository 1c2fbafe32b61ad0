#include "gateway/services/service_support.h"

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "gateway/base/log.h"
#include "gateway/base/rich_status.h"
#include "gateway/identity/resident_id.h"

namespace interop::services {
namespace {

bool IsAcceptableRequestId(absl::string_view id) {
  if (id.size() < 8 || id.size() > 64) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

}  // namespace

std::string NewRequestId() {
  static absl::Mutex mu(absl::kConstInit);
  static absl::BitGen* gen = new absl::BitGen();
  absl::MutexLock lock(&mu);
  return absl::StrFormat("%016x%016x", absl::Uniform<uint64_t>(*gen), absl::Uniform<uint64_t>(*gen));
}

std::string AssignRequestId(grpc::CallbackServerContext* context) {
  std::string id;
  auto it = context->client_metadata().find("x-request-id");
  if (it != context->client_metadata().end()) {
    absl::string_view offered(it->second.data(), it->second.size());
    if (IsAcceptableRequestId(offered)) id = std::string(offered);
  }
  if (id.empty()) id = NewRequestId();
  context->AddInitialMetadata("x-request-id", id);
  return id;
}

absl::StatusOr<std::string> ValidateResidentIdField(absl::string_view text, absl::string_view field,
                                                    const Clock& clock) {
  if (text.empty()) return FieldError(field, "is required");
  absl::StatusOr<identity::ResidentId> id = identity::ParseResidentId(text, identity::ChinaCivilDay(clock.Now()));
  if (!id.ok()) return FieldError(field, id.status().message());
  return id->number;
}

absl::StatusOr<std::string> ValidatePerson(const common::v1::PersonRef& person, absl::string_view field,
                                           const Clock& clock) {
  return ValidateResidentIdField(person.resident_id(), absl::StrCat(field, ".resident_id"), clock);
}

absl::Status RedactForCaller(const absl::Status& status, const std::string& request_id) {
  if (status.code() != absl::StatusCode::kInternal && status.code() != absl::StatusCode::kDataLoss) return status;
  LogError("internal error answered to a caller (details withheld from the caller)",
           {{"request_id", request_id}, {"error", std::string(status.message())}});
  std::string source = "the gateway";
  absl::string_view message = status.message();
  if (absl::StartsWith(message, "city ")) {
    absl::string_view rest = message.substr(5);
    source = absl::StrCat("city ", rest.substr(0, rest.find_first_of(" :'")));
  }
  return absl::Status(status.code(), absl::StrCat("an answer from ", source,
                                                 " could not be used; the gateway's operators have the details "
                                                 "under request id ",
                                                 request_id));
}


adapters::CallOptions CallOptionsFor(const grpc::CallbackServerContext& context, std::string request_id) {
  adapters::CallOptions options;
  auto deadline = context.deadline();
  if (deadline != std::chrono::system_clock::time_point::max()) options.deadline = absl::FromChrono(deadline);
  options.request_id = std::move(request_id);
  return options;
}

}  // namespace interop::services
