// Fault injection in Lüliang's HTTP/JSON mock city (HttpMockCityBackend), end to end over mutual TLS
// with the development PKI (ctest fixture dev_certs), 127.0.0.1 port 0: faults set through the HTTP
// admin (POST /admin/faults), calls made with a plain HTTPS client (cpp-httplib) to see the HTTP
// answers, and through the gateway's real Lüliang adapter (NationalInterfaceAdapter over HttpsClient)
// to see the canonical codes. Refusals apply nothing; latency holds the answer after the work; hung
// calls end when the caller gives up, and never take the workers the admin and health need.
#include <httplib.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "adapters/dialect/dialect.h"
#include "adapters/lvliang/https_client.h"
#include "adapters/lvliang/national_interface_adapter.h"
#include "gateway/base/cities.h"
#include "gateway/base/clock.h"
#include "gateway/tls/tls_credentials.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapters/lvliang/http_city_support.h"
#include "nlohmann/json.hpp"
#include "tools/mock_city/certificate_signer.h"
#include "tools/mock_city/fault_injector.h"
#include "tools/mock_city/http_backend.h"
#include "tools/mock_city/medical_ledger.h"
#include "tools/mock_city/population.h"

namespace interop::mock_city {
namespace {

using ::interop::adapters::lvliang::NationalInterfaceAdapter;
using ::interop::adapters::lvliang::test_support::AdapterToMock;
using ::interop::adapters::lvliang::test_support::TestPopulation;
using ::interop::adapters::lvliang::test_support::UseDevelopmentCertificates;
using ::nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr City kCity = City::CITY_LVLIANG;
constexpr int kYear = 2026;
const std::string kCerts = adapters::lvliang::test_support::CertsDir();

std::shared_ptr<const adapters::Dialect> LvliangDialect() {
  absl::StatusOr<std::shared_ptr<const adapters::Dialect>> dialect =
      adapters::Dialect::LoadFile(absl::StrCat(INTEROP_SOURCE_DIR, "/adapters/lvliang/dialect.textproto"));
  EXPECT_TRUE(dialect.ok()) << dialect.status();
  return *dialect;
}

MockMedicalLedgerOptions LedgerOptions() {
  MockMedicalLedgerOptions options;
  options.seeded_year = kYear;
  return options;
}

// Polls `condition` until it holds or 20 seconds pass.
bool WaitFor(const std::function<bool()>& condition) {
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (!condition()) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

template <typename T>
absl::StatusOr<T> Await(const std::function<void(adapters::Callback<T>)>& call) {
  auto done = std::make_shared<absl::Notification>();
  auto result = std::make_shared<absl::StatusOr<T>>(absl::UnknownError("not called"));
  call([done, result](absl::StatusOr<T> r) {
    *result = std::move(r);
    done->Notify();
  });
  if (!done->WaitForNotificationWithTimeout(absl::Seconds(30)))
    return absl::DeadlineExceededError("no answer");
  return *result;
}

// A plain HTTPS client of the mock with the gateway's certificate: one connection of its own.
class PlainClient {
 public:
  explicit PlainClient(int port)
      : client_("127.0.0.1", port, kCerts + "/gateway.pem", kCerts + "/gateway.key") {
    client_.set_ca_cert_path((kCerts + "/ca.pem").c_str());
    client_.enable_server_certificate_verification(true);
    client_.set_read_timeout(60, 0);
  }
  httplib::Result Post(const std::string& path, const std::string& body) {
    return client_.Post(path.c_str(), body, "application/json");
  }
  httplib::Result Get(const std::string& path) { return client_.Get(path.c_str()); }
  // Closes the connection under a call in progress (from another thread).
  void Stop() { client_.stop(); }

 private:
  httplib::SSLClient client_;
};

// A request envelope of transaction `infno` for the first person of the population.
std::string Envelope(const std::string& infno) {
  static std::atomic<int> next_msgid{0};
  json request;
  request["infno"] = infno;
  request["msgid"] = absl::StrFormat("1411002026112700000000%08d", next_msgid.fetch_add(1));
  request["inf_time"] = "2026-11-27 10:00:00";
  request["input"]["data"] = {{"psn_cert_type", "01"}, {"certno", TestPopulation().persons()[0].resident_id}};
  return request.dump();
}

// Lüliang's mock over HTTP with its ledger, a plain client, and the gateway's adapter to it.
class FaultyHttpCity {
 public:
  explicit FaultyHttpCity(HttpBackendOptions options = {})
      : dialect_(LvliangDialect()), ledger_(TestPopulation(), kCity, LedgerOptions()) {
    UseDevelopmentCertificates(&options);
    auto backend = HttpMockCityBackend::Start(dialect_, TestPopulation(), Clock::Real(), ledger_, options);
    EXPECT_TRUE(backend.ok()) << backend.status();
    backend_ = *std::move(backend);
    plain_ = std::make_unique<PlainClient>(backend_->port());
    admin_ = std::make_unique<PlainClient>(backend_->port());
    adapter_ = AdapterToMock(dialect_, backend_->port());
  }

  HttpMockCityBackend& backend() { return *backend_; }
  MockMedicalLedger& ledger() { return ledger_; }
  adapters::CityAdapter& adapter() { return *adapter_; }
  int port() const { return backend_->port(); }

  // POST /admin/faults with {"settings": settings}: the HTTP status, and the reply in *reply.
  int SetFaults(const json& settings, json* reply = nullptr) {
    return PostAdmin("/admin/faults", json{{"settings", settings}}.dump(), reply);
  }
  int PostAdmin(const std::string& path, const std::string& body, json* reply = nullptr) {
    httplib::Result result = admin_->Post(path, body);
    if (!result) return -1;
    if (reply != nullptr) *reply = json::parse(result->body, nullptr, /*allow_exceptions=*/false);
    return result->status;
  }
  json GetFaults() {
    httplib::Result result = admin_->Get("/admin/faults");
    EXPECT_TRUE(result && result->status == 200);
    return result ? json::parse(result->body, nullptr, false) : json();
  }
  void ResetFaults() { EXPECT_EQ(PostAdmin("/admin/faults/reset", ""), 200); }
  // GET /health: the HTTP status and body.
  std::pair<int, std::string> Health() {
    httplib::Result result = admin_->Get("/health");
    if (!result) return {-1, ""};
    return {result->status, result->body};
  }
  // A transaction through the plain client: its HTTP status, the reply in *body.
  int Call(const std::string& infno, std::string* body = nullptr) {
    httplib::Result result = plain_->Post("/fsi/api/rsfComIfsService/callService", Envelope(infno));
    if (!result) return -1;
    if (body != nullptr) *body = result->body;
    return result->status;
  }

 private:
  std::shared_ptr<const adapters::Dialect> dialect_;
  MockMedicalLedger ledger_;
  std::unique_ptr<HttpMockCityBackend> backend_;
  std::unique_ptr<PlainClient> plain_;
  std::unique_ptr<PlainClient> admin_;
  std::unique_ptr<NationalInterfaceAdapter> adapter_;
};

// The first person insured in Lüliang with at least 100 yuan in the account.
const SyntheticPerson* Insured() {
  for (const SyntheticPerson& p : TestPopulation().persons()) {
    if (p.has_medical && p.medical.city == kCity && p.medical.balance_fen >= 10000) return &p;
  }
  return nullptr;
}

// A person whose household is registered outside Lüliang (so Lüliang can issue a move-in permit).
const SyntheticPerson* RegisteredElsewhere() {
  for (const SyntheticPerson& p : TestPopulation().persons()) {
    if (p.household.city == City::CITY_XINZHOU) return &p;
  }
  return nullptr;
}

adapters::SettlementRecord Settlement(const SyntheticPerson& person, const std::string& id) {
  adapters::SettlementRecord s;
  s.settlement_id = id;
  s.resident_id = person.resident_id;
  s.year = kYear;
  s.visit_type = config::v1::VISIT_TYPE_OUTPATIENT;
  s.institution_code = "H14070200001";
  s.treatment_city = City::CITY_JINZHONG;
  s.settle_date = absl::CivilDay(kYear, 3, 15);
  s.fund_pay_fen = 0;
  s.account_pay_fen = 50;
  s.cash_pay_fen = 1000;
  s.deductible_applied_fen = 0;
  s.total_fen = 1050;
  return s;
}

TEST(MockCityHttpFaultsTest, TheSameSeedFailsTheSameTransactionsAndAnotherSeedOthers) {
  FaultyHttpCity mock;
  const auto failing_calls = [&mock](uint64_t seed) {
    EXPECT_EQ(mock.SetFaults({{"error_rate", 0.4}, {"seed", std::to_string(seed)}}), 200);
    std::vector<int> failing;
    for (int k = 0; k < 40; ++k) {
      std::string body;
      const int status = mock.Call("L9101", &body);
      if (status != 200) {
        EXPECT_EQ(status, 503) << body;  // an injected UNAVAILABLE
        EXPECT_THAT(body, HasSubstr("injected fault"));
        failing.push_back(k);
      }
    }
    return failing;
  };
  const std::vector<int> first = failing_calls(42);
  std::vector<int> predicted;
  for (int k = 0; k < 40; ++k) {
    if (FaultInjector::ErrsAt(42, k, 0.4)) predicted.push_back(k);
  }
  EXPECT_EQ(first, predicted);
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(failing_calls(42), first);
  EXPECT_NE(failing_calls(7), first);
  const json faults = mock.GetFaults();
  EXPECT_EQ(faults["counters"]["calls_seen"], "120") << faults.dump();
  EXPECT_EQ(faults["settings"]["seed"], "7");
}

TEST(MockCityHttpFaultsTest, AnInjectedErrorOnASettlementCommitIsARefusalNotAnApplication) {
  FaultyHttpCity mock;
  const SyntheticPerson* person = Insured();
  ASSERT_NE(person, nullptr);
  ASSERT_EQ(
      mock.SetFaults({{"error_rate", 1.0}, {"error_code", "failed_precondition"}, {"methods", {"2207A"}}}),
      200);
  const adapters::SettlementRecord s = Settlement(*person, "HTTP-FAULT-S1");
  absl::StatusOr<adapters::CommitResult> refused =
      Await<adapters::CommitResult>([&](auto done) { mock.adapter().CommitSettlement(s, 1, {}, done); });
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr("city lvliang"));
  EXPECT_THAT(refused.status().message(), HasSubstr("injected fault"));
  EXPECT_EQ(mock.ledger().GetSettlement("HTTP-FAULT-S1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(mock.ledger().GetAccount(person->resident_id, kYear)->version, 1);

  mock.ResetFaults();
  absl::StatusOr<adapters::CommitResult> committed =
      Await<adapters::CommitResult>([&](auto done) { mock.adapter().CommitSettlement(s, 1, {}, done); });
  ASSERT_TRUE(committed.ok()) << committed.status();
  EXPECT_FALSE(committed->replayed);  // the first application, not a replay of the refused call
  EXPECT_EQ(committed->account.version, 2);
}

TEST(MockCityHttpFaultsTest, AnInjectedErrorOnAMoveInPermitLeavesNoPermit) {
  FaultyHttpCity mock;
  const SyntheticPerson* person = RegisteredElsewhere();
  ASSERT_NE(person, nullptr);
  ASSERT_EQ(mock.SetFaults({{"error_rate", 1.0}, {"error_code", "ALREADY_EXISTS"}, {"methods", {"L9302"}}}),
            200);
  const std::string county = "141102";
  const auto issue = [&] {
    return Await<adapters::MoveInPermit>([&](auto done) {
      mock.adapter().IssueMoveInPermit("http-fault-permit-1", person->resident_id, City::CITY_XINZHOU, county,
                                       {}, done);
    });
  };
  absl::StatusOr<adapters::MoveInPermit> refused = issue();
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kAlreadyExists) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr("city lvliang"));

  mock.ResetFaults();
  absl::StatusOr<adapters::MoveInPermit> first = issue();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->replayed);  // the refused call left nothing behind
  absl::StatusOr<adapters::MoveInPermit> again = issue();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->permit_number, first->permit_number);
}

