// The adapter for Jinzhong's backend.
//
// Jinzhong's backend speaks the gRPC city backend contract in Jinzhong's own dialect, described in
// adapters/jinzhong/dialect.textproto (the city edits its code tables there). Jinzhong's backend
// writes money in yuan as decimal strings ("1234.56"), dates as "YYYY-MM-DD", and uses its own
// letter codes ("ZG" employee, "ZC" active, "YL" pension, "HZ" head, ...). The adapter absorbs all
// of it, so the rest of the gateway never learns it.
#ifndef INTEROP_ADAPTERS_JINZHONG_JINZHONG_ADAPTER_H_
#define INTEROP_ADAPTERS_JINZHONG_JINZHONG_ADAPTER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/city_adapter.h"
#include "adapters/dialect/dialect.h"
#include "grpcpp/channel.h"

namespace interop::adapters::jinzhong {

// An adapter over `channel`, a mutual-TLS channel to Jinzhong's backend, translating with `dialect`
// (Jinzhong's, normally loaded from adapters/jinzhong/dialect.textproto); no call takes longer than
// `city_deadline`. INVALID_ARGUMENT if `dialect` is null or describes another city.
absl::StatusOr<std::unique_ptr<CityAdapter>> NewJinzhongAdapter(std::shared_ptr<grpc::Channel> channel,
                                                                absl::Duration city_deadline,
                                                                std::shared_ptr<const Dialect> dialect);

}  // namespace interop::adapters::jinzhong

#endif  // INTEROP_ADAPTERS_JINZHONG_JINZHONG_ADAPTER_H_
