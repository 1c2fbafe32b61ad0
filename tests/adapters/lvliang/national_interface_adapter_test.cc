// NationalInterfaceAdapter against the real mock HTTP server (HttpMockCityBackend: cpp-httplib,
// mutual TLS with the development PKI from the ctest fixture dev_certs, 127.0.0.1 port 0), through
// the real HttpsClient (libcurl): every record kind, NOT_FOUND, health, connection reuse, timeouts
// against a server that sleeps, refused certificates; and against a fake transport for what a real
// server does not easily do (HTTP 503, wrong content types).
#include "adapters/lvliang/national_interface_adapter.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/adapter_factory.h"
#include "adapters/lvliang/https_client.h"
#include "adapters/lvliang/lvliang_adapter.h"
#include "gateway/base/cities.h"
#include "gateway/tls/tls_credentials.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tools/mock_city/http_backend.h"
#include "tools/mock_city/population.h"

namespace interop::adapters::lvliang {
namespace {

using ::interop::mock_city::HttpBackendOptions;
using ::interop::mock_city::HttpMockCityBackend;
using ::interop::mock_city::NationalInterfacePlatform;
using ::interop::mock_city::Population;
using ::interop::mock_city::SyntheticPerson;
using ::testing::AllOf;
using ::testing::HasSubstr;

const std::string kCerts = INTEROP_TEST_CERTS_DIR;
const std::string kDialectPath = INTEROP_SOURCE_DIR "/adapters/lvliang/dialect.textproto";
constexpr char kUnknownId[] = "11010519491231002X";

std::string Pem(const std::string& file) {
  absl::StatusOr<std::string> pem = tls::ReadPemFile(kCerts + "/" + file);
  EXPECT_TRUE(pem.ok()) << pem.status() << " (the ctest fixture dev_certs makes " << kCerts << ")";
  return pem.ok() ? *pem : std::string();
}

// Calls `call` with a callback and waits (at most 30 s) for it.
template <typename T>
absl::StatusOr<T> Await(const std::function<void(Callback<T>)>& call,
                        absl::Duration* returned_after = nullptr) {
  auto done = std::make_shared<absl::Notification>();
  auto result = std::make_shared<absl::StatusOr<T>>(absl::UnknownError("callback not called"));
  absl::Time start = absl::Now();
  call([done, result](absl::StatusOr<T> r) {
    *result = std::move(r);
    done->Notify();
  });
  if (returned_after != nullptr) *returned_after = absl::Now() - start;
  EXPECT_TRUE(done->WaitForNotificationWithTimeout(absl::Seconds(30)));
  return done->HasBeenNotified() ? *result
                                 : absl::StatusOr<T>(absl::DeadlineExceededError("test waited 30 s"));
}

absl::Status AwaitHealth(CityAdapter& adapter, const CallOptions& options = {}) {
  absl::StatusOr<bool> result = Await<bool>([&](Callback<bool> done) {
    adapter.CheckHealth(options, [done](absl::Status status) {
      if (status.ok()) return done(true);
      done(status);
    });
  });
  return result.status();
}

// How a test's adapter connects: certificate files from the dev PKI, expected server name, limits.
struct Client {
  std::string cert = "gateway.pem";
  std::string key = "gateway.key";
  std::string ca = "ca.pem";
  std::string server_name = "localhost";
  int max_connections = 8;
  absl::Duration city_deadline = absl::Seconds(2);
};

class LvliangOverHttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    mock_city::PopulationOptions options;
    options.persons_per_issuing_city = 300;
    population_ = new Population(Population::Generate(options));
    absl::StatusOr<std::shared_ptr<const Dialect>> dialect = Dialect::LoadFile(kDialectPath);
    ASSERT_TRUE(dialect.ok()) << dialect.status();
    dialect_ = new std::shared_ptr<const Dialect>(*dialect);
  }
  static void TearDownTestSuite() {
    delete population_;
    delete dialect_;
  }

  void SetUp() override {
    HttpBackendOptions options;
    options.ca_cert_file = kCerts + "/ca.pem";
    options.cert_file = kCerts + "/city-lvliang.pem";
    options.key_file = kCerts + "/city-lvliang.key";
    auto backend = HttpMockCityBackend::Start(*dialect_, *population_, Clock::Real(), options);
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_ = *std::move(backend);
  }

