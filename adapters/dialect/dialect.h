// Dialect: one city backend's dialect (interop.config.v1.CityDialect, protos/interop/config/v1/
// city_dialect.proto), validated and compiled for use: its money and date formats, its text
// encoding, which persons it keys by the legacy 15-digit identity number, and its five code tables.
//
// Each city keeps its dialect in adapters/<city>/dialect.textproto. The gateway's adapter for the
// city reads it (through CityBackendConfig.dialect_file) to translate the city's answers; the mock
// city reads the same file to answer in the city's dialect.
//
// Example:
//   absl::StatusOr<std::shared_ptr<const Dialect>> dialect =
//       Dialect::LoadFile("adapters/jinzhong/dialect.textproto");
//   const std::string* national = (*dialect)->table(CodeTableKind::kInsuranceTypes).ToNational("ZG");
//
// Thread-safe: a Dialect is immutable once made; share it as std::shared_ptr<const Dialect>.
#ifndef INTEROP_ADAPTERS_DIALECT_DIALECT_H_
#define INTEROP_ADAPTERS_DIALECT_DIALECT_H_

#include <array>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "adapters/dialect/date_format.h"
#include "interop/common/v1/common.pb.h"
#include "interop/config/v1/city_dialect.pb.h"

namespace interop::adapters {

using ::interop::common::v1::City;

// The five code tables of a dialect.
enum class CodeTableKind {
  kInsuranceTypes,
  kEnrollmentStatuses,
  kContributionKinds,
  kRelations,
  kHouseholdTypes
};

inline constexpr std::array<CodeTableKind, 5> kAllCodeTables = {
    CodeTableKind::kInsuranceTypes, CodeTableKind::kEnrollmentStatuses, CodeTableKind::kContributionKinds,
    CodeTableKind::kRelations, CodeTableKind::kHouseholdTypes};

// The table's field name in CityDialect: "insurance_types", "enrollment_statuses",
// "contribution_kinds", "relations", "household_types".
absl::string_view CodeTableName(CodeTableKind kind);

// The national codes of the table, as the contract documents them (e.g. "310", "340", "390").
absl::Span<const absl::string_view> NationalCodes(CodeTableKind kind);

// One code table: the city's local codes and the national codes they stand for.
class CodeTable {
 public:
  // The national code `local_code` stands for, or nullptr if the table does not list it.
  const std::string* ToNational(absl::string_view local_code) const;
  // The local code for `national_code` (the first listed, if several), or nullptr if none.
  const std::string* ToLocal(absl::string_view national_code) const;
  // Number of local codes.
  size_t size() const { return to_national_.size(); }

 private:
  friend class Dialect;
  absl::flat_hash_map<std::string, std::string> to_national_;
  absl::flat_hash_map<std::string, std::string> to_local_;
};

class Dialect {
 public:
  // Validates `proto` and compiles it. `source` names the file in error messages and in the
  // adapter's translation errors (see DialectDisplayName). INVALID_ARGUMENT starting with
  // "<source>: <field>: ", e.g.
  //   "adapters/jinzhong/dialect.textproto: insurance_types: local code \"ZG\" appears twice"
  //   "adapters/jinzhong/dialect.textproto: relations[3].national_code: \"40\" is not a national code
  //    of relations (02, 10, 20, 30, 50, 99)"
  // for: a city that is not one of the five; an unset money format or text encoding; a date format
  // that is not one of the four; a legacy year that is neither 0 nor 1901-2000; an empty code table;
  // a local code that is empty, not printable ASCII, longer than 32 or listed twice in its table; a
  // national code that is not one of its table's.
  static absl::StatusOr<std::shared_ptr<const Dialect>> FromProto(const config::v1::CityDialect& proto,
                                                                  absl::string_view source);

  // Parses `text` (text format) and calls FromProto. INVALID_ARGUMENT naming `source` and the line of
  // a syntax error or unknown field.
  static absl::StatusOr<std::shared_ptr<const Dialect>> Parse(absl::string_view text,
                                                              absl::string_view source);

  // Reads the file at `path` and calls Parse with DialectDisplayName(path) as the source. NOT_FOUND
  // naming the path if it cannot be read.
  static absl::StatusOr<std::shared_ptr<const Dialect>> LoadFile(const std::string& path);

  // The contract's reference dialect for `city`: integer fen, "YYYYMMDD", UTF-8, 18-character
  // numbers for everyone, and the national codes in every table (source "reference dialect"). A
  // `city` that is not one of the five gets Taiyuan's.
  static std::shared_ptr<const Dialect> Reference(City city);

  City city() const { return proto_.city(); }
  const std::string& source() const { return source_; }
  config::v1::MoneyFormat money_format() const { return proto_.money_format(); }
  const DateFormat& date_format() const { return date_format_; }
  config::v1::TextEncoding text_encoding() const { return proto_.text_encoding(); }
  int legacy_id_born_before_year() const { return proto_.legacy_id_born_before_year(); }
  const CodeTable& table(CodeTableKind kind) const { return tables_[static_cast<size_t>(kind)]; }
  const config::v1::CityDialect& proto() const { return proto_; }

  // True if the backend keys the person with the valid 18-character `resident_id` by the legacy
  // 15-digit number (born before legacy_id_born_before_year).
  bool KeysByLegacyNumber(absl::string_view resident_id) const;

  // The form in which the backend keys the person with the valid 18-character `resident_id`: the
  // legacy 15-digit number if KeysByLegacyNumber, else `resident_id` itself.
  std::string BackendResidentId(absl::string_view resident_id) const;

  // OK if every national code of every table has a local code, so that any record can be written
  // in this dialect (what a mock city needs); else FAILED_PRECONDITION naming the source, the table
  // and the national code.
  absl::Status CheckCoversEveryNationalCode() const;

 private:
  Dialect() = default;

  config::v1::CityDialect proto_;
  std::string source_;
  DateFormat date_format_;
  std::array<CodeTable, kAllCodeTables.size()> tables_;
};

// The legacy 15-digit form of the valid 18-character `resident_id` of a person born 1900-1999: the
// number without the century digits "19" and without the check character. INVALID_ARGUMENT if
// `resident_id` is not 18 characters with 17 leading digits and a birth year 19xx.
absl::StatusOr<std::string> LegacyNumberOf(absl::string_view resident_id);

// How a dialect file is named in messages: its path as the repository knows it
// ("adapters/jinzhong/dialect.textproto") when the (lexically normalised) path ends in
// adapters/<dir>/<file>, else its file name. Translation errors travel to the gateway's callers,
// which need to know which table to fix but not the server's directory layout.
std::string DialectDisplayName(absl::string_view path);

}  // namespace interop::adapters

#endif  // INTEROP_ADAPTERS_DIALECT_DIALECT_H_
