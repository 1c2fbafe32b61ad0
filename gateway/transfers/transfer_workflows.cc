#include "gateway/transfers/transfer_workflows.h"

#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/base/cities.h"
#include "gateway/base/dates.h"
#include "gateway/transfers/pension_funds.h"

namespace interop::transfers {
namespace {

using adapters::CityAdapter;
using workflow::OutboxMessage;
using workflow::StepContext;
using workflow::StepDone;
using workflow::Transition;
using workflow::WorkflowInstance;
using HouseholdData = interop::transfers::v1::HouseholdMigrationData;
using PensionData = interop::transfers::v1::PensionTransferData;

// States (the names are stored; never rename).
constexpr char kApplied[] = "applied";
constexpr char kPermitIssued[] = "permit_issued";
constexpr char kMovedOut[] = "moved_out";
constexpr char kSettled[] = "settled";
constexpr char kLetterSent[] = "letter_sent";
constexpr char kSheetChecked[] = "sheet_checked";
constexpr char kTransferredOut[] = "transferred_out";
constexpr char kConfirmed[] = "confirmed";
constexpr char kRejected[] = "rejected";

bool IsRetryable(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) || absl::IsAborted(status);
}

// A city's refusal, as opposed to a failure to answer or an untranslatable answer.
bool IsRefusal(const absl::Status& status) {
  return absl::IsNotFound(status) || absl::IsFailedPrecondition(status) || absl::IsInvalidArgument(status) ||
         absl::IsAlreadyExists(status) || absl::IsUnimplemented(status);
}

// Before the point of no return: a refusal ends in `rejected`, anything else is the engine's to
// retry or fail.
absl::StatusOr<Transition> RejectOrFail(const absl::Status& status, const std::string& data) {
  if (!IsRetryable(status) && IsRefusal(status)) {
    Transition t = Transition::To(kRejected);
    t.data = data;
    t.reason = std::string(status.message());
    return t;
  }
  return status;
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3S%Ez", t, absl::FixedTimeZone(8 * 3600));
}

template <typename Data>
absl::StatusOr<Data> Parse(const WorkflowInstance& instance) {
  Data data;
  if (!data.ParseFromString(instance.data)) {
    return absl::InternalError(absl::StrCat("workflow ", instance.workflow_id, ": its data is not a ",
                                            Data::descriptor()->full_name()));
  }
  return data;
}

// Which of the workflow's two cities a step calls.
enum class Party { kOrigin, kDestination };

// What a step does when its city is not connected to this gateway (a refusal: nothing to retry).
enum class MissingCity {
  kReject,  // before the point of no return: the workflow ends `rejected` with the reason
  kFail,    // past it: the error goes to the engine, which ends the workflow FAILED
};

// What every step starts from: the workflow's data, the adapter of the city it calls, and the
// options of its calls to that city (the step's call deadline from now; the workflow id as the
// request id).
template <typename Data>
struct StepStart {
  Data data;
  CityAdapter* city = nullptr;
  adapters::CallOptions call;
};

// The preamble every step shares. On failure it has already called `done` (data that does not
// parse: INTERNAL, for the engine; a missing city: as `missing` says) and returns nullopt; the
// step then returns without calling `done` again.
template <typename Data>
std::optional<StepStart<Data>> BeginStep(router::CityDirectory& cities, const TransferWorkflowOptions& options,
                                         const WorkflowInstance& instance, Party party, MissingCity missing,
                                         StepDone& done) {
  absl::StatusOr<Data> data = Parse<Data>(instance);
  if (!data.ok()) {
    done(data.status());
    return std::nullopt;
  }
  const City city =
      party == Party::kOrigin ? data->view().origin_city().city() : data->view().destination_city().city();
  CityAdapter* adapter = cities.Find(city);
  if (adapter == nullptr) {
    absl::Status error =
        absl::FailedPreconditionError(absl::StrCat("city ", CityName(city), " is not connected to this gateway"));
    if (missing == MissingCity::kReject) {
      done(RejectOrFail(error, instance.data));
    } else {
      done(std::move(error));
    }
    return std::nullopt;
  }
  StepStart<Data> start;
  start.data = *std::move(data);
  start.city = adapter;
  start.call.deadline = absl::Now() + options.call_deadline;
  start.call.request_id = instance.workflow_id;
  return start;
}

common::v1::WorkflowStatus ToProtoStatus(workflow::WorkflowStatus status) {
  return static_cast<common::v1::WorkflowStatus>(static_cast<int>(status));
}

void AddHistory(const std::vector<workflow::HistoryEvent>& history,
                google::protobuf::RepeatedPtrField<common::v1::WorkflowEvent>* out) {
  for (const workflow::HistoryEvent& e : history) {
    common::v1::WorkflowEvent* event = out->Add();
    event->set_seq(e.seq);
    event->set_at(Rfc3339(e.at));
    event->set_kind(std::string(workflow::HistoryKindName(e.kind)));
    event->set_from_state(e.from_state);
    event->set_to_state(e.to_state);
    event->set_status(ToProtoStatus(e.status));
    event->set_attempt(e.attempt);
    event->set_reason(e.reason);
  }
}

// ------------------------------------------------------------------------------------------------
// Household migration

void IssuePermit(router::CityDirectory& cities, const TransferWorkflowOptions& options,
                 const WorkflowInstance& instance, StepContext& context, StepDone done) {
  std::optional<StepStart<HouseholdData>> step =
      BeginStep<HouseholdData>(cities, options, instance, Party::kDestination, MissingCity::kReject, done);
  if (!step.has_value()) return;
  const household::v1::HouseholdMigration& view = step->data.view();
  step->city->IssueMoveInPermit(
      context.IdempotencyKey("move_in_permit"), view.resident_id(), view.origin_city().city(),
      view.destination_address_code(), step->call,
      [data = step->data, done = std::move(done),
       raw = instance.data](absl::StatusOr<adapters::MoveInPermit> permit) mutable {
        if (!permit.ok()) return done(RejectOrFail(permit.status(), raw));
        household::v1::HouseholdMigration* view = data.mutable_view();
        view->set_permit_number(permit->permit_number);
        *view->mutable_permit_valid_until() = DateOf(permit->valid_until);
        view->set_state(household::v1::MIGRATION_STATE_PERMIT_ISSUED);
        Transition t = Transition::To(
            kPermitIssued, {OutboxMessage{"move_out", std::string(CityName(view->origin_city().city())),
                                          permit->permit_number}});
        t.data = data.SerializeAsString();
        done(std::move(t));
      });
}

void MoveOut(router::CityDirectory& cities, const TransferWorkflowOptions& options, const WorkflowInstance& instance,
             StepContext& context, StepDone done) {
  std::optional<StepStart<HouseholdData>> step =
      BeginStep<HouseholdData>(cities, options, instance, Party::kOrigin, MissingCity::kReject, done);
  if (!step.has_value()) return;
  const household::v1::HouseholdMigration& view = step->data.view();
  step->city->RecordMoveOut(
      context.IdempotencyKey("move_out"), view.resident_id(), view.destination_city().city(), view.permit_number(),
      CivilDayOf(view.permit_valid_until()), step->call,
      [data = step->data, done = std::move(done),
       raw = instance.data](absl::StatusOr<adapters::MoveOutRecord> record) mutable {
        if (!record.ok()) return done(RejectOrFail(record.status(), raw));
        household::v1::HouseholdMigration* view = data.mutable_view();
        view->set_previous_address_code(record->previous_address_code);
        *view->mutable_moved_out_on() = DateOf(record->moved_out_on);
        view->set_state(household::v1::MIGRATION_STATE_MOVED_OUT);
        Transition t = Transition::To(
            kMovedOut, {OutboxMessage{"settle_in", std::string(CityName(view->destination_city().city())),
                                      view->destination_address_code()}});
        t.data = data.SerializeAsString();
        done(std::move(t));
      });
}

void SettleIn(router::CityDirectory& cities, const TransferWorkflowOptions& options, const WorkflowInstance& instance,
              StepContext& context, StepDone done) {
  // Past the point of no return: never rejected, only retried or failed.
  std::optional<StepStart<HouseholdData>> step =
      BeginStep<HouseholdData>(cities, options, instance, Party::kDestination, MissingCity::kFail, done);
  if (!step.has_value()) return;
  const household::v1::HouseholdMigration& view = step->data.view();
  step->city->SettleIn(
      context.IdempotencyKey("settle_in"), view.resident_id(), view.permit_number(), view.destination_address_code(),
      step->data.name(), step->call,
      [data = step->data, done = std::move(done), on_moved = options.on_household_moved](
          absl::StatusOr<adapters::SettleInResult> result) mutable {
        if (!result.ok()) return done(result.status());
        household::v1::HouseholdMigration* view = data.mutable_view();
        view->set_household_number(result->registration.household_number());
        *view->mutable_settled_on() = result->registration.registered_since();
        view->set_state(household::v1::MIGRATION_STATE_SETTLED);
        if (on_moved) on_moved(view->resident_id());
        Transition t = Transition::To(kSettled);
        t.data = data.SerializeAsString();
        done(std::move(t));
      });
}

// ------------------------------------------------------------------------------------------------
// Pension transfer

void ApplyAndSendLetter(router::CityDirectory& cities, const TransferWorkflowOptions& options,
                        const WorkflowInstance& instance, StepContext& context, StepDone done) {
  std::optional<StepStart<PensionData>> step =
      BeginStep<PensionData>(cities, options, instance, Party::kDestination, MissingCity::kReject, done);
  if (!step.has_value()) return;
  const social::v1::PensionTransfer& view = step->data.view();
  CityAdapter* destination = step->city;
  const adapters::CallOptions call = step->call;
  const std::string letter_key = context.IdempotencyKey("contact_letter");
  destination->ApplyPensionTransfer(
      context.IdempotencyKey("application"), view.resident_id(), view.origin_city().city(), call,
      [destination, call, letter_key, data = step->data, done = std::move(done),
       raw = instance.data](absl::StatusOr<adapters::PensionApplication> application) mutable {
        if (!application.ok()) return done(RejectOrFail(application.status(), raw));
        data.mutable_view()->set_application_number(application->application_number);
        const std::string resident_id = data.view().resident_id();
        destination->IssueContactLetter(
            letter_key, resident_id, application->application_number, call,
            [data = std::move(data), done = std::move(done),
             raw = std::move(raw)](absl::StatusOr<adapters::ContactLetter> letter) mutable {
              if (!letter.ok()) return done(RejectOrFail(letter.status(), raw));
              social::v1::PensionTransfer* view = data.mutable_view();
              view->set_letter_number(letter->letter_number);
              view->set_state(social::v1::TRANSFER_STATE_LETTER_SENT);
              Transition t = Transition::To(
                  kLetterSent, {OutboxMessage{"prepare_out", std::string(CityName(view->origin_city().city())),
                                              letter->letter_number}});
              t.data = data.SerializeAsString();
              done(std::move(t));
            });
      });
}

void PrepareAndCheck(router::CityDirectory& cities, const TransferWorkflowOptions& options,
                     const WorkflowInstance& instance, StepContext& context, StepDone done) {
  std::optional<StepStart<PensionData>> step =
      BeginStep<PensionData>(cities, options, instance, Party::kOrigin, MissingCity::kReject, done);
  if (!step.has_value()) return;
  const social::v1::PensionTransfer& view = step->data.view();
  CityAdapter* origin = step->city;
  const adapters::CallOptions call = step->call;
  origin->PreparePensionTransferOut(
      context.IdempotencyKey("prepare_out"), view.resident_id(), view.destination_city().city(),
      view.letter_number(), call,
      [origin, call, data = step->data, done = std::move(done),
       raw = instance.data](absl::StatusOr<adapters::PreparedTransferOut> prepared) mutable {
        if (!prepared.ok()) return done(RejectOrFail(prepared.status(), raw));
        absl::Status checked = CheckSheet(prepared->sheet);
        if (!checked.ok()) return done(RejectOrFail(checked, raw));
        const std::string resident_id = data.view().resident_id();
        // The sheet must be the history the origin serves (read before its relationship ends).
        origin->GetMonthlyContributions(
            resident_id, 0, 0, call,
            [sheet = std::move(prepared->sheet), data = std::move(data), done = std::move(done),
             raw = std::move(raw)](absl::StatusOr<std::vector<social::v1::ContributionEntry>> history) mutable {
              if (!history.ok()) return done(RejectOrFail(history.status(), raw));
              absl::Status against = CheckSheetAgainstHistory(sheet, *history);
              if (!against.ok()) return done(RejectOrFail(against, raw));
              social::v1::PensionTransfer* view = data.mutable_view();
              view->clear_sheet();
              for (const adapters::PensionSheetYear& y : sheet.years) {
                social::v1::SheetYear* year = view->add_sheet();
                year->set_year(y.year);
                year->set_months(y.months);
                year->mutable_wage_base_total()->set_fen(y.wage_base_total_fen);
                year->mutable_personal_amount()->set_fen(y.personal_fen);
                year->mutable_employer_amount()->set_fen(y.employer_fen);
              }
              view->set_months_transferred(static_cast<int32_t>(sheet.months.size()));
              view->mutable_personal_account()->set_fen(sheet.personal_account_fen);
              view->mutable_pooled_fund()->set_fen(sheet.pooled_fund_fen);
              view->set_state(social::v1::TRANSFER_STATE_SHEET_CHECKED);
              data.clear_sheet_months();
              for (social::v1::ContributionEntry& m : sheet.months) *data.add_sheet_months() = std::move(m);
              Transition t = Transition::To(
                  kSheetChecked, {OutboxMessage{"complete_out", std::string(CityName(view->origin_city().city())),
                                                absl::StrCat(sheet.personal_account_fen, "+", sheet.pooled_fund_fen)}});
              t.data = data.SerializeAsString();
              done(std::move(t));
            });
      });
}

void CompleteOut(router::CityDirectory& cities, const TransferWorkflowOptions& options,
                 const WorkflowInstance& instance, StepContext& context, StepDone done) {
  std::optional<StepStart<PensionData>> step =
      BeginStep<PensionData>(cities, options, instance, Party::kOrigin, MissingCity::kReject, done);
  if (!step.has_value()) return;
  const social::v1::PensionTransfer& view = step->data.view();
  step->city->CompletePensionTransferOut(
      context.IdempotencyKey("complete_out"), view.resident_id(), view.destination_city().city(),
      view.letter_number(), view.personal_account().fen(), view.pooled_fund().fen(), step->call,
      [data = step->data, done = std::move(done),
       raw = instance.data](absl::StatusOr<adapters::TransferOutCompletion> completion) mutable {
        if (!completion.ok()) return done(RejectOrFail(completion.status(), raw));
        social::v1::PensionTransfer* view = data.mutable_view();
        view->set_funds_in_flight(true);
        view->set_state(social::v1::TRANSFER_STATE_TRANSFERRED_OUT);
        Transition t = Transition::To(
            kTransferredOut, {OutboxMessage{"confirm_in", std::string(CityName(view->destination_city().city())),
                                            view->application_number()}});
        t.data = data.SerializeAsString();
        done(std::move(t));
      });
}

void ConfirmIn(router::CityDirectory& cities, const TransferWorkflowOptions& options,
               const WorkflowInstance& instance, StepContext& context, StepDone done) {
  // Past the point of no return: never rejected, only retried or failed.
  std::optional<StepStart<PensionData>> step =
      BeginStep<PensionData>(cities, options, instance, Party::kDestination, MissingCity::kFail, done);
  if (!step.has_value()) return;
  const social::v1::PensionTransfer& view = step->data.view();
  step->city->ConfirmPensionTransferIn(
      context.IdempotencyKey("confirm_in"), view.resident_id(), view.application_number(),
      view.origin_city().city(), SheetOf(step->data), step->call,
      [data = step->data, done = std::move(done),
       on_moved = options.on_pension_moved](absl::StatusOr<adapters::TransferInConfirmation> confirmation) mutable {
        if (!confirmation.ok()) return done(confirmation.status());
        social::v1::PensionTransfer* view = data.mutable_view();
        view->set_funds_in_flight(false);
        view->set_applicant_notified(confirmation->applicant_notified);
        view->set_state(social::v1::TRANSFER_STATE_CONFIRMED);
        if (on_moved) on_moved(view->resident_id());
        Transition t = Transition::To(kConfirmed);
        t.data = data.SerializeAsString();
        done(std::move(t));
      });
}

// Binds a step function to the directory and options.
template <typename F>
workflow::StepFunction Bind(F f, router::CityDirectory& cities, const TransferWorkflowOptions& options) {
  return [f, &cities, options](const WorkflowInstance& instance, StepContext& context, StepDone done) {
    f(cities, options, instance, context, std::move(done));
  };
}

}  // namespace

