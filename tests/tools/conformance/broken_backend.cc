#include "tests/tools/conformance/broken_backend.h"

#include <chrono>

#include "absl/strings/numbers.h"
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

// --- Settlement: the resident's account, in Taiyuan's dialect (integer fen, "YYYYMMDD").

namespace {

bool ParseFen(const std::string& text, int64_t* fen) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos &&
         absl::SimpleAtoi(text, fen);
}

}  // namespace

void BrokenCityBackend::WriteAccount(int year, backend::MedicalAccount* account) const {
  account->set_resident_id(ResidentId());
  account->set_insurance_type_code("390");
  account->set_status_code("1");
  account->set_balance(absl::StrCat(account_balance_fen_));
  account->set_year(year);
  auto it = years_.find(year);
  const Accumulators accumulators = it == years_.end() ? Accumulators() : it->second;
  account->set_deductible_used_outpatient(absl::StrCat(accumulators.deductible_used_outpatient));
  account->set_deductible_used_inpatient(absl::StrCat(accumulators.deductible_used_inpatient));
  account->set_fund_paid(absl::StrCat(accumulators.fund_paid));
  account->set_version(version_);
}

bool BrokenCityBackend::Apply(const backend::SettlementRecord& settlement, int sign) {
  int64_t deductible = 0;
  int64_t fund = 0;
  int64_t account = 0;
  if (!ParseFen(settlement.deductible_applied(), &deductible) || !ParseFen(settlement.fund_pay(), &fund) ||
      !ParseFen(settlement.account_pay(), &account)) {
    return false;
  }
  Accumulators& year = years_[settlement.year()];
  (settlement.visit_type_code() == "21" ? year.deductible_used_inpatient : year.deductible_used_outpatient) +=
      sign * deductible;
  year.fund_paid += sign * fund;
  account_balance_fen_ -= sign * account;
  ++version_;
  return true;
}

