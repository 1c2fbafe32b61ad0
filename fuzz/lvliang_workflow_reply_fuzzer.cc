// Fuzz target: the reply parsers of Lüliang's HTTP/JSON national-interface backend for the steps of
// household migration and pension transfer, and for certificate signing
// (adapters/lvliang/national_interface.h): strict JSON, the reply envelope, the error mapping and the
// translation of each transaction's output, in Lüliang's checked-in dialect (compiled into this binary
// from adapters/lvliang/dialect.textproto).
//
// Input: one selector byte, then the reply body exactly as it would arrive over HTTP.
//   selector % 9, the transaction: 0 L9302 (permit to move in), 1 L9303 (move-out), 2 L9304
//   (settle-in at 141102), 3 L9202 (pension transfer application), 4 L9203 (contact letter for
//   application ZJ14110000000002), 5 L9204 (information sheet and funds), 6 L9205 (transfer out),
//   7 L9206 (transfer in), 8 L9401 (certificate signature)
// Checks: no crash and no sanitizer report, whatever the bytes; a refusal is one of the codes
// SettlementReplyError maps (INTERNAL, NOT_FOUND, UNAVAILABLE, INVALID_ARGUMENT, ABORTED,
// ALREADY_EXISTS, FAILED_PRECONDITION, UNIMPLEMENTED) and names the city (INTERNAL also the
// transaction); an accepted reply is about the person asked: a permit has a number of 1 to 64
// printable characters and is valid from its issue day on; a move-out names a division of Lüliang; a
// settle-in is the person's registration in Lüliang at the address settled in, with a non-empty UTF-8
// name free of control characters, a nine-digit household number and no unspecified enum; application
// and letter numbers are printable; a sheet's years are strictly ascending with 1 to 12 months each, its
// months are pension months of Lüliang in strictly ascending order, and every amount is in
// [0, kMaxMoneyFen]; every date is real and from 1900; a signature is non-empty with a key id and one
// of the two algorithms.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "adapters/dialect/date_format.h"
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
constexpr char kSettledAddress[] = "141102";
constexpr char kAskedApplication[] = "ZJ14110000000002";

const Dialect& LvliangDialect() {
  static const std::shared_ptr<const Dialect>* dialect = [] {
    absl::StatusOr<std::shared_ptr<const Dialect>> parsed = Dialect::Parse(
        absl::string_view(kLvliangDialect, kLvliangDialect_size), "adapters/lvliang/dialect.textproto");
    FUZZ_CHECK(parsed.ok());
    return new std::shared_ptr<const Dialect>(*parsed);
  }();
  return **dialect;
}

// A refusal: a code SettlementReplyError maps, naming the city (INTERNAL: and the transaction).
template <typename T>
void CheckRefusal(const absl::StatusOr<T>& result, absl::string_view infno) {
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
      FUZZ_CHECK(false && "a reply refused with a code SettlementReplyError does not map");
  }
  FUZZ_CHECK(absl::StrContains(status.message(), "city lvliang"));
}

void CheckDay(absl::CivilDay day) {
  FUZZ_CHECK(day.year() >= interop::adapters::kEarliestDateYear && day.year() <= 9999);
}

void CheckFen(int64_t fen) { FUZZ_CHECK(fen >= 0 && fen <= interop::adapters::kMaxMoneyFen); }

void CheckNumber(const std::string& number) {
  FUZZ_CHECK(!number.empty() && number.size() <= 64);
  for (char c : number) FUZZ_CHECK(c > 0x20 && c < 0x7f);
}

void CheckLvliangDivision(const std::string& code) {
  FUZZ_CHECK(code.size() == 6 && code.substr(0, 4) == "1411");
  for (char c : code) FUZZ_CHECK(c >= '0' && c <= '9');
}

void CheckDate(const interop::common::v1::Date& date) {
  const absl::CivilDay day(date.year(), date.month(), date.day());
  FUZZ_CHECK(day.year() == date.year() && day.month() == date.month() && day.day() == date.day());
  FUZZ_CHECK(date.year() >= interop::adapters::kEarliestDateYear);
}

void CheckName(const std::string& name) {
  FUZZ_CHECK(!name.empty());
  FUZZ_CHECK(interop::adapters::IsValidUtf8(name));
  for (char c : name) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
}

