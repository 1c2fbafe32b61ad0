#include "tools/mock_city/mobility_records.h"

#include "gateway/transfers/pension_funds.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::mock_city {
namespace {

using ::testing::HasSubstr;

const absl::CivilDay kToday(2026, 6, 30);

class MobilityRecordsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    PopulationOptions options;
    options.persons_per_issuing_city = 300;
    population_ = new Population(Population::Generate(options));
  }
  const SyntheticPerson& RegisteredIn(City city) {
    for (const SyntheticPerson& p : population_->persons()) {
      if (p.household.city == city) return p;
    }
    return population_->persons().front();
  }
  const SyntheticPerson& PaidOnlyIn(City city, bool ended) {
    for (const SyntheticPerson& p : population_->persons()) {
      if (p.employment.size() == 1 && p.employment[0].city == city &&
          (p.employment[0].last_month < absl::CivilMonth(2026, 1)) == ended) {
        return p;
      }
    }
    return population_->persons().front();
  }
  static Population* population_;
};

Population* MobilityRecordsTest::population_ = nullptr;

TEST_F(MobilityRecordsTest, HouseholdStepsApplyOncePerKeyAndChangeTheReads) {
  const SyntheticPerson& p = RegisteredIn(City::CITY_XINZHOU);
  MockMobilityRecords xinzhou(*population_, City::CITY_XINZHOU);
  MockMobilityRecords taiyuan(*population_, City::CITY_TAIYUAN);

  absl::StatusOr<adapters::MoveInPermit> permit =
      taiyuan.IssueMoveInPermit("k1", p, City::CITY_XINZHOU, "140105", kToday);
  ASSERT_TRUE(permit.ok()) << permit.status();
  EXPECT_FALSE(permit->replayed);
  EXPECT_EQ(permit->valid_until, kToday + 39);
  absl::StatusOr<adapters::MoveInPermit> again =
      taiyuan.IssueMoveInPermit("k1", p, City::CITY_XINZHOU, "140105", kToday);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->permit_number, permit->permit_number);
  EXPECT_EQ(taiyuan.IssueMoveInPermit("k1", p, City::CITY_XINZHOU, "140106", kToday).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(taiyuan.IssueMoveInPermit("k2", p, City::CITY_XINZHOU, "140905", kToday).status().code(),
            absl::StatusCode::kInvalidArgument);

  // An expired permit is refused by the origin, which changes nothing.
  EXPECT_EQ(xinzhou.RecordMoveOut("m0", p, City::CITY_TAIYUAN, permit->permit_number, kToday - 1, kToday)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(xinzhou.Registration(p).has_value());
  absl::StatusOr<adapters::MoveOutRecord> out =
      xinzhou.RecordMoveOut("m1", p, City::CITY_TAIYUAN, permit->permit_number, permit->valid_until, kToday);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->previous_address_code, p.household.address_code);
  EXPECT_FALSE(xinzhou.Registration(p).has_value());
  EXPECT_TRUE(
      xinzhou.RecordMoveOut("m1", p, City::CITY_TAIYUAN, permit->permit_number, permit->valid_until, kToday)
          ->replayed);
  EXPECT_EQ(
      xinzhou.RecordMoveOut("m2", p, City::CITY_TAIYUAN, permit->permit_number, permit->valid_until, kToday)
          .status()
          .code(),
      absl::StatusCode::kNotFound);

  bool replayed = true;
  EXPECT_EQ(taiyuan.SettleIn("s0", p, "ZR-unknown", "140105", p.name, kToday, &replayed).status().code(),
            absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<HouseholdRegistration> settled =
      taiyuan.SettleIn("s1", p, permit->permit_number, "140105", p.name, kToday, &replayed);
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_FALSE(replayed);
  ASSERT_TRUE(taiyuan.Registration(p).has_value());
  EXPECT_EQ(taiyuan.Registration(p)->address_code, "140105");
  ASSERT_TRUE(taiyuan.SettleIn("s1", p, permit->permit_number, "140105", p.name, kToday, &replayed).ok());
  EXPECT_TRUE(replayed);
}

TEST_F(MobilityRecordsTest, SettleInKeyReusedWithAnotherNameIsAlreadyExists) {
  const SyntheticPerson& p = RegisteredIn(City::CITY_XINZHOU);
  MockMobilityRecords taiyuan(*population_, City::CITY_TAIYUAN);
  absl::StatusOr<adapters::MoveInPermit> permit =
      taiyuan.IssueMoveInPermit("k1", p, City::CITY_XINZHOU, "140105", kToday);
  ASSERT_TRUE(permit.ok()) << permit.status();
  bool replayed = true;
  ASSERT_TRUE(taiyuan.SettleIn("s1", p, permit->permit_number, "140105", p.name, kToday, &replayed).ok());
  EXPECT_FALSE(replayed);

  absl::StatusOr<HouseholdRegistration> renamed =
      taiyuan.SettleIn("s1", p, permit->permit_number, "140105", p.name + "明", kToday, &replayed);
  EXPECT_EQ(renamed.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(renamed.status().message(), HasSubstr("\"s1\" was used for another request"));
  ASSERT_TRUE(taiyuan.SettleIn("s1", p, permit->permit_number, "140105", p.name, kToday, &replayed).ok());
  EXPECT_TRUE(replayed);
}

TEST_F(MobilityRecordsTest, PensionTransferRefusalsAndMovesMonthsOnce) {
  MockMobilityRecords xinzhou(*population_, City::CITY_XINZHOU);
  MockMobilityRecords taiyuan(*population_, City::CITY_TAIYUAN);
  const SyntheticPerson& still_working = PaidOnlyIn(City::CITY_XINZHOU, /*ended=*/false);
  ASSERT_EQ(still_working.employment.size(), 1u);
  EXPECT_THAT(
      xinzhou.PreparePensionTransferOut("p0", still_working, City::CITY_TAIYUAN, "L").status().message(),
      HasSubstr("still contributes"));
  const SyntheticPerson& p = PaidOnlyIn(City::CITY_XINZHOU, /*ended=*/true);
  EXPECT_EQ(taiyuan.PreparePensionTransferOut("p1", p, City::CITY_XINZHOU, "L").status().code(),
            absl::StatusCode::kNotFound);

  absl::StatusOr<adapters::PensionApplication> application =
      taiyuan.ApplyPensionTransfer("a1", p, City::CITY_XINZHOU, kToday);
  ASSERT_TRUE(application.ok());
  absl::StatusOr<adapters::ContactLetter> letter =
      taiyuan.IssueContactLetter("l1", p, application->application_number, kToday);
  ASSERT_TRUE(letter.ok());
  absl::StatusOr<adapters::PreparedTransferOut> prepared =
      xinzhou.PreparePensionTransferOut("p2", p, City::CITY_TAIYUAN, letter->letter_number);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_TRUE(transfers::CheckSheet(prepared->sheet).ok());
  const adapters::PensionTransferSheet& sheet = prepared->sheet;
  EXPECT_EQ(xinzhou
                .CompletePensionTransferOut("c0", p, City::CITY_TAIYUAN, letter->letter_number,
                                            sheet.personal_account_fen + 1, sheet.pooled_fund_fen, kToday)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(xinzhou
                  .CompletePensionTransferOut("c1", p, City::CITY_TAIYUAN, letter->letter_number,
                                              sheet.personal_account_fen, sheet.pooled_fund_fen, kToday)
                  .ok());
  EXPECT_TRUE(xinzhou
                  .CompletePensionTransferOut("c1", p, City::CITY_TAIYUAN, letter->letter_number,
                                              sheet.personal_account_fen, sheet.pooled_fund_fen, kToday)
                  ->replayed);
  for (const ContributionMonth& m : xinzhou.Contributions(p)) EXPECT_NE(m.kind_code, "110");

  adapters::PensionTransferSheet tampered = sheet;
  tampered.pooled_fund_fen += 1;
  EXPECT_EQ(taiyuan
                .ConfirmPensionTransferIn("f0", p, application->application_number, City::CITY_XINZHOU,
                                          tampered, kToday)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(taiyuan
                  .ConfirmPensionTransferIn("f1", p, application->application_number, City::CITY_XINZHOU,
                                            sheet, kToday)
                  .ok());
  EXPECT_TRUE(taiyuan
                  .ConfirmPensionTransferIn("f1", p, application->application_number, City::CITY_XINZHOU,
                                            sheet, kToday)
                  ->replayed);
  int merged = 0;
  for (const ContributionMonth& m : taiyuan.Contributions(p)) merged += m.kind_code == "110";
  EXPECT_EQ(merged, static_cast<int>(sheet.months.size()));
  EXPECT_TRUE(taiyuan.HasContributions(p));
}

TEST_F(MobilityRecordsTest, ConfirmTransferInTakesThePersonalAccountBalanceInFull) {
  MockMobilityRecords xinzhou(*population_, City::CITY_XINZHOU);
  MockMobilityRecords taiyuan(*population_, City::CITY_TAIYUAN);
  const SyntheticPerson& p = PaidOnlyIn(City::CITY_XINZHOU, /*ended=*/true);
  absl::StatusOr<adapters::PensionApplication> application =
      taiyuan.ApplyPensionTransfer("a1", p, City::CITY_XINZHOU, kToday);
  ASSERT_TRUE(application.ok()) << application.status();
  absl::StatusOr<adapters::ContactLetter> letter =
      taiyuan.IssueContactLetter("l1", p, application->application_number, kToday);
  ASSERT_TRUE(letter.ok()) << letter.status();
  absl::StatusOr<adapters::PreparedTransferOut> prepared =
      xinzhou.PreparePensionTransferOut("p1", p, City::CITY_TAIYUAN, letter->letter_number);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  ASSERT_FALSE(prepared->sheet.months.empty());

  adapters::PensionTransferSheet negative = prepared->sheet;
  negative.personal_account_fen = -1;
  EXPECT_EQ(taiyuan
                .ConfirmPensionTransferIn("f0", p, application->application_number, City::CITY_XINZHOU,
                                          negative, kToday)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  // The origin's balance (here with interest on top of the personal amounts) is taken in full.
  adapters::PensionTransferSheet with_interest = prepared->sheet;
  with_interest.personal_account_fen += 12345;
  absl::StatusOr<adapters::TransferInConfirmation> confirmed = taiyuan.ConfirmPensionTransferIn(
      "f1", p, application->application_number, City::CITY_XINZHOU, with_interest, kToday);
  ASSERT_TRUE(confirmed.ok()) << confirmed.status();
  EXPECT_FALSE(confirmed->replayed);
  // The sheet with another balance is another request under the same key.
  EXPECT_EQ(taiyuan
                .ConfirmPensionTransferIn("f1", p, application->application_number, City::CITY_XINZHOU,
                                          prepared->sheet, kToday)
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace interop::mock_city
