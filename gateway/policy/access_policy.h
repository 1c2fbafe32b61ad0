// AccessPolicy: who may call which method, for which purposes, and which answer fields they see.
//
// Built from the interop.config.v1.AccessPolicy proto (protos/interop/config/v1/access_policy.proto)
// and validated against the API itself: every method must exist in the gateway's services, every
// visible field in that method's response, and purposes are required exactly for methods whose
// request carries an AccessContext (calls to personal records). Whatever is not granted is refused.
//
// Thread-safe: immutable after Compile(). Shared as shared_ptr<const AccessPolicy> so a reload can
// swap it while calls in flight keep the one they started with.
#ifndef INTEROP_GATEWAY_POLICY_ACCESS_POLICY_H_
#define INTEROP_GATEWAY_POLICY_ACCESS_POLICY_H_

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "interop/common/v1/common.pb.h"
#include "interop/config/v1/access_policy.pb.h"

namespace interop::policy {

using common::v1::CallerRole;
using common::v1::Purpose;

// What one role may do with one method.
struct CompiledGrant {
  std::set<int> purposes;            // Purpose values
  bool all_fields_visible = false;
  std::set<std::string> visible_fields;
  bool own_records_only = false;
};

class AccessPolicy {
 public:
  // Validates and compiles. INVALID_ARGUMENT naming the grant and field, e.g.
  // "grants[3].visible_fields[1]: \"address\" is not a field of
  // interop.household.v1.GetHouseholdRecordResponse".
  static absl::StatusOr<std::shared_ptr<const AccessPolicy>> Compile(const config::v1::AccessPolicy& proto);

  // Parses text format, then Compile(). Errors carry the line of a syntax error.
  static absl::StatusOr<std::shared_ptr<const AccessPolicy>> FromText(absl::string_view text);

  // May `role` call `method` stating `purpose`? On refusal: PERMISSION_DENIED with ErrorInfo reason
  // ROLE_NOT_ALLOWED, PURPOSE_MISSING or PURPOSE_NOT_ALLOWED. `personal` says whether the method is
  // a call to a personal record (its request has an AccessContext); if not, purpose is not checked.
  absl::StatusOr<const CompiledGrant*> Authorize(CallerRole role, const std::string& method, Purpose purpose,
                                                 bool personal) const;

  // Clears every top-level field of `response` that `grant` does not make visible (except
  // "resident_id" and "provenance") and returns the names of the withheld fields, in field order.
  static std::vector<std::string> ApplyFieldMask(const CompiledGrant& grant, google::protobuf::Message* response);

  // The rate limit for `role`, if any.
  const config::v1::RateLimit* RateLimitFor(CallerRole role) const;

 private:
  AccessPolicy() = default;
  std::map<std::pair<int, std::string>, CompiledGrant> grants_;
  std::map<int, config::v1::RateLimit> rate_limits_;
};

// True if `method` (full name "/pkg.Service/Method") takes an AccessContext, i.e. reads a personal record.
bool IsPersonalRecordMethod(const std::string& method);

}  // namespace interop::policy

#endif  // INTEROP_GATEWAY_POLICY_ACCESS_POLICY_H_
