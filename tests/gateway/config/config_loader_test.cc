#include "gateway/config/config_loader.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "interop/config/v1/gateway_config.pb.h"

namespace interop::config {
namespace {

using ::interop::common::v1::City;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using v1::GatewayConfig;

// A valid configuration of all five cities with relative paths and no defaults filled in.
GatewayConfig ValidConfig() {
  GatewayConfig config;
  config.set_listen_address("0.0.0.0:8443");
  config.mutable_tls()->set_ca_cert_file("certs/callers-ca.pem");
  config.mutable_tls()->set_cert_file("certs/gateway.pem");
  config.mutable_tls()->set_key_file("certs/gateway.key");
  const City cities[] = {City::CITY_TAIYUAN, City::CITY_YANGQUAN, City::CITY_JINZHONG, City::CITY_XINZHOU,
                         City::CITY_LVLIANG};
  int port = 9001;
  for (City city : cities) {
    v1::CityBackendConfig* c = config.add_cities();
    c->set_city(city);
    c->set_address(absl::StrCat("127.0.0.1:", port++));
    c->mutable_tls()->set_ca_cert_file("certs/cities-ca.pem");
    c->mutable_tls()->set_cert_file("certs/gateway-client.pem");
    c->mutable_tls()->set_key_file("certs/gateway-client.key");
    c->set_dialect_file(absl::StrCat("adapters/", absl::AsciiStrToLower(City_Name(city).substr(5)),
                                     "/dialect.textproto"));
  }
  config.mutable_store()->set_sqlite_path("data/gateway.db");
  config.set_access_policy_file("access_policy.textproto");
  config.mutable_access_log()->set_signing_key_file("certs/gateway.key");
  config.mutable_access_log()->set_signing_cert_file("certs/gateway.pem");
  return config;
}

std::string ToText(const GatewayConfig& config) {
  std::string text;
  EXPECT_TRUE(google::protobuf::TextFormat::PrintToString(config, &text));
  return text;
}

absl::StatusOr<GatewayConfig> Parse(const GatewayConfig& config, absl::string_view base_dir = "/etc/gateway",
                                    bool insecure_dev = false) {
  LoadOptions options;
  options.insecure_dev = insecure_dev;
  return ParseGatewayConfig(ToText(config), base_dir, options);
}

// Expects INVALID_ARGUMENT whose message starts with `field` (the offending field comes first).
void ExpectFieldError(const absl::StatusOr<GatewayConfig>& result, absl::string_view field) {
  ASSERT_FALSE(result.ok()) << "accepted a config with a bad " << field;
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
  EXPECT_THAT(std::string(result.status().message()), StartsWith(std::string(field))) << result.status();
}

TEST(ParseGatewayConfigTest, ValidFiveCitiesParsesAndGetsDefaults) {
  absl::StatusOr<GatewayConfig> config = Parse(ValidConfig());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen_address(), "0.0.0.0:8443");
  ASSERT_EQ(config->cities_size(), 5);
  EXPECT_EQ(config->cities(0).city(), City::CITY_TAIYUAN);
  EXPECT_EQ(config->cities(4).city(), City::CITY_LVLIANG);
  EXPECT_EQ(config->cities(3).address(), "127.0.0.1:9004");
  EXPECT_EQ(config->default_city_deadline_ms(), 2000u);
  for (const v1::CityBackendConfig& city : config->cities()) {
    EXPECT_EQ(city.deadline_ms(), 2000u) << City_Name(city.city());
  }
  EXPECT_EQ(config->routing().location_ttl_seconds(), 86400u);
  EXPECT_EQ(config->health_check_interval_ms(), 5000u);
}

TEST(ParseGatewayConfigTest, CityDeadlineDefaultsToConfiguredDefaultAndExplicitValuesAreKept) {
  GatewayConfig input = ValidConfig();
  input.set_default_city_deadline_ms(1500);
  input.mutable_cities(2)->set_deadline_ms(750);
  input.mutable_routing()->set_location_ttl_seconds(600);
  input.set_health_check_interval_ms(1000);
  absl::StatusOr<GatewayConfig> config = Parse(input);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->default_city_deadline_ms(), 1500u);
  EXPECT_EQ(config->cities(0).deadline_ms(), 1500u);
  EXPECT_EQ(config->cities(1).deadline_ms(), 1500u);
  EXPECT_EQ(config->cities(2).deadline_ms(), 750u);
  EXPECT_EQ(config->cities(3).deadline_ms(), 1500u);
  EXPECT_EQ(config->cities(4).deadline_ms(), 1500u);
  EXPECT_EQ(config->routing().location_ttl_seconds(), 600u);
  EXPECT_EQ(config->health_check_interval_ms(), 1000u);
}

