#include "tools/certificate_verify/fetch.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "gateway/tls/tls_credentials.h"
#include "grpcpp/create_channel.h"
#include "interop/certificates/v1/certificates.grpc.pb.h"
#include "tools/certificate_verify/proto_files.h"

namespace interop::certificate_verify {
namespace {

namespace pb = ::interop::certificates::v1;

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "certificate-verify: %s\n", message.c_str());
  return code;
}

int Refused(const char* what, const grpc::Status& status) {
  return Fail(1, absl::StrCat(what, " failed: ", static_cast<int>(status.error_code()), " ", status.error_message()));
}

template <typename Request>
void FillIssue(const FetchOptions& options, common::v1::Purpose purpose, Request* request) {
  request->mutable_person()->set_resident_id(options.resident_id);
  request->mutable_access()->set_purpose(purpose);
  request->mutable_access()->set_on_behalf_of_resident_id(options.on_behalf_of);
  request->mutable_validity()->set_valid_days(options.valid_days);
}

}  // namespace

int Fetch(const FetchOptions& options) {
  if (options.gateway.empty() || options.ca_file.empty() || options.cert_file.empty() || options.key_file.empty() ||
      options.trust_list_file.empty()) {
    return Fail(2, "--fetch needs --gateway, --ca, --cert, --key and --trust_list");
  }
  common::v1::Purpose purpose = common::v1::PURPOSE_UNSPECIFIED;
  if (!options.issue.empty()) {
    if (options.issue != "contribution" && options.issue != "insurance-status" && options.issue != "residence") {
      return Fail(2, "--issue must be contribution, insurance-status or residence");
    }
    if (options.resident_id.empty() || options.certificate_file.empty() ||
        !common::v1::Purpose_Parse(options.purpose, &purpose)) {
      return Fail(2, "--issue needs --resident_id, --certificate and --purpose (an interop.common.v1.Purpose name)");
    }
  }
  config::v1::TlsFiles files;
  files.set_ca_cert_file(options.ca_file);
  files.set_cert_file(options.cert_file);
  files.set_key_file(options.key_file);
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials = tls::MakeMutualTlsChannelCredentials(files);
  if (!credentials.ok()) return Fail(2, std::string(credentials.status().message()));
  grpc::ChannelArguments args;
  if (!options.tls_server_name.empty()) args.SetSslTargetNameOverride(options.tls_server_name);
  std::unique_ptr<pb::CertificateService::Stub> stub =
      pb::CertificateService::NewStub(grpc::CreateCustomChannel(options.gateway, *credentials, args));

  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    pb::GetTrustListResponse response;
    grpc::Status status = stub->GetTrustList(&context, pb::GetTrustListRequest(), &response);
    if (!status.ok()) return Refused("GetTrustList", status);
    absl::Status written = WriteProtoFile(options.trust_list_file, response.trust_list());
    if (!written.ok()) return Fail(1, std::string(written.message()));
    std::printf("saved trust list version %llu (%d keys) to %s\n",
                static_cast<unsigned long long>(response.parsed().version()), response.parsed().keys_size(),
                options.trust_list_file.c_str());
  }
  if (options.issue.empty()) return 0;

  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Status status;
  pb::SignedCertificate certificate;
  if (options.issue == "contribution") {
    pb::IssueContributionCertificateRequest request;
    FillIssue(options, purpose, &request);
    pb::IssueContributionCertificateResponse response;
    status = stub->IssueContributionCertificate(&context, request, &response);
    certificate = response.certificate();
  } else if (options.issue == "insurance-status") {
    pb::IssueInsuranceStatusCertificateRequest request;
    FillIssue(options, purpose, &request);
    pb::IssueInsuranceStatusCertificateResponse response;
    status = stub->IssueInsuranceStatusCertificate(&context, request, &response);
    certificate = response.certificate();
  } else {
    pb::IssueResidenceCertificateRequest request;
    FillIssue(options, purpose, &request);
    pb::IssueResidenceCertificateResponse response;
    status = stub->IssueResidenceCertificate(&context, request, &response);
    certificate = response.certificate();
  }
  if (!status.ok()) return Refused("issuing the certificate", status);
  absl::Status written = WriteProtoFile(options.certificate_file, certificate);
  if (!written.ok()) return Fail(1, std::string(written.message()));
  std::printf("saved %s certificate signed with key %s to %s\n", options.issue.c_str(), certificate.key_id().c_str(),
              options.certificate_file.c_str());
  return 0;
}

}  // namespace interop::certificate_verify
