// Test double of a city for the issue-5 workflows: a CityAdapter answering in process from
// MockMobilityRecords (the mock cities' household register and pension relationships, in canonical
// terms; tools/mock_city/mobility_records.h) over a synthetic Population, counting what it applied
// (not replayed) by kind. Used by the workflow definitions' tests (tests/gateway/transfers/) and by
// the services' tests (tests/gateway/services/).
//
// Besides the workflows' writes it answers the reads the services need: LocatePerson (from the
// population and the records), GetHouseholdRecord (the registration here today) and
// GetMonthlyContributions (pension months only, as the workflows check the sheet against them).
// GetInsuranceStatus is UNIMPLEMENTED.
//
// Faults, for city-down tests: SetDown(true) makes every call answer UNAVAILABLE naming the city;
// FailNext(op, status) / FailAlways(op, status) make one operation answer `status` without applying
// anything. Operations are named as applied() counts them: "permit", "move_out", "settle_in",
// "apply", "letter", "prepare", "complete", "confirm", plus "locate", "household", "contributions".
//
// Thread-safe. Every callback is called before the method returns.
#ifndef INTEROP_TESTS_GATEWAY_TRANSFERS_FAKE_MOBILITY_CITY_H_
#define INTEROP_TESTS_GATEWAY_TRANSFERS_FAKE_MOBILITY_CITY_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "adapters/city_adapter.h"
#include "gateway/base/cities.h"
#include "tools/mock_city/mobility_records.h"
#include "tools/mock_city/population.h"

namespace interop::transfers::test_support {

// The day the fake cities take as today (the population's today).
inline const absl::CivilDay kFakeToday(2026, 6, 30);

class FakeMobilityCity final : public adapters::CityAdapter {
 public:
  using CallOptions = adapters::CallOptions;
  template <typename T>
  using Callback = adapters::Callback<T>;

  FakeMobilityCity(const mock_city::Population& population, City city)
      : population_(population), city_(city), records_(population, city) {}

  City city() const override { return city_; }

  void LocatePerson(const std::string& id, const CallOptions&,
                    Callback<adapters::PersonLocation> done) override {
    if (absl::Status fault = Fault("locate"); !fault.ok()) return done(fault);
    adapters::PersonLocation location;
    const mock_city::SyntheticPerson* person = population_.Find(id);
    if (person != nullptr) {
      location.holds_medical_enrollment = person->has_medical && person->medical.city == city_;
      location.holds_contribution_history = records_.HasContributions(*person);
      location.holds_household_registration = records_.Registration(*person).has_value();
      location.found = location.holds_medical_enrollment || records_.HoldsAnyRecordBesidesMedical(*person);
    }
    done(location);
  }
  void GetInsuranceStatus(const std::string&, const CallOptions&,
                          Callback<medical::v1::GetInsuranceStatusResponse> done) override {
    done(absl::UnimplementedError(absl::StrCat("city ", CityName(city_), ": fake")));
  }
  void GetMonthlyContributions(const std::string& id, int from_year, int to_year, const CallOptions&,
                               Callback<std::vector<social::v1::ContributionEntry>> done) override {
    if (absl::Status fault = Fault("contributions"); !fault.ok()) return done(fault);
    std::vector<social::v1::ContributionEntry> out;
    const mock_city::SyntheticPerson* person = population_.Find(id);
    if (person == nullptr) return done(std::move(out));
    for (const mock_city::ContributionMonth& m : records_.Contributions(*person, from_year, to_year)) {
      if (m.kind_code == "110") out.push_back(mock_city::ToPensionEntry(m));
    }
    done(std::move(out));
  }
  void GetHouseholdRecord(const std::string& id, const CallOptions&,
                          Callback<household::v1::GetHouseholdRecordResponse> done) override {
    if (absl::Status fault = Fault("household"); !fault.ok()) return done(fault);
    const mock_city::SyntheticPerson* person = population_.Find(id);
    std::optional<mock_city::HouseholdRegistration> registration;
    if (person != nullptr) registration = records_.Registration(*person);
    if (!registration.has_value()) {
      return done(absl::NotFoundError(
          absl::StrCat("city ", CityName(city_), " registers no household of the person")));
    }
    household::v1::GetHouseholdRecordResponse record;
    record.set_resident_id(person->resident_id);
    record.set_name(person->name);
    *record.mutable_registered_city() = MakeCityInfo(city_);
    record.set_address_code(registration->address_code);
    record.set_household_number(registration->household_number);
    done(std::move(record));
  }
  void CheckHealth(const CallOptions&, std::function<void(absl::Status)> done) override {
    done(Fault("health"));
  }

