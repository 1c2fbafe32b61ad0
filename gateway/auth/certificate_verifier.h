// Verifies the client certificate of each call and says who the caller is.
//
// The gateway's TLS listener asks for a client certificate but does not verify it
// (GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY): the handshake still proves that the client
// holds the certificate's private key, and this class then checks the certificate itself on every
// call, so that each refusal becomes a gRPC error with a reason, and an access-log record, instead of
// a handshake failure nobody sees. The certificate comes from the call's AuthContext property
// "x509_pem_cert" (GRPC_X509_PEM_CERT_PROPERTY_NAME):
//
//   CertificateVerifier::Options options;
//   options.ca_bundle_file = "certs/dev/ca.pem";
//   options.crl_file = "certs/dev/crl.pem";
//   absl::StatusOr<std::unique_ptr<CertificateVerifier>> verifier =
//       CertificateVerifier::Create(options, Clock::Real());
//   ...                                       // and every second, on a background thread:
//   (*verifier)->ReloadCrlIfChanged();
//   ...                                       // on every call:
//   absl::StatusOr<CallerIdentity> caller = (*verifier)->Verify(peer_pem);
//   if (!caller.ok()) {
//     // UNAUTHENTICATED; AuthFailureReason(caller.status()) is e.g. "CERTIFICATE_REVOKED".
//   }
//
// What is checked, at the time the injected Clock gives:
//   - the certificate chains to a CA of the bundle (intermediates must be in the bundle too; the CA
//     certificates themselves must be within their validity);
//   - the certificate is within its validity (notBefore <= now < notAfter);
//   - it may be used by a TLS client (OpenSSL's purpose "sslclient": extended key usage clientAuth if
//     the extension is present, key usage digitalSignature if that one is);
//   - when a CRL file is configured: it is not revoked, and the CRL of its issuer is there and
//     current (notBefore <= now < nextUpdate); a missing or stale CRL refuses every caller (fail
//     closed), with reason CERTIFICATE_REVOCATION_UNKNOWN;
//   - it carries exactly one subject-alternative-name URI, which ParseCallerUri accepts.
//
// Results are cached by the SHA-256 of the certificate's DER encoding, successes and failures alike.
// A cached result is used only while the clock stays inside the interval in which nothing it depends
// on can change: between the nearest validity boundaries (notBefore, notAfter, CRL lastUpdate and
// nextUpdate) of the certificate, the CA certificates and the CRLs around the time it was computed.
// So a cached identity turns into CERTIFICATE_EXPIRED at its notAfter, a cached "not yet valid" into
// an identity at its notBefore, exactly as an uncached verification would. Loading a CRL empties the
// cache. The cache holds at most Options::cache_capacity entries; when it is full an arbitrary entry
// makes room for the new one.
//
// Thread-safety: every method may be called from any thread at any time. Verify never waits for a
// CRL reload: it works on an immutable snapshot (CA store + CRLs) that a reload replaces by swapping
// a shared_ptr under a mutex; the file I/O and parsing of a reload happen outside that mutex.
// Reloads are serialised among themselves.
#ifndef INTEROP_GATEWAY_AUTH_CERTIFICATE_VERIFIER_H_
#define INTEROP_GATEWAY_AUTH_CERTIFICATE_VERIFIER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "gateway/auth/caller_identity.h"
#include "gateway/base/clock.h"

namespace interop::auth {

// Every refusal of Verify is UNAUTHENTICATED with a message for people, e.g. "client certificate
// expired on 2025-10-01T00:00:00Z", and one of these reasons for programs, carried as the status
// payload kAuthFailureReasonTypeUrl (the payload is the reason's text). The reasons are stable: the
// access log records them and callers may act on them.
//
// The payload's type URL is not a google.rpc type, so it does not leave the process by itself: the
// authentication interceptor turns it into a google.rpc.ErrorInfo.
inline constexpr absl::string_view kAuthFailureReasonTypeUrl = "type.interop/reason";

// The call presented no client certificate (`peer_pem` empty).
inline constexpr absl::string_view kCertificateMissing = "CERTIFICATE_MISSING";
// The certificate does not chain to a CA of the bundle (another CA, a self-signed certificate, a bad
// signature, an expired or unusable CA certificate), or it cannot be parsed.
inline constexpr absl::string_view kCertificateUntrusted = "CERTIFICATE_UNTRUSTED";
// The certificate's notAfter is at or before now.
inline constexpr absl::string_view kCertificateExpired = "CERTIFICATE_EXPIRED";
// The certificate's notBefore is after now.
inline constexpr absl::string_view kCertificateNotYetValid = "CERTIFICATE_NOT_YET_VALID";
// The CRL of the certificate's issuer lists it.
inline constexpr absl::string_view kCertificateRevoked = "CERTIFICATE_REVOKED";
// The certificate may not be used by a TLS client (no clientAuth extended key usage, or a key usage
// without digitalSignature): e.g. a server certificate.
inline constexpr absl::string_view kCertificateNotForClients = "CERTIFICATE_NOT_FOR_CLIENTS";
// The certificate is valid but names no caller: no subject-alternative-name URI, several, or one
// that ParseCallerUri rejects (unknown city or role, ...).
inline constexpr absl::string_view kCertificateIdentityMissing = "CERTIFICATE_IDENTITY_MISSING";
// Revocation is checked but cannot be decided: the gateway holds no current CRL of the certificate's
// issuer (none, expired, or not yet valid). The gateway's problem, not the caller's: it refuses
// until an operator installs a current CRL.
inline constexpr absl::string_view kCertificateRevocationUnknown = "CERTIFICATE_REVOCATION_UNKNOWN";

// The reason (one of the constants above) carried by `status`; "" if it carries none (OK included).
std::string AuthFailureReason(const absl::Status& status);

class CertificateVerifier {
 public:
  struct Options {
    // PEM file with the trusted CA certificates (one or more; each must be a CA certificate).
    std::string ca_bundle_file;
    // PEM file with one CRL per CA of the bundle that issues client certificates, each signed by
    // that CA. Empty: revocation is not checked.
    std::string crl_file;
    // Most results kept in the cache; 0 turns the cache off.
    size_t cache_capacity = 10000;
  };

