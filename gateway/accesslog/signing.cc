#include "gateway/accesslog/signing.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace interop::accesslog {
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
  if (!in && !in.eof()) return absl::InvalidArgumentError(absl::StrCat("\"", path, "\": cannot be read"));
  return contents.str();
}

// Passphrase callback that refuses, so that an encrypted key fails instead of prompting on a terminal.
int NoPassphrase(char*, int, int, void*) { return -1; }

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

BioPtr MemoryBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// OK if `key` is an EC key on P-256; otherwise INVALID_ARGUMENT naming `path`.
absl::Status CheckP256(EVP_PKEY* key, const std::string& path) {
  char group[64] = {0};
  size_t length = 0;
  if (!EVP_PKEY_is_a(key, "EC") || !EVP_PKEY_get_group_name(key, group, sizeof(group), &length) ||
      (absl::string_view(group) != "prime256v1" && absl::string_view(group) != "P-256")) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("\"", path, "\": the key must be an EC P-256 key (ECDSA with SHA-256)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<CheckpointSigner>> CheckpointSigner::FromPemFile(const std::string& path) {
  absl::StatusOr<std::string> pem = ReadFile(path);
  if (!pem.ok()) return pem.status();
  BioPtr bio = MemoryBio(*pem);
  EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr;
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", path, "\": no unencrypted PEM private key: ", TakeOpenSslError()));
  }
  std::unique_ptr<CheckpointSigner> signer(new CheckpointSigner(key));
  absl::Status curve = CheckP256(key, path);
  if (!curve.ok()) return curve;
  return signer;
}

CheckpointSigner::~CheckpointSigner() { EVP_PKEY_free(key_); }

absl::StatusOr<std::string> CheckpointSigner::Sign(absl::string_view message) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t length = 0;
  if (!ctx || EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key_, nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1) {
    return absl::InternalError(absl::StrCat("signing a checkpoint: ", TakeOpenSslError()));
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(&signature[0]), &length,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    return absl::InternalError(absl::StrCat("signing a checkpoint: ", TakeOpenSslError()));
  }
  signature.resize(length);
  return signature;
}

bool CheckpointSigner::Matches(const CheckpointVerifier& verifier) const {
  bool same = false;
  for (EVP_PKEY* key : verifier.keys_) same = same || EVP_PKEY_eq(key_, key) == 1;
  ERR_clear_error();
  return same;
}

absl::StatusOr<std::unique_ptr<CheckpointVerifier>> CheckpointVerifier::FromPemFile(const std::string& path) {
  return FromPemFiles({path});
}

absl::StatusOr<std::unique_ptr<CheckpointVerifier>> CheckpointVerifier::FromPemFiles(
    const std::vector<std::string>& paths) {
  // Owns the keys until the verifier does.
  std::unique_ptr<CheckpointVerifier> verifier(new CheckpointVerifier());
  for (const std::string& path : paths) {
    absl::StatusOr<std::string> pem = ReadFile(path);
    if (!pem.ok()) return pem.status();
    BioPtr bio = MemoryBio(*pem);
    if (!bio) return absl::InternalError(absl::StrCat("\"", path, "\": ", TakeOpenSslError()));
    size_t keys_in_file = 0;
    for (int block = 1;; ++block) {
      char* name = nullptr;
      char* header = nullptr;
      unsigned char* data = nullptr;
      long length = 0;
      if (PEM_read_bio(bio.get(), &name, &header, &data, &length) != 1) {
        ERR_clear_error();  // no further PEM block
        break;
      }
      const std::string kind = name;
      OPENSSL_free(name);
      OPENSSL_free(header);
      const unsigned char* der = data;
      EVP_PKEY* key = nullptr;
      bool is_key_block = true;
      if (kind == "CERTIFICATE") {
        X509* cert = d2i_X509(nullptr, &der, length);
        if (cert != nullptr && X509_check_ca(cert) != 0) {
          // A CA's certificate (a chain file's intermediate or root) never signs checkpoints.
          is_key_block = false;
        } else if (cert != nullptr) {
          key = X509_get_pubkey(cert);  // a new reference
        }
        X509_free(cert);
      } else if (kind == "PUBLIC KEY") {
        key = d2i_PUBKEY(nullptr, &der, length);
      } else {
        is_key_block = false;
      }
      OPENSSL_free(data);
      if (!is_key_block) continue;
      if (key == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("\"", path, "\": cannot read the public key of PEM block ",
                                                       block, " (", kind, "): ", TakeOpenSslError()));
      }
      verifier->keys_.push_back(key);
      absl::Status curve = CheckP256(key, path);
      if (!curve.ok()) return curve;
      ++keys_in_file;
    }
    if (keys_in_file == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", path, "\": holds neither a PEM CERTIFICATE nor a PEM PUBLIC KEY"));
    }
  }
  if (verifier->keys_.empty()) return absl::InvalidArgumentError("no certificate or public key file given");
  return verifier;
}

CheckpointVerifier::~CheckpointVerifier() {
  for (EVP_PKEY* key : keys_) EVP_PKEY_free(key);
}

bool CheckpointVerifier::Verify(absl::string_view message, absl::string_view signature) const {
  for (EVP_PKEY* key : keys_) {
    MdCtxPtr ctx(EVP_MD_CTX_new());
    bool good =
        ctx && EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key, nullptr) == 1 &&
        EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                         reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
    ERR_clear_error();
    if (good) return true;
  }
  return false;
}

}  // namespace interop::accesslog
