// The adapter for Yangquan's backend.
//
// Yangquan's backend speaks the gRPC city backend contract with the national code tables; what is
// particular to Yangquan (its code tables, formats and transport) is kept here, so the rest of the
// gateway never learns it.
#ifndef INTEROP_ADAPTERS_YANGQUAN_YANGQUAN_ADAPTER_H_
#define INTEROP_ADAPTERS_YANGQUAN_YANGQUAN_ADAPTER_H_

#include <memory>

#include "absl/time/time.h"
#include "adapters/city_adapter.h"
#include "grpcpp/channel.h"

namespace interop::adapters::yangquan {

// An adapter over `channel`, a mutual-TLS channel to Yangquan's backend; no call takes longer than
// `city_deadline`.
std::unique_ptr<CityAdapter> NewYangquanAdapter(std::shared_ptr<grpc::Channel> channel,
                                              absl::Duration city_deadline);

}  // namespace interop::adapters::yangquan

#endif  // INTEROP_ADAPTERS_YANGQUAN_YANGQUAN_ADAPTER_H_