std::string HouseholdSubject(const std::string& resident_id) { return absl::StrCat("household:", resident_id); }
std::string PensionSubject(const std::string& resident_id) { return absl::StrCat("pension:", resident_id); }

workflow::WorkflowDefinition HouseholdMigrationDefinition(router::CityDirectory& cities,
                                                          TransferWorkflowOptions options) {
  workflow::WorkflowDefinition d;
  d.type = kHouseholdMigrationType;
  d.initial_state = kApplied;
  d.default_timeout = options.timeout;
  d.states[kApplied] = workflow::StateDefinition::Step(Bind(IssuePermit, cities, options));
  d.states[kPermitIssued] = workflow::StateDefinition::Step(Bind(MoveOut, cities, options));
  d.states[kMovedOut] =
      workflow::StateDefinition::Step(Bind(SettleIn, cities, options), /*subject_to_deadline=*/false);
  d.states[kSettled] = workflow::StateDefinition::Final(workflow::WorkflowStatus::kSucceeded);
  d.states[kRejected] = workflow::StateDefinition::Final(workflow::WorkflowStatus::kRejected);
  return d;
}

workflow::WorkflowDefinition PensionTransferDefinition(router::CityDirectory& cities, TransferWorkflowOptions options) {
  workflow::WorkflowDefinition d;
  d.type = kPensionTransferType;
  d.initial_state = kApplied;
  d.default_timeout = options.timeout;
  d.states[kApplied] = workflow::StateDefinition::Step(Bind(ApplyAndSendLetter, cities, options));
  d.states[kLetterSent] = workflow::StateDefinition::Step(Bind(PrepareAndCheck, cities, options));
  d.states[kSheetChecked] = workflow::StateDefinition::Step(Bind(CompleteOut, cities, options));
  d.states[kTransferredOut] =
      workflow::StateDefinition::Step(Bind(ConfirmIn, cities, options), /*subject_to_deadline=*/false);
  d.states[kConfirmed] = workflow::StateDefinition::Final(workflow::WorkflowStatus::kSucceeded);
  d.states[kRejected] = workflow::StateDefinition::Final(workflow::WorkflowStatus::kRejected);
  return d;
}

