#include "gateway/config/config_loader.h"

#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gateway/base/cities.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace interop::config {
namespace {

using v1::GatewayConfig;
using v1::TlsFiles;

constexpr uint32_t kDefaultCityDeadlineMs = 2000;
constexpr uint32_t kDefaultLocationTtlSeconds = 86400;
constexpr uint32_t kDefaultHealthCheckIntervalMs = 5000;
constexpr uint32_t kDefaultCheckpointEveryRecords = 10000;
constexpr uint32_t kDefaultCheckpointIntervalSeconds = 60;
constexpr uint32_t kDefaultReloadCheckIntervalMs = 1000;
constexpr uint32_t kDefaultValidityDays = 90;

// Collects text-format parse errors with their line and column.
class ErrorCollector final : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override {
    errors_.push_back(absl::StrCat("line ", line + 1, " column ", column + 1, ": ", message));
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber column,
                  const std::string& message) override {}
  std::string Joined() const { return absl::StrJoin(errors_, "; "); }

 private:
  std::vector<std::string> errors_;
};

std::string Resolve(absl::string_view base_dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || base_dir.empty()) return path;
  return absl::StrCat(base_dir, base_dir.back() == '/' ? "" : "/", path);
}

void ResolveTls(absl::string_view base_dir, TlsFiles* tls) {
  tls->set_ca_cert_file(Resolve(base_dir, tls->ca_cert_file()));
  tls->set_cert_file(Resolve(base_dir, tls->cert_file()));
  tls->set_key_file(Resolve(base_dir, tls->key_file()));
}

absl::Status RequireTls(const TlsFiles& tls, absl::string_view prefix) {
  if (tls.ca_cert_file().empty()) return absl::InvalidArgumentError(absl::StrCat(prefix, ".ca_cert_file: is required"));
  if (tls.cert_file().empty()) return absl::InvalidArgumentError(absl::StrCat(prefix, ".cert_file: is required"));
  if (tls.key_file().empty()) return absl::InvalidArgumentError(absl::StrCat(prefix, ".key_file: is required"));
  return absl::OkStatus();
}

