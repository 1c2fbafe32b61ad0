// GrpcBackendAdapter's household migration and pension transfer calls (grpc_backend_adapter.h).
#include <utility>

#include "absl/strings/str_cat.h"
#include "adapters/grpc_backend/grpc_backend_adapter.h"
#include "gateway/base/cities.h"

namespace interop::adapters {
namespace {

namespace backend = ::interop::citybackend::v1;

template <typename Request, typename Response>
struct PendingCall {
  grpc::ClientContext context;
  Request request;
  Response response;
};

}  // namespace

void GrpcBackendAdapter::IssueMoveInPermit(const std::string& request_key, const std::string& resident_id,
                                           City origin, const std::string& address_code,
                                           const CallOptions& options, Callback<MoveInPermit> done) {
  absl::StatusOr<std::string> origin_code = translator_.BackendCityCode("origin", origin);
  if (!origin_code.ok()) return done(origin_code.status());
  using Call = PendingCall<backend::IssueMoveInPermitRequest, backend::IssueMoveInPermitResponse>;
  auto* call = new Call;
  const bool binds = Prepare(options, &call->context);
  call->request.set_request_key(request_key);
  call->request.set_resident_id(translator_.BackendResidentId(resident_id));
  call->request.set_origin_city_code(*origin_code);
  call->request.set_address_code(address_code);
  stub_->async()->IssueMoveInPermit(
      &call->context, &call->request, &call->response, [this, call, binds, done = std::move(done)](grpc::Status status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok()) return done(MapSettlementError(status, binds, "the permit to move in"));
        MoveInPermit permit;
        permit.permit_number = owned->response.permit_number();
        permit.replayed = owned->response.replayed();
        absl::StatusOr<absl::CivilDay> issued = translator_.TranslateDay("issued_on", owned->response.issued_on());
        if (!issued.ok()) return done(issued.status());
        absl::StatusOr<absl::CivilDay> until = translator_.TranslateDay("valid_until", owned->response.valid_until());
        if (!until.ok()) return done(until.status());
        if (permit.permit_number.empty() || *until < *issued) {
          return done(absl::InternalError(absl::StrCat("city ", CityName(options_.city),
                                                       " answered an untranslatable permit: it needs a permit_number "
                                                       "and a valid_until not before issued_on")));
        }
        permit.issued_on = *issued;
        permit.valid_until = *until;
        done(std::move(permit));
      });
}

void GrpcBackendAdapter::RecordMoveOut(const std::string& request_key, const std::string& resident_id,
                                       City destination, const std::string& permit_number,
                                       absl::CivilDay permit_valid_until, const CallOptions& options,
                                       Callback<MoveOutRecord> done) {
  absl::StatusOr<std::string> destination_code = translator_.BackendCityCode("destination", destination);
  if (!destination_code.ok()) return done(destination_code.status());
  absl::StatusOr<std::string> valid_until = translator_.BackendDate("permit_valid_until", permit_valid_until);
  if (!valid_until.ok()) return done(valid_until.status());
  using Call = PendingCall<backend::RecordMoveOutRequest, backend::RecordMoveOutResponse>;
  auto* call = new Call;
  const bool binds = Prepare(options, &call->context);
  call->request.set_request_key(request_key);
  call->request.set_resident_id(translator_.BackendResidentId(resident_id));
  call->request.set_destination_city_code(*destination_code);
  call->request.set_permit_number(permit_number);
  call->request.set_permit_valid_until(*valid_until);
  stub_->async()->RecordMoveOut(
      &call->context, &call->request, &call->response, [this, call, binds, done = std::move(done)](grpc::Status status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok()) return done(MapSettlementError(status, binds, "household registration for this person"));
        MoveOutRecord record;
        record.previous_address_code = owned->response.previous_address_code();
        record.replayed = owned->response.replayed();
        absl::StatusOr<absl::CivilDay> on = translator_.TranslateDay("moved_out_on", owned->response.moved_out_on());
        if (!on.ok()) return done(on.status());
        record.moved_out_on = *on;
        done(std::move(record));
      });
}

