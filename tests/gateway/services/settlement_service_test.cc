// CrossCitySettlementServiceImpl (gateway/services/settlement_service.h) in process, with its
// account cache (gateway/settlement/account_cache.h): the services behind the real CallGuard
// (reference access policy, insecure development callers), the settlement ledger on a temporary
// SQLite file, a ManualClock, the five cities' checked-in catalogues and policies, and five fake
// cities answering from the mock cities' medical ledger (tools/mock_city/medical_ledger.h), which
// count the calls the gateway makes.
//
// Covered: a second Settle for one patient reads the account from the insured city once less; a
// cached account made stale behind the gateway's back is refused by the city (ABORTED), read again
// and settled with the right amounts; PreSettle always reads, and the Settle after it does not; a
// reversal leaves the account after it in the cache; an entry older than max age is read again;
// the insured city is recorded as consulted on a cache hit; without a cache every Settle reads;
// intent recovery records what the city committed, abandons what it did not, and leaves an intent
// younger than the age given alone.
#include "gateway/services/settlement_service.h"

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gateway/base/cities.h"
#include "gateway/settlement/account_cache.h"
#include "gateway/settlement/calculator.h"
#include "gateway/settlement/ledger.h"
#include "gateway/settlement/medical_rules.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/services/service_test_support.h"
#include "tests/gateway/settlement/ledger_write.h"
#include "tools/mock_city/medical_ledger.h"
#include "tools/mock_city/population.h"

namespace interop::services {
namespace {

namespace med = ::interop::medical::v1;
using ::interop::common::v1::City;
using mock_city::MockMedicalLedger;
using mock_city::Population;
using mock_city::SyntheticPerson;
using test_support::Access;
using test_support::Context;
using test_support::Describe;
using test_support::Person;
using test_support::ReasonOf;
using ::testing::Contains;
using ::testing::HasSubstr;

// 2026-06-30 10:00 in China: the population's today.
const absl::Time kStart =
    absl::FromCivil(absl::CivilSecond(2026, 6, 30, 10, 0, 0), absl::FixedTimeZone(8 * 3600));
const absl::CivilDay kToday(2026, 6, 30);
constexpr char kHospitalCode[] = "H14010500001";  // the Taiyuan hospital of kTaiyuanHospital
// Class A in Taiyuan's catalogue, no price limit: a blood count; amoxicillin capsules.
constexpr char kBloodCount[] = "003100000010000";
constexpr char kAmoxicillin[] = "XJ01CAA040A001010101445";

// A city whose medical ledger is the mock cities' (in memory), counting what the gateway asks.
// Every callback is called before the method returns. Thread-safe.
class FakeMedicalCity final : public adapters::CityAdapter {
 public:
  using CallOptions = adapters::CallOptions;
  template <typename T>
  using Callback = adapters::Callback<T>;

  FakeMedicalCity(const Population& population, City city) : city_(city), ledger_(population, city) {}

  City city() const override { return city_; }
  MockMedicalLedger& ledger() { return ledger_; }

  int account_reads() const { return account_reads_.load(); }
  int commits() const { return commits_.load(); }  // every CommitSettlement, refused ones included
  int aborted_commits() const { return aborted_commits_.load(); }
  int settlement_record_reads() const { return settlement_record_reads_.load(); }

  void LocatePerson(const std::string& id, const CallOptions&,
                    Callback<adapters::PersonLocation> done) override {
    adapters::PersonLocation location;
    location.holds_medical_enrollment = ledger_.Insures(id);
    location.found = location.holds_medical_enrollment;
    done(location);
  }
  void GetInsuranceStatus(const std::string&, const CallOptions&,
                          Callback<med::GetInsuranceStatusResponse> done) override {
    done(Unimplemented());
  }
  void GetMonthlyContributions(const std::string&, int, int, const CallOptions&,
                               Callback<std::vector<social::v1::ContributionEntry>> done) override {
    done(Unimplemented());
  }
  void GetHouseholdRecord(const std::string&, const CallOptions&,
                          Callback<household::v1::GetHouseholdRecordResponse> done) override {
    done(Unimplemented());
  }
  void CheckHealth(const CallOptions&, std::function<void(absl::Status)> done) override {
    done(absl::OkStatus());
  }

  void GetMedicalAccount(const std::string& id, int year, const CallOptions&,
                         Callback<adapters::MedicalAccount> done) override {
    ++account_reads_;
    done(ledger_.GetAccount(id, year));
  }
  void CommitSettlement(const adapters::SettlementRecord& settlement, int64_t expected_version,
                        const CallOptions&, Callback<adapters::CommitResult> done) override {
    ++commits_;
    absl::StatusOr<adapters::CommitResult> result = ledger_.Commit(settlement, expected_version);
    if (absl::IsAborted(result.status())) ++aborted_commits_;
    if (after_commit_) after_commit_(settlement.settlement_id);
    done(std::move(result));
  }
  // Runs after each commit, before the gateway hears of it (what another replica might do then).
  void set_after_commit(std::function<void(const std::string& settlement_id)> f) { after_commit_ = std::move(f); }
  void ReverseSettlement(const std::string& settlement_id, const std::string& id, absl::CivilDay day,
                         const CallOptions&, Callback<adapters::CommitResult> done) override {
    done(ledger_.Reverse(settlement_id, id, day));
  }
  void GetSettlementRecord(const std::string& settlement_id, const CallOptions&,
                           Callback<adapters::SettlementRecord> done) override {
    ++settlement_record_reads_;
    absl::Status failure;
    {
      absl::MutexLock lock(&mu_);
      failure = settlement_record_failure_;
    }
    if (!failure.ok()) return done(failure);
    done(ledger_.GetSettlement(settlement_id));
  }
  // Not OK: GetSettlementRecord answers this (the city cannot be asked).
  void set_settlement_record_failure(absl::Status failure) {
    absl::MutexLock lock(&mu_);
    settlement_record_failure_ = std::move(failure);
  }
  void ListFilings(const std::string& id, const CallOptions&,
                   Callback<std::vector<adapters::FilingRecord>> done) override {
    done(ledger_.ListFilings(id));
  }

