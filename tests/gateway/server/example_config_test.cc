// The example configuration shipped in gateway/server/ stays loadable as the schema evolves.
#include "absl/strings/str_cat.h"
#include "adapters/dialect/dialect.h"
#include "gateway/base/cities.h"
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

TEST(ExampleConfigTest, EachCityUsesItsOwnCheckedInDialect) {
  absl::StatusOr<v1::GatewayConfig> config =
      LoadGatewayConfig(INTEROP_SOURCE_DIR "/gateway/server/gateway.example.textproto", LoadOptions{});
  ASSERT_TRUE(config.ok()) << config.status();
  for (const v1::CityBackendConfig& city : config->cities()) {
    const std::string name(CityName(city.city()));
    EXPECT_EQ(city.dialect_file(),
              absl::StrCat(INTEROP_SOURCE_DIR "/gateway/server/../../adapters/", name, "/dialect.textproto"));
    absl::StatusOr<std::shared_ptr<const adapters::Dialect>> dialect =
        adapters::Dialect::LoadFile(city.dialect_file());
    ASSERT_TRUE(dialect.ok()) << dialect.status();
    EXPECT_EQ((*dialect)->city(), city.city()) << name;
  }
}

}  // namespace
}  // namespace interop::config
