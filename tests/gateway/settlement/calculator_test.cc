// ComputeSettlement: worked examples checked by hand (the arithmetic is in the comments), on a
// small catalogue and policy built here; then a property test of random visits against the five
// cities' real catalogues and policies (adapters/<city>/medical_*.textproto).
#include "gateway/settlement/calculator.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gateway/base/cities.h"
#include "gateway/base/rich_status.h"
#include "gateway/settlement/medical_rules.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace interop::settlement {
namespace {

using config::v1::HospitalLevel;
using config::v1::MedicalCatalogue;
using config::v1::MedicalPolicy;
using config::v1::VisitType;
using medical::v1::Settlement;
using medical::v1::SplitField;
using medical::v1::Visit;
using ::testing::HasSubstr;

constexpr VisitType kOutpatient = config::v1::VISIT_TYPE_OUTPATIENT;
constexpr VisitType kInpatient = config::v1::VISIT_TYPE_INPATIENT;
constexpr HospitalLevel kPrimary = config::v1::HOSPITAL_LEVEL_PRIMARY;
constexpr HospitalLevel kSecondary = config::v1::HOSPITAL_LEVEL_SECONDARY;
constexpr HospitalLevel kTertiary = config::v1::HOSPITAL_LEVEL_TERTIARY;

// The test catalogue's codes.
constexpr char kAmoxicillin[] = "XJ01CAA040A001010101445";  // class A, no limit
constexpr char kStatin[] = "XC10AAA051A001010102264";       // class B, 10% pre-self-pay
constexpr char kClopidogrel[] = "XB01ACL042A001010104071";  // class B, 7.5% pre-self-pay
constexpr char kVitamins[] = "XA11JAF021A001010100504";     // class C
constexpr char kBedDay[] = "001107000010000";               // class A, limit 4000 fen per day
constexpr char kMri[] = "002302000010000";                  // class B, 15%, limit 50000 fen
constexpr char kConsultation[] = "001101000010000";         // class A, limit 3333 fen
constexpr char kAppendectomy[] = "003310000010000";         // class A, no limit
constexpr char kUnlisted[] = "XN06AXX999A001010109999";     // well-formed, not in the catalogue

template <typename Message>
Message ParseText(const std::string& text) {
  Message message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message)) << text;
  return message;
}

// Taiyuan's catalogue for these tests (not the checked-in one).
MedicalCatalogue TestCatalogue() {
  return ParseText<MedicalCatalogue>(R"pb(
    city: CITY_TAIYUAN
    version: "test-cat"
    items { code: "XJ01CAA040A001010101445" name: "amoxicillin" catalogue_class: CATALOGUE_CLASS_A }
    items {
      code: "XC10AAA051A001010102264"
      name: "statin"
      catalogue_class: CATALOGUE_CLASS_B
      pre_self_pay_permille: 100
    }
    items {
      code: "XB01ACL042A001010104071"
      name: "clopidogrel"
      catalogue_class: CATALOGUE_CLASS_B
      pre_self_pay_permille: 75
    }
    items { code: "XA11JAF021A001010100504" name: "vitamins" catalogue_class: CATALOGUE_CLASS_C }
    items {
      code: "001107000010000"
      name: "bed day"
      catalogue_class: CATALOGUE_CLASS_A
      unit_price_limit_fen: 4000
    }
    items {
      code: "002302000010000"
      name: "MRI"
      catalogue_class: CATALOGUE_CLASS_B
      pre_self_pay_permille: 150
      unit_price_limit_fen: 50000
    }
    items {
      code: "001101000010000"
      name: "consultation"
      catalogue_class: CATALOGUE_CLASS_A
      unit_price_limit_fen: 3333
    }
    items { code: "003310000010000" name: "appendectomy" catalogue_class: CATALOGUE_CLASS_A }
  )pb");
}

// A policy for these tests:
//   310 outpatient tertiary: deductible 20000, 60%     310 inpatient tertiary: 100000, 85%
//   310 inpatient secondary: 60000, 87.5%              390 outpatient tertiary: 10000, 50%
//   390 inpatient tertiary: 100000, 60%                340 inpatient tertiary: 0, 95%
//   caps 310: 45000000, 390: 20000000, 340: 100000000
//   cross-city -5 points; unfiled -15 further points (when REDUCED_RATIO); accounts for 310 and 340.
MedicalPolicy TestPolicy(common::v1::City city, config::v1::UnfiledVisitRule unfiled) {
  MedicalPolicy policy = ParseText<MedicalPolicy>(R"pb(
    version: "test-pol"
    rules {
      insurance_type: 310
      visit_type: VISIT_TYPE_OUTPATIENT
      hospital_level: HOSPITAL_LEVEL_TERTIARY
      deductible_per_year_fen: 20000
      fund_ratio_permille: 600
    }
    rules {
      insurance_type: 310
      visit_type: VISIT_TYPE_INPATIENT
      hospital_level: HOSPITAL_LEVEL_TERTIARY
      deductible_per_year_fen: 100000
      fund_ratio_permille: 850
    }
    rules {
      insurance_type: 310
      visit_type: VISIT_TYPE_INPATIENT
      hospital_level: HOSPITAL_LEVEL_SECONDARY
      deductible_per_year_fen: 60000
      fund_ratio_permille: 875
    }
    rules {
      insurance_type: 390
      visit_type: VISIT_TYPE_OUTPATIENT
      hospital_level: HOSPITAL_LEVEL_TERTIARY
      deductible_per_year_fen: 10000
      fund_ratio_permille: 500
    }
    rules {
      insurance_type: 390
      visit_type: VISIT_TYPE_INPATIENT
      hospital_level: HOSPITAL_LEVEL_TERTIARY
      deductible_per_year_fen: 100000
      fund_ratio_permille: 600
    }
    rules {
      insurance_type: 340
      visit_type: VISIT_TYPE_INPATIENT
      hospital_level: HOSPITAL_LEVEL_TERTIARY
      deductible_per_year_fen: 0
      fund_ratio_permille: 950
    }
    caps { insurance_type: 310 fund_cap_per_year_fen: 45000000 }
    caps { insurance_type: 390 fund_cap_per_year_fen: 20000000 }
    caps { insurance_type: 340 fund_cap_per_year_fen: 100000000 }
    cross_city_ratio_reduction_permille: 50
    unfiled_ratio_reduction_permille: 150
    personal_account_insurance_types: 310
    personal_account_insurance_types: 340
    account_pays_out_of_scope: false
  )pb");
  policy.set_city(city);
  policy.set_unfiled_visit_rule(unfiled);
  return policy;
}

struct Line {
  const char* code;
  int64_t quantity_milli;
  int64_t unit_price_fen;
};

