#include "gateway/services/settlement_service.h"

#include <openssl/evp.h>

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "gateway/base/cities.h"
#include "gateway/base/dates.h"
#include "gateway/base/log.h"
#include "gateway/base/rich_status.h"
#include "gateway/identity/resident_id.h"
#include "gateway/services/call_guard.h"
#include "gateway/services/settlement_request.h"
#include "gateway/settlement/calculator.h"
#include "gateway/settlement/reconcile.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace interop::services {
namespace {

using adapters::CityAdapter;
using adapters::CommitResult;
using adapters::FilingRecord;
using adapters::MedicalAccount;
using medical::v1::Settlement;
using settlement::LedgerEntry;

constexpr char kService[] = "/interop.medical.v1.CrossCitySettlementService/";
// How often Settle re-reads the account and recomputes when the insured city's version moved.
constexpr int kMaxCommitAttempts = 8;

std::string Method(absl::string_view name) { return absl::StrCat(kService, name); }

std::string Sha256(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), size);
}

// What tells one Settle request from another under the same key: the person, the key and the
// visit; not the access context (a retry may state its purpose differently).
std::string RequestDigest(const medical::v1::SettleRequest& request) {
  medical::v1::SettleRequest canonical;
  canonical.set_idempotency_key(request.idempotency_key());
  *canonical.mutable_visit() = request.visit();
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    canonical.SerializeToCodedStream(&coded);
  }
  return Sha256(bytes);
}

bool CoversVisit(const FilingRecord& filing, City treatment_city, absl::CivilDay day) {
  return !filing.revoked && filing.treatment_city == treatment_city && filing.valid_from <= day &&
         day <= filing.valid_to;
}

medical::v1::Filing ToFiling(const FilingRecord& record, City insured_city) {
  medical::v1::Filing filing;
  filing.set_filing_id(record.filing_id);
  filing.set_resident_id(record.resident_id);
  *filing.mutable_insured_city() = MakeCityInfo(insured_city);
  *filing.mutable_treatment_city() = MakeCityInfo(record.treatment_city);
  *filing.mutable_valid_from() = DateOf(record.valid_from);
  *filing.mutable_valid_to() = DateOf(record.valid_to);
  filing.set_reason(record.reason);
  filing.set_revoked(record.revoked);
  return filing;
}

// Copies what the insured city says the account is after a commit or reversal.
void TakeAccount(const MedicalAccount& account, Settlement* settlement) {
  settlement->mutable_balance_after()->set_fen(account.balance_fen);
  medical::v1::Accumulators* after = settlement->mutable_accumulators_after();
  after->set_year(account.year);
  after->mutable_deductible_used_outpatient()->set_fen(account.deductible_used_outpatient_fen);
  after->mutable_deductible_used_inpatient()->set_fen(account.deductible_used_inpatient_fen);
  after->mutable_fund_paid()->set_fen(account.fund_paid_fen);
}

adapters::SettlementRecord ToCityRecord(const Settlement& settlement, absl::CivilDay settle_day) {
  adapters::SettlementRecord record;
  record.settlement_id = settlement.settlement_id();
  record.resident_id = settlement.resident_id();
  record.year = settlement.visit_date().year();
  record.visit_type = settlement.visit_type();
  record.institution_code = settlement.hospital().institution_code();
  record.treatment_city = settlement.treatment_city().city();
  record.settle_date = settle_day;
  record.total_fen = settlement.total().fen();
  record.deductible_applied_fen = settlement.deductible_applied().fen();
  record.fund_pay_fen = settlement.fund_pay().fen();
  record.account_pay_fen = settlement.personal_account_pay().fen();
  record.cash_pay_fen = settlement.cash_pay().fen();
  return record;
}

// True if a failed commit certainly changed nothing in the city (so its intent can go).
bool CommitCertainlyNotApplied(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnimplemented:
      return true;
    default:
      return false;
  }
}

// True if a commit refused with `status` might have been accepted had the account not been an
// outdated cached one: the version moved (ABORTED), the person is insured elsewhere now
// (NOT_FOUND), or the balance or the fund's cap ran out (FAILED_PRECONDITION, should a city check
// that before the version).
bool OutdatedAccountMayExplain(const absl::Status& status) {
  return absl::IsAborted(status) || absl::IsNotFound(status) || absl::IsFailedPrecondition(status);
}

// ALREADY_EXISTS, reason IDEMPOTENCY_KEY_REUSED, naming the field.
absl::Status KeyReused(absl::string_view message) {
  return WithFieldViolation(Refusal(absl::StatusCode::kAlreadyExists, "IDEMPOTENCY_KEY_REUSED", message),
                            "idempotency_key", "already used by this organisation with a different request");
}

}  // namespace

struct CrossCitySettlementServiceImpl::Quote {
  City insured_city = City::CITY_UNSPECIFIED;
  MedicalAccount account;
  bool account_from_cache = false;  // else read from the insured city for this quote
  Settlement settlement;            // PRE_SETTLED
};

