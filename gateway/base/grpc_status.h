// Conversions between absl::Status and grpc::Status. The codes are the same set, so the mapping is
// one to one; the message is carried unchanged.
#ifndef INTEROP_GATEWAY_BASE_GRPC_STATUS_H_
#define INTEROP_GATEWAY_BASE_GRPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace interop {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

inline absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace interop

#endif  // INTEROP_GATEWAY_BASE_GRPC_STATUS_H_
