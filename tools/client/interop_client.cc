// interop-client: makes one call to the gateway's public API over mutual TLS and prints the answer.
//
//   interop-client --target=HOST:PORT --ca=ca.pem --cert=caller.pem --key=caller.key
//                  [--server_name=NAME] [--deadline_ms=5000]
//                  [--purpose=PURPOSE] [--on_behalf_of=RESIDENT_ID] [--case_reference=REF]
//                  COMMAND [RESIDENT_ID] [the command's flags]
//
// Reads of a person's records:
//   medical RESIDENT_ID        interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus
//   contributions RESIDENT_ID  interop.social.v1.SocialSecurityService/GetContributionHistory
//       [--granularity=year|month] [--kinds=pension,unemployment,medical,injury]
//       [--from_year=YYYY] [--to_year=YYYY]
//   household RESIDENT_ID      interop.household.v1.HouseholdRegistrationService/GetHouseholdRecord
//
// Who read a person's records (the citizen portal with --purpose=citizen-self-service and
// --on_behalf_of, or an operator with --purpose=audit):
//   accesses RESIDENT_ID       interop.accesslog.v1.AccessLogService/ListAccessesToPerson (the newest 20)
//
// Cross-city treatment, interop.medical.v1.CrossCitySettlementService (docs/SETTLEMENT.md):
//   presettle RESIDENT_ID VISIT                      PreSettle: the split, nothing committed
//   settle RESIDENT_ID --idempotency_key=KEY VISIT   Settle
//       VISIT: --items=CODE:QUANTITY:UNIT_PRICE_FEN[,...] --diagnosis=ICD10
//              [--hospital=H14010500001] [--hospital_level=primary|secondary|tertiary (tertiary)]
//              [--visit_type=outpatient|inpatient (outpatient)] [--visit_date=YYYY-MM-DD (today)]
//              [--emergency] [--use_account]
//   reverse RESIDENT_ID --settlement_id=ST...        ReverseSettlement
//   file-treatment RESIDENT_ID --treatment_city=CITY --valid_from=YYYY-MM-DD --valid_to=YYYY-MM-DD
//       --reason=long-term-resident|resettled-retiree|posted-worker|referral|temporary   FileTreatment
//   check-filing RESIDENT_ID --treatment_city=CITY [--day=YYYY-MM-DD (today)]   CheckFiling
//   clearing --from=YYYY-MM-DD --to=YYYY-MM-DD       GetClearingMatrix
//   reconcile --city=CITY --from=YYYY-MM-DD --to=YYYY-MM-DD   Reconcile
// QUANTITY is in the item's unit, with up to three decimals ("1.5" is sent as quantity_milli 1500);
// UNIT_PRICE_FEN is an integer number of fen. "Today" is today in China Standard Time. Cities are
// named in lower case: taiyuan, yangquan, jinzhong, xinzhou, lvliang.
//
// --purpose, --on_behalf_of and --case_reference fill the request's AccessContext. The gateway refuses
// a call without a purpose, or with one the access policy does not grant the caller's role for the
// method (gateway/server/access_policy.textproto); the purpose is named in lower case with hyphens:
// treatment, medical-insurance-administration, social-insurance-administration,
// household-administration, citizen-self-service, audit. clearing and reconcile concern no person:
// their requests carry no AccessContext, so these three flags are refused with them.
//
// A flag that belongs to some commands only is refused with any other (unless given its default
// value, which is the same as not giving it). The client checks the
// syntax of what it must convert (quantities, prices, dates, names of enum values and cities) and
// leaves the rest to the gateway, which names the offending request field.
//
// On success prints the response in protobuf text format (UTF-8 shown as UTF-8, so names are
// readable) followed by a comment line "# x-request-id: ID", and exits 0. On a failed call prints
// "interop-client: CODE_NAME: message" to stderr, then the error reason, the offending field and when
// to retry if the gateway attached them (google.rpc.ErrorInfo, BadRequest, RetryInfo) and the
// request id if it sent one, and exits 1. Bad usage (the message names the flag) exits 2.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "gateway/base/cities.h"
#include "gateway/base/rich_status.h"
#include "gateway/identity/resident_id.h"
#include "gateway/tls/tls_credentials.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/text_format.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "interop/accesslog/v1/access_log.grpc.pb.h"
#include "interop/common/v1/common.pb.h"
#include "interop/config/v1/medical_rules.pb.h"
#include "interop/household/v1/household.grpc.pb.h"
#include "interop/medical/v1/medical.grpc.pb.h"
#include "interop/medical/v1/settlement.grpc.pb.h"
#include "interop/social/v1/social.grpc.pb.h"

ABSL_FLAG(std::string, target, "", "Gateway address, HOST:PORT.");
ABSL_FLAG(std::string, ca, "", "CA certificate(s) that the gateway's certificate must chain to (PEM).");
ABSL_FLAG(std::string, cert, "",
          "The caller's client certificate (PEM); it names the organisation, city and role.");
