#include "adapters/dialect/dialect.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gateway/base/cities.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/repeated_field.h"
#include "google/protobuf/text_format.h"

namespace interop::adapters {
namespace {

using config::v1::CityDialect;
using config::v1::CodeMapping;

constexpr size_t kMaxLocalCodeLength = 32;
constexpr int kFirstLegacyYear = 1901;
constexpr int kLastLegacyYear = 2000;

constexpr absl::string_view kInsuranceTypes[] = {"310", "340", "390"};
constexpr absl::string_view kEnrollmentStatuses[] = {"1", "2", "3"};
constexpr absl::string_view kContributionKinds[] = {"110", "210", "310", "410"};
constexpr absl::string_view kRelations[] = {"02", "10", "20", "30", "50", "99"};
constexpr absl::string_view kHouseholdTypes[] = {"1", "2"};

const google::protobuf::RepeatedPtrField<CodeMapping>& Mappings(const CityDialect& proto,
                                                                CodeTableKind kind) {
  switch (kind) {
    case CodeTableKind::kInsuranceTypes:
      return proto.insurance_types();
    case CodeTableKind::kEnrollmentStatuses:
      return proto.enrollment_statuses();
    case CodeTableKind::kContributionKinds:
      return proto.contribution_kinds();
    case CodeTableKind::kRelations:
      return proto.relations();
    case CodeTableKind::kHouseholdTypes:
      break;
  }
  return proto.household_types();
}

google::protobuf::RepeatedPtrField<CodeMapping>* MutableMappings(CityDialect* proto, CodeTableKind kind) {
  switch (kind) {
    case CodeTableKind::kInsuranceTypes:
      return proto->mutable_insurance_types();
    case CodeTableKind::kEnrollmentStatuses:
      return proto->mutable_enrollment_statuses();
    case CodeTableKind::kContributionKinds:
      return proto->mutable_contribution_kinds();
    case CodeTableKind::kRelations:
      return proto->mutable_relations();
    case CodeTableKind::kHouseholdTypes:
      break;
  }
  return proto->mutable_household_types();
}

bool IsPrintableAsciiWithoutSpaces(absl::string_view text) {
  for (char c : text) {
    if (c <= 0x20 || c >= 0x7F) return false;
  }
  return true;
}

// Collects text-format parse errors with their line and column.
class ErrorCollector final : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override {
    errors_.push_back(absl::StrCat("line ", line + 1, " column ", column + 1, ": ", message));
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override {}
  std::string Joined() const { return absl::StrJoin(errors_, "; "); }

