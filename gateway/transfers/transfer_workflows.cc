#include "gateway/transfers/transfer_workflows.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/base/cities.h"
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

adapters::CallOptions OptionsFor(const StepContext& context, absl::Duration call_deadline,
                                 const std::string& workflow_id) {
  adapters::CallOptions options;
  options.deadline = absl::Now() + call_deadline;
  options.request_id = workflow_id;
  return options;
}

common::v1::Date ToDate(absl::CivilDay day) {
  common::v1::Date d;
  d.set_year(static_cast<int32_t>(day.year()));
  d.set_month(day.month());
  d.set_day(day.day());
  return d;
}

absl::CivilDay FromDate(const common::v1::Date& d) { return absl::CivilDay(d.year(), d.month(), d.day()); }

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3S%Ez", t, absl::FixedTimeZone(8 * 3600));
}

// Looks up an adapter; a city missing from the configuration is a refusal (nothing to retry).
CityAdapter* Adapter(router::CityDirectory& cities, City city, absl::Status* error) {
  CityAdapter* adapter = cities.Find(city);
  if (adapter == nullptr) {
    *error = absl::FailedPreconditionError(absl::StrCat("city ", CityName(city), " is not connected to this gateway"));
  }
  return adapter;
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
  absl::StatusOr<HouseholdData> data = Parse<HouseholdData>(instance);
  if (!data.ok()) return done(data.status());
  const household::v1::HouseholdMigration& view = data->view();
  absl::Status missing;
  CityAdapter* destination = Adapter(cities, view.destination_city().city(), &missing);
  if (destination == nullptr) return done(RejectOrFail(missing, instance.data));
  destination->IssueMoveInPermit(
      context.IdempotencyKey("move_in_permit"), view.resident_id(), view.origin_city().city(),
      view.destination_address_code(), OptionsFor(context, options.call_deadline, instance.workflow_id),
      [data = *data, done = std::move(done), raw = instance.data](absl::StatusOr<adapters::MoveInPermit> permit) mutable {
        if (!permit.ok()) return done(RejectOrFail(permit.status(), raw));
        household::v1::HouseholdMigration* view = data.mutable_view();
        view->set_permit_number(permit->permit_number);
        *view->mutable_permit_valid_until() = ToDate(permit->valid_until);
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
  absl::StatusOr<HouseholdData> data = Parse<HouseholdData>(instance);
  if (!data.ok()) return done(data.status());
  const household::v1::HouseholdMigration& view = data->view();
  absl::Status missing;
  CityAdapter* origin = Adapter(cities, view.origin_city().city(), &missing);
  if (origin == nullptr) return done(RejectOrFail(missing, instance.data));
  origin->RecordMoveOut(
      context.IdempotencyKey("move_out"), view.resident_id(), view.destination_city().city(), view.permit_number(),
      FromDate(view.permit_valid_until()), OptionsFor(context, options.call_deadline, instance.workflow_id),
      [data = *data, done = std::move(done), raw = instance.data](absl::StatusOr<adapters::MoveOutRecord> record) mutable {
        if (!record.ok()) return done(RejectOrFail(record.status(), raw));
        household::v1::HouseholdMigration* view = data.mutable_view();
        view->set_previous_address_code(record->previous_address_code);
        *view->mutable_moved_out_on() = ToDate(record->moved_out_on);
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
  absl::StatusOr<HouseholdData> data = Parse<HouseholdData>(instance);
  if (!data.ok()) return done(data.status());
  const household::v1::HouseholdMigration& view = data->view();
  absl::Status missing;
  CityAdapter* destination = Adapter(cities, view.destination_city().city(), &missing);
  // Past the point of no return: never rejected, only retried or failed.
  if (destination == nullptr) return done(missing);
  destination->SettleIn(
      context.IdempotencyKey("settle_in"), view.resident_id(), view.permit_number(), view.destination_address_code(),
      data->name(), OptionsFor(context, options.call_deadline, instance.workflow_id),
      [data = *data, done = std::move(done), on_moved = options.on_household_moved](
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
  absl::StatusOr<PensionData> data = Parse<PensionData>(instance);
  if (!data.ok()) return done(data.status());
  const social::v1::PensionTransfer& view = data->view();
  absl::Status missing;
  CityAdapter* destination = Adapter(cities, view.destination_city().city(), &missing);
  if (destination == nullptr) return done(RejectOrFail(missing, instance.data));
  const adapters::CallOptions call = OptionsFor(context, options.call_deadline, instance.workflow_id);
  const std::string letter_key = context.IdempotencyKey("contact_letter");
  destination->ApplyPensionTransfer(
      context.IdempotencyKey("application"), view.resident_id(), view.origin_city().city(), call,
      [destination, call, letter_key, data = *data, done = std::move(done),
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
  absl::StatusOr<PensionData> data = Parse<PensionData>(instance);
  if (!data.ok()) return done(data.status());
  const social::v1::PensionTransfer& view = data->view();
  absl::Status missing;
  CityAdapter* origin = Adapter(cities, view.origin_city().city(), &missing);
  if (origin == nullptr) return done(RejectOrFail(missing, instance.data));
  const adapters::CallOptions call = OptionsFor(context, options.call_deadline, instance.workflow_id);
  origin->PreparePensionTransferOut(
      context.IdempotencyKey("prepare_out"), view.resident_id(), view.destination_city().city(),
      view.letter_number(), call,
      [origin, call, data = *data, done = std::move(done),
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
  absl::StatusOr<PensionData> data = Parse<PensionData>(instance);
  if (!data.ok()) return done(data.status());
  const social::v1::PensionTransfer& view = data->view();
  absl::Status missing;
  CityAdapter* origin = Adapter(cities, view.origin_city().city(), &missing);
  if (origin == nullptr) return done(RejectOrFail(missing, instance.data));
  origin->CompletePensionTransferOut(
      context.IdempotencyKey("complete_out"), view.resident_id(), view.destination_city().city(),
      view.letter_number(), view.personal_account().fen(), view.pooled_fund().fen(),
      OptionsFor(context, options.call_deadline, instance.workflow_id),
      [data = *data, done = std::move(done),
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
  absl::StatusOr<PensionData> data = Parse<PensionData>(instance);
  if (!data.ok()) return done(data.status());
  const social::v1::PensionTransfer& view = data->view();
  absl::Status missing;
  CityAdapter* destination = Adapter(cities, view.destination_city().city(), &missing);
  if (destination == nullptr) return done(missing);  // past the point of no return
  destination->ConfirmPensionTransferIn(
      context.IdempotencyKey("confirm_in"), view.resident_id(), view.application_number(),
      view.origin_city().city(), SheetOf(*data), OptionsFor(context, options.call_deadline, instance.workflow_id),
      [data = *data, done = std::move(done),
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
