// load-generator: drives the gateway (or a mock city) with real calls over mutual TLS and reports
// throughput and latency.
//
//   load-generator --target=127.0.0.1:8443 --ca=ca.pem --cert=caller.pem --key=caller.key
//       --ids_file=ids.txt [--mode=closed|open] [--concurrency=64] [--connections=4] [--rate=5000]
//       [--duration_s=10] [--warmup_s=2] [--call=gateway_medical|city_medical|gateway_settle|gateway_presettle_settle]
//       [--label=NAME] [--cpu_pids=PID,...] [--backend_cpu_pids=PID,...] [--max_calls=N]
//       [--targets=HOST:PORT,HOST:PORT,...] [--database_cpu_pids=PID,...]
//
// --targets spreads the connections over several servers (gateway replicas): connection i goes to
// target i mod n, and calls go round-robin over the connections, so each replica gets an equal share
// of the calls (gRPC's client-side round-robin in its simplest form: fixed, no health checks).
//
// closed: `concurrency` calls always in flight, each started when the previous one ends.
// open:   calls started at a fixed `rate` per second whatever the answers do; a call's latency is
//         counted from the time it was due, so neither a slow server nor a late sender flatters
//         the result (no coordinated omission).
// Uses gRPC's callback API: no thread per call. Prints one line of JSON with the figures: calls
// answered OK per second, latency percentiles of the OK answers, the non-OK answers by code with
// the first message of each code, and, with --cpu_pids, the CPU time (user + system, from
// /proc/<pid>/stat) the process under test spent during the measured seconds, per call answered
// (and likewise, with --backend_cpu_pids, the backends behind it, and with --database_cpu_pids, a
// database server and all its child processes).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gateway/tls/tls_credentials.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "interop/citybackend/v1/city_backend.grpc.pb.h"
#include "interop/medical/v1/medical.grpc.pb.h"
#include "interop/medical/v1/settlement.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:8443", "host:port to call (unless --targets is given).");
ABSL_FLAG(std::string, targets, "",
          "Comma-separated host:port of several servers (gateway replicas), instead of --target: "
          "connection i goes to target i mod n, so --connections must be at least n (a multiple of n "
          "for an even share).");
ABSL_FLAG(std::string, server_name, "localhost", "Name expected in the server's certificate.");
ABSL_FLAG(std::string, ca, "", "CA certificate (PEM).");
ABSL_FLAG(std::string, cert, "", "Client certificate (PEM).");
ABSL_FLAG(std::string, key, "", "Client key (PEM).");
ABSL_FLAG(std::string, ids_file, "", "Resident identity numbers to ask about, one per line.");
ABSL_FLAG(std::string, mode, "closed", "closed (fixed concurrency) or open (fixed rate).");
ABSL_FLAG(int32_t, concurrency, 64, "Calls in flight (closed loop).");
ABSL_FLAG(int32_t, connections, 4, "Separate HTTP/2 connections, calls spread round-robin.");
ABSL_FLAG(double, rate, 5000, "Calls started per second (open loop).");
ABSL_FLAG(double, duration_s, 10, "Measured seconds.");
ABSL_FLAG(double, warmup_s, 2, "Seconds of calls before measuring.");
ABSL_FLAG(int64_t, max_calls, 0,
          "Closed loop: stop after this many calls (0: no limit), e.g. with --warmup_s=0 and a long "
          "--duration_s to ask about every person of --ids_file exactly once.");
ABSL_FLAG(std::string, call, "gateway_medical",
          "gateway_medical: MedicalInsuranceService.GetInsuranceStatus with purpose TREATMENT; "
          "city_medical: CityBackendService.GetMedicalEnrollment on a mock city; "
          "gateway_settle: CrossCitySettlementService.Settle of a small emergency outpatient bill at a "
          "Taiyuan hospital (the caller must be a Taiyuan hospital), a fresh idempotency key per call; "
          "gateway_presettle_settle: PreSettle then Settle of that bill (the front desk's flow; counted as "
          "one call, its latency both).");
ABSL_FLAG(std::string, label, "", "Name of the scenario, copied into the output.");
ABSL_FLAG(std::string, cpu_pids, "",
          "Comma-separated process ids of the process under test (for nginx: its master and workers). "
          "Their CPU time during the measured seconds is reported as server_cpu_s and, per call "
          "answered, server_cpu_us_per_call.");