// One Settle call on its way through the steps.
struct CrossCitySettlementServiceImpl::Settling {
  std::shared_ptr<GuardedCall> call;
  const medical::v1::SettleRequest* request = nullptr;
  medical::v1::SettleResponse* response = nullptr;
  City treatment_city = City::CITY_UNSPECIFIED;
  std::string settlement_id;
  std::string digest;
  int attempts = 0;                 // quotes computed from an account read from the city
  bool fresh_only = false;          // a retry: the account cache is not used
  bool account_from_cache = false;  // the quote being committed was computed from a cached account
  KeyedSerializer::Done release;    // lets the patient's next settlement start
};

CrossCitySettlementServiceImpl::CrossCitySettlementServiceImpl(
    ServiceDependencies deps, std::shared_ptr<const settlement::MedicalRules> rules,
    settlement::SettlementLedger& ledger, WorkQueue& work, std::unique_ptr<settlement::AccountCache> accounts,
    SettlementIntentOwnership ownership)
    : deps_(deps),
      rules_(std::move(rules)),
      ledger_(ledger),
      work_(work),
      accounts_(std::move(accounts)),
      ownership_(std::move(ownership)) {}

void CrossCitySettlementServiceImpl::RememberAccount(City insured_city, const std::string& resident_id,
                                                     int year, const MedicalAccount& account) {
  if (accounts_ == nullptr) return;
  if (account.year != year) return accounts_->Forget(insured_city, resident_id, year);
  accounts_->Store(insured_city, resident_id, year, account);
}

void CrossCitySettlementServiceImpl::ForgetAccount(City insured_city, const std::string& resident_id,
                                                   int year) {
  if (accounts_ != nullptr) accounts_->Forget(insured_city, resident_id, year);
}

std::string CrossCitySettlementServiceImpl::SettlementIdFor(absl::string_view organization,
                                                            absl::string_view idempotency_key) {
  std::string digest = Sha256(absl::StrCat(organization, absl::string_view("\0", 1), idempotency_key));
  return absl::StrCat("ST", absl::BytesToHexString(digest).substr(0, 24));
}

absl::Status CrossCitySettlementServiceImpl::CheckConfigured() const {
  if (rules_ != nullptr) return absl::OkStatus();
  return Refusal(absl::StatusCode::kFailedPrecondition, "SETTLEMENT_NOT_CONFIGURED",
                 "cross-city settlement is not configured on this gateway: every city needs "
                 "medical_catalogue_file and medical_policy_file");
}

// ------------------------------------------------------------------------------------------------
// Filings

grpc::ServerUnaryReactor* CrossCitySettlementServiceImpl::FileTreatment(
    grpc::CallbackServerContext* context, const medical::v1::FileTreatmentRequest* request,
    medical::v1::FileTreatmentResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<GuardedCall> call = deps_.guard->Admit(context, reactor, Method("FileTreatment"),
                                                         &request->access(), &request->person(), "person");
  if (!call->admitted()) return reactor;
  FilingRecord filing;
  filing.resident_id = call->resident_id();
  filing.treatment_city = request->treatment_city();
  filing.reason = request->reason();
  absl::Status valid = absl::OkStatus();
  if (request->treatment_city() == City::CITY_UNSPECIFIED ||
      CityName(request->treatment_city()) == "unspecified") {
    valid = FieldError("treatment_city", "is required (one of the five cities)");
  } else if (request->reason() == medical::v1::FILING_REASON_UNSPECIFIED ||
             !medical::v1::FilingReason_IsValid(request->reason())) {
    valid = FieldError("reason", "is required");
  } else {
    absl::StatusOr<absl::CivilDay> from = ToCivilDay(request->valid_from(), "valid_from");
    absl::StatusOr<absl::CivilDay> to = ToCivilDay(request->valid_to(), "valid_to");
    if (!from.ok()) {
      valid = from.status();
    } else if (!to.ok()) {
      valid = to.status();
    } else if (*to < *from) {
      valid = FieldError("valid_to", "is before valid_from");
    } else if (*to > absl::CivilDay(from->year() + 2, from->month(), from->day())) {
      valid = FieldError("valid_to", "is more than two years after valid_from");
    } else {
      filing.valid_from = *from;
      filing.valid_to = *to;
    }
  }
  if (!valid.ok()) {
    call->Finish(valid);
    return reactor;
  }
  FetchFromHolder<FilingRecord>(
      deps_, call->resident_id(), router::RecordDomain::kMedicalEnrollment, call->options(),
      [call, filing](CityAdapter& adapter, adapters::Callback<FilingRecord> done) {
        if (adapter.city() == filing.treatment_city) {
          return done(Refusal(
              absl::StatusCode::kFailedPrecondition, "TREATMENT_CITY_IS_INSURED_CITY",
              absl::StrCat("treatment_city: the person is insured in ", CityName(filing.treatment_city),
                           "; treatment there needs no cross-city filing")));
        }
        adapter.FileTreatment(filing, call->options(), std::move(done));
      },
      [call](City city) { call->AddCityConsulted(city); },
      [call, response](City city, absl::StatusOr<FilingRecord> result) {
        if (!result.ok()) return call->Finish(result.status());
        *response->mutable_filing() = ToFiling(*result, city);
        *response->mutable_provenance()->add_source_cities() = MakeCityInfo(city);
        call->Finish(absl::OkStatus(), response, response->mutable_provenance());
      });
  return reactor;
}

