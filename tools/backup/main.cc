// interop-backup: an online backup of a gateway's embedded store, while the gateway runs.
//
//   interop-backup --config=/etc/interop/gateway.textproto --to=/backup/2026-11-27
//
// Reads the gateway's configuration and copies its SQLite files into the directory --to (created if
// missing; a file already there is never overwritten): the store (store.sqlite_path: location index,
// settlement ledger, workflows) and the access log (access_log.sqlite_path, when a file of its own).
// Each copy is one consistent snapshot made with SQLite's online backup API, checked with PRAGMA
// quick_check (gateway/store/sqlite_backup.h). The access log's person index is not copied: it is
// derived, and a restored gateway rebuilds it. The signing certificates of the access log (the
// current one and access_log.previous_signing_cert_files) are written beside the copies as
// signing-certs.pem, and the copied log is verified with them: every record's hash and link, and
// every signed checkpoint.
//
// To restore: stop the gateway, put the copies back in place of the files (removing their -wal and
// -shm companions and the old person index), start the gateway.
//
// A gateway on PostgreSQL keeps nothing in SQLite: back up its database with PostgreSQL's tools
// (docs/DEPLOYMENT.md); this command says so and exits 2.
//
// Exit codes: 0 copied (and the log verified); 1 copied, but the copied access log does not verify
// (the problem is printed: the source has been changed); 2 usage or configuration errors, or a copy
// failed.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gateway/accesslog/access_log.h"
#include "gateway/config/config_loader.h"
#include "gateway/store/sqlite_backup.h"

namespace {

constexpr char kUsage[] = "usage: interop-backup --config=GATEWAY_CONFIG.textproto --to=DIRECTORY\n";

int UsageError(absl::string_view problem) {
  std::fprintf(stderr, "interop-backup: %s\n%s", std::string(problem).c_str(), kUsage);
  return 2;
}

int Error(absl::string_view problem) {
  std::fprintf(stderr, "interop-backup: %s\n", std::string(problem).c_str());
  return 2;
}

// Writes every file of `sources`, one after the other, to `path`.
bool Concatenate(const std::vector<std::string>& sources, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (const std::string& source : sources) {
    std::ifstream in(source, std::ios::binary);
    if (!in) return false;
    out << in.rdbuf();
  }
  return static_cast<bool>(out.flush());
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  std::string to;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (absl::ConsumePrefix(&arg, "--config=")) {
      config_path = std::string(arg);
    } else if (absl::ConsumePrefix(&arg, "--to=")) {
      to = std::string(arg);
    } else {
      return UsageError(absl::StrCat("unexpected argument \"", argv[i], "\""));
    }
  }
  if (config_path.empty()) return UsageError("--config is required");
  if (to.empty()) return UsageError("--to is required");

  absl::StatusOr<interop::config::v1::GatewayConfig> config =
      interop::config::LoadGatewayConfig(config_path, interop::config::LoadOptions{/*insecure_dev=*/true});
  if (!config.ok()) return Error(absl::StrCat(config_path, ": ", config.status().message()));
  if (!config->store().postgres().conninfo().empty()) {
    return Error(
        "the store is PostgreSQL: back it up with PostgreSQL's tools (pg_basebackup, or pg_dump), see "
        "docs/DEPLOYMENT.md");
  }
  std::error_code error;
  std::filesystem::create_directories(to, error);
  if (error) return Error(absl::StrCat("cannot create ", to, ": ", error.message()));

  const std::string store = config->store().sqlite_path();
  const std::string log = config->access_log().sqlite_path();
  std::vector<std::string> sources = {store};
  if (log != store) sources.push_back(log);
  std::set<std::string> names;
  std::string log_copy;
  for (const std::string& source : sources) {
    const std::string name = std::filesystem::path(source).filename().string();
    if (!names.insert(name).second) {
      return Error(absl::StrCat("two files are named ", name, ": back them up into separate directories"));
    }
    const std::string copy = (std::filesystem::path(to) / name).string();
    absl::StatusOr<interop::store::SqliteBackupResult> copied = interop::store::BackUpSqliteFile(source, copy);
    if (!copied.ok()) return Error(copied.status().message());
    std::printf("%s: copied to %s (%lld pages of %lld bytes, quick_check ok)\n", source.c_str(), copy.c_str(),
                static_cast<long long>(copied->pages), static_cast<long long>(copied->page_size));
    if (source == log) log_copy = copy;
  }

  std::vector<std::string> certs = {config->access_log().signing_cert_file()};
  certs.insert(certs.end(), config->access_log().previous_signing_cert_files().begin(),
               config->access_log().previous_signing_cert_files().end());
  const std::string bundle = (std::filesystem::path(to) / "signing-certs.pem").string();
  if (std::filesystem::exists(bundle, error)) return Error(absl::StrCat(bundle, ": exists already"));
  if (!Concatenate(certs, bundle)) return Error(absl::StrCat("cannot write ", bundle));
  absl::StatusOr<interop::accesslog::VerificationResult> verified =
      interop::accesslog::VerifyAccessLogFile(log_copy, bundle, 1, 0);
  if (!verified.ok()) return Error(absl::StrCat("verifying the copied access log: ", verified.status().message()));
  if (!verified->ok) {
    std::printf("BAD: the copied access log does not verify: %s\n", verified->problem.c_str());
    return 1;
  }
  std::printf("access log: %llu records, %llu checkpoints verified (with %s)\n",
              static_cast<unsigned long long>(verified->records_checked),
              static_cast<unsigned long long>(verified->checkpoints_checked), bundle.c_str());
  return 0;
}
