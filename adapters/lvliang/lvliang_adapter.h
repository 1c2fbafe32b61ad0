// The adapter for Lvliang's backend.
//
// Lvliang's backend speaks the gRPC city backend contract with the national code tables; what is
// particular to Lvliang (its code tables, formats and transport) is kept here, so the rest of the
// gateway never learns it.
#ifndef INTEROP_ADAPTERS_LVLIANG_LVLIANG_ADAPTER_H_
#define INTEROP_ADAPTERS_LVLIANG_LVLIANG_ADAPTER_H_

#include <memory>

#include "absl/time/time.h"
#include "adapters/city_adapter.h"
#include "grpcpp/channel.h"

namespace interop::adapters::lvliang {

// An adapter over `channel`, a mutual-TLS channel to Lvliang's backend; no call takes longer than
// `city_deadline`.
std::unique_ptr<CityAdapter> NewLvliangAdapter(std::shared_ptr<grpc::Channel> channel,
                                              absl::Duration city_deadline);

}  // namespace interop::adapters::lvliang

#endif  // INTEROP_ADAPTERS_LVLIANG_LVLIANG_ADAPTER_H_