void CheckSheet(const interop::adapters::PensionTransferSheet& sheet) {
  CheckFen(sheet.personal_account_fen);
  CheckFen(sheet.pooled_fund_fen);
  int previous_year = 0;
  for (const interop::adapters::PensionSheetYear& year : sheet.years) {
    FUZZ_CHECK(year.year > previous_year);
    previous_year = year.year;
    FUZZ_CHECK(year.year >= interop::adapters::kEarliestDateYear && year.year <= 9999);
    FUZZ_CHECK(year.months >= 1 && year.months <= 12);
    CheckFen(year.wage_base_total_fen);
    CheckFen(year.personal_fen);
    CheckFen(year.employer_fen);
  }
  std::pair<int, int> previous_month{0, 0};
  for (const interop::social::v1::ContributionEntry& entry : sheet.months) {
    FUZZ_CHECK(entry.kind() == interop::social::v1::INSURANCE_KIND_EMPLOYEE_PENSION);
    FUZZ_CHECK(entry.city().city() == City::CITY_LVLIANG);
    FUZZ_CHECK(entry.months() == 1);
    FUZZ_CHECK(entry.year() >= interop::adapters::kEarliestDateYear && entry.month() >= 1 && entry.month() <= 12);
    const std::pair<int, int> month{entry.year(), entry.month()};
    FUZZ_CHECK(previous_month < month);
    previous_month = month;
    CheckFen(entry.wage_base().fen());
    CheckFen(entry.personal_amount().fen());
    CheckFen(entry.employer_amount().fen());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int transaction = data[0] % 9;
  const absl::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  const Dialect& dialect = LvliangDialect();

  switch (transaction) {
    case 0: {
      auto permit = lvliang::ParseMoveInPermitReply(dialect, kAskedId, body);
      CheckRefusal(permit, lvliang::kMoveInPermitTransaction);
      if (!permit.ok()) break;
      CheckNumber(permit->permit_number);
      CheckDay(permit->issued_on);
      CheckDay(permit->valid_until);
      FUZZ_CHECK(permit->issued_on <= permit->valid_until);
      break;
    }
    case 1: {
      auto record = lvliang::ParseMoveOutReply(dialect, kAskedId, body);
      CheckRefusal(record, lvliang::kMoveOutTransaction);
      if (!record.ok()) break;
      CheckLvliangDivision(record->previous_address_code);
      CheckDay(record->moved_out_on);
      break;
    }
    case 2: {
      auto settled = lvliang::ParseSettleInReply(dialect, kAskedId, kSettledAddress, body);
      CheckRefusal(settled, lvliang::kSettleInTransaction);
      if (!settled.ok()) break;
      const interop::household::v1::GetHouseholdRecordResponse& r = settled->registration;
      FUZZ_CHECK(r.resident_id() == kAskedId);
      CheckName(r.name());
      FUZZ_CHECK(r.registered_city().city() == City::CITY_LVLIANG);
      FUZZ_CHECK(r.address_code() == kSettledAddress);
      FUZZ_CHECK(r.household_number().size() == 9);
      for (char c : r.household_number()) FUZZ_CHECK(c >= '0' && c <= '9');
      FUZZ_CHECK(r.relation_to_head() != interop::household::v1::RELATION_TO_HEAD_UNSPECIFIED);
      FUZZ_CHECK(r.household_type() != interop::household::v1::HOUSEHOLD_TYPE_UNSPECIFIED);
      CheckDate(r.registered_since());
      break;
    }
    case 3: {
      auto application = lvliang::ParsePensionApplicationReply(dialect, kAskedId, body);
      CheckRefusal(application, lvliang::kPensionApplicationTransaction);
      if (!application.ok()) break;
      CheckNumber(application->application_number);
      CheckDay(application->applied_on);
      break;
    }
    case 4: {
      auto letter = lvliang::ParseContactLetterReply(dialect, kAskedId, kAskedApplication, body);
      CheckRefusal(letter, lvliang::kContactLetterTransaction);
      if (!letter.ok()) break;
      CheckNumber(letter->letter_number);
      CheckDay(letter->issued_on);
      break;
    }
    case 5: {
      auto prepared = lvliang::ParsePrepareTransferOutReply(dialect, kAskedId, body);
      CheckRefusal(prepared, lvliang::kPrepareTransferOutTransaction);
      if (prepared.ok()) CheckSheet(prepared->sheet);
      break;
    }
    case 6: {
      auto completion = lvliang::ParseCompleteTransferOutReply(dialect, kAskedId, body);
      CheckRefusal(completion, lvliang::kCompleteTransferOutTransaction);
      if (completion.ok()) CheckDay(completion->ended_on);
      break;
    }
    case 7: {
      auto confirmation = lvliang::ParseConfirmTransferInReply(dialect, kAskedId, body);
      CheckRefusal(confirmation, lvliang::kConfirmTransferInTransaction);
      if (confirmation.ok()) CheckDay(confirmation->confirmed_on);
      break;
    }
    default: {
      auto signature = lvliang::ParseSignCertificateReply(City::CITY_LVLIANG, body);
      CheckRefusal(signature, lvliang::kSignCertificateTransaction);
      if (!signature.ok()) break;
      FUZZ_CHECK(!signature->signature.empty());
      FUZZ_CHECK(!signature->key_id.empty());
      FUZZ_CHECK(signature->algorithm == "ecdsa-p256-sha256" || signature->algorithm == "sm2-sm3");
      break;
    }
  }
  return 0;
}
