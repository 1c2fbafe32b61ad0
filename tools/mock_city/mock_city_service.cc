#include "tools/mock_city/mock_city_service.h"

#include <algorithm>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "adapters/dialect/money.h"
#include "adapters/dialect/national_values.h"
#include "adapters/dialect/text_encoding.h"
#include "gateway/base/cities.h"
#include "gateway/identity/resident_id.h"

namespace interop::mock_city {
namespace {

namespace backend = ::interop::citybackend::v1;
using adapters::CodeTableKind;

constexpr int kDefaultPageSize = 500;
constexpr int kMaxPageSize = 1000;

grpc::Status Invalid(absl::string_view field, absl::string_view why) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, absl::StrCat(field, ": ", why));
}

// A ledger error as the contract's status; INVALID_ARGUMENT messages (which start with the field)
// get `prefix` in front ("settlement." + "total: ...").
grpc::Status FromLedger(const absl::Status& status, absl::string_view prefix = "") {
  std::string message(status.message());
  if (status.code() == absl::StatusCode::kInvalidArgument) message = absl::StrCat(prefix, message);
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), message);
}

// The national code of a canonical value ("" if none: LocalCode then fails with INTERNAL).
template <typename Enum, size_t N>
std::string NationalCodeOf(const adapters::NationalValue<Enum> (&table)[N], Enum value) {
  for (const adapters::NationalValue<Enum>& entry : table) {
    if (entry.value == value) return std::string(entry.code);
  }
  return "";
}

std::string VisitTypeCode(config::v1::VisitType type) {
  return type == config::v1::VISIT_TYPE_INPATIENT ? "21" : "11";
}

bool ParseVisitType(absl::string_view code, config::v1::VisitType* type) {
  if (code == "11") {
    *type = config::v1::VISIT_TYPE_OUTPATIENT;
  } else if (code == "21") {
    *type = config::v1::VISIT_TYPE_INPATIENT;
  } else {
    return false;
  }
  return true;
}

// The city of a six-digit division code of one of the five cities (the prefecture's own code or
// one of its counties'), or CITY_UNSPECIFIED.
City CityOfDivision(absl::string_view code) {
  if (code.size() != 6 || !std::all_of(code.begin(), code.end(), [](char c) {
        return absl::ascii_isdigit(static_cast<unsigned char>(c));
      })) {
    return City::CITY_UNSPECIFIED;
  }
  return CityForPrefectureCode(absl::StrCat(code.substr(0, 4), "00"));
}

}  // namespace

MockCityBackend::MockCityBackend(std::shared_ptr<const adapters::Dialect> dialect,
                                 const Population& population, const Clock& clock)
    : MockCityBackend(dialect, population, clock,
                      std::make_unique<MockMedicalLedger>(population, dialect->city()), nullptr) {}

MockCityBackend::MockCityBackend(std::shared_ptr<const adapters::Dialect> dialect,
                                 const Population& population, const Clock& clock, MockMedicalLedger& ledger)
    : MockCityBackend(std::move(dialect), population, clock, nullptr, &ledger) {}

MockCityBackend::MockCityBackend(std::shared_ptr<const adapters::Dialect> dialect,
                                 const Population& population, const Clock& clock,
                                 std::unique_ptr<MockMedicalLedger> owned_ledger, MockMedicalLedger* ledger)
    : dialect_(std::move(dialect)),
      city_(dialect_->city()),
      population_(population),
      clock_(clock),
      owned_ledger_(std::move(owned_ledger)),
      ledger_(ledger != nullptr ? *ledger : *owned_ledger_),
      mobility_(std::make_unique<MockMobilityRecords>(population, dialect_->city())) {}

