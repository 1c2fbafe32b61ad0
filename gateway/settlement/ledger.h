// The gateway's settlement ledger: every settlement the gateway made, and every reversal, durable
// before the caller hears of it. The clearing between cities is computed from it, and it is
// reconciled against each insured city's own records.
//
// Two tables (see gateway/store/schema.cc, migration 4):
//  - settlements: one row per settlement, keyed by settlement_id, unique on (caller organisation,
//    idempotency key), holding the request digest, the Settlement as answered, and its state;
//  - settlement_events: append-only, one +1 event when settled and one -1 event when reversed,
//    each with its day (China Standard Time, UTC+8), treatment and insured city and the claim
//    amount (fund pay + personal-account pay). The clearing for a period is the sum of its events.
//
// Thread-safe. Writes are group-committed: concurrent writes share one transaction and one sync,
// and each write's callback runs once its transaction is durable (or failed).
//
// Failure semantics of a batch (OpenSqliteSettlementLedger): each write in a batch runs inside its
// own savepoint, after checking its preconditions in the same transaction. A write that is refused
// (ALREADY_EXISTS, NOT_FOUND, FAILED_PRECONDITION) or whose own statements fail (INTERNAL) is rolled
// back to its savepoint and fails alone; the others in the batch still commit. If the batch's
// transaction itself fails (BEGIN, COMMIT, or an error after which SQLite has abandoned the
// transaction), nothing of the batch is kept and every write in it fails with that error:
// UNAVAILABLE if the database stayed locked by another writer, INTERNAL otherwise. Writes that were
// invalid (INVALID_ARGUMENT) fail with that whatever happens to their batch.
//
// Callbacks run on the ledger's completion thread, in commit order, with no lock of the ledger
// held; they may call the ledger again, but must not block waiting for another write's callback.
#ifndef INTEROP_GATEWAY_SETTLEMENT_LEDGER_H_
#define INTEROP_GATEWAY_SETTLEMENT_LEDGER_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gateway/base/cities.h"
#include "interop/common/v1/common.pb.h"
#include "interop/medical/v1/settlement.pb.h"

namespace interop::store::pg {
class PostgresDatabase;
}  // namespace interop::store::pg

