// RateLimiter: a token bucket per calling organisation.
//
// Each key (the caller's certificate identity) has a bucket of `burst` tokens refilled at
// `calls_per_second`; a call takes one token or is refused with the time until one is available.
// Idle buckets are forgotten after a while, so memory stays bounded by the active callers.
//
// Gateway replicas each hold buckets of their own, yet a limit is the cluster's. So each replica
// enforces, for each key, its share: 1/k of the rate and of the burst (at least one token), where k
// is the number of replicas that serve that caller now (SetShares; 1 for a key it does not name).
// The server learns k from the replicas' reports in the shared database
// (store::pg::ReplicaMembership): TakeKeysSeen() lists the keys this process admitted or refused
// since the last report. A caller whose calls all reach one replica (one long-lived connection
// behind an L4 balancer) gets its whole limit there; one spread over N replicas gets 1/N on each.
//
// Thread-safe.
#ifndef INTEROP_GATEWAY_POLICY_RATE_LIMITER_H_
#define INTEROP_GATEWAY_POLICY_RATE_LIMITER_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "gateway/base/clock.h"
#include "interop/config/v1/access_policy.pb.h"

namespace interop::policy {

class RateLimiter {
 public:
  // With `track_keys_seen` (replicas sharing the limits), Admit() also notes each key for
  // TakeKeysSeen(); without, TakeKeysSeen() is always empty.
  explicit RateLimiter(const Clock& clock, bool track_keys_seen = false)
      : clock_(clock), track_keys_seen_(track_keys_seen) {}

  // Takes a token from `key`'s bucket under `limit`. OK, or RESOURCE_EXHAUSTED with ErrorInfo
  // reason RATE_LIMITED and a RetryInfo delay until the next token.
  absl::Status Admit(const std::string& key, const config::v1::RateLimit& limit);

  // How many replicas serve each key now (see above): replaces the previous shares. Counts below 1
  // count as 1. Takes effect at each key's next Admit().
  void SetShares(absl::flat_hash_map<std::string, int> replicas_per_key);
  // The keys Admit() was called for since the last call (or since the limiter was made), if it
  // tracks them.
  std::vector<std::string> TakeKeysSeen();

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time updated;
  };
  void ForgetIdleLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock& clock_;
  const bool track_keys_seen_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int> shares_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> keys_seen_ ABSL_GUARDED_BY(mu_);
  absl::Time last_sweep_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace interop::policy

#endif  // INTEROP_GATEWAY_POLICY_RATE_LIMITER_H_