grpc::Status MockCityBackend::Lookup(const std::string& resident_id, const SyntheticPerson** person,
                                     absl::string_view field) const {
  absl::StatusOr<identity::ResidentId> id =
      identity::ParseResidentId(resident_id, identity::ChinaCivilDay(clock_.Now()));
  if (!id.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, absl::StrCat(field, ": ", id.status().message()));
  }
  *person = population_.Find(id->number);
  if (*person == nullptr) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such person in this city");
  // Like a real register, the backend knows each person under one number only.
  if (dialect_->KeysByLegacyNumber((*person)->resident_id) != id->upgraded_from_legacy) {
    *person = nullptr;
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        id->upgraded_from_legacy
                            ? "no such person in this city under a 15-digit number (it registers this person "
                              "by the 18-character number)"
                            : absl::StrCat("no such person in this city under an 18-character number (it "
                                           "registers persons born before ",
                                           dialect_->legacy_id_born_before_year(), " by their 15-digit ",
                                           "number)"));
  }
  return grpc::Status::OK;
}

grpc::Status MockCityBackend::LocalCode(CodeTableKind table, const std::string& national_code,
                                        std::string* local) const {
  const std::string* code = dialect_->table(table).ToLocal(national_code);
  if (code == nullptr) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        absl::StrCat("mock city: ", dialect_->source(), " has no local code for national ",
                                     adapters::CodeTableName(table), " code \"", national_code, "\""));
  }
  *local = *code;
  return grpc::Status::OK;
}

int MockCityBackend::HeldPersonCount() const {
  int count = 0;
  for (const SyntheticPerson& person : population_.persons()) {
    count += (person.has_medical && person.medical.city == city_) || mobility_->HoldsAnyRecordBesidesMedical(person)
                 ? 1
                 : 0;
  }
  return count;
}

