#include "gateway/tls/tls_credentials.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gateway/base/status_macros.h"

namespace interop::tls {
namespace {

absl::StatusOr<std::string> ReadField(const std::string& path, absl::string_view field) {
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": is required"));
  absl::StatusOr<std::string> pem = ReadPemFile(path);
  if (!pem.ok()) {
    return absl::Status(pem.status().code(), absl::StrCat(field, ": ", pem.status().message()));
  }
  return pem;
}

}  // namespace

absl::StatusOr<std::string> ReadPemFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read \"", path, "\""));
  std::stringstream contents;
  contents << in.rdbuf();
  if (contents.str().empty()) return absl::InvalidArgumentError(absl::StrCat("\"", path, "\" is empty"));
  return contents.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeMutualTlsServerCredentials(
    const config::v1::TlsFiles& files) {
  INTEROP_ASSIGN_OR_RETURN(std::string ca, ReadField(files.ca_cert_file(), "tls.ca_cert_file"));
  INTEROP_ASSIGN_OR_RETURN(std::string cert, ReadField(files.cert_file(), "tls.cert_file"));
  INTEROP_ASSIGN_OR_RETURN(std::string key, ReadField(files.key_file(), "tls.key_file"));
  grpc::SslServerCredentialsOptions options(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = std::move(ca);
  options.pem_key_cert_pairs.push_back({std::move(key), std::move(cert)});
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeGatewayServerCredentials(
    const config::v1::TlsFiles& files) {
  INTEROP_ASSIGN_OR_RETURN(std::string cert, ReadField(files.cert_file(), "tls.cert_file"));
  INTEROP_ASSIGN_OR_RETURN(std::string key, ReadField(files.key_file(), "tls.key_file"));
  grpc::SslServerCredentialsOptions options(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
  options.pem_key_cert_pairs.push_back({std::move(key), std::move(cert)});
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeMutualTlsChannelCredentials(
    const config::v1::TlsFiles& files) {
  INTEROP_ASSIGN_OR_RETURN(std::string ca, ReadField(files.ca_cert_file(), "tls.ca_cert_file"));
  INTEROP_ASSIGN_OR_RETURN(std::string cert, ReadField(files.cert_file(), "tls.cert_file"));
  INTEROP_ASSIGN_OR_RETURN(std::string key, ReadField(files.key_file(), "tls.key_file"));
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = std::move(ca);
  options.pem_cert_chain = std::move(cert);
  options.pem_private_key = std::move(key);
  return grpc::SslCredentials(options);
}

}  // namespace interop::tls
