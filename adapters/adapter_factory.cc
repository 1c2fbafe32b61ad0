#include "adapters/adapter_factory.h"

#include "absl/strings/str_cat.h"
#include "adapters/jinzhong/jinzhong_adapter.h"
#include "adapters/lvliang/lvliang_adapter.h"
#include "adapters/taiyuan/taiyuan_adapter.h"
#include "adapters/xinzhou/xinzhou_adapter.h"
#include "adapters/yangquan/yangquan_adapter.h"
#include "gateway/base/cities.h"
#include "gateway/base/status_macros.h"
#include "gateway/tls/tls_credentials.h"
#include "grpcpp/create_channel.h"

namespace interop::adapters {

absl::StatusOr<std::unique_ptr<CityAdapter>> NewCityAdapter(const config::v1::CityBackendConfig& config) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      tls::MakeMutualTlsChannelCredentials(config.tls());
  if (!credentials.ok()) {
    return absl::Status(credentials.status().code(),
                        absl::StrCat("cities[", CityName(config.city()), "].", credentials.status().message()));
  }
  grpc::ChannelArguments args;
  if (!config.tls_server_name().empty()) args.SetSslTargetNameOverride(config.tls_server_name());
  // Reconnect quickly after a city comes back, so a restarted city is usable within a second or two.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 200);
  std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(config.address(), *credentials, args);
  absl::Duration deadline = absl::Milliseconds(config.deadline_ms());
  switch (config.city()) {
    case City::CITY_TAIYUAN:
      return taiyuan::NewTaiyuanAdapter(std::move(channel), deadline);
    case City::CITY_YANGQUAN:
      return yangquan::NewYangquanAdapter(std::move(channel), deadline);
    case City::CITY_JINZHONG:
      return jinzhong::NewJinzhongAdapter(std::move(channel), deadline);
    case City::CITY_XINZHOU:
      return xinzhou::NewXinzhouAdapter(std::move(channel), deadline);
    case City::CITY_LVLIANG:
      return lvliang::NewLvliangAdapter(std::move(channel), deadline);
    default:
      return absl::InvalidArgumentError(absl::StrCat("city: unknown city ", static_cast<int>(config.city())));
  }
}

}  // namespace interop::adapters