ABSL_FLAG(std::string, key, "", "The caller's private key (PEM).");
ABSL_FLAG(std::string, server_name, "",
          "Name to expect in the gateway's certificate, if it differs from the host in --target "
          "(e.g. localhost).");
ABSL_FLAG(int32_t, deadline_ms, 5000, "Deadline of the call in milliseconds.");
ABSL_FLAG(std::string, purpose, "",
          "Why you ask (access.purpose): treatment, medical-insurance-administration, "
          "social-insurance-administration, household-administration, citizen-self-service or audit.");
ABSL_FLAG(std::string, on_behalf_of, "",
          "Citizen portal only: identity number of the signed-in citizen (access.on_behalf_of_resident_id).");
ABSL_FLAG(std::string, case_reference, "",
          "Your reference for the case, recorded in the access log (access.case_reference).");
ABSL_FLAG(std::string, granularity, "", "contributions only: year (default) or month.");
ABSL_FLAG(std::vector<std::string>, kinds, {},
          "contributions only: comma-separated kinds to include (pension, unemployment, medical, injury); "
          "default every kind.");
ABSL_FLAG(int32_t, from_year, 0,
          "contributions only: first calendar year to include; 0 = from the beginning.");
ABSL_FLAG(int32_t, to_year, 0, "contributions only: last calendar year to include; 0 = up to now.");
ABSL_FLAG(std::string, idempotency_key, "",
          "settle only, required: your key for this settlement, 8 to 64 characters of [A-Za-z0-9._-]; "
          "a retry with the same key and visit returns the first answer (replayed: true).");
ABSL_FLAG(std::vector<std::string>, items, {},
          "settle and presettle, required: the bill, CODE:QUANTITY:UNIT_PRICE_FEN[,...]; QUANTITY in the "
          "item's unit with up to three decimals (1.5), UNIT_PRICE_FEN an integer number of fen.");
ABSL_FLAG(std::string, hospital, "H14010500001",
          "settle and presettle: institution code of the treating hospital, in the caller's city.");
ABSL_FLAG(std::string, hospital_level, "tertiary", "settle and presettle: primary, secondary or tertiary.");
ABSL_FLAG(std::string, visit_type, "outpatient", "settle and presettle: outpatient or inpatient.");
ABSL_FLAG(
    std::string, visit_date, "",
    "settle and presettle: day of the visit (of discharge, inpatient), YYYY-MM-DD; default today in China.");
ABSL_FLAG(std::string, diagnosis, "", "settle and presettle, required: main diagnosis, ICD-10 (e.g. J18.9).");
ABSL_FLAG(bool, emergency, false, "settle and presettle: emergency treatment (counts as filed).");
ABSL_FLAG(bool, use_account, false,
          "settle and presettle: the patient agrees that the personal account pays.");
ABSL_FLAG(std::string, settlement_id, "", "reverse only, required: the settlement to reverse (ST...).");
ABSL_FLAG(std::string, treatment_city, "",
          "file-treatment and check-filing, required: the city of treatment (taiyuan, yangquan, jinzhong, "
          "xinzhou, lvliang).");
ABSL_FLAG(std::string, valid_from, "", "file-treatment only, required: first day covered, YYYY-MM-DD.");
ABSL_FLAG(std::string, valid_to, "", "file-treatment only, required: last day covered, YYYY-MM-DD.");
ABSL_FLAG(std::string, reason, "",
          "file-treatment only, required: long-term-resident, resettled-retiree, posted-worker, referral or "
          "temporary.");
ABSL_FLAG(std::string, day, "",
          "check-filing only: the day asked about, YYYY-MM-DD; default today in China.");
ABSL_FLAG(std::string, from, "", "clearing and reconcile, required: first day of the period, YYYY-MM-DD.");
ABSL_FLAG(std::string, to, "", "clearing and reconcile, required: last day of the period, YYYY-MM-DD.");
ABSL_FLAG(std::string, city, "", "reconcile only, required: the insured city whose records are compared.");

