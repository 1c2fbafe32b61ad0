#include "adapters/lvliang/national_interface.h"

#include <algorithm>
#include <limits>
#include <random>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "adapters/dialect/date_format.h"
#include "adapters/dialect/money.h"
#include "adapters/dialect/national_values.h"
#include "adapters/dialect/text_encoding.h"
#include "gateway/base/cities.h"
#include "gateway/base/status_macros.h"
#include "gateway/identity/resident_id.h"
#include "nlohmann/json.hpp"

namespace interop::adapters::lvliang {
namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

const absl::TimeZone& ChinaTime() {
  static const absl::TimeZone* const zone = new absl::TimeZone(absl::FixedTimeZone(8 * 60 * 60));
  return *zone;
}

bool AllDigits(absl::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); });
}

// A short, printable rendering of an untrusted value for an error message.
std::string Quote(absl::string_view value) {
  constexpr size_t kMax = 40;
  std::string shown = absl::CHexEscape(value.substr(0, kMax));
  return absl::StrCat("\"", shown, value.size() > kMax ? "...\"" : "\"");
}

// err_msg for an error message: control characters replaced, at most 200 bytes, cut at a UTF-8
// character boundary (err_msg is valid UTF-8: the JSON parser checked it).
std::string SanitizeText(absl::string_view text) {
  constexpr size_t kMax = 200;
  size_t end = text.size();
  if (end > kMax) {
    end = kMax;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  }
  std::string out(text.substr(0, end));
  for (char& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  if (end < text.size()) out += "...";
  return out;
}

// The transaction a reply answers, for error messages.
struct Transaction {
  City city;
  absl::string_view infno;
  const Dialect* dialect = nullptr;  // null for envelope-only parsing

  absl::Status Bad(absl::string_view field, absl::string_view why) const {
    return absl::InternalError(absl::StrCat("city ", CityName(city), " answered transaction ", infno,
                                            " with an untranslatable ", field, ": ", why));
  }
};

std::string Path(absl::string_view parent, absl::string_view key) {
  return parent.empty() ? std::string(key) : absl::StrCat(parent, ".", key);
}

std::string Index(absl::string_view parent, size_t i) { return absl::StrCat(parent, "[", i, "]"); }

// The reason in a parse error of nlohmann::json, without the "last read" excerpt of the input.
std::string ParseErrorReason(const std::string& what) {
  absl::string_view reason = what;
  size_t last_read = reason.find("; last read");
  if (last_read != absl::string_view::npos) reason = reason.substr(0, last_read);
  size_t dash = reason.rfind(" - ");
  if (dash != absl::string_view::npos) {
    reason = reason.substr(dash + 3);
  } else {
    size_t bracket = reason.find("] ");
    if (bracket != absl::string_view::npos) reason = reason.substr(bracket + 2);
  }
  return absl::CHexEscape(reason.substr(0, 120));
}

// Finds where (and why) `body` is not valid JSON. Only used after a parse failed.
class ErrorLocator final : public nlohmann::json_sax<json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& error) override {
    position_ = position;
    reason_ = ParseErrorReason(error.what());
    return false;
  }

  size_t position() const { return position_; }
  const std::string& reason() const { return reason_; }

 private:
  size_t position_ = 0;
  std::string reason_ = "syntax error";
};

// Parses `body` as strict JSON: at most kMaxReplyBytes, nested at most kMaxJsonDepth deep (checked
// before parsing, so that nothing recurses deeply), valid UTF-8, no key twice in one object.
absl::StatusOr<json> ParseStrictJson(const Transaction& tx, absl::string_view body) {
  if (body.size() > kMaxReplyBytes) {
    return tx.Bad("reply", absl::StrCat("is larger than ", kMaxReplyBytes, " bytes"));
  }
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxJsonDepth) {
        return tx.Bad("reply", absl::StrCat("is nested deeper than ", kMaxJsonDepth, " levels"));
      }
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }

  std::vector<std::set<std::string>> keys;  // the keys seen so far in each open object
  std::string duplicate;
  bool has_duplicate = false;
  json::parser_callback_t callback = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        keys.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case json::parse_event_t::key:
        if (!keys.empty() && parsed.is_string() &&
            !keys.back().insert(parsed.get_ref<const std::string&>()).second && !has_duplicate) {
          has_duplicate = true;
          duplicate = parsed.get_ref<const std::string&>();
        }
        break;
      default:
        break;
    }
    return true;
  };
  json value = json::parse(body.begin(), body.end(), callback, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    ErrorLocator locator;
    json::sax_parse(body.begin(), body.end(), &locator);
    return tx.Bad("reply", absl::StrCat("is not valid JSON (", locator.reason(), ", at byte ",
                                        locator.position(), ")"));
  }
  if (has_duplicate)
    return tx.Bad("reply", absl::StrCat("has the key ", Quote(duplicate), " twice in one object"));
  return value;
}

// Typed access to members of a JSON object, naming the field on failure.
absl::StatusOr<const json*> Member(const Transaction& tx, const json& object, absl::string_view parent,
                                   const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return tx.Bad(Path(parent, key), "is missing");
  return &*it;
}

absl::StatusOr<const json*> ObjectMember(const Transaction& tx, const json& object, absl::string_view parent,
                                         const char* key) {
  INTEROP_ASSIGN_OR_RETURN(const json* member, Member(tx, object, parent, key));
  if (!member->is_object()) {
    return tx.Bad(Path(parent, key), absl::StrCat("must be an object, got ", member->type_name()));
  }
  return member;
}

absl::StatusOr<const json*> ArrayMember(const Transaction& tx, const json& object, absl::string_view parent,
                                        const char* key) {
  INTEROP_ASSIGN_OR_RETURN(const json* member, Member(tx, object, parent, key));
  if (!member->is_array()) {
    return tx.Bad(Path(parent, key), absl::StrCat("must be an array, got ", member->type_name()));
  }
  return member;
}

absl::StatusOr<std::string> StringMember(const Transaction& tx, const json& object, absl::string_view parent,
                                         const char* key) {
  INTEROP_ASSIGN_OR_RETURN(const json* member, Member(tx, object, parent, key));
  if (!member->is_string()) {
    return tx.Bad(Path(parent, key), absl::StrCat("must be a string, got ", member->type_name()));
  }
  return member->get_ref<const std::string&>();
}

// A string that may also be absent or null ("" then).
absl::StatusOr<std::string> OptionalStringMember(const Transaction& tx, const json& object,
                                                 absl::string_view parent, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string())
    return tx.Bad(Path(parent, key), absl::StrCat("must be a string, got ", it->type_name()));
  return it->get_ref<const std::string&>();
}

// A person's name: a non-empty UTF-8 string without control characters.
absl::StatusOr<std::string> NameMember(const Transaction& tx, const json& object, absl::string_view parent,
                                       const char* key) {
  INTEROP_ASSIGN_OR_RETURN(std::string name, StringMember(tx, object, parent, key));
  if (name.empty()) return tx.Bad(Path(parent, key), "is empty");
  absl::StatusOr<std::string> text = DecodeText(name, config::v1::TEXT_ENCODING_UTF_8);
  if (!text.ok()) return tx.Bad(Path(parent, key), text.status().message());
  return *std::move(text);
}

// The certno of a reply, which must be the number asked about, in the form the dialect keys by.
absl::Status CheckCertno(const Transaction& tx, const json& object, absl::string_view parent,
                         const std::string& resident_id) {
  INTEROP_ASSIGN_OR_RETURN(std::string certno, StringMember(tx, object, parent, "certno"));
  if (certno != tx.dialect->BackendResidentId(resident_id)) {
    return tx.Bad(Path(parent, "certno"), "is not the identity number asked about");
  }
  return absl::OkStatus();
}

// A local code of the dialect's `kind` table, as its canonical value.
template <typename Enum, size_t N>
absl::StatusOr<Enum> CodeMember(const Transaction& tx, const json& object, absl::string_view parent,
                                const char* key, CodeTableKind kind, const NationalValue<Enum> (&values)[N]) {
  INTEROP_ASSIGN_OR_RETURN(std::string code, StringMember(tx, object, parent, key));
  const std::string* national = tx.dialect->table(kind).ToNational(code);
  if (national == nullptr) {
    return tx.Bad(Path(parent, key),
                  absl::StrCat("code ", Quote(code), " is not in its ", CodeTableName(kind), " table (",
                               tx.dialect->source(), ")"));
  }
  if (std::optional<Enum> value = FindNationalValue(values, *national)) return *value;
  // A validated dialect maps only to national codes, so this is a broken invariant; still no crash.
  return tx.Bad(Path(parent, key),
                absl::StrCat("national code ", Quote(*national), " has no canonical value"));
}

absl::StatusOr<int64_t> MoneyMember(const Transaction& tx, const json& object, absl::string_view parent,
                                    const char* key) {
  INTEROP_ASSIGN_OR_RETURN(std::string text, StringMember(tx, object, parent, key));
  absl::StatusOr<int64_t> fen = ParseMoney(text, tx.dialect->money_format());
  if (!fen.ok()) return tx.Bad(Path(parent, key), fen.status().message());
  return *fen;
}

absl::StatusOr<common::v1::Date> DateMember(const Transaction& tx, const json& object,
                                            absl::string_view parent, const char* key) {
  INTEROP_ASSIGN_OR_RETURN(std::string text, StringMember(tx, object, parent, key));
  absl::StatusOr<absl::CivilDay> day = tx.dialect->date_format().ParseDate(text);
  if (!day.ok()) return tx.Bad(Path(parent, key), day.status().message());
  common::v1::Date date;
  date.set_year(static_cast<int32_t>(day->year()));
  date.set_month(day->month());
  date.set_day(day->day());
  return date;
}

absl::StatusOr<absl::CivilMonth> MonthMember(const Transaction& tx, const json& object,
                                             absl::string_view parent, const char* key) {
  INTEROP_ASSIGN_OR_RETURN(std::string text, StringMember(tx, object, parent, key));
  absl::StatusOr<absl::CivilMonth> month = tx.dialect->date_format().ParseMonth(text);
  if (!month.ok()) return tx.Bad(Path(parent, key), month.status().message());
  return *month;
}

// A six-digit division code of the city itself ("141100") or of one of its counties ("141102").
absl::StatusOr<std::string> DivisionMember(const Transaction& tx, const json& object,
                                           absl::string_view parent, const char* key) {
  INTEROP_ASSIGN_OR_RETURN(std::string code, StringMember(tx, object, parent, key));
  if (code.size() != 6 || !AllDigits(code)) {
    return tx.Bad(Path(parent, key), absl::StrCat(Quote(code), " is not a six-digit division code"));
  }
  if (CityForPrefectureCode(absl::StrCat(code.substr(0, 4), "00")) != tx.city) {
    return tx.Bad(Path(parent, key), absl::StrCat(Quote(code), " is not a division of ", CityName(tx.city)));
  }
  return code;
}

absl::StatusOr<bool> FlagMember(const Transaction& tx, const json& object, absl::string_view parent,
                                const char* key) {
  INTEROP_ASSIGN_OR_RETURN(std::string flag, StringMember(tx, object, parent, key));
  if (flag == "1") return true;
  if (flag == "0") return false;
  return tx.Bad(Path(parent, key), absl::StrCat(Quote(flag), " is not \"0\" or \"1\""));
}

