#include "tests/tools/conformance/broken_backend.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gateway/identity/resident_id.h"
#include "gateway/tls/tls_credentials.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"

namespace interop::testing {
namespace {

namespace backend = ::interop::citybackend::v1;

std::string WithCheckCharacter(const std::string& first17) {
  return first17 + identity::ComputeCheckCharacter(first17);
}

grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context, const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

bool Malformed(const std::string& resident_id) {
  return !identity::ParseResidentId(resident_id, identity::ChinaCivilDay(absl::Now())).ok();
}

// Breach: a malformed number is the backend's own failure rather than the caller's.
grpc::Status MalformedIsInternal() {
  return grpc::Status(grpc::StatusCode::INTERNAL, "java.lang.NumberFormatException in IdCardUtil.parse");
}

}  // namespace

std::string BrokenCityBackend::WorkerId() { return WithCheckCharacter("14010519800101123"); }
std::string BrokenCityBackend::ResidentId() { return WithCheckCharacter("14010619900307002"); }

grpc::ServerUnaryReactor* BrokenCityBackend::LocatePerson(grpc::CallbackServerContext* context,
                                                          const backend::LocatePersonRequest* request,
                                                          backend::LocatePersonResponse* response) {
  const std::string& id = request->resident_id();
  if (Malformed(id)) return Finish(context, MalformedIsInternal());
  if (id == WorkerId()) {
    response->set_found(true);
    response->set_holds_medical_enrollment(true);
    response->set_holds_contribution_history(true);
  } else if (id == ResidentId()) {
    response->set_found(true);
    response->set_holds_medical_enrollment(true);
    response->set_holds_household_registration(true);
  } else {
    // Breach: an unknown person is an error here, not found=false.
    return Finish(context, grpc::Status(grpc::StatusCode::NOT_FOUND, "no such person"));
  }
  return Finish(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* BrokenCityBackend::GetMedicalEnrollment(
    grpc::CallbackServerContext* context, const backend::GetMedicalEnrollmentRequest* request,
    backend::GetMedicalEnrollmentResponse* response) {
  const std::string& id = request->resident_id();
  if (Malformed(id)) return Finish(context, MalformedIsInternal());
  if (id == WorkerId()) {
    response->set_resident_id(id);
    response->set_name("王建国");
    response->set_insured_region_code("140105");
    response->set_insurance_type_code("ZZ");  // Breach: in no table of the dialect.
    response->set_status_code("1");
    response->set_enrollment_date("20100101");
    response->set_balance("123456");
  } else if (id == ResidentId()) {
    response->set_resident_id(id);
    response->set_name("李秀英");
    response->set_insured_region_code("140106");
    response->set_insurance_type_code("390");
    response->set_status_code("1");
    response->set_enrollment_date("20150601");
    response->set_balance(absl::StrCat(balance_fen_++));  // Breach: a different answer every time.
  } else {
    return Finish(context, grpc::Status(grpc::StatusCode::NOT_FOUND, "person is not insured here"));
  }
  return Finish(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* BrokenCityBackend::GetContributions(grpc::CallbackServerContext* context,
                                                              const backend::GetContributionsRequest* request,
                                                              backend::GetContributionsResponse* response) {
  const std::string& id = request->resident_id();
  if (Malformed(id)) return Finish(context, MalformedIsInternal());
  if (id != WorkerId())
    return Finish(context, grpc::Status(grpc::StatusCode::NOT_FOUND, "no contributions here"));
  response->set_resident_id(id);
  // Breaches: newest first, and to_year ignored (from_year is honoured).
  for (int year = 2020; year >= 2018; --year) {
    if (request->from_year() != 0 && year < request->from_year()) continue;
    for (int month = 12; month >= 1; --month) {
      for (const char* kind : {"310", "110"}) {
        backend::MonthlyContribution* out = response->add_months();
        out->set_kind_code(kind);
        out->set_year_month(absl::StrFormat("%04d%02d", year, month));
        out->set_wage_base("500000");
        out->set_personal_amount(kind[0] == '1' ? "40000" : "10000");
        out->set_employer_amount(kind[0] == '1' ? "80000" : "40000");
      }
    }
  }
  return Finish(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* BrokenCityBackend::GetHouseholdRegistration(
    grpc::CallbackServerContext* context, const backend::GetHouseholdRegistrationRequest* request,
    backend::GetHouseholdRegistrationResponse* response) {
  const std::string& id = request->resident_id();
  if (Malformed(id)) return Finish(context, MalformedIsInternal());
  // Breach: a record for anyone, whether LocatePerson claims it or not.
  response->set_resident_id(id);
  response->set_name(id == ResidentId() ? "李秀英" : "张三");
  response->set_address_code("140106");
  response->set_household_number("140106001");
  response->set_relation_code("02");
  response->set_household_type_code("1");
  response->set_registered_since("20000101");
  return Finish(context, grpc::Status::OK);
}

absl::StatusOr<std::unique_ptr<BrokenBackendServer>> BrokenBackendServer::Start(
    const std::string& certs_dir) {
  config::v1::TlsFiles files;
  files.set_ca_cert_file(certs_dir + "/ca.pem");
  files.set_cert_file(certs_dir + "/city-taiyuan.pem");
  files.set_key_file(certs_dir + "/city-taiyuan.key");
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      tls::MakeMutualTlsServerCredentials(files);
  if (!credentials.ok()) return credentials.status();
  std::unique_ptr<BrokenBackendServer> server(new BrokenBackendServer());
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", *credentials, &server->port_);
  builder.RegisterService(&server->service_);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError("broken backend: cannot listen on 127.0.0.1");
  }
  return server;
}

BrokenBackendServer::~BrokenBackendServer() {
  if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

std::vector<std::string> BrokenBackendServer::SampleIds() {
  return {BrokenCityBackend::WorkerId(), BrokenCityBackend::ResidentId()};
}

}  // namespace interop::testing
