#include "tools/conformance/contract_probe.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "adapters/lvliang/https_client.h"
#include "adapters/lvliang/national_interface.h"
#include "gateway/base/cities.h"
#include "gateway/tls/tls_credentials.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "interop/citybackend/v1/city_backend.grpc.pb.h"
#include "nlohmann/json.hpp"

namespace interop::conformance {
namespace {

namespace backend = ::interop::citybackend::v1;
namespace lvliang = ::interop::adapters::lvliang;

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

// The contract stub, called synchronously.
class GrpcContractProbe final : public ContractProbe {
 public:
  GrpcContractProbe(std::shared_ptr<const adapters::Dialect> dialect, std::shared_ptr<grpc::Channel> channel)
      : dialect_(std::move(dialect)), stub_(backend::CityBackendService::NewStub(std::move(channel))) {}

  absl::Status CallRaw(ContractMethod method, const std::string& backend_id, absl::Time deadline) override {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    switch (method) {
      case ContractMethod::kLocatePerson: {
        backend::LocatePersonRequest request;
        backend::LocatePersonResponse response;
        request.set_resident_id(backend_id);
        return FromGrpc(stub_->LocatePerson(&context, request, &response));
      }
      case ContractMethod::kGetMedicalEnrollment: {
        backend::GetMedicalEnrollmentRequest request;
        backend::GetMedicalEnrollmentResponse response;
        request.set_resident_id(backend_id);
        return FromGrpc(stub_->GetMedicalEnrollment(&context, request, &response));
      }
      case ContractMethod::kGetContributions: {
        backend::GetContributionsRequest request;
        backend::GetContributionsResponse response;
        request.set_resident_id(backend_id);
        return FromGrpc(stub_->GetContributions(&context, request, &response));
      }
      case ContractMethod::kGetHouseholdRegistration: {
        backend::GetHouseholdRegistrationRequest request;
        backend::GetHouseholdRegistrationResponse response;
        request.set_resident_id(backend_id);
        return FromGrpc(stub_->GetHouseholdRegistration(&context, request, &response));
      }
    }
    return absl::InternalError("unknown contract method");
  }

  absl::StatusOr<std::vector<WireMonth>> ContributionsOnTheWire(const std::string& resident_id, int from_year,
                                                                int to_year, absl::Time deadline) override {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    backend::GetContributionsRequest request;
    backend::GetContributionsResponse response;
    request.set_resident_id(dialect_->BackendResidentId(resident_id));
    request.set_from_year(from_year);
    request.set_to_year(to_year);
    grpc::Status status = stub_->GetContributions(&context, request, &response);
    if (!status.ok()) return FromGrpc(status);
    std::vector<WireMonth> months;
    months.reserve(response.months_size());
    for (const backend::MonthlyContribution& month : response.months()) {
      months.push_back(WireMonth{month.kind_code(), month.year_month()});
    }
    return months;
  }

  bool months_must_be_ordered() const override { return true; }
  absl::string_view transport_name() const override { return "grpc"; }

 private:
  const std::shared_ptr<const adapters::Dialect> dialect_;
  const std::unique_ptr<backend::CityBackendService::Stub> stub_;
};

// HTTP/JSON in the national interface's envelope, one POST per call.
class HttpContractProbe final : public ContractProbe {
 public:
  HttpContractProbe(std::shared_ptr<const adapters::Dialect> dialect,
                    std::unique_ptr<lvliang::HttpsClient> client)
      : dialect_(std::move(dialect)), client_(std::move(client)) {}

