// MockCityAdmin: serves interop.mockcity.v1.MockCityAdminService
// (protos/interop/mockcity/v1/mock_city_admin.proto) over a FaultInjector, so that a test or an
// operator can make a running mock city slow, flaky, hung or down and read what it did.
//
//   MockCityBackend backend(...);
//   MockCityAdmin admin(backend.faults());
//   builder.RegisterService(&backend);  builder.RegisterService(&admin);
//
// SetFaults validates the whole request first: INVALID_ARGUMENT naming the field
// ("settings.error_rate: ...", "settings.methods[1]: ...", "settings.error_code: ...") with a
// google.rpc.BadRequest, and nothing changes.
//
// Thread-safe. The injector must outlive the service.
#ifndef INTEROP_TOOLS_MOCK_CITY_MOCK_CITY_ADMIN_H_
#define INTEROP_TOOLS_MOCK_CITY_MOCK_CITY_ADMIN_H_

#include "absl/status/statusor.h"
#include "interop/mockcity/v1/mock_city_admin.grpc.pb.h"
#include "tools/mock_city/fault_injector.h"

namespace interop::mock_city {

// The proto settings as FaultSettings (error_code parsed, "" as UNAVAILABLE), or INVALID_ARGUMENT
// "<field_prefix>error_code: ..." for a name that is not a status code. Does not run Validate.
absl::StatusOr<FaultSettings> FaultSettingsFromProto(const mockcity::v1::FaultSettings& proto,
                                                     absl::string_view field_prefix = "");
mockcity::v1::FaultSettings FaultSettingsToProto(const FaultSettings& settings);

// SetFaults without a transport (the gRPC service and the HTTP mock's POST /admin/faults share it):
// validates the whole request (INVALID_ARGUMENT naming the field, "settings.error_rate: ...", with a
// google.rpc.BadRequest; nothing changes then), applies it, and returns the settings now in force.
absl::StatusOr<mockcity::v1::SetFaultsResponse> ApplySetFaults(FaultInjector& faults,
                                                               const mockcity::v1::SetFaultsRequest& request);
// GetFaults without a transport: the settings in force and the counters.
mockcity::v1::GetFaultsResponse DescribeFaults(const FaultInjector& faults);

class MockCityAdmin final : public mockcity::v1::MockCityAdminService::CallbackService {
 public:
  explicit MockCityAdmin(FaultInjector& faults) : faults_(faults) {}

  grpc::ServerUnaryReactor* SetFaults(grpc::CallbackServerContext* context,
                                      const mockcity::v1::SetFaultsRequest* request,
                                      mockcity::v1::SetFaultsResponse* response) override;
  grpc::ServerUnaryReactor* GetFaults(grpc::CallbackServerContext* context,
                                      const mockcity::v1::GetFaultsRequest* request,
                                      mockcity::v1::GetFaultsResponse* response) override;
  grpc::ServerUnaryReactor* ResetFaults(grpc::CallbackServerContext* context,
                                        const mockcity::v1::ResetFaultsRequest* request,
                                        mockcity::v1::ResetFaultsResponse* response) override;

 private:
  FaultInjector& faults_;
};

}  // namespace interop::mock_city

#endif  // INTEROP_TOOLS_MOCK_CITY_MOCK_CITY_ADMIN_H_