namespace {

using interop::medical::v1::CrossCitySettlementService;

constexpr char kUsage[] =
    "Calls the five-city interop gateway over mutual TLS and prints the answer.\n"
    "Usage: interop-client --target=HOST:PORT --ca=ca.pem --cert=caller.pem --key=caller.key\n"
    "         [--server_name=localhost] [--deadline_ms=5000]\n"
    "         [--purpose=treatment|medical-insurance-administration|social-insurance-administration|\n"
    "                    household-administration|citizen-self-service|audit]\n"
    "         [--on_behalf_of=RESIDENT_ID] [--case_reference=REF]\n"
    "         COMMAND [RESIDENT_ID] [the command's flags]\n"
    "Commands:\n"
    "  medical RESIDENT_ID\n"
    "  contributions RESIDENT_ID [--granularity=year|month] [--kinds=pension,unemployment,medical,injury]\n"
    "         [--from_year=YYYY] [--to_year=YYYY]\n"
    "  household RESIDENT_ID\n"
    "  accesses RESIDENT_ID   (who read the person's records, newest 20)\n"
    "  presettle RESIDENT_ID VISIT\n"
    "  settle RESIDENT_ID --idempotency_key=KEY VISIT\n"
    "    VISIT: --items=CODE:QUANTITY:UNIT_PRICE_FEN[,...] --diagnosis=ICD10 [--hospital=H14010500001]\n"
    "         [--hospital_level=primary|secondary|tertiary] [--visit_type=outpatient|inpatient]\n"
    "         [--visit_date=YYYY-MM-DD, default today in China] [--emergency] [--use_account]\n"
    "  reverse RESIDENT_ID --settlement_id=ST...\n"
    "  file-treatment RESIDENT_ID --treatment_city=CITY --valid_from=YYYY-MM-DD --valid_to=YYYY-MM-DD\n"
    "         --reason=long-term-resident|resettled-retiree|posted-worker|referral|temporary\n"
    "  check-filing RESIDENT_ID --treatment_city=CITY [--day=YYYY-MM-DD, default today in China]\n"
    "  clearing --from=YYYY-MM-DD --to=YYYY-MM-DD                (no RESIDENT_ID, no --purpose)\n"
    "  reconcile --city=CITY --from=YYYY-MM-DD --to=YYYY-MM-DD   (no RESIDENT_ID, no --purpose)\n"
    "A command's flags are refused with any other command. CITY: taiyuan, yangquan, jinzhong, xinzhou, "
    "lvliang.";

// What a command is called with.
struct CommandShape {
  const char* name;
  // Whether it takes a RESIDENT_ID argument; all that do carry an AccessContext.
  bool about_a_person;
};

constexpr CommandShape kCommands[] = {
    {"medical", true},   {"contributions", true}, {"household", true},      {"presettle", true},
    {"settle", true},    {"reverse", true},       {"file-treatment", true}, {"check-filing", true},
    {"clearing", false}, {"reconcile", false},       {"accesses", true},
};

const CommandShape* FindCommand(const std::string& name) {
  for (const CommandShape& shape : kCommands) {
    if (name == shape.name) return &shape;
  }
  return nullptr;
}

// A flag that some commands only take.
struct CommandOnlyFlag {
  const absl::CommandLineFlag* flag;
  std::vector<std::string> commands;
};

const std::vector<CommandOnlyFlag>& CommandOnlyFlags() {
  static const auto* flags = new std::vector<CommandOnlyFlag>{
      {&absl::GetFlagReflectionHandle(FLAGS_granularity), {"contributions"}},
      {&absl::GetFlagReflectionHandle(FLAGS_kinds), {"contributions"}},
      {&absl::GetFlagReflectionHandle(FLAGS_from_year), {"contributions"}},
      {&absl::GetFlagReflectionHandle(FLAGS_to_year), {"contributions"}},
      {&absl::GetFlagReflectionHandle(FLAGS_idempotency_key), {"settle"}},
      {&absl::GetFlagReflectionHandle(FLAGS_items), {"settle", "presettle"}},
      {&absl::GetFlagReflectionHandle(FLAGS_hospital), {"settle", "presettle"}},
      {&absl::GetFlagReflectionHandle(FLAGS_hospital_level), {"settle", "presettle"}},
      {&absl::GetFlagReflectionHandle(FLAGS_visit_type), {"settle", "presettle"}},
      {&absl::GetFlagReflectionHandle(FLAGS_visit_date), {"settle", "presettle"}},
      {&absl::GetFlagReflectionHandle(FLAGS_diagnosis), {"settle", "presettle"}},
      {&absl::GetFlagReflectionHandle(FLAGS_emergency), {"settle", "presettle"}},
      {&absl::GetFlagReflectionHandle(FLAGS_use_account), {"settle", "presettle"}},
      {&absl::GetFlagReflectionHandle(FLAGS_settlement_id), {"reverse"}},
      {&absl::GetFlagReflectionHandle(FLAGS_treatment_city), {"file-treatment", "check-filing"}},
      {&absl::GetFlagReflectionHandle(FLAGS_valid_from), {"file-treatment"}},
      {&absl::GetFlagReflectionHandle(FLAGS_valid_to), {"file-treatment"}},
      {&absl::GetFlagReflectionHandle(FLAGS_reason), {"file-treatment"}},
      {&absl::GetFlagReflectionHandle(FLAGS_day), {"check-filing"}},
      {&absl::GetFlagReflectionHandle(FLAGS_from), {"clearing", "reconcile"}},
      {&absl::GetFlagReflectionHandle(FLAGS_to), {"clearing", "reconcile"}},
      {&absl::GetFlagReflectionHandle(FLAGS_city), {"reconcile"}},
  };
  return *flags;
}

// Whether the flag was given a value other than its default (our Abseil keeps whether it was on
// the command line private).
bool IsSet(const absl::CommandLineFlag& flag) { return flag.CurrentValue() != flag.DefaultValue(); }

// INVALID_ARGUMENT naming the first flag set on the command line that `command` does not take.
absl::Status CheckFlagsApplyTo(const CommandShape& command) {
  for (const CommandOnlyFlag& only : CommandOnlyFlags()) {
    if (!IsSet(*only.flag)) continue;
    if (std::find(only.commands.begin(), only.commands.end(), command.name) != only.commands.end()) continue;
    return absl::InvalidArgumentError(absl::StrCat("--", only.flag->Name(), " applies to the ",
                                                   absl::StrJoin(only.commands, " and "), " command",
                                                   only.commands.size() > 1 ? "s" : "", " only"));
  }
  if (!command.about_a_person) {
    for (const absl::CommandLineFlag* flag :
         {&absl::GetFlagReflectionHandle(FLAGS_purpose), &absl::GetFlagReflectionHandle(FLAGS_on_behalf_of),
          &absl::GetFlagReflectionHandle(FLAGS_case_reference)}) {
      if (IsSet(*flag)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", flag->Name(), " does not apply to ", command.name,
                         ": it concerns no person, so its request has no access context"));
      }
    }
  }
  return absl::OkStatus();
}

