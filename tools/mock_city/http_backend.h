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
// The steps of household migration (L9302 permit, L9303 move-out, L9304 settle-in) and pension
// transfer (L9202 application, L9203 contact letter, L9204 sheet, L9205 transfer out, L9206 transfer
// in) are answered over MockMobilityRecords (mobility_records.h, in memory, the same records and rules
// as the gRPC mock's), idempotent per biz_sn; and the reads (L9101, L9201, L9301) answer the
// registrations and contributions as those steps have left them.
// HttpMockCityBackend serves it with cpp-httplib over mutual TLS (client certificates required and
// verified against the given CA), plus GET /health answering "SERVING".
//
// Fault injection (fault_injector.h): the platform's FaultInjector (faults()) names the methods by
// their transaction codes (NationalInterfacePlatform::TransactionCodes(): "1101", "2207A", ...).
// The backend decides each POST once its infno is read (a body without one is decided as ""):
//   down       HTTP 503 at once, nothing run; GET /health answers 503 "NOT_SERVING" while down;
//   error      nothing run; after the reply delay, HTTP 503 if the code is UNAVAILABLE, else an
//              envelope error (infcode -1) whose err_msg code the gateway's Lüliang adapter maps back
//              to that code (InjectedErrMsg below has the table; codes the envelope cannot carry
//              arrive as UNAVAILABLE or INTERNAL);
//   hang       nothing run; the reply is held until the caller closes its connection (as the gateway
//              does when its deadline passes: HTTP carries no deadline) or max_hang passes (then 504);
//   latency    the transaction runs, then the reply is held for the delay.
// The admin of the gRPC mock (protos/interop/mockcity/v1/mock_city_admin.proto), over HTTP/JSON on
// the same mutual-TLS listener, never subject to faults:
//   POST /admin/faults        body: SetFaultsRequest in protobuf's JSON mapping, e.g.
//                             {"settings": {"error_rate": 0.5, "methods": ["2207A"], "seed": "7"}};
//                             200 with SetFaultsResponse, or 400 with a google.rpc.Status in JSON
//                             ({"code": 3, "message": "settings.error_rate: ...", "details": [a
//                             google.rpc.BadRequest naming the field]}); nothing changes then.
//   GET  /admin/faults        200 with GetFaultsResponse (settings and counters).
//   POST /admin/faults/reset  200 with {}: no faults, counters zero.
// cpp-httplib serves each connection on one worker thread, and a held (delayed or hung) reply keeps
// its worker blocked: at most `threads - kWorkersKeptFree` replies are held at once, so that held
// replies never take the last workers, which the admin endpoint and health need; a call that would be
// held beyond that is refused with HTTP 503 before anything is run. A caller that closes its
// connection frees the worker of its held reply at once. (Idle kept-alive connections hold a worker
// too: keep `threads` above the callers' connections.)
//
//   HttpBackendOptions options;  options.ca_cert_file = ...; options.cert_file = ...; options.key_file = ...;
//   auto backend = HttpMockCityBackend::Start(lvliang_dialect, population, Clock::Real(), options);
//   ... (*backend)->port() ...
//
// Thread-safe: the population is immutable, the ledger, the mobility records and the fault injector
// thread-safe; counters and the injected delay are guarded.
#ifndef INTEROP_TOOLS_MOCK_CITY_HTTP_BACKEND_H_
#define INTEROP_TOOLS_MOCK_CITY_HTTP_BACKEND_H_

#include <signal.h>

#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "adapters/dialect/dialect.h"
#include "gateway/base/clock.h"
#include "tools/mock_city/certificate_signer.h"
#include "tools/mock_city/fault_injector.h"
#include "tools/mock_city/medical_ledger.h"
#include "tools/mock_city/mobility_records.h"
#include "tools/mock_city/population.h"

namespace httplib {
class SSLServer;
struct Request;
struct Response;
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
  // The household register and pension relationships as the workflow steps have changed them.
  MockMobilityRecords& mobility() { return *mobility_; }
  const MockMobilityRecords& mobility() const { return *mobility_; }

  // The reply body (JSON, UTF-8) to a request body. Always a reply envelope: malformed requests get
  // infcode -1 with err_msg "E1002:...", unknown transactions "E1003:...", records this city does
  // not hold "E1001:...".
  std::string Answer(absl::string_view request_body);

  // Number of persons of whom this city holds any record (as migrations and transfers have left them).
  int HeldPersonCount() const;

  // Fault injection (see the top of this file). Calls through Answer(body) are never decided;
  // AnswerWithFaults decides them.
  FaultInjector& faults() { return faults_; }
  const FaultInjector& faults() const { return faults_; }

  // Answer with the fault check: once the request's infno is read (a body that has none is decided
  // as ""), decides the call with faults().Decide, lets `admit` (if not null) amend the decision,
  // and fills `*decision` (not null) with the result, then:
  //   kRefuse with UNAVAILABLE (down or injected), kHang: returns "" and runs nothing (the transport
  //     answers);
  //   kRefuse with another code: returns the envelope error of InjectedErrMsg(refusal), nothing run;
  //   kProceed: runs the transaction as Answer does and returns its reply (the transport sends it
  //     after decision->reply_delay).
  std::string AnswerWithFaults(absl::string_view request_body, FaultDecision* decision,
                               const std::function<void(FaultDecision&)>& admit = nullptr);

  // The transaction codes this platform answers (the method names of faults()): 1101, L9101,
  // L9201, L9301, the settlement ones, L9401, and the workflow steps.
  static std::vector<std::string> TransactionCodes();

