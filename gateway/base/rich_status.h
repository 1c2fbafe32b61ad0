// gRPC's rich error model on absl::Status.
//
// Details travel inside absl::Status as payloads keyed by their google.rpc type URL, so any layer
// can attach them and ToGrpcStatus() turns them into a google.rpc.Status in the grpc-status-details-bin
// trailer, which every gRPC implementation's error-details helpers read:
//   - google.rpc.BadRequest   (FieldError): which request field is wrong and why;
//   - google.rpc.ErrorInfo    (Refusal):    a stable machine-readable reason in domain kErrorDomain;
//   - google.rpc.RetryInfo    (WithRetryDelay): when to try again.
// The status message stays human-readable ("person.resident_id: check character is ...").
#ifndef INTEROP_GATEWAY_BASE_RICH_STATUS_H_
#define INTEROP_GATEWAY_BASE_RICH_STATUS_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/support/status.h"

namespace interop {

// The ErrorInfo domain of every reason the gateway gives.
inline constexpr absl::string_view kErrorDomain = "interop.shanxi-gateway";

// INVALID_ARGUMENT "<field>: <description>" with a BadRequest naming `field`.
absl::Status FieldError(absl::string_view field, absl::string_view description);

// A refusal with `code`, `message` and an ErrorInfo carrying `reason` (UPPER_SNAKE_CASE) and
// optional metadata.
absl::Status Refusal(absl::StatusCode code, absl::string_view reason, absl::string_view message,
                     const std::map<std::string, std::string>& metadata = {});

// `status` (any code) with a BadRequest naming `field`, for refusals that are about one field of the
// request without being INVALID_ARGUMENT (e.g. ALREADY_EXISTS for a reused idempotency key).
absl::Status WithFieldViolation(absl::Status status, absl::string_view field, absl::string_view description);

// `status` with a RetryInfo saying to retry after `delay`.
absl::Status WithRetryDelay(absl::Status status, absl::Duration delay);

// `status` with "<prefix>: " before its message, keeping its code and details.
absl::Status WithMessagePrefix(const absl::Status& status, absl::string_view prefix);

// The ErrorInfo reason attached to `status`, or "" if none.
std::string ErrorReason(const absl::Status& status);

// The BadRequest field named in `status`, or "" if none.
std::string BadRequestField(const absl::Status& status);

// The RetryInfo delay attached to `status`, or nullopt if none.
std::optional<absl::Duration> RetryDelay(const absl::Status& status);

// grpc::Status with the same code and message, and the attached details as a serialized
// google.rpc.Status in error_details.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The reverse, keeping the details of a google.rpc.Status as payloads.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace interop

#endif  // INTEROP_GATEWAY_BASE_RICH_STATUS_H_
