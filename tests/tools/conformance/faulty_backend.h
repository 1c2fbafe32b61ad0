// FaultyBackendServer: a city backend (interop.citybackend.v1.CityBackendService) that stands in
// front of a real one (a mock-city process) and passes every call through, except that it breaks one
// rule of household migration, pension transfer or certificates on purpose, so that tests can prove
// that city-conformance (tools/conformance/) notices the breach and names it while the checks of what
// it passes through unchanged still pass.
//
//   kRepeatedKeyAppliedAgain  every migration and pension-transfer write reaches the backend with a
//                             request_key of its own: a repeated key is applied again (a new effect,
//                             replayed=false, or the refusal the new request earns), and a key reused
//                             with another request is applied as a new one instead of ALREADY_EXISTS.
//                             Fails migration-permit, -move-out, -settle-in and pension-apply,
//                             -prepare, -complete-out, -confirm-in.
//   kOkWhereNotFound          RecordMoveOut and PreparePensionTransferOut answer OK where the backend
//                             answers NOT_FOUND: a move-out from the city's first district today, a
//                             sheet without months. Fails migration-refusals and pension-refusals.
//   kBadSignatures            SignCertificate answers a signature where the backend refuses to sign
//                             (a payload naming another issuer or key), and spoils every signature
//                             the backend makes (its last byte changed). Fails certificate-refusals
//                             and certificate-signature.
//
// It serves like a mock city: mutual TLS on 127.0.0.1, port 0, with the development PKI
// (certs/make-dev-certs.sh), presenting city-<city>.pem and requiring a client certificate from
// ca.pem; it calls the backend as the gateway would, with gateway.pem, over mutual TLS
// ("localhost"). Health: grpc.health.v1 SERVING.
//
// Thread-safe.
#ifndef INTEROP_TESTS_TOOLS_CONFORMANCE_FAULTY_BACKEND_H_
#define INTEROP_TESTS_TOOLS_CONFORMANCE_FAULTY_BACKEND_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "adapters/dialect/dialect.h"
#include "grpcpp/server.h"

namespace interop::testing {

// kSettleInIgnoresName: a SettleIn that repeats a request_key is passed on with the name of the
// key's first request, as a backend that leaves the name out of its key-reuse check would judge it.
enum class Breach { kRepeatedKeyAppliedAgain, kOkWhereNotFound, kBadSignatures, kSettleInIgnoresName };

class FaultyBackendServer {
 public:
  // Starts serving in front of the backend at 127.0.0.1:`backend_port`, which speaks `dialect` (its
  // city's). INVALID_ARGUMENT or NOT_FOUND naming the file if the certificates in `certs_dir` cannot
  // be read; UNAVAILABLE if no port can be bound.
  static absl::StatusOr<std::unique_ptr<FaultyBackendServer>> Start(
      const std::string& certs_dir, std::shared_ptr<const adapters::Dialect> dialect, int backend_port,
      Breach breach);
  // Shuts the server down.
  ~FaultyBackendServer();

  int port() const { return port_; }

 private:
  class Service;
  FaultyBackendServer() = default;

  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace interop::testing

#endif  // INTEROP_TESTS_TOOLS_CONFORMANCE_FAULTY_BACKEND_H_
