// load-generator: drives the gateway (or a mock city) with real calls over mutual TLS and reports
// throughput and latency.
//
//   load-generator --target=127.0.0.1:8443 --ca=ca.pem --cert=caller.pem --key=caller.key
//       --ids_file=ids.txt [--mode=closed|open] [--concurrency=64] [--connections=4] [--rate=5000]
//       [--duration_s=10] [--warmup_s=2] [--call=gateway_medical|city_medical|gateway_settle]
//       [--label=NAME]
//
// closed: `concurrency` calls always in flight, each started when the previous one ends.
// open:   calls started at a fixed `rate` per second whatever the answers do (latency includes
//         queueing, so coordinated omission does not flatter the result).
// Uses gRPC's callback API: no thread per call. Prints one line of JSON with the figures.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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

ABSL_FLAG(std::string, target, "127.0.0.1:8443", "host:port to call.");
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
ABSL_FLAG(std::string, call, "gateway_medical",
          "gateway_medical: MedicalInsuranceService.GetInsuranceStatus with purpose TREATMENT; "
          "city_medical: CityBackendService.GetMedicalEnrollment on a mock city; "
          "gateway_settle: CrossCitySettlementService.Settle of a small emergency outpatient bill at a "
          "Taiyuan hospital (the caller must be a Taiyuan hospital), a fresh idempotency key per call.");
ABSL_FLAG(std::string, label, "", "Name of the scenario, copied into the output.");

namespace {

using Clock = std::chrono::steady_clock;

struct Stats {
  absl::Mutex mu;
  std::vector<int64_t> latencies_us;
  int64_t ok = 0;
  int64_t errors = 0;
  std::map<int, int64_t> by_code;
};

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

