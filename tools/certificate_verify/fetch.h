// certificate-verify --fetch: saves the gateway's signed trust list, and optionally a certificate
// the gateway issues, to files for offline verification. The only part of the tool that uses the
// network (gRPC over mutual TLS).
#ifndef INTEROP_TOOLS_CERTIFICATE_VERIFY_FETCH_H_
#define INTEROP_TOOLS_CERTIFICATE_VERIFY_FETCH_H_

#include <string>

namespace interop::certificate_verify {

struct FetchOptions {
  std::string gateway;  // HOST:PORT
  std::string ca_file, cert_file, key_file;
  std::string tls_server_name;  // "" for the host of `gateway`
  std::string trust_list_file;  // required
  std::string issue;            // "", "contribution", "insurance-status" or "residence"
  std::string resident_id, purpose, on_behalf_of;
  int valid_days = 0;
  std::string certificate_file;  // required with `issue`
};

// Runs the fetch; prints errors to stderr. Returns the exit status: 0 saved, 1 the gateway refused
// or could not be reached, 2 usage.
int Fetch(const FetchOptions& options);

}  // namespace interop::certificate_verify

#endif  // INTEROP_TOOLS_CERTIFICATE_VERIFY_FETCH_H_