 private:
  std::vector<std::string> errors_;
};

}  // namespace

absl::string_view CodeTableName(CodeTableKind kind) {
  switch (kind) {
    case CodeTableKind::kInsuranceTypes:
      return "insurance_types";
    case CodeTableKind::kEnrollmentStatuses:
      return "enrollment_statuses";
    case CodeTableKind::kContributionKinds:
      return "contribution_kinds";
    case CodeTableKind::kRelations:
      return "relations";
    case CodeTableKind::kHouseholdTypes:
      break;
  }
  return "household_types";
}

absl::Span<const absl::string_view> NationalCodes(CodeTableKind kind) {
  switch (kind) {
    case CodeTableKind::kInsuranceTypes:
      return kInsuranceTypes;
    case CodeTableKind::kEnrollmentStatuses:
      return kEnrollmentStatuses;
    case CodeTableKind::kContributionKinds:
      return kContributionKinds;
    case CodeTableKind::kRelations:
      return kRelations;
    case CodeTableKind::kHouseholdTypes:
      break;
  }
  return kHouseholdTypes;
}

const std::string* CodeTable::ToNational(absl::string_view local_code) const {
  auto it = to_national_.find(local_code);
  return it == to_national_.end() ? nullptr : &it->second;
}

const std::string* CodeTable::ToLocal(absl::string_view national_code) const {
  auto it = to_local_.find(national_code);
  return it == to_local_.end() ? nullptr : &it->second;
}

absl::StatusOr<std::shared_ptr<const Dialect>> Dialect::FromProto(const CityDialect& proto,
                                                                  absl::string_view source) {
  const auto invalid = [source](absl::string_view field, absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", field, ": ", why));
  };
  if (CityDivisionCode(proto.city()).empty()) {
    return invalid("city", "must be one of the five cities (CITY_TAIYUAN ... CITY_LVLIANG)");
  }
  if (proto.money_format() != config::v1::MONEY_FORMAT_FEN_INTEGER &&
      proto.money_format() != config::v1::MONEY_FORMAT_YUAN_DECIMAL) {
    return invalid("money_format", "must be MONEY_FORMAT_FEN_INTEGER or MONEY_FORMAT_YUAN_DECIMAL");
  }
  if (proto.text_encoding() != config::v1::TEXT_ENCODING_UTF_8 &&
      proto.text_encoding() != config::v1::TEXT_ENCODING_GB18030) {
    return invalid("text_encoding", "must be TEXT_ENCODING_UTF_8 or TEXT_ENCODING_GB18030");
  }
  absl::StatusOr<DateFormat> date_format = DateFormat::FromPattern(proto.date_format());
  if (!date_format.ok()) return invalid("date_format", date_format.status().message());
  const int legacy_year = proto.legacy_id_born_before_year();
  if (legacy_year != 0 && (legacy_year < kFirstLegacyYear || legacy_year > kLastLegacyYear)) {
    return invalid("legacy_id_born_before_year",
                   absl::StrCat(legacy_year, " must be 0 (never) or a year from ", kFirstLegacyYear, " to ",
                                kLastLegacyYear));
  }

  std::shared_ptr<Dialect> dialect(new Dialect());
  dialect->proto_ = proto;
  dialect->source_ = std::string(source);
  dialect->date_format_ = *date_format;
  for (CodeTableKind kind : kAllCodeTables) {
    const absl::string_view name = CodeTableName(kind);
    const auto& mappings = Mappings(proto, kind);
    if (mappings.empty()) {
      return invalid(name, "is empty; list every code the backend uses with the national code it stands for");
    }
    const absl::Span<const absl::string_view> national_codes = NationalCodes(kind);
    CodeTable& table = dialect->tables_[static_cast<size_t>(kind)];
    for (int i = 0; i < mappings.size(); ++i) {
      const CodeMapping& mapping = mappings[i];
      const std::string entry = absl::StrCat(name, "[", i, "]");
      if (mapping.local_code().empty()) return invalid(absl::StrCat(entry, ".local_code"), "is empty");
      if (mapping.local_code().size() > kMaxLocalCodeLength ||
          !IsPrintableAsciiWithoutSpaces(mapping.local_code())) {
        return invalid(absl::StrCat(entry, ".local_code"),
                       absl::StrCat("\"", absl::CHexEscape(mapping.local_code()), "\" must be 1 to ",
                                    kMaxLocalCodeLength, " printable ASCII characters without spaces"));
      }
      if (std::find(national_codes.begin(), national_codes.end(), mapping.national_code()) ==
          national_codes.end()) {
        return invalid(
            absl::StrCat(entry, ".national_code"),
            absl::StrCat("\"", absl::CHexEscape(mapping.national_code()), "\" is not a national code of ",
                         name, " (", absl::StrJoin(national_codes, ", "), ")"));
      }
      if (!table.to_national_.emplace(mapping.local_code(), mapping.national_code()).second) {
        return invalid(name, absl::StrCat("local code \"", mapping.local_code(), "\" appears twice"));
      }
      table.to_local_.emplace(mapping.national_code(), mapping.local_code());  // the first one wins
    }
  }
  return std::shared_ptr<const Dialect>(std::move(dialect));
}

absl::StatusOr<std::shared_ptr<const Dialect>> Dialect::Parse(absl::string_view text,
                                                              absl::string_view source) {
  CityDialect proto;
  google::protobuf::TextFormat::Parser parser;
  ErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), &proto)) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": not a valid CityDialect in text format: ", errors.Joined()));
  }
  return FromProto(proto, source);
}

