#include "gateway/services/transfer_services.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gateway/base/cities.h"
#include "gateway/base/rich_status.h"
#include "gateway/services/call_guard.h"

namespace interop::services {
namespace {

constexpr char kMigrationService[] = "/interop.household.v1.HouseholdMigrationService/";
constexpr char kTransferService[] = "/interop.social.v1.PensionTransferService/";

bool IsCity(City city) { return city != City::CITY_UNSPECIFIED && !CityDivisionCode(city).empty(); }

// A six-digit county code of `city` (not the prefecture's own code).
bool IsCountyOf(absl::string_view code, City city) {
  const absl::string_view prefecture = CityDivisionCode(city);
  return code.size() == 6 &&
         std::all_of(code.begin(), code.end(), [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); }) &&
         code.substr(0, 4) == prefecture.substr(0, 4) && code.substr(4) != "00";
}

absl::Status CheckWorkflowId(const std::string& id, absl::string_view field) {
  if (id.empty()) return FieldError(field, "is required");
  if (id.size() > 64 || id.find('/') != std::string::npos) return FieldError(field, "is not a workflow id");
  return absl::OkStatus();
}

// The record of workflow `id` of `type` about `subject`, or NOT_FOUND.
absl::StatusOr<workflow::WorkflowRecord> GetOwn(workflow::WorkflowEngine& engine, const std::string& id,
                                                const std::string& type, const std::string& subject,
                                                absl::string_view what) {
  absl::StatusOr<workflow::WorkflowRecord> record = engine.store().Get(id);
  if ((record.ok() && (record->instance.type != type || record->instance.subject != subject)) ||
      absl::IsNotFound(record.status())) {
    return absl::NotFoundError(absl::StrCat("no ", what, " ", id, " of this person"));
  }
  return record;
}

absl::StatusOr<workflow::WorkflowPage> ListOwn(workflow::WorkflowEngine& engine, const std::string& type,
                                               const std::string& subject, int page_size,
                                               const std::string& page_token) {
  if (page_size < 0 || page_size > 500) return FieldError("page_size", "must be 0 to 500");
  workflow::WorkflowQuery query;
  query.type = type;
  query.subject = subject;
  query.page_size = page_size;
  query.page_token = page_token;
  absl::StatusOr<workflow::WorkflowPage> page = engine.store().List(query);
  if (absl::IsInvalidArgument(page.status())) return FieldError("page_token", "is not a token this gateway handed out");
  return page;
}

// Answers a Get of workflow `id` of `type` about `subject` (the caller's person), from `work`'s
// threads: NOT_FOUND for an unknown id or another person's, else `view` of it (a MigrationView or
// TransferView, with its history) put into `response` by `set`.
template <typename Response, typename ViewFn, typename SetFn>
void AnswerOwnWorkflow(WorkQueue& work, workflow::WorkflowEngine& engine, std::shared_ptr<GuardedCall> call,
                       Response* response, std::string id, const char* type, std::string subject,
                       const char* what, ViewFn view, SetFn set) {
  work.Schedule([&engine, call, response, id = std::move(id), type, subject = std::move(subject), what, view, set] {
    absl::StatusOr<workflow::WorkflowRecord> record = GetOwn(engine, id, type, subject, what);
    if (!record.ok()) return call->Finish(record.status());
    auto made = view(record->instance, &record->history);
    if (!made.ok()) return call->Finish(made.status());
    set(*std::move(made), response);
    call->Finish(absl::OkStatus(), response);
  });
}

// Answers a List of the workflows of `type` about `subject`, one page, from `work`'s threads: each
// `view` of an instance (without its history) added to `response` by `add`, and the next page's
// token.
template <typename Response, typename ViewFn, typename AddFn>
void AnswerOwnWorkflows(WorkQueue& work, workflow::WorkflowEngine& engine, std::shared_ptr<GuardedCall> call,
                        Response* response, const char* type, std::string subject, int page_size,
                        std::string page_token, ViewFn view, AddFn add) {
  work.Schedule([&engine, call, response, type, subject = std::move(subject), page_size,
                 page_token = std::move(page_token), view, add] {
    absl::StatusOr<workflow::WorkflowPage> page = ListOwn(engine, type, subject, page_size, page_token);
    if (!page.ok()) return call->Finish(page.status());
    for (const workflow::WorkflowInstance& instance : page->instances) {
      auto made = view(instance, nullptr);
      if (!made.ok()) return call->Finish(made.status());
      add(*std::move(made), response);
    }
    response->set_next_page_token(page->next_page_token);
    call->Finish(absl::OkStatus(), response);
  });
}

// The person applies in the city they move to (DESIGN: the destination issues the permit to move
// in; the new city's bureau sends the pension contact letter), so only an organisation of the
// destination city may start either workflow. PERMISSION_DENIED, reason NOT_THE_DESTINATION_CITY,
// with destination_city named, before any city is asked.
absl::Status CheckCallerIsInDestination(const GuardedCall& call, City destination) {
  if (call.caller().city == destination) return absl::OkStatus();
  const std::string description =
      absl::StrCat("the workflow is started by the destination city's agency; the caller is of ",
                   CityName(call.caller().city), ", the destination is ", CityName(destination));
  return WithFieldViolation(Refusal(absl::StatusCode::kPermissionDenied, "NOT_THE_DESTINATION_CITY",
                                    absl::StrCat("destination_city: ", description)),
                            "destination_city", description);
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// Household migration

grpc::ServerUnaryReactor* HouseholdMigrationServiceImpl::StartHouseholdMigration(
    grpc::CallbackServerContext* context, const household::v1::StartHouseholdMigrationRequest* request,
    household::v1::StartHouseholdMigrationResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<GuardedCall> call =
      deps_.guard->Admit(context, reactor, absl::StrCat(kMigrationService, "StartHouseholdMigration"),
                         &request->access(), &request->person(), "person");
  if (!call->admitted()) return reactor;
  const City destination = request->destination_city();
  const std::string address_code = request->destination_address_code();
  if (!IsCity(destination)) {
    call->Finish(FieldError("destination_city", "is required (one of the five cities)"));
    return reactor;
  }
  if (!IsCountyOf(address_code, destination)) {
    call->Finish(FieldError("destination_address_code",
                            absl::StrCat("must be the six-digit code of a county of ", CityName(destination))));
    return reactor;
  }
  if (absl::Status allowed = CheckCallerIsInDestination(*call, destination); !allowed.ok()) {
    call->Finish(allowed);
    return reactor;
  }
  FetchFromHolder<household::v1::GetHouseholdRecordResponse>(
      deps_, call->resident_id(), router::RecordDomain::kHouseholdRegistration, call->options(),
      [call](adapters::CityAdapter& adapter, adapters::Callback<household::v1::GetHouseholdRecordResponse> done) {
        adapter.GetHouseholdRecord(call->resident_id(), call->options(), std::move(done));
      },
      [call](City city) { call->AddCityConsulted(city); },
      [this, call, response, destination, address_code](
          City origin, absl::StatusOr<household::v1::GetHouseholdRecordResponse> record) {
        if (!record.ok()) return call->Finish(record.status());
        if (origin == destination) {
          // About one field of the request: named in a BadRequest besides the ErrorInfo reason.
          const std::string description =
              absl::StrCat("the person is registered in ", CityName(destination), " already");
          return call->Finish(WithFieldViolation(
              Refusal(absl::StatusCode::kFailedPrecondition, "ALREADY_REGISTERED_THERE",
                      absl::StrCat("destination_city: ", description)),
              "destination_city", description));
        }
        workflow::StartWorkflowRequest start = transfers::NewHouseholdMigration(
            call->resident_id(), record->name(), origin, destination, address_code, options_.timeout);
        start.request_id = call->options().request_id;
        work_.Schedule([this, call, response, start = std::move(start)] {
          absl::StatusOr<std::string> id = engine_.StartWorkflow(start);
          if (!id.ok()) return call->Finish(id.status());
          absl::StatusOr<workflow::WorkflowRecord> started = engine_.store().Get(*id);
          if (!started.ok()) return call->Finish(started.status());
          absl::StatusOr<household::v1::HouseholdMigration> view =
              transfers::MigrationView(started->instance, &started->history);
          if (!view.ok()) return call->Finish(view.status());
          *response->mutable_migration() = *std::move(view);
          call->Finish(absl::OkStatus(), response);
        });
      });
  return reactor;
}

grpc::ServerUnaryReactor* HouseholdMigrationServiceImpl::GetHouseholdMigration(
    grpc::CallbackServerContext* context, const household::v1::GetHouseholdMigrationRequest* request,
    household::v1::GetHouseholdMigrationResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<GuardedCall> call =
      deps_.guard->Admit(context, reactor, absl::StrCat(kMigrationService, "GetHouseholdMigration"),
                         &request->access(), &request->person(), "person");
  if (!call->admitted()) return reactor;
  absl::Status valid = CheckWorkflowId(request->migration_id(), "migration_id");
  if (!valid.ok()) {
    call->Finish(valid);
    return reactor;
  }
  AnswerOwnWorkflow(work_, engine_, call, response, request->migration_id(), transfers::kHouseholdMigrationType,
                    transfers::HouseholdSubject(call->resident_id()), "household migration",
                    transfers::MigrationView,
                    [](household::v1::HouseholdMigration view, household::v1::GetHouseholdMigrationResponse* r) {
                      *r->mutable_migration() = std::move(view);
                    });
  return reactor;
}

grpc::ServerUnaryReactor* HouseholdMigrationServiceImpl::ListHouseholdMigrations(
    grpc::CallbackServerContext* context, const household::v1::ListHouseholdMigrationsRequest* request,
    household::v1::ListHouseholdMigrationsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<GuardedCall> call =
      deps_.guard->Admit(context, reactor, absl::StrCat(kMigrationService, "ListHouseholdMigrations"),
                         &request->access(), &request->person(), "person");
  if (!call->admitted()) return reactor;
  AnswerOwnWorkflows(work_, engine_, call, response, transfers::kHouseholdMigrationType,
                     transfers::HouseholdSubject(call->resident_id()), request->page_size(), request->page_token(),
                     transfers::MigrationView,
                     [](household::v1::HouseholdMigration view, household::v1::ListHouseholdMigrationsResponse* r) {
                       *r->add_migrations() = std::move(view);
                     });
  return reactor;
}

// ------------------------------------------------------------------------------------------------
// Pension transfer

grpc::ServerUnaryReactor* PensionTransferServiceImpl::StartPensionTransfer(
    grpc::CallbackServerContext* context, const social::v1::StartPensionTransferRequest* request,
    social::v1::StartPensionTransferResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<GuardedCall> call =
      deps_.guard->Admit(context, reactor, absl::StrCat(kTransferService, "StartPensionTransfer"),
                         &request->access(), &request->person(), "person");
  if (!call->admitted()) return reactor;
  const City origin = request->origin_city();
  const City destination = request->destination_city();
  absl::Status valid = absl::OkStatus();
  if (!IsCity(origin)) {
    valid = FieldError("origin_city", "is required (one of the five cities)");
  } else if (!IsCity(destination)) {
    valid = FieldError("destination_city", "is required (one of the five cities)");
  } else if (origin == destination) {
    valid = FieldError("destination_city", "is the origin city");
  } else {
    valid = CheckCallerIsInDestination(*call, destination);
  }
  if (!valid.ok()) {
    call->Finish(valid);
    return reactor;
  }
  call->AddCityConsulted(origin);
  call->AddCityConsulted(destination);
  workflow::StartWorkflowRequest start =
      transfers::NewPensionTransfer(call->resident_id(), origin, destination, options_.timeout);
  start.request_id = call->options().request_id;
  work_.Schedule([this, call, response, start = std::move(start)] {
    absl::StatusOr<std::string> id = engine_.StartWorkflow(start);
    if (!id.ok()) return call->Finish(id.status());
    absl::StatusOr<workflow::WorkflowRecord> started = engine_.store().Get(*id);
    if (!started.ok()) return call->Finish(started.status());
    absl::StatusOr<social::v1::PensionTransfer> view = transfers::TransferView(started->instance, &started->history);
    if (!view.ok()) return call->Finish(view.status());
    *response->mutable_transfer() = *std::move(view);
    call->Finish(absl::OkStatus(), response);
  });
  return reactor;
}

grpc::ServerUnaryReactor* PensionTransferServiceImpl::GetPensionTransfer(
    grpc::CallbackServerContext* context, const social::v1::GetPensionTransferRequest* request,
    social::v1::GetPensionTransferResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<GuardedCall> call =
      deps_.guard->Admit(context, reactor, absl::StrCat(kTransferService, "GetPensionTransfer"), &request->access(),
                         &request->person(), "person");
  if (!call->admitted()) return reactor;
  absl::Status valid = CheckWorkflowId(request->transfer_id(), "transfer_id");
  if (!valid.ok()) {
    call->Finish(valid);
    return reactor;
  }
  AnswerOwnWorkflow(work_, engine_, call, response, request->transfer_id(), transfers::kPensionTransferType,
                    transfers::PensionSubject(call->resident_id()), "pension transfer", transfers::TransferView,
                    [](social::v1::PensionTransfer view, social::v1::GetPensionTransferResponse* r) {
                      *r->mutable_transfer() = std::move(view);
                    });
  return reactor;
}

grpc::ServerUnaryReactor* PensionTransferServiceImpl::ListPensionTransfers(
    grpc::CallbackServerContext* context, const social::v1::ListPensionTransfersRequest* request,
    social::v1::ListPensionTransfersResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::shared_ptr<GuardedCall> call =
      deps_.guard->Admit(context, reactor, absl::StrCat(kTransferService, "ListPensionTransfers"),
                         &request->access(), &request->person(), "person");
  if (!call->admitted()) return reactor;
  AnswerOwnWorkflows(work_, engine_, call, response, transfers::kPensionTransferType,
                     transfers::PensionSubject(call->resident_id()), request->page_size(), request->page_token(),
                     transfers::TransferView,
                     [](social::v1::PensionTransfer view, social::v1::ListPensionTransfersResponse* r) {
                       *r->add_transfers() = std::move(view);
                     });
  return reactor;
}

}  // namespace interop::services
