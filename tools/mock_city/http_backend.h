// The mock city backend over HTTP/JSON in the envelope of the national medical-insurance platform
// interface: how Lüliang's backend speaks (adapters/lvliang/NATIONAL_INTERFACE.md is the protocol).
//
// NationalInterfacePlatform answers one request body from the shared synthetic population, for the
// records its city holds only (the same rules as the gRPC MockCityBackend), in the city's dialect
// (amounts, dates, months and codes inside the JSON strings; a city that keys older persons by the
// legacy 15-digit number knows them only by it): transactions 1101 (medical insurance), L9101
// (locate), L9201 (contributions) and L9301 (household registration); and cross-city settlement
// over a MockMedicalLedger (medical_ledger.h, in memory: it starts again from the population when
// the process restarts): 5206 (account and accumulators), 2207A (settle), 2208A (reverse), 5203 (one
// settlement), 3202 (settlements of a period, paged by after_setl_id), 2501A (file), 2502A (revoke a
// filing) and 5301A (filings). Ledger refusals are answered with the error codes of
// NATIONAL_INTERFACE.md: E1001 not found, E1002 malformed (naming input.data.<field>), E2001 version
// moved, E2002 settlement id reused, E2003 refused (overdraw, cap, a filing for the insured city).
// HttpMockCityBackend serves it with cpp-httplib over mutual TLS (client certificates required and
// verified against the given CA), plus GET /health answering "SERVING".
//
//   HttpBackendOptions options;  options.ca_cert_file = ...; options.cert_file = ...; options.key_file = ...;
//   auto backend = HttpMockCityBackend::Start(lvliang_dialect, population, Clock::Real(), options);
//   ... (*backend)->port() ...
//
// Thread-safe: the population is immutable, the ledger thread-safe; counters and the injected delay
// are guarded.
#ifndef INTEROP_TOOLS_MOCK_CITY_HTTP_BACKEND_H_
#define INTEROP_TOOLS_MOCK_CITY_HTTP_BACKEND_H_

#include <signal.h>

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "adapters/dialect/dialect.h"
#include "gateway/base/clock.h"
#include "tools/mock_city/certificate_signer.h"
#include "tools/mock_city/medical_ledger.h"
#include "tools/mock_city/population.h"

namespace httplib {
class SSLServer;
}

namespace interop::mock_city {

// The platform's logic without the transport.
class NationalInterfacePlatform {
 public:
  // `population` and `clock` must outlive the platform. `dialect` must not be null and should cover
  // every national code (Dialect::CheckCoversEveryNationalCode); a code it cannot write is answered
  // with infcode -1. Settlement is answered from a ledger of its own (default options: no caps).
  NationalInterfacePlatform(std::shared_ptr<const adapters::Dialect> dialect, const Population& population,
                            const Clock& clock);
  // The same, answering settlement from `ledger` (of the dialect's city), which must outlive it.
  NationalInterfacePlatform(std::shared_ptr<const adapters::Dialect> dialect, const Population& population,
                            const Clock& clock, MockMedicalLedger& ledger);

  City city() const { return city_; }
  MockMedicalLedger& ledger() { return ledger_; }

  // The reply body (JSON, UTF-8) to a request body. Always a reply envelope: malformed requests get
  // infcode -1 with err_msg "E1002:...", unknown transactions "E1003:...", records this city does
  // not hold "E1001:...".
  std::string Answer(absl::string_view request_body);

  // Number of persons of whom this city holds any record.
  int HeldPersonCount() const;

  // Certificates: transaction L9401 signs with `signer` (of this city; must outlive the platform).
  // Without one, L9401 is an unknown transaction (E1003). Call before serving.
  void SetCertificateSigner(const MockCertificateSigner* signer) { signer_ = signer; }

 private:
  NationalInterfacePlatform(std::shared_ptr<const adapters::Dialect> dialect, const Population& population,
                            const Clock& clock, std::unique_ptr<MockMedicalLedger> owned_ledger,
                            MockMedicalLedger* ledger);

