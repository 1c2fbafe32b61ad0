#include "tools/conformance/conformance_checks.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gateway/base/cities.h"
#include "gateway/identity/division_codes.h"
#include "gateway/identity/resident_id.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace interop::conformance {
namespace {

using adapters::CityAdapter;
using adapters::PersonLocation;
using MedicalAnswer = absl::StatusOr<medical::v1::GetInsuranceStatusResponse>;
using Months = std::vector<social::v1::ContributionEntry>;
using ContributionsAnswer = absl::StatusOr<Months>;
using HouseholdAnswer = absl::StatusOr<household::v1::GetHouseholdRecordResponse>;

// Why the contribution checks could not run.
constexpr char kNoContributionHistory[] =
    "not exercised: LocatePerson claims a contribution history for no sample person; add such a person to "
    "--sample_ids";

// How many failures of one check are spelled out; the rest are counted.
constexpr size_t kShownFailures = 4;

// "NOT_FOUND: message".
std::string Describe(const absl::Status& status) {
  if (status.ok()) return "OK";
  return absl::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message());
}

const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& value) {
  return value.status();
}

// The failures of one check.
class Findings {
 public:
  explicit Findings(absl::string_view name) : name_(name) {}

  void Fail(std::string why) {
    if (shown_.size() < kShownFailures) shown_.push_back(std::move(why));
    ++failures_;
  }
  bool failed() const { return failures_ > 0; }

  // Failed with the failures, or passed with `passed_detail`.
  CheckResult Result(std::string passed_detail) const {
    CheckResult result;
    result.name = std::string(name_);
    result.passed = failures_ == 0;
    if (result.passed) {
      result.detail = std::move(passed_detail);
    } else {
      result.detail = absl::StrJoin(shown_, "; ");
      if (failures_ > shown_.size())
        absl::StrAppend(&result.detail, "; and ", failures_ - shown_.size(), " more");
    }
    return result;
  }

 private:
  absl::string_view name_;
  std::vector<std::string> shown_;
  size_t failures_ = 0;
};

// The three record kinds of the contract.
enum class Domain { kMedical, kContributions, kHousehold };
constexpr Domain kAllDomains[] = {Domain::kMedical, Domain::kContributions, Domain::kHousehold};

absl::string_view DomainName(Domain domain) {
  switch (domain) {
    case Domain::kMedical:
      return "medical-insurance enrolment";
    case Domain::kContributions:
      return "contribution history";
    case Domain::kHousehold:
      return "household registration";
  }
  return "record";
}

ContractMethod MethodOf(Domain domain) {
  switch (domain) {
    case Domain::kMedical:
      return ContractMethod::kGetMedicalEnrollment;
    case Domain::kContributions:
      return ContractMethod::kGetContributions;
    case Domain::kHousehold:
      return ContractMethod::kGetHouseholdRegistration;
  }
  return ContractMethod::kLocatePerson;
}

bool Claims(const PersonLocation& location, Domain domain) {
  switch (domain) {
    case Domain::kMedical:
      return location.holds_medical_enrollment;
    case Domain::kContributions:
      return location.holds_contribution_history;
    case Domain::kHousehold:
      return location.holds_household_registration;
  }
  return false;
}

std::string DescribeLocation(const PersonLocation& location) {
  return absl::StrCat("found=", location.found, " medical=", location.holds_medical_enrollment,
                      " contributions=", location.holds_contribution_history,
                      " household=", location.holds_household_registration);
}

bool SameLocation(const PersonLocation& a, const PersonLocation& b) {
  return std::tie(a.found, a.holds_medical_enrollment, a.holds_contribution_history,
                  a.holds_household_registration) == std::tie(b.found, b.holds_medical_enrollment,
                                                              b.holds_contribution_history,
                                                              b.holds_household_registration);
}

