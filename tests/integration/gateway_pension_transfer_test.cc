// Pension relationship transfer (养老保险关系转移接续) end to end, with real mock-city and gateway
// processes: a transfer between each pair of the five cities (Lüliang's mock speaks HTTP/JSON in the
// national interface's envelope: the origin of two pairs, the destination of two); a rejected transfer
// (no pension record at the origin); kill -9 of the gateway (the test-only crash hook exits without
// cleanup) at every step boundary, with the origin and the destination rotating over the five cities,
// after which the transfer finishes with money and contribution months conserved across the cities
// (funds in flight counted by the transfer); and the origin down during its step.
//
// Funds are read from the cities themselves: each mock city's pension months (through the adapter the
// gateway uses for it, translated from its dialect and protocol) give its funds for the person by the
// national rule (gateway/transfers/pension_funds.h): the personal account as the sum of the personal
// amounts (the mock pays no interest) and the pooled part, 12% of each month's wage base since 1998-01.
//
// As in gateway_migration_test.cc, the city-down test stops the ORIGIN before it has been changed.
#include <map>

#include "absl/strings/str_cat.h"
#include "gateway/transfers/pension_funds.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "interop/social/v1/pension_transfer.grpc.pb.h"
#include "tests/integration/transfer_support.h"

namespace interop::testing {
namespace {

using mock_city::Population;
using mock_city::SyntheticPerson;
using social::v1::PensionTransfer;
using social::v1::PensionTransferService;

struct Holdings {
  int64_t funds_fen = 0;  // personal account + pooled part, over the five cities
  int months = 0;         // pension months
  std::map<City, int> months_by_city;
};

class PensionTransferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetGatewayCrashPoint("");
    ClusterOptions options;
    options.city_deadline_ms = 1000;
    auto cluster = CityCluster::Start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
    mock_city::PopulationOptions population_options;
    population_options.seed = options.seed;
    population_options.persons_per_issuing_city = options.persons_per_city;
    population_ = std::make_unique<Population>(Population::Generate(population_options));
  }
  void TearDown() override { SetGatewayCrashPoint(""); }

  std::unique_ptr<PensionTransferService::Stub> Stub(City city) {
    return PensionTransferService::NewStub(
        cluster_->CallerChannel(absl::StrCat("caller-social-security-bureau-", CityName(city))));
  }

  // Someone who paid pension contributions in `origin`, not in the last months there, and never in
  // `destination`. From Lüliang: one whose number Lüliang issued, the usual case there.
  const SyntheticPerson& Contributor(City origin, City destination) {
    const absl::CivilMonth recent = absl::CivilMonth(population_->options().today) - 3;
    const SyntheticPerson* p = FindUnused(
        *population_,
        [&](const SyntheticPerson& p) {
          bool in_origin = false;
          for (const mock_city::EmploymentSpell& s : p.employment) {
            if (s.city == destination) return false;
            if (s.city == origin) {
              if (s.last_month >= recent) return false;
              in_origin = true;
            }
          }
          return in_origin && (origin != City::CITY_LVLIANG || p.issuing_city == City::CITY_LVLIANG);
        },
        &used_);
    EXPECT_NE(p, nullptr);
    return *p;
  }

  Holdings Held(const std::string& id) {
    Holdings h;
    for (City city : kFiveCities) {
      absl::StatusOr<std::vector<social::v1::ContributionEntry>> entries = ContributionsAt(*cluster_, city, id);
      EXPECT_TRUE(entries.ok()) << CityName(city) << ": " << entries.status();
      if (!entries.ok() || entries->empty()) continue;
      const transfers::PensionFunds funds = transfers::ComputePensionFunds(*entries);
      h.funds_fen += funds.personal_contributions_fen + funds.pooled_fund_fen;
      h.months += funds.months;
      h.months_by_city[city] = funds.months;
    }
    return h;
  }

  grpc::Status Start(City origin, City destination, const std::string& id, PensionTransfer* transfer) {
    social::v1::StartPensionTransferRequest request;
    request.mutable_person()->set_resident_id(id);
    request.set_origin_city(origin);
    request.set_destination_city(destination);
    request.mutable_access()->set_purpose(common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION);
    social::v1::StartPensionTransferResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status status = Stub(destination)->StartPensionTransfer(&context, request, &response);
    *transfer = response.transfer();
    return status;
  }

  std::vector<PensionTransfer> List(City office, const std::string& id) {
    social::v1::ListPensionTransfersRequest request;
    request.mutable_person()->set_resident_id(id);
    request.mutable_access()->set_purpose(common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION);
    social::v1::ListPensionTransfersResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (!Stub(office)->ListPensionTransfers(&context, request, &response).ok()) return {};
    return {response.transfers().begin(), response.transfers().end()};
  }

