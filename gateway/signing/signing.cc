#include "gateway/signing/signing.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gateway/base/cities.h"

namespace interop::signing {
namespace {

// The first queued OpenSSL error as text; empties the (thread-local) error queue.
std::string TakeOpenSslError() {
  unsigned long code = ERR_get_error();
  std::string text = "unknown OpenSSL error";
  if (code != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    text = buffer;
  }
  ERR_clear_error();
  return text;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("\"", path, "\": cannot be read"));
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

int NoPassphrase(char*, int, int, void*) { return -1; }

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

BioPtr MemoryBio(absl::string_view pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The algorithm of `key`, or INVALID_ARGUMENT naming `source`.
absl::StatusOr<Algorithm> AlgorithmOf(EVP_PKEY* key, absl::string_view source) {
  char group[64] = {0};
  size_t length = 0;
  const bool has_group = EVP_PKEY_get_group_name(key, group, sizeof(group), &length) == 1;
  ERR_clear_error();
  absl::string_view name = has_group ? absl::string_view(group) : absl::string_view();
  if (EVP_PKEY_is_a(key, "SM2") || name == "SM2") return Algorithm::kSm2Sm3;
  if (EVP_PKEY_is_a(key, "EC") && (name == "prime256v1" || name == "P-256")) return Algorithm::kEcdsaP256Sha256;
  ERR_clear_error();
  return absl::InvalidArgumentError(
      absl::StrCat(source, ": the key must be an EC P-256 key (ECDSA with SHA-256) or an SM2 key (SM2 with SM3)"));
}

absl::StatusOr<std::string> PublicDer(EVP_PKEY* key, absl::string_view source) {
  unsigned char* der = nullptr;
  int length = i2d_PUBKEY(key, &der);
  if (length <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": cannot encode the public key: ", TakeOpenSslError()));
  }
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return out;
}

const char* DigestName(Algorithm algorithm) { return algorithm == Algorithm::kSm2Sm3 ? "SM3" : "SHA256"; }

// Sets the SM2 distinguishing identifier on a freshly initialised context (OpenSSL 3.0 refuses it
// as an init parameter; it must be set before the first update, when the Z digest is computed).
// True for other algorithms.
bool SetDistinguishingId(Algorithm algorithm, EVP_PKEY_CTX* pctx) {
  if (algorithm != Algorithm::kSm2Sm3) return true;
  return pctx != nullptr && EVP_PKEY_CTX_set1_id(pctx, kSm2DistinguishingId, sizeof(kSm2DistinguishingId) - 1) == 1;
}

}  // namespace

absl::string_view AlgorithmName(Algorithm algorithm) {
  return algorithm == Algorithm::kSm2Sm3 ? "sm2-sm3" : "ecdsa-p256-sha256";
}

std::optional<Algorithm> AlgorithmForName(absl::string_view name) {
  if (name == "ecdsa-p256-sha256") return Algorithm::kEcdsaP256Sha256;
  if (name == "sm2-sm3") return Algorithm::kSm2Sm3;
  return std::nullopt;
}

bool Sm2Available() {
  static const bool available = [] {
    EVP_MD* sm3 = EVP_MD_fetch(nullptr, "SM3", nullptr);
    EVP_SIGNATURE* sm2 = EVP_SIGNATURE_fetch(nullptr, "SM2", nullptr);
    const bool ok = sm3 != nullptr && sm2 != nullptr;
    EVP_MD_free(sm3);
    EVP_SIGNATURE_free(sm2);
    ERR_clear_error();
    return ok;
  }();
  return available;
}

absl::StatusOr<std::unique_ptr<PublicKey>> PublicKey::Adopt(EVP_PKEY* raw, absl::string_view source) {
  PkeyPtr key(raw);
  absl::StatusOr<Algorithm> algorithm = AlgorithmOf(key.get(), source);
  if (!algorithm.ok()) return algorithm.status();
  absl::StatusOr<std::string> der = PublicDer(key.get(), source);
  if (!der.ok()) return der.status();
  return std::unique_ptr<PublicKey>(new PublicKey(key.release(), *algorithm, *std::move(der)));
}

