// MockCityBackend: plays one city's backend (interop.citybackend.v1.CityBackendService) over the
// shared synthetic population, answering only for the records that city holds, in the city's own
// dialect (adapters/<city>/dialect.textproto).
//
// City IT teams run against it before connecting their real systems, so it behaves as the contract
// says a real backend must: NOT_FOUND for records it does not hold, INVALID_ARGUMENT naming the
// field for a malformed identity number, found=false from LocatePerson for unknown persons. And it
// speaks its dialect as a real city system would: codes from the city's tables (the first local
// code listed for each national code), amounts in its money format (yuan always with two
// decimals), dates in its date format, names in its text encoding. A city that keys older persons
// by their legacy 15-digit number (CityDialect.legacy_id_born_before_year) knows those persons only
// by that number: asked with their 18-character number, it does not know them (found=false,
// NOT_FOUND), and it answers with the 15-digit number.
//
// Cross-city medical settlement (GetMedicalAccount ... ListFilings) is answered from a
// MockMedicalLedger (medical_ledger.h), the mock insured city's record of truth, in memory only:
// it starts again from the population when the process restarts. The requests are read in the
// city's dialect, as strictly as the adapter reads answers: a malformed amount, date, identity
// number or code is INVALID_ARGUMENT naming the field ("settlement.total: ...",
// "filing.valid_from: ..."); the national codes of this part (visit types "11"/"21", filing reasons
// "1"-"5", six-digit division codes of the five cities) are not translated. Page tokens of
// ListSettlementRecords are opaque (web-safe base64 of the last settlement_id of the page); page
// sizes above 1000 are served as 1000.
//
// Fault injection (fault_injector.h): every call first passes the backend's FaultInjector, which
// can refuse it (down, an injected error: the handler does not run, nothing is applied), leave it
// hanging until the caller's deadline, or hold its reply for an added latency after the work. No
// faults unless faults().Set(...) asks for them (mock-city's --fault_* flags, MockCityAdmin).
//
// Thread-safe: the population and the dialect are immutable; the ledger and the fault injector are
// thread-safe.
#ifndef INTEROP_TOOLS_MOCK_CITY_MOCK_CITY_SERVICE_H_
#define INTEROP_TOOLS_MOCK_CITY_MOCK_CITY_SERVICE_H_

#include <memory>
#include <string>

#include "adapters/dialect/dialect.h"
#include "gateway/base/clock.h"
#include "interop/citybackend/v1/city_backend.grpc.pb.h"
#include "tools/mock_city/certificate_signer.h"
#include "tools/mock_city/fault_injector.h"
#include "tools/mock_city/grpc_fault_gate.h"
#include "tools/mock_city/medical_ledger.h"
#include "tools/mock_city/mobility_records.h"
#include "tools/mock_city/population.h"

namespace interop::mock_city {

class MockCityBackend final : public citybackend::v1::CityBackendService::CallbackService {
 public:
  // `population` and `clock` must outlive the service. `dialect` must not be null and must cover
  // every national code (Dialect::CheckCoversEveryNationalCode); a national code it cannot write
  // makes the call fail with INTERNAL. Settlement is answered from a ledger of its own, made with
  // default MockMedicalLedgerOptions (no annual caps).
  MockCityBackend(std::shared_ptr<const adapters::Dialect> dialect, const Population& population,
                  const Clock& clock);
  // The same, answering settlement from `ledger` (of the dialect's city), which must outlive the
  // service; a test can then look at the ledger directly.
  MockCityBackend(std::shared_ptr<const adapters::Dialect> dialect, const Population& population,
                  const Clock& clock, MockMedicalLedger& ledger);

  City city() const { return city_; }

  grpc::ServerUnaryReactor* LocatePerson(grpc::CallbackServerContext* context,
                                         const citybackend::v1::LocatePersonRequest* request,
                                         citybackend::v1::LocatePersonResponse* response) override;
  grpc::ServerUnaryReactor* GetMedicalEnrollment(grpc::CallbackServerContext* context,
                                                 const citybackend::v1::GetMedicalEnrollmentRequest* request,
                                                 citybackend::v1::GetMedicalEnrollmentResponse* response) override;
  grpc::ServerUnaryReactor* GetContributions(grpc::CallbackServerContext* context,
                                             const citybackend::v1::GetContributionsRequest* request,
                                             citybackend::v1::GetContributionsResponse* response) override;
  grpc::ServerUnaryReactor* GetHouseholdRegistration(
      grpc::CallbackServerContext* context, const citybackend::v1::GetHouseholdRegistrationRequest* request,
      citybackend::v1::GetHouseholdRegistrationResponse* response) override;

