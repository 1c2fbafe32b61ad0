// BrokenCityBackend: a city backend (interop.citybackend.v1.CityBackendService) that breaks the
// contract on purpose, so that tests can prove that city-conformance (tools/conformance/) notices
// each breach and names it. It plays Taiyuan (adapters/taiyuan/dialect.textproto: national codes,
// integer fen, "YYYYMMDD", UTF-8) and holds two persons (SampleIds()):
//   worker:   medical-insurance enrolment and contribution history, no household registration;
//   resident: medical-insurance enrolment and household registration, no contributions.
//
// What it does wrong, and the check that must fail:
//   LocatePerson of an unknown person answers NOT_FOUND as an error, not found=false
//                                                                        locate-unknown
//   the worker's enrolment has insurance_type_code "ZZ", in no table     records-claimed
//   GetHouseholdRegistration answers a record for anyone, though LocatePerson claims none for the
//   worker (and the unknown person)                          records-unclaimed, unknown-not-found
//   a malformed identity number is INTERNAL, not INVALID_ARGUMENT        malformed-id
//   contribution months come newest first                                contributions-order
//   ... and to_year is ignored                                           contributions-range
//   the resident's balance grows by one fen with every call              consistency
// What it does right: grpc.health.v1 SERVING, LocatePerson of its two persons, answers at once
// (health, locate-known and deadline pass).
//
// BrokenBackendServer serves it like a mock city: mutual TLS on 127.0.0.1, port 0, with the
// development PKI (certs/make-dev-certs.sh): the server presents city-taiyuan.pem and requires a
// client certificate from ca.pem.
//
// Thread-safe.
#ifndef INTEROP_TESTS_TOOLS_CONFORMANCE_BROKEN_BACKEND_H_
#define INTEROP_TESTS_TOOLS_CONFORMANCE_BROKEN_BACKEND_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/server.h"
#include "interop/citybackend/v1/city_backend.grpc.pb.h"

namespace interop::testing {

class BrokenCityBackend final : public citybackend::v1::CityBackendService::CallbackService {
 public:
  // The worker's and the resident's 18-character numbers (valid).
  static std::string WorkerId();
  static std::string ResidentId();

  grpc::ServerUnaryReactor* LocatePerson(grpc::CallbackServerContext* context,
                                         const citybackend::v1::LocatePersonRequest* request,
                                         citybackend::v1::LocatePersonResponse* response) override;
  grpc::ServerUnaryReactor* GetMedicalEnrollment(
      grpc::CallbackServerContext* context, const citybackend::v1::GetMedicalEnrollmentRequest* request,
      citybackend::v1::GetMedicalEnrollmentResponse* response) override;
  grpc::ServerUnaryReactor* GetContributions(grpc::CallbackServerContext* context,
                                             const citybackend::v1::GetContributionsRequest* request,
                                             citybackend::v1::GetContributionsResponse* response) override;
  grpc::ServerUnaryReactor* GetHouseholdRegistration(
      grpc::CallbackServerContext* context, const citybackend::v1::GetHouseholdRegistrationRequest* request,
      citybackend::v1::GetHouseholdRegistrationResponse* response) override;

 private:
  std::atomic<int64_t> balance_fen_{500000};
};

class BrokenBackendServer {
 public:
  // Starts serving. INVALID_ARGUMENT or NOT_FOUND naming the file if the certificates in
  // `certs_dir` cannot be read; UNAVAILABLE if no port can be bound.
  static absl::StatusOr<std::unique_ptr<BrokenBackendServer>> Start(const std::string& certs_dir);
  // Shuts the server down.
  ~BrokenBackendServer();

  int port() const { return port_; }
  // The persons it holds, for --sample_ids.
  static std::vector<std::string> SampleIds();

 private:
  BrokenBackendServer() = default;

  BrokenCityBackend service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace interop::testing

#endif  // INTEROP_TESTS_TOOLS_CONFORMANCE_BROKEN_BACKEND_H_