TEST(ParseGatewayConfigTest, RelativePathsAreResolvedAgainstBaseDir) {
  absl::StatusOr<GatewayConfig> config = Parse(ValidConfig(), "/etc/gateway");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->tls().ca_cert_file(), "/etc/gateway/certs/callers-ca.pem");
  EXPECT_EQ(config->tls().cert_file(), "/etc/gateway/certs/gateway.pem");
  EXPECT_EQ(config->tls().key_file(), "/etc/gateway/certs/gateway.key");
  for (const v1::CityBackendConfig& city : config->cities()) {
    EXPECT_EQ(city.tls().ca_cert_file(), "/etc/gateway/certs/cities-ca.pem");
    EXPECT_EQ(city.tls().cert_file(), "/etc/gateway/certs/gateway-client.pem");
    EXPECT_EQ(city.tls().key_file(), "/etc/gateway/certs/gateway-client.key");
  }
  EXPECT_EQ(config->store().sqlite_path(), "/etc/gateway/data/gateway.db");
}

TEST(ParseGatewayConfigTest, PreviousSigningCertificatesAreResolvedLikeTheCurrentOne) {
  GatewayConfig input = ValidConfig();
  input.mutable_access_log()->add_previous_signing_cert_files("certs/gateway-2025.pem");
  input.mutable_access_log()->add_previous_signing_cert_files("/srv/pki/gateway-2024.pem");
  absl::StatusOr<GatewayConfig> config = Parse(input, "/etc/gateway");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->access_log().signing_cert_file(), "/etc/gateway/certs/gateway.pem");
  EXPECT_THAT(config->access_log().previous_signing_cert_files(),
              ::testing::ElementsAre("/etc/gateway/certs/gateway-2025.pem", "/srv/pki/gateway-2024.pem"));
}

TEST(ParseGatewayConfigTest, AbsolutePathsAreKept) {
  GatewayConfig input = ValidConfig();
  input.mutable_tls()->set_key_file("/run/secrets/gateway.key");
  input.mutable_cities(1)->mutable_tls()->set_ca_cert_file("/srv/pki/yangquan-ca.pem");
  input.mutable_store()->set_sqlite_path("/var/lib/gateway/store.db");
  absl::StatusOr<GatewayConfig> config = Parse(input, "/etc/gateway");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->tls().key_file(), "/run/secrets/gateway.key");
  EXPECT_EQ(config->tls().cert_file(), "/etc/gateway/certs/gateway.pem");
  EXPECT_EQ(config->cities(1).tls().ca_cert_file(), "/srv/pki/yangquan-ca.pem");
  EXPECT_EQ(config->cities(1).tls().cert_file(), "/etc/gateway/certs/gateway-client.pem");
  EXPECT_EQ(config->store().sqlite_path(), "/var/lib/gateway/store.db");
}

TEST(ParseGatewayConfigTest, EmptyBaseDirLeavesPathsUnchanged) {
  absl::StatusOr<GatewayConfig> config = Parse(ValidConfig(), "");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->tls().ca_cert_file(), "certs/callers-ca.pem");
  EXPECT_EQ(config->cities(0).tls().key_file(), "certs/gateway-client.key");
  EXPECT_EQ(config->store().sqlite_path(), "data/gateway.db");
}

TEST(ParseGatewayConfigTest, InMemorySqlitePathIsKept) {
  GatewayConfig input = ValidConfig();
  input.mutable_store()->set_sqlite_path(":memory:");
  absl::StatusOr<GatewayConfig> config = Parse(input, "/etc/gateway");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->store().sqlite_path(), ":memory:");
}

TEST(ParseGatewayConfigTest, TextFormatSyntaxErrorNamesTheLine) {
  const std::string text =
      "listen_address: \"0.0.0.0:8443\"\n"
      "default_city_deadline_ms: 100\n"
      "cities { city: CITY_TAIYUAN address: \"127.0.0.1:1\" \n"  // unterminated block
      "store { sqlite_path: \"x.db\" }\n"
      "health_check_interval_ms: \"not a number\"\n";
  absl::StatusOr<GatewayConfig> config = ParseGatewayConfig(text, "", LoadOptions{});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("not valid text format"));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("line 4")) << config.status();
}

