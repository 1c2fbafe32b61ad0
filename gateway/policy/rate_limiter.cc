#include "gateway/policy/rate_limiter.h"

#include <algorithm>
#include <cmath>

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

absl::Status RateLimiter::Admit(const std::string& key, const config::v1::RateLimit& limit) {
  const double rate = limit.calls_per_second();
  const double burst = std::max<double>(1, limit.burst());
  absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  ForgetIdleLocked(now);
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
  return WithRetryDelay(
      Refusal(absl::StatusCode::kResourceExhausted, "RATE_LIMITED",
              absl::StrFormat("rate limit of %.6g calls per second (burst %d) exceeded; retry in %s", rate,
                              static_cast<int>(burst), absl::FormatDuration(wait)),
              {{"calls_per_second", absl::StrFormat("%.6g", rate)}, {"burst", absl::StrCat(limit.burst())}}),
      wait);
}

}  // namespace interop::policy