// The names of the top-level fields in which `a` and `b` (of one type) differ; no values, which may
// be personal.
std::vector<std::string> DifferingFields(const google::protobuf::Message& a,
                                         const google::protobuf::Message& b) {
  std::vector<std::string> fields;
  const google::protobuf::Descriptor* descriptor = a.GetDescriptor();
  // `message` with every field but `kept` cleared.
  auto only = [descriptor](const google::protobuf::Message& message,
                           const google::protobuf::FieldDescriptor* kept) {
    std::unique_ptr<google::protobuf::Message> copy(message.New());
    copy->CopyFrom(message);
    for (int i = 0; i < descriptor->field_count(); ++i) {
      if (descriptor->field(i) != kept) copy->GetReflection()->ClearField(copy.get(), descriptor->field(i));
    }
    return copy->SerializeAsString();
  };
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = descriptor->field(i);
    if (only(a, field) != only(b, field)) fields.push_back(field->name());
  }
  return fields;
}

bool SameMessage(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return a.SerializeAsString() == b.SerializeAsString();
}

// Why two answers to the same call differ, or "" if they do not. Errors compare by code only (a
// message may carry a request id).
template <typename T>
std::string AnswerDifference(const absl::StatusOr<T>& first, const absl::StatusOr<T>& second) {
  if (first.ok() != second.ok() || (!first.ok() && first.status().code() != second.status().code())) {
    return absl::StrCat(first.ok() ? "a record" : absl::StatusCodeToString(first.status().code()), " then ",
                        second.ok() ? "a record" : Describe(second.status()));
  }
  if (!first.ok()) return "";
  if constexpr (std::is_same_v<T, Months>) {
    if (first->size() != second->size()) {
      return absl::StrCat(first->size(), " months then ", second->size());
    }
    for (size_t i = 0; i < first->size(); ++i) {
      if (!SameMessage((*first)[i], (*second)[i])) {
        return absl::StrCat("entry ", i, " differs in ",
                            absl::StrJoin(DifferingFields((*first)[i], (*second)[i]), ", "));
      }
    }
    return "";
  } else {
    if (SameMessage(*first, *second)) return "";
    return absl::StrCat("they differ in ", absl::StrJoin(DifferingFields(*first, *second), ", "));
  }
}

// True if the division `code` lies today in `city`.
bool InCity(const std::string& code, City city) {
  const std::vector<std::string> prefectures =
      identity::DivisionRegistry::Embedded().CurrentPrefectures(code);
  return std::find(prefectures.begin(), prefectures.end(), CityDivisionCode(city)) != prefectures.end();
}

bool AfterDay(const common::v1::Date& date, absl::CivilDay day) {
  return absl::CivilDay(date.year(), date.month(), date.day()) > day;
}

std::string MonthText(const social::v1::ContributionEntry& entry) {
  return absl::StrCat(entry.year(), "-", entry.month() < 10 ? "0" : "", entry.month());
}

// What the first round of calls answered for one sample person.
struct SampleAnswers {
  std::string id;
  absl::StatusOr<PersonLocation> location = absl::UnknownError("not asked");
  MedicalAnswer medical = absl::UnknownError("not asked");
  ContributionsAnswer contributions = absl::UnknownError("not asked");  // all years
  HouseholdAnswer household = absl::UnknownError("not asked");

  bool claims(Domain domain) const { return location.ok() && Claims(*location, domain); }
  absl::Status status(Domain domain) const {
    switch (domain) {
      case Domain::kMedical:
        return medical.status();
      case Domain::kContributions:
        return contributions.status();
      case Domain::kHousehold:
        return household.status();
    }
    return absl::UnknownError("no such domain");
  }
};

// One call made, for the deadline check.
struct CallRecord {
  std::string what;
  absl::Duration elapsed;
  absl::StatusCode code = absl::StatusCode::kOk;
};

class ConformanceRun {
 public:
  ConformanceRun(CityAdapter& adapter, ContractProbe& probe, const adapters::Dialect& dialect,
                 const ConformanceOptions& options)
      : adapter_(adapter), probe_(probe), dialect_(dialect), options_(options), city_(dialect.city()) {}

  std::vector<CheckResult> Run() {
    std::vector<CheckResult> results;
    results.push_back(CheckHealth());
    for (const std::string& id : options_.sample_ids) {
      SampleAnswers answers;
      answers.id = id;
      answers.location = Locate(id);
      answers.medical = Medical(id);
      answers.contributions = Contributions(id, 0, 0);
      answers.household = Household(id);
      samples_.push_back(std::move(answers));
    }
    unknown_location_ = Locate(options_.unknown_id);
    results.push_back(CheckLocateKnown());
    results.push_back(CheckLocateUnknown());
    results.push_back(CheckRecordsClaimed());
    results.push_back(CheckRecordsUnclaimed());
    results.push_back(CheckUnknownNotFound());
    results.push_back(CheckMalformedId());
    results.push_back(CheckContributionsOrder());
    results.push_back(CheckContributionsRange());
    results.push_back(CheckConsistency());
    results.push_back(CheckDeadline());
    return results;
  }

