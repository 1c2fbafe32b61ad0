#include "gateway/server/gateway_server.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/strings/str_split.h"
#include "gateway/base/thread_name.h"
#include "gateway/transfers/transfer_workflows.h"
#include "adapters/adapter_factory.h"
#include "gateway/base/cities.h"
#include "gateway/base/log.h"
#include "gateway/base/rich_status.h"
#include "gateway/base/status_macros.h"
#include "gateway/tls/tls_credentials.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "google/protobuf/descriptor.h"

namespace interop::server {
namespace {

// For benchmarks only (ServerOptions::benchmark_without_access_log): acknowledges every record at
// once and keeps nothing.
class DiscardingAccessLog final : public accesslog::AccessLog {
 public:
  void Append(accesslog::AccessRecord record, std::function<void(absl::StatusOr<uint64_t>)> done) override {
    done(++sequence_);
  }
  absl::StatusOr<std::vector<accesslog::AccessRecord>> ListByPerson(const std::string&, uint64_t, int) override {
    return std::vector<accesslog::AccessRecord>();
  }
  absl::StatusOr<std::vector<accesslog::AccessRecord>> ReadRange(uint64_t, uint64_t) override {
    return std::vector<accesslog::AccessRecord>();
  }
  absl::StatusOr<accesslog::VerificationResult> Verify(uint64_t, uint64_t) override {
    return absl::FailedPreconditionError("the access log is disabled (benchmark mode)");
  }
  absl::Status CheckpointNow() override { return absl::OkStatus(); }
  uint64_t LastSequence() override { return sequence_.load(); }

 private:
  std::atomic<uint64_t> sequence_{0};
};

}  // namespace

std::string CityHealthServiceName(City city) { return absl::StrCat("interop.city.", CityName(city)); }

namespace {

// The public services, as health checking and the metrics name them.
constexpr const char* kPublicServices[] = {
    "interop.medical.v1.MedicalInsuranceService",       "interop.social.v1.SocialSecurityService",
    "interop.household.v1.HouseholdRegistrationService", "interop.accesslog.v1.AccessLogService",
    "interop.medical.v1.CrossCitySettlementService",     "interop.certificates.v1.CertificateService",
    "interop.household.v1.HouseholdMigrationService",    "interop.social.v1.PensionTransferService"};

// "/<service>/<method>" of every method of the public services.
std::vector<std::string> PublicMethodNames() {
  std::vector<std::string> names;
  for (const char* service_name : kPublicServices) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service_name);
    for (int i = 0; service != nullptr && i < service->method_count(); ++i) {
      names.push_back(absl::StrCat("/", service->full_name(), "/", service->method(i)->name()));
    }
  }
  return names;
}

// The test-only crash hook of INTEROP_TEST_WORKFLOW_CRASH_AT="<type>/<state>/<boundary>", or none.
workflow::StepHook CrashHookFromEnvironment() {
  const char* at = std::getenv("INTEROP_TEST_WORKFLOW_CRASH_AT");
  if (at == nullptr || *at == '\0') return nullptr;
  std::vector<std::string> parts = absl::StrSplit(at, '/');
  if (parts.size() != 3) {
    LogError("INTEROP_TEST_WORKFLOW_CRASH_AT is not <type>/<state>/<boundary>; ignored", {{"value", at}});
    return nullptr;
  }
  LogWarning("TEST HOOK: the gateway exits at a workflow step boundary", {{"at", at}});
  return [parts](workflow::StepBoundary boundary, const workflow::WorkflowInstance& instance) {
    if (instance.type == parts[0] && instance.state == parts[1] && workflow::StepBoundaryName(boundary) == parts[2]) {
      LogWarning("TEST HOOK: exiting now, as if killed", {{"workflow", instance.workflow_id}});
      std::_Exit(86);
    }
    return workflow::StepHookAction::Continue();
  };
}

