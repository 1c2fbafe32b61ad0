// MockCityBackend: plays one city's backend (interop.citybackend.v1.CityBackendService) over the
// shared synthetic population, answering only for the records that city holds.
//
// City IT teams run against it before connecting their real systems, so it behaves as the contract
// says a real backend must: NOT_FOUND for records it does not hold, INVALID_ARGUMENT naming the
// field for a malformed identity number, found=false from LocatePerson for unknown persons.
//
// Thread-safe: the population is immutable.
#ifndef INTEROP_TOOLS_MOCK_CITY_MOCK_CITY_SERVICE_H_
#define INTEROP_TOOLS_MOCK_CITY_MOCK_CITY_SERVICE_H_

#include "gateway/base/clock.h"
#include "interop/citybackend/v1/city_backend.grpc.pb.h"
#include "tools/mock_city/population.h"

namespace interop::mock_city {

class MockCityBackend final : public citybackend::v1::CityBackendService::CallbackService {
 public:
  // `population` must outlive the service.
  MockCityBackend(City city, const Population& population, const Clock& clock)
      : city_(city), population_(population), clock_(clock) {}

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
  // The person, or an error status: INVALID_ARGUMENT for a malformed number, NOT_FOUND if unknown.
  grpc::Status Lookup(const std::string& resident_id, const SyntheticPerson** person) const;

  const City city_;
  const Population& population_;
  const Clock& clock_;
};

}  // namespace interop::mock_city

#endif  // INTEROP_TOOLS_MOCK_CITY_MOCK_CITY_SERVICE_H_
