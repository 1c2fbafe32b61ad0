#include "gateway/services/medical_service.h"

#include "gateway/base/cities.h"
#include "gateway/base/grpc_status.h"

namespace interop::services {

using medical::v1::GetInsuranceStatusResponse;

grpc::ServerUnaryReactor* MedicalInsuranceServiceImpl::GetInsuranceStatus(
    grpc::CallbackServerContext* context, const medical::v1::GetInsuranceStatusRequest* request,
    GetInsuranceStatusResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::string request_id = AssignRequestId(context);
  absl::StatusOr<std::string> resident_id = ValidatePerson(request->person(), "person", *deps_.clock);
  if (!resident_id.ok()) {
    reactor->Finish(ToGrpcStatus(resident_id.status()));
    return reactor;
  }
  adapters::CallOptions options = CallOptionsFor(*context, request_id);
  FetchFromHolder<GetInsuranceStatusResponse>(
      deps_, *resident_id, router::RecordDomain::kMedicalEnrollment, options,
      [resident_id = *resident_id, options](adapters::CityAdapter& adapter,
                                            adapters::Callback<GetInsuranceStatusResponse> done) {
        adapter.GetInsuranceStatus(resident_id, options, std::move(done));
      },
      [reactor, response, request_id](City city, absl::StatusOr<GetInsuranceStatusResponse> result) {
        if (!result.ok()) return reactor->Finish(ToGrpcStatus(result.status()));
        *response = std::move(*result);
        *response->mutable_provenance()->add_source_cities() = MakeCityInfo(city);
        response->mutable_provenance()->set_request_id(request_id);
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

}  // namespace interop::services