grpc::ServerUnaryReactor* CrossCitySettlementServiceImpl::RevokeFiling(
    grpc::CallbackServerContext* context, const medical::v1::RevokeFilingRequest* request,
    medical::v1::RevokeFilingResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<GuardedCall> call = deps_.guard->Admit(context, reactor, Method("RevokeFiling"),
                                                         &request->access(), &request->person(), "person");
  if (!call->admitted()) return reactor;
  if (request->filing_id().empty() || request->filing_id().size() > 64) {
    call->Finish(FieldError("filing_id", request->filing_id().empty() ? "is required" : "is longer than 64"));
    return reactor;
  }
  std::string filing_id = request->filing_id();
  FetchFromHolder<FilingRecord>(
      deps_, call->resident_id(), router::RecordDomain::kMedicalEnrollment, call->options(),
      [call, filing_id](CityAdapter& adapter, adapters::Callback<FilingRecord> done) {
        adapter.RevokeFiling(call->resident_id(), filing_id, call->options(), std::move(done));
      },
      [call](City city) { call->AddCityConsulted(city); },
      [call, response](City city, absl::StatusOr<FilingRecord> result) {
        if (!result.ok()) return call->Finish(result.status());
        *response->mutable_filing() = ToFiling(*result, city);
        *response->mutable_provenance()->add_source_cities() = MakeCityInfo(city);
        call->Finish(absl::OkStatus(), response, response->mutable_provenance());
      });
  return reactor;
}

grpc::ServerUnaryReactor* CrossCitySettlementServiceImpl::CheckFiling(
    grpc::CallbackServerContext* context, const medical::v1::CheckFilingRequest* request,
    medical::v1::CheckFilingResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<GuardedCall> call = deps_.guard->Admit(context, reactor, Method("CheckFiling"),
                                                         &request->access(), &request->person(), "person");
  if (!call->admitted()) return reactor;
  absl::StatusOr<absl::CivilDay> day = ToCivilDay(request->day(), "day");
  absl::Status valid = day.status();
  if (valid.ok() && (request->treatment_city() == City::CITY_UNSPECIFIED ||
                     CityName(request->treatment_city()) == "unspecified")) {
    valid = FieldError("treatment_city", "is required (one of the five cities)");
  }
  if (!valid.ok()) {
    call->Finish(valid);
    return reactor;
  }
  City treatment_city = request->treatment_city();
  FetchFromHolder<std::vector<FilingRecord>>(
      deps_, call->resident_id(), router::RecordDomain::kMedicalEnrollment, call->options(),
      [call](CityAdapter& adapter, adapters::Callback<std::vector<FilingRecord>> done) {
        adapter.ListFilings(call->resident_id(), call->options(), std::move(done));
      },
      [call](City city) { call->AddCityConsulted(city); },
      [call, response, treatment_city, day = *day](City city,
                                                   absl::StatusOr<std::vector<FilingRecord>> result) {
        if (!result.ok()) return call->Finish(result.status());
        for (const FilingRecord& filing : *result) {
          if (CoversVisit(filing, treatment_city, day)) {
            response->set_filed(true);
            *response->mutable_filing() = ToFiling(filing, city);
            break;
          }
        }
        *response->mutable_provenance()->add_source_cities() = MakeCityInfo(city);
        call->Finish(absl::OkStatus(), response, response->mutable_provenance());
      });
  return reactor;
}

// ------------------------------------------------------------------------------------------------
// Quotes: the account, the filings and the calculation.