  absl::Status CallRaw(ContractMethod method, const std::string& backend_id, absl::Time deadline) override {
    // The builders send a malformed number unchanged (only a valid old number is shortened to
    // its legacy form, and only by a dialect that keys anyone by legacy numbers).
    const lvliang::RequestEnvelope envelope = NextEnvelope();
    switch (method) {
      case ContractMethod::kLocatePerson:
        return Post(lvliang::kLocatePersonTransaction,
                    lvliang::BuildLocatePersonRequest(*dialect_, envelope, backend_id), deadline)
            .status();
      case ContractMethod::kGetMedicalEnrollment:
        return Post(lvliang::kPersonInfoTransaction,
                    lvliang::BuildPersonInfoRequest(*dialect_, envelope, backend_id), deadline)
            .status();
      case ContractMethod::kGetContributions:
        return Post(lvliang::kContributionsTransaction,
                    lvliang::BuildContributionsRequest(*dialect_, envelope, backend_id, 0, 0), deadline)
            .status();
      case ContractMethod::kGetHouseholdRegistration:
        return Post(lvliang::kHouseholdTransaction,
                    lvliang::BuildHouseholdRequest(*dialect_, envelope, backend_id), deadline)
            .status();
    }
    return absl::InternalError("unknown contract method");
  }

  absl::StatusOr<std::vector<WireMonth>> ContributionsOnTheWire(const std::string& resident_id, int from_year,
                                                                int to_year, absl::Time deadline) override {
    absl::StatusOr<std::string> body =
        Post(lvliang::kContributionsTransaction,
             lvliang::BuildContributionsRequest(*dialect_, NextEnvelope(), resident_id, from_year, to_year),
             deadline);
    if (!body.ok()) return body.status();
    const nlohmann::json reply = nlohmann::json::parse(*body, nullptr, /*allow_exceptions=*/false);
    const auto unreadable = [](absl::string_view why) {
      return absl::InternalError(absl::StrCat("the reply to ", lvliang::kContributionsTransaction, " ", why));
    };
    if (!reply.is_object()) return unreadable("is not a JSON object");
    auto output = reply.find("output");
    if (output == reply.end() || !output->is_object()) return unreadable("has no output object");
    auto entries = output->find("clctinfo");
    if (entries == output->end() || !entries->is_array()) return unreadable("has no output.clctinfo array");
    std::vector<WireMonth> months;
    for (size_t i = 0; i < entries->size(); ++i) {
      const nlohmann::json& entry = (*entries)[i];
      if (!entry.is_object())
        return unreadable(absl::StrCat("has output.clctinfo[", i, "] that is not an object"));
      auto kind = entry.find("insutype");
      auto month = entry.find("ym");
      if (kind == entry.end() || !kind->is_string() || month == entry.end() || !month->is_string()) {
        return unreadable(absl::StrCat("has output.clctinfo[", i, "] without the strings insutype and ym"));
      }
      months.push_back(WireMonth{kind->get<std::string>(), month->get<std::string>()});
    }
    return months;
  }

  bool months_must_be_ordered() const override { return false; }
  absl::string_view transport_name() const override { return "http"; }

 private:
  lvliang::RequestEnvelope NextEnvelope() {
    const absl::Time now = absl::Now();
    lvliang::RequestEnvelope envelope;
    envelope.msgid = message_ids_.Next(now);
    envelope.region_code = std::string(CityDivisionCode(dialect_->city()));
    envelope.inf_time = now;
    return envelope;
  }