  grpc::ServerUnaryReactor* GetMedicalAccount(grpc::CallbackServerContext* context,
                                              const citybackend::v1::GetMedicalAccountRequest* request,
                                              citybackend::v1::GetMedicalAccountResponse* response) override;
  grpc::ServerUnaryReactor* CommitSettlement(grpc::CallbackServerContext* context,
                                             const citybackend::v1::CommitSettlementRequest* request,
                                             citybackend::v1::CommitSettlementResponse* response) override;
  grpc::ServerUnaryReactor* ReverseSettlement(grpc::CallbackServerContext* context,
                                              const citybackend::v1::ReverseSettlementRequest* request,
                                              citybackend::v1::ReverseSettlementResponse* response) override;
  grpc::ServerUnaryReactor* GetSettlementRecord(
      grpc::CallbackServerContext* context, const citybackend::v1::GetSettlementRecordRequest* request,
      citybackend::v1::GetSettlementRecordResponse* response) override;
  grpc::ServerUnaryReactor* ListSettlementRecords(
      grpc::CallbackServerContext* context, const citybackend::v1::ListSettlementRecordsRequest* request,
      citybackend::v1::ListSettlementRecordsResponse* response) override;
  grpc::ServerUnaryReactor* FileTreatment(grpc::CallbackServerContext* context,
                                          const citybackend::v1::FileTreatmentRequest* request,
                                          citybackend::v1::FileTreatmentResponse* response) override;
  grpc::ServerUnaryReactor* RevokeFiling(grpc::CallbackServerContext* context,
                                         const citybackend::v1::RevokeFilingRequest* request,
                                         citybackend::v1::RevokeFilingResponse* response) override;
  grpc::ServerUnaryReactor* ListFilings(grpc::CallbackServerContext* context,
                                        const citybackend::v1::ListFilingsRequest* request,
                                        citybackend::v1::ListFilingsResponse* response) override;

  // Certificates: signs with `signer` (of this city; must outlive the service). Without one,
  // SignCertificate answers UNIMPLEMENTED. Call before serving.
  void SetCertificateSigner(const MockCertificateSigner* signer) { signer_ = signer; }
  grpc::ServerUnaryReactor* SignCertificate(grpc::CallbackServerContext* context,
                                            const citybackend::v1::SignCertificateRequest* request,
                                            citybackend::v1::SignCertificateResponse* response) override;

  // Household migration and pension transfer (mock_city_mobility.cc), over MockMobilityRecords
  // (mobility_records.h, in memory): the requests are read in the city's dialect as strictly as
  // the settlement ones; request_key is required (at most 200 characters).
  grpc::ServerUnaryReactor* IssueMoveInPermit(grpc::CallbackServerContext* context,
                                              const citybackend::v1::IssueMoveInPermitRequest* request,
                                              citybackend::v1::IssueMoveInPermitResponse* response) override;
  grpc::ServerUnaryReactor* RecordMoveOut(grpc::CallbackServerContext* context,
                                          const citybackend::v1::RecordMoveOutRequest* request,
                                          citybackend::v1::RecordMoveOutResponse* response) override;
  grpc::ServerUnaryReactor* SettleIn(grpc::CallbackServerContext* context,
                                     const citybackend::v1::SettleInRequest* request,
                                     citybackend::v1::SettleInResponse* response) override;
  grpc::ServerUnaryReactor* ApplyPensionTransfer(grpc::CallbackServerContext* context,
                                                 const citybackend::v1::ApplyPensionTransferRequest* request,
                                                 citybackend::v1::ApplyPensionTransferResponse* response) override;
  grpc::ServerUnaryReactor* IssueContactLetter(grpc::CallbackServerContext* context,
                                               const citybackend::v1::IssueContactLetterRequest* request,
                                               citybackend::v1::IssueContactLetterResponse* response) override;
  grpc::ServerUnaryReactor* PreparePensionTransferOut(
      grpc::CallbackServerContext* context, const citybackend::v1::PreparePensionTransferOutRequest* request,
      citybackend::v1::PreparePensionTransferOutResponse* response) override;
  grpc::ServerUnaryReactor* CompletePensionTransferOut(
      grpc::CallbackServerContext* context, const citybackend::v1::CompletePensionTransferOutRequest* request,
      citybackend::v1::CompletePensionTransferOutResponse* response) override;
  grpc::ServerUnaryReactor* ConfirmPensionTransferIn(
      grpc::CallbackServerContext* context, const citybackend::v1::ConfirmPensionTransferInRequest* request,
      citybackend::v1::ConfirmPensionTransferInResponse* response) override;

