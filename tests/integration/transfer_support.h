// Helpers of the issue-5 workflow integration tests (gateway_migration_test.cc,
// gateway_pension_transfer_test.cc): direct calls to the five mock cities through the adapters the
// gateway uses (the gRPC cities' and Lüliang's HTTP/JSON national-interface adapter, with the
// gateway's certificate), waiting for a workflow to end, and the test-only crash hook.
#ifndef INTEROP_TESTS_INTEGRATION_TRANSFER_SUPPORT_H_
#define INTEROP_TESTS_INTEGRATION_TRANSFER_SUPPORT_H_

#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <utility>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "adapters/adapter_factory.h"
#include "adapters/city_adapter.h"
#include "adapters/dialect/dialect.h"
#include "gateway/base/cities.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "grpcpp/security/credentials.h"
#include "interop/citybackend/v1/city_backend.grpc.pb.h"
#include "tests/integration/city_cluster.h"
#include "tools/mock_city/population.h"

namespace interop::testing {

// The four cities whose mocks speak gRPC (Lüliang's speaks HTTP/JSON).
inline constexpr City kGrpcCities[] = {City::CITY_TAIYUAN, City::CITY_YANGQUAN, City::CITY_JINZHONG,
                                       City::CITY_XINZHOU};
// The five cities; Lüliang last.
inline constexpr City kFiveCities[] = {City::CITY_TAIYUAN, City::CITY_YANGQUAN, City::CITY_JINZHONG,
                                       City::CITY_XINZHOU, City::CITY_LVLIANG};

inline std::shared_ptr<grpc::Channel> MockCityChannel(CityCluster& cluster, City city) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFileOrEmpty(cluster.CertPath("ca.pem"));
  ssl.pem_cert_chain = ReadFileOrEmpty(cluster.CertPath("gateway.pem"));
  ssl.pem_private_key = ReadFileOrEmpty(cluster.CertPath("gateway.key"));
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", cluster.city(city).port()), grpc::SslCredentials(ssl),
                                   args);
}

// The adapter the gateway uses for `city`'s mock (gRPC, or Lüliang's HTTP/JSON national interface),
// configured as CityCluster configures the gateway, with the gateway's certificate: so the tests read
// each city in its own protocol and dialect, as the gateway does. Made once per cluster and city and
// kept for the rest of the process (an adapter destroyed just after its callback would race with the
// callback's own cleanup on the transport's thread); it reconnects to a restarted city by itself.
inline absl::StatusOr<adapters::CityAdapter*> MockCityAdapter(CityCluster& cluster, City city) {
  static absl::Mutex mu;
  static auto* const made = new std::map<std::pair<std::string, City>, std::unique_ptr<adapters::CityAdapter>>();
  absl::MutexLock lock(&mu);
  std::unique_ptr<adapters::CityAdapter>& adapter = (*made)[{cluster.dir(), city}];
  if (adapter != nullptr) return adapter.get();
  config::v1::CityBackendConfig config;
  config.set_city(city);
  config.set_address(absl::StrCat("127.0.0.1:", cluster.city(city).port()));
  config.set_tls_server_name("localhost");
  config.set_deadline_ms(5000);
  config.set_dialect_file(cluster.DialectPath(city));
  config.mutable_tls()->set_ca_cert_file(cluster.CertPath("ca.pem"));
  config.mutable_tls()->set_cert_file(cluster.CertPath("gateway.pem"));
  config.mutable_tls()->set_key_file(cluster.CertPath("gateway.key"));
  if (city == City::CITY_LVLIANG) config.set_transport(config::v1::TRANSPORT_HTTP_NATIONAL_INTERFACE);
  absl::StatusOr<std::unique_ptr<adapters::CityAdapter>> created = adapters::NewCityAdapter(config);
  if (!created.ok()) return created.status();
  adapter = *std::move(created);
  return adapter.get();
}