// The number of the value of `descriptor` named `name` on the command line: lower case with hyphens
// for `prefix` + upper case with underscores ("long-term-resident" with "FILING_REASON_" is
// FILING_REASON_LONG_TERM_RESIDENT). 0 (every enum's UNSPECIFIED) if there is none such.
int EnumValueForName(const google::protobuf::EnumDescriptor& descriptor, absl::string_view prefix,
                     const std::string& name) {
  std::string enum_name = absl::StrCat(prefix, absl::AsciiStrToUpper(name));
  std::replace(enum_name.begin(), enum_name.end(), '-', '_');
  const google::protobuf::EnumValueDescriptor* value = descriptor.FindValueByName(enum_name);
  return value == nullptr ? 0 : value->number();
}

// The InsuranceKind named `name` on the command line; INSURANCE_KIND_UNSPECIFIED if none.
interop::social::v1::InsuranceKind KindForName(const std::string& name) {
  using interop::social::v1::InsuranceKind;
  if (name == "pension") return InsuranceKind::INSURANCE_KIND_EMPLOYEE_PENSION;
  if (name == "unemployment") return InsuranceKind::INSURANCE_KIND_UNEMPLOYMENT;
  if (name == "medical") return InsuranceKind::INSURANCE_KIND_EMPLOYEE_MEDICAL;
  if (name == "injury") return InsuranceKind::INSURANCE_KIND_WORK_INJURY;
  return InsuranceKind::INSURANCE_KIND_UNSPECIFIED;
}

bool AllDigits(absl::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c));
  });
}

// The day written "YYYY-MM-DD" in `text`, or INVALID_ARGUMENT naming `flag`.
absl::StatusOr<interop::common::v1::Date> ParseDay(const std::string& flag, const std::string& text) {
  int year = 0, month = 0, day = 0;
  const bool shaped = text.size() == 10 && text[4] == '-' && text[7] == '-' && AllDigits(text.substr(0, 4)) &&
                      AllDigits(text.substr(5, 2)) && AllDigits(text.substr(8, 2)) &&
                      absl::SimpleAtoi(text.substr(0, 4), &year) &&
                      absl::SimpleAtoi(text.substr(5, 2), &month) &&
                      absl::SimpleAtoi(text.substr(8, 2), &day);
  const absl::CivilDay civil(year, month, day);  // normalizes 02-30 to 03-02: compared below
  if (!shaped || civil.year() != year || civil.month() != month || civil.day() != day) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": \"", text, "\" is not a day YYYY-MM-DD"));
  }
  interop::common::v1::Date date;
  date.set_year(year);
  date.set_month(month);
  date.set_day(day);
  return date;
}

// The day of `flag`, or today in China Standard Time if the flag is empty.
absl::StatusOr<interop::common::v1::Date> DayOrToday(const std::string& flag, const std::string& text) {
  if (!text.empty()) return ParseDay(flag, text);
  const absl::CivilDay today = interop::identity::ChinaCivilDay(absl::Now());
  return ParseDay(flag, absl::FormatCivilTime(today));
}

// A required day flag: INVALID_ARGUMENT naming it if empty or malformed.
absl::StatusOr<interop::common::v1::Date> RequiredDay(const std::string& flag, const std::string& text) {
  if (text.empty()) return absl::InvalidArgumentError(absl::StrCat("--", flag, "=YYYY-MM-DD is required"));
  return ParseDay(flag, text);
}

// A quantity in thousandths of a unit from its decimal form, exactly: "2" is 2000, "1.5" is 1500,
// "0.125" is 125. Digits with at most one point and three decimals; the empty string on success,
// else what is wrong. The range (positive, at most the gateway's limit) is the gateway's to check.
std::string ParseQuantityMilli(absl::string_view text, int64_t* milli) {
  const size_t point = text.find('.');
  absl::string_view whole = text.substr(0, point);
  absl::string_view fraction =
      point == absl::string_view::npos ? absl::string_view() : text.substr(point + 1);
  if (!AllDigits(whole) || (point != absl::string_view::npos && !AllDigits(fraction))) {
    return "is not a decimal number such as 2 or 1.5";
  }
  if (fraction.size() > 3) return "has more than three decimals";
  if (whole.size() > 12) return "is too large";
  int64_t units = 0, thousandths = 0;
  if (!absl::SimpleAtoi(whole, &units)) return "is too large";
  std::string padded(fraction);
  padded.resize(3, '0');
  absl::SimpleAtoi(padded, &thousandths);
  *milli = units * 1000 + thousandths;
  return "";
}

