// BrokenCityBackend: a city backend (interop.citybackend.v1.CityBackendService) that breaks the
// contract on purpose, so that tests can prove that city-conformance (tools/conformance/) notices
// each breach and names it. It plays Taiyuan (adapters/taiyuan/dialect.textproto: national codes,
// integer fen, "YYYYMMDD", UTF-8) and holds two persons (SampleIds()):
//   worker:   medical-insurance enrolment and contribution history, no household registration;
//   resident: medical-insurance enrolment and household registration, no contributions.
//
// What it does wrong, and the check that must fail:
//   LocatePerson of an unknown person answers NOT_FOUND as an error, not found=false
//                                                                        locate-unknown
//   the worker's enrolment has insurance_type_code "ZZ", in no table     records-claimed
//   GetHouseholdRegistration answers a record for anyone, though LocatePerson claims none for the
//   worker (and the unknown person)                          records-unclaimed, unknown-not-found
//   a malformed identity number is INTERNAL, not INVALID_ARGUMENT        malformed-id
//   contribution months come newest first                                contributions-order
//   ... and to_year is ignored                                           contributions-range
//   the resident's balance grows by one fen with every call              consistency
// Settlement (the resident is the settlement person: the one active enrolment that translates):
//   CommitSettlement ignores expected_version, so a stale commit applies   settle-stale-version
//   CommitSettlement of a settlement_id it holds answers the stored settlement as replayed,
//   whatever the amounts (the adapter refuses that answer: INTERNAL)       settle-conflict
//   FileTreatment accepts a filing for treatment in Taiyuan itself        filing-same-city
// What it does right: grpc.health.v1 SERVING, LocatePerson of its two persons, answers at once
// (health, locate-known and deadline pass); the resident's account (NOT_FOUND for anyone else),
// a commit at the current version, its replay, the overdraw refusal, settlement records and
// their listing, reversals and filings otherwise as the contract says (account, settle-commit,
// settle-replay, settle-overdraw, settle-record, settle-reversal and filing pass).
//
// BrokenBackendServer serves it like a mock city: mutual TLS on 127.0.0.1, port 0, with the
// development PKI (certs/make-dev-certs.sh): the server presents city-taiyuan.pem and requires a
// client certificate from ca.pem.
//
// Thread-safe.
#ifndef INTEROP_TESTS_TOOLS_CONFORMANCE_BROKEN_BACKEND_H_
#define INTEROP_TESTS_TOOLS_CONFORMANCE_BROKEN_BACKEND_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/server.h"
#include "interop/citybackend/v1/city_backend.grpc.pb.h"

namespace interop::testing {

class BrokenCityBackend final : public citybackend::v1::CityBackendService::CallbackService {
 public:
  // The worker's and the resident's 18-character numbers (valid).
  static std::string WorkerId();
  static std::string ResidentId();

  grpc::ServerUnaryReactor* LocatePerson(grpc::CallbackServerContext* context,
                                         const citybackend::v1::LocatePersonRequest* request,
                                         citybackend::v1::LocatePersonResponse* response) override;
  grpc::ServerUnaryReactor* GetMedicalEnrollment(
      grpc::CallbackServerContext* context, const citybackend::v1::GetMedicalEnrollmentRequest* request,
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

  // What the ledger holds, for tests: the resident's account balance in fen (300000 at the start),
  // the ids of the settlements committed and not reversed, and of the filings not revoked.
  int64_t account_balance_fen() const;
  std::vector<std::string> UnreversedSettlements() const;
  std::vector<std::string> ValidFilings() const;

 private:
  // One year's accumulators of the resident, in fen.
  struct Accumulators {
    int64_t deductible_used_outpatient = 0;
    int64_t deductible_used_inpatient = 0;
    int64_t fund_paid = 0;
  };

  // The resident's account with the accumulators of `year`, in Taiyuan's dialect.
  void WriteAccount(int year, citybackend::v1::MedicalAccount* account) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Adds (`sign` 1) or takes back (-1) the amounts of `settlement`; false if one is not integer fen.
  bool Apply(const citybackend::v1::SettlementRecord& settlement, int sign)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::atomic<int64_t> balance_fen_{500000};  // what GetMedicalEnrollment answers (the breach)

  // The resident's settlement ledger.
  mutable absl::Mutex mu_;
  int64_t account_balance_fen_ ABSL_GUARDED_BY(mu_) = 300000;
  int64_t version_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<int, Accumulators> years_ ABSL_GUARDED_BY(mu_);
  // As committed, in Taiyuan's dialect, by settlement_id.
  std::map<std::string, citybackend::v1::SettlementRecord> settlements_ ABSL_GUARDED_BY(mu_);
  std::vector<citybackend::v1::FilingRecord> filings_ ABSL_GUARDED_BY(mu_);
};

class BrokenBackendServer {
 public:
  // Starts serving. INVALID_ARGUMENT or NOT_FOUND naming the file if the certificates in
  // `certs_dir` cannot be read; UNAVAILABLE if no port can be bound.
  static absl::StatusOr<std::unique_ptr<BrokenBackendServer>> Start(const std::string& certs_dir);
  // Shuts the server down.
  ~BrokenBackendServer();

  int port() const { return port_; }
  const BrokenCityBackend& service() const { return service_; }
  // The persons it holds, for --sample_ids.
  static std::vector<std::string> SampleIds();

 private:
  BrokenBackendServer() = default;

  BrokenCityBackend service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace interop::testing

#endif  // INTEROP_TESTS_TOOLS_CONFORMANCE_BROKEN_BACKEND_H_