grpc::ServerUnaryReactor* MockCityBackend::LocatePerson(grpc::CallbackServerContext* context,
                                                        const backend::LocatePersonRequest* request,
                                                        backend::LocatePersonResponse* response) {
  INTEROP_MOCK_CITY_FAULT_CHECK(fault_gate_, context);
  const SyntheticPerson* person = nullptr;
  grpc::Status status = Lookup(request->resident_id(), &person);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) return Done(context, grpc::Status::OK);
  if (!status.ok()) return Done(context, status);
  response->set_holds_medical_enrollment(person->has_medical && person->medical.city == city_);
  // Registration and contributions as migrations and transfers have left them.
  response->set_holds_household_registration(mobility_->Registration(*person).has_value());
  response->set_holds_contribution_history(mobility_->HasContributions(*person));
  response->set_found(response->holds_medical_enrollment() || response->holds_household_registration() ||
                      response->holds_contribution_history());
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* MockCityBackend::GetMedicalEnrollment(grpc::CallbackServerContext* context,
                                                                const backend::GetMedicalEnrollmentRequest* request,
                                                                backend::GetMedicalEnrollmentResponse* response) {
  INTEROP_MOCK_CITY_FAULT_CHECK(fault_gate_, context);
  const SyntheticPerson* person = nullptr;
  grpc::Status status = Lookup(request->resident_id(), &person);
  if (!status.ok()) return Done(context, status);
  if (!person->has_medical || person->medical.city != city_) {
    return Done(context, grpc::Status(grpc::StatusCode::NOT_FOUND, "person is not insured in this city"));
  }
  const MedicalEnrollment& m = person->medical;
  absl::StatusOr<std::string> name = adapters::EncodeText(person->name, dialect_->text_encoding());
  if (!name.ok()) {
    return Done(context, grpc::Status(grpc::StatusCode::INTERNAL, std::string(name.status().message())));
  }
  std::string type, enrollment_status;
  status = LocalCode(CodeTableKind::kInsuranceTypes, m.insurance_type_code, &type);
  if (status.ok()) status = LocalCode(CodeTableKind::kEnrollmentStatuses, m.status_code, &enrollment_status);
  if (!status.ok()) return Done(context, status);
  response->set_resident_id(dialect_->BackendResidentId(person->resident_id));
  response->set_name(*std::move(name));
  response->set_insured_region_code(m.insured_region_code);
  response->set_insurance_type_code(type);
  response->set_status_code(enrollment_status);
  response->set_enrollment_date(dialect_->date_format().FormatDate(m.enrollment_date));
  // The balance as settlements have left it, not as the population began.
  response->set_balance(
      adapters::FormatMoney(ledger_.BalanceOr(person->resident_id, m.balance_fen), dialect_->money_format()));
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* MockCityBackend::GetContributions(grpc::CallbackServerContext* context,
                                                            const backend::GetContributionsRequest* request,
                                                            backend::GetContributionsResponse* response) {
  INTEROP_MOCK_CITY_FAULT_CHECK(fault_gate_, context);
  const SyntheticPerson* person = nullptr;
  grpc::Status status = Lookup(request->resident_id(), &person);
  if (!status.ok()) return Done(context, status);
  if (!mobility_->HasContributions(*person)) {
    return Done(context, grpc::Status(grpc::StatusCode::NOT_FOUND, "no contributions were paid in this city"));
  }
  response->set_resident_id(dialect_->BackendResidentId(person->resident_id));
  std::vector<std::pair<const ContributionMonth*, std::string>> months;  // with the local kind code
  const std::vector<ContributionMonth> paid =
      mobility_->Contributions(*person, request->from_year(), request->to_year());
  months.reserve(paid.size());
  for (const ContributionMonth& month : paid) {
    std::string kind;
    status = LocalCode(CodeTableKind::kContributionKinds, month.kind_code, &kind);
    if (!status.ok()) return Done(context, status);
    months.emplace_back(&month, std::move(kind));
  }
  // The contract's order: by month, then by the city's own kind code.
  std::stable_sort(months.begin(), months.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first->month, a.second) < std::tie(b.first->month, b.second);
  });
  const adapters::DateFormat& dates = dialect_->date_format();
  const config::v1::MoneyFormat money = dialect_->money_format();
  for (const auto& [month, kind] : months) {
    backend::MonthlyContribution* out = response->add_months();
    out->set_kind_code(kind);
    out->set_year_month(dates.FormatMonth(month->month));
    out->set_wage_base(adapters::FormatMoney(month->wage_base_fen, money));
    out->set_personal_amount(adapters::FormatMoney(month->personal_fen, money));
    out->set_employer_amount(adapters::FormatMoney(month->employer_fen, money));
  }
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* MockCityBackend::GetHouseholdRegistration(
    grpc::CallbackServerContext* context, const backend::GetHouseholdRegistrationRequest* request,
    backend::GetHouseholdRegistrationResponse* response) {
  INTEROP_MOCK_CITY_FAULT_CHECK(fault_gate_, context);
  const SyntheticPerson* person = nullptr;
  grpc::Status status = Lookup(request->resident_id(), &person);
  if (!status.ok()) return Done(context, status);
  const std::optional<HouseholdRegistration> registration = mobility_->Registration(*person);
  if (!registration.has_value()) {
    return Done(context, grpc::Status(grpc::StatusCode::NOT_FOUND, "person is not registered in this city"));
  }
  const HouseholdRegistration& h = *registration;
  absl::StatusOr<std::string> name = adapters::EncodeText(person->name, dialect_->text_encoding());
  if (!name.ok()) {
    return Done(context, grpc::Status(grpc::StatusCode::INTERNAL, std::string(name.status().message())));
  }
  std::string relation, type;
  status = LocalCode(CodeTableKind::kRelations, h.relation_code, &relation);
  if (status.ok()) status = LocalCode(CodeTableKind::kHouseholdTypes, h.household_type_code, &type);
  if (!status.ok()) return Done(context, status);
  response->set_resident_id(dialect_->BackendResidentId(person->resident_id));
  response->set_name(*std::move(name));
  response->set_address_code(h.address_code);
  response->set_household_number(h.household_number);
  response->set_relation_code(relation);
  response->set_household_type_code(type);
  response->set_registered_since(dialect_->date_format().FormatDate(h.registered_since));
  return Done(context, grpc::Status::OK);
}

// --- Cross-city medical settlement.