 private:
  absl::Status Unimplemented() const {
    return absl::UnimplementedError(absl::StrCat("city ", CityName(city_)));
  }

  const City city_;
  MockMedicalLedger ledger_;
  std::atomic<int> account_reads_{0};
  std::atomic<int> commits_{0};
  std::atomic<int> aborted_commits_{0};
  std::atomic<int> settlement_record_reads_{0};
  std::function<void(const std::string&)> after_commit_;
  absl::Mutex mu_;
  absl::Status settlement_record_failure_ ABSL_GUARDED_BY(mu_);
};

// An active employee with a personal account insured in `city`, the `skip`-th such.
const SyntheticPerson* InsuredEmployee(const Population& population, City city, int skip = 0) {
  for (const SyntheticPerson& p : population.persons()) {
    if (p.has_medical && p.medical.city == city && p.medical.status_code == "1" &&
        p.medical.insurance_type_code == "310" && p.medical.balance_fen > 100000 && skip-- == 0) {
      return &p;
    }
  }
  return nullptr;
}

// An emergency outpatient visit today at the Taiyuan hospital (no filing needed, so Settle asks the
// insured city only for the account and the commit): amoxicillin and a blood count, 72.00 yuan.
med::Visit EmergencyVisit(int64_t blood_counts = 1) {
  med::Visit visit;
  visit.mutable_hospital()->set_institution_code(kHospitalCode);
  visit.mutable_hospital()->set_level(config::v1::HOSPITAL_LEVEL_TERTIARY);
  visit.mutable_hospital()->set_name("Taiyuan Xiaodian District People's Hospital");
  visit.set_visit_type(config::v1::VISIT_TYPE_OUTPATIENT);
  visit.mutable_visit_date()->set_year(static_cast<int32_t>(kToday.year()));
  visit.mutable_visit_date()->set_month(kToday.month());
  visit.mutable_visit_date()->set_day(kToday.day());
  visit.set_diagnosis_code("J06.9");
  visit.set_emergency(true);
  visit.set_use_personal_account(true);
  med::LineItem* drug = visit.add_items();
  drug->set_code(kAmoxicillin);
  drug->set_quantity_milli(2000);
  drug->mutable_unit_price()->set_fen(2350);
  med::LineItem* test = visit.add_items();
  test->set_code(kBloodCount);
  test->set_quantity_milli(1000 * blood_counts);
  test->mutable_unit_price()->set_fen(2500);
  return visit;
}

// A settlement of 200.00 yuan committed at the city's own counter, not through the gateway: it
// uses up any outpatient deductible left and takes 60.00 yuan from the personal account.
adapters::SettlementRecord CounterSettlement(const std::string& resident_id, const std::string& id) {
  adapters::SettlementRecord record;
  record.settlement_id = id;
  record.resident_id = resident_id;
  record.year = static_cast<int>(kToday.year());
  record.visit_type = config::v1::VISIT_TYPE_OUTPATIENT;
  record.institution_code = kHospitalCode;
  record.treatment_city = City::CITY_TAIYUAN;
  record.settle_date = kToday;
  record.total_fen = 20000;
  record.deductible_applied_fen = 20000;  // the mock ledger adds it as is
  record.fund_pay_fen = 0;
  record.account_pay_fen = 6000;
  record.cash_pay_fen = 14000;
  return record;
}

class SettlementServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    mock_city::PopulationOptions options;
    options.persons_per_issuing_city = 300;
    population_ = new Population(Population::Generate(options));
    config::v1::GatewayConfig config;
    for (City city : kAllCities) {
      config::v1::CityBackendConfig* c = config.add_cities();
      c->set_city(city);
      c->set_medical_catalogue_file(
          absl::StrCat("adapters/", CityName(city), "/medical_catalogue.textproto"));
      c->set_medical_policy_file(absl::StrCat("adapters/", CityName(city), "/medical_policy.textproto"));
    }
    absl::StatusOr<std::shared_ptr<const settlement::MedicalRules>> rules =
        settlement::MedicalRules::Load(config, INTEROP_SOURCE_DIR);
    ASSERT_TRUE(rules.ok()) << rules.status();
    rules_ = new std::shared_ptr<const settlement::MedicalRules>(*std::move(rules));
  }
  static void TearDownTestSuite() {
    delete population_;
    delete rules_;
  }

  void SetUp() override {
    std::vector<std::unique_ptr<adapters::CityAdapter>> adapters;
    for (City city : kAllCities) {
      auto fake = std::make_unique<FakeMedicalCity>(*population_, city);
      fakes_[city] = fake.get();
      adapters.push_back(std::move(fake));
    }
    harness_ = std::make_unique<test_support::ServiceHarness>(std::move(adapters), kStart);
    absl::StatusOr<std::unique_ptr<settlement::SettlementLedger>> ledger =
        settlement::OpenSqliteSettlementLedger(harness_->store_path());
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    ledger_ = *std::move(ledger);
    work_ = std::make_unique<WorkQueue>(2);
  }

  void TearDown() override {
    harness_->Stop();
    // The reply goes out before a Settle's last step (letting the patient's next settlement start)
    // has run on the ledger's completion thread: the ledger is closed, which waits for that thread,
    // before the service goes.
    ledger_.reset();
    work_.reset();
    service_.reset();
  }