TEST(ParseGatewayConfigTest, UnknownFieldNamesTheLine) {
  const std::string text =
      "listen_address: \"0.0.0.0:8443\"\n"
      "\n"
      "listen_adress: \"typo\"\n";
  absl::StatusOr<GatewayConfig> config = ParseGatewayConfig(text, "", LoadOptions{});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("line 3")) << config.status();
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("listen_adress")) << config.status();
}

TEST(ParseGatewayConfigTest, MissingListenAddress) {
  GatewayConfig input = ValidConfig();
  input.clear_listen_address();
  ExpectFieldError(Parse(input), "listen_address: is required");
}

TEST(ParseGatewayConfigTest, MissingTlsIsAnErrorWithoutInsecureDev) {
  GatewayConfig input = ValidConfig();
  input.clear_tls();
  absl::StatusOr<GatewayConfig> config = Parse(input, "/etc/gateway", /*insecure_dev=*/false);
  ExpectFieldError(config, "tls: is required");
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("insecure_dev"));
}

TEST(ParseGatewayConfigTest, MissingTlsIsAllowedWithInsecureDev) {
  GatewayConfig input = ValidConfig();
  input.clear_tls();
  absl::StatusOr<GatewayConfig> config = Parse(input, "/etc/gateway", /*insecure_dev=*/true);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->has_tls());
  // City connections stay mutual TLS, with their paths resolved as usual.
  EXPECT_EQ(config->cities(0).tls().cert_file(), "/etc/gateway/certs/gateway-client.pem");
}

TEST(ParseGatewayConfigTest, IncompleteGatewayTlsNamesTheFile) {
  {
    GatewayConfig input = ValidConfig();
    input.mutable_tls()->clear_ca_cert_file();
    ExpectFieldError(Parse(input), "tls.ca_cert_file: is required");
  }
  {
    GatewayConfig input = ValidConfig();
    input.mutable_tls()->clear_cert_file();
    ExpectFieldError(Parse(input), "tls.cert_file: is required");
  }
  {
    GatewayConfig input = ValidConfig();
    input.mutable_tls()->clear_key_file();
    ExpectFieldError(Parse(input), "tls.key_file: is required");
  }
}

TEST(ParseGatewayConfigTest, CityTwice) {
  GatewayConfig input = ValidConfig();
  input.mutable_cities(4)->set_city(City::CITY_XINZHOU);  // Xinzhou at [3] and [4]; Lvliang missing
  absl::StatusOr<GatewayConfig> config = Parse(input);
  ExpectFieldError(config, "cities: CITY_XINZHOU appears twice");
}

TEST(ParseGatewayConfigTest, CityMissing) {
  GatewayConfig input = ValidConfig();
  input.mutable_cities()->RemoveLast();  // Lvliang
  absl::StatusOr<GatewayConfig> config = Parse(input);
  ExpectFieldError(config, "cities: CITY_LVLIANG is missing");
}

TEST(ParseGatewayConfigTest, NoCitiesAtAll) {
  GatewayConfig input = ValidConfig();
  input.clear_cities();
  ExpectFieldError(Parse(input), "cities: CITY_TAIYUAN is missing");
}

TEST(ParseGatewayConfigTest, CityUnspecified) {
  GatewayConfig input = ValidConfig();
  input.mutable_cities(2)->set_city(City::CITY_UNSPECIFIED);
  ExpectFieldError(Parse(input), "cities[2].city: must be one of the five cities");
}

TEST(ParseGatewayConfigTest, CityOutOfRangeEnumValue) {
  std::string text = ToText(ValidConfig());
  text += "cities { city: 9 address: \"127.0.0.1:1\" }\n";
  absl::StatusOr<GatewayConfig> config = ParseGatewayConfig(text, "", LoadOptions{});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  // Proto3 enums are open: the parser keeps 9, and validation names the entry.
  EXPECT_THAT(std::string(config.status().message()), StartsWith("cities[5].city: must be one of the five cities"))
      << config.status();
}

