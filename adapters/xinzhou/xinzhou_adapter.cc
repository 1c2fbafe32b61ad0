#include "adapters/xinzhou/xinzhou_adapter.h"

#include "absl/strings/str_cat.h"
#include "adapters/grpc_backend/grpc_backend_adapter.h"
#include "gateway/base/cities.h"

namespace interop::adapters::xinzhou {

absl::StatusOr<std::unique_ptr<CityAdapter>> NewXinzhouAdapter(std::shared_ptr<grpc::Channel> channel,
                                                               absl::Duration city_deadline,
                                                               std::shared_ptr<const Dialect> dialect) {
  if (dialect == nullptr) return absl::InvalidArgumentError("xinzhou: a dialect is required");
  if (dialect->city() != City::CITY_XINZHOU) {
    return absl::InvalidArgumentError(absl::StrCat("xinzhou: dialect ", dialect->source(),
                                                   " is the dialect of ", CityName(dialect->city()),
                                                   ", not of xinzhou"));
  }
  GrpcBackendOptions options;
  options.city = City::CITY_XINZHOU;
  options.city_deadline = city_deadline;
  options.dialect = std::move(dialect);
  auto stub = citybackend::v1::CityBackendService::NewStub(channel);
  return std::make_unique<GrpcBackendAdapter>(std::move(options), std::move(channel), std::move(stub));
}

}  // namespace interop::adapters::xinzhou
