// Reconciliation (对账) of the gateway's ledger with one insured city's settlement records.
#ifndef INTEROP_GATEWAY_SETTLEMENT_RECONCILE_H_
#define INTEROP_GATEWAY_SETTLEMENT_RECONCILE_H_

#include <vector>

#include "absl/time/civil_time.h"
#include "adapters/city_adapter.h"
#include "gateway/settlement/ledger.h"
#include "interop/medical/v1/settlement.pb.h"

namespace interop::settlement {

// Compares `ledger` (the gateway's entries for settlements insured by `city` in the period) with
// `city_records` (what the city says it committed in the period) by settlement id: totals on each
// side (settlements not reversed, their fund and account pay, reversed count) and every mismatch
// (missing on one side, an amount that differs — fund, account, deductible, cash or total — or a
// reversal on one side only), ordered by settlement id. `balanced` is true when there is none.
medical::v1::ReconcileResponse Reconcile(City city, absl::CivilDay from, absl::CivilDay to,
                                         const std::vector<LedgerEntry>& ledger,
                                         const std::vector<adapters::SettlementRecord>& city_records);

}  // namespace interop::settlement

#endif  // INTEROP_GATEWAY_SETTLEMENT_RECONCILE_H_
