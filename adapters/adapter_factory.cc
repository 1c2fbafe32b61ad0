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

// Reconnect quickly after a city comes back, so a restarted city is usable within a second or two:
// the first retry after a failed connect comes after 200 ms, later ones back off (x1.6, jittered)
// to at most 2 s.
constexpr int kInitialReconnectBackoffMs = 200;
constexpr int kMaxReconnectBackoffMs = 2000;

// The least time one connect attempt (TCP connect, TLS and HTTP/2 handshakes) is given before it
// counts as failed. In gRPC 1.51 (src/core/ext/filters/client_channel/subchannel.cc,
// Subchannel::StartConnectingLocked) an attempt's deadline is
// max(now + GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, now + current backoff): despite its name, the
// "min reconnect backoff" is the minimum connect timeout (gRPC's default is 20 s), not a floor on
// the backoff. Set as low as the backoff (200 ms), it cut off every TLS handshake slower than that
// (a loaded machine, a city across a WAN) with "handshaker shutdown", and calls failed UNAVAILABLE
// until the backoff had grown. A city that does not answer at all still fails each call by the
// call's own deadline; a refused connection still fails at once.
constexpr int kMinConnectTimeoutMs = 5000;

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
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, kInitialReconnectBackoffMs);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kMaxReconnectBackoffMs);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, kMinConnectTimeoutMs);
  // No gRPC-level retries: the gateway retries city calls itself, only where that is safe (reads
  // and writes keyed for idempotence, within a retry budget: gateway/resilience/). gRPC's retry
  // filter would otherwise hold every call's messages for a possible replay; without it the
  // gateway spent about 9% less CPU per read at 64 calls in flight (docs/BENCHMARKS.md). It also
  // ends gRPC's transparent retry of a call that never reached the city: such a call fails
  // UNAVAILABLE, which the resilience layer retries for the calls it may retry.
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
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
