// The example configuration shipped in gateway/server/ stays loadable as the schema evolves.
#include "gateway/config/config_loader.h"
#include "gtest/gtest.h"

namespace interop::config {
namespace {

TEST(ExampleConfigTest, ShippedExampleLoadsWithAllFiveCities) {
  absl::StatusOr<v1::GatewayConfig> config =
      LoadGatewayConfig(INTEROP_SOURCE_DIR "/gateway/server/gateway.example.textproto", LoadOptions{});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->cities_size(), 5);
  EXPECT_EQ(config->listen_address(), "127.0.0.1:8443");
  // Paths are resolved against the example's own directory.
  EXPECT_EQ(config->tls().ca_cert_file(), INTEROP_SOURCE_DIR "/gateway/server/../../certs/dev/ca.pem");
  for (const v1::CityBackendConfig& city : config->cities()) {
    EXPECT_EQ(city.deadline_ms(), city.city() == common::v1::CITY_XINZHOU ? 3000u : 2000u);
  }
}

}  // namespace
}  // namespace interop::config
