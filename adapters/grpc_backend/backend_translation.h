// DialectTranslator: the city backend contract (interop.citybackend.v1) in one city's dialect, to
// and from canonical types.
//
// A city's backend writes money, dates, names, identity numbers and codes its own way, as its
// Dialect (adapters/dialect/dialect.h, loaded from adapters/<city>/dialect.textproto) describes. The
// translator turns the identity number the gateway asks about into the form the backend keys the
// person by, and each answer into the canonical API. Anything it cannot translate is INTERNAL naming
// the city, the field and why, for example
//   city jinzhong answered an untranslatable insurance_type_code: code "XX" is not in its
//   insurance_types table (adapters/jinzhong/dialect.textproto)
// The gateway never guesses, rounds or substitutes a default. These messages travel to the
// gateway's callers: they quote a malformed code, amount or date, but never a name or an identity
// number from the answer (which may be another person's).
//
// Example:
//   DialectTranslator translator(dialect);
//   request.set_resident_id(translator.BackendResidentId(resident_id));
//   ... call ...
//   absl::StatusOr<medical::v1::GetInsuranceStatusResponse> status =
//       translator.TranslateMedicalEnrollment(resident_id, reply);
//
// Thread-safe: immutable after construction.
#ifndef INTEROP_ADAPTERS_GRPC_BACKEND_BACKEND_TRANSLATION_H_
#define INTEROP_ADAPTERS_GRPC_BACKEND_BACKEND_TRANSLATION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "adapters/city_adapter.h"
#include "adapters/dialect/dialect.h"
#include "interop/citybackend/v1/city_backend.pb.h"
#include "interop/common/v1/common.pb.h"
#include "interop/household/v1/household.pb.h"
#include "interop/medical/v1/medical.pb.h"
#include "interop/social/v1/social.pb.h"

namespace interop::adapters {

class DialectTranslator {
 public:
  // `dialect` must not be null.
  explicit DialectTranslator(std::shared_ptr<const Dialect> dialect);

  City city() const { return dialect_->city(); }
  const Dialect& dialect() const { return *dialect_; }

  // The identity number to send the backend for the person with the valid, normalised 18-character
  // `resident_id`: the legacy 15-digit number if the backend keys the person by it, else
  // `resident_id`.
  std::string BackendResidentId(const std::string& resident_id) const;

  // The translations of whole answers. `asked_resident_id` is the 18-character number the gateway
  // asked about; an answer about anyone else is an error. Every field is checked: codes against the
  // city's tables, amounts, dates and months against the city's formats (amounts never negative),
  // names decoded from the city's encoding (never empty), region and address codes six digits, the
  // household number nine digits. Contributions come back in canonical order (year, month, kind).
  absl::StatusOr<medical::v1::GetInsuranceStatusResponse> TranslateMedicalEnrollment(
      const std::string& asked_resident_id, const citybackend::v1::GetMedicalEnrollmentResponse& reply) const;
  absl::StatusOr<std::vector<social::v1::ContributionEntry>> TranslateContributions(
      const std::string& asked_resident_id, const citybackend::v1::GetContributionsResponse& reply) const;
  absl::StatusOr<household::v1::GetHouseholdRecordResponse> TranslateHouseholdRegistration(
      const std::string& asked_resident_id,
      const citybackend::v1::GetHouseholdRegistrationResponse& reply) const;

  // --- Cross-city medical settlement (the contract's national codes: visit types "11"/"21",
  // filing reasons "1"-"5", six-digit division codes of the five cities).

  // Requests, canonical -> the city's dialect: identity numbers in the form the backend keys the
  // person by, amounts in its money format, dates in its date format. INVALID_ARGUMENT naming the
  // canonical field for a value the contract cannot carry: an unset visit type, treatment city or
  // filing reason, an amount outside 0..kMaxMoneyFen, a date outside the years 1900-9999.
  absl::StatusOr<citybackend::v1::SettlementRecord> BackendSettlement(
      const SettlementRecord& settlement) const;
  absl::StatusOr<citybackend::v1::FilingRecord> BackendFiling(const FilingRecord& filing) const;
  // `day` in the city's date format; INVALID_ARGUMENT naming `field` outside the years 1900-9999.
  absl::StatusOr<std::string> BackendDate(absl::string_view field, absl::CivilDay day) const;

