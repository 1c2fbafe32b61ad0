#include "adapters/grpc_backend/grpc_backend_adapter.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "gateway/base/cities.h"
#include "grpcpp/support/byte_buffer.h"

namespace interop::adapters {
namespace {

namespace backend = ::interop::citybackend::v1;

// One in-flight call: the context and messages must outlive the asynchronous call.
template <typename Request, typename Response>
struct PendingCall {
  grpc::ClientContext context;
  Request request;
  Response response;
};

// The first field in which the settlement `recorded` differs from `sent` (the reversal aside), or
// "" if none.
std::string FirstDifference(const SettlementRecord& sent, const SettlementRecord& recorded) {
  if (sent.year != recorded.year) return "year";
  if (sent.visit_type != recorded.visit_type) return "visit_type_code";
  if (sent.institution_code != recorded.institution_code) return "institution_code";
  if (sent.treatment_city != recorded.treatment_city) return "treatment_city_code";
  if (sent.settle_date != recorded.settle_date) return "settle_date";
  if (sent.total_fen != recorded.total_fen) return "total";
  if (sent.deductible_applied_fen != recorded.deductible_applied_fen) return "deductible_applied";
  if (sent.fund_pay_fen != recorded.fund_pay_fen) return "fund_pay";
  if (sent.account_pay_fen != recorded.account_pay_fen) return "account_pay";
  if (sent.cash_pay_fen != recorded.cash_pay_fen) return "cash_pay";
  return "";
}

}  // namespace

// One ListSettlementRecords in progress: the pages so far and what the next page needs.
struct GrpcBackendAdapter::ListState {
  absl::CivilDay from;
  absl::CivilDay to;
  std::string from_text;
  std::string to_text;
  CallOptions options;
  Callback<std::vector<SettlementRecord>> done;
  std::vector<SettlementRecord> records;
  std::string page_token;
  absl::flat_hash_set<std::string> tokens_seen;
  int pages = 0;
};

GrpcBackendAdapter::GrpcBackendAdapter(GrpcBackendOptions options, std::shared_ptr<grpc::Channel> channel,
                                       std::unique_ptr<backend::CityBackendService::StubInterface> stub)
    : options_(std::move(options)),
      translator_(options_.dialect != nullptr ? options_.dialect : Dialect::Reference(options_.city)),
      channel_(std::move(channel)),
      stub_(std::move(stub)),
      generic_stub_(channel_) {}

bool GrpcBackendAdapter::Prepare(const CallOptions& options, grpc::ClientContext* context) const {
  const absl::Time city_deadline = absl::Now() + options_.city_deadline;
  const bool caller_deadline_binds = options.deadline <= city_deadline;
  context->set_deadline(absl::ToChronoTime(caller_deadline_binds ? options.deadline : city_deadline));
  if (!options.request_id.empty()) context->AddMetadata("x-request-id", options.request_id);
  return caller_deadline_binds;
}

absl::Status GrpcBackendAdapter::MapError(const grpc::Status& status, bool caller_deadline_binds,
                                          absl::string_view what) const {
  absl::string_view city = CityName(options_.city);
  switch (status.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
      return absl::NotFoundError(absl::StrCat("city ", city, " holds no ", what, " for this person"));
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      if (caller_deadline_binds) {
        return absl::DeadlineExceededError(
            absl::StrCat("the call's deadline passed while waiting for city ", city));
      }
      return absl::UnavailableError(absl::StrCat("city ", city, " did not answer within its deadline of ",
                                                 absl::FormatDuration(options_.city_deadline)));
    case grpc::StatusCode::UNAVAILABLE:
      return absl::UnavailableError(absl::StrCat("city ", city, " is unavailable: ", status.error_message()));
    case grpc::StatusCode::CANCELLED:
      return absl::CancelledError(absl::StrCat("call to city ", city, " was cancelled"));
    default:
      return absl::InternalError(absl::StrCat("city ", city, " failed to answer ", what, ": ",
                                              grpc::StatusCode(status.error_code()), " ",
                                              status.error_message()));
  }
}

absl::Status GrpcBackendAdapter::MapSettlementError(const grpc::Status& status, bool caller_deadline_binds,
                                                    absl::string_view what) const {
  absl::string_view city = CityName(options_.city);
  switch (status.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
      return absl::NotFoundError(absl::StrCat("city ", city, " holds no ", what));
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::INVALID_ARGUMENT:
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          absl::StrCat("city ", city, " refused ", what, ": ", status.error_message()));
    case grpc::StatusCode::UNIMPLEMENTED:
      return absl::UnimplementedError(absl::StrCat("city ", city, "'s backend does not offer ", what));
    default:
      return MapError(status, caller_deadline_binds, what);
  }
}

