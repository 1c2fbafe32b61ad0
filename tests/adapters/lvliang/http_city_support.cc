#include "tests/adapters/lvliang/http_city_support.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "adapters/lvliang/https_client.h"
#include "gateway/base/cities.h"
#include "gateway/tls/tls_credentials.h"

namespace interop::adapters::lvliang::test_support {

std::string CertsDir() { return INTEROP_TEST_CERTS_DIR; }

std::string Pem(const std::string& file) {
  absl::StatusOr<std::string> pem = tls::ReadPemFile(CertsDir() + "/" + file);
  EXPECT_TRUE(pem.ok()) << pem.status() << " (the ctest fixture dev_certs makes " << CertsDir() << ")";
  return pem.ok() ? *pem : std::string();
}

void UseDevelopmentCertificates(mock_city::HttpBackendOptions* options) {
  options->ca_cert_file = CertsDir() + "/ca.pem";
  options->cert_file = CertsDir() + "/city-lvliang.pem";
  options->key_file = CertsDir() + "/city-lvliang.key";
}

const mock_city::Population& TestPopulation() {
  static const mock_city::Population* population = [] {
    mock_city::PopulationOptions options;
    options.persons_per_issuing_city = 300;
    return new mock_city::Population(mock_city::Population::Generate(options));
  }();
  return *population;
}

std::shared_ptr<const Dialect> CheckedInDialect(City city) {
  absl::StatusOr<std::shared_ptr<const Dialect>> dialect =
      Dialect::LoadFile(absl::StrCat(INTEROP_SOURCE_DIR, "/adapters/", CityName(city), "/dialect.textproto"));
  EXPECT_TRUE(dialect.ok()) << dialect.status();
  return dialect.ok() ? *dialect : nullptr;
}

std::unique_ptr<NationalInterfaceAdapter> AdapterToMock(std::shared_ptr<const Dialect> dialect, int port) {
  HttpsClientOptions client;
  client.address = absl::StrCat("127.0.0.1:", port);
  client.server_name = "localhost";
  client.ca_pem = Pem("ca.pem");
  client.cert_pem = Pem("gateway.pem");
  client.key_pem = Pem("gateway.key");
  auto https = HttpsClient::Create(std::move(client));
  EXPECT_TRUE(https.ok()) << https.status();
  NationalInterfaceAdapterOptions adapter_options;
  adapter_options.dialect = std::move(dialect);
  adapter_options.city_deadline = absl::Seconds(10);
  auto adapter = NationalInterfaceAdapter::Create(std::move(adapter_options), *std::move(https));
  EXPECT_TRUE(adapter.ok()) << adapter.status();
  return adapter.ok() ? *std::move(adapter) : nullptr;
}

}  // namespace interop::adapters::lvliang::test_support
