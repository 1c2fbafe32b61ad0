// What every public service handler shares: request ids, input validation that names the field,
// the caller's deadline as adapter call options, and fetching a record from the city that holds it.
#ifndef INTEROP_GATEWAY_SERVICES_SERVICE_SUPPORT_H_
#define INTEROP_GATEWAY_SERVICES_SERVICE_SUPPORT_H_

#include <functional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "adapters/city_adapter.h"
#include "gateway/base/clock.h"
#include "gateway/router/city_directory.h"
#include "gateway/router/record_locator.h"
#include "grpcpp/server_context.h"
#include "interop/common/v1/common.pb.h"

namespace interop::services {

class CallGuard;

// What the services need from the gateway. Borrowed; everything outlives the services.
struct ServiceDependencies {
  router::CityDirectory* cities = nullptr;
  router::RecordLocator* locator = nullptr;
  const Clock* clock = nullptr;
  CallGuard* guard = nullptr;
};

// A fresh request id: 32 lower-case hex digits from a cryptographically seeded generator.
std::string NewRequestId();

// The request id for this call (the caller's "x-request-id" if it is 8-64 characters of
// [A-Za-z0-9._-], else a fresh one), sent back as the "x-request-id" response header.
std::string AssignRequestId(grpc::CallbackServerContext* context);

// The normalised 18-character number of `person`, or INVALID_ARGUMENT whose message starts with
// "<field>.resident_id: " and says what is wrong (missing, malformed, bad check character...).
absl::StatusOr<std::string> ValidatePerson(const common::v1::PersonRef& person, absl::string_view field,
                                           const Clock& clock);

// The same for a bare identity-number field named `field` (e.g. "access.on_behalf_of_resident_id").
absl::StatusOr<std::string> ValidateResidentIdField(absl::string_view text, absl::string_view field,
                                                    const Clock& clock);

// What a caller is told of `status`. INTERNAL and DATA_LOSS errors can quote what a city answered (a
// translation error names the field and its value), and the value may be one the caller's role must
// not see (a masked balance, say): the caller gets only the city's name (when the message starts
// with "city <name>") and the request id, and the whole message goes to the log. Other statuses are
// returned unchanged.
absl::Status RedactForCaller(const absl::Status& status, const std::string& request_id);

// Adapter call options carrying the caller's deadline and the request id.
adapters::CallOptions CallOptionsFor(const grpc::CallbackServerContext& context, std::string request_id);

// Fetches the person's `domain` record from the one city that holds it: locates the city, calls
// `fetch` on its adapter; if a remembered city says it no longer holds the record (the person
// moved), forgets it and locates once more by asking every city. `consulted` is told of every city
// whose record was fetched; `done` gets the city and result.
template <typename T>
void FetchFromHolder(const ServiceDependencies& deps, const std::string& resident_id, router::RecordDomain domain,
                     const adapters::CallOptions& options,
                     std::function<void(adapters::CityAdapter&, adapters::Callback<T>)> fetch,
                     std::function<void(City)> consulted, std::function<void(City, absl::StatusOr<T>)> done,
                     bool refresh = false) {
  deps.locator->Locate(
      resident_id, domain, refresh, options,
      [deps, resident_id, domain, options, fetch, consulted, done,
       refresh](absl::StatusOr<router::LocateResult> located) {
        if (!located.ok()) return done(City::CITY_UNSPECIFIED, located.status());
        City city = located->cities.front();
        bool from_index = located->from_index;
        consulted(city);
        adapters::CityAdapter* adapter = deps.cities->Find(city);
        fetch(*adapter, [deps, resident_id, domain, options, fetch, consulted, done, refresh, city,
                         from_index](absl::StatusOr<T> result) {
          if (!result.ok() && absl::IsNotFound(result.status()) && from_index && !refresh) {
            deps.locator->Forget(resident_id, domain);
            return FetchFromHolder<T>(deps, resident_id, domain, options, fetch, consulted, done, /*refresh=*/true);
          }
          done(city, std::move(result));
        });
      });
}

}  // namespace interop::services

#endif  // INTEROP_GATEWAY_SERVICES_SERVICE_SUPPORT_H_