grpc::Status MockCityBackend::ReadDate(absl::string_view field, const std::string& text,
                                       absl::CivilDay* day) const {
  absl::StatusOr<absl::CivilDay> parsed = dialect_->date_format().ParseDate(text);
  if (!parsed.ok()) return Invalid(field, parsed.status().message());
  *day = *parsed;
  return grpc::Status::OK;
}

grpc::Status MockCityBackend::ReadMoney(absl::string_view field, const std::string& text,
                                        int64_t* fen) const {
  absl::StatusOr<int64_t> parsed = adapters::ParseMoney(text, dialect_->money_format());
  if (!parsed.ok()) return Invalid(field, parsed.status().message());
  *fen = *parsed;
  return grpc::Status::OK;
}

grpc::Status MockCityBackend::WriteAccount(const adapters::MedicalAccount& account,
                                           backend::MedicalAccount* out) const {
  // The ledger speaks canonical values; the dialect's tables are keyed by national codes.
  std::string type, status;
  grpc::Status ok =
      LocalCode(CodeTableKind::kInsuranceTypes,
                NationalCodeOf(adapters::kNationalInsuranceTypes, account.insurance_type), &type);
  if (ok.ok()) {
    ok = LocalCode(CodeTableKind::kEnrollmentStatuses,
                   NationalCodeOf(adapters::kNationalEnrollmentStatuses, account.status), &status);
  }
  if (!ok.ok()) return ok;
  const config::v1::MoneyFormat money = dialect_->money_format();
  out->set_resident_id(dialect_->BackendResidentId(account.resident_id));
  out->set_insurance_type_code(type);
  out->set_status_code(status);
  out->set_balance(adapters::FormatMoney(account.balance_fen, money));
  out->set_year(account.year);
  out->set_deductible_used_outpatient(adapters::FormatMoney(account.deductible_used_outpatient_fen, money));
  out->set_deductible_used_inpatient(adapters::FormatMoney(account.deductible_used_inpatient_fen, money));
  out->set_fund_paid(adapters::FormatMoney(account.fund_paid_fen, money));
  out->set_version(account.version);
  return grpc::Status::OK;
}

void MockCityBackend::WriteSettlement(const adapters::SettlementRecord& record,
                                      backend::SettlementRecord* out) const {
  const config::v1::MoneyFormat money = dialect_->money_format();
  const adapters::DateFormat& dates = dialect_->date_format();
  out->set_settlement_id(record.settlement_id);
  out->set_resident_id(dialect_->BackendResidentId(record.resident_id));
  out->set_year(record.year);
  out->set_visit_type_code(VisitTypeCode(record.visit_type));
  out->set_institution_code(record.institution_code);
  out->set_treatment_city_code(std::string(CityDivisionCode(record.treatment_city)));
  out->set_settle_date(dates.FormatDate(record.settle_date));
  out->set_total(adapters::FormatMoney(record.total_fen, money));
  out->set_deductible_applied(adapters::FormatMoney(record.deductible_applied_fen, money));
  out->set_fund_pay(adapters::FormatMoney(record.fund_pay_fen, money));
  out->set_account_pay(adapters::FormatMoney(record.account_pay_fen, money));
  out->set_cash_pay(adapters::FormatMoney(record.cash_pay_fen, money));
  out->set_reversed(record.reversed);
  if (record.reversed) out->set_reversed_date(dates.FormatDate(record.reversed_date));
}

void MockCityBackend::WriteFiling(const adapters::FilingRecord& filing, backend::FilingRecord* out) const {
  const adapters::DateFormat& dates = dialect_->date_format();
  out->set_filing_id(filing.filing_id);
  out->set_resident_id(dialect_->BackendResidentId(filing.resident_id));
  out->set_treatment_city_code(std::string(CityDivisionCode(filing.treatment_city)));
  out->set_valid_from(dates.FormatDate(filing.valid_from));
  out->set_valid_to(dates.FormatDate(filing.valid_to));
  out->set_reason_code(absl::StrCat(static_cast<int>(filing.reason)));
  out->set_revoked(filing.revoked);
}

