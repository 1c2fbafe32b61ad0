// Signing keys for certificates and trust lists, through OpenSSL 3 EVP: ECDSA over P-256 with
// SHA-256 (the default), or SM2 with SM3 (GB/T 32918, GB/T 32905) as Chinese government systems
// call for. The algorithm follows from the key: an EC key on prime256v1 signs ECDSA-P256-SHA256, a
// key on the SM2 curve signs SM2-SM3 with the GM/T 0009 default distinguishing identifier
// "1234567812345678". Signatures are DER-encoded (r, s) in both cases.
//
//   absl::StatusOr<std::unique_ptr<SigningKey>> key = SigningKey::FromPemFile("city-taiyuan-signing.key");
//   absl::StatusOr<std::string> signature = (*key)->Sign(bytes);
//   bool good = (*key)->public_key().Verify(bytes, *signature);
//
// Not the access log's checkpoint signer (gateway/accesslog/signing.h), which stays P-256 only so
// that every checkpoint of a log has one documented format.
//
// Thread-safe: keys are immutable; each call uses its own EVP contexts and leaves OpenSSL's
// thread-local error queue empty on return.
#ifndef INTEROP_GATEWAY_SIGNING_SIGNING_H_
#define INTEROP_GATEWAY_SIGNING_SIGNING_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "interop/common/v1/common.pb.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace interop::signing {

enum class Algorithm {
  kEcdsaP256Sha256,
  kSm2Sm3,
};

// "ecdsa-p256-sha256" or "sm2-sm3": the names the city backend contract uses.
absl::string_view AlgorithmName(Algorithm algorithm);
// The algorithm named so (AlgorithmName), or nullopt.
std::optional<Algorithm> AlgorithmForName(absl::string_view name);

// The distinguishing identifier every SM2 signature here uses (GM/T 0009-2012's default).
inline constexpr char kSm2DistinguishingId[] = "1234567812345678";

// True if this OpenSSL can make and check SM2-SM3 signatures (OpenSSL 3.0 on Debian 12 can).
bool Sm2Available();

// A public key that checks signatures.
class PublicKey {
 public:
  // The first "PUBLIC KEY" or "CERTIFICATE" in PEM text; `source` names it in errors.
  // INVALID_ARGUMENT naming `source` if there is neither, or the key is neither EC P-256 nor SM2.
  static absl::StatusOr<std::unique_ptr<PublicKey>> FromPem(absl::string_view pem, absl::string_view source);
  // The same, reading `path`. INVALID_ARGUMENT naming the path if it cannot be read.
  static absl::StatusOr<std::unique_ptr<PublicKey>> FromPemFile(const std::string& path);
  // A DER SubjectPublicKeyInfo. INVALID_ARGUMENT if it does not parse or is of another kind.
  static absl::StatusOr<std::unique_ptr<PublicKey>> FromDer(absl::string_view der);
  ~PublicKey();
  PublicKey(const PublicKey&) = delete;
  PublicKey& operator=(const PublicKey&) = delete;

  Algorithm algorithm() const { return algorithm_; }
  // DER SubjectPublicKeyInfo (RFC 5280).
  const std::string& der() const { return der_; }

  // True iff `signature` is this key's valid signature of `message` under algorithm().
  bool Verify(absl::string_view message, absl::string_view signature) const;

 private:
  friend class SigningKey;
  // Takes ownership of `key` (freed on failure too).
  static absl::StatusOr<std::unique_ptr<PublicKey>> Adopt(EVP_PKEY* key, absl::string_view source);
  PublicKey(EVP_PKEY* key, Algorithm algorithm, std::string der)
      : key_(key), algorithm_(algorithm), der_(std::move(der)) {}
  EVP_PKEY* key_;  // owned
  Algorithm algorithm_;
  std::string der_;
};

// A private signing key.
class SigningKey {
 public:
  // An unencrypted PEM private key ("PRIVATE KEY" or "EC PRIVATE KEY"), EC P-256 or SM2. Never
  // prompts for a passphrase. INVALID_ARGUMENT naming `source` otherwise.
  static absl::StatusOr<std::unique_ptr<SigningKey>> FromPem(absl::string_view pem, absl::string_view source);
  // The same, reading `path`.
  static absl::StatusOr<std::unique_ptr<SigningKey>> FromPemFile(const std::string& path);
  ~SigningKey();
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

  Algorithm algorithm() const { return public_key_->algorithm(); }
  const PublicKey& public_key() const { return *public_key_; }

  // The DER signature of `message`. INTERNAL with OpenSSL's reason on failure.
  absl::StatusOr<std::string> Sign(absl::string_view message) const;

 private:
  SigningKey(EVP_PKEY* key, std::unique_ptr<PublicKey> public_key)
      : key_(key), public_key_(std::move(public_key)) {}
  EVP_PKEY* key_;  // owned
  std::unique_ptr<PublicKey> public_key_;
};

// Lower-case hex of SHA-256 over `bytes`.
std::string Sha256Hex(absl::string_view bytes);

// The default id of a city's signing key: "<city>-" (CityName) and the first 16 hex digits of
// SHA-256 over the key's DER SubjectPublicKeyInfo, e.g. "taiyuan-3f2a9c0d41be77e2".
std::string DeriveKeyId(common::v1::City city, const PublicKey& key);

}  // namespace interop::signing

#endif  // INTEROP_GATEWAY_SIGNING_SIGNING_H_
