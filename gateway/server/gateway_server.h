// GatewayServer: the gateway process's server, assembled from its configuration.
//
// Serves the public services over TLS; every call's client certificate is verified by the
// gateway's CertificateVerifier against the configured CA and CRL, then authorized by the access
// policy and recorded in the access log (see gateway/services/call_guard.h). Plaintext only with
// `insecure_dev`. Also grpc.health.v1 health checking and server reflection. Health names:
//   ""                                         the gateway itself
//   "interop.medical.v1.MedicalInsuranceService", ... each public service
//   "interop.city.<name>" (e.g. "interop.city.taiyuan") each city's backend, probed periodically
//
// Metrics (gateway/metrics/gateway_metrics.h) are kept always; with config.metrics_listen_address
// they are served in the Prometheus text format at GET /metrics on that address (plain HTTP), with
// GET /healthz (the process is alive) and GET /readyz (503 while the store does not answer, as
// "interop.store" above, for load balancers that check over plain HTTP).
//
// Thread-safe: Shutdown() may be called from any thread, once.
#ifndef INTEROP_GATEWAY_SERVER_GATEWAY_SERVER_H_
#define INTEROP_GATEWAY_SERVER_GATEWAY_SERVER_H_

#include <functional>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gateway/accesslog/access_log.h"
#include "gateway/auth/certificate_verifier.h"
#include "gateway/base/clock.h"
#include "gateway/base/work_queue.h"
#include "gateway/metrics/gateway_metrics.h"
#include "gateway/metrics/metrics_exporter.h"
#include "gateway/policy/policy_file.h"
#include "gateway/policy/rate_limiter.h"
#include "gateway/services/access_log_service.h"
#include "gateway/services/call_guard.h"
#include "gateway/services/certificate_service.h"
#include "gateway/router/city_directory.h"
#include "gateway/router/record_locator.h"
#include "gateway/resilience/delay_scheduler.h"
#include "gateway/resilience/resilient_city_adapter.h"
#include "gateway/services/household_service.h"
#include "gateway/services/medical_service.h"
#include "gateway/services/settlement_service.h"
#include "gateway/services/transfer_services.h"
#include "gateway/workflow/workflow_engine.h"
#include "gateway/workflow/workflow_store.h"
#include "gateway/settlement/ledger.h"
#include "gateway/settlement/medical_rules.h"
#include "gateway/services/social_service.h"
#include "gateway/store/sqlite_database.h"
#include "gateway/store/caching_location_store.h"
#include "gateway/store/postgres/postgres_database.h"
#include "gateway/store/postgres/postgres_location_store.h"
#include "gateway/store/postgres/replica_membership.h"
#include "gateway/store/sqlite_location_store.h"
#include "grpcpp/server.h"
#include "interop/config/v1/gateway_config.pb.h"

namespace interop::server {

struct ServerOptions {
  // Serve the public API without TLS. Development only; logged loudly.
  bool insecure_dev = false;
  const Clock* clock = &Clock::Real();
  // BENCHMARKS ONLY: acknowledge access records without writing them, to measure what the durable
  // access log costs. Breaks the promise that every call leaves a record; logged loudly.
  bool benchmark_without_access_log = false;
};

class GatewayServer {
 public:
  // Opens the store, connects the city adapters and starts serving. Errors name the config field
  // at fault (TLS files), or say that the address could not be bound (UNAVAILABLE).
  static absl::StatusOr<std::unique_ptr<GatewayServer>> Start(const config::v1::GatewayConfig& config,
                                                              const ServerOptions& options);
  ~GatewayServer();

  // The port actually bound (useful with port 0).
  int port() const { return port_; }
  // The port of the metrics endpoint; 0 if config.metrics_listen_address is empty.
  int metrics_port() const { return metrics_exporter_ != nullptr ? metrics_exporter_->port() : 0; }

  // Stops accepting calls, lets calls in flight finish for up to `grace`, then stops.
  void Shutdown(absl::Duration grace = absl::Seconds(5));

 private:
  GatewayServer() = default;
  void ProbeCities();
  // Every health_check_interval_ms: whether the store answers (PostgreSQL: this replica's heartbeat
  // through the pool, which also shares the rate limits; SQLite: a query on the gateway's file). Sets kStoreHealthServiceName, "" and every public
  // service SERVING or NOT_SERVING with it, so that a load balancer takes a replica that cannot reach
  // its database out of the pool (every answer would be UNAVAILABLE: nothing could be recorded).
  void ProbeStore();
  // At start-up and then every kIntentRecoveryInterval until shutdown: resolves the settlement
  // intents older than kIntentRecoveryMinAge (CrossCitySettlementServiceImpl::RecoverIntents), so
  // that one left by a crash, here or on any replica, is finished or abandoned without waiting for
  // a restart, while one of a Settle still in flight on another replica is never touched. On
  // SQLite (one gateway process) the start-up pass resolves every intent, whatever its age.
  void RecoverIntentsUntilShutdown();
  // Reloads the access policy and the CRL when their files change, until shutdown.
  void WatchReloadableFiles();
  // Records what a heartbeat learnt: the live replica count, and the rate limiter's shares.
  void ApplyReplicaView(store::pg::ReplicaMembership::View view);

