// The gateway process:
//   gateway --config=gateway.textproto [--insecure_dev] [--port_file=PATH] [--metrics_port_file=PATH]
// Runs until SIGINT or SIGTERM.
#include <csignal>
#include <cstdio>
#include <fstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gateway/base/log.h"
#include "gateway/config/config_loader.h"
#include "gateway/server/gateway_server.h"

ABSL_FLAG(std::string, config, "", "Path of the gateway configuration (interop.config.v1.GatewayConfig, text format).");
ABSL_FLAG(bool, insecure_dev, false,
          "DEVELOPMENT ONLY: serve the public API in plaintext, without client certificates.");
ABSL_FLAG(bool, benchmark_without_access_log, false,
          "BENCHMARKS ONLY: do not write access records (to measure what the access log costs).");
ABSL_FLAG(std::string, port_file, "", "If set, the bound port is written to this file once serving.");
ABSL_FLAG(std::string, metrics_port_file, "",
          "If set, the bound port of the metrics endpoint (config metrics_listen_address) is written to this file "
          "once serving, before --port_file.");

namespace {

// Writes "<port>\n" to `path` atomically (a temporary file renamed), so readers never see half a number.
void WritePortFile(const std::string& path, int port) {
  std::string tmp = path + ".tmp";
  std::ofstream(tmp) << port << "\n";
  std::rename(tmp.c_str(), path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("The five-city interop gateway. Usage: gateway --config=gateway.textproto");
  absl::ParseCommandLine(argc, argv);
  // Debian's Abseil checks every lock order for cycles (a debugging aid that records a graph of
  // all mutexes ever held together); in the gateway's hot path that was several per cent of its CPU.
  // The unit tests and the ASan build keep the check on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (absl::GetFlag(FLAGS_config).empty()) {
    std::fprintf(stderr, "gateway: --config is required\n");
    return 2;
  }
  // Block the stop signals in every thread; the main thread waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  interop::config::LoadOptions load_options;
  load_options.insecure_dev = absl::GetFlag(FLAGS_insecure_dev);
  auto config = interop::config::LoadGatewayConfig(absl::GetFlag(FLAGS_config), load_options);
  if (!config.ok()) {
    interop::LogError("invalid configuration", {{"error", std::string(config.status().message())}});
    return 2;
  }
  interop::server::ServerOptions options;
  options.insecure_dev = load_options.insecure_dev;
  options.benchmark_without_access_log = absl::GetFlag(FLAGS_benchmark_without_access_log);
  auto server = interop::server::GatewayServer::Start(*config, options);
  if (!server.ok()) {
    interop::LogError("cannot start", {{"error", std::string(server.status().message())}});
    return 1;
  }
  if (!absl::GetFlag(FLAGS_metrics_port_file).empty()) {
    if ((*server)->metrics_port() != 0) {
      WritePortFile(absl::GetFlag(FLAGS_metrics_port_file), (*server)->metrics_port());
    } else {
      interop::LogWarning("--metrics_port_file is set but the config has no metrics_listen_address; not written");
    }
  }
  if (!absl::GetFlag(FLAGS_port_file).empty()) WritePortFile(absl::GetFlag(FLAGS_port_file), (*server)->port());
  int signal = 0;
  sigwait(&stop_signals, &signal);
  interop::LogInfo("stopping", {{"signal", absl::StrCat(signal)}});
  (*server)->Shutdown();
  return 0;
}
