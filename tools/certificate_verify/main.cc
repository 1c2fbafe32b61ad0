// certificate-verify: checks a signed certificate against a saved trust list, offline, with the
// same library (gateway/certificates/certificate_verifier.h) that the gateway's VerifyCertificate
// uses, so both give the same verdict.
//
//   certificate-verify --trust_list=trust-list.pb --gateway_cert=gateway.pem --certificate=cert.pb
//                      [--at=2026-07-01T00:00:00+08:00]
//
// Checks the trust list's signature against --gateway_cert (a PEM certificate or public key of the
// gateway's trust-list key), then the certificate at --at (default: now). Prints
//   verdict: VALID | TRUST_LIST_INVALID | UNKNOWN_ISSUER | REVOKED_KEY | KEY_NOT_VALID | TAMPERED |
//            MALFORMED | ISSUER_MISMATCH | EXPIRED | NOT_YET_VALID
//   reason: <for people>
//   trust_list_version: <n>
// and, when the signature is good, the certificate's payload in text format. Exit status: 0 valid,
// 1 not valid (any other verdict; a certificate or trust list file that does not parse is
// MALFORMED or TRUST_LIST_INVALID), 2 usage (a missing flag, an unreadable file, a bad --at or
// gateway certificate).
//
// Files are binary protobuf (interop.certificates.v1.SignedCertificate / SignedTrustList), or
// protobuf text format when the name ends in ".textproto", ".txtpb" or ".pbtxt".
//
// Saving them from a gateway (the only mode that uses the network):
//   certificate-verify --fetch --gateway=HOST:PORT --ca=ca.pem --cert=caller.pem --key=caller.key
//       [--tls_server_name=NAME] --trust_list=FILE
//       [--issue=contribution|insurance-status|residence --resident_id=ID --purpose=PURPOSE
//        [--on_behalf_of=ID] [--valid_days=N] --certificate=FILE]
// saves the gateway's signed trust list (GetTrustList) to --trust_list and, with --issue, has the
// gateway issue a certificate of that kind and saves it to --certificate. PURPOSE is a
// interop.common.v1.Purpose name (PURPOSE_CITIZEN_SELF_SERVICE, ...). Exit 0 on success, 1 if the
// gateway refused (the status is printed), 2 usage.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gateway/certificates/certificate_verifier.h"
#include "gateway/signing/signing.h"
#include "google/protobuf/text_format.h"
#include "tools/certificate_verify/fetch.h"
#include "tools/certificate_verify/proto_files.h"

ABSL_FLAG(std::string, trust_list, "", "The saved signed trust list (written with --fetch).");
ABSL_FLAG(std::string, gateway_cert, "", "PEM certificate or public key of the gateway's trust-list signing key.");
ABSL_FLAG(std::string, certificate, "", "The signed certificate to check (or, with --fetch --issue, to write).");
ABSL_FLAG(std::string, at, "", "Check validity at this RFC 3339 time instead of now.");
ABSL_FLAG(bool, fetch, false, "Save the trust list (and with --issue a certificate) from a gateway instead.");
ABSL_FLAG(std::string, gateway, "", "--fetch: the gateway's address, HOST:PORT.");
ABSL_FLAG(std::string, ca, "", "--fetch: the CA certificate the gateway's certificate chains to.");
ABSL_FLAG(std::string, cert, "", "--fetch: this caller's client certificate.");
ABSL_FLAG(std::string, key, "", "--fetch: this caller's private key.");
ABSL_FLAG(std::string, tls_server_name, "", "--fetch: the name expected in the gateway's certificate.");
ABSL_FLAG(std::string, issue, "", "--fetch: issue a certificate: contribution, insurance-status or residence.");
ABSL_FLAG(std::string, resident_id, "", "--fetch --issue: the person.");
ABSL_FLAG(std::string, purpose, "", "--fetch --issue: the purpose, an interop.common.v1.Purpose name.");
ABSL_FLAG(std::string, on_behalf_of, "", "--fetch --issue: for the citizen portal, the signed-in citizen.");
ABSL_FLAG(int32_t, valid_days, 0, "--fetch --issue: days the certificate is valid; 0 for the gateway's default.");