grpc::Status MockCityBackend::ReadSettlement(const backend::SettlementRecord& in, absl::string_view prefix,
                                             adapters::SettlementRecord* out) const {
  const auto field = [prefix](absl::string_view name) { return absl::StrCat(prefix, name); };
  out->settlement_id = in.settlement_id();
  if (out->settlement_id.empty()) return Invalid(field("settlement_id"), "is required");
  const SyntheticPerson* person = nullptr;
  grpc::Status status = Lookup(in.resident_id(), &person, field("resident_id"));
  if (!status.ok()) return status;
  out->resident_id = person->resident_id;
  out->year = in.year();
  if (!ParseVisitType(in.visit_type_code(), &out->visit_type)) {
    return Invalid(field("visit_type_code"), absl::StrCat("\"", absl::CHexEscape(in.visit_type_code()),
                                                          "\" is not a national visit type (11 outpatient, "
                                                          "21 inpatient)"));
  }
  out->institution_code = in.institution_code();
  if (out->institution_code.empty()) return Invalid(field("institution_code"), "is required");
  out->treatment_city = CityOfDivision(in.treatment_city_code());
  if (out->treatment_city == City::CITY_UNSPECIFIED) {
    return Invalid(field("treatment_city_code"),
                   absl::StrCat("\"", absl::CHexEscape(in.treatment_city_code()),
                                "\" is not a six-digit division code of one of the five cities"));
  }
  status = ReadDate(field("settle_date"), in.settle_date(), &out->settle_date);
  if (status.ok()) status = ReadMoney(field("total"), in.total(), &out->total_fen);
  if (status.ok())
    status = ReadMoney(field("deductible_applied"), in.deductible_applied(), &out->deductible_applied_fen);
  if (status.ok()) status = ReadMoney(field("fund_pay"), in.fund_pay(), &out->fund_pay_fen);
  if (status.ok()) status = ReadMoney(field("account_pay"), in.account_pay(), &out->account_pay_fen);
  if (status.ok()) status = ReadMoney(field("cash_pay"), in.cash_pay(), &out->cash_pay_fen);
  if (!status.ok()) return status;
  if (in.reversed()) return Invalid(field("reversed"), "must be unset");
  if (!in.reversed_date().empty()) return Invalid(field("reversed_date"), "must be unset");
  return grpc::Status::OK;
}

