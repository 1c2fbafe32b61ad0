// Checks of the settlement API's requests, each error naming the offending field
// (google.rpc.BadRequest through FieldError).
#ifndef INTEROP_GATEWAY_SERVICES_SETTLEMENT_REQUEST_H_
#define INTEROP_GATEWAY_SERVICES_SETTLEMENT_REQUEST_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "interop/common/v1/common.pb.h"
#include "interop/medical/v1/settlement.pb.h"

namespace interop::services {

// Limits that keep every amount far from int64 overflow: 500 lines x 10^7 thousandths x 10^9 fen.
inline constexpr int kMaxLineItems = 500;
inline constexpr int64_t kMaxQuantityMilli = 10'000'000;  // 10,000 units
inline constexpr int64_t kMaxUnitPriceFen = 1'000'000'000;  // 10 million yuan

// A Date message as a civil day; INVALID_ARGUMENT naming `field` if unset or impossible.
absl::StatusOr<absl::CivilDay> ToCivilDay(const common::v1::Date& date, absl::string_view field);

// Checks `visit` (field names start with `field`, e.g. "visit"): the hospital's institution code is
// "H" + 11 digits whose first six are a county-level code in use in `treatment_city`; level, visit
// type and date set (the date not after `today`, not before 1 January of last year); an ICD-10
// diagnosis code; 1 to kMaxLineItems lines, each with a national code (23-character drug code
// starting with X or Z, or 15 digits), a quantity and unit price within the limits above.
absl::Status ValidateVisit(const medical::v1::Visit& visit, absl::string_view field, common::v1::City treatment_city,
                           absl::CivilDay today);

// An idempotency key: 8 to 64 characters of [A-Za-z0-9._-].
absl::Status ValidateIdempotencyKey(absl::string_view key, absl::string_view field);

// A period: both days set and valid, from <= to, at most 366 days.
absl::Status ValidatePeriod(const medical::v1::Period& period, absl::string_view field);

// A settlement id as SettlementIdFor makes them.
absl::Status ValidateSettlementId(absl::string_view id, absl::string_view field);

}  // namespace interop::services

#endif  // INTEROP_GATEWAY_SERVICES_SETTLEMENT_REQUEST_H_