  // An adapter to the mock; `client_out` receives the HttpsClient it owns.
  std::unique_ptr<NationalInterfaceAdapter> Adapter(const Client& c = Client(),
                                                    HttpsClient** client_out = nullptr) {
    HttpsClientOptions options;
    options.address = absl::StrCat("127.0.0.1:", backend_->port());
    options.server_name = c.server_name;
    options.ca_pem = Pem(c.ca);
    options.cert_pem = Pem(c.cert);
    options.key_pem = Pem(c.key);
    options.max_connections = c.max_connections;
    auto client = HttpsClient::Create(std::move(options));
    EXPECT_TRUE(client.ok()) << client.status();
    if (client_out != nullptr) *client_out = client->get();
    NationalInterfaceAdapterOptions adapter_options;
    adapter_options.dialect = *dialect_;
    adapter_options.city_deadline = c.city_deadline;
    auto adapter = NationalInterfaceAdapter::Create(std::move(adapter_options), *std::move(client));
    EXPECT_TRUE(adapter.ok()) << adapter.status();
    return *std::move(adapter);
  }

  const SyntheticPerson& Find(const std::function<bool(const SyntheticPerson&)>& predicate, int skip = 0) {
    for (const SyntheticPerson& person : population_->persons()) {
      if (predicate(person) && skip-- == 0) return person;
    }
    ADD_FAILURE() << "no such person in the population";
    return population_->persons().front();
  }

  static Population* population_;
  static std::shared_ptr<const Dialect>* dialect_;
  std::unique_ptr<HttpMockCityBackend> backend_;
};

Population* LvliangOverHttpTest::population_ = nullptr;
std::shared_ptr<const Dialect>* LvliangOverHttpTest::dialect_ = nullptr;

constexpr City kLvliang = City::CITY_LVLIANG;

TEST_F(LvliangOverHttpTest, MedicalInsuranceComesThrough1101) {
  auto adapter = Adapter();
  const SyntheticPerson& person = Find([](const SyntheticPerson& p) {
    return p.has_medical && p.medical.city == kLvliang && p.medical.balance_fen % 100 != 0;
  });
  auto status = Await<medical::v1::GetInsuranceStatusResponse>(
      [&](auto done) { adapter->GetInsuranceStatus(person.resident_id, {}, done); });
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->resident_id(), person.resident_id);
  EXPECT_EQ(status->name(), person.name);
  EXPECT_EQ(status->insured_city().city(), kLvliang);
  EXPECT_EQ(status->insured_region_code(), person.medical.insured_region_code);
  EXPECT_EQ(static_cast<int>(status->insurance_type()), std::stoi(person.medical.insurance_type_code));
  EXPECT_EQ(static_cast<int>(status->status()), std::stoi(person.medical.status_code));
  EXPECT_EQ(status->enrollment_date().year(), person.medical.enrollment_date.year());
  EXPECT_EQ(status->enrollment_date().month(), person.medical.enrollment_date.month());
  EXPECT_EQ(status->enrollment_date().day(), person.medical.enrollment_date.day());
  EXPECT_EQ(status->personal_account_balance().fen(), person.medical.balance_fen);

  // Every status code of the population travels.
  for (const char* code : {"2", "3"}) {
    const SyntheticPerson& other = Find([code](const SyntheticPerson& p) {
      return p.has_medical && p.medical.city == kLvliang && p.medical.status_code == code;
    });
    auto again = Await<medical::v1::GetInsuranceStatusResponse>(
        [&](auto done) { adapter->GetInsuranceStatus(other.resident_id, {}, done); });
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(static_cast<int>(again->status()), std::stoi(code));
  }
}