Visit MakeVisit(VisitType type, HospitalLevel level, const std::vector<Line>& lines) {
  Visit visit;
  visit.mutable_hospital()->set_institution_code("H14010500001");
  visit.mutable_hospital()->set_level(level);
  visit.mutable_hospital()->set_name("Shanxi Test Hospital");
  visit.set_visit_type(type);
  visit.mutable_visit_date()->set_year(2026);
  visit.mutable_visit_date()->set_month(3);
  visit.mutable_visit_date()->set_day(15);
  visit.set_diagnosis_code("K35.8");
  for (const Line& line : lines) {
    medical::v1::LineItem* item = visit.add_items();
    item->set_code(line.code);
    item->set_quantity_milli(line.quantity_milli);
    item->mutable_unit_price()->set_fen(line.unit_price_fen);
  }
  return visit;
}

adapters::MedicalAccount Account(medical::v1::InsuranceType type) {
  adapters::MedicalAccount account;
  account.resident_id = "140105198001011236";
  account.insurance_type = type;
  account.status = medical::v1::ENROLLMENT_STATUS_ACTIVE;
  account.year = 2026;
  account.version = 7;
  return account;
}

constexpr medical::v1::InsuranceType kEmployee = medical::v1::INSURANCE_TYPE_EMPLOYEE;
constexpr medical::v1::InsuranceType kResident = medical::v1::INSURANCE_TYPE_URBAN_RURAL_RESIDENT;
constexpr medical::v1::InsuranceType kRetiredCadre = medical::v1::INSURANCE_TYPE_RETIRED_CADRE;

int64_t Fen(const common::v1::Money& money) { return money.fen(); }

bool HasExplanation(const Settlement& s, SplitField field) {
  return std::any_of(
      s.explanations().begin(), s.explanations().end(),
      [field](const medical::v1::Explanation& e) { return e.field() == field && !e.rule().empty(); });
}

// The identities every settlement keeps, line by line and in all, and an explanation for every
// amount that is not zero.
void ExpectIdentities(const Settlement& s) {
  EXPECT_EQ(Fen(s.total()), Fen(s.out_of_catalogue()) + Fen(s.over_price_limit()) +
                                Fen(s.class_b_pre_self_pay()) + Fen(s.in_scope()));
  EXPECT_EQ(Fen(s.total()), Fen(s.fund_pay()) + Fen(s.personal_account_pay()) + Fen(s.cash_pay()));
  EXPECT_LE(Fen(s.deductible_applied()), Fen(s.in_scope()));
  EXPECT_LE(Fen(s.fund_pay()), Fen(s.in_scope()) - Fen(s.deductible_applied()));
  int64_t total = 0, out = 0, over = 0, pre = 0, in = 0;
  for (const medical::v1::SettledLine& line : s.lines()) {
    EXPECT_EQ(Fen(line.total()), Fen(line.out_of_catalogue()) + Fen(line.over_price_limit()) +
                                     Fen(line.pre_self_pay()) + Fen(line.in_scope()))
        << line.code();
    for (int64_t part : {Fen(line.total()), Fen(line.out_of_catalogue()), Fen(line.over_price_limit()),
                         Fen(line.pre_self_pay()), Fen(line.in_scope())}) {
      EXPECT_GE(part, 0) << line.code();
    }
    total += Fen(line.total());
    out += Fen(line.out_of_catalogue());
    over += Fen(line.over_price_limit());
    pre += Fen(line.pre_self_pay());
    in += Fen(line.in_scope());
  }
  EXPECT_EQ(total, Fen(s.total()));
  EXPECT_EQ(out, Fen(s.out_of_catalogue()));
  EXPECT_EQ(over, Fen(s.over_price_limit()));
  EXPECT_EQ(pre, Fen(s.class_b_pre_self_pay()));
  EXPECT_EQ(in, Fen(s.in_scope()));
  const std::map<SplitField, int64_t> amounts = {
      {medical::v1::SPLIT_FIELD_TOTAL, Fen(s.total())},
      {medical::v1::SPLIT_FIELD_OUT_OF_CATALOGUE, Fen(s.out_of_catalogue())},
      {medical::v1::SPLIT_FIELD_OVER_PRICE_LIMIT, Fen(s.over_price_limit())},
      {medical::v1::SPLIT_FIELD_CLASS_B_PRE_SELF_PAY, Fen(s.class_b_pre_self_pay())},
      {medical::v1::SPLIT_FIELD_IN_SCOPE, Fen(s.in_scope())},
      {medical::v1::SPLIT_FIELD_DEDUCTIBLE_APPLIED, Fen(s.deductible_applied())},
      {medical::v1::SPLIT_FIELD_FUND_PAY, Fen(s.fund_pay())},
      {medical::v1::SPLIT_FIELD_PERSONAL_ACCOUNT_PAY, Fen(s.personal_account_pay())},
      {medical::v1::SPLIT_FIELD_CASH_PAY, Fen(s.cash_pay())},
  };
  for (const auto& [field, amount] : amounts) {
    EXPECT_GE(amount, 0) << medical::v1::SplitField_Name(field);
    if (amount != 0) {
      EXPECT_TRUE(HasExplanation(s, field)) << medical::v1::SplitField_Name(field);
    }
  }
  EXPECT_EQ(s.state(), medical::v1::SETTLEMENT_STATE_PRE_SETTLED);
  EXPECT_TRUE(s.settlement_id().empty());
}

// Runs ComputeSettlement for a visit treated in Taiyuan under the test catalogue.
class CalculatorTest : public ::testing::Test {
 protected:
  absl::StatusOr<Settlement> Compute(const Visit& visit, const adapters::MedicalAccount& account,
                                     common::v1::City insured = common::v1::CITY_TAIYUAN,
                                     bool filed = false) {
    VisitFacts facts;
    facts.visit = &visit;
    facts.treatment_city = common::v1::CITY_TAIYUAN;
    facts.insured_city = insured;
    facts.account = account;
    facts.filing_covers_visit = filed;
    policy_.set_city(insured);
    absl::StatusOr<Settlement> settlement = ComputeSettlement(facts, catalogue_, policy_);
    if (settlement.ok()) ExpectIdentities(*settlement);
    return settlement;
  }

  // Computes and expects success.
  Settlement Settle(const Visit& visit, const adapters::MedicalAccount& account,
                    common::v1::City insured = common::v1::CITY_TAIYUAN, bool filed = false) {
    absl::StatusOr<Settlement> settlement = Compute(visit, account, insured, filed);
    EXPECT_TRUE(settlement.ok()) << settlement.status();
    return settlement.ok() ? *settlement : Settlement();
  }

  MedicalCatalogue catalogue_ = TestCatalogue();
  MedicalPolicy policy_ = TestPolicy(common::v1::CITY_TAIYUAN, config::v1::UNFILED_VISIT_RULE_REFUSE);
};

// ----- Step 1: the lines -----------------------------------------------------------------------

