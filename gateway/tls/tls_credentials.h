// gRPC credentials from PEM files: the gateway's server side (mutual TLS, client certificates
// required and verified against the configured CA) and its client side towards city backends.
//
// Files are read once when the credentials are made; rotating them needs a restart for now.
#ifndef INTEROP_GATEWAY_TLS_TLS_CREDENTIALS_H_
#define INTEROP_GATEWAY_TLS_TLS_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "interop/config/v1/gateway_config.pb.h"

namespace interop::tls {

// Reads a whole file. NOT_FOUND naming the path if it cannot be read, INVALID_ARGUMENT if empty.
absl::StatusOr<std::string> ReadPemFile(const std::string& path);

// Server credentials that require every client to present a certificate chaining to
// `files.ca_cert_file`; a client without one, or with one from another CA, fails the handshake.
// Errors: those of ReadPemFile, naming the field ("tls.cert_file") in the message.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeMutualTlsServerCredentials(
    const config::v1::TlsFiles& files);

// Server credentials for the gateway's public port: TLS with the server certificate, asking every
// client for its certificate but leaving the verification of the chain (CA, validity, revocation,
// identity) to the gateway's own CertificateVerifier, per call. The handshake still proves that the
// client holds the certificate's key. This way a refused certificate becomes a gRPC error with
// details, and an access record, rather than a silent handshake failure.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeGatewayServerCredentials(
    const config::v1::TlsFiles& files);

// Channel credentials presenting `files.cert_file`/`key_file` and trusting `files.ca_cert_file`.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeMutualTlsChannelCredentials(
    const config::v1::TlsFiles& files);

}  // namespace interop::tls

#endif  // INTEROP_GATEWAY_TLS_TLS_CREDENTIALS_H_
