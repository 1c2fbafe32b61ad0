// MetricsExporter: a small plain-HTTP server (cpp-httplib) for Prometheus and for liveness checks.
//
//   GET /metrics   200, Content-Type "text/plain; version=0.0.4; charset=utf-8",
//                  body MetricRegistry::RenderText() of the registry
//   GET /healthz   200, "ok\n"
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

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "gateway/metrics/metric_registry.h"

namespace httplib {
class Server;
}

namespace interop::metrics {

class MetricsExporter {
 public:
  // Binds `listen_address` ("host:port", "[v6-host]:port"; port 0 picks a free port) and starts
  // serving. Errors: INVALID_ARGUMENT if the address is not host:port with a port in 0..65535;
  // UNAVAILABLE if it cannot be bound. The messages name the address.
  static absl::StatusOr<std::unique_ptr<MetricsExporter>> Start(const std::string& listen_address,
                                                                const MetricRegistry& registry);
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
