// Fuzz target: DialectTranslator (adapters/grpc_backend/backend_translation.h), the translation of
// a whole city backend reply, as the gateway receives it over gRPC, in each city's checked-in
// dialect (compiled into this binary from adapters/<city>/dialect.textproto).
//
// Input: one selector byte, then the serialized reply proto.
//   bits 0-2: the dialect, taiyuan, yangquan, jinzhong, xinzhou, lvliang (the value modulo 5)
//   bits 3-4: the reply: 0 GetMedicalEnrollmentResponse, 1 GetContributionsResponse,
//             2 GetHouseholdRegistrationResponse, 3 the same as 0
//   bit 5:    the person asked about: 0 born 1990 (140105199003071250), 1 born 1965
//             (142201196503071239, legacy 15-digit number 142201650307123 in Xinzhou)
// Checks: no crash; a refusal is INTERNAL naming the city; an accepted reply is about the person
// asked, with a non-empty UTF-8 name, real dates from 1900, amounts in [0, kMaxMoneyFen], no
// unspecified enum value, and contributions in canonical order.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "adapters/dialect/dialect.h"
#include "adapters/dialect/money.h"
#include "adapters/dialect/text_encoding.h"
#include "adapters/grpc_backend/backend_translation.h"
#include "fuzz/fuzz_check.h"
#include "gateway/base/cities.h"

extern const char kTaiyuanDialect[];
extern const std::size_t kTaiyuanDialect_size;
extern const char kYangquanDialect[];
extern const std::size_t kYangquanDialect_size;
extern const char kJinzhongDialect[];
extern const std::size_t kJinzhongDialect_size;
extern const char kXinzhouDialect[];
extern const std::size_t kXinzhouDialect_size;
extern const char kLvliangDialect[];
extern const std::size_t kLvliangDialect_size;

namespace {

namespace backend = ::interop::citybackend::v1;
using interop::adapters::Dialect;
using interop::adapters::DialectTranslator;

constexpr const char* kAskedIds[] = {"140105199003071250", "142201196503071239"};

const std::vector<DialectTranslator>& Translators() {
  static const auto* translators = [] {
    const std::tuple<const char*, size_t, const char*> files[] = {
        {kTaiyuanDialect, kTaiyuanDialect_size, "adapters/taiyuan/dialect.textproto"},
        {kYangquanDialect, kYangquanDialect_size, "adapters/yangquan/dialect.textproto"},
        {kJinzhongDialect, kJinzhongDialect_size, "adapters/jinzhong/dialect.textproto"},
        {kXinzhouDialect, kXinzhouDialect_size, "adapters/xinzhou/dialect.textproto"},
        {kLvliangDialect, kLvliangDialect_size, "adapters/lvliang/dialect.textproto"}};
    auto* list = new std::vector<DialectTranslator>();
    for (const auto& [text, size, source] : files) {
      absl::StatusOr<std::shared_ptr<const Dialect>> dialect =
          Dialect::Parse(absl::string_view(text, size), source);
      FUZZ_CHECK(dialect.ok());
      list->emplace_back(*dialect);
    }
    return list;
  }();
  return *translators;
}

void CheckDate(const interop::common::v1::Date& date) {
  const absl::CivilDay day(date.year(), date.month(), date.day());
  FUZZ_CHECK(day.year() == date.year() && day.month() == date.month() && day.day() == date.day());
  FUZZ_CHECK(date.year() >= interop::adapters::kEarliestDateYear);
}

void CheckMoney(const interop::common::v1::Money& money) {
  FUZZ_CHECK(money.fen() >= 0 && money.fen() <= interop::adapters::kMaxMoneyFen);
}

template <typename T>
void CheckRefusal(const absl::StatusOr<T>& result, const DialectTranslator& translator) {
  FUZZ_CHECK(result.status().code() == absl::StatusCode::kInternal);
  FUZZ_CHECK(absl::StrContains(result.status().message(), interop::CityName(translator.city())));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t selector = data[0];
  const DialectTranslator& translator = Translators()[(selector & 7) % 5];
  const std::string asked = kAskedIds[(selector >> 5) & 1];
  const int kind = (selector >> 3) & 3;
  const char* wire = reinterpret_cast<const char*>(data + 1);
  const int wire_size = static_cast<int>(size - 1);

  if (kind == 1) {
    backend::GetContributionsResponse reply;
    if (!reply.ParseFromArray(wire, wire_size)) return 0;
    const auto months = translator.TranslateContributions(asked, reply);
    if (!months.ok()) {
      CheckRefusal(months, translator);
      return 0;
    }
    FUZZ_CHECK(static_cast<int>(months->size()) == reply.months_size());
    for (size_t i = 0; i < months->size(); ++i) {
      const interop::social::v1::ContributionEntry& entry = (*months)[i];
      FUZZ_CHECK(entry.kind() != interop::social::v1::INSURANCE_KIND_UNSPECIFIED);
      FUZZ_CHECK(entry.month() >= 1 && entry.month() <= 12 && entry.year() >= 1900 && entry.months() == 1);
      CheckMoney(entry.wage_base());
      CheckMoney(entry.personal_amount());
      CheckMoney(entry.employer_amount());
      FUZZ_CHECK(entry.city().city() == translator.city());
      if (i > 0) {
        const auto& prev = (*months)[i - 1];
        FUZZ_CHECK(std::make_tuple(prev.year(), prev.month(), static_cast<int>(prev.kind())) <=
                   std::make_tuple(entry.year(), entry.month(), static_cast<int>(entry.kind())));
      }
    }
  } else if (kind == 2) {
    backend::GetHouseholdRegistrationResponse reply;
    if (!reply.ParseFromArray(wire, wire_size)) return 0;
    const auto record = translator.TranslateHouseholdRegistration(asked, reply);
    if (!record.ok()) {
      CheckRefusal(record, translator);
      return 0;
    }
    FUZZ_CHECK(record->resident_id() == asked);
    FUZZ_CHECK(!record->name().empty() && interop::adapters::IsValidUtf8(record->name()));
    FUZZ_CHECK(record->address_code().size() == 6 && record->household_number().size() == 9);
    FUZZ_CHECK(record->relation_to_head() != interop::household::v1::RELATION_TO_HEAD_UNSPECIFIED);
    FUZZ_CHECK(record->household_type() != interop::household::v1::HOUSEHOLD_TYPE_UNSPECIFIED);
    FUZZ_CHECK(record->registered_city().city() == translator.city());
    CheckDate(record->registered_since());
  } else {
    backend::GetMedicalEnrollmentResponse reply;
    if (!reply.ParseFromArray(wire, wire_size)) return 0;
    const auto status = translator.TranslateMedicalEnrollment(asked, reply);
    if (!status.ok()) {
      CheckRefusal(status, translator);
      return 0;
    }
    FUZZ_CHECK(status->resident_id() == asked);
    FUZZ_CHECK(!status->name().empty() && interop::adapters::IsValidUtf8(status->name()));
    FUZZ_CHECK(status->insured_region_code().size() == 6);
    FUZZ_CHECK(status->insurance_type() != interop::medical::v1::INSURANCE_TYPE_UNSPECIFIED);
    FUZZ_CHECK(status->status() != interop::medical::v1::ENROLLMENT_STATUS_UNSPECIFIED);
    FUZZ_CHECK(status->insured_city().city() == translator.city());
    CheckDate(status->enrollment_date());
    CheckMoney(status->personal_account_balance());
  }
  return 0;
}
