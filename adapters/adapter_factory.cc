#include "adapters/adapter_factory.h"

#include "absl/strings/str_cat.h"
#include "adapters/dialect/dialect.h"
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
namespace {

// The error `status` with "cities[<city>].<field>: " in front of its message.
absl::Status ForField(const config::v1::CityBackendConfig& config, absl::string_view field,
                      const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat("cities[", CityName(config.city()), "].", field, status.message()));
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Dialect>> LoadCityDialect(const config::v1::CityBackendConfig& config) {
  if (config.dialect_file().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cities[", CityName(config.city()), "].dialect_file: is required"));
  }
  absl::StatusOr<std::shared_ptr<const Dialect>> dialect = Dialect::LoadFile(config.dialect_file());
  if (!dialect.ok()) return ForField(config, "dialect_file: ", dialect.status());
  if ((*dialect)->city() != config.city()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cities[", CityName(config.city()), "].dialect_file: ", (*dialect)->source(), " is the dialect of ",
        CityName((*dialect)->city()), ", not of ", CityName(config.city())));
  }
  return dialect;
}

absl::StatusOr<std::unique_ptr<CityAdapter>> NewCityAdapter(const config::v1::CityBackendConfig& config) {
  absl::StatusOr<std::shared_ptr<const Dialect>> dialect = LoadCityDialect(config);
  if (!dialect.ok()) return dialect.status();
  // HTTP/JSON in the national interface's envelope: Lvliang's backend (adapters/lvliang/).
  if (config.transport() == config::v1::TRANSPORT_HTTP_NATIONAL_INTERFACE) {
    if (config.city() != City::CITY_LVLIANG) {
      return absl::InvalidArgumentError(absl::StrCat("cities[", CityName(config.city()),
                                                     "].transport: TRANSPORT_HTTP_NATIONAL_INTERFACE is "
                                                     "implemented for CITY_LVLIANG only"));
    }
    return lvliang::NewLvliangNationalInterfaceAdapter(config, *std::move(dialect));
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      tls::MakeMutualTlsChannelCredentials(config.tls());
  if (!credentials.ok()) return ForField(config, "", credentials.status());
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
      return taiyuan::NewTaiyuanAdapter(std::move(channel), deadline, *std::move(dialect));
    case City::CITY_YANGQUAN:
      return yangquan::NewYangquanAdapter(std::move(channel), deadline, *std::move(dialect));
    case City::CITY_JINZHONG:
      return jinzhong::NewJinzhongAdapter(std::move(channel), deadline, *std::move(dialect));
    case City::CITY_XINZHOU:
      return xinzhou::NewXinzhouAdapter(std::move(channel), deadline, *std::move(dialect));
    case City::CITY_LVLIANG:
      return lvliang::NewLvliangAdapter(std::move(channel), deadline, *std::move(dialect));
    default:
      return absl::InvalidArgumentError(absl::StrCat("city: unknown city ", static_cast<int>(config.city())));
  }
}

}  // namespace interop::adapters