  const std::shared_ptr<const adapters::Dialect> dialect_;
  const City city_;
  const Population& population_;
  const Clock& clock_;
  const std::unique_ptr<MockMedicalLedger> owned_ledger_;  // null when the ledger is borrowed
  MockMedicalLedger& ledger_;
  std::atomic<uint64_t> replies_{0};
  const MockCertificateSigner* signer_ = nullptr;
};

struct HttpBackendOptions {
  // "host:port" to listen on; port 0 picks a free one.
  std::string listen = "127.0.0.1:0";
  // PEM files: the CA that clients' certificates must chain to, and this server's certificate and key.
  std::string ca_cert_file;
  std::string cert_file;
  std::string key_file;
  // Worker threads. cpp-httplib keeps one busy per open connection, so this bounds the connections
  // served at once; keep it above the clients' connection limits.
  int threads = 32;
  // An idle kept-alive connection is closed after this long.
  absl::Duration keep_alive_timeout = absl::Seconds(30);
  // Signs certificates (L9401) if set; must outlive the backend.
  const MockCertificateSigner* certificate_signer = nullptr;
};

class HttpMockCityBackend {
 public:
  // Binds and starts serving on a thread of its own. INVALID_ARGUMENT if the TLS files cannot be
  // used (naming them), UNAVAILABLE if the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpMockCityBackend>> Start(
      std::shared_ptr<const adapters::Dialect> dialect, const Population& population, const Clock& clock,
      const HttpBackendOptions& options);
  // The same, answering settlement from `ledger`, which must outlive the backend.
  static absl::StatusOr<std::unique_ptr<HttpMockCityBackend>> Start(
      std::shared_ptr<const adapters::Dialect> dialect, const Population& population, const Clock& clock,
      MockMedicalLedger& ledger, const HttpBackendOptions& options);
  // Stop()s.
  ~HttpMockCityBackend();

  // The bound port.
  int port() const { return port_; }
  // Stops serving (answers being delayed are released at once) and joins the server thread. Idempotent.
  void Stop();

  // Fault injection: every answer waits this long first (until Stop()).
  void SetDelay(absl::Duration delay);
  // Distinct client connections (remote address and port) that sent at least one request.
  int connections_seen() const;
  // Requests answered (transactions and health checks).
  int requests_served() const;
  const NationalInterfacePlatform& platform() const { return platform_; }
  NationalInterfacePlatform& platform() { return platform_; }

 private:
  HttpMockCityBackend(std::shared_ptr<const adapters::Dialect> dialect, const Population& population,
                      const Clock& clock, MockMedicalLedger* ledger);
  static absl::StatusOr<std::unique_ptr<HttpMockCityBackend>> Serve(
      std::unique_ptr<HttpMockCityBackend> backend, const HttpBackendOptions& options);
  // Notes the request's connection and waits the injected delay.
  void BeforeAnswer(const std::string& remote_addr, int remote_port);

  NationalInterfacePlatform platform_;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  std::atomic<bool> listen_returned_{false};
  int port_ = 0;
  absl::Notification stopping_;
  mutable absl::Mutex mu_;
  absl::Duration delay_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  std::set<std::string> connections_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> requests_{0};
};

// mock-city --transport=http: serves the city of `dialect` (settlement from `ledger`) on `options.listen`
// until one of `stop_signals` (blocked by the caller) arrives, after writing the bound port to `port_file`
// (if not empty, via a temporary file and rename). Returns the process exit code.
int ServeHttpUntilSignal(std::shared_ptr<const adapters::Dialect> dialect, const Population& population,
                         MockMedicalLedger& ledger, const HttpBackendOptions& options,
                         const std::string& port_file, const sigset_t& stop_signals);

}  // namespace interop::mock_city

#endif  // INTEROP_TOOLS_MOCK_CITY_HTTP_BACKEND_H_
