#include "tests/tools/conformance/faulty_backend.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "adapters/dialect/money.h"
#include "gateway/base/cities.h"
#include "gateway/identity/resident_id.h"
#include "gateway/tls/tls_credentials.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "interop/citybackend/v1/city_backend.grpc.pb.h"

namespace interop::testing {
namespace {

namespace backend = ::interop::citybackend::v1;
using Async = backend::CityBackendService::StubInterface::async_interface;

// A call of the backend's stub.
template <typename Request, typename Response>
using AsyncMethod = void (Async::*)(grpc::ClientContext*, const Request*, Response*,
                                    std::function<void(grpc::Status)>);

// Keeps a parameter out of template argument deduction.
template <typename T>
struct Identity {
  using type = T;
};

}  // namespace

class FaultyBackendServer::Service final : public backend::CityBackendService::CallbackService {
 public:
  Service(std::shared_ptr<grpc::Channel> channel, std::shared_ptr<const adapters::Dialect> dialect,
          Breach breach)
      : stub_(backend::CityBackendService::NewStub(std::move(channel))),
        dialect_(std::move(dialect)),
        breach_(breach) {}

  // Reads, passed through.
  grpc::ServerUnaryReactor* LocatePerson(grpc::CallbackServerContext* context,
                                         const backend::LocatePersonRequest* request,
                                         backend::LocatePersonResponse* response) override {
    return Forward(context, &Async::LocatePerson, *request, response);
  }
  grpc::ServerUnaryReactor* GetMedicalEnrollment(grpc::CallbackServerContext* context,
                                                 const backend::GetMedicalEnrollmentRequest* request,
                                                 backend::GetMedicalEnrollmentResponse* response) override {
    return Forward(context, &Async::GetMedicalEnrollment, *request, response);
  }
  grpc::ServerUnaryReactor* GetContributions(grpc::CallbackServerContext* context,
                                             const backend::GetContributionsRequest* request,
                                             backend::GetContributionsResponse* response) override {
    return Forward(context, &Async::GetContributions, *request, response);
  }
  grpc::ServerUnaryReactor* GetHouseholdRegistration(
      grpc::CallbackServerContext* context, const backend::GetHouseholdRegistrationRequest* request,
      backend::GetHouseholdRegistrationResponse* response) override {
    return Forward(context, &Async::GetHouseholdRegistration, *request, response);
  }

  // Settlement, passed through.
  grpc::ServerUnaryReactor* GetMedicalAccount(grpc::CallbackServerContext* context,
                                              const backend::GetMedicalAccountRequest* request,
                                              backend::GetMedicalAccountResponse* response) override {
    return Forward(context, &Async::GetMedicalAccount, *request, response);
  }
  grpc::ServerUnaryReactor* CommitSettlement(grpc::CallbackServerContext* context,
                                             const backend::CommitSettlementRequest* request,
                                             backend::CommitSettlementResponse* response) override {
    return Forward(context, &Async::CommitSettlement, *request, response);
  }
  grpc::ServerUnaryReactor* ReverseSettlement(grpc::CallbackServerContext* context,
                                              const backend::ReverseSettlementRequest* request,
                                              backend::ReverseSettlementResponse* response) override {
    return Forward(context, &Async::ReverseSettlement, *request, response);
  }
  grpc::ServerUnaryReactor* GetSettlementRecord(grpc::CallbackServerContext* context,
                                                const backend::GetSettlementRecordRequest* request,
                                                backend::GetSettlementRecordResponse* response) override {
    return Forward(context, &Async::GetSettlementRecord, *request, response);
  }
  grpc::ServerUnaryReactor* ListSettlementRecords(grpc::CallbackServerContext* context,
                                                  const backend::ListSettlementRecordsRequest* request,
                                                  backend::ListSettlementRecordsResponse* response) override {
    return Forward(context, &Async::ListSettlementRecords, *request, response);
  }
  grpc::ServerUnaryReactor* FileTreatment(grpc::CallbackServerContext* context,
                                          const backend::FileTreatmentRequest* request,
                                          backend::FileTreatmentResponse* response) override {
    return Forward(context, &Async::FileTreatment, *request, response);
  }
  grpc::ServerUnaryReactor* RevokeFiling(grpc::CallbackServerContext* context,
                                         const backend::RevokeFilingRequest* request,
                                         backend::RevokeFilingResponse* response) override {
    return Forward(context, &Async::RevokeFiling, *request, response);
  }
  grpc::ServerUnaryReactor* ListFilings(grpc::CallbackServerContext* context,
                                        const backend::ListFilingsRequest* request,
                                        backend::ListFilingsResponse* response) override {
    return Forward(context, &Async::ListFilings, *request, response);
  }