void GrpcBackendAdapter::SettleIn(const std::string& request_key, const std::string& resident_id,
                                  const std::string& permit_number, const std::string& address_code,
                                  const std::string& name, const CallOptions& options, Callback<SettleInResult> done) {
  absl::StatusOr<std::string> encoded = translator_.BackendName("name", name);
  if (!encoded.ok()) return done(encoded.status());
  using Call = PendingCall<backend::SettleInRequest, backend::SettleInResponse>;
  auto* call = new Call;
  const bool binds = Prepare(options, &call->context);
  call->request.set_request_key(request_key);
  call->request.set_resident_id(translator_.BackendResidentId(resident_id));
  call->request.set_permit_number(permit_number);
  call->request.set_address_code(address_code);
  call->request.set_name(*encoded);
  stub_->async()->SettleIn(
      &call->context, &call->request, &call->response,
      [this, call, binds, resident_id, address_code, done = std::move(done)](grpc::Status status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok()) return done(MapSettlementError(status, binds, "the settling-in"));
        absl::StatusOr<household::v1::GetHouseholdRecordResponse> registration =
            translator_.TranslateHouseholdRegistration(resident_id, owned->response.registration());
        if (!registration.ok()) return done(registration.status());
        if (registration->address_code() != address_code) {
          return done(absl::InternalError(absl::StrCat("city ", CityName(options_.city),
                                                       " answered an untranslatable registration.address_code: it is "
                                                       "not the address settled in")));
        }
        SettleInResult result;
        result.registration = *std::move(registration);
        result.replayed = owned->response.replayed();
        done(std::move(result));
      });
}

void GrpcBackendAdapter::ApplyPensionTransfer(const std::string& request_key, const std::string& resident_id,
                                              City origin, const CallOptions& options,
                                              Callback<PensionApplication> done) {
  absl::StatusOr<std::string> origin_code = translator_.BackendCityCode("origin", origin);
  if (!origin_code.ok()) return done(origin_code.status());
  using Call = PendingCall<backend::ApplyPensionTransferRequest, backend::ApplyPensionTransferResponse>;
  auto* call = new Call;
  const bool binds = Prepare(options, &call->context);
  call->request.set_request_key(request_key);
  call->request.set_resident_id(translator_.BackendResidentId(resident_id));
  call->request.set_origin_city_code(*origin_code);
  stub_->async()->ApplyPensionTransfer(
      &call->context, &call->request, &call->response, [this, call, binds, done = std::move(done)](grpc::Status status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok()) return done(MapSettlementError(status, binds, "the pension transfer application"));
        absl::StatusOr<absl::CivilDay> on = translator_.TranslateDay("applied_on", owned->response.applied_on());
        if (!on.ok()) return done(on.status());
        if (owned->response.application_number().empty()) {
          return done(absl::InternalError(absl::StrCat("city ", CityName(options_.city),
                                                       " answered an untranslatable application_number: it is empty")));
        }
        done(PensionApplication{owned->response.application_number(), *on, owned->response.replayed()});
      });
}

void GrpcBackendAdapter::IssueContactLetter(const std::string& request_key, const std::string& resident_id,
                                            const std::string& application_number, const CallOptions& options,
                                            Callback<ContactLetter> done) {
  using Call = PendingCall<backend::IssueContactLetterRequest, backend::IssueContactLetterResponse>;
  auto* call = new Call;
  const bool binds = Prepare(options, &call->context);
  call->request.set_request_key(request_key);
  call->request.set_resident_id(translator_.BackendResidentId(resident_id));
  call->request.set_application_number(application_number);
  stub_->async()->IssueContactLetter(
      &call->context, &call->request, &call->response, [this, call, binds, done = std::move(done)](grpc::Status status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok()) return done(MapSettlementError(status, binds, "the contact letter"));
        absl::StatusOr<absl::CivilDay> on = translator_.TranslateDay("issued_on", owned->response.issued_on());
        if (!on.ok()) return done(on.status());
        if (owned->response.letter_number().empty()) {
          return done(absl::InternalError(absl::StrCat("city ", CityName(options_.city),
                                                       " answered an untranslatable letter_number: it is empty")));
        }
        done(ContactLetter{owned->response.letter_number(), *on, owned->response.replayed()});
      });
}

