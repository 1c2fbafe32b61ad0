// Test helper: fresh signing keys as PEM text, made with OpenSSL in process (no files, no tools).
#ifndef INTEROP_TESTS_GATEWAY_SIGNING_TEST_KEYS_H_
#define INTEROP_TESTS_GATEWAY_SIGNING_TEST_KEYS_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>

namespace interop::signing::test_support {

// A new private key in PEM ("PRIVATE KEY"): curve "P-256" (EC) or "SM2". "" on failure.
inline std::string NewPrivateKeyPem(const char* curve) {
  EVP_PKEY* key = std::string(curve) == "SM2" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "SM2")
                                              : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve);
  if (key == nullptr) return "";
  BIO* bio = BIO_new(BIO_s_mem());
  std::string pem;
  if (PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1) {
    char* data = nullptr;
    long length = BIO_get_mem_data(bio, &data);
    pem.assign(data, static_cast<size_t>(length));
  }
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

// The public half of a PEM private key, as PEM "PUBLIC KEY". "" on failure.
inline std::string PublicPemOf(const std::string& private_pem) {
  BIO* in = BIO_new_mem_buf(private_pem.data(), static_cast<int>(private_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  if (key == nullptr) return "";
  BIO* out = BIO_new(BIO_s_mem());
  std::string pem;
  if (PEM_write_bio_PUBKEY(out, key) == 1) {
    char* data = nullptr;
    long length = BIO_get_mem_data(out, &data);
    pem.assign(data, static_cast<size_t>(length));
  }
  BIO_free(out);
  EVP_PKEY_free(key);
  return pem;
}

}  // namespace interop::signing::test_support

#endif  // INTEROP_TESTS_GATEWAY_SIGNING_TEST_KEYS_H_