// The lines of --items, or INVALID_ARGUMENT naming the flag and the item.
absl::Status AddItems(const std::vector<std::string>& items, interop::medical::v1::Visit* visit) {
  if (items.empty()) {
    return absl::InvalidArgumentError("--items=CODE:QUANTITY:UNIT_PRICE_FEN[,...] is required");
  }
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string where = absl::StrCat("--items: item ", i + 1, " \"", items[i], "\"");
    std::vector<absl::string_view> parts = absl::StrSplit(items[i], ':');
    if (parts.size() != 3 || parts[0].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, " is not CODE:QUANTITY:UNIT_PRICE_FEN"));
    }
    int64_t quantity_milli = 0;
    const std::string quantity_error = ParseQuantityMilli(parts[1], &quantity_milli);
    if (!quantity_error.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": QUANTITY \"", parts[1], "\" ", quantity_error));
    }
    int64_t unit_price_fen = 0;
    if (!AllDigits(parts[2]) || parts[2].size() > 18 || !absl::SimpleAtoi(parts[2], &unit_price_fen)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": UNIT_PRICE_FEN \"", parts[2], "\" is not a whole number of fen"));
    }
    interop::medical::v1::LineItem* item = visit->add_items();
    item->set_code(std::string(parts[0]));
    item->set_quantity_milli(quantity_milli);
    item->mutable_unit_price()->set_fen(unit_price_fen);
  }
  return absl::OkStatus();
}

// The visit of --items, --diagnosis, --hospital, --hospital_level, --visit_type, --visit_date,
// --emergency and --use_account, or INVALID_ARGUMENT naming the flag.
absl::StatusOr<interop::medical::v1::Visit> VisitFromFlags() {
  using interop::config::v1::HospitalLevel;
  using interop::config::v1::VisitType;
  interop::medical::v1::Visit visit;
  visit.mutable_hospital()->set_institution_code(absl::GetFlag(FLAGS_hospital));
  const int level = EnumValueForName(*interop::config::v1::HospitalLevel_descriptor(), "HOSPITAL_LEVEL_",
                                     absl::GetFlag(FLAGS_hospital_level));
  if (level == 0)
    return absl::InvalidArgumentError("--hospital_level must be primary, secondary or tertiary");
  visit.mutable_hospital()->set_level(static_cast<HospitalLevel>(level));
  const int type = EnumValueForName(*interop::config::v1::VisitType_descriptor(), "VISIT_TYPE_",
                                    absl::GetFlag(FLAGS_visit_type));
  if (type == 0) return absl::InvalidArgumentError("--visit_type must be outpatient or inpatient");
  visit.set_visit_type(static_cast<VisitType>(type));
  absl::StatusOr<interop::common::v1::Date> date = DayOrToday("visit_date", absl::GetFlag(FLAGS_visit_date));
  if (!date.ok()) return date.status();
  *visit.mutable_visit_date() = *date;
  if (absl::GetFlag(FLAGS_diagnosis).empty()) {
    return absl::InvalidArgumentError("--diagnosis=ICD10 is required (the main diagnosis, e.g. J18.9)");
  }
  visit.set_diagnosis_code(absl::GetFlag(FLAGS_diagnosis));
  visit.set_emergency(absl::GetFlag(FLAGS_emergency));
  visit.set_use_personal_account(absl::GetFlag(FLAGS_use_account));
  absl::Status items = AddItems(absl::GetFlag(FLAGS_items), &visit);
  if (!items.ok()) return items;
  return visit;
}

// The city named by `flag`, or INVALID_ARGUMENT naming it.
absl::StatusOr<interop::City> CityFromFlag(const std::string& flag, const std::string& name) {
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat("--", flag, "=CITY is required"));
  interop::City city = interop::CityForName(name);
  if (city == interop::City::CITY_UNSPECIFIED) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": unknown city \"", name,
                                                   "\" (taiyuan, yangquan, jinzhong, xinzhou or lvliang)"));
  }
  return city;
}

// The period of --from and --to, or INVALID_ARGUMENT naming the flag.
absl::StatusOr<interop::medical::v1::Period> PeriodFromFlags() {
  interop::medical::v1::Period period;
  absl::StatusOr<interop::common::v1::Date> from = RequiredDay("from", absl::GetFlag(FLAGS_from));
  if (!from.ok()) return from.status();
  absl::StatusOr<interop::common::v1::Date> to = RequiredDay("to", absl::GetFlag(FLAGS_to));
  if (!to.ok()) return to.status();
  *period.mutable_from() = *from;
  *period.mutable_to() = *to;
  return period;
}