workflow::StartWorkflowRequest NewHouseholdMigration(const std::string& resident_id, const std::string& name,
                                                     City origin, City destination,
                                                     const std::string& address_code, absl::Duration timeout) {
  HouseholdData data;
  household::v1::HouseholdMigration* view = data.mutable_view();
  view->set_resident_id(resident_id);
  *view->mutable_origin_city() = MakeCityInfo(origin);
  *view->mutable_destination_city() = MakeCityInfo(destination);
  view->set_destination_address_code(address_code);
  view->set_state(household::v1::MIGRATION_STATE_APPLIED);
  data.set_name(name);
  workflow::StartWorkflowRequest start;
  start.type = kHouseholdMigrationType;
  start.subject = HouseholdSubject(resident_id);
  start.data = data.SerializeAsString();
  start.outbox = {OutboxMessage{"move_in_permit", std::string(CityName(destination)), address_code}};
  start.timeout = timeout;
  return start;
}

workflow::StartWorkflowRequest NewPensionTransfer(const std::string& resident_id, City origin, City destination,
                                                  absl::Duration timeout) {
  PensionData data;
  social::v1::PensionTransfer* view = data.mutable_view();
  view->set_resident_id(resident_id);
  *view->mutable_origin_city() = MakeCityInfo(origin);
  *view->mutable_destination_city() = MakeCityInfo(destination);
  view->set_state(social::v1::TRANSFER_STATE_APPLIED);
  workflow::StartWorkflowRequest start;
  start.type = kPensionTransferType;
  start.subject = PensionSubject(resident_id);
  start.data = data.SerializeAsString();
  start.outbox = {OutboxMessage{"application", std::string(CityName(destination)), std::string(CityName(origin))},
                  OutboxMessage{"contact_letter", std::string(CityName(destination)), ""}};
  start.timeout = timeout;
  return start;
}