 private:
  // Starts one adapter call through `start` and waits for its answer (of type R: absl::Status or
  // absl::StatusOr<T>), recording how long it took.
  template <typename R>
  R Await(std::string what,
          const std::function<void(const adapters::CallOptions&, std::function<void(R)>)>& start) {
    struct Pending {
      absl::Notification done;
      R result = absl::UnknownError("no answer");
    };
    auto pending = std::make_shared<Pending>();
    adapters::CallOptions call;
    const absl::Time started = absl::Now();
    call.deadline = started + options_.deadline;
    call.request_id = absl::StrCat("conformance-", calls_.size() + 1);
    start(call, [pending](R result) {
      pending->result = std::move(result);
      pending->done.Notify();
    });
    R result = absl::DeadlineExceededError("the adapter did not call back");
    // The adapter ends every call by its deadline; the margin only guards against a lost callback.
    if (pending->done.WaitForNotificationWithDeadline(call.deadline + absl::Seconds(5)))
      result = pending->result;
    calls_.push_back(CallRecord{std::move(what), absl::Now() - started, StatusOf(result).code()});
    return result;
  }

  // A probe call, timed like the adapter's.
  template <typename R>
  R Probe(std::string what, const std::function<R(absl::Time deadline)>& call) {
    const absl::Time started = absl::Now();
    R result = call(started + options_.deadline);
    calls_.push_back(CallRecord{std::move(what), absl::Now() - started, StatusOf(result).code()});
    return result;
  }

  absl::Status Health() {
    return Await<absl::Status>("health check", [this](const adapters::CallOptions& call, auto done) {
      adapter_.CheckHealth(call, std::move(done));
    });
  }
  absl::StatusOr<PersonLocation> Locate(const std::string& id) {
    return Await<absl::StatusOr<PersonLocation>>(absl::StrCat("LocatePerson(", id, ")"),
                                                 [&](const adapters::CallOptions& call, auto done) {
                                                   adapter_.LocatePerson(id, call, std::move(done));
                                                 });
  }
  MedicalAnswer Medical(const std::string& id) {
    return Await<MedicalAnswer>(absl::StrCat("GetMedicalEnrollment(", id, ")"),
                                [&](const adapters::CallOptions& call, auto done) {
                                  adapter_.GetInsuranceStatus(id, call, std::move(done));
                                });
  }
  ContributionsAnswer Contributions(const std::string& id, int from_year, int to_year) {
    return Await<ContributionsAnswer>(
        absl::StrCat("GetContributions(", id, ", ", from_year, "-", to_year, ")"),
        [&](const adapters::CallOptions& call, auto done) {
          adapter_.GetMonthlyContributions(id, from_year, to_year, call, std::move(done));
        });
  }
  HouseholdAnswer Household(const std::string& id) {
    return Await<HouseholdAnswer>(absl::StrCat("GetHouseholdRegistration(", id, ")"),
                                  [&](const adapters::CallOptions& call, auto done) {
                                    adapter_.GetHouseholdRecord(id, call, std::move(done));
                                  });
  }
  // The status of the adapter's answer to `domain` for `id`, asked anew.
  absl::Status AskDomain(Domain domain, const std::string& id) {
    switch (domain) {
      case Domain::kMedical:
        return Medical(id).status();
      case Domain::kContributions:
        return Contributions(id, 0, 0).status();
      case Domain::kHousehold:
        return Household(id).status();
    }
    return absl::UnknownError("no such domain");
  }

  CheckResult CheckHealth() {
    Findings findings("health");
    absl::Status status = Health();
    if (!status.ok()) findings.Fail(absl::StrCat("the backend is not serving: ", Describe(status)));
    return findings.Result(probe_.transport_name() == "http"
                               ? "GET /health answered SERVING"
                               : "grpc.health.v1.Health/Check of the service \"\" answered SERVING");
  }

