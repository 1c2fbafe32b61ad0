#include "tools/mock_city/mock_city_service.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gateway/base/cities.h"
#include "gateway/identity/resident_id.h"

namespace interop::mock_city {
namespace {

namespace backend = ::interop::citybackend::v1;

std::string CompactDate(const absl::CivilDay& day) {
  return absl::StrFormat("%04d%02d%02d", day.year(), day.month(), day.day());
}

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
  response->set_resident_id(person->resident_id);
  response->set_name(person->name);
  response->set_insured_region_code(m.insured_region_code);
  response->set_insurance_type_code(m.insurance_type_code);
  response->set_status_code(m.status_code);
  response->set_enrollment_date(CompactDate(m.enrollment_date));
  response->set_balance_fen(m.balance_fen);
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
  response->set_resident_id(person->resident_id);
  for (const ContributionMonth& month :
       population_.Contributions(*person, city_, request->from_year(), request->to_year())) {
    backend::MonthlyContribution* out = response->add_months();
    out->set_kind_code(month.kind_code);
    out->set_year_month(absl::StrFormat("%04d%02d", month.month.year(), month.month.month()));
    out->set_wage_base_fen(month.wage_base_fen);
    out->set_personal_fen(month.personal_fen);
    out->set_employer_fen(month.employer_fen);
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
  response->set_resident_id(person->resident_id);
  response->set_name(person->name);
  response->set_address_code(h.address_code);
  response->set_household_number(h.household_number);
  response->set_relation_code(h.relation_code);
  response->set_household_type_code(h.household_type_code);
  response->set_registered_since(CompactDate(h.registered_since));
  return Done(context, grpc::Status::OK);
}

}  // namespace interop::mock_city
