#include "gateway/services/household_service.h"

#include "gateway/base/cities.h"
#include "gateway/services/call_guard.h"

namespace interop::services {

using household::v1::GetHouseholdRecordResponse;

constexpr char kGetHouseholdRecordMethod[] =
    "/interop.household.v1.HouseholdRegistrationService/GetHouseholdRecord";

grpc::ServerUnaryReactor* HouseholdRegistrationServiceImpl::GetHouseholdRecord(
    grpc::CallbackServerContext* context, const household::v1::GetHouseholdRecordRequest* request,
    GetHouseholdRecordResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<GuardedCall> call = deps_.guard->Admit(context, reactor, kGetHouseholdRecordMethod,
                                                         &request->access(), &request->person(), "person");
  if (!call->admitted()) return reactor;
  FetchFromHolder<GetHouseholdRecordResponse>(
      deps_, call->resident_id(), router::RecordDomain::kHouseholdRegistration, call->options(),
      [call](adapters::CityAdapter& adapter, adapters::Callback<GetHouseholdRecordResponse> done) {
        adapter.GetHouseholdRecord(call->resident_id(), call->options(), std::move(done));
      },
      [call](City city) { call->AddCityConsulted(city); },
      [call, response](City city, absl::StatusOr<GetHouseholdRecordResponse> result) {
        if (!result.ok()) return call->Finish(result.status());
        *response = std::move(*result);
        *response->mutable_provenance()->add_source_cities() = MakeCityInfo(city);
        call->Finish(absl::OkStatus(), response, response->mutable_provenance());
      });
  return reactor;
}

}  // namespace interop::services