  CheckResult CheckLocateKnown() {
    Findings findings("locate-known");
    int holds[3] = {0, 0, 0};
    for (const SampleAnswers& sample : samples_) {
      if (!sample.location.ok()) {
        findings.Fail(absl::StrCat(sample.id, ": LocatePerson failed: ", Describe(sample.location.status())));
        continue;
      }
      const PersonLocation& location = *sample.location;
      if (!location.found) {
        findings.Fail(absl::StrCat(sample.id, ": LocatePerson answered found=false for a sample person"));
        continue;
      }
      bool any = false;
      for (Domain domain : kAllDomains) {
        if (Claims(location, domain)) {
          any = true;
          ++holds[static_cast<int>(domain)];
        }
      }
      if (!any) {
        findings.Fail(absl::StrCat(sample.id,
                                   ": LocatePerson answered found=true but claims no record "
                                   "(a city that knows a person holds at least one record of them)"));
      }
    }
    return findings.Result(absl::StrCat(samples_.size(), " of ", samples_.size(),
                                        " sample persons found, each with at least one record (", holds[0],
                                        " medical-insurance enrolments, ", holds[1],
                                        " contribution histories, ", holds[2], " household registrations)"));
  }

  CheckResult CheckLocateUnknown() {
    Findings findings("locate-unknown");
    const absl::StatusOr<PersonLocation>& location = unknown_location_;
    if (!location.ok()) {
      findings.Fail(absl::StrCat("LocatePerson of the unknown person ", options_.unknown_id, " answered ",
                                 Describe(location.status()),
                                 "; an unknown person must be found=false, not an error"));
    } else if (location->found || location->holds_medical_enrollment ||
               location->holds_contribution_history || location->holds_household_registration) {
      findings.Fail(absl::StrCat("LocatePerson of the unknown person ", options_.unknown_id, " answered ",
                                 DescribeLocation(*location),
                                 "; expected found=false and no records (if the "
                                 "backend does hold this person, pass another --unknown_id)"));
    }
    return findings.Result(absl::StrCat("LocatePerson of ", options_.unknown_id, " answered found=false"));
  }

  // Problems of a translated answer beyond what the adapter checks.
  void CheckMedical(const std::string& id, const medical::v1::GetInsuranceStatusResponse& m,
                    Findings& findings) {
    const std::string where = absl::StrCat(id, ": GetMedicalEnrollment: ");
    if (m.resident_id() != id) findings.Fail(absl::StrCat(where, "the answer is about another person"));
    if (m.insured_city().city() != city_)
      findings.Fail(absl::StrCat(where, "insured_city is not ", CityName(city_)));
    if (!InCity(m.insured_region_code(), city_)) {
      findings.Fail(absl::StrCat(where, "insured_region_code \"", m.insured_region_code(),
                                 "\" is not a division of ", CityName(city_), " (GB/T 2260)"));
    }
    if (AfterDay(m.enrollment_date(), options_.today)) {
      findings.Fail(absl::StrCat(where, "enrollment_date is in the future"));
    }
  }
  void CheckHousehold(const std::string& id, const household::v1::GetHouseholdRecordResponse& h,
                      Findings& findings) {
    const std::string where = absl::StrCat(id, ": GetHouseholdRegistration: ");
    if (h.resident_id() != id) findings.Fail(absl::StrCat(where, "the answer is about another person"));
    if (h.registered_city().city() != city_) {
      findings.Fail(absl::StrCat(where, "registered_city is not ", CityName(city_)));
    }
    if (!InCity(h.address_code(), city_)) {
      findings.Fail(absl::StrCat(where, "address_code \"", h.address_code(), "\" is not a division of ",
                                 CityName(city_), " (GB/T 2260)"));
    }
    if (AfterDay(h.registered_since(), options_.today)) {
      findings.Fail(absl::StrCat(where, "registered_since is in the future"));
    }
  }
  void CheckContributions(const std::string& id, const Months& months, Findings& findings) {
    const std::string where = absl::StrCat(id, ": GetContributions: ");
    if (months.empty()) {
      findings.Fail(absl::StrCat(where,
                                 "LocatePerson claims a contribution history, but asked for all years the "
                                 "backend answered no months"));
    }
    const absl::CivilMonth this_month(options_.today);
    for (const social::v1::ContributionEntry& entry : months) {
      if (entry.city().city() != city_) {
        findings.Fail(absl::StrCat(where, "a month is not attributed to ", CityName(city_)));
        break;
      }
      if (absl::CivilMonth(entry.year(), entry.month()) > this_month) {
        findings.Fail(absl::StrCat(where, "month ", MonthText(entry), " is in the future"));
        break;
      }
    }
  }