absl::Status Validate(const GatewayConfig& config, const LoadOptions& options) {
  if (config.listen_address().empty()) return absl::InvalidArgumentError("listen_address: is required");
  if (!options.insecure_dev) {
    if (!config.has_tls()) {
      return absl::InvalidArgumentError(
          "tls: is required (the public API is served only over mutual TLS unless --insecure_dev)");
    }
    absl::Status tls = RequireTls(config.tls(), "tls");
    if (!tls.ok()) return tls;
  }
  std::set<int> seen;
  for (int i = 0; i < config.cities_size(); ++i) {
    const v1::CityBackendConfig& city = config.cities(i);
    std::string prefix = absl::StrCat("cities[", i, "]");
    if (CityDivisionCode(city.city()).empty()) {
      return absl::InvalidArgumentError(absl::StrCat(prefix, ".city: must be one of the five cities"));
    }
    if (!seen.insert(city.city()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("cities: ", common::v1::City_Name(city.city()), " appears twice"));
    }
    if (city.address().empty()) return absl::InvalidArgumentError(absl::StrCat(prefix, ".address: is required"));
    absl::Status tls = RequireTls(city.tls(), absl::StrCat(prefix, ".tls"));
    if (!tls.ok()) return tls;
    if (city.dialect_file().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, ".dialect_file: is required (normally adapters/<city>/dialect.textproto)"));
    }
  }
  for (City city : kAllCities) {
    if (seen.count(city) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("cities: ", common::v1::City_Name(city), " is missing; all five cities must be configured"));
    }
  }
  // One store: the SQLite file, or PostgreSQL shared by replicas (the server refuses both at once).
  if (config.store().sqlite_path().empty() && config.store().postgres().conninfo().empty()) {
    return absl::InvalidArgumentError("store.sqlite_path: is required");
  }
  if (config.access_policy_file().empty()) return absl::InvalidArgumentError("access_policy_file: is required");
  if (config.access_log().signing_key_file().empty()) {
    return absl::InvalidArgumentError("access_log.signing_key_file: is required");
  }
  if (config.access_log().signing_cert_file().empty()) {
    return absl::InvalidArgumentError("access_log.signing_cert_file: is required");
  }
  if (config.has_certificates()) {
    if (config.certificates().trust_list_signing_key_file().empty()) {
      return absl::InvalidArgumentError("certificates.trust_list_signing_key_file: is required");
    }
    if (config.certificates().trust_list_signing_cert_file().empty()) {
      return absl::InvalidArgumentError("certificates.trust_list_signing_cert_file: is required");
    }
    if (config.certificates().default_validity_days() > 366) {
      return absl::InvalidArgumentError("certificates.default_validity_days: at most 366");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<GatewayConfig> ParseGatewayConfig(absl::string_view text, absl::string_view base_dir,
                                                  const LoadOptions& options) {
  GatewayConfig config;
  google::protobuf::TextFormat::Parser parser;
  ErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), &config)) {
    return absl::InvalidArgumentError(absl::StrCat("config is not valid text format: ", errors.Joined()));
  }
  absl::Status valid = Validate(config, options);
  if (!valid.ok()) return valid;

  if (config.has_tls()) ResolveTls(base_dir, config.mutable_tls());
  for (v1::CityBackendConfig& city : *config.mutable_cities()) {
    ResolveTls(base_dir, city.mutable_tls());
    city.set_dialect_file(Resolve(base_dir, city.dialect_file()));
    if (!city.medical_catalogue_file().empty()) {
      city.set_medical_catalogue_file(Resolve(base_dir, city.medical_catalogue_file()));
    }
    if (!city.medical_policy_file().empty()) city.set_medical_policy_file(Resolve(base_dir, city.medical_policy_file()));
    if (city.deadline_ms() == 0) {
      city.set_deadline_ms(config.default_city_deadline_ms() == 0 ? kDefaultCityDeadlineMs
                                                                 : config.default_city_deadline_ms());
    }
  }
  if (config.default_city_deadline_ms() == 0) config.set_default_city_deadline_ms(kDefaultCityDeadlineMs);
  if (config.routing().location_ttl_seconds() == 0) {
    config.mutable_routing()->set_location_ttl_seconds(kDefaultLocationTtlSeconds);
  }
  if (config.health_check_interval_ms() == 0) config.set_health_check_interval_ms(kDefaultHealthCheckIntervalMs);
  if (config.store().sqlite_path() != ":memory:") {
    config.mutable_store()->set_sqlite_path(Resolve(base_dir, config.store().sqlite_path()));
  }
  config.set_access_policy_file(Resolve(base_dir, config.access_policy_file()));
  config.set_crl_file(Resolve(base_dir, config.crl_file()));
  v1::AccessLogConfig* log = config.mutable_access_log();
  log->set_sqlite_path(log->sqlite_path().empty() ? config.store().sqlite_path() : Resolve(base_dir, log->sqlite_path()));
  log->set_signing_key_file(Resolve(base_dir, log->signing_key_file()));
  log->set_signing_cert_file(Resolve(base_dir, log->signing_cert_file()));
  for (std::string& previous : *log->mutable_previous_signing_cert_files()) previous = Resolve(base_dir, previous);
  if (log->checkpoint_every_records() == 0) log->set_checkpoint_every_records(kDefaultCheckpointEveryRecords);
  if (log->checkpoint_interval_seconds() == 0) log->set_checkpoint_interval_seconds(kDefaultCheckpointIntervalSeconds);
  if (config.reload_check_interval_ms() == 0) config.set_reload_check_interval_ms(kDefaultReloadCheckIntervalMs);
  if (config.has_certificates()) {
    v1::CertificatesConfig* certificates = config.mutable_certificates();
    certificates->set_trust_list_signing_key_file(Resolve(base_dir, certificates->trust_list_signing_key_file()));
    certificates->set_trust_list_signing_cert_file(Resolve(base_dir, certificates->trust_list_signing_cert_file()));
    for (v1::CitySigningKey& key : *certificates->mutable_city_keys()) {
      key.set_public_key_file(Resolve(base_dir, key.public_key_file()));
    }
    if (certificates->trust_list_version() == 0) certificates->set_trust_list_version(1);
    if (certificates->default_validity_days() == 0) certificates->set_default_validity_days(kDefaultValidityDays);
  }
  return config;
}

absl::StatusOr<GatewayConfig> LoadGatewayConfig(const std::string& path, const LoadOptions& options) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read config file \"", path, "\""));
  std::stringstream text;
  text << in.rdbuf();
  std::string dir;
  size_t slash = path.rfind('/');
  if (slash != std::string::npos) dir = slash == 0 ? "/" : path.substr(0, slash);
  return ParseGatewayConfig(text.str(), dir, options);
}

}  // namespace interop::config
