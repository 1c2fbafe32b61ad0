// The adapter for Jinzhong's backend.
//
// Jinzhong's backend speaks the gRPC city backend contract with the national code tables; what is
// particular to Jinzhong (its code tables, formats and transport) is kept here, so the rest of the
// gateway never learns it.
#ifndef INTEROP_ADAPTERS_JINZHONG_JINZHONG_ADAPTER_H_
#define INTEROP_ADAPTERS_JINZHONG_JINZHONG_ADAPTER_H_

#include <memory>

#include "absl/time/time.h"
#include "adapters/city_adapter.h"
#include "grpcpp/channel.h"

namespace interop::adapters::jinzhong {

// An adapter over `channel`, a mutual-TLS channel to Jinzhong's backend; no call takes longer than
// `city_deadline`.
std::unique_ptr<CityAdapter> NewJinzhongAdapter(std::shared_ptr<grpc::Channel> channel,
                                              absl::Duration city_deadline);

}  // namespace interop::adapters::jinzhong

#endif  // INTEROP_ADAPTERS_JINZHONG_JINZHONG_ADAPTER_H_
