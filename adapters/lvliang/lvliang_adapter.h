// The adapter for Lvliang's backend.
//
// Lvliang's backend speaks HTTP/JSON in the envelope of the national medical-insurance platform
// interface (adapters/lvliang/NATIONAL_INTERFACE.md), in Lvliang's dialect
// (adapters/lvliang/dialect.textproto: yuan amounts, "YYYY-MM-DD" dates, national codes). The
// gateway configures it with `transport: TRANSPORT_HTTP_NATIONAL_INTERFACE` and reaches it through
// NewLvliangNationalInterfaceAdapter. A Lvliang backend that still speaks the gRPC city backend
// contract (transport TRANSPORT_GRPC) is served by NewLvliangAdapter. Either way, what is particular
// to Lvliang stays here, so the rest of the gateway never learns it.
#ifndef INTEROP_ADAPTERS_LVLIANG_LVLIANG_ADAPTER_H_
#define INTEROP_ADAPTERS_LVLIANG_LVLIANG_ADAPTER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/city_adapter.h"
#include "adapters/dialect/dialect.h"
#include "grpcpp/channel.h"
#include "interop/config/v1/gateway_config.pb.h"

namespace interop::adapters::lvliang {

// An adapter over `channel`, a mutual-TLS channel to a Lvliang backend speaking the gRPC city backend
// contract, translating with `dialect` (Lvliang's); no call takes longer than `city_deadline`.
// INVALID_ARGUMENT if `dialect` is null or describes another city.
absl::StatusOr<std::unique_ptr<CityAdapter>> NewLvliangAdapter(std::shared_ptr<grpc::Channel> channel,
                                                               absl::Duration city_deadline,
                                                               std::shared_ptr<const Dialect> dialect);

// An adapter for Lvliang's HTTP/JSON national-interface backend at `config.address()`, over mutual
// TLS with `config.tls()` (the files are read once, here), checking `config.tls_server_name()` (if
// set, else the host of the address) in the backend's certificate, translating with `dialect`; no
// call takes longer than `config.deadline_ms()` (0: 2 s). Connections are made lazily and kept
// alive. Errors start with "cities[lvliang]." and name the field: those of reading the TLS files
// ("cities[lvliang].tls.cert_file: ..."), INVALID_ARGUMENT for a malformed address, a dialect of
// another city or one that JSON cannot carry.
absl::StatusOr<std::unique_ptr<CityAdapter>> NewLvliangNationalInterfaceAdapter(
    const config::v1::CityBackendConfig& config, std::shared_ptr<const Dialect> dialect);

}  // namespace interop::adapters::lvliang

#endif  // INTEROP_ADAPTERS_LVLIANG_LVLIANG_ADAPTER_H_
