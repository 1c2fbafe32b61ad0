// The public interop.accesslog.v1.AccessLogService: "who read my records" and log verification.
//
// Reads of the log run on a WorkQueue, never on gRPC's reactor threads. Thread-safe.
#ifndef INTEROP_GATEWAY_SERVICES_ACCESS_LOG_SERVICE_H_
#define INTEROP_GATEWAY_SERVICES_ACCESS_LOG_SERVICE_H_

#include "gateway/accesslog/access_log.h"
#include "gateway/base/work_queue.h"
#include "gateway/services/service_support.h"
#include "interop/accesslog/v1/access_log.grpc.pb.h"

namespace interop::services {

class AccessLogServiceImpl final : public accesslog::v1::AccessLogService::CallbackService {
 public:
  // `log` and `work` must outlive the service.
  AccessLogServiceImpl(ServiceDependencies deps, accesslog::AccessLog& log, WorkQueue& work)
      : deps_(deps), log_(log), work_(work) {}

  grpc::ServerUnaryReactor* ListAccessesToPerson(grpc::CallbackServerContext* context,
                                                 const accesslog::v1::ListAccessesToPersonRequest* request,
                                                 accesslog::v1::ListAccessesToPersonResponse* response) override;
  grpc::ServerUnaryReactor* VerifyAccessLog(grpc::CallbackServerContext* context,
                                            const accesslog::v1::VerifyAccessLogRequest* request,
                                            accesslog::v1::VerifyAccessLogResponse* response) override;

 private:
  ServiceDependencies deps_;
  accesslog::AccessLog& log_;
  WorkQueue& work_;
};

// The public view of a stored record.
accesslog::v1::AccessEvent ToAccessEvent(const accesslog::AccessRecord& record);

}  // namespace interop::services

#endif  // INTEROP_GATEWAY_SERVICES_ACCESS_LOG_SERVICE_H_
