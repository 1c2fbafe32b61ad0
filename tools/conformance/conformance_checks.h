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
// Cross-city medical settlement (GetMedicalAccount ... ListFilings), on the settlement person (see
// ConformanceOptions::settlement_person), with one small settlement that the checks reverse again:
//   account              GetMedicalAccount of the settlement person answers this year's account,
//                        with the type and status of their enrolment; NOT_FOUND for the unknown
//                        person and for every sample person LocatePerson says is not insured here
//   settle-commit        a commit at the account's version (1.00 yuan: 0.10 deductible, 0.30 fund,
//                        up to 0.20 account, the rest cash) applies once: recorded as sent, not
//                        replayed, balance and accumulators move by exactly its amounts, the
//                        version moves, and the account read again is the one answered
//   settle-replay        the same commit again (same id and amounts, the old version) is
//                        replayed=true with the same settlement and changes nothing
//   settle-conflict      the same settlement_id with other amounts is ALREADY_EXISTS, changing nothing
//   settle-stale-version another settlement at the version read before the commit is ABORTED,
//                        changing nothing
//   settle-overdraw      a settlement whose account pay is one fen more than the balance is
//                        FAILED_PRECONDITION, changing nothing
//   settle-record        GetSettlementRecord answers the settlement as recorded, and
//                        ListSettlementRecords of its settle date lists it once, as recorded
//   settle-reversal      reversing it restores balance and accumulators exactly and moves the
//                        version; the record says reversed on that date; a second reversal is
//                        replayed=true, keeps the first date and changes nothing
//   filing               a filing for treatment in another city is recorded as sent with an id,
//                        listed, revoked (revoked=true), revoked again unchanged, and listed revoked;
//                        revoking a filing the person does not have is NOT_FOUND
//   filing-same-city     a filing for treatment in the insured city itself is FAILED_PRECONDITION
//   deadline             every call answered within the deadline
// A check that finds nothing to check fails ("not exercised: ..."): no sample person located, none
// with a contribution history, no answer to repeat, no settlement person, no first commit. The kit
// never passes what it did not see.
//
// The settlement checks change the backend, and leave it as they found it: whatever they commit is
// reversed (also a commit the backend should have refused; the check that sent it says so), so the
// person's balance and accumulators end where they started and the backend's settlement totals
// reconcile (every settlement of the kit is listed, and reversed). What stays: reversed
// settlements with ids "CONFORMANCE-<run id>-<n>", and one revoked filing per run, as in any
// backend's history. Amounts are one yuan at most, but for the overdraw attempt (refused).
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
inline constexpr std::array<absl::string_view, 21> kCheckNames = {"health",
                                                                  "locate-known",
                                                                  "locate-unknown",
                                                                  "records-claimed",
                                                                  "records-unclaimed",
                                                                  "unknown-not-found",
                                                                  "malformed-id",
                                                                  "contributions-order",
                                                                  "contributions-range",
                                                                  "consistency",
                                                                  "account",
                                                                  "settle-commit",
                                                                  "settle-replay",
                                                                  "settle-conflict",
                                                                  "settle-stale-version",
                                                                  "settle-overdraw",
                                                                  "settle-record",
                                                                  "settle-reversal",
                                                                  "filing",
                                                                  "filing-same-city",
                                                                  "deadline"};

struct ConformanceOptions {
  // Persons the backend should hold (each with at least one record), as valid, normalised
  // 18-character numbers. A real city supplies its own test persons. Must not be empty.
  std::vector<std::string> sample_ids;
  // A valid 18-character number of nobody the backend holds.
  std::string unknown_id;
  // The longest any one call may take; also the adapter's per-city deadline.
  absl::Duration deadline = absl::Seconds(2);
  // "today" for "no date in the future", in China Standard Time; also the settle date, reversal
  // date and first filing day of the settlement checks, and its year the accumulators' year.
  absl::CivilDay today;
  // The person the settlement checks commit, reverse and file for: a valid, normalised
  // 18-character number of a person the backend insures with an active enrolment, whose account
  // can pay 0.20 yuan and whose fund has 0.30 yuan left under the annual cap. Empty: the first
  // sample person whose GetMedicalEnrollment answers an active enrolment.
  std::string settlement_person;
  // Makes the settlement ids of this run unique: "CONFORMANCE-<run_id>-1", ... (at most 40
  // printable ASCII characters, no spaces). Empty: the current time in microseconds.
  std::string run_id;
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
