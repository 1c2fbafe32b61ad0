// mock-city: plays one city's backend with the deterministic synthetic population.
//
//   mock-city --city=taiyuan --listen=127.0.0.1:7001 --ca=ca.pem --cert=city-taiyuan.pem \
//             --key=city-taiyuan.key [--seed=N] [--persons_per_city=N] [--port_file=PATH]
//
// Serves interop.citybackend.v1.CityBackendService and grpc.health.v1 over mutual TLS: the caller
// (the gateway) must present a certificate from the CA given by --ca. Runs until SIGINT/SIGTERM.
#include <csignal>
#include <cstdio>
#include <fstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/base/cities.h"
#include "gateway/base/log.h"
#include "gateway/tls/tls_credentials.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "tools/mock_city/mock_city_service.h"

ABSL_FLAG(std::string, city, "", "The city to play: taiyuan, yangquan, jinzhong, xinzhou or lvliang.");
ABSL_FLAG(std::string, listen, "127.0.0.1:0", "Address to serve on; port 0 picks a free port.");
ABSL_FLAG(std::string, ca, "", "CA certificate that callers' client certificates must chain to.");
ABSL_FLAG(std::string, cert, "", "This backend's certificate.");
ABSL_FLAG(std::string, key, "", "This backend's private key.");
ABSL_FLAG(uint64_t, seed, 20261126, "Seed of the synthetic population (all five mock cities must agree).");
ABSL_FLAG(int32_t, persons_per_city, 12000, "Persons whose identity numbers were issued in each city.");
ABSL_FLAG(std::string, port_file, "", "If set, the bound port is written to this file once serving.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("A mock city backend for the five-city interop gateway.");
  absl::ParseCommandLine(argc, argv);
  interop::City city = interop::CityForName(absl::GetFlag(FLAGS_city));
  if (city == interop::City::CITY_UNSPECIFIED) {
    std::fprintf(stderr, "mock-city: --city must be one of taiyuan, yangquan, jinzhong, xinzhou, lvliang\n");
    return 2;
  }
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  interop::config::v1::TlsFiles files;
  files.set_ca_cert_file(absl::GetFlag(FLAGS_ca));
  files.set_cert_file(absl::GetFlag(FLAGS_cert));
  files.set_key_file(absl::GetFlag(FLAGS_key));
  auto credentials = interop::tls::MakeMutualTlsServerCredentials(files);
  if (!credentials.ok()) {
    std::fprintf(stderr, "mock-city: %s (--ca, --cert and --key are required)\n",
                 std::string(credentials.status().message()).c_str());
    return 2;
  }

  absl::Time started = absl::Now();
  interop::mock_city::PopulationOptions population_options;
  population_options.seed = absl::GetFlag(FLAGS_seed);
  population_options.persons_per_issuing_city = absl::GetFlag(FLAGS_persons_per_city);
  interop::mock_city::Population population = interop::mock_city::Population::Generate(population_options);
  interop::mock_city::MockCityBackend backend(city, population, interop::Clock::Real());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), *credentials, &port);
  builder.RegisterService(&backend);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "mock-city: cannot listen on %s\n", absl::GetFlag(FLAGS_listen).c_str());
    return 1;
  }
  interop::LogInfo("mock city serving",
                   {{"city", std::string(interop::CityName(city))},
                    {"port", absl::StrCat(port)},
                    {"persons_held", absl::StrCat(backend.HeldPersonCount())},
                    {"seed", absl::StrCat(population_options.seed)},
                    {"startup_ms", absl::StrCat(absl::ToInt64Milliseconds(absl::Now() - started))}});
  if (!absl::GetFlag(FLAGS_port_file).empty()) {
    std::string tmp = absl::GetFlag(FLAGS_port_file) + ".tmp";
    std::ofstream(tmp) << port << "\n";
    std::rename(tmp.c_str(), absl::GetFlag(FLAGS_port_file).c_str());
  }
  int signal = 0;
  sigwait(&stop_signals, &signal);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return 0;
}