absl::StatusOr<std::unique_ptr<PublicKey>> PublicKey::FromPem(absl::string_view pem, absl::string_view source) {
  BioPtr bio = MemoryBio(pem);
  PkeyPtr key;
  if (bio && absl::StrContains(pem, "-----BEGIN CERTIFICATE-----")) {
    X509* cert = PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr);
    if (cert != nullptr) {
      key.reset(X509_get_pubkey(cert));
      X509_free(cert);
    }
  } else if (bio && absl::StrContains(pem, "-----BEGIN PUBLIC KEY-----")) {
    key.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr));
  } else {
    return absl::InvalidArgumentError(absl::StrCat(source, ": holds neither a PEM CERTIFICATE nor a PEM PUBLIC KEY"));
  }
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": cannot read the public key: ", TakeOpenSslError()));
  }
  return Adopt(key.release(), source);
}

absl::StatusOr<std::unique_ptr<PublicKey>> PublicKey::FromPemFile(const std::string& path) {
  absl::StatusOr<std::string> pem = ReadFile(path);
  if (!pem.ok()) return pem.status();
  return FromPem(*pem, absl::StrCat("\"", path, "\""));
}

absl::StatusOr<std::unique_ptr<PublicKey>> PublicKey::FromDer(absl::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  PkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (key == nullptr || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    ERR_clear_error();
    return absl::InvalidArgumentError("public key: not a DER SubjectPublicKeyInfo");
  }
  return Adopt(key.release(), "public key");
}

PublicKey::~PublicKey() { EVP_PKEY_free(key_); }

bool PublicKey::Verify(absl::string_view message, absl::string_view signature) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  bool good = ctx &&
              EVP_DigestVerifyInit_ex(ctx.get(), &pctx, DigestName(algorithm_), nullptr, nullptr, key_, nullptr) == 1 &&
              SetDistinguishingId(algorithm_, pctx) &&
              EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                               reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  ERR_clear_error();
  return good;
}

absl::StatusOr<std::unique_ptr<SigningKey>> SigningKey::FromPem(absl::string_view pem, absl::string_view source) {
  BioPtr bio = MemoryBio(pem);
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": no unencrypted PEM private key: ", TakeOpenSslError()));
  }
  // The public half, through its DER encoding, so that it is an independent key object.
  absl::StatusOr<std::string> der = PublicDer(key.get(), source);
  if (!der.ok()) return der.status();
  absl::StatusOr<Algorithm> algorithm = AlgorithmOf(key.get(), source);
  if (!algorithm.ok()) return algorithm.status();
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der->data());
  PkeyPtr public_key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der->size())));
  if (public_key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": cannot read back the public key: ", TakeOpenSslError()));
  }
  std::unique_ptr<PublicKey> half(new PublicKey(public_key.release(), *algorithm, *std::move(der)));
  return std::unique_ptr<SigningKey>(new SigningKey(key.release(), std::move(half)));
}

absl::StatusOr<std::unique_ptr<SigningKey>> SigningKey::FromPemFile(const std::string& path) {
  absl::StatusOr<std::string> pem = ReadFile(path);
  if (!pem.ok()) return pem.status();
  return FromPem(*pem, absl::StrCat("\"", path, "\""));
}

SigningKey::~SigningKey() { EVP_PKEY_free(key_); }

absl::StatusOr<std::string> SigningKey::Sign(absl::string_view message) const {
  const Algorithm alg = algorithm();
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  size_t length = 0;
  if (!ctx || EVP_DigestSignInit_ex(ctx.get(), &pctx, DigestName(alg), nullptr, nullptr, key_, nullptr) != 1 ||
      !SetDistinguishingId(alg, pctx) ||
      EVP_DigestSign(ctx.get(), nullptr, &length, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1) {
    return absl::InternalError(absl::StrCat("signing with ", AlgorithmName(alg), ": ", TakeOpenSslError()));
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(&signature[0]), &length,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    return absl::InternalError(absl::StrCat("signing with ", AlgorithmName(alg), ": ", TakeOpenSslError()));
  }
  signature.resize(length);
  return signature;
}

std::string Sha256Hex(absl::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string DeriveKeyId(common::v1::City city, const PublicKey& key) {
  return absl::StrCat(CityName(city), "-", Sha256Hex(key.der()).substr(0, 16));
}

}  // namespace interop::signing