  void IssueMoveInPermit(const std::string& key, const std::string& id, City origin,
                         const std::string& address, const CallOptions&,
                         Callback<adapters::MoveInPermit> done) override {
    if (absl::Status fault = Fault("permit"); !fault.ok()) return done(fault);
    done(Count("permit", records_.IssueMoveInPermit(key, Person(id), origin, address, kFakeToday)));
  }
  void RecordMoveOut(const std::string& key, const std::string& id, City destination,
                     const std::string& permit, absl::CivilDay until, const CallOptions&,
                     Callback<adapters::MoveOutRecord> done) override {
    if (absl::Status fault = Fault("move_out"); !fault.ok()) return done(fault);
    done(Count("move_out", records_.RecordMoveOut(key, Person(id), destination, permit, until, kFakeToday)));
  }
  void SettleIn(const std::string& key, const std::string& id, const std::string& permit,
                const std::string& address, const std::string& name, const CallOptions&,
                Callback<adapters::SettleInResult> done) override {
    if (absl::Status fault = Fault("settle_in"); !fault.ok()) return done(fault);
    bool replayed = false;
    absl::StatusOr<mock_city::HouseholdRegistration> r =
        records_.SettleIn(key, Person(id), permit, address, name, kFakeToday, &replayed);
    if (!r.ok()) return done(r.status());
    adapters::SettleInResult result;
    result.registration.set_address_code(r->address_code);
    result.registration.set_household_number(r->household_number);
    result.replayed = replayed;
    done(Count("settle_in", absl::StatusOr<adapters::SettleInResult>(result)));
  }
  void ApplyPensionTransfer(const std::string& key, const std::string& id, City origin, const CallOptions&,
                            Callback<adapters::PensionApplication> done) override {
    if (absl::Status fault = Fault("apply"); !fault.ok()) return done(fault);
    done(Count("apply", records_.ApplyPensionTransfer(key, Person(id), origin, kFakeToday)));
  }
  void IssueContactLetter(const std::string& key, const std::string& id, const std::string& application,
                          const CallOptions&, Callback<adapters::ContactLetter> done) override {
    if (absl::Status fault = Fault("letter"); !fault.ok()) return done(fault);
    done(Count("letter", records_.IssueContactLetter(key, Person(id), application, kFakeToday)));
  }
  void PreparePensionTransferOut(const std::string& key, const std::string& id, City destination,
                                 const std::string& letter, const CallOptions&,
                                 Callback<adapters::PreparedTransferOut> done) override {
    if (absl::Status fault = Fault("prepare"); !fault.ok()) return done(fault);
    done(Count("prepare", records_.PreparePensionTransferOut(key, Person(id), destination, letter)));
  }
  void CompletePensionTransferOut(const std::string& key, const std::string& id, City destination,
                                  const std::string& letter, int64_t personal, int64_t pooled,
                                  const CallOptions&,
                                  Callback<adapters::TransferOutCompletion> done) override {
    if (absl::Status fault = Fault("complete"); !fault.ok()) return done(fault);
    done(Count("complete", records_.CompletePensionTransferOut(key, Person(id), destination, letter, personal,
                                                               pooled, kFakeToday)));
  }
  void ConfirmPensionTransferIn(const std::string& key, const std::string& id, const std::string& application,
                                City origin, const adapters::PensionTransferSheet& sheet, const CallOptions&,
                                Callback<adapters::TransferInConfirmation> done) override {
    if (absl::Status fault = Fault("confirm"); !fault.ok()) return done(fault);
    done(Count("confirm",
               records_.ConfirmPensionTransferIn(key, Person(id), application, origin, sheet, kFakeToday)));
  }

