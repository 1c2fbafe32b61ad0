// LocationStore: where the record locator remembers which cities hold a person's records.
//
// A cache that is safe to lose: the cities are the record of truth, and a lost or stale entry only
// costs one fan-out to the five cities. Entries survive a restart so that a restarted gateway does
// not ask all five cities about every person again.
//
// Thread-safe: implementations allow concurrent calls.
#ifndef INTEROP_GATEWAY_STORE_LOCATION_STORE_H_
#define INTEROP_GATEWAY_STORE_LOCATION_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "interop/common/v1/common.pb.h"

namespace interop::store {

// The three kinds of record the exchange routes.
enum class RecordDomain { kMedicalEnrollment = 1, kContributionHistory = 2, kHouseholdRegistration = 3 };

struct RecordLocation {
  // Cities holding the record: exactly one for medical enrolment and household registration, one or
  // more for contribution history; empty means "no city holds it" (a negative entry).
  std::vector<common::v1::City> cities;
  absl::Time learned_at;
};

class LocationStore {
 public:
  virtual ~LocationStore() = default;

  // The remembered location, or nullopt if none. INTERNAL if the store fails.
  virtual absl::StatusOr<std::optional<RecordLocation>> Get(const std::string& resident_id,
                                                            RecordDomain domain) = 0;
  // Remembers (replacing) the location.
  virtual absl::Status Put(const std::string& resident_id, RecordDomain domain,
                           const RecordLocation& location) = 0;
  // Forgets the location, for example after the remembered city said it no longer holds the record.
  virtual absl::Status Forget(const std::string& resident_id, RecordDomain domain) = 0;
};

}  // namespace interop::store

#endif  // INTEROP_GATEWAY_STORE_LOCATION_STORE_H_
