// The mock city speaks each city's checked-in dialect (adapters/<city>/dialect.textproto) on the
// wire, and the city's adapter, reading the same file, turns it back into exactly the population's
// canonical records. In-process: a real gRPC server on 127.0.0.1 port 0, plaintext.
#include "tools/mock_city/mock_city_service.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "adapters/dialect/dialect.h"
#include "adapters/dialect/text_encoding.h"
#include "adapters/grpc_backend/grpc_backend_adapter.h"
#include "gateway/base/cities.h"
#include "gateway/base/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace interop::mock_city {
namespace {

namespace backend = ::interop::citybackend::v1;
using adapters::Dialect;
using ::testing::HasSubstr;

const Population& TestPopulation() {
  static const Population* population = [] {
    PopulationOptions options;
    options.persons_per_issuing_city = 800;
    return new Population(Population::Generate(options));
  }();
  return *population;
}

std::shared_ptr<const Dialect> CheckedInDialect(City city) {
  absl::StatusOr<std::shared_ptr<const Dialect>> dialect =
      Dialect::LoadFile(absl::StrCat(INTEROP_SOURCE_DIR, "/adapters/", CityName(city), "/dialect.textproto"));
  EXPECT_TRUE(dialect.ok()) << dialect.status();
  return *dialect;
}

// Waits for one adapter call.
template <typename T>
absl::StatusOr<T> Await(const std::function<void(adapters::Callback<T>)>& call) {
  absl::Notification done;
  absl::StatusOr<T> result = absl::UnknownError("not called");
  call([&](absl::StatusOr<T> r) {
    result = std::move(r);
    done.Notify();
  });
  if (!done.WaitForNotificationWithTimeout(absl::Seconds(10)))
    return absl::DeadlineExceededError("no answer");
  return result;
}

// Keeps `channel` alive until the process exits. A callback-API call (the adapter's) can hold the
// last reference to its channel in gRPC's callback thread; gRPC 1.51 then shuts its callback
// completion queue down from that very thread or while it still runs, and crashes ("assertion
// failed: prior > 0" in grpc_cq_internal_unref). The channels of these tests are never released.
void KeepUntilExit(std::shared_ptr<grpc::Channel> channel) {
  static auto* kept = new std::vector<std::shared_ptr<grpc::Channel>>;
  static absl::Mutex mu;
  absl::MutexLock lock(&mu);
  kept->push_back(std::move(channel));
}

// One mock city serving its dialect, a raw stub to it and the city's adapter.
class MockCity {
 public:
  explicit MockCity(City city)
      : dialect_(CheckedInDialect(city)), service_(dialect_, TestPopulation(), Clock::Real()) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
    KeepUntilExit(channel_);
    stub_ = backend::CityBackendService::NewStub(channel_);
    adapters::GrpcBackendOptions options;
    options.city = city;
    options.city_deadline = absl::Seconds(5);
    options.dialect = dialect_;
    adapter_ = std::make_unique<adapters::GrpcBackendAdapter>(std::move(options), channel_,
                                                              backend::CityBackendService::NewStub(channel_));
  }
  ~MockCity() { server_->Shutdown(std::chrono::system_clock::now()); }

  const Dialect& dialect() const { return *dialect_; }
  backend::CityBackendService::Stub& stub() { return *stub_; }
  adapters::CityAdapter& adapter() { return *adapter_; }

 private:
  std::shared_ptr<const Dialect> dialect_;
  MockCityBackend service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<backend::CityBackendService::Stub> stub_;
  std::unique_ptr<adapters::CityAdapter> adapter_;
};

// Up to `n` persons matching `pred`, spread over the population.
std::vector<const SyntheticPerson*> Sample(const std::function<bool(const SyntheticPerson&)>& pred,
                                           size_t n) {
  std::vector<const SyntheticPerson*> all;
  for (const SyntheticPerson& p : TestPopulation().persons()) {
    if (pred(p)) all.push_back(&p);
  }
  std::vector<const SyntheticPerson*> picked;
  for (size_t i = 0; i < n && !all.empty(); ++i) picked.push_back(all[i * all.size() / n]);
  return picked;
}