TEST(MockCityHttpFaultsTest, AnInjectedErrorReachesTheGatewayAsItsCodeNamingTheCity) {
  FaultyHttpCity mock;
  const SyntheticPerson* person = Insured();
  ASSERT_NE(person, nullptr);
  struct Case {
    std::string injected;
    absl::StatusCode on_settlement;  // 5206 (GetMedicalAccount)
    absl::StatusCode on_read;        // 1101 (GetInsuranceStatus)
  };
  const Case cases[] = {
      {"NOT_FOUND", absl::StatusCode::kNotFound, absl::StatusCode::kNotFound},
      {"INVALID_ARGUMENT", absl::StatusCode::kInvalidArgument, absl::StatusCode::kInternal},
      {"UNIMPLEMENTED", absl::StatusCode::kUnimplemented, absl::StatusCode::kInternal},
      {"ABORTED", absl::StatusCode::kAborted, absl::StatusCode::kInternal},
      {"ALREADY_EXISTS", absl::StatusCode::kAlreadyExists, absl::StatusCode::kInternal},
      {"FAILED_PRECONDITION", absl::StatusCode::kFailedPrecondition, absl::StatusCode::kInternal},
      {"UNAVAILABLE", absl::StatusCode::kUnavailable, absl::StatusCode::kUnavailable},
      {"RESOURCE_EXHAUSTED", absl::StatusCode::kUnavailable, absl::StatusCode::kUnavailable},
      {"INTERNAL", absl::StatusCode::kInternal, absl::StatusCode::kInternal},
      {"PERMISSION_DENIED", absl::StatusCode::kInternal, absl::StatusCode::kInternal},
  };
  for (const Case& c : cases) {
    ASSERT_EQ(mock.SetFaults({{"error_rate", 1.0}, {"error_code", c.injected}}), 200) << c.injected;
    absl::Status account = Await<adapters::MedicalAccount>([&](auto done) {
                             mock.adapter().GetMedicalAccount(person->resident_id, kYear, {}, done);
                           }).status();
    EXPECT_EQ(account.code(), c.on_settlement) << c.injected << ": " << account;
    EXPECT_THAT(account.message(), HasSubstr("lvliang")) << c.injected;
    absl::Status read = Await<medical::v1::GetInsuranceStatusResponse>([&](auto done) {
                          mock.adapter().GetInsuranceStatus(person->resident_id, {}, done);
                        }).status();
    EXPECT_EQ(read.code(), c.on_read) << c.injected << ": " << read;
    EXPECT_THAT(read.message(), HasSubstr("lvliang")) << c.injected;
  }
  EXPECT_EQ(mock.GetFaults()["counters"]["errors_injected"], "20");
}