// The name under which this process holds workflow leases: INTEROP_GATEWAY_REPLICA_ID if set;
// otherwise "gateway" on the embedded store (one process: a restarted gateway takes its own leases
// back at once), and "<host>:<pid>" on PostgreSQL, where every replica must be told apart.
std::string ReplicaId(bool shared_store) {
  const char* replica = std::getenv("INTEROP_GATEWAY_REPLICA_ID");
  if (replica != nullptr && *replica != '\0') return replica;
  if (!shared_store) return "gateway";
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "host");
  return absl::StrCat(host, ":", getpid());
}

// Locations kept in memory (about 150 bytes each).
constexpr size_t kLocationCacheEntries = 200000;
// Settlement intents: how often they are looked for, and how old one must be to be resolved. A
// Settle is over well within the age (see IntentRecoveryMinAge): its city commit has a deadline,
// with a few retries at most.
constexpr absl::Duration kIntentRecoveryInterval = absl::Minutes(1);
constexpr absl::Duration kIntentRecoveryMinAge = absl::Minutes(2);

// At least kIntentRecoveryMinAge, and four times the longest city deadline configured (a Settle's
// commit, and a retry of it, each end by their deadline).
absl::Duration IntentRecoveryMinAge(const config::v1::GatewayConfig& config) {
  uint32_t longest_ms = config.default_city_deadline_ms();
  for (const config::v1::CityBackendConfig& city : config.cities()) longest_ms = std::max(longest_ms, city.deadline_ms());
  return std::max(kIntentRecoveryMinAge, 4 * absl::Milliseconds(longest_ms));
}

