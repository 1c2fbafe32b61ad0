// The public interop.medical.v1.CrossCitySettlementService, on gRPC's callback API.
//
// Settle, in order (docs/SETTLEMENT.md has the full story):
//  1. The call guard: certificate, rate limit, policy (role x method x purpose), the patient's number.
//  2. The request is checked field by field; the treatment city is the calling organisation's city
//     and the hospital's institution code must lie in it.
//  3. One settlement per patient at a time in this process (KeyedSerializer); the insured city's
//     account version guards against other processes.
//  4. The ledger is asked about the settlement id (derived from the calling organisation and the
//     idempotency key): a settled one is answered again (same request) or refused (different
//     request); an intent left by a crash is resolved with the insured city first, unless another
//     gateway replica wrote it lately (its Settle may be in flight there): then the caller is told
//     to retry (UNAVAILABLE, reason SETTLEMENT_IN_PROGRESS, with a retry delay).
//  5. The insured city's account and accumulators, and its filings for a cross-city visit, are
//     read; the split is computed (gateway/settlement/calculator.h). The account comes from the
//     AccountCache (gateway/settlement/account_cache.h) when it holds a fresh one for the person
//     and year, so that a settlement usually costs one call to the insured city (the commit), or
//     two with the filings. Should the calculator refuse a visit on a cached account, the account
//     is read afresh and the split computed again.
//  6. An intent (the computed settlement) is made durable, then the insured city commits it at the
//     account version it was computed against; if the version moved, 5-6 repeat (a few times),
//     always with a fresh read. A commit computed from a cached account that the city refuses for
//     a reason an outdated account could explain (ABORTED, NOT_FOUND, FAILED_PRECONDITION) is
//     retried once from a fresh read, so the cache never changes an answer; such a retry is not
//     counted among the few.
//  7. The ledger records the settlement (intent -> settled, plus its clearing event), durably, and
//     only then is the answer sent.
// A failure at 6 whose outcome is unknown (timeout) leaves the intent; the next call with the same
// key, or the recovery at start-up, asks the city and finishes or abandons it.
//
// The account cache: PreSettle always reads the account from the insured city (a quote shown to a
// patient must not be stale) and stores what it read, so that the usual "PreSettle, then Settle"
// costs one read. A commit or a reversal stores the account after it, as the city answered it; a
// failed commit or reversal forgets the entry.
//
// Thread-safe. Handlers never block on gRPC's threads: ledger reads of more than one row run on a
// WorkQueue, everything else continues in adapter and ledger callbacks.
#ifndef INTEROP_GATEWAY_SERVICES_SETTLEMENT_SERVICE_H_
#define INTEROP_GATEWAY_SERVICES_SETTLEMENT_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "gateway/base/keyed_serializer.h"
#include "gateway/base/work_queue.h"
#include "gateway/services/service_support.h"
#include "gateway/settlement/account_cache.h"
#include "gateway/settlement/ledger.h"
#include "gateway/settlement/medical_rules.h"
#include "interop/medical/v1/settlement.grpc.pb.h"

namespace interop::services {

// Which settlement intents are this process's own, among the gateway replicas sharing a ledger.
struct SettlementIntentOwnership {
  // This process's replica id (the server's ReplicaId: INTEROP_GATEWAY_REPLICA_ID, or "gateway"
  // on the embedded store), written into every intent it records. No two live processes may
  // share one.
  std::string replica_id = "gateway";
  // How old another replica's intent (or one without an owner) must be before a retry of its
  // key here resolves it with the city: younger, that replica's Settle may still be in flight,
  // and asking the city before its commit arrives would abandon a settlement about to be made.
  // A Settle is over well within this (its city commit has a deadline, with a few retries).
  absl::Duration foreign_min_age = absl::Minutes(2);
};

class CrossCitySettlementServiceImpl final : public medical::v1::CrossCitySettlementService::CallbackService {
 public:
  // `rules` may be null: then every method answers FAILED_PRECONDITION (reason
  // SETTLEMENT_NOT_CONFIGURED). `ledger` and `work` must outlive the service. `accounts` (owned;
  // one per gateway process) may be null: then every settlement reads the account from the city.
  CrossCitySettlementServiceImpl(ServiceDependencies deps,
                                 std::shared_ptr<const settlement::MedicalRules> rules,
                                 settlement::SettlementLedger& ledger, WorkQueue& work,
                                 std::unique_ptr<settlement::AccountCache> accounts,
                                 SettlementIntentOwnership ownership = {});

  // The account cache (for its statistics), or nullptr if the service has none.
  const settlement::AccountCache* account_cache() const { return accounts_.get(); }

  // What one RecoverIntents() pass did.
  struct IntentRecovery {
    int settled = 0;     // the city had committed it: now recorded as a settlement
    int abandoned = 0;   // the city had not: the intent is removed
    int unresolved = 0;  // the city or the ledger failed: the intent stays for the next pass
    int too_recent = 0;  // younger than `older_than`: left alone
  };

  // Finishes or abandons the intents that a crash (of this process, or of any replica sharing the
  // ledger) left behind, asking each insured city whether it committed the settlement. Only intents
  // computed at least `older_than` ago (by their settled_at_unix on the service's clock) are
  // touched, and this process's own (by SettlementIntentOwnership::replica_id) at least `own_older_than`
  // ago: a younger one may belong to a Settle still in flight, here or on another replica, and
  // asking its city before that Settle's commit arrived would abandon a settlement about to be
  // made. At start-up nothing of this process is in flight yet, so its own intents (a previous run
  // under the same replica id) can be resolved at any age: `own_older_than` zero. A retry with an
  // intent's key resolves an own intent at any age, another replica's once it is
  // SettlementIntentOwnership::foreign_min_age old. Blocks; call from a worker thread.
  IntentRecovery RecoverIntents(absl::Duration older_than, absl::Duration own_older_than);