TEST(MockCityHttpFaultsTest, LatencyDelaysTheAnswerAfterTheWork) {
  FaultyHttpCity mock;
  ASSERT_EQ(mock.SetFaults({{"latency_ms", 300}, {"latency_jitter_ms", 100}}), 200);
  for (int i = 0; i < 3; ++i) {
    const absl::Time start = absl::Now();
    EXPECT_EQ(mock.Call("L9101"), 200);
    EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
  }
  EXPECT_EQ(mock.GetFaults()["counters"]["replies_delayed"], "3");
  EXPECT_TRUE(WaitFor([&] { return mock.backend().held_replies() == 0; }));
}

TEST(MockCityHttpFaultsTest, DownAnswers503AndHealthSaysNotServingUntilBackUp) {
  FaultyHttpCity mock;
  EXPECT_EQ(mock.Health(), std::make_pair(200, std::string("SERVING")));
  // Down ignores the method filter.
  ASSERT_EQ(mock.SetFaults({{"down", true}, {"methods", {"2207A"}}}), 200);
  std::string body;
  EXPECT_EQ(mock.Call("L9101", &body), 503);
  EXPECT_THAT(body, HasSubstr("down"));
  EXPECT_EQ(mock.Health(), std::make_pair(503, std::string("NOT_SERVING")));
  absl::Status health = Await<bool>([&](auto done) {
                          mock.adapter().CheckHealth({}, [done](absl::Status s) {
                            if (s.ok()) return done(true);
                            done(s);
                          });
                        }).status();
  EXPECT_EQ(health.code(), absl::StatusCode::kUnavailable) << health;
  EXPECT_THAT(health.message(), HasSubstr("city lvliang"));
  absl::Status located = Await<adapters::PersonLocation>([&](auto done) {
                           mock.adapter().LocatePerson(TestPopulation().persons()[0].resident_id, {}, done);
                         }).status();
  EXPECT_EQ(located.code(), absl::StatusCode::kUnavailable) << located;
  EXPECT_THAT(located.message(), HasSubstr("city lvliang is unavailable: HTTP 503"));
  EXPECT_EQ(mock.GetFaults()["counters"]["refused_down"], "2");

  ASSERT_EQ(mock.SetFaults(json::object()), 200);
  EXPECT_EQ(mock.Health(), std::make_pair(200, std::string("SERVING")));
  EXPECT_EQ(mock.Call("L9101"), 200);

  ASSERT_EQ(mock.SetFaults({{"down", true}}), 200);
  EXPECT_EQ(mock.Health().first, 503);
  mock.ResetFaults();
  EXPECT_EQ(mock.Health().first, 200);
}