absl::StatusOr<std::shared_ptr<const Dialect>> Dialect::LoadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read dialect file \"", path, "\""));
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str(), DialectDisplayName(path));
}

std::shared_ptr<const Dialect> Dialect::Reference(City city) {
  CityDialect proto;
  proto.set_city(city);
  proto.set_money_format(config::v1::MONEY_FORMAT_FEN_INTEGER);
  proto.set_date_format("YYYYMMDD");
  proto.set_text_encoding(config::v1::TEXT_ENCODING_UTF_8);
  for (CodeTableKind kind : kAllCodeTables) {
    for (absl::string_view code : NationalCodes(kind)) {
      CodeMapping* mapping = MutableMappings(&proto, kind)->Add();
      mapping->set_local_code(std::string(code));
      mapping->set_national_code(std::string(code));
    }
  }
  absl::StatusOr<std::shared_ptr<const Dialect>> dialect = FromProto(proto, "reference dialect");
  // Only an invalid city can fail; fall back to Taiyuan's so that the result is always usable.
  if (!dialect.ok()) return Reference(City::CITY_TAIYUAN);
  return *dialect;
}

bool Dialect::KeysByLegacyNumber(absl::string_view resident_id) const {
  const int before = legacy_id_born_before_year();
  if (before == 0 || resident_id.size() != 18 || resident_id.substr(6, 2) != "19") return false;
  const char tens = resident_id[8];
  const char ones = resident_id[9];
  if (!absl::ascii_isdigit(static_cast<unsigned char>(tens)) ||
      !absl::ascii_isdigit(static_cast<unsigned char>(ones))) {
    return false;
  }
  return 1900 + (tens - '0') * 10 + (ones - '0') < before;
}

std::string Dialect::BackendResidentId(absl::string_view resident_id) const {
  if (!KeysByLegacyNumber(resident_id)) return std::string(resident_id);
  absl::StatusOr<std::string> legacy = LegacyNumberOf(resident_id);
  return legacy.ok() ? *legacy : std::string(resident_id);
}

absl::Status Dialect::CheckCoversEveryNationalCode() const {
  for (CodeTableKind kind : kAllCodeTables) {
    for (absl::string_view national : NationalCodes(kind)) {
      if (table(kind).ToLocal(national) == nullptr) {
        return absl::FailedPreconditionError(absl::StrCat(source_, ": ", CodeTableName(kind),
                                                          ": has no local code for the national code \"",
                                                          national, "\""));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> LegacyNumberOf(absl::string_view resident_id) {
  if (resident_id.size() != 18) {
    return absl::InvalidArgumentError(
        absl::StrCat("must be 18 characters to have a legacy form, got ", resident_id.size()));
  }
  for (size_t i = 0; i < 17; ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(resident_id[i]))) {
      return absl::InvalidArgumentError(absl::StrCat("character ", i + 1, " must be a digit"));
    }
  }
  if (resident_id.substr(6, 2) != "19") {
    return absl::InvalidArgumentError("only persons born 1900-1999 have a legacy 15-digit number");
  }
  return absl::StrCat(resident_id.substr(0, 6), resident_id.substr(8, 9));
}

std::string DialectDisplayName(absl::string_view path) {
  const std::filesystem::path normal = std::filesystem::path(std::string(path)).lexically_normal();
  std::vector<std::string> parts;
  for (const std::filesystem::path& part : normal) parts.push_back(part.string());
  if (parts.size() >= 3 && parts[parts.size() - 3] == "adapters") {
    return absl::StrCat("adapters/", parts[parts.size() - 2], "/", parts.back());
  }
  return normal.filename().string();
}

}  // namespace interop::adapters