  config::v1::GatewayConfig config_;
  // Declared early: what records into it (the access log's writer, the guard) is destroyed first.
  std::unique_ptr<metrics::GatewayMetrics> metrics_;
  std::unique_ptr<metrics::MetricsExporter> metrics_exporter_;
  // The store: the embedded SQLite file (database_), or PostgreSQL shared by replicas (postgres_),
  // as StoreConfig says; exactly one is set. Declared before what lives in it.
  std::unique_ptr<store::SqliteDatabase> database_;
  std::unique_ptr<store::pg::PostgresDatabase> postgres_;
  // On PostgreSQL: this replica's heartbeat, beaten by ProbeStore() with the callers it served
  // meanwhile; the replicas serving a caller share its rate limit (rate_limiter_->SetShares).
  // live_replicas_ and shared_callers_ are what the last heartbeat counted.
  std::unique_ptr<store::pg::ReplicaMembership> membership_;
  std::atomic<int> live_replicas_{1};
  std::atomic<int> shared_callers_{0};
  std::unique_ptr<store::LocationStore> locations_;
  std::function<absl::Status()> flush_locations_;  // waits for locations_'s queued writes
  // What the locator reads: recent locations in memory, in front of locations_.
  std::unique_ptr<store::CachingLocationStore> location_cache_;
  // Waits the retries' backoff of every city's ResilientCityAdapter; outlives cities_.
  std::unique_ptr<resilience::DelayScheduler> retry_scheduler_;
  // Each city's adapter wrapped in its ResilientCityAdapter (limit, breaker, deadline, retries).
  std::unique_ptr<router::CityDirectory> cities_;
  std::vector<const resilience::ResilientCityAdapter*> resilient_cities_;
  std::unique_ptr<router::RecordLocator> locator_;
  std::unique_ptr<auth::CertificateVerifier> verifier_;
  std::unique_ptr<policy::PolicyFile> policy_;
  std::unique_ptr<policy::RateLimiter> rate_limiter_;
  std::unique_ptr<accesslog::AccessLog> access_log_;
  std::unique_ptr<WorkQueue> work_;
  std::unique_ptr<settlement::SettlementLedger> ledger_;
  std::shared_ptr<const settlement::MedicalRules> medical_rules_;
  std::unique_ptr<services::CallGuard> guard_;
  std::unique_ptr<services::AccessLogServiceImpl> access_log_service_;
  std::unique_ptr<services::MedicalInsuranceServiceImpl> medical_;
  std::unique_ptr<services::SocialSecurityServiceImpl> social_;
  std::unique_ptr<services::HouseholdRegistrationServiceImpl> household_;
  std::unique_ptr<services::CrossCitySettlementServiceImpl> settlement_;
  std::unique_ptr<services::CertificateServiceImpl> certificates_;
  // The cross-city workflows (household migration, pension transfer) on one engine, on the store's
  // SQLite file; Resume()d at start-up and polling. The env var INTEROP_TEST_WORKFLOW_CRASH_AT
  // ("<type>/<state>/<before_step|after_step|after_commit>", tests only) makes the process exit at
  // once (std::_Exit, as kill -9 would leave it) when a workflow reaches that step boundary.
  std::unique_ptr<workflow::WorkflowStore> workflow_store_;
  std::unique_ptr<workflow::WorkflowEngine> workflow_engine_;
  std::unique_ptr<services::HouseholdMigrationServiceImpl> migrations_;
  std::unique_ptr<services::PensionTransferServiceImpl> pension_transfers_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  absl::Notification stop_probing_;
  // What ProbeStore() found last (OK until a probe fails); /readyz answers it.
  absl::Mutex store_status_mu_;
  absl::Status store_status_ ABSL_GUARDED_BY(store_status_mu_);
  std::thread prober_;
  std::thread store_prober_;
  std::thread reloader_;
  std::thread intent_recovery_;
  bool shut_down_ = false;
};

// The health-check service name of the store (the database the gateway records in).
inline constexpr char kStoreHealthServiceName[] = "interop.store";

// The health-check service name of a city: "interop.city.taiyuan", ...
std::string CityHealthServiceName(City city);

}  // namespace interop::server

#endif  // INTEROP_GATEWAY_SERVER_GATEWAY_SERVER_H_
