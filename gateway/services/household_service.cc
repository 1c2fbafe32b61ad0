#include "gateway/services/household_service.h"

#include "gateway/base/cities.h"
#include "gateway/base/grpc_status.h"

namespace interop::services {

using household::v1::GetHouseholdRecordResponse;

grpc::ServerUnaryReactor* HouseholdRegistrationServiceImpl::GetHouseholdRecord(
    grpc::CallbackServerContext* context, const household::v1::GetHouseholdRecordRequest* request,
    GetHouseholdRecordResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::string request_id = AssignRequestId(context);
  absl::StatusOr<std::string> resident_id = ValidatePerson(request->person(), "person", *deps_.clock);
  if (!resident_id.ok()) {
    reactor->Finish(ToGrpcStatus(resident_id.status()));
    return reactor;
  }
  adapters::CallOptions options = CallOptionsFor(*context, request_id);
  FetchFromHolder<GetHouseholdRecordResponse>(
      deps_, *resident_id, router::RecordDomain::kHouseholdRegistration, options,
      [resident_id = *resident_id, options](adapters::CityAdapter& adapter,
                                            adapters::Callback<GetHouseholdRecordResponse> done) {
        adapter.GetHouseholdRecord(resident_id, options, std::move(done));
      },
      [reactor, response, request_id](City city, absl::StatusOr<GetHouseholdRecordResponse> result) {
        if (!result.ok()) return reactor->Finish(ToGrpcStatus(result.status()));
        *response = std::move(*result);
        *response->mutable_provenance()->add_source_cities() = MakeCityInfo(city);
        response->mutable_provenance()->set_request_id(request_id);
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

}  // namespace interop::services