  struct CacheStats {
    uint64_t hits = 0;    // Verify calls answered from the cache
    uint64_t misses = 0;  // Verify calls that ran a full verification
    size_t entries = 0;   // results held now
  };

  // Reads the CA bundle and, if configured, the CRL file. Errors: NOT_FOUND if a file cannot be read,
  // INVALID_ARGUMENT if it holds no usable PEM (no certificate / no CRL, a certificate that is not a
  // CA, a CRL not signed by a CA of the bundle); each message names the file. A CRL that is well
  // formed but already expired is accepted, with a LogWarning: the callers of its CA are refused
  // (kCertificateRevocationUnknown) until a current one is loaded. `clock` must outlive the verifier.
  static absl::StatusOr<std::unique_ptr<CertificateVerifier>> Create(const Options& options,
                                                                     const Clock& clock);

  ~CertificateVerifier();
  CertificateVerifier(const CertificateVerifier&) = delete;
  CertificateVerifier& operator=(const CertificateVerifier&) = delete;

  // Verifies the PEM certificate `peer_pem` (the first certificate in it; what follows is ignored)
  // and returns the caller it names. Never fails with anything but UNAUTHENTICATED, whose reason
  // AuthFailureReason gives: kCertificateMissing if `peer_pem` is empty or only white space, else
  // any of the others. Thread-safe.
  absl::StatusOr<CallerIdentity> Verify(absl::string_view peer_pem) const;

  // Reads the CRL file again and, if it is valid (as Create requires), replaces the CRLs in use and
  // empties the cache. If it is not, the CRLs in use stay and the error names the file: NOT_FOUND
  // (cannot be read) or INVALID_ARGUMENT. FAILED_PRECONDITION if no CRL file is configured.
  // Thread-safe; does not block Verify.
  absl::Status ReloadCrl();

  // Cheap enough to call every second: looks at the CRL file's identity, size, mtime and ctime, and
  // only if they differ from the last time it looked (at creation, or in ReloadCrl or here) calls
  // ReloadCrl. Returns true iff a new CRL is now in use. A failed reload is logged (LogWarning), and
  // is not retried until the file changes again. False if no CRL file is configured.
  bool ReloadCrlIfChanged();

  // Counters since creation and the current cache size. Thread-safe.
  CacheStats cache_stats() const;

 private:
  struct TrustAnchors;  // the CA certificates and a SHA-256 implementation; immutable
  struct TrustState;    // a verification snapshot: X509 store with CAs and CRLs; immutable
  class ResultCache;
  struct VerifyOutcome;
  // What ReloadCrlIfChanged compares: the CRL file's stat() fields.
  struct FileStamp {
    int64_t device = 0, inode = 0, size = 0;
    int64_t mtime_ns = 0, ctime_ns = 0;
    bool operator==(const FileStamp& other) const;
  };

  CertificateVerifier(const Options& options, const Clock& clock,
                      std::unique_ptr<const TrustAnchors> anchors);

  std::shared_ptr<const TrustState> Snapshot() const;
  VerifyOutcome VerifyUncached(const std::string& der, const std::string& sha256, const TrustState& state,
                               absl::Time now) const;
  absl::Status ReloadCrlLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(reload_mu_);

  const Options options_;
  const Clock& clock_;
  const std::unique_ptr<const TrustAnchors> anchors_;
  const std::unique_ptr<ResultCache> cache_;

  // Held by ReloadCrl and ReloadCrlIfChanged for the whole reload, never by Verify.
  absl::Mutex reload_mu_;
  FileStamp crl_stamp_ ABSL_GUARDED_BY(reload_mu_);
  uint64_t next_generation_ ABSL_GUARDED_BY(reload_mu_) = 1;

  // Held only to copy or swap the pointer.
  mutable absl::Mutex state_mu_;
  std::shared_ptr<const TrustState> state_ ABSL_GUARDED_BY(state_mu_);

  mutable std::atomic<uint64_t> hits_{0};
  mutable std::atomic<uint64_t> misses_{0};
};

}  // namespace interop::auth

#endif  // INTEROP_GATEWAY_AUTH_CERTIFICATE_VERIFIER_H_
