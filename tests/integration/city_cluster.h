// CityCluster: the five mock cities and a gateway, as real processes on port 0 with mutual TLS,
// for integration tests. Every mock city speaks its city's dialect (adapters/<city>/dialect.textproto)
// and the gateway's adapters read the same files. Certificates come from certs/make-dev-certs.sh
// (the ctest fixture "dev_certs" makes them before any integration test runs).
//
// The gateway keeps its state in the embedded SQLite file <dir>/gateway.db, or, with
// ClusterOptions.postgres_conninfo, in a PostgreSQL database; on PostgreSQL StartReplica() runs
// further gateway processes on the same configuration and store (replicas), each on its own port.
#ifndef INTEROP_TESTS_INTEGRATION_CITY_CLUSTER_H_
#define INTEROP_TESTS_INTEGRATION_CITY_CLUSTER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gateway/base/cities.h"
#include "grpcpp/channel.h"
#include "tests/integration/process_harness.h"

namespace interop::testing {

struct ClusterOptions {
  std::string certs_dir = INTEROP_TEST_CERTS_DIR;
  std::string mock_city_binary = INTEROP_MOCK_CITY_BIN;
  std::string gateway_binary = INTEROP_GATEWAY_BIN;
  uint32_t city_deadline_ms = 1500;
  uint64_t seed = 20261126;
  int persons_per_city = 12000;
  std::string access_policy_file = INTEROP_SOURCE_DIR "/gateway/server/access_policy.textproto";
  std::string crl_file = INTEROP_TEST_CERTS_DIR "/crl.pem";
  // Each city's dialect is <adapters_dir>/<city>/dialect.textproto, for its mock and the gateway alike.
  std::string adapters_dir = INTEROP_SOURCE_DIR "/adapters";
  uint32_t checkpoint_every_records = 100;
  // Appended to the gateway's configuration file (text format), e.g. "default_resilience { ... }".
  std::string extra_gateway_config;
  // The gateway's store: empty for the embedded SQLite file <dir>/gateway.db; otherwise a libpq
  // connection string (store { postgres { conninfo } }) of the database every replica shares.
  std::string postgres_conninfo;
};

class CityCluster {
 public:
  static absl::StatusOr<std::unique_ptr<CityCluster>> Start(const ClusterOptions& options);

  // "127.0.0.1:<port>" of the gateway.
  std::string gateway_target() const { return replica_target(0); }
  // The port of the gateway's metrics endpoint (plain HTTP, GET /metrics); 0 if unknown.
  int gateway_metrics_port() const { return replica_metrics_port(0); }
  ChildProcess& gateway() { return replica(0); }
  ChildProcess& city(City city) { return *cities_.at(city); }
  const std::string& dir() const { return dir_; }
  const ClusterOptions& options() const { return options_; }
  // The gateway's configuration file, for restarting it.
  std::string gateway_config_path() const { return dir_ + "/gateway.textproto"; }
  // Starts the gateway again (after Stop() or Kill()) with the same configuration and store.
  absl::Status RestartGateway() { return RestartReplica(0); }

  // Replicas: gateway processes on the configuration of gateway_config_path() and the same store.
  // Replica 0 is the gateway Start() started; StartReplica() starts the next one, n = 1, 2, ...,
  // listening on a port of its own, with its port files and log in dir() (gateway-<n>.port,
  // gateway-<n>.metrics_port, gateway-<n>.log) and its configuration in gateway-<n>.textproto. It
  // inherits this process's environment (INTEROP_GATEWAY_REPLICA_ID, the test-only workflow crash
  // hook and lease, ...) as it is when it starts. Replicas must share a PostgreSQL store:
  // FAILED_PRECONDITION on the SQLite file. Not thread-safe, like the rest of the cluster's control.
  absl::StatusOr<int> StartReplica();
  // Stops replica `n` if it runs and starts it again on the same port, configuration and store.
  absl::Status RestartReplica(int n);
  // Replica `n` (0 <= n < replica_count()).
  ChildProcess& replica(int n) { return *gateways_.at(n); }
  int replica_count() const { return static_cast<int>(gateways_.size()); }
  std::string replica_target(int n) const;
  int replica_metrics_port(int n) const;
  // CallerChannel() to replica `n`.
  std::shared_ptr<grpc::Channel> ReplicaCallerChannel(int n, const std::string& caller) const;
  // Starts a mock city again (after Stop() or Kill()) on the same port with the same flags. A mock
  // city keeps its records in memory: the restarted one starts again from the population.
  absl::Status RestartCity(City city);

  // A mutual-TLS channel to the gateway presenting certs_dir/<caller>.pem (for example
  // "caller-hospital-taiyuan"), trusting the development CA.
  std::shared_ptr<grpc::Channel> CallerChannel(const std::string& caller) const;
  // A TLS channel to the gateway that presents no client certificate.
  std::shared_ptr<grpc::Channel> ChannelWithoutClientCertificate() const;
  // A mutual-TLS channel presenting a certificate/key pair from any file names in certs_dir.
  std::shared_ptr<grpc::Channel> ChannelWith(const std::string& cert_file, const std::string& key_file) const;

  std::string CertPath(const std::string& file) const { return options_.certs_dir + "/" + file; }
  // The dialect file of `city`, as the mock city and the gateway use it.
  std::string DialectPath(City city) const;
  // The city's certificate signing key without extension (".key" private, ".pub.pem" public), as its
  // mock city signs with it and the gateway's trust list names it: Jinzhong's is SM2, the others P-256.
  std::string SigningKeyPath(City city) const;

 private:
  CityCluster() = default;
  // gateway.<suffix> for replica 0, gateway-<n>.<suffix> for the others.
  std::string ReplicaFile(int n, const std::string& suffix) const;
  std::shared_ptr<grpc::Channel> ChannelTo(const std::string& target, const std::string& cert_file,
                                           const std::string& key_file) const;

  ClusterOptions options_;
  std::string dir_;
  std::map<City, std::unique_ptr<ChildProcess>> cities_;
  std::map<City, std::vector<std::string>> city_argvs_;  // as first started (port 0)
  std::vector<std::unique_ptr<ChildProcess>> gateways_;  // [0]: the gateway; then the replicas
};

// grpc.health.v1.Health/Check of `service` ("" for the whole server) through `channel`: true if
// SERVING, false if NOT_SERVING; an error if the check could not be made.
absl::StatusOr<bool> CheckHealth(const std::shared_ptr<grpc::Channel>& channel, const std::string& service);

// The /metrics text of the gateway whose metrics endpoint is on 127.0.0.1:`port` ("" if it does not
// answer 200).
std::string MetricsText(int port);

}  // namespace interop::testing

#endif  // INTEROP_TESTS_INTEGRATION_CITY_CLUSTER_H_
