#include "gateway/services/certificate_service.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gateway/base/cities.h"
#include "gateway/base/rich_status.h"
#include "gateway/certificates/certificate_payload.h"
#include "gateway/certificates/trust_list.h"
#include "gateway/services/call_guard.h"
#include "gateway/services/contribution_merge.h"

namespace interop::services {
namespace {

namespace pb = ::interop::certificates::v1;

constexpr char kIssueContributionMethod[] = "/interop.certificates.v1.CertificateService/IssueContributionCertificate";
constexpr char kIssueInsuranceStatusMethod[] =
    "/interop.certificates.v1.CertificateService/IssueInsuranceStatusCertificate";
constexpr char kIssueResidenceMethod[] = "/interop.certificates.v1.CertificateService/IssueResidenceCertificate";
constexpr char kVerifyMethod[] = "/interop.certificates.v1.CertificateService/VerifyCertificate";
constexpr char kGetTrustListMethod[] = "/interop.certificates.v1.CertificateService/GetTrustList";
constexpr int kMaxValidityDays = 366;

absl::Status NotConfigured() {
  return absl::FailedPreconditionError(
      "certificates are not configured on this gateway (GatewayConfig.certificates is missing)");
}

// Fills a response's certificate, payload and provenance source cities.
template <typename Response>
void FillIssued(Response* response, const std::string& resident_id, pb::SignedCertificate certificate,
                pb::CertificatePayload payload, const std::vector<City>& cities) {
  response->set_resident_id(resident_id);
  *response->mutable_certificate() = std::move(certificate);
  *response->mutable_payload() = std::move(payload);
  for (City city : cities) *response->mutable_provenance()->add_source_cities() = MakeCityInfo(city);
}

// State of one contribution collection while the cities answer.
struct Gather {
  std::shared_ptr<GuardedCall> call;
  social::v1::GetContributionHistoryRequest query;
  std::function<void(absl::StatusOr<social::v1::GetContributionHistoryResponse>)> done;
  absl::Mutex mu;
  int pending ABSL_GUARDED_BY(mu) = 0;
  bool from_index ABSL_GUARDED_BY(mu) = false;
  std::vector<social::v1::ContributionEntry> entries ABSL_GUARDED_BY(mu);
  absl::Status first_error ABSL_GUARDED_BY(mu);
};

}  // namespace

absl::StatusOr<absl::Duration> CertificateServiceImpl::ValidityOf(const pb::CertificateValidity& validity) const {
  if (validity.valid_days() == 0) return default_validity_;
  if (validity.valid_days() < 0 || validity.valid_days() > kMaxValidityDays) {
    return FieldError("validity.valid_days", absl::StrCat("must be between 0 and ", kMaxValidityDays));
  }
  return absl::Hours(24) * validity.valid_days();
}

void CertificateServiceImpl::SignWith(const std::shared_ptr<GuardedCall>& call, City city, pb::CertificatePayload claims,
                                      const std::string& name, absl::Duration valid_for,
                                      std::function<void(absl::StatusOr<Signed>)> done) {
  const absl::Time now = deps_.clock->Now();
  const pb::TrustedKey* key = trust_->verified.CurrentKey(city, now);
  if (key == nullptr) {
    return done(absl::FailedPreconditionError(
        absl::StrCat("city ", CityName(city), " has no current certificate signing key in the trust list (version ",
                     trust_->verified.version(), ")")));
  }
  pb::CertificatePayload payload =
      certificates::NewPayload(claims.kind(), city, key->key_id(), call->resident_id(), name, now, valid_for);
  payload.MergeFrom(claims);
  std::string bytes;
  if (!payload.SerializeToString(&bytes)) return done(absl::InternalError("the certificate payload cannot be serialized"));
  call->AddCityConsulted(city);
  deps_.cities->Find(city)->SignCertificate(
      bytes, call->options(),
      [trust = trust_, city, now, bytes, payload,
       done = std::move(done)](absl::StatusOr<adapters::CertificateSignature> signature) mutable {
        if (!signature.ok()) return done(signature.status());
        Signed result;
        result.certificate.set_payload(std::move(bytes));
        result.certificate.set_signature(std::move(signature->signature));
        result.certificate.set_key_id(signature->key_id);
        std::optional<signing::Algorithm> algorithm = signing::AlgorithmForName(signature->algorithm);
        result.certificate.set_algorithm(algorithm.has_value() ? certificates::ToProto(*algorithm)
                                                               : pb::SIGNATURE_ALGORITHM_UNSPECIFIED);
        certificates::Verdict verdict = trust->verified.Check(result.certificate, now);
        if (!verdict.valid()) {
          return done(absl::InternalError(absl::StrCat("city ", CityName(city),
                                                       "'s signature does not verify against the trust list (",
                                                       certificates::ResultName(verdict.result), ": ", verdict.reason,
                                                       "); no certificate is issued")));
        }
        result.payload = std::move(payload);
        done(std::move(result));
      });
}

template <typename Record, typename Response>
void CertificateServiceImpl::IssueFromHolder(
    std::shared_ptr<GuardedCall> call, Response* response, router::RecordDomain domain, absl::Duration valid_for,
    std::function<void(adapters::CityAdapter&, adapters::Callback<Record>)> fetch,
    std::function<pb::CertificatePayload(const Record&)> claims) {
  FetchFromHolder<Record>(
      deps_, call->resident_id(), domain, call->options(), std::move(fetch),
      [call](City city) { call->AddCityConsulted(city); },
      [this, call, response, valid_for, claims = std::move(claims)](City city, absl::StatusOr<Record> record) {
        if (!record.ok()) return call->Finish(record.status());
        SignWith(call, city, claims(*record), record->name(), valid_for,
                 [call, response, city](absl::StatusOr<Signed> signed_certificate) {
                   if (!signed_certificate.ok()) return call->Finish(signed_certificate.status());
                   FillIssued(response, call->resident_id(), std::move(signed_certificate->certificate),
                              std::move(signed_certificate->payload), {city});
                   call->Finish(absl::OkStatus(), response, response->mutable_provenance());
                 });
      });
}

// --- Insurance status: signed by the insured city.

grpc::ServerUnaryReactor* CertificateServiceImpl::IssueInsuranceStatusCertificate(
    grpc::CallbackServerContext* context, const pb::IssueInsuranceStatusCertificateRequest* request,
    pb::IssueInsuranceStatusCertificateResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<GuardedCall> call = deps_.guard->Admit(context, reactor, kIssueInsuranceStatusMethod,
                                                         &request->access(), &request->person(), "person");
  if (!call->admitted()) return reactor;
  if (trust_ == nullptr) {
    call->Finish(NotConfigured());
    return reactor;
  }
  absl::StatusOr<absl::Duration> valid_for = ValidityOf(request->validity());
  if (!valid_for.ok()) {
    call->Finish(valid_for.status());
    return reactor;
  }
  using Record = medical::v1::GetInsuranceStatusResponse;
  IssueFromHolder<Record>(
      call, response, router::RecordDomain::kMedicalEnrollment, *valid_for,
      [call](adapters::CityAdapter& adapter, adapters::Callback<Record> done) {
        adapter.GetInsuranceStatus(call->resident_id(), call->options(), std::move(done));
      },
      [](const Record& status) {
        pb::CertificatePayload claims;
        claims.set_kind(pb::CERTIFICATE_KIND_INSURANCE_STATUS);
        *claims.mutable_insurance_status() = certificates::InsuranceStatusClaimsFrom(status);
        return claims;
      });
  return reactor;
}

// --- Residence: signed by the city where the household is registered.

grpc::ServerUnaryReactor* CertificateServiceImpl::IssueResidenceCertificate(
    grpc::CallbackServerContext* context, const pb::IssueResidenceCertificateRequest* request,
    pb::IssueResidenceCertificateResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<GuardedCall> call =
      deps_.guard->Admit(context, reactor, kIssueResidenceMethod, &request->access(), &request->person(), "person");
  if (!call->admitted()) return reactor;
  if (trust_ == nullptr) {
    call->Finish(NotConfigured());
    return reactor;
  }
  absl::StatusOr<absl::Duration> valid_for = ValidityOf(request->validity());
  if (!valid_for.ok()) {
    call->Finish(valid_for.status());
    return reactor;
  }
  using Record = household::v1::GetHouseholdRecordResponse;
  IssueFromHolder<Record>(
      call, response, router::RecordDomain::kHouseholdRegistration, *valid_for,
      [call](adapters::CityAdapter& adapter, adapters::Callback<Record> done) {
        adapter.GetHouseholdRecord(call->resident_id(), call->options(), std::move(done));
      },
      [](const Record& record) {
        pb::CertificatePayload claims;
        claims.set_kind(pb::CERTIFICATE_KIND_RESIDENCE);
        *claims.mutable_residence() = certificates::ResidenceClaimsFrom(record);
        return claims;
      });
  return reactor;
}

// --- Contributions: the history from every city, signed by the insured city (else the city of the
// latest contributions).

void CertificateServiceImpl::CollectContributions(
    const std::shared_ptr<GuardedCall>& call, int from_year, int to_year,
    std::function<void(absl::StatusOr<social::v1::GetContributionHistoryResponse>)> done) {
  auto gather = std::make_shared<Gather>();
  gather->call = call;
  gather->query.set_granularity(social::v1::GRANULARITY_YEAR);
  gather->query.set_from_year(from_year);
  gather->query.set_to_year(to_year);
  gather->done = std::move(done);
  // Calls in flight own `start` (so that a refresh can start again); it holds itself only weakly.
  auto start = std::make_shared<std::function<void(bool)>>();
  *start = [this, gather, weak_start = std::weak_ptr<std::function<void(bool)>>(start)](bool refresh) {
    std::shared_ptr<std::function<void(bool)>> start = weak_start.lock();
    const GuardedCall& call = *gather->call;
    deps_.locator->Locate(
        call.resident_id(), router::RecordDomain::kContributionHistory, refresh, call.options(),
        [this, gather, start, refresh](absl::StatusOr<router::LocateResult> located) {
          if (!located.ok()) return gather->done(located.status());
          {
            absl::MutexLock lock(&gather->mu);
            gather->pending = static_cast<int>(located->cities.size());
            gather->from_index = located->from_index;
            gather->entries.clear();
            gather->first_error = absl::OkStatus();
          }
          for (City city : located->cities) {
            gather->call->AddCityConsulted(city);
            deps_.cities->Find(city)->GetMonthlyContributions(
                gather->call->resident_id(), gather->query.from_year(), gather->query.to_year(),
                gather->call->options(),
                [this, gather, start, refresh](absl::StatusOr<std::vector<social::v1::ContributionEntry>> part) {
                  absl::Status error;
                  bool from_index = false;
                  std::vector<social::v1::ContributionEntry> entries;
                  {
                    absl::MutexLock lock(&gather->mu);
                    if (part.ok()) {
                      for (social::v1::ContributionEntry& e : *part) gather->entries.push_back(std::move(e));
                    } else if (gather->first_error.ok()) {
                      gather->first_error = part.status();
                    }
                    if (--gather->pending > 0) return;
                    error = gather->first_error;
                    from_index = gather->from_index;
                    entries = std::move(gather->entries);
                  }
                  if (absl::IsNotFound(error) && from_index && !refresh) {
                    // A remembered city no longer holds part of the history: ask every city again.
                    deps_.locator->Forget(gather->call->resident_id(), router::RecordDomain::kContributionHistory);
                    return (*start)(/*refresh=*/true);
                  }
                  if (!error.ok()) return gather->done(error);
                  social::v1::GetContributionHistoryResponse yearly;
                  MergeContributions(gather->query, std::move(entries), &yearly);
                  gather->done(std::move(yearly));
                });
          }
        });
  };
  (*start)(/*refresh=*/false);
}

grpc::ServerUnaryReactor* CertificateServiceImpl::IssueContributionCertificate(
    grpc::CallbackServerContext* context, const pb::IssueContributionCertificateRequest* request,
    pb::IssueContributionCertificateResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<GuardedCall> call =
      deps_.guard->Admit(context, reactor, kIssueContributionMethod, &request->access(), &request->person(), "person");
  if (!call->admitted()) return reactor;
  if (trust_ == nullptr) {
    call->Finish(NotConfigured());
    return reactor;
  }
  social::v1::GetContributionHistoryRequest query;
  query.set_from_year(request->from_year());
  query.set_to_year(request->to_year());
  absl::Status valid = ValidateContributionQuery(query);
  absl::StatusOr<absl::Duration> valid_for = ValidityOf(request->validity());
  if (valid.ok()) valid = valid_for.status();
  if (!valid.ok()) {
    call->Finish(valid);
    return reactor;
  }
  const int from_year = request->from_year(), to_year = request->to_year();
  CollectContributions(call, from_year, to_year, [this, call, response, from_year, to_year, valid_for = *valid_for](
                                                     absl::StatusOr<social::v1::GetContributionHistoryResponse> yearly) {
    if (!yearly.ok()) return call->Finish(yearly.status());
    if (yearly->entries_size() == 0) {
      return call->Finish(absl::NotFoundError("no contributions of the person in the years asked"));
    }
    auto claims = std::make_shared<pb::CertificatePayload>();
    claims->set_kind(pb::CERTIFICATE_KIND_CONTRIBUTION);
    *claims->mutable_contribution() = certificates::ContributionClaimsFrom(*yearly, from_year, to_year);
    std::vector<City> sources;
    for (const pb::ContributionYear& year : claims->contribution().years()) {
      if (std::find(sources.begin(), sources.end(), year.city().city()) == sources.end()) {
        sources.push_back(year.city().city());
      }
    }
    // Entries are ascending by year, so the last one's city is the city of the latest contributions.
    const City latest = yearly->entries(yearly->entries_size() - 1).city().city();
    auto sign = [this, call, response, claims, sources, valid_for](City city, const std::string& name) {
      std::vector<City> cities = sources;
      cities.push_back(city);
      SignWith(call, city, *claims, name, valid_for,
               [call, response, cities](absl::StatusOr<Signed> signed_certificate) {
                 if (!signed_certificate.ok()) return call->Finish(signed_certificate.status());
                 FillIssued(response, call->resident_id(), std::move(signed_certificate->certificate),
                            std::move(signed_certificate->payload), cities);
                 call->Finish(absl::OkStatus(), response, response->mutable_provenance());
               });
    };
    FetchFromHolder<medical::v1::GetInsuranceStatusResponse>(
        deps_, call->resident_id(), router::RecordDomain::kMedicalEnrollment, call->options(),
        [call](adapters::CityAdapter& adapter, adapters::Callback<medical::v1::GetInsuranceStatusResponse> done) {
          adapter.GetInsuranceStatus(call->resident_id(), call->options(), std::move(done));
        },
        [call](City city) { call->AddCityConsulted(city); },
        [call, sign, latest](City city, absl::StatusOr<medical::v1::GetInsuranceStatusResponse> status) {
          if (status.ok()) return sign(city, status->name());
          // Insured nowhere: the city of the latest contributions signs (the name is then not known to
          // the gateway, and left empty). Any other failure: the insured city cannot be asked to sign.
          if (!absl::IsNotFound(status.status())) return call->Finish(status.status());
          sign(latest, "");
        });
  });
  return reactor;
}

// --- Verification and the trust list: no personal record.

grpc::ServerUnaryReactor* CertificateServiceImpl::VerifyCertificate(grpc::CallbackServerContext* context,
                                                                    const pb::VerifyCertificateRequest* request,
                                                                    pb::VerifyCertificateResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<GuardedCall> call = deps_.guard->Admit(context, reactor, kVerifyMethod, nullptr, nullptr, "");
  if (!call->admitted()) return reactor;
  if (trust_ == nullptr) return call->Finish(NotConfigured()), reactor;
  if (!request->has_certificate()) return call->Finish(FieldError("certificate", "is required")), reactor;
  if (request->at_unix() < 0) return call->Finish(FieldError("at_unix", "must not be negative")), reactor;
  const absl::Time at = request->at_unix() == 0 ? deps_.clock->Now() : absl::FromUnixSeconds(request->at_unix());
  certificates::Verdict verdict = trust_->verified.Check(request->certificate(), at);
  response->set_result(verdict.result);
  response->set_reason(verdict.reason);
  if (verdict.payload.has_value()) *response->mutable_payload() = *std::move(verdict.payload);
  response->set_trust_list_version(verdict.trust_list_version);
  response->set_checked_at_unix(absl::ToUnixSeconds(at));
  call->Finish(absl::OkStatus(), response);
  return reactor;
}

grpc::ServerUnaryReactor* CertificateServiceImpl::GetTrustList(grpc::CallbackServerContext* context,
                                                               const pb::GetTrustListRequest* request,
                                                               pb::GetTrustListResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<GuardedCall> call = deps_.guard->Admit(context, reactor, kGetTrustListMethod, nullptr, nullptr, "");
  if (!call->admitted()) return reactor;
  if (trust_ == nullptr) return call->Finish(NotConfigured()), reactor;
  *response->mutable_trust_list() = trust_->signed_list;
  *response->mutable_parsed() = trust_->verified.list();
  call->Finish(absl::OkStatus(), response);
  return reactor;
}

}  // namespace interop::services
