// The adapter for Yangquan's backend.
//
// Yangquan's backend speaks the gRPC city backend contract in Yangquan's own dialect, described in
// adapters/yangquan/dialect.textproto (the city edits its code tables there). Yangquan's backend
// sends names in GB 18030, writes dates as "YYYY.MM.DD", and uses its own short codes ("E1"
// employee, "A" active, "1" pension, ...). The adapter absorbs all of it, so the rest of the
// gateway never learns it.
#ifndef INTEROP_ADAPTERS_YANGQUAN_YANGQUAN_ADAPTER_H_
#define INTEROP_ADAPTERS_YANGQUAN_YANGQUAN_ADAPTER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/city_adapter.h"
#include "adapters/dialect/dialect.h"
#include "grpcpp/channel.h"

namespace interop::adapters::yangquan {

// An adapter over `channel`, a mutual-TLS channel to Yangquan's backend, translating with `dialect`
// (Yangquan's, normally loaded from adapters/yangquan/dialect.textproto); no call takes longer than
// `city_deadline`. INVALID_ARGUMENT if `dialect` is null or describes another city.
absl::StatusOr<std::unique_ptr<CityAdapter>> NewYangquanAdapter(std::shared_ptr<grpc::Channel> channel,
                                                                absl::Duration city_deadline,
                                                                std::shared_ptr<const Dialect> dialect);

}  // namespace interop::adapters::yangquan

#endif  // INTEROP_ADAPTERS_YANGQUAN_YANGQUAN_ADAPTER_H_