ABSL_FLAG(std::string, backend_cpu_pids, "",
          "Comma-separated process ids of the backends behind the process under test (the mock cities "
          "behind nginx or the gateway): reported as backend_cpu_s and backend_cpu_us_per_call.");
ABSL_FLAG(std::string, database_cpu_pids, "",
          "Comma-separated process ids of a database server's main process (PostgreSQL: the postmaster, "
          "the first line of <data directory>/postmaster.pid). Their CPU time and that of all their "
          "descendants (the backends serving each connection and the background processes, including "
          "those that end during the run) is reported as database_cpu_s and database_cpu_us_per_call.");

namespace {

using Clock = std::chrono::steady_clock;

struct Stats {
  absl::Mutex mu;
  std::vector<int64_t> latencies_us;
  int64_t ok = 0;
  int64_t errors = 0;
  std::map<int, int64_t> by_code;
  std::map<int, std::string> first_message;  // the first message seen for each non-OK code
};

// What /proc/<pid>/stat says about a process's CPU time, in clock ticks.
struct ProcessTimes {
  int parent = 0;
  int64_t own_ticks = 0;       // utime + stime: its own threads
  int64_t children_ticks = 0;  // cutime + cstime: children that ended and that it waited for
};

// /proc/<pid>/stat of `pid`; false if the process is gone (or the file cannot be parsed).
bool ReadProcessTimes(int pid, ProcessTimes* times) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses and may hold spaces: the state is
  // field 3, the parent's pid field 4, utime 14, stime 15, cutime 16 and cstime 17 (proc(5)).
  size_t end_of_name = stat.rfind(')');
  if (end_of_name == std::string::npos || end_of_name + 2 > stat.size()) return false;
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(stat).substr(end_of_name + 2), ' ', absl::SkipEmpty());
  int64_t utime = 0;
  int64_t stime = 0;
  int64_t cutime = 0;
  int64_t cstime = 0;
  if (fields.size() <= 14 || !absl::SimpleAtoi(fields[1], &times->parent) ||
      !absl::SimpleAtoi(fields[11], &utime) || !absl::SimpleAtoi(fields[12], &stime) ||
      !absl::SimpleAtoi(fields[13], &cutime) || !absl::SimpleAtoi(fields[14], &cstime)) {
    return false;
  }
  times->own_ticks = utime + stime;
  times->children_ticks = cutime + cstime;
  return true;
}

double TicksToSeconds(int64_t ticks) {
  static const double ticks_per_second = static_cast<double>(sysconf(_SC_CLK_TCK));
  return static_cast<double>(ticks) / ticks_per_second;
}

// User + system CPU time of the processes `pids` so far, in seconds (all their threads; children
// that are processes of their own are not included). A process that is gone counts 0, so a
// crashed server shows as a drop, not as an error here.
double CpuSeconds(const std::vector<int>& pids) {
  int64_t ticks = 0;
  for (int pid : pids) {
    ProcessTimes times;
    if (ReadProcessTimes(pid, &times)) ticks += times.own_ticks;
  }
  return TicksToSeconds(ticks);
}

// User + system CPU time so far, in seconds, of the processes `roots` and all their descendants:
// those alive now (found by their parent pid in /proc) with their own time, and those that ended and
// were waited for through their parent's cutime + cstime. Between two readings the difference is the
// CPU the whole tree spent, a process that started or ended in between included (as long as its
// parent waits for it, as PostgreSQL's postmaster does).
double TreeCpuSeconds(const std::vector<int>& roots) {
  if (roots.empty()) return 0;
  std::map<int, ProcessTimes> all;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    int pid = 0;
    ProcessTimes times;
    if (absl::SimpleAtoi(entry.path().filename().string(), &pid) && ReadProcessTimes(pid, &times)) {
      all.emplace(pid, times);
    }
  }
  std::multimap<int, int> children;  // parent -> child
  for (const auto& [pid, times] : all) children.emplace(times.parent, pid);
  int64_t ticks = 0;
  std::vector<int> pending(roots.begin(), roots.end());
  std::set<int> seen;
  while (!pending.empty()) {
    const int pid = pending.back();
    pending.pop_back();
    auto found = all.find(pid);
    if (found == all.end() || !seen.insert(pid).second) continue;
    ticks += found->second.own_ticks + found->second.children_ticks;
    auto [begin, end] = children.equal_range(pid);
    for (auto it = begin; it != end; ++it) pending.push_back(it->second);
  }
  return TicksToSeconds(ticks);
}