  // Counters of the settlement intents since the service was made, for /metrics.
  struct IntentStats {
    uint64_t settled = 0;     // resolved by recovery passes: the city had committed it, now recorded
    uint64_t abandoned = 0;   // resolved by recovery passes: the city had not, removed
    uint64_t unresolved = 0;  // recovery attempts that failed (city or ledger); the next pass retries
    // Old enough to resolve, yet left by the last pass (the city or the ledger failed). Intents too
    // recent to touch are not counted: under load there are always some, Settles in flight.
    int64_t unresolved_after_last_pass = 0;
    uint64_t in_progress = 0;  // Settle calls answered SETTLEMENT_IN_PROGRESS
  };
  IntentStats intent_stats() const;

  grpc::ServerUnaryReactor* FileTreatment(grpc::CallbackServerContext* context,
                                          const medical::v1::FileTreatmentRequest* request,
                                          medical::v1::FileTreatmentResponse* response) override;
  grpc::ServerUnaryReactor* RevokeFiling(grpc::CallbackServerContext* context,
                                         const medical::v1::RevokeFilingRequest* request,
                                         medical::v1::RevokeFilingResponse* response) override;
  grpc::ServerUnaryReactor* CheckFiling(grpc::CallbackServerContext* context,
                                        const medical::v1::CheckFilingRequest* request,
                                        medical::v1::CheckFilingResponse* response) override;
  grpc::ServerUnaryReactor* PreSettle(grpc::CallbackServerContext* context,
                                      const medical::v1::PreSettleRequest* request,
                                      medical::v1::PreSettleResponse* response) override;
  grpc::ServerUnaryReactor* Settle(grpc::CallbackServerContext* context,
                                   const medical::v1::SettleRequest* request,
                                   medical::v1::SettleResponse* response) override;
  grpc::ServerUnaryReactor* ReverseSettlement(grpc::CallbackServerContext* context,
                                              const medical::v1::ReverseSettlementRequest* request,
                                              medical::v1::ReverseSettlementResponse* response) override;
  grpc::ServerUnaryReactor* GetClearingMatrix(grpc::CallbackServerContext* context,
                                              const medical::v1::GetClearingMatrixRequest* request,
                                              medical::v1::GetClearingMatrixResponse* response) override;
  grpc::ServerUnaryReactor* Reconcile(grpc::CallbackServerContext* context,
                                      const medical::v1::ReconcileRequest* request,
                                      medical::v1::ReconcileResponse* response) override;

  // The settlement id of (organisation, idempotency key): "ST" and 24 lower-case hex digits of
  // SHA-256(organisation, 0x00, key).
  static std::string SettlementIdFor(absl::string_view organization, absl::string_view idempotency_key);

 private:
  struct Settling;
  struct Quote;

  // Steps of Settle (see the file comment).
  void LookUpLedger(std::shared_ptr<Settling> s);
  void ResolveIntent(std::shared_ptr<Settling> s, settlement::LedgerEntry intent);
  void ComputeAndCommit(std::shared_ptr<Settling> s);
  void Commit(std::shared_ptr<Settling> s, medical::v1::Settlement computed,
              adapters::MedicalAccount account);
  void RecordAndAnswer(std::shared_ptr<Settling> s, medical::v1::Settlement settled);
  void FinishSettle(const std::shared_ptr<Settling>& s, const absl::Status& status);

  // Reads the patient's account and filings from the insured city and computes the split. With
  // `use_cache`, a fresh account in the cache is used instead of reading it; an account read from
  // the city is stored in the cache in any case.
  void ComputeQuote(const std::string& resident_id, const medical::v1::Visit& visit, City treatment_city,
                    const adapters::CallOptions& options, bool use_cache, std::function<void(City)> consulted,
                    std::function<void(absl::StatusOr<Quote>)> done);

  // Stores `account`, as the insured city answered it after a commit or reversal of a settlement
  // of `year`, in the cache; forgets the entry instead if the answer is not of that year.
  void RememberAccount(City insured_city, const std::string& resident_id, int year,
                       const adapters::MedicalAccount& account);
  void ForgetAccount(City insured_city, const std::string& resident_id, int year);

  absl::Status CheckConfigured() const;

  ServiceDependencies deps_;
  std::shared_ptr<const settlement::MedicalRules> rules_;
  settlement::SettlementLedger& ledger_;
  WorkQueue& work_;
  KeyedSerializer per_person_;
  std::unique_ptr<settlement::AccountCache> accounts_;  // may be null
  const SettlementIntentOwnership ownership_;
  std::atomic<uint64_t> intents_settled_{0};
  std::atomic<uint64_t> intents_abandoned_{0};
  std::atomic<uint64_t> intents_unresolved_{0};
  std::atomic<int64_t> intents_unresolved_after_last_pass_{0};
  std::atomic<uint64_t> intents_in_progress_{0};
};

}  // namespace interop::services

#endif  // INTEROP_GATEWAY_SERVICES_SETTLEMENT_SERVICE_H_
