#include "adapters/lvliang/lvliang_adapter.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "adapters/grpc_backend/grpc_backend_adapter.h"
#include "adapters/lvliang/https_client.h"
#include "adapters/lvliang/national_interface_adapter.h"
#include "gateway/base/cities.h"
#include "gateway/tls/tls_credentials.h"

namespace interop::adapters::lvliang {
namespace {

absl::Status CheckDialect(const std::shared_ptr<const Dialect>& dialect) {
  if (dialect == nullptr) return absl::InvalidArgumentError("lvliang: a dialect is required");
  if (dialect->city() != City::CITY_LVLIANG) {
    return absl::InvalidArgumentError(absl::StrCat("lvliang: dialect ", dialect->source(),
                                                   " is the dialect of ", CityName(dialect->city()),
                                                   ", not of lvliang"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<CityAdapter>> NewLvliangAdapter(std::shared_ptr<grpc::Channel> channel,
                                                               absl::Duration city_deadline,
                                                               std::shared_ptr<const Dialect> dialect) {
  absl::Status usable = CheckDialect(dialect);
  if (!usable.ok()) return usable;
  GrpcBackendOptions options;
  options.city = City::CITY_LVLIANG;
  options.city_deadline = city_deadline;
  options.dialect = std::move(dialect);
  auto stub = citybackend::v1::CityBackendService::NewStub(channel);
  return std::make_unique<GrpcBackendAdapter>(std::move(options), std::move(channel), std::move(stub));
}

absl::StatusOr<std::unique_ptr<CityAdapter>> NewLvliangNationalInterfaceAdapter(
    const config::v1::CityBackendConfig& config, std::shared_ptr<const Dialect> dialect) {
  const std::string prefix = "cities[lvliang].";
  absl::Status usable = CheckDialect(dialect);
  if (!usable.ok())
    return absl::InvalidArgumentError(absl::StrCat(prefix, "dialect_file: ", usable.message()));

  HttpsClientOptions client;
  client.address = config.address();
  client.server_name = config.tls_server_name();
  struct PemFile {
    const char* field;
    const std::string& path;
    std::string* pem;
  };
  const PemFile files[] = {{"tls.ca_cert_file", config.tls().ca_cert_file(), &client.ca_pem},
                           {"tls.cert_file", config.tls().cert_file(), &client.cert_pem},
                           {"tls.key_file", config.tls().key_file(), &client.key_pem}};
  for (const PemFile& file : files) {
    absl::StatusOr<std::string> pem = tls::ReadPemFile(file.path);
    if (!pem.ok()) {
      return absl::Status(pem.status().code(),
                          absl::StrCat(prefix, file.field, ": ", pem.status().message()));
    }
    *file.pem = *std::move(pem);
  }
  absl::StatusOr<std::unique_ptr<HttpsClient>> transport = HttpsClient::Create(std::move(client));
  if (!transport.ok()) {
    return absl::Status(transport.status().code(), absl::StrCat(prefix, transport.status().message()));
  }
  NationalInterfaceAdapterOptions options;
  options.dialect = std::move(dialect);
  options.city_deadline = absl::Milliseconds(config.deadline_ms() == 0 ? 2000 : config.deadline_ms());
  absl::StatusOr<std::unique_ptr<NationalInterfaceAdapter>> adapter =
      NationalInterfaceAdapter::Create(std::move(options), *std::move(transport));
  if (!adapter.ok()) {
    return absl::Status(adapter.status().code(),
                        absl::StrCat(prefix, "dialect_file: ", adapter.status().message()));
  }
  return std::unique_ptr<CityAdapter>(*std::move(adapter));
}

}  // namespace interop::adapters::lvliang
