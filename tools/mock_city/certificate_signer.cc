#include "tools/mock_city/certificate_signer.h"

#include "absl/strings/str_cat.h"
#include "gateway/base/cities.h"
#include "interop/certificates/v1/certificates.pb.h"

namespace interop::mock_city {

absl::StatusOr<std::unique_ptr<MockCertificateSigner>> MockCertificateSigner::FromPemFile(City city,
                                                                                          const std::string& path,
                                                                                          const std::string& key_id) {
  absl::StatusOr<std::unique_ptr<signing::SigningKey>> key = signing::SigningKey::FromPemFile(path);
  if (!key.ok()) return key.status();
  std::string id = key_id.empty() ? signing::DeriveKeyId(city, (*key)->public_key()) : key_id;
  return std::unique_ptr<MockCertificateSigner>(new MockCertificateSigner(city, *std::move(key), std::move(id)));
}

absl::StatusOr<adapters::CertificateSignature> MockCertificateSigner::Sign(absl::string_view payload) const {
  certificates::v1::CertificatePayload parsed;
  if (payload.empty() || !parsed.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return absl::InvalidArgumentError("payload: is not a serialized CertificatePayload");
  }
  if (parsed.issuer().city() != city_) {
    return absl::FailedPreconditionError(absl::StrCat("the payload names ", CityName(parsed.issuer().city()),
                                                      " as its issuer; ", CityName(city_),
                                                      " signs only its own certificates"));
  }
  if (parsed.key_id() != key_id_) {
    return absl::FailedPreconditionError(absl::StrCat("the payload names the key \"", parsed.key_id(), "\"; ",
                                                      CityName(city_), " signs with \"", key_id_, "\""));
  }
  absl::StatusOr<std::string> signature = key_->Sign(payload);
  if (!signature.ok()) return signature.status();
  return adapters::CertificateSignature{*std::move(signature), key_id_,
                                        std::string(signing::AlgorithmName(key_->algorithm()))};
}

}  // namespace interop::mock_city
