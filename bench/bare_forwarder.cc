// bare-forwarder: the floor of what a gRPC proxy written on gRPC's C++ callback API costs.
//
// It accepts any unary call over mutual TLS and forwards the request's bytes, unparsed, to one
// upstream over one mutual-TLS channel, then sends the upstream's answer (bytes, status, and the
// status details) back. No authorization, no policy, no access log, no translation: what is left
// is gRPC's own work for one server call and one client call. The proxy benchmark
// (bench/run-proxy-bench.sh) runs it beside nginx and the gateway, so that the gateway's cost can
// be split into gRPC's floor and the gateway's own work. Not part of the product.
//
//   bare-forwarder --listen=127.0.0.1:7400 --upstream=127.0.0.1:7301 \
//     --ca=certs/ca.pem --cert=certs/gateway.pem --key=certs/gateway.key

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:7400", "Address to serve on.");
ABSL_FLAG(std::string, upstream, "127.0.0.1:7301", "host:port every call is forwarded to.");
ABSL_FLAG(std::string, upstream_server_name, "localhost", "Name expected in the upstream's certificate.");
ABSL_FLAG(std::string, ca, "", "CA certificate (PEM): callers and the upstream must present one it signed.");
ABSL_FLAG(std::string, cert, "", "Certificate (PEM) presented to callers and to the upstream.");
ABSL_FLAG(std::string, key, "", "Its private key (PEM).");

namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// One forwarded call: reads the caller's one request, starts the upstream call with the caller's
// deadline, and finishes with the upstream's answer. Deletes itself when gRPC is done with it.
class ForwardingReactor final : public grpc::ServerGenericBidiReactor {
 public:
  ForwardingReactor(grpc::GenericCallbackServerContext* server_context,
                    grpc::GenericStub* upstream)
      : server_context_(server_context), upstream_(upstream) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request message"));
      return;
    }
    client_context_.set_deadline(server_context_->deadline());
    upstream_->UnaryCall(&client_context_, server_context_->method(), grpc::StubOptions(), &request_,
                         &response_, [this](grpc::Status status) {
                           if (!status.ok()) {
                             Finish(status);
                             return;
                           }
                           StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
                         });
  }

  void OnDone() override { delete this; }

 private:
  grpc::GenericCallbackServerContext* const server_context_;
  grpc::GenericStub* const upstream_;
  grpc::ClientContext client_context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
};

class ForwardingService final : public grpc::CallbackGenericService {
 public:
  explicit ForwardingService(std::shared_ptr<grpc::Channel> upstream) : upstream_(std::move(upstream)) {}

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* context) override {
    return new ForwardingReactor(context, &upstream_);
  }

 private:
  grpc::GenericStub upstream_;
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  absl::StatusOr<std::string> ca = ReadFile(absl::GetFlag(FLAGS_ca));
  absl::StatusOr<std::string> cert = ReadFile(absl::GetFlag(FLAGS_cert));
  absl::StatusOr<std::string> key = ReadFile(absl::GetFlag(FLAGS_key));
  for (const absl::StatusOr<std::string>* file : {&ca, &cert, &key}) {
    if (!file->ok()) {
      std::fprintf(stderr, "bare-forwarder: %s\n", file->status().ToString().c_str());
      return 2;
    }
  }

  grpc::SslCredentialsOptions channel_tls;
  channel_tls.pem_root_certs = *ca;
  channel_tls.pem_cert_chain = *cert;
  channel_tls.pem_private_key = *key;
  grpc::ChannelArguments channel_args;
  channel_args.SetSslTargetNameOverride(absl::GetFlag(FLAGS_upstream_server_name));
  channel_args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);  // as the gateway's city channels
  std::shared_ptr<grpc::Channel> upstream = grpc::CreateCustomChannel(
      absl::GetFlag(FLAGS_upstream), grpc::SslCredentials(channel_tls), channel_args);

  grpc::SslServerCredentialsOptions server_tls(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  server_tls.pem_root_certs = *ca;
  server_tls.pem_key_cert_pairs.push_back({*key, *cert});
  ForwardingService service(std::move(upstream));
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), grpc::SslServerCredentials(server_tls), &port);
  builder.RegisterCallbackGenericService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "bare-forwarder: cannot listen on %s\n", absl::GetFlag(FLAGS_listen).c_str());
    return 1;
  }
  std::fprintf(stderr, "bare-forwarder: serving on port %d, forwarding to %s\n", port,
               absl::GetFlag(FLAGS_upstream).c_str());
  server->Wait();  // until killed
  return 0;
}
