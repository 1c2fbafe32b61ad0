// MetricsExporter: a small plain-HTTP server (cpp-httplib) for Prometheus, and for the liveness and
// readiness checks of load balancers and orchestrators that speak only HTTP.
//
//   GET /metrics   200, Content-Type "text/plain; version=0.0.4; charset=utf-8",
//                  body MetricRegistry::RenderText() of the registry
//   GET /healthz   200, "ok\n": the process serves HTTP (liveness: restarting it would not help
//                  with anything /readyz reports)
//   GET /readyz    200, "ready\n" while the readiness function answers OK; 503, "not ready: " and
//                  its status message otherwise (take this replica out of the pool for now)
//   anything else  404 (405 for other methods on those paths)
//
// It serves on its own thread pool (two workers), never on the gateway's gRPC threads. Each
// connection carries one request (no keep-alive), so Stop() does not wait on idle scrapers.
//
//   absl::StatusOr<std::unique_ptr<MetricsExporter>> exporter =
//       MetricsExporter::Start("127.0.0.1:0", registry);
//   int port = (*exporter)->port();
//
// Thread-safe. The registry must outlive the exporter (or at least its Stop()).
#ifndef INTEROP_GATEWAY_METRICS_METRICS_EXPORTER_H_
#define INTEROP_GATEWAY_METRICS_METRICS_EXPORTER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "gateway/metrics/metric_registry.h"

namespace httplib {
class Server;
}

namespace interop::metrics {

class MetricsExporter {
 public:
  // Whether the process should receive traffic now; called on every GET /readyz, from the
  // exporter's threads, so it must be thread-safe and quick (read a flag, do not probe).
  using Readiness = std::function<absl::Status()>;

  // Binds `listen_address` ("host:port", "[v6-host]:port"; port 0 picks a free port) and starts
  // serving. Errors: INVALID_ARGUMENT if the address is not host:port with a port in 0..65535;
  // UNAVAILABLE if it cannot be bound. The messages name the address.
  // `readiness` answers /readyz; without one, /readyz answers 200 like /healthz.
  static absl::StatusOr<std::unique_ptr<MetricsExporter>> Start(const std::string& listen_address,
                                                                const MetricRegistry& registry,
                                                                Readiness readiness = nullptr);
  // Stops serving (see Stop()).
  ~MetricsExporter();

  // The port bound.
  int port() const { return port_; }

  // Closes the listening socket, waits for the requests being served and joins every thread of
  // the exporter. Idempotent.
  void Stop();

 private:
  MetricsExporter(const MetricRegistry& registry);

  const MetricRegistry& registry_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread listener_;
  absl::Mutex stop_mu_;
  bool stopped_ ABSL_GUARDED_BY(stop_mu_) = false;
};

}  // namespace interop::metrics

#endif  // INTEROP_GATEWAY_METRICS_METRICS_EXPORTER_H_