TEST(ParseGatewayConfigTest, MissingCityAddress) {
  GatewayConfig input = ValidConfig();
  input.mutable_cities(3)->clear_address();
  ExpectFieldError(Parse(input), "cities[3].address: is required");
}

TEST(ParseGatewayConfigTest, MissingCityTlsFilesNameTheCityEntryAndFile) {
  {
    GatewayConfig input = ValidConfig();
    input.mutable_cities(1)->clear_tls();
    ExpectFieldError(Parse(input), "cities[1].tls.ca_cert_file: is required");
  }
  {
    GatewayConfig input = ValidConfig();
    input.mutable_cities(0)->mutable_tls()->clear_ca_cert_file();
    ExpectFieldError(Parse(input), "cities[0].tls.ca_cert_file: is required");
  }
  {
    GatewayConfig input = ValidConfig();
    input.mutable_cities(2)->mutable_tls()->clear_cert_file();
    ExpectFieldError(Parse(input), "cities[2].tls.cert_file: is required");
  }
  {
    GatewayConfig input = ValidConfig();
    input.mutable_cities(4)->mutable_tls()->clear_key_file();
    ExpectFieldError(Parse(input), "cities[4].tls.key_file: is required");
  }
}

TEST(ParseGatewayConfigTest, CityTlsIsRequiredEvenWithInsecureDev) {
  GatewayConfig input = ValidConfig();
  input.mutable_cities(4)->mutable_tls()->clear_key_file();
  ExpectFieldError(Parse(input, "/etc/gateway", /*insecure_dev=*/true), "cities[4].tls.key_file: is required");
}

TEST(ParseGatewayConfigTest, MissingDialectFileNamesTheCityEntry) {
  GatewayConfig input = ValidConfig();
  input.mutable_cities(2)->clear_dialect_file();
  ExpectFieldError(Parse(input), "cities[2].dialect_file: is required");
}

TEST(ParseGatewayConfigTest, DialectFilesAreResolvedLikeOtherPaths) {
  GatewayConfig input = ValidConfig();
  input.mutable_cities(4)->set_dialect_file("/srv/dialects/lvliang.textproto");
  absl::StatusOr<GatewayConfig> config = Parse(input, "/etc/gateway");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->cities(0).dialect_file(), "/etc/gateway/adapters/taiyuan/dialect.textproto");
  EXPECT_EQ(config->cities(3).dialect_file(), "/etc/gateway/adapters/xinzhou/dialect.textproto");
  EXPECT_EQ(config->cities(4).dialect_file(), "/srv/dialects/lvliang.textproto");
}

TEST(ParseGatewayConfigTest, MissingSqlitePath) {
  GatewayConfig input = ValidConfig();
  input.clear_store();
  ExpectFieldError(Parse(input), "store.sqlite_path: is required");
}

class LoadGatewayConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "config_loader_test_", getpid());
    ASSERT_EQ(system(absl::StrCat("mkdir -p '", dir_, "'").c_str()), 0);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path() const { return absl::StrCat(dir_, "/gateway.textproto"); }

  std::string dir_;
};

TEST_F(LoadGatewayConfigTest, MissingFileIsNotFound) {
  absl::StatusOr<GatewayConfig> config = LoadGatewayConfig(absl::StrCat(dir_, "/does-not-exist.textproto"), {});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound) << config.status();
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("does-not-exist.textproto"));
}

TEST_F(LoadGatewayConfigTest, ResolvesPathsAgainstTheFilesDirectory) {
  {
    std::ofstream out(path());
    out << ToText(ValidConfig());
  }
  absl::StatusOr<GatewayConfig> config = LoadGatewayConfig(path(), {});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->tls().cert_file(), absl::StrCat(dir_, "/certs/gateway.pem"));
  EXPECT_EQ(config->cities(4).tls().key_file(), absl::StrCat(dir_, "/certs/gateway-client.key"));
  EXPECT_EQ(config->store().sqlite_path(), absl::StrCat(dir_, "/data/gateway.db"));
  EXPECT_EQ(config->default_city_deadline_ms(), 2000u);
}

TEST_F(LoadGatewayConfigTest, ValidationErrorsPassThrough) {
  GatewayConfig input = ValidConfig();
  input.clear_listen_address();
  {
    std::ofstream out(path());
    out << ToText(input);
  }
  ExpectFieldError(LoadGatewayConfig(path(), {}), "listen_address: is required");
}

}  // namespace
}  // namespace interop::config