TEST_F(CalculatorTest, ClassAIsFullyInScope) {
  // 310 inpatient tertiary, deductible already used up, no account.
  //   amoxicillin 3.000 x 2350 = 7050            class A -> in scope 7050
  //   bed day    10.000 x 3500 = 35000 (limit 4000/day, not reached) -> in scope 35000
  //   total 42050 = in scope 42050; fund = 42050 x 850 / 1000 = 35742.5 -> 35743 (half up)
  //   cash = 42050 - 35743 = 6307
  adapters::MedicalAccount account = Account(kEmployee);
  account.deductible_used_inpatient_fen = 100000;
  Settlement s =
      Settle(MakeVisit(kInpatient, kTertiary, {{kAmoxicillin, 3000, 2350}, {kBedDay, 10000, 3500}}), account);
  ASSERT_EQ(s.lines_size(), 2);
  EXPECT_EQ(s.lines(0).name(), "amoxicillin");
  EXPECT_EQ(s.lines(0).catalogue_class(), config::v1::CATALOGUE_CLASS_A);
  EXPECT_EQ(Fen(s.lines(0).total()), 7050);
  EXPECT_EQ(Fen(s.lines(0).in_scope()), 7050);
  EXPECT_EQ(Fen(s.lines(1).total()), 35000);
  EXPECT_EQ(Fen(s.lines(1).over_price_limit()), 0);
  EXPECT_EQ(Fen(s.total()), 42050);
  EXPECT_EQ(Fen(s.in_scope()), 42050);
  EXPECT_EQ(Fen(s.deductible_applied()), 0);
  EXPECT_EQ(Fen(s.fund_pay()), 35743);
  EXPECT_EQ(Fen(s.personal_account_pay()), 0);
  EXPECT_EQ(Fen(s.cash_pay()), 6307);
  EXPECT_EQ(Fen(s.accumulators_after().fund_paid()), 35743);
  EXPECT_EQ(Fen(s.accumulators_after().deductible_used_inpatient()), 100000);
}

TEST_F(CalculatorTest, ClassBPaysItsPreSelfPayShareFirst) {
  // 310 outpatient tertiary (60%), outpatient deductible used up.
  //   statin      1.000 x 4567 = 4567; pre 4567 x 100 / 1000 = 456.7 -> 457; in scope 4110
  //   clopidogrel 2.000 x 1530 = 3060; pre 3060 x 75 / 1000 = 229.5 -> 230 (half up); in 2830
  //   total 7627, pre 687, in scope 6940; fund = 6940 x 600 / 1000 = 4164; cash 3463
  adapters::MedicalAccount account = Account(kEmployee);
  account.deductible_used_outpatient_fen = 20000;
  Settlement s =
      Settle(MakeVisit(kOutpatient, kTertiary, {{kStatin, 1000, 4567}, {kClopidogrel, 2000, 1530}}), account);
  ASSERT_EQ(s.lines_size(), 2);
  EXPECT_EQ(s.lines(0).catalogue_class(), config::v1::CATALOGUE_CLASS_B);
  EXPECT_EQ(Fen(s.lines(0).pre_self_pay()), 457);
  EXPECT_EQ(Fen(s.lines(0).in_scope()), 4110);
  EXPECT_EQ(Fen(s.lines(1).pre_self_pay()), 230);
  EXPECT_EQ(Fen(s.lines(1).in_scope()), 2830);
  EXPECT_EQ(Fen(s.total()), 7627);
  EXPECT_EQ(Fen(s.class_b_pre_self_pay()), 687);
  EXPECT_EQ(Fen(s.in_scope()), 6940);
  EXPECT_EQ(Fen(s.fund_pay()), 4164);
  EXPECT_EQ(Fen(s.cash_pay()), 3463);
}

TEST_F(CalculatorTest, ClassCAndUnlistedCodesAreOutOfCatalogue) {
  // 310 outpatient tertiary, deductible used up.
  //   vitamins    1.000 x 3800 = 3800  class C    -> out of catalogue 3800
  //   unlisted    1.000 x 1200 = 1200  not listed -> out of catalogue 1200
  //   amoxicillin 1.000 x 2350 = 2350  class A    -> in scope 2350
  //   total 7350, out 5000, in 2350; fund = 2350 x 0.6 = 1410; cash 5940
  adapters::MedicalAccount account = Account(kEmployee);
  account.deductible_used_outpatient_fen = 20000;
  Settlement s =
      Settle(MakeVisit(kOutpatient, kTertiary,
                       {{kVitamins, 1000, 3800}, {kUnlisted, 1000, 1200}, {kAmoxicillin, 1000, 2350}}),
             account);
  ASSERT_EQ(s.lines_size(), 3);
  EXPECT_EQ(s.lines(0).name(), "vitamins");
  EXPECT_EQ(s.lines(0).catalogue_class(), config::v1::CATALOGUE_CLASS_C);
  EXPECT_EQ(Fen(s.lines(0).out_of_catalogue()), 3800);
  EXPECT_EQ(s.lines(1).name(), "");
  EXPECT_EQ(s.lines(1).catalogue_class(), config::v1::CATALOGUE_CLASS_UNSPECIFIED);
  EXPECT_EQ(Fen(s.lines(1).out_of_catalogue()), 1200);
  EXPECT_EQ(Fen(s.out_of_catalogue()), 5000);
  EXPECT_EQ(Fen(s.in_scope()), 2350);
  EXPECT_EQ(Fen(s.fund_pay()), 1410);
  EXPECT_EQ(Fen(s.cash_pay()), 5940);
  bool names_both = false;
  for (const auto& e : s.explanations()) {
    if (e.field() == medical::v1::SPLIT_FIELD_OUT_OF_CATALOGUE) {
      names_both =
          e.rule().find(kVitamins) != std::string::npos && e.rule().find(kUnlisted) != std::string::npos;
    }
  }
  EXPECT_TRUE(names_both);
}

TEST_F(CalculatorTest, PartAboveThePriceLimitIsPaidByThePatient) {
  // 310 inpatient tertiary, deductible used up.
  //   bed day 5.000 x 4600 = 23000; limit 5.000 x 4000 = 20000; over 3000; in scope 20000
  //   MRI     1.000 x 62000 = 62000; limit 50000; over 12000; class B: pre 50000 x 150 / 1000 = 7500;
  //           in scope 42500
  //   total 85000, over 15000, pre 7500, in 62500; fund = 62500 x 0.85 = 53125; cash 31875
  adapters::MedicalAccount account = Account(kEmployee);
  account.deductible_used_inpatient_fen = 100000;
  Settlement s =
      Settle(MakeVisit(kInpatient, kTertiary, {{kBedDay, 5000, 4600}, {kMri, 1000, 62000}}), account);
  ASSERT_EQ(s.lines_size(), 2);
  EXPECT_EQ(Fen(s.lines(0).over_price_limit()), 3000);
  EXPECT_EQ(Fen(s.lines(0).in_scope()), 20000);
  EXPECT_EQ(Fen(s.lines(1).over_price_limit()), 12000);
  EXPECT_EQ(Fen(s.lines(1).pre_self_pay()), 7500);
  EXPECT_EQ(Fen(s.lines(1).in_scope()), 42500);
  EXPECT_EQ(Fen(s.total()), 85000);
  EXPECT_EQ(Fen(s.over_price_limit()), 15000);
  EXPECT_EQ(Fen(s.class_b_pre_self_pay()), 7500);
  EXPECT_EQ(Fen(s.in_scope()), 62500);
  EXPECT_EQ(Fen(s.fund_pay()), 53125);
  EXPECT_EQ(Fen(s.cash_pay()), 31875);
}