  // POSTs one transaction and waits for the reply. The reply body if infcode is 0, else the status
  // the reply's error code stands for (see ContractProbe::CallRaw).
  absl::StatusOr<std::string> Post(absl::string_view infno, std::string body, absl::Time deadline) {
    lvliang::HttpsRequest request;
    request.method = "POST";
    request.path = lvliang::kCallServicePath;
    request.content_type = "application/json;charset=UTF-8";
    request.body = std::move(body);
    request.deadline = deadline;
    struct Pending {
      absl::Notification done;
      absl::StatusOr<lvliang::HttpsResponse> response = absl::UnknownError("no answer");
    };
    auto pending = std::make_shared<Pending>();
    client_->Send(std::move(request), [pending](absl::StatusOr<lvliang::HttpsResponse> response) {
      pending->response = std::move(response);
      pending->done.Notify();
    });
    // The client fails the request at its deadline; the margin only guards against a lost callback.
    if (!pending->done.WaitForNotificationWithDeadline(deadline + absl::Seconds(5))) {
      return absl::DeadlineExceededError(absl::StrCat("no answer to transaction ", infno));
    }
    if (!pending->response.ok()) return pending->response.status();
    const lvliang::HttpsResponse& response = *pending->response;
    const City city = dialect_->city();
    absl::Status http = lvliang::CheckHttpReply(city, infno, response.status, response.content_type);
    if (!http.ok()) return http;
    absl::StatusOr<lvliang::ReplyEnvelope> envelope = lvliang::ParseReplyEnvelope(city, infno, response.body);
    if (!envelope.ok()) return envelope.status();
    if (envelope->infcode == 0) return response.body;
    const std::string what =
        absl::StrCat("infcode ", envelope->infcode, ", err_msg \"", envelope->err_msg, "\"");
    if (envelope->infcode != -1) return absl::InternalError(what);
    if (absl::StartsWith(envelope->err_msg, lvliang::kErrorBadRequest))
      return absl::InvalidArgumentError(what);
    if (absl::StartsWith(envelope->err_msg, lvliang::kErrorNoRecord)) return absl::NotFoundError(what);
    if (absl::StartsWith(envelope->err_msg, lvliang::kErrorBusy)) return absl::UnavailableError(what);
    return absl::InternalError(what);
  }

  const std::shared_ptr<const adapters::Dialect> dialect_;
  const std::unique_ptr<lvliang::HttpsClient> client_;
  lvliang::MessageIdGenerator message_ids_;
};

// `status` with "<field>: " in front of its message.
absl::Status ForField(absl::string_view field, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(field, ": ", status.message()));
}

}  // namespace

absl::string_view ContractMethodName(ContractMethod method) {
  switch (method) {
    case ContractMethod::kLocatePerson:
      return "LocatePerson";
    case ContractMethod::kGetMedicalEnrollment:
      return "GetMedicalEnrollment";
    case ContractMethod::kGetContributions:
      return "GetContributions";
    case ContractMethod::kGetHouseholdRegistration:
      return "GetHouseholdRegistration";
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<ContractProbe>> NewContractProbe(
    const config::v1::CityBackendConfig& config, std::shared_ptr<const adapters::Dialect> dialect) {
  if (dialect == nullptr) return absl::InvalidArgumentError("dialect: is required");
  if (config.transport() == config::v1::TRANSPORT_HTTP_NATIONAL_INTERFACE) {
    lvliang::HttpsClientOptions options;
    options.address = config.address();
    options.server_name = config.tls_server_name();
    options.max_connections = 2;
    const std::pair<const char*, const std::string*> files[] = {
        {"tls.ca_cert_file", &config.tls().ca_cert_file()},
        {"tls.cert_file", &config.tls().cert_file()},
        {"tls.key_file", &config.tls().key_file()}};
    std::string* pems[] = {&options.ca_pem, &options.cert_pem, &options.key_pem};
    for (size_t i = 0; i < 3; ++i) {
      absl::StatusOr<std::string> pem = tls::ReadPemFile(*files[i].second);
      if (!pem.ok()) return ForField(files[i].first, pem.status());
      *pems[i] = *std::move(pem);
    }
    absl::StatusOr<std::unique_ptr<lvliang::HttpsClient>> client =
        lvliang::HttpsClient::Create(std::move(options));
    if (!client.ok()) return ForField("address", client.status());
    return std::make_unique<HttpContractProbe>(std::move(dialect), *std::move(client));
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      tls::MakeMutualTlsChannelCredentials(config.tls());
  if (!credentials.ok()) return credentials.status();
  grpc::ChannelArguments args;
  if (!config.tls_server_name().empty()) args.SetSslTargetNameOverride(config.tls_server_name());
  // Its own connection, apart from the adapter's, so that a refused raw call cannot disturb it.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return std::make_unique<GrpcContractProbe>(std::move(dialect),
                                             grpc::CreateCustomChannel(config.address(), *credentials, args));
}

}  // namespace interop::conformance
