// The adapter for Taiyuan's backend.
//
// Taiyuan's backend speaks the gRPC city backend contract in Taiyuan's own dialect, described in
// adapters/taiyuan/dialect.textproto (the city edits its code tables there). Taiyuan's backend is
// the reference: integer fen, "YYYYMMDD" dates, UTF-8 names, 18-character numbers for everyone and
// the national code tables. The adapter absorbs all of it, so the rest of the gateway never learns
// it.
#ifndef INTEROP_ADAPTERS_TAIYUAN_TAIYUAN_ADAPTER_H_
#define INTEROP_ADAPTERS_TAIYUAN_TAIYUAN_ADAPTER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/city_adapter.h"
#include "adapters/dialect/dialect.h"
#include "grpcpp/channel.h"

namespace interop::adapters::taiyuan {

// An adapter over `channel`, a mutual-TLS channel to Taiyuan's backend, translating with `dialect`
// (Taiyuan's, normally loaded from adapters/taiyuan/dialect.textproto); no call takes longer than
// `city_deadline`. INVALID_ARGUMENT if `dialect` is null or describes another city.
absl::StatusOr<std::unique_ptr<CityAdapter>> NewTaiyuanAdapter(std::shared_ptr<grpc::Channel> channel,
                                                               absl::Duration city_deadline,
                                                               std::shared_ptr<const Dialect> dialect);

}  // namespace interop::adapters::taiyuan

#endif  // INTEROP_ADAPTERS_TAIYUAN_TAIYUAN_ADAPTER_H_