void ExpectDate(const common::v1::Date& date, absl::CivilDay day, const std::string& what) {
  EXPECT_EQ(date.year(), day.year()) << what;
  EXPECT_EQ(date.month(), day.month()) << what;
  EXPECT_EQ(date.day(), day.day()) << what;
}

class MockCityDialectTest : public ::testing::TestWithParam<City> {};

TEST_P(MockCityDialectTest, AdapterTurnsTheDialectBackIntoTheCanonicalRecords) {
  const City city = GetParam();
  MockCity mock(city);
  for (const SyntheticPerson* p :
       Sample([city](const SyntheticPerson& p) { return p.has_medical && p.medical.city == city; }, 25)) {
    auto status = Await<medical::v1::GetInsuranceStatusResponse>(
        [&](auto done) { mock.adapter().GetInsuranceStatus(p->resident_id, {}, done); });
    ASSERT_TRUE(status.ok()) << p->resident_id << ": " << status.status();
    EXPECT_EQ(status->resident_id(), p->resident_id);
    EXPECT_EQ(status->name(), p->name);
    EXPECT_EQ(status->insured_city().city(), city);
    EXPECT_EQ(status->insured_region_code(), p->medical.insured_region_code);
    EXPECT_EQ(absl::StrCat(static_cast<int>(status->insurance_type())), p->medical.insurance_type_code);
    EXPECT_EQ(absl::StrCat(static_cast<int>(status->status())), p->medical.status_code);
    ExpectDate(status->enrollment_date(), p->medical.enrollment_date, p->resident_id);
    EXPECT_EQ(status->personal_account_balance().fen(), p->medical.balance_fen);
  }
  for (const SyntheticPerson* p :
       Sample([city](const SyntheticPerson& p) { return p.household.city == city; }, 25)) {
    auto record = Await<household::v1::GetHouseholdRecordResponse>(
        [&](auto done) { mock.adapter().GetHouseholdRecord(p->resident_id, {}, done); });
    ASSERT_TRUE(record.ok()) << p->resident_id << ": " << record.status();
    EXPECT_EQ(record->resident_id(), p->resident_id);
    EXPECT_EQ(record->name(), p->name);
    EXPECT_EQ(record->address_code(), p->household.address_code);
    EXPECT_EQ(record->household_number(), p->household.household_number);
    EXPECT_EQ(static_cast<int>(record->relation_to_head()), std::stoi(p->household.relation_code));
    EXPECT_EQ(absl::StrCat(static_cast<int>(record->household_type())), p->household.household_type_code);
    ExpectDate(record->registered_since(), p->household.registered_since, p->resident_id);
  }
  for (const SyntheticPerson* p :
       Sample([city](const SyntheticPerson& p) { return Population::HasContributionsIn(p, city); }, 8)) {
    auto months = Await<std::vector<social::v1::ContributionEntry>>(
        [&](auto done) { mock.adapter().GetMonthlyContributions(p->resident_id, 0, 0, {}, done); });
    ASSERT_TRUE(months.ok()) << p->resident_id << ": " << months.status();
    const std::vector<ContributionMonth> truth = TestPopulation().Contributions(*p, city);
    ASSERT_EQ(months->size(), truth.size()) << p->resident_id;
    for (size_t i = 0; i < truth.size(); ++i) {
      const social::v1::ContributionEntry& got = (*months)[i];
      EXPECT_EQ(absl::StrCat(static_cast<int>(got.kind())), truth[i].kind_code) << p->resident_id << " " << i;
      EXPECT_EQ(got.year(), truth[i].month.year());
      EXPECT_EQ(got.month(), truth[i].month.month());
      EXPECT_EQ(got.wage_base().fen(), truth[i].wage_base_fen);
      EXPECT_EQ(got.personal_amount().fen(), truth[i].personal_fen);
      EXPECT_EQ(got.employer_amount().fen(), truth[i].employer_fen);
    }
  }
}

