// Fuzz target: the reply parsers of Lüliang's HTTP/JSON national-interface backend
// (adapters/lvliang/national_interface.h): strict JSON, the reply envelope, the error mapping and the
// translation of each transaction's output, in Lüliang's checked-in dialect (compiled into this
// binary from adapters/lvliang/dialect.textproto).
//
// Input: one selector byte, then the reply body exactly as it would arrive over HTTP.
//   bits 0-1 and 4-7: the transaction, (bits 0-1) + 4 * (bits 4-7), modulo 12:
//             0 1101 (medical insurance), 1 L9101 (locate), 2 L9201 (contributions), 3 L9301
//             (household registration), and cross-city settlement: 4 5206 (account of 2026),
//             5 2207A (commit of kSent), 6 2208A (reversal of S1), 7 5203 (settlement S1), 8 3202
//             (a reconciliation page), 9 2501A (filing of kSentFiling), 10 2502A (revocation of
//             F14110000000001), 11 5301A (the person's filings)
//   bits 2-3: for L9201, the years asked: 0 all, 1 2024 only, 2 from 2000, 3 up to 2010; for 3202,
//             the page asked: 0 March 2026 from the start, 1 15 March 2026 from the start, 2 2026
//             after "S0", 3 March 2026 after "S1"
// Checks: no crash and no sanitizer report, whatever the bytes; a refusal is INTERNAL, NOT_FOUND or
// UNAVAILABLE (the settlement transactions also INVALID_ARGUMENT, ABORTED, ALREADY_EXISTS,
// FAILED_PRECONDITION, UNIMPLEMENTED, as SettlementReplyError maps them) and names the city
// (INTERNAL also the transaction); an accepted reply is about the person asked, with a non-empty
// UTF-8 name free of control characters, the city's division codes, real dates from 1900, amounts
// in [0, kMaxMoneyFen], no unspecified enum value, contributions in strictly increasing (year,
// month, kind) order within the years asked; an accepted settlement reply is the settlement asked
// about, with total = fund + account + cash pay and a reversal date exactly when reversed (a commit:
// the values sent, not reversed unless replayed; a reversal: reversed), its account of the
// settlement's year; a reconciliation page has ascending ids after the one asked, settle dates in
// the period and is not empty when more follow; a filing is the person's, valid_from <= valid_to, a
// reason from 1 to 5 (filed: the values sent, not revoked; revoked: the one asked, revoked), and a
// person's filings have distinct ids.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "adapters/dialect/dialect.h"
#include "adapters/dialect/money.h"
#include "adapters/dialect/text_encoding.h"
#include "adapters/lvliang/national_interface.h"
#include "fuzz/fuzz_check.h"
#include "gateway/base/cities.h"
#include "gateway/identity/resident_id.h"

extern const char kLvliangDialect[];
extern const std::size_t kLvliangDialect_size;