// "E1001" if err_msg starts with "E" and four digits followed by ':' or its end; "" otherwise.
absl::string_view ErrorCode(absl::string_view err_msg) {
  if (err_msg.size() < 5 || err_msg[0] != 'E' || !AllDigits(err_msg.substr(1, 4))) return "";
  if (err_msg.size() > 5 && err_msg[5] != ':') return "";
  return err_msg.substr(0, 5);
}

absl::StatusOr<ReplyEnvelope> EnvelopeOf(const Transaction& tx, const json& root) {
  if (!root.is_object())
    return tx.Bad("reply", absl::StrCat("must be a JSON object, got ", root.type_name()));
  ReplyEnvelope envelope;
  INTEROP_ASSIGN_OR_RETURN(const json* infcode, Member(tx, root, "", "infcode"));
  if (infcode->is_number_unsigned()) {
    uint64_t value = infcode->get<uint64_t>();
    if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return tx.Bad("infcode", "is out of range");
    }
    envelope.infcode = static_cast<int64_t>(value);
  } else if (infcode->is_number_integer()) {
    envelope.infcode = infcode->get<int64_t>();
  } else {
    return tx.Bad("infcode", absl::StrCat("must be an integer, got ", infcode->type_name()));
  }
  INTEROP_ASSIGN_OR_RETURN(envelope.err_msg, OptionalStringMember(tx, root, "", "err_msg"));
  INTEROP_ASSIGN_OR_RETURN(envelope.inf_refmsgid, OptionalStringMember(tx, root, "", "inf_refmsgid"));
  return envelope;
}

using ErrorMapping = absl::Status (*)(City, absl::string_view, const ReplyEnvelope&, absl::string_view);

// The output of a successful reply; the error of a failed one, mapped by `map_error`.
absl::StatusOr<json> OutputOf(const Transaction& tx, absl::string_view body, absl::string_view what,
                              ErrorMapping map_error = &ReplyError) {
  INTEROP_ASSIGN_OR_RETURN(json root, ParseStrictJson(tx, body));
  INTEROP_ASSIGN_OR_RETURN(ReplyEnvelope envelope, EnvelopeOf(tx, root));
  INTEROP_RETURN_IF_ERROR(map_error(tx.city, tx.infno, envelope, what));
  INTEROP_RETURN_IF_ERROR(ObjectMember(tx, root, "", "output").status());
  return std::move(root["output"]);
}

ordered_json Envelope(const RequestEnvelope& envelope, absl::string_view infno, ordered_json input) {
  ordered_json request;
  request["infno"] = std::string(infno);
  request["msgid"] = envelope.msgid;
  request["mdtrtarea_admvs"] = envelope.region_code;
  request["insuplc_admdvs"] = envelope.region_code;
  request["recer_sys_code"] = "INTEROP";
  request["dev_no"] = "";
  request["dev_safe_info"] = "";
  request["cainfo"] = "";
  request["signtype"] = "";
  request["infver"] = "V1.0";
  request["opter_type"] = "1";
  request["opter"] = "gateway";
  request["opter_name"] = "interop gateway";
  request["inf_time"] = FormatInfTime(envelope.inf_time);
  request["fixmedins_code"] = "";
  request["fixmedins_name"] = "";
  request["sign_no"] = "";
  request["input"] = std::move(input);
  return request;
}

// input.data {"psn_cert_type": "01", "certno": <id in the form the dialect keys by>}
ordered_json PersonInput(const Dialect& dialect, const std::string& resident_id) {
  ordered_json data;
  data["psn_cert_type"] = "01";
  data["certno"] = dialect.BackendResidentId(resident_id);
  return data;
}

std::string Dump(const ordered_json& value) {
  return value.dump(-1, ' ', /*ensure_ascii=*/false, ordered_json::error_handler_t::replace);
}

std::string Base36(uint64_t value, int width) {
  static constexpr char kDigits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string out(width, '0');
  for (int i = width - 1; i >= 0; --i) {
    out[i] = kDigits[value % 36];
    value /= 36;
  }
  return out;
}

}  // namespace

absl::Status CheckDialectForNationalInterface(const Dialect& dialect) {
  if (dialect.text_encoding() != config::v1::TEXT_ENCODING_UTF_8) {
    return absl::InvalidArgumentError(
        absl::StrCat(dialect.source(), ": text_encoding: ", TextEncodingName(dialect.text_encoding()),
                     " cannot be carried by the national interface (JSON is UTF-8)"));
  }
  return absl::OkStatus();
}

MessageIdGenerator::MessageIdGenerator() {
  std::random_device random;
  uint64_t bits = (static_cast<uint64_t>(random()) << 32) ^ random();
  sender_code_ = absl::StrCat("GW", Base36(bits, 10));
}

std::string MessageIdGenerator::Next(absl::Time now) {
  uint64_t sequence = sequence_.fetch_add(1, std::memory_order_relaxed);
  return absl::StrCat(sender_code_, absl::FormatTime("%Y%m%d%H%M%S", now, ChinaTime()),
                      Base36(sequence % (36ull * 36 * 36 * 36), 4));
}

std::string FormatInfTime(absl::Time time) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", time, ChinaTime());
}

std::string BuildPersonInfoRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                   const std::string& resident_id) {
  const std::string certno = dialect.BackendResidentId(resident_id);
  ordered_json data;
  data["mdtrt_cert_type"] = "02";  // 居民身份证 as the medical treatment certificate
  data["mdtrt_cert_no"] = certno;
  data["card_sn"] = "";
  data["begntime"] = "";
  data["psn_cert_type"] = "01";
  data["certno"] = certno;
  data["psn_name"] = "";
  ordered_json input;
  input["data"] = std::move(data);
  return Dump(Envelope(envelope, kPersonInfoTransaction, std::move(input)));
}

std::string BuildLocatePersonRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                     const std::string& resident_id) {
  ordered_json input;
  input["data"] = PersonInput(dialect, resident_id);
  return Dump(Envelope(envelope, kLocatePersonTransaction, std::move(input)));
}

std::string BuildContributionsRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                      const std::string& resident_id, int from_year, int to_year) {
  ordered_json data = PersonInput(dialect, resident_id);
  data["begn_ym"] =
      from_year > 0 ? dialect.date_format().FormatMonth(absl::CivilMonth(from_year, 1)) : std::string();
  data["end_ym"] =
      to_year > 0 ? dialect.date_format().FormatMonth(absl::CivilMonth(to_year, 12)) : std::string();
  ordered_json input;
  input["data"] = std::move(data);
  return Dump(Envelope(envelope, kContributionsTransaction, std::move(input)));
}

std::string BuildHouseholdRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                  const std::string& resident_id) {
  ordered_json input;
  input["data"] = PersonInput(dialect, resident_id);
  return Dump(Envelope(envelope, kHouseholdTransaction, std::move(input)));
}

absl::StatusOr<ReplyEnvelope> ParseReplyEnvelope(City city, absl::string_view infno, absl::string_view body) {
  Transaction tx{city, infno};
  INTEROP_ASSIGN_OR_RETURN(json root, ParseStrictJson(tx, body));
  return EnvelopeOf(tx, root);
}

absl::Status ReplyError(City city, absl::string_view infno, const ReplyEnvelope& envelope,
                        absl::string_view what) {
  if (envelope.infcode == 0) return absl::OkStatus();
  absl::string_view name = CityName(city);
  if (envelope.infcode != -1) {
    return absl::InternalError(
        absl::StrCat("city ", name, " answered transaction ", infno, " with infcode ", envelope.infcode,
                     ", neither 0 (success) nor -1 (failure): ", SanitizeText(envelope.err_msg)));
  }
  absl::string_view code = ErrorCode(envelope.err_msg);
  if (code == kErrorNoRecord) {
    return absl::NotFoundError(absl::StrCat("city ", name, " holds no ", what, " for this person"));
  }
  if (code == kErrorBusy) {
    return absl::UnavailableError(absl::StrCat("city ", name, " is unavailable: it answered transaction ",
                                               infno, " with ", SanitizeText(envelope.err_msg)));
  }
  return absl::InternalError(
      absl::StrCat("city ", name, " failed transaction ", infno, ": ",
                   envelope.err_msg.empty() ? "(no err_msg)" : SanitizeText(envelope.err_msg)));
}