  // Starts the service with an account cache on the harness's clock (or none).
  void StartService(bool with_cache = true) {
    std::unique_ptr<settlement::AccountCache> cache;
    if (with_cache) cache = std::make_unique<settlement::AccountCache>(harness_->clock());
    service_ = std::make_unique<CrossCitySettlementServiceImpl>(harness_->deps(), *rules_, *ledger_, *work_,
                                                                std::move(cache));
    harness_->Serve({service_.get()});
    stub_ = med::CrossCitySettlementService::NewStub(harness_->channel());
  }

  grpc::Status Settle(const std::string& resident_id, const std::string& key, const med::Visit& visit,
                      med::SettleResponse* response) {
    med::SettleRequest request;
    *request.mutable_person() = Person(resident_id);
    *request.mutable_access() = Access(common::v1::PURPOSE_TREATMENT);
    request.set_idempotency_key(key);
    *request.mutable_visit() = visit;
    return stub_->Settle(Context(test_support::kTaiyuanHospital).get(), request, response);
  }

  grpc::Status PreSettle(const std::string& resident_id, const med::Visit& visit,
                         med::PreSettleResponse* response) {
    med::PreSettleRequest request;
    *request.mutable_person() = Person(resident_id);
    *request.mutable_access() = Access(common::v1::PURPOSE_TREATMENT);
    *request.mutable_visit() = visit;
    return stub_->PreSettle(Context(test_support::kTaiyuanHospital).get(), request, response);
  }

  grpc::Status Reverse(const std::string& resident_id, const std::string& settlement_id,
                       med::ReverseSettlementResponse* response) {
    med::ReverseSettlementRequest request;
    *request.mutable_person() = Person(resident_id);
    *request.mutable_access() = Access(common::v1::PURPOSE_TREATMENT);
    request.set_settlement_id(settlement_id);
    return stub_->ReverseSettlement(Context(test_support::kTaiyuanHospital).get(), request, response);
  }

  // The split the calculator makes of `visit` for `patient` on `account`.
  med::Settlement Expected(const med::Visit& visit, City insured_city,
                           const adapters::MedicalAccount& account) {
    settlement::VisitFacts facts;
    facts.visit = &visit;
    facts.treatment_city = City::CITY_TAIYUAN;
    facts.insured_city = insured_city;
    facts.account = account;
    absl::StatusOr<med::Settlement> computed = settlement::ComputeSettlement(
        facts, *(*rules_)->catalogue(City::CITY_TAIYUAN), *(*rules_)->policy(insured_city));
    EXPECT_TRUE(computed.ok()) << computed.status();
    return computed.ok() ? *computed : med::Settlement();
  }

  // A settlement intent as Settle writes it before asking the insured city: an emergency visit of
  // `patient` (insured in `city`) at the Taiyuan hospital, computed `age` before the clock's now.
  settlement::LedgerEntry Intent(const SyntheticPerson& patient, City city, const std::string& settlement_id,
                                 absl::Duration age) {
    settlement::LedgerEntry entry;
    entry.settlement = Expected(EmergencyVisit(), city, AccountAtCity(city, patient.resident_id));
    entry.settlement.set_settlement_id(settlement_id);
    entry.settlement.set_state(med::SETTLEMENT_STATE_SETTLED);
    entry.settlement.set_resident_id(patient.resident_id);
    *entry.settlement.mutable_insured_city() = MakeCityInfo(city);
    *entry.settlement.mutable_treatment_city() = MakeCityInfo(City::CITY_TAIYUAN);
    entry.settlement.set_settled_at_unix(absl::ToUnixSeconds(harness_->clock().Now() - age));
    entry.caller_organization = "taiyuan-hospital";
    entry.idempotency_key = absl::StrCat("key-of-", settlement_id);
    entry.request_digest = std::string(32, 'd');
    return entry;
  }

  void RecordIntent(settlement::LedgerEntry entry) {
    absl::Status status = settlement::testing::IntentAndWait(*ledger_, std::move(entry));
    ASSERT_TRUE(status.ok()) << status;
  }

  // Commits at `city` (as the Settle that wrote the intent would have) a settlement with this id.
  void CommitAtCity(City city, const std::string& resident_id, const std::string& settlement_id) {
    absl::StatusOr<adapters::CommitResult> committed = fakes_[city]->ledger().Commit(
        CounterSettlement(resident_id, settlement_id), AccountAtCity(city, resident_id).version);
    ASSERT_TRUE(committed.ok()) << committed.status();
  }

  bool LedgerHas(const std::string& settlement_id) {
    absl::StatusOr<std::optional<settlement::LedgerEntry>> found = ledger_->Find(settlement_id);
    EXPECT_TRUE(found.ok()) << found.status();
    return found.ok() && found->has_value();
  }
  bool LedgerHasIntent(const std::string& settlement_id) {
    absl::StatusOr<std::optional<settlement::LedgerEntry>> found = ledger_->FindIntent(settlement_id);
    EXPECT_TRUE(found.ok()) << found.status();
    return found.ok() && found->has_value();
  }

  adapters::MedicalAccount AccountAtCity(City city, const std::string& resident_id) {
    absl::StatusOr<adapters::MedicalAccount> account =
        fakes_[city]->ledger().GetAccount(resident_id, static_cast<int>(kToday.year()));
    EXPECT_TRUE(account.ok()) << account.status();
    return account.ok() ? *account : adapters::MedicalAccount();
  }

  static Population* population_;
  static std::shared_ptr<const settlement::MedicalRules>* rules_;
  std::map<City, FakeMedicalCity*> fakes_;
  std::unique_ptr<test_support::ServiceHarness> harness_;
  std::unique_ptr<settlement::SettlementLedger> ledger_;
  std::unique_ptr<WorkQueue> work_;
  std::unique_ptr<CrossCitySettlementServiceImpl> service_;
  std::unique_ptr<med::CrossCitySettlementService::Stub> stub_;
};