grpc::ServerUnaryReactor* BrokenCityBackend::GetMedicalAccount(
    grpc::CallbackServerContext* context, const backend::GetMedicalAccountRequest* request,
    backend::GetMedicalAccountResponse* response) {
  if (request->resident_id() != ResidentId()) {
    return Finish(context, grpc::Status(grpc::StatusCode::NOT_FOUND, "no account here"));
  }
  absl::MutexLock lock(&mu_);
  WriteAccount(request->year(), response->mutable_account());
  return Finish(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* BrokenCityBackend::CommitSettlement(grpc::CallbackServerContext* context,
                                                              const backend::CommitSettlementRequest* request,
                                                              backend::CommitSettlementResponse* response) {
  const backend::SettlementRecord& settlement = request->settlement();
  if (settlement.resident_id() != ResidentId()) {
    return Finish(context, grpc::Status(grpc::StatusCode::NOT_FOUND, "no account here"));
  }
  absl::MutexLock lock(&mu_);
  auto stored = settlements_.find(settlement.settlement_id());
  if (stored != settlements_.end()) {
    // Breach: a known settlement_id is a replay, whatever the amounts (not ALREADY_EXISTS).
    WriteAccount(stored->second.year(), response->mutable_account());
    *response->mutable_settlement() = stored->second;
    response->set_replayed(true);
    return Finish(context, grpc::Status::OK);
  }
  // Breach: expected_version is not compared with the account's version (no ABORTED).
  int64_t account_pay = 0;
  if (!ParseFen(settlement.account_pay(), &account_pay)) {
    return Finish(context,
                  grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "settlement.account_pay: not fen"));
  }
  if (account_pay > account_balance_fen_) {
    return Finish(context,
                  grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "it would overdraw the account"));
  }
  if (!Apply(settlement, +1)) {
    return Finish(context,
                  grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "settlement: an amount is not fen"));
  }
  settlements_[settlement.settlement_id()] = settlement;
  WriteAccount(settlement.year(), response->mutable_account());
  *response->mutable_settlement() = settlement;
  return Finish(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* BrokenCityBackend::ReverseSettlement(
    grpc::CallbackServerContext* context, const backend::ReverseSettlementRequest* request,
    backend::ReverseSettlementResponse* response) {
  absl::MutexLock lock(&mu_);
  auto stored = settlements_.find(request->settlement_id());
  if (stored == settlements_.end() || request->resident_id() != ResidentId()) {
    return Finish(context, grpc::Status(grpc::StatusCode::NOT_FOUND, "no such settlement of this person"));
  }
  backend::SettlementRecord& settlement = stored->second;
  const bool replayed = settlement.reversed();
  if (!replayed) {
    Apply(settlement, -1);
    settlement.set_reversed(true);
    settlement.set_reversed_date(request->reversed_date());
  }
  WriteAccount(settlement.year(), response->mutable_account());
  *response->mutable_settlement() = settlement;
  response->set_replayed(replayed);
  return Finish(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* BrokenCityBackend::GetSettlementRecord(
    grpc::CallbackServerContext* context, const backend::GetSettlementRecordRequest* request,
    backend::GetSettlementRecordResponse* response) {
  absl::MutexLock lock(&mu_);
  auto stored = settlements_.find(request->settlement_id());
  if (stored == settlements_.end()) {
    return Finish(context, grpc::Status(grpc::StatusCode::NOT_FOUND, "no such settlement"));
  }
  *response->mutable_settlement() = stored->second;
  return Finish(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* BrokenCityBackend::ListSettlementRecords(
    grpc::CallbackServerContext* context, const backend::ListSettlementRecordsRequest* request,
    backend::ListSettlementRecordsResponse* response) {
  absl::MutexLock lock(&mu_);
  // "YYYYMMDD" orders as the days do; one page, by settlement_id.
  for (const auto& [id, settlement] : settlements_) {
    if (settlement.settle_date() >= request->from_date() && settlement.settle_date() <= request->to_date()) {
      *response->add_settlements() = settlement;
    }
  }
  return Finish(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* BrokenCityBackend::FileTreatment(grpc::CallbackServerContext* context,
                                                           const backend::FileTreatmentRequest* request,
                                                           backend::FileTreatmentResponse* response) {
  if (request->filing().resident_id() != ResidentId()) {
    return Finish(context, grpc::Status(grpc::StatusCode::NOT_FOUND, "person is not insured here"));
  }
  // Breach: a filing for treatment in Taiyuan itself is accepted (not FAILED_PRECONDITION).
  absl::MutexLock lock(&mu_);
  backend::FilingRecord filing = request->filing();
  filing.set_filing_id(absl::StrFormat("F140100%08d", filings_.size() + 1));
  filing.set_revoked(false);
  filings_.push_back(filing);
  *response->mutable_filing() = filing;
  return Finish(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* BrokenCityBackend::RevokeFiling(grpc::CallbackServerContext* context,
                                                          const backend::RevokeFilingRequest* request,
                                                          backend::RevokeFilingResponse* response) {
  absl::MutexLock lock(&mu_);
  for (backend::FilingRecord& filing : filings_) {
    if (filing.filing_id() != request->filing_id() || request->resident_id() != ResidentId()) continue;
    filing.set_revoked(true);
    *response->mutable_filing() = filing;
    return Finish(context, grpc::Status::OK);
  }
  return Finish(context, grpc::Status(grpc::StatusCode::NOT_FOUND, "no such filing of this person"));
}

grpc::ServerUnaryReactor* BrokenCityBackend::ListFilings(grpc::CallbackServerContext* context,
                                                         const backend::ListFilingsRequest* request,
                                                         backend::ListFilingsResponse* response) {
  if (request->resident_id() != ResidentId()) {
    return Finish(context, grpc::Status(grpc::StatusCode::NOT_FOUND, "person is not insured here"));
  }
  absl::MutexLock lock(&mu_);
  for (const backend::FilingRecord& filing : filings_) *response->add_filings() = filing;
  return Finish(context, grpc::Status::OK);
}

int64_t BrokenCityBackend::account_balance_fen() const {
  absl::MutexLock lock(&mu_);
  return account_balance_fen_;
}

std::vector<std::string> BrokenCityBackend::UnreversedSettlements() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> ids;
  for (const auto& [id, settlement] : settlements_) {
    if (!settlement.reversed()) ids.push_back(id);
  }
  return ids;
}

std::vector<std::string> BrokenCityBackend::ValidFilings() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> ids;
  for (const backend::FilingRecord& filing : filings_) {
    if (!filing.revoked()) ids.push_back(filing.filing_id());
  }
  return ids;
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
