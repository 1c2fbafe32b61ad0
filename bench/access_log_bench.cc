// access_log_bench: how many durable, hash-chained access records per second the access log
// commits with N concurrent appenders, and how long an append waits for durability. SQLite by
// default; PostgreSQL with --postgres_conninfo, optionally as several replicas on one database.
//
//   access_log_bench [--threads=64] [--window=1] [--seconds=10] [--warmup_seconds=1]
//                    [--persons=100000] [--max_batch=1024] [--dir=/tmp] [--verify]
//                    [--person_index_interval_ms=200] [--list_every_ms=0] [--prefill_records=0]
//                    [--sqlite_baseline]
//                    [--postgres_conninfo="host=/tmp/pgbench port=5432 dbname=interop user=postgres"]
//                    [--replicas=1] [--postgres_pool_size=4]
//
// With --postgres_conninfo the log lives in a fresh schema of that database (created, and dropped
// after the run; the conninfo must not set `options` itself), e.g. the server of
// `tools/postgres/test-server.sh start /tmp/pgbench` (which prints the conninfo). --replicas=N opens N
// logs on it, each with a pool of its own, as N gateway processes would (one chain, one head-row
// lock), and spreads the appender threads over them round-robin.
//
// Each appender thread keeps `window` appends outstanding (window 1 = closed loop: append, wait
// for `done`, append again, as a gateway thread serving one call after another does). The log is
// a fresh file in --dir with synchronous=FULL (every commit fsyncs the WAL), checkpoints every
// 10000 records, signed with a freshly generated EC P-256 key. Records look like real ones: an
// 18-character resident id drawn from --persons distinct people, method names, one city consulted.
//
// With --sqlite_baseline it measures plain SQLite instead (see the flag), to calibrate the machine:
// fsync latency on shared virtual disks varies by several times from hour to hour.
//
// Prints records/s, mean batch (records per commit), and p50/p99/max append-to-durable latency,
// measured after --warmup_seconds over --seconds; the person indexer's transactions and its lag (the
// unindexed tail that ListByPerson() scans), sampled every 10 ms; with --list_every_ms, the latency
// of ListByPerson() calls made meanwhile. With --verify it then times a full verification.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gateway/accesslog/access_log.h"
#include "gateway/store/postgres/postgres_database.h"

ABSL_FLAG(int, threads, 64, "Concurrent appender threads.");
ABSL_FLAG(int, window, 1, "Appends each thread keeps outstanding (1 = closed loop).");
ABSL_FLAG(bool, async, false,
          "Appenders as callbacks, not threads: each of the --threads appenders appends its next record from "
          "the `done` of its previous one (on the log's completion thread), as the gateway's call reactors "
          "do. No appender blocks in a thread or has to be woken; --window still applies.");
ABSL_FLAG(double, seconds, 10, "Measured duration.");
ABSL_FLAG(double, warmup_seconds, 1, "Unmeasured run before the measurement.");
ABSL_FLAG(int, persons, 100000, "Distinct persons the records are about.");
ABSL_FLAG(int, max_batch, 1024, "AccessLogOptions::max_batch.");
ABSL_FLAG(std::string, dir, "/tmp", "Directory for the temporary database and keys.");
ABSL_FLAG(bool, verify, false, "After the run, time a full Verify() of the log.");
ABSL_FLAG(bool, sqlite_baseline, false,
          "Instead of the log: plain SQLite inserts of 300-byte rows (no chain, no index) in WAL mode with "
          "synchronous=FULL, at 1, 16 and 64 rows per commit, from one thread: what the disk allows now.");
ABSL_FLAG(int, person_index_interval_ms, 200,
          "AccessLogOptions::person_index_interval; 0: the person indexer runs only when the log is closed "
          "(analysis: the appends without any indexing).");
ABSL_FLAG(int, list_every_ms, 0,
          "During the measurement, one more thread calls ListByPerson(random person, newest, 20) this often "
          "(0: never) and reports its latency.");
