// What the Lüliang adapter tests against the real mock HTTP server share: the development PKI's
// PEM files (ctest fixture dev_certs), a callback awaited, the test population, a checked-in
// dialect, and a NationalInterfaceAdapter over a real HttpsClient to a mock on 127.0.0.1.
#ifndef INTEROP_TESTS_ADAPTERS_LVLIANG_HTTP_CITY_SUPPORT_H_
#define INTEROP_TESTS_ADAPTERS_LVLIANG_HTTP_CITY_SUPPORT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "adapters/city_adapter.h"
#include "adapters/dialect/dialect.h"
#include "adapters/lvliang/national_interface_adapter.h"
#include "gtest/gtest.h"
#include "tools/mock_city/http_backend.h"
#include "tools/mock_city/population.h"

namespace interop::adapters::lvliang::test_support {

// The directory of the development certificates the dev_certs fixture makes.
std::string CertsDir();

// The contents of CertsDir()/file; "" and a test failure if it cannot be read.
std::string Pem(const std::string& file);

// Calls `call` with a callback and waits up to 30 s for it; a test failure if it never comes.
template <typename T>
absl::StatusOr<T> Await(const std::function<void(Callback<T>)>& call) {
  auto done = std::make_shared<absl::Notification>();
  auto result = std::make_shared<absl::StatusOr<T>>(absl::UnknownError("callback not called"));
  call([done, result](absl::StatusOr<T> r) {
    *result = std::move(r);
    done->Notify();
  });
  EXPECT_TRUE(done->WaitForNotificationWithTimeout(absl::Seconds(30)));
  return done->HasBeenNotified() ? *result
                                 : absl::StatusOr<T>(absl::DeadlineExceededError("test waited 30 s"));
}

// Sets the mock's server certificate, key and CA to the development PKI's (city-lvliang.pem).
void UseDevelopmentCertificates(mock_city::HttpBackendOptions* options);

// 300 persons issued per city, the mock's default seed; made once.
const mock_city::Population& TestPopulation();

// adapters/<city>/dialect.textproto as checked in.
std::shared_ptr<const Dialect> CheckedInDialect(City city);

// The adapter in `dialect` over a real HttpsClient to the mock on 127.0.0.1:`port`, as the gateway
// (gateway.pem) with the development CA, a 10 s city deadline.
std::unique_ptr<NationalInterfaceAdapter> AdapterToMock(std::shared_ptr<const Dialect> dialect, int port);

}  // namespace interop::adapters::lvliang::test_support

#endif  // INTEROP_TESTS_ADAPTERS_LVLIANG_HTTP_CITY_SUPPORT_H_
