// The conformance checks a city runs against its own backend before the gateway connects to it
// (docs/JOINING.md): whether the backend keeps the city backend contract
// (protos/interop/citybackend/v1/city_backend.proto, or adapters/lvliang/NATIONAL_INTERFACE.md for
// the national HTTP/JSON interface) as the gateway's adapter for the city will see it.
//
// Almost everything goes through the city's real CityAdapter (made by adapters::NewCityAdapter
// from the same CityBackendConfig the gateway would use), so the city's dialect translation is part
// of what is checked: a code missing from a table of adapters/<city>/dialect.textproto fails here,
// not in production. What the adapter hides goes through a ContractProbe (contract_probe.h).
//
// The checks, in the order they are reported (see kCheckNames; each CheckResult names one):
//   health               the backend's health check answers SERVING (grpc.health.v1 or GET /health)
//   locate-known         LocatePerson of every sample person: found, holding at least one record
//   locate-unknown       LocatePerson of a valid number nobody has: found=false, not an error
//   records-claimed      each record LocatePerson claims is answered and translates cleanly (codes
//                        in the dialect's tables, dates and amounts parse, the answer is about the
//                        person asked, region and address codes lie in the city, no date in the
//                        future, at least one month of a claimed contribution history)
//   records-unclaimed    each record LocatePerson does not claim is NOT_FOUND
//   unknown-not-found    every Get* call for the unknown person is NOT_FOUND (not another code)
//   malformed-id         malformed identity numbers, sent raw, are INVALID_ARGUMENT
//   contributions-order  months are one per kind and month; over gRPC sent in ascending order of
//                        year_month, then kind_code
//   contributions-range  from_year/to_year honoured: a one-year query answers exactly that year
//                        of the full history, and the backend sends nothing outside it
//   consistency          the same call twice gives the same answer
//   deadline             every call answered within the deadline
// A check that finds nothing to check fails ("not exercised: ..."): no sample person located, none
// with a contribution history, no answer to repeat. The kit never passes what it did not see.
//
// Example:
//   ConformanceOptions options;
//   options.sample_ids = {"140105198001011234", ...};
//   options.unknown_id = DefaultUnknownId();
//   std::vector<CheckResult> results = RunConformanceChecks(*adapter, *probe, *dialect, options);
//
// Not thread-safe: one run at a time per adapter and probe (the calls it makes are sequential).
#ifndef INTEROP_TOOLS_CONFORMANCE_CONFORMANCE_CHECKS_H_
#define INTEROP_TOOLS_CONFORMANCE_CONFORMANCE_CHECKS_H_

#include <array>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "adapters/city_adapter.h"
#include "adapters/dialect/dialect.h"
#include "tools/conformance/contract_probe.h"

namespace interop::conformance {

// The outcome of one check.
struct CheckResult {
  // One of kCheckNames.
  std::string name;
  bool passed = false;
  // On success what was checked ("10 of 10 sample persons found ..."); on failure why, naming the
  // sample person and the call ("140105...: GetMedicalEnrollment: INTERNAL: city taiyuan answered
  // an untranslatable insurance_type_code: ..."), the first few failures and a count of the rest.
  std::string detail;
};

// Every check, in the order RunConformanceChecks reports them.
inline constexpr std::array<absl::string_view, 11> kCheckNames = {"health",
                                                                  "locate-known",
                                                                  "locate-unknown",
                                                                  "records-claimed",
                                                                  "records-unclaimed",
                                                                  "unknown-not-found",
                                                                  "malformed-id",
                                                                  "contributions-order",
                                                                  "contributions-range",
                                                                  "consistency",
                                                                  "deadline"};

struct ConformanceOptions {
  // Persons the backend should hold (each with at least one record), as valid, normalised
  // 18-character numbers. A real city supplies its own test persons. Must not be empty.
  std::vector<std::string> sample_ids;
  // A valid 18-character number of nobody the backend holds.
  std::string unknown_id;
  // The longest any one call may take; also the adapter's per-city deadline.
  absl::Duration deadline = absl::Seconds(2);
  // "today" for "no date in the future", in China Standard Time.
  absl::CivilDay today;
};

// A valid 18-character number that no mock city holds (Taiyuan's Xiaodian district, born
// 1930-01-01, sequence 999; the synthetic population is born 1935-2020). A real city whose register
// might hold it passes its own with --unknown_id.
std::string DefaultUnknownId();

// Malformed numbers derived from `valid_id` (a valid 18-character number): one with a wrong check
// character, one a character short, one with a letter in the birth date.
std::vector<std::string> MalformedIdsFrom(const std::string& valid_id);

// Runs every check against the backend behind `adapter` and `probe`, both made for the backend
// whose dialect is `dialect`. Never fails as a whole: a backend that cannot be reached fails the
// checks that need it. Returns one result per entry of kCheckNames, in that order.
std::vector<CheckResult> RunConformanceChecks(adapters::CityAdapter& adapter, ContractProbe& probe,
                                              const adapters::Dialect& dialect,
                                              const ConformanceOptions& options);

// "PASS <name>: <detail>" or "FAIL <name>: <detail>", one line (newlines in the detail become spaces).
std::string FormatCheckResult(const CheckResult& result);

}  // namespace interop::conformance

#endif  // INTEROP_TOOLS_CONFORMANCE_CONFORMANCE_CHECKS_H_
