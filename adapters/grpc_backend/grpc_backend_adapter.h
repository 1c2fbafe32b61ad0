// GrpcBackendAdapter: a CityAdapter for a city whose backend speaks the gRPC city backend contract
// (protos/interop/citybackend/v1/city_backend.proto) in its own dialect.
//
// The per-city adapters in adapters/<city>/ build on it, supplying the city and its dialect (loaded
// from adapters/<city>/dialect.textproto); a DialectTranslator (backend_translation.h) turns
// identity numbers into the backend's form and its answers into canonical types. Every call carries
// the city's deadline (the earlier of the caller's deadline and the configured per-city deadline)
// and is never retried here.
//
// Thread-safe.
#ifndef INTEROP_ADAPTERS_GRPC_BACKEND_GRPC_BACKEND_ADAPTER_H_
#define INTEROP_ADAPTERS_GRPC_BACKEND_GRPC_BACKEND_ADAPTER_H_

#include <memory>

#include "absl/time/time.h"
#include "adapters/city_adapter.h"
#include "adapters/dialect/dialect.h"
#include "adapters/grpc_backend/backend_translation.h"
#include "grpcpp/channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "interop/citybackend/v1/city_backend.grpc.pb.h"

namespace interop::adapters {

struct GrpcBackendOptions {
  City city = City::CITY_UNSPECIFIED;
  // The longest any one call to this city may take.
  absl::Duration city_deadline = absl::Seconds(2);
  // The dialect of the city's backend, for `city`. Null means the contract's reference dialect
  // (Dialect::Reference: integer fen, "YYYYMMDD", UTF-8, national codes).
  std::shared_ptr<const Dialect> dialect;
};

class GrpcBackendAdapter : public CityAdapter {
 public:
  // `stub` is used for the contract's calls; `channel` (the one the stub uses) for health checks.
  GrpcBackendAdapter(GrpcBackendOptions options, std::shared_ptr<grpc::Channel> channel,
                     std::unique_ptr<citybackend::v1::CityBackendService::StubInterface> stub);

  City city() const override { return options_.city; }
  void LocatePerson(const std::string& resident_id, const CallOptions& options,
                    Callback<PersonLocation> done) override;
  void GetInsuranceStatus(const std::string& resident_id, const CallOptions& options,
                          Callback<medical::v1::GetInsuranceStatusResponse> done) override;
  void GetMonthlyContributions(const std::string& resident_id, int from_year, int to_year,
                               const CallOptions& options,
                               Callback<std::vector<social::v1::ContributionEntry>> done) override;
  void GetHouseholdRecord(const std::string& resident_id, const CallOptions& options,
                          Callback<household::v1::GetHouseholdRecordResponse> done) override;
  // Calls the backend's standard grpc.health.v1.Health/Check for the overall service ("").
  void CheckHealth(const CallOptions& options, std::function<void(absl::Status)> done) override;

 private:
  // Sets the deadline (the earlier of the caller's and the city's) and request id on a fresh
  // context. Returns whether the caller's deadline is the earlier one, decided once here so that
  // a timeout is attributed to the right party however late its callback runs.
  bool Prepare(const CallOptions& options, grpc::ClientContext* context) const;
  // Maps a failed backend call to the adapter's error contract: a timeout is DEADLINE_EXCEEDED
  // when the caller's deadline bound the call, UNAVAILABLE naming the city when the city's did.
  absl::Status MapError(const grpc::Status& status, bool caller_deadline_binds,
                        absl::string_view what) const;

  const GrpcBackendOptions options_;
  const DialectTranslator translator_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<citybackend::v1::CityBackendService::StubInterface> stub_;
  grpc::GenericStub generic_stub_;
};

}  // namespace interop::adapters

#endif  // INTEROP_ADAPTERS_GRPC_BACKEND_GRPC_BACKEND_ADAPTER_H_
