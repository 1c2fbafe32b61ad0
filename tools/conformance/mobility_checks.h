// The conformance checks of household migration, pension transfer and certificates (the checks
// from "migration-permit" to "certificate-signature" of conformance_checks.h, which says what each
// one checks). Private to tools/conformance/: RunConformanceChecks runs them.
//
// They go through the city's adapter on either transport, like the settlement checks, and hold the
// backend to the
// contract's comments in protos/interop/citybackend/v1/city_backend.proto, nothing more: each write
// is applied once per request_key and a repeated key answers the first answer with replayed=true,
// a key reused with another request is ALREADY_EXISTS, and the refusals use the codes the contract
// names. The writes are made only on the migration and pension persons the kit is told it may
// change (ConformanceOptions), and undone where the contract allows (the person moved out is
// settled in again, the relationship transferred out is transferred in again).
//
// Not thread-safe: the calls are sequential, through `calls`.
#ifndef INTEROP_TOOLS_CONFORMANCE_MOBILITY_CHECKS_H_
#define INTEROP_TOOLS_CONFORMANCE_MOBILITY_CHECKS_H_

#include <string>
#include <vector>

#include "adapters/city_adapter.h"
#include "tools/conformance/check_support.h"
#include "tools/conformance/conformance_checks.h"

namespace interop::conformance {

// What the checks run with.
struct MobilityContext {
  adapters::CityAdapter& adapter;
  TimedCalls& calls;
  const ConformanceOptions& options;
  // The backend's city.
  adapters::City city;
  // The run's part of the request keys: "CONFORMANCE-<run_id>-<step>".
  std::string run_id;
};

// "migration-permit", "migration-move-out", "migration-settle-in", "migration-refusals".
std::vector<CheckResult> RunMigrationChecks(const MobilityContext& context);
// "pension-apply", "pension-prepare", "pension-complete-out", "pension-confirm-in", "pension-refusals".
std::vector<CheckResult> RunPensionChecks(const MobilityContext& context);
// "certificate-refusals", "certificate-signature".
std::vector<CheckResult> RunCertificateChecks(const MobilityContext& context);

// The pooled-fund part of a transfer as the contract states it (PensionTransferSheet.pooled_fund):
// for each pension month paid since 1998-01, 12% of its wage base rounded half up to the fen, summed.
int64_t ContractPooledFund(const std::vector<social::v1::ContributionEntry>& months);

// Why the sheet is not internally consistent ("" if it is): months ascending without repeats, each a
// monthly pension entry of a month 1-12; years ascending without repeats, each 1-12 months and
// exactly the sum of its months (months paid, wage bases, personal and employer amounts), every year
// of a month listed; the pooled fund ContractPooledFund(months). Every problem, joined by "; ".
std::string SheetInconsistency(const adapters::PensionTransferSheet& sheet);

}  // namespace interop::conformance

#endif  // INTEROP_TOOLS_CONFORMANCE_MOBILITY_CHECKS_H_