TEST_F(LvliangOverHttpTest, ContributionsAndHouseholdComeThroughTheLocalTransactions) {
  auto adapter = Adapter();
  const SyntheticPerson& worker =
      Find([](const SyntheticPerson& p) { return Population::HasContributionsIn(p, kLvliang); });
  auto entries = Await<std::vector<social::v1::ContributionEntry>>(
      [&](auto done) { adapter->GetMonthlyContributions(worker.resident_id, 0, 0, {}, done); });
  ASSERT_TRUE(entries.ok()) << entries.status();
  std::vector<mock_city::ContributionMonth> expected = population_->Contributions(worker, kLvliang);
  ASSERT_EQ(entries->size(), expected.size());
  ASSERT_FALSE(expected.empty());
  for (size_t i = 0; i < expected.size(); ++i) {
    const social::v1::ContributionEntry& e = (*entries)[i];
    EXPECT_EQ(e.year(), expected[i].month.year());
    EXPECT_EQ(e.month(), expected[i].month.month());
    EXPECT_EQ(static_cast<int>(e.kind()), std::stoi(expected[i].kind_code));
    EXPECT_EQ(e.wage_base().fen(), expected[i].wage_base_fen);
    EXPECT_EQ(e.personal_amount().fen(), expected[i].personal_fen);
    EXPECT_EQ(e.employer_amount().fen(), expected[i].employer_fen);
  }
  const int year = static_cast<int>(expected.back().month.year());
  auto last_year = Await<std::vector<social::v1::ContributionEntry>>(
      [&](auto done) { adapter->GetMonthlyContributions(worker.resident_id, year, year, {}, done); });
  ASSERT_TRUE(last_year.ok()) << last_year.status();
  EXPECT_EQ(last_year->size(), population_->Contributions(worker, kLvliang, year, year).size());

  const SyntheticPerson& resident =
      Find([](const SyntheticPerson& p) { return p.household.city == kLvliang; });
  auto record = Await<household::v1::GetHouseholdRecordResponse>(
      [&](auto done) { adapter->GetHouseholdRecord(resident.resident_id, {}, done); });
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->name(), resident.name);
  EXPECT_EQ(record->address_code(), resident.household.address_code);
  EXPECT_EQ(record->household_number(), resident.household.household_number);
  EXPECT_EQ(static_cast<int>(record->relation_to_head()), std::stoi(resident.household.relation_code));
  EXPECT_EQ(static_cast<int>(record->household_type()), std::stoi(resident.household.household_type_code));
  EXPECT_EQ(record->registered_since().year(), resident.household.registered_since.year());

  auto location =
      Await<PersonLocation>([&](auto done) { adapter->LocatePerson(resident.resident_id, {}, done); });
  ASSERT_TRUE(location.ok()) << location.status();
  EXPECT_TRUE(location->found);
  EXPECT_TRUE(location->holds_household_registration);
  EXPECT_EQ(location->holds_medical_enrollment, resident.has_medical && resident.medical.city == kLvliang);
  EXPECT_EQ(location->holds_contribution_history, Population::HasContributionsIn(resident, kLvliang));
}

