// GrpcBackendAdapter: a CityAdapter for a city whose backend speaks the gRPC city backend contract
// (protos/interop/citybackend/v1/city_backend.proto) in its own dialect.
//
// The per-city adapters in adapters/<city>/ build on it, supplying the city and its dialect (loaded
// from adapters/<city>/dialect.textproto); a DialectTranslator (backend_translation.h) turns
// identity numbers into the backend's form and its answers into canonical types. Every call carries
// the city's deadline (the earlier of the caller's deadline and the configured per-city deadline)
// and is never retried here.
//
// Thread-safe.
#ifndef INTEROP_ADAPTERS_GRPC_BACKEND_GRPC_BACKEND_ADAPTER_H_
#define INTEROP_ADAPTERS_GRPC_BACKEND_GRPC_BACKEND_ADAPTER_H_

#include <memory>

#include "absl/time/time.h"
#include "adapters/city_adapter.h"
#include "adapters/dialect/dialect.h"
#include "adapters/grpc_backend/backend_translation.h"
#include "grpcpp/channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "interop/citybackend/v1/city_backend.grpc.pb.h"

namespace interop::adapters {

struct GrpcBackendOptions {
  City city = City::CITY_UNSPECIFIED;
  // The longest any one call to this city may take.
  absl::Duration city_deadline = absl::Seconds(2);
  // The dialect of the city's backend, for `city`. Null means the contract's reference dialect
  // (Dialect::Reference: integer fen, "YYYYMMDD", UTF-8, national codes).
  std::shared_ptr<const Dialect> dialect;
};

class GrpcBackendAdapter : public CityAdapter {
 public:
  // `stub` is used for the contract's calls; `channel` (the one the stub uses) for health checks.
  GrpcBackendAdapter(GrpcBackendOptions options, std::shared_ptr<grpc::Channel> channel,
                     std::unique_ptr<citybackend::v1::CityBackendService::StubInterface> stub);

  City city() const override { return options_.city; }
  void LocatePerson(const std::string& resident_id, const CallOptions& options,
                    Callback<PersonLocation> done) override;
  void GetInsuranceStatus(const std::string& resident_id, const CallOptions& options,
                          Callback<medical::v1::GetInsuranceStatusResponse> done) override;
  void GetMonthlyContributions(const std::string& resident_id, int from_year, int to_year,
                               const CallOptions& options,
                               Callback<std::vector<social::v1::ContributionEntry>> done) override;
  void GetHouseholdRecord(const std::string& resident_id, const CallOptions& options,
                          Callback<household::v1::GetHouseholdRecordResponse> done) override;
  // Calls the backend's standard grpc.health.v1.Health/Check for the overall service ("").
  void CheckHealth(const CallOptions& options, std::function<void(absl::Status)> done) override;

  // Cross-city medical settlement, over the contract's GetMedicalAccount ... ListFilings. Besides
  // the errors of every call: the backend's ABORTED, ALREADY_EXISTS, FAILED_PRECONDITION and
  // INVALID_ARGUMENT keep their code (naming the city, with the backend's message), UNIMPLEMENTED
  // says the city's backend does not offer it; a request the contract cannot carry (an unset visit
  // type, an amount out of range, ...) is INVALID_ARGUMENT naming the field, without a call. A commit
  // whose answer records other values than were committed is INTERNAL.
  void GetMedicalAccount(const std::string& resident_id, int year, const CallOptions& options,
                         Callback<MedicalAccount> done) override;
  void CommitSettlement(const SettlementRecord& settlement, int64_t expected_version,
                        const CallOptions& options, Callback<CommitResult> done) override;
  void ReverseSettlement(const std::string& settlement_id, const std::string& resident_id,
                         absl::CivilDay reversed_date, const CallOptions& options,
                         Callback<CommitResult> done) override;
  void GetSettlementRecord(const std::string& settlement_id, const CallOptions& options,
                           Callback<SettlementRecord> done) override;
  // Pages through ListSettlementRecords (kListPageSize per page, each page one call with its own
  // city deadline) until the last page. INTERNAL if a record is outside [from, to], the ids are
  // not strictly ascending across pages, a page token repeats, or there are more than
  // kMaxListPages pages.
  void ListSettlementRecords(absl::CivilDay from, absl::CivilDay to, const CallOptions& options,
                             Callback<std::vector<SettlementRecord>> done) override;
  void FileTreatment(const FilingRecord& filing, const CallOptions& options,
                     Callback<FilingRecord> done) override;
  void RevokeFiling(const std::string& resident_id, const std::string& filing_id, const CallOptions& options,
                    Callback<FilingRecord> done) override;
  void ListFilings(const std::string& resident_id, const CallOptions& options,
                   Callback<std::vector<FilingRecord>> done) override;

