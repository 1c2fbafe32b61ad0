// The public interop.medical.v1.MedicalInsuranceService, on gRPC's callback API.
//
// Thread-safe. Handlers never block: they validate, then continue in adapter callbacks.
#ifndef INTEROP_GATEWAY_SERVICES_MEDICAL_SERVICE_H_
#define INTEROP_GATEWAY_SERVICES_MEDICAL_SERVICE_H_

#include "gateway/services/service_support.h"
#include "interop/medical/v1/medical.grpc.pb.h"

namespace interop::services {

class MedicalInsuranceServiceImpl final : public medical::v1::MedicalInsuranceService::CallbackService {
 public:
  explicit MedicalInsuranceServiceImpl(ServiceDependencies deps) : deps_(deps) {}

  grpc::ServerUnaryReactor* GetInsuranceStatus(grpc::CallbackServerContext* context,
                                               const medical::v1::GetInsuranceStatusRequest* request,
                                               medical::v1::GetInsuranceStatusResponse* response) override;

 private:
  ServiceDependencies deps_;
};

}  // namespace interop::services

#endif  // INTEROP_GATEWAY_SERVICES_MEDICAL_SERVICE_H_
