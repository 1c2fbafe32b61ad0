// Fuzz target: DialectTranslator (adapters/grpc_backend/backend_translation.h), the translation of
// a whole city backend reply, as the gateway receives it over gRPC, in each city's checked-in
// dialect (compiled into this binary from adapters/<city>/dialect.textproto).
//
// Input: one selector byte, then the serialized reply proto.
//   bits 0-2: the dialect, taiyuan, yangquan, jinzhong, xinzhou, lvliang (the value modulo 5)
//   bits 3-4 and 6-7: the reply, (bits 3-4) + 4 * (bits 6-7), modulo 10:
//             0 GetMedicalEnrollmentResponse, 1 GetContributionsResponse,
//             2 GetHouseholdRegistrationResponse, and the settlement part of the contract:
//             3 MedicalAccount (asked for kAskedYear), 4 CommitSettlementResponse and
//             5 ReverseSettlementResponse (of settlement kAskedSettlementId),
//             6 SettlementRecord (translated both as asked about by person and as listed),
//             7 FilingRecord, 8 ListSettlementRecordsResponse (one page, as the adapter reads it),
//             9 ListFilingsResponse
//   bit 5:    the person asked about: 0 born 1990 (140105199003071250), 1 born 1965
//             (142201196503071239, legacy 15-digit number 142201650307123 in Xinzhou)
// Checks: no crash; a refusal is INTERNAL naming the city and "an untranslatable <field>" (for the
// settlement replies, the field under the prefix the adapter gives: "account.", "settlement.",
// "filing.", "settlements[i].", "filings[i]."); an accepted reply is about the person asked, with a
// non-empty UTF-8 name, real dates from 1900, amounts in [0, kMaxMoneyFen], no unspecified enum
// value, and contributions in canonical order; an accepted settlement is the one asked about, its
// total is fund + account + cash pay, it has a reversal date exactly when reversed, and an
// accepted account is of the year asked (a commit's: of the settlement's year).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "adapters/dialect/dialect.h"
#include "adapters/dialect/money.h"
#include "adapters/dialect/text_encoding.h"
#include "adapters/grpc_backend/backend_translation.h"
#include "fuzz/fuzz_check.h"
#include "gateway/base/cities.h"
#include "gateway/identity/resident_id.h"
#include "google/protobuf/stubs/logging.h"

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
using interop::City;
using interop::adapters::CommitResult;
using interop::adapters::Dialect;
using interop::adapters::DialectTranslator;
using interop::adapters::FilingRecord;
using interop::adapters::MedicalAccount;
using interop::adapters::SettlementRecord;

constexpr const char* kAskedIds[] = {"140105199003071250", "142201196503071239"};
// What the settlement replies are asked about (the seeds use them).
constexpr int kAskedYear = 2026;
constexpr char kAskedSettlementId[] = "S1";

// The replies, as numbered in the selector (see the top of this file).
enum Reply {
  kMedicalEnrollment = 0,
  kContributions = 1,
  kHouseholdRegistration = 2,
  kMedicalAccount = 3,
  kCommitSettlement = 4,
  kReverseSettlement = 5,
  kSettlementRecord = 6,
  kFilingRecord = 7,
  kListSettlementRecords = 8,
  kListFilings = 9,
  kReplies = 10
};

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

// A refusal of a settlement reply: INTERNAL naming the city and a field under `prefix`.
void CheckRefusalOfField(const absl::Status& status, const DialectTranslator& translator,
                         absl::string_view prefix) {
  FUZZ_CHECK(status.code() == absl::StatusCode::kInternal);
  FUZZ_CHECK(absl::StrContains(status.message(), absl::StrCat("city ", interop::CityName(translator.city()),
                                                              " answered an untranslatable ", prefix)));
}

void CheckDay(absl::CivilDay day) {
  FUZZ_CHECK(day.year() >= interop::adapters::kEarliestDateYear && day.year() <= 9999);
}

void CheckFen(int64_t fen) { FUZZ_CHECK(fen >= 0 && fen <= interop::adapters::kMaxMoneyFen); }

bool IsFiveCities(City city) {
  return city == City::CITY_TAIYUAN || city == City::CITY_YANGQUAN || city == City::CITY_JINZHONG ||
         city == City::CITY_XINZHOU || city == City::CITY_LVLIANG;
}