void GrpcBackendAdapter::LocatePerson(const std::string& resident_id, const CallOptions& options,
                                      Callback<PersonLocation> done) {
  using Call = PendingCall<backend::LocatePersonRequest, backend::LocatePersonResponse>;
  auto* call = new Call;
  const bool caller_deadline_binds = Prepare(options, &call->context);
  call->request.set_resident_id(translator_.BackendResidentId(resident_id));
  stub_->async()->LocatePerson(&call->context, &call->request, &call->response,
                               [this, call, caller_deadline_binds, done = std::move(done)](grpc::Status status) {
                                 std::unique_ptr<Call> owned(call);
                                 if (!status.ok()) return done(MapError(status, caller_deadline_binds, "person"));
                                 PersonLocation location;
                                 location.found = owned->response.found();
                                 location.holds_medical_enrollment = owned->response.holds_medical_enrollment();
                                 location.holds_contribution_history =
                                     owned->response.holds_contribution_history();
                                 location.holds_household_registration =
                                     owned->response.holds_household_registration();
                                 done(location);
                               });
}

void GrpcBackendAdapter::GetInsuranceStatus(const std::string& resident_id, const CallOptions& options,
                                            Callback<medical::v1::GetInsuranceStatusResponse> done) {
  using Call = PendingCall<backend::GetMedicalEnrollmentRequest, backend::GetMedicalEnrollmentResponse>;
  auto* call = new Call;
  const bool caller_deadline_binds = Prepare(options, &call->context);
  call->request.set_resident_id(translator_.BackendResidentId(resident_id));
  stub_->async()->GetMedicalEnrollment(
      &call->context, &call->request, &call->response,
      [this, call, resident_id, caller_deadline_binds, done = std::move(done)](grpc::Status status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok()) return done(MapError(status, caller_deadline_binds, "medical-insurance enrolment"));
        done(translator_.TranslateMedicalEnrollment(resident_id, owned->response));
      });
}

void GrpcBackendAdapter::GetMonthlyContributions(const std::string& resident_id, int from_year, int to_year,
                                                 const CallOptions& options,
                                                 Callback<std::vector<social::v1::ContributionEntry>> done) {
  using Call = PendingCall<backend::GetContributionsRequest, backend::GetContributionsResponse>;
  auto* call = new Call;
  const bool caller_deadline_binds = Prepare(options, &call->context);
  call->request.set_resident_id(translator_.BackendResidentId(resident_id));
  call->request.set_from_year(from_year);
  call->request.set_to_year(to_year);
  stub_->async()->GetContributions(
      &call->context, &call->request, &call->response,
      [this, call, resident_id, caller_deadline_binds, done = std::move(done)](grpc::Status status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok()) return done(MapError(status, caller_deadline_binds, "contribution history"));
        done(translator_.TranslateContributions(resident_id, owned->response));
      });
}

