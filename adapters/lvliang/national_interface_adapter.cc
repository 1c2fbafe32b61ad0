#include "adapters/lvliang/national_interface_adapter.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/base/cities.h"

namespace interop::adapters::lvliang {

absl::StatusOr<std::unique_ptr<NationalInterfaceAdapter>> NationalInterfaceAdapter::Create(
    NationalInterfaceAdapterOptions options, std::unique_ptr<HttpsTransport> transport) {
  if (options.dialect == nullptr) return absl::InvalidArgumentError("dialect: is required");
  absl::Status usable = CheckDialectForNationalInterface(*options.dialect);
  if (!usable.ok()) return usable;
  if (transport == nullptr) return absl::InvalidArgumentError("transport: is required");
  return std::unique_ptr<NationalInterfaceAdapter>(
      new NationalInterfaceAdapter(std::move(options), std::move(transport)));
}

NationalInterfaceAdapter::NationalInterfaceAdapter(NationalInterfaceAdapterOptions options,
                                                   std::unique_ptr<HttpsTransport> transport)
    : options_(std::move(options)),
      dialect_(*options_.dialect),
      city_(dialect_.city()),
      transport_(std::move(transport)) {}

RequestEnvelope NationalInterfaceAdapter::NextEnvelope() {
  RequestEnvelope envelope;
  envelope.inf_time = absl::Now();
  envelope.msgid = message_ids_.Next(envelope.inf_time);
  envelope.region_code = std::string(CityDivisionCode(city_));
  return envelope;
}

absl::Time NationalInterfaceAdapter::Deadline(const CallOptions& options, bool* caller_deadline_binds) const {
  const absl::Time city_deadline = absl::Now() + options_.city_deadline;
  const bool caller_binds = options.deadline <= city_deadline;
  if (caller_deadline_binds != nullptr) *caller_deadline_binds = caller_binds;
  return caller_binds ? options.deadline : city_deadline;
}

absl::Status NationalInterfaceAdapter::MapTransportError(const absl::Status& status,
                                                         bool caller_deadline_binds,
                                                         absl::string_view infno) const {
  absl::string_view city = CityName(city_);
  switch (status.code()) {
    case absl::StatusCode::kDeadlineExceeded:
      if (caller_deadline_binds) {
        return absl::DeadlineExceededError(
            absl::StrCat("the call's deadline passed while waiting for city ", city));
      }
      return absl::UnavailableError(absl::StrCat("city ", city, " did not answer within its deadline of ",
                                                 absl::FormatDuration(options_.city_deadline)));
    case absl::StatusCode::kUnavailable:
      return absl::UnavailableError(absl::StrCat("city ", city, " is unavailable: ", status.message()));
    default:
      return absl::InternalError(
          absl::StrCat("city ", city, " failed to answer transaction ", infno, ": ", status.message()));
  }
}

template <typename T>
void NationalInterfaceAdapter::Call(absl::string_view infno, std::string body, const CallOptions& options,
                                    std::function<absl::StatusOr<T>(const std::string& reply)> translate,
                                    Callback<T> done) {
  HttpsRequest request;
  request.method = "POST";
  request.path = kCallServicePath;
  request.content_type = "application/json;charset=UTF-8";
  request.body = std::move(body);
  bool caller_deadline_binds = false;
  request.deadline = Deadline(options, &caller_deadline_binds);
  request.headers.emplace_back("Accept", "application/json");
  if (!options.request_id.empty()) request.headers.emplace_back("X-Request-Id", options.request_id);
  transport_->Send(
      std::move(request), [this, infno = std::string(infno), caller_deadline_binds, translate = std::move(translate),
                           done = std::move(done)](absl::StatusOr<HttpsResponse> response) {
        if (!response.ok()) return done(MapTransportError(response.status(), caller_deadline_binds, infno));
        absl::Status http = CheckHttpReply(city_, infno, response->status, response->content_type);
        if (!http.ok()) return done(http);
        done(translate(response->body));
      });
}

void NationalInterfaceAdapter::LocatePerson(const std::string& resident_id, const CallOptions& options,
                                            Callback<PersonLocation> done) {
  Call<PersonLocation>(
      kLocatePersonTransaction, BuildLocatePersonRequest(dialect_, NextEnvelope(), resident_id), options,
      [this, resident_id](const std::string& reply) {
        return ParseLocatePersonReply(dialect_, resident_id, reply);
      },
      std::move(done));
}

void NationalInterfaceAdapter::GetInsuranceStatus(const std::string& resident_id, const CallOptions& options,
                                                  Callback<medical::v1::GetInsuranceStatusResponse> done) {
  Call<medical::v1::GetInsuranceStatusResponse>(
      kPersonInfoTransaction, BuildPersonInfoRequest(dialect_, NextEnvelope(), resident_id), options,
      [this, resident_id](const std::string& reply) {
        return ParsePersonInfoReply(dialect_, resident_id, reply);
      },
      std::move(done));
}

void NationalInterfaceAdapter::GetMonthlyContributions(
    const std::string& resident_id, int from_year, int to_year, const CallOptions& options,
    Callback<std::vector<social::v1::ContributionEntry>> done) {
  Call<std::vector<social::v1::ContributionEntry>>(
      kContributionsTransaction,
      BuildContributionsRequest(dialect_, NextEnvelope(), resident_id, from_year, to_year), options,
      [this, resident_id, from_year, to_year](const std::string& reply) {
        return ParseContributionsReply(dialect_, resident_id, from_year, to_year, reply);
      },
      std::move(done));
}

void NationalInterfaceAdapter::GetHouseholdRecord(const std::string& resident_id, const CallOptions& options,
                                                  Callback<household::v1::GetHouseholdRecordResponse> done) {
  Call<household::v1::GetHouseholdRecordResponse>(
      kHouseholdTransaction, BuildHouseholdRequest(dialect_, NextEnvelope(), resident_id), options,
      [this, resident_id](const std::string& reply) {
        return ParseHouseholdReply(dialect_, resident_id, reply);
      },
      std::move(done));
}

void NationalInterfaceAdapter::CheckHealth(const CallOptions& options,
                                           std::function<void(absl::Status)> done) {
  HttpsRequest request;
  request.method = "GET";
  request.path = kHealthPath;
  request.deadline = Deadline(options, nullptr);
  if (!options.request_id.empty()) request.headers.emplace_back("X-Request-Id", options.request_id);
  transport_->Send(
      std::move(request), [this, done = std::move(done)](absl::StatusOr<HttpsResponse> response) {
        absl::string_view city = CityName(city_);
        if (!response.ok()) {
          return done(absl::UnavailableError(
              absl::StrCat("city ", city, " health check failed: ", response.status().message())));
        }
        if (response->status != 200 || absl::StripAsciiWhitespace(response->body) != "SERVING") {
          return done(absl::UnavailableError(
              absl::StrCat("city ", city, " reports not serving (HTTP ", response->status, ")")));
        }
        done(absl::OkStatus());
      });
}

// --- Cross-city medical settlement.

void NationalInterfaceAdapter::GetMedicalAccount(const std::string& resident_id, int year,
                                                 const CallOptions& options, Callback<MedicalAccount> done) {
  Call<MedicalAccount>(
      kAccountTransaction, BuildAccountRequest(dialect_, NextEnvelope(), resident_id, year), options,
      [this, resident_id, year](const std::string& reply) {
        return ParseAccountReply(dialect_, resident_id, year, reply);
      },
      std::move(done));
}

void NationalInterfaceAdapter::CommitSettlement(const SettlementRecord& settlement, int64_t expected_version,
                                                const CallOptions& options, Callback<CommitResult> done) {
  absl::StatusOr<std::string> body =
      BuildSettleRequest(dialect_, NextEnvelope(), settlement, expected_version);
  if (!body.ok()) return done(body.status());
  Call<CommitResult>(
      kSettleTransaction, *std::move(body), options,
      [this, settlement](const std::string& reply) { return ParseSettleReply(dialect_, settlement, reply); },
      std::move(done));
}

void NationalInterfaceAdapter::ReverseSettlement(const std::string& settlement_id,
                                                 const std::string& resident_id, absl::CivilDay reversed_date,
                                                 const CallOptions& options, Callback<CommitResult> done) {
  absl::StatusOr<std::string> body =
      BuildReverseSettlementRequest(dialect_, NextEnvelope(), settlement_id, resident_id, reversed_date);
  if (!body.ok()) return done(body.status());
  Call<CommitResult>(
      kReverseSettlementTransaction, *std::move(body), options,
      [this, settlement_id, resident_id](const std::string& reply) {
        return ParseReverseSettlementReply(dialect_, settlement_id, resident_id, reply);
      },
      std::move(done));
}

void NationalInterfaceAdapter::GetSettlementRecord(const std::string& settlement_id,
                                                   const CallOptions& options,
                                                   Callback<SettlementRecord> done) {
  Call<SettlementRecord>(
      kSettlementRecordTransaction, BuildSettlementRecordRequest(dialect_, NextEnvelope(), settlement_id),
      options,
      [this, settlement_id](const std::string& reply) {
        return ParseSettlementRecordReply(dialect_, settlement_id, reply);
      },
      std::move(done));
}

// One ListSettlementRecords in progress.
struct NationalInterfaceAdapter::ListState {
  absl::CivilDay from;
  absl::CivilDay to;
  CallOptions options;
  Callback<std::vector<SettlementRecord>> done;
  std::vector<SettlementRecord> records;
  int pages = 0;
};

void NationalInterfaceAdapter::ListSettlementRecords(absl::CivilDay from, absl::CivilDay to,
                                                     const CallOptions& options,
                                                     Callback<std::vector<SettlementRecord>> done) {
  auto state = std::make_unique<ListState>();
  state->from = from;
  state->to = to;
  state->options = options;
  state->done = std::move(done);
  ListNextPage(std::move(state));
}

void NationalInterfaceAdapter::ListNextPage(std::unique_ptr<ListState> state) {
  const std::string after = state->records.empty() ? std::string() : state->records.back().settlement_id;
  absl::StatusOr<std::string> body = BuildReconciliationRequest(dialect_, NextEnvelope(), state->from,
                                                                state->to, after, kReconciliationPageSize);
  if (!body.ok()) return state->done(body.status());
  ++state->pages;
  const absl::CivilDay from = state->from, to = state->to;
  const CallOptions options = state->options;
  // The callback of Call owns the state until it hands it to the next page or finishes.
  ListState* raw = state.release();
  Call<ReconciliationPage>(
      kReconciliationTransaction, *std::move(body), options,
      [this, from, to, after](const std::string& reply) {
        return ParseReconciliationReply(dialect_, from, to, after, reply);
      },
      [this, raw](absl::StatusOr<ReconciliationPage> page) {
        std::unique_ptr<ListState> state(raw);
        if (!page.ok()) return state->done(page.status());
        for (SettlementRecord& record : page->records) state->records.push_back(std::move(record));
        if (!page->more) {
          std::vector<SettlementRecord> records = std::move(state->records);
          return state->done(std::move(records));
        }
        if (state->pages >= kMaxReconciliationPages) {
          return state->done(absl::InternalError(
              absl::StrCat("city ", CityName(city_), " answered more than ", kMaxReconciliationPages,
                           " pages of transaction ", kReconciliationTransaction)));
        }
        ListNextPage(std::move(state));
      });
}

void NationalInterfaceAdapter::FileTreatment(const FilingRecord& filing, const CallOptions& options,
                                             Callback<FilingRecord> done) {
  absl::StatusOr<std::string> body = BuildFileTreatmentRequest(dialect_, NextEnvelope(), filing);
  if (!body.ok()) return done(body.status());
  Call<FilingRecord>(
      kFileTreatmentTransaction, *std::move(body), options,
      [this, filing](const std::string& reply) { return ParseFileTreatmentReply(dialect_, filing, reply); },
      std::move(done));
}

void NationalInterfaceAdapter::RevokeFiling(const std::string& resident_id, const std::string& filing_id,
                                            const CallOptions& options, Callback<FilingRecord> done) {
  Call<FilingRecord>(
      kRevokeFilingTransaction, BuildRevokeFilingRequest(dialect_, NextEnvelope(), resident_id, filing_id),
      options,
      [this, resident_id, filing_id](const std::string& reply) {
        return ParseRevokeFilingReply(dialect_, resident_id, filing_id, reply);
      },
      std::move(done));
}

void NationalInterfaceAdapter::ListFilings(const std::string& resident_id, const CallOptions& options,
                                           Callback<std::vector<FilingRecord>> done) {
  Call<std::vector<FilingRecord>>(
      kFilingQueryTransaction, BuildFilingQueryRequest(dialect_, NextEnvelope(), resident_id), options,
      [this, resident_id](const std::string& reply) {
        return ParseFilingQueryReply(dialect_, resident_id, reply);
      },
      std::move(done));
}

void NationalInterfaceAdapter::SignCertificate(const std::string& payload, const CallOptions& options,
                                               Callback<CertificateSignature> done) {
  Call<CertificateSignature>(
      kSignCertificateTransaction, BuildSignCertificateRequest(NextEnvelope(), payload), options,
      [this](const std::string& reply) { return ParseSignCertificateReply(city_, reply); }, std::move(done));
}

// --- Household migration and pension transfer.

template <typename T>
void NationalInterfaceAdapter::CallBuilt(absl::string_view infno, absl::StatusOr<std::string> body,
                                         const CallOptions& options,
                                         std::function<absl::StatusOr<T>(const std::string& reply)> translate,
                                         Callback<T> done) {
  if (!body.ok()) return done(body.status());
  Call<T>(infno, *std::move(body), options, std::move(translate), std::move(done));
}

void NationalInterfaceAdapter::IssueMoveInPermit(const std::string& request_key, const std::string& resident_id,
                                                 City origin, const std::string& address_code,
                                                 const CallOptions& options, Callback<MoveInPermit> done) {
  CallBuilt<MoveInPermit>(
      kMoveInPermitTransaction,
      BuildMoveInPermitRequest(dialect_, NextEnvelope(), request_key, resident_id, origin, address_code), options,
      [this, resident_id](const std::string& reply) { return ParseMoveInPermitReply(dialect_, resident_id, reply); },
      std::move(done));
}

void NationalInterfaceAdapter::RecordMoveOut(const std::string& request_key, const std::string& resident_id,
                                             City destination, const std::string& permit_number,
                                             absl::CivilDay permit_valid_until, const CallOptions& options,
                                             Callback<MoveOutRecord> done) {
  CallBuilt<MoveOutRecord>(
      kMoveOutTransaction,
      BuildMoveOutRequest(dialect_, NextEnvelope(), request_key, resident_id, destination, permit_number,
                          permit_valid_until),
      options,
      [this, resident_id](const std::string& reply) { return ParseMoveOutReply(dialect_, resident_id, reply); },
      std::move(done));
}

void NationalInterfaceAdapter::SettleIn(const std::string& request_key, const std::string& resident_id,
                                        const std::string& permit_number, const std::string& address_code,
                                        const std::string& name, const CallOptions& options,
                                        Callback<SettleInResult> done) {
  CallBuilt<SettleInResult>(
      kSettleInTransaction,
      BuildSettleInRequest(dialect_, NextEnvelope(), request_key, resident_id, permit_number, address_code, name),
      options,
      [this, resident_id, address_code](const std::string& reply) {
        return ParseSettleInReply(dialect_, resident_id, address_code, reply);
      },
      std::move(done));
}

void NationalInterfaceAdapter::ApplyPensionTransfer(const std::string& request_key, const std::string& resident_id,
                                                    City origin, const CallOptions& options,
                                                    Callback<PensionApplication> done) {
  CallBuilt<PensionApplication>(
      kPensionApplicationTransaction,
      BuildPensionApplicationRequest(dialect_, NextEnvelope(), request_key, resident_id, origin), options,
      [this, resident_id](const std::string& reply) {
        return ParsePensionApplicationReply(dialect_, resident_id, reply);
      },
      std::move(done));
}

void NationalInterfaceAdapter::IssueContactLetter(const std::string& request_key, const std::string& resident_id,
                                                  const std::string& application_number, const CallOptions& options,
                                                  Callback<ContactLetter> done) {
  CallBuilt<ContactLetter>(
      kContactLetterTransaction,
      BuildContactLetterRequest(dialect_, NextEnvelope(), request_key, resident_id, application_number), options,
      [this, resident_id, application_number](const std::string& reply) {
        return ParseContactLetterReply(dialect_, resident_id, application_number, reply);
      },
      std::move(done));
}

void NationalInterfaceAdapter::PreparePensionTransferOut(const std::string& request_key,
                                                         const std::string& resident_id, City destination,
                                                         const std::string& letter_number,
                                                         const CallOptions& options,
                                                         Callback<PreparedTransferOut> done) {
  CallBuilt<PreparedTransferOut>(
      kPrepareTransferOutTransaction,
      BuildPrepareTransferOutRequest(dialect_, NextEnvelope(), request_key, resident_id, destination, letter_number),
      options,
      [this, resident_id](const std::string& reply) {
        return ParsePrepareTransferOutReply(dialect_, resident_id, reply);
      },
      std::move(done));
}

void NationalInterfaceAdapter::CompletePensionTransferOut(const std::string& request_key,
                                                          const std::string& resident_id, City destination,
                                                          const std::string& letter_number,
                                                          int64_t personal_account_fen, int64_t pooled_fund_fen,
                                                          const CallOptions& options,
                                                          Callback<TransferOutCompletion> done) {
  CallBuilt<TransferOutCompletion>(
      kCompleteTransferOutTransaction,
      BuildCompleteTransferOutRequest(dialect_, NextEnvelope(), request_key, resident_id, destination, letter_number,
                                      personal_account_fen, pooled_fund_fen),
      options,
      [this, resident_id](const std::string& reply) {
        return ParseCompleteTransferOutReply(dialect_, resident_id, reply);
      },
      std::move(done));
}

void NationalInterfaceAdapter::ConfirmPensionTransferIn(const std::string& request_key,
                                                        const std::string& resident_id,
                                                        const std::string& application_number, City origin,
                                                        const PensionTransferSheet& sheet,
                                                        const CallOptions& options,
                                                        Callback<TransferInConfirmation> done) {
  CallBuilt<TransferInConfirmation>(
      kConfirmTransferInTransaction,
      BuildConfirmTransferInRequest(dialect_, NextEnvelope(), request_key, resident_id, application_number, origin,
                                    sheet),
      options,
      [this, resident_id](const std::string& reply) {
        return ParseConfirmTransferInReply(dialect_, resident_id, reply);
      },
      std::move(done));
}

}  // namespace interop::adapters::lvliang
