// The public services of the issue-5 workflows, on gRPC's callback API, through the CallGuard:
//   interop.household.v1.HouseholdMigrationService  (household offices; the citizen portal reads its own)
//   interop.social.v1.PensionTransferService         (social-security bureaus; the citizen portal reads its own)
// Start validates the request, learns what the workflow needs from the cities (the migration's
// origin and the person's registered name), and starts the workflow on the engine
// (gateway/transfers/transfer_workflows.h), answering with its first state; the workflow continues in
// the background, durably. Get and List are the engine's read model, for the person named in the
// request (a workflow of another person is NOT_FOUND, so the citizen portal's own-records check
// covers them).
//
// Thread-safe. Store reads and writes (SQLite) run on the WorkQueue, never on gRPC's threads.
#ifndef INTEROP_GATEWAY_SERVICES_TRANSFER_SERVICES_H_
#define INTEROP_GATEWAY_SERVICES_TRANSFER_SERVICES_H_

#include "gateway/base/work_queue.h"
#include "gateway/services/service_support.h"
#include "gateway/transfers/transfer_workflows.h"
#include "gateway/workflow/workflow_engine.h"
#include "interop/household/v1/migration.grpc.pb.h"
#include "interop/social/v1/pension_transfer.grpc.pb.h"

namespace interop::services {

class HouseholdMigrationServiceImpl final : public household::v1::HouseholdMigrationService::CallbackService {
 public:
  // `engine` (with the household_migration type registered) and `work` must outlive the service.
  HouseholdMigrationServiceImpl(ServiceDependencies deps, workflow::WorkflowEngine& engine, WorkQueue& work,
                                transfers::TransferWorkflowOptions options)
      : deps_(deps), engine_(engine), work_(work), options_(std::move(options)) {}

  grpc::ServerUnaryReactor* StartHouseholdMigration(grpc::CallbackServerContext* context,
                                                    const household::v1::StartHouseholdMigrationRequest* request,
                                                    household::v1::StartHouseholdMigrationResponse* response) override;
  grpc::ServerUnaryReactor* GetHouseholdMigration(grpc::CallbackServerContext* context,
                                                  const household::v1::GetHouseholdMigrationRequest* request,
                                                  household::v1::GetHouseholdMigrationResponse* response) override;
  grpc::ServerUnaryReactor* ListHouseholdMigrations(grpc::CallbackServerContext* context,
                                                    const household::v1::ListHouseholdMigrationsRequest* request,
                                                    household::v1::ListHouseholdMigrationsResponse* response) override;

 private:
  ServiceDependencies deps_;
  workflow::WorkflowEngine& engine_;
  WorkQueue& work_;
  transfers::TransferWorkflowOptions options_;
};

class PensionTransferServiceImpl final : public social::v1::PensionTransferService::CallbackService {
 public:
  // `engine` (with the pension_transfer type registered) and `work` must outlive the service.
  PensionTransferServiceImpl(ServiceDependencies deps, workflow::WorkflowEngine& engine, WorkQueue& work,
                             transfers::TransferWorkflowOptions options)
      : deps_(deps), engine_(engine), work_(work), options_(std::move(options)) {}

  grpc::ServerUnaryReactor* StartPensionTransfer(grpc::CallbackServerContext* context,
                                                 const social::v1::StartPensionTransferRequest* request,
                                                 social::v1::StartPensionTransferResponse* response) override;
  grpc::ServerUnaryReactor* GetPensionTransfer(grpc::CallbackServerContext* context,
                                               const social::v1::GetPensionTransferRequest* request,
                                               social::v1::GetPensionTransferResponse* response) override;
  grpc::ServerUnaryReactor* ListPensionTransfers(grpc::CallbackServerContext* context,
                                                 const social::v1::ListPensionTransfersRequest* request,
                                                 social::v1::ListPensionTransfersResponse* response) override;

 private:
  ServiceDependencies deps_;
  workflow::WorkflowEngine& engine_;
  WorkQueue& work_;
  transfers::TransferWorkflowOptions options_;
};

}  // namespace interop::services

#endif  // INTEROP_GATEWAY_SERVICES_TRANSFER_SERVICES_H_
