#include "gateway/services/medical_service.h"

#include "gateway/base/cities.h"
#include "gateway/services/call_guard.h"

namespace interop::services {

using medical::v1::GetInsuranceStatusResponse;

constexpr char kGetInsuranceStatusMethod[] = "/interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus";

grpc::ServerUnaryReactor* MedicalInsuranceServiceImpl::GetInsuranceStatus(
    grpc::CallbackServerContext* context, const medical::v1::GetInsuranceStatusRequest* request,
    GetInsuranceStatusResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<GuardedCall> call = deps_.guard->Admit(context, reactor, kGetInsuranceStatusMethod,
                                                         &request->access(), &request->person(), "person");
  if (!call->admitted()) return reactor;
  FetchFromHolder<GetInsuranceStatusResponse>(
      deps_, call->resident_id(), router::RecordDomain::kMedicalEnrollment, call->options(),
      [call](adapters::CityAdapter& adapter, adapters::Callback<GetInsuranceStatusResponse> done) {
        adapter.GetInsuranceStatus(call->resident_id(), call->options(), std::move(done));
      },
      [call](City city) { call->AddCityConsulted(city); },
      [call, response](City city, absl::StatusOr<GetInsuranceStatusResponse> result) {
        if (!result.ok()) return call->Finish(result.status());
        *response = std::move(*result);
        *response->mutable_provenance()->add_source_cities() = MakeCityInfo(city);
        call->Finish(absl::OkStatus(), response, response->mutable_provenance());
      });
  return reactor;
}

}  // namespace interop::services