void CrossCitySettlementServiceImpl::ComputeQuote(const std::string& resident_id,
                                                  const medical::v1::Visit& visit, City treatment_city,
                                                  const adapters::CallOptions& options, bool use_cache,
                                                  std::function<void(City)> consulted,
                                                  std::function<void(absl::StatusOr<Quote>)> done) {
  const int year = visit.visit_date().year();
  // Set by the fetch below (which FetchFromHolder may call again after re-locating the person).
  auto from_cache = std::make_shared<bool>(false);
  FetchFromHolder<MedicalAccount>(
      deps_, resident_id, router::RecordDomain::kMedicalEnrollment, options,
      [this, resident_id, year, options, use_cache, from_cache](CityAdapter& adapter,
                                                                adapters::Callback<MedicalAccount> fetched) {
        // FetchFromHolder has told `consulted` of the city already, hit or not.
        const City city = adapter.city();
        if (use_cache && accounts_ != nullptr) {
          if (std::optional<MedicalAccount> cached = accounts_->Find(city, resident_id, year)) {
            *from_cache = true;
            return fetched(*std::move(cached));
          }
        }
        *from_cache = false;
        adapter.GetMedicalAccount(resident_id, year, options,
                                  [this, city, resident_id, year,
                                   fetched = std::move(fetched)](absl::StatusOr<MedicalAccount> account) {
                                    if (accounts_ != nullptr) {
                                      if (account.ok()) {
                                        accounts_->Store(city, resident_id, year, *account);
                                      } else if (absl::IsNotFound(account.status())) {
                                        accounts_->Forget(city, resident_id, year);  // insured elsewhere now
                                      }
                                    }
                                    fetched(std::move(account));
                                  });
      },
      consulted,
      [this, resident_id, year, &visit, treatment_city, options, consulted, done, from_cache](
          City insured_city, absl::StatusOr<MedicalAccount> account) {
        if (!account.ok()) return done(account.status());
        auto compute = [this, resident_id, year, &visit, treatment_city, options, consulted, insured_city,
                        done, account = *account,
                        account_from_cache = *from_cache](bool filing_covers_visit) {
          settlement::VisitFacts facts;
          facts.visit = &visit;
          facts.treatment_city = treatment_city;
          facts.insured_city = insured_city;
          facts.account = account;
          facts.filing_covers_visit = filing_covers_visit;
          const config::v1::MedicalCatalogue* catalogue = rules_->catalogue(treatment_city);
          const config::v1::MedicalPolicy* policy = rules_->policy(insured_city);
          if (catalogue == nullptr || policy == nullptr) {
            return done(
                Refusal(absl::StatusCode::kFailedPrecondition, "SETTLEMENT_NOT_CONFIGURED",
                        absl::StrCat("no ", catalogue == nullptr ? "catalogue for " : "policy for ",
                                     CityName(catalogue == nullptr ? treatment_city : insured_city))));
          }
          absl::StatusOr<Settlement> computed = settlement::ComputeSettlement(facts, *catalogue, *policy);
          if (!computed.ok() && account_from_cache) {
            // The refusal may be the cached account's (its enrolment status, say): ask the city.
            ForgetAccount(insured_city, resident_id, year);
            return ComputeQuote(resident_id, visit, treatment_city, options, /*use_cache=*/false, consulted,
                                done);
          }
          if (!computed.ok()) return done(computed.status());
          Quote quote;
          quote.insured_city = insured_city;
          quote.account = account;
          quote.account_from_cache = account_from_cache;
          quote.settlement = std::move(*computed);
          done(std::move(quote));
        };
        if (insured_city == treatment_city || visit.emergency()) return compute(false);
        CityAdapter* adapter = deps_.cities->Find(insured_city);
        adapter->ListFilings(
            resident_id, options,
            [compute, done, treatment_city, &visit](absl::StatusOr<std::vector<FilingRecord>> filings) {
              if (!filings.ok()) return done(filings.status());
              absl::CivilDay day(visit.visit_date().year(), visit.visit_date().month(),
                                 visit.visit_date().day());
              bool covered = false;
              for (const FilingRecord& filing : *filings) {
                covered = covered || CoversVisit(filing, treatment_city, day);
              }
              compute(covered);
            });
      });
}

grpc::ServerUnaryReactor* CrossCitySettlementServiceImpl::PreSettle(
    grpc::CallbackServerContext* context, const medical::v1::PreSettleRequest* request,
    medical::v1::PreSettleResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<GuardedCall> call = deps_.guard->Admit(context, reactor, Method("PreSettle"),
                                                         &request->access(), &request->person(), "person");
  if (!call->admitted()) return reactor;
  absl::Status valid = CheckConfigured();
  City treatment_city = call->caller().city;
  if (valid.ok()) {
    valid =
        ValidateVisit(request->visit(), "visit", treatment_city, identity::ChinaCivilDay(deps_.clock->Now()));
  }
  if (!valid.ok()) {
    call->Finish(valid);
    return reactor;
  }
  // Always read: a quote shown to the patient must not be stale. The read is cached for the Settle
  // that usually follows.
  ComputeQuote(
      call->resident_id(), request->visit(), treatment_city, call->options(), /*use_cache=*/false,
      [call](City city) { call->AddCityConsulted(city); },
      [call, response](absl::StatusOr<Quote> quote) {
        if (!quote.ok()) return call->Finish(quote.status());
        *response->mutable_settlement() = std::move(quote->settlement);
        *response->mutable_provenance()->add_source_cities() = MakeCityInfo(quote->insured_city);
        call->Finish(absl::OkStatus(), response, response->mutable_provenance());
      });
  return reactor;
}

// ------------------------------------------------------------------------------------------------
// Settle

grpc::ServerUnaryReactor* CrossCitySettlementServiceImpl::Settle(grpc::CallbackServerContext* context,
                                                                 const medical::v1::SettleRequest* request,
                                                                 medical::v1::SettleResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<GuardedCall> call = deps_.guard->Admit(context, reactor, Method("Settle"),
                                                         &request->access(), &request->person(), "person");
  if (!call->admitted()) return reactor;
  absl::Status valid = CheckConfigured();
  if (valid.ok()) valid = ValidateIdempotencyKey(request->idempotency_key(), "idempotency_key");
  if (valid.ok()) {
    valid = ValidateVisit(request->visit(), "visit", call->caller().city,
                          identity::ChinaCivilDay(deps_.clock->Now()));
  }
  if (!valid.ok()) {
    call->Finish(valid);
    return reactor;
  }
  auto s = std::make_shared<Settling>();
  s->call = std::move(call);
  s->request = request;
  s->response = response;
  s->treatment_city = s->call->caller().city;
  s->settlement_id = SettlementIdFor(s->call->caller().organization_id, request->idempotency_key());
  s->digest = RequestDigest(*request);
  per_person_.Run(s->call->resident_id(), [this, s](KeyedSerializer::Done release) {
    s->release = std::move(release);
    LookUpLedger(s);
  });
  return reactor;
}