namespace {

namespace pb = ::interop::certificates::v1;
using ::interop::certificate_verify::ReadProtoFile;

int Usage(const std::string& message) {
  std::fprintf(stderr, "certificate-verify: %s\n", message.c_str());
  return 2;
}

int Print(const interop::certificates::Verdict& verdict) {
  std::printf("verdict: %s\nreason: %s\ntrust_list_version: %llu\n",
              interop::certificates::ResultName(verdict.result).c_str(), verdict.reason.c_str(),
              static_cast<unsigned long long>(verdict.trust_list_version));
  if (verdict.payload.has_value()) {
    std::string text;
    google::protobuf::TextFormat::PrintToString(*verdict.payload, &text);
    std::printf("payload {\n%s}\n", text.c_str());
  }
  return verdict.valid() ? 0 : 1;
}

int Verify() {
  const std::string trust_path = absl::GetFlag(FLAGS_trust_list);
  const std::string cert_path = absl::GetFlag(FLAGS_gateway_cert);
  const std::string certificate_path = absl::GetFlag(FLAGS_certificate);
  if (trust_path.empty() || cert_path.empty() || certificate_path.empty()) {
    return Usage("--trust_list, --gateway_cert and --certificate are required (see --help)");
  }
  absl::Time at = absl::Now();
  if (!absl::GetFlag(FLAGS_at).empty()) {
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, absl::GetFlag(FLAGS_at), &at, &error)) {
      return Usage(absl::StrCat("--at: \"", absl::GetFlag(FLAGS_at), "\" is not an RFC 3339 time (", error, ")"));
    }
  }
  absl::StatusOr<std::unique_ptr<interop::signing::PublicKey>> gateway_key =
      interop::signing::PublicKey::FromPemFile(cert_path);
  if (!gateway_key.ok()) return Usage(absl::StrCat("--gateway_cert: ", gateway_key.status().message()));

  interop::certificates::Verdict verdict;
  verdict.checked_at = at;
  pb::SignedTrustList trust_list;
  absl::Status read = ReadProtoFile(trust_path, &trust_list);
  if (absl::IsNotFound(read)) return Usage(absl::StrCat("--trust_list: ", read.message()));
  if (!read.ok()) {
    verdict.result = pb::VERIFICATION_RESULT_TRUST_LIST_INVALID;
    verdict.reason = std::string(read.message());
    return Print(verdict);
  }
  pb::SignedCertificate certificate;
  read = ReadProtoFile(certificate_path, &certificate);
  if (absl::IsNotFound(read)) return Usage(absl::StrCat("--certificate: ", read.message()));
  if (!read.ok()) {
    verdict.result = pb::VERIFICATION_RESULT_MALFORMED;
    verdict.reason = std::string(read.message());
    return Print(verdict);
  }
  return Print(interop::certificates::VerifyCertificate(trust_list, **gateway_key, certificate, at));
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Checks a signed certificate against a saved trust list, offline:\n"
      "  certificate-verify --trust_list=FILE --gateway_cert=FILE --certificate=FILE [--at=RFC3339]\n"
      "or saves them from a gateway:\n"
      "  certificate-verify --fetch --gateway=HOST:PORT --ca=F --cert=F --key=F --trust_list=FILE\n"
      "      [--issue=KIND --resident_id=ID --purpose=PURPOSE --certificate=FILE]\n"
      "Exit: 0 valid, 1 not valid, 2 usage.");
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) return Usage(absl::StrCat("unexpected argument \"", rest[1], "\""));
  if (absl::GetFlag(FLAGS_fetch)) {
    interop::certificate_verify::FetchOptions options;
    options.gateway = absl::GetFlag(FLAGS_gateway);
    options.ca_file = absl::GetFlag(FLAGS_ca);
    options.cert_file = absl::GetFlag(FLAGS_cert);
    options.key_file = absl::GetFlag(FLAGS_key);
    options.tls_server_name = absl::GetFlag(FLAGS_tls_server_name);
    options.trust_list_file = absl::GetFlag(FLAGS_trust_list);
    options.issue = absl::GetFlag(FLAGS_issue);
    options.resident_id = absl::GetFlag(FLAGS_resident_id);
    options.purpose = absl::GetFlag(FLAGS_purpose);
    options.on_behalf_of = absl::GetFlag(FLAGS_on_behalf_of);
    options.valid_days = absl::GetFlag(FLAGS_valid_days);
    options.certificate_file = absl::GetFlag(FLAGS_certificate);
    return interop::certificate_verify::Fetch(options);
  }
  return Verify();
}