  CheckResult CheckRecordsClaimed() {
    Findings findings("records-claimed");
    int records = 0;
    for (const SampleAnswers& sample : samples_) {
      for (Domain domain : kAllDomains) {
        if (!sample.claims(domain)) continue;
        ++records;
        const absl::Status status = sample.status(domain);
        if (!status.ok()) {
          findings.Fail(
              absl::StrCat(sample.id, ": ", ContractMethodName(MethodOf(domain)), ": ", Describe(status)));
          continue;
        }
        switch (domain) {
          case Domain::kMedical:
            CheckMedical(sample.id, *sample.medical, findings);
            break;
          case Domain::kContributions:
            CheckContributions(sample.id, *sample.contributions, findings);
            break;
          case Domain::kHousehold:
            CheckHousehold(sample.id, *sample.household, findings);
            break;
        }
      }
    }
    if (records == 0) {
      findings.Fail("not exercised: LocatePerson claimed no record of any sample person (see locate-known)");
    }
    std::vector<std::string> unexercised;
    for (Domain domain : kAllDomains) {
      if (std::none_of(samples_.begin(), samples_.end(),
                       [domain](const SampleAnswers& sample) { return sample.claims(domain); })) {
        unexercised.push_back(std::string(DomainName(domain)));
      }
    }
    return findings.Result(absl::StrCat(
        records, " claimed records answered and translated through ", dialect_.source(),
        " (codes in its tables, ", MoneyFormatName(), " amounts, ", dialect_.date_format().date_pattern(),
        " dates, the person asked about, divisions of ", CityName(city_), ")",
        unexercised.empty()
            ? std::string()
            : absl::StrCat("; not exercised, no sample holds one: ", absl::StrJoin(unexercised, ", "))));
  }

  std::string MoneyFormatName() const {
    return dialect_.money_format() == config::v1::MONEY_FORMAT_YUAN_DECIMAL ? "yuan" : "fen";
  }

  CheckResult CheckRecordsUnclaimed() {
    Findings findings("records-unclaimed");
    int asked = 0;
    for (const SampleAnswers& sample : samples_) {
      if (!sample.location.ok()) continue;  // locate-known reports it
      for (Domain domain : kAllDomains) {
        if (sample.claims(domain)) continue;
        ++asked;
        const absl::Status status = sample.status(domain);
        if (absl::IsNotFound(status)) continue;
        findings.Fail(absl::StrCat(sample.id, ": LocatePerson does not claim the ", DomainName(domain),
                                   ", but ", ContractMethodName(MethodOf(domain)), " answered ",
                                   status.ok() ? "a record" : Describe(status),
                                   "; a backend never answers a record it does not hold (NOT_FOUND)"));
      }
    }
    if (std::none_of(samples_.begin(), samples_.end(),
                     [](const SampleAnswers& sample) { return sample.location.ok(); })) {
      findings.Fail("not exercised: LocatePerson answered for no sample person (see locate-known)");
    }
    return findings.Result(absl::StrCat(asked, " records not claimed by LocatePerson answered NOT_FOUND"));
  }

  CheckResult CheckUnknownNotFound() {
    Findings findings("unknown-not-found");
    for (Domain domain : kAllDomains) {
      const absl::Status status = AskDomain(domain, options_.unknown_id);
      if (absl::IsNotFound(status)) continue;
      findings.Fail(
          absl::StrCat(ContractMethodName(MethodOf(domain)), " of the unknown person answered ",
                       status.ok() ? absl::StrCat("a ", DomainName(domain), " record") : Describe(status),
                       "; must be NOT_FOUND"));
    }
    return findings.Result(
        absl::StrCat("GetMedicalEnrollment, GetContributions and GetHouseholdRegistration of ",
                     options_.unknown_id, " answered NOT_FOUND"));
  }

