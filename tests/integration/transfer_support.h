// Helpers of the issue-5 workflow integration tests (gateway_migration_test.cc,
// gateway_pension_transfer_test.cc): direct calls to the gRPC mock cities (as the gateway makes
// them, with the gateway's certificate), waiting for a workflow to end, and the test-only crash hook.
#ifndef INTEROP_TESTS_INTEGRATION_TRANSFER_SUPPORT_H_
#define INTEROP_TESTS_INTEGRATION_TRANSFER_SUPPORT_H_

#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "adapters/dialect/dialect.h"
#include "gateway/base/cities.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "interop/citybackend/v1/city_backend.grpc.pb.h"
#include "tests/integration/city_cluster.h"
#include "tools/mock_city/population.h"

namespace interop::testing {

// The four cities whose mocks speak gRPC (Lüliang's speaks HTTP/JSON).
inline constexpr City kGrpcCities[] = {City::CITY_TAIYUAN, City::CITY_YANGQUAN, City::CITY_JINZHONG,
                                       City::CITY_XINZHOU};

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

// What a gRPC mock city says it holds for the person (asked in the city's own identity form).
inline absl::StatusOr<citybackend::v1::LocatePersonResponse> LocateAt(CityCluster& cluster, City city,
                                                                      const std::string& resident_id) {
  absl::StatusOr<std::shared_ptr<const adapters::Dialect>> dialect =
      adapters::Dialect::LoadFile(cluster.DialectPath(city));
  if (!dialect.ok()) return dialect.status();
  auto stub = citybackend::v1::CityBackendService::NewStub(MockCityChannel(cluster, city));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  citybackend::v1::LocatePersonRequest request;
  request.set_resident_id((*dialect)->BackendResidentId(resident_id));
  citybackend::v1::LocatePersonResponse response;
  grpc::Status status = stub->LocatePerson(&context, request, &response);
  if (!status.ok()) return absl::UnavailableError(status.error_message());
  return response;
}

// The gRPC cities that register the person as their household resident.
inline std::vector<City> RegisteringCities(CityCluster& cluster, const std::string& resident_id) {
  std::vector<City> cities;
  for (City city : kGrpcCities) {
    absl::StatusOr<citybackend::v1::LocatePersonResponse> located = LocateAt(cluster, city, resident_id);
    if (located.ok() && located->holds_household_registration()) cities.push_back(city);
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