// The state and counters of each city's guards, read when /metrics is scraped.
void RegisterResilienceMetrics(const std::vector<const resilience::ResilientCityAdapter*>& cities,
                               metrics::MetricRegistry& registry) {
  auto& state = registry.AddCallbackGaugeFamily(
      "interop_city_breaker_state", "Circuit breaker of the city: 0 closed, 1 open, 2 half-open.", {"city"});
  auto& in_flight =
      registry.AddCallbackGaugeFamily("interop_city_in_flight", "Calls to the city in flight now.", {"city"});
  auto& refused = registry.AddCallbackCounterFamily(
      "interop_city_refused_total", "Calls not made to the city, by guard (concurrency_limit, circuit_breaker).",
      {"city", "guard"});
  auto& retries = registry.AddCallbackCounterFamily(
      "interop_city_retries_total", "Further attempts of calls to the city (retries), and retries the budget refused.",
      {"city", "outcome"});
  auto& opened = registry.AddCallbackCounterFamily("interop_city_breaker_opened_total",
                                                   "Times the city's circuit breaker opened.", {"city"});
  for (const resilience::ResilientCityAdapter* city : cities) {
    const std::string name(CityName(city->city()));
    state.Add({name}, [city] { return static_cast<double>(city->Stats().breaker.state); });
    in_flight.Add({name}, [city] { return static_cast<double>(city->Stats().in_flight); });
    refused.Add({name, "concurrency_limit"}, [city] { return static_cast<double>(city->Stats().refused_by_limit); });
    refused.Add({name, "circuit_breaker"}, [city] { return static_cast<double>(city->Stats().refused_by_breaker); });
    retries.Add({name, "made"}, [city] { return static_cast<double>(city->Stats().retries); });
    retries.Add({name, "refused_by_budget"},
                [city] { return static_cast<double>(city->Stats().retries_refused_by_budget); });
    opened.Add({name}, [city] { return static_cast<double>(city->Stats().breaker.times_opened); });
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<GatewayServer>> GatewayServer::Start(const config::v1::GatewayConfig& config,
                                                                    const ServerOptions& options) {
  std::unique_ptr<GatewayServer> server(new GatewayServer());
  server->config_ = config;
  server->metrics_ = std::make_unique<metrics::GatewayMetrics>(PublicMethodNames());

  const bool on_postgres = !config.store().postgres().conninfo().empty();
  // The name of this process among the replicas: its workflow leases and settlement intents.
  const std::string replica_id = ReplicaId(on_postgres);
  if (on_postgres) {
    if (!config.store().sqlite_path().empty()) {
      return FieldError("store.sqlite_path", "must be empty when store.postgres is set (one store, not two)");
    }
    store::pg::PostgresDatabase::Options pg_options;
    pg_options.conninfo = config.store().postgres().conninfo();
    pg_options.pool_size = config.store().postgres().pool_size() > 0
                               ? static_cast<int>(config.store().postgres().pool_size())
                               : 8;
    INTEROP_ASSIGN_OR_RETURN(server->postgres_, store::pg::PostgresDatabase::Open(pg_options));
    INTEROP_ASSIGN_OR_RETURN(std::unique_ptr<store::pg::PostgresLocationStore> locations,
                             store::pg::PostgresLocationStore::Open(*server->postgres_));
    server->flush_locations_ = [store = locations.get()] { return store->Flush(); };
    server->locations_ = std::move(locations);
    // Beaten at every store probe: live while its last beat is younger than three probes.
    INTEROP_ASSIGN_OR_RETURN(
        server->membership_,
        store::pg::ReplicaMembership::Open(
            *server->postgres_, replica_id,
            std::max(absl::Seconds(1), 3 * absl::Milliseconds(config.health_check_interval_ms()))));
    LogInfo("store: PostgreSQL", {{"pool_size", absl::StrCat(pg_options.pool_size)}});
  } else {
    INTEROP_ASSIGN_OR_RETURN(server->database_, store::SqliteDatabase::Open(config.store().sqlite_path(),
                                                                            store::GatewaySchemaMigrations()));
    INTEROP_ASSIGN_OR_RETURN(std::unique_ptr<store::SqliteLocationStore> locations,
                             store::SqliteLocationStore::Open(*server->database_));
    server->flush_locations_ = [store = locations.get()] { return store->Flush(); };
    server->locations_ = std::move(locations);
  }

  server->location_cache_ = std::make_unique<store::CachingLocationStore>(*server->locations_, kLocationCacheEntries);

  server->retry_scheduler_ = std::make_unique<resilience::DelayScheduler>();
  std::vector<std::unique_ptr<adapters::CityAdapter>> adapters;
  for (const config::v1::CityBackendConfig& city : config.cities()) {
    INTEROP_ASSIGN_OR_RETURN(std::unique_ptr<adapters::CityAdapter> adapter, adapters::NewCityAdapter(city));
    INTEROP_ASSIGN_OR_RETURN(resilience::ResilienceOptions guards, resilience::ResolveResilienceOptions(config, city));
    auto resilient = std::make_unique<resilience::ResilientCityAdapter>(
        std::move(adapter), guards, *options.clock, *server->retry_scheduler_,
        [metrics = &server->metrics_->city_calls](City c, absl::string_view, absl::StatusCode code,
                                                   absl::Duration elapsed) {
          metrics->RecordCityCall(c, code, elapsed);
        });
    server->resilient_cities_.push_back(resilient.get());
    adapters.push_back(std::move(resilient));
  }
  server->cities_ = std::make_unique<router::CityDirectory>(std::move(adapters));
  RegisterResilienceMetrics(server->resilient_cities_, server->metrics_->registry);
  server->locator_ = std::make_unique<router::RecordLocator>(
      *server->cities_, *server->location_cache_, *options.clock,
      absl::Seconds(config.routing().location_ttl_seconds()));

  if (!options.insecure_dev) {
    auth::CertificateVerifier::Options verifier_options;
    verifier_options.ca_bundle_file = config.tls().ca_cert_file();
    verifier_options.crl_file = config.crl_file();
    INTEROP_ASSIGN_OR_RETURN(server->verifier_, auth::CertificateVerifier::Create(verifier_options, *options.clock));
  }
  INTEROP_ASSIGN_OR_RETURN(server->policy_, policy::PolicyFile::Open(config.access_policy_file()));
  // Replicas on PostgreSQL share the limits of the callers they all serve: the limiter notes its
  // callers for the heartbeat.
  server->rate_limiter_ =
      std::make_unique<policy::RateLimiter>(*options.clock, /*track_keys_seen=*/server->membership_ != nullptr);
  if (server->membership_ != nullptr) {
    INTEROP_ASSIGN_OR_RETURN(store::pg::ReplicaMembership::View view, server->membership_->Heartbeat({}));
    server->ApplyReplicaView(std::move(view));
    server->metrics_->registry
        .AddCallbackGaugeFamily("interop_gateway_replicas_live",
                                "Gateway replicas whose heartbeat in the shared database is recent, this one "
                                "included, at this one's last heartbeat.")
        .Add({}, [s = server.get()] { return static_cast<double>(s->live_replicas_.load()); });
    server->metrics_->registry
        .AddCallbackGaugeFamily("interop_rate_limit_shared_callers",
                                "Callers that more than one live replica served lately, at this one's last "
                                "heartbeat: it enforces only its share of their rate limits.")
        .Add({}, [s = server.get()] { return static_cast<double>(s->shared_callers_.load()); });
  }
  accesslog::AccessLogOptions log_options;
  log_options.sqlite_path = config.access_log().sqlite_path();
  if (!on_postgres && log_options.sqlite_path == config.store().sqlite_path()) {
    LogWarning("the access log shares the store's SQLite file: its group commits queue behind the ledger's and "
               "the workflows'; a file of its own (access_log.sqlite_path) is recommended before the first start "
               "(docs/DEPLOYMENT.md)",
               {{"file", log_options.sqlite_path}});
  }
  log_options.signing_key_file = config.access_log().signing_key_file();
  log_options.signing_cert_file = config.access_log().signing_cert_file();
  log_options.previous_signing_cert_files.assign(config.access_log().previous_signing_cert_files().begin(),
                                                 config.access_log().previous_signing_cert_files().end());
  log_options.checkpoint_every_records = config.access_log().checkpoint_every_records();
  log_options.checkpoint_interval = absl::Seconds(config.access_log().checkpoint_interval_seconds());
  log_options.commit_observer = [metrics = &server->metrics_->access_log](const accesslog::AccessLogCommit& commit) {
    metrics->RecordCommit(commit.records, commit.duration, commit.committed);
  };
  if (options.benchmark_without_access_log) {
    LogWarning("BENCHMARK MODE: access records are NOT written. Never run a gateway that serves real callers so.");
    server->access_log_ = std::make_unique<DiscardingAccessLog>();
  } else {
    if (on_postgres) {
      INTEROP_ASSIGN_OR_RETURN(server->access_log_, accesslog::OpenPostgresAccessLog(log_options, *server->postgres_));
    } else {
      INTEROP_ASSIGN_OR_RETURN(server->access_log_, accesslog::OpenSqliteAccessLog(log_options));
    }
  }
  server->work_ = std::make_unique<WorkQueue>(2);
  if (on_postgres) {
    INTEROP_ASSIGN_OR_RETURN(server->ledger_, settlement::OpenPostgresSettlementLedger(*server->postgres_));
  } else {
    INTEROP_ASSIGN_OR_RETURN(server->ledger_, settlement::OpenSqliteSettlementLedger(config.store().sqlite_path()));
  }
  bool settlement_configured = false;
  for (const config::v1::CityBackendConfig& city : config.cities()) {
    settlement_configured = settlement_configured || !city.medical_catalogue_file().empty() ||
                            !city.medical_policy_file().empty();
  }
  if (settlement_configured) {
    INTEROP_ASSIGN_OR_RETURN(server->medical_rules_, settlement::MedicalRules::Load(config, ""));
  } else {
    LogWarning("cross-city settlement is off: no city has medical_catalogue_file and medical_policy_file");
  }

  services::GuardDependencies guard_deps;
  guard_deps.verifier = server->verifier_.get();
  guard_deps.policy = server->policy_.get();
  guard_deps.rate_limiter = server->rate_limiter_.get();
  guard_deps.access_log = server->access_log_.get();
  guard_deps.clock = options.clock;
  guard_deps.insecure_dev = options.insecure_dev;
  guard_deps.call_metrics = &server->metrics_->calls;
  server->guard_ = std::make_unique<services::CallGuard>(guard_deps);

  services::ServiceDependencies deps{server->cities_.get(), server->locator_.get(), options.clock,
                                     server->guard_.get()};
  server->medical_ = std::make_unique<services::MedicalInsuranceServiceImpl>(deps);
  server->social_ = std::make_unique<services::SocialSecurityServiceImpl>(deps);
  server->household_ = std::make_unique<services::HouseholdRegistrationServiceImpl>(deps);
  server->access_log_service_ =
      std::make_unique<services::AccessLogServiceImpl>(deps, *server->access_log_, *server->work_);
  // Settlement intents name this replica; another's are left alone while its Settle may be in flight.
  services::SettlementIntentOwnership ownership;
  ownership.replica_id = replica_id;
  ownership.foreign_min_age = IntentRecoveryMinAge(config);
  // One account cache per process (gateway/settlement/account_cache.h), its counters on /metrics.
  server->settlement_ = std::make_unique<services::CrossCitySettlementServiceImpl>(
      deps, server->medical_rules_, *server->ledger_, *server->work_,
      std::make_unique<settlement::AccountCache>(*options.clock), ownership);
  if (const settlement::AccountCache* accounts = server->settlement_->account_cache(); accounts != nullptr) {
    auto& lookups = server->metrics_->registry.AddCallbackCounterFamily(
        "interop_settlement_account_cache_lookups_total",
        "Settle's look-ups of the insured city's account in the cache, by outcome (hit, miss).", {"outcome"});
    lookups.Add({"hit"}, [accounts] { return static_cast<double>(accounts->GetStats().hits); });
    lookups.Add({"miss"}, [accounts] { return static_cast<double>(accounts->GetStats().misses); });
    server->metrics_->registry
        .AddCallbackCounterFamily(
            "interop_settlement_account_cache_stale_total",
            "Cached accounts the insured city found outdated (ABORTED commit, re-read).")
        .Add({}, [accounts] { return static_cast<double>(accounts->GetStats().stale); });
  }
  {
    const services::CrossCitySettlementServiceImpl* settlement = server->settlement_.get();
    metrics::MetricRegistry& registry = server->metrics_->registry;
    auto& resolved = registry.AddCallbackCounterFamily(
        "interop_settlement_intents_resolved_total",
        "Settlement intents resolved by the recovery passes, by outcome (settled: the insured city had "
        "committed it, now recorded; abandoned: it had not, removed).",
        {"outcome"});
    resolved.Add({"settled"}, [settlement] { return static_cast<double>(settlement->intent_stats().settled); });
    resolved.Add({"abandoned"}, [settlement] { return static_cast<double>(settlement->intent_stats().abandoned); });
    registry
        .AddCallbackCounterFamily("interop_settlement_intent_recovery_failures_total",
                                  "Settlement intents a recovery pass could not resolve (the insured city or the "
                                  "ledger failed); the next pass tries again.")
        .Add({}, [settlement] { return static_cast<double>(settlement->intent_stats().unresolved); });
    registry
        .AddCallbackGaugeFamily("interop_settlement_intents_unresolved",
                                "Settlement intents old enough to resolve that the last recovery pass could not "
                                "(the insured city or the ledger failed). Above 0 for many minutes: an operator "
                                "is needed.")
        .Add({}, [settlement] {
          return static_cast<double>(settlement->intent_stats().unresolved_after_last_pass);
        });
    registry
        .AddCallbackCounterFamily("interop_settlement_in_progress_total",
                                  "Settle calls answered SETTLEMENT_IN_PROGRESS: the key's intent is another "
                                  "replica's, and recent.")
        .Add({}, [settlement] { return static_cast<double>(settlement->intent_stats().in_progress); });
  }
  std::shared_ptr<const certificates::PublishedTrustList> trust_list;
  if (config.has_certificates()) {
    INTEROP_ASSIGN_OR_RETURN(trust_list, certificates::PublishTrustList(config.certificates(), options.clock->Now()));
    LogInfo("certificate trust list signed", {{"version", absl::StrCat(trust_list->verified.version())},
                                              {"keys", absl::StrCat(trust_list->verified.list().keys_size())}});
  } else {
    LogWarning("certificates are off: the config has no certificates section");
  }
  server->certificates_ = std::make_unique<services::CertificateServiceImpl>(
      deps, std::move(trust_list), absl::Hours(24) * static_cast<int>(config.certificates().default_validity_days()));

  // The cross-city workflows: one engine for both types, on the store's file.
  if (on_postgres) {
    INTEROP_ASSIGN_OR_RETURN(server->workflow_store_, workflow::OpenPostgresWorkflowStore(*server->postgres_));
  } else {
    INTEROP_ASSIGN_OR_RETURN(server->workflow_store_,
                             workflow::OpenSqliteWorkflowStore(config.store().sqlite_path()));
  }
  workflow::WorkflowEngineOptions engine_options;
  engine_options.replica_id = replica_id;
  engine_options.hook = CrashHookFromEnvironment();
  if (config.workflows().lease_duration_ms() > 0) {
    engine_options.lease_duration = absl::Milliseconds(config.workflows().lease_duration_ms());
  }
  server->workflow_engine_ =
      std::make_unique<workflow::WorkflowEngine>(*server->workflow_store_, *options.clock, engine_options);
  transfers::TransferWorkflowOptions transfer_options;
  router::RecordLocator* locator = server->locator_.get();
  transfer_options.on_household_moved = [locator](const std::string& id) {
    locator->Forget(id, router::RecordDomain::kHouseholdRegistration);
  };
  transfer_options.on_pension_moved = [locator](const std::string& id) {
    locator->Forget(id, router::RecordDomain::kContributionHistory);
  };
  INTEROP_RETURN_IF_ERROR(server->workflow_engine_->Register(
      transfers::HouseholdMigrationDefinition(*server->cities_, transfer_options)));
  INTEROP_RETURN_IF_ERROR(
      server->workflow_engine_->Register(transfers::PensionTransferDefinition(*server->cities_, transfer_options)));
  server->migrations_ = std::make_unique<services::HouseholdMigrationServiceImpl>(deps, *server->workflow_engine_,
                                                                                  *server->work_, transfer_options);
  server->pension_transfers_ = std::make_unique<services::PensionTransferServiceImpl>(
      deps, *server->workflow_engine_, *server->work_, transfer_options);

  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (options.insecure_dev) {
    LogWarning(
        "INSECURE DEVELOPMENT MODE: the public API is served WITHOUT TLS and without client authentication. "
        "Never use --insecure_dev where personal data flows.",
        {{"address", config.listen_address()}});
    credentials = grpc::InsecureServerCredentials();
  } else {
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> tls =
        tls::MakeGatewayServerCredentials(config.tls());
    if (!tls.ok()) return tls.status();
    credentials = *tls;
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen_address(), credentials, &server->port_);
  builder.RegisterService(server->medical_.get());
  builder.RegisterService(server->social_.get());
  builder.RegisterService(server->household_.get());
  builder.RegisterService(server->access_log_service_.get());
  builder.RegisterService(server->settlement_.get());
  builder.RegisterService(server->certificates_.get());
  builder.RegisterService(server->migrations_.get());
  builder.RegisterService(server->pension_transfers_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("listen_address: cannot listen on \"", config.listen_address(), "\""));
  }

  grpc::HealthCheckServiceInterface* health = server->server_->GetHealthCheckService();
  health->SetServingStatus("", true);
  for (const char* service : kPublicServices) health->SetServingStatus(service, true);
  for (City city : server->cities_->Cities()) health->SetServingStatus(CityHealthServiceName(city), false);
  health->SetServingStatus(kStoreHealthServiceName, true);  // it answered the migrations just now
  server->prober_ = std::thread([s = server.get()] {
    SetCurrentThreadName("probe-cities");
    s->ProbeCities();
  });
  server->store_prober_ = std::thread([s = server.get()] {
    SetCurrentThreadName("probe-store");
    s->ProbeStore();
  });
  server->reloader_ = std::thread([s = server.get()] {
    SetCurrentThreadName("reload-files");
    s->WatchReloadableFiles();
  });
  if (server->medical_rules_ != nullptr) {
    // Settlements a crash left half-done are finished or abandoned with their insured cities.
    server->intent_recovery_ = std::thread([s = server.get()] {
      SetCurrentThreadName("intent-recovery");
      s->RecoverIntentsUntilShutdown();
    });
  }

  // Workflows a previous run left (crashed or stopped mid-step) continue from their last commit.
  absl::Status resumed = server->workflow_engine_->Resume();
  if (!resumed.ok()) LogError("could not resume workflows yet; polling retries", {{"error", resumed.ToString()}});
  server->workflow_engine_->StartPolling(absl::Milliseconds(200));

  if (!config.metrics_listen_address().empty()) {
    INTEROP_ASSIGN_OR_RETURN(server->metrics_exporter_,
                             metrics::MetricsExporter::Start(config.metrics_listen_address(), server->metrics_->registry,
                                                             [s = server.get()] {
                                                               absl::MutexLock lock(&s->store_status_mu_);
                                                               return s->store_status_;
                                                             }));
    LogInfo("metrics served at /metrics", {{"address", config.metrics_listen_address()},
                                           {"port", absl::StrCat(server->metrics_exporter_->port())}});
  }
  LogInfo("gateway serving", {{"address", config.listen_address()},
                              {"port", absl::StrCat(server->port_)},
                              {"tls", options.insecure_dev ? "off (insecure_dev)" : "mutual"}});
  return server;
}

void GatewayServer::ProbeCities() {
  absl::Duration interval = absl::Milliseconds(config_.health_check_interval_ms());
  do {
    std::vector<City> cities = cities_->Cities();
    absl::BlockingCounter pending(static_cast<int>(cities.size()));
    for (City city : cities) {
      adapters::CallOptions options;
      options.deadline = absl::Now() + std::min(interval, absl::Seconds(2));
      cities_->Find(city)->CheckHealth(options, [this, city, &pending](absl::Status status) {
        server_->GetHealthCheckService()->SetServingStatus(CityHealthServiceName(city), status.ok());
        pending.DecrementCount();
      });
    }
    pending.Wait();
  } while (!stop_probing_.WaitForNotificationWithTimeout(interval));
}

void GatewayServer::RecoverIntentsUntilShutdown() {
  const absl::Duration min_age = IntentRecoveryMinAge(config_);
  // At start-up nothing of this process is in flight: its own intents (a previous run under the
  // same replica id) are resolved at once, whatever their age. On SQLite this process is the
  // ledger's only user (replicas share PostgreSQL), so every intent is a dead process's then.
  // Afterwards, and for other replicas' intents on PostgreSQL, only those older than any Settle.
  bool first_pass = true;
  do {
    const absl::Duration older_than = first_pass && postgres_ == nullptr ? absl::ZeroDuration() : min_age;
    const absl::Duration own_older_than = first_pass ? absl::ZeroDuration() : min_age;
    first_pass = false;
    services::CrossCitySettlementServiceImpl::IntentRecovery recovered =
        settlement_->RecoverIntents(older_than, own_older_than);
    if (recovered.settled + recovered.abandoned > 0) {
      LogInfo("settlement intents resolved with their insured cities",
              {{"settled", absl::StrCat(recovered.settled)}, {"abandoned", absl::StrCat(recovered.abandoned)}});
    }
    if (recovered.unresolved > 0) {
      LogWarning("some settlement intents could not be resolved yet; the next pass, or a retry with their key, "
                 "resolves them",
                 {{"unresolved", absl::StrCat(recovered.unresolved)}});
    }
  } while (!stop_probing_.WaitForNotificationWithTimeout(kIntentRecoveryInterval));
}

void GatewayServer::ProbeStore() {
  const absl::Duration interval = absl::Milliseconds(config_.health_check_interval_ms());
  bool serving = true;
  while (!stop_probing_.WaitForNotificationWithTimeout(interval)) {
    absl::Status status;
    if (membership_ != nullptr) {
      absl::StatusOr<store::pg::ReplicaMembership::View> view = membership_->Heartbeat(rate_limiter_->TakeKeysSeen());
      status = view.status();
      if (view.ok()) ApplyReplicaView(std::move(*view));
    } else {
      status = database_->WithConnection([](sqlite3* db) { return store::SqliteDatabase::Exec(db, "SELECT 1"); });
    }
    if (status.ok() == serving) continue;
    serving = status.ok();
    {
      absl::MutexLock lock(&store_status_mu_);
      store_status_ = serving ? absl::OkStatus()
                              : absl::UnavailableError(absl::StrCat("the store does not answer: ", status.message()));
    }
    grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
    health->SetServingStatus(kStoreHealthServiceName, serving);
    health->SetServingStatus("", serving);
    for (const char* service : kPublicServices) health->SetServingStatus(service, serving);
    if (serving) {
      LogInfo("the store answers again: serving");
    } else {
      LogError("the store does not answer: NOT_SERVING until it does", {{"error", status.ToString()}});
    }
  }
}

void GatewayServer::ApplyReplicaView(store::pg::ReplicaMembership::View view) {
  const int before = live_replicas_.exchange(view.live_replicas);
  if (before != view.live_replicas) {
    LogInfo("live gateway replicas changed",
            {{"live_replicas", absl::StrCat(view.live_replicas)}, {"before", absl::StrCat(before)}});
  }
  shared_callers_.store(static_cast<int>(view.replicas_per_caller.size()));
  rate_limiter_->SetShares(std::move(view.replicas_per_caller));
}

void GatewayServer::WatchReloadableFiles() {
  absl::Duration interval = absl::Milliseconds(config_.reload_check_interval_ms());
  while (!stop_probing_.WaitForNotificationWithTimeout(interval)) {
    absl::StatusOr<bool> policy = policy_->ReloadIfChanged();
    if (!policy.ok()) {
      LogError("refused the changed access policy; the previous one stays in force",
               {{"error", std::string(policy.status().message())}});
    } else if (*policy) {
      LogInfo("access policy reloaded", {{"file", config_.access_policy_file()}});
    }
    if (verifier_ != nullptr && verifier_->ReloadCrlIfChanged()) {
      LogInfo("certificate revocation list reloaded", {{"file", config_.crl_file()}});
    }
  }
}

void GatewayServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  if (metrics_exporter_ != nullptr) metrics_exporter_->Stop();
  stop_probing_.Notify();
  if (prober_.joinable()) prober_.join();
  if (store_prober_.joinable()) store_prober_.join();
  if (reloader_.joinable()) reloader_.join();
  if (intent_recovery_.joinable()) intent_recovery_.join();
  // The other replicas stop sharing the rate limits of this one's callers at their next heartbeat.
  if (membership_ != nullptr) membership_->Leave().IgnoreError();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  workflow_engine_.reset();  // waits for the steps in flight; leaves the rest for the next start
  work_.reset();  // finishes scheduled reads while the log is still open
  // The ledger's completion thread may still be running the tail of a settlement's callback (the
  // next queued settlement of the same person starts there after the reply): stop it while the
  // settlement service it calls into still exists. Nothing uses the ledger after this.
  ledger_.reset();
  access_log_->CheckpointNow().IgnoreError();
  flush_locations_().IgnoreError();
  LogInfo("gateway stopped");
}

GatewayServer::~GatewayServer() { Shutdown(); }

}  // namespace interop::server
