// GrpcBackendAdapter's household migration and pension transfer calls (grpc_backend_adapter.h).
//
// Each call builds the contract's request in the city's dialect (refusing, without a call, what the
// contract cannot carry), sends it through CallBackend (one context with the city's deadline and the
// request id, one asynchronous call, the failed call mapped as the settlement calls map theirs), and
// translates the reply.
#include <algorithm>
#include <functional>
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "adapters/grpc_backend/grpc_backend_adapter.h"
#include "gateway/base/cities.h"

namespace interop::adapters {
namespace {

namespace backend = ::interop::citybackend::v1;
using AsyncStub = backend::CityBackendService::StubInterface::async_interface;

// One method of the contract's asynchronous stub.
template <typename Request, typename Response>
using AsyncMethod = void (AsyncStub::*)(grpc::ClientContext*, const Request*, Response*,
                                        std::function<void(grpc::Status)>);

// Keeps a parameter out of template argument deduction.
template <typename T>
struct Identity {
  using type = T;
};

// The adapter's side of one call, bound by the calling method (which alone may use the adapter's
// private members): the stub; `prepare` gives a fresh context the city's deadline and the request
// id and says whether the caller's deadline binds (GrpcBackendAdapter::Prepare); `fail` maps a
// failed call (GrpcBackendAdapter::MapSettlementError).
struct Route {
  AsyncStub* stub;
  std::function<bool(grpc::ClientContext*)> prepare;
  std::function<absl::Status(const grpc::Status&, bool caller_deadline_binds)> fail;
};

// Sends `request` by `method` and calls `done` exactly once, on a gRPC thread: with the failed call
// as `route.fail` maps it, or with `translate` of the reply. The context and both messages live
// until the answer, and are gone when `done` runs.
template <typename T, typename Request, typename Response>
void CallBackend(Route route, AsyncMethod<Request, Response> method, Request request,
                 typename Identity<std::function<absl::StatusOr<T>(const Response&)>>::type translate,
                 Callback<T> done) {
  struct Call {
    grpc::ClientContext context;
    Request request;
    Response response;
  };
  auto* call = new Call;
  const bool caller_deadline_binds = route.prepare(&call->context);
  call->request = std::move(request);
  (route.stub->*method)(&call->context, &call->request, &call->response,
                        [call, caller_deadline_binds, fail = std::move(route.fail),
                         translate = std::move(translate), done = std::move(done)](grpc::Status status) {
                          std::unique_ptr<Call> owned(call);
                          absl::StatusOr<T> result =
                              status.ok() ? translate(owned->response) : fail(status, caller_deadline_binds);
                          // The call is over before the caller hears of it: a caller that tears
                          // everything down on the answer (a command-line tool at exit) races nothing.
                          owned.reset();
                          done(std::move(result));
                        });
}

}  // namespace

// The Route of a method of GrpcBackendAdapter (there, `this` and its `options` are in scope): the
// stub, Prepare with the caller's options (used before CallBackend returns), and MapSettlementError
// saying what the city holds no record of, refused or does not offer (`what`). A macro because only
// the adapter's own methods may use its private members.
#define INTEROP_MOBILITY_ROUTE(what)                                                                       \
  Route {                                                                                                  \
    stub_->async(), [this, &options](grpc::ClientContext* context) { return Prepare(options, context); },  \
        [this](const grpc::Status& status, bool binds) { return MapSettlementError(status, binds, what); } \
  }

void GrpcBackendAdapter::IssueMoveInPermit(const std::string& request_key, const std::string& resident_id,
                                           City origin, const std::string& address_code,
                                           const CallOptions& options, Callback<MoveInPermit> done) {
  absl::StatusOr<std::string> origin_code = translator_.BackendCityCode("origin", origin);
  if (!origin_code.ok()) return done(origin_code.status());
  backend::IssueMoveInPermitRequest request;
  request.set_request_key(request_key);
  request.set_resident_id(translator_.BackendResidentId(resident_id));
  request.set_origin_city_code(*origin_code);
  request.set_address_code(address_code);
  CallBackend<MoveInPermit>(
      INTEROP_MOBILITY_ROUTE("the permit to move in"), &AsyncStub::IssueMoveInPermit, std::move(request),
      [this](const backend::IssueMoveInPermitResponse& response) -> absl::StatusOr<MoveInPermit> {
        MoveInPermit permit;
        permit.permit_number = response.permit_number();
        permit.replayed = response.replayed();
        absl::StatusOr<absl::CivilDay> issued = translator_.TranslateDay("issued_on", response.issued_on());
        if (!issued.ok()) return issued.status();
        absl::StatusOr<absl::CivilDay> until =
            translator_.TranslateDay("valid_until", response.valid_until());
        if (!until.ok()) return until.status();
        if (permit.permit_number.empty() || *until < *issued) {
          return absl::InternalError(
              absl::StrCat("city ", CityName(options_.city),
                           " answered an untranslatable permit: it needs a permit_number "
                           "and a valid_until not before issued_on"));
        }
        permit.issued_on = *issued;
        permit.valid_until = *until;
        return permit;
      },
      std::move(done));
}

void GrpcBackendAdapter::RecordMoveOut(const std::string& request_key, const std::string& resident_id,
                                       City destination, const std::string& permit_number,
                                       absl::CivilDay permit_valid_until, const CallOptions& options,
                                       Callback<MoveOutRecord> done) {
  absl::StatusOr<std::string> destination_code = translator_.BackendCityCode("destination", destination);
  if (!destination_code.ok()) return done(destination_code.status());
  absl::StatusOr<std::string> valid_until = translator_.BackendDate("permit_valid_until", permit_valid_until);
  if (!valid_until.ok()) return done(valid_until.status());
  backend::RecordMoveOutRequest request;
  request.set_request_key(request_key);
  request.set_resident_id(translator_.BackendResidentId(resident_id));
  request.set_destination_city_code(*destination_code);
  request.set_permit_number(permit_number);
  request.set_permit_valid_until(*valid_until);
  CallBackend<MoveOutRecord>(
      INTEROP_MOBILITY_ROUTE("household registration for this person"), &AsyncStub::RecordMoveOut,
      std::move(request),
      [this](const backend::RecordMoveOutResponse& response) -> absl::StatusOr<MoveOutRecord> {
        // The address the person leaves, kept in the migration's record: a county-level code.
        const std::string& previous = response.previous_address_code();
        if (previous.size() != 6 || !std::all_of(previous.begin(), previous.end(), absl::ascii_isdigit)) {
          return absl::InternalError(absl::StrCat("city ", CityName(options_.city),
                                                  " answered an untranslatable previous_address_code: not a "
                                                  "six-digit division code"));
        }
        MoveOutRecord record;
        record.previous_address_code = previous;
        record.replayed = response.replayed();
        absl::StatusOr<absl::CivilDay> on = translator_.TranslateDay("moved_out_on", response.moved_out_on());
        if (!on.ok()) return on.status();
        record.moved_out_on = *on;
        return record;
      },
      std::move(done));
}

void GrpcBackendAdapter::SettleIn(const std::string& request_key, const std::string& resident_id,
                                  const std::string& permit_number, const std::string& address_code,
                                  const std::string& name, const CallOptions& options,
                                  Callback<SettleInResult> done) {
  absl::StatusOr<std::string> encoded = translator_.BackendName("name", name);
  if (!encoded.ok()) return done(encoded.status());
  backend::SettleInRequest request;
  request.set_request_key(request_key);
  request.set_resident_id(translator_.BackendResidentId(resident_id));
  request.set_permit_number(permit_number);
  request.set_address_code(address_code);
  request.set_name(*encoded);
  CallBackend<SettleInResult>(
      INTEROP_MOBILITY_ROUTE("the settling-in"), &AsyncStub::SettleIn, std::move(request),
      [this, resident_id,
       address_code](const backend::SettleInResponse& response) -> absl::StatusOr<SettleInResult> {
        absl::StatusOr<household::v1::GetHouseholdRecordResponse> registration =
            translator_.TranslateHouseholdRegistration(resident_id, response.registration());
        if (!registration.ok()) return registration.status();
        if (registration->address_code() != address_code) {
          return absl::InternalError(
              absl::StrCat("city ", CityName(options_.city),
                           " answered an untranslatable registration.address_code: it is "
                           "not the address settled in"));
        }
        SettleInResult result;
        result.registration = *std::move(registration);
        result.replayed = response.replayed();
        return result;
      },
      std::move(done));
}

void GrpcBackendAdapter::ApplyPensionTransfer(const std::string& request_key, const std::string& resident_id,
                                              City origin, const CallOptions& options,
                                              Callback<PensionApplication> done) {
  absl::StatusOr<std::string> origin_code = translator_.BackendCityCode("origin", origin);
  if (!origin_code.ok()) return done(origin_code.status());
  backend::ApplyPensionTransferRequest request;
  request.set_request_key(request_key);
  request.set_resident_id(translator_.BackendResidentId(resident_id));
  request.set_origin_city_code(*origin_code);
  CallBackend<PensionApplication>(
      INTEROP_MOBILITY_ROUTE("the pension transfer application"), &AsyncStub::ApplyPensionTransfer,
      std::move(request),
      [this](const backend::ApplyPensionTransferResponse& response) -> absl::StatusOr<PensionApplication> {
        absl::StatusOr<absl::CivilDay> on = translator_.TranslateDay("applied_on", response.applied_on());
        if (!on.ok()) return on.status();
        if (response.application_number().empty()) {
          return absl::InternalError(
              absl::StrCat("city ", CityName(options_.city),
                           " answered an untranslatable application_number: it is empty"));
        }
        return PensionApplication{response.application_number(), *on, response.replayed()};
      },
      std::move(done));
}

void GrpcBackendAdapter::IssueContactLetter(const std::string& request_key, const std::string& resident_id,
                                            const std::string& application_number, const CallOptions& options,
                                            Callback<ContactLetter> done) {
  backend::IssueContactLetterRequest request;
  request.set_request_key(request_key);
  request.set_resident_id(translator_.BackendResidentId(resident_id));
  request.set_application_number(application_number);
  CallBackend<ContactLetter>(
      INTEROP_MOBILITY_ROUTE("the contact letter"), &AsyncStub::IssueContactLetter, std::move(request),
      [this](const backend::IssueContactLetterResponse& response) -> absl::StatusOr<ContactLetter> {
        absl::StatusOr<absl::CivilDay> on = translator_.TranslateDay("issued_on", response.issued_on());
        if (!on.ok()) return on.status();
        if (response.letter_number().empty()) {
          return absl::InternalError(absl::StrCat("city ", CityName(options_.city),
                                                  " answered an untranslatable letter_number: it is empty"));
        }
        return ContactLetter{response.letter_number(), *on, response.replayed()};
      },
      std::move(done));
}

void GrpcBackendAdapter::PreparePensionTransferOut(const std::string& request_key,
                                                   const std::string& resident_id, City destination,
                                                   const std::string& letter_number,
                                                   const CallOptions& options,
                                                   Callback<PreparedTransferOut> done) {
  absl::StatusOr<std::string> destination_code = translator_.BackendCityCode("destination", destination);
  if (!destination_code.ok()) return done(destination_code.status());
  backend::PreparePensionTransferOutRequest request;
  request.set_request_key(request_key);
  request.set_resident_id(translator_.BackendResidentId(resident_id));
  request.set_destination_city_code(*destination_code);
  request.set_letter_number(letter_number);
  CallBackend<PreparedTransferOut>(
      INTEROP_MOBILITY_ROUTE("pension record for this person"), &AsyncStub::PreparePensionTransferOut,
      std::move(request),
      [this, resident_id](
          const backend::PreparePensionTransferOutResponse& response) -> absl::StatusOr<PreparedTransferOut> {
        absl::StatusOr<PensionTransferSheet> sheet =
            translator_.TranslatePensionSheet("sheet", resident_id, response.sheet());
        if (!sheet.ok()) return sheet.status();
        return PreparedTransferOut{*std::move(sheet), response.replayed()};
      },
      std::move(done));
}

void GrpcBackendAdapter::CompletePensionTransferOut(const std::string& request_key,
                                                    const std::string& resident_id, City destination,
                                                    const std::string& letter_number,
                                                    int64_t personal_account_fen, int64_t pooled_fund_fen,
                                                    const CallOptions& options,
                                                    Callback<TransferOutCompletion> done) {
  absl::StatusOr<std::string> destination_code = translator_.BackendCityCode("destination", destination);
  if (!destination_code.ok()) return done(destination_code.status());
  PensionTransferSheet funds;
  funds.personal_account_fen = personal_account_fen;
  funds.pooled_fund_fen = pooled_fund_fen;
  absl::StatusOr<backend::PensionTransferSheet> amounts = translator_.BackendPensionSheet(resident_id, funds);
  if (!amounts.ok()) return done(amounts.status());
  backend::CompletePensionTransferOutRequest request;
  request.set_request_key(request_key);
  request.set_resident_id(translator_.BackendResidentId(resident_id));
  request.set_destination_city_code(*destination_code);
  request.set_letter_number(letter_number);
  request.set_personal_account(amounts->personal_account());
  request.set_pooled_fund(amounts->pooled_fund());
  CallBackend<TransferOutCompletion>(
      INTEROP_MOBILITY_ROUTE("the transfer out"), &AsyncStub::CompletePensionTransferOut, std::move(request),
      [this](const backend::CompletePensionTransferOutResponse& response)
          -> absl::StatusOr<TransferOutCompletion> {
        absl::StatusOr<absl::CivilDay> on = translator_.TranslateDay("ended_on", response.ended_on());
        if (!on.ok()) return on.status();
        return TransferOutCompletion{*on, response.replayed()};
      },
      std::move(done));
}

void GrpcBackendAdapter::ConfirmPensionTransferIn(const std::string& request_key,
                                                  const std::string& resident_id,
                                                  const std::string& application_number, City origin,
                                                  const PensionTransferSheet& sheet,
                                                  const CallOptions& options,
                                                  Callback<TransferInConfirmation> done) {
  absl::StatusOr<std::string> origin_code = translator_.BackendCityCode("origin", origin);
  if (!origin_code.ok()) return done(origin_code.status());
  absl::StatusOr<backend::PensionTransferSheet> backend_sheet =
      translator_.BackendPensionSheet(resident_id, sheet);
  if (!backend_sheet.ok()) return done(backend_sheet.status());
  backend::ConfirmPensionTransferInRequest request;
  request.set_request_key(request_key);
  request.set_resident_id(translator_.BackendResidentId(resident_id));
  request.set_application_number(application_number);
  request.set_origin_city_code(*origin_code);
  *request.mutable_sheet() = *std::move(backend_sheet);
  CallBackend<TransferInConfirmation>(
      INTEROP_MOBILITY_ROUTE("the transfer in"), &AsyncStub::ConfirmPensionTransferIn, std::move(request),
      [this](const backend::ConfirmPensionTransferInResponse& response)
          -> absl::StatusOr<TransferInConfirmation> {
        absl::StatusOr<absl::CivilDay> on = translator_.TranslateDay("confirmed_on", response.confirmed_on());
        if (!on.ok()) return on.status();
        return TransferInConfirmation{*on, response.applicant_notified(), response.replayed()};
      },
      std::move(done));
}

#undef INTEROP_MOBILITY_ROUTE

}  // namespace interop::adapters