ABSL_FLAG(std::string, postgres_conninfo, "",
          "Run against PostgreSQL (libpq connection string) instead of SQLite, in a fresh schema.");
ABSL_FLAG(int, replicas, 1, "With --postgres_conninfo: this many logs (replicas), each with its own pool.");
ABSL_FLAG(int, postgres_pool_size, 4, "With --postgres_conninfo: connections per replica.");
ABSL_FLAG(int64_t, prefill_records, 0,
          "Analysis: before the run, fill the log with this many records (written directly, in one "
          "transaction, with dummy hashes; indexed), to see how a large log behaves. Not with --verify.");

namespace {

using interop::accesslog::AccessLog;
using interop::accesslog::AccessLogOptions;
using interop::accesslog::AccessLogStats;
using interop::accesslog::AccessRecord;
using interop::accesslog::PersonIndexPathFor;
using Clock = std::chrono::steady_clock;

// A valid GB 11643 identity number from a few Taiyuan/Jinzhong address codes.
std::string RandomResidentId(std::mt19937_64& rng) {
  static const char* const kAddresses[] = {"140105", "140106", "140107", "140702", "140728", "141181"};
  std::string id = kAddresses[rng() % 6];
  absl::StrAppendFormat(&id, "%04d%02d%02d%03d", 1940 + static_cast<int>(rng() % 70),
                        1 + static_cast<int>(rng() % 12), 1 + static_cast<int>(rng() % 28),
                        static_cast<int>(rng() % 1000));
  static const int kWeights[] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (id[i] - '0') * kWeights[i];
  id += "10X98765432"[sum % 11];
  return id;
}

struct Keys {
  std::string private_key;
  std::string public_key;
};

Keys WriteKeys(const std::string& dir) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (key == nullptr) {
    std::fprintf(stderr, "cannot generate a key\n");
    std::exit(1);
  }
  Keys keys{dir + "/bench.key", dir + "/bench.pub"};
  BIO* bio = BIO_new_file(keys.private_key.c_str(), "w");
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  BIO_free(bio);
  bio = BIO_new_file(keys.public_key.c_str(), "w");
  PEM_write_bio_PUBKEY(bio, key);
  BIO_free(bio);
  EVP_PKEY_free(key);
  return keys;
}

