// CityAdapter: the gateway's only view of a city's backend, in canonical types.
//
// Everything that differs between cities (transport, field names, code tables, money units, date
// formats, identity formats, text encoding) lives behind this interface, in adapters/<city>/. The
// gateway never sees a city's dialect.
//
// Contract for every method:
//  - Asynchronous: returns at once and calls `done` exactly once, later, on a gRPC or adapter
//    thread (or, for an immediate local failure, possibly before returning). `done` must not block.
//  - `resident_id` is a validated, normalised 18-character number.
//  - The call ends by `options.deadline` at the latest (the adapter may apply a shorter, per-city
//    deadline from its configuration).
//  - Errors name the city in the message: NOT_FOUND when the city holds no such record,
//    UNAVAILABLE or DEADLINE_EXCEEDED when the city did not answer, INTERNAL when the city's answer
//    could not be translated (a malformed or unmapped value; the message names the field).
//
// Thread-safe: methods may be called concurrently from any thread.
#ifndef INTEROP_ADAPTERS_CITY_ADAPTER_H_
#define INTEROP_ADAPTERS_CITY_ADAPTER_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "interop/common/v1/common.pb.h"
#include "interop/household/v1/household.pb.h"
#include "interop/medical/v1/medical.pb.h"
#include "interop/social/v1/social.pb.h"

namespace interop::adapters {

using ::interop::common::v1::City;

// Which records a city holds for one person.
struct PersonLocation {
  bool found = false;
  bool holds_medical_enrollment = false;
  bool holds_contribution_history = false;
  bool holds_household_registration = false;
};

struct CallOptions {
  // Absolute deadline of the caller; absl::InfiniteFuture() for none.
  absl::Time deadline = absl::InfiniteFuture();
  // The gateway's request id, passed to the city for its own logs.
  std::string request_id;
};

template <typename T>
using Callback = std::function<void(absl::StatusOr<T>)>;

class CityAdapter {
 public:
  virtual ~CityAdapter() = default;

  virtual City city() const = 0;

  // Which records the city holds for the person. A person the city does not know is found=false,
  // not an error.
  virtual void LocatePerson(const std::string& resident_id, const CallOptions& options,
                            Callback<PersonLocation> done) = 0;

  // The person's medical-insurance status in this city. Fills every field of the response except
  // `provenance`.
  virtual void GetInsuranceStatus(const std::string& resident_id, const CallOptions& options,
                                  Callback<medical::v1::GetInsuranceStatusResponse> done) = 0;

  // The person's contributions paid in this city as MONTHLY entries (month 1-12, months = 1),
  // ascending by year, month, kind; limited to [from_year, to_year], 0 meaning unbounded.
  virtual void GetMonthlyContributions(const std::string& resident_id, int from_year, int to_year,
                                       const CallOptions& options,
                                       Callback<std::vector<social::v1::ContributionEntry>> done) = 0;

  // The person's household registration in this city. Fills every field except `provenance`.
  virtual void GetHouseholdRecord(const std::string& resident_id, const CallOptions& options,
                                  Callback<household::v1::GetHouseholdRecordResponse> done) = 0;

  // Whether the city's backend is serving: OK, or UNAVAILABLE naming the city.
  virtual void CheckHealth(const CallOptions& options, std::function<void(absl::Status)> done) = 0;
};

}  // namespace interop::adapters

#endif  // INTEROP_ADAPTERS_CITY_ADAPTER_H_
