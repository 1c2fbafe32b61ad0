// The public interop.certificates.v1.CertificateService, on gRPC's callback API.
//
// Issuing: the gateway fetches the record the certificate attests from the city that holds it (the
// contribution history from every city that holds part of it), builds the CertificatePayload, and
// asks the signing city to sign it with its own key through its adapter (CityAdapter::SignCertificate):
//   insurance status -> the insured city; residence -> the city where the household is registered;
//   contribution -> the insured city, or, if no city insures the person, the city of their latest
//   contributions.
// The payload names the signing city's current key in the trust list (VerifiedTrustList::CurrentKey);
// the city's answer is checked against the trust list before it is handed out, so a certificate the
// gateway issues always verifies.
//
// Every call goes through the CallGuard (access policy, purpose, access log). The issuing methods
// are calls to personal records; VerifyCertificate and GetTrustList are not (they carry no
// AccessContext), and are recorded without a person.
//
// Thread-safe. Handlers never block: they validate, then continue in adapter callbacks.
#ifndef INTEROP_GATEWAY_SERVICES_CERTIFICATE_SERVICE_H_
#define INTEROP_GATEWAY_SERVICES_CERTIFICATE_SERVICE_H_

#include <functional>
#include <memory>

#include "gateway/certificates/certificate_verifier.h"
#include "gateway/services/service_support.h"
#include "interop/certificates/v1/certificates.grpc.pb.h"

namespace interop::services {

class GuardedCall;

class CertificateServiceImpl final : public certificates::v1::CertificateService::CallbackService {
 public:
  // `trust` is the gateway's published trust list; null when certificates are not configured, and
  // then every method answers FAILED_PRECONDITION. `default_validity` applies when a request does
  // not say.
  CertificateServiceImpl(ServiceDependencies deps, std::shared_ptr<const certificates::PublishedTrustList> trust,
                         absl::Duration default_validity)
      : deps_(deps), trust_(std::move(trust)), default_validity_(default_validity) {}

  grpc::ServerUnaryReactor* IssueContributionCertificate(
      grpc::CallbackServerContext* context, const certificates::v1::IssueContributionCertificateRequest* request,
      certificates::v1::IssueContributionCertificateResponse* response) override;
  grpc::ServerUnaryReactor* IssueInsuranceStatusCertificate(
      grpc::CallbackServerContext* context, const certificates::v1::IssueInsuranceStatusCertificateRequest* request,
      certificates::v1::IssueInsuranceStatusCertificateResponse* response) override;
  grpc::ServerUnaryReactor* IssueResidenceCertificate(
      grpc::CallbackServerContext* context, const certificates::v1::IssueResidenceCertificateRequest* request,
      certificates::v1::IssueResidenceCertificateResponse* response) override;
  grpc::ServerUnaryReactor* VerifyCertificate(grpc::CallbackServerContext* context,
                                              const certificates::v1::VerifyCertificateRequest* request,
                                              certificates::v1::VerifyCertificateResponse* response) override;
  grpc::ServerUnaryReactor* GetTrustList(grpc::CallbackServerContext* context,
                                         const certificates::v1::GetTrustListRequest* request,
                                         certificates::v1::GetTrustListResponse* response) override;

 private:
  struct Signed {
    certificates::v1::SignedCertificate certificate;
    certificates::v1::CertificatePayload payload;
  };
  // The validity asked for, or INVALID_ARGUMENT naming "validity.valid_days".
  absl::StatusOr<absl::Duration> ValidityOf(const certificates::v1::CertificateValidity& validity) const;
  // Fills the issuer, key id, subject and times of `payload` for `city`, has the city sign it and
  // checks the signature against the trust list. `done` gets the signed certificate or an error.
  void SignWith(const std::shared_ptr<GuardedCall>& call, City city, certificates::v1::CertificatePayload payload,
                const std::string& name, absl::Duration valid_for, std::function<void(absl::StatusOr<Signed>)> done);
  // Issues a certificate of a record one city holds (insurance status, residence): fetches the
  // record from its holder with `fetch`, builds the claims with `claims`, has the holder sign, and
  // finishes the call with `response`.
  template <typename Record, typename Response>
  void IssueFromHolder(std::shared_ptr<GuardedCall> call, Response* response, router::RecordDomain domain,
                       absl::Duration valid_for,
                       std::function<void(adapters::CityAdapter&, adapters::Callback<Record>)> fetch,
                       std::function<certificates::v1::CertificatePayload(const Record&)> claims);
  // Collects the person's contribution history from every city that holds part of it.
  void CollectContributions(const std::shared_ptr<GuardedCall>& call, int from_year, int to_year,
                            std::function<void(absl::StatusOr<social::v1::GetContributionHistoryResponse>)> done);

  ServiceDependencies deps_;
  std::shared_ptr<const certificates::PublishedTrustList> trust_;
  absl::Duration default_validity_;
};

}  // namespace interop::services

#endif  // INTEROP_GATEWAY_SERVICES_CERTIFICATE_SERVICE_H_