// ----- Rounding ----------------------------------------------------------------------------------

TEST_F(CalculatorTest, LineTotalsAndLimitsRoundHalfUpToTheFen) {
  // 310 outpatient tertiary, deductible used up.
  //   amoxicillin  1.500 x 2333 = 3499.5  -> 3500 (half up)
  //   amoxicillin  0.333 x 1001 = 333.333 -> 333
  //   consultation 1.500 x 3400 = 5100; limit 1.500 x 3333 = 4999.5 -> 5000 (half up); over 100
  //   total 8933, over 100, in 8833; fund = 8833 x 0.6 = 5299.8 -> 5300; cash 3633
  adapters::MedicalAccount account = Account(kEmployee);
  account.deductible_used_outpatient_fen = 20000;
  Settlement s =
      Settle(MakeVisit(kOutpatient, kTertiary,
                       {{kAmoxicillin, 1500, 2333}, {kAmoxicillin, 333, 1001}, {kConsultation, 1500, 3400}}),
             account);
  ASSERT_EQ(s.lines_size(), 3);
  EXPECT_EQ(Fen(s.lines(0).total()), 3500);
  EXPECT_EQ(Fen(s.lines(1).total()), 333);
  EXPECT_EQ(Fen(s.lines(2).total()), 5100);
  EXPECT_EQ(Fen(s.lines(2).over_price_limit()), 100);
  EXPECT_EQ(Fen(s.lines(2).in_scope()), 5000);
  EXPECT_EQ(Fen(s.total()), 8933);
  EXPECT_EQ(Fen(s.in_scope()), 8833);
  EXPECT_EQ(Fen(s.fund_pay()), 5300);
  EXPECT_EQ(Fen(s.cash_pay()), 3633);
}

TEST_F(CalculatorTest, HalfAFenRoundsUpAndLessRoundsDown) {
  // 310 outpatient tertiary, deductible used up.
  //   amoxicillin 0.001 x 500 = 0.5   -> 1
  //   amoxicillin 0.001 x 499 = 0.499 -> 0 (a line of 0 fen)
  //   total 1, in scope 1; fund = 1 x 600 / 1000 = 0.6 -> 1; cash 0
  adapters::MedicalAccount account = Account(kEmployee);
  account.deductible_used_outpatient_fen = 20000;
  Settlement s =
      Settle(MakeVisit(kOutpatient, kTertiary, {{kAmoxicillin, 1, 500}, {kAmoxicillin, 1, 499}}), account);
  ASSERT_EQ(s.lines_size(), 2);
  EXPECT_EQ(Fen(s.lines(0).total()), 1);
  EXPECT_EQ(Fen(s.lines(1).total()), 0);
  EXPECT_EQ(Fen(s.fund_pay()), 1);
  EXPECT_EQ(Fen(s.cash_pay()), 0);
}

TEST_F(CalculatorTest, ClassBPreSelfPayIsRoundedPerLine) {
  // 310 outpatient tertiary, deductible used up. Two statin lines 1.000 x 4565 = 4565 each:
  //   pre per line 4565 x 100 / 1000 = 456.5 -> 457, twice = 914 (not 9130 x 10% = 913)
  //   in scope 4108 x 2 = 8216; fund = 8216 x 0.6 = 4929.6 -> 4930; cash 9130 - 4930 = 4200
  adapters::MedicalAccount account = Account(kEmployee);
  account.deductible_used_outpatient_fen = 20000;
  Settlement s =
      Settle(MakeVisit(kOutpatient, kTertiary, {{kStatin, 1000, 4565}, {kStatin, 1000, 4565}}), account);
  EXPECT_EQ(Fen(s.class_b_pre_self_pay()), 914);
  EXPECT_EQ(Fen(s.in_scope()), 8216);
  EXPECT_EQ(Fen(s.fund_pay()), 4930);
  EXPECT_EQ(Fen(s.cash_pay()), 4200);
}

TEST_F(CalculatorTest, FundShareIsRoundedOnceForTheWholeVisit) {
  // 310 inpatient secondary (87.5%), deductible 60000 used up. Two lines 1.000 x 4110 = 4110:
  //   per line 4110 x 0.875 = 3596.25 -> 3596, twice 7192 -- but the rule rounds once:
  //   8220 x 875 / 1000 = 7192.5 -> 7193; cash 8220 - 7193 = 1027
  adapters::MedicalAccount account = Account(kEmployee);
  account.deductible_used_inpatient_fen = 60000;
  Settlement s = Settle(
      MakeVisit(kInpatient, kSecondary, {{kAmoxicillin, 1000, 4110}, {kAmoxicillin, 1000, 4110}}), account);
  EXPECT_EQ(Fen(s.in_scope()), 8220);
  EXPECT_EQ(Fen(s.fund_pay()), 7193);
  EXPECT_EQ(Fen(s.cash_pay()), 1027);
}

// ----- Step 4: the deductible ---------------------------------------------------------------------

// 310 inpatient tertiary (deductible 100000, 85%): bed day 20.000 x 3500 = 70000 and appendectomy
// 1.000 x 80000 = 80000, all class A within limits: in scope 150000.
Visit InpatientBill150000() {
  return MakeVisit(kInpatient, kTertiary, {{kBedDay, 20000, 3500}, {kAppendectomy, 1000, 80000}});
}

TEST_F(CalculatorTest, DeductibleNotYetUsed) {
  //   deductible applied = min(150000, 100000 - 0) = 100000
  //   fund = (150000 - 100000) x 0.85 = 42500; cash 107500
  adapters::MedicalAccount account = Account(kEmployee);
  account.deductible_used_outpatient_fen = 12345;  // the other visit type's, untouched
  Settlement s = Settle(InpatientBill150000(), account);
  EXPECT_EQ(Fen(s.in_scope()), 150000);
  EXPECT_EQ(Fen(s.deductible_applied()), 100000);
  EXPECT_EQ(Fen(s.fund_pay()), 42500);
  EXPECT_EQ(Fen(s.cash_pay()), 107500);
  EXPECT_EQ(Fen(s.accumulators_after().deductible_used_inpatient()), 100000);
  EXPECT_EQ(Fen(s.accumulators_after().deductible_used_outpatient()), 12345);
  EXPECT_EQ(Fen(s.accumulators_after().fund_paid()), 42500);
  EXPECT_EQ(s.accumulators_after().year(), 2026);
  EXPECT_TRUE(HasExplanation(s, medical::v1::SPLIT_FIELD_DEDUCTIBLE_APPLIED));
}

