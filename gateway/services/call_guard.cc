#include "gateway/services/call_guard.h"

#include "absl/strings/str_cat.h"
#include "gateway/base/cities.h"
#include "gateway/base/log.h"
#include "gateway/base/rich_status.h"
#include "gateway/identity/resident_id.h"
#include "gateway/services/service_support.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/auth_context.h"

namespace interop::services {
namespace {

constexpr size_t kMaxLoggedPersonBytes = 64;
constexpr size_t kMaxCaseReference = 64;

std::string StatusReason(const absl::Status& status) {
  std::string reason = ErrorReason(status);
  if (!reason.empty()) return reason;
  if (status.code() == absl::StatusCode::kInvalidArgument) return "INVALID_ARGUMENT";
  return std::string();
}

}  // namespace

common::v1::CallerRole ProtoRole(auth::CallerRole role) {
  switch (role) {
    case auth::CallerRole::kHospital:
      return common::v1::CALLER_ROLE_HOSPITAL;
    case auth::CallerRole::kMedicalInsuranceBureau:
      return common::v1::CALLER_ROLE_MEDICAL_INSURANCE_BUREAU;
    case auth::CallerRole::kSocialSecurityBureau:
      return common::v1::CALLER_ROLE_SOCIAL_SECURITY_BUREAU;
    case auth::CallerRole::kHouseholdOffice:
      return common::v1::CALLER_ROLE_HOUSEHOLD_OFFICE;
    case auth::CallerRole::kCitizenPortal:
      return common::v1::CALLER_ROLE_CITIZEN_PORTAL;
    case auth::CallerRole::kOperator:
      return common::v1::CALLER_ROLE_OPERATOR;
  }
  return common::v1::CALLER_ROLE_UNSPECIFIED;
}

void GuardedCall::AddCityConsulted(City city) {
  absl::MutexLock lock(&mu_);
  record_.cities_consulted.push_back(std::string(CityName(city)));
}

void GuardedCall::Finish(const absl::Status& status, google::protobuf::Message* response,
                         common::v1::Provenance* provenance) {
  if (finished_) {
    LogError("GuardedCall::Finish called twice", {{"request_id", record_.request_id}});
    return;
  }
  finished_ = true;
  if (status.ok() && response != nullptr && grant_ != nullptr) {
    std::vector<std::string> withheld = policy::AccessPolicy::ApplyFieldMask(*grant_, response);
    if (provenance != nullptr) {
      for (std::string& name : withheld) provenance->add_withheld_fields(std::move(name));
    }
  }
  if (provenance != nullptr) provenance->set_request_id(record_.request_id);

  accesslog::AccessRecord record;
  {
    absl::MutexLock lock(&mu_);
    record_.result_code = static_cast<int>(status.code());
    record_.result_reason = StatusReason(status);
    record = std::move(record_);
  }
  grpc::ServerUnaryReactor* reactor = reactor_;
  grpc::Status reply = ToGrpcStatus(RedactForCaller(status, record.request_id));
  std::string request_id = record.request_id;
  metrics::PublicCallMetrics::Method* metrics = metrics_;
  const Clock* clock = clock_;
  absl::Time admitted_at = record.time;
  access_log_->Append(std::move(record), [reactor, reply, response, request_id, metrics, clock,
                                          admitted_at](absl::StatusOr<uint64_t> done) {
    // A store that cannot be reached (UNAVAILABLE: PostgreSQL failing over, a lost connection) is
    // worth retrying; anything else about the log is the gateway's own fault.
    const bool store_unreachable = !done.ok() && done.status().code() == absl::StatusCode::kUnavailable;
    const absl::StatusCode unrecorded = store_unreachable ? absl::StatusCode::kUnavailable : absl::StatusCode::kInternal;
    if (metrics != nullptr) {
      metrics->Answered(done.ok() ? static_cast<absl::StatusCode>(reply.error_code()) : unrecorded,
                        clock->Now() - admitted_at);
    }
    if (!done.ok()) {
      LogError("access record could not be written; answering without data",
               {{"request_id", request_id},
                {"code", absl::StatusCodeToString(unrecorded)},
                {"error", std::string(done.status().message())}});
      if (response != nullptr) response->Clear();
      reactor->Finish(grpc::Status(
          static_cast<grpc::StatusCode>(unrecorded),
          absl::StrCat("the access could not be recorded, so no answer is given",
                       store_unreachable ? " (the gateway's store is unreachable; retry)" : "", " (request ",
                       request_id, ")")));
      return;
    }
    reactor->Finish(reply);
  });
}

absl::StatusOr<auth::CallerIdentity> CallGuard::Authenticate(grpc::CallbackServerContext* context) {
  if (deps_.insecure_dev) {
    auto it = context->client_metadata().find("x-interop-dev-caller");
    if (it == context->client_metadata().end()) {
      return Refusal(absl::StatusCode::kUnauthenticated, "CERTIFICATE_MISSING",
                     "insecure development mode: send the caller as header x-interop-dev-caller: "
                     "interop://<city>/<role>/<organisation>");
    }
    absl::StatusOr<auth::CallerIdentity> identity =
        auth::ParseCallerUri(absl::string_view(it->second.data(), it->second.size()));
    if (!identity.ok()) {
      return Refusal(absl::StatusCode::kUnauthenticated, "CERTIFICATE_IDENTITY_MISSING",
                     absl::StrCat("x-interop-dev-caller: ", identity.status().message()));
    }
    return identity;
  }
  std::string pem;
  std::shared_ptr<const grpc::AuthContext> auth = context->auth_context();
  if (auth != nullptr) {
    std::vector<grpc::string_ref> certs = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
    if (!certs.empty()) pem.assign(certs.front().data(), certs.front().size());
  }
  absl::StatusOr<auth::CallerIdentity> identity = deps_.verifier->Verify(pem);
  if (!identity.ok()) {
    std::string reason = auth::AuthFailureReason(identity.status());
    return Refusal(absl::StatusCode::kUnauthenticated, reason.empty() ? "CERTIFICATE_UNTRUSTED" : reason,
                   identity.status().message());
  }
  return identity;
}

std::shared_ptr<GuardedCall> CallGuard::Admit(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                                              const std::string& method, const common::v1::AccessContext* access,
                                              const common::v1::PersonRef* person, absl::string_view person_field) {
  std::shared_ptr<GuardedCall> call(new GuardedCall());
  call->access_log_ = deps_.access_log;
  call->reactor_ = reactor;
  call->clock_ = deps_.clock;
  if (deps_.call_metrics != nullptr) {
    call->metrics_ = &deps_.call_metrics->ForMethod(method);
    call->metrics_->Admitted();
  }
  accesslog::AccessRecord& record = call->record_;  // not shared yet: no lock needed
  record.time = deps_.clock->Now();
  record.request_id = AssignRequestId(context);
  record.method = method;
  call->options_ = CallOptionsFor(*context, record.request_id);
  if (person != nullptr) record.person = person->resident_id().substr(0, kMaxLoggedPersonBytes);
  common::v1::Purpose purpose = access != nullptr ? access->purpose() : common::v1::PURPOSE_UNSPECIFIED;
  if (access != nullptr && purpose != common::v1::PURPOSE_UNSPECIFIED) {
    record.purpose = common::v1::Purpose_IsValid(purpose) ? common::v1::Purpose_Name(purpose)
                                                          : absl::StrCat("PURPOSE_", static_cast<int>(purpose));
  }

  auto refuse = [&call](const absl::Status& status) {
    call->Finish(status);
    return call;
  };

  absl::StatusOr<auth::CallerIdentity> identity = Authenticate(context);
  if (!identity.ok()) return refuse(identity.status());
  call->caller_ = *identity;
  record.caller_organization = identity->organization_id;
  record.caller_city = std::string(CityName(identity->city));
  record.caller_role = std::string(auth::RoleName(identity->role));
  common::v1::CallerRole role = ProtoRole(identity->role);

  std::shared_ptr<const policy::AccessPolicy> policy = deps_.policy->Current();
  if (const config::v1::RateLimit* limit = policy->RateLimitFor(role)) {
    absl::Status admitted = deps_.rate_limiter->Admit(identity->uri, *limit);
    if (!admitted.ok()) return refuse(admitted);
  }

  if (access != nullptr && purpose != common::v1::PURPOSE_UNSPECIFIED && !common::v1::Purpose_IsValid(purpose)) {
    return refuse(FieldError("access.purpose", absl::StrCat("unknown purpose ", static_cast<int>(purpose))));
  }
  absl::StatusOr<const policy::CompiledGrant*> grant =
      policy->Authorize(role, method, purpose, /*personal=*/access != nullptr);
  if (!grant.ok()) return refuse(grant.status());
  call->grant_ = *grant;
  call->policy_ = policy;

  if (person != nullptr) {
    absl::StatusOr<std::string> resident_id = ValidatePerson(*person, person_field, *deps_.clock);
    if (!resident_id.ok()) return refuse(resident_id.status());
    call->resident_id_ = *resident_id;
    record.person = *resident_id;
  }
  if (access != nullptr && access->case_reference().size() > kMaxCaseReference) {
    return refuse(FieldError("access.case_reference", absl::StrCat("at most ", kMaxCaseReference, " characters")));
  }
  if ((*grant)->own_records_only) {
    absl::StatusOr<std::string> self_id = ValidateResidentIdField(
        access->on_behalf_of_resident_id(), "access.on_behalf_of_resident_id", *deps_.clock);
    if (!self_id.ok()) return refuse(self_id.status());
    if (*self_id != call->resident_id_) {
      return refuse(Refusal(absl::StatusCode::kPermissionDenied, "NOT_OWN_RECORD",
                            "the citizen portal may only ask about the citizen it acts for "
                            "(access.on_behalf_of_resident_id)"));
    }
  }
  call->admitted_ = true;
  return call;
}

}  // namespace interop::services