void GrpcBackendAdapter::GetHouseholdRecord(const std::string& resident_id, const CallOptions& options,
                                            Callback<household::v1::GetHouseholdRecordResponse> done) {
  using Call =
      PendingCall<backend::GetHouseholdRegistrationRequest, backend::GetHouseholdRegistrationResponse>;
  auto* call = new Call;
  const bool caller_deadline_binds = Prepare(options, &call->context);
  call->request.set_resident_id(translator_.BackendResidentId(resident_id));
  stub_->async()->GetHouseholdRegistration(
      &call->context, &call->request, &call->response,
      [this, call, resident_id, caller_deadline_binds, done = std::move(done)](grpc::Status status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok()) return done(MapError(status, caller_deadline_binds, "household registration"));
        done(translator_.TranslateHouseholdRegistration(resident_id, owned->response));
      });
}

void GrpcBackendAdapter::CheckHealth(const CallOptions& options, std::function<void(absl::Status)> done) {
  struct HealthCall {
    grpc::ClientContext context;
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
  };
  auto* call = new HealthCall;
  Prepare(options, &call->context);
  // grpc.health.v1.HealthCheckRequest{service: ""} encodes to zero bytes.
  grpc::Slice empty;
  call->request = grpc::ByteBuffer(&empty, 1);
  generic_stub_.UnaryCall(
      &call->context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &call->request, &call->response,
      [this, call, done = std::move(done)](grpc::Status status) {
        std::unique_ptr<HealthCall> owned(call);
        if (!status.ok()) {
          return done(absl::UnavailableError(absl::StrCat("city ", CityName(options_.city),
                                                          " health check failed: ", status.error_message())));
        }
        // HealthCheckResponse{status: SERVING} is field 1, varint 1: bytes 08 01.
        std::vector<grpc::Slice> slices;
        std::string bytes;
        if (owned->response.Dump(&slices).ok()) {
          for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
        }
        if (bytes == std::string("\x08\x01", 2)) return done(absl::OkStatus());
        done(absl::UnavailableError(absl::StrCat("city ", CityName(options_.city), " reports not serving")));
      });
}

// --- Cross-city medical settlement.

void GrpcBackendAdapter::GetMedicalAccount(const std::string& resident_id, int year,
                                           const CallOptions& options, Callback<MedicalAccount> done) {
  using Call = PendingCall<backend::GetMedicalAccountRequest, backend::GetMedicalAccountResponse>;
  auto* call = new Call;
  const bool caller_deadline_binds = Prepare(options, &call->context);
  call->request.set_resident_id(translator_.BackendResidentId(resident_id));
  call->request.set_year(year);
  stub_->async()->GetMedicalAccount(
      &call->context, &call->request, &call->response,
      [this, call, resident_id, year, caller_deadline_binds, done = std::move(done)](grpc::Status status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok()) {
          return done(MapSettlementError(status, caller_deadline_binds, "medical account for this person"));
        }
        done(translator_.TranslateMedicalAccount("account", resident_id, year, owned->response.account()));
      });
}

void GrpcBackendAdapter::CommitSettlement(const SettlementRecord& settlement, int64_t expected_version,
                                          const CallOptions& options, Callback<CommitResult> done) {
  absl::StatusOr<backend::SettlementRecord> request = translator_.BackendSettlement(settlement);
  if (!request.ok()) return done(request.status());
  using Call = PendingCall<backend::CommitSettlementRequest, backend::CommitSettlementResponse>;
  auto* call = new Call;
  const bool caller_deadline_binds = Prepare(options, &call->context);
  *call->request.mutable_settlement() = *std::move(request);
  call->request.set_expected_version(expected_version);
  stub_->async()->CommitSettlement(
      &call->context, &call->request, &call->response,
      [this, call, settlement, caller_deadline_binds, done = std::move(done)](grpc::Status status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok())
          return done(MapSettlementError(status, caller_deadline_binds, "the settlement commit"));
        absl::StatusOr<CommitResult> result = translator_.TranslateCommitResult(
            settlement.settlement_id, settlement.resident_id, owned->response.account(),
            owned->response.settlement(), owned->response.replayed());
        if (!result.ok()) return done(result.status());
        const std::string differs = FirstDifference(settlement, result->settlement);
        if (!differs.empty()) {
          return done(absl::InternalError(absl::StrCat("city ", CityName(options_.city),
                                                       " answered an untranslatable settlement.", differs,
                                                       ": it is not the value committed")));
        }
        if (!result->replayed && result->settlement.reversed) {
          return done(
              absl::InternalError(absl::StrCat("city ", CityName(options_.city),
                                               " answered an untranslatable settlement.reversed: a new "
                                               "commit cannot be reversed")));
        }
        done(*std::move(result));
      });
}

