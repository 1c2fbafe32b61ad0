// MockCityBackend: plays one city's backend (interop.citybackend.v1.CityBackendService) over the
// shared synthetic population, answering only for the records that city holds, in the city's own
// dialect (adapters/<city>/dialect.textproto).
//
// City IT teams run against it before connecting their real systems, so it behaves as the contract
// says a real backend must: NOT_FOUND for records it does not hold, INVALID_ARGUMENT naming the
// field for a malformed identity number, found=false from LocatePerson for unknown persons. And it
// speaks its dialect as a real city system would: codes from the city's tables (the first local
// code listed for each national code), amounts in its money format (yuan always with two
// decimals), dates in its date format, names in its text encoding. A city that keys older persons
// by their legacy 15-digit number (CityDialect.legacy_id_born_before_year) knows those persons only
// by that number: asked with their 18-character number, it does not know them (found=false,
// NOT_FOUND), and it answers with the 15-digit number.
//
// Thread-safe: the population and the dialect are immutable.
#ifndef INTEROP_TOOLS_MOCK_CITY_MOCK_CITY_SERVICE_H_
#define INTEROP_TOOLS_MOCK_CITY_MOCK_CITY_SERVICE_H_

#include <memory>
#include <string>

#include "adapters/dialect/dialect.h"
#include "gateway/base/clock.h"
#include "interop/citybackend/v1/city_backend.grpc.pb.h"
#include "tools/mock_city/population.h"

namespace interop::mock_city {

class MockCityBackend final : public citybackend::v1::CityBackendService::CallbackService {
 public:
  // `population` and `clock` must outlive the service. `dialect` must not be null and must cover
  // every national code (Dialect::CheckCoversEveryNationalCode); a national code it cannot write
  // makes the call fail with INTERNAL.
  MockCityBackend(std::shared_ptr<const adapters::Dialect> dialect, const Population& population,
                  const Clock& clock)
      : dialect_(std::move(dialect)), city_(dialect_->city()), population_(population), clock_(clock) {}

  City city() const { return city_; }

  grpc::ServerUnaryReactor* LocatePerson(grpc::CallbackServerContext* context,
                                         const citybackend::v1::LocatePersonRequest* request,
                                         citybackend::v1::LocatePersonResponse* response) override;
  grpc::ServerUnaryReactor* GetMedicalEnrollment(grpc::CallbackServerContext* context,
                                                 const citybackend::v1::GetMedicalEnrollmentRequest* request,
                                                 citybackend::v1::GetMedicalEnrollmentResponse* response) override;
  grpc::ServerUnaryReactor* GetContributions(grpc::CallbackServerContext* context,
                                             const citybackend::v1::GetContributionsRequest* request,
                                             citybackend::v1::GetContributionsResponse* response) override;
  grpc::ServerUnaryReactor* GetHouseholdRegistration(
      grpc::CallbackServerContext* context, const citybackend::v1::GetHouseholdRegistrationRequest* request,
      citybackend::v1::GetHouseholdRegistrationResponse* response) override;

  // Number of persons of whom this city holds any record.
  int HeldPersonCount() const;

 private:
  // The person the backend keys by `resident_id` (in the dialect's form), or an error status:
  // INVALID_ARGUMENT for a malformed number, NOT_FOUND if unknown or asked in the other form.
  grpc::Status Lookup(const std::string& resident_id, const SyntheticPerson** person) const;
  // The city's local code for `national_code` in `table`, or INTERNAL if the dialect has none.
  grpc::Status LocalCode(adapters::CodeTableKind table, const std::string& national_code,
                         std::string* local) const;

  const std::shared_ptr<const adapters::Dialect> dialect_;
  const City city_;
  const Population& population_;
  const Clock& clock_;
};

}  // namespace interop::mock_city

#endif  // INTEROP_TOOLS_MOCK_CITY_MOCK_CITY_SERVICE_H_