TEST_F(CalculatorTest, DeductiblePartlyUsed) {
  //   70000 used: applied = min(150000, 100000 - 70000) = 30000
  //   fund = (150000 - 30000) x 0.85 = 102000; cash 48000; used after 100000
  adapters::MedicalAccount account = Account(kEmployee);
  account.deductible_used_inpatient_fen = 70000;
  Settlement s = Settle(InpatientBill150000(), account);
  EXPECT_EQ(Fen(s.deductible_applied()), 30000);
  EXPECT_EQ(Fen(s.fund_pay()), 102000);
  EXPECT_EQ(Fen(s.cash_pay()), 48000);
  EXPECT_EQ(Fen(s.accumulators_after().deductible_used_inpatient()), 100000);
}

TEST_F(CalculatorTest, DeductibleAlreadyUsedUp) {
  //   100000 used: applied 0; fund = 150000 x 0.85 = 127500; cash 22500
  adapters::MedicalAccount account = Account(kEmployee);
  account.deductible_used_inpatient_fen = 100000;
  Settlement s = Settle(InpatientBill150000(), account);
  EXPECT_EQ(Fen(s.deductible_applied()), 0);
  EXPECT_EQ(Fen(s.fund_pay()), 127500);
  EXPECT_EQ(Fen(s.cash_pay()), 22500);
  // More used than the deductible (a lower deductible this year): nothing left, not negative.
  account.deductible_used_inpatient_fen = 120000;
  Settlement t = Settle(InpatientBill150000(), account);
  EXPECT_EQ(Fen(t.deductible_applied()), 0);
  EXPECT_EQ(Fen(t.fund_pay()), 127500);
  EXPECT_EQ(Fen(t.accumulators_after().deductible_used_inpatient()), 120000);
}

TEST_F(CalculatorTest, BillSmallerThanTheDeductibleLeftIsAllDeductible) {
  //   bed day 20.000 x 3500 = 70000 in scope, nothing used: applied = min(70000, 100000) = 70000
  //   fund = 0 x 0.85 = 0; cash 70000; used after 70000
  Settlement s = Settle(MakeVisit(kInpatient, kTertiary, {{kBedDay, 20000, 3500}}), Account(kEmployee));
  EXPECT_EQ(Fen(s.deductible_applied()), 70000);
  EXPECT_EQ(Fen(s.fund_pay()), 0);
  EXPECT_EQ(Fen(s.cash_pay()), 70000);
  EXPECT_EQ(Fen(s.accumulators_after().deductible_used_inpatient()), 70000);
}

// ----- Step 5: the annual cap ---------------------------------------------------------------------

TEST_F(CalculatorTest, AnnualCapReachedDuringTheVisit) {
  //   share = 150000 x 0.85 = 127500; cap 45000000 - 44990000 paid = 10000 left -> fund 10000
  //   cash 140000; fund paid after 45000000
  adapters::MedicalAccount account = Account(kEmployee);
  account.deductible_used_inpatient_fen = 100000;
  account.fund_paid_fen = 44990000;
  Settlement s = Settle(InpatientBill150000(), account);
  EXPECT_EQ(Fen(s.fund_pay()), 10000);
  EXPECT_EQ(Fen(s.cash_pay()), 140000);
  EXPECT_EQ(Fen(s.accumulators_after().fund_paid()), 45000000);
  for (const auto& e : s.explanations()) {
    if (e.field() == medical::v1::SPLIT_FIELD_FUND_PAY) {
      EXPECT_THAT(e.rule(), HasSubstr("limited to 10000 fen by the annual cap"));
    }
  }
}

TEST_F(CalculatorTest, AnnualCapAlreadyReached) {
  //   cap 45000000, 45000000 paid: 0 left -> fund 0; cash 150000
  adapters::MedicalAccount account = Account(kEmployee);
  account.deductible_used_inpatient_fen = 100000;
  account.fund_paid_fen = 45000000;
  Settlement s = Settle(InpatientBill150000(), account);
  EXPECT_EQ(Fen(s.fund_pay()), 0);
  EXPECT_EQ(Fen(s.cash_pay()), 150000);
  EXPECT_EQ(Fen(s.accumulators_after().fund_paid()), 45000000);
  // Paid beyond the cap (a lower cap this year): still 0, not negative.
  account.fund_paid_fen = 45100000;
  Settlement t = Settle(InpatientBill150000(), account);
  EXPECT_EQ(Fen(t.fund_pay()), 0);
  EXPECT_EQ(Fen(t.cash_pay()), 150000);
}

// ----- Step 6: the personal account --------------------------------------------------------------

// 310 outpatient tertiary, deductible used up:
//   amoxicillin 1.000 x 2350 = 2350 (A, in scope); vitamins 1.000 x 3800 = 3800 (C, out);
//   statin 1.000 x 4567 = 4567 (B: pre 457, in scope 4110)
//   total 10717, out of scope 3800 + 457 = 4257, in scope 6460
//   fund = 6460 x 0.6 = 3876; the patient's in-scope share = 6460 - 3876 = 2584
Visit OutpatientBillWithOutOfScopeParts(bool use_account) {
  Visit visit = MakeVisit(kOutpatient, kTertiary,
                          {{kAmoxicillin, 1000, 2350}, {kVitamins, 1000, 3800}, {kStatin, 1000, 4567}});
  visit.set_use_personal_account(use_account);
  return visit;
}

adapters::MedicalAccount EmployeeWithBalance(int64_t balance) {
  adapters::MedicalAccount account = Account(kEmployee);
  account.deductible_used_outpatient_fen = 20000;
  account.balance_fen = balance;
  return account;
}

TEST_F(CalculatorTest, AccountPaysOnlyTheInScopeShareWhenOutOfScopeIsNotAllowed) {
  //   account = min(500000, 2584) = 2584; cash = 10717 - 3876 - 2584 = 4257; balance 497416
  policy_.set_account_pays_out_of_scope(false);
  Settlement s = Settle(OutpatientBillWithOutOfScopeParts(true), EmployeeWithBalance(500000));
  EXPECT_EQ(Fen(s.total()), 10717);
  EXPECT_EQ(Fen(s.fund_pay()), 3876);
  EXPECT_EQ(Fen(s.personal_account_pay()), 2584);
  EXPECT_EQ(Fen(s.cash_pay()), 4257);
  EXPECT_EQ(Fen(s.balance_after()), 497416);
}

TEST_F(CalculatorTest, AccountAlsoPaysOutOfScopePartsWhenAllowed) {
  //   account = min(500000, 2584 + 3800 + 457) = 6841; cash 0; balance 493159
  policy_.set_account_pays_out_of_scope(true);
  Settlement s = Settle(OutpatientBillWithOutOfScopeParts(true), EmployeeWithBalance(500000));
  EXPECT_EQ(Fen(s.personal_account_pay()), 6841);
  EXPECT_EQ(Fen(s.cash_pay()), 0);
  EXPECT_EQ(Fen(s.balance_after()), 493159);
}

