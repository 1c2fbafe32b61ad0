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
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "adapters/dialect/money.h"
#include "gateway/base/cities.h"
#include "gateway/identity/division_codes.h"
#include "gateway/identity/resident_id.h"
#include "google/protobuf/message.h"
#include "tools/conformance/check_support.h"
#include "tools/conformance/mobility_checks.h"

namespace interop::conformance {
namespace {

using adapters::CityAdapter;
using adapters::CommitResult;
using adapters::FilingRecord;
using adapters::kMaxMoneyFen;
using adapters::MedicalAccount;
using adapters::PersonLocation;
using adapters::SettlementRecord;
using MedicalAnswer = absl::StatusOr<medical::v1::GetInsuranceStatusResponse>;
using Months = std::vector<social::v1::ContributionEntry>;
using ContributionsAnswer = absl::StatusOr<Months>;
using HouseholdAnswer = absl::StatusOr<household::v1::GetHouseholdRecordResponse>;

// Why the contribution checks could not run.
constexpr char kNoContributionHistory[] =
    "not exercised: LocatePerson claims a contribution history for no sample person; add such a person to "
    "--sample_ids";

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

// --- Cross-city medical settlement, in canonical terms.

std::string DescribeAmounts(const SettlementRecord& settlement) {
  return absl::StrCat("total ", Yuan(settlement.total_fen), ": deductible ",
                      Yuan(settlement.deductible_applied_fen), ", fund ", Yuan(settlement.fund_pay_fen),
                      ", account ", Yuan(settlement.account_pay_fen), ", cash ",
                      Yuan(settlement.cash_pay_fen));
}

std::string DescribeAccount(const MedicalAccount& account) {
  return absl::StrCat("balance ", Yuan(account.balance_fen), ", deductible used ",
                      Yuan(account.deductible_used_outpatient_fen), " outpatient and ",
                      Yuan(account.deductible_used_inpatient_fen), " inpatient, fund paid ",
                      Yuan(account.fund_paid_fen), ", version ", account.version);
}

// How `got` differs from `expected` ("balance 28.45 yuan, expected 28.65 yuan; ..."), or "" if it
// does not; the version only if `compare_version`.
std::string AccountDifference(const MedicalAccount& expected, const MedicalAccount& got,
                              bool compare_version) {
  std::vector<std::string> differences;
  const struct {
    const char* name;
    int64_t expected;
    int64_t got;
  } amounts[] = {{"balance", expected.balance_fen, got.balance_fen},
                 {"deductible used outpatient", expected.deductible_used_outpatient_fen,
                  got.deductible_used_outpatient_fen},
                 {"deductible used inpatient", expected.deductible_used_inpatient_fen,
                  got.deductible_used_inpatient_fen},
                 {"fund paid", expected.fund_paid_fen, got.fund_paid_fen}};
  for (const auto& amount : amounts) {
    if (amount.expected != amount.got) {
      differences.push_back(
          absl::StrCat(amount.name, " ", Yuan(amount.got), ", expected ", Yuan(amount.expected)));
    }
  }
  if (expected.year != got.year)
    differences.push_back(absl::StrCat("year ", got.year, ", expected ", expected.year));
  if (expected.insurance_type != got.insurance_type || expected.status != got.status) {
    differences.push_back("insurance type or status");
  }
  if (compare_version && expected.version != got.version) {
    differences.push_back(absl::StrCat("version ", got.version, ", expected ", expected.version));
  }
  return absl::StrJoin(differences, "; ");
}

// The fields in which two settlement records differ ("cash_pay, total"), or "".
std::string SettlementDifference(const SettlementRecord& a, const SettlementRecord& b) {
  std::vector<std::string> fields;
  const auto differ = [&fields](bool differs, const char* name) {
    if (differs) fields.push_back(name);
  };
  differ(a.settlement_id != b.settlement_id, "settlement_id");
  differ(a.resident_id != b.resident_id, "resident_id");
  differ(a.year != b.year, "year");
  differ(a.visit_type != b.visit_type, "visit_type");
  differ(a.institution_code != b.institution_code, "institution_code");
  differ(a.treatment_city != b.treatment_city, "treatment_city");
  differ(a.settle_date != b.settle_date, "settle_date");
  differ(a.total_fen != b.total_fen, "total");
  differ(a.deductible_applied_fen != b.deductible_applied_fen, "deductible_applied");
  differ(a.fund_pay_fen != b.fund_pay_fen, "fund_pay");
  differ(a.account_pay_fen != b.account_pay_fen, "account_pay");
  differ(a.cash_pay_fen != b.cash_pay_fen, "cash_pay");
  differ(a.reversed != b.reversed, "reversed");
  differ(a.reversed && b.reversed && a.reversed_date != b.reversed_date, "reversed_date");
  return absl::StrJoin(fields, ", ");
}

// The fields in which two filings differ, or "".
std::string FilingDifference(const FilingRecord& a, const FilingRecord& b) {
  std::vector<std::string> fields;
  const auto differ = [&fields](bool differs, const char* name) {
    if (differs) fields.push_back(name);
  };
  differ(a.filing_id != b.filing_id, "filing_id");
  differ(a.resident_id != b.resident_id, "resident_id");
  differ(a.treatment_city != b.treatment_city, "treatment_city");
  differ(a.valid_from != b.valid_from, "valid_from");
  differ(a.valid_to != b.valid_to, "valid_to");
  differ(a.reason != b.reason, "reason");
  differ(a.revoked != b.revoked, "revoked");
  return absl::StrJoin(fields, ", ");
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

class ConformanceRun {
 public:
  ConformanceRun(CityAdapter& adapter, ContractProbe& probe, const adapters::Dialect& dialect,
                 const ConformanceOptions& options)
      : adapter_(adapter),
        probe_(probe),
        dialect_(dialect),
        options_(options),
        city_(dialect.city()),
        timed_(options.deadline),
        run_id_(options.run_id.empty() ? absl::StrCat(absl::ToUnixMicros(absl::Now())) : options.run_id) {}

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
    for (CheckResult& result : CheckSettlement()) results.push_back(std::move(result));
    for (CheckResult& result : CheckFilings()) results.push_back(std::move(result));
    MobilityContext mobility{adapter_, timed_, options_, city_, run_id_};
    for (CheckResult& result : RunMigrationChecks(mobility)) results.push_back(std::move(result));
    for (CheckResult& result : RunPensionChecks(mobility)) results.push_back(std::move(result));
    for (CheckResult& result : RunCertificateChecks(mobility)) results.push_back(std::move(result));
    results.push_back(CheckDeadline());
    return results;
  }

 private:
  template <typename R>
  R Await(std::string what,
          const std::function<void(const adapters::CallOptions&, std::function<void(R)>)>& start) {
    return timed_.Await<R>(std::move(what), start);
  }
  template <typename R>
  R Probe(std::string what, const std::function<R(absl::Time deadline)>& call) {
    return timed_.Probe<R>(std::move(what), call);
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

  // While the first connection is being made, the gateway's adapter answers UNAVAILABLE at once (its
  // calls fail fast; a connection attempt that takes longer than the channel's connect timeout is
  // retried with backoff), and the gateway asks again at its next health check. So the kit asks again,
  // every 100 ms, for at most the deadline: the checks after this one then use the connection made.
  CheckResult CheckHealth() {
    Findings findings("health");
    const absl::Time give_up = absl::Now() + options_.deadline;
    int attempts = 0;
    absl::Status status;
    do {
      if (attempts > 0) absl::SleepFor(absl::Milliseconds(100));
      ++attempts;
      status = Health();
    } while (absl::IsUnavailable(status) && absl::Now() < give_up);
    if (!status.ok()) findings.Fail(absl::StrCat("the backend is not serving: ", Describe(status)));
    return findings.Result(absl::StrCat(
        probe_.transport_name() == "http"
            ? "GET /health answered SERVING"
            : "grpc.health.v1.Health/Check of the service \"\" answered SERVING",
        attempts > 1 ? absl::StrCat(" (at attempt ", attempts, ", once the connection was made)") : ""));
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

  // --- Cross-city medical settlement.

  absl::StatusOr<MedicalAccount> Account(const std::string& id, int year) {
    return Await<absl::StatusOr<MedicalAccount>>(absl::StrCat("GetMedicalAccount(", id, ", ", year, ")"),
                                                 [&](const adapters::CallOptions& call, auto done) {
                                                   adapter_.GetMedicalAccount(id, year, call,
                                                                              std::move(done));
                                                 });
  }
  absl::StatusOr<CommitResult> Commit(const SettlementRecord& settlement, int64_t expected_version) {
    return Await<absl::StatusOr<CommitResult>>(
        absl::StrCat("CommitSettlement(", settlement.settlement_id, ", version ", expected_version, ")"),
        [&](const adapters::CallOptions& call, auto done) {
          adapter_.CommitSettlement(settlement, expected_version, call, std::move(done));
        });
  }
  absl::StatusOr<CommitResult> Reverse(const std::string& settlement_id) {
    return Await<absl::StatusOr<CommitResult>>(
        absl::StrCat("ReverseSettlement(", settlement_id, ")"),
        [&](const adapters::CallOptions& call, auto done) {
          adapter_.ReverseSettlement(settlement_id, person_, options_.today, call, std::move(done));
        });
  }
  absl::StatusOr<SettlementRecord> Record(const std::string& settlement_id) {
    return Await<absl::StatusOr<SettlementRecord>>(absl::StrCat("GetSettlementRecord(", settlement_id, ")"),
                                                   [&](const adapters::CallOptions& call, auto done) {
                                                     adapter_.GetSettlementRecord(settlement_id, call,
                                                                                  std::move(done));
                                                   });
  }
  absl::StatusOr<std::vector<SettlementRecord>> Records(absl::CivilDay day) {
    return Await<absl::StatusOr<std::vector<SettlementRecord>>>(
        absl::StrCat("ListSettlementRecords(", absl::FormatCivilTime(day), ")"),
        [&](const adapters::CallOptions& call, auto done) {
          adapter_.ListSettlementRecords(day, day, call, std::move(done));
        });
  }
  absl::StatusOr<FilingRecord> File(const FilingRecord& filing) {
    return Await<absl::StatusOr<FilingRecord>>(
        absl::StrCat("FileTreatment(", filing.resident_id, ", ", CityName(filing.treatment_city), ")"),
        [&](const adapters::CallOptions& call, auto done) {
          adapter_.FileTreatment(filing, call, std::move(done));
        });
  }
  absl::StatusOr<FilingRecord> Revoke(const std::string& filing_id) {
    return Await<absl::StatusOr<FilingRecord>>(absl::StrCat("RevokeFiling(", person_, ", ", filing_id, ")"),
                                               [&](const adapters::CallOptions& call, auto done) {
                                                 adapter_.RevokeFiling(person_, filing_id, call,
                                                                       std::move(done));
                                               });
  }
  absl::StatusOr<std::vector<FilingRecord>> Filings() {
    return Await<absl::StatusOr<std::vector<FilingRecord>>>(
        absl::StrCat("ListFilings(", person_, ")"), [&](const adapters::CallOptions& call, auto done) {
          adapter_.ListFilings(person_, call, std::move(done));
        });
  }

  // The settlement person (options_.settlement_person, or the first sample person with an active
  // enrolment), or "" with why there is none in `why`.
  std::string ChooseSettlementPerson(std::string* why) const {
    if (!options_.settlement_person.empty()) return options_.settlement_person;
    for (const SampleAnswers& sample : samples_) {
      if (sample.medical.ok() && sample.medical->status() == medical::v1::ENROLLMENT_STATUS_ACTIVE)
        return sample.id;
    }
    *why =
        "not exercised: no sample person has an active medical-insurance enrolment (GetMedicalEnrollment); "
        "add one to --sample_ids or name one with --settlement_person";
    return "";
  }

  // The next settlement id of this run.
  std::string NextSettlementId() { return absl::StrCat("CONFORMANCE-", run_id_, "-", ++settlements_made_); }

  // A city other than the insured one, for the treatment.
  City OtherCity() const { return city_ == City::CITY_TAIYUAN ? City::CITY_JINZHONG : City::CITY_TAIYUAN; }

  // The settlement `id`: 1.00 yuan of outpatient treatment in another city today, 0.10 deductible,
  // 0.30 fund, account pay at most 0.20 (what `balance_fen` allows), the rest cash.
  SettlementRecord SmallSettlement(const std::string& id, int64_t balance_fen) const {
    SettlementRecord settlement;
    settlement.settlement_id = id;
    settlement.resident_id = person_;
    settlement.year = static_cast<int>(options_.today.year());
    settlement.visit_type = config::v1::VISIT_TYPE_OUTPATIENT;
    settlement.treatment_city = OtherCity();
    settlement.institution_code = absl::StrCat("H", CityDivisionCode(settlement.treatment_city), "00001");
    settlement.settle_date = options_.today;
    settlement.total_fen = 100;
    settlement.deductible_applied_fen = 10;
    settlement.fund_pay_fen = 30;
    settlement.account_pay_fen = std::clamp<int64_t>(balance_fen, 0, 20);
    settlement.cash_pay_fen = settlement.total_fen - settlement.fund_pay_fen - settlement.account_pay_fen;
    return settlement;
  }

  // The account after `settlement` is applied to `account` (or, `sign` -1, taken back), version
  // aside.
  static MedicalAccount Applied(MedicalAccount account, const SettlementRecord& settlement, int sign) {
    account.balance_fen -= sign * settlement.account_pay_fen;
    int64_t& deductible = settlement.visit_type == config::v1::VISIT_TYPE_INPATIENT
                              ? account.deductible_used_inpatient_fen
                              : account.deductible_used_outpatient_fen;
    deductible += sign * settlement.deductible_applied_fen;
    account.fund_paid_fen += sign * settlement.fund_pay_fen;
    return account;
  }

  // Reads the account again and says how it differs from `expected` ("" if it does not);
  // `what` names the expectation ("unchanged").
  std::string AccountNow(const MedicalAccount& expected, absl::string_view what) {
    absl::StatusOr<MedicalAccount> now = Account(person_, expected.year);
    if (!now.ok()) return absl::StrCat("GetMedicalAccount afterwards answered ", Describe(now.status()));
    const std::string difference = AccountDifference(expected, *now, /*compare_version=*/true);
    if (difference.empty()) return "";
    return absl::StrCat("the account read afterwards is not ", what, ": ", difference);
  }

  // Sends `settlement` at `version` where the contract says it must be refused with `expected`;
  // a commit the backend applies all the same is reversed at the end of the run.
  void ExpectRefusedCommit(const SettlementRecord& settlement, int64_t version, absl::StatusCode expected,
                           absl::string_view what, const MedicalAccount& current, Findings& findings) {
    absl::StatusOr<CommitResult> result = Commit(settlement, version);
    if (result.ok()) {
      const bool applied = !result->replayed;
      if (applied) wrongly_applied_.push_back(settlement.settlement_id);
      findings.Fail(absl::StrCat(what, " answered OK (replayed=", result->replayed ? "true" : "false",
                                 ", balance ", Yuan(result->account.balance_fen), ", version ",
                                 result->account.version, "); must be ", absl::StatusCodeToString(expected),
                                 applied ? " (the kit reverses it)" : ""));
    } else if (result.status().code() != expected) {
      findings.Fail(absl::StrCat(what, " answered ", Describe(result.status()), "; must be ",
                                 absl::StatusCodeToString(expected)));
    }
    if (!result.ok() || result->replayed) {
      const std::string changed = AccountNow(current, "unchanged");
      if (!changed.empty()) findings.Fail(absl::StrCat(what, ": ", changed));
    }
  }

  // The checks from "account" to "settle-reversal", in kCheckNames order.
  std::vector<CheckResult> CheckSettlement() {
    std::vector<CheckResult> results;
    std::string why_no_person;
    person_ = ChooseSettlementPerson(&why_no_person);
    const int year = static_cast<int>(options_.today.year());

    // account
    Findings account_findings("account");
    absl::StatusOr<MedicalAccount> before = absl::UnknownError("no settlement person");
    if (person_.empty()) {
      account_findings.Fail(why_no_person);
    } else {
      before = Account(person_, year);
      if (!before.ok()) {
        account_findings.Fail(absl::StrCat(person_, ": GetMedicalAccount(", year, ") answered ",
                                           Describe(before.status()),
                                           "; the settlement person must have an account"));
      } else {
        if (before->year != year) {
          account_findings.Fail(
              absl::StrCat(person_, ": GetMedicalAccount answered the year ", before->year, " for ", year));
        }
        for (const SampleAnswers& sample : samples_) {
          if (sample.id != person_ || !sample.medical.ok()) continue;
          if (before->insurance_type != sample.medical->insurance_type() ||
              before->status != sample.medical->status()) {
            account_findings.Fail(
                absl::StrCat(person_, ": GetMedicalAccount answers ",
                             medical::v1::InsuranceType_Name(before->insurance_type), " ",
                             medical::v1::EnrollmentStatus_Name(before->status), ", GetMedicalEnrollment ",
                             medical::v1::InsuranceType_Name(sample.medical->insurance_type()), " ",
                             medical::v1::EnrollmentStatus_Name(sample.medical->status()),
                             "; both describe one enrolment"));
          }
        }
      }
    }
    std::vector<std::string> outsiders = {options_.unknown_id};
    for (const SampleAnswers& sample : samples_) {
      if (sample.location.ok() && sample.location->found && !sample.location->holds_medical_enrollment)
        outsiders.push_back(sample.id);
    }
    for (const std::string& id : outsiders) {
      absl::StatusOr<MedicalAccount> none = Account(id, year);
      if (absl::IsNotFound(none.status())) continue;
      account_findings.Fail(
          absl::StrCat("GetMedicalAccount of ", id == options_.unknown_id ? "the unknown person " : "", id,
                       ", whom the city does not insure, answered ",
                       none.ok() ? "an account" : Describe(none.status()), "; must be NOT_FOUND"));
    }
    results.push_back(account_findings.Result(
        before.ok()
            ? absl::StrCat(person_, "'s account of ", year, " answered (", DescribeAccount(*before),
                           "); NOT_FOUND for the unknown person",
                           outsiders.size() > 1
                               ? absl::StrCat(" and ", outsiders.size() - 1,
                                              " sample persons LocatePerson says are not insured here")
                               : std::string())
            : ""));

    // settle-commit
    Findings commit_findings("settle-commit");
    const std::string first_id = NextSettlementId();
    SettlementRecord sent;
    absl::StatusOr<CommitResult> committed = absl::UnknownError("not committed");
    std::string not_exercised;
    if (!before.ok()) {
      not_exercised = "not exercised: the settlement person's account could not be read (see account)";
      commit_findings.Fail(not_exercised);
    } else {
      sent = SmallSettlement(first_id, before->balance_fen);
      committed = Commit(sent, before->version);
      const std::string what = absl::StrCat("CommitSettlement of ", first_id, " (", DescribeAmounts(sent),
                                            ") at version ", before->version);
      if (!committed.ok()) {
        commit_findings.Fail(absl::StrCat(what, " answered ", Describe(committed.status())));
        not_exercised = "not exercised: the first commit failed (see settle-commit)";
      } else {
        committed_ = true;
        if (committed->replayed) {
          commit_findings.Fail(
              absl::StrCat(what, " answered replayed=true for a settlement_id never sent before"));
        }
        const std::string recorded = SettlementDifference(sent, committed->settlement);
        if (!recorded.empty()) {
          commit_findings.Fail(
              absl::StrCat(what, ": the settlement recorded differs from the one sent in ", recorded));
        }
        const MedicalAccount expected = Applied(*before, sent, +1);
        const std::string moved = AccountDifference(expected, committed->account, /*compare_version=*/false);
        if (!moved.empty()) {
          commit_findings.Fail(absl::StrCat(
              what, ": the account answered did not move by exactly the settlement (", moved, ")"));
        }
        if (committed->account.version == before->version) {
          commit_findings.Fail(absl::StrCat(what, ": the account version did not move (", before->version,
                                            "); every commit moves it"));
        }
        const std::string again = AccountNow(committed->account, "the one the commit answered");
        if (!again.empty()) commit_findings.Fail(absl::StrCat(what, ": ", again));
      }
    }
    results.push_back(commit_findings.Result(
        committed.ok() ? absl::StrCat(first_id, " (", DescribeAmounts(sent), ") applied once at version ",
                                      before->version,
                                      ": balance and accumulators moved by exactly its amounts, "
                                      "version ",
                                      before->version, " -> ", committed->account.version)
                       : ""));
    const bool exercised = not_exercised.empty();
    const MedicalAccount after = committed.ok() ? committed->account : MedicalAccount();

    // settle-replay
    Findings replay_findings("settle-replay");
    if (!exercised) {
      replay_findings.Fail(not_exercised);
    } else {
      absl::StatusOr<CommitResult> replay = Commit(sent, before->version);
      const std::string what =
          absl::StrCat("the same commit of ", first_id, " again (at the old version ", before->version, ")");
      if (!replay.ok()) {
        replay_findings.Fail(absl::StrCat(what, " answered ", Describe(replay.status()),
                                          "; must be the stored result with replayed=true"));
      } else {
        if (!replay->replayed) replay_findings.Fail(absl::StrCat(what, " answered replayed=false"));
        const std::string settlement = SettlementDifference(committed->settlement, replay->settlement);
        if (!settlement.empty())
          replay_findings.Fail(
              absl::StrCat(what, " answered another settlement: it differs in ", settlement));
        const std::string account = AccountDifference(after, replay->account, /*compare_version=*/true);
        if (!account.empty())
          replay_findings.Fail(absl::StrCat(what, " answered an account other than the one now: ", account));
      }
      const std::string changed = AccountNow(after, "unchanged");
      if (!changed.empty()) replay_findings.Fail(absl::StrCat(what, ": ", changed));
    }
    results.push_back(
        replay_findings.Result(absl::StrCat("the same commit of ", first_id,
                                            " at the old version answered replayed=true with the "
                                            "stored settlement and the account as it is; nothing changed")));

    // settle-conflict
    Findings conflict_findings("settle-conflict");
    if (!exercised) {
      conflict_findings.Fail(not_exercised);
    } else {
      SettlementRecord other = sent;
      other.total_fen += 1;
      other.cash_pay_fen += 1;
      ExpectRefusedCommit(other, after.version, absl::StatusCode::kAlreadyExists,
                          absl::StrCat("CommitSettlement of ", first_id, " again with other amounts (",
                                       DescribeAmounts(other), ") at the current version ", after.version),
                          after, conflict_findings);
    }
    results.push_back(conflict_findings.Result(
        absl::StrCat(first_id, " with other amounts answered ALREADY_EXISTS; nothing changed")));

    // settle-stale-version
    Findings stale_findings("settle-stale-version");
    if (!exercised) {
      stale_findings.Fail(not_exercised);
    } else if (after.version == before->version) {
      stale_findings.Fail(
          "not exercised: the version did not move with the first commit (see settle-commit)");
    } else {
      const SettlementRecord stale = SmallSettlement(NextSettlementId(), after.balance_fen);
      ExpectRefusedCommit(
          stale, before->version, absl::StatusCode::kAborted,
          absl::StrCat("CommitSettlement of a new settlement ", stale.settlement_id, " at the stale version ",
                       before->version, " (the account is at ", after.version, ")"),
          after, stale_findings);
    }
    results.push_back(stale_findings.Result(absl::StrCat("a new settlement at the stale version ",
                                                         before.ok() ? before->version : 0,
                                                         " answered ABORTED; nothing changed")));

    // settle-overdraw
    Findings overdraw_findings("settle-overdraw");
    if (!exercised) {
      overdraw_findings.Fail(not_exercised);
    } else {
      absl::StatusOr<MedicalAccount> current = Account(person_, year);
      if (!current.ok()) {
        overdraw_findings.Fail(absl::StrCat("GetMedicalAccount answered ", Describe(current.status())));
      } else if (current->balance_fen >= kMaxMoneyFen) {
        overdraw_findings.Fail("not exercised: the balance is too large to overdraw");
      } else {
        SettlementRecord overdraw = SmallSettlement(NextSettlementId(), 0);
        overdraw.account_pay_fen = current->balance_fen + 1;
        overdraw.total_fen = overdraw.account_pay_fen;
        overdraw.deductible_applied_fen = 0;
        overdraw.fund_pay_fen = 0;
        overdraw.cash_pay_fen = 0;
        ExpectRefusedCommit(
            overdraw, current->version, absl::StatusCode::kFailedPrecondition,
            absl::StrCat("CommitSettlement of ", overdraw.settlement_id, " paying ",
                         Yuan(overdraw.account_pay_fen), " from a balance of ", Yuan(current->balance_fen),
                         " at the current version ", current->version),
            *current, overdraw_findings);
      }
    }
    results.push_back(overdraw_findings.Result(
        "a settlement paying one fen more than the balance from the account answered FAILED_PRECONDITION; "
        "nothing changed"));

    // settle-record
    Findings record_findings("settle-record");
    if (!exercised) {
      record_findings.Fail(not_exercised);
    } else {
      absl::StatusOr<SettlementRecord> record = Record(first_id);
      if (!record.ok()) {
        record_findings.Fail(
            absl::StrCat("GetSettlementRecord(", first_id, ") answered ", Describe(record.status())));
      } else {
        const std::string difference = SettlementDifference(committed->settlement, *record);
        if (!difference.empty()) {
          record_findings.Fail(absl::StrCat("GetSettlementRecord(", first_id,
                                            ") is not the settlement as committed: it differs in ",
                                            difference));
        }
      }
      absl::StatusOr<std::vector<SettlementRecord>> listed = Records(options_.today);
      const std::string what =
          absl::StrCat("ListSettlementRecords of ", absl::FormatCivilTime(options_.today));
      if (!listed.ok()) {
        record_findings.Fail(absl::StrCat(what, " answered ", Describe(listed.status())));
      } else {
        int found = 0;
        for (const SettlementRecord& entry : *listed) {
          if (entry.settlement_id != first_id) continue;
          ++found;
          const std::string difference = SettlementDifference(committed->settlement, entry);
          if (!difference.empty()) {
            record_findings.Fail(absl::StrCat(what, " lists ", first_id,
                                              " other than as committed: it differs in ", difference));
          }
        }
        if (found != 1) {
          record_findings.Fail(absl::StrCat(what, " (", listed->size(), " settlements) lists ", first_id, " ",
                                            found, " times; must be once"));
        }
      }
    }
    results.push_back(record_findings.Result(absl::StrCat(
        "GetSettlementRecord(", first_id, ") answered it as committed, and ListSettlementRecords of ",
        absl::FormatCivilTime(options_.today), " lists it once")));

    // The settlements applied against the contract go first, so that the reversal of the first
    // one can be held to restoring the account exactly.
    std::vector<std::string> cleanup_failures;
    for (const std::string& id : wrongly_applied_) {
      if (id == first_id) continue;
      absl::StatusOr<CommitResult> undone = Reverse(id);
      if (!undone.ok()) {
        cleanup_failures.push_back(absl::StrCat("reversing ", id,
                                                ", which the backend applied against the contract, "
                                                "answered ",
                                                Describe(undone.status())));
      }
    }

    // settle-reversal
    Findings reversal_findings("settle-reversal");
    const bool cleaned_up = cleanup_failures.empty();
    for (std::string& failure : cleanup_failures) reversal_findings.Fail(std::move(failure));
    if (!committed_) {
      reversal_findings.Fail(not_exercised);
    } else {
      absl::StatusOr<MedicalAccount> pre = Account(person_, year);
      absl::StatusOr<CommitResult> reversed = Reverse(first_id);
      const std::string what = absl::StrCat("ReverseSettlement(", first_id, ")");
      if (!reversed.ok()) {
        reversal_findings.Fail(absl::StrCat(what, " answered ", Describe(reversed.status()),
                                            "; the kit could not undo its settlement"));
      } else {
        if (reversed->replayed)
          reversal_findings.Fail(absl::StrCat(what, " answered replayed=true the first time"));
        if (!reversed->settlement.reversed || reversed->settlement.reversed_date != options_.today) {
          reversal_findings.Fail(absl::StrCat(what, " answered a settlement not reversed on ",
                                              absl::FormatCivilTime(options_.today)));
        }
        if (pre.ok()) {
          const std::string difference =
              AccountDifference(Applied(*pre, sent, -1), reversed->account, /*compare_version=*/false);
          if (!difference.empty()) {
            reversal_findings.Fail(
                absl::StrCat(what, " did not subtract exactly what the settlement added (", difference, ")"));
          }
          if (reversed->account.version == pre->version)
            reversal_findings.Fail(absl::StrCat(what, ": the account version did not move"));
        }
        // The settlements applied against the contract were reversed above: unless one of them
        // reused the first id, or could not be reversed, the account is where it started.
        if (cleaned_up &&
            std::find(wrongly_applied_.begin(), wrongly_applied_.end(), first_id) == wrongly_applied_.end()) {
          const std::string restored =
              AccountDifference(*before, reversed->account, /*compare_version=*/false);
          if (!restored.empty()) {
            reversal_findings.Fail(
                absl::StrCat(what, ": the account is not as before the first commit (", restored, ")"));
          }
        }
        const std::string again = AccountNow(reversed->account, "the one the reversal answered");
        if (!again.empty()) reversal_findings.Fail(absl::StrCat(what, ": ", again));

        absl::StatusOr<CommitResult> twice = Reverse(first_id);
        const std::string second = absl::StrCat("a second ", what);
        if (!twice.ok()) {
          reversal_findings.Fail(absl::StrCat(second, " answered ", Describe(twice.status()),
                                              "; must be the stored result with replayed=true"));
        } else {
          if (!twice->replayed) reversal_findings.Fail(absl::StrCat(second, " answered replayed=false"));
          const std::string settlement = SettlementDifference(reversed->settlement, twice->settlement);
          if (!settlement.empty())
            reversal_findings.Fail(
                absl::StrCat(second, " answered another settlement: it differs in ", settlement));
          const std::string account =
              AccountDifference(reversed->account, twice->account, /*compare_version=*/true);
          if (!account.empty())
            reversal_findings.Fail(absl::StrCat(second, " changed the account: ", account));
        }
        absl::StatusOr<SettlementRecord> record = Record(first_id);
        if (!record.ok()) {
          reversal_findings.Fail(absl::StrCat("GetSettlementRecord(", first_id,
                                              ") after the reversal answered ", Describe(record.status())));
        } else {
          const std::string difference = SettlementDifference(reversed->settlement, *record);
          if (!difference.empty()) {
            reversal_findings.Fail(absl::StrCat(
                "GetSettlementRecord(", first_id,
                ") after the reversal is not the settlement as reversed: it differs in ", difference));
          }
        }
      }
    }
    results.push_back(reversal_findings.Result(
        absl::StrCat(first_id,
                     " reversed: balance and accumulators as before the commit, version moved, the record "
                     "reversed on ",
                     absl::FormatCivilTime(options_.today),
                     "; the second reversal answered replayed=true, "
                     "nothing changed")));
    return results;
  }

  // "filing" and "filing-same-city", on the settlement person CheckSettlement chose.
  std::vector<CheckResult> CheckFilings() {
    std::vector<CheckResult> results;
    Findings findings("filing");
    Findings same_city("filing-same-city");
    FilingRecord sent;
    sent.resident_id = person_;
    sent.treatment_city = OtherCity();
    sent.valid_from = options_.today;
    sent.valid_to = options_.today + 30;
    sent.reason = medical::v1::FILING_REASON_TEMPORARY;
    std::string filing_id;
    if (person_.empty()) {
      findings.Fail("not exercised: no settlement person (see account)");
      same_city.Fail("not exercised: no settlement person (see account)");
    } else {
      absl::StatusOr<FilingRecord> filed = File(sent);
      const std::string what =
          absl::StrCat("FileTreatment for ", CityName(sent.treatment_city), " from ",
                       absl::FormatCivilTime(sent.valid_from), " to ", absl::FormatCivilTime(sent.valid_to));
      if (!filed.ok()) {
        findings.Fail(absl::StrCat(what, " answered ", Describe(filed.status())));
      } else {
        filing_id = filed->filing_id;
        FilingRecord expected = sent;
        expected.filing_id = filed->filing_id;
        const std::string difference = FilingDifference(expected, *filed);
        if (!difference.empty())
          findings.Fail(
              absl::StrCat(what, ": the filing recorded differs from the one sent in ", difference));
        if (filed->filing_id.empty()) findings.Fail(absl::StrCat(what, " answered no filing_id"));
        ExpectListed(expected, "after filing", findings);
        absl::StatusOr<FilingRecord> revoked = Revoke(filing_id);
        FilingRecord expected_revoked = expected;
        expected_revoked.revoked = true;
        if (!revoked.ok()) {
          findings.Fail(absl::StrCat("RevokeFiling(", filing_id, ") answered ", Describe(revoked.status())));
        } else {
          const std::string difference = FilingDifference(expected_revoked, *revoked);
          if (!difference.empty())
            findings.Fail(
                absl::StrCat("RevokeFiling(", filing_id, ") answered a filing that differs in ", difference));
        }
        absl::StatusOr<FilingRecord> again = Revoke(filing_id);
        if (!again.ok()) {
          findings.Fail(absl::StrCat("a second RevokeFiling(", filing_id, ") answered ",
                                     Describe(again.status()), "; a revoked filing is answered unchanged"));
        } else {
          const std::string difference = FilingDifference(expected_revoked, *again);
          if (!difference.empty()) {
            findings.Fail(absl::StrCat("a second RevokeFiling(", filing_id,
                                       ") answered a filing that differs in ", difference,
                                       "; a revoked filing is answered unchanged"));
          }
        }
        ExpectListed(expected_revoked, "after revoking", findings);
      }
      const std::string unknown = absl::StrCat("CONFORMANCE-NO-SUCH-FILING-", run_id_);
      absl::StatusOr<FilingRecord> none = Revoke(unknown);
      if (!absl::IsNotFound(none.status())) {
        findings.Fail(absl::StrCat("RevokeFiling of a filing the person does not have answered ",
                                   none.ok() ? "a filing" : Describe(none.status()), "; must be NOT_FOUND"));
      }

      FilingRecord home = sent;
      home.treatment_city = city_;
      absl::StatusOr<FilingRecord> refused = File(home);
      if (refused.ok()) {
        same_city.Fail(absl::StrCat("FileTreatment for treatment in ", CityName(city_),
                                    ", the city that insures the person, answered a filing (",
                                    refused->filing_id,
                                    "); must be FAILED_PRECONDITION (the kit revokes it)"));
        (void)Revoke(refused->filing_id);
      } else if (!absl::IsFailedPrecondition(refused.status())) {
        same_city.Fail(absl::StrCat("FileTreatment for treatment in ", CityName(city_), " answered ",
                                    Describe(refused.status()), "; must be FAILED_PRECONDITION"));
      }
    }
    results.push_back(findings.Result(
        absl::StrCat("filing ", filing_id, " (", CityName(sent.treatment_city), ", ",
                     absl::FormatCivilTime(sent.valid_from), " to ", absl::FormatCivilTime(sent.valid_to),
                     ", temporary stay) recorded as sent, listed, revoked, "
                     "revoked again unchanged, listed revoked; an unknown filing is NOT_FOUND")));
    results.push_back(same_city.Result(
        absl::StrCat("a filing for treatment in ", CityName(city_), " itself answered FAILED_PRECONDITION")));
    return results;
  }

  // Fails unless ListFilings lists `expected` once, as it is.
  void ExpectListed(const FilingRecord& expected, absl::string_view when, Findings& findings) {
    absl::StatusOr<std::vector<FilingRecord>> listed = Filings();
    const std::string what = absl::StrCat("ListFilings ", when);
    if (!listed.ok()) return findings.Fail(absl::StrCat(what, " answered ", Describe(listed.status())));
    int found = 0;
    for (const FilingRecord& filing : *listed) {
      if (filing.filing_id != expected.filing_id) continue;
      ++found;
      const std::string difference = FilingDifference(expected, filing);
      if (!difference.empty()) {
        findings.Fail(absl::StrCat(what, " lists ", expected.filing_id, " differing in ", difference));
      }
    }
    if (found != 1) {
      findings.Fail(absl::StrCat(what, " (", listed->size(), " filings) lists ", expected.filing_id, " ",
                                 found, " times; must be once"));
    }
  }

  CheckResult CheckDeadline() {
    Findings findings("deadline");
    const CallRecord* slowest = nullptr;
    const std::vector<CallRecord>& calls = timed_.calls();
    for (const CallRecord& call : calls) {
      if (slowest == nullptr || call.elapsed > slowest->elapsed) slowest = &call;
      if (call.code == absl::StatusCode::kDeadlineExceeded || call.elapsed >= options_.deadline) {
        findings.Fail(absl::StrCat(call.what, " took ", absl::ToInt64Milliseconds(call.elapsed), " ms (",
                                   absl::StatusCodeToString(call.code), "); the deadline is ",
                                   absl::ToInt64Milliseconds(options_.deadline), " ms"));
      }
    }
    return findings.Result(absl::StrCat(
        "all ", calls.size(), " calls answered within ", absl::ToInt64Milliseconds(options_.deadline), " ms",
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
  TimedCalls timed_;
  // The settlement checks: their person, the run's part of the settlement ids, how many ids were
  // made, whether the first commit applied, and the settlements the backend applied although the
  // contract says it must refuse them (reversed before the first one).
  std::string person_;
  const std::string run_id_;
  int settlements_made_ = 0;
  bool committed_ = false;
  std::vector<std::string> wrongly_applied_;
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
  return absl::StrCat(result.skipped  ? "SKIP "
                      : result.passed ? "PASS "
                                      : "FAIL ",
                      result.name, ": ", absl::StrReplaceAll(result.detail, {{"\r", " "}, {"\n", " "}}));
}

}  // namespace interop::conformance
