#include "tests/integration/city_cluster.h"

#include <cstdio>
#include <fstream>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gateway/tls/tls_credentials.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "httplib.h"

namespace interop::testing {
namespace {

std::string MustRead(const std::string& path) {
  absl::StatusOr<std::string> pem = tls::ReadPemFile(path);
  return pem.ok() ? *pem : std::string();
}

}  // namespace

absl::StatusOr<std::unique_ptr<CityCluster>> CityCluster::Start(const ClusterOptions& options) {
  std::unique_ptr<CityCluster> cluster(new CityCluster());
  cluster->options_ = options;
  cluster->dir_ = MakeTempDir("interop-cluster-");
  if (cluster->dir_.empty()) return absl::InternalError("cannot make a temp dir");
  const std::string& certs = options.certs_dir;

  // Start all five cities first, then wait for each, so their start-ups overlap.
  std::map<City, std::vector<std::string>> argvs;
  for (City city : kAllCities) {
    std::string name(CityName(city));
    argvs[city] = {options.mock_city_binary,
                   absl::StrCat("--city=", name),
                   absl::StrCat("--dialect=", cluster->DialectPath(city)),
                   "--listen=127.0.0.1:0",
                   absl::StrCat("--ca=", certs, "/ca.pem"),
                   absl::StrCat("--cert=", certs, "/city-", name, ".pem"),
                   absl::StrCat("--key=", certs, "/city-", name, ".key"),
                   absl::StrCat("--seed=", options.seed),
                   absl::StrCat("--persons_per_city=", options.persons_per_city),
                   absl::StrCat("--port_file=", cluster->dir_, "/", name, ".port")};
    // Lvliang's backend speaks HTTP/JSON in the national interface's envelope (adapters/lvliang/).
    if (city == City::CITY_LVLIANG) argvs[city].push_back("--transport=http");
    // Each city signs certificates with its own key (Jinzhong with SM2, to exercise SM2 with SM3).
    argvs[city].push_back(absl::StrCat("--signing_key=", cluster->SigningKeyPath(city), ".key"));
  }
  for (City city : kAllCities) {
    std::string name(CityName(city));
    auto child = ChildProcess::Start(argvs[city], absl::StrCat(cluster->dir_, "/", name, ".log"),
                                     absl::StrCat(cluster->dir_, "/", name, ".port"));
    if (!child.ok()) return child.status();
    cluster->cities_[city] = std::move(*child);
  }
  cluster->city_argvs_ = argvs;

  std::string config = absl::StrCat("listen_address: \"127.0.0.1:0\"\n", "tls { ca_cert_file: \"", certs,
                                    "/ca.pem\" cert_file: \"", certs, "/gateway.pem\" key_file: \"", certs,
                                    "/gateway.key\" }\n", "health_check_interval_ms: 500\n",
                                    "reload_check_interval_ms: 200\n", "access_policy_file: \"",
                                    options.access_policy_file, "\"\n", "crl_file: \"", options.crl_file, "\"\n",
                                    "access_log { signing_key_file: \"", certs, "/gateway.key\" signing_cert_file: \"",
                                    certs, "/gateway.pem\" checkpoint_every_records: ",
                                    options.checkpoint_every_records, " }\n");
  if (options.postgres_conninfo.empty()) {
    absl::StrAppend(&config, "store { sqlite_path: \"", cluster->dir_, "/gateway.db\" }\n");
  } else {
    absl::StrAppend(&config, "store { postgres { conninfo: \"", absl::CEscape(options.postgres_conninfo),
                    "\" } }\n");
  }
  // The trust list: each city's signing key, and a retired Taiyuan key that is revoked.
  absl::StrAppend(&config, "certificates { trust_list_signing_key_file: \"", certs,
                  "/gateway.key\" trust_list_signing_cert_file: \"", certs, "/gateway.pem\" trust_list_version: 1");
  for (City city : kAllCities) {
    absl::StrAppend(&config, " city_keys { city: ", common::v1::City_Name(city), " public_key_file: \"",
                    cluster->SigningKeyPath(city), ".pub.pem\" }");
  }
  absl::StrAppend(&config, " city_keys { city: CITY_TAIYUAN public_key_file: \"", certs,
                  "/city-taiyuan-signing-retired.pub.pem\" revoked_at: \"2026-01-01T00:00:00+08:00\" } }\n");
  for (City city : kAllCities) {
    absl::StrAppend(&config, "cities { city: ", common::v1::City_Name(city), " address: \"127.0.0.1:",
                    cluster->cities_[city]->port(), "\" tls_server_name: \"localhost\" deadline_ms: ",
                    options.city_deadline_ms, " dialect_file: \"", cluster->DialectPath(city),
                    "\" medical_catalogue_file: \"", options.adapters_dir, "/", CityName(city),
                    "/medical_catalogue.textproto\" medical_policy_file: \"", options.adapters_dir, "/",
                    CityName(city), "/medical_policy.textproto\" tls { ca_cert_file: \"", certs, "/ca.pem\" cert_file: \"", certs,
                    "/gateway.pem\" key_file: \"", certs, "/gateway.key\" }",
                    city == City::CITY_LVLIANG ? " transport: TRANSPORT_HTTP_NATIONAL_INTERFACE" : "", " }\n");
  }
  // Metrics on a port of their own (after listen_address, which RestartGateway finds first).
  absl::StrAppend(&config, "metrics_listen_address: \"127.0.0.1:0\"\n");
  absl::StrAppend(&config, options.extra_gateway_config);
  std::ofstream(cluster->gateway_config_path()) << config;
  cluster->gateways_.emplace_back();
  absl::Status started = cluster->RestartGateway();
  if (!started.ok()) return started;
  return cluster;
}

std::string CityCluster::ReplicaFile(int n, const std::string& suffix) const {
  return n == 0 ? absl::StrCat(dir_, "/gateway.", suffix) : absl::StrCat(dir_, "/gateway-", n, ".", suffix);
}

absl::StatusOr<int> CityCluster::StartReplica() {
  if (options_.postgres_conninfo.empty()) {
    return absl::FailedPreconditionError("gateway replicas need a shared PostgreSQL store (postgres_conninfo)");
  }
  gateways_.emplace_back();
  const int n = replica_count() - 1;
  absl::Status started = RestartReplica(n);
  if (!started.ok()) {
    gateways_.pop_back();
    return started;
  }
  return n;
}

absl::Status CityCluster::RestartReplica(int n) {
  std::unique_ptr<ChildProcess>& process = gateways_.at(n);
  if (process != nullptr) process->Stop();
  // The same port as before if there was one, so existing channels reconnect. Every replica's
  // configuration is the gateway's with its own listen address.
  std::string listen = process != nullptr ? absl::StrCat("127.0.0.1:", process->port()) : "127.0.0.1:0";
  std::string config = ReadFileOrEmpty(gateway_config_path());
  size_t at = config.find("listen_address: \"");
  size_t end = config.find('\n', at);
  config.replace(at, end - at, absl::StrCat("listen_address: \"", listen, "\""));
  const std::string config_path = n == 0 ? gateway_config_path() : ReplicaFile(n, "textproto");
  std::ofstream(config_path) << config;
  std::remove(ReplicaFile(n, "metrics_port").c_str());
  auto gateway = ChildProcess::Start(
      {options_.gateway_binary, absl::StrCat("--config=", config_path),
       absl::StrCat("--port_file=", ReplicaFile(n, "port")),
       absl::StrCat("--metrics_port_file=", ReplicaFile(n, "metrics_port"))},
      ReplicaFile(n, "log"), ReplicaFile(n, "port"));
  if (!gateway.ok()) return gateway.status();
  process = std::move(*gateway);
  return absl::OkStatus();
}

absl::Status CityCluster::RestartCity(City city) {
  std::unique_ptr<ChildProcess>& child = cities_.at(city);
  const int port = child->port();
  child->Stop();
  std::vector<std::string> argv = city_argvs_.at(city);
  for (std::string& arg : argv) {
    if (arg == "--listen=127.0.0.1:0") arg = absl::StrCat("--listen=127.0.0.1:", port);
  }
  const std::string name(CityName(city));
  auto restarted = ChildProcess::Start(argv, absl::StrCat(dir_, "/", name, ".log"),
                                       absl::StrCat(dir_, "/", name, ".port"));
  if (!restarted.ok()) return restarted.status();
  child = std::move(*restarted);
  return absl::OkStatus();
}

std::string CityCluster::SigningKeyPath(City city) const {
  return absl::StrCat(options_.certs_dir, "/city-", CityName(city), "-signing",
                      city == City::CITY_JINZHONG ? "-sm2" : "");
}

std::string CityCluster::DialectPath(City city) const {
  return absl::StrCat(options_.adapters_dir, "/", CityName(city), "/dialect.textproto");
}

std::string CityCluster::replica_target(int n) const {
  return absl::StrCat("127.0.0.1:", gateways_.at(n)->port());
}

int CityCluster::replica_metrics_port(int n) const {
  int port = 0;
  return absl::SimpleAtoi(ReadFileOrEmpty(ReplicaFile(n, "metrics_port")), &port) ? port : 0;
}

std::shared_ptr<grpc::Channel> CityCluster::ChannelWith(const std::string& cert_file,
                                                        const std::string& key_file) const {
  return ChannelTo(gateway_target(), cert_file, key_file);
}

std::shared_ptr<grpc::Channel> CityCluster::ReplicaCallerChannel(int n, const std::string& caller) const {
  return ChannelTo(replica_target(n), caller + ".pem", caller + ".key");
}

std::shared_ptr<grpc::Channel> CityCluster::ChannelTo(const std::string& target, const std::string& cert_file,
                                                      const std::string& key_file) const {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = MustRead(CertPath("ca.pem"));
  if (!cert_file.empty()) {
    ssl.pem_cert_chain = MustRead(CertPath(cert_file));
    ssl.pem_private_key = MustRead(CertPath(key_file));
  }
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  // A fresh connection per channel, so a refused handshake is not hidden by a shared subchannel.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(target, grpc::SslCredentials(ssl), args);
}

// Through the generic stub: the project does not generate the health proto.
std::string MetricsText(int port) {
  httplib::Client client("127.0.0.1", port);
  httplib::Result result = client.Get("/metrics");
  return result && result->status == 200 ? result->body : "";
}

absl::StatusOr<bool> CheckHealth(const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  // HealthCheckRequest{service}: field 1, length-delimited.
  std::string request_bytes = std::string("\x0a", 1) + static_cast<char>(service.size()) + service;
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1), response;
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   status = s;
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) return absl::UnknownError(status.error_message());
  std::vector<grpc::Slice> slices;
  std::string bytes;
  (void)response.Dump(&slices);
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return bytes == std::string("\x08\x01", 2);
}

std::shared_ptr<grpc::Channel> CityCluster::CallerChannel(const std::string& caller) const {
  return ChannelWith(caller + ".pem", caller + ".key");
}

std::shared_ptr<grpc::Channel> CityCluster::ChannelWithoutClientCertificate() const { return ChannelWith("", ""); }

}  // namespace interop::testing