void CheckAccount(const MedicalAccount& account, const std::string& asked, int year) {
  FUZZ_CHECK(account.resident_id == asked);
  FUZZ_CHECK(account.year == year);
  FUZZ_CHECK(account.insurance_type != interop::medical::v1::INSURANCE_TYPE_UNSPECIFIED);
  FUZZ_CHECK(account.status != interop::medical::v1::ENROLLMENT_STATUS_UNSPECIFIED);
  CheckFen(account.balance_fen);
  CheckFen(account.deductible_used_outpatient_fen);
  CheckFen(account.deductible_used_inpatient_fen);
  CheckFen(account.fund_paid_fen);
}

// `asked` empty: a record listed, of any person with a valid 18-character number.
void CheckSettlement(const SettlementRecord& record, const std::string& asked) {
  FUZZ_CHECK(!record.settlement_id.empty());
  if (asked.empty()) {
    FUZZ_CHECK(record.resident_id.size() == 18);
    FUZZ_CHECK(interop::identity::ComputeCheckCharacter(
                   absl::string_view(record.resident_id).substr(0, 17)) == record.resident_id.back());
  } else {
    FUZZ_CHECK(record.resident_id == asked);
  }
  FUZZ_CHECK(record.year >= interop::adapters::kEarliestDateYear && record.year <= 9999);
  FUZZ_CHECK(record.visit_type == interop::config::v1::VISIT_TYPE_OUTPATIENT ||
             record.visit_type == interop::config::v1::VISIT_TYPE_INPATIENT);
  FUZZ_CHECK(!record.institution_code.empty());
  FUZZ_CHECK(IsFiveCities(record.treatment_city));
  CheckDay(record.settle_date);
  for (int64_t fen : {record.total_fen, record.deductible_applied_fen, record.fund_pay_fen,
                      record.account_pay_fen, record.cash_pay_fen}) {
    CheckFen(fen);
  }
  FUZZ_CHECK(record.fund_pay_fen + record.account_pay_fen + record.cash_pay_fen == record.total_fen);
  if (record.reversed) CheckDay(record.reversed_date);
}

void CheckFiling(const FilingRecord& filing, const std::string& asked) {
  FUZZ_CHECK(!filing.filing_id.empty());
  FUZZ_CHECK(filing.resident_id == asked);
  FUZZ_CHECK(IsFiveCities(filing.treatment_city));
  CheckDay(filing.valid_from);
  CheckDay(filing.valid_to);
  FUZZ_CHECK(filing.valid_from <= filing.valid_to);
  FUZZ_CHECK(filing.reason >= interop::medical::v1::FILING_REASON_RESETTLED_RETIREE &&
             filing.reason <= interop::medical::v1::FILING_REASON_TEMPORARY);
}

void CheckCommitResult(const absl::StatusOr<CommitResult>& result, const DialectTranslator& translator,
                       const std::string& asked) {
  if (!result.ok()) {
    const absl::string_view message = result.status().message();
    FUZZ_CHECK(absl::StrContains(message, "untranslatable settlement.") ||
               absl::StrContains(message, "untranslatable account."));
    CheckRefusalOfField(result.status(), translator, "");
    return;
  }
  FUZZ_CHECK(result->settlement.settlement_id == kAskedSettlementId);
  CheckSettlement(result->settlement, asked);
  CheckAccount(result->account, asked, result->settlement.year);
}

