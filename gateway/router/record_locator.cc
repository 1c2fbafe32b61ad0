#include "gateway/router/record_locator.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "gateway/base/cities.h"
#include "gateway/base/log.h"

namespace interop::router {
namespace {

bool Holds(const adapters::PersonLocation& location, RecordDomain domain) {
  switch (domain) {
    case RecordDomain::kMedicalEnrollment:
      return location.holds_medical_enrollment;
    case RecordDomain::kContributionHistory:
      return location.holds_contribution_history;
    case RecordDomain::kHouseholdRegistration:
      return location.holds_household_registration;
  }
  return false;
}

bool SingleHolder(RecordDomain domain) { return domain != RecordDomain::kContributionHistory; }

constexpr RecordDomain kAllDomains[] = {RecordDomain::kMedicalEnrollment, RecordDomain::kContributionHistory,
                                        RecordDomain::kHouseholdRegistration};

}  // namespace

absl::string_view DomainDescription(RecordDomain domain) {
  switch (domain) {
    case RecordDomain::kMedicalEnrollment:
      return "medical-insurance enrolment";
    case RecordDomain::kContributionHistory:
      return "contribution history";
    case RecordDomain::kHouseholdRegistration:
      return "household registration";
  }
  return "record";
}

struct RecordLocator::FanOut {
  std::string resident_id;
  RecordDomain domain;
  std::string request_id;  // of the call that asked, for the log
  std::function<void(absl::StatusOr<LocateResult>)> done;

  absl::Mutex mu;
  int pending ABSL_GUARDED_BY(mu) = 0;
  bool answered ABSL_GUARDED_BY(mu) = false;
  std::map<City, adapters::PersonLocation> answers ABSL_GUARDED_BY(mu);
  std::map<City, absl::Status> failures ABSL_GUARDED_BY(mu);
};

RecordLocator::RecordLocator(CityDirectory& cities, store::LocationStore& locations, const Clock& clock,
                             absl::Duration ttl)
    : cities_(cities), locations_(locations), clock_(clock), ttl_(ttl) {}

void RecordLocator::Forget(const std::string& resident_id, RecordDomain domain) {
  locations_.Forget(resident_id, domain).IgnoreError();  // a cache: failing to forget costs one retry
}

void RecordLocator::Locate(const std::string& resident_id, RecordDomain domain, bool refresh,
                           const adapters::CallOptions& options,
                           std::function<void(absl::StatusOr<LocateResult>)> done) {
  if (!refresh) {
    absl::StatusOr<std::optional<store::RecordLocation>> known = locations_.Get(resident_id, domain);
    if (known.ok() && known->has_value() && !(*known)->cities.empty() &&
        clock_.Now() - (*known)->learned_at < ttl_) {
      return done(LocateResult{(*known)->cities, /*from_index=*/true});
    }
  }

  auto fan_out = std::make_shared<FanOut>();
  fan_out->resident_id = resident_id;
  fan_out->domain = domain;
  fan_out->request_id = options.request_id;
  fan_out->done = std::move(done);
  std::vector<City> all = cities_.Cities();
  {
    absl::MutexLock lock(&fan_out->mu);
    fan_out->pending = static_cast<int>(all.size());
  }
  for (City city : all) {
    cities_.Find(city)->LocatePerson(
        resident_id, options, [this, fan_out, city](absl::StatusOr<adapters::PersonLocation> location) {
          bool answer_now = false;
          bool last = false;
          {
            absl::MutexLock lock(&fan_out->mu);
            if (location.ok()) {
              fan_out->answers[city] = *location;
              if (!fan_out->answered && SingleHolder(fan_out->domain) && Holds(*location, fan_out->domain)) {
                fan_out->answered = answer_now = true;
              }
            } else {
              fan_out->failures[city] = location.status();
            }
            last = --fan_out->pending == 0;
          }
          if (answer_now) fan_out->done(LocateResult{{city}, /*from_index=*/false});
          if (last) FinishFanOut(fan_out);
        });
  }
}

void RecordLocator::FinishFanOut(const std::shared_ptr<FanOut>& fan_out) {
  std::map<City, adapters::PersonLocation> answers;
  std::map<City, absl::Status> failures;
  bool answered = false;
  {
    absl::MutexLock lock(&fan_out->mu);
    answers = fan_out->answers;
    failures = fan_out->failures;
    answered = fan_out->answered;
  }
  absl::Time now = clock_.Now();
  std::vector<City> wanted_holders;
  for (RecordDomain domain : kAllDomains) {
    std::vector<City> holders;
    for (const auto& [city, location] : answers) {
      if (Holds(location, domain)) holders.push_back(city);
    }
    if (domain == fan_out->domain) wanted_holders = holders;
    if (SingleHolder(domain) && holders.size() > 1) {
      // Forbidden by the cities' own invariants (one insured place, one registration): report it.
      std::vector<std::string> names;
      for (City city : holders) names.push_back(std::string(CityName(city)));
      LogWarning("several cities claim a record that only one city may hold",
                 {{"request_id", fan_out->request_id},
                  {"domain", std::string(DomainDescription(domain))},
                  {"cities", absl::StrJoin(names, ",")}});
    }
    // Remember only complete knowledge: a single holder is complete once found; a multi-city history
    // only when every city answered. "Nobody holds it" is never remembered, so a new enrolment is
    // visible at once.
    bool complete = SingleHolder(domain) ? holders.size() == 1 : failures.empty();
    if (complete && !holders.empty()) {
      locations_.Put(fan_out->resident_id, domain, store::RecordLocation{holders, now}).IgnoreError();
    }
  }
  if (answered) return;

  if (!wanted_holders.empty() && (SingleHolder(fan_out->domain) || failures.empty())) {
    return fan_out->done(LocateResult{wanted_holders, /*from_index=*/false});
  }
  if (!failures.empty()) {
    std::vector<std::string> names;
    std::string first_reason;
    for (const auto& [city, status] : failures) {
      names.push_back(std::string(CityName(city)));
      if (first_reason.empty()) first_reason = std::string(status.message());
    }
    return fan_out->done(absl::UnavailableError(
        absl::StrCat("cannot tell which city holds the person's ", DomainDescription(fan_out->domain),
                     ": city ", absl::StrJoin(names, ", "), " did not answer (", first_reason, ")")));
  }
  fan_out->done(absl::NotFoundError(absl::StrCat("none of the five cities holds a ",
                                                 DomainDescription(fan_out->domain), " for this person")));
}

}  // namespace interop::router