absl::Status CheckHttpReply(City city, absl::string_view infno, int http_status,
                            absl::string_view content_type) {
  absl::string_view name = CityName(city);
  if (http_status >= 500 && http_status <= 599) {
    return absl::UnavailableError(
        absl::StrCat("city ", name, " is unavailable: HTTP ", http_status, " to transaction ", infno));
  }
  if (http_status != 200) {
    return absl::InternalError(
        absl::StrCat("city ", name, " answered transaction ", infno, " with HTTP ", http_status));
  }
  // "application/json", optionally with parameters, of which charset must be UTF-8.
  std::vector<absl::string_view> parts = absl::StrSplit(content_type, ';');
  if (!absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(parts[0]), "application/json")) {
    return absl::InternalError(absl::StrCat("city ", name, " answered transaction ", infno,
                                            " with content type ", Quote(content_type),
                                            ", not application/json"));
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    absl::string_view parameter = absl::StripAsciiWhitespace(parts[i]);
    if (!absl::StartsWithIgnoreCase(parameter, "charset=")) continue;
    absl::string_view charset = absl::StripAsciiWhitespace(parameter.substr(8));
    if (charset.size() >= 2 && charset.front() == '"' && charset.back() == '"') {
      charset = charset.substr(1, charset.size() - 2);
    }
    if (!absl::EqualsIgnoreCase(charset, "utf-8") && !absl::EqualsIgnoreCase(charset, "utf8")) {
      return absl::InternalError(absl::StrCat("city ", name, " answered transaction ", infno, " in charset ",
                                              Quote(charset), ", not UTF-8"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<PersonLocation> ParseLocatePersonReply(const Dialect& dialect, const std::string& resident_id,
                                                      absl::string_view body) {
  Transaction tx{dialect.city(), kLocatePersonTransaction, &dialect};
  absl::StatusOr<json> output = OutputOf(tx, body, "person");
  if (absl::IsNotFound(output.status())) return PersonLocation();  // E1001: an unknown person
  if (!output.ok()) return output.status();
  PersonLocation location;
  INTEROP_ASSIGN_OR_RETURN(location.found, FlagMember(tx, *output, "output", "psn_exist_flag"));
  INTEROP_ASSIGN_OR_RETURN(location.holds_medical_enrollment, FlagMember(tx, *output, "output", "insu_flag"));
  INTEROP_ASSIGN_OR_RETURN(location.holds_contribution_history,
                           FlagMember(tx, *output, "output", "clct_flag"));
  INTEROP_ASSIGN_OR_RETURN(location.holds_household_registration,
                           FlagMember(tx, *output, "output", "hhreg_flag"));
  if (!location.found && (location.holds_medical_enrollment || location.holds_contribution_history ||
                          location.holds_household_registration)) {
    return tx.Bad("output.psn_exist_flag", "is \"0\" but another flag says the city holds a record");
  }
  // A known person's reply must be about them.
  if (location.found) {
    INTEROP_RETURN_IF_ERROR(CheckCertno(tx, *output, "output", resident_id));
  }
  return location;
}

absl::StatusOr<medical::v1::GetInsuranceStatusResponse> ParsePersonInfoReply(const Dialect& dialect,
                                                                             const std::string& resident_id,
                                                                             absl::string_view body) {
  const City city = dialect.city();
  Transaction tx{city, kPersonInfoTransaction, &dialect};
  constexpr absl::string_view kWhat = "medical-insurance enrolment";
  INTEROP_ASSIGN_OR_RETURN(json output, OutputOf(tx, body, kWhat));
  INTEROP_ASSIGN_OR_RETURN(const json* baseinfo, ObjectMember(tx, output, "output", "baseinfo"));
  INTEROP_RETURN_IF_ERROR(CheckCertno(tx, *baseinfo, "output.baseinfo", resident_id));
  INTEROP_ASSIGN_OR_RETURN(std::string cert_type,
                           StringMember(tx, *baseinfo, "output.baseinfo", "psn_cert_type"));
  if (cert_type != "01") {
    return tx.Bad("output.baseinfo.psn_cert_type",
                  absl::StrCat(Quote(cert_type), " is not \"01\" (resident identity card)"));
  }
  INTEROP_ASSIGN_OR_RETURN(std::string name, NameMember(tx, *baseinfo, "output.baseinfo", "psn_name"));
  INTEROP_ASSIGN_OR_RETURN(const json* insuinfo, ArrayMember(tx, output, "output", "insuinfo"));

  struct Enrollment {
    medical::v1::InsuranceType type;
    medical::v1::EnrollmentStatus status;
    common::v1::Date date;
    std::string region;
    int64_t balance_fen;
  };
  std::vector<Enrollment> enrollments;
  for (size_t i = 0; i < insuinfo->size(); ++i) {
    const json& entry = (*insuinfo)[i];
    std::string path = Index("output.insuinfo", i);
    if (!entry.is_object()) return tx.Bad(path, absl::StrCat("must be an object, got ", entry.type_name()));
    Enrollment e;
    INTEROP_ASSIGN_OR_RETURN(
        e.type, CodeMember(tx, entry, path, "insutype", CodeTableKind::kInsuranceTypes, kNationalInsuranceTypes));
    INTEROP_ASSIGN_OR_RETURN(e.status, CodeMember(tx, entry, path, "psn_insu_stas",
                                                  CodeTableKind::kEnrollmentStatuses, kNationalEnrollmentStatuses));
    INTEROP_ASSIGN_OR_RETURN(e.date, DateMember(tx, entry, path, "psn_insu_date"));
    INTEROP_ASSIGN_OR_RETURN(e.region, DivisionMember(tx, entry, path, "insuplc_admdvs"));
    INTEROP_ASSIGN_OR_RETURN(e.balance_fen, MoneyMember(tx, entry, path, "balc"));
    enrollments.push_back(std::move(e));
  }
  if (enrollments.empty()) {
    return absl::NotFoundError(
        absl::StrCat("city ", CityName(city), " holds no ", kWhat, " for this person"));
  }
  // The active enrolment; else the latest; the first of equals.
  auto rank = [](const Enrollment& e) {
    return std::make_tuple(e.status == medical::v1::ENROLLMENT_STATUS_ACTIVE, e.date.year(), e.date.month(),
                           e.date.day());
  };
  const Enrollment* chosen = &enrollments[0];
  for (const Enrollment& e : enrollments) {
    if (rank(e) > rank(*chosen)) chosen = &e;
  }

  medical::v1::GetInsuranceStatusResponse out;
  out.set_resident_id(resident_id);
  out.set_name(name);
  *out.mutable_insured_city() = MakeCityInfo(city);
  out.set_insured_region_code(chosen->region);
  out.set_insurance_type(chosen->type);
  out.set_status(chosen->status);
  *out.mutable_enrollment_date() = chosen->date;
  out.mutable_personal_account_balance()->set_fen(chosen->balance_fen);
  return out;
}

absl::StatusOr<std::vector<social::v1::ContributionEntry>> ParseContributionsReply(
    const Dialect& dialect, const std::string& resident_id, int from_year, int to_year,
    absl::string_view body) {
  const City city = dialect.city();
  Transaction tx{city, kContributionsTransaction, &dialect};
  INTEROP_ASSIGN_OR_RETURN(json output, OutputOf(tx, body, "contribution history"));
  INTEROP_ASSIGN_OR_RETURN(const json* baseinfo, ObjectMember(tx, output, "output", "baseinfo"));
  INTEROP_RETURN_IF_ERROR(CheckCertno(tx, *baseinfo, "output.baseinfo", resident_id));
  INTEROP_ASSIGN_OR_RETURN(const json* clctinfo, ArrayMember(tx, output, "output", "clctinfo"));

  std::vector<social::v1::ContributionEntry> entries;
  std::set<std::tuple<int, int, int>> seen;  // year, month, kind
  for (size_t i = 0; i < clctinfo->size(); ++i) {
    const json& row = (*clctinfo)[i];
    std::string path = Index("output.clctinfo", i);
    if (!row.is_object()) return tx.Bad(path, absl::StrCat("must be an object, got ", row.type_name()));
    INTEROP_ASSIGN_OR_RETURN(
        social::v1::InsuranceKind kind,
        CodeMember(tx, row, path, "insutype", CodeTableKind::kContributionKinds, kNationalContributionKinds));
    INTEROP_ASSIGN_OR_RETURN(absl::CivilMonth month, MonthMember(tx, row, path, "ym"));
    INTEROP_ASSIGN_OR_RETURN(int64_t base, MoneyMember(tx, row, path, "clct_base"));
    INTEROP_ASSIGN_OR_RETURN(int64_t personal, MoneyMember(tx, row, path, "psn_clct_amt"));
    INTEROP_ASSIGN_OR_RETURN(int64_t employer, MoneyMember(tx, row, path, "emp_clct_amt"));
    const int year = static_cast<int>(month.year());
    if (!seen.insert({year, month.month(), static_cast<int>(kind)}).second) {
      return tx.Bad(path, absl::StrCat("repeats the insutype and ym of an earlier entry (",
                                       row["insutype"].get_ref<const std::string&>(), ", ",
                                       row["ym"].get_ref<const std::string&>(), ")"));
    }
    if ((from_year > 0 && year < from_year) || (to_year > 0 && year > to_year)) continue;
    social::v1::ContributionEntry entry;
    *entry.mutable_city() = MakeCityInfo(city);
    entry.set_kind(kind);
    entry.set_year(year);
    entry.set_month(month.month());
    entry.mutable_wage_base()->set_fen(base);
    entry.set_months(1);
    entry.mutable_personal_amount()->set_fen(personal);
    entry.mutable_employer_amount()->set_fen(employer);
    entries.push_back(std::move(entry));
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const social::v1::ContributionEntry& a, const social::v1::ContributionEntry& b) {
                     return std::make_tuple(a.year(), a.month(), static_cast<int>(a.kind())) <
                            std::make_tuple(b.year(), b.month(), static_cast<int>(b.kind()));
                   });
  return entries;
}

namespace {

// output.hhreginfo: a household registration in the city (L9301, L9304).
absl::StatusOr<household::v1::GetHouseholdRecordResponse> HouseholdMember(const Transaction& tx, const json& output,
                                                                          const std::string& resident_id) {
  const City city = tx.city;
  constexpr absl::string_view kInfo = "output.hhreginfo";
  INTEROP_ASSIGN_OR_RETURN(const json* info, ObjectMember(tx, output, "output", "hhreginfo"));
  INTEROP_RETURN_IF_ERROR(CheckCertno(tx, *info, kInfo, resident_id));
  INTEROP_ASSIGN_OR_RETURN(std::string name, NameMember(tx, *info, kInfo, "psn_name"));
  INTEROP_ASSIGN_OR_RETURN(std::string address, DivisionMember(tx, *info, kInfo, "hhreg_admdvs"));
  INTEROP_ASSIGN_OR_RETURN(std::string household_number, StringMember(tx, *info, kInfo, "hh_no"));
  if (household_number.size() != 9 || !AllDigits(household_number)) {
    return tx.Bad(Path(kInfo, "hh_no"), absl::StrCat(Quote(household_number), " is not nine digits"));
  }
  INTEROP_ASSIGN_OR_RETURN(household::v1::RelationToHead relation,
                           CodeMember(tx, *info, kInfo, "rlts", CodeTableKind::kRelations, kNationalRelations));
  INTEROP_ASSIGN_OR_RETURN(
      household::v1::HouseholdType type,
      CodeMember(tx, *info, kInfo, "hh_type", CodeTableKind::kHouseholdTypes, kNationalHouseholdTypes));
  INTEROP_ASSIGN_OR_RETURN(common::v1::Date since, DateMember(tx, *info, kInfo, "hhreg_date"));

  household::v1::GetHouseholdRecordResponse out;
  out.set_resident_id(resident_id);
  out.set_name(name);
  *out.mutable_registered_city() = MakeCityInfo(city);
  out.set_address_code(address);
  out.set_household_number(household_number);
  out.set_relation_to_head(relation);
  out.set_household_type(type);
  *out.mutable_registered_since() = since;
  return out;
}

}  // namespace

absl::StatusOr<household::v1::GetHouseholdRecordResponse> ParseHouseholdReply(const Dialect& dialect,
                                                                              const std::string& resident_id,
                                                                              absl::string_view body) {
  Transaction tx{dialect.city(), kHouseholdTransaction, &dialect};
  INTEROP_ASSIGN_OR_RETURN(json output, OutputOf(tx, body, "household registration"));
  return HouseholdMember(tx, output, resident_id);
}

// --- Cross-city medical settlement.

absl::Status SettlementReplyError(City city, absl::string_view infno, const ReplyEnvelope& envelope,
                                  absl::string_view what) {
  if (envelope.infcode != -1) return ReplyError(city, infno, envelope, what);
  const absl::string_view name = CityName(city);
  const absl::string_view code = ErrorCode(envelope.err_msg);
  const auto refused = [&](absl::StatusCode status) {
    return absl::Status(status,
                        absl::StrCat("city ", name, " refused ", what, ": ", SanitizeText(envelope.err_msg)));
  };
  if (code == kErrorNoRecord) return absl::NotFoundError(absl::StrCat("city ", name, " holds no ", what));
  if (code == kErrorBadRequest) return refused(absl::StatusCode::kInvalidArgument);
  if (code == kErrorVersionMoved) return refused(absl::StatusCode::kAborted);
  if (code == kErrorSettlementIdReused) return refused(absl::StatusCode::kAlreadyExists);
  if (code == kErrorRefused) return refused(absl::StatusCode::kFailedPrecondition);
  if (code == kErrorUnknownTransaction) {
    return absl::UnimplementedError(
        absl::StrCat("city ", name, "'s backend does not offer ", what, " (transaction ", infno, ")"));
  }
  return ReplyError(city, infno, envelope, what);
}

namespace {

absl::Status BadRequest(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

absl::StatusOr<std::string> RequestDay(const Dialect& dialect, absl::string_view field, absl::CivilDay day) {
  if (day.year() < kEarliestDateYear || day.year() > 9999) {
    return BadRequest(field, absl::StrCat("the date's year ", day.year(), " is outside 1900-9999"));
  }
  return dialect.date_format().FormatDate(day);
}

absl::StatusOr<std::string> RequestMoney(const Dialect& dialect, absl::string_view field, int64_t fen) {
  if (fen < 0 || fen > kMaxMoneyFen) {
    return BadRequest(field, absl::StrCat(fen, " is not an amount from 0 to ", kMaxMoneyFen));
  }
  return FormatMoney(fen, dialect.money_format());
}

absl::StatusOr<std::string> RequestCity(absl::string_view field, City city) {
  const absl::string_view code = CityDivisionCode(city);
  if (code.empty()) return BadRequest(field, "must be one of the five cities");
  return std::string(code);
}

// The city of a six-digit division code of one of the five cities, or CITY_UNSPECIFIED.
City CityOfDivision(absl::string_view code) {
  if (code.size() != 6 || !AllDigits(code)) return City::CITY_UNSPECIFIED;
  return CityForPrefectureCode(absl::StrCat(code.substr(0, 4), "00"));
}

absl::StatusOr<absl::CivilDay> DayMember(const Transaction& tx, const json& object, absl::string_view parent,
                                         const char* key) {
  INTEROP_ASSIGN_OR_RETURN(std::string text, StringMember(tx, object, parent, key));
  absl::StatusOr<absl::CivilDay> day = tx.dialect->date_format().ParseDate(text);
  if (!day.ok()) return tx.Bad(Path(parent, key), day.status().message());
  return *day;
}

// A year as a string of four digits, from 1900.
absl::StatusOr<int> YearMember(const Transaction& tx, const json& object, absl::string_view parent,
                               const char* key) {
  INTEROP_ASSIGN_OR_RETURN(std::string text, StringMember(tx, object, parent, key));
  int year = 0;
  if (text.size() != 4 || !AllDigits(text) || !absl::SimpleAtoi(text, &year) || year < kEarliestDateYear) {
    return tx.Bad(Path(parent, key), absl::StrCat(Quote(text), " is not a year of four digits from 1900"));
  }
  return year;
}

// A non-empty identifier of at most 64 printable ASCII characters.
absl::StatusOr<std::string> IdMember(const Transaction& tx, const json& object, absl::string_view parent,
                                     const char* key) {
  INTEROP_ASSIGN_OR_RETURN(std::string id, StringMember(tx, object, parent, key));
  if (id.empty() || id.size() > 64 ||
      !std::all_of(id.begin(), id.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
    return tx.Bad(Path(parent, key), absl::StrCat(Quote(id), " is not 1 to 64 printable ASCII characters"));
  }
  return id;
}

// The treatment city: a six-digit division code of one of the five cities.
absl::StatusOr<City> TreatmentCityMember(const Transaction& tx, const json& object, absl::string_view parent,
                                         const char* key) {
  INTEROP_ASSIGN_OR_RETURN(std::string code, StringMember(tx, object, parent, key));
  const City city = CityOfDivision(code);
  if (city == City::CITY_UNSPECIFIED) {
    return tx.Bad(Path(parent, key),
                  absl::StrCat(Quote(code), " is not a division code of one of the five cities"));
  }
  return city;
}

// An identity number the reply carries without the request naming the person: an 18-character
// number with a valid check character, or a legacy 15-digit number if the dialect keys anyone by
// one. Never quoted: it may be another person's.
absl::StatusOr<std::string> AnyCertnoMember(const Transaction& tx, const json& object,
                                            absl::string_view parent) {
  INTEROP_ASSIGN_OR_RETURN(std::string certno, StringMember(tx, object, parent, "certno"));
  const std::string path = Path(parent, "certno");
  if (certno.size() == 15 && AllDigits(certno)) {
    if (tx.dialect->legacy_id_born_before_year() == 0) {
      return tx.Bad(path, absl::StrCat("is a legacy 15-digit number, but its dialect (", tx.dialect->source(),
                                       ") keys no one by legacy numbers"));
    }
    absl::StatusOr<std::string> upgraded = identity::UpgradeLegacyNumber(certno);
    if (!upgraded.ok()) return tx.Bad(path, "is not a valid legacy number: its birth date is not real");
    return *std::move(upgraded);
  }
  if (certno.size() != 18 || !AllDigits(absl::string_view(certno).substr(0, 17))) {
    return tx.Bad(path, "is not an 18-character identity number");
  }
  if (certno.back() == 'x') certno.back() = 'X';
  if (identity::ComputeCheckCharacter(absl::string_view(certno).substr(0, 17)) != certno.back()) {
    return tx.Bad(path, "is not a valid identity number: its check character is wrong");
  }
  return certno;
}

// setlinfo: a settlement record. `resident_id` empty admits any person.
absl::StatusOr<SettlementRecord> SettlementMember(const Transaction& tx, const json& info,
                                                  absl::string_view path, const std::string& resident_id) {
  if (!info.is_object()) return tx.Bad(path, absl::StrCat("must be an object, got ", info.type_name()));
  SettlementRecord out;
  INTEROP_ASSIGN_OR_RETURN(out.settlement_id, IdMember(tx, info, path, "setl_id"));
  if (resident_id.empty()) {
    INTEROP_ASSIGN_OR_RETURN(out.resident_id, AnyCertnoMember(tx, info, path));
  } else {
    INTEROP_RETURN_IF_ERROR(CheckCertno(tx, info, path, resident_id));
    out.resident_id = resident_id;
  }
  INTEROP_ASSIGN_OR_RETURN(out.year, YearMember(tx, info, path, "year"));
  INTEROP_ASSIGN_OR_RETURN(std::string med_type, StringMember(tx, info, path, "med_type"));
  if (med_type == "11") {
    out.visit_type = config::v1::VISIT_TYPE_OUTPATIENT;
  } else if (med_type == "21") {
    out.visit_type = config::v1::VISIT_TYPE_INPATIENT;
  } else {
    return tx.Bad(Path(path, "med_type"),
                  absl::StrCat(Quote(med_type), " is not a visit type (11 outpatient, 21 inpatient)"));
  }
  INTEROP_ASSIGN_OR_RETURN(out.institution_code, IdMember(tx, info, path, "fixmedins_code"));
  INTEROP_ASSIGN_OR_RETURN(out.treatment_city, TreatmentCityMember(tx, info, path, "mdtrtarea_admvs"));
  INTEROP_ASSIGN_OR_RETURN(out.settle_date, DayMember(tx, info, path, "setl_date"));
  INTEROP_ASSIGN_OR_RETURN(out.total_fen, MoneyMember(tx, info, path, "medfee_sumamt"));
  INTEROP_ASSIGN_OR_RETURN(out.deductible_applied_fen, MoneyMember(tx, info, path, "act_pay_dedc"));
  INTEROP_ASSIGN_OR_RETURN(out.fund_pay_fen, MoneyMember(tx, info, path, "fund_pay_sumamt"));
  INTEROP_ASSIGN_OR_RETURN(out.account_pay_fen, MoneyMember(tx, info, path, "acct_pay"));
  INTEROP_ASSIGN_OR_RETURN(out.cash_pay_fen, MoneyMember(tx, info, path, "psn_cash_pay"));
  if (out.fund_pay_fen + out.account_pay_fen + out.cash_pay_fen != out.total_fen) {
    return tx.Bad(Path(path, "medfee_sumamt"), "is not fund_pay_sumamt + acct_pay + psn_cash_pay");
  }
  INTEROP_ASSIGN_OR_RETURN(out.reversed, FlagMember(tx, info, path, "refd_setl_flag"));
  INTEROP_ASSIGN_OR_RETURN(std::string refd_date, OptionalStringMember(tx, info, path, "refd_date"));
  if (out.reversed) {
    INTEROP_ASSIGN_OR_RETURN(out.reversed_date, DayMember(tx, info, path, "refd_date"));
  } else if (!refd_date.empty()) {
    return tx.Bad(Path(path, "refd_date"), "is set, but refd_setl_flag is \"0\"");
  }
  return out;
}

// The account: baseinfo (certno, insutype, psn_insu_stas, balc, acct_ver) and cuminfo (the
// accumulators of `year`; types not listed are zero, unknown types are ignored).
absl::StatusOr<MedicalAccount> AccountMember(const Transaction& tx, const json& output,
                                             const std::string& resident_id, int year) {
  INTEROP_ASSIGN_OR_RETURN(const json* baseinfo, ObjectMember(tx, output, "output", "baseinfo"));
  constexpr absl::string_view kBase = "output.baseinfo";
  MedicalAccount out;
  INTEROP_RETURN_IF_ERROR(CheckCertno(tx, *baseinfo, kBase, resident_id));
  out.resident_id = resident_id;
  INTEROP_ASSIGN_OR_RETURN(
      out.insurance_type,
      CodeMember(tx, *baseinfo, kBase, "insutype", CodeTableKind::kInsuranceTypes, kNationalInsuranceTypes));
  INTEROP_ASSIGN_OR_RETURN(
      out.status, CodeMember(tx, *baseinfo, kBase, "psn_insu_stas", CodeTableKind::kEnrollmentStatuses,
                             kNationalEnrollmentStatuses));
  INTEROP_ASSIGN_OR_RETURN(out.balance_fen, MoneyMember(tx, *baseinfo, kBase, "balc"));
  INTEROP_ASSIGN_OR_RETURN(std::string version, StringMember(tx, *baseinfo, kBase, "acct_ver"));
  if (version.empty() || version.size() > 18 || !AllDigits(version) ||
      !absl::SimpleAtoi(version, &out.version)) {
    return tx.Bad(Path(kBase, "acct_ver"),
                  absl::StrCat(Quote(version), " is not a version of 1 to 18 digits"));
  }
  out.year = year;
  INTEROP_ASSIGN_OR_RETURN(const json* cuminfo, ArrayMember(tx, output, "output", "cuminfo"));
  std::set<std::string> seen;
  for (size_t i = 0; i < cuminfo->size(); ++i) {
    const json& entry = (*cuminfo)[i];
    const std::string path = Index("output.cuminfo", i);
    if (!entry.is_object()) return tx.Bad(path, absl::StrCat("must be an object, got ", entry.type_name()));
    INTEROP_ASSIGN_OR_RETURN(int entry_year, YearMember(tx, entry, path, "year"));
    if (entry_year != year) {
      return tx.Bad(Path(path, "year"),
                    absl::StrCat(entry_year, " is not the year asked about (", year, ")"));
    }
    INTEROP_ASSIGN_OR_RETURN(std::string type, StringMember(tx, entry, path, "cum_type_code"));
    int64_t* target = type == kCumDeductibleOutpatient  ? &out.deductible_used_outpatient_fen
                      : type == kCumDeductibleInpatient ? &out.deductible_used_inpatient_fen
                      : type == kCumFundPaid            ? &out.fund_paid_fen
                                                        : nullptr;
    if (target == nullptr) continue;  // an accumulation the gateway does not use
    if (!seen.insert(type).second) {
      return tx.Bad(Path(path, "cum_type_code"), absl::StrCat(Quote(type), " appears twice"));
    }
    INTEROP_ASSIGN_OR_RETURN(*target, MoneyMember(tx, entry, path, "cum"));
  }
  return out;
}

// fileinfo: a filing of `resident_id`.
absl::StatusOr<FilingRecord> FilingMember(const Transaction& tx, const json& info, absl::string_view path,
                                          const std::string& resident_id) {
  if (!info.is_object()) return tx.Bad(path, absl::StrCat("must be an object, got ", info.type_name()));
  FilingRecord out;
  INTEROP_ASSIGN_OR_RETURN(out.filing_id, IdMember(tx, info, path, "trt_dcla_detl_sn"));
  INTEROP_RETURN_IF_ERROR(CheckCertno(tx, info, path, resident_id));
  out.resident_id = resident_id;
  INTEROP_ASSIGN_OR_RETURN(out.treatment_city, TreatmentCityMember(tx, info, path, "mdtrtarea_admvs"));
  INTEROP_ASSIGN_OR_RETURN(out.valid_from, DayMember(tx, info, path, "begndate"));
  INTEROP_ASSIGN_OR_RETURN(out.valid_to, DayMember(tx, info, path, "enddate"));
  if (out.valid_to < out.valid_from) return tx.Bad(Path(path, "enddate"), "is before begndate");
  INTEROP_ASSIGN_OR_RETURN(std::string reason, StringMember(tx, info, path, "fil_type"));
  if (reason.size() != 1 || reason[0] < '1' || reason[0] > '5') {
    return tx.Bad(Path(path, "fil_type"), absl::StrCat(Quote(reason), " is not a filing reason (1 to 5)"));
  }
  out.reason = static_cast<medical::v1::FilingReason>(reason[0] - '0');
  INTEROP_ASSIGN_OR_RETURN(bool valid, FlagMember(tx, info, path, "vali_flag"));
  out.revoked = !valid;
  return out;
}

// The output of a commit or reversal: setlinfo, baseinfo, cuminfo, rpt_flag.
absl::StatusOr<CommitResult> CommitResultOf(const Transaction& tx, const json& output,
                                            const std::string& settlement_id,
                                            const std::string& resident_id) {
  INTEROP_ASSIGN_OR_RETURN(const json* setlinfo, ObjectMember(tx, output, "output", "setlinfo"));
  CommitResult out;
  INTEROP_ASSIGN_OR_RETURN(out.settlement, SettlementMember(tx, *setlinfo, "output.setlinfo", resident_id));
  if (out.settlement.settlement_id != settlement_id) {
    return tx.Bad("output.setlinfo.setl_id", "is not the settlement asked about");
  }
  INTEROP_ASSIGN_OR_RETURN(out.account, AccountMember(tx, output, resident_id, out.settlement.year));
  INTEROP_ASSIGN_OR_RETURN(out.replayed, FlagMember(tx, output, "output", "rpt_flag"));
  return out;
}

ordered_json SettlementPersonInput(const Dialect& dialect, const std::string& resident_id) {
  return PersonInput(dialect, resident_id);
}

}  // namespace

std::string BuildAccountRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                const std::string& resident_id, int year) {
  ordered_json data;
  data["psn_no"] = "";
  data["psn_cert_type"] = "01";
  data["certno"] = dialect.BackendResidentId(resident_id);
  data["year"] = absl::StrFormat("%04d", year);
  ordered_json input;
  input["data"] = std::move(data);
  return Dump(Envelope(envelope, kAccountTransaction, std::move(input)));
}

absl::StatusOr<std::string> BuildSettleRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                               const SettlementRecord& settlement, int64_t expected_version) {
  if (settlement.settlement_id.empty()) return BadRequest("settlement_id", "is required");
  if (settlement.reversed) return BadRequest("reversed", "must be false in a commit");
  if (settlement.year < kEarliestDateYear || settlement.year > 9999) {
    return BadRequest("year", absl::StrCat(settlement.year, " is outside 1900-9999"));
  }
  if (expected_version < 0) return BadRequest("expected_version", "must not be negative");
  ordered_json data;
  data["setl_id"] = settlement.settlement_id;
  data["psn_cert_type"] = "01";
  data["certno"] = dialect.BackendResidentId(settlement.resident_id);
  data["year"] = absl::StrCat(settlement.year);
  switch (settlement.visit_type) {
    case config::v1::VISIT_TYPE_OUTPATIENT:
      data["med_type"] = "11";
      break;
    case config::v1::VISIT_TYPE_INPATIENT:
      data["med_type"] = "21";
      break;
    default:
      return BadRequest("visit_type", "must be outpatient or inpatient");
  }
  data["fixmedins_code"] = settlement.institution_code;
  INTEROP_ASSIGN_OR_RETURN(data["mdtrtarea_admvs"], RequestCity("treatment_city", settlement.treatment_city));
  INTEROP_ASSIGN_OR_RETURN(data["setl_date"], RequestDay(dialect, "settle_date", settlement.settle_date));
  INTEROP_ASSIGN_OR_RETURN(data["medfee_sumamt"], RequestMoney(dialect, "total_fen", settlement.total_fen));
  INTEROP_ASSIGN_OR_RETURN(data["act_pay_dedc"], RequestMoney(dialect, "deductible_applied_fen",
                                                              settlement.deductible_applied_fen));
  INTEROP_ASSIGN_OR_RETURN(data["fund_pay_sumamt"],
                           RequestMoney(dialect, "fund_pay_fen", settlement.fund_pay_fen));
  INTEROP_ASSIGN_OR_RETURN(data["acct_pay"],
                           RequestMoney(dialect, "account_pay_fen", settlement.account_pay_fen));
  INTEROP_ASSIGN_OR_RETURN(data["psn_cash_pay"],
                           RequestMoney(dialect, "cash_pay_fen", settlement.cash_pay_fen));
  data["acct_ver"] = absl::StrCat(expected_version);
  ordered_json input;
  input["data"] = std::move(data);
  return Dump(Envelope(envelope, kSettleTransaction, std::move(input)));
}

absl::StatusOr<std::string> BuildReverseSettlementRequest(const Dialect& dialect,
                                                          const RequestEnvelope& envelope,
                                                          const std::string& settlement_id,
                                                          const std::string& resident_id,
                                                          absl::CivilDay reversed_date) {
  if (settlement_id.empty()) return BadRequest("settlement_id", "is required");
  ordered_json data;
  data["setl_id"] = settlement_id;
  data["psn_cert_type"] = "01";
  data["certno"] = dialect.BackendResidentId(resident_id);
  INTEROP_ASSIGN_OR_RETURN(data["refd_date"], RequestDay(dialect, "reversed_date", reversed_date));
  ordered_json input;
  input["data"] = std::move(data);
  return Dump(Envelope(envelope, kReverseSettlementTransaction, std::move(input)));
}

std::string BuildSettlementRecordRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                         const std::string& settlement_id) {
  ordered_json data;
  data["setl_id"] = settlement_id;
  ordered_json input;
  input["data"] = std::move(data);
  return Dump(Envelope(envelope, kSettlementRecordTransaction, std::move(input)));
}

absl::StatusOr<std::string> BuildReconciliationRequest(const Dialect& dialect,
                                                       const RequestEnvelope& envelope, absl::CivilDay from,
                                                       absl::CivilDay to,
                                                       const std::string& after_settlement_id,
                                                       int page_size) {
  if (to < from) return BadRequest("to", "is before from");
  if (page_size < 1) return BadRequest("page_size", "must be positive");
  ordered_json data;
  INTEROP_ASSIGN_OR_RETURN(data["stmt_begndate"], RequestDay(dialect, "from", from));
  INTEROP_ASSIGN_OR_RETURN(data["stmt_enddate"], RequestDay(dialect, "to", to));
  data["after_setl_id"] = after_settlement_id;
  data["page_size"] = page_size;
  ordered_json input;
  input["data"] = std::move(data);
  return Dump(Envelope(envelope, kReconciliationTransaction, std::move(input)));
}

absl::StatusOr<std::string> BuildFileTreatmentRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                                      const FilingRecord& filing) {
  if (!filing.filing_id.empty()) return BadRequest("filing_id", "must be empty in a new filing");
  if (filing.revoked) return BadRequest("revoked", "must be false in a new filing");
  ordered_json data = SettlementPersonInput(dialect, filing.resident_id);
  INTEROP_ASSIGN_OR_RETURN(data["mdtrtarea_admvs"], RequestCity("treatment_city", filing.treatment_city));
  INTEROP_ASSIGN_OR_RETURN(data["begndate"], RequestDay(dialect, "valid_from", filing.valid_from));
  INTEROP_ASSIGN_OR_RETURN(data["enddate"], RequestDay(dialect, "valid_to", filing.valid_to));
  if (filing.reason < medical::v1::FILING_REASON_RESETTLED_RETIREE ||
      filing.reason > medical::v1::FILING_REASON_TEMPORARY) {
    return BadRequest("reason", "must be a filing reason");
  }
  data["fil_type"] = absl::StrCat(static_cast<int>(filing.reason));
  ordered_json input;
  input["data"] = std::move(data);
  return Dump(Envelope(envelope, kFileTreatmentTransaction, std::move(input)));
}

std::string BuildRevokeFilingRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                     const std::string& resident_id, const std::string& filing_id) {
  ordered_json data = SettlementPersonInput(dialect, resident_id);
  data["trt_dcla_detl_sn"] = filing_id;
  ordered_json input;
  input["data"] = std::move(data);
  return Dump(Envelope(envelope, kRevokeFilingTransaction, std::move(input)));
}