// The process ids in `text` ("12,34"); INVALID_ARGUMENT naming `flag` if one is not a number > 0.
absl::StatusOr<std::vector<int>> ParsePids(absl::string_view text, absl::string_view flag) {
  std::vector<int> pids;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int pid = 0;
    if (!absl::SimpleAtoi(part, &pid) || pid <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, ": \"", part, "\" is not a process id"));
    }
    pids.push_back(pid);
  }
  return pids;
}

// `text` as the inside of a JSON string.
std::string JsonEscape(absl::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", static_cast<int>(c));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

class Caller {
 public:
  Caller(std::vector<std::shared_ptr<grpc::Channel>> channels, std::vector<std::string> ids, std::string call)
      : ids_(std::move(ids)), call_(std::move(call)) {
    for (auto& channel : channels) {
      gateway_.push_back(interop::medical::v1::MedicalInsuranceService::NewStub(channel));
      city_.push_back(interop::citybackend::v1::CityBackendService::NewStub(channel));
      settlement_.push_back(interop::medical::v1::CrossCitySettlementService::NewStub(channel));
    }
    // Keys unique to this run, so that a second run against the same ledger settles anew.
    run_ = absl::StrCat(absl::ToUnixMicros(absl::Now()));
    absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::FixedTimeZone(8 * 3600));
    today_.set_year(static_cast<int32_t>(today.year()));
    today_.set_month(today.month());
    today_.set_day(today.day());
  }

  using Done = std::function<void(const grpc::Status& status, int64_t latency_us)>;

  // Starts call number `n` (which picks the connection and the person); `done(status, latency)`
  // runs on a gRPC thread when it ends, the latency counted from `start` (when the call was due).
  void Start(uint64_t n, Clock::time_point start, Done done) {
    size_t c = n % gateway_.size();
    const std::string& id = ids_[n % ids_.size()];
    if (call_ == "city_medical") {
      struct Call {
        grpc::ClientContext context;
        interop::citybackend::v1::GetMedicalEnrollmentRequest request;
        interop::citybackend::v1::GetMedicalEnrollmentResponse response;
      };
      auto* call = new Call;
      call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      call->request.set_resident_id(id);
      city_[c]->async()->GetMedicalEnrollment(
          &call->context, &call->request, &call->response, [call, start, done](grpc::Status status) {
            auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
            delete call;
            done(status, us);
          });
      return;
    }
    if (call_ == "gateway_settle" || call_ == "gateway_presettle_settle") {
      struct Call {
        grpc::ClientContext context;
        interop::medical::v1::SettleRequest request;
        interop::medical::v1::SettleResponse response;
        grpc::ClientContext quote_context;
        interop::medical::v1::PreSettleRequest quote_request;
        interop::medical::v1::PreSettleResponse quote_response;
      };
      auto* call = new Call;
      call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      interop::medical::v1::SettleRequest& request = call->request;
      request.mutable_person()->set_resident_id(id);
      request.mutable_access()->set_purpose(interop::common::v1::PURPOSE_TREATMENT);
      request.set_idempotency_key(absl::StrCat("bench-", run_, "-", n));
      interop::medical::v1::Visit* visit = request.mutable_visit();
      visit->mutable_hospital()->set_institution_code("H14010500001");
      visit->mutable_hospital()->set_level(interop::config::v1::HOSPITAL_LEVEL_TERTIARY);
      visit->set_visit_type(interop::config::v1::VISIT_TYPE_OUTPATIENT);
      *visit->mutable_visit_date() = today_;
      visit->set_diagnosis_code("J06.9");
      visit->set_emergency(true);
      visit->set_use_personal_account(true);
      auto* blood_count = visit->add_items();
      blood_count->set_code("003100000010000");
      blood_count->set_quantity_milli(1000);
      blood_count->mutable_unit_price()->set_fen(2500);
      auto* amoxicillin = visit->add_items();
      amoxicillin->set_code("XJ01CAA040A001010101445");
      amoxicillin->set_quantity_milli(1000);
      amoxicillin->mutable_unit_price()->set_fen(2350);
      auto* stub = settlement_[c].get();
      auto settle = [stub, call, start, done] {
        stub->async()->Settle(&call->context, &call->request, &call->response,
                              [call, start, done](grpc::Status status) {
                                auto us =
                                    std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
                                delete call;
                                done(status, us);
                              });
      };
      if (call_ == "gateway_settle") {
        settle();
        return;
      }
      // The front desk's flow: the quote shown to the patient, then the settlement of the same visit.
      call->quote_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      *call->quote_request.mutable_person() = request.person();
      *call->quote_request.mutable_access() = request.access();
      *call->quote_request.mutable_visit() = request.visit();
      stub->async()->PreSettle(&call->quote_context, &call->quote_request, &call->quote_response,
                               [call, start, done, settle](grpc::Status status) {
                                 if (status.ok()) return settle();
                                 auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start)
                                               .count();
                                 delete call;
                                 done(status, us);
                               });
      return;
    }
    struct Call {
      grpc::ClientContext context;
      interop::medical::v1::GetInsuranceStatusRequest request;
      interop::medical::v1::GetInsuranceStatusResponse response;
    };
    auto* call = new Call;
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    call->request.mutable_person()->set_resident_id(id);
    call->request.mutable_access()->set_purpose(interop::common::v1::PURPOSE_TREATMENT);
    gateway_[c]->async()->GetInsuranceStatus(
        &call->context, &call->request, &call->response, [call, start, done](grpc::Status status) {
          auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
          delete call;
          done(status, us);
        });
  }

 private:
  std::vector<std::string> ids_;
  std::string call_;
  std::vector<std::unique_ptr<interop::medical::v1::MedicalInsuranceService::Stub>> gateway_;
  std::vector<std::unique_ptr<interop::citybackend::v1::CityBackendService::Stub>> city_;
  std::vector<std::unique_ptr<interop::medical::v1::CrossCitySettlementService::Stub>> settlement_;
  std::string run_;
  interop::common::v1::Date today_;
};