TEST_F(CalculatorTest, AccountPaysNoMoreThanItsBalance) {
  //   balance 1000 < share 2584: account 1000; cash = 10717 - 3876 - 1000 = 5841; balance 0
  for (bool out_of_scope : {false, true}) {
    SCOPED_TRACE(out_of_scope);
    policy_.set_account_pays_out_of_scope(out_of_scope);
    Settlement s = Settle(OutpatientBillWithOutOfScopeParts(true), EmployeeWithBalance(1000));
    EXPECT_EQ(Fen(s.personal_account_pay()), 1000);
    EXPECT_EQ(Fen(s.cash_pay()), 5841);
    EXPECT_EQ(Fen(s.balance_after()), 0);
  }
}

TEST_F(CalculatorTest, AccountUnusedWhenThePatientDoesNotAsk) {
  //   account 0; cash = 10717 - 3876 = 6841; balance unchanged
  policy_.set_account_pays_out_of_scope(true);
  Settlement s = Settle(OutpatientBillWithOutOfScopeParts(false), EmployeeWithBalance(500000));
  EXPECT_EQ(Fen(s.personal_account_pay()), 0);
  EXPECT_EQ(Fen(s.cash_pay()), 6841);
  EXPECT_EQ(Fen(s.balance_after()), 500000);
  EXPECT_TRUE(HasExplanation(s, medical::v1::SPLIT_FIELD_PERSONAL_ACCOUNT_PAY));
}

TEST_F(CalculatorTest, InsuranceTypeWithoutAnAccountPaysNothingFromIt) {
  // 390 outpatient tertiary (deductible 10000 used up, 50%); 390 has no account in this policy:
  //   fund = 6460 x 0.5 = 3230; account 0 although asked and a balance is reported; cash 7487
  adapters::MedicalAccount account = Account(kResident);
  account.deductible_used_outpatient_fen = 10000;
  account.balance_fen = 500000;
  Settlement s = Settle(OutpatientBillWithOutOfScopeParts(true), account);
  EXPECT_EQ(s.insurance_type(), kResident);
  EXPECT_EQ(Fen(s.fund_pay()), 3230);
  EXPECT_EQ(Fen(s.personal_account_pay()), 0);
  EXPECT_EQ(Fen(s.cash_pay()), 7487);
  EXPECT_EQ(Fen(s.balance_after()), 500000);
}

TEST_F(CalculatorTest, RetiredCadreHasAnAccountAndNoDeductible) {
  // 340 inpatient tertiary (no deductible, 95%), account asked, balance 5000:
  //   fund = 150000 x 0.95 = 142500; share 7500; account = min(5000, 7500) = 5000; cash 2500
  adapters::MedicalAccount account = Account(kRetiredCadre);
  account.balance_fen = 5000;
  Visit visit = InpatientBill150000();
  visit.set_use_personal_account(true);
  Settlement s = Settle(visit, account);
  EXPECT_EQ(Fen(s.deductible_applied()), 0);
  EXPECT_EQ(Fen(s.fund_pay()), 142500);
  EXPECT_EQ(Fen(s.personal_account_pay()), 5000);
  EXPECT_EQ(Fen(s.cash_pay()), 2500);
  EXPECT_EQ(Fen(s.balance_after()), 0);
}

// ----- Step 3: cross-city treatment ----------------------------------------------------------------

TEST_F(CalculatorTest, FiledCrossCityVisitHasTheCrossCityReduction) {
  // Treated in Taiyuan, insured in Yangquan, filed: ratio 850 - 50 = 800
  //   fund = 150000 x 0.8 = 120000; cash 30000
  adapters::MedicalAccount account = Account(kEmployee);
  account.deductible_used_inpatient_fen = 100000;
  Settlement s = Settle(InpatientBill150000(), account, common::v1::CITY_YANGQUAN, /*filed=*/true);
  EXPECT_TRUE(s.filed());
  EXPECT_EQ(s.insured_city().city(), common::v1::CITY_YANGQUAN);
  EXPECT_EQ(s.insured_city().division_code(), "140300");
  EXPECT_EQ(s.treatment_city().city(), common::v1::CITY_TAIYUAN);
  EXPECT_EQ(Fen(s.fund_pay()), 120000);
  EXPECT_EQ(Fen(s.cash_pay()), 30000);
}

TEST_F(CalculatorTest, UnfiledCrossCityVisitIsRefusedWhereThePolicySaysSo) {
  adapters::MedicalAccount account = Account(kEmployee);
  absl::StatusOr<Settlement> s =
      Compute(InpatientBill150000(), account, common::v1::CITY_YANGQUAN, /*filed=*/false);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorReason(s.status()), "TREATMENT_NOT_FILED");
  EXPECT_THAT(s.status().message(), HasSubstr("taiyuan"));
}

TEST_F(CalculatorTest, UnfiledCrossCityVisitPaidAtAReducedRatioWhereThePolicySaysSo) {
  // ratio 850 - 50 (cross-city) - 150 (not filed) = 650: fund = 150000 x 0.65 = 97500; cash 52500
  policy_.set_unfiled_visit_rule(config::v1::UNFILED_VISIT_RULE_REDUCED_RATIO);
  adapters::MedicalAccount account = Account(kEmployee);
  account.deductible_used_inpatient_fen = 100000;
  Settlement s = Settle(InpatientBill150000(), account, common::v1::CITY_YANGQUAN, /*filed=*/false);
  EXPECT_FALSE(s.filed());
  EXPECT_EQ(Fen(s.fund_pay()), 97500);
  EXPECT_EQ(Fen(s.cash_pay()), 52500);
}

TEST_F(CalculatorTest, EmergencyCountsAsFiled) {
  // Not filed, policy REFUSE, but an emergency: ratio 850 - 50 = 800; fund 120000
  adapters::MedicalAccount account = Account(kEmployee);
  account.deductible_used_inpatient_fen = 100000;
  Visit visit = InpatientBill150000();
  visit.set_emergency(true);
  Settlement s = Settle(visit, account, common::v1::CITY_YANGQUAN, /*filed=*/false);
  EXPECT_TRUE(s.filed());
  EXPECT_EQ(Fen(s.fund_pay()), 120000);
}

TEST_F(CalculatorTest, SameCityVisitNeedsNoFilingAndHasNoReduction) {
  // Insured and treated in Taiyuan, no filing, policy REFUSE: ratio 850; fund 127500
  adapters::MedicalAccount account = Account(kEmployee);
  account.deductible_used_inpatient_fen = 100000;
  Settlement s = Settle(InpatientBill150000(), account, common::v1::CITY_TAIYUAN, /*filed=*/false);
  EXPECT_FALSE(s.filed());
  EXPECT_EQ(Fen(s.fund_pay()), 127500);
}