void CrossCitySettlementServiceImpl::FinishSettle(const std::shared_ptr<Settling>& s,
                                                  const absl::Status& status) {
  KeyedSerializer::Done release = std::move(s->release);
  if (status.ok()) {
    s->call->Finish(status, s->response, s->response->mutable_provenance());
  } else {
    s->call->Finish(status);
  }
  if (release) release();
}

void CrossCitySettlementServiceImpl::LookUpLedger(std::shared_ptr<Settling> s) {
  absl::StatusOr<std::optional<LedgerEntry>> found = ledger_.Find(s->settlement_id);
  if (!found.ok()) return FinishSettle(s, found.status());
  if (found->has_value()) {
    const LedgerEntry& entry = **found;
    if (entry.request_digest != s->digest) {
      return FinishSettle(
          s, KeyReused(absl::StrCat("idempotency_key: already used by this organisation for settlement ",
                                    s->settlement_id, " with a different request")));
    }
    *s->response->mutable_settlement() = entry.settlement;
    s->response->set_replayed(true);
    *s->response->mutable_provenance()->add_source_cities() = entry.settlement.insured_city();
    return FinishSettle(s, absl::OkStatus());
  }
  absl::StatusOr<std::optional<LedgerEntry>> intent = ledger_.FindIntent(s->settlement_id);
  if (!intent.ok()) return FinishSettle(s, intent.status());
  if (intent->has_value()) {
    const LedgerEntry& found = **intent;
    if (found.intent_owner != ownership_.replica_id) {
      const absl::Duration age =
          deps_.clock->Now() - absl::FromUnixSeconds(found.settlement.settled_at_unix());
      if (age < ownership_.foreign_min_age) {
        // Another replica's Settle of this key may still be in flight: asking the city now could
        // abandon the settlement it is about to commit. Its answer (or its recovery) settles it.
        intents_in_progress_.fetch_add(1, std::memory_order_relaxed);
        LogInfo("settlement intent of another replica is recent; the caller retries",
                {{"request_id", s->call->request_id()},
                 {"settlement_id", s->settlement_id},
                 {"owner", found.intent_owner},
                 {"age_s", absl::StrCat(absl::ToInt64Seconds(age))}});
        return FinishSettle(
            s, WithRetryDelay(Refusal(absl::StatusCode::kUnavailable, "SETTLEMENT_IN_PROGRESS",
                                      absl::StrCat("settlement ", s->settlement_id,
                                                   " is being committed with the insured city by another "
                                                   "gateway replica; retry with the same idempotency_key")),
                              absl::Seconds(1)));
      }
    }
    return ResolveIntent(s, std::move(**intent));
  }
  ComputeAndCommit(s);
}

void CrossCitySettlementServiceImpl::ResolveIntent(std::shared_ptr<Settling> s, LedgerEntry intent) {
  City insured_city = intent.settlement.insured_city().city();
  s->call->AddCityConsulted(insured_city);
  CityAdapter* adapter = deps_.cities->Find(insured_city);
  adapter->GetSettlementRecord(
      s->settlement_id, s->call->options(),
      [this, s, intent = std::move(intent)](absl::StatusOr<adapters::SettlementRecord> record) mutable {
        if (absl::IsNotFound(record.status())) {
          // The crashed attempt never reached the city: forget it and settle afresh.
          return ledger_.AbandonIntent(s->settlement_id, [this, s](absl::Status abandoned) {
            if (!abandoned.ok()) return FinishSettle(s, abandoned);
            ComputeAndCommit(s);
          });
        }
        if (!record.ok()) {
          return FinishSettle(s,
                              WithMessagePrefix(record.status(),
                                                "an earlier attempt with this idempotency_key has an unknown "
                                                "outcome; retry later with the same key: "));
        }
        // The city committed it: the intent is the settlement.
        const bool same_request = intent.request_digest == s->digest;
        // (Should the city have reversed it meanwhile, reconciliation shows the difference.)
        intent.settlement.set_state(medical::v1::SETTLEMENT_STATE_SETTLED);
        Settlement settled = intent.settlement;
        ledger_.RecordSettlement(std::move(intent), [this, s, same_request, settled](absl::Status recorded) {
          if (absl::IsAlreadyExists(recorded)) return LookUpLedger(s);  // recorded meanwhile: answer that
          if (!recorded.ok()) return FinishSettle(s, recorded);
          if (!same_request) {
            return FinishSettle(
                s, KeyReused(absl::StrCat("idempotency_key: already used by this organisation for "
                                          "settlement ",
                                          s->settlement_id, " with a different request")));
          }
          *s->response->mutable_settlement() = settled;
          s->response->set_replayed(true);
          *s->response->mutable_provenance()->add_source_cities() = settled.insured_city();
          FinishSettle(s, absl::OkStatus());
        });
      });
}

void CrossCitySettlementServiceImpl::ComputeAndCommit(std::shared_ptr<Settling> s) {
  ComputeQuote(
      s->call->resident_id(), s->request->visit(), s->treatment_city, s->call->options(),
      /*use_cache=*/!s->fresh_only, [s](City city) { s->call->AddCityConsulted(city); },
      [this, s](absl::StatusOr<Quote> quote) {
        if (!quote.ok()) return FinishSettle(s, quote.status());
        s->account_from_cache = quote->account_from_cache;
        if (!quote->account_from_cache) ++s->attempts;
        Settlement settlement = std::move(quote->settlement);
        settlement.set_settlement_id(s->settlement_id);
        settlement.set_state(medical::v1::SETTLEMENT_STATE_SETTLED);
        settlement.set_settled_at_unix(absl::ToUnixSeconds(deps_.clock->Now()));
        Commit(s, std::move(settlement), quote->account);
      });
}