Population* SettlementServiceTest::population_ = nullptr;
std::shared_ptr<const settlement::MedicalRules>* SettlementServiceTest::rules_ = nullptr;

// The amounts of a settlement as the gateway answers it, against the calculator's on some account.
void ExpectSameSplit(const med::Settlement& actual, const med::Settlement& expected) {
  EXPECT_EQ(actual.total().fen(), expected.total().fen());
  EXPECT_EQ(actual.deductible_applied().fen(), expected.deductible_applied().fen());
  EXPECT_EQ(actual.fund_pay().fen(), expected.fund_pay().fen());
  EXPECT_EQ(actual.personal_account_pay().fen(), expected.personal_account_pay().fen());
  EXPECT_EQ(actual.cash_pay().fen(), expected.cash_pay().fen());
  EXPECT_EQ(actual.balance_after().fen(), expected.balance_after().fen());
  EXPECT_EQ(actual.accumulators_after().deductible_used_outpatient().fen(),
            expected.accumulators_after().deductible_used_outpatient().fen());
  EXPECT_EQ(actual.accumulators_after().fund_paid().fen(), expected.accumulators_after().fund_paid().fen());
}

TEST_F(SettlementServiceTest, ASecondSettleForTheSamePatientReadsTheAccountOnceLess) {
  StartService();
  const SyntheticPerson* patient = InsuredEmployee(*population_, City::CITY_YANGQUAN);
  ASSERT_NE(patient, nullptr);
  FakeMedicalCity& yangquan = *fakes_[City::CITY_YANGQUAN];
  const adapters::MedicalAccount before = AccountAtCity(City::CITY_YANGQUAN, patient->resident_id);

  med::SettleResponse first;
  grpc::Status status = Settle(patient->resident_id, "visit-0001", EmergencyVisit(), &first);
  ASSERT_TRUE(status.ok()) << Describe(status) << " " << status.error_message();
  EXPECT_EQ(yangquan.account_reads(), 1);
  EXPECT_EQ(yangquan.commits(), 1);
  ExpectSameSplit(first.settlement(), Expected(EmergencyVisit(), City::CITY_YANGQUAN, before));

  const adapters::MedicalAccount between = AccountAtCity(City::CITY_YANGQUAN, patient->resident_id);
  med::SettleResponse second;
  status = Settle(patient->resident_id, "visit-0002", EmergencyVisit(2), &second);
  ASSERT_TRUE(status.ok()) << Describe(status) << " " << status.error_message();
  // One call to the insured city: the commit, from the account the first commit answered.
  EXPECT_EQ(yangquan.account_reads(), 1);
  EXPECT_EQ(yangquan.commits(), 2);
  EXPECT_EQ(yangquan.aborted_commits(), 0);
  ExpectSameSplit(second.settlement(), Expected(EmergencyVisit(2), City::CITY_YANGQUAN, between));
  EXPECT_EQ(second.settlement().balance_after().fen(),
            first.settlement().balance_after().fen() - second.settlement().personal_account_pay().fen());
  EXPECT_EQ(AccountAtCity(City::CITY_YANGQUAN, patient->resident_id).balance_fen,
            second.settlement().balance_after().fen());

  const settlement::AccountCache::Stats stats = service_->account_cache()->GetStats();
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.stale, 0u);
}

TEST_F(SettlementServiceTest, WithoutACacheEverySettleReadsTheAccount) {
  StartService(/*with_cache=*/false);
  const SyntheticPerson* patient = InsuredEmployee(*population_, City::CITY_YANGQUAN);
  ASSERT_NE(patient, nullptr);
  med::SettleResponse response;
  ASSERT_TRUE(Settle(patient->resident_id, "visit-0001", EmergencyVisit(), &response).ok());
  ASSERT_TRUE(Settle(patient->resident_id, "visit-0002", EmergencyVisit(2), &response).ok());
  EXPECT_EQ(fakes_[City::CITY_YANGQUAN]->account_reads(), 2);
  EXPECT_EQ(fakes_[City::CITY_YANGQUAN]->commits(), 2);
  EXPECT_EQ(service_->account_cache(), nullptr);
}

