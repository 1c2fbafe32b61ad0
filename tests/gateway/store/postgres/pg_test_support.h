// For tests against the suite's private PostgreSQL server (ctest fixture "postgres", see
// CMakeLists.txt): a schema of the test's own, so tests never see each other's tables.
#ifndef INTEROP_TESTS_GATEWAY_STORE_POSTGRES_PG_TEST_SUPPORT_H_
#define INTEROP_TESTS_GATEWAY_STORE_POSTGRES_PG_TEST_SUPPORT_H_

#include <string>

namespace interop::store::pg {

// The connection string of the test server's database "interop".
std::string TestServerConninfo();

// A fresh, empty schema on the test server, dropped (with everything in it) on destruction.
// conninfo() connects with that schema first on the search path, so unqualified tables land there.
class TestSchema {
 public:
  TestSchema();
  ~TestSchema();
  TestSchema(const TestSchema&) = delete;
  TestSchema& operator=(const TestSchema&) = delete;

  const std::string& name() const { return name_; }
  const std::string& conninfo() const { return conninfo_; }

 private:
  std::string name_;
  std::string conninfo_;
};

}  // namespace interop::store::pg

#endif  // INTEROP_TESTS_GATEWAY_STORE_POSTGRES_PG_TEST_SUPPORT_H_