  absl::StatusOr<PensionTransfer> Get(City office, const std::string& id, const std::string& transfer_id) {
    social::v1::GetPensionTransferRequest request;
    request.mutable_person()->set_resident_id(id);
    request.set_transfer_id(transfer_id);
    request.mutable_access()->set_purpose(common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION);
    social::v1::GetPensionTransferResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::Status status = Stub(office)->GetPensionTransfer(&context, request, &response);
    if (!status.ok()) return absl::UnavailableError(status.error_message());
    return response.transfer();
  }

  PensionTransfer WaitForEnd(City office, const std::string& id, absl::Duration timeout = absl::Seconds(30)) {
    PensionTransfer last;
    WaitFor(
        [&] {
          std::vector<PensionTransfer> all = List(office, id);
          if (all.size() != 1) return false;
          absl::StatusOr<PensionTransfer> t = Get(office, id, all[0].transfer_id());
          if (!t.ok()) return false;
          last = *t;
          return last.status() != common::v1::WORKFLOW_STATUS_RUNNING &&
                 last.status() != common::v1::WORKFLOW_STATUS_WAITING_RETRY;
        },
        timeout);
    return last;
  }

  // A confirmed transfer moved every pension month of the origin to the destination, conserving money.
  void ExpectConfirmed(const PensionTransfer& t, City origin, City destination, const Holdings& before,
                       const std::string& id) {
    EXPECT_EQ(t.status(), common::v1::WORKFLOW_STATUS_SUCCEEDED) << t.reason();
    EXPECT_EQ(t.state(), social::v1::TRANSFER_STATE_CONFIRMED);
    EXPECT_TRUE(t.applicant_notified());
    EXPECT_FALSE(t.funds_in_flight());
    const Holdings after = Held(id);
    EXPECT_EQ(after.funds_fen, before.funds_fen);
    EXPECT_EQ(after.months, before.months);
    EXPECT_EQ(after.months_by_city.count(origin) ? after.months_by_city.at(origin) : 0, 0);
    const int moved = before.months_by_city.count(origin) ? before.months_by_city.at(origin) : 0;
    EXPECT_EQ(t.months_transferred(), moved);
    const int before_dest = before.months_by_city.count(destination) ? before.months_by_city.at(destination) : 0;
    EXPECT_EQ(after.months_by_city.count(destination) ? after.months_by_city.at(destination) : 0, before_dest + moved);
  }

  std::unique_ptr<CityCluster> cluster_;
  std::unique_ptr<Population> population_;
  std::vector<std::string> used_;
};

TEST_F(PensionTransferTest, TransfersBetweenEachPairOfTheFiveCities) {
  for (size_t i = 0; i < std::size(kFiveCities); ++i) {
    for (size_t j = i + 1; j < std::size(kFiveCities); ++j) {
      // Alternate the direction: Lüliang (last) is the destination from Taiyuan and Jinzhong and the
      // origin to Yangquan and Xinzhou.
      const City origin = (i + j) % 2 == 0 ? kFiveCities[i] : kFiveCities[j];
      const City destination = origin == kFiveCities[i] ? kFiveCities[j] : kFiveCities[i];
      SCOPED_TRACE(absl::StrCat(CityName(origin), " -> ", CityName(destination)));
      const SyntheticPerson& person = Contributor(origin, destination);
      const Holdings before = Held(person.resident_id);
      ASSERT_GT(before.months_by_city.count(origin), 0u);
      PensionTransfer started;
      grpc::Status status = Start(origin, destination, person.resident_id, &started);
      ASSERT_TRUE(status.ok()) << status.error_message();
      EXPECT_NE(started.state(), social::v1::TRANSFER_STATE_UNSPECIFIED);  // the first step may have run already
      PensionTransfer done = WaitForEnd(destination, person.resident_id);
      ExpectConfirmed(done, origin, destination, before, person.resident_id);
      EXPECT_GT(done.personal_account().fen(), 0);
      EXPECT_FALSE(done.sheet().empty());
    }
  }
}

