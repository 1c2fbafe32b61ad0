// The public interop.social.v1.SocialSecurityService, on gRPC's callback API.
//
// A person's contribution history may be spread over several cities; the handler asks every city
// that holds part of it at once and answers only when all parts are in (or fails, naming the city
// that did not answer). Thread-safe; handlers never block.
#ifndef INTEROP_GATEWAY_SERVICES_SOCIAL_SERVICE_H_
#define INTEROP_GATEWAY_SERVICES_SOCIAL_SERVICE_H_

#include "gateway/services/service_support.h"
#include "interop/social/v1/social.grpc.pb.h"

namespace interop::services {

class SocialSecurityServiceImpl final : public social::v1::SocialSecurityService::CallbackService {
 public:
  explicit SocialSecurityServiceImpl(ServiceDependencies deps) : deps_(deps) {}

  grpc::ServerUnaryReactor* GetContributionHistory(grpc::CallbackServerContext* context,
                                                   const social::v1::GetContributionHistoryRequest* request,
                                                   social::v1::GetContributionHistoryResponse* response) override;

 private:
  struct Gather;
  void Collect(std::shared_ptr<Gather> gather, bool refresh);
  void OnPart(const std::shared_ptr<Gather>& gather, bool refresh,
              absl::StatusOr<std::vector<social::v1::ContributionEntry>> part);

  ServiceDependencies deps_;
};

}  // namespace interop::services

#endif  // INTEROP_GATEWAY_SERVICES_SOCIAL_SERVICE_H_