// The translations of the settlement part of the contract (replies 3 to 9).
void TranslateSettlementReply(int reply, const DialectTranslator& translator, const std::string& asked,
                              const char* wire, int wire_size) {
  switch (reply) {
    case kMedicalAccount: {
      backend::MedicalAccount account;
      if (!account.ParseFromArray(wire, wire_size)) return;
      const absl::StatusOr<MedicalAccount> out =
          translator.TranslateMedicalAccount("account", asked, kAskedYear, account);
      if (!out.ok()) return CheckRefusalOfField(out.status(), translator, "account.");
      CheckAccount(*out, asked, kAskedYear);
      FUZZ_CHECK(out->version == account.version());
      return;
    }
    case kCommitSettlement: {
      backend::CommitSettlementResponse response;
      if (!response.ParseFromArray(wire, wire_size)) return;
      const absl::StatusOr<CommitResult> out = translator.TranslateCommitResult(
          kAskedSettlementId, asked, response.account(), response.settlement(), response.replayed());
      CheckCommitResult(out, translator, asked);
      if (out.ok()) FUZZ_CHECK(out->replayed == response.replayed());
      return;
    }
    case kReverseSettlement: {
      backend::ReverseSettlementResponse response;
      if (!response.ParseFromArray(wire, wire_size)) return;
      const absl::StatusOr<CommitResult> out = translator.TranslateCommitResult(
          kAskedSettlementId, asked, response.account(), response.settlement(), response.replayed());
      CheckCommitResult(out, translator, asked);
      return;
    }
    case kSettlementRecord: {
      backend::SettlementRecord record;
      if (!record.ParseFromArray(wire, wire_size)) return;
      // As GetSettlementRecord reads it (any person), and as a commit's answer does (the person asked).
      const absl::StatusOr<SettlementRecord> listed =
          translator.TranslateSettlementRecord("settlement", "", record);
      if (!listed.ok()) {
        CheckRefusalOfField(listed.status(), translator, "settlement.");
      } else {
        CheckSettlement(*listed, "");
      }
      const absl::StatusOr<SettlementRecord> of_person =
          translator.TranslateSettlementRecord("settlement", asked, record);
      if (!of_person.ok()) {
        CheckRefusalOfField(of_person.status(), translator, "settlement.");
      } else {
        CheckSettlement(*of_person, asked);
        // The person asked about has a valid number, so a record of them is also a valid listed one.
        FUZZ_CHECK(listed.ok() && listed->resident_id == asked);
      }
      return;
    }
    case kFilingRecord: {
      backend::FilingRecord filing;
      if (!filing.ParseFromArray(wire, wire_size)) return;
      const absl::StatusOr<FilingRecord> out = translator.TranslateFilingRecord("filing", asked, filing);
      if (!out.ok()) return CheckRefusalOfField(out.status(), translator, "filing.");
      CheckFiling(*out, asked);
      FUZZ_CHECK(out->revoked == filing.revoked());
      return;
    }
    case kListSettlementRecords: {
      backend::ListSettlementRecordsResponse page;
      if (!page.ParseFromArray(wire, wire_size)) return;
      for (int i = 0; i < page.settlements_size(); ++i) {
        const std::string field = absl::StrCat("settlements[", i, "]");
        const absl::StatusOr<SettlementRecord> out =
            translator.TranslateSettlementRecord(field, "", page.settlements(i));
        if (!out.ok()) return CheckRefusalOfField(out.status(), translator, absl::StrCat(field, "."));
        CheckSettlement(*out, "");
      }
      return;
    }
    case kListFilings: {
      backend::ListFilingsResponse filings;
      if (!filings.ParseFromArray(wire, wire_size)) return;
      for (int i = 0; i < filings.filings_size(); ++i) {
        const std::string field = absl::StrCat("filings[", i, "]");
        const absl::StatusOr<FilingRecord> out =
            translator.TranslateFilingRecord(field, asked, filings.filings(i));
        if (!out.ok()) return CheckRefusalOfField(out.status(), translator, absl::StrCat(field, "."));
        CheckFiling(*out, asked);
      }
      return;
    }
    default:
      return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Parsing logs an error for every string field that is not UTF-8 (most fuzz inputs): it would
  // fill the logs and slow the fuzzer down. A refusal to parse is what the target looks at.
  static const bool kQuietProtobuf = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)kQuietProtobuf;
  if (size < 1) return 0;
  const uint8_t selector = data[0];
  const DialectTranslator& translator = Translators()[(selector & 7) % 5];
  const std::string asked = kAskedIds[(selector >> 5) & 1];
  const int kind = (((selector >> 3) & 3) | ((selector >> 4) & 0x0C)) % kReplies;
  const char* wire = reinterpret_cast<const char*>(data + 1);
  const int wire_size = static_cast<int>(size - 1);

  if (kind >= kMedicalAccount) {
    TranslateSettlementReply(kind, translator, asked, wire, wire_size);
  } else if (kind == kContributions) {
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
  } else if (kind == kHouseholdRegistration) {
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
