// MockCertificateSigner: the mock city's own certificate signing key, as a real city keeps it in
// its own systems. It signs a certificate payload (a serialized
// interop.certificates.v1.CertificatePayload) only if the payload names this city as its issuer and
// this key as its key id: a city never signs in another city's name.
//
//   auto signer = MockCertificateSigner::FromPemFile(City::CITY_TAIYUAN, "city-taiyuan-signing.key", "");
//   absl::StatusOr<adapters::CertificateSignature> signature = (*signer)->Sign(payload_bytes);
//
// Served by both transports: SignCertificate of the gRPC contract (MockCityBackend) and L9401 of the
// national interface (NationalInterfacePlatform).
//
// Thread-safe: immutable.
#ifndef INTEROP_TOOLS_MOCK_CITY_CERTIFICATE_SIGNER_H_
#define INTEROP_TOOLS_MOCK_CITY_CERTIFICATE_SIGNER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/city_adapter.h"
#include "gateway/base/cities.h"
#include "gateway/signing/signing.h"

namespace interop::mock_city {

using ::interop::common::v1::City;

class MockCertificateSigner {
 public:
  // Loads the PEM private key at `path` (EC P-256 or SM2). `key_id` empty means derived from the
  // public key (signing::DeriveKeyId), as the gateway derives it. INVALID_ARGUMENT naming the file.
  static absl::StatusOr<std::unique_ptr<MockCertificateSigner>> FromPemFile(City city, const std::string& path,
                                                                            const std::string& key_id);

  City city() const { return city_; }
  const std::string& key_id() const { return key_id_; }
  signing::Algorithm algorithm() const { return key_->algorithm(); }

  // The signature over exactly `payload`. INVALID_ARGUMENT (naming "payload") if it is not a
  // CertificatePayload; FAILED_PRECONDITION if its issuer is another city or its key_id not this
  // key's; INTERNAL if signing fails.
  absl::StatusOr<adapters::CertificateSignature> Sign(absl::string_view payload) const;

 private:
  MockCertificateSigner(City city, std::unique_ptr<signing::SigningKey> key, std::string key_id)
      : city_(city), key_(std::move(key)), key_id_(std::move(key_id)) {}
  const City city_;
  const std::unique_ptr<signing::SigningKey> key_;
  const std::string key_id_;
};

}  // namespace interop::mock_city

#endif  // INTEROP_TOOLS_MOCK_CITY_CERTIFICATE_SIGNER_H_