TEST_F(CalculatorTest, RatioNeverGoesBelowZero) {
  // 850 - 900 - 100 < 0 -> 0: fund 0; cash 150000
  policy_.set_unfiled_visit_rule(config::v1::UNFILED_VISIT_RULE_REDUCED_RATIO);
  policy_.set_cross_city_ratio_reduction_permille(900);
  policy_.set_unfiled_ratio_reduction_permille(100);
  adapters::MedicalAccount account = Account(kEmployee);
  account.deductible_used_inpatient_fen = 100000;
  Settlement s = Settle(InpatientBill150000(), account, common::v1::CITY_XINZHOU, /*filed=*/false);
  EXPECT_EQ(Fen(s.fund_pay()), 0);
  EXPECT_EQ(Fen(s.cash_pay()), 150000);
}

// ----- Step 2: rule and enrolment -------------------------------------------------------------------

TEST_F(CalculatorTest, NoBenefitRuleForTheCombination) {
  // The test policy has no 390 outpatient rule at a primary hospital.
  absl::StatusOr<Settlement> s =
      Compute(MakeVisit(kOutpatient, kPrimary, {{kAmoxicillin, 1000, 2350}}), Account(kResident));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorReason(s.status()), "NO_BENEFIT_RULE");
  EXPECT_THAT(s.status().message(), HasSubstr("390"));
}

TEST_F(CalculatorTest, EnrolmentNotActiveIsRefused) {
  for (medical::v1::EnrollmentStatus status :
       {medical::v1::ENROLLMENT_STATUS_SUSPENDED, medical::v1::ENROLLMENT_STATUS_TERMINATED}) {
    adapters::MedicalAccount account = Account(kEmployee);
    account.status = status;
    absl::StatusOr<Settlement> s = Compute(InpatientBill150000(), account);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(ErrorReason(s.status()), "ENROLLMENT_NOT_ACTIVE");
  }
}

// ----- The rest of the answer, and incomplete facts ------------------------------------------------

TEST_F(CalculatorTest, AnswerCarriesTheVisitAndTheVersions) {
  Visit visit = InpatientBill150000();
  Settlement s = Settle(visit, Account(kEmployee), common::v1::CITY_YANGQUAN, /*filed=*/true);
  EXPECT_EQ(s.resident_id(), "140105198001011236");
  EXPECT_EQ(s.insurance_type(), kEmployee);
  EXPECT_EQ(s.hospital().institution_code(), "H14010500001");
  EXPECT_EQ(s.hospital().level(), kTertiary);
  EXPECT_EQ(s.visit_type(), kInpatient);
  EXPECT_EQ(s.visit_date().year(), 2026);
  EXPECT_EQ(s.visit_date().day(), 15);
  EXPECT_EQ(s.catalogue_version(), "test-cat");
  EXPECT_EQ(s.policy_version(), "test-pol");
  EXPECT_EQ(s.settled_at_unix(), 0);
  EXPECT_EQ(s.treatment_city().division_code(), "140100");
  // Deterministic.
  Settlement again = Settle(visit, Account(kEmployee), common::v1::CITY_YANGQUAN, /*filed=*/true);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(s, again));
}

TEST_F(CalculatorTest, IncompleteFactsAreInvalidArgument) {
  Visit visit = InpatientBill150000();
  VisitFacts facts;
  facts.treatment_city = common::v1::CITY_TAIYUAN;
  facts.insured_city = common::v1::CITY_TAIYUAN;
  facts.account = Account(kEmployee);
  EXPECT_EQ(ComputeSettlement(facts, catalogue_, policy_).status().code(),
            absl::StatusCode::kInvalidArgument);

  facts.visit = &visit;
  ASSERT_TRUE(ComputeSettlement(facts, catalogue_, policy_).ok());

  VisitFacts no_city = facts;
  no_city.insured_city = common::v1::CITY_UNSPECIFIED;
  EXPECT_EQ(ComputeSettlement(no_city, catalogue_, policy_).status().code(),
            absl::StatusCode::kInvalidArgument);

  // The catalogue of another city than the treatment city.
  VisitFacts elsewhere = facts;
  elsewhere.treatment_city = common::v1::CITY_JINZHONG;
  EXPECT_EQ(ComputeSettlement(elsewhere, catalogue_, policy_).status().code(),
            absl::StatusCode::kInvalidArgument);

  VisitFacts wrong_year = facts;
  wrong_year.account.year = 2025;
  EXPECT_EQ(ComputeSettlement(wrong_year, catalogue_, policy_).status().code(),
            absl::StatusCode::kInvalidArgument);

  VisitFacts no_type = facts;
  no_type.account.insurance_type = medical::v1::INSURANCE_TYPE_UNSPECIFIED;
  EXPECT_EQ(ComputeSettlement(no_type, catalogue_, policy_).status().code(),
            absl::StatusCode::kInvalidArgument);

  Visit zero_quantity = visit;
  zero_quantity.mutable_items(1)->set_quantity_milli(0);
  VisitFacts bad_line = facts;
  bad_line.visit = &zero_quantity;
  absl::Status status = ComputeSettlement(bad_line, catalogue_, policy_).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BadRequestField(status), "visit.items[1].quantity_milli");

  Visit huge = MakeVisit(kInpatient, kTertiary, {{kAmoxicillin, INT64_MAX, INT64_MAX}});
  VisitFacts huge_line = facts;
  huge_line.visit = &huge;
  status = ComputeSettlement(huge_line, catalogue_, policy_).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BadRequestField(status), "visit.items[0]");
}

// ----- Property test on the five cities' real catalogues and policies -------------------------------

std::shared_ptr<const MedicalRules> LoadRealRules() {
  config::v1::GatewayConfig config;
  for (common::v1::City city : kAllCities) {
    config::v1::CityBackendConfig* c = config.add_cities();
    c->set_city(city);
    c->set_medical_catalogue_file(absl::StrCat("adapters/", CityName(city), "/medical_catalogue.textproto"));
    c->set_medical_policy_file(absl::StrCat("adapters/", CityName(city), "/medical_policy.textproto"));
  }
  absl::StatusOr<std::shared_ptr<const MedicalRules>> rules = MedicalRules::Load(config, INTEROP_SOURCE_DIR);
  EXPECT_TRUE(rules.ok()) << rules.status();
  return rules.ok() ? *rules : nullptr;
}

int64_t CapOf(const MedicalPolicy& policy, uint32_t type) {
  for (const auto& cap : policy.caps()) {
    if (cap.insurance_type() == type) return cap.fund_cap_per_year_fen();
  }
  return -1;
}

int64_t DeductibleOf(const MedicalPolicy& policy, uint32_t type, VisitType visit_type, HospitalLevel level) {
  for (const auto& rule : policy.rules()) {
    if (rule.insurance_type() == type && rule.visit_type() == visit_type && rule.hospital_level() == level) {
      return rule.deductible_per_year_fen();
    }
  }
  return -1;
}