TEST(MockCityHttpFaultsTest, FaultsOfTheOptionsApplyFromTheStartAndAreValidated) {
  HttpBackendOptions options;
  options.faults.down = true;
  FaultyHttpCity mock(options);
  EXPECT_EQ(mock.Health().first, 503);
  EXPECT_EQ(mock.Call("1101"), 503);

  HttpBackendOptions invalid;
  UseDevelopmentCertificates(&invalid);
  invalid.faults.methods = {"1101", "LocatePerson"};  // a gRPC method, not a transaction code
  auto refused = HttpMockCityBackend::Start(LvliangDialect(), TestPopulation(), Clock::Real(), invalid);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("methods[1]"));
}

TEST(MockCityHttpFaultsTest, HungCallsEndWhenTheCallerGivesUpAtItsDeadline) {
  HttpBackendOptions options;
  options.max_hang = absl::Minutes(10);  // longer than WaitFor waits: the release must come from the caller
  FaultyHttpCity mock(options);
  const SyntheticPerson* person = Insured();
  ASSERT_NE(person, nullptr);
  ASSERT_EQ(mock.SetFaults({{"hang", true}, {"methods", {"1101"}}}), 200);

  constexpr int kHung = 4;
  const absl::Duration deadline = absl::Seconds(2);
  std::vector<absl::Notification> ended(kHung);
  std::vector<absl::Status> statuses(kHung);
  std::vector<absl::Duration> took(kHung);
  for (int i = 0; i < kHung; ++i) {
    const absl::Time started = absl::Now();
    adapters::CallOptions call;
    call.deadline = started + deadline;
    mock.adapter().GetInsuranceStatus(
        person->resident_id, call,
        [&, i, started](absl::StatusOr<medical::v1::GetInsuranceStatusResponse> r) {
          statuses[i] = r.status();
          took[i] = absl::Now() - started;
          ended[i].Notify();
        });
  }
  ASSERT_TRUE(WaitFor([&] { return mock.backend().held_replies() == kHung; }));
  // While they hang, the admin, health and other transactions answer.
  EXPECT_EQ(mock.GetFaults()["counters"]["hangs_injected"], std::to_string(kHung));
  EXPECT_EQ(mock.Health().first, 200);
  EXPECT_EQ(mock.Call("L9101"), 200);
  for (int i = 0; i < kHung; ++i) {
    ASSERT_TRUE(ended[i].WaitForNotificationWithTimeout(absl::Seconds(30)));
    EXPECT_EQ(statuses[i].code(), absl::StatusCode::kDeadlineExceeded) << statuses[i];
    EXPECT_GE(took[i], deadline);
  }
  // The caller closed its connections at its deadline; that freed the workers.
  EXPECT_TRUE(WaitFor([&] { return mock.backend().held_replies() == 0; }));
}