// Plain SQLite: rows_per_commit rows of ~300 bytes per transaction, for `seconds`. Rows per second.
double SqliteBaseline(const std::string& path, int rows_per_commit, double seconds) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db,
               "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
               "CREATE TABLE IF NOT EXISTS t (sequence INTEGER PRIMARY KEY, a TEXT, b BLOB)",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO t (a, b) VALUES (?, ?)", -1, &insert, nullptr);
  const std::string text(268, 'x');
  const std::string blob(32, '\x5a');
  uint64_t rows = 0;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  while (Clock::now() < end) {
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    for (int i = 0; i < rows_per_commit; ++i, ++rows) {
      sqlite3_bind_text(insert, 1, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
      sqlite3_bind_blob(insert, 2, blob.data(), static_cast<int>(blob.size()), SQLITE_STATIC);
      sqlite3_step(insert);
      sqlite3_reset(insert);
    }
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  sqlite3_finalize(insert);
  sqlite3_close(db);
  return rows / elapsed;
}

// Writes `count` records about `persons` (uniformly) into the log's empty database at `path`, in one
// transaction, with dummy hashes, and indexes them in the log's person index file. Reports SQLite errors on
// stderr.
bool Prefill(const std::string& path, int64_t count, const std::vector<std::string>& persons) {
  sqlite3* db = nullptr;
  auto fail = [&db](const char* what) {
    std::fprintf(stderr, "prefill: %s: %s\n", what, sqlite3_errmsg(db));
    sqlite3_close(db);
    return false;
  };
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return fail("open");
  if (sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) return fail("begin");
  sqlite3_stmt* insert = nullptr;
  if (sqlite3_prepare_v2(
          db,
          "INSERT INTO access_records (sequence, time_unix_us, request_id, caller_organization, "
          "caller_city, caller_role, method, person, purpose, result_code, result_reason, "
          "cities_consulted, previous_hash, record_hash) VALUES (?, ?, ?, 'Bench General Hospital', "
          "'taiyuan', 'hospital', '/interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus', "
          "?, 'PURPOSE_TREATMENT', 0, '', '[\"jinzhong\"]', zeroblob(32), zeroblob(32))",
          -1, &insert, nullptr) != SQLITE_OK) {
    return fail("prepare");
  }
  std::mt19937_64 rng(7);
  const int64_t now_us = absl::ToUnixMicros(absl::Now());
  for (int64_t i = 1; i <= count; ++i) {
    const std::string request_id = absl::StrCat("prefill-", i);
    const std::string& person = persons[rng() % persons.size()];
    sqlite3_bind_int64(insert, 1, i);
    sqlite3_bind_int64(insert, 2, now_us - (count - i) * 1000);
    sqlite3_bind_text(insert, 3, request_id.data(), static_cast<int>(request_id.size()), SQLITE_STATIC);
    sqlite3_bind_text(insert, 4, person.data(), static_cast<int>(person.size()), SQLITE_STATIC);
    if (sqlite3_step(insert) != SQLITE_DONE) return fail("insert");
    sqlite3_reset(insert);
  }
  sqlite3_finalize(insert);
  // The person index's own file (created when the log was first opened), bound to the last record.
  const std::string index = absl::StrCat(
      "COMMIT; ATTACH DATABASE '", PersonIndexPathFor(path), "' AS idx; BEGIN; ",
      "INSERT INTO idx.person_index (person, sequence) SELECT person, sequence FROM access_records "
      "ORDER BY person, sequence; UPDATE idx.index_state SET indexed_through = ",
      count, ", record_hash = (SELECT record_hash FROM access_records WHERE sequence = ", count,
      "); COMMIT; PRAGMA wal_checkpoint(TRUNCATE); PRAGMA idx.wal_checkpoint(TRUNCATE)");
  if (sqlite3_exec(db, index.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) return fail("index");
  sqlite3_close(db);
  return true;
}

// The counters of all logs, summed (largest_batch: the largest of any).
AccessLogStats SumStats(const std::vector<std::unique_ptr<AccessLog>>& logs) {
  AccessLogStats sum;
  for (const auto& log : logs) {
    const AccessLogStats stats = log->Stats();
    sum.batches_started += stats.batches_started;
    sum.commits += stats.commits;
    sum.records_committed += stats.records_committed;
    sum.largest_batch = std::max(sum.largest_batch, stats.largest_batch);
    sum.checkpoints += stats.checkpoints;
    sum.failed_commits += stats.failed_commits;
    sum.person_indexed_through = std::max(sum.person_indexed_through, stats.person_indexed_through);
    sum.person_index_commits += stats.person_index_commits;
  }
  return sum;
}

// A fresh schema for a PostgreSQL run: created on construction, dropped with everything in it on
// destruction. conninfo() puts it first on the search path.
class BenchSchema {
 public:
  explicit BenchSchema(const std::string& conninfo)
      : name_(absl::StrCat("access_log_bench_", getpid())),
        conninfo_(absl::StrCat(conninfo, " options='-c search_path=", name_, "'")),
        admin_conninfo_(conninfo) {
    ok_ = Run(absl::StrCat("DROP SCHEMA IF EXISTS ", name_, " CASCADE; CREATE SCHEMA ", name_));
  }
  ~BenchSchema() {
    if (ok_) Run(absl::StrCat("DROP SCHEMA IF EXISTS ", name_, " CASCADE"));
  }
  bool ok() const { return ok_; }
  const std::string& conninfo() const { return conninfo_; }

 private:
  bool Run(const std::string& sql) {
    absl::StatusOr<std::unique_ptr<interop::store::pg::Connection>> connection =
        interop::store::pg::Connect(admin_conninfo_);
    absl::Status status = connection.ok() ? (*connection)->ExecScript(sql) : connection.status();
    if (!status.ok()) std::fprintf(stderr, "postgresql: %s\n", status.ToString().c_str());
    return status.ok();
  }

  const std::string name_;
  const std::string conninfo_;
  const std::string admin_conninfo_;
  bool ok_ = false;
};

// One appender thread's state, shared with its `done` callbacks.
struct Appender {
  Appender(int window, uint64_t seed) : window(window), rng(seed) {}
  bool HasRoom() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return outstanding < window; }
  bool Idle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return outstanding == 0; }

  const int window;
  mutable absl::Mutex mu;
  int outstanding ABSL_GUARDED_BY(mu) = 0;
  std::vector<int64_t> latencies_ns ABSL_GUARDED_BY(mu);  // appends started inside the measurement
  uint64_t errors ABSL_GUARDED_BY(mu) = 0;
  std::mt19937_64 rng ABSL_GUARDED_BY(mu);
  uint64_t appended ABSL_GUARDED_BY(mu) = 0;
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // As in the gateway: Debian's Abseil checks every lock order otherwise.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const int threads = absl::GetFlag(FLAGS_threads);
  const int window = absl::GetFlag(FLAGS_window);
  if (threads < 1 || window < 1) {
    std::fprintf(stderr, "--threads and --window must be at least 1\n");
    return 2;
  }

  std::string pattern = absl::GetFlag(FLAGS_dir) + "/access_log_bench_XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string dir = pattern;
  if (absl::GetFlag(FLAGS_prefill_records) > 0 && absl::GetFlag(FLAGS_verify)) {
    std::fprintf(stderr, "--prefill_records writes records that do not verify: not with --verify\n");
    return 2;
  }
  const std::string postgres_conninfo = absl::GetFlag(FLAGS_postgres_conninfo);
  const bool postgres = !postgres_conninfo.empty();
  const int replicas = postgres ? absl::GetFlag(FLAGS_replicas) : 1;
  if (replicas < 1 || (!postgres && absl::GetFlag(FLAGS_replicas) != 1)) {
    std::fprintf(stderr, "--replicas must be at least 1, and needs --postgres_conninfo\n");
    return 2;
  }
  if (postgres && absl::GetFlag(FLAGS_prefill_records) > 0) {
    std::fprintf(stderr, "--prefill_records is for SQLite only\n");
    return 2;
  }
  if (absl::GetFlag(FLAGS_sqlite_baseline)) {
    for (int rows_per_commit : {1, 16, 64}) {
      std::printf("sqlite baseline: %2d rows/commit: %.0f rows/s\n", rows_per_commit,
                  SqliteBaseline(dir + "/baseline.db", rows_per_commit, absl::GetFlag(FLAGS_seconds)));
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
    return 0;
  }
  Keys keys = WriteKeys(dir);
  AccessLogOptions options;
  options.sqlite_path = dir + "/access.db";
  options.signing_key_file = keys.private_key;
  options.signing_cert_file = keys.public_key;
  options.max_batch = static_cast<size_t>(absl::GetFlag(FLAGS_max_batch));
  const int index_interval_ms = absl::GetFlag(FLAGS_person_index_interval_ms);
  options.person_index_interval =
      index_interval_ms > 0 ? absl::Milliseconds(index_interval_ms) : absl::InfiniteDuration();

  std::mt19937_64 seed_rng(20261126);
  std::vector<std::string> persons(static_cast<size_t>(std::max(1, absl::GetFlag(FLAGS_persons))));
  for (std::string& person : persons) person = RandomResidentId(seed_rng);

  if (absl::GetFlag(FLAGS_prefill_records) > 0) {
    // Creates the schema, then fills it behind the log's back.
    if (absl::StatusOr<std::unique_ptr<AccessLog>> created = interop::accesslog::OpenSqliteAccessLog(options);
        !created.ok()) {
      std::fprintf(stderr, "%s\n", created.status().ToString().c_str());
      return 1;
    }
    const Clock::time_point prefill_start = Clock::now();
    if (!Prefill(options.sqlite_path, absl::GetFlag(FLAGS_prefill_records), persons)) return 1;
    std::printf("prefilled %lld records in %.1f s\n",
                static_cast<long long>(absl::GetFlag(FLAGS_prefill_records)),
                std::chrono::duration<double>(Clock::now() - prefill_start).count());
  }
  // Mean duration of the writers' transactions (from asking for the lock to the end of COMMIT).
  std::atomic<int64_t> commit_ns{0};
  std::atomic<int64_t> commit_count{0};
  options.commit_observer = [&commit_ns, &commit_count](const interop::accesslog::AccessLogCommit& commit) {
    commit_ns.fetch_add(absl::ToInt64Nanoseconds(commit.duration), std::memory_order_relaxed);
    commit_count.fetch_add(1, std::memory_order_relaxed);
  };
  std::unique_ptr<BenchSchema> schema;
  std::vector<std::unique_ptr<interop::store::pg::PostgresDatabase>> pools;  // outlive `logs`
  std::vector<std::unique_ptr<AccessLog>> logs;
  if (postgres) {
    schema = std::make_unique<BenchSchema>(postgres_conninfo);
    if (!schema->ok()) return 1;
  }
  for (int r = 0; r < replicas; ++r) {
    absl::StatusOr<std::unique_ptr<AccessLog>> opened = absl::UnknownError("not opened");
    if (postgres) {
      absl::StatusOr<std::unique_ptr<interop::store::pg::PostgresDatabase>> pool =
          interop::store::pg::PostgresDatabase::Open(
              {schema->conninfo(), absl::GetFlag(FLAGS_postgres_pool_size)});
      if (!pool.ok()) {
        std::fprintf(stderr, "%s\n", pool.status().ToString().c_str());
        return 1;
      }
      pools.push_back(std::move(*pool));
      opened = interop::accesslog::OpenPostgresAccessLog(options, *pools.back());
    } else {
      opened = interop::accesslog::OpenSqliteAccessLog(options);
    }
    if (!opened.ok()) {
      std::fprintf(stderr, "%s\n", opened.status().ToString().c_str());
      return 1;
    }
    logs.push_back(std::move(*opened));
  }
  AccessLog& log = *logs[0];

  static const char* const kMethods[] = {
      "/interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus",
      "/interop.medical.v1.MedicalInsuranceService/PreSettle",
      "/interop.social.v1.SocialSecurityService/GetContributionHistory",
      "/interop.household.v1.HouseholdRegistrationService/GetRegistration",
  };
  static const char* const kCities[] = {"taiyuan", "yangquan", "jinzhong", "xinzhou", "lvliang"};

  std::atomic<bool> stop{false};
  std::atomic<bool> measuring{false};
  std::vector<std::unique_ptr<Appender>> appenders;
  for (int t = 0; t < threads; ++t) appenders.push_back(std::make_unique<Appender>(window, 1000 + t));
  // The next record of appender `t` (its mu held).
  auto make_record = [&](int t, Appender& me) ABSL_EXCLUSIVE_LOCKS_REQUIRED(me.mu) {
    AccessRecord record;
    record.time = absl::Now();
    record.request_id = absl::StrCat("bench-", t, "-", me.appended++);
    record.caller_organization = "Bench General Hospital";
    record.caller_city = kCities[me.rng() % 5];
    record.caller_role = "hospital";
    record.method = kMethods[me.rng() % 4];
    record.person = persons[me.rng() % persons.size()];
    record.purpose = "PURPOSE_TREATMENT";
    record.result_code = (me.rng() % 20 == 0) ? 7 : 0;
    record.cities_consulted = {kCities[me.rng() % 5]};
    return record;
  };
  // Called when an append of `me` is done.
  auto finished = [&measuring](Appender& me, Clock::time_point start, bool measured, bool ok) {
    const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
    absl::MutexLock lock(&me.mu);
    --me.outstanding;
    if (!ok) ++me.errors;
    if (measured) me.latencies_ns.push_back(ns);
  };
  std::vector<std::thread> workers;
  // --async: appends the next record of appender t, unless stopping.
  std::function<void(int)> append_next = [&](int t) {
    Appender& me = *appenders[t];
    AccessRecord record;
    {
      absl::MutexLock lock(&me.mu);
      if (stop.load(std::memory_order_relaxed)) return;
      ++me.outstanding;
      record = make_record(t, me);
    }
    const bool measured = measuring.load(std::memory_order_relaxed);
    const Clock::time_point start = Clock::now();
    logs[static_cast<size_t>(t) % logs.size()]->Append(
        std::move(record), [&, t, start, measured](absl::StatusOr<uint64_t> done) {
          finished(*appenders[t], start, measured, done.ok());
          append_next(t);
        });
  };
  if (absl::GetFlag(FLAGS_async)) {
    for (int w = 0; w < window; ++w) {
      for (int t = 0; t < threads; ++t) append_next(t);
    }
  } else {
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        Appender& me = *appenders[t];
        AccessLog& log = *logs[static_cast<size_t>(t) % logs.size()];
        while (!stop.load(std::memory_order_relaxed)) {
          AccessRecord record;
          {
            absl::MutexLock lock(&me.mu);
            me.mu.Await(absl::Condition(&me, &Appender::HasRoom));
            ++me.outstanding;
            record = make_record(t, me);
          }
          const bool measured = measuring.load(std::memory_order_relaxed);
          const Clock::time_point start = Clock::now();
          log.Append(std::move(record), [&me, &finished, start, measured](absl::StatusOr<uint64_t> done) {
            finished(me, start, measured, done.ok());
          });
        }
      });
    }
  }

  // ListByPerson() calls during the measurement.
  const int list_every_ms = absl::GetFlag(FLAGS_list_every_ms);
  std::vector<int64_t> list_latencies_ns;
  uint64_t list_errors = 0;
  std::thread lister;
  if (list_every_ms > 0) {
    lister = std::thread([&] {
      std::mt19937_64 rng(99);
      while (!stop.load(std::memory_order_relaxed)) {
        absl::SleepFor(absl::Milliseconds(list_every_ms));
        if (!measuring.load(std::memory_order_relaxed)) continue;
        const Clock::time_point start = Clock::now();
        absl::StatusOr<std::vector<AccessRecord>> page =
            log.ListByPerson(persons[rng() % persons.size()], 0, 20);
        list_latencies_ns.push_back(
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
        if (!page.ok()) ++list_errors;
      }
    });
  }

  absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_warmup_seconds)));
  const AccessLogStats before = SumStats(logs);
  const int64_t commit_ns_before = commit_ns.load();
  const int64_t commit_count_before = commit_count.load();
  const Clock::time_point begin = Clock::now();
  const Clock::time_point measure_end =
      begin + std::chrono::duration_cast<Clock::duration>(
                  std::chrono::duration<double>(absl::GetFlag(FLAGS_seconds)));
  measuring.store(true);
  // The person indexer's lag (records committed but not yet indexed), every 10 ms.
  uint64_t lag_samples = 0, lag_sum = 0, lag_max = 0;
  while (Clock::now() < measure_end) {
    absl::SleepFor(absl::Milliseconds(10));
    const uint64_t indexed = log.Stats().person_indexed_through;
    const uint64_t newest = log.LastSequence();
    const uint64_t lag = newest > indexed ? newest - indexed : 0;
    ++lag_samples;
    lag_sum += lag;
    lag_max = std::max(lag_max, lag);
  }
  measuring.store(false);
  const AccessLogStats after = SumStats(logs);
  const int64_t commits_timed = commit_count.load() - commit_count_before;
  const double mean_commit_us =
      commits_timed > 0 ? (commit_ns.load() - commit_ns_before) / 1e3 / commits_timed : 0;
  const double elapsed = std::chrono::duration<double>(Clock::now() - begin).count();
  stop.store(true);
  for (std::thread& worker : workers) worker.join();
  if (lister.joinable()) lister.join();
  // Wait for the outstanding appends.
  for (auto& appender : appenders) {
    absl::MutexLock lock(&appender->mu);
    appender->mu.Await(absl::Condition(appender.get(), &Appender::Idle));
  }

  std::vector<int64_t> latencies;
  uint64_t errors = 0;
  for (auto& appender : appenders) {
    absl::MutexLock lock(&appender->mu);
    latencies.insert(latencies.end(), appender->latencies_ns.begin(), appender->latencies_ns.end());
    errors += appender->errors;
  }
  std::sort(latencies.begin(), latencies.end());
  auto percentile = [&latencies](double p) -> double {
    if (latencies.empty()) return 0;
    size_t index = std::min(latencies.size() - 1, static_cast<size_t>(p * latencies.size()));
    return latencies[index] / 1e3;
  };
  const uint64_t records = after.records_committed - before.records_committed;
  const uint64_t commits = after.commits - before.commits;
  std::printf("%s: %s=%d window=%d persons=%zu seconds=%.1f\n",
              postgres ? absl::StrCat("postgresql, ", replicas, " replica(s)").c_str() : "sqlite",
              absl::GetFlag(FLAGS_async) ? "async appenders" : "threads", threads, window, persons.size(),
              elapsed);
  std::printf("records/s: %.0f  (%llu records, %llu commits, mean batch %.1f, largest %llu, errors %llu)\n",
              records / elapsed, static_cast<unsigned long long>(records),
              static_cast<unsigned long long>(commits),
              commits ? static_cast<double>(records) / commits : 0.0,
              static_cast<unsigned long long>(after.largest_batch), static_cast<unsigned long long>(errors));
  std::printf("append-to-durable latency: p50 %.0f us, p99 %.0f us, max %.0f us; mean commit %.0f us\n",
              percentile(0.50), percentile(0.99), latencies.empty() ? 0.0 : latencies.back() / 1e3,
              mean_commit_us);
  std::printf(
      "person index: %llu transactions, lag mean %.0f max %llu records (%s)\n",
      static_cast<unsigned long long>(after.person_index_commits - before.person_index_commits),
      lag_samples ? static_cast<double>(lag_sum) / lag_samples : 0.0,
      static_cast<unsigned long long>(lag_max),
      index_interval_ms > 0 ? absl::StrCat("every ", index_interval_ms, " ms").c_str() : "only at close");
  if (!list_latencies_ns.empty()) {
    latencies.swap(list_latencies_ns);
    std::sort(latencies.begin(), latencies.end());
    std::printf("ListByPerson(limit 20), %zu calls: p50 %.0f us, p99 %.0f us, max %.0f us, errors %llu\n",
                latencies.size(), percentile(0.50), percentile(0.99), latencies.back() / 1e3,
                static_cast<unsigned long long>(list_errors));
  }

  if (absl::GetFlag(FLAGS_verify)) {
    const Clock::time_point verify_start = Clock::now();
    absl::StatusOr<interop::accesslog::VerificationResult> result = log.Verify(0, 0);
    const double verify_seconds = std::chrono::duration<double>(Clock::now() - verify_start).count();
    if (!result.ok()) {
      std::printf("verify: %s\n", result.status().ToString().c_str());
    } else {
      std::printf("verify: %s, %llu records, %llu checkpoints in %.2f s (%.0f records/s)\n",
                  result->ok ? "OK" : result->problem.c_str(),
                  static_cast<unsigned long long>(result->records_checked),
                  static_cast<unsigned long long>(result->checkpoints_checked), verify_seconds,
                  result->records_checked / verify_seconds);
    }
  }
  const Clock::time_point close_start = Clock::now();
  logs.clear();
  std::printf("close (final checkpoint, indexing the tail): %.2f s\n",
              std::chrono::duration<double>(Clock::now() - close_start).count());
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return errors == 0 ? 0 : 1;
}
