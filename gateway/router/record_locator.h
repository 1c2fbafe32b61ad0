// RecordLocator: finds which of the five cities holds a person's records, per domain.
//
// The address code in an identity number says where the number was issued, not where its holder is
// insured, registered or employed today, so the locator never routes by it. Instead (in the manner
// of IHE XCPD's patient discovery):
//  1. It looks the person up in its LocationStore. A fresh entry (younger than the TTL) is used.
//  2. Otherwise it asks all five cities at once (LocatePerson) and remembers what they say, for
//     every domain, including "no city holds it".
//  3. When a remembered city then says it no longer holds the record (the person moved), the
//     caller calls Forget() and locates again with `refresh`.
// For medical enrolment and household registration exactly one city holds the record, so the answer
// is given as soon as one city claims it, without waiting for slower cities. Contribution history
// may be spread over several cities, so that answer waits for all five. "No city holds it" is
// answered only when all five cities answered; if some did not, the result is UNAVAILABLE naming
// them.
//
// Thread-safe.
#ifndef INTEROP_GATEWAY_ROUTER_RECORD_LOCATOR_H_
#define INTEROP_GATEWAY_ROUTER_RECORD_LOCATOR_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/city_adapter.h"
#include "gateway/base/clock.h"
#include "gateway/router/city_directory.h"
#include "gateway/store/location_store.h"

namespace interop::router {

using store::RecordDomain;

struct LocateResult {
  // Cities holding the record; never empty in a successful result.
  std::vector<City> cities;
  // True if the answer came from the LocationStore rather than from asking the cities now.
  bool from_index = false;
};

class RecordLocator {
 public:
  // `cities` and `locations` must outlive the locator.
  RecordLocator(CityDirectory& cities, store::LocationStore& locations, const Clock& clock, absl::Duration ttl);

  // Calls `done` exactly once with the cities holding the person's `domain` record; NOT_FOUND if all
  // five cities say none holds it; UNAVAILABLE naming the cities that did not answer if the answer
  // depends on them. With `refresh`, the store is not consulted.
  void Locate(const std::string& resident_id, RecordDomain domain, bool refresh,
              const adapters::CallOptions& options, std::function<void(absl::StatusOr<LocateResult>)> done);

  // Forgets what is remembered about the person's `domain` record.
  void Forget(const std::string& resident_id, RecordDomain domain);

 private:
  struct FanOut;
  void FinishFanOut(const std::shared_ptr<FanOut>& fan_out);

  CityDirectory& cities_;
  store::LocationStore& locations_;
  const Clock& clock_;
  const absl::Duration ttl_;
};

// "medical-insurance enrolment", "contribution history", "household registration".
absl::string_view DomainDescription(RecordDomain domain);

}  // namespace interop::router

#endif  // INTEROP_GATEWAY_ROUTER_RECORD_LOCATOR_H_