  CheckResult CheckMalformedId() {
    Findings findings("malformed-id");
    const std::string base = samples_.empty() ? options_.unknown_id : samples_.front().id;
    const std::vector<std::string> malformed = MalformedIdsFrom(base);
    std::vector<std::pair<ContractMethod, std::string>> calls;
    for (const std::string& id : malformed) calls.emplace_back(ContractMethod::kLocatePerson, id);
    for (ContractMethod method : {ContractMethod::kGetMedicalEnrollment, ContractMethod::kGetContributions,
                                  ContractMethod::kGetHouseholdRegistration}) {
      calls.emplace_back(method, malformed.front());
    }
    for (const auto& [method, id] : calls) {
      const std::string what = absl::StrCat(ContractMethodName(method), "(\"", id, "\")");
      absl::Status status = Probe<absl::Status>(absl::StrCat(what, " sent raw"), [&](absl::Time deadline) {
        return probe_.CallRaw(method, id, deadline);
      });
      if (absl::IsInvalidArgument(status)) continue;
      findings.Fail(absl::StrCat(what, " answered ", status.ok() ? "OK" : Describe(status),
                                 "; a malformed identity number must be INVALID_ARGUMENT"));
    }
    return findings.Result(
        absl::StrCat(calls.size(),
                     " calls with malformed identity numbers (wrong check "
                     "character, 17 characters, a letter in the birth date), sent raw over ",
                     probe_.transport_name(), ", answered INVALID_ARGUMENT"));
  }

  CheckResult CheckContributionsOrder() {
    Findings findings("contributions-order");
    int histories = 0;
    size_t months_seen = 0;
    for (const SampleAnswers& sample : samples_) {
      if (!sample.claims(Domain::kContributions)) continue;
      ++histories;
      absl::StatusOr<std::vector<WireMonth>> wire = Probe<absl::StatusOr<std::vector<WireMonth>>>(
          absl::StrCat("GetContributions(", sample.id, ") sent raw"),
          [&](absl::Time deadline) { return probe_.ContributionsOnTheWire(sample.id, 0, 0, deadline); });
      if (!wire.ok()) {
        findings.Fail(absl::StrCat(sample.id, ": GetContributions answered ", Describe(wire.status())));
        continue;
      }
      months_seen += wire->size();
      bool wire_failed = false;
      std::set<std::pair<absl::CivilMonth, std::string>> seen;
      std::pair<absl::CivilMonth, std::string> previous;
      for (size_t i = 0; i < wire->size(); ++i) {
        const WireMonth& month = (*wire)[i];
        absl::StatusOr<absl::CivilMonth> parsed = dialect_.date_format().ParseMonth(month.year_month);
        if (!parsed.ok()) break;  // records-claimed reports untranslatable months
        std::pair<absl::CivilMonth, std::string> key(*parsed, month.kind_code);
        if (!seen.insert(key).second) {
          findings.Fail(absl::StrCat(sample.id, ": months[", i, "] repeats kind_code \"", month.kind_code,
                                     "\" of ", month.year_month, "; one record per kind and month"));
          wire_failed = true;
          break;
        }
        if (probe_.months_must_be_ordered() && i > 0 && key < previous) {
          findings.Fail(absl::StrCat(sample.id, ": months are not in ascending order: months[", i, "] (",
                                     month.year_month, ", kind_code \"", month.kind_code,
                                     "\") comes after months[", i - 1, "] (", (*wire)[i - 1].year_month,
                                     ", kind_code \"", (*wire)[i - 1].kind_code,
                                     "\"); the contract orders by year_month, then "
                                     "kind_code"));
          wire_failed = true;
          break;
        }
        previous = std::move(key);
      }
      if (!wire_failed && sample.contributions.ok()) {
        // What the gateway will see: one entry per national kind and month.
        std::set<std::tuple<int, int, int>> canonical;
        for (const social::v1::ContributionEntry& entry : *sample.contributions) {
          if (!canonical.emplace(entry.year(), entry.month(), static_cast<int>(entry.kind())).second) {
            findings.Fail(absl::StrCat(sample.id, ": month ", MonthText(entry),
                                       " has two records of national kind ", static_cast<int>(entry.kind()),
                                       " (two local kind codes of the dialect stand for it)"));
            break;
          }
        }
      }
    }
    if (histories == 0) findings.Fail(kNoContributionHistory);
    return findings.Result(absl::StrCat(
        histories, " contribution histories (", months_seen, " months) with one record per kind and month",
        probe_.months_must_be_ordered() ? ", in ascending order of year_month, then kind_code"
                                        : " (the national interface allows any order; the adapter sorts)"));
  }

