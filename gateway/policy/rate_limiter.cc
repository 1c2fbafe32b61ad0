#include "gateway/policy/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gateway/base/rich_status.h"

namespace interop::policy {
namespace {

constexpr absl::Duration kIdleAfter = absl::Minutes(10);
constexpr absl::Duration kSweepEvery = absl::Minutes(1);

}  // namespace

void RateLimiter::ForgetIdleLocked(absl::Time now) {
  if (now - last_sweep_ < kSweepEvery) return;
  last_sweep_ = now;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (now - it->second.updated > kIdleAfter) {
      buckets_.erase(it++);
    } else {
      ++it;
    }
  }
}

void RateLimiter::SetShares(absl::flat_hash_map<std::string, int> replicas_per_key) {
  absl::MutexLock lock(&mu_);
  shares_ = std::move(replicas_per_key);
}

std::vector<std::string> RateLimiter::TakeKeysSeen() {
  absl::flat_hash_set<std::string> seen;
  {
    absl::MutexLock lock(&mu_);
    seen.swap(keys_seen_);
  }
  return std::vector<std::string>(seen.begin(), seen.end());
}

absl::Status RateLimiter::Admit(const std::string& key, const config::v1::RateLimit& limit) {
  absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  ForgetIdleLocked(now);
  if (track_keys_seen_) keys_seen_.insert(key);
  int replicas = 1;
  if (auto share = shares_.find(key); share != shares_.end()) replicas = std::max(1, share->second);
  const double rate = limit.calls_per_second() / replicas;
  const double burst = std::max<double>(1, std::floor(static_cast<double>(limit.burst()) / replicas));
  auto [it, inserted] = buckets_.try_emplace(key);
  Bucket& bucket = it->second;
  if (inserted) {
    bucket.tokens = burst;
  } else {
    double elapsed = std::max(0.0, absl::ToDoubleSeconds(now - bucket.updated));
    bucket.tokens = std::min(burst, bucket.tokens + elapsed * rate);
  }
  bucket.updated = now;
  // Refill is floating point: a caller who waited exactly the advertised delay may find the bucket a
  // rounding error short of a token. Such a shortfall counts as a whole token.
  constexpr double kRoundingSlack = 1e-9;
  if (bucket.tokens >= 1.0 - kRoundingSlack) {
    bucket.tokens = std::max(0.0, bucket.tokens - 1.0);
    return absl::OkStatus();
  }
  absl::Duration wait = absl::Seconds((1.0 - bucket.tokens) / rate);
  wait = absl::Ceil(wait, absl::Milliseconds(1));
  const std::string shared =
      replicas > 1 ? absl::StrFormat(" (this gateway replica's share, 1/%d, of %.6g calls per second: %d replicas "
                                     "serve this caller)",
                                     replicas, limit.calls_per_second(), replicas)
                   : "";
  return WithRetryDelay(
      Refusal(absl::StatusCode::kResourceExhausted, "RATE_LIMITED",
              absl::StrFormat("rate limit of %.6g calls per second (burst %d)%s exceeded; retry in %s", rate,
                              static_cast<int>(burst), shared, absl::FormatDuration(wait)),
              {{"calls_per_second", absl::StrFormat("%.6g", limit.calls_per_second())},
               {"burst", absl::StrCat(limit.burst())},
               {"replicas", absl::StrCat(replicas)}}),
      wait);
}

}  // namespace interop::policy