void GrpcBackendAdapter::ReverseSettlement(const std::string& settlement_id, const std::string& resident_id,
                                           absl::CivilDay reversed_date, const CallOptions& options,
                                           Callback<CommitResult> done) {
  absl::StatusOr<std::string> date = translator_.BackendDate("reversed_date", reversed_date);
  if (!date.ok()) return done(date.status());
  using Call = PendingCall<backend::ReverseSettlementRequest, backend::ReverseSettlementResponse>;
  auto* call = new Call;
  const bool caller_deadline_binds = Prepare(options, &call->context);
  call->request.set_settlement_id(settlement_id);
  call->request.set_resident_id(translator_.BackendResidentId(resident_id));
  call->request.set_reversed_date(*std::move(date));
  stub_->async()->ReverseSettlement(
      &call->context, &call->request, &call->response,
      [this, call, settlement_id, resident_id, caller_deadline_binds,
       done = std::move(done)](grpc::Status status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok()) {
          return done(MapSettlementError(status, caller_deadline_binds, "such settlement for this person"));
        }
        absl::StatusOr<CommitResult> result =
            translator_.TranslateCommitResult(settlement_id, resident_id, owned->response.account(),
                                              owned->response.settlement(), owned->response.replayed());
        if (!result.ok()) return done(result.status());
        if (!result->settlement.reversed) {
          return done(absl::InternalError(absl::StrCat("city ", CityName(options_.city),
                                                       " answered an untranslatable settlement.reversed: a "
                                                       "reversed settlement must say so")));
        }
        done(*std::move(result));
      });
}

void GrpcBackendAdapter::GetSettlementRecord(const std::string& settlement_id, const CallOptions& options,
                                             Callback<SettlementRecord> done) {
  using Call = PendingCall<backend::GetSettlementRecordRequest, backend::GetSettlementRecordResponse>;
  auto* call = new Call;
  const bool caller_deadline_binds = Prepare(options, &call->context);
  call->request.set_settlement_id(settlement_id);
  stub_->async()->GetSettlementRecord(
      &call->context, &call->request, &call->response,
      [this, call, settlement_id, caller_deadline_binds, done = std::move(done)](grpc::Status status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok()) return done(MapSettlementError(status, caller_deadline_binds, "such settlement"));
        absl::StatusOr<SettlementRecord> record =
            translator_.TranslateSettlementRecord("settlement", "", owned->response.settlement());
        if (record.ok() && record->settlement_id != settlement_id) {
          return done(
              absl::InternalError(absl::StrCat("city ", CityName(options_.city),
                                               " answered an untranslatable settlement.settlement_id: it "
                                               "is not the settlement asked about")));
        }
        done(std::move(record));
      });
}

void GrpcBackendAdapter::ListSettlementRecords(absl::CivilDay from, absl::CivilDay to,
                                               const CallOptions& options,
                                               Callback<std::vector<SettlementRecord>> done) {
  absl::StatusOr<std::string> from_text = translator_.BackendDate("from", from);
  if (!from_text.ok()) return done(from_text.status());
  absl::StatusOr<std::string> to_text = translator_.BackendDate("to", to);
  if (!to_text.ok()) return done(to_text.status());
  if (to < from) return done(absl::InvalidArgumentError("to: is before from"));
  auto state = std::make_unique<ListState>();
  state->from = from;
  state->to = to;
  state->from_text = *std::move(from_text);
  state->to_text = *std::move(to_text);
  state->options = options;
  state->done = std::move(done);
  ListNextPage(std::move(state));
}