// The AccessContext of --purpose, --on_behalf_of and --case_reference, or INVALID_ARGUMENT naming
// the flag. An omitted --purpose is sent as PURPOSE_UNSPECIFIED, which the gateway refuses with
// reason PURPOSE_MISSING: the caller states the purpose, the client never guesses it.
absl::StatusOr<interop::common::v1::AccessContext> AccessContextFromFlags() {
  interop::common::v1::AccessContext access;
  const std::string purpose = absl::GetFlag(FLAGS_purpose);
  if (!purpose.empty()) {
    const int value = EnumValueForName(*interop::common::v1::Purpose_descriptor(), "PURPOSE_", purpose);
    if (value == 0)
      return absl::InvalidArgumentError(absl::StrCat("--purpose: unknown purpose \"", purpose, "\""));
    access.set_purpose(static_cast<interop::common::v1::Purpose>(value));
  }
  access.set_on_behalf_of_resident_id(absl::GetFlag(FLAGS_on_behalf_of));
  access.set_case_reference(absl::GetFlag(FLAGS_case_reference));
  return access;
}

int UsageError(const std::string& what) {
  std::fprintf(stderr, "interop-client: %s\n%s\n", what.c_str(), kUsage);
  return 2;
}

// The response as text format, with UTF-8 strings unescaped.
std::string ToText(const google::protobuf::Message& message) {
  google::protobuf::TextFormat::Printer printer;
  printer.SetUseUtf8StringEscaping(true);
  std::string text;
  printer.PrintToString(message, &text);
  return text;
}

std::string RequestIdOf(const grpc::ClientContext& context) {
  const auto& headers = context.GetServerInitialMetadata();
  auto it = headers.find("x-request-id");
  if (it == headers.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

// Prints the outcome of a finished call; returns the process exit code.
int Report(const grpc::Status& status, const grpc::ClientContext& context,
           const google::protobuf::Message& response) {
  const std::string request_id = RequestIdOf(context);
  if (!status.ok()) {
    absl::Status error = interop::FromGrpcStatus(status);
    std::fprintf(stderr, "interop-client: %s: %s\n", absl::StatusCodeToString(error.code()).c_str(),
                 std::string(error.message()).c_str());
    // The gateway's rich error details (google.rpc.ErrorInfo / BadRequest / RetryInfo), when it sent them.
    const std::string reason = interop::ErrorReason(error);
    const std::string field = interop::BadRequestField(error);
    if (!reason.empty()) std::fprintf(stderr, "interop-client: reason: %s\n", reason.c_str());
    if (!field.empty()) std::fprintf(stderr, "interop-client: field: %s\n", field.c_str());
    if (std::optional<absl::Duration> delay = interop::RetryDelay(error); delay.has_value()) {
      std::fprintf(stderr, "interop-client: retry in: %s\n", absl::FormatDuration(*delay).c_str());
    }
    if (!request_id.empty()) std::fprintf(stderr, "interop-client: x-request-id: %s\n", request_id.c_str());
    return 1;
  }
  std::fputs(ToText(response).c_str(), stdout);
  std::printf("# x-request-id: %s\n", request_id.empty() ? "(none)" : request_id.c_str());
  return 0;
}

// The contributions request for the --granularity, --kinds, --from_year and --to_year flags, or
// INVALID_ARGUMENT naming the flag. Year ranges are left to the gateway, which names the field.
absl::StatusOr<interop::social::v1::GetContributionHistoryRequest> ContributionsRequest(
    const std::string& resident_id) {
  interop::social::v1::GetContributionHistoryRequest request;
  request.mutable_person()->set_resident_id(resident_id);
  const std::string granularity = absl::AsciiStrToLower(absl::GetFlag(FLAGS_granularity));
  if (granularity == "month") {
    request.set_granularity(interop::social::v1::GRANULARITY_MONTH);
  } else if (granularity.empty() || granularity == "year") {
    request.set_granularity(interop::social::v1::GRANULARITY_YEAR);
  } else {
    return absl::InvalidArgumentError("--granularity must be year or month");
  }
  for (const std::string& name : absl::GetFlag(FLAGS_kinds)) {
    interop::social::v1::InsuranceKind kind = KindForName(absl::AsciiStrToLower(name));
    if (kind == interop::social::v1::INSURANCE_KIND_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat("--kinds: unknown kind \"", name, "\""));
    }
    request.add_kinds(kind);
  }
  request.set_from_year(absl::GetFlag(FLAGS_from_year));
  request.set_to_year(absl::GetFlag(FLAGS_to_year));
  return request;
}

// A mutual-TLS channel to --target presenting --cert/--key and trusting --ca; errors name the flag or file.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MutualTlsChannel() {
  if (absl::GetFlag(FLAGS_ca).empty() || absl::GetFlag(FLAGS_cert).empty() ||
      absl::GetFlag(FLAGS_key).empty()) {
    return absl::InvalidArgumentError("--ca, --cert and --key are required (mutual TLS)");
  }
  interop::config::v1::TlsFiles files;
  files.set_ca_cert_file(absl::GetFlag(FLAGS_ca));
  files.set_cert_file(absl::GetFlag(FLAGS_cert));
  files.set_key_file(absl::GetFlag(FLAGS_key));
  auto credentials = interop::tls::MakeMutualTlsChannelCredentials(files);
  if (!credentials.ok()) {
    // The message names the TlsFiles field (tls.ca_cert_file, tls.cert_file, tls.key_file) and the path.
    return absl::InvalidArgumentError(
        absl::StrCat("cannot load the TLS files: ", credentials.status().message()));
  }
  grpc::ChannelArguments channel_args;
  if (!absl::GetFlag(FLAGS_server_name).empty()) {
    channel_args.SetSslTargetNameOverride(absl::GetFlag(FLAGS_server_name));
  }
  return grpc::CreateCustomChannel(absl::GetFlag(FLAGS_target), *credentials, channel_args);
}

