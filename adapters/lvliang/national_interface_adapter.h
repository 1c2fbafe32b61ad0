// NationalInterfaceAdapter: a CityAdapter for a backend that speaks HTTP/JSON in the envelope of the
// national medical-insurance platform interface (Lüliang's; see adapters/lvliang/NATIONAL_INTERFACE.md).
//
// Each call is one transaction: POST kCallServicePath with the request envelope, then the reply is
// checked and translated by the pure functions of national_interface.h. The transport is an
// HttpsTransport (in production an HttpsClient: mutual TLS, connections kept alive and reused, one
// event thread), so no call blocks the caller's thread. Every call carries the city's deadline (the
// earlier of the caller's deadline and the configured per-city deadline) and is never retried here.
//
// Errors follow adapters/city_adapter.h: NOT_FOUND, UNAVAILABLE (no answer, HTTP 5xx, E9001),
// DEADLINE_EXCEEDED (the caller's deadline passed), INTERNAL (an untranslatable reply, naming the
// city, the transaction and the field); all name the city.
//
// Thread-safe.
#ifndef INTEROP_ADAPTERS_LVLIANG_NATIONAL_INTERFACE_ADAPTER_H_
#define INTEROP_ADAPTERS_LVLIANG_NATIONAL_INTERFACE_ADAPTER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/city_adapter.h"
#include "adapters/dialect/dialect.h"
#include "adapters/lvliang/https_client.h"
#include "adapters/lvliang/national_interface.h"

namespace interop::adapters::lvliang {

struct NationalInterfaceAdapterOptions {
  // The city's dialect (adapters/lvliang/dialect.textproto); its city is the adapter's city.
  std::shared_ptr<const Dialect> dialect;
  // The longest any one call to this city may take.
  absl::Duration city_deadline = absl::Seconds(2);
};

class NationalInterfaceAdapter final : public CityAdapter {
 public:
  // INVALID_ARGUMENT if the dialect is missing or unusable over JSON
  // (CheckDialectForNationalInterface) or `transport` is null.
  static absl::StatusOr<std::unique_ptr<NationalInterfaceAdapter>> Create(
      NationalInterfaceAdapterOptions options, std::unique_ptr<HttpsTransport> transport);

  City city() const override { return city_; }
  void LocatePerson(const std::string& resident_id, const CallOptions& options,
                    Callback<PersonLocation> done) override;
  void GetInsuranceStatus(const std::string& resident_id, const CallOptions& options,
                          Callback<medical::v1::GetInsuranceStatusResponse> done) override;
  void GetMonthlyContributions(const std::string& resident_id, int from_year, int to_year,
                               const CallOptions& options,
                               Callback<std::vector<social::v1::ContributionEntry>> done) override;
  void GetHouseholdRecord(const std::string& resident_id, const CallOptions& options,
                          Callback<household::v1::GetHouseholdRecordResponse> done) override;
  // GET kHealthPath: OK when it answers 200 "SERVING", else UNAVAILABLE naming the city.
  void CheckHealth(const CallOptions& options, std::function<void(absl::Status)> done) override;

  // Cross-city medical settlement, one transaction each (5206, 2207A, 2208A, 5203, 2501A, 2502A,
  // 5301A); errors as SettlementReplyError (national_interface.h), the same codes as the gRPC
  // adapter's. A request the protocol cannot carry is INVALID_ARGUMENT naming the field, without a
  // call.
  void GetMedicalAccount(const std::string& resident_id, int year, const CallOptions& options,
                         Callback<MedicalAccount> done) override;
  void CommitSettlement(const SettlementRecord& settlement, int64_t expected_version,
                        const CallOptions& options, Callback<CommitResult> done) override;
  void ReverseSettlement(const std::string& settlement_id, const std::string& resident_id,
                         absl::CivilDay reversed_date, const CallOptions& options,
                         Callback<CommitResult> done) override;
  void GetSettlementRecord(const std::string& settlement_id, const CallOptions& options,
                           Callback<SettlementRecord> done) override;
  // Pages through 3202 (kReconciliationPageSize per page, each page one transaction with its own
  // city deadline) until more_flag is "0"; INTERNAL after more than kMaxReconciliationPages pages.
  void ListSettlementRecords(absl::CivilDay from, absl::CivilDay to, const CallOptions& options,
                             Callback<std::vector<SettlementRecord>> done) override;
  void FileTreatment(const FilingRecord& filing, const CallOptions& options,
                     Callback<FilingRecord> done) override;
  void RevokeFiling(const std::string& resident_id, const std::string& filing_id, const CallOptions& options,
                    Callback<FilingRecord> done) override;
  void ListFilings(const std::string& resident_id, const CallOptions& options,
                   Callback<std::vector<FilingRecord>> done) override;

  // Transaction L9401: Lüliang signs the certificate payload with its own key.
  void SignCertificate(const std::string& payload, const CallOptions& options,
                       Callback<CertificateSignature> done) override;

  // Household migration (L9302, L9303, L9304) and pension transfer (L9202 ... L9206), one
  // transaction each, `request_key` sent as biz_sn; errors as SettlementReplyError, the same codes as
  // the gRPC adapter's (FAILED_PRECONDITION, NOT_FOUND, ALREADY_EXISTS, INVALID_ARGUMENT naming the
  // city). A request the protocol cannot carry is INVALID_ARGUMENT naming the field, without a call.
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

  static constexpr int kMaxReconciliationPages = 10000;

 private:
  struct ListState;
  // Sends the 3202 page that follows what `state` has collected.
  void ListNextPage(std::unique_ptr<ListState> state);
  // The envelope of a new request.
  RequestEnvelope NextEnvelope();
  // The earlier of the caller's and the city's deadline; sets `*caller_deadline_binds` (when not
  // null) to whether it is the caller's, decided once so a timeout is attributed to the right party.
  absl::Time Deadline(const CallOptions& options, bool* caller_deadline_binds) const;
  // Maps a transport failure to the adapter's error contract: a timeout is DEADLINE_EXCEEDED when
  // the caller's deadline bound the call, UNAVAILABLE naming the city when the city's did.
  absl::Status MapTransportError(const absl::Status& status, bool caller_deadline_binds,
                                 absl::string_view infno) const;
  // POSTs `body` (transaction `infno`) and hands the reply body to `translate`.
  template <typename T>
  void Call(absl::string_view infno, std::string body, const CallOptions& options,
            std::function<absl::StatusOr<T>(const std::string& reply)> translate, Callback<T> done);
  // Call with a body that may not have been built (INVALID_ARGUMENT from a builder: no call).
  template <typename T>
  void CallBuilt(absl::string_view infno, absl::StatusOr<std::string> body, const CallOptions& options,
                 std::function<absl::StatusOr<T>(const std::string& reply)> translate, Callback<T> done);

  NationalInterfaceAdapter(NationalInterfaceAdapterOptions options,
                           std::unique_ptr<HttpsTransport> transport);

  const NationalInterfaceAdapterOptions options_;
  const Dialect& dialect_;
  const City city_;
  std::unique_ptr<HttpsTransport> transport_;
  MessageIdGenerator message_ids_;
};

}  // namespace interop::adapters::lvliang

#endif  // INTEROP_ADAPTERS_LVLIANG_NATIONAL_INTERFACE_ADAPTER_H_
