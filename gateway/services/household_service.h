// The public interop.household.v1.HouseholdRegistrationService, on gRPC's callback API.
//
// Thread-safe. Handlers never block: they validate, then continue in adapter callbacks.
#ifndef INTEROP_GATEWAY_SERVICES_HOUSEHOLD_SERVICE_H_
#define INTEROP_GATEWAY_SERVICES_HOUSEHOLD_SERVICE_H_

#include "gateway/services/service_support.h"
#include "interop/household/v1/household.grpc.pb.h"

namespace interop::services {

class HouseholdRegistrationServiceImpl final
    : public household::v1::HouseholdRegistrationService::CallbackService {
 public:
  explicit HouseholdRegistrationServiceImpl(ServiceDependencies deps) : deps_(deps) {}

  grpc::ServerUnaryReactor* GetHouseholdRecord(grpc::CallbackServerContext* context,
                                               const household::v1::GetHouseholdRecordRequest* request,
                                               household::v1::GetHouseholdRecordResponse* response) override;

 private:
  ServiceDependencies deps_;
};

}  // namespace interop::services

#endif  // INTEROP_GATEWAY_SERVICES_HOUSEHOLD_SERVICE_H_
