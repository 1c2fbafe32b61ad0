// RateLimiter: a token bucket per calling organisation.
//
// Each key (the caller's certificate identity) has a bucket of `burst` tokens refilled at
// `calls_per_second`; a call takes one token or is refused with the time until one is available.
// Idle buckets are forgotten after a while, so memory stays bounded by the active callers.
//
// Thread-safe.
#ifndef INTEROP_GATEWAY_POLICY_RATE_LIMITER_H_
#define INTEROP_GATEWAY_POLICY_RATE_LIMITER_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "gateway/base/clock.h"
#include "interop/config/v1/access_policy.pb.h"

namespace interop::policy {

class RateLimiter {
 public:
  explicit RateLimiter(const Clock& clock) : clock_(clock) {}

  // Takes a token from `key`'s bucket under `limit`. OK, or RESOURCE_EXHAUSTED with ErrorInfo
  // reason RATE_LIMITED and a RetryInfo delay until the next token.
  absl::Status Admit(const std::string& key, const config::v1::RateLimit& limit);

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time updated;
  };
  void ForgetIdleLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock& clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
  absl::Time last_sweep_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace interop::policy

#endif  // INTEROP_GATEWAY_POLICY_RATE_LIMITER_H_