  // Answers, the city's dialect -> canonical. `field` prefixes the field names in errors
  // ("account" gives "account.balance"). Codes are checked against the city's tables, amounts
  // against its money format, dates against its date format.
  //
  // The account of `asked_resident_id` for `asked_year` (its year must be that).
  absl::StatusOr<MedicalAccount> TranslateMedicalAccount(
      absl::string_view field, const std::string& asked_resident_id, int asked_year,
      const citybackend::v1::MedicalAccount& account) const;
  // A settlement record: settlement_id not empty, a visit type and a treatment city code of the
  // contract, reversed_date set exactly when reversed. `asked_resident_id` empty admits any valid
  // identity number (a record listed, not asked about by person).
  absl::StatusOr<SettlementRecord> TranslateSettlementRecord(
      absl::string_view field, const std::string& asked_resident_id,
      const citybackend::v1::SettlementRecord& record) const;
  // A filing of `asked_resident_id`: filing_id not empty, a treatment city code and a filing
  // reason of the contract.
  absl::StatusOr<FilingRecord> TranslateFilingRecord(absl::string_view field,
                                                     const std::string& asked_resident_id,
                                                     const citybackend::v1::FilingRecord& filing) const;
  // The answer of a commit or a reversal of settlement `asked_settlement_id` of
  // `asked_resident_id`: the settlement must be that one, the account that person's for the
  // settlement's year.
  absl::StatusOr<CommitResult> TranslateCommitResult(const std::string& asked_settlement_id,
                                                     const std::string& asked_resident_id,
                                                     const citybackend::v1::MedicalAccount& account,
                                                     const citybackend::v1::SettlementRecord& settlement,
                                                     bool replayed) const;

  // The pieces the translations are made of, each INTERNAL naming the city and `field` on failure.

  // An amount in the city's money format, in fen.
  absl::StatusOr<int64_t> TranslateMoney(absl::string_view field, absl::string_view text) const;
  // A date in the city's date format.
  absl::StatusOr<common::v1::Date> TranslateDate(absl::string_view field, absl::string_view text) const;
  // A month in the month form of the city's date format.
  absl::StatusOr<absl::CivilMonth> TranslateMonth(absl::string_view field, absl::string_view text) const;
  // A name in the city's text encoding, as UTF-8; an empty name is an error.
  absl::StatusOr<std::string> TranslateName(absl::string_view field, absl::string_view bytes) const;
  // The national code of the city's local `code` in `table`.
  absl::StatusOr<std::string> TranslateCode(absl::string_view field, CodeTableKind table,
                                            absl::string_view code) const;
  // The 18-character number of the identity number `text` the backend answered with (18 characters,
  // or 15 digits if the city keys anyone by legacy numbers), which must be `asked_resident_id`.
  absl::StatusOr<std::string> TranslateResidentId(absl::string_view field, absl::string_view text,
                                                  const std::string& asked_resident_id) const;
  // The 18-character number of an identity number `text` the backend answered without being asked
  // about a person: a valid 18-character number (check character included), or a legacy 15-digit
  // number if the city keys anyone by legacy numbers.
  absl::StatusOr<std::string> TranslateAnyResidentId(absl::string_view field, absl::string_view text) const;
  // A date in the city's date format, as a civil day.
  absl::StatusOr<absl::CivilDay> TranslateDay(absl::string_view field, absl::string_view text) const;

  // --- Household migration and pension transfer.

  // The six-digit division code of `city` for the contract; INVALID_ARGUMENT naming `field` for a
  // city that is not one of the five.
  absl::StatusOr<std::string> BackendCityCode(absl::string_view field, City city) const;
  // A UTF-8 name in the city's text encoding; INVALID_ARGUMENT naming `field` if it cannot be written.
  absl::StatusOr<std::string> BackendName(absl::string_view field, const std::string& utf8) const;
  // A sheet in the city's dialect (its pension code, months, money): for ConfirmPensionTransferIn at
  // the destination. INVALID_ARGUMENT naming the field for an amount the contract cannot carry.
  absl::StatusOr<citybackend::v1::PensionTransferSheet> BackendPensionSheet(
      const std::string& resident_id, const PensionTransferSheet& sheet) const;
  // The origin's sheet, canonical: every month a pension month of the city's table, amounts and
  // months in its formats, the person the one asked about. (Whether it checks out is the caller's
  // business: gateway/transfers/pension_funds.h.)
  absl::StatusOr<PensionTransferSheet> TranslatePensionSheet(absl::string_view field,
                                                             const std::string& asked_resident_id,
                                                             const citybackend::v1::PensionTransferSheet& sheet) const;

 private:
  absl::Status Untranslatable(absl::string_view field, absl::string_view why) const;

  std::shared_ptr<const Dialect> dialect_;
};

}  // namespace interop::adapters

#endif  // INTEROP_ADAPTERS_GRPC_BACKEND_BACKEND_TRANSLATION_H_