  // Requests applied (not replayed) by kind.
  int applied(const std::string& what) {
    absl::MutexLock lock(&mu_);
    return applied_[what];
  }
  // Calls that reached the city (faults included) by operation.
  int calls(const std::string& what) {
    absl::MutexLock lock(&mu_);
    return calls_[what];
  }
  mock_city::MockMobilityRecords& records() { return records_; }

  // Every call answers UNAVAILABLE while down.
  void SetDown(bool down) {
    absl::MutexLock lock(&mu_);
    down_ = down;
  }
  // The next call of `op` answers `status` (applying nothing).
  void FailNext(const std::string& op, absl::Status status) {
    absl::MutexLock lock(&mu_);
    fail_next_[op] = std::move(status);
  }
  // Every call of `op` answers `status` until cleared with an OK status.
  void FailAlways(const std::string& op, absl::Status status) {
    absl::MutexLock lock(&mu_);
    if (status.ok()) {
      fail_always_.erase(op);
    } else {
      fail_always_[op] = std::move(status);
    }
  }

 private:
  const mock_city::SyntheticPerson& Person(const std::string& id) const {
    const mock_city::SyntheticPerson* person = population_.Find(id);
    return person != nullptr ? *person : population_.persons().front();
  }

  absl::Status Fault(const std::string& op) {
    absl::MutexLock lock(&mu_);
    ++calls_[op];
    if (down_) return absl::UnavailableError(absl::StrCat("city ", CityName(city_), " is down"));
    if (auto it = fail_next_.find(op); it != fail_next_.end()) {
      absl::Status status = std::move(it->second);
      fail_next_.erase(it);
      return status;
    }
    if (auto it = fail_always_.find(op); it != fail_always_.end()) return it->second;
    return absl::OkStatus();
  }

  template <typename T>
  absl::StatusOr<T> Count(const std::string& what, absl::StatusOr<T> result) {
    if (result.ok() && !result->replayed) {
      absl::MutexLock lock(&mu_);
      ++applied_[what];
    }
    return result;
  }

  const mock_city::Population& population_;
  const City city_;
  mock_city::MockMobilityRecords records_;
  absl::Mutex mu_;
  std::map<std::string, int> applied_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> calls_ ABSL_GUARDED_BY(mu_);
  bool down_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, absl::Status> fail_next_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Status> fail_always_ ABSL_GUARDED_BY(mu_);
};

// Persons of `population` for the workflows' tests.
// The `skip`-th person whose household is registered in `city`.
inline const mock_city::SyntheticPerson& RegisteredIn(const mock_city::Population& population, City city,
                                                      int skip = 0) {
  for (const mock_city::SyntheticPerson& p : population.persons()) {
    if (p.household.city == city && skip-- == 0) return p;
  }
  return population.persons().front();
}

// The `skip`-th person who paid pension contributions only in `city`, and stopped before 2026 (so
// the origin lets the relationship move).
inline bool PaysPensionOnlyIn(const mock_city::SyntheticPerson& p, City city) {
  return p.employment.size() == 1 && p.employment[0].city == city &&
         p.employment[0].last_month < absl::CivilMonth(2026, 1);
}
inline const mock_city::SyntheticPerson& PaidPensionOnlyIn(const mock_city::Population& population, City city,
                                                           int skip = 0) {
  for (const mock_city::SyntheticPerson& p : population.persons()) {
    if (PaysPensionOnlyIn(p, city) && skip-- == 0) return p;
  }
  return population.persons().front();
}

// The `skip`-th person who both is registered in `city` and paid pension contributions only there
// (someone who moves both at once).
inline const mock_city::SyntheticPerson& RegisteredAndPaidPensionOnlyIn(
    const mock_city::Population& population, City city, int skip = 0) {
  for (const mock_city::SyntheticPerson& p : population.persons()) {
    if (p.household.city == city && PaysPensionOnlyIn(p, city) && skip-- == 0) return p;
  }
  return population.persons().front();
}

}  // namespace interop::transfers::test_support

#endif  // INTEROP_TESTS_GATEWAY_TRANSFERS_FAKE_MOBILITY_CITY_H_
