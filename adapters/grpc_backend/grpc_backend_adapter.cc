#include "adapters/grpc_backend/grpc_backend_adapter.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/base/cities.h"
#include "grpcpp/support/byte_buffer.h"

namespace interop::adapters {
namespace {

namespace backend = ::interop::citybackend::v1;

// One in-flight call: the context and messages must outlive the asynchronous call.
template <typename Request, typename Response>
struct PendingCall {
  grpc::ClientContext context;
  Request request;
  Response response;
};

}  // namespace

GrpcBackendAdapter::GrpcBackendAdapter(GrpcBackendOptions options, std::shared_ptr<grpc::Channel> channel,
                                       std::unique_ptr<backend::CityBackendService::StubInterface> stub)
    : options_(std::move(options)),
      translator_(options_.dialect != nullptr ? options_.dialect : Dialect::Reference(options_.city)),
      channel_(std::move(channel)),
      stub_(std::move(stub)),
      generic_stub_(channel_) {}

bool GrpcBackendAdapter::Prepare(const CallOptions& options, grpc::ClientContext* context) const {
  const absl::Time city_deadline = absl::Now() + options_.city_deadline;
  const bool caller_deadline_binds = options.deadline <= city_deadline;
  context->set_deadline(absl::ToChronoTime(caller_deadline_binds ? options.deadline : city_deadline));
  if (!options.request_id.empty()) context->AddMetadata("x-request-id", options.request_id);
  return caller_deadline_binds;
}

absl::Status GrpcBackendAdapter::MapError(const grpc::Status& status, bool caller_deadline_binds,
                                          absl::string_view what) const {
  absl::string_view city = CityName(options_.city);
  switch (status.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
      return absl::NotFoundError(absl::StrCat("city ", city, " holds no ", what, " for this person"));
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      if (caller_deadline_binds) {
        return absl::DeadlineExceededError(
            absl::StrCat("the call's deadline passed while waiting for city ", city));
      }
      return absl::UnavailableError(absl::StrCat("city ", city, " did not answer within its deadline of ",
                                                 absl::FormatDuration(options_.city_deadline)));
    case grpc::StatusCode::UNAVAILABLE:
      return absl::UnavailableError(absl::StrCat("city ", city, " is unavailable: ", status.error_message()));
    case grpc::StatusCode::CANCELLED:
      return absl::CancelledError(absl::StrCat("call to city ", city, " was cancelled"));
    default:
      return absl::InternalError(absl::StrCat("city ", city, " failed to answer ", what, ": ",
                                              grpc::StatusCode(status.error_code()), " ",
                                              status.error_message()));
  }
}

void GrpcBackendAdapter::LocatePerson(const std::string& resident_id, const CallOptions& options,
                                      Callback<PersonLocation> done) {
  using Call = PendingCall<backend::LocatePersonRequest, backend::LocatePersonResponse>;
  auto* call = new Call;
  const bool caller_deadline_binds = Prepare(options, &call->context);
  call->request.set_resident_id(translator_.BackendResidentId(resident_id));
  stub_->async()->LocatePerson(&call->context, &call->request, &call->response,
                               [this, call, caller_deadline_binds, done = std::move(done)](grpc::Status status) {
                                 std::unique_ptr<Call> owned(call);
                                 if (!status.ok()) return done(MapError(status, caller_deadline_binds, "person"));
                                 PersonLocation location;
                                 location.found = owned->response.found();
                                 location.holds_medical_enrollment = owned->response.holds_medical_enrollment();
                                 location.holds_contribution_history =
                                     owned->response.holds_contribution_history();
                                 location.holds_household_registration =
                                     owned->response.holds_household_registration();
                                 done(location);
                               });
}

void GrpcBackendAdapter::GetInsuranceStatus(const std::string& resident_id, const CallOptions& options,
                                            Callback<medical::v1::GetInsuranceStatusResponse> done) {
  using Call = PendingCall<backend::GetMedicalEnrollmentRequest, backend::GetMedicalEnrollmentResponse>;
  auto* call = new Call;
  const bool caller_deadline_binds = Prepare(options, &call->context);
  call->request.set_resident_id(translator_.BackendResidentId(resident_id));
  stub_->async()->GetMedicalEnrollment(
      &call->context, &call->request, &call->response,
      [this, call, resident_id, caller_deadline_binds, done = std::move(done)](grpc::Status status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok()) return done(MapError(status, caller_deadline_binds, "medical-insurance enrolment"));
        done(translator_.TranslateMedicalEnrollment(resident_id, owned->response));
      });
}

void GrpcBackendAdapter::GetMonthlyContributions(const std::string& resident_id, int from_year, int to_year,
                                                 const CallOptions& options,
                                                 Callback<std::vector<social::v1::ContributionEntry>> done) {
  using Call = PendingCall<backend::GetContributionsRequest, backend::GetContributionsResponse>;
  auto* call = new Call;
  const bool caller_deadline_binds = Prepare(options, &call->context);
  call->request.set_resident_id(translator_.BackendResidentId(resident_id));
  call->request.set_from_year(from_year);
  call->request.set_to_year(to_year);
  stub_->async()->GetContributions(
      &call->context, &call->request, &call->response,
      [this, call, resident_id, caller_deadline_binds, done = std::move(done)](grpc::Status status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok()) return done(MapError(status, caller_deadline_binds, "contribution history"));
        done(translator_.TranslateContributions(resident_id, owned->response));
      });
}

void GrpcBackendAdapter::GetHouseholdRecord(const std::string& resident_id, const CallOptions& options,
                                            Callback<household::v1::GetHouseholdRecordResponse> done) {
  using Call =
      PendingCall<backend::GetHouseholdRegistrationRequest, backend::GetHouseholdRegistrationResponse>;
  auto* call = new Call;
  const bool caller_deadline_binds = Prepare(options, &call->context);
  call->request.set_resident_id(translator_.BackendResidentId(resident_id));
  stub_->async()->GetHouseholdRegistration(
      &call->context, &call->request, &call->response,
      [this, call, resident_id, caller_deadline_binds, done = std::move(done)](grpc::Status status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok()) return done(MapError(status, caller_deadline_binds, "household registration"));
        done(translator_.TranslateHouseholdRegistration(resident_id, owned->response));
      });
}

void GrpcBackendAdapter::CheckHealth(const CallOptions& options, std::function<void(absl::Status)> done) {
  struct HealthCall {
    grpc::ClientContext context;
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
  };
  auto* call = new HealthCall;
  Prepare(options, &call->context);
  // grpc.health.v1.HealthCheckRequest{service: ""} encodes to zero bytes.
  grpc::Slice empty;
  call->request = grpc::ByteBuffer(&empty, 1);
  generic_stub_.UnaryCall(
      &call->context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &call->request, &call->response,
      [this, call, done = std::move(done)](grpc::Status status) {
        std::unique_ptr<HealthCall> owned(call);
        if (!status.ok()) {
          return done(absl::UnavailableError(absl::StrCat("city ", CityName(options_.city),
                                                          " health check failed: ", status.error_message())));
        }
        // HealthCheckResponse{status: SERVING} is field 1, varint 1: bytes 08 01.
        std::vector<grpc::Slice> slices;
        std::string bytes;
        if (owned->response.Dump(&slices).ok()) {
          for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
        }
        if (bytes == std::string("\x08\x01", 2)) return done(absl::OkStatus());
        done(absl::UnavailableError(absl::StrCat("city ", CityName(options_.city), " reports not serving")));
      });
}

}  // namespace interop::adapters