namespace interop::settlement {

using ::interop::common::v1::City;

// One settlement as the ledger holds it.
struct LedgerEntry {
  // The settlement as answered to the caller: settlement_id set, state SETTLED or REVERSED,
  // settled_at_unix (and reversed_at_unix once reversed) set.
  medical::v1::Settlement settlement;
  // The organisation that settled it (CallerIdentity::organization) and its idempotency key.
  std::string caller_organization;
  std::string idempotency_key;
  // SHA-256 of the request's canonical form, to tell a retry from a different request.
  std::string request_digest;
  // Intents only: the gateway replica that wrote the intent (its replica id), so that another
  // replica can tell a Settle that may still be in flight elsewhere from one of its own. Stored by
  // RecordIntent and read back by FindIntent/ListIntents; empty for an intent written before the
  // ledger stored owners. Ignored by RecordSettlement, and empty in what Find and ListByInsuredCity
  // answer.
  std::string intent_owner;
};

// The China Standard Time day of a Unix time (the day that clearing and reconciliation use).
absl::CivilDay ChinaDayOf(int64_t unix_seconds);

// --- Shared by the ledger implementations (SQLite and PostgreSQL), so both check alike.

// Whether `city` is one of the five.
bool IsOneOfTheCities(City city);
// The claim of the treatment city on the insured city: fund pay + personal-account pay.
int64_t ClaimFen(const medical::v1::Settlement& settlement);
// The validation RecordSettlement and RecordIntent document: INVALID_ARGUMENT naming what is wrong.
absl::Status ValidateEntry(const LedgerEntry& entry);
// The validation RecordReversal documents.
absl::Status ValidateReversal(const std::string& settlement_id, const medical::v1::Settlement& reversed);

// A day as stored by both ledgers: the integer yyyymmdd.
int64_t DayKey(absl::CivilDay day);
// Position of `city` (its enum value, as stored) in kAllCities; -1 if it is not one of them.
int CityIndex(int64_t city);
// INVALID_ARGUMENT naming both days if `from` is after `to`.
absl::Status ValidatePeriod(absl::CivilDay from, absl::CivilDay to);
// Settlement events summed per (treatment city, insured city), both indexed as in kAllCities.
struct CityPairTotals {
  std::array<std::array<int64_t, kAllCities.size()>, kAllCities.size()> settlements{};
  std::array<std::array<int64_t, kAllCities.size()>, kAllCities.size()> amount_fen{};
};
// Clearing()'s answer for [from, to] from the totals: a cell per ordered pair of different cities
// and each city's net position.
medical::v1::ClearingMatrix BuildClearingMatrix(absl::CivilDay from, absl::CivilDay to, const CityPairTotals& totals);

// A write queued for a ledger's group commit, validated when it is made (the writer skips one
// whose status is not OK).
enum class LedgerWriteKind { kSettlement, kReversal, kIntent, kAbandonIntent };
struct PendingLedgerWrite {
  LedgerWriteKind kind = LedgerWriteKind::kSettlement;
  std::string settlement_id;
  // For a settlement or an intent, the entry; for a reversal, only entry.settlement (the reversed
  // Settlement); nothing for abandoning an intent.
  LedgerEntry entry;
  std::function<void(absl::Status)> done;
  // Not OK from validation on (the writer skips the write), or the write's own outcome.
  absl::Status status;
  // Whether the writer ran the write against the database (so a failed batch fails it too).
  bool attempted = false;
  // PostgreSQL: whether its own statement failed; the batch was then run again without it.
  bool failed_alone = false;
};
// The writes of RecordSettlement, RecordReversal, RecordIntent and AbandonIntent.
PendingLedgerWrite SettlementWrite(LedgerEntry entry, std::function<void(absl::Status)> done);
PendingLedgerWrite ReversalWrite(const std::string& settlement_id, medical::v1::Settlement reversed,
                                 std::function<void(absl::Status)> done);
PendingLedgerWrite IntentWrite(LedgerEntry entry, std::function<void(absl::Status)> done);
PendingLedgerWrite AbandonIntentWrite(const std::string& settlement_id, std::function<void(absl::Status)> done);

// Counters of a ledger's group commit, for monitoring and tests. Monotonic except `queued`.
struct SettlementLedgerStats {
  uint64_t batches_started = 0;   // batches the writer took from the queue (one transaction each)
  uint64_t commits = 0;           // of which committed
  uint64_t failed_commits = 0;    // of which failed as a whole (every write in them failed)
  uint64_t writes_committed = 0;  // settlements and reversals made durable
  uint64_t largest_batch = 0;     // most writes in one batch
  uint64_t queued = 0;            // writes waiting for the writer now
};

class SettlementLedger {
 public:
  virtual ~SettlementLedger() = default;

  // Records a new settlement (state SETTLED) and its +1 event. ALREADY_EXISTS if the settlement id,
  // or the (organisation, key) pair, is already recorded. `done` runs once durable or failed.
  // INVALID_ARGUMENT (nothing written) unless the entry has a settlement_id, state SETTLED,
  // settled_at_unix > 0, insured and treatment cities among the five, a caller_organization and an
  // idempotency_key. The event's day is ChinaDayOf(settled_at_unix); its amount fund_pay +
  // personal_account_pay.
  virtual void RecordSettlement(LedgerEntry entry, std::function<void(absl::Status)> done) = 0;

  // Records the reversal of a SETTLED settlement: its stored Settlement becomes `reversed` (state
  // REVERSED, reversed_at_unix set, balance and accumulators after the reversal), and a -1 event
  // on the reversal day. FAILED_PRECONDITION if already reversed (nothing written), NOT_FOUND if
  // unknown. `done` runs once durable or failed.
  // INVALID_ARGUMENT (nothing written) unless `reversed` has this settlement_id, state REVERSED and
  // reversed_at_unix > 0. The -1 event is on ChinaDayOf(reversed_at_unix) and carries the cities and
  // amount stored with the settlement (not those of `reversed`), so the two events always net to 0.
  virtual void RecordReversal(const std::string& settlement_id, medical::v1::Settlement reversed,
                              std::function<void(absl::Status)> done) = 0;

  // --- Intents: a settlement computed and about to be committed by its insured city. Written
  // (durably) before the city is asked, so that a crash between the city's commit and
  // RecordSettlement leaves a trace to resolve with the city. RecordSettlement removes the intent
  // of its settlement id in the same transaction.