std::string BuildFilingQueryRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                    const std::string& resident_id) {
  ordered_json input;
  input["data"] = SettlementPersonInput(dialect, resident_id);
  return Dump(Envelope(envelope, kFilingQueryTransaction, std::move(input)));
}

absl::StatusOr<MedicalAccount> ParseAccountReply(const Dialect& dialect, const std::string& resident_id,
                                                 int year, absl::string_view body) {
  Transaction tx{dialect.city(), kAccountTransaction, &dialect};
  INTEROP_ASSIGN_OR_RETURN(json output,
                           OutputOf(tx, body, "medical account for this person", &SettlementReplyError));
  return AccountMember(tx, output, resident_id, year);
}

absl::StatusOr<CommitResult> ParseSettleReply(const Dialect& dialect, const SettlementRecord& sent,
                                              absl::string_view body) {
  Transaction tx{dialect.city(), kSettleTransaction, &dialect};
  INTEROP_ASSIGN_OR_RETURN(json output, OutputOf(tx, body, "the settlement commit", &SettlementReplyError));
  INTEROP_ASSIGN_OR_RETURN(CommitResult result,
                           CommitResultOf(tx, output, sent.settlement_id, sent.resident_id));
  const SettlementRecord& got = result.settlement;
  const char* differs = got.year != sent.year                                       ? "year"
                        : got.visit_type != sent.visit_type                         ? "med_type"
                        : got.institution_code != sent.institution_code             ? "fixmedins_code"
                        : got.treatment_city != sent.treatment_city                 ? "mdtrtarea_admvs"
                        : got.settle_date != sent.settle_date                       ? "setl_date"
                        : got.total_fen != sent.total_fen                           ? "medfee_sumamt"
                        : got.deductible_applied_fen != sent.deductible_applied_fen ? "act_pay_dedc"
                        : got.fund_pay_fen != sent.fund_pay_fen                     ? "fund_pay_sumamt"
                        : got.account_pay_fen != sent.account_pay_fen               ? "acct_pay"
                        : got.cash_pay_fen != sent.cash_pay_fen                     ? "psn_cash_pay"
                                                                                    : nullptr;
  if (differs != nullptr) return tx.Bad(Path("output.setlinfo", differs), "is not the value committed");
  if (!result.replayed && got.reversed) {
    return tx.Bad("output.setlinfo.refd_setl_flag", "a new commit (rpt_flag \"0\") cannot be reversed");
  }
  return result;
}

