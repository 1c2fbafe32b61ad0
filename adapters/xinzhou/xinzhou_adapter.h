// The adapter for Xinzhou's backend.
//
// Xinzhou's backend speaks the gRPC city backend contract in Xinzhou's own dialect, described in
// adapters/xinzhou/dialect.textproto (the city edits its code tables there). Xinzhou's backend
// still keys persons born before 1970 by their legacy 15-digit identity number, writes dates as
// "YYYY/MM/DD", and uses its own numeric codes (where "1" means a suspended enrolment, not an
// active one). The adapter absorbs all of it, so the rest of the gateway never learns it.
#ifndef INTEROP_ADAPTERS_XINZHOU_XINZHOU_ADAPTER_H_
#define INTEROP_ADAPTERS_XINZHOU_XINZHOU_ADAPTER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/city_adapter.h"
#include "adapters/dialect/dialect.h"
#include "grpcpp/channel.h"

namespace interop::adapters::xinzhou {

// An adapter over `channel`, a mutual-TLS channel to Xinzhou's backend, translating with `dialect`
// (Xinzhou's, normally loaded from adapters/xinzhou/dialect.textproto); no call takes longer than
// `city_deadline`. INVALID_ARGUMENT if `dialect` is null or describes another city.
absl::StatusOr<std::unique_ptr<CityAdapter>> NewXinzhouAdapter(std::shared_ptr<grpc::Channel> channel,
                                                               absl::Duration city_deadline,
                                                               std::shared_ptr<const Dialect> dialect);

}  // namespace interop::adapters::xinzhou

#endif  // INTEROP_ADAPTERS_XINZHOU_XINZHOU_ADAPTER_H_
