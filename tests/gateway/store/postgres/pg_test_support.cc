#include "tests/gateway/store/postgres/pg_test_support.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "gateway/store/postgres/postgres_database.h"
#include "gtest/gtest.h"

namespace interop::store::pg {

std::string TestServerConninfo() {
  // As tools/postgres/test-server.sh runs it: as "postgres" when the suite runs as root.
  const char* user = geteuid() == 0 ? "postgres" : std::getenv("USER");
  return absl::StrCat("host=", INTEROP_TEST_POSTGRES_DIR, " port=5432 dbname=interop user=",
                      user == nullptr ? "postgres" : user, " connect_timeout=5");
}

namespace {

void Run(const std::string& sql) {
  absl::StatusOr<std::unique_ptr<Connection>> connection = Connect(TestServerConninfo());
  ASSERT_TRUE(connection.ok()) << connection.status()
                               << " (is the ctest fixture 'postgres' running? tools/postgres/test-server.sh)";
  absl::Status status = (*connection)->ExecScript(sql);
  ASSERT_TRUE(status.ok()) << status;
}

}  // namespace

TestSchema::TestSchema() {
  static std::atomic<int> counter{0};
  name_ = absl::StrCat("t_", getpid(), "_", counter++);
  Run(absl::StrCat("DROP SCHEMA IF EXISTS ", name_, " CASCADE; CREATE SCHEMA ", name_));
  conninfo_ = absl::StrCat(TestServerConninfo(), " options='-c search_path=", name_, "'");
}

TestSchema::~TestSchema() { Run(absl::StrCat("DROP SCHEMA IF EXISTS ", name_, " CASCADE")); }

}  // namespace interop::store::pg