grpc::Status MockCityBackend::ReadFiling(const backend::FilingRecord& in, absl::string_view prefix,
                                         adapters::FilingRecord* out) const {
  const auto field = [prefix](absl::string_view name) { return absl::StrCat(prefix, name); };
  if (!in.filing_id().empty()) return Invalid(field("filing_id"), "must be unset in a new filing");
  if (in.revoked()) return Invalid(field("revoked"), "must be unset in a new filing");
  const SyntheticPerson* person = nullptr;
  grpc::Status status = Lookup(in.resident_id(), &person, field("resident_id"));
  if (!status.ok()) return status;
  out->resident_id = person->resident_id;
  out->treatment_city = CityOfDivision(in.treatment_city_code());
  if (out->treatment_city == City::CITY_UNSPECIFIED) {
    return Invalid(field("treatment_city_code"),
                   absl::StrCat("\"", absl::CHexEscape(in.treatment_city_code()),
                                "\" is not a six-digit division code of one of the five cities"));
  }
  status = ReadDate(field("valid_from"), in.valid_from(), &out->valid_from);
  if (status.ok()) status = ReadDate(field("valid_to"), in.valid_to(), &out->valid_to);
  if (!status.ok()) return status;
  const std::string& reason = in.reason_code();
  if (reason.size() != 1 || reason[0] < '1' || reason[0] > '5') {
    return Invalid(field("reason_code"), absl::StrCat("\"", absl::CHexEscape(reason),
                                                      "\" is not a national filing reason (1 to 5)"));
  }
  out->reason = static_cast<medical::v1::FilingReason>(reason[0] - '0');
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* MockCityBackend::GetMedicalAccount(grpc::CallbackServerContext* context,
                                                             const backend::GetMedicalAccountRequest* request,
                                                             backend::GetMedicalAccountResponse* response) {
  INTEROP_MOCK_CITY_FAULT_CHECK(fault_gate_, context);
  const SyntheticPerson* person = nullptr;
  grpc::Status status = Lookup(request->resident_id(), &person);
  if (!status.ok()) return Done(context, status);
  absl::StatusOr<adapters::MedicalAccount> account = ledger_.GetAccount(person->resident_id, request->year());
  if (!account.ok()) return Done(context, FromLedger(account.status()));
  return Done(context, WriteAccount(*account, response->mutable_account()));
}

grpc::ServerUnaryReactor* MockCityBackend::CommitSettlement(grpc::CallbackServerContext* context,
                                                            const backend::CommitSettlementRequest* request,
                                                            backend::CommitSettlementResponse* response) {
  INTEROP_MOCK_CITY_FAULT_CHECK(fault_gate_, context);
  if (!request->has_settlement()) return Done(context, Invalid("settlement", "is required"));
  adapters::SettlementRecord settlement;
  grpc::Status status = ReadSettlement(request->settlement(), "settlement.", &settlement);
  if (!status.ok()) return Done(context, status);
  absl::StatusOr<adapters::CommitResult> result = ledger_.Commit(settlement, request->expected_version());
  if (!result.ok()) return Done(context, FromLedger(result.status(), "settlement."));
  status = WriteAccount(result->account, response->mutable_account());
  WriteSettlement(result->settlement, response->mutable_settlement());
  response->set_replayed(result->replayed);
  return Done(context, status);
}

grpc::ServerUnaryReactor* MockCityBackend::ReverseSettlement(grpc::CallbackServerContext* context,
                                                             const backend::ReverseSettlementRequest* request,
                                                             backend::ReverseSettlementResponse* response) {
  INTEROP_MOCK_CITY_FAULT_CHECK(fault_gate_, context);
  if (request->settlement_id().empty()) return Done(context, Invalid("settlement_id", "is required"));
  const SyntheticPerson* person = nullptr;
  grpc::Status status = Lookup(request->resident_id(), &person);
  if (!status.ok()) return Done(context, status);
  absl::CivilDay reversed_date;
  status = ReadDate("reversed_date", request->reversed_date(), &reversed_date);
  if (!status.ok()) return Done(context, status);
  absl::StatusOr<adapters::CommitResult> result =
      ledger_.Reverse(request->settlement_id(), person->resident_id, reversed_date);
  if (!result.ok()) return Done(context, FromLedger(result.status()));
  status = WriteAccount(result->account, response->mutable_account());
  WriteSettlement(result->settlement, response->mutable_settlement());
  response->set_replayed(result->replayed);
  return Done(context, status);
}

grpc::ServerUnaryReactor* MockCityBackend::GetSettlementRecord(
    grpc::CallbackServerContext* context, const backend::GetSettlementRecordRequest* request,
    backend::GetSettlementRecordResponse* response) {
  INTEROP_MOCK_CITY_FAULT_CHECK(fault_gate_, context);
  if (request->settlement_id().empty()) return Done(context, Invalid("settlement_id", "is required"));
  absl::StatusOr<adapters::SettlementRecord> record = ledger_.GetSettlement(request->settlement_id());
  if (!record.ok()) return Done(context, FromLedger(record.status()));
  WriteSettlement(*record, response->mutable_settlement());
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* MockCityBackend::ListSettlementRecords(
    grpc::CallbackServerContext* context, const backend::ListSettlementRecordsRequest* request,
    backend::ListSettlementRecordsResponse* response) {
  INTEROP_MOCK_CITY_FAULT_CHECK(fault_gate_, context);
  absl::CivilDay from, to;
  grpc::Status status = ReadDate("from_date", request->from_date(), &from);
  if (status.ok()) status = ReadDate("to_date", request->to_date(), &to);
  if (!status.ok()) return Done(context, status);
  if (to < from) return Done(context, Invalid("to_date", "is before from_date"));
  if (request->page_size() < 0) return Done(context, Invalid("page_size", "must not be negative"));
  const int page_size =
      request->page_size() == 0 ? kDefaultPageSize : std::min(request->page_size(), kMaxPageSize);
  std::string after;
  if (!request->page_token().empty() &&
      (!absl::WebSafeBase64Unescape(request->page_token(), &after) || after.empty())) {
    return Done(context, Invalid("page_token", "is not a token this city gave"));
  }
  MockMedicalLedger::SettlementPage page =
      ledger_.ListSettlements(from, to, after, static_cast<size_t>(page_size));
  for (const adapters::SettlementRecord& record : page.records)
    WriteSettlement(record, response->add_settlements());
  if (page.more && !page.records.empty()) {
    response->set_next_page_token(absl::WebSafeBase64Escape(page.records.back().settlement_id));
  }
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* MockCityBackend::FileTreatment(grpc::CallbackServerContext* context,
                                                         const backend::FileTreatmentRequest* request,
                                                         backend::FileTreatmentResponse* response) {
  INTEROP_MOCK_CITY_FAULT_CHECK(fault_gate_, context);
  if (!request->has_filing()) return Done(context, Invalid("filing", "is required"));
  adapters::FilingRecord filing;
  grpc::Status status = ReadFiling(request->filing(), "filing.", &filing);
  if (!status.ok()) return Done(context, status);
  absl::StatusOr<adapters::FilingRecord> filed = ledger_.FileTreatment(filing);
  if (!filed.ok()) return Done(context, FromLedger(filed.status(), "filing."));
  WriteFiling(*filed, response->mutable_filing());
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* MockCityBackend::RevokeFiling(grpc::CallbackServerContext* context,
                                                        const backend::RevokeFilingRequest* request,
                                                        backend::RevokeFilingResponse* response) {
  INTEROP_MOCK_CITY_FAULT_CHECK(fault_gate_, context);
  const SyntheticPerson* person = nullptr;
  grpc::Status status = Lookup(request->resident_id(), &person);
  if (!status.ok()) return Done(context, status);
  if (request->filing_id().empty()) return Done(context, Invalid("filing_id", "is required"));
  absl::StatusOr<adapters::FilingRecord> revoked =
      ledger_.RevokeFiling(person->resident_id, request->filing_id());
  if (!revoked.ok()) return Done(context, FromLedger(revoked.status()));
  WriteFiling(*revoked, response->mutable_filing());
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* MockCityBackend::ListFilings(grpc::CallbackServerContext* context,
                                                       const backend::ListFilingsRequest* request,
                                                       backend::ListFilingsResponse* response) {
  INTEROP_MOCK_CITY_FAULT_CHECK(fault_gate_, context);
  const SyntheticPerson* person = nullptr;
  grpc::Status status = Lookup(request->resident_id(), &person);
  if (!status.ok()) return Done(context, status);
  absl::StatusOr<std::vector<adapters::FilingRecord>> filings = ledger_.ListFilings(person->resident_id);
  if (!filings.ok()) return Done(context, FromLedger(filings.status()));
  for (const adapters::FilingRecord& filing : *filings) WriteFiling(filing, response->add_filings());
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* MockCityBackend::SignCertificate(grpc::CallbackServerContext* context,
                                                           const backend::SignCertificateRequest* request,
                                                           backend::SignCertificateResponse* response) {
  INTEROP_MOCK_CITY_FAULT_CHECK(fault_gate_, context);
  if (signer_ == nullptr) {
    return Done(context, grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                      absl::StrCat("city ", CityName(city_), " has no certificate signing key")));
  }
  absl::StatusOr<adapters::CertificateSignature> signature = signer_->Sign(request->payload());
  if (!signature.ok()) {
    return Done(context, grpc::Status(static_cast<grpc::StatusCode>(signature.status().code()),
                                      std::string(signature.status().message())));
  }
  response->set_signature(signature->signature);
  response->set_key_id(signature->key_id);
  response->set_algorithm(signature->algorithm);
  return Done(context, grpc::Status::OK);
}

}  // namespace interop::mock_city
