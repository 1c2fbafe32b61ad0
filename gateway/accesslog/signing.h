// ECDSA P-256 / SHA-256 signatures over checkpoint messages, through OpenSSL 3 EVP.
//
//   absl::StatusOr<std::unique_ptr<CheckpointSigner>> signer = CheckpointSigner::FromPemFile(key_path);
//   absl::StatusOr<std::string> signature = (*signer)->Sign(message);        // DER-encoded
//   absl::StatusOr<std::unique_ptr<CheckpointVerifier>> verifier =
//   CheckpointVerifier::FromPemFile(cert_path); bool good = (*verifier)->Verify(message, *signature);
//
// Only EC keys on the P-256 curve (prime256v1) are accepted, so that every checkpoint of a log has
// the same, documented signature format. Both classes are thread-safe (each call uses its own
// EVP_MD_CTX) and leave OpenSSL's thread-local error queue empty on return.
#ifndef INTEROP_GATEWAY_ACCESSLOG_SIGNING_H_
#define INTEROP_GATEWAY_ACCESSLOG_SIGNING_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace interop::accesslog {

class CheckpointVerifier;

// Holds the gateway's private signing key.
class CheckpointSigner {
 public:
  // Loads an unencrypted PEM private key ("PRIVATE KEY" or "EC PRIVATE KEY"). INVALID_ARGUMENT naming
  // `path` if the file cannot be read, holds no private key, or the key is not EC P-256. Never prompts
  // for a passphrase.
  static absl::StatusOr<std::unique_ptr<CheckpointSigner>> FromPemFile(const std::string& path);
  ~CheckpointSigner();
  CheckpointSigner(const CheckpointSigner&) = delete;
  CheckpointSigner& operator=(const CheckpointSigner&) = delete;

  // DER-encoded ECDSA signature of SHA-256(message). INTERNAL (with OpenSSL's reason) on failure.
  absl::StatusOr<std::string> Sign(absl::string_view message) const;

  // True if `verifier` holds this key's public half (among its keys).
  bool Matches(const CheckpointVerifier& verifier) const;

 private:
  explicit CheckpointSigner(EVP_PKEY* key) : key_(key) {}
  EVP_PKEY* key_;  // owned
};

// Holds the public keys that check checkpoint signatures: the gateway's current one and, after a
// key rotation, the earlier ones, so that a log whose older checkpoints were signed with an earlier
// key still verifies.
class CheckpointVerifier {
 public:
  // Loads every X.509 certificate ("CERTIFICATE") and public key ("PUBLIC KEY") in a PEM file (one,
  // or a bundle of several); other PEM blocks, and CA certificates (a chain file's intermediates and
  // root: X509_check_ca), are skipped. INVALID_ARGUMENT naming `path` if the file
  // cannot be read, holds none, or a key cannot be read or is not EC P-256.
  static absl::StatusOr<std::unique_ptr<CheckpointVerifier>> FromPemFile(const std::string& path);
  // The same for several files, every key of each. INVALID_ARGUMENT for an empty list.
  static absl::StatusOr<std::unique_ptr<CheckpointVerifier>> FromPemFiles(const std::vector<std::string>& paths);
  ~CheckpointVerifier();
  CheckpointVerifier(const CheckpointVerifier&) = delete;
  CheckpointVerifier& operator=(const CheckpointVerifier&) = delete;

  // True iff `signature` is a valid DER ECDSA signature of SHA-256(message) by one of the keys.
  bool Verify(absl::string_view message, absl::string_view signature) const;

  // How many keys it holds.
  size_t key_count() const { return keys_.size(); }

 private:
  friend class CheckpointSigner;
  CheckpointVerifier() = default;
  std::vector<EVP_PKEY*> keys_;  // owned
};

}  // namespace interop::accesslog

#endif  // INTEROP_GATEWAY_ACCESSLOG_SIGNING_H_