void GrpcBackendAdapter::ListNextPage(std::unique_ptr<ListState> state) {
  using Call = PendingCall<backend::ListSettlementRecordsRequest, backend::ListSettlementRecordsResponse>;
  auto* call = new Call;
  const bool caller_deadline_binds = Prepare(state->options, &call->context);
  call->request.set_from_date(state->from_text);
  call->request.set_to_date(state->to_text);
  call->request.set_page_size(kListPageSize);
  call->request.set_page_token(state->page_token);
  ++state->pages;
  ListState* raw = state.release();
  stub_->async()->ListSettlementRecords(
      &call->context, &call->request, &call->response,
      [this, call, raw, caller_deadline_binds](grpc::Status status) {
        std::unique_ptr<Call> owned(call);
        std::unique_ptr<ListState> state(raw);
        const auto fail = [&state](absl::Status error) { state->done(std::move(error)); };
        if (!status.ok())
          return fail(MapSettlementError(status, caller_deadline_binds, "settlement records"));
        const absl::string_view city = CityName(options_.city);
        for (int i = 0; i < owned->response.settlements_size(); ++i) {
          const std::string field = absl::StrCat("settlements[", state->records.size(), "]");
          absl::StatusOr<SettlementRecord> record =
              translator_.TranslateSettlementRecord(field, "", owned->response.settlements(i));
          if (!record.ok()) return fail(record.status());
          if (record->settle_date < state->from || record->settle_date > state->to) {
            return fail(absl::InternalError(absl::StrCat("city ", city, " answered an untranslatable ", field,
                                                         ".settle_date: it is outside the period asked")));
          }
          if (!state->records.empty() && record->settlement_id <= state->records.back().settlement_id) {
            return fail(absl::InternalError(absl::StrCat("city ", city, " answered an untranslatable ", field,
                                                         ".settlement_id: it is not after the one before")));
          }
          state->records.push_back(*std::move(record));
        }
        const std::string& next = owned->response.next_page_token();
        if (next.empty()) {
          std::vector<SettlementRecord> records = std::move(state->records);
          return state->done(std::move(records));
        }
        if (!state->tokens_seen.insert(next).second) {
          return fail(absl::InternalError(absl::StrCat("city ", city, " answered an untranslatable ",
                                                       "next_page_token: it repeats an earlier one")));
        }
        if (state->pages >= kMaxListPages) {
          return fail(absl::InternalError(absl::StrCat("city ", city, " answered more than ", kMaxListPages,
                                                       " pages of settlement records")));
        }
        state->page_token = next;
        ListNextPage(std::move(state));
      });
}

void GrpcBackendAdapter::FileTreatment(const FilingRecord& filing, const CallOptions& options,
                                       Callback<FilingRecord> done) {
  absl::StatusOr<backend::FilingRecord> request = translator_.BackendFiling(filing);
  if (!request.ok()) return done(request.status());
  using Call = PendingCall<backend::FileTreatmentRequest, backend::FileTreatmentResponse>;
  auto* call = new Call;
  const bool caller_deadline_binds = Prepare(options, &call->context);
  *call->request.mutable_filing() = *std::move(request);
  stub_->async()->FileTreatment(
      &call->context, &call->request, &call->response,
      [this, call, filing, caller_deadline_binds, done = std::move(done)](grpc::Status status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok()) return done(MapSettlementError(status, caller_deadline_binds, "the filing"));
        absl::StatusOr<FilingRecord> filed =
            translator_.TranslateFilingRecord("filing", filing.resident_id, owned->response.filing());
        if (!filed.ok()) return done(filed.status());
        const char* differs = filed->treatment_city != filing.treatment_city ? "treatment_city_code"
                              : filed->valid_from != filing.valid_from       ? "valid_from"
                              : filed->valid_to != filing.valid_to           ? "valid_to"
                              : filed->reason != filing.reason               ? "reason_code"
                              : filed->revoked                               ? "revoked"
                                                                             : nullptr;
        if (differs != nullptr) {
          return done(absl::InternalError(absl::StrCat("city ", CityName(options_.city),
                                                       " answered an untranslatable filing.", differs,
                                                       ": it is not the value filed")));
        }
        done(*std::move(filed));
      });
}