  MockMedicalLedger& ledger() { return ledger_; }
  MockMobilityRecords& mobility() { return *mobility_; }

  // Number of persons of whom this city holds any record.
  int HeldPersonCount() const;

  // The faults this backend injects (none until set); its known methods are CityBackendService's.
  FaultInjector& faults() { return faults_; }
  // Calls whose answer the fault injection holds for later (delayed replies, hung calls).
  size_t CallsAwaitingFaultReply() const { return fault_gate_.waiting_calls(); }

 private:
  // Ends every handler: answers `status` now, or after the call's injected reply delay.
  grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* context, const grpc::Status& status) {
    return fault_gate_.Finish(context, status);
  }

  MockCityBackend(std::shared_ptr<const adapters::Dialect> dialect, const Population& population,
                  const Clock& clock, std::unique_ptr<MockMedicalLedger> owned_ledger,
                  MockMedicalLedger* ledger);

  // The person the backend keys by `resident_id` (in the dialect's form), or an error status:
  // INVALID_ARGUMENT naming `field` for a malformed number, NOT_FOUND if unknown or asked in the
  // other form.
  grpc::Status Lookup(const std::string& resident_id, const SyntheticPerson** person,
                      absl::string_view field = "resident_id") const;
  // Settlement and filing records, accounts: canonical -> the city's dialect.
  grpc::Status WriteAccount(const adapters::MedicalAccount& account,
                            citybackend::v1::MedicalAccount* out) const;
  void WriteSettlement(const adapters::SettlementRecord& record,
                       citybackend::v1::SettlementRecord* out) const;
  void WriteFiling(const adapters::FilingRecord& filing, citybackend::v1::FilingRecord* out) const;
  // The city's dialect -> canonical, INVALID_ARGUMENT naming `prefix`.field.
  grpc::Status ReadSettlement(const citybackend::v1::SettlementRecord& in, absl::string_view prefix,
                              adapters::SettlementRecord* out) const;
  grpc::Status ReadFiling(const citybackend::v1::FilingRecord& in, absl::string_view prefix,
                          adapters::FilingRecord* out) const;
  grpc::Status ReadDate(absl::string_view field, const std::string& text, absl::CivilDay* day) const;
  grpc::Status ReadMoney(absl::string_view field, const std::string& text, int64_t* fen) const;
  // For the mobility calls (mock_city_mobility.cc): the person of `resident_id`, a valid request
  // key, a city of the five by its six-digit code, the sheet both ways.
  grpc::Status MobilityLookup(const std::string& request_key, const std::string& resident_id,
                              const SyntheticPerson** person) const;
  grpc::Status ReadCity(absl::string_view field, const std::string& code, City* city) const;
  grpc::Status WriteSheet(const adapters::PensionTransferSheet& sheet, const std::string& resident_id,
                          citybackend::v1::PensionTransferSheet* out) const;
  grpc::Status ReadSheet(const citybackend::v1::PensionTransferSheet& in, adapters::PensionTransferSheet* out) const;
  // The city's local code for `national_code` in `table`, or INTERNAL if the dialect has none.
  grpc::Status LocalCode(adapters::CodeTableKind table, const std::string& national_code,
                         std::string* local) const;

  const std::shared_ptr<const adapters::Dialect> dialect_;
  const City city_;
  const Population& population_;
  const Clock& clock_;
  const std::unique_ptr<MockMedicalLedger> owned_ledger_;  // null when the ledger is borrowed
  MockMedicalLedger& ledger_;
  const MockCertificateSigner* signer_ = nullptr;
  // Household register and pension relationships as the workflows change them.
  const std::unique_ptr<MockMobilityRecords> mobility_;
  FaultInjector faults_{CityBackendMethodNames()};
  GrpcFaultGate fault_gate_{faults_};
};

}  // namespace interop::mock_city

#endif  // INTEROP_TOOLS_MOCK_CITY_MOCK_CITY_SERVICE_H_
