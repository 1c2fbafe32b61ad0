// accesslog-verify: checks a gateway access log offline, with only the public key.
//
//   accesslog-verify --db=PATH --cert=SIGNING_CERT_OR_PUBKEY.pem [--first=N] [--last=N]
//   accesslog-verify --postgres_conninfo=CONNINFO --cert=SIGNING_CERT_OR_PUBKEY.pem [--first=N] [--last=N]
//
// Verifies records first..last (default: all) of the log in the SQLite database at --db (one
// gateway) or in the PostgreSQL database that --postgres_conninfo names (a libpq connection string,
// e.g. "host=db.example port=5432 dbname=interop user=auditor": the database gateway replicas share;
// one chain whichever replica wrote each record): sequence continuity, every record's hash and its
// link to the previous record, and every signed checkpoint in the range against --cert (an X.509
// certificate or a PUBLIC KEY PEM of the gateway's EC P-256 signing key; after a key rotation, a
// bundle of the current and earlier ones: a checkpoint is good if one of them signed it). Give exactly one of --db and
// --postgres_conninfo. Only reads (SQLite: opened read-only; PostgreSQL: one REPEATABLE READ snapshot
// on one connection, no migrations), so it is safe to run while the gateway is writing; for
// PostgreSQL a role with SELECT on the access log's tables is enough.
//
// Prints one line and exits:
//   0  "OK: N records, M checkpoints verified" (then, if records after the last checkpoint are not
//      yet signed, a second line "note: records A..B are not yet covered by a signed checkpoint")
//   1  "BAD: record 1041: hash does not match its contents" (the first bad record or checkpoint)
//   2  "usage: ..." or "ERROR: ..." when the check could not run (bad flags, unreadable files, a
//      PostgreSQL server that cannot be reached, a database that holds no access log).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gateway/accesslog/access_log.h"
#include "gateway/store/postgres/postgres_database.h"

namespace {

constexpr char kUsage[] =
    "usage: accesslog-verify --db=PATH --cert=SIGNING_CERT_OR_PUBKEY.pem [--first=N] [--last=N]\n"
    "       accesslog-verify --postgres_conninfo=CONNINFO --cert=SIGNING_CERT_OR_PUBKEY.pem [--first=N] "
    "[--last=N]\n";

struct Flags {
  std::string db;
  std::string postgres_conninfo;
  std::string cert;
  uint64_t first = 1;
  uint64_t last = 0;  // 0: up to the newest
};

int UsageError(absl::string_view problem) {
  std::fprintf(stderr, "accesslog-verify: %s\n%s", std::string(problem).c_str(), kUsage);
  return 2;
}

// Verifies the log that `flags` name, in SQLite or in PostgreSQL (one pooled connection).
absl::StatusOr<interop::accesslog::VerificationResult> Verify(const Flags& flags) {
  if (!flags.db.empty()) {
    return interop::accesslog::VerifyAccessLogFile(flags.db, flags.cert, flags.first, flags.last);
  }
  absl::StatusOr<std::unique_ptr<interop::store::pg::PostgresDatabase>> db =
      interop::store::pg::PostgresDatabase::Open({flags.postgres_conninfo, /*pool_size=*/1});
  if (!db.ok()) return db.status();
  return interop::accesslog::VerifyPostgresAccessLog(**db, flags.cert, flags.first, flags.last);
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    const size_t equals = arg.find('=');
    if (!absl::StartsWith(arg, "--") || equals == absl::string_view::npos) {
      return UsageError(absl::StrCat("unexpected argument \"", arg, "\""));
    }
    absl::string_view name = arg.substr(2, equals - 2);
    absl::string_view value = arg.substr(equals + 1);
    if (name == "db") {
      flags.db = std::string(value);
    } else if (name == "postgres_conninfo") {
      flags.postgres_conninfo = std::string(value);
    } else if (name == "cert") {
      flags.cert = std::string(value);
    } else if (name == "first" || name == "last") {
      uint64_t number = 0;
      if (!absl::SimpleAtoi(value, &number)) {
        return UsageError(absl::StrCat("--", name, " must be a non-negative integer, got \"", value, "\""));
      }
      (name == "first" ? flags.first : flags.last) = number;
    } else {
      return UsageError(absl::StrCat("unknown flag --", name));
    }
  }
  if (flags.db.empty() == flags.postgres_conninfo.empty()) {
    return UsageError("give exactly one of --db and --postgres_conninfo");
  }
  if (flags.cert.empty()) return UsageError("--cert is required");
  if (flags.last != 0 && flags.first > flags.last) return UsageError("--first is after --last");

  absl::StatusOr<interop::accesslog::VerificationResult> result = Verify(flags);
  if (!result.ok()) {
    std::fprintf(stderr, "ERROR: %s\n", std::string(result.status().message()).c_str());
    return 2;
  }
  if (!result->ok) {
    std::printf("BAD: %s\n", result->problem.c_str());
    return 1;
  }
  std::printf("OK: %llu records, %llu checkpoints verified\n",
              static_cast<unsigned long long>(result->records_checked),
              static_cast<unsigned long long>(result->checkpoints_checked));
  if (result->records_checked > 0) {
    const uint64_t first_checked = flags.first == 0 ? 1 : flags.first;
    const uint64_t last_checked = first_checked + result->records_checked - 1;
    if (result->last_signed_sequence < last_checked) {
      std::printf("note: records %llu..%llu are not yet covered by a signed checkpoint\n",
                  static_cast<unsigned long long>(std::max(result->last_signed_sequence + 1, first_checked)),
                  static_cast<unsigned long long>(last_checked));
    }
  }
  return 0;
}