void CrossCitySettlementServiceImpl::Commit(std::shared_ptr<Settling> s, Settlement computed,
                                            MedicalAccount account) {
  LedgerEntry intent;
  intent.settlement = computed;
  intent.caller_organization = s->call->caller().organization_id;
  intent.idempotency_key = s->request->idempotency_key();
  intent.request_digest = s->digest;
  intent.intent_owner = ownership_.replica_id;
  ledger_.RecordIntent(std::move(intent), [this, s, computed = std::move(computed),
                                           account](absl::Status written) mutable {
    if (!written.ok()) return FinishSettle(s, written);
    City insured_city = computed.insured_city().city();
    CityAdapter* adapter = deps_.cities->Find(insured_city);
    adapters::SettlementRecord record =
        ToCityRecord(computed, settlement::ChinaDayOf(computed.settled_at_unix()));
    adapter->CommitSettlement(
        record, account.version, s->call->options(),
        [this, s, computed = std::move(computed), insured_city,
         year = record.year](absl::StatusOr<CommitResult> committed) mutable {
          const std::string& resident_id = s->call->resident_id();
          if (!committed.ok()) {
            absl::Status status = committed.status();
            // Whatever happened, the entry may be outdated now: the next read goes to the city.
            if (accounts_ != nullptr) {
              if (absl::IsAborted(status) && s->account_from_cache) {
                accounts_->ForgetStale(insured_city, resident_id, year);
              } else {
                accounts_->Forget(insured_city, resident_id, year);
              }
            }
            if (!CommitCertainlyNotApplied(status)) {
              // Timed out or lost: the city may have committed. The intent stays; a retry with the
              // same key (or the recovery at start-up) asks the city.
              return FinishSettle(
                  s,
                  Refusal(absl::StatusCode::kUnavailable, "SETTLEMENT_OUTCOME_UNKNOWN",
                          absl::StrCat(status.message(), "; whether the insured city committed settlement ",
                                       s->settlement_id,
                                       " is not known yet: retry with the same idempotency_key")));
            }
            return ledger_.AbandonIntent(s->settlement_id, [this, s, status](absl::Status abandoned) {
              if (!abandoned.ok()) return FinishSettle(s, abandoned);
              const bool retry = s->account_from_cache
                                     ? OutdatedAccountMayExplain(status)
                                     : absl::IsAborted(status) && s->attempts < kMaxCommitAttempts;
              if (retry) {
                s->fresh_only = true;
                return ComputeAndCommit(s);
              }
              FinishSettle(s, status);
            });
          }
          RememberAccount(insured_city, resident_id, year, committed->account);
          TakeAccount(committed->account, &computed);
          RecordAndAnswer(s, std::move(computed));
        });
  });
}

void CrossCitySettlementServiceImpl::RecordAndAnswer(std::shared_ptr<Settling> s, Settlement settled) {
  LedgerEntry entry;
  entry.settlement = settled;
  entry.caller_organization = s->call->caller().organization_id;
  entry.idempotency_key = s->request->idempotency_key();
  entry.request_digest = s->digest;
  ledger_.RecordSettlement(std::move(entry), [this, s,
                                              settled = std::move(settled)](absl::Status recorded) mutable {
    if (absl::IsAlreadyExists(recorded)) {
      // Recorded first by a retry with the same key on another replica, or by its intent recovery,
      // after the same commit: answer what the ledger holds, as a retry would get.
      return LookUpLedger(s);
    }
    if (!recorded.ok()) {
      LogError("settlement committed by the insured city but not recorded in the ledger; its intent remains",
               {{"request_id", s->call->request_id()},
                {"settlement_id", s->settlement_id},
                {"error", std::string(recorded.message())}});
      return FinishSettle(s,
                          Refusal(absl::StatusCode::kUnavailable, "SETTLEMENT_OUTCOME_UNKNOWN",
                                  absl::StrCat("the settlement could not be recorded (", recorded.message(),
                                               "); retry with the same idempotency_key")));
    }
    *s->response->mutable_provenance()->add_source_cities() = settled.insured_city();
    *s->response->mutable_settlement() = std::move(settled);
    FinishSettle(s, absl::OkStatus());
  });
}