absl::StatusOr<household::v1::HouseholdMigration> MigrationView(const WorkflowInstance& instance,
                                                                const std::vector<workflow::HistoryEvent>* history) {
  absl::StatusOr<HouseholdData> data = Parse<HouseholdData>(instance);
  if (!data.ok()) return data.status();
  household::v1::HouseholdMigration view = data->view();
  view.set_migration_id(instance.workflow_id);
  if (instance.state == kRejected) view.set_state(household::v1::MIGRATION_STATE_REJECTED);
  view.set_status(ToProtoStatus(instance.status));
  view.set_reason(instance.reason);
  view.set_created_at(Rfc3339(instance.created_at));
  if (history != nullptr) AddHistory(*history, view.mutable_history());
  return view;
}

absl::StatusOr<social::v1::PensionTransfer> TransferView(const WorkflowInstance& instance,
                                                         const std::vector<workflow::HistoryEvent>* history) {
  absl::StatusOr<PensionData> data = Parse<PensionData>(instance);
  if (!data.ok()) return data.status();
  social::v1::PensionTransfer view = data->view();
  view.set_transfer_id(instance.workflow_id);
  if (instance.state == kRejected) view.set_state(social::v1::TRANSFER_STATE_REJECTED);
  view.set_status(ToProtoStatus(instance.status));
  view.set_reason(instance.reason);
  view.set_created_at(Rfc3339(instance.created_at));
  if (history != nullptr) AddHistory(*history, view.mutable_history());
  return view;
}

adapters::PensionTransferSheet SheetOf(const PensionData& data) {
  adapters::PensionTransferSheet sheet;
  for (const social::v1::SheetYear& y : data.view().sheet()) {
    sheet.years.push_back(adapters::PensionSheetYear{y.year(), y.months(), y.wage_base_total().fen(),
                                                     y.personal_amount().fen(), y.employer_amount().fen()});
  }
  sheet.months.assign(data.sheet_months().begin(), data.sheet_months().end());
  sheet.personal_account_fen = data.view().personal_account().fen();
  sheet.pooled_fund_fen = data.view().pooled_fund().fen();
  return sheet;
}

}  // namespace interop::transfers
