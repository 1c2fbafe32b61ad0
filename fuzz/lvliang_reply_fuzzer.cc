// Fuzz target: the reply parsers of Lüliang's HTTP/JSON national-interface backend
// (adapters/lvliang/national_interface.h): strict JSON, the reply envelope, the error mapping and the
// translation of each transaction's output, in Lüliang's checked-in dialect (compiled into this
// binary from adapters/lvliang/dialect.textproto).
//
// Input: one selector byte, then the reply body exactly as it would arrive over HTTP.
//   bits 0-1: the transaction: 0 1101 (medical insurance), 1 L9101 (locate), 2 L9201
//             (contributions), 3 L9301 (household registration)
//   bits 2-3: for L9201, the years asked: 0 all, 1 2024 only, 2 from 2000, 3 up to 2010
// Checks: no crash and no sanitizer report, whatever the bytes; a refusal is INTERNAL, NOT_FOUND or
// UNAVAILABLE and names the city (INTERNAL also the transaction); an accepted reply is about the
// person asked, with a non-empty UTF-8 name free of control characters, the city's division codes,
// real dates from 1900, amounts in [0, kMaxMoneyFen], no unspecified enum value, contributions in
// strictly increasing (year, month, kind) order within the years asked.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "adapters/dialect/dialect.h"
#include "adapters/dialect/money.h"
#include "adapters/dialect/text_encoding.h"
#include "adapters/lvliang/national_interface.h"
#include "fuzz/fuzz_check.h"
#include "gateway/base/cities.h"

extern const char kLvliangDialect[];
extern const std::size_t kLvliangDialect_size;

namespace {

using interop::City;
using interop::adapters::Dialect;
namespace lvliang = interop::adapters::lvliang;

constexpr char kAskedId[] = "141102199003071252";

const Dialect& LvliangDialect() {
  static const std::shared_ptr<const Dialect>* dialect = [] {
    absl::StatusOr<std::shared_ptr<const Dialect>> parsed = Dialect::Parse(
        absl::string_view(kLvliangDialect, kLvliangDialect_size), "adapters/lvliang/dialect.textproto");
    FUZZ_CHECK(parsed.ok());
    return new std::shared_ptr<const Dialect>(*parsed);
  }();
  return **dialect;
}

template <typename T>
void CheckRefusal(const absl::StatusOr<T>& result, absl::string_view infno) {
  if (result.ok()) return;
  const absl::Status& status = result.status();
  FUZZ_CHECK(status.code() == absl::StatusCode::kInternal || status.code() == absl::StatusCode::kNotFound ||
             status.code() == absl::StatusCode::kUnavailable);
  FUZZ_CHECK(absl::StrContains(status.message(), "city lvliang"));
  if (status.code() == absl::StatusCode::kInternal) FUZZ_CHECK(absl::StrContains(status.message(), infno));
}

void CheckName(const std::string& name) {
  FUZZ_CHECK(!name.empty());
  FUZZ_CHECK(interop::adapters::IsValidUtf8(name));
  for (char c : name) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
}

void CheckDate(const interop::common::v1::Date& date) {
  const absl::CivilDay day(date.year(), date.month(), date.day());
  FUZZ_CHECK(day.year() == date.year() && day.month() == date.month() && day.day() == date.day());
  FUZZ_CHECK(date.year() >= interop::adapters::kEarliestDateYear);
}

void CheckMoney(const interop::common::v1::Money& money) {
  FUZZ_CHECK(money.fen() >= 0 && money.fen() <= interop::adapters::kMaxMoneyFen);
}

void CheckLvliangDivision(const std::string& code) {
  FUZZ_CHECK(code.size() == 6 && code.substr(0, 4) == "1411");
  for (char c : code) FUZZ_CHECK(c >= '0' && c <= '9');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t selector = data[0];
  const absl::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  const Dialect& dialect = LvliangDialect();

  // The layers on their own never crash either.
  (void)lvliang::ParseReplyEnvelope(City::CITY_LVLIANG, "1101", body);
  (void)lvliang::CheckHttpReply(City::CITY_LVLIANG, "1101", 200, body);

  switch (selector & 3) {
    case 0: {
      auto status = lvliang::ParsePersonInfoReply(dialect, kAskedId, body);
      CheckRefusal(status, "1101");
      if (!status.ok()) break;
      FUZZ_CHECK(status->resident_id() == kAskedId);
      CheckName(status->name());
      FUZZ_CHECK(status->insured_city().city() == City::CITY_LVLIANG);
      CheckLvliangDivision(status->insured_region_code());
      FUZZ_CHECK(status->insurance_type() != interop::medical::v1::INSURANCE_TYPE_UNSPECIFIED);
      FUZZ_CHECK(status->status() != interop::medical::v1::ENROLLMENT_STATUS_UNSPECIFIED);
      CheckDate(status->enrollment_date());
      CheckMoney(status->personal_account_balance());
      break;
    }
    case 1: {
      auto location = lvliang::ParseLocatePersonReply(dialect, kAskedId, body);
      CheckRefusal(location, "L9101");
      if (!location.ok()) break;
      if (!location->found) {
        FUZZ_CHECK(!location->holds_medical_enrollment && !location->holds_contribution_history &&
                   !location->holds_household_registration);
      }
      break;
    }
    case 2: {
      static constexpr std::pair<int, int> kYears[] = {{0, 0}, {2024, 2024}, {2000, 0}, {0, 2010}};
      const auto [from, to] = kYears[(selector >> 2) & 3];
      auto entries = lvliang::ParseContributionsReply(dialect, kAskedId, from, to, body);
      CheckRefusal(entries, "L9201");
      if (!entries.ok()) break;
      std::tuple<int, int, int> previous{0, 0, 0};
      for (const interop::social::v1::ContributionEntry& entry : *entries) {
        FUZZ_CHECK(entry.city().city() == City::CITY_LVLIANG);
        FUZZ_CHECK(entry.kind() != interop::social::v1::INSURANCE_KIND_UNSPECIFIED);
        FUZZ_CHECK(entry.month() >= 1 && entry.month() <= 12 && entry.months() == 1);
        FUZZ_CHECK(entry.year() >= interop::adapters::kEarliestDateYear);
        FUZZ_CHECK((from == 0 || entry.year() >= from) && (to == 0 || entry.year() <= to));
        CheckMoney(entry.wage_base());
        CheckMoney(entry.personal_amount());
        CheckMoney(entry.employer_amount());
        const std::tuple<int, int, int> key{entry.year(), entry.month(), static_cast<int>(entry.kind())};
        FUZZ_CHECK(previous < key);
        previous = key;
      }
      break;
    }
    default: {
      auto record = lvliang::ParseHouseholdReply(dialect, kAskedId, body);
      CheckRefusal(record, "L9301");
      if (!record.ok()) break;
      FUZZ_CHECK(record->resident_id() == kAskedId);
      CheckName(record->name());
      FUZZ_CHECK(record->registered_city().city() == City::CITY_LVLIANG);
      CheckLvliangDivision(record->address_code());
      FUZZ_CHECK(record->household_number().size() == 9);
      for (char c : record->household_number()) FUZZ_CHECK(c >= '0' && c <= '9');
      FUZZ_CHECK(record->relation_to_head() != interop::household::v1::RELATION_TO_HEAD_UNSPECIFIED);
      FUZZ_CHECK(record->household_type() != interop::household::v1::HOUSEHOLD_TYPE_UNSPECIFIED);
      CheckDate(record->registered_since());
      break;
    }
  }
  return 0;
}