  // Records (or replaces) the intent of entry.settlement.settlement_id, with its intent_owner; same
  // validation as RecordSettlement (state SETTLED, the state it will have). `done` runs once durable
  // or failed.
  virtual void RecordIntent(LedgerEntry entry, std::function<void(absl::Status)> done) = 0;
  // Removes the intent (nothing if there is none). `done` runs once durable or failed.
  virtual void AbandonIntent(const std::string& settlement_id, std::function<void(absl::Status)> done) = 0;
  // The intent with this settlement id, or nullopt.
  virtual absl::StatusOr<std::optional<LedgerEntry>> FindIntent(const std::string& settlement_id) = 0;
  // Every intent, by settlement id.
  virtual absl::StatusOr<std::vector<LedgerEntry>> ListIntents() = 0;

  // The entry with this settlement id, or nullopt. Sees every write whose `done` has run.
  // DATA_LOSS if the stored settlement cannot be parsed.
  virtual absl::StatusOr<std::optional<LedgerEntry>> Find(const std::string& settlement_id) = 0;

  // The clearing for [from, to] (both included): the 20 cells of distinct cities and the five net
  // positions, as documented in interop.medical.v1.ClearingMatrix, summed from the events.
  // INVALID_ARGUMENT if from is after to.
  virtual absl::StatusOr<medical::v1::ClearingMatrix> Clearing(absl::CivilDay from, absl::CivilDay to) = 0;

  // The entries of settlements insured by `insured_city` whose settlement day is in [from, to],
  // by settlement id. INVALID_ARGUMENT if from is after to or the city is not one of the five.
  virtual absl::StatusOr<std::vector<LedgerEntry>> ListByInsuredCity(City insured_city, absl::CivilDay from,
                                                                     absl::CivilDay to) = 0;

  // The group-commit counters; all zero for a ledger that does not keep them.
  virtual SettlementLedgerStats Stats() { return {}; }
};

// A ledger in the gateway's SQLite store at `path` (the same file as the rest of the store, or
// its own), opened with the store's migrations (creating tables as needed). Writes are synced
// (synchronous=FULL) before `done` runs. INVALID_ARGUMENT for "" or ":memory:" (the writer and the
// readers use separate connections to one file); INTERNAL or FAILED_PRECONDITION as
// store::SqliteDatabase::Open. One writer thread batches the writes into transactions; reads use
// their own connection (WAL), so they never wait for a sync. Destroying the ledger commits what is
// queued and runs every callback first; writes submitted after that fail with FAILED_PRECONDITION.
absl::StatusOr<std::unique_ptr<SettlementLedger>> OpenSqliteSettlementLedger(const std::string& path);

// A ledger in the PostgreSQL database that several gateway replicas share (docs/DEPLOYMENT.md). Its
// tables (component "settlement_ledger", the same columns as in SQLite) are created or migrated by
// `database.Migrate()` when it opens; errors as Migrate(). `database` must outlive the ledger and
// have at least two connections (the writer holds one while reads use others).
//
// The contract above holds across replicas, because it is kept by the database and not by a lock
// of this process: a settlement id and an (organisation, idempotency key) pair are recorded once
// (two replicas recording the same one at once: exactly one succeeds, the other gets
// ALREADY_EXISTS naming the first), a settlement is reversed once (the other gets
// FAILED_PRECONDITION), each settlement id has at most one intent (the last RecordIntent wins),
// and every recorded write adds exactly one event, so a Clearing() on any replica sums each once.
// Reads see every write whose `done` has run on any replica, and each read is one consistent
// snapshot. As in SQLite, one writer thread per ledger group-commits the writes queued meanwhile.
// Each write of a batch is one atomic statement, checked against the committed state; a write that
// is refused changes nothing, and a write whose statement fails (INTERNAL) fails alone: the batch's
// transaction is rolled back and run again without it (instead of a savepoint per write). A batch
// that hits a serialization failure or deadlock is run again whole; if its transaction fails
// otherwise, every write in it fails with that error (UNAVAILABLE if the connection was lost).
// Destroying the ledger commits what is queued and runs every callback first.
absl::StatusOr<std::unique_ptr<SettlementLedger>> OpenPostgresSettlementLedger(
    store::pg::PostgresDatabase& database);

}  // namespace interop::settlement

#endif  // INTEROP_GATEWAY_SETTLEMENT_LEDGER_H_
