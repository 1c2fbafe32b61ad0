// ContractProbe: the conformance kit's view of a city backend BELOW the adapter, for the few things
// the adapter hides or refuses to send.
//
// The conformance checks (conformance_checks.h) run through the city's real adapter, so that the
// dialect translation the gateway will use is exercised. Three things cannot be seen that way:
//  - how the backend answers a malformed identity number: the gateway validates every number before
//    it reaches an adapter, so the probe sends it raw;
//  - the order in which the backend sends contribution months: the adapter sorts them;
//  - whether the backend honours the months asked for: the national-interface adapter drops months
//    outside them.
// The probe speaks the transport directly: the contract stub (interop.citybackend.v1) for
// TRANSPORT_GRPC, an HTTP POST in the national interface's envelope for
// TRANSPORT_HTTP_NATIONAL_INTERFACE (adapters/lvliang/NATIONAL_INTERFACE.md), over the same mutual
// TLS as the adapter.
//
// Example:
//   absl::StatusOr<std::unique_ptr<ContractProbe>> probe = NewContractProbe(config, dialect);
//   absl::Status status = (*probe)->CallRaw(ContractMethod::kLocatePerson, "12345", deadline);
//   // status.code() should be INVALID_ARGUMENT
//
// Thread-safe: calls may be made from any thread; each blocks the calling thread until the backend
// answers or the deadline passes.
#ifndef INTEROP_TOOLS_CONFORMANCE_CONTRACT_PROBE_H_
#define INTEROP_TOOLS_CONFORMANCE_CONTRACT_PROBE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "adapters/dialect/dialect.h"
#include "interop/config/v1/gateway_config.pb.h"

namespace interop::conformance {

// The four calls of the city backend contract (on HTTP: transactions L9101, 1101, L9201, L9301).
enum class ContractMethod {
  kLocatePerson,
  kGetMedicalEnrollment,
  kGetContributions,
  kGetHouseholdRegistration
};

// "LocatePerson", "GetMedicalEnrollment", ... (the contract's method names, used on both transports).
absl::string_view ContractMethodName(ContractMethod method);

// One month of a contributions answer as the backend sent it, untranslated.
struct WireMonth {
  std::string kind_code;   // the city's local code
  std::string year_month;  // in the month form of the city's date format
};

class ContractProbe {
 public:
  virtual ~ContractProbe() = default;

  // Calls `method` with `backend_id` sent exactly as given (no validation, no legacy conversion),
  // and GetContributions without year bounds. Returns the backend's verdict as a status: OK, or the
  // code it answered with. Over HTTP the reply's error code maps as E1002 -> INVALID_ARGUMENT,
  // E1001 -> NOT_FOUND, E9001 and HTTP 5xx -> UNAVAILABLE, anything else -> INTERNAL quoting
  // err_msg. A transport failure is UNAVAILABLE or DEADLINE_EXCEEDED.
  virtual absl::Status CallRaw(ContractMethod method, const std::string& backend_id, absl::Time deadline) = 0;

  // The months of the backend's answer to GetContributions for the valid 18-character
  // `resident_id` (sent in the form the dialect keys the person by) limited to the years
  // [from_year, to_year] (0 unbounded), in the order the backend sent them. Errors as CallRaw, plus
  // INTERNAL if an HTTP reply's output cannot be read.
  virtual absl::StatusOr<std::vector<WireMonth>> ContributionsOnTheWire(const std::string& resident_id,
                                                                        int from_year, int to_year,
                                                                        absl::Time deadline) = 0;

  // True if the transport's contract fixes the order of contribution months (gRPC: ascending by
  // year_month, then kind_code); false where any order is allowed (the national interface).
  virtual bool months_must_be_ordered() const = 0;

  // "grpc" or "http", for messages.
  virtual absl::string_view transport_name() const = 0;
};

// A probe of the backend `config` describes, over its transport, with its TLS files, server name
// and address. Errors: INVALID_ARGUMENT or NOT_FOUND naming the field for unusable TLS files or a
// malformed address.
absl::StatusOr<std::unique_ptr<ContractProbe>> NewContractProbe(
    const config::v1::CityBackendConfig& config, std::shared_ptr<const adapters::Dialect> dialect);

}  // namespace interop::conformance

#endif  // INTEROP_TOOLS_CONFORMANCE_CONTRACT_PROBE_H_
