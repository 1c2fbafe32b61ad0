#include "gateway/store/postgres/postgres_location_store.h"
#include "gateway/base/thread_name.h"

#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace interop::store::pg {
namespace {

// The store's migrations (append-only: never edit a released script; add one). One row per
// (resident_id, domain): domain is the RecordDomain number, cities the interop.common.v1.City
// numbers (empty for a negative entry), learned_at unix milliseconds.
const std::vector<std::string>& LocationMigrations() {
  static const auto* migrations = new std::vector<std::string>{
      // 1: the record locator's index.
      "CREATE TABLE record_locations ("
      "  resident_id TEXT NOT NULL,"
      "  domain SMALLINT NOT NULL,"
      "  cities INTEGER[] NOT NULL,"
      "  learned_at_unix_ms BIGINT NOT NULL,"
      "  PRIMARY KEY (resident_id, domain))",
  };
  return *migrations;
}

// An INTEGER[] in PostgreSQL's text form: "{1,4}".
std::string CitiesArray(const std::vector<common::v1::City>& cities) {
  return absl::StrCat("{", absl::StrJoin(cities, ",", [](std::string* out, common::v1::City c) {
                        absl::StrAppend(out, static_cast<int>(c));
                      }),
                      "}");
}

std::vector<common::v1::City> ParseCitiesArray(absl::string_view text) {
  std::vector<common::v1::City> cities;
  absl::ConsumePrefix(&text, "{");
  absl::ConsumeSuffix(&text, "}");
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int value = 0;
    if (absl::SimpleAtoi(part, &value) && common::v1::City_IsValid(value)) {
      cities.push_back(static_cast<common::v1::City>(value));
    }
  }
  return cities;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresLocationStore>> PostgresLocationStore::Open(PostgresDatabase& database) {
  absl::Status migrated = database.Migrate("record_locations", LocationMigrations());
  if (!migrated.ok()) return migrated;
  std::unique_ptr<PostgresLocationStore> store(new PostgresLocationStore(database));
  store->writer_ = std::thread([s = store.get()] { SetCurrentThreadName("location-write"); s->WriterLoop(); });
  return store;
}

PostgresLocationStore::~PostgresLocationStore() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (writer_.joinable()) writer_.join();
}

absl::StatusOr<std::optional<RecordLocation>> PostgresLocationStore::Get(const std::string& resident_id,
                                                                         RecordDomain domain) {
  {
    absl::MutexLock lock(&mu_);
    auto it = unflushed_.find(Key(resident_id, static_cast<int>(domain)));
    if (it != unflushed_.end()) return it->second.location;
  }
  std::optional<RecordLocation> found;
  absl::Status status = database_.WithConnection([&](Connection& connection) -> absl::Status {
    absl::StatusOr<Result> rows = connection.Exec(
        "SELECT cities, learned_at_unix_ms FROM record_locations WHERE resident_id = $1 AND domain = $2::smallint",
        {Param::Text(resident_id), Param::Int(static_cast<int>(domain))});
    if (!rows.ok()) return rows.status();
    if (rows->rows() == 0) return absl::OkStatus();
    found = RecordLocation{ParseCitiesArray(rows->Text(0, 0)), absl::FromUnixMillis(rows->Int(0, 1))};
    return absl::OkStatus();
  });
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat("reading the record location: ", status.message()));
  }
  return found;
}

absl::Status PostgresLocationStore::Put(const std::string& resident_id, RecordDomain domain,
                                        const RecordLocation& location) {
  absl::MutexLock lock(&mu_);
  unflushed_[Key(resident_id, static_cast<int>(domain))] = Unflushed{location, ++queued_};
  return absl::OkStatus();
}

absl::Status PostgresLocationStore::Forget(const std::string& resident_id, RecordDomain domain) {
  absl::MutexLock lock(&mu_);
  unflushed_[Key(resident_id, static_cast<int>(domain))] = Unflushed{std::nullopt, ++queued_};
  return absl::OkStatus();
}

absl::Status PostgresLocationStore::Flush() {
  absl::MutexLock lock(&mu_);
  std::pair<PostgresLocationStore*, uint64_t> target(this, queued_);
  mu_.Await(absl::Condition(
      +[](std::pair<PostgresLocationStore*, uint64_t>* arg) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return arg->first->committed_ >= arg->second;
      },
      &target));
  absl::Status error = last_error_;
  last_error_ = absl::OkStatus();
  return error;
}

void PostgresLocationStore::WriterLoop() {
  while (true) {
    std::map<Key, Unflushed> batch;
    uint64_t through = 0;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](PostgresLocationStore* s) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return s->stopping_ || s->queued_ > s->taken_;
          },
          this));
      if (queued_ == taken_) return;  // stopping, and nothing left to write
      for (const auto& [key, write] : unflushed_) {
        if (write.sequence > taken_) batch.emplace(key, write);
      }
      through = taken_ = queued_;
    }
    absl::Status status = CommitBatch(batch);
    absl::MutexLock lock(&mu_);
    // Written (or failed): Get() reads the table again for these keys, unless written anew since.
    for (auto it = unflushed_.begin(); it != unflushed_.end();) {
      it = it->second.sequence <= through ? unflushed_.erase(it) : std::next(it);
    }
    committed_ = through;
    if (!status.ok() && last_error_.ok()) last_error_ = status;
  }
}

absl::Status PostgresLocationStore::CommitBatch(const std::map<Key, Unflushed>& batch) {
  absl::Status status = database_.InTransaction([&batch](Connection& connection) -> absl::Status {
    // In key order, one statement per key: the rows are locked in the same order by every replica.
    for (const auto& [key, write] : batch) {
      absl::StatusOr<Result> done =
          write.location.has_value()
              ? connection.Exec(
                    "INSERT INTO record_locations (resident_id, domain, cities, learned_at_unix_ms) "
                    "VALUES ($1, $2::smallint, $3::integer[], $4::bigint) ON CONFLICT (resident_id, domain) DO "
                    "UPDATE SET cities = EXCLUDED.cities, learned_at_unix_ms = EXCLUDED.learned_at_unix_ms",
                    {Param::Text(key.first), Param::Int(key.second), Param::Text(CitiesArray(write.location->cities)),
                     Param::Int(absl::ToUnixMillis(write.location->learned_at))})
              : connection.Exec("DELETE FROM record_locations WHERE resident_id = $1 AND domain = $2::smallint",
                                {Param::Text(key.first), Param::Int(key.second)});
      if (!done.ok()) return done.status();
    }
    return absl::OkStatus();
  });
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat("writing record locations: ", status.message()));
}

}  // namespace interop::store::pg