TEST_F(SettlementServiceTest, AStaleCachedAccountIsRefusedByTheCityThenReadAgainAndSettledRight) {
  StartService();
  const SyntheticPerson* patient = InsuredEmployee(*population_, City::CITY_JINZHONG);
  ASSERT_NE(patient, nullptr);
  FakeMedicalCity& jinzhong = *fakes_[City::CITY_JINZHONG];
  med::SettleResponse first;
  ASSERT_TRUE(Settle(patient->resident_id, "visit-0001", EmergencyVisit(), &first).ok());
  ASSERT_EQ(jinzhong.account_reads(), 1);

  // Behind the gateway's back: the city's own counter settles a visit, the account moves on.
  const adapters::MedicalAccount cached = AccountAtCity(City::CITY_JINZHONG, patient->resident_id);
  absl::StatusOr<adapters::CommitResult> counter =
      jinzhong.ledger().Commit(CounterSettlement(patient->resident_id, "COUNTER-0001"), cached.version);
  ASSERT_TRUE(counter.ok()) << counter.status();
  const adapters::MedicalAccount now = AccountAtCity(City::CITY_JINZHONG, patient->resident_id);
  ASSERT_GT(now.version, cached.version);
  // What the gateway would answer had it committed from the cached account: another balance.
  const med::Settlement on_cached = Expected(EmergencyVisit(), City::CITY_JINZHONG, cached);
  const med::Settlement on_now = Expected(EmergencyVisit(), City::CITY_JINZHONG, now);
  ASSERT_NE(on_cached.balance_after().fen(), on_now.balance_after().fen());

  med::SettleResponse second;
  grpc::Status status = Settle(patient->resident_id, "visit-0002", EmergencyVisit(), &second);
  ASSERT_TRUE(status.ok()) << Describe(status) << " " << status.error_message();
  // The commit from the cache was refused, the account read again, the commit made.
  EXPECT_EQ(jinzhong.aborted_commits(), 1);
  EXPECT_EQ(jinzhong.commits(), 3);
  EXPECT_EQ(jinzhong.account_reads(), 2);
  EXPECT_EQ(second.settlement().state(), med::SETTLEMENT_STATE_SETTLED);
  ExpectSameSplit(second.settlement(), on_now);
  const adapters::MedicalAccount after = AccountAtCity(City::CITY_JINZHONG, patient->resident_id);
  EXPECT_EQ(after.balance_fen, second.settlement().balance_after().fen());
  EXPECT_EQ(after.balance_fen, now.balance_fen - second.settlement().personal_account_pay().fen());
  EXPECT_EQ(after.fund_paid_fen, now.fund_paid_fen + second.settlement().fund_pay().fen());
  // The refused attempt left no intent behind.
  absl::StatusOr<std::optional<settlement::LedgerEntry>> intent =
      ledger_->FindIntent(second.settlement().settlement_id());
  ASSERT_TRUE(intent.ok()) << intent.status();
  EXPECT_FALSE(intent->has_value());
  EXPECT_EQ(service_->account_cache()->GetStats().stale, 1u);

  // And the account after that commit is cached again: a third settlement reads nothing.
  med::SettleResponse third;
  ASSERT_TRUE(Settle(patient->resident_id, "visit-0003", EmergencyVisit(), &third).ok());
  EXPECT_EQ(jinzhong.account_reads(), 2);
  EXPECT_EQ(jinzhong.aborted_commits(), 1);
  ExpectSameSplit(third.settlement(), Expected(EmergencyVisit(), City::CITY_JINZHONG, after));
}

TEST_F(SettlementServiceTest, PreSettleAlwaysReadsAndTheSettleAfterItDoesNot) {
  StartService();
  const SyntheticPerson* patient = InsuredEmployee(*population_, City::CITY_XINZHOU);
  ASSERT_NE(patient, nullptr);
  FakeMedicalCity& xinzhou = *fakes_[City::CITY_XINZHOU];

  med::PreSettleResponse quote;
  grpc::Status status = PreSettle(patient->resident_id, EmergencyVisit(), &quote);
  ASSERT_TRUE(status.ok()) << Describe(status) << " " << status.error_message();
  EXPECT_EQ(xinzhou.account_reads(), 1);

  // The account moves behind the gateway's back; the next quote shows it, as the cache would not.
  absl::StatusOr<adapters::CommitResult> counter =
      xinzhou.ledger().Commit(CounterSettlement(patient->resident_id, "COUNTER-0001"),
                              AccountAtCity(City::CITY_XINZHOU, patient->resident_id).version);
  ASSERT_TRUE(counter.ok()) << counter.status();
  const adapters::MedicalAccount now = AccountAtCity(City::CITY_XINZHOU, patient->resident_id);
  ASSERT_TRUE(PreSettle(patient->resident_id, EmergencyVisit(), &quote).ok());
  EXPECT_EQ(xinzhou.account_reads(), 2);
  ExpectSameSplit(quote.settlement(), Expected(EmergencyVisit(), City::CITY_XINZHOU, now));
  EXPECT_EQ(quote.settlement().balance_after().fen(),
            now.balance_fen - quote.settlement().personal_account_pay().fen());

  // The Settle that follows uses what the quote read: no read, one commit, the quoted amounts.
  med::SettleResponse settled;
  ASSERT_TRUE(Settle(patient->resident_id, "visit-0001", EmergencyVisit(), &settled).ok());
  EXPECT_EQ(xinzhou.account_reads(), 2);
  EXPECT_EQ(xinzhou.commits(), 1);
  EXPECT_EQ(xinzhou.aborted_commits(), 0);
  ExpectSameSplit(settled.settlement(), quote.settlement());

  // With the cache warm, a quote still reads.
  ASSERT_TRUE(PreSettle(patient->resident_id, EmergencyVisit(), &quote).ok());
  EXPECT_EQ(xinzhou.account_reads(), 3);
  EXPECT_EQ(quote.settlement().balance_after().fen(),
            settled.settlement().balance_after().fen() - quote.settlement().personal_account_pay().fen());
  EXPECT_EQ(service_->account_cache()->GetStats().hits, 1u);
}

TEST_F(SettlementServiceTest, AReversalLeavesTheAccountAfterItInTheCache) {
  StartService();
  const SyntheticPerson* patient = InsuredEmployee(*population_, City::CITY_LVLIANG);
  ASSERT_NE(patient, nullptr);
  FakeMedicalCity& lvliang = *fakes_[City::CITY_LVLIANG];
  const adapters::MedicalAccount before = AccountAtCity(City::CITY_LVLIANG, patient->resident_id);

  med::SettleResponse settled;
  ASSERT_TRUE(Settle(patient->resident_id, "visit-0001", EmergencyVisit(), &settled).ok());
  ASSERT_GT(settled.settlement().personal_account_pay().fen(), 0);
  med::ReverseSettlementResponse reversed;
  grpc::Status status = Reverse(patient->resident_id, settled.settlement().settlement_id(), &reversed);
  ASSERT_TRUE(status.ok()) << Describe(status) << " " << status.error_message();
  EXPECT_EQ(reversed.settlement().balance_after().fen(), before.balance_fen);

  const adapters::MedicalAccount after_reversal = AccountAtCity(City::CITY_LVLIANG, patient->resident_id);
  EXPECT_EQ(after_reversal.balance_fen, before.balance_fen);
  EXPECT_GT(after_reversal.version, before.version);

  // Settled again from the account the reversal answered: no read, no refused commit.
  med::SettleResponse again;
  ASSERT_TRUE(Settle(patient->resident_id, "visit-0002", EmergencyVisit(), &again).ok());
  EXPECT_EQ(lvliang.account_reads(), 1);
  EXPECT_EQ(lvliang.commits(), 2);
  EXPECT_EQ(lvliang.aborted_commits(), 0);
  ExpectSameSplit(again.settlement(), Expected(EmergencyVisit(), City::CITY_LVLIANG, after_reversal));
  EXPECT_EQ(again.settlement().balance_after().fen(),
            before.balance_fen - again.settlement().personal_account_pay().fen());
}

