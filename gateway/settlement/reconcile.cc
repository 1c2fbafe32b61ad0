// Reconcile(): contract in reconcile.h.
//
// Both inputs are compared as given: the caller selects them for the city and period (the ledger by
// ChinaDayOf(settled_at_unix), the city by its settle_date), and `city`, `from` and `to` only fill
// the answer. Totals count every element given, so an id listed twice on one side shows as
// unbalanced totals; details compare the first element of each id. For one id, an AMOUNT_DIFFERS
// (naming every amount that differs) comes before a REVERSAL_DIFFERS.
#include "gateway/settlement/reconcile.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gateway/base/cities.h"
#include "gateway/base/dates.h"

namespace interop::settlement {
namespace {

using ::interop::adapters::SettlementRecord;
using ::interop::medical::v1::Mismatch;
using ::interop::medical::v1::MismatchKind;
using ::interop::medical::v1::ReconcileResponse;
using ::interop::medical::v1::ReconcileTotals;

bool IsReversed(const LedgerEntry& entry) {
  return entry.settlement.state() == medical::v1::SETTLEMENT_STATE_REVERSED;
}

void AddLedgerTotals(const LedgerEntry& entry, ReconcileTotals* totals) {
  if (IsReversed(entry)) {
    totals->set_reversed(totals->reversed() + 1);
    return;
  }
  totals->set_settlements(totals->settlements() + 1);
  totals->mutable_fund_pay()->set_fen(totals->fund_pay().fen() + entry.settlement.fund_pay().fen());
  totals->mutable_personal_account_pay()->set_fen(totals->personal_account_pay().fen() +
                                                  entry.settlement.personal_account_pay().fen());
}

void AddCityTotals(const SettlementRecord& record, ReconcileTotals* totals) {
  if (record.reversed) {
    totals->set_reversed(totals->reversed() + 1);
    return;
  }
  totals->set_settlements(totals->settlements() + 1);
  totals->mutable_fund_pay()->set_fen(totals->fund_pay().fen() + record.fund_pay_fen);
  totals->mutable_personal_account_pay()->set_fen(totals->personal_account_pay().fen() + record.account_pay_fen);
}

bool TotalsEqual(const ReconcileTotals& a, const ReconcileTotals& b) {
  return a.settlements() == b.settlements() && a.fund_pay().fen() == b.fund_pay().fen() &&
         a.personal_account_pay().fen() == b.personal_account_pay().fen() && a.reversed() == b.reversed();
}

void AddMismatch(const std::string& settlement_id, MismatchKind kind, std::string detail,
                 ReconcileResponse* response) {
  Mismatch* mismatch = response->add_mismatches();
  mismatch->set_settlement_id(settlement_id);
  mismatch->set_kind(kind);
  mismatch->set_detail(std::move(detail));
}

// Every amount of the two sides that differs, as "fund_pay: ledger 12000 fen, city 11000 fen";
// empty if none does.
std::vector<std::string> AmountDifferences(const medical::v1::Settlement& ledger, const SettlementRecord& city) {
  struct Amount {
    const char* name;
    int64_t ledger_fen;
    int64_t city_fen;
  };
  const Amount amounts[] = {
      {"total", ledger.total().fen(), city.total_fen},
      {"deductible_applied", ledger.deductible_applied().fen(), city.deductible_applied_fen},
      {"fund_pay", ledger.fund_pay().fen(), city.fund_pay_fen},
      {"personal_account_pay", ledger.personal_account_pay().fen(), city.account_pay_fen},
      {"cash_pay", ledger.cash_pay().fen(), city.cash_pay_fen},
  };
  std::vector<std::string> differences;
  for (const Amount& amount : amounts) {
    if (amount.ledger_fen != amount.city_fen) {
      differences.push_back(
          absl::StrCat(amount.name, ": ledger ", amount.ledger_fen, " fen, city ", amount.city_fen, " fen"));
    }
  }
  return differences;
}

void CompareBoth(const std::string& settlement_id, const LedgerEntry& entry, const SettlementRecord& record,
                 ReconcileResponse* response) {
  std::vector<std::string> differences = AmountDifferences(entry.settlement, record);
  if (!differences.empty()) {
    AddMismatch(settlement_id, medical::v1::MISMATCH_KIND_AMOUNT_DIFFERS, absl::StrJoin(differences, "; "),
                response);
  }
  const bool ledger_reversed = IsReversed(entry);
  if (ledger_reversed != record.reversed) {
    AddMismatch(settlement_id, medical::v1::MISMATCH_KIND_REVERSAL_DIFFERS,
                ledger_reversed ? "reversed: ledger yes, city no" : "reversed: ledger no, city yes", response);
  }
}

}  // namespace

ReconcileResponse Reconcile(City city, absl::CivilDay from, absl::CivilDay to,
                            const std::vector<LedgerEntry>& ledger,
                            const std::vector<adapters::SettlementRecord>& city_records) {
  ReconcileResponse response;
  *response.mutable_city() = MakeCityInfo(city);
  *response.mutable_period()->mutable_from() = DateOf(from);
  *response.mutable_period()->mutable_to() = DateOf(to);
  ReconcileTotals* ledger_totals = response.mutable_ledger();
  ReconcileTotals* city_totals = response.mutable_city_records();
  // Totals messages are present (zero) even for an empty side.
  ledger_totals->mutable_fund_pay();
  ledger_totals->mutable_personal_account_pay();
  city_totals->mutable_fund_pay();
  city_totals->mutable_personal_account_pay();

  std::map<std::string, const LedgerEntry*> by_id_ledger;
  for (const LedgerEntry& entry : ledger) {
    AddLedgerTotals(entry, ledger_totals);
    by_id_ledger.emplace(entry.settlement.settlement_id(), &entry);
  }
  std::map<std::string, const SettlementRecord*> by_id_city;
  for (const SettlementRecord& record : city_records) {
    AddCityTotals(record, city_totals);
    by_id_city.emplace(record.settlement_id, &record);
  }

  // Merge the two id-ordered maps.
  auto l = by_id_ledger.begin();
  auto c = by_id_city.begin();
  while (l != by_id_ledger.end() || c != by_id_city.end()) {
    if (c == by_id_city.end() || (l != by_id_ledger.end() && l->first < c->first)) {
      const medical::v1::Settlement& s = l->second->settlement;
      AddMismatch(l->first, medical::v1::MISMATCH_KIND_MISSING_IN_CITY,
                  absl::StrCat("in the ledger (", IsReversed(*l->second) ? "reversed, " : "", "fund_pay ",
                               s.fund_pay().fen(), " fen, personal_account_pay ", s.personal_account_pay().fen(),
                               " fen), not in the city's records"),
                  &response);
      ++l;
    } else if (l == by_id_ledger.end() || c->first < l->first) {
      const SettlementRecord& r = *c->second;
      AddMismatch(c->first, medical::v1::MISMATCH_KIND_MISSING_IN_LEDGER,
                  absl::StrCat("in the city's records (settled ", absl::FormatCivilTime(r.settle_date), ", ",
                               r.reversed ? "reversed, " : "", "fund_pay ", r.fund_pay_fen,
                               " fen, personal_account_pay ", r.account_pay_fen, " fen), not in the ledger"),
                  &response);
      ++c;
    } else {
      CompareBoth(l->first, *l->second, *c->second, &response);
      ++l;
      ++c;
    }
  }
  response.set_balanced(response.mismatches().empty() && TotalsEqual(*ledger_totals, *city_totals));
  return response;
}

}  // namespace interop::settlement
