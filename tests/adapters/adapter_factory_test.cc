#include "adapters/adapter_factory.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gateway/base/cities.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::adapters {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string CheckedInDialectPath(City city) {
  return absl::StrCat(INTEROP_SOURCE_DIR, "/adapters/", CityName(city), "/dialect.textproto");
}

config::v1::CityBackendConfig Config(City city, const std::string& dialect_file) {
  config::v1::CityBackendConfig config;
  config.set_city(city);
  config.set_address("127.0.0.1:1");
  config.set_deadline_ms(500);
  config.set_dialect_file(dialect_file);
  const std::string certs = INTEROP_SOURCE_DIR "/certs/dev/";
  config.mutable_tls()->set_ca_cert_file(certs + "ca.pem");
  config.mutable_tls()->set_cert_file(certs + "gateway.pem");
  config.mutable_tls()->set_key_file(certs + "gateway.key");
  return config;
}

TEST(LoadCityDialectTest, LoadsEachCitysCheckedInDialect) {
  for (City city : kAllCities) {
    absl::StatusOr<std::shared_ptr<const Dialect>> dialect =
        LoadCityDialect(Config(city, CheckedInDialectPath(city)));
    ASSERT_TRUE(dialect.ok()) << dialect.status();
    EXPECT_EQ((*dialect)->city(), city);
  }
}

TEST(LoadCityDialectTest, TheFieldIsRequired) {
  absl::StatusOr<std::shared_ptr<const Dialect>> dialect = LoadCityDialect(Config(City::CITY_JINZHONG, ""));
  ASSERT_FALSE(dialect.ok());
  EXPECT_EQ(dialect.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(dialect.status().message(), "cities[jinzhong].dialect_file: is required");
}

TEST(LoadCityDialectTest, MissingFileIsNotFoundNamingTheField) {
  absl::StatusOr<std::shared_ptr<const Dialect>> dialect =
      LoadCityDialect(Config(City::CITY_JINZHONG, "/nonexistent/dialect.textproto"));
  ASSERT_FALSE(dialect.ok());
  EXPECT_EQ(dialect.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(dialect.status().message()), StartsWith("cities[jinzhong].dialect_file: "));
  EXPECT_THAT(std::string(dialect.status().message()), HasSubstr("/nonexistent/dialect.textproto"));
}

TEST(LoadCityDialectTest, AnotherCitysDialectIsRefused) {
  absl::StatusOr<std::shared_ptr<const Dialect>> dialect =
      LoadCityDialect(Config(City::CITY_JINZHONG, CheckedInDialectPath(City::CITY_XINZHOU)));
  ASSERT_FALSE(dialect.ok());
  EXPECT_EQ(dialect.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      dialect.status().message(),
      "cities[jinzhong].dialect_file: adapters/xinzhou/dialect.textproto is the dialect of xinzhou, not of "
      "jinzhong");
}

class BrokenDialectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    top_ = absl::StrCat(::testing::TempDir(), "adapter_factory_test_", getpid());
    dir_ = top_ + "/adapters/jinzhong";
    ASSERT_EQ(system(absl::StrCat("mkdir -p '", dir_, "'").c_str()), 0);
  }
  void TearDown() override { std::filesystem::remove_all(top_); }
  std::string path() const { return dir_ + "/dialect.textproto"; }

  // Jinzhong's checked-in dialect with `from` replaced by `to`.
  void WriteEdited(absl::string_view from, absl::string_view to) {
    std::ifstream in(CheckedInDialectPath(City::CITY_JINZHONG));
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_NE(text.find(std::string(from)), std::string::npos) << from;
    std::ofstream(path()) << absl::StrReplaceAll(text, {{from, to}});
  }

  std::string top_;  // removed with everything in it
  std::string dir_;
};

TEST_F(BrokenDialectTest, DuplicateLocalCodeNamesTheFileTableAndCode) {
  WriteEdited(R"(local_code: "TX")", R"(local_code: "ZG")");
  absl::StatusOr<std::unique_ptr<CityAdapter>> adapter = NewCityAdapter(Config(City::CITY_JINZHONG, path()));
  ASSERT_FALSE(adapter.ok());
  EXPECT_EQ(adapter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(adapter.status().message(),
            "cities[jinzhong].dialect_file: adapters/jinzhong/dialect.textproto: insurance_types: local code "
            "\"ZG\" "
            "appears twice");
}

TEST_F(BrokenDialectTest, UnknownNationalCodeNamesTheFileEntryAndCode) {
  WriteEdited(R"(local_code: "LX" national_code: "340")", R"(local_code: "LX" national_code: "320")");
  absl::StatusOr<std::unique_ptr<CityAdapter>> adapter = NewCityAdapter(Config(City::CITY_JINZHONG, path()));
  ASSERT_FALSE(adapter.ok());
  EXPECT_EQ(adapter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      std::string(adapter.status().message()),
      StartsWith("cities[jinzhong].dialect_file: adapters/jinzhong/dialect.textproto: "
                 "insurance_types[2].national_code: \"320\" is not a national code of insurance_types"));
}

TEST(NewCityAdapterTest, EveryCityGetsItsAdapterWithItsDialect) {
  for (City city : kAllCities) {
    absl::StatusOr<std::unique_ptr<CityAdapter>> adapter =
        NewCityAdapter(Config(city, CheckedInDialectPath(city)));
    ASSERT_TRUE(adapter.ok()) << CityName(city) << ": " << adapter.status();
    EXPECT_EQ((*adapter)->city(), city);
  }
}

}  // namespace
}  // namespace interop::adapters