TEST_F(SettlementServiceTest, AnAccountOlderThanMaxAgeIsReadAgain) {
  StartService();
  const SyntheticPerson* patient = InsuredEmployee(*population_, City::CITY_YANGQUAN, 1);
  ASSERT_NE(patient, nullptr);
  FakeMedicalCity& yangquan = *fakes_[City::CITY_YANGQUAN];
  med::SettleResponse response;
  ASSERT_TRUE(Settle(patient->resident_id, "visit-0001", EmergencyVisit(), &response).ok());
  harness_->clock().Advance(service_->account_cache()->options().max_age);
  ASSERT_TRUE(Settle(patient->resident_id, "visit-0002", EmergencyVisit(), &response).ok());
  EXPECT_EQ(yangquan.account_reads(), 2);
  EXPECT_EQ(yangquan.commits(), 2);
  EXPECT_EQ(service_->account_cache()->GetStats().expired, 1u);
}

TEST_F(SettlementServiceTest, ACacheHitStillRecordsTheInsuredCityAsConsulted) {
  StartService();
  const SyntheticPerson* patient = InsuredEmployee(*population_, City::CITY_JINZHONG, 1);
  ASSERT_NE(patient, nullptr);
  med::SettleResponse response;
  ASSERT_TRUE(Settle(patient->resident_id, "visit-0001", EmergencyVisit(), &response).ok());
  ASSERT_TRUE(Settle(patient->resident_id, "visit-0002", EmergencyVisit(), &response).ok());
  ASSERT_EQ(fakes_[City::CITY_JINZHONG]->account_reads(), 1);  // the second was a hit
  const accesslog::AccessRecord record = harness_->access_log().last();
  EXPECT_EQ(record.method, "/interop.medical.v1.CrossCitySettlementService/Settle");
  EXPECT_EQ(record.result_code, 0);
  EXPECT_THAT(record.cities_consulted, Contains("jinzhong"));
  ASSERT_EQ(response.provenance().source_cities_size(), 1);
  EXPECT_EQ(response.provenance().source_cities(0).city(), City::CITY_JINZHONG);
}

}  // namespace
}  // namespace interop::services

