#include "gateway/store/sqlite_location_store.h"

#include "gateway/base/thread_name.h"
#include "gateway/store/schema.h"

#include <sqlite3.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace interop::store {
namespace {

std::string EncodeCities(const std::vector<common::v1::City>& cities) {
  return absl::StrJoin(cities, ",", [](std::string* out, common::v1::City c) { absl::StrAppend(out, c); });
}

std::vector<common::v1::City> DecodeCities(absl::string_view text) {
  std::vector<common::v1::City> cities;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int value = 0;
    if (absl::SimpleAtoi(part, &value) && common::v1::City_IsValid(value)) {
      cities.push_back(static_cast<common::v1::City>(value));
    }
  }
  return cities;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteLocationStore>> SqliteLocationStore::Open(SqliteDatabase& database) {
  std::unique_ptr<SqliteLocationStore> store(new SqliteLocationStore(database));
  absl::Status loaded = database.WithConnection([&store](sqlite3* db) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT resident_id, domain, cities, learned_at_unix_ms FROM record_locations",
                           -1, &stmt, nullptr) != SQLITE_OK) {
      return absl::InternalError(absl::StrCat("sqlite: loading record locations: ", sqlite3_errmsg(db)));
    }
    absl::MutexLock lock(&store->mu_);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      Key key{reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)),
              static_cast<RecordDomain>(sqlite3_column_int(stmt, 1))};
      RecordLocation location;
      location.cities = DecodeCities(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 2)));
      location.learned_at = absl::FromUnixMillis(sqlite3_column_int64(stmt, 3));
      store->entries_[std::move(key)] = std::move(location);
    }
    sqlite3_finalize(stmt);
    return absl::OkStatus();
  });
  if (!loaded.ok()) return loaded;
  store->writer_ = std::thread([s = store.get()] { SetCurrentThreadName("location-write"); s->WriterLoop(); });
  return store;
}

SqliteLocationStore::~SqliteLocationStore() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (writer_.joinable()) writer_.join();
}

absl::StatusOr<std::optional<RecordLocation>> SqliteLocationStore::Get(const std::string& resident_id,
                                                                       RecordDomain domain) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(Key{resident_id, domain});
  if (it == entries_.end()) return std::optional<RecordLocation>();
  return std::optional<RecordLocation>(it->second);
}

absl::Status SqliteLocationStore::Put(const std::string& resident_id, RecordDomain domain,
                                      const RecordLocation& location) {
  absl::MutexLock lock(&mu_);
  Key key{resident_id, domain};
  entries_[key] = location;
  queue_.push_back(PendingWrite{std::move(key), location});
  ++queued_;
  return absl::OkStatus();
}

absl::Status SqliteLocationStore::Forget(const std::string& resident_id, RecordDomain domain) {
  absl::MutexLock lock(&mu_);
  Key key{resident_id, domain};
  entries_.erase(key);
  queue_.push_back(PendingWrite{std::move(key), std::nullopt});
  ++queued_;
  return absl::OkStatus();
}

absl::Status SqliteLocationStore::Flush() {
  absl::MutexLock lock(&mu_);
  std::pair<SqliteLocationStore*, uint64_t> target(this, queued_);
  mu_.Await(absl::Condition(
      +[](std::pair<SqliteLocationStore*, uint64_t>* arg) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return arg->first->committed_ >= arg->second;
      },
      &target));
  absl::Status error = last_error_;
  last_error_ = absl::OkStatus();
  return error;
}

void SqliteLocationStore::WriterLoop() {
  while (true) {
    std::deque<PendingWrite> batch;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(
                               +[](SqliteLocationStore* s) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                 return s->stopping_ || !s->queue_.empty();
                               },
                               this),
                           absl::Seconds(1));
      if (queue_.empty() && stopping_) return;
      batch.swap(queue_);
    }
    if (batch.empty()) continue;
    absl::Status status = CommitBatch(batch);
    absl::MutexLock lock(&mu_);
    committed_ += batch.size();
    if (!status.ok()) last_error_ = status;
  }
}

absl::Status SqliteLocationStore::CommitBatch(const std::deque<PendingWrite>& batch) {
  return database_.WithConnection([&batch](sqlite3* db) {
    absl::Status status = SqliteDatabase::Exec(db, "BEGIN");
    if (!status.ok()) return status;
    sqlite3_stmt* upsert = nullptr;
    sqlite3_stmt* remove = nullptr;
    sqlite3_prepare_v2(db,
                       "INSERT INTO record_locations (resident_id, domain, cities, learned_at_unix_ms) "
                       "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (resident_id, domain) DO UPDATE SET "
                       "cities = excluded.cities, learned_at_unix_ms = excluded.learned_at_unix_ms",
                       -1, &upsert, nullptr);
    sqlite3_prepare_v2(db, "DELETE FROM record_locations WHERE resident_id = ?1 AND domain = ?2", -1, &remove,
                       nullptr);
    for (const PendingWrite& write : batch) {
      sqlite3_stmt* stmt = write.location.has_value() ? upsert : remove;
      if (stmt == nullptr) break;
      sqlite3_reset(stmt);
      sqlite3_bind_text(stmt, 1, write.key.resident_id.data(), static_cast<int>(write.key.resident_id.size()),
                        SQLITE_TRANSIENT);
      sqlite3_bind_int(stmt, 2, static_cast<int>(write.key.domain));
      if (write.location.has_value()) {
        std::string cities = EncodeCities(write.location->cities);
        sqlite3_bind_text(stmt, 3, cities.data(), static_cast<int>(cities.size()), SQLITE_TRANSIENT);
        sqlite3_bind_int64(stmt, 4, absl::ToUnixMillis(write.location->learned_at));
      }
      if (sqlite3_step(stmt) != SQLITE_DONE) {
        status = absl::InternalError(absl::StrCat("sqlite: writing record location: ", sqlite3_errmsg(db)));
        break;
      }
    }
    bool prepared = upsert != nullptr && remove != nullptr;
    if (!prepared && status.ok()) {
      status = absl::InternalError(absl::StrCat("sqlite: preparing record location writes: ", sqlite3_errmsg(db)));
    }
    sqlite3_finalize(upsert);
    sqlite3_finalize(remove);
    absl::Status end = SqliteDatabase::Exec(db, status.ok() ? "COMMIT" : "ROLLBACK");
    return status.ok() ? end : status;
  });
}

}  // namespace interop::store
