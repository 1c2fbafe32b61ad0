// How many client certificates CertificateVerifier verifies per second, without and with its cache.
// Uses the development PKI (certs/make-dev-certs.sh) and cycles through the 26 caller certificates.
//
//   build/tests/gateway/auth/auth_certificate_verifier_bench [CERTS_DIR] [SECONDS_PER_CASE] [ONLY]
//
// CERTS_DIR defaults to the build tree's test-certs, SECONDS_PER_CASE to 2. ONLY = "cached" or
// "uncached" runs only those cases (for a profiler).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gateway/auth/certificate_verifier.h"
#include "gateway/base/clock.h"

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s (run certs/make-dev-certs.sh into that directory)\n", path.c_str());
    std::exit(1);
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

// Runs `threads` threads, each verifying `pems` round robin for `duration`; returns verifications/s.
double Run(const interop::auth::CertificateVerifier& verifier, const std::vector<std::string>& pems,
           int threads, absl::Duration duration) {
  std::vector<std::thread> workers;
  std::vector<long> counts(threads, 0);  // NOLINT(runtime/int)
  absl::Time start = absl::Now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      long n = 0;  // NOLINT(runtime/int)
      size_t i = t;
      while (true) {
        for (int k = 0; k < 64; ++k) {
          if (!verifier.Verify(pems[i++ % pems.size()]).ok()) {
            std::fprintf(stderr, "verification failed\n");
            std::exit(1);
          }
        }
        n += 64;
        if (absl::Now() - start >= duration) break;
      }
      counts[t] = n;
    });
  }
  for (std::thread& w : workers) w.join();
  double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  long total = 0;                    // NOLINT(runtime/int)
  for (long c : counts) total += c;  // NOLINT(runtime/int)
  return static_cast<double>(total) / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : INTEROP_TEST_CERTS_DIR;
  absl::Duration duration = absl::Seconds(argc > 2 ? std::atof(argv[2]) : 2.0);
  std::string only = argc > 3 ? argv[3] : "";

  std::vector<std::string> pems;
  for (const char* city : {"taiyuan", "yangquan", "jinzhong", "xinzhou", "lvliang"}) {
    for (const char* role : {"hospital", "medical-insurance-bureau", "social-security-bureau",
                             "household-office", "citizen-portal"}) {
      pems.push_back(ReadFile(absl::StrCat(dir, "/caller-", role, "-", city, ".pem")));
    }
  }
  pems.push_back(ReadFile(dir + "/caller-operator-taiyuan.pem"));

  std::printf("CertificateVerifier::Verify, %zu caller certificates (EC P-256, ECDSA SHA-256) round robin\n",
              pems.size());
  std::printf("machine: %s, %u hardware threads; %s per case\n", CpuModel().c_str(),
              std::thread::hardware_concurrency(), absl::FormatDuration(duration).c_str());
  std::printf("%-34s %8s %14s %12s\n", "case", "threads", "verify/s", "us/verify");
  for (bool with_crl : {false, true}) {
    for (size_t capacity : {size_t{0}, size_t{10000}}) {
      if ((only == "cached" && capacity == 0) || (only == "uncached" && capacity != 0)) continue;
      interop::auth::CertificateVerifier::Options options;
      options.ca_bundle_file = dir + "/ca.pem";
      options.crl_file = with_crl ? dir + "/crl.pem" : "";
      options.cache_capacity = capacity;
      auto verifier = interop::auth::CertificateVerifier::Create(options, interop::Clock::Real());
      if (!verifier.ok()) {
        std::fprintf(stderr, "%s\n", verifier.status().ToString().c_str());
        return 1;
      }
      for (int threads : {1, 2}) {
        double rate = Run(**verifier, pems, threads, duration);
        std::string name =
            absl::StrCat(capacity == 0 ? "uncached" : "cached", with_crl ? ", CRL checked" : ", no CRL");
        std::printf("%-34s %8d %14.0f %12.2f\n", name.c_str(), threads, rate, 1e6 * threads / rate);
      }
    }
  }
  return 0;
}