  CheckResult CheckContributionsRange() {
    Findings findings("contributions-range");
    int queries = 0;
    for (const SampleAnswers& sample : samples_) {
      if (!sample.claims(Domain::kContributions) || !sample.contributions.ok() ||
          sample.contributions->empty()) {
        continue;  // records-claimed reports it
      }
      std::set<int> years;
      for (const social::v1::ContributionEntry& entry : *sample.contributions) years.insert(entry.year());
      // The first year checks that to_year is honoured, the last that from_year is.
      std::set<int> asked = {*years.begin(), *years.rbegin()};
      for (int year : asked) {
        ++queries;
        const std::string where = absl::StrCat(sample.id, ": asked for ", year, " to ", year, ": ");
        absl::StatusOr<std::vector<WireMonth>> wire = Probe<absl::StatusOr<std::vector<WireMonth>>>(
            absl::StrCat("GetContributions(", sample.id, ", ", year, "-", year, ") sent raw"),
            [&](absl::Time deadline) {
              return probe_.ContributionsOnTheWire(sample.id, year, year, deadline);
            });
        if (!wire.ok()) {
          findings.Fail(absl::StrCat(where, "the backend answered ", Describe(wire.status()),
                                     " although the person has months in that year"));
          continue;
        }
        size_t outside = 0;
        std::string first_outside;
        for (const WireMonth& month : *wire) {
          absl::StatusOr<absl::CivilMonth> parsed = dialect_.date_format().ParseMonth(month.year_month);
          if (parsed.ok() && parsed->year() != year) {
            if (outside++ == 0) first_outside = month.year_month;
          }
        }
        if (outside > 0) {
          findings.Fail(absl::StrCat(where, "the backend sent ", outside, " months outside it (first ",
                                     first_outside, "); from_year and to_year must be honoured"));
          continue;
        }
        ContributionsAnswer ranged = Contributions(sample.id, year, year);
        if (!ranged.ok()) {
          findings.Fail(absl::StrCat(where, Describe(ranged.status())));
          continue;
        }
        Months expected;
        for (const social::v1::ContributionEntry& entry : *sample.contributions) {
          if (entry.year() == year) expected.push_back(entry);
        }
        const std::string difference = AnswerDifference<Months>(expected, ranged);
        if (!difference.empty()) {
          findings.Fail(absl::StrCat(where, "the answer is not that year of the full history: ", difference));
        }
      }
    }
    if (queries == 0 && !findings.failed()) findings.Fail(kNoContributionHistory);
    return findings.Result(absl::StrCat(queries,
                                        " one-year queries answered exactly that year of the full history "
                                        "(from_year and to_year honoured)"));
  }