  // Starts one call; `done(ok, code, latency)` runs when it ends.
  void Start(uint64_t n, std::function<void(int code, int64_t latency_us)> done) {
    size_t c = n % gateway_.size();
    const std::string& id = ids_[n % ids_.size()];
    auto start = Clock::now();
    if (call_ == "city_medical") {
      struct Call {
        grpc::ClientContext context;
        interop::citybackend::v1::GetMedicalEnrollmentRequest request;
        interop::citybackend::v1::GetMedicalEnrollmentResponse response;
      };
      auto* call = new Call;
      call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      call->request.set_resident_id(id);
      city_[c]->async()->GetMedicalEnrollment(&call->context, &call->request, &call->response,
                                              [call, start, done](grpc::Status status) {
                                                auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                                                              Clock::now() - start).count();
                                                delete call;
                                                done(status.error_code(), us);
                                              });
      return;
    }
    if (call_ == "gateway_settle") {
      struct Call {
        grpc::ClientContext context;
        interop::medical::v1::SettleRequest request;
        interop::medical::v1::SettleResponse response;
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
      settlement_[c]->async()->Settle(&call->context, &call->request, &call->response,
                                      [call, start, done](grpc::Status status) {
                                        auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                                                      Clock::now() - start).count();
                                        delete call;
                                        done(status.error_code(), us);
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
    gateway_[c]->async()->GetInsuranceStatus(&call->context, &call->request, &call->response,
                                             [call, start, done](grpc::Status status) {
                                               auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                                                             Clock::now() - start).count();
                                               delete call;
                                               done(status.error_code(), us);
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
  interop::config::v1::TlsFiles files;
  files.set_ca_cert_file(absl::GetFlag(FLAGS_ca));
  files.set_cert_file(absl::GetFlag(FLAGS_cert));
  files.set_key_file(absl::GetFlag(FLAGS_key));
  auto credentials = interop::tls::MakeMutualTlsChannelCredentials(files);
  if (!credentials.ok()) {
    std::fprintf(stderr, "load-generator: %s\n", std::string(credentials.status().message()).c_str());
    return 2;
  }
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < std::max(1, absl::GetFlag(FLAGS_connections)); ++i) {
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride(absl::GetFlag(FLAGS_server_name));
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
    args.SetInt("load-generator.connection", i);
    channels.push_back(grpc::CreateCustomChannel(absl::GetFlag(FLAGS_target), *credentials, args));
    channels.back()->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10));
  }
  Caller caller(channels, ids, absl::GetFlag(FLAGS_call));

  Stats stats;
  std::atomic<bool> measuring{false};
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> in_flight{0};
  std::atomic<uint64_t> sequence{0};
  absl::Notification drained;

  std::function<void(int, int64_t)> record = [&](int code, int64_t us) {
    if (measuring.load()) {
      absl::MutexLock lock(&stats.mu);
      if (code == 0) {
        ++stats.ok;
        stats.latencies_us.push_back(us);
      } else {
        ++stats.errors;
        ++stats.by_code[code];
      }
    }
  };

  const bool closed = absl::GetFlag(FLAGS_mode) == "closed";
  std::function<void()> next;  // closed loop: start the next call when one ends
  next = [&] {
    if (stopping.load()) {
      if (--in_flight == 0) drained.Notify();
      return;
    }
    caller.Start(sequence++, [&](int code, int64_t us) {
      record(code, us);
      next();
    });
  };

  auto begin = Clock::now();
  absl::Duration warmup = absl::Seconds(absl::GetFlag(FLAGS_warmup_s));
  absl::Duration duration = absl::Seconds(absl::GetFlag(FLAGS_duration_s));
  clock_t cpu_start = 0;
  if (closed) {
    int n = std::max(1, absl::GetFlag(FLAGS_concurrency));
    in_flight = n;
    for (int i = 0; i < n; ++i) next();
    absl::SleepFor(warmup);
    measuring = true;
    cpu_start = clock();
    absl::SleepFor(duration);
    measuring = false;
    stopping = true;
    drained.WaitForNotificationWithTimeout(absl::Seconds(10));
  } else {
    double rate = absl::GetFlag(FLAGS_rate);
    absl::Time start = absl::Now();
    absl::Time measure_from = start + warmup;
    absl::Time end = measure_from + duration;
    uint64_t started = 0;
    while (true) {
      absl::Time now = absl::Now();
      if (now >= end) break;
      if (!measuring && now >= measure_from) {
        measuring = true;
        cpu_start = clock();
      }
      uint64_t due = static_cast<uint64_t>(absl::ToDoubleSeconds(now - start) * rate);
      for (; started < due; ++started) {
        ++in_flight;
        // Calls go out on schedule whatever the answers do, so a slow server cannot slow the
        // offered load down (no coordinated omission beyond the 200 us send tick).
        caller.Start(sequence++, [&](int code, int64_t us) {
          record(code, us);
          --in_flight;
        });
      }
      absl::SleepFor(absl::Microseconds(200));
    }
    measuring = false;
    absl::Time wait_until = absl::Now() + absl::Seconds(10);
    while (in_flight.load() > 0 && absl::Now() < wait_until) absl::SleepFor(absl::Milliseconds(10));
  }
  double client_cpu_s = static_cast<double>(clock() - cpu_start) / CLOCKS_PER_SEC;
  (void)begin;

  absl::MutexLock lock(&stats.mu);
  std::sort(stats.latencies_us.begin(), stats.latencies_us.end());
  double seconds = absl::ToDoubleSeconds(duration);
  std::string codes;
  for (const auto& [code, count] : stats.by_code) absl::StrAppend(&codes, codes.empty() ? "" : ",", "\"", code, "\":", count);
  std::printf(
      "{\"label\":\"%s\",\"mode\":\"%s\",\"concurrency\":%d,\"connections\":%d,\"rate\":%.0f,\"seconds\":%.1f,"
      "\"ok\":%lld,\"errors\":%lld,\"errors_by_code\":{%s},\"calls_per_s\":%.0f,\"p50_us\":%lld,\"p90_us\":%lld,"
      "\"p99_us\":%lld,\"p999_us\":%lld,\"client_cpu_s\":%.2f}\n",
      absl::GetFlag(FLAGS_label).c_str(), closed ? "closed" : "open", absl::GetFlag(FLAGS_concurrency),
      absl::GetFlag(FLAGS_connections), absl::GetFlag(FLAGS_rate), seconds, static_cast<long long>(stats.ok),
      static_cast<long long>(stats.errors), codes.c_str(), static_cast<double>(stats.ok) / seconds,
      static_cast<long long>(Percentile(stats.latencies_us, 0.50)),
      static_cast<long long>(Percentile(stats.latencies_us, 0.90)),
      static_cast<long long>(Percentile(stats.latencies_us, 0.99)),
      static_cast<long long>(Percentile(stats.latencies_us, 0.999)), client_cpu_s);
  return stats.ok > 0 ? 0 : 1;
}