absl::StatusOr<CommitResult> ParseReverseSettlementReply(const Dialect& dialect,
                                                         const std::string& settlement_id,
                                                         const std::string& resident_id,
                                                         absl::string_view body) {
  Transaction tx{dialect.city(), kReverseSettlementTransaction, &dialect};
  INTEROP_ASSIGN_OR_RETURN(json output,
                           OutputOf(tx, body, "such settlement for this person", &SettlementReplyError));
  INTEROP_ASSIGN_OR_RETURN(CommitResult result, CommitResultOf(tx, output, settlement_id, resident_id));
  if (!result.settlement.reversed) {
    return tx.Bad("output.setlinfo.refd_setl_flag", "is \"0\", but the settlement was reversed");
  }
  return result;
}

absl::StatusOr<SettlementRecord> ParseSettlementRecordReply(const Dialect& dialect,
                                                            const std::string& settlement_id,
                                                            absl::string_view body) {
  Transaction tx{dialect.city(), kSettlementRecordTransaction, &dialect};
  INTEROP_ASSIGN_OR_RETURN(json output, OutputOf(tx, body, "such settlement", &SettlementReplyError));
  INTEROP_ASSIGN_OR_RETURN(const json* setlinfo, ObjectMember(tx, output, "output", "setlinfo"));
  INTEROP_ASSIGN_OR_RETURN(SettlementRecord record, SettlementMember(tx, *setlinfo, "output.setlinfo", ""));
  if (record.settlement_id != settlement_id) {
    return tx.Bad("output.setlinfo.setl_id", "is not the settlement asked about");
  }
  return record;
}