  // Over the contract's SignCertificate. The backend's FAILED_PRECONDITION and INVALID_ARGUMENT
  // keep their code (naming the city); UNIMPLEMENTED says the backend cannot sign; an answer
  // without a signature or with an unknown algorithm is INTERNAL.
  void SignCertificate(const std::string& payload, const CallOptions& options,
                       Callback<CertificateSignature> done) override;

  // Household migration and pension transfer (grpc_backend_mobility.cc), over the contract's
  // IssueMoveInPermit ... ConfirmPensionTransferIn, with errors as the settlement calls. An answer
  // that cannot be translated (a date, an amount, a sheet of another person, a registration at an
  // address other than the one asked) is INTERNAL naming the field.
  void IssueMoveInPermit(const std::string& request_key, const std::string& resident_id, City origin,
                         const std::string& address_code, const CallOptions& options,
                         Callback<MoveInPermit> done) override;
  void RecordMoveOut(const std::string& request_key, const std::string& resident_id, City destination,
                     const std::string& permit_number, absl::CivilDay permit_valid_until, const CallOptions& options,
                     Callback<MoveOutRecord> done) override;
  void SettleIn(const std::string& request_key, const std::string& resident_id, const std::string& permit_number,
                const std::string& address_code, const std::string& name, const CallOptions& options,
                Callback<SettleInResult> done) override;
  void ApplyPensionTransfer(const std::string& request_key, const std::string& resident_id, City origin,
                            const CallOptions& options, Callback<PensionApplication> done) override;
  void IssueContactLetter(const std::string& request_key, const std::string& resident_id,
                          const std::string& application_number, const CallOptions& options,
                          Callback<ContactLetter> done) override;
  void PreparePensionTransferOut(const std::string& request_key, const std::string& resident_id, City destination,
                                 const std::string& letter_number, const CallOptions& options,
                                 Callback<PreparedTransferOut> done) override;
  void CompletePensionTransferOut(const std::string& request_key, const std::string& resident_id, City destination,
                                  const std::string& letter_number, int64_t personal_account_fen,
                                  int64_t pooled_fund_fen, const CallOptions& options,
                                  Callback<TransferOutCompletion> done) override;
  void ConfirmPensionTransferIn(const std::string& request_key, const std::string& resident_id,
                                const std::string& application_number, City origin,
                                const PensionTransferSheet& sheet, const CallOptions& options,
                                Callback<TransferInConfirmation> done) override;

  static constexpr int kListPageSize = 500;
  static constexpr int kMaxListPages = 10000;

 private:
  struct ListState;
  // Asks for the next page of a ListSettlementRecords.
  void ListNextPage(std::unique_ptr<ListState> state);
  // Sets the deadline (the earlier of the caller's and the city's) and request id on a fresh
  // context. Returns whether the caller's deadline is the earlier one, decided once here so that
  // a timeout is attributed to the right party however late its callback runs.
  bool Prepare(const CallOptions& options, grpc::ClientContext* context) const;
  // Maps a failed backend call to the adapter's error contract: a timeout is DEADLINE_EXCEEDED
  // when the caller's deadline bound the call, UNAVAILABLE naming the city when the city's did.
  absl::Status MapError(const grpc::Status& status, bool caller_deadline_binds,
                        absl::string_view what) const;
  // MapError for the settlement calls: NOT_FOUND says "city X holds no <what>"; ABORTED,
  // ALREADY_EXISTS, FAILED_PRECONDITION and INVALID_ARGUMENT keep their code, UNIMPLEMENTED says
  // the backend does not offer <what>; everything else as MapError.
  absl::Status MapSettlementError(const grpc::Status& status, bool caller_deadline_binds,
                                  absl::string_view what) const;

  const GrpcBackendOptions options_;
  const DialectTranslator translator_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<citybackend::v1::CityBackendService::StubInterface> stub_;
  grpc::GenericStub generic_stub_;
};

}  // namespace interop::adapters

#endif  // INTEROP_ADAPTERS_GRPC_BACKEND_GRPC_BACKEND_ADAPTER_H_
