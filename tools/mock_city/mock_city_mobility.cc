// MockCityBackend's household migration and pension transfer calls (mock_city_service.h), in the
// city's dialect, over MockMobilityRecords.
#include <utility>

#include "absl/strings/str_cat.h"
#include "adapters/dialect/money.h"
#include "adapters/dialect/text_encoding.h"
#include "gateway/base/cities.h"
#include "gateway/identity/resident_id.h"
#include "tools/mock_city/mock_city_service.h"

namespace interop::mock_city {
namespace {

namespace backend = ::interop::citybackend::v1;
using adapters::CodeTableKind;

constexpr size_t kMaxRequestKey = 200;

grpc::Status Invalid(absl::string_view field, absl::string_view why) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, absl::StrCat(field, ": ", why));
}

grpc::Status FromRecords(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace

grpc::Status MockCityBackend::MobilityLookup(const std::string& request_key, const std::string& resident_id,
                                             const SyntheticPerson** person) const {
  if (request_key.empty()) return Invalid("request_key", "is required");
  if (request_key.size() > kMaxRequestKey) return Invalid("request_key", "is longer than 200 characters");
  return Lookup(resident_id, person);
}

grpc::Status MockCityBackend::ReadCity(absl::string_view field, const std::string& code, City* city) const {
  *city = CityForPrefectureCode(code);
  if (*city == City::CITY_UNSPECIFIED) {
    return Invalid(field, absl::StrCat("\"", code, "\" is not the division code of one of the five cities"));
  }
  return grpc::Status::OK;
}

grpc::Status MockCityBackend::WriteSheet(const adapters::PensionTransferSheet& sheet,
                                         const std::string& resident_id,
                                         backend::PensionTransferSheet* out) const {
  const config::v1::MoneyFormat money = dialect_->money_format();
  std::string kind;
  grpc::Status status = LocalCode(CodeTableKind::kContributionKinds, "110", &kind);
  if (!status.ok()) return status;
  out->set_resident_id(resident_id);
  for (const adapters::PensionSheetYear& y : sheet.years) {
    backend::PensionSheetYear* year = out->add_years();
    year->set_year(y.year);
    year->set_months(y.months);
    year->set_wage_base_total(adapters::FormatMoney(y.wage_base_total_fen, money));
    year->set_personal_amount(adapters::FormatMoney(y.personal_fen, money));
    year->set_employer_amount(adapters::FormatMoney(y.employer_fen, money));
  }
  for (const social::v1::ContributionEntry& e : sheet.months) {
    backend::MonthlyContribution* month = out->add_months();
    month->set_kind_code(kind);
    month->set_year_month(dialect_->date_format().FormatMonth(absl::CivilMonth(e.year(), e.month())));
    month->set_wage_base(adapters::FormatMoney(e.wage_base().fen(), money));
    month->set_personal_amount(adapters::FormatMoney(e.personal_amount().fen(), money));
    month->set_employer_amount(adapters::FormatMoney(e.employer_amount().fen(), money));
  }
  out->set_personal_account(adapters::FormatMoney(sheet.personal_account_fen, money));
  out->set_pooled_fund(adapters::FormatMoney(sheet.pooled_fund_fen, money));
  return grpc::Status::OK;
}

grpc::Status MockCityBackend::ReadSheet(const backend::PensionTransferSheet& in,
                                        adapters::PensionTransferSheet* out) const {
  grpc::Status status;
  for (int i = 0; i < in.years_size(); ++i) {
    const backend::PensionSheetYear& y = in.years(i);
    const std::string field = absl::StrCat("sheet.years[", i, "].");
    adapters::PensionSheetYear year;
    year.year = y.year();
    year.months = y.months();
    status = ReadMoney(field + "wage_base_total", y.wage_base_total(), &year.wage_base_total_fen);
    if (status.ok()) status = ReadMoney(field + "personal_amount", y.personal_amount(), &year.personal_fen);
    if (status.ok()) status = ReadMoney(field + "employer_amount", y.employer_amount(), &year.employer_fen);
    if (!status.ok()) return status;
    out->years.push_back(year);
  }
  for (int i = 0; i < in.months_size(); ++i) {
    const backend::MonthlyContribution& m = in.months(i);
    const std::string field = absl::StrCat("sheet.months[", i, "].");
    const std::string* national =
        dialect_->table(CodeTableKind::kContributionKinds).ToNational(m.kind_code());
    if (national == nullptr || *national != "110") {
      return Invalid(field + "kind_code", "is not this city's pension code");
    }
    absl::StatusOr<absl::CivilMonth> month = dialect_->date_format().ParseMonth(m.year_month());
    if (!month.ok()) return Invalid(field + "year_month", month.status().message());
    int64_t base = 0, personal = 0, employer = 0;
    status = ReadMoney(field + "wage_base", m.wage_base(), &base);
    if (status.ok()) status = ReadMoney(field + "personal_amount", m.personal_amount(), &personal);
    if (status.ok()) status = ReadMoney(field + "employer_amount", m.employer_amount(), &employer);
    if (!status.ok()) return status;
    ContributionMonth c;
    c.city = city_;
    c.kind_code = "110";
    c.month = *month;
    c.wage_base_fen = base;
    c.personal_fen = personal;
    c.employer_fen = employer;
    out->months.push_back(ToPensionEntry(c));
  }
  status = ReadMoney("sheet.personal_account", in.personal_account(), &out->personal_account_fen);
  if (status.ok()) status = ReadMoney("sheet.pooled_fund", in.pooled_fund(), &out->pooled_fund_fen);
  return status;
}

// --- Household migration.

grpc::ServerUnaryReactor* MockCityBackend::IssueMoveInPermit(grpc::CallbackServerContext* context,
                                                             const backend::IssueMoveInPermitRequest* request,
                                                             backend::IssueMoveInPermitResponse* response) {
  INTEROP_MOCK_CITY_FAULT_CHECK(fault_gate_, context);
  const SyntheticPerson* person = nullptr;
  grpc::Status status = MobilityLookup(request->request_key(), request->resident_id(), &person);
  City origin = City::CITY_UNSPECIFIED;
  if (status.ok()) status = ReadCity("origin_city_code", request->origin_city_code(), &origin);
  if (!status.ok()) return Done(context, status);
  absl::StatusOr<adapters::MoveInPermit> permit =
      mobility_->IssueMoveInPermit(request->request_key(), *person, origin, request->address_code(),
                                   identity::ChinaCivilDay(clock_.Now()));
  if (!permit.ok()) return Done(context, FromRecords(permit.status()));
  response->set_permit_number(permit->permit_number);
  response->set_issued_on(dialect_->date_format().FormatDate(permit->issued_on));
  response->set_valid_until(dialect_->date_format().FormatDate(permit->valid_until));
  response->set_replayed(permit->replayed);
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* MockCityBackend::RecordMoveOut(grpc::CallbackServerContext* context,
                                                         const backend::RecordMoveOutRequest* request,
                                                         backend::RecordMoveOutResponse* response) {
  INTEROP_MOCK_CITY_FAULT_CHECK(fault_gate_, context);
  const SyntheticPerson* person = nullptr;
  grpc::Status status = MobilityLookup(request->request_key(), request->resident_id(), &person);
  City destination = City::CITY_UNSPECIFIED;
  absl::CivilDay valid_until;
  if (status.ok()) status = ReadCity("destination_city_code", request->destination_city_code(), &destination);
  if (status.ok() && request->permit_number().empty()) status = Invalid("permit_number", "is required");
  if (status.ok()) status = ReadDate("permit_valid_until", request->permit_valid_until(), &valid_until);
  if (!status.ok()) return Done(context, status);
  absl::StatusOr<adapters::MoveOutRecord> record =
      mobility_->RecordMoveOut(request->request_key(), *person, destination, request->permit_number(),
                               valid_until, identity::ChinaCivilDay(clock_.Now()));
  if (!record.ok()) return Done(context, FromRecords(record.status()));
  response->set_previous_address_code(record->previous_address_code);
  response->set_moved_out_on(dialect_->date_format().FormatDate(record->moved_out_on));
  response->set_replayed(record->replayed);
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* MockCityBackend::SettleIn(grpc::CallbackServerContext* context,
                                                    const backend::SettleInRequest* request,
                                                    backend::SettleInResponse* response) {
  INTEROP_MOCK_CITY_FAULT_CHECK(fault_gate_, context);
  const SyntheticPerson* person = nullptr;
  grpc::Status status = MobilityLookup(request->request_key(), request->resident_id(), &person);
  if (status.ok() && request->permit_number().empty()) status = Invalid("permit_number", "is required");
  absl::StatusOr<std::string> name = adapters::DecodeText(request->name(), dialect_->text_encoding());
  if (status.ok() && (!name.ok() || name->empty())) {
    status = Invalid("name", "is not a name in this city's text encoding");
  }
  if (!status.ok()) return Done(context, status);
  bool replayed = false;
  absl::StatusOr<HouseholdRegistration> registration =
      mobility_->SettleIn(request->request_key(), *person, request->permit_number(), request->address_code(),
                          *name, identity::ChinaCivilDay(clock_.Now()), &replayed);
  if (!registration.ok()) return Done(context, FromRecords(registration.status()));
  backend::GetHouseholdRegistrationResponse* out = response->mutable_registration();
  std::string relation, type;
  status = LocalCode(CodeTableKind::kRelations, registration->relation_code, &relation);
  if (status.ok())
    status = LocalCode(CodeTableKind::kHouseholdTypes, registration->household_type_code, &type);
  if (!status.ok()) return Done(context, status);
  out->set_resident_id(request->resident_id());
  out->set_name(request->name());
  out->set_address_code(registration->address_code);
  out->set_household_number(registration->household_number);
  out->set_relation_code(relation);
  out->set_household_type_code(type);
  out->set_registered_since(dialect_->date_format().FormatDate(registration->registered_since));
  response->set_replayed(replayed);
  return Done(context, grpc::Status::OK);
}

// --- Pension transfer.

grpc::ServerUnaryReactor* MockCityBackend::ApplyPensionTransfer(
    grpc::CallbackServerContext* context, const backend::ApplyPensionTransferRequest* request,
    backend::ApplyPensionTransferResponse* response) {
  INTEROP_MOCK_CITY_FAULT_CHECK(fault_gate_, context);
  const SyntheticPerson* person = nullptr;
  grpc::Status status = MobilityLookup(request->request_key(), request->resident_id(), &person);
  City origin = City::CITY_UNSPECIFIED;
  if (status.ok()) status = ReadCity("origin_city_code", request->origin_city_code(), &origin);
  if (!status.ok()) return Done(context, status);
  absl::StatusOr<adapters::PensionApplication> application = mobility_->ApplyPensionTransfer(
      request->request_key(), *person, origin, identity::ChinaCivilDay(clock_.Now()));
  if (!application.ok()) return Done(context, FromRecords(application.status()));
  response->set_application_number(application->application_number);
  response->set_applied_on(dialect_->date_format().FormatDate(application->applied_on));
  response->set_replayed(application->replayed);
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* MockCityBackend::IssueContactLetter(
    grpc::CallbackServerContext* context, const backend::IssueContactLetterRequest* request,
    backend::IssueContactLetterResponse* response) {
  INTEROP_MOCK_CITY_FAULT_CHECK(fault_gate_, context);
  const SyntheticPerson* person = nullptr;
  grpc::Status status = MobilityLookup(request->request_key(), request->resident_id(), &person);
  if (status.ok() && request->application_number().empty())
    status = Invalid("application_number", "is required");
  if (!status.ok()) return Done(context, status);
  absl::StatusOr<adapters::ContactLetter> letter = mobility_->IssueContactLetter(
      request->request_key(), *person, request->application_number(), identity::ChinaCivilDay(clock_.Now()));
  if (!letter.ok()) return Done(context, FromRecords(letter.status()));
  response->set_letter_number(letter->letter_number);
  response->set_issued_on(dialect_->date_format().FormatDate(letter->issued_on));
  response->set_replayed(letter->replayed);
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* MockCityBackend::PreparePensionTransferOut(
    grpc::CallbackServerContext* context, const backend::PreparePensionTransferOutRequest* request,
    backend::PreparePensionTransferOutResponse* response) {
  INTEROP_MOCK_CITY_FAULT_CHECK(fault_gate_, context);
  const SyntheticPerson* person = nullptr;
  grpc::Status status = MobilityLookup(request->request_key(), request->resident_id(), &person);
  City destination = City::CITY_UNSPECIFIED;
  if (status.ok()) status = ReadCity("destination_city_code", request->destination_city_code(), &destination);
  if (status.ok() && request->letter_number().empty()) status = Invalid("letter_number", "is required");
  if (!status.ok()) return Done(context, status);
  absl::StatusOr<adapters::PreparedTransferOut> prepared = mobility_->PreparePensionTransferOut(
      request->request_key(), *person, destination, request->letter_number());
  if (!prepared.ok()) return Done(context, FromRecords(prepared.status()));
  status = WriteSheet(prepared->sheet, request->resident_id(), response->mutable_sheet());
  if (!status.ok()) return Done(context, status);
  response->set_replayed(prepared->replayed);
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* MockCityBackend::CompletePensionTransferOut(
    grpc::CallbackServerContext* context, const backend::CompletePensionTransferOutRequest* request,
    backend::CompletePensionTransferOutResponse* response) {
  INTEROP_MOCK_CITY_FAULT_CHECK(fault_gate_, context);
  const SyntheticPerson* person = nullptr;
  grpc::Status status = MobilityLookup(request->request_key(), request->resident_id(), &person);
  City destination = City::CITY_UNSPECIFIED;
  int64_t personal = 0, pooled = 0;
  if (status.ok()) status = ReadCity("destination_city_code", request->destination_city_code(), &destination);
  if (status.ok() && request->letter_number().empty()) status = Invalid("letter_number", "is required");
  if (status.ok()) status = ReadMoney("personal_account", request->personal_account(), &personal);
  if (status.ok()) status = ReadMoney("pooled_fund", request->pooled_fund(), &pooled);
  if (!status.ok()) return Done(context, status);
  absl::StatusOr<adapters::TransferOutCompletion> completion = mobility_->CompletePensionTransferOut(
      request->request_key(), *person, destination, request->letter_number(), personal, pooled,
      identity::ChinaCivilDay(clock_.Now()));
  if (!completion.ok()) return Done(context, FromRecords(completion.status()));
  response->set_ended_on(dialect_->date_format().FormatDate(completion->ended_on));
  response->set_replayed(completion->replayed);
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* MockCityBackend::ConfirmPensionTransferIn(
    grpc::CallbackServerContext* context, const backend::ConfirmPensionTransferInRequest* request,
    backend::ConfirmPensionTransferInResponse* response) {
  INTEROP_MOCK_CITY_FAULT_CHECK(fault_gate_, context);
  const SyntheticPerson* person = nullptr;
  grpc::Status status = MobilityLookup(request->request_key(), request->resident_id(), &person);
  City origin = City::CITY_UNSPECIFIED;
  adapters::PensionTransferSheet sheet;
  if (status.ok()) status = ReadCity("origin_city_code", request->origin_city_code(), &origin);
  if (status.ok() && request->application_number().empty())
    status = Invalid("application_number", "is required");
  if (status.ok()) status = ReadSheet(request->sheet(), &sheet);
  if (!status.ok()) return Done(context, status);
  absl::StatusOr<adapters::TransferInConfirmation> confirmation =
      mobility_->ConfirmPensionTransferIn(request->request_key(), *person, request->application_number(),
                                          origin, sheet, identity::ChinaCivilDay(clock_.Now()));
  if (!confirmation.ok()) return Done(context, FromRecords(confirmation.status()));
  response->set_confirmed_on(dialect_->date_format().FormatDate(confirmation->confirmed_on));
  response->set_applicant_notified(confirmation->applicant_notified);
  response->set_replayed(confirmation->replayed);
  return Done(context, grpc::Status::OK);
}

}  // namespace interop::mock_city