int64_t Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t i = std::min(sorted.size() - 1, static_cast<size_t>(p * static_cast<double>(sorted.size())));
  return sorted[i];
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // Debian's Abseil checks lock orders for cycles (a debugging aid); not in a load generator.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::vector<std::string> ids;
  {
    std::ifstream in(absl::GetFlag(FLAGS_ids_file));
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) ids.push_back(line);
    }
  }
  if (ids.empty()) {
    std::fprintf(stderr, "load-generator: --ids_file gave no identity numbers\n");
    return 2;
  }
  const std::string call = absl::GetFlag(FLAGS_call);
  if (call != "gateway_medical" && call != "city_medical" && call != "gateway_settle" &&
      call != "gateway_presettle_settle") {
    std::fprintf(stderr, "load-generator: unknown --call=%s (see --help)\n", call.c_str());
    return 2;
  }
  interop::config::v1::TlsFiles files;
  files.set_ca_cert_file(absl::GetFlag(FLAGS_ca));
  files.set_cert_file(absl::GetFlag(FLAGS_cert));
  files.set_key_file(absl::GetFlag(FLAGS_key));
  auto credentials = interop::tls::MakeMutualTlsChannelCredentials(files);
  if (!credentials.ok()) {
    std::fprintf(stderr, "load-generator: %s\n", std::string(credentials.status().message()).c_str());
    return 2;
  }
  std::vector<std::string> targets = absl::StrSplit(absl::GetFlag(FLAGS_targets), ',', absl::SkipEmpty());
  if (targets.empty()) targets.push_back(absl::GetFlag(FLAGS_target));
  const int connections = std::max(1, absl::GetFlag(FLAGS_connections));
  if (static_cast<size_t>(connections) < targets.size()) {
    std::fprintf(stderr, "load-generator: --connections=%d is fewer than the %zu --targets\n", connections,
                 targets.size());
    return 2;
  }
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < connections; ++i) {
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride(absl::GetFlag(FLAGS_server_name));
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
    args.SetInt("load-generator.connection", i);
    channels.push_back(grpc::CreateCustomChannel(targets[i % targets.size()], *credentials, args));
    channels.back()->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10));
  }
  Caller caller(channels, ids, absl::GetFlag(FLAGS_call));

  Stats stats;
  std::atomic<bool> measuring{false};
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> in_flight{0};
  std::atomic<uint64_t> sequence{0};
  absl::Notification drained;

  std::function<void(const grpc::Status&, int64_t)> record = [&](const grpc::Status& status, int64_t us) {
    if (measuring.load()) {
      absl::MutexLock lock(&stats.mu);
      if (status.ok()) {
        ++stats.ok;
        stats.latencies_us.push_back(us);
      } else {
        int code = status.error_code();
        ++stats.errors;
        ++stats.by_code[code];
        stats.first_message.emplace(code, status.error_message());
      }
    }
  };
  absl::StatusOr<std::vector<int>> cpu_pids = ParsePids(absl::GetFlag(FLAGS_cpu_pids), "cpu_pids");
  absl::StatusOr<std::vector<int>> backend_pids =
      ParsePids(absl::GetFlag(FLAGS_backend_cpu_pids), "backend_cpu_pids");
  absl::StatusOr<std::vector<int>> database_pids =
      ParsePids(absl::GetFlag(FLAGS_database_cpu_pids), "database_cpu_pids");
  for (const absl::Status& status : {cpu_pids.status(), backend_pids.status(), database_pids.status()}) {
    if (!status.ok()) {
      std::fprintf(stderr, "load-generator: %s\n", std::string(status.message()).c_str());
      return 2;
    }
  }

  const bool closed = absl::GetFlag(FLAGS_mode) == "closed";
  std::function<void()> next;  // closed loop: start the next call when one ends
  const int64_t max_calls = absl::GetFlag(FLAGS_max_calls);
  next = [&] {
    const uint64_t n = sequence++;
    if (stopping.load() || (max_calls > 0 && n >= static_cast<uint64_t>(max_calls))) {
      if (--in_flight == 0) drained.Notify();
      return;
    }
    caller.Start(n, Clock::now(), [&](const grpc::Status& status, int64_t us) {
      record(status, us);
      next();
    });
  };

  absl::Duration warmup = absl::Seconds(absl::GetFlag(FLAGS_warmup_s));
  absl::Duration duration = absl::Seconds(absl::GetFlag(FLAGS_duration_s));
  clock_t cpu_start = 0;
  double server_cpu_start = 0;
  double server_cpu_end = 0;
  double backend_cpu_start = 0;
  double backend_cpu_end = 0;
  double database_cpu_start = 0;
  double database_cpu_end = 0;
  Clock::time_point measured_from;
  Clock::time_point measured_to;
  if (closed) {
    int n = std::max(1, absl::GetFlag(FLAGS_concurrency));
    in_flight = n;
    for (int i = 0; i < n; ++i) next();
    absl::SleepFor(warmup);
    measuring = true;
    measured_from = Clock::now();
    cpu_start = clock();
    server_cpu_start = CpuSeconds(*cpu_pids);
    backend_cpu_start = CpuSeconds(*backend_pids);
    database_cpu_start = TreeCpuSeconds(*database_pids);
    // Ends early only when --max_calls calls are done.
    drained.WaitForNotificationWithTimeout(duration);
    measuring = false;
    measured_to = Clock::now();
    server_cpu_end = CpuSeconds(*cpu_pids);
    backend_cpu_end = CpuSeconds(*backend_pids);
    database_cpu_end = TreeCpuSeconds(*database_pids);
    stopping = true;
    drained.WaitForNotificationWithTimeout(absl::Seconds(10));
  } else {
    double rate = absl::GetFlag(FLAGS_rate);
    absl::Time start = absl::Now();
    Clock::time_point steady_start = Clock::now();
    absl::Time measure_from = start + warmup;
    absl::Time end = measure_from + duration;
    uint64_t started = 0;
    while (true) {
      absl::Time now = absl::Now();
      if (now >= end) break;
      if (!measuring && now >= measure_from) {
        measuring = true;
        measured_from = Clock::now();
        cpu_start = clock();
        server_cpu_start = CpuSeconds(*cpu_pids);
        backend_cpu_start = CpuSeconds(*backend_pids);
        database_cpu_start = TreeCpuSeconds(*database_pids);
      }
      uint64_t due = static_cast<uint64_t>(absl::ToDoubleSeconds(now - start) * rate);
      for (; started < due; ++started) {
        ++in_flight;
        // Calls go out on schedule whatever the answers do, so a slow server cannot slow the
        // offered load down; the latency counts from when the call was due.
        Clock::time_point due_at =
            steady_start +
            std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(started) * 1e9 / rate));
        caller.Start(sequence++, due_at, [&](const grpc::Status& status, int64_t us) {
          record(status, us);
          --in_flight;
        });
      }
      absl::SleepFor(absl::Microseconds(200));
    }
    measuring = false;
    measured_to = Clock::now();
    server_cpu_end = CpuSeconds(*cpu_pids);
    backend_cpu_end = CpuSeconds(*backend_pids);
    database_cpu_end = TreeCpuSeconds(*database_pids);
    absl::Time wait_until = absl::Now() + absl::Seconds(10);
    while (in_flight.load() > 0 && absl::Now() < wait_until) absl::SleepFor(absl::Milliseconds(10));
  }
  double client_cpu_s = static_cast<double>(clock() - cpu_start) / CLOCKS_PER_SEC;

  absl::MutexLock lock(&stats.mu);
  std::sort(stats.latencies_us.begin(), stats.latencies_us.end());
  const double seconds = std::max(1e-3, std::chrono::duration<double>(measured_to - measured_from).count());
  std::string codes;
  for (const auto& [code, count] : stats.by_code)
    absl::StrAppend(&codes, codes.empty() ? "" : ",", "\"", code, "\":", count);
  std::string messages;
  for (const auto& [code, message] : stats.first_message) {
    absl::StrAppend(&messages, messages.empty() ? "" : ",", "\"", code, "\":\"", JsonEscape(message), "\"");
  }
  // Per call answered (OK or not): the server did the work either way.
  const int64_t answered = stats.ok + stats.errors;
  const double server_cpu_s = server_cpu_end - server_cpu_start;
  const double backend_cpu_s = backend_cpu_end - backend_cpu_start;
  const double database_cpu_s = database_cpu_end - database_cpu_start;
  std::string targets_json;
  for (const std::string& target : targets) {
    absl::StrAppend(&targets_json, targets_json.empty() ? "" : ",", "\"", JsonEscape(target), "\"");
  }
  auto per_call_us = [answered](double cpu_s) {
    return answered == 0 ? 0 : cpu_s * 1e6 / static_cast<double>(answered);
  };
  std::printf(
      "{\"label\":\"%s\",\"mode\":\"%s\",\"concurrency\":%d,\"connections\":%d,\"rate\":%.0f,"
      "\"seconds\":%.2f,\"ok\":%lld,\"errors\":%lld,\"errors_by_code\":{%s},\"first_error_by_code\":{%s},"
      "\"calls_per_s\":%.0f,"
      "\"p50_us\":%lld,\"p90_us\":%lld,\"p99_us\":%lld,\"p999_us\":%lld,\"client_cpu_s\":%.2f,"
      "\"server_cpu_s\":%.2f,\"server_cpu_us_per_call\":%.1f,\"backend_cpu_s\":%.2f,"
      "\"backend_cpu_us_per_call\":%.1f,\"database_cpu_s\":%.2f,\"database_cpu_us_per_call\":%.1f,"
      "\"targets\":[%s]}\n",
      JsonEscape(absl::GetFlag(FLAGS_label)).c_str(), closed ? "closed" : "open",
      absl::GetFlag(FLAGS_concurrency), absl::GetFlag(FLAGS_connections), absl::GetFlag(FLAGS_rate), seconds,
      static_cast<long long>(stats.ok), static_cast<long long>(stats.errors), codes.c_str(), messages.c_str(),
      static_cast<double>(stats.ok) / seconds, static_cast<long long>(Percentile(stats.latencies_us, 0.50)),
      static_cast<long long>(Percentile(stats.latencies_us, 0.90)),
      static_cast<long long>(Percentile(stats.latencies_us, 0.99)),
      static_cast<long long>(Percentile(stats.latencies_us, 0.999)), client_cpu_s, server_cpu_s,
      per_call_us(server_cpu_s), backend_cpu_s, per_call_us(backend_cpu_s), database_cpu_s,
      per_call_us(database_cpu_s), targets_json.c_str());
  return stats.ok > 0 ? 0 : 1;
}
