#include "gateway/services/social_service.h"

#include "absl/synchronization/mutex.h"
#include "gateway/base/cities.h"
#include "gateway/base/grpc_status.h"
#include "gateway/services/contribution_merge.h"

namespace interop::services {

using social::v1::ContributionEntry;

// State of one call while the cities answer.
struct SocialSecurityServiceImpl::Gather {
  grpc::ServerUnaryReactor* reactor = nullptr;
  const social::v1::GetContributionHistoryRequest* request = nullptr;
  social::v1::GetContributionHistoryResponse* response = nullptr;
  std::string resident_id;
  std::string request_id;
  adapters::CallOptions options;

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
  std::string request_id = AssignRequestId(context);
  absl::StatusOr<std::string> resident_id = ValidatePerson(request->person(), "person", *deps_.clock);
  absl::Status valid = resident_id.ok() ? ValidateContributionQuery(*request) : resident_id.status();
  if (!valid.ok()) {
    reactor->Finish(ToGrpcStatus(valid));
    return reactor;
  }
  auto gather = std::make_shared<Gather>();
  gather->reactor = reactor;
  gather->request = request;
  gather->response = response;
  gather->resident_id = *resident_id;
  gather->request_id = request_id;
  gather->options = CallOptionsFor(*context, request_id);
  Collect(std::move(gather), /*refresh=*/false);
  return reactor;
}

void SocialSecurityServiceImpl::Collect(std::shared_ptr<Gather> gather, bool refresh) {
  deps_.locator->Locate(
      gather->resident_id, router::RecordDomain::kContributionHistory, refresh, gather->options,
      [this, gather, refresh](absl::StatusOr<router::LocateResult> located) {
        if (!located.ok()) return gather->reactor->Finish(ToGrpcStatus(located.status()));
        {
          absl::MutexLock lock(&gather->mu);
          gather->pending = static_cast<int>(located->cities.size());
          gather->from_index = located->from_index;
          gather->cities = located->cities;
          gather->entries.clear();
          gather->first_error = absl::OkStatus();
        }
        for (City city : located->cities) {
          deps_.cities->Find(city)->GetMonthlyContributions(
              gather->resident_id, gather->request->from_year(), gather->request->to_year(), gather->options,
              [this, gather, refresh](absl::StatusOr<std::vector<ContributionEntry>> part) {
                bool last = false;
                {
                  absl::MutexLock lock(&gather->mu);
                  if (part.ok()) {
                    for (ContributionEntry& e : *part) gather->entries.push_back(std::move(e));
                  } else if (gather->first_error.ok()) {
                    gather->first_error = part.status();
                  }
                  last = --gather->pending == 0;
                }
                if (!last) return;
                absl::Status error;
                bool from_index = false;
                std::vector<ContributionEntry> entries;
                std::vector<City> cities;
                {
                  absl::MutexLock lock(&gather->mu);
                  error = gather->first_error;
                  from_index = gather->from_index;
                  entries = std::move(gather->entries);
                  cities = gather->cities;
                }
                if (absl::IsNotFound(error) && from_index && !refresh) {
                  // A remembered city no longer holds part of the history: ask every city again.
                  deps_.locator->Forget(gather->resident_id, router::RecordDomain::kContributionHistory);
                  return Collect(gather, /*refresh=*/true);
                }
                if (!error.ok()) return gather->reactor->Finish(ToGrpcStatus(error));
                gather->response->set_resident_id(gather->resident_id);
                MergeContributions(*gather->request, std::move(entries), gather->response);
                for (City city : cities) {
                  *gather->response->mutable_provenance()->add_source_cities() = MakeCityInfo(city);
                }
                gather->response->mutable_provenance()->set_request_id(gather->request_id);
                gather->reactor->Finish(grpc::Status::OK);
              });
        }
      });
}

}  // namespace interop::services