TEST(CalculatorPropertyTest, RandomVisitsOnTheCitiesRealRulesKeepTheIdentities) {
  std::shared_ptr<const MedicalRules> rules = LoadRealRules();
  ASSERT_NE(rules, nullptr);
  // Every code of every catalogue, plus two listed nowhere: a visit in one city often bills an
  // item listed only elsewhere.
  std::vector<std::string> codes = {"XN06AXX999A001010109999", "009999000010000"};
  for (common::v1::City city : kAllCities) {
    for (const auto& item : rules->catalogue(city)->items()) codes.push_back(item.code());
  }
  std::mt19937_64 random(20260315);
  auto uniform = [&random](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(random);
  };
  const medical::v1::InsuranceType types[] = {kEmployee, kResident, kRetiredCadre};
  std::map<std::string, int> outcomes;
  constexpr int kVisitsPerPair = 120;  // x 25 pairs = 3000 visits
  for (common::v1::City treatment : kAllCities) {
    for (common::v1::City insured : kAllCities) {
      const MedicalCatalogue& catalogue = *rules->catalogue(treatment);
      const MedicalPolicy& policy = *rules->policy(insured);
      for (int n = 0; n < kVisitsPerPair; ++n) {
        std::vector<Line> lines;
        const int line_count = static_cast<int>(uniform(1, 12));
        for (int i = 0; i < line_count; ++i) {
          const std::string& code = codes[uniform(0, static_cast<int64_t>(codes.size()) - 1)];
          const int64_t quantity_milli = uniform(1, 20000);
          const int64_t highest_price = uniform(0, 3) == 0 ? 2000000 : 50000;
          lines.push_back({code.c_str(), quantity_milli, uniform(1, highest_price)});
        }
        const VisitType visit_type = uniform(0, 1) == 1 ? kInpatient : kOutpatient;
        const HospitalLevel level = static_cast<HospitalLevel>(uniform(1, 3));
        Visit visit = MakeVisit(visit_type, level, lines);
        visit.set_emergency(uniform(0, 9) == 0);
        visit.set_use_personal_account(uniform(0, 1) == 1);
        adapters::MedicalAccount account = Account(types[uniform(0, 2)]);
        if (uniform(0, 19) == 0) account.status = medical::v1::ENROLLMENT_STATUS_SUSPENDED;
        account.balance_fen = uniform(0, 3) == 0 ? 0 : uniform(0, 300000);
        account.deductible_used_outpatient_fen = uniform(0, 40000);
        account.deductible_used_inpatient_fen = uniform(0, 150000);
        const uint32_t type = static_cast<uint32_t>(account.insurance_type);
        const int64_t cap = CapOf(policy, type);
        switch (uniform(0, 3)) {
          case 0:
            account.fund_paid_fen = 0;
            break;
          case 1:
            account.fund_paid_fen = std::max<int64_t>(0, cap - uniform(0, 300000));
            break;
          case 2:
            account.fund_paid_fen = cap + uniform(0, 1000);
            break;
          default:
            account.fund_paid_fen = uniform(0, cap);
        }
        VisitFacts facts;
        facts.visit = &visit;
        facts.treatment_city = treatment;
        facts.insured_city = insured;
        facts.account = account;
        facts.filing_covers_visit = uniform(0, 1) == 1;
        SCOPED_TRACE(
            absl::StrCat(CityName(treatment), " treating ", CityName(insured), "'s insured, visit ", n));

        absl::StatusOr<Settlement> result = ComputeSettlement(facts, catalogue, policy);
        const bool cross = treatment != insured;
        const bool filed = facts.filing_covers_visit || visit.emergency();
        if (account.status != medical::v1::ENROLLMENT_STATUS_ACTIVE) {
          ASSERT_FALSE(result.ok());
          EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
          EXPECT_EQ(ErrorReason(result.status()), "ENROLLMENT_NOT_ACTIVE");
          ++outcomes["not active"];
          continue;
        }
        if (cross && !filed && policy.unfiled_visit_rule() == config::v1::UNFILED_VISIT_RULE_REFUSE) {
          ASSERT_FALSE(result.ok());
          EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
          EXPECT_EQ(ErrorReason(result.status()), "TREATMENT_NOT_FILED");
          ++outcomes["not filed"];
          continue;
        }
        ASSERT_TRUE(result.ok()) << result.status();
        const Settlement& s = *result;
        ExpectIdentities(s);
        EXPECT_EQ(s.filed(), filed);
        const int64_t cap_left = std::max<int64_t>(0, cap - account.fund_paid_fen);
        EXPECT_LE(Fen(s.fund_pay()), cap_left);
        EXPECT_LE(Fen(s.personal_account_pay()), account.balance_fen);
        if (!visit.use_personal_account() || type == 390) {
          EXPECT_EQ(Fen(s.personal_account_pay()), 0);
        }
        const int64_t used = visit.visit_type() == kInpatient ? account.deductible_used_inpatient_fen
                                                              : account.deductible_used_outpatient_fen;
        EXPECT_LE(Fen(s.deductible_applied()),
                  std::max<int64_t>(
                      0, DeductibleOf(policy, type, visit.visit_type(), visit.hospital().level()) - used));
        EXPECT_EQ(Fen(s.balance_after()), account.balance_fen - Fen(s.personal_account_pay()));
        EXPECT_EQ(Fen(s.accumulators_after().fund_paid()), account.fund_paid_fen + Fen(s.fund_pay()));
        EXPECT_EQ(Fen(s.accumulators_after().deductible_used_inpatient()) +
                      Fen(s.accumulators_after().deductible_used_outpatient()),
                  account.deductible_used_inpatient_fen + account.deductible_used_outpatient_fen +
                      Fen(s.deductible_applied()));
        EXPECT_EQ(s.catalogue_version(), catalogue.version());
        EXPECT_EQ(s.policy_version(), policy.version());
        absl::StatusOr<Settlement> again = ComputeSettlement(facts, catalogue, policy);
        ASSERT_TRUE(again.ok());
        EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(s, *again));

        ++outcomes["settled"];
        if (Fen(s.fund_pay()) == cap_left && cap_left > 0) ++outcomes["cap reached during visit"];
        if (cap_left == 0) ++outcomes["cap reached before"];
        if (Fen(s.personal_account_pay()) > 0) ++outcomes["account paid"];
        if (Fen(s.personal_account_pay()) == account.balance_fen && account.balance_fen > 0)
          ++outcomes["balance emptied"];
        if (Fen(s.over_price_limit()) > 0) ++outcomes["over price limit"];
        if (Fen(s.out_of_catalogue()) > 0) ++outcomes["out of catalogue"];
        if (Fen(s.class_b_pre_self_pay()) > 0) ++outcomes["class B"];
        if (cross && !filed) ++outcomes["unfiled, reduced ratio"];
      }
    }
  }
  // The random visits reached every branch worth checking.
  for (const char* outcome : {"not active", "not filed", "settled", "cap reached during visit",
                              "cap reached before", "account paid", "balance emptied", "over price limit",
                              "out of catalogue", "class B", "unfiled, reduced ratio"}) {
    EXPECT_GT(outcomes[outcome], 0) << outcome;
  }
}

}  // namespace
}  // namespace interop::settlement
