// For the workflow tests that run on both storage back ends: a database of the test's own (a SQLite
// file in a temp dir, or a fresh schema on the suite's PostgreSQL server, ctest fixture "postgres")
// and any number of WorkflowStore objects on it, each with its own connections, as replicas have.
#ifndef INTEROP_TESTS_GATEWAY_WORKFLOW_WORKFLOW_TEST_DATABASE_H_
#define INTEROP_TESTS_GATEWAY_WORKFLOW_WORKFLOW_TEST_DATABASE_H_

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/store/postgres/postgres_database.h"
#include "gateway/workflow/workflow_store.h"
#include "tests/gateway/store/postgres/pg_test_support.h"

namespace interop::workflow {

enum class Backend { kSqlite, kPostgres };

// "Sqlite" or "Postgres": the suffix of a parameterized test's name.
std::string BackendName(Backend backend);

// For gtest's messages: the name instead of the bytes.
inline void PrintTo(Backend backend, std::ostream* os) { *os << BackendName(backend); }

// Every back end, for INSTANTIATE_TEST_SUITE_P.
std::vector<Backend> AllBackends();

class TestDatabase {
 public:
  explicit TestDatabase(Backend backend);
  // Removes the file or drops the schema. Destroy every store opened here first.
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  Backend backend() const { return backend_; }

  // A new store object on the database: its own SQLite connection, or its own pool of `pool_size`
  // PostgreSQL connections (kept until this TestDatabase is destroyed).
  absl::StatusOr<std::unique_ptr<WorkflowStore>> OpenStore(int pool_size = 4);

  // Runs `sql` on a connection of its own, past the store (for tests of the schema's own guards).
  // ALREADY_EXISTS for a unique violation (either back end); INTERNAL for other errors.
  absl::Status ExecRaw(const std::string& sql);

 private:
  Backend backend_;
  std::string sqlite_dir_;                                           // kSqlite
  std::unique_ptr<store::pg::TestSchema> schema_;                    // kPostgres
  std::vector<std::unique_ptr<store::pg::PostgresDatabase>> pools_;  // kPostgres
};

}  // namespace interop::workflow

#endif  // INTEROP_TESTS_GATEWAY_WORKFLOW_WORKFLOW_TEST_DATABASE_H_