TEST_F(LvliangOverHttpTest, RecordsLvliangDoesNotHoldAreNotFoundNamingTheCity) {
  auto adapter = Adapter();
  auto unknown = Await<PersonLocation>([&](auto done) { adapter->LocatePerson(kUnknownId, {}, done); });
  ASSERT_TRUE(unknown.ok()) << unknown.status();
  EXPECT_FALSE(unknown->found);

  auto medical = Await<medical::v1::GetInsuranceStatusResponse>(
      [&](auto done) { adapter->GetInsuranceStatus(kUnknownId, {}, done); });
  EXPECT_EQ(medical.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(medical.status().message(), HasSubstr("lvliang"));

  // Known to Lüliang (registered there) but insured elsewhere: 1101 answers an empty insuinfo.
  const SyntheticPerson& elsewhere = Find([](const SyntheticPerson& p) {
    return p.household.city == kLvliang && p.has_medical && p.medical.city != kLvliang;
  });
  medical = Await<medical::v1::GetInsuranceStatusResponse>(
      [&](auto done) { adapter->GetInsuranceStatus(elsewhere.resident_id, {}, done); });
  EXPECT_EQ(medical.status().code(), absl::StatusCode::kNotFound) << medical.status();
  EXPECT_THAT(medical.status().message(), HasSubstr("city lvliang holds no medical-insurance enrolment"));

  const SyntheticPerson& registered_elsewhere =
      Find([](const SyntheticPerson& p) { return p.household.city != kLvliang; });
  auto household = Await<household::v1::GetHouseholdRecordResponse>(
      [&](auto done) { adapter->GetHouseholdRecord(registered_elsewhere.resident_id, {}, done); });
  EXPECT_EQ(household.status().code(), absl::StatusCode::kNotFound) << household.status();
  EXPECT_THAT(household.status().message(), HasSubstr("lvliang"));

  const SyntheticPerson& never_worked_here =
      Find([](const SyntheticPerson& p) { return !Population::HasContributionsIn(p, kLvliang); });
  auto contributions = Await<std::vector<social::v1::ContributionEntry>>(
      [&](auto done) { adapter->GetMonthlyContributions(never_worked_here.resident_id, 0, 0, {}, done); });
  EXPECT_EQ(contributions.status().code(), absl::StatusCode::kNotFound) << contributions.status();
}

TEST_F(LvliangOverHttpTest, HealthIsServingUntilTheCityStops) {
  auto adapter = Adapter();
  EXPECT_TRUE(AwaitHealth(*adapter).ok());
  backend_->Stop();
  absl::Status down = AwaitHealth(*adapter);
  EXPECT_EQ(down.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(down.message(), HasSubstr("city lvliang"));

  absl::Time start = absl::Now();
  auto medical = Await<medical::v1::GetInsuranceStatusResponse>(
      [&](auto done) { adapter->GetInsuranceStatus(kUnknownId, {}, done); });
  EXPECT_EQ(medical.status().code(), absl::StatusCode::kUnavailable) << medical.status();
  EXPECT_THAT(medical.status().message(), HasSubstr("city lvliang is unavailable"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

TEST_F(LvliangOverHttpTest, SequentialCallsReuseOneConnection) {
  HttpsClient* client = nullptr;
  auto adapter = Adapter(Client(), &client);
  for (int i = 0; i < 40; ++i) {
    const SyntheticPerson& person =
        Find([](const SyntheticPerson& p) { return p.household.city == kLvliang; }, i);
    auto record = Await<household::v1::GetHouseholdRecordResponse>(
        [&](auto done) { adapter->GetHouseholdRecord(person.resident_id, {}, done); });
    ASSERT_TRUE(record.ok()) << record.status();
  }
  EXPECT_TRUE(AwaitHealth(*adapter).ok());
  EXPECT_EQ(client->stats().requests_completed, 41u);
  EXPECT_EQ(client->stats().connections_opened, 1u);
  EXPECT_EQ(backend_->connections_seen(), 1);
  EXPECT_EQ(backend_->requests_served(), 41);
}

TEST_F(LvliangOverHttpTest, ConcurrentCallsShareAtMostMaxConnections) {
  HttpsClient* client = nullptr;
  Client options;
  options.max_connections = 3;
  auto adapter = Adapter(options, &client);
  // One call first: its TLS session is cached, so the connections opened below resume it.
  ASSERT_TRUE(AwaitHealth(*adapter).ok());
  backend_->SetDelay(absl::Milliseconds(50));  // so that calls overlap
  constexpr int kCalls = 24;
  std::atomic<int> ok{0};
  std::atomic<int> finished{0};
  absl::Notification all_done;
  for (int i = 0; i < kCalls; ++i) {
    const SyntheticPerson& person =
        Find([](const SyntheticPerson& p) { return p.has_medical && p.medical.city == kLvliang; }, i);
    adapter->GetInsuranceStatus(person.resident_id, {},
                                [&](absl::StatusOr<medical::v1::GetInsuranceStatusResponse> status) {
                                  EXPECT_TRUE(status.ok()) << status.status();
                                  if (status.ok()) ++ok;
                                  if (++finished == kCalls) all_done.Notify();
                                });
  }
  ASSERT_TRUE(all_done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(ok.load(), kCalls);
  EXPECT_LE(client->stats().connections_opened, 3u);
  EXPECT_GE(client->stats().connections_opened, 2u);
  EXPECT_LE(backend_->connections_seen(), 3);
}

// More calls than connections: they wait for a free connection in the order they were made, and a
// call whose deadline passes while it waits ends then, without taking a connection.
TEST_F(LvliangOverHttpTest, CallsWaitingForAConnectionAreServedInOrderWithinTheirDeadline) {
  Client options;
  options.max_connections = 1;
  auto adapter = Adapter(options);
  ASSERT_TRUE(AwaitHealth(*adapter).ok());
  backend_->SetDelay(absl::Milliseconds(30));
  constexpr int kCalls = 8;
  absl::Mutex mu;
  std::vector<int> finished_order;
  absl::Notification all_done;
  for (int i = 0; i < kCalls; ++i) {
    const SyntheticPerson& person =
        Find([](const SyntheticPerson& p) { return p.has_medical && p.medical.city == kLvliang; }, i);
    adapter->GetInsuranceStatus(person.resident_id, {},
                                [&, i](absl::StatusOr<medical::v1::GetInsuranceStatusResponse> status) {
                                  EXPECT_TRUE(status.ok()) << status.status();
                                  absl::MutexLock lock(&mu);
                                  finished_order.push_back(i);
                                  if (static_cast<int>(finished_order.size()) == kCalls) all_done.Notify();
                                });
  }
  ASSERT_TRUE(all_done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(finished_order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  }

  // One slow call holds the only connection; one behind it with a 150 ms deadline ends at that
  // deadline, long before the first is answered.
  backend_->SetDelay(absl::Milliseconds(1500));
  absl::Notification first_done;
  adapter->GetInsuranceStatus(kUnknownId, {}, [&](absl::StatusOr<medical::v1::GetInsuranceStatusResponse>) {
    first_done.Notify();
  });
  CallOptions call;
  call.deadline = absl::Now() + absl::Milliseconds(150);
  const absl::Time start = absl::Now();
  auto waited = Await<medical::v1::GetInsuranceStatusResponse>(
      [&](auto done) { adapter->GetInsuranceStatus(kUnknownId, call, done); });
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(waited.status().code(), absl::StatusCode::kDeadlineExceeded) << waited.status();
  EXPECT_LT(took, absl::Milliseconds(800));
  EXPECT_FALSE(first_done.HasBeenNotified());
  EXPECT_TRUE(first_done.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

TEST_F(LvliangOverHttpTest, ASlowCityTimesOutWithoutBlockingTheCaller) {
  backend_->SetDelay(absl::Seconds(5));
  Client options;
  options.city_deadline = absl::Milliseconds(300);
  auto adapter = Adapter(options);

  // The city's own deadline: UNAVAILABLE naming the city (the caller had time left).
  absl::Duration returned_after;
  absl::Time start = absl::Now();
  auto medical = Await<medical::v1::GetInsuranceStatusResponse>(
      [&](auto done) { adapter->GetInsuranceStatus(kUnknownId, {}, done); }, &returned_after);
  absl::Duration took = absl::Now() - start;
  EXPECT_EQ(medical.status().code(), absl::StatusCode::kUnavailable) << medical.status();
  EXPECT_THAT(medical.status().message(), AllOf(HasSubstr("city lvliang"), HasSubstr("300ms")));
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Milliseconds(1500));
  EXPECT_LT(returned_after, absl::Milliseconds(100));  // asynchronous: the call returned at once

  // The caller's deadline, earlier than the city's: DEADLINE_EXCEEDED.
  Client patient;
  patient.city_deadline = absl::Seconds(10);
  auto adapter2 = Adapter(patient);
  CallOptions call;
  call.deadline = absl::Now() + absl::Milliseconds(200);
  start = absl::Now();
  auto location = Await<PersonLocation>([&](auto done) { adapter2->LocatePerson(kUnknownId, call, done); });
  took = absl::Now() - start;
  EXPECT_EQ(location.status().code(), absl::StatusCode::kDeadlineExceeded) << location.status();
  EXPECT_THAT(location.status().message(), HasSubstr("lvliang"));
  EXPECT_LT(took, absl::Milliseconds(1500));

  // A deadline already past fails at once.
  call.deadline = absl::Now() - absl::Seconds(1);
  location = Await<PersonLocation>([&](auto done) { adapter2->LocatePerson(kUnknownId, call, done); });
  EXPECT_EQ(location.status().code(), absl::StatusCode::kDeadlineExceeded) << location.status();
}

TEST_F(LvliangOverHttpTest, MutualTlsRefusesStrangersBothWays) {
  // A client certificate from another CA: the mock refuses the handshake.
  Client untrusted;
  untrusted.cert = "caller-untrusted.pem";
  untrusted.key = "caller-untrusted.key";
  absl::Status status = AwaitHealth(*Adapter(untrusted));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(backend_->requests_served(), 0);

  // A server certificate from a CA the client does not trust.
  Client other_ca;
  other_ca.ca = "other-ca.pem";
  status = AwaitHealth(*Adapter(other_ca));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;

  // A server certificate that does not name the expected server.
  Client wrong_name;
  wrong_name.server_name = "taiyuan.city.interop.local";
  status = AwaitHealth(*Adapter(wrong_name));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(backend_->requests_served(), 0);

  // The certificate's other name is fine.
  Client own_name;
  own_name.server_name = "lvliang.city.interop.local";
  EXPECT_TRUE(AwaitHealth(*Adapter(own_name)).ok());
}

TEST_F(LvliangOverHttpTest, TheFactoryFunctionReadsTheConfiguration) {
  config::v1::CityBackendConfig config;
  config.set_city(kLvliang);
  config.set_address(absl::StrCat("127.0.0.1:", backend_->port()));
  config.set_tls_server_name("localhost");
  config.mutable_tls()->set_ca_cert_file(kCerts + "/ca.pem");
  config.mutable_tls()->set_cert_file(kCerts + "/gateway.pem");
  config.mutable_tls()->set_key_file(kCerts + "/gateway.key");
  config.set_deadline_ms(1000);
  auto adapter = NewLvliangNationalInterfaceAdapter(config, *dialect_);
  ASSERT_TRUE(adapter.ok()) << adapter.status();
  EXPECT_EQ((*adapter)->city(), kLvliang);
  EXPECT_TRUE(AwaitHealth(**adapter).ok());

  config.mutable_tls()->set_cert_file(kCerts + "/missing.pem");
  adapter = NewLvliangNationalInterfaceAdapter(config, *dialect_);
  EXPECT_THAT(adapter.status().message(), HasSubstr("cities[lvliang].tls.cert_file"));
  config.mutable_tls()->set_cert_file(kCerts + "/gateway.pem");
  config.set_address("127.0.0.1");
  adapter = NewLvliangNationalInterfaceAdapter(config, *dialect_);
  EXPECT_EQ(adapter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(adapter.status().message(), HasSubstr("cities[lvliang].address"));
  config.set_address(absl::StrCat("127.0.0.1:", backend_->port()));
  adapter = NewLvliangNationalInterfaceAdapter(config, Dialect::Reference(City::CITY_TAIYUAN));
  EXPECT_EQ(adapter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(adapter.status().message(), HasSubstr("not of lvliang"));
}

TEST_F(LvliangOverHttpTest, TheGatewaysFactoryBuildsItForTransportHttpNationalInterface) {
  config::v1::CityBackendConfig config;
  config.set_city(kLvliang);
  config.set_address(absl::StrCat("127.0.0.1:", backend_->port()));
  config.set_tls_server_name("localhost");
  config.set_dialect_file(kDialectPath);
  config.set_transport(config::v1::TRANSPORT_HTTP_NATIONAL_INTERFACE);
  config.mutable_tls()->set_ca_cert_file(kCerts + "/ca.pem");
  config.mutable_tls()->set_cert_file(kCerts + "/gateway.pem");
  config.mutable_tls()->set_key_file(kCerts + "/gateway.key");
  config.set_deadline_ms(1000);
  absl::StatusOr<std::unique_ptr<CityAdapter>> adapter = NewCityAdapter(config);
  ASSERT_TRUE(adapter.ok()) << adapter.status();
  EXPECT_TRUE(AwaitHealth(**adapter).ok());  // a gRPC adapter could not talk to the HTTP mock
  const SyntheticPerson& person =
      Find([](const SyntheticPerson& p) { return p.has_medical && p.medical.city == kLvliang; });
  auto status = Await<medical::v1::GetInsuranceStatusResponse>(
      [&](auto done) { (*adapter)->GetInsuranceStatus(person.resident_id, {}, done); });
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->name(), person.name);

  config.set_city(City::CITY_TAIYUAN);
  config.set_dialect_file(INTEROP_SOURCE_DIR "/adapters/taiyuan/dialect.textproto");
  adapter = NewCityAdapter(config);
  EXPECT_EQ(adapter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(adapter.status().message(), HasSubstr("cities[taiyuan].transport"));
}

// ---------------------------------------------------------------------------------------------
// The mock platform's own answers to malformed requests.

TEST_F(LvliangOverHttpTest, TheMockRefusesMalformedRequestsInTheEnvelope) {
  NationalInterfacePlatform platform(*dialect_, *population_, Clock::Real());
  auto answer = [&](const std::string& body) { return nlohmann::json::parse(platform.Answer(body)); };
  const std::string id =
      Find([](const SyntheticPerson& p) { return p.household.city == kLvliang; }).resident_id;
  auto request = [&](const std::string& infno, const std::string& certno) {
    return nlohmann::json{{"infno", infno},
                          {"msgid", "GW0123456789202606301200000001"},
                          {"inf_time", "2026-06-30 12:00:00"},
                          {"input", {{"data", {{"psn_cert_type", "01"}, {"certno", certno}}}}}};
  };
  EXPECT_EQ(answer(request("L9301", id).dump())["infcode"], 0);
  struct Case {
    std::string body;
    std::string err_prefix;
  };
  nlohmann::json short_msgid = request("L9301", id);
  short_msgid["msgid"] = "1";
  nlohmann::json bad_time = request("L9301", id);
  bad_time["inf_time"] = "2026-06-30T12:00:00Z";
  nlohmann::json passport = request("L9301", id);
  passport["input"]["data"]["psn_cert_type"] = "06";
  const Case cases[] = {
      {"not json", "E1002:"},
      {"[]", "E1002:"},
      {short_msgid.dump(), "E1002:msgid"},
      {bad_time.dump(), "E1002:inf_time"},
      {passport.dump(), "E1002:input.data.psn_cert_type"},
      {request("L9301", "141102199003071253").dump(), "E1002:input.data.certno"},
      {request("2207", id).dump(), "E1003:"},
      {request("L9301", kUnknownId).dump(), "E1001:"},
      {request("L9201", id).dump(), "E1002:input.data.begn_ym"},  // begn_ym is required
  };
  for (const Case& c : cases) {
    nlohmann::json reply = answer(c.body);
    EXPECT_EQ(reply["infcode"], -1) << c.body;
    EXPECT_EQ(reply["err_msg"].get<std::string>().substr(0, c.err_prefix.size()), c.err_prefix)
        << reply.dump();
  }
}

// ---------------------------------------------------------------------------------------------
// A fake transport: what the adapter sends, and how it maps what a real server rarely does.

class FakeTransport final : public HttpsTransport {
 public:
  void Send(HttpsRequest request, HttpsCallback done) override {
    absl::StatusOr<HttpsResponse> next;
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(request);
      next = next_;
    }
    done(std::move(next));
  }
  void SetNext(absl::StatusOr<HttpsResponse> next) {
    absl::MutexLock lock(&mu_);
    next_ = std::move(next);
  }
  HttpsRequest last() {
    absl::MutexLock lock(&mu_);
    return requests_.back();
  }

 private:
  absl::Mutex mu_;
  std::vector<HttpsRequest> requests_;
  absl::StatusOr<HttpsResponse> next_ = absl::UnavailableError("unset");
};

class FakeTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dialect = Dialect::LoadFile(kDialectPath);
    ASSERT_TRUE(dialect.ok()) << dialect.status();
    auto transport = std::make_unique<FakeTransport>();
    transport_ = transport.get();
    NationalInterfaceAdapterOptions options;
    options.dialect = *dialect;
    options.city_deadline = absl::Milliseconds(700);
    auto adapter = NationalInterfaceAdapter::Create(std::move(options), std::move(transport));
    ASSERT_TRUE(adapter.ok()) << adapter.status();
    adapter_ = *std::move(adapter);
  }

  absl::Status Medical(const CallOptions& options = {}) {
    return Await<medical::v1::GetInsuranceStatusResponse>(
               [&](auto done) { adapter_->GetInsuranceStatus(kUnknownId, options, done); })
        .status();
  }

  FakeTransport* transport_ = nullptr;
  std::unique_ptr<NationalInterfaceAdapter> adapter_;
};

TEST_F(FakeTransportTest, SendsOneTransactionPerCallWithTheCityDeadlineAndRequestId) {
  HttpsResponse reply;
  reply.status = 200;
  reply.content_type = "application/json";
  reply.body = R"({"infcode":-1,"err_msg":"E1001:none"})";
  transport_->SetNext(reply);
  CallOptions options;
  options.request_id = "req-42";
  absl::Time before = absl::Now();
  EXPECT_EQ(Medical(options).code(), absl::StatusCode::kNotFound);
  HttpsRequest request = transport_->last();
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/fsi/api/rsfComIfsService/callService");
  EXPECT_THAT(request.content_type, HasSubstr("application/json"));
  EXPECT_LE(request.deadline, absl::Now() + absl::Milliseconds(700));
  EXPECT_GE(request.deadline, before + absl::Milliseconds(700));
  EXPECT_THAT(request.headers,
              ::testing::Contains(std::make_pair(std::string("X-Request-Id"), std::string("req-42"))));
  nlohmann::json body = nlohmann::json::parse(request.body);
  EXPECT_EQ(body["infno"], "1101");
  EXPECT_EQ(body["msgid"].get<std::string>().size(), 30u);
  EXPECT_EQ(body["input"]["data"]["certno"], kUnknownId);

  // The caller's earlier deadline wins.
  options.deadline = absl::Now() + absl::Milliseconds(100);
  (void)Medical(options);
  EXPECT_EQ(transport_->last().deadline, options.deadline);

  (void)Await<bool>(
      [&](Callback<bool> done) { adapter_->CheckHealth({}, [done](absl::Status s) { done(s.ok()); }); });
  EXPECT_EQ(transport_->last().method, "GET");
  EXPECT_EQ(transport_->last().path, "/health");
}

TEST_F(FakeTransportTest, MapsHttpAndTransportFailuresNamingTheCity) {
  HttpsResponse unavailable;
  unavailable.status = 503;
  unavailable.content_type = "text/html";
  transport_->SetNext(unavailable);
  absl::Status status = Medical();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("city lvliang"), HasSubstr("503")));

  HttpsResponse html;
  html.status = 200;
  html.content_type = "text/html";
  html.body = "<html></html>";
  transport_->SetNext(html);
  status = Medical();
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("city lvliang"), HasSubstr("1101")));

  transport_->SetNext(absl::OutOfRangeError("the response is larger than 8388608 bytes"));
  status = Medical();
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("city lvliang"), HasSubstr("larger")));

  transport_->SetNext(absl::UnavailableError("Connection refused"));
  status = Medical();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("city lvliang is unavailable"), HasSubstr("Connection refused")));

  transport_->SetNext(absl::DeadlineExceededError("timeout"));
  status = Medical();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("did not answer within its deadline of 700ms"));
  CallOptions expired;
  expired.deadline = absl::Now() - absl::Milliseconds(1);
  EXPECT_EQ(Medical(expired).code(), absl::StatusCode::kDeadlineExceeded);

  transport_->SetNext(absl::UnavailableError("refused"));
  absl::Status health =
      Await<bool>([&](Callback<bool> done) {
        adapter_->CheckHealth({}, [done](absl::Status s) { s.ok() ? done(true) : done(s); });
      }).status();
  EXPECT_EQ(health.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(health.message(), HasSubstr("city lvliang health check failed"));
  HttpsResponse not_serving;
  not_serving.status = 200;
  not_serving.body = "NOT_SERVING";
  transport_->SetNext(not_serving);
  health = Await<bool>([&](Callback<bool> done) {
             adapter_->CheckHealth({}, [done](absl::Status s) { s.ok() ? done(true) : done(s); });
           }).status();
  EXPECT_THAT(health.message(), HasSubstr("city lvliang reports not serving"));
}

TEST(NationalInterfaceAdapterCreateTest, RefusesADialectJsonCannotCarry) {
  auto dialect = Dialect::Parse(
      "city: CITY_LVLIANG money_format: MONEY_FORMAT_YUAN_DECIMAL date_format: \"YYYY-MM-DD\" "
      "text_encoding: TEXT_ENCODING_GB18030 "
      "insurance_types { local_code: \"310\" national_code: \"310\" } "
      "enrollment_statuses { local_code: \"1\" national_code: \"1\" } "
      "contribution_kinds { local_code: \"110\" national_code: \"110\" } "
      "relations { local_code: \"02\" national_code: \"02\" } "
      "household_types { local_code: \"1\" national_code: \"1\" }",
      "gb.textproto");
  ASSERT_TRUE(dialect.ok()) << dialect.status();
  NationalInterfaceAdapterOptions options;
  options.dialect = *dialect;
  auto adapter = NationalInterfaceAdapter::Create(std::move(options), std::make_unique<FakeTransport>());
  EXPECT_EQ(adapter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(adapter.status().message(), HasSubstr("gb.textproto"));
  EXPECT_EQ(NationalInterfaceAdapter::Create({}, std::make_unique<FakeTransport>()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace interop::adapters::lvliang