// A call whose request is built and checked: makes it on the channel and reports it; returns the
// process exit code.
using PreparedCall = std::function<int(const std::shared_ptr<grpc::Channel>&, grpc::ClientContext&)>;

// The call of a CrossCitySettlementService `method`, with `request` as built.
template <typename Request, typename Response>
PreparedCall SettlementCall(grpc::Status (CrossCitySettlementService::Stub::*method)(grpc::ClientContext*,
                                                                                     const Request&,
                                                                                     Response*),
                            Request request) {
  return [method, request = std::move(request)](const std::shared_ptr<grpc::Channel>& channel,
                                                grpc::ClientContext& context) {
    auto stub = CrossCitySettlementService::NewStub(channel);
    Response response;
    return Report(((*stub).*method)(&context, request, &response), context, response);
  };
}

// The call that `command` names, its request built from the flags; INVALID_ARGUMENT naming the flag
// if they do not make one.
absl::StatusOr<PreparedCall> PrepareCall(const std::string& command, const std::string& resident_id,
                                         const interop::common::v1::AccessContext& access) {
  namespace medical = interop::medical::v1;
  if (command == "medical") {
    medical::GetInsuranceStatusRequest request;
    request.mutable_person()->set_resident_id(resident_id);
    *request.mutable_access() = access;
    return PreparedCall(
        [request](const std::shared_ptr<grpc::Channel>& channel, grpc::ClientContext& context) {
          medical::GetInsuranceStatusResponse response;
          auto stub = medical::MedicalInsuranceService::NewStub(channel);
          return Report(stub->GetInsuranceStatus(&context, request, &response), context, response);
        });
  }
  if (command == "accesses") {
    interop::accesslog::v1::ListAccessesToPersonRequest request;
    request.mutable_person()->set_resident_id(resident_id);
    *request.mutable_access() = access;
    request.set_page_size(20);
    return PreparedCall(
        [request](const std::shared_ptr<grpc::Channel>& channel, grpc::ClientContext& context) {
          interop::accesslog::v1::ListAccessesToPersonResponse response;
          auto stub = interop::accesslog::v1::AccessLogService::NewStub(channel);
          return Report(stub->ListAccessesToPerson(&context, request, &response), context, response);
        });
  }
  if (command == "contributions") {
    auto request = ContributionsRequest(resident_id);
    if (!request.ok()) return request.status();
    *request->mutable_access() = access;
    return PreparedCall([request = *std::move(request)](const std::shared_ptr<grpc::Channel>& channel,
                                                        grpc::ClientContext& context) {
      interop::social::v1::GetContributionHistoryResponse response;
      auto stub = interop::social::v1::SocialSecurityService::NewStub(channel);
      return Report(stub->GetContributionHistory(&context, request, &response), context, response);
    });
  }
  if (command == "household") {
    interop::household::v1::GetHouseholdRecordRequest request;
    request.mutable_person()->set_resident_id(resident_id);
    *request.mutable_access() = access;
    return PreparedCall(
        [request](const std::shared_ptr<grpc::Channel>& channel, grpc::ClientContext& context) {
          interop::household::v1::GetHouseholdRecordResponse response;
          auto stub = interop::household::v1::HouseholdRegistrationService::NewStub(channel);
          return Report(stub->GetHouseholdRecord(&context, request, &response), context, response);
        });
  }
  if (command == "presettle" || command == "settle") {
    absl::StatusOr<medical::Visit> visit = VisitFromFlags();
    if (!visit.ok()) return visit.status();
    if (command == "presettle") {
      medical::PreSettleRequest request;
      request.mutable_person()->set_resident_id(resident_id);
      *request.mutable_access() = access;
      *request.mutable_visit() = *std::move(visit);
      return SettlementCall(&CrossCitySettlementService::Stub::PreSettle, std::move(request));
    }
    if (absl::GetFlag(FLAGS_idempotency_key).empty()) {
      return absl::InvalidArgumentError(
          "--idempotency_key=KEY is required (8 to 64 characters of [A-Za-z0-9._-])");
    }
    medical::SettleRequest request;
    request.mutable_person()->set_resident_id(resident_id);
    *request.mutable_access() = access;
    request.set_idempotency_key(absl::GetFlag(FLAGS_idempotency_key));
    *request.mutable_visit() = *std::move(visit);
    return SettlementCall(&CrossCitySettlementService::Stub::Settle, std::move(request));
  }
  if (command == "reverse") {
    if (absl::GetFlag(FLAGS_settlement_id).empty()) {
      return absl::InvalidArgumentError("--settlement_id=ST... is required");
    }
    medical::ReverseSettlementRequest request;
    request.mutable_person()->set_resident_id(resident_id);
    *request.mutable_access() = access;
    request.set_settlement_id(absl::GetFlag(FLAGS_settlement_id));
    return SettlementCall(&CrossCitySettlementService::Stub::ReverseSettlement, std::move(request));
  }
  if (command == "file-treatment" || command == "check-filing") {
    absl::StatusOr<interop::City> city = CityFromFlag("treatment_city", absl::GetFlag(FLAGS_treatment_city));
    if (!city.ok()) return city.status();
    if (command == "check-filing") {
      absl::StatusOr<interop::common::v1::Date> day = DayOrToday("day", absl::GetFlag(FLAGS_day));
      if (!day.ok()) return day.status();
      medical::CheckFilingRequest request;
      request.mutable_person()->set_resident_id(resident_id);
      *request.mutable_access() = access;
      request.set_treatment_city(*city);
      *request.mutable_day() = *day;
      return SettlementCall(&CrossCitySettlementService::Stub::CheckFiling, std::move(request));
    }
    absl::StatusOr<interop::common::v1::Date> valid_from =
        RequiredDay("valid_from", absl::GetFlag(FLAGS_valid_from));
    if (!valid_from.ok()) return valid_from.status();
    absl::StatusOr<interop::common::v1::Date> valid_to =
        RequiredDay("valid_to", absl::GetFlag(FLAGS_valid_to));
    if (!valid_to.ok()) return valid_to.status();
    const std::string reason_name = absl::GetFlag(FLAGS_reason);
    const int reason = EnumValueForName(*medical::FilingReason_descriptor(), "FILING_REASON_", reason_name);
    if (reason == 0) {
      return absl::InvalidArgumentError(
          reason_name.empty()
              ? "--reason is required (long-term-resident, resettled-retiree, posted-worker, referral or "
                "temporary)"
              : absl::StrCat(
                    "--reason: unknown reason \"", reason_name,
                    "\" (long-term-resident, resettled-retiree, posted-worker, referral or temporary)"));
    }
    medical::FileTreatmentRequest request;
    request.mutable_person()->set_resident_id(resident_id);
    *request.mutable_access() = access;
    request.set_treatment_city(*city);
    *request.mutable_valid_from() = *valid_from;
    *request.mutable_valid_to() = *valid_to;
    request.set_reason(static_cast<medical::FilingReason>(reason));
    return SettlementCall(&CrossCitySettlementService::Stub::FileTreatment, std::move(request));
  }
  absl::StatusOr<medical::Period> period = PeriodFromFlags();
  if (!period.ok()) return period.status();
  if (command == "clearing") {
    medical::GetClearingMatrixRequest request;
    *request.mutable_period() = *std::move(period);
    return SettlementCall(&CrossCitySettlementService::Stub::GetClearingMatrix, std::move(request));
  }
  absl::StatusOr<interop::City> city = CityFromFlag("city", absl::GetFlag(FLAGS_city));
  if (!city.ok()) return city.status();
  medical::ReconcileRequest request;
  request.set_city(*city);
  *request.mutable_period() = *std::move(period);
  return SettlementCall(&CrossCitySettlementService::Stub::Reconcile, std::move(request));
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() < 2) return UsageError("expected a command");
  const std::string command = args[1];
  const CommandShape* shape = FindCommand(command);
  if (shape == nullptr) return UsageError(absl::StrCat("unknown command \"", command, "\""));
  if (shape->about_a_person && args.size() != 3) {
    return UsageError(absl::StrCat("the ", command, " command takes one RESIDENT_ID"));
  }
  if (!shape->about_a_person && args.size() != 2) {
    return UsageError(absl::StrCat("the ", command, " command takes no RESIDENT_ID (or other argument)"));
  }
  if (absl::Status applies = CheckFlagsApplyTo(*shape); !applies.ok()) {
    return UsageError(std::string(applies.message()));
  }
  if (absl::GetFlag(FLAGS_target).empty()) return UsageError("--target is required");
  if (absl::GetFlag(FLAGS_deadline_ms) <= 0) return UsageError("--deadline_ms must be positive");
  absl::StatusOr<interop::common::v1::AccessContext> access = AccessContextFromFlags();
  if (!access.ok()) return UsageError(std::string(access.status().message()));
  absl::StatusOr<PreparedCall> call = PrepareCall(command, shape->about_a_person ? args[2] : "", *access);
  if (!call.ok()) return UsageError(std::string(call.status().message()));
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MutualTlsChannel();
  if (!channel.ok()) return UsageError(std::string(channel.status().message()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(absl::GetFlag(FLAGS_deadline_ms)));
  return (*call)(*channel, context);
}