absl::StatusOr<ReconciliationPage> ParseReconciliationReply(const Dialect& dialect, absl::CivilDay from,
                                                            absl::CivilDay to,
                                                            const std::string& after_settlement_id,
                                                            absl::string_view body) {
  Transaction tx{dialect.city(), kReconciliationTransaction, &dialect};
  INTEROP_ASSIGN_OR_RETURN(json output, OutputOf(tx, body, "settlement records", &SettlementReplyError));
  INTEROP_ASSIGN_OR_RETURN(const json* setlinfo, ArrayMember(tx, output, "output", "setlinfo"));
  ReconciliationPage page;
  std::string previous = after_settlement_id;
  for (size_t i = 0; i < setlinfo->size(); ++i) {
    const std::string path = Index("output.setlinfo", i);
    INTEROP_ASSIGN_OR_RETURN(SettlementRecord record, SettlementMember(tx, (*setlinfo)[i], path, ""));
    if (record.settle_date < from || record.settle_date > to) {
      return tx.Bad(Path(path, "setl_date"), "is outside the period asked");
    }
    if (record.settlement_id <= previous) {
      return tx.Bad(Path(path, "setl_id"), "is not after the one before (or after_setl_id)");
    }
    previous = record.settlement_id;
    page.records.push_back(std::move(record));
  }
  INTEROP_ASSIGN_OR_RETURN(page.more, FlagMember(tx, output, "output", "more_flag"));
  if (page.more && page.records.empty()) {
    return tx.Bad("output.more_flag", "is \"1\" on an empty page: the listing would not move on");
  }
  return page;
}

absl::StatusOr<FilingRecord> ParseFileTreatmentReply(const Dialect& dialect, const FilingRecord& sent,
                                                     absl::string_view body) {
  Transaction tx{dialect.city(), kFileTreatmentTransaction, &dialect};
  INTEROP_ASSIGN_OR_RETURN(json output, OutputOf(tx, body, "the filing", &SettlementReplyError));
  INTEROP_ASSIGN_OR_RETURN(const json* fileinfo, ObjectMember(tx, output, "output", "fileinfo"));
  INTEROP_ASSIGN_OR_RETURN(FilingRecord filed,
                           FilingMember(tx, *fileinfo, "output.fileinfo", sent.resident_id));
  const char* differs = filed.treatment_city != sent.treatment_city ? "mdtrtarea_admvs"
                        : filed.valid_from != sent.valid_from       ? "begndate"
                        : filed.valid_to != sent.valid_to           ? "enddate"
                        : filed.reason != sent.reason               ? "fil_type"
                        : filed.revoked                             ? "vali_flag"
                                                                    : nullptr;
  if (differs != nullptr) return tx.Bad(Path("output.fileinfo", differs), "is not the value filed");
  return filed;
}

absl::StatusOr<FilingRecord> ParseRevokeFilingReply(const Dialect& dialect, const std::string& resident_id,
                                                    const std::string& filing_id, absl::string_view body) {
  Transaction tx{dialect.city(), kRevokeFilingTransaction, &dialect};
  INTEROP_ASSIGN_OR_RETURN(json output,
                           OutputOf(tx, body, "such filing for this person", &SettlementReplyError));
  INTEROP_ASSIGN_OR_RETURN(const json* fileinfo, ObjectMember(tx, output, "output", "fileinfo"));
  INTEROP_ASSIGN_OR_RETURN(FilingRecord filing, FilingMember(tx, *fileinfo, "output.fileinfo", resident_id));
  if (filing.filing_id != filing_id) {
    return tx.Bad("output.fileinfo.trt_dcla_detl_sn", "is not the filing asked about");
  }
  if (!filing.revoked) return tx.Bad("output.fileinfo.vali_flag", "is \"1\", but the filing was revoked");
  return filing;
}

absl::StatusOr<std::vector<FilingRecord>> ParseFilingQueryReply(const Dialect& dialect,
                                                                const std::string& resident_id,
                                                                absl::string_view body) {
  Transaction tx{dialect.city(), kFilingQueryTransaction, &dialect};
  INTEROP_ASSIGN_OR_RETURN(json output, OutputOf(tx, body, "filings for this person", &SettlementReplyError));
  INTEROP_ASSIGN_OR_RETURN(const json* fileinfo, ArrayMember(tx, output, "output", "fileinfo"));
  std::vector<FilingRecord> filings;
  std::set<std::string> ids;
  for (size_t i = 0; i < fileinfo->size(); ++i) {
    const std::string path = Index("output.fileinfo", i);
    INTEROP_ASSIGN_OR_RETURN(FilingRecord filing, FilingMember(tx, (*fileinfo)[i], path, resident_id));
    if (!ids.insert(filing.filing_id).second) {
      return tx.Bad(Path(path, "trt_dcla_detl_sn"), "repeats an earlier filing");
    }
    filings.push_back(std::move(filing));
  }
  return filings;
}

// --- Certificates.

std::string BuildSignCertificateRequest(const RequestEnvelope& envelope, const std::string& payload) {
  ordered_json data;
  data["cert_payload"] = absl::Base64Escape(payload);
  ordered_json input;
  input["data"] = std::move(data);
  return Dump(Envelope(envelope, kSignCertificateTransaction, std::move(input)));
}

absl::StatusOr<CertificateSignature> ParseSignCertificateReply(City city, absl::string_view body) {
  Transaction tx{city, kSignCertificateTransaction, nullptr};
  INTEROP_ASSIGN_OR_RETURN(json output, OutputOf(tx, body, "certificate signing", &SettlementReplyError));
  INTEROP_ASSIGN_OR_RETURN(const json* signinfo, ObjectMember(tx, output, "output", "signinfo"));
  INTEROP_ASSIGN_OR_RETURN(std::string sign_data, StringMember(tx, *signinfo, "output.signinfo", "sign_data"));
  INTEROP_ASSIGN_OR_RETURN(std::string key_id, StringMember(tx, *signinfo, "output.signinfo", "key_id"));
  INTEROP_ASSIGN_OR_RETURN(std::string sign_alg, StringMember(tx, *signinfo, "output.signinfo", "sign_alg"));
  CertificateSignature signature;
  if (sign_data.empty() || !absl::Base64Unescape(sign_data, &signature.signature) || signature.signature.empty()) {
    return tx.Bad("output.signinfo.sign_data", absl::StrCat(Quote(sign_data), " is not a base64 signature"));
  }
  if (key_id.empty()) return tx.Bad("output.signinfo.key_id", "is empty");
  if (sign_alg != "ecdsa-p256-sha256" && sign_alg != "sm2-sm3") {
    return tx.Bad("output.signinfo.sign_alg", absl::StrCat(Quote(sign_alg), " is neither ecdsa-p256-sha256 nor sm2-sm3"));
  }
  signature.key_id = std::move(key_id);
  signature.algorithm = std::move(sign_alg);
  return signature;
}

// --- Household migration and pension transfer.

