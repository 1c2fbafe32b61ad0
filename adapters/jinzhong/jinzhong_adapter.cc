#include "adapters/jinzhong/jinzhong_adapter.h"

#include "adapters/grpc_backend/grpc_backend_adapter.h"

namespace interop::adapters::jinzhong {

std::unique_ptr<CityAdapter> NewJinzhongAdapter(std::shared_ptr<grpc::Channel> channel,
                                              absl::Duration city_deadline) {
  GrpcBackendOptions options;
  options.city = City::CITY_JINZHONG;
  options.city_deadline = city_deadline;
  options.code_tables = CityCodeTables::National();
  auto stub = citybackend::v1::CityBackendService::NewStub(channel);
  return std::make_unique<GrpcBackendAdapter>(std::move(options), std::move(channel), std::move(stub));
}

}  // namespace interop::adapters::jinzhong