TEST_F(PensionTransferTest, RejectsATransferFromACityWithoutAPensionRecord) {
  // Someone who never paid contributions in Yangquan asks to move a relationship from there.
  const SyntheticPerson* person = FindUnused(
      *population_,
      [](const SyntheticPerson& p) {
        for (const mock_city::EmploymentSpell& s : p.employment) {
          if (s.city == City::CITY_YANGQUAN) return false;
        }
        return !p.employment.empty();
      },
      &used_);
  ASSERT_NE(person, nullptr);
  const Holdings before = Held(person->resident_id);
  PensionTransfer started;
  ASSERT_TRUE(Start(City::CITY_YANGQUAN, City::CITY_TAIYUAN, person->resident_id, &started).ok());
  PensionTransfer done = WaitForEnd(City::CITY_TAIYUAN, person->resident_id);
  EXPECT_EQ(done.status(), common::v1::WORKFLOW_STATUS_REJECTED);
  EXPECT_EQ(done.state(), social::v1::TRANSFER_STATE_REJECTED);
  EXPECT_THAT(done.reason(), ::testing::HasSubstr("no pension record"));
  const Holdings after = Held(person->resident_id);
  EXPECT_EQ(after.funds_fen, before.funds_fen);
  EXPECT_EQ(after.months, before.months);
}

TEST_F(PensionTransferTest, FinishesAfterAGatewayCrashAtEveryStepBoundaryConservingMoney) {
  const std::vector<std::string> states = {"applied", "letter_sent", "sheet_checked", "transferred_out"};
  const std::vector<std::string> boundaries = {"before_step", "after_step", "after_commit"};
  int n = 0;
  for (const std::string& state : states) {
    for (const std::string& boundary : boundaries) {
      const City origin = kFiveCities[n % 5];
      const City destination = kFiveCities[(n + 1 + n / 5 % 4) % 5];  // never the origin
      ++n;
      SCOPED_TRACE(absl::StrCat("crash at ", state, "/", boundary, ", ", CityName(origin), " -> ",
                                CityName(destination)));
      const SyntheticPerson& person = Contributor(origin, destination);
      const Holdings before = Held(person.resident_id);
      SetGatewayCrashPoint(absl::StrCat("pension_transfer/", state, "/", boundary));
      ASSERT_TRUE(cluster_->RestartGateway().ok());
      PensionTransfer started;
      (void)Start(origin, destination, person.resident_id, &started);
      ASSERT_TRUE(WaitFor([&] { return List(destination, person.resident_id).empty(); }, absl::Seconds(20)))
          << "the gateway did not exit at the crash point";
      // While the gateway is down the months are either still at the origin, or in flight (not at
      // any city), or merged at the destination: never in two places.
      const Holdings during = Held(person.resident_id);
      EXPECT_TRUE(during.months == before.months || during.months == before.months - before.months_by_city.at(origin))
          << during.months;
      EXPECT_LE(during.funds_fen, before.funds_fen);
      SetGatewayCrashPoint("");
      ASSERT_TRUE(cluster_->RestartGateway().ok());
      PensionTransfer done = WaitForEnd(destination, person.resident_id);
      ExpectConfirmed(done, origin, destination, before, person.resident_id);
    }
  }
}

TEST_F(PensionTransferTest, WaitsForADownOriginAndFinishesWhenItReturns) {
  const City origin = City::CITY_JINZHONG;
  const City destination = City::CITY_XINZHOU;
  const SyntheticPerson& person = Contributor(origin, destination);
  const Holdings before = Held(person.resident_id);
  SetGatewayCrashPoint("pension_transfer/letter_sent/before_step");
  ASSERT_TRUE(cluster_->RestartGateway().ok());
  PensionTransfer started;
  (void)Start(origin, destination, person.resident_id, &started);  // the crash may come before the answer
  ASSERT_TRUE(WaitFor([&] { return List(destination, person.resident_id).empty(); }, absl::Seconds(20)));
  cluster_->city(origin).Kill();
  SetGatewayCrashPoint("");
  ASSERT_TRUE(cluster_->RestartGateway().ok());
  ASSERT_TRUE(WaitFor([&] { return List(destination, person.resident_id).size() == 1; }, absl::Seconds(20)));
  started = List(destination, person.resident_id)[0];
  PensionTransfer waiting;
  ASSERT_TRUE(WaitFor(
      [&] {
        absl::StatusOr<PensionTransfer> t = Get(destination, person.resident_id, started.transfer_id());
        if (t.ok()) waiting = *t;
        return t.ok() && t->status() == common::v1::WORKFLOW_STATUS_WAITING_RETRY;
      },
      absl::Seconds(20)));
  EXPECT_EQ(waiting.state(), social::v1::TRANSFER_STATE_LETTER_SENT);
  EXPECT_THAT(waiting.reason(), ::testing::HasSubstr("jinzhong"));
  absl::SleepFor(absl::Seconds(2));
  ASSERT_TRUE(cluster_->RestartCity(origin).ok());
  PensionTransfer done = WaitForEnd(destination, person.resident_id, absl::Seconds(90));
  ExpectConfirmed(done, origin, destination, before, person.resident_id);
}

}  // namespace
}  // namespace interop::testing