namespace interop::services {
namespace {

// Intents a crash left behind are resolved with their insured cities, but only once they are older
// than the age given: a younger one may belong to a Settle still in flight (on another replica), and
// asking its city before that Settle's commit arrives would abandon a settlement about to be made.
TEST_F(SettlementServiceTest, IntentRecoveryResolvesOldIntentsWithTheCityAndLeavesRecentOnesAlone) {
  StartService();
  const SyntheticPerson* committed = InsuredEmployee(*population_, City::CITY_YANGQUAN);
  const SyntheticPerson* not_committed = InsuredEmployee(*population_, City::CITY_JINZHONG);
  const SyntheticPerson* in_flight = InsuredEmployee(*population_, City::CITY_XINZHOU);
  ASSERT_NE(committed, nullptr);
  ASSERT_NE(not_committed, nullptr);
  ASSERT_NE(in_flight, nullptr);
  // Committed by Yangquan before the crash, the ledger never heard back: to be recorded.
  RecordIntent(Intent(*committed, City::CITY_YANGQUAN, "S-crashed-after-commit", absl::Minutes(10)));
  CommitAtCity(City::CITY_YANGQUAN, committed->resident_id, "S-crashed-after-commit");
  // Never reached Jinzhong: to be abandoned.
  RecordIntent(Intent(*not_committed, City::CITY_JINZHONG, "S-crashed-before-commit", absl::Minutes(10)));
  // 30 s old: another replica may be committing it right now.
  RecordIntent(Intent(*in_flight, City::CITY_XINZHOU, "S-in-flight", absl::Seconds(30)));

  CrossCitySettlementServiceImpl::IntentRecovery recovered = service_->RecoverIntents(absl::Minutes(2), absl::Minutes(2));
  EXPECT_EQ(recovered.settled, 1);
  EXPECT_EQ(recovered.abandoned, 1);
  EXPECT_EQ(recovered.unresolved, 0);
  EXPECT_EQ(recovered.too_recent, 1);
  EXPECT_TRUE(LedgerHas("S-crashed-after-commit"));
  EXPECT_FALSE(LedgerHasIntent("S-crashed-after-commit"));
  EXPECT_FALSE(LedgerHas("S-crashed-before-commit"));
  EXPECT_FALSE(LedgerHasIntent("S-crashed-before-commit"));
  EXPECT_TRUE(LedgerHasIntent("S-in-flight"));
  EXPECT_FALSE(LedgerHas("S-in-flight"));
  EXPECT_EQ(fakes_[City::CITY_XINZHOU]->settlement_record_reads(), 0) << "a recent intent's city is not asked";
  CrossCitySettlementServiceImpl::IntentStats stats = service_->intent_stats();
  EXPECT_EQ(stats.settled, 1u);
  EXPECT_EQ(stats.abandoned, 1u);
  EXPECT_EQ(stats.unresolved, 0u);
  EXPECT_EQ(stats.unresolved_after_last_pass, 0) << "the recent one is not counted";

  // The in-flight Settle got its commit through, then its process died. Once the intent is old
  // enough, the next pass records it.
  CommitAtCity(City::CITY_XINZHOU, in_flight->resident_id, "S-in-flight");
  harness_->clock().Advance(absl::Minutes(2));
  recovered = service_->RecoverIntents(absl::Minutes(2), absl::Minutes(2));
  EXPECT_EQ(recovered.settled, 1);
  EXPECT_EQ(recovered.too_recent, 0);
  EXPECT_TRUE(LedgerHas("S-in-flight"));
  EXPECT_FALSE(LedgerHasIntent("S-in-flight"));
  stats = service_->intent_stats();
  EXPECT_EQ(stats.settled, 2u);
  EXPECT_EQ(stats.unresolved_after_last_pass, 0);

  // Nothing left: a further pass asks no city.
  const int yangquan_reads = fakes_[City::CITY_YANGQUAN]->settlement_record_reads();
  recovered = service_->RecoverIntents(absl::ZeroDuration(), absl::ZeroDuration());
  EXPECT_EQ(recovered.settled + recovered.abandoned + recovered.unresolved + recovered.too_recent, 0);
  EXPECT_EQ(fakes_[City::CITY_YANGQUAN]->settlement_record_reads(), yangquan_reads);
}

// At start-up a gateway resolves its own intents (a previous run under its replica id: nothing of
// it is in flight) at any age, and leaves another replica's recent intents to that replica.
TEST_F(SettlementServiceTest, IntentRecoveryResolvesItsOwnRecentIntentsWhenAskedButNotAnotherReplicas) {
  StartService();  // replica id "gateway"
  const SyntheticPerson* own = InsuredEmployee(*population_, City::CITY_YANGQUAN);
  const SyntheticPerson* foreign = InsuredEmployee(*population_, City::CITY_JINZHONG);
  ASSERT_NE(own, nullptr);
  ASSERT_NE(foreign, nullptr);
  settlement::LedgerEntry own_intent = Intent(*own, City::CITY_YANGQUAN, "S-own", absl::Seconds(30));
  own_intent.intent_owner = "gateway";
  RecordIntent(own_intent);
  CommitAtCity(City::CITY_YANGQUAN, own->resident_id, "S-own");
  settlement::LedgerEntry foreign_intent = Intent(*foreign, City::CITY_JINZHONG, "S-foreign", absl::Seconds(30));
  foreign_intent.intent_owner = "replica-b";
  RecordIntent(foreign_intent);

  CrossCitySettlementServiceImpl::IntentRecovery recovered =
      service_->RecoverIntents(absl::Minutes(2), absl::ZeroDuration());
  EXPECT_EQ(recovered.settled, 1);
  EXPECT_EQ(recovered.too_recent, 1);
  EXPECT_TRUE(LedgerHas("S-own"));
  EXPECT_FALSE(LedgerHasIntent("S-own"));
  EXPECT_TRUE(LedgerHasIntent("S-foreign"));
  EXPECT_EQ(fakes_[City::CITY_JINZHONG]->settlement_record_reads(), 0) << "another replica's recent intent";

  // A later pass (own intents too only when old) leaves an own recent intent alone.
  settlement::LedgerEntry own_again = Intent(*own, City::CITY_YANGQUAN, "S-own-2", absl::Seconds(30));
  own_again.intent_owner = "gateway";
  RecordIntent(own_again);
  recovered = service_->RecoverIntents(absl::Minutes(2), absl::Minutes(2));
  EXPECT_EQ(recovered.too_recent, 2);
  EXPECT_TRUE(LedgerHasIntent("S-own-2"));
}

// An intent old enough to resolve whose city cannot be asked stays, and is counted as unresolved
// until a later pass resolves it; the count is what an operator alerts on.
TEST_F(SettlementServiceTest, AnIntentWhoseCityCannotBeAskedIsCountedUnresolvedUntilItIsResolved) {
  StartService();
  const SyntheticPerson* patient = InsuredEmployee(*population_, City::CITY_XINZHOU);
  ASSERT_NE(patient, nullptr);
  RecordIntent(Intent(*patient, City::CITY_XINZHOU, "S-city-down", absl::Minutes(10)));
  fakes_[City::CITY_XINZHOU]->set_settlement_record_failure(absl::UnavailableError("city xinzhou: down"));
  CrossCitySettlementServiceImpl::IntentRecovery recovered =
      service_->RecoverIntents(absl::Minutes(2), absl::Minutes(2));
  EXPECT_EQ(recovered.unresolved, 1);
  EXPECT_TRUE(LedgerHasIntent("S-city-down"));
  EXPECT_EQ(service_->intent_stats().unresolved_after_last_pass, 1);
  EXPECT_EQ(service_->intent_stats().unresolved, 1u);

  fakes_[City::CITY_XINZHOU]->set_settlement_record_failure(absl::OkStatus());
  recovered = service_->RecoverIntents(absl::Minutes(2), absl::Minutes(2));
  EXPECT_EQ(recovered.abandoned, 1) << "the city never had it";
  EXPECT_FALSE(LedgerHasIntent("S-city-down"));
  EXPECT_EQ(service_->intent_stats().unresolved_after_last_pass, 0);
  EXPECT_EQ(service_->intent_stats().unresolved, 1u) << "the counter of failures keeps its count";
}

// A retry of a key whose intent another replica wrote moments ago is told to retry (that replica's
// Settle may be committing it now), without asking the city; once the intent is older than any
// Settle, a retry resolves it. This process's own intent is resolved at once.
TEST_F(SettlementServiceTest, ARetryOfAKeyAnotherReplicaIsSettlingIsToldToRetryUntilTheIntentIsOld) {
  StartService();  // replica id "gateway", foreign intents resolved from 2 minutes on
  const SyntheticPerson* patient = InsuredEmployee(*population_, City::CITY_JINZHONG);
  const SyntheticPerson* probe = InsuredEmployee(*population_, City::CITY_YANGQUAN);
  ASSERT_NE(patient, nullptr);
  ASSERT_NE(probe, nullptr);
  FakeMedicalCity& jinzhong = *fakes_[City::CITY_JINZHONG];
  // The organisation the gateway settles for, as the ledger stores it.
  med::SettleResponse probed;
  ASSERT_TRUE(Settle(probe->resident_id, "visit-probe", EmergencyVisit(), &probed).ok());
  absl::StatusOr<std::optional<settlement::LedgerEntry>> probe_entry = ledger_->Find(probed.settlement().settlement_id());
  ASSERT_TRUE(probe_entry.ok() && probe_entry->has_value());
  const std::string organization = (*probe_entry)->caller_organization;

  // Records the intent a Settle of the patient with `key` through replica `owner` would have written
  // `age` ago; returns its settlement id.
  auto record_intent_of = [&](const std::string& key, const std::string& owner, absl::Duration age) {
    const std::string settlement_id = CrossCitySettlementServiceImpl::SettlementIdFor(organization, key);
    settlement::LedgerEntry intent = Intent(*patient, City::CITY_JINZHONG, settlement_id, age);
    intent.caller_organization = organization;
    intent.idempotency_key = key;
    intent.intent_owner = owner;
    RecordIntent(intent);
    return settlement_id;
  };
  const std::string id = record_intent_of("visit-busy", "replica-b", absl::Seconds(30));

  med::SettleResponse response;
  grpc::Status status = Settle(patient->resident_id, "visit-busy", EmergencyVisit(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(status);
  EXPECT_EQ(ReasonOf(status), "SETTLEMENT_IN_PROGRESS") << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("retry with the same idempotency_key"));
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  bool has_retry_delay = false;
  for (const google::protobuf::Any& detail : details.details()) {
    google::rpc::RetryInfo retry;
    if (detail.UnpackTo(&retry)) has_retry_delay = retry.retry_delay().seconds() > 0;
  }
  EXPECT_TRUE(has_retry_delay) << "the caller is told when to retry";
  EXPECT_EQ(jinzhong.settlement_record_reads(), 0) << "the city is not asked while the other replica may commit";
  EXPECT_EQ(service_->intent_stats().in_progress, 1u);
  EXPECT_EQ(jinzhong.commits(), 0);
  EXPECT_TRUE(LedgerHasIntent(id));

  // The other replica died before its commit reached Jinzhong; two minutes on, the retry asks the
  // city, abandons the intent and settles afresh.
  harness_->clock().Advance(absl::Minutes(2));
  status = Settle(patient->resident_id, "visit-busy", EmergencyVisit(), &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_FALSE(response.replayed());
  EXPECT_EQ(response.settlement().settlement_id(), id);
  EXPECT_EQ(jinzhong.settlement_record_reads(), 1);
  EXPECT_EQ(jinzhong.commits(), 1);
  EXPECT_FALSE(LedgerHasIntent(id));
  EXPECT_TRUE(LedgerHas(id));

  // This process's own recent intent: nothing of it is in flight (one Settle per patient at a
  // time here), so the retry resolves it at once.
  const std::string own_id = record_intent_of("visit-own", "gateway", absl::Seconds(5));
  status = Settle(patient->resident_id, "visit-own", EmergencyVisit(), &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(jinzhong.settlement_record_reads(), 2);
  EXPECT_TRUE(LedgerHas(own_id));
}

// Two replicas finishing the same settlement: the patient's Settle is retried with the same key on
// another replica, which records the settlement (after the same commit, replayed by the city) just
// before this one does. This one's record is refused as already there, and it answers the recorded
// settlement, as the retry does, instead of telling the caller that the outcome is unknown.
TEST_F(SettlementServiceTest, ASettlementRecordedMeanwhileByAnotherReplicaIsAnsweredFromTheLedger) {
  StartService();
  const SyntheticPerson* patient = InsuredEmployee(*population_, City::CITY_JINZHONG);
  ASSERT_NE(patient, nullptr);
  FakeMedicalCity& jinzhong = *fakes_[City::CITY_JINZHONG];
  // The commit's callback runs on the ledger's completion thread, which must not wait for another
  // write: the other replica's record is queued (ahead of this one's) and checked at the end.
  absl::Notification other_recorded;
  absl::Status other_status;
  jinzhong.set_after_commit([&](const std::string& settlement_id) {
    absl::StatusOr<std::optional<settlement::LedgerEntry>> intent = ledger_->FindIntent(settlement_id);
    ASSERT_TRUE(intent.ok() && intent->has_value());
    ledger_->RecordSettlement(**intent, [&](absl::Status status) {
      other_status = status;
      other_recorded.Notify();
    });
  });

  med::SettleResponse response;
  grpc::Status status = Settle(patient->resident_id, "visit-raced", EmergencyVisit(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.replayed()) << "the answer is the settlement the other replica recorded";
  absl::StatusOr<std::optional<settlement::LedgerEntry>> stored =
      ledger_->Find(response.settlement().settlement_id());
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->settlement.fund_pay().fen(), response.settlement().fund_pay().fen());
  EXPECT_EQ(jinzhong.commits(), 1);
  other_recorded.WaitForNotification();
  EXPECT_TRUE(other_status.ok()) << other_status;
}

}  // namespace
}  // namespace interop::services
