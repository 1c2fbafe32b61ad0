#include "tools/mock_city/mock_city_service.h"

#include <algorithm>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapters/dialect/money.h"
#include "adapters/dialect/text_encoding.h"
#include "gateway/base/cities.h"
#include "gateway/identity/resident_id.h"

namespace interop::mock_city {
namespace {

namespace backend = ::interop::citybackend::v1;
using adapters::CodeTableKind;

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* context, const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

bool HoldsAny(const SyntheticPerson& person, City city) {
  return (person.has_medical && person.medical.city == city) || person.household.city == city ||
         Population::HasContributionsIn(person, city);
}

}  // namespace

grpc::Status MockCityBackend::Lookup(const std::string& resident_id, const SyntheticPerson** person) const {
  absl::StatusOr<identity::ResidentId> id =
      identity::ParseResidentId(resident_id, identity::ChinaCivilDay(clock_.Now()));
  if (!id.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, absl::StrCat("resident_id: ", id.status().message()));
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
  for (const SyntheticPerson& person : population_.persons()) count += HoldsAny(person, city_) ? 1 : 0;
  return count;
}

grpc::ServerUnaryReactor* MockCityBackend::LocatePerson(grpc::CallbackServerContext* context,
                                                        const backend::LocatePersonRequest* request,
                                                        backend::LocatePersonResponse* response) {
  const SyntheticPerson* person = nullptr;
  grpc::Status status = Lookup(request->resident_id(), &person);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) return Done(context, grpc::Status::OK);
  if (!status.ok()) return Done(context, status);
  response->set_holds_medical_enrollment(person->has_medical && person->medical.city == city_);
  response->set_holds_household_registration(person->household.city == city_);
  response->set_holds_contribution_history(Population::HasContributionsIn(*person, city_));
  response->set_found(HoldsAny(*person, city_));
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* MockCityBackend::GetMedicalEnrollment(grpc::CallbackServerContext* context,
                                                                const backend::GetMedicalEnrollmentRequest* request,
                                                                backend::GetMedicalEnrollmentResponse* response) {
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
  response->set_balance(adapters::FormatMoney(m.balance_fen, dialect_->money_format()));
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* MockCityBackend::GetContributions(grpc::CallbackServerContext* context,
                                                            const backend::GetContributionsRequest* request,
                                                            backend::GetContributionsResponse* response) {
  const SyntheticPerson* person = nullptr;
  grpc::Status status = Lookup(request->resident_id(), &person);
  if (!status.ok()) return Done(context, status);
  if (!Population::HasContributionsIn(*person, city_)) {
    return Done(context, grpc::Status(grpc::StatusCode::NOT_FOUND, "no contributions were paid in this city"));
  }
  response->set_resident_id(dialect_->BackendResidentId(person->resident_id));
  std::vector<std::pair<const ContributionMonth*, std::string>> months;  // with the local kind code
  const std::vector<ContributionMonth> paid =
      population_.Contributions(*person, city_, request->from_year(), request->to_year());
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
  const SyntheticPerson* person = nullptr;
  grpc::Status status = Lookup(request->resident_id(), &person);
  if (!status.ok()) return Done(context, status);
  if (person->household.city != city_) {
    return Done(context, grpc::Status(grpc::StatusCode::NOT_FOUND, "person is not registered in this city"));
  }
  const HouseholdRegistration& h = person->household;
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

}  // namespace interop::mock_city
