#include "gateway/store/schema.h"

namespace interop::store {

const std::vector<std::string>& GatewaySchemaMigrations() {
  static const auto* migrations = new std::vector<std::string>{
      // 1: the record locator's index.
      "CREATE TABLE record_locations ("
      "  resident_id TEXT NOT NULL,"
      "  domain INTEGER NOT NULL,"
      "  cities TEXT NOT NULL,"
      "  learned_at_unix_ms INTEGER NOT NULL,"
      "  PRIMARY KEY (resident_id, domain)) WITHOUT ROWID",
  };
  return *migrations;
}

}  // namespace interop::store