  // Certificates.
  grpc::ServerUnaryReactor* SignCertificate(grpc::CallbackServerContext* context,
                                            const backend::SignCertificateRequest* request,
                                            backend::SignCertificateResponse* response) override {
    if (breach_ != Breach::kBadSignatures) {
      return Forward(context, &Async::SignCertificate, *request, response);
    }
    const std::string key_id = absl::StrCat(CityName(dialect_->city()), "-0000000000000000");
    return Forward(context, &Async::SignCertificate, *request, response,
                   [key_id](grpc::Status& status, backend::SignCertificateResponse& signed_payload) {
                     if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
                       // Breach: signs what the city must refuse, with the DER signature (r=1, s=1).
                       status = grpc::Status::OK;
                       signed_payload.set_signature(std::string("\x30\x06\x02\x01\x01\x02\x01\x01", 8));
                       signed_payload.set_key_id(key_id);
                       signed_payload.set_algorithm("ecdsa-p256-sha256");
                     } else if (status.ok() && !signed_payload.signature().empty()) {
                       // Breach: a signature that does not verify.
                       std::string spoiled = signed_payload.signature();
                       spoiled.back() = static_cast<char>(spoiled.back() ^ 0x01);
                       signed_payload.set_signature(spoiled);
                     }
                   });
  }

  // Household migration.
  grpc::ServerUnaryReactor* IssueMoveInPermit(grpc::CallbackServerContext* context,
                                              const backend::IssueMoveInPermitRequest* request,
                                              backend::IssueMoveInPermitResponse* response) override {
    return Forward(context, &Async::IssueMoveInPermit, Rekeyed(*request), response);
  }
  grpc::ServerUnaryReactor* RecordMoveOut(grpc::CallbackServerContext* context,
                                          const backend::RecordMoveOutRequest* request,
                                          backend::RecordMoveOutResponse* response) override {
    if (breach_ != Breach::kOkWhereNotFound) {
      return Forward(context, &Async::RecordMoveOut, Rekeyed(*request), response);
    }
    const std::string district = absl::StrCat(CityDivisionCode(dialect_->city()).substr(0, 4), "01");
    const std::string today = dialect_->date_format().FormatDate(identity::ChinaCivilDay(absl::Now()));
    return Forward(context, &Async::RecordMoveOut, *request, response,
                   [district, today](grpc::Status& status, backend::RecordMoveOutResponse& record) {
                     if (status.error_code() != grpc::StatusCode::NOT_FOUND) return;
                     // Breach: OK where NOT_FOUND is due.
                     status = grpc::Status::OK;
                     record.set_previous_address_code(district);
                     record.set_moved_out_on(today);
                     record.set_replayed(false);
                   });
  }
  grpc::ServerUnaryReactor* SettleIn(grpc::CallbackServerContext* context,
                                     const backend::SettleInRequest* request,
                                     backend::SettleInResponse* response) override {
    backend::SettleInRequest forwarded = Rekeyed(*request);
    if (breach_ == Breach::kSettleInIgnoresName) {
      absl::MutexLock lock(&names_mu_);
      auto [first, inserted] = first_names_.emplace(forwarded.request_key(), forwarded.name());
      forwarded.set_name(first->second);
    }
    return Forward(context, &Async::SettleIn, std::move(forwarded), response);
  }

