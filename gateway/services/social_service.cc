#include "gateway/services/social_service.h"

#include "absl/synchronization/mutex.h"
#include "gateway/base/cities.h"
#include "gateway/services/call_guard.h"
#include "gateway/services/contribution_merge.h"

namespace interop::services {

using social::v1::ContributionEntry;

constexpr char kGetContributionHistoryMethod[] =
    "/interop.social.v1.SocialSecurityService/GetContributionHistory";

// State of one call while the cities answer.
struct SocialSecurityServiceImpl::Gather {
  std::shared_ptr<GuardedCall> call;
  const social::v1::GetContributionHistoryRequest* request = nullptr;
  social::v1::GetContributionHistoryResponse* response = nullptr;

  absl::Mutex mu;
  int pending ABSL_GUARDED_BY(mu) = 0;
  bool from_index ABSL_GUARDED_BY(mu) = false;
  std::vector<City> cities ABSL_GUARDED_BY(mu);
  std::vector<ContributionEntry> entries ABSL_GUARDED_BY(mu);
  absl::Status first_error ABSL_GUARDED_BY(mu);
};

grpc::ServerUnaryReactor* SocialSecurityServiceImpl::GetContributionHistory(
    grpc::CallbackServerContext* context, const social::v1::GetContributionHistoryRequest* request,
    social::v1::GetContributionHistoryResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<GuardedCall> call = deps_.guard->Admit(context, reactor, kGetContributionHistoryMethod,
                                                         &request->access(), &request->person(), "person");
  if (!call->admitted()) return reactor;
  absl::Status valid = ValidateContributionQuery(*request);
  if (!valid.ok()) {
    call->Finish(valid);
    return reactor;
  }
  auto gather = std::make_shared<Gather>();
  gather->call = std::move(call);
  gather->request = request;
  gather->response = response;
  Collect(std::move(gather), /*refresh=*/false);
  return reactor;
}

void SocialSecurityServiceImpl::Collect(std::shared_ptr<Gather> gather, bool refresh) {
  const GuardedCall& call = *gather->call;
  deps_.locator->Locate(
      call.resident_id(), router::RecordDomain::kContributionHistory, refresh, call.options(),
      [this, gather, refresh](absl::StatusOr<router::LocateResult> located) {
        if (!located.ok()) return gather->call->Finish(located.status());
        {
          absl::MutexLock lock(&gather->mu);
          gather->pending = static_cast<int>(located->cities.size());
          gather->from_index = located->from_index;
          gather->cities = located->cities;
          gather->entries.clear();
          gather->first_error = absl::OkStatus();
        }
        for (City city : located->cities) {
          gather->call->AddCityConsulted(city);
          deps_.cities->Find(city)->GetMonthlyContributions(
              gather->call->resident_id(), gather->request->from_year(), gather->request->to_year(),
              gather->call->options(), [this, gather, refresh](absl::StatusOr<std::vector<ContributionEntry>> part) {
                OnPart(gather, refresh, std::move(part));
              });
        }
      });
}

void SocialSecurityServiceImpl::OnPart(const std::shared_ptr<Gather>& gather, bool refresh,
                                       absl::StatusOr<std::vector<ContributionEntry>> part) {
  absl::Status error;
  bool from_index = false;
  std::vector<ContributionEntry> entries;
  std::vector<City> cities;
  {
    absl::MutexLock lock(&gather->mu);
    if (part.ok()) {
      for (ContributionEntry& e : *part) gather->entries.push_back(std::move(e));
    } else if (gather->first_error.ok()) {
      gather->first_error = part.status();
    }
    if (--gather->pending > 0) return;
    error = gather->first_error;
    from_index = gather->from_index;
    entries = std::move(gather->entries);
    cities = gather->cities;
  }
  GuardedCall& call = *gather->call;
  if (absl::IsNotFound(error) && from_index && !refresh) {
    // A remembered city no longer holds part of the history: ask every city again.
    deps_.locator->Forget(call.resident_id(), router::RecordDomain::kContributionHistory);
    return Collect(gather, /*refresh=*/true);
  }
  if (!error.ok()) return call.Finish(error);
  social::v1::GetContributionHistoryResponse* response = gather->response;
  response->set_resident_id(call.resident_id());
  MergeContributions(*gather->request, std::move(entries), response);
  for (City city : cities) *response->mutable_provenance()->add_source_cities() = MakeCityInfo(city);
  call.Finish(absl::OkStatus(), response, response->mutable_provenance());
}

}  // namespace interop::services
