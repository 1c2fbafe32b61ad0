#include "gateway/metrics/metrics_exporter.h"

#include <sys/socket.h>

#include <atomic>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "httplib.h"

namespace interop::metrics {
namespace {

constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

struct HostPort {
  std::string host;
  int port = 0;
};

absl::StatusOr<HostPort> ParseListenAddress(const std::string& address) {
  auto invalid = [&address](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("metrics_listen_address \"", address, "\": ", why,
                                                   " (expected host:port, port 0 for any)"));
  };
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return invalid("no port");
  HostPort result;
  result.host = address.substr(0, colon);
  if (result.host.size() >= 2 && result.host.front() == '[' && result.host.back() == ']') {
    result.host = result.host.substr(1, result.host.size() - 2);
  } else if (result.host.find(':') != std::string::npos) {
    return invalid("an IPv6 host must be in brackets");
  }
  if (result.host.empty()) result.host = "0.0.0.0";
  if (!absl::SimpleAtoi(address.substr(colon + 1), &result.port) || result.port < 0 || result.port > 65535) {
    return invalid("the port is not a number in 0..65535");
  }
  return result;
}

}  // namespace

MetricsExporter::MetricsExporter(const MetricRegistry& registry)
    : registry_(registry), server_(std::make_unique<httplib::Server>()) {}

absl::StatusOr<std::unique_ptr<MetricsExporter>> MetricsExporter::Start(const std::string& listen_address,
                                                                        const MetricRegistry& registry,
                                                                        Readiness readiness) {
  absl::StatusOr<HostPort> address = ParseListenAddress(listen_address);
  if (!address.ok()) return address.status();

  std::unique_ptr<MetricsExporter> exporter(new MetricsExporter(registry));
  httplib::Server& server = *exporter->server_;
  server.new_task_queue = [] { return new httplib::ThreadPool(2); };
  // One request per connection, and short timeouts: Stop() never waits long on a client.
  server.set_keep_alive_max_count(1);
  server.set_read_timeout(2, 0);
  server.set_write_timeout(2, 0);
  // SO_REUSEADDR only: httplib's default also sets SO_REUSEPORT, which would let a second process
  // bind the same port silently instead of failing.
  server.set_socket_options([](socket_t socket) {
    int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  const MetricRegistry* source = &exporter->registry_;
  server.Get("/metrics", [source](const httplib::Request&, httplib::Response& response) {
    response.set_content(source->RenderText(), kContentType);
  });
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("ok\n", "text/plain; charset=utf-8");
  });
  server.Get("/readyz", [readiness](const httplib::Request&, httplib::Response& response) {
    const absl::Status ready = readiness ? readiness() : absl::OkStatus();
    if (ready.ok()) {
      response.set_content("ready\n", "text/plain; charset=utf-8");
    } else {
      response.status = 503;
      response.set_content(absl::StrCat("not ready: ", ready.message(), "\n"), "text/plain; charset=utf-8");
    }
  });

  if (address->port == 0) {
    exporter->port_ = server.bind_to_any_port(address->host);
  } else if (server.bind_to_port(address->host, address->port)) {
    exporter->port_ = address->port;
  } else {
    exporter->port_ = -1;
  }
  if (exporter->port_ <= 0) {
    exporter->port_ = 0;
    return absl::UnavailableError(
        absl::StrCat("metrics_listen_address: cannot listen on \"", listen_address, "\""));
  }

  // httplib's stop() only acts on a server that is already running, so Start() returns once the
  // listener thread is in its accept loop (or has given up).
  auto returned = std::make_shared<std::atomic<bool>>(false);
  exporter->listener_ = std::thread([&server, returned] {
    server.listen_after_bind();
    returned->store(true);
  });
  while (!server.is_running() && !returned->load()) absl::SleepFor(absl::Microseconds(200));
  if (returned->load() && !server.is_running()) {
    exporter->Stop();
    return absl::UnavailableError(
        absl::StrCat("metrics_listen_address: cannot serve on \"", listen_address, "\""));
  }
  return exporter;
}

void MetricsExporter::Stop() {
  {
    absl::MutexLock lock(&stop_mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  server_->stop();
  if (listener_.joinable()) listener_.join();
}

MetricsExporter::~MetricsExporter() { Stop(); }

}  // namespace interop::metrics