namespace {

constexpr char kPensionCode[] = "110";  // the national contribution kind of pension insurance

absl::Status CheckRequestKey(const std::string& request_key) {
  if (request_key.empty()) return BadRequest("request_key", "is required");
  if (request_key.size() > kMaxBizSnLength) {
    return BadRequest("request_key", absl::StrCat("is longer than ", kMaxBizSnLength, " characters"));
  }
  if (!IsValidUtf8(request_key)) return BadRequest("request_key", "is not UTF-8");
  return absl::OkStatus();
}

absl::Status CheckNumber(absl::string_view field, const std::string& number) {
  if (number.empty()) return BadRequest(field, "is required");
  if (!IsValidUtf8(number)) return BadRequest(field, "is not UTF-8");
  return absl::OkStatus();
}

// input.data {"biz_sn": <key>, "psn_cert_type": "01", "certno": <id>}.
absl::StatusOr<ordered_json> WorkflowInput(const Dialect& dialect, const std::string& request_key,
                                           const std::string& resident_id) {
  INTEROP_RETURN_IF_ERROR(CheckRequestKey(request_key));
  ordered_json data;
  data["biz_sn"] = request_key;
  data["psn_cert_type"] = "01";
  data["certno"] = dialect.BackendResidentId(resident_id);
  return data;
}

std::string WorkflowRequest(const RequestEnvelope& envelope, absl::string_view infno, ordered_json data) {
  ordered_json input;
  input["data"] = std::move(data);
  return Dump(Envelope(envelope, infno, std::move(input)));
}

absl::StatusOr<std::string> RequestAddress(absl::string_view field, const std::string& code) {
  if (code.size() != 6 || !AllDigits(code)) return BadRequest(field, "is not a six-digit division code");
  return code;
}

// The sheet's yearinfo and clctinfo, and its funds, into `data` (L9206), in the dialect.
absl::Status WriteSheet(const Dialect& dialect, const PensionTransferSheet& sheet, ordered_json& data) {
  const std::string* pension = dialect.table(CodeTableKind::kContributionKinds).ToLocal(kPensionCode);
  if (pension == nullptr) {
    return BadRequest("sheet.months", absl::StrCat("the dialect ", dialect.source(), " has no pension code"));
  }
  INTEROP_ASSIGN_OR_RETURN(data["psn_acct_balc"],
                           RequestMoney(dialect, "sheet.personal_account_fen", sheet.personal_account_fen));
  INTEROP_ASSIGN_OR_RETURN(data["pool_fund_amt"],
                           RequestMoney(dialect, "sheet.pooled_fund_fen", sheet.pooled_fund_fen));
  ordered_json years = ordered_json::array();
  for (size_t i = 0; i < sheet.years.size(); ++i) {
    const PensionSheetYear& y = sheet.years[i];
    const std::string field = absl::StrCat("sheet.years[", i, "].");
    if (y.year < kEarliestDateYear || y.year > 9999) return BadRequest(field + "year", "is outside 1900-9999");
    if (y.months < 1 || y.months > 12) return BadRequest(field + "months", "is not 1 to 12");
    ordered_json year;
    year["year"] = absl::StrFormat("%04d", y.year);
    year["clct_mons"] = absl::StrCat(y.months);
    INTEROP_ASSIGN_OR_RETURN(year["clct_base_sum"],
                             RequestMoney(dialect, field + "wage_base_total_fen", y.wage_base_total_fen));
    INTEROP_ASSIGN_OR_RETURN(year["psn_clct_amt"], RequestMoney(dialect, field + "personal_fen", y.personal_fen));
    INTEROP_ASSIGN_OR_RETURN(year["emp_clct_amt"], RequestMoney(dialect, field + "employer_fen", y.employer_fen));
    years.push_back(std::move(year));
  }
  ordered_json months = ordered_json::array();
  for (size_t i = 0; i < sheet.months.size(); ++i) {
    const social::v1::ContributionEntry& e = sheet.months[i];
    const std::string field = absl::StrCat("sheet.months[", i, "].");
    if (e.kind() != social::v1::INSURANCE_KIND_EMPLOYEE_PENSION) {
      return BadRequest(field + "kind", "is not pension insurance");
    }
    if (e.year() < kEarliestDateYear || e.year() > 9999 || e.month() < 1 || e.month() > 12) {
      return BadRequest(field + "month", "is not a month of the years 1900-9999");
    }
    ordered_json month;
    month["insutype"] = *pension;
    month["ym"] = dialect.date_format().FormatMonth(absl::CivilMonth(e.year(), e.month()));
    INTEROP_ASSIGN_OR_RETURN(month["clct_base"], RequestMoney(dialect, field + "wage_base", e.wage_base().fen()));
    INTEROP_ASSIGN_OR_RETURN(month["psn_clct_amt"],
                             RequestMoney(dialect, field + "personal_amount", e.personal_amount().fen()));
    INTEROP_ASSIGN_OR_RETURN(month["emp_clct_amt"],
                             RequestMoney(dialect, field + "employer_amount", e.employer_amount().fen()));
    months.push_back(std::move(month));
  }
  data["yearinfo"] = std::move(years);
  data["clctinfo"] = std::move(months);
  return absl::OkStatus();
}

// The object `key` of the output, with the certno of the person asked about.
absl::StatusOr<const json*> PersonObject(const Transaction& tx, const json& output, const char* key,
                                         const std::string& resident_id) {
  INTEROP_ASSIGN_OR_RETURN(const json* info, ObjectMember(tx, output, "output", key));
  INTEROP_RETURN_IF_ERROR(CheckCertno(tx, *info, Path("output", key), resident_id));
  return info;
}

absl::StatusOr<bool> ReplayedMember(const Transaction& tx, const json& output) {
  return FlagMember(tx, output, "output", "rpt_flag");
}

// A number of months paid in a year: "1" to "12".
absl::StatusOr<int> MonthCountMember(const Transaction& tx, const json& object, absl::string_view parent,
                                     const char* key) {
  INTEROP_ASSIGN_OR_RETURN(std::string text, StringMember(tx, object, parent, key));
  int months = 0;
  if (text.empty() || text.size() > 2 || !AllDigits(text) || text[0] == '0' || !absl::SimpleAtoi(text, &months) ||
      months > 12) {
    return tx.Bad(Path(parent, key), absl::StrCat(Quote(text), " is not a number of months from 1 to 12"));
  }
  return months;
}

// output.baseinfo, yearinfo and clctinfo of L9204: the sheet.
absl::StatusOr<PensionTransferSheet> SheetMember(const Transaction& tx, const json& output,
                                                 const std::string& resident_id) {
  PensionTransferSheet sheet;
  INTEROP_ASSIGN_OR_RETURN(const json* baseinfo, PersonObject(tx, output, "baseinfo", resident_id));
  INTEROP_ASSIGN_OR_RETURN(sheet.personal_account_fen,
                           MoneyMember(tx, *baseinfo, "output.baseinfo", "psn_acct_balc"));
  INTEROP_ASSIGN_OR_RETURN(sheet.pooled_fund_fen, MoneyMember(tx, *baseinfo, "output.baseinfo", "pool_fund_amt"));

  INTEROP_ASSIGN_OR_RETURN(const json* yearinfo, ArrayMember(tx, output, "output", "yearinfo"));
  std::set<int> years_seen;
  for (size_t i = 0; i < yearinfo->size(); ++i) {
    const json& row = (*yearinfo)[i];
    const std::string path = Index("output.yearinfo", i);
    if (!row.is_object()) return tx.Bad(path, absl::StrCat("must be an object, got ", row.type_name()));
    PensionSheetYear year;
    INTEROP_ASSIGN_OR_RETURN(year.year, YearMember(tx, row, path, "year"));
    INTEROP_ASSIGN_OR_RETURN(year.months, MonthCountMember(tx, row, path, "clct_mons"));
    INTEROP_ASSIGN_OR_RETURN(year.wage_base_total_fen, MoneyMember(tx, row, path, "clct_base_sum"));
    INTEROP_ASSIGN_OR_RETURN(year.personal_fen, MoneyMember(tx, row, path, "psn_clct_amt"));
    INTEROP_ASSIGN_OR_RETURN(year.employer_fen, MoneyMember(tx, row, path, "emp_clct_amt"));
    if (!years_seen.insert(year.year).second) {
      return tx.Bad(Path(path, "year"), absl::StrCat(year.year, " repeats an earlier entry"));
    }
    sheet.years.push_back(year);
  }
  std::sort(sheet.years.begin(), sheet.years.end(),
            [](const PensionSheetYear& a, const PensionSheetYear& b) { return a.year < b.year; });

  INTEROP_ASSIGN_OR_RETURN(const json* clctinfo, ArrayMember(tx, output, "output", "clctinfo"));
  std::set<absl::CivilMonth> months_seen;
  for (size_t i = 0; i < clctinfo->size(); ++i) {
    const json& row = (*clctinfo)[i];
    const std::string path = Index("output.clctinfo", i);
    if (!row.is_object()) return tx.Bad(path, absl::StrCat("must be an object, got ", row.type_name()));
    INTEROP_ASSIGN_OR_RETURN(
        social::v1::InsuranceKind kind,
        CodeMember(tx, row, path, "insutype", CodeTableKind::kContributionKinds, kNationalContributionKinds));
    if (kind != social::v1::INSURANCE_KIND_EMPLOYEE_PENSION) {
      return tx.Bad(Path(path, "insutype"), "is not the pension code: a sheet holds pension months only");
    }
    INTEROP_ASSIGN_OR_RETURN(absl::CivilMonth month, MonthMember(tx, row, path, "ym"));
    INTEROP_ASSIGN_OR_RETURN(int64_t base, MoneyMember(tx, row, path, "clct_base"));
    INTEROP_ASSIGN_OR_RETURN(int64_t personal, MoneyMember(tx, row, path, "psn_clct_amt"));
    INTEROP_ASSIGN_OR_RETURN(int64_t employer, MoneyMember(tx, row, path, "emp_clct_amt"));
    if (!months_seen.insert(month).second) {
      return tx.Bad(Path(path, "ym"), absl::StrCat(Quote(row["ym"].get_ref<const std::string&>()),
                                                   " repeats an earlier month"));
    }
    social::v1::ContributionEntry entry;
    *entry.mutable_city() = MakeCityInfo(tx.city);
    entry.set_kind(kind);
    entry.set_year(static_cast<int>(month.year()));
    entry.set_month(month.month());
    entry.mutable_wage_base()->set_fen(base);
    entry.set_months(1);
    entry.mutable_personal_amount()->set_fen(personal);
    entry.mutable_employer_amount()->set_fen(employer);
    sheet.months.push_back(std::move(entry));
  }
  std::sort(sheet.months.begin(), sheet.months.end(),
            [](const social::v1::ContributionEntry& a, const social::v1::ContributionEntry& b) {
              return std::make_pair(a.year(), a.month()) < std::make_pair(b.year(), b.month());
            });
  return sheet;
}

}  // namespace

absl::StatusOr<std::string> BuildMoveInPermitRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                                     const std::string& request_key,
                                                     const std::string& resident_id, City origin,
                                                     const std::string& address_code) {
  INTEROP_ASSIGN_OR_RETURN(ordered_json data, WorkflowInput(dialect, request_key, resident_id));
  INTEROP_ASSIGN_OR_RETURN(data["mvout_admdvs"], RequestCity("origin", origin));
  INTEROP_ASSIGN_OR_RETURN(data["hhreg_admdvs"], RequestAddress("address_code", address_code));
  return WorkflowRequest(envelope, kMoveInPermitTransaction, std::move(data));
}

absl::StatusOr<std::string> BuildMoveOutRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                                const std::string& request_key, const std::string& resident_id,
                                                City destination, const std::string& permit_number,
                                                absl::CivilDay permit_valid_until) {
  INTEROP_ASSIGN_OR_RETURN(ordered_json data, WorkflowInput(dialect, request_key, resident_id));
  INTEROP_ASSIGN_OR_RETURN(data["mvin_admdvs"], RequestCity("destination", destination));
  INTEROP_RETURN_IF_ERROR(CheckNumber("permit_number", permit_number));
  data["mvin_pmt_no"] = permit_number;
  INTEROP_ASSIGN_OR_RETURN(data["pmt_vali_enddate"], RequestDay(dialect, "permit_valid_until", permit_valid_until));
  return WorkflowRequest(envelope, kMoveOutTransaction, std::move(data));
}

absl::StatusOr<std::string> BuildSettleInRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                                 const std::string& request_key, const std::string& resident_id,
                                                 const std::string& permit_number,
                                                 const std::string& address_code, const std::string& name) {
  INTEROP_ASSIGN_OR_RETURN(ordered_json data, WorkflowInput(dialect, request_key, resident_id));
  if (name.empty()) return BadRequest("name", "is required");
  if (!IsValidUtf8(name)) return BadRequest("name", "is not UTF-8");
  data["psn_name"] = name;
  INTEROP_RETURN_IF_ERROR(CheckNumber("permit_number", permit_number));
  data["mvin_pmt_no"] = permit_number;
  INTEROP_ASSIGN_OR_RETURN(data["hhreg_admdvs"], RequestAddress("address_code", address_code));
  return WorkflowRequest(envelope, kSettleInTransaction, std::move(data));
}

absl::StatusOr<std::string> BuildPensionApplicationRequest(const Dialect& dialect,
                                                           const RequestEnvelope& envelope,
                                                           const std::string& request_key,
                                                           const std::string& resident_id, City origin) {
  INTEROP_ASSIGN_OR_RETURN(ordered_json data, WorkflowInput(dialect, request_key, resident_id));
  INTEROP_ASSIGN_OR_RETURN(data["trfout_admdvs"], RequestCity("origin", origin));
  return WorkflowRequest(envelope, kPensionApplicationTransaction, std::move(data));
}