  // The err_msg of an injected error, chosen so that the gateway's Lüliang adapter
  // (adapters/lvliang/national_interface.h, ReplyError and SettlementReplyError) maps it back to the
  // injected code:
  //   NOT_FOUND E1001, INVALID_ARGUMENT E1002, UNIMPLEMENTED E1003, ABORTED E2001,
  //   ALREADY_EXISTS E2002, FAILED_PRECONDITION E2003: that code for the settlement, signing and
  //     workflow transactions; for the reads (1101, L9101, L9201, L9301) E1001 is NOT_FOUND (L9101:
  //     "not found", no error) and the others INTERNAL, as NATIONAL_INTERFACE.md says;
  //   RESOURCE_EXHAUSTED and UNAVAILABLE E9001 (busy): UNAVAILABLE;
  //   any other code (INTERNAL, DEADLINE_EXCEEDED, PERMISSION_DENIED, ...) E1999: INTERNAL.
  // (The backend answers an injected UNAVAILABLE with HTTP 503, not with E9001.) The message after
  // the code is the refusal's own ("injected fault: call k of seed s fails with ...").
  static std::string InjectedErrMsg(const absl::Status& refusal);

  // Certificates: transaction L9401 signs with `signer` (of this city; must outlive the platform).
  // Without one, L9401 is an unknown transaction (E1003). Call before serving.
  void SetCertificateSigner(const MockCertificateSigner* signer) { signer_ = signer; }

 private:
  NationalInterfacePlatform(std::shared_ptr<const adapters::Dialect> dialect, const Population& population,
                            const Clock& clock, std::unique_ptr<MockMedicalLedger> owned_ledger,
                            MockMedicalLedger* ledger);
  // Answer, deciding faults when `decision` is not null (AnswerWithFaults).
  std::string AnswerRequest(absl::string_view request_body, FaultDecision* decision,
                            const std::function<void(FaultDecision&)>* admit);

  const std::shared_ptr<const adapters::Dialect> dialect_;
  const City city_;
  const Population& population_;
  const Clock& clock_;
  const std::unique_ptr<MockMedicalLedger> owned_ledger_;  // null when the ledger is borrowed
  MockMedicalLedger& ledger_;
  const std::unique_ptr<MockMobilityRecords> mobility_;
  std::atomic<uint64_t> replies_{0};
  const MockCertificateSigner* signer_ = nullptr;
  FaultInjector faults_;
};

struct HttpBackendOptions {
  // "host:port" to listen on; port 0 picks a free one.
  std::string listen = "127.0.0.1:0";
  // PEM files: the CA that clients' certificates must chain to, and this server's certificate and key.
  std::string ca_cert_file;
  std::string cert_file;
  std::string key_file;
  // Worker threads. cpp-httplib keeps one busy per open connection, so this bounds the connections
  // served at once; keep it above the clients' connection limits. Held replies (fault injection)
  // may use all but HttpMockCityBackend::kWorkersKeptFree of them.
  int threads = 64;
  // An idle kept-alive connection is closed after this long.
  absl::Duration keep_alive_timeout = absl::Seconds(30);
  // Signs certificates (L9401) if set; must outlive the backend.
  const MockCertificateSigner* certificate_signer = nullptr;
  // Faults in force from the start (validated by Start: INVALID_ARGUMENT naming the field).
  FaultSettings faults;
  // The longest an injected hang holds a reply whose caller keeps its connection open; then the call
  // is answered HTTP 504.
  absl::Duration max_hang = absl::Seconds(60);
};

class HttpMockCityBackend {
 public:
  // Workers that held replies never take (for the admin endpoint and health).
  static constexpr int kWorkersKeptFree = 4;

  // Binds and starts serving on a thread of its own. INVALID_ARGUMENT if the TLS files cannot be
  // used (naming them) or options.faults are not valid ("faults: <field>: ..."), UNAVAILABLE if the
  // address cannot be bound.
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

  // Fault injection: every answer waits this long first (until Stop()), before the faults of
  // faults() are decided, health checks included.
  void SetDelay(absl::Duration delay);
  // The platform's fault injection (see the top of this file).
  FaultInjector& faults() { return platform_.faults(); }
  // Replies being held now by fault injection (delayed or hung).
  int held_replies() const { return held_.load(); }
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
  // Answers one POST of the national interface, carrying out the fault decision.
  void AnswerCall(const httplib::Request& request, httplib::Response& response);
  // Takes one of the max_held_ slots for a held reply: false if all are taken.
  bool TryHold();
  // Holds the calling worker until `until`, the caller closes the connection of `request`, or Stop():
  // true if `until` came. Frees the slot TryHold took.
  bool HoldReply(const httplib::Request& request, absl::Time until);

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
  int max_held_ = 0;  // threads - kWorkersKeptFree
  absl::Duration max_hang_ = absl::Seconds(60);
  std::atomic<int> held_{0};  // replies held now
};

// mock-city --transport=http: serves the city of `dialect` (settlement from `ledger`) on `options.listen`
// until one of `stop_signals` (blocked by the caller) arrives, after writing the bound port to `port_file`
// (if not empty, via a temporary file and rename). Returns the process exit code.
int ServeHttpUntilSignal(std::shared_ptr<const adapters::Dialect> dialect, const Population& population,
                         MockMedicalLedger& ledger, const HttpBackendOptions& options,
                         const std::string& port_file, const sigset_t& stop_signals);

}  // namespace interop::mock_city

#endif  // INTEROP_TOOLS_MOCK_CITY_HTTP_BACKEND_H_