namespace {

using interop::City;
using interop::adapters::Dialect;
namespace lvliang = interop::adapters::lvliang;

constexpr char kAskedId[] = "141102199003071252";
constexpr int kAskedYear = 2026;
constexpr char kAskedSettlementId[] = "S1";
constexpr char kAskedFilingId[] = "F14110000000001";

// What 2207A committed: S1, outpatient, in Taiyuan on 15 March 2026, 100.00 yuan (10.00 deductible,
// 30.00 fund, 20.00 account, 50.00 cash).
interop::adapters::SettlementRecord SentSettlement() {
  interop::adapters::SettlementRecord sent;
  sent.settlement_id = kAskedSettlementId;
  sent.resident_id = kAskedId;
  sent.year = kAskedYear;
  sent.visit_type = interop::config::v1::VISIT_TYPE_OUTPATIENT;
  sent.institution_code = "H14010500001";
  sent.treatment_city = City::CITY_TAIYUAN;
  sent.settle_date = absl::CivilDay(2026, 3, 15);
  sent.total_fen = 10000;
  sent.deductible_applied_fen = 1000;
  sent.fund_pay_fen = 3000;
  sent.account_pay_fen = 2000;
  sent.cash_pay_fen = 5000;
  return sent;
}

// What 2501A filed: treatment in Taiyuan from 15 to 20 March 2026, a temporary stay.
interop::adapters::FilingRecord SentFiling() {
  interop::adapters::FilingRecord sent;
  sent.resident_id = kAskedId;
  sent.treatment_city = City::CITY_TAIYUAN;
  sent.valid_from = absl::CivilDay(2026, 3, 15);
  sent.valid_to = absl::CivilDay(2026, 3, 20);
  sent.reason = interop::medical::v1::FILING_REASON_TEMPORARY;
  return sent;
}

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

// A refusal of a settlement transaction: also the codes SettlementReplyError maps.
template <typename T>
void CheckSettlementRefusal(const absl::StatusOr<T>& result, absl::string_view infno) {
  if (result.ok()) return;
  const absl::Status& status = result.status();
  switch (status.code()) {
    case absl::StatusCode::kInternal:
      FUZZ_CHECK(absl::StrContains(status.message(), infno));
      break;
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kUnimplemented:
      break;
    default:
      FUZZ_CHECK(false && "a settlement reply refused with a code SettlementReplyError does not map");
  }
  FUZZ_CHECK(absl::StrContains(status.message(), "city lvliang"));
}

void CheckDay(absl::CivilDay day) {
  FUZZ_CHECK(day.year() >= interop::adapters::kEarliestDateYear && day.year() <= 9999);
}

void CheckFen(int64_t fen) { FUZZ_CHECK(fen >= 0 && fen <= interop::adapters::kMaxMoneyFen); }

bool IsFiveCities(City city) {
  return city == City::CITY_TAIYUAN || city == City::CITY_YANGQUAN || city == City::CITY_JINZHONG ||
         city == City::CITY_XINZHOU || city == City::CITY_LVLIANG;
}

void CheckAccount(const interop::adapters::MedicalAccount& account, int year) {
  FUZZ_CHECK(account.resident_id == kAskedId);
  FUZZ_CHECK(account.year == year);
  FUZZ_CHECK(account.insurance_type != interop::medical::v1::INSURANCE_TYPE_UNSPECIFIED);
  FUZZ_CHECK(account.status != interop::medical::v1::ENROLLMENT_STATUS_UNSPECIFIED);
  CheckFen(account.balance_fen);
  CheckFen(account.deductible_used_outpatient_fen);
  CheckFen(account.deductible_used_inpatient_fen);
  CheckFen(account.fund_paid_fen);
  FUZZ_CHECK(account.version >= 0);
}

// `person` empty: any person with a valid 18-character number.
void CheckSettlement(const interop::adapters::SettlementRecord& record, const std::string& person) {
  FUZZ_CHECK(!record.settlement_id.empty() && record.settlement_id.size() <= 64);
  if (person.empty()) {
    FUZZ_CHECK(record.resident_id.size() == 18);
    FUZZ_CHECK(interop::identity::ComputeCheckCharacter(
                   absl::string_view(record.resident_id).substr(0, 17)) == record.resident_id.back());
  } else {
    FUZZ_CHECK(record.resident_id == person);
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

void CheckFiling(const interop::adapters::FilingRecord& filing) {
  FUZZ_CHECK(!filing.filing_id.empty() && filing.filing_id.size() <= 64);
  FUZZ_CHECK(filing.resident_id == kAskedId);
  FUZZ_CHECK(IsFiveCities(filing.treatment_city));
  CheckDay(filing.valid_from);
  CheckDay(filing.valid_to);
  FUZZ_CHECK(filing.valid_from <= filing.valid_to);
  FUZZ_CHECK(filing.reason >= interop::medical::v1::FILING_REASON_RESETTLED_RETIREE &&
             filing.reason <= interop::medical::v1::FILING_REASON_TEMPORARY);
}

void CheckCommitResult(const interop::adapters::CommitResult& result) {
  FUZZ_CHECK(result.settlement.settlement_id == kAskedSettlementId);
  CheckSettlement(result.settlement, kAskedId);
  CheckAccount(result.account, result.settlement.year);
}

// The settlement transactions, 4 to 11 (see the top of this file).
void ParseSettlementReply(int transaction, int variant, const Dialect& dialect, absl::string_view body) {
  switch (transaction) {
    case 4: {
      auto account = lvliang::ParseAccountReply(dialect, kAskedId, kAskedYear, body);
      CheckSettlementRefusal(account, lvliang::kAccountTransaction);
      if (account.ok()) CheckAccount(*account, kAskedYear);
      return;
    }
    case 5: {
      const interop::adapters::SettlementRecord sent = SentSettlement();
      auto result = lvliang::ParseSettleReply(dialect, sent, body);
      CheckSettlementRefusal(result, lvliang::kSettleTransaction);
      if (!result.ok()) return;
      CheckCommitResult(*result);
      const interop::adapters::SettlementRecord& got = result->settlement;
      FUZZ_CHECK(got.year == sent.year && got.visit_type == sent.visit_type &&
                 got.institution_code == sent.institution_code && got.treatment_city == sent.treatment_city &&
                 got.settle_date == sent.settle_date && got.total_fen == sent.total_fen &&
                 got.deductible_applied_fen == sent.deductible_applied_fen &&
                 got.fund_pay_fen == sent.fund_pay_fen && got.account_pay_fen == sent.account_pay_fen &&
                 got.cash_pay_fen == sent.cash_pay_fen);
      if (!result->replayed) FUZZ_CHECK(!got.reversed);
      return;
    }
    case 6: {
      auto result = lvliang::ParseReverseSettlementReply(dialect, kAskedSettlementId, kAskedId, body);
      CheckSettlementRefusal(result, lvliang::kReverseSettlementTransaction);
      if (!result.ok()) return;
      CheckCommitResult(*result);
      FUZZ_CHECK(result->settlement.reversed);
      return;
    }
    case 7: {
      auto record = lvliang::ParseSettlementRecordReply(dialect, kAskedSettlementId, body);
      CheckSettlementRefusal(record, lvliang::kSettlementRecordTransaction);
      if (!record.ok()) return;
      FUZZ_CHECK(record->settlement_id == kAskedSettlementId);
      CheckSettlement(*record, "");
      return;
    }
    case 8: {
      struct Page {
        absl::CivilDay from, to;
        const char* after;
      };
      static const Page kPages[] = {{absl::CivilDay(2026, 3, 1), absl::CivilDay(2026, 3, 31), ""},
                                    {absl::CivilDay(2026, 3, 15), absl::CivilDay(2026, 3, 15), ""},
                                    {absl::CivilDay(2026, 1, 1), absl::CivilDay(2026, 12, 31), "S0"},
                                    {absl::CivilDay(2026, 3, 1), absl::CivilDay(2026, 3, 31), "S1"}};
      const Page& asked = kPages[variant];
      auto page = lvliang::ParseReconciliationReply(dialect, asked.from, asked.to, asked.after, body);
      CheckSettlementRefusal(page, lvliang::kReconciliationTransaction);
      if (!page.ok()) return;
      std::string previous = asked.after;
      for (const interop::adapters::SettlementRecord& record : page->records) {
        CheckSettlement(record, "");
        FUZZ_CHECK(record.settle_date >= asked.from && record.settle_date <= asked.to);
        FUZZ_CHECK(record.settlement_id > previous);
        previous = record.settlement_id;
      }
      if (page->more) FUZZ_CHECK(!page->records.empty());
      return;
    }
    case 9: {
      const interop::adapters::FilingRecord sent = SentFiling();
      auto filed = lvliang::ParseFileTreatmentReply(dialect, sent, body);
      CheckSettlementRefusal(filed, lvliang::kFileTreatmentTransaction);
      if (!filed.ok()) return;
      CheckFiling(*filed);
      FUZZ_CHECK(filed->treatment_city == sent.treatment_city && filed->valid_from == sent.valid_from &&
                 filed->valid_to == sent.valid_to && filed->reason == sent.reason && !filed->revoked);
      return;
    }
    case 10: {
      auto revoked = lvliang::ParseRevokeFilingReply(dialect, kAskedId, kAskedFilingId, body);
      CheckSettlementRefusal(revoked, lvliang::kRevokeFilingTransaction);
      if (!revoked.ok()) return;
      CheckFiling(*revoked);
      FUZZ_CHECK(revoked->filing_id == kAskedFilingId && revoked->revoked);
      return;
    }
    default: {
      auto filings = lvliang::ParseFilingQueryReply(dialect, kAskedId, body);
      CheckSettlementRefusal(filings, lvliang::kFilingQueryTransaction);
      if (!filings.ok()) return;
      std::set<std::string> ids;
      for (const interop::adapters::FilingRecord& filing : *filings) {
        CheckFiling(filing);
        FUZZ_CHECK(ids.insert(filing.filing_id).second);
      }
      return;
    }
  }
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

  const int transaction = ((selector & 3) | ((selector >> 4) << 2)) % 12;
  if (transaction >= 4) {
    ParseSettlementReply(transaction, (selector >> 2) & 3, dialect, body);
    return 0;
  }
  switch (transaction) {
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
