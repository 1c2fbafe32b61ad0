#include "gateway/settlement/ledger.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gateway/base/cities.h"

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

}  // namespace interop::settlement