TEST(MockCityHttpFaultsTest, AHungCallWhoseCallerWaitsOnIsAnswered504AfterTheCap) {
  HttpBackendOptions options;
  options.max_hang = absl::Milliseconds(300);
  FaultyHttpCity mock(options);
  ASSERT_EQ(mock.SetFaults({{"hang", true}}), 200);
  const absl::Time start = absl::Now();
  std::string body;
  EXPECT_EQ(mock.Call("L9101", &body), 504);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
  EXPECT_THAT(body, HasSubstr("injected hang"));
  EXPECT_EQ(mock.backend().held_replies(), 0);
}

TEST(MockCityHttpFaultsTest, HeldRepliesLeaveWorkersForTheAdminAndHealth) {
  HttpBackendOptions options;
  options.threads = HttpMockCityBackend::kWorkersKeptFree + 2;  // two replies may be held
  FaultyHttpCity mock(options);
  ASSERT_EQ(mock.SetFaults({{"hang", true}, {"methods", {"1101"}}}), 200);
  std::vector<std::unique_ptr<PlainClient>> callers;
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    callers.push_back(std::make_unique<PlainClient>(mock.port()));
    PlainClient* caller = callers.back().get();
    threads.emplace_back(
        [caller] { caller->Post("/fsi/api/rsfComIfsService/callService", Envelope("1101")); });
  }
  ASSERT_TRUE(WaitFor([&] { return mock.backend().held_replies() == 2; }));
  // A third call that would be held is refused at once rather than take a kept worker.
  PlainClient third(mock.port());
  httplib::Result refused = third.Post("/fsi/api/rsfComIfsService/callService", Envelope("1101"));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_THAT(refused->body, HasSubstr("holding"));
  EXPECT_EQ(mock.Health().first, 200);
  EXPECT_EQ(mock.GetFaults()["counters"]["hangs_injected"], "3");
  // The callers give up (close their connections): the held workers come back.
  for (auto& caller : callers) caller->Stop();
  for (std::thread& thread : threads) thread.join();
  EXPECT_TRUE(WaitFor([&] { return mock.backend().held_replies() == 0; }));
  mock.ResetFaults();
  EXPECT_EQ(mock.Call("1101"), 200);
}

