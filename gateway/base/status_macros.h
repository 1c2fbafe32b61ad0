// Small helpers for absl::Status plumbing. Our Abseil (20220623) has no RETURN_IF_ERROR, so the
// project keeps this one pair of macros here and nowhere else.
//
//   INTEROP_RETURN_IF_ERROR(store.Open());
//   INTEROP_ASSIGN_OR_RETURN(Config config, LoadConfig(path));
#ifndef INTEROP_GATEWAY_BASE_STATUS_MACROS_H_
#define INTEROP_GATEWAY_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define INTEROP_RETURN_IF_ERROR(expr)        \
  do {                                       \
    ::absl::Status interop_status_ = (expr); \
    if (!interop_status_.ok()) return interop_status_; \
  } while (0)

#define INTEROP_STATUS_CONCAT_INNER_(a, b) a##b
#define INTEROP_STATUS_CONCAT_(a, b) INTEROP_STATUS_CONCAT_INNER_(a, b)

#define INTEROP_ASSIGN_OR_RETURN(lhs, expr) \
  INTEROP_ASSIGN_OR_RETURN_IMPL_(INTEROP_STATUS_CONCAT_(interop_statusor_, __LINE__), lhs, expr)

#define INTEROP_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                   \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = std::move(statusor).value()

#endif  // INTEROP_GATEWAY_BASE_STATUS_MACROS_H_