absl::StatusOr<std::string> BuildContactLetterRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                                      const std::string& request_key,
                                                      const std::string& resident_id,
                                                      const std::string& application_number) {
  INTEROP_ASSIGN_OR_RETURN(ordered_json data, WorkflowInput(dialect, request_key, resident_id));
  INTEROP_RETURN_IF_ERROR(CheckNumber("application_number", application_number));
  data["aply_no"] = application_number;
  return WorkflowRequest(envelope, kContactLetterTransaction, std::move(data));
}

absl::StatusOr<std::string> BuildPrepareTransferOutRequest(const Dialect& dialect,
                                                           const RequestEnvelope& envelope,
                                                           const std::string& request_key,
                                                           const std::string& resident_id, City destination,
                                                           const std::string& letter_number) {
  INTEROP_ASSIGN_OR_RETURN(ordered_json data, WorkflowInput(dialect, request_key, resident_id));
  INTEROP_ASSIGN_OR_RETURN(data["trfin_admdvs"], RequestCity("destination", destination));
  INTEROP_RETURN_IF_ERROR(CheckNumber("letter_number", letter_number));
  data["letr_no"] = letter_number;
  return WorkflowRequest(envelope, kPrepareTransferOutTransaction, std::move(data));
}

absl::StatusOr<std::string> BuildCompleteTransferOutRequest(const Dialect& dialect,
                                                            const RequestEnvelope& envelope,
                                                            const std::string& request_key,
                                                            const std::string& resident_id, City destination,
                                                            const std::string& letter_number,
                                                            int64_t personal_account_fen, int64_t pooled_fund_fen) {
  INTEROP_ASSIGN_OR_RETURN(ordered_json data, WorkflowInput(dialect, request_key, resident_id));
  INTEROP_ASSIGN_OR_RETURN(data["trfin_admdvs"], RequestCity("destination", destination));
  INTEROP_RETURN_IF_ERROR(CheckNumber("letter_number", letter_number));
  data["letr_no"] = letter_number;
  INTEROP_ASSIGN_OR_RETURN(data["psn_acct_balc"], RequestMoney(dialect, "personal_account_fen", personal_account_fen));
  INTEROP_ASSIGN_OR_RETURN(data["pool_fund_amt"], RequestMoney(dialect, "pooled_fund_fen", pooled_fund_fen));
  return WorkflowRequest(envelope, kCompleteTransferOutTransaction, std::move(data));
}

absl::StatusOr<std::string> BuildConfirmTransferInRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                                          const std::string& request_key,
                                                          const std::string& resident_id,
                                                          const std::string& application_number, City origin,
                                                          const PensionTransferSheet& sheet) {
  INTEROP_ASSIGN_OR_RETURN(ordered_json data, WorkflowInput(dialect, request_key, resident_id));
  INTEROP_RETURN_IF_ERROR(CheckNumber("application_number", application_number));
  data["aply_no"] = application_number;
  INTEROP_ASSIGN_OR_RETURN(data["trfout_admdvs"], RequestCity("origin", origin));
  INTEROP_RETURN_IF_ERROR(WriteSheet(dialect, sheet, data));
  return WorkflowRequest(envelope, kConfirmTransferInTransaction, std::move(data));
}

absl::StatusOr<MoveInPermit> ParseMoveInPermitReply(const Dialect& dialect, const std::string& resident_id,
                                                    absl::string_view body) {
  Transaction tx{dialect.city(), kMoveInPermitTransaction, &dialect};
  INTEROP_ASSIGN_OR_RETURN(json output, OutputOf(tx, body, "the permit to move in", &SettlementReplyError));
  INTEROP_ASSIGN_OR_RETURN(const json* info, PersonObject(tx, output, "pmtinfo", resident_id));
  constexpr absl::string_view kInfo = "output.pmtinfo";
  MoveInPermit permit;
  INTEROP_ASSIGN_OR_RETURN(permit.permit_number, IdMember(tx, *info, kInfo, "mvin_pmt_no"));
  INTEROP_ASSIGN_OR_RETURN(permit.issued_on, DayMember(tx, *info, kInfo, "issu_date"));
  INTEROP_ASSIGN_OR_RETURN(permit.valid_until, DayMember(tx, *info, kInfo, "vali_enddate"));
  if (permit.valid_until < permit.issued_on) return tx.Bad(Path(kInfo, "vali_enddate"), "is before issu_date");
  INTEROP_ASSIGN_OR_RETURN(permit.replayed, ReplayedMember(tx, output));
  return permit;
}

absl::StatusOr<MoveOutRecord> ParseMoveOutReply(const Dialect& dialect, const std::string& resident_id,
                                                absl::string_view body) {
  Transaction tx{dialect.city(), kMoveOutTransaction, &dialect};
  INTEROP_ASSIGN_OR_RETURN(json output,
                           OutputOf(tx, body, "household registration for this person", &SettlementReplyError));
  INTEROP_ASSIGN_OR_RETURN(const json* info, PersonObject(tx, output, "mvoutinfo", resident_id));
  constexpr absl::string_view kInfo = "output.mvoutinfo";
  MoveOutRecord record;
  INTEROP_ASSIGN_OR_RETURN(record.previous_address_code, DivisionMember(tx, *info, kInfo, "hhreg_admdvs"));
  INTEROP_ASSIGN_OR_RETURN(record.moved_out_on, DayMember(tx, *info, kInfo, "mvout_date"));
  INTEROP_ASSIGN_OR_RETURN(record.replayed, ReplayedMember(tx, output));
  return record;
}

absl::StatusOr<SettleInResult> ParseSettleInReply(const Dialect& dialect, const std::string& resident_id,
                                                  const std::string& address_code, absl::string_view body) {
  Transaction tx{dialect.city(), kSettleInTransaction, &dialect};
  INTEROP_ASSIGN_OR_RETURN(json output, OutputOf(tx, body, "the settling-in", &SettlementReplyError));
  SettleInResult result;
  INTEROP_ASSIGN_OR_RETURN(result.registration, HouseholdMember(tx, output, resident_id));
  if (result.registration.address_code() != address_code) {
    return tx.Bad("output.hhreginfo.hhreg_admdvs", "is not the address settled in");
  }
  INTEROP_ASSIGN_OR_RETURN(result.replayed, ReplayedMember(tx, output));
  return result;
}

absl::StatusOr<PensionApplication> ParsePensionApplicationReply(const Dialect& dialect,
                                                                const std::string& resident_id,
                                                                absl::string_view body) {
  Transaction tx{dialect.city(), kPensionApplicationTransaction, &dialect};
  INTEROP_ASSIGN_OR_RETURN(json output,
                           OutputOf(tx, body, "the pension transfer application", &SettlementReplyError));
  INTEROP_ASSIGN_OR_RETURN(const json* info, PersonObject(tx, output, "aplyinfo", resident_id));
  constexpr absl::string_view kInfo = "output.aplyinfo";
  PensionApplication application;
  INTEROP_ASSIGN_OR_RETURN(application.application_number, IdMember(tx, *info, kInfo, "aply_no"));
  INTEROP_ASSIGN_OR_RETURN(application.applied_on, DayMember(tx, *info, kInfo, "aply_date"));
  INTEROP_ASSIGN_OR_RETURN(application.replayed, ReplayedMember(tx, output));
  return application;
}

absl::StatusOr<ContactLetter> ParseContactLetterReply(const Dialect& dialect, const std::string& resident_id,
                                                      const std::string& application_number,
                                                      absl::string_view body) {
  Transaction tx{dialect.city(), kContactLetterTransaction, &dialect};
  INTEROP_ASSIGN_OR_RETURN(json output, OutputOf(tx, body, "the contact letter", &SettlementReplyError));
  INTEROP_ASSIGN_OR_RETURN(const json* info, PersonObject(tx, output, "letrinfo", resident_id));
  constexpr absl::string_view kInfo = "output.letrinfo";
  ContactLetter letter;
  INTEROP_ASSIGN_OR_RETURN(letter.letter_number, IdMember(tx, *info, kInfo, "letr_no"));
  INTEROP_ASSIGN_OR_RETURN(std::string application, StringMember(tx, *info, kInfo, "aply_no"));
  if (application != application_number) return tx.Bad(Path(kInfo, "aply_no"), "is not the application asked about");
  INTEROP_ASSIGN_OR_RETURN(letter.issued_on, DayMember(tx, *info, kInfo, "issu_date"));
  INTEROP_ASSIGN_OR_RETURN(letter.replayed, ReplayedMember(tx, output));
  return letter;
}

absl::StatusOr<PreparedTransferOut> ParsePrepareTransferOutReply(const Dialect& dialect,
                                                                 const std::string& resident_id,
                                                                 absl::string_view body) {
  Transaction tx{dialect.city(), kPrepareTransferOutTransaction, &dialect};
  INTEROP_ASSIGN_OR_RETURN(json output,
                           OutputOf(tx, body, "pension record for this person", &SettlementReplyError));
  PreparedTransferOut prepared;
  INTEROP_ASSIGN_OR_RETURN(prepared.sheet, SheetMember(tx, output, resident_id));
  INTEROP_ASSIGN_OR_RETURN(prepared.replayed, ReplayedMember(tx, output));
  return prepared;
}

absl::StatusOr<TransferOutCompletion> ParseCompleteTransferOutReply(const Dialect& dialect,
                                                                    const std::string& resident_id,
                                                                    absl::string_view body) {
  Transaction tx{dialect.city(), kCompleteTransferOutTransaction, &dialect};
  INTEROP_ASSIGN_OR_RETURN(json output, OutputOf(tx, body, "the transfer out", &SettlementReplyError));
  INTEROP_ASSIGN_OR_RETURN(const json* info, PersonObject(tx, output, "trfoutinfo", resident_id));
  TransferOutCompletion completion;
  INTEROP_ASSIGN_OR_RETURN(completion.ended_on, DayMember(tx, *info, "output.trfoutinfo", "trfout_date"));
  INTEROP_ASSIGN_OR_RETURN(completion.replayed, ReplayedMember(tx, output));
  return completion;
}

absl::StatusOr<TransferInConfirmation> ParseConfirmTransferInReply(const Dialect& dialect,
                                                                   const std::string& resident_id,
                                                                   absl::string_view body) {
  Transaction tx{dialect.city(), kConfirmTransferInTransaction, &dialect};
  INTEROP_ASSIGN_OR_RETURN(json output, OutputOf(tx, body, "the transfer in", &SettlementReplyError));
  INTEROP_ASSIGN_OR_RETURN(const json* info, PersonObject(tx, output, "trfininfo", resident_id));
  constexpr absl::string_view kInfo = "output.trfininfo";
  TransferInConfirmation confirmation;
  INTEROP_ASSIGN_OR_RETURN(confirmation.confirmed_on, DayMember(tx, *info, kInfo, "cfm_date"));
  INTEROP_ASSIGN_OR_RETURN(confirmation.applicant_notified, FlagMember(tx, *info, kInfo, "ntc_flag"));
  INTEROP_ASSIGN_OR_RETURN(confirmation.replayed, ReplayedMember(tx, output));
  return confirmation;
}

}  // namespace interop::adapters::lvliang
