// Checking a signed certificate against a signed trust list, offline: no network, no gRPC. Used by
// the gateway's VerifyCertificate and by the `certificate-verify` command, so both give the same
// verdict for the same inputs.
//
//   absl::StatusOr<VerifiedTrustList> trust = VerifiedTrustList::Open(signed_list, *gateway_key);
//   if (!trust.ok()) ... the verdict is TRUST_LIST_INVALID, the status says why ...
//   Verdict verdict = trust->Check(certificate, absl::Now());
//   if (verdict.result == VERIFICATION_RESULT_VALID) ...
//
// Check, in this order (the first failure is the verdict):
//   1. the certificate's key_id is in the trust list                 else UNKNOWN_ISSUER
//   2. the key is not revoked (at any time: a revoked key's signatures
//      are not trusted, since the issue time is the signer's claim)   else REVOKED_KEY
//   3. the certificate's algorithm is the key's, and the signature is
//      valid over the carried payload bytes (never re-serialized)     else TAMPERED
//   4. the signed bytes parse as a CertificatePayload with an id, a
//      kind, claims of that kind and times                            else MALFORMED
//   5. the payload's issuer city and key_id are the signing key's     else ISSUER_MISMATCH
//   6. the payload's issue time is inside the key's validity period   else KEY_NOT_VALID
//   7. issued_at <= at                                                else NOT_YET_VALID
//   8. at < expires_at                                                else EXPIRED
//
// Thread-safe: VerifiedTrustList is immutable.
#ifndef INTEROP_GATEWAY_CERTIFICATES_CERTIFICATE_VERIFIER_H_
#define INTEROP_GATEWAY_CERTIFICATES_CERTIFICATE_VERIFIER_H_

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/signing/signing.h"
#include "interop/certificates/v1/certificates.pb.h"
#include "interop/config/v1/gateway_config.pb.h"

namespace interop::certificates {

using certificates::v1::CertificatePayload;
using certificates::v1::SignedCertificate;
using certificates::v1::VerificationResult;

// The outcome of checking one certificate.
struct Verdict {
  VerificationResult result = certificates::v1::VERIFICATION_RESULT_UNSPECIFIED;
  // For people: what failed, naming the key, the field or the times.
  std::string reason;
  // The parsed payload, only when its signature is good (VALID, ISSUER_MISMATCH, KEY_NOT_VALID,
  // NOT_YET_VALID, EXPIRED).
  std::optional<CertificatePayload> payload;
  // The version of the trust list checked against (0 if the list itself was invalid).
  uint64_t trust_list_version = 0;
  absl::Time checked_at;

  bool valid() const { return result == certificates::v1::VERIFICATION_RESULT_VALID; }
};

// "VALID", "TAMPERED", ...: the result's name without the enum prefix.
std::string ResultName(VerificationResult result);

// A trust list whose signature has been checked against the gateway's key.
class VerifiedTrustList {
 public:
  // An empty list, version 0, which trusts nothing; use Open().
  VerifiedTrustList() : list_(std::make_shared<certificates::v1::TrustList>()) {}
  // Checks `signed_list`'s signature over its carried bytes with `gateway_key`, then parses it.
  // INVALID_ARGUMENT saying why (the algorithm is not the gateway key's, the signature does not
  // match: altered or signed by another key, the bytes do not parse, a key entry is unusable).
  static absl::StatusOr<VerifiedTrustList> Open(const certificates::v1::SignedTrustList& signed_list,
                                                const signing::PublicKey& gateway_key);

  const certificates::v1::TrustList& list() const { return *list_; }
  uint64_t version() const { return list_->version(); }

  // The verdict on `certificate` at time `at` (see the top of this file).
  Verdict Check(const SignedCertificate& certificate, absl::Time at) const;

  // The entry for `key_id`, or null.
  const certificates::v1::TrustedKey* FindKey(absl::string_view key_id) const;

  // The key `city` should sign with at `at`: of its entries that are not revoked and whose validity
  // includes `at`, the one that became valid last (ties: the later in the list). Null if none.
  const certificates::v1::TrustedKey* CurrentKey(common::v1::City city, absl::Time at) const;

 private:
  struct Entry {
    const certificates::v1::TrustedKey* key = nullptr;  // into *list_
    std::shared_ptr<const signing::PublicKey> public_key;
  };
  std::shared_ptr<const certificates::v1::TrustList> list_;
  std::map<std::string, Entry, std::less<>> entries_;
};

// What the gateway serves: its signed trust list, the same list verified (for VerifyCertificate and
// for choosing each city's current key), and the gateway's public key. Immutable; shared.
struct PublishedTrustList {
  certificates::v1::SignedTrustList signed_list;
  VerifiedTrustList verified;
};

// Builds the trust list from `config` at `now` (BuildTrustList), signs it with the gateway's key
// (trust_list_signing_key_file) and checks the result against trust_list_signing_cert_file, so that
// a key and certificate that do not match fail here, at start-up, rather than in every verifier.
// INVALID_ARGUMENT naming the field at fault.
absl::StatusOr<std::shared_ptr<const PublishedTrustList>> PublishTrustList(
    const config::v1::CertificatesConfig& config, absl::Time now);

// Opens `signed_list` and checks `certificate` in one go; an unusable trust list is the verdict
// TRUST_LIST_INVALID with the reason.
Verdict VerifyCertificate(const certificates::v1::SignedTrustList& signed_list, const signing::PublicKey& gateway_key,
                          const SignedCertificate& certificate, absl::Time at);

}  // namespace interop::certificates

#endif  // INTEROP_GATEWAY_CERTIFICATES_CERTIFICATE_VERIFIER_H_