TEST_P(MockCityDialectTest, TheWireCarriesTheCitysOwnFormsAndCodes) {
  const City city = GetParam();
  MockCity mock(city);
  const Dialect& dialect = mock.dialect();
  for (const SyntheticPerson* p : Sample(
           [city](const SyntheticPerson& p) {
             return p.has_medical && p.medical.city == city && p.medical.balance_fen;
           },
           10)) {
    grpc::ClientContext context;
    backend::GetMedicalEnrollmentRequest request;
    request.set_resident_id(dialect.BackendResidentId(p->resident_id));
    backend::GetMedicalEnrollmentResponse reply;
    ASSERT_TRUE(mock.stub().GetMedicalEnrollment(&context, request, &reply).ok());
    EXPECT_EQ(reply.resident_id(), dialect.BackendResidentId(p->resident_id));
    EXPECT_EQ(
        reply.insurance_type_code(),
        *dialect.table(adapters::CodeTableKind::kInsuranceTypes).ToLocal(p->medical.insurance_type_code));
    EXPECT_EQ(reply.enrollment_date(), dialect.date_format().FormatDate(p->medical.enrollment_date));
    if (dialect.money_format() == config::v1::MONEY_FORMAT_YUAN_DECIMAL) {
      EXPECT_EQ(reply.balance(),
                absl::StrFormat("%d.%02d", p->medical.balance_fen / 100, p->medical.balance_fen % 100));
    } else {
      EXPECT_EQ(reply.balance(), absl::StrCat(p->medical.balance_fen));
    }
    if (dialect.text_encoding() == config::v1::TEXT_ENCODING_GB18030) {
      EXPECT_NE(reply.name(), p->name) << "names must be GB 18030, not UTF-8";
      EXPECT_EQ(*adapters::DecodeText(reply.name(), config::v1::TEXT_ENCODING_GB18030), p->name);
    } else {
      EXPECT_EQ(reply.name(), p->name);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllCities, MockCityDialectTest,
                         ::testing::Values(City::CITY_TAIYUAN, City::CITY_YANGQUAN, City::CITY_JINZHONG,
                                           City::CITY_XINZHOU, City::CITY_LVLIANG),
                         [](const ::testing::TestParamInfo<City>& info) {
                           return std::string(CityName(info.param));
                         });

TEST(MockCityLegacyTest, XinzhouKnowsOlderPersonsOnlyByTheirLegacyNumber) {
  MockCity mock(City::CITY_XINZHOU);
  const std::vector<const SyntheticPerson*> old = Sample(
      [](const SyntheticPerson& p) {
        return p.birth_date.year() < 1970 && p.household.city == City::CITY_XINZHOU;
      },
      5);
  ASSERT_FALSE(old.empty());
  for (const SyntheticPerson* p : old) {
    const std::string legacy = *adapters::LegacyNumberOf(p->resident_id);
    {
      grpc::ClientContext context;
      backend::LocatePersonRequest request;
      request.set_resident_id(p->resident_id);
      backend::LocatePersonResponse reply;
      ASSERT_TRUE(mock.stub().LocatePerson(&context, request, &reply).ok());
      EXPECT_FALSE(reply.found()) << "the 18-character number of " << legacy << " was known";
    }
    {
      grpc::ClientContext context;
      backend::LocatePersonRequest request;
      request.set_resident_id(legacy);
      backend::LocatePersonResponse reply;
      ASSERT_TRUE(mock.stub().LocatePerson(&context, request, &reply).ok());
      EXPECT_TRUE(reply.found());
      EXPECT_TRUE(reply.holds_household_registration());
    }
    {
      grpc::ClientContext context;
      backend::GetHouseholdRegistrationRequest request;
      request.set_resident_id(p->resident_id);
      backend::GetHouseholdRegistrationResponse reply;
      grpc::Status status = mock.stub().GetHouseholdRegistration(&context, request, &reply);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
      EXPECT_THAT(status.error_message(), HasSubstr("15-digit"));
    }
    {
      grpc::ClientContext context;
      backend::GetHouseholdRegistrationRequest request;
      request.set_resident_id(legacy);
      backend::GetHouseholdRegistrationResponse reply;
      ASSERT_TRUE(mock.stub().GetHouseholdRegistration(&context, request, &reply).ok());
      EXPECT_EQ(reply.resident_id(), legacy);
    }
    // Through the adapter, the gateway sees only the 18-character number.
    auto record = Await<household::v1::GetHouseholdRecordResponse>(
        [&](auto done) { mock.adapter().GetHouseholdRecord(p->resident_id, {}, done); });
    ASSERT_TRUE(record.ok()) << record.status();
    EXPECT_EQ(record->resident_id(), p->resident_id);
    auto located = Await<adapters::PersonLocation>(
        [&](auto done) { mock.adapter().LocatePerson(p->resident_id, {}, done); });
    ASSERT_TRUE(located.ok()) << located.status();
    EXPECT_TRUE(located->found);
  }
}

TEST(MockCityLegacyTest, YoungerPersonsAreNotKnownByA15DigitNumber) {
  MockCity mock(City::CITY_XINZHOU);
  const std::vector<const SyntheticPerson*> young = Sample(
      [](const SyntheticPerson& p) {
        return p.birth_date.year() >= 1970 && p.birth_date.year() < 2000 &&
               p.household.city == City::CITY_XINZHOU;
      },
      3);
  ASSERT_FALSE(young.empty());
  for (const SyntheticPerson* p : young) {
    grpc::ClientContext context;
    backend::LocatePersonRequest request;
    request.set_resident_id(*adapters::LegacyNumberOf(p->resident_id));
    backend::LocatePersonResponse reply;
    ASSERT_TRUE(mock.stub().LocatePerson(&context, request, &reply).ok());
    EXPECT_FALSE(reply.found());
  }
}

TEST(MockCityLegacyTest, CitiesWithoutLegacyNumbersDoNotKnowThem) {
  MockCity mock(City::CITY_TAIYUAN);
  const std::vector<const SyntheticPerson*> old = Sample(
      [](const SyntheticPerson& p) {
        return p.birth_date.year() < 1970 && p.household.city == City::CITY_TAIYUAN;
      },
      3);
  ASSERT_FALSE(old.empty());
  for (const SyntheticPerson* p : old) {
    grpc::ClientContext context;
    backend::GetHouseholdRegistrationRequest request;
    request.set_resident_id(*adapters::LegacyNumberOf(p->resident_id));
    backend::GetHouseholdRegistrationResponse reply;
    EXPECT_EQ(mock.stub().GetHouseholdRegistration(&context, request, &reply).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
}

TEST(MockCityContributionsTest, TheWireIsOrderedByTheCitysOwnKindCodes) {
  MockCity mock(City::CITY_JINZHONG);  // GS < SY < YB < YL, unlike 110 < 210 < 310 < 410
  const std::vector<const SyntheticPerson*> paid = Sample(
      [](const SyntheticPerson& p) { return Population::HasContributionsIn(p, City::CITY_JINZHONG); }, 1);
  ASSERT_EQ(paid.size(), 1u);
  grpc::ClientContext context;
  backend::GetContributionsRequest request;
  request.set_resident_id(paid[0]->resident_id);
  backend::GetContributionsResponse reply;
  ASSERT_TRUE(mock.stub().GetContributions(&context, request, &reply).ok());
  ASSERT_GT(reply.months_size(), 1);
  for (int i = 1; i < reply.months_size(); ++i) {
    const auto& a = reply.months(i - 1);
    const auto& b = reply.months(i);
    EXPECT_LE(std::tie(a.year_month(), a.kind_code()), std::tie(b.year_month(), b.kind_code()));
  }
  EXPECT_THAT(reply.months(0).year_month(), ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}"));
  EXPECT_THAT(reply.months(0).wage_base(), ::testing::MatchesRegex("[0-9]+\\.[0-9]{2}"));
}

// --- Household migration and pension transfer, through the adapter: the contract's
// (protos/interop/citybackend/v1/city_backend.proto) idempotency and checks.

TEST(MockCityMobilityTest, SettleInKeyReusedWithAnotherNameIsAlreadyExists) {
  MockCity taiyuan(City::CITY_TAIYUAN);
  const std::vector<const SyntheticPerson*> movers =
      Sample([](const SyntheticPerson& p) { return p.household.city == City::CITY_JINZHONG; }, 1);
  ASSERT_EQ(movers.size(), 1u);
  const SyntheticPerson& p = *movers[0];
  absl::StatusOr<adapters::MoveInPermit> permit = Await<adapters::MoveInPermit>([&](auto done) {
    taiyuan.adapter().IssueMoveInPermit("wf-name/permit", p.resident_id, City::CITY_JINZHONG, "140105", {},
                                        done);
  });
  ASSERT_TRUE(permit.ok()) << permit.status();
  auto settle = [&](const std::string& name) {
    return Await<adapters::SettleInResult>([&](auto done) {
      taiyuan.adapter().SettleIn("wf-name/settle", p.resident_id, permit->permit_number, "140105", name, {},
                                 done);
    });
  };
  absl::StatusOr<adapters::SettleInResult> settled = settle(p.name);
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_FALSE(settled->replayed);

  absl::StatusOr<adapters::SettleInResult> renamed = settle(p.name + "明");
  EXPECT_EQ(renamed.status().code(), absl::StatusCode::kAlreadyExists) << renamed.status();
  EXPECT_THAT(std::string(renamed.status().message()), HasSubstr("wf-name/settle"));

  absl::StatusOr<adapters::SettleInResult> again = settle(p.name);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->replayed);
}

TEST(MockCityMobilityTest, ConfirmTransferInTakesThePersonalAccountBalanceInFull) {
  MockCity jinzhong(City::CITY_JINZHONG);
  MockCity taiyuan(City::CITY_TAIYUAN);
  const std::vector<const SyntheticPerson*> paid = Sample(
      [](const SyntheticPerson& p) {
        return p.employment.size() == 1 && p.employment[0].city == City::CITY_JINZHONG &&
               p.employment[0].last_month < absl::CivilMonth(2026, 1);
      },
      1);
  ASSERT_EQ(paid.size(), 1u);
  const std::string id = paid[0]->resident_id;
  absl::StatusOr<adapters::PensionApplication> application =
      Await<adapters::PensionApplication>([&](auto done) {
        taiyuan.adapter().ApplyPensionTransfer("wf-p/apply", id, City::CITY_JINZHONG, {}, done);
      });
  ASSERT_TRUE(application.ok()) << application.status();
  absl::StatusOr<adapters::ContactLetter> letter = Await<adapters::ContactLetter>([&](auto done) {
    taiyuan.adapter().IssueContactLetter("wf-p/letter", id, application->application_number, {}, done);
  });
  ASSERT_TRUE(letter.ok()) << letter.status();
  absl::StatusOr<adapters::PreparedTransferOut> prepared =
      Await<adapters::PreparedTransferOut>([&](auto done) {
        jinzhong.adapter().PreparePensionTransferOut("wf-p/prepare", id, City::CITY_TAIYUAN,
                                                     letter->letter_number, {}, done);
      });
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  ASSERT_FALSE(prepared->sheet.months.empty());
  auto confirm = [&](const std::string& key, const adapters::PensionTransferSheet& sheet) {
    return Await<adapters::TransferInConfirmation>([&](auto done) {
      taiyuan.adapter().ConfirmPensionTransferIn(key, id, application->application_number,
                                                 City::CITY_JINZHONG, sheet, {}, done);
    });
  };

  // Still checked: the pooled fund is a function of the months.
  adapters::PensionTransferSheet pooled_off = prepared->sheet;
  pooled_off.pooled_fund_fen += 1;
  EXPECT_EQ(confirm("wf-p/confirm-pooled-off", pooled_off).status().code(),
            absl::StatusCode::kFailedPrecondition);

  // The origin's balance, here with interest on top of the personal amounts, is taken in full.
  adapters::PensionTransferSheet with_interest = prepared->sheet;
  with_interest.personal_account_fen += 12345;
  absl::StatusOr<adapters::TransferInConfirmation> confirmed = confirm("wf-p/confirm", with_interest);
  ASSERT_TRUE(confirmed.ok()) << confirmed.status();
  EXPECT_FALSE(confirmed->replayed);
  EXPECT_TRUE(confirmed->applicant_notified);
}

}  // namespace
}  // namespace interop::mock_city