TEST(MockCityHttpFaultsTest, AdminRefusesInvalidSettingsNamingTheField) {
  FaultyHttpCity mock;
  const json valid = {{"error_rate", 0.25}, {"seed", "9"}, {"methods", {"1101"}}};
  ASSERT_EQ(mock.SetFaults(valid), 200);

  struct Case {
    std::function<void(json&)> mutate;
    std::string field;
  };
  const Case cases[] = {
      {[](json& s) { s["error_rate"] = 1.5; }, "settings.error_rate"},
      {[](json& s) { s["error_rate"] = -0.5; }, "settings.error_rate"},
      {[](json& s) { s["error_code"] = "OK"; }, "settings.error_code"},
      {[](json& s) { s["error_code"] = "TEAPOT"; }, "settings.error_code"},
      {[](json& s) { s["methods"].push_back("LocatePerson"); }, "settings.methods[1]"},
      {[](json& s) {
         s["latency_ms"] = 3600000;
         s["latency_jitter_ms"] = 1;
       },
       "settings.latency_jitter_ms"},
  };
  for (const Case& c : cases) {
    json settings = valid;
    c.mutate(settings);
    json reply;
    EXPECT_EQ(mock.SetFaults(settings, &reply), 400) << c.field;
    EXPECT_EQ(reply["code"], 3) << reply.dump();  // INVALID_ARGUMENT
    EXPECT_THAT(reply["message"].get<std::string>(), StartsWith(c.field + ": "));
    ASSERT_TRUE(reply["details"].is_array() && reply["details"].size() == 1) << reply.dump();
    EXPECT_EQ(reply["details"][0]["@type"], "type.googleapis.com/google.rpc.BadRequest");
    EXPECT_EQ(reply["details"][0]["field_violations"][0]["field"], c.field) << reply.dump();
  }
  // Bodies that are not a SetFaultsRequest.
  for (const char* body : {"{\"settings\": ", "{\"settings\": {\"error_rat\": 1}}"}) {
    json reply;
    EXPECT_EQ(mock.PostAdmin("/admin/faults", body, &reply), 400) << body;
    EXPECT_EQ(reply["code"], 3) << reply.dump();
  }
  // Nothing changed.
  const json faults = mock.GetFaults();
  EXPECT_EQ(faults["settings"]["error_rate"], 0.25);
  EXPECT_EQ(faults["settings"]["error_code"], "UNAVAILABLE");
  EXPECT_EQ(faults["settings"]["seed"], "9");
  EXPECT_EQ(faults["settings"]["methods"], json::array({"1101"}));
}

TEST(MockCityHttpFaultsTest, EveryTransactionPassesTheFaultCheck) {
  // Down refuses every transaction code, and a body without one.
  auto signer = MockCertificateSigner::FromPemFile(kCity, kCerts + "/city-lvliang-signing.key", "");
  ASSERT_TRUE(signer.ok()) << signer.status();
  HttpBackendOptions options;
  options.certificate_signer = signer->get();  // so that L9401 is a transaction of this platform
  FaultyHttpCity mock(options);
  ASSERT_EQ(mock.SetFaults({{"down", true}}), 200);
  const std::vector<std::string> codes = NationalInterfacePlatform::TransactionCodes();
  ASSERT_EQ(codes.size(), 21u);
  for (const std::string& code : codes) EXPECT_EQ(mock.Call(code), 503) << code;
  PlainClient client(mock.port());
  httplib::Result garbage = client.Post("/fsi/api/rsfComIfsService/callService", "not json");
  ASSERT_TRUE(garbage);
  EXPECT_EQ(garbage->status, 503);
  EXPECT_EQ(mock.GetFaults()["counters"]["refused_down"], std::to_string(codes.size() + 1));
  // Without faults, each code is one the platform answers (no E1003, unknown transaction).
  mock.ResetFaults();
  for (const std::string& code : codes) {
    std::string body;
    EXPECT_EQ(mock.Call(code, &body), 200) << code;
    EXPECT_THAT(body, ::testing::Not(HasSubstr("E1003"))) << code << ": " << body;
  }
}

}  // namespace
}  // namespace interop::mock_city
