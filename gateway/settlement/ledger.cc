#include "gateway/settlement/ledger.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gateway/base/cities.h"
#include "gateway/base/dates.h"

namespace interop::settlement {

absl::CivilDay ChinaDayOf(int64_t unix_seconds) {
  // China Standard Time is UTC+8 all year (no daylight saving since 1991).
  static const absl::TimeZone kChinaStandardTime = absl::FixedTimeZone(8 * 60 * 60);
  return absl::ToCivilDay(absl::FromUnixSeconds(unix_seconds), kChinaStandardTime);
}


bool IsOneOfTheCities(City city) {
  return std::find(kAllCities.begin(), kAllCities.end(), city) != kAllCities.end();
}

// The claim on the insured city: fund pay + personal-account pay.
int64_t ClaimFen(const medical::v1::Settlement& settlement) {
  return settlement.fund_pay().fen() + settlement.personal_account_pay().fen();
}

absl::Status ValidateEntry(const LedgerEntry& entry) {
  const medical::v1::Settlement& s = entry.settlement;
  if (s.settlement_id().empty()) return absl::InvalidArgumentError("settlement.settlement_id is empty");
  if (s.state() != medical::v1::SETTLEMENT_STATE_SETTLED) {
    return absl::InvalidArgumentError(absl::StrCat("settlement.state of ", s.settlement_id(), " is ",
                                                   medical::v1::SettlementState_Name(s.state()),
                                                   ", not SETTLEMENT_STATE_SETTLED"));
  }
  if (s.settled_at_unix() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("settlement.settled_at_unix of ", s.settlement_id(), " is not set"));
  }
  if (!IsOneOfTheCities(s.insured_city().city())) {
    return absl::InvalidArgumentError(
        absl::StrCat("settlement.insured_city of ", s.settlement_id(), " is not one of the five cities"));
  }
  if (!IsOneOfTheCities(s.treatment_city().city())) {
    return absl::InvalidArgumentError(
        absl::StrCat("settlement.treatment_city of ", s.settlement_id(), " is not one of the five cities"));
  }
  if (entry.caller_organization.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("caller_organization of ", s.settlement_id(), " is empty"));
  }
  if (entry.idempotency_key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("idempotency_key of ", s.settlement_id(), " is empty"));
  }
  return absl::OkStatus();
}

absl::Status ValidateReversal(const std::string& settlement_id, const medical::v1::Settlement& reversed) {
  if (settlement_id.empty()) return absl::InvalidArgumentError("settlement_id is empty");
  if (reversed.settlement_id() != settlement_id) {
    return absl::InvalidArgumentError(absl::StrCat("reversed.settlement_id is \"", reversed.settlement_id(),
                                                   "\", not \"", settlement_id, "\""));
  }
  if (reversed.state() != medical::v1::SETTLEMENT_STATE_REVERSED) {
    return absl::InvalidArgumentError(absl::StrCat("reversed.state of ", settlement_id, " is ",
                                                   medical::v1::SettlementState_Name(reversed.state()),
                                                   ", not SETTLEMENT_STATE_REVERSED"));
  }
  if (reversed.reversed_at_unix() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("reversed.reversed_at_unix of ", settlement_id, " is not set"));
  }
  return absl::OkStatus();
}

int64_t DayKey(absl::CivilDay day) { return day.year() * 10000 + day.month() * 100 + day.day(); }

int CityIndex(int64_t city) {
  for (size_t i = 0; i < kAllCities.size(); ++i) {
    if (static_cast<int64_t>(kAllCities[i]) == city) return static_cast<int>(i);
  }
  return -1;
}

absl::Status ValidatePeriod(absl::CivilDay from, absl::CivilDay to) {
  if (from <= to) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("period.from (", absl::FormatCivilTime(from),
                                                 ") is after period.to (", absl::FormatCivilTime(to), ")"));
}

medical::v1::ClearingMatrix BuildClearingMatrix(absl::CivilDay from, absl::CivilDay to, const CityPairTotals& totals) {
  constexpr size_t kCities = kAllCities.size();
  medical::v1::ClearingMatrix matrix;
  *matrix.mutable_period()->mutable_from() = DateOf(from);
  *matrix.mutable_period()->mutable_to() = DateOf(to);
  std::array<int64_t, kCities> receivable{};
  std::array<int64_t, kCities> payable{};
  for (size_t t = 0; t < kCities; ++t) {
    for (size_t i = 0; i < kCities; ++i) {
      if (t == i) continue;  // treatment in the insured city itself is not a cross-city claim
      medical::v1::ClearingCell* cell = matrix.add_cells();
      cell->set_treatment_city(kAllCities[t]);
      cell->set_insured_city(kAllCities[i]);
      cell->set_settlements(totals.settlements[t][i]);
      cell->mutable_amount()->set_fen(totals.amount_fen[t][i]);
      receivable[t] += totals.amount_fen[t][i];
      payable[i] += totals.amount_fen[t][i];
    }
  }
  for (size_t c = 0; c < kCities; ++c) {
    medical::v1::NetPosition* position = matrix.add_positions();
    position->set_city(kAllCities[c]);
    position->mutable_receivable()->set_fen(receivable[c]);
    position->mutable_payable()->set_fen(payable[c]);
    position->mutable_net()->set_fen(receivable[c] - payable[c]);
  }
  return matrix;
}

PendingLedgerWrite SettlementWrite(LedgerEntry entry, std::function<void(absl::Status)> done) {
  PendingLedgerWrite write;
  write.status = ValidateEntry(entry);
  write.settlement_id = entry.settlement.settlement_id();
  write.entry = std::move(entry);
  write.done = std::move(done);
  return write;
}

PendingLedgerWrite ReversalWrite(const std::string& settlement_id, medical::v1::Settlement reversed,
                                 std::function<void(absl::Status)> done) {
  PendingLedgerWrite write;
  write.kind = LedgerWriteKind::kReversal;
  write.status = ValidateReversal(settlement_id, reversed);
  write.settlement_id = settlement_id;
  write.entry.settlement = std::move(reversed);
  write.done = std::move(done);
  return write;
}

PendingLedgerWrite IntentWrite(LedgerEntry entry, std::function<void(absl::Status)> done) {
  PendingLedgerWrite write = SettlementWrite(std::move(entry), std::move(done));
  write.kind = LedgerWriteKind::kIntent;
  return write;
}

PendingLedgerWrite AbandonIntentWrite(const std::string& settlement_id, std::function<void(absl::Status)> done) {
  PendingLedgerWrite write;
  write.kind = LedgerWriteKind::kAbandonIntent;
  write.status = settlement_id.empty() ? absl::InvalidArgumentError("settlement_id is empty") : absl::OkStatus();
  write.settlement_id = settlement_id;
  write.done = std::move(done);
  return write;
}

}  // namespace interop::settlement
