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
//   health               the backend's health check answers SERVING (grpc.health.v1 or GET /health);
//                        asked again every 100 ms, within the deadline, while it is UNAVAILABLE (the
//                        first connection may still be being made, as for the gateway's health checks)
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
// Household migration (IssueMoveInPermit, RecordMoveOut, SettleIn), on the migration person (see
// ConformanceOptions::migration_person), whom the checks move out to another city and settle in
// again at the same address, on a permit this city issues (mobility_checks.h):
//   migration-permit     a permit to move in for the person, no longer registered here: a number,
//                        valid 40 days (valid_until = issued_on + 39); the same request_key again
//                        answers the same permit replayed=true; the key with another request is
//                        ALREADY_EXISTS
//   migration-move-out   the move-out on another city's permit answers the address the person was
//                        registered at; GetHouseholdRegistration is NOT_FOUND from then on and
//                        LocatePerson no longer claims the registration; replay and key reuse as above
//   migration-settle-in  settling in on the permit answers the registration at the address, as
//                        GetHouseholdRegistration answers it from then on; replay and key reuse
//   migration-refusals   a permit for a person registered here is FAILED_PRECONDITION, for an
//                        address that is no county of the city INVALID_ARGUMENT; a move-out on a
//                        permit that expired is FAILED_PRECONDITION, of a person not registered here
//                        (the migration person once moved out, and the unknown person) NOT_FOUND; a
//                        settling-in on a permit the city did not issue FAILED_PRECONDITION
// Pension transfer (ApplyPensionTransfer ... ConfirmPensionTransferIn), on the pension person (see
// ConformanceOptions::pension_person), whose relationship the checks transfer out to another city
// and back in from it:
//   pension-apply        an application and a contact letter for it: numbers and dates; replay and
//                        key reuse for each
//   pension-prepare      the sheet is internally consistent (months ascending, one per month; years
//                        ascending, 1-12 months each, each the sum of its months; the pooled fund 12%
//                        of the wage base of each month since 1998-01 rounded half up, summed);
//                        preparing again with a new key answers the same sheet (nothing changed);
//                        replay and key reuse
//   pension-complete-out the relationship ends on the prepared funds; replay and key reuse
//   pension-confirm-in   the sheet and funds are merged back, on the application; replay and key reuse
//   pension-refusals     preparing for a person without a pension record is NOT_FOUND, for a
//                        relationship that moved away FAILED_PRECONDITION; completing on funds other
//                        than the prepared ones (a fen more of either) FAILED_PRECONDITION; a letter for
//                        an application the city does not hold FAILED_PRECONDITION; confirming funds
//                        that do not match the sheet (a fen more pooled) FAILED_PRECONDITION
// The migration and pension checks run on either transport, through the adapter; if the gateway's
// adapter for the transport does not offer the part at all (it answers a request without a city
// UNIMPLEMENTED instead of refusing it itself), they are skipped (SKIP, not PASS), naming why.
// Certificates (SignCertificate, through the adapter on either transport):
//   certificate-refusals a payload naming another city as issuer, or another key id than the city's,
//                        is FAILED_PRECONDITION; bytes that are not a CertificatePayload are
//                        INVALID_ARGUMENT. A backend that cannot sign (UNIMPLEMENTED) fails it.
//   certificate-signature with the city's public key (ConformanceOptions::signing_public_key_pem):
//                        a payload of this city and key is signed, the answer names the key and the
//                        key's algorithm, and the signature verifies over the exact payload bytes.
//                        Skipped without the key.
//   deadline             every call answered within the deadline
// A check that finds nothing to check fails ("not exercised: ..."): no sample person located, none
// with a contribution history, no answer to repeat, no settlement person, no first commit, no
// migration or pension person. The kit never passes what it did not see: a check it does not run is
// reported SKIP with the reason, never PASS.
//
// The settlement checks change the backend, and leave it as they found it: whatever they commit is
// reversed (also a commit the backend should have refused; the check that sent it says so), so the
// person's balance and accumulators end where they started and the backend's settlement totals
// reconcile (every settlement of the kit is listed, and reversed). What stays: reversed
// settlements with ids "CONFORMANCE-<run id>-<n>", and one revoked filing per run, as in any
// backend's history. Amounts are one yuan at most, but for the overdraw attempt (refused).
//
// The migration and pension checks change the backend too, but only for the persons they are told
// they may change (never a sample person by default), and also leave them as they found them where
// the contract allows: the migration person is registered again at the same address (with the new
// household number and registration date the settling-in gave), the pension person's relationship
// is back in this city (as a transfer in from another city). What stays: permits, applications,
// letters and the ended and merged relationship, with request keys "CONFORMANCE-<run id>-<step>".
// If a step fails midway the check says what is left undone.
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
  // Not run (then passed is false too), for a reason given in `detail`: an optional check whose input
  // was not given (certificate-signature without the city's public key), or a part the gateway's
  // adapter for the city's transport does not offer at all (household migration or pension transfer,
  // CityAdapter's UNIMPLEMENTED defaults), which no backend could change. A skipped check does not
  // make the run fail, and never counts as passed.
  bool skipped = false;
  // On success what was checked ("10 of 10 sample persons found ..."); on failure why, naming the
  // sample person and the call ("140105...: GetMedicalEnrollment: INTERNAL: city taiyuan answered
  // an untranslatable insurance_type_code: ..."), the first few failures and a count of the rest.
  std::string detail;
};

// Every check, in the order RunConformanceChecks reports them.
inline constexpr std::array<absl::string_view, 32> kCheckNames = {"health",
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
                                                                  "migration-permit",
                                                                  "migration-move-out",
                                                                  "migration-settle-in",
                                                                  "migration-refusals",
                                                                  "pension-apply",
                                                                  "pension-prepare",
                                                                  "pension-complete-out",
                                                                  "pension-confirm-in",
                                                                  "pension-refusals",
                                                                  "certificate-refusals",
                                                                  "certificate-signature",
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
  // The person the household-migration checks move out of this city and settle in again at the same
  // address: a valid, normalised 18-character number of a test person registered in this city,
  // whom the kit may change. Empty: those checks fail "not exercised" (never a sample person: the
  // kit changes only whom it is told it may).
  std::string migration_person;
  // The person the pension-transfer checks transfer out to another city and back in: a valid,
  // normalised 18-character number of a test person with a pension record in this city that can
  // move (they no longer contribute here), whom the kit may change. Empty: those checks fail "not
  // exercised".
  std::string pension_person;
  // The public half of the city's certificate signing key, PEM ("PUBLIC KEY" or a certificate), as
  // the gateway's trust list names it. Empty: certificate-signature is skipped.
  std::string signing_public_key_pem;
  // The id of that key in the trust list. Empty: derived from the key as the gateway derives it
  // ("<city>-" and 16 hex digits of SHA-256 over the public key, signing::DeriveKeyId).
  std::string signing_key_id;
  // Makes the settlement ids and request keys of this run unique: "CONFORMANCE-<run_id>-1", ... (at
  // most 40 printable ASCII characters, no spaces). Empty: the current time in microseconds.
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

// "PASS <name>: <detail>", "FAIL <name>: <detail>" or "SKIP <name>: <detail>", one line (newlines in
// the detail become spaces).
std::string FormatCheckResult(const CheckResult& result);

}  // namespace interop::conformance

#endif  // INTEROP_TOOLS_CONFORMANCE_CONFORMANCE_CHECKS_H_