CrossCitySettlementServiceImpl::IntentRecovery CrossCitySettlementServiceImpl::RecoverIntents(
    absl::Duration older_than, absl::Duration own_older_than) {
  IntentRecovery result;
  absl::StatusOr<std::vector<LedgerEntry>> intents = ledger_.ListIntents();
  if (!intents.ok()) {
    LogError("cannot list settlement intents", {{"error", std::string(intents.status().message())}});
    result.unresolved = 1;
    intents_unresolved_.fetch_add(1, std::memory_order_relaxed);
    return result;
  }
  const absl::Time now = deps_.clock->Now();
  const int64_t newest_to_resolve = absl::ToUnixSeconds(now - older_than);
  const int64_t newest_own_to_resolve = absl::ToUnixSeconds(now - own_older_than);
  std::vector<const LedgerEntry*> old_enough;
  for (const LedgerEntry& listed : *intents) {
    const bool own = listed.intent_owner == ownership_.replica_id;
    if (listed.settlement.settled_at_unix() > (own ? newest_own_to_resolve : newest_to_resolve)) {
      ++result.too_recent;
    } else {
      old_enough.push_back(&listed);
    }
  }
  std::atomic<int> settled{0}, abandoned{0}, unresolved{0};
  absl::BlockingCounter pending(static_cast<int>(old_enough.size()));
  for (const LedgerEntry* listed : old_enough) {
    const std::string id = listed->settlement.settlement_id();
    // Through the patient's queue, so that a live retry of the same key never races the recovery.
    per_person_.Run(listed->settlement.resident_id(), [this, id, &settled, &abandoned, &unresolved,
                                                       &pending](KeyedSerializer::Done release) {
      // `counter` counts the outcome `outcome` (nullptr: "already resolved", counted nowhere); a
      // failed `status` counts as unresolved instead.
      auto finished = [id, release, &unresolved, &pending](absl::Status status, std::atomic<int>* counter,
                                                           absl::string_view outcome) {
        if (!status.ok()) {
          ++unresolved;
        } else if (counter != nullptr) {
          ++*counter;
        }
        LogInfo("settlement intent resolved",
                {{"settlement_id", id}, {"outcome", std::string(status.ok() ? outcome : status.message())}});
        release();
        pending.DecrementCount();
      };
      absl::StatusOr<std::optional<LedgerEntry>> intent = ledger_.FindIntent(id);
      if (!intent.ok()) return finished(intent.status(), nullptr, "");
      if (!intent->has_value()) return finished(absl::OkStatus(), nullptr, "already resolved");
      LedgerEntry entry = std::move(**intent);
      adapters::CallOptions options;
      options.deadline = absl::Now() + absl::Seconds(5);
      deps_.cities->Find(entry.settlement.insured_city().city())
          ->GetSettlementRecord(
              id, options,
              [this, id, entry = std::move(entry), finished, &settled,
               &abandoned](absl::StatusOr<adapters::SettlementRecord> record) mutable {
                if (absl::IsNotFound(record.status())) {
                  return ledger_.AbandonIntent(
                      id, [finished, &abandoned](absl::Status s) { finished(s, &abandoned, "abandoned"); });
                }
                if (!record.ok()) return finished(record.status(), nullptr, "");
                entry.settlement.set_state(medical::v1::SETTLEMENT_STATE_SETTLED);
                ledger_.RecordSettlement(std::move(entry), [finished, &settled](absl::Status s) {
                  // Another replica's recovery, or a retry with the key, recorded it first.
                  if (absl::IsAlreadyExists(s)) return finished(absl::OkStatus(), nullptr, "already resolved");
                  finished(s, &settled, "settled");
                });
              });
    });
  }
  pending.Wait();
  result.settled = settled.load();
  result.abandoned = abandoned.load();
  result.unresolved = unresolved.load();
  intents_settled_.fetch_add(static_cast<uint64_t>(result.settled), std::memory_order_relaxed);
  intents_abandoned_.fetch_add(static_cast<uint64_t>(result.abandoned), std::memory_order_relaxed);
  intents_unresolved_.fetch_add(static_cast<uint64_t>(result.unresolved), std::memory_order_relaxed);
  intents_unresolved_after_last_pass_.store(result.unresolved, std::memory_order_relaxed);
  return result;
}

CrossCitySettlementServiceImpl::IntentStats CrossCitySettlementServiceImpl::intent_stats() const {
  IntentStats stats;
  stats.settled = intents_settled_.load(std::memory_order_relaxed);
  stats.abandoned = intents_abandoned_.load(std::memory_order_relaxed);
  stats.unresolved = intents_unresolved_.load(std::memory_order_relaxed);
  stats.unresolved_after_last_pass = intents_unresolved_after_last_pass_.load(std::memory_order_relaxed);
  stats.in_progress = intents_in_progress_.load(std::memory_order_relaxed);
  return stats;
}

// ------------------------------------------------------------------------------------------------
// Reversal