// Calls `call` on the adapter and waits for its answer (at most 10 s).
template <typename T>
absl::StatusOr<T> AwaitCity(const std::function<void(adapters::Callback<T>)>& call) {
  auto done = std::make_shared<absl::Notification>();
  auto result = std::make_shared<absl::StatusOr<T>>(absl::UnknownError("no answer"));
  call([done, result](absl::StatusOr<T> r) {
    *result = std::move(r);
    done->Notify();
  });
  if (!done->WaitForNotificationWithTimeout(absl::Seconds(10))) {
    return absl::DeadlineExceededError("the city's adapter did not call back within 10 s");
  }
  return *result;
}

inline adapters::CallOptions CityCallOptions() {
  adapters::CallOptions options;
  options.deadline = absl::Now() + absl::Seconds(5);
  return options;
}

// What a mock city says it holds for the person.
inline absl::StatusOr<adapters::PersonLocation> LocateAt(CityCluster& cluster, City city,
                                                         const std::string& resident_id) {
  absl::StatusOr<adapters::CityAdapter*> adapter = MockCityAdapter(cluster, city);
  if (!adapter.ok()) return adapter.status();
  return AwaitCity<adapters::PersonLocation>(
      [&](adapters::Callback<adapters::PersonLocation> done) {
        (*adapter)->LocatePerson(resident_id, CityCallOptions(), std::move(done));
      });
}

// The person's monthly contributions a mock city serves; empty if it holds none (NOT_FOUND).
inline absl::StatusOr<std::vector<social::v1::ContributionEntry>> ContributionsAt(CityCluster& cluster, City city,
                                                                                 const std::string& resident_id) {
  absl::StatusOr<adapters::CityAdapter*> adapter = MockCityAdapter(cluster, city);
  if (!adapter.ok()) return adapter.status();
  absl::StatusOr<std::vector<social::v1::ContributionEntry>> entries =
      AwaitCity<std::vector<social::v1::ContributionEntry>>(
          [&](adapters::Callback<std::vector<social::v1::ContributionEntry>> done) {
            (*adapter)->GetMonthlyContributions(resident_id, 0, 0, CityCallOptions(), std::move(done));
          });
  if (absl::IsNotFound(entries.status())) return std::vector<social::v1::ContributionEntry>();
  return entries;
}

// The cities, of all five, that register the person as their household resident.
inline std::vector<City> RegisteringCities(CityCluster& cluster, const std::string& resident_id) {
  std::vector<City> cities;
  for (City city : kFiveCities) {
    absl::StatusOr<adapters::PersonLocation> located = LocateAt(cluster, city, resident_id);
    // A city that does not answer could hide a second registration.
    if (!located.ok()) ADD_FAILURE() << "cannot ask " << CityName(city) << " where the person is registered: "
                                     << located.status();
    if (located.ok() && located->holds_household_registration) cities.push_back(city);
  }
  return cities;
}

// Sets (or with "" clears) the gateway's test-only crash point for its next start.
inline void SetGatewayCrashPoint(const std::string& at) {
  if (at.empty()) {
    unsetenv("INTEROP_TEST_WORKFLOW_CRASH_AT");
  } else {
    setenv("INTEROP_TEST_WORKFLOW_CRASH_AT", at.c_str(), 1);
  }
}

// Repeats `probe` every 100 ms until it returns true or `timeout` passes.
inline bool WaitFor(const std::function<bool()>& probe, absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  while (absl::Now() < end) {
    if (probe()) return true;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return probe();
}

// Persons of the population matching `pred`, skipping those in `used` (and adding the one found).
inline const mock_city::SyntheticPerson* FindUnused(const mock_city::Population& population,
                                                    const std::function<bool(const mock_city::SyntheticPerson&)>& pred,
                                                    std::vector<std::string>* used) {
  for (const mock_city::SyntheticPerson& p : population.persons()) {
    if (std::find(used->begin(), used->end(), p.resident_id) != used->end()) continue;
    if (pred(p)) {
      used->push_back(p.resident_id);
      return &p;
    }
  }
  return nullptr;
}

}  // namespace interop::testing

#endif  // INTEROP_TESTS_INTEGRATION_TRANSFER_SUPPORT_H_