  CheckResult CheckConsistency() {
    Findings findings("consistency");
    int repeated = 0;
    // Compares two answers; a call that could not be answered (UNAVAILABLE, DEADLINE_EXCEEDED) the
    // first time is not an answer to compare (the deadline and locate checks report it).
    auto compare = [&](const std::string& what, const absl::Status& first, const std::string& difference) {
      if (absl::IsUnavailable(first) || absl::IsDeadlineExceeded(first)) return;
      ++repeated;
      if (!difference.empty())
        findings.Fail(absl::StrCat("two identical calls ", what, " answered differently: ", difference));
    };
    for (const SampleAnswers& sample : samples_) {
      absl::StatusOr<PersonLocation> again = Locate(sample.id);
      std::string difference;
      if (sample.location.ok() != again.ok() ||
          (!again.ok() && sample.location.status().code() != again.status().code())) {
        difference = absl::StrCat(Describe(sample.location.status()), " then ", Describe(again.status()));
      } else if (again.ok() && !SameLocation(*sample.location, *again)) {
        difference = absl::StrCat(DescribeLocation(*sample.location), " then ", DescribeLocation(*again));
      }
      compare(absl::StrCat("LocatePerson(", sample.id, ")"), sample.location.status(), difference);
      compare(absl::StrCat("GetMedicalEnrollment(", sample.id, ")"), sample.medical.status(),
              AnswerDifference(sample.medical, Medical(sample.id)));
      compare(absl::StrCat("GetContributions(", sample.id, ")"), sample.contributions.status(),
              AnswerDifference(sample.contributions, Contributions(sample.id, 0, 0)));
      compare(absl::StrCat("GetHouseholdRegistration(", sample.id, ")"), sample.household.status(),
              AnswerDifference(sample.household, Household(sample.id)));
    }
    absl::StatusOr<PersonLocation> again = Locate(options_.unknown_id);
    compare(absl::StrCat("LocatePerson(", options_.unknown_id, ")"), unknown_location_.status(),
            again.ok() == unknown_location_.ok() &&
                    (again.ok() ? SameLocation(*again, *unknown_location_)
                                : again.status().code() == unknown_location_.status().code())
                ? ""
                : absl::StrCat(unknown_location_.ok() ? DescribeLocation(*unknown_location_)
                                                      : Describe(unknown_location_.status()),
                               " then ", again.ok() ? DescribeLocation(*again) : Describe(again.status())));
    if (repeated == 0) findings.Fail("not exercised: the backend answered none of the calls to repeat");
    return findings.Result(absl::StrCat(repeated, " calls repeated with the same answers"));
  }

  CheckResult CheckDeadline() {
    Findings findings("deadline");
    const CallRecord* slowest = nullptr;
    for (const CallRecord& call : calls_) {
      if (slowest == nullptr || call.elapsed > slowest->elapsed) slowest = &call;
      if (call.code == absl::StatusCode::kDeadlineExceeded || call.elapsed >= options_.deadline) {
        findings.Fail(absl::StrCat(call.what, " took ", absl::ToInt64Milliseconds(call.elapsed), " ms (",
                                   absl::StatusCodeToString(call.code), "); the deadline is ",
                                   absl::ToInt64Milliseconds(options_.deadline), " ms"));
      }
    }
    return findings.Result(absl::StrCat(
        "all ", calls_.size(), " calls answered within ", absl::ToInt64Milliseconds(options_.deadline), " ms",
        slowest == nullptr ? std::string()
                           : absl::StrCat(" (slowest ", absl::ToInt64Milliseconds(slowest->elapsed),
                                          " ms: ", slowest->what, ")")));
  }

  CityAdapter& adapter_;
  ContractProbe& probe_;
  const adapters::Dialect& dialect_;
  const ConformanceOptions& options_;
  const City city_;
  std::vector<SampleAnswers> samples_;
  absl::StatusOr<PersonLocation> unknown_location_ = absl::UnknownError("not asked");
  std::vector<CallRecord> calls_;
};

}  // namespace

std::string DefaultUnknownId() {
  const std::string first17 = "14010519300101999";
  return first17 + identity::ComputeCheckCharacter(first17);
}

std::vector<std::string> MalformedIdsFrom(const std::string& valid_id) {
  std::vector<std::string> ids;
  if (valid_id.size() != 18) return {"14010519800101123", "1401051980A101123X"};
  const char check = identity::ComputeCheckCharacter(valid_id.substr(0, 17));
  ids.push_back(valid_id.substr(0, 17) + (check == '0' ? '1' : '0'));  // wrong check character
  ids.push_back(valid_id.substr(0, 17));                               // 17 characters
  std::string letter = valid_id;
  letter[10] = 'A';  // the first digit of the birth month
  ids.push_back(letter);
  return ids;
}

std::vector<CheckResult> RunConformanceChecks(adapters::CityAdapter& adapter, ContractProbe& probe,
                                              const adapters::Dialect& dialect,
                                              const ConformanceOptions& options) {
  return ConformanceRun(adapter, probe, dialect, options).Run();
}

std::string FormatCheckResult(const CheckResult& result) {
  return absl::StrCat(result.passed ? "PASS " : "FAIL ", result.name, ": ",
                      absl::StrReplaceAll(result.detail, {{"\r", " "}, {"\n", " "}}));
}

}  // namespace interop::conformance