grpc::ServerUnaryReactor* CrossCitySettlementServiceImpl::ReverseSettlement(
    grpc::CallbackServerContext* context, const medical::v1::ReverseSettlementRequest* request,
    medical::v1::ReverseSettlementResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<GuardedCall> call = deps_.guard->Admit(context, reactor, Method("ReverseSettlement"),
                                                         &request->access(), &request->person(), "person");
  if (!call->admitted()) return reactor;
  absl::Status valid = CheckConfigured();
  if (valid.ok()) valid = ValidateSettlementId(request->settlement_id(), "settlement_id");
  if (!valid.ok()) {
    call->Finish(valid);
    return reactor;
  }
  std::string id = request->settlement_id();
  per_person_.Run(call->resident_id(), [this, call, id, response](KeyedSerializer::Done release) {
    auto finish = [call, response, release](const absl::Status& status) {
      if (status.ok()) {
        call->Finish(status, response, response->mutable_provenance());
      } else {
        call->Finish(status);
      }
      release();
    };
    absl::StatusOr<std::optional<LedgerEntry>> found = ledger_.Find(id);
    if (!found.ok()) return finish(found.status());
    if (!found->has_value() || (*found)->settlement.resident_id() != call->resident_id()) {
      return finish(absl::NotFoundError(
          absl::StrCat("settlement_id: the ledger has no settlement ", id, " for this person")));
    }
    LedgerEntry entry = std::move(**found);
    if (entry.caller_organization != call->caller().organization_id) {
      return finish(Refusal(absl::StatusCode::kPermissionDenied, "NOT_OWN_SETTLEMENT",
                            "only the organisation that made a settlement may reverse it"));
    }
    City insured_city = entry.settlement.insured_city().city();
    call->AddCityConsulted(insured_city);
    *response->mutable_provenance()->add_source_cities() = entry.settlement.insured_city();
    if (entry.settlement.state() == medical::v1::SETTLEMENT_STATE_REVERSED) {
      *response->mutable_settlement() = std::move(entry.settlement);
      response->set_replayed(true);
      return finish(absl::OkStatus());
    }
    const absl::Time now = deps_.clock->Now();
    deps_.cities->Find(insured_city)
        ->ReverseSettlement(
            id, call->resident_id(), settlement::ChinaDayOf(absl::ToUnixSeconds(now)), call->options(),
            [this, call, id, now, response, finish, insured_city,
             settlement = std::move(entry.settlement)](absl::StatusOr<CommitResult> reversed) mutable {
              const int year = settlement.visit_date().year();
              if (!reversed.ok()) {
                ForgetAccount(insured_city, call->resident_id(), year);  // it may have moved
                return finish(reversed.status());
              }
              RememberAccount(insured_city, call->resident_id(), year, reversed->account);
              settlement.set_state(medical::v1::SETTLEMENT_STATE_REVERSED);
              settlement.set_reversed_at_unix(absl::ToUnixSeconds(now));
              TakeAccount(reversed->account, &settlement);
              Settlement answer = settlement;
              ledger_.RecordReversal(
                  id, std::move(settlement),
                  [response, finish, answer = std::move(answer)](absl::Status recorded) mutable {
                    if (!recorded.ok()) return finish(recorded);
                    *response->mutable_settlement() = std::move(answer);
                    finish(absl::OkStatus());
                  });
            });
  });
  return reactor;
}

// ------------------------------------------------------------------------------------------------
// Clearing and reconciliation

grpc::ServerUnaryReactor* CrossCitySettlementServiceImpl::GetClearingMatrix(
    grpc::CallbackServerContext* context, const medical::v1::GetClearingMatrixRequest* request,
    medical::v1::GetClearingMatrixResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<GuardedCall> call =
      deps_.guard->Admit(context, reactor, Method("GetClearingMatrix"), nullptr, nullptr, "");
  if (!call->admitted()) return reactor;
  absl::Status valid = ValidatePeriod(request->period(), "period");
  if (!valid.ok()) {
    call->Finish(valid);
    return reactor;
  }
  work_.Schedule([this, call, request, response] {
    const common::v1::Date& from = request->period().from();
    const common::v1::Date& to = request->period().to();
    absl::StatusOr<medical::v1::ClearingMatrix> matrix =
        ledger_.Clearing(CivilDayOf(from),
                         CivilDayOf(to));
    if (!matrix.ok()) return call->Finish(matrix.status());
    *response->mutable_matrix() = std::move(*matrix);
    call->Finish(absl::OkStatus(), response);
  });
  return reactor;
}

grpc::ServerUnaryReactor* CrossCitySettlementServiceImpl::Reconcile(
    grpc::CallbackServerContext* context, const medical::v1::ReconcileRequest* request,
    medical::v1::ReconcileResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<GuardedCall> call =
      deps_.guard->Admit(context, reactor, Method("Reconcile"), nullptr, nullptr, "");
  if (!call->admitted()) return reactor;
  absl::Status valid = ValidatePeriod(request->period(), "period");
  CityAdapter* adapter = deps_.cities->Find(request->city());
  if (valid.ok() && (request->city() == City::CITY_UNSPECIFIED || adapter == nullptr)) {
    valid = FieldError("city", "is required (one of the five cities)");
  }
  if (!valid.ok()) {
    call->Finish(valid);
    return reactor;
  }
  const common::v1::Date& f = request->period().from();
  const common::v1::Date& t = request->period().to();
  absl::CivilDay from(f.year(), f.month(), f.day());
  absl::CivilDay to(t.year(), t.month(), t.day());
  City city = request->city();
  call->AddCityConsulted(city);
  adapter->ListSettlementRecords(
      from, to, call->options(),
      [this, call, response, city, from,
       to](absl::StatusOr<std::vector<adapters::SettlementRecord>> records) {
        if (!records.ok()) return call->Finish(records.status());
        work_.Schedule([this, call, response, city, from, to, records = std::move(*records)] {
          absl::StatusOr<std::vector<LedgerEntry>> ledger = ledger_.ListByInsuredCity(city, from, to);
          if (!ledger.ok()) return call->Finish(ledger.status());
          *response = settlement::Reconcile(city, from, to, *ledger, records);
          call->Finish(absl::OkStatus(), response);
        });
      });
  return reactor;
}

}  // namespace interop::services