  // Pension transfer.
  grpc::ServerUnaryReactor* ApplyPensionTransfer(grpc::CallbackServerContext* context,
                                                 const backend::ApplyPensionTransferRequest* request,
                                                 backend::ApplyPensionTransferResponse* response) override {
    return Forward(context, &Async::ApplyPensionTransfer, Rekeyed(*request), response);
  }
  grpc::ServerUnaryReactor* IssueContactLetter(grpc::CallbackServerContext* context,
                                               const backend::IssueContactLetterRequest* request,
                                               backend::IssueContactLetterResponse* response) override {
    return Forward(context, &Async::IssueContactLetter, Rekeyed(*request), response);
  }
  grpc::ServerUnaryReactor* PreparePensionTransferOut(
      grpc::CallbackServerContext* context, const backend::PreparePensionTransferOutRequest* request,
      backend::PreparePensionTransferOutResponse* response) override {
    if (breach_ != Breach::kOkWhereNotFound) {
      return Forward(context, &Async::PreparePensionTransferOut, Rekeyed(*request), response);
    }
    const std::string zero = adapters::FormatMoney(0, dialect_->money_format());
    return Forward(context, &Async::PreparePensionTransferOut, *request, response,
                   [zero, resident_id = request->resident_id()](
                       grpc::Status& status, backend::PreparePensionTransferOutResponse& prepared) {
                     if (status.error_code() != grpc::StatusCode::NOT_FOUND) return;
                     // Breach: OK, with an empty sheet, where NOT_FOUND is due.
                     status = grpc::Status::OK;
                     prepared.Clear();
                     prepared.mutable_sheet()->set_resident_id(resident_id);
                     prepared.mutable_sheet()->set_personal_account(zero);
                     prepared.mutable_sheet()->set_pooled_fund(zero);
                   });
  }
  grpc::ServerUnaryReactor* CompletePensionTransferOut(
      grpc::CallbackServerContext* context, const backend::CompletePensionTransferOutRequest* request,
      backend::CompletePensionTransferOutResponse* response) override {
    return Forward(context, &Async::CompletePensionTransferOut, Rekeyed(*request), response);
  }
  grpc::ServerUnaryReactor* ConfirmPensionTransferIn(
      grpc::CallbackServerContext* context, const backend::ConfirmPensionTransferInRequest* request,
      backend::ConfirmPensionTransferInResponse* response) override {
    return Forward(context, &Async::ConfirmPensionTransferIn, Rekeyed(*request), response);
  }

 private:
  // `request`, with a request_key never used before if the breach is kRepeatedKeyAppliedAgain.
  template <typename Request>
  Request Rekeyed(Request request) {
    if (breach_ == Breach::kRepeatedKeyAppliedAgain) {
      request.set_request_key(absl::StrCat(request.request_key(), "#", ++rekeyed_));
    }
    return request;
  }

  // Passes `request` to the backend, with the caller's deadline, and its answer back through
  // `alter`, which may change the status and the response.
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Forward(
      grpc::CallbackServerContext* context, AsyncMethod<Request, Response> method, Request request,
      Response* response,
      typename Identity<std::function<void(grpc::Status&, Response&)>>::type alter = nullptr) {
    struct Pending {
      grpc::ClientContext client;
      Request request;
    };
    auto* pending = new Pending;
    pending->request = std::move(request);
    pending->client.set_deadline(context->deadline());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    (stub_->async()->*method)(&pending->client, &pending->request, response,
                              [pending, reactor, response, alter = std::move(alter)](grpc::Status status) {
                                if (alter) alter(status, *response);
                                delete pending;
                                reactor->Finish(status);
                              });
    return reactor;
  }

  const std::unique_ptr<backend::CityBackendService::StubInterface> stub_;
  const std::shared_ptr<const adapters::Dialect> dialect_;
  const Breach breach_;
  std::atomic<int64_t> rekeyed_{0};
  absl::Mutex names_mu_;
  std::map<std::string, std::string> first_names_ ABSL_GUARDED_BY(names_mu_);  // SettleIn: key -> name
};

absl::StatusOr<std::unique_ptr<FaultyBackendServer>> FaultyBackendServer::Start(
    const std::string& certs_dir, std::shared_ptr<const adapters::Dialect> dialect, int backend_port,
    Breach breach) {
  const std::string city(CityName(dialect->city()));
  config::v1::TlsFiles server_files;
  server_files.set_ca_cert_file(certs_dir + "/ca.pem");
  server_files.set_cert_file(absl::StrCat(certs_dir, "/city-", city, ".pem"));
  server_files.set_key_file(absl::StrCat(certs_dir, "/city-", city, ".key"));
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> server_credentials =
      tls::MakeMutualTlsServerCredentials(server_files);
  if (!server_credentials.ok()) return server_credentials.status();
  config::v1::TlsFiles client_files;
  client_files.set_ca_cert_file(certs_dir + "/ca.pem");
  client_files.set_cert_file(certs_dir + "/gateway.pem");
  client_files.set_key_file(certs_dir + "/gateway.key");
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> channel_credentials =
      tls::MakeMutualTlsChannelCredentials(client_files);
  if (!channel_credentials.ok()) return channel_credentials.status();
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", backend_port), *channel_credentials, args);

  std::unique_ptr<FaultyBackendServer> server(new FaultyBackendServer());
  server->service_ = std::make_unique<Service>(std::move(channel), std::move(dialect), breach);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", *server_credentials, &server->port_);
  builder.RegisterService(server->service_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError("faulty backend: cannot listen on 127.0.0.1");
  }
  return server;
}

FaultyBackendServer::~FaultyBackendServer() {
  if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

}  // namespace interop::testing