void GrpcBackendAdapter::RevokeFiling(const std::string& resident_id, const std::string& filing_id,
                                      const CallOptions& options, Callback<FilingRecord> done) {
  using Call = PendingCall<backend::RevokeFilingRequest, backend::RevokeFilingResponse>;
  auto* call = new Call;
  const bool caller_deadline_binds = Prepare(options, &call->context);
  call->request.set_resident_id(translator_.BackendResidentId(resident_id));
  call->request.set_filing_id(filing_id);
  stub_->async()->RevokeFiling(
      &call->context, &call->request, &call->response,
      [this, call, resident_id, filing_id, caller_deadline_binds,
       done = std::move(done)](grpc::Status status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok()) {
          return done(MapSettlementError(status, caller_deadline_binds, "such filing for this person"));
        }
        absl::StatusOr<FilingRecord> revoked =
            translator_.TranslateFilingRecord("filing", resident_id, owned->response.filing());
        if (!revoked.ok()) return done(revoked.status());
        if (revoked->filing_id != filing_id || !revoked->revoked) {
          return done(absl::InternalError(
              absl::StrCat("city ", CityName(options_.city), " answered an untranslatable filing.",
                           revoked->filing_id != filing_id ? "filing_id: it is not the filing asked about"
                                                           : "revoked: a revoked filing must say so")));
        }
        done(*std::move(revoked));
      });
}

void GrpcBackendAdapter::ListFilings(const std::string& resident_id, const CallOptions& options,
                                     Callback<std::vector<FilingRecord>> done) {
  using Call = PendingCall<backend::ListFilingsRequest, backend::ListFilingsResponse>;
  auto* call = new Call;
  const bool caller_deadline_binds = Prepare(options, &call->context);
  call->request.set_resident_id(translator_.BackendResidentId(resident_id));
  stub_->async()->ListFilings(
      &call->context, &call->request, &call->response,
      [this, call, resident_id, caller_deadline_binds, done = std::move(done)](grpc::Status status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok())
          return done(MapSettlementError(status, caller_deadline_binds, "filings for this person"));
        std::vector<FilingRecord> filings;
        filings.reserve(owned->response.filings_size());
        for (int i = 0; i < owned->response.filings_size(); ++i) {
          absl::StatusOr<FilingRecord> filing = translator_.TranslateFilingRecord(
              absl::StrCat("filings[", i, "]"), resident_id, owned->response.filings(i));
          if (!filing.ok()) return done(filing.status());
          filings.push_back(*std::move(filing));
        }
        done(std::move(filings));
      });
}

// --- Certificates.

void GrpcBackendAdapter::SignCertificate(const std::string& payload, const CallOptions& options,
                                         Callback<CertificateSignature> done) {
  using Call = PendingCall<backend::SignCertificateRequest, backend::SignCertificateResponse>;
  auto* call = new Call;
  const bool caller_deadline_binds = Prepare(options, &call->context);
  call->request.set_payload(payload);
  stub_->async()->SignCertificate(
      &call->context, &call->request, &call->response,
      [this, call, caller_deadline_binds, done = std::move(done)](grpc::Status status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok()) return done(MapSettlementError(status, caller_deadline_binds, "certificate signing"));
        const backend::SignCertificateResponse& response = owned->response;
        if (response.signature().empty() || response.key_id().empty() ||
            (response.algorithm() != "ecdsa-p256-sha256" && response.algorithm() != "sm2-sm3")) {
          return done(absl::InternalError(
              absl::StrCat("city ", CityName(options_.city),
                           " answered an untranslatable certificate signature: it needs a signature, a key_id and "
                           "an algorithm of \"ecdsa-p256-sha256\" or \"sm2-sm3\"")));
        }
        done(CertificateSignature{response.signature(), response.key_id(), response.algorithm()});
      });
}

}  // namespace interop::adapters