void GrpcBackendAdapter::PreparePensionTransferOut(const std::string& request_key, const std::string& resident_id,
                                                   City destination, const std::string& letter_number,
                                                   const CallOptions& options, Callback<PreparedTransferOut> done) {
  absl::StatusOr<std::string> destination_code = translator_.BackendCityCode("destination", destination);
  if (!destination_code.ok()) return done(destination_code.status());
  using Call = PendingCall<backend::PreparePensionTransferOutRequest, backend::PreparePensionTransferOutResponse>;
  auto* call = new Call;
  const bool binds = Prepare(options, &call->context);
  call->request.set_request_key(request_key);
  call->request.set_resident_id(translator_.BackendResidentId(resident_id));
  call->request.set_destination_city_code(*destination_code);
  call->request.set_letter_number(letter_number);
  stub_->async()->PreparePensionTransferOut(
      &call->context, &call->request, &call->response,
      [this, call, binds, resident_id, done = std::move(done)](grpc::Status status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok()) return done(MapSettlementError(status, binds, "pension record for this person"));
        absl::StatusOr<PensionTransferSheet> sheet =
            translator_.TranslatePensionSheet("sheet", resident_id, owned->response.sheet());
        if (!sheet.ok()) return done(sheet.status());
        done(PreparedTransferOut{*std::move(sheet), owned->response.replayed()});
      });
}

void GrpcBackendAdapter::CompletePensionTransferOut(const std::string& request_key, const std::string& resident_id,
                                                    City destination, const std::string& letter_number,
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
  using Call = PendingCall<backend::CompletePensionTransferOutRequest, backend::CompletePensionTransferOutResponse>;
  auto* call = new Call;
  const bool binds = Prepare(options, &call->context);
  call->request.set_request_key(request_key);
  call->request.set_resident_id(translator_.BackendResidentId(resident_id));
  call->request.set_destination_city_code(*destination_code);
  call->request.set_letter_number(letter_number);
  call->request.set_personal_account(amounts->personal_account());
  call->request.set_pooled_fund(amounts->pooled_fund());
  stub_->async()->CompletePensionTransferOut(
      &call->context, &call->request, &call->response, [this, call, binds, done = std::move(done)](grpc::Status status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok()) return done(MapSettlementError(status, binds, "the transfer out"));
        absl::StatusOr<absl::CivilDay> on = translator_.TranslateDay("ended_on", owned->response.ended_on());
        if (!on.ok()) return done(on.status());
        done(TransferOutCompletion{*on, owned->response.replayed()});
      });
}

void GrpcBackendAdapter::ConfirmPensionTransferIn(const std::string& request_key, const std::string& resident_id,
                                                  const std::string& application_number, City origin,
                                                  const PensionTransferSheet& sheet, const CallOptions& options,
                                                  Callback<TransferInConfirmation> done) {
  absl::StatusOr<std::string> origin_code = translator_.BackendCityCode("origin", origin);
  if (!origin_code.ok()) return done(origin_code.status());
  absl::StatusOr<backend::PensionTransferSheet> backend_sheet = translator_.BackendPensionSheet(resident_id, sheet);
  if (!backend_sheet.ok()) return done(backend_sheet.status());
  using Call = PendingCall<backend::ConfirmPensionTransferInRequest, backend::ConfirmPensionTransferInResponse>;
  auto* call = new Call;
  const bool binds = Prepare(options, &call->context);
  call->request.set_request_key(request_key);
  call->request.set_resident_id(translator_.BackendResidentId(resident_id));
  call->request.set_application_number(application_number);
  call->request.set_origin_city_code(*origin_code);
  *call->request.mutable_sheet() = *std::move(backend_sheet);
  stub_->async()->ConfirmPensionTransferIn(
      &call->context, &call->request, &call->response, [this, call, binds, done = std::move(done)](grpc::Status status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok()) return done(MapSettlementError(status, binds, "the transfer in"));
        absl::StatusOr<absl::CivilDay> on = translator_.TranslateDay("confirmed_on", owned->response.confirmed_on());
        if (!on.ok()) return done(on.status());
        done(TransferInConfirmation{*on, owned->response.applicant_notified(), owned->response.replayed()});
      });
}

}  // namespace interop::adapters
