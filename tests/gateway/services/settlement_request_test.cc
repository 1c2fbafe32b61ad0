#include "gateway/services/settlement_request.h"

#include <functional>

#include "gateway/base/dates.h"
#include "gateway/base/rich_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::services {
namespace {

using ::interop::common::v1::City;
using ::testing::HasSubstr;

const absl::CivilDay kToday(2026, 11, 27);

medical::v1::Visit GoodVisit() {
  medical::v1::Visit visit;
  visit.mutable_hospital()->set_institution_code("H14010500001");  // Xiaodian district, Taiyuan
  visit.mutable_hospital()->set_level(config::v1::HOSPITAL_LEVEL_TERTIARY);
  visit.set_visit_type(config::v1::VISIT_TYPE_OUTPATIENT);
  visit.mutable_visit_date()->set_year(2026);
  visit.mutable_visit_date()->set_month(11);
  visit.mutable_visit_date()->set_day(27);
  visit.set_diagnosis_code("J18.9");
  medical::v1::LineItem* item = visit.add_items();
  item->set_code("XJ01CAA040A001010101445");
  item->set_quantity_milli(1500);
  item->mutable_unit_price()->set_fen(2350);
  item = visit.add_items();
  item->set_code("003100000010000");
  item->set_quantity_milli(1000);
  item->mutable_unit_price()->set_fen(2500);
  return visit;
}

// The BadRequest field of a failed check.
std::string FieldOf(const absl::Status& status) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  return BadRequestField(status);
}

TEST(ValidateVisitTest, AcceptsAWellFormedVisit) {
  EXPECT_TRUE(ValidateVisit(GoodVisit(), "visit", City::CITY_TAIYUAN, kToday).ok());
  medical::v1::Visit visit = GoodVisit();
  visit.set_diagnosis_code("K35");
  EXPECT_TRUE(ValidateVisit(visit, "visit", City::CITY_TAIYUAN, kToday).ok());
}

TEST(ValidateVisitTest, EachBadFieldIsNamed) {
  struct Case {
    std::function<void(medical::v1::Visit*)> spoil;
    std::string field;
  };
  const Case cases[] = {
      {[](auto* v) { v->mutable_hospital()->clear_institution_code(); }, "visit.hospital.institution_code"},
      {[](auto* v) { v->mutable_hospital()->set_institution_code("X14010500001"); }, "visit.hospital.institution_code"},
      {[](auto* v) { v->mutable_hospital()->set_institution_code("H1401050000"); }, "visit.hospital.institution_code"},
      // 149901 is no division code.
      {[](auto* v) { v->mutable_hospital()->set_institution_code("H14990100001"); }, "visit.hospital.institution_code"},
      // A Jinzhong county: not the caller's city.
      {[](auto* v) { v->mutable_hospital()->set_institution_code("H14070200001"); }, "visit.hospital.institution_code"},
      {[](auto* v) { v->mutable_hospital()->clear_level(); }, "visit.hospital.level"},
      {[](auto* v) { v->clear_visit_type(); }, "visit.visit_type"},
      {[](auto* v) { v->clear_visit_date(); }, "visit.visit_date"},
      {[](auto* v) { v->mutable_visit_date()->set_day(31); }, "visit.visit_date"},   // 31 November
      {[](auto* v) { v->mutable_visit_date()->set_day(28); }, "visit.visit_date"},   // tomorrow
      {[](auto* v) { v->mutable_visit_date()->set_year(2024); }, "visit.visit_date"},  // before last year
      {[](auto* v) { v->clear_diagnosis_code(); }, "visit.diagnosis_code"},
      {[](auto* v) { v->set_diagnosis_code("J18."); }, "visit.diagnosis_code"},
      {[](auto* v) { v->set_diagnosis_code("18.9"); }, "visit.diagnosis_code"},
      {[](auto* v) { v->clear_items(); }, "visit.items"},
      {[](auto* v) { v->mutable_items(1)->set_code("00310000001000"); }, "visit.items[1].code"},
      {[](auto* v) { v->mutable_items(0)->set_code("AJ01CAA040A001010101445"); }, "visit.items[0].code"},
      {[](auto* v) { v->mutable_items(0)->set_code("XJ01caa040A001010101445"); }, "visit.items[0].code"},
      {[](auto* v) { v->mutable_items(1)->set_quantity_milli(0); }, "visit.items[1].quantity_milli"},
      {[](auto* v) { v->mutable_items(1)->set_quantity_milli(kMaxQuantityMilli + 1); }, "visit.items[1].quantity_milli"},
      {[](auto* v) { v->mutable_items(0)->mutable_unit_price()->set_fen(-1); }, "visit.items[0].unit_price.fen"},
      {[](auto* v) { v->mutable_items(0)->mutable_unit_price()->set_fen(kMaxUnitPriceFen + 1); },
       "visit.items[0].unit_price.fen"},
  };
  for (const Case& c : cases) {
    medical::v1::Visit visit = GoodVisit();
    c.spoil(&visit);
    EXPECT_EQ(FieldOf(ValidateVisit(visit, "visit", City::CITY_TAIYUAN, kToday)), c.field) << visit.DebugString();
  }
}

TEST(ValidateVisitTest, AtMost500Lines) {
  medical::v1::Visit visit = GoodVisit();
  while (visit.items_size() < kMaxLineItems) *visit.add_items() = visit.items(0);
  EXPECT_TRUE(ValidateVisit(visit, "visit", City::CITY_TAIYUAN, kToday).ok());
  *visit.add_items() = visit.items(0);
  EXPECT_EQ(FieldOf(ValidateVisit(visit, "visit", City::CITY_TAIYUAN, kToday)), "visit.items");
}

TEST(ValidateIdempotencyKeyTest, LengthAndCharacters) {
  EXPECT_TRUE(ValidateIdempotencyKey("visit-2026.11_27", "idempotency_key").ok());
  EXPECT_EQ(FieldOf(ValidateIdempotencyKey("", "idempotency_key")), "idempotency_key");
  EXPECT_EQ(FieldOf(ValidateIdempotencyKey("short", "idempotency_key")), "idempotency_key");
  EXPECT_EQ(FieldOf(ValidateIdempotencyKey(std::string(65, 'k'), "idempotency_key")), "idempotency_key");
  EXPECT_THAT(ValidateIdempotencyKey("with space!", "idempotency_key").message(), HasSubstr("may contain only"));
}

TEST(ValidatePeriodTest, OrderAndLength) {
  medical::v1::Period period;
  *period.mutable_from() = DateOf(absl::CivilDay(2026, 1, 1));
  *period.mutable_to() = DateOf(absl::CivilDay(2026, 12, 31));
  EXPECT_TRUE(ValidatePeriod(period, "period").ok());
  *period.mutable_to() = DateOf(absl::CivilDay(2025, 12, 31));
  EXPECT_EQ(FieldOf(ValidatePeriod(period, "period")), "period.to");
  *period.mutable_to() = DateOf(absl::CivilDay(2027, 1, 3));
  EXPECT_EQ(FieldOf(ValidatePeriod(period, "period")), "period.to");
  period.clear_from();
  EXPECT_EQ(FieldOf(ValidatePeriod(period, "period")), "period.from");
}

TEST(ValidateSettlementIdTest, Shape) {
  EXPECT_TRUE(ValidateSettlementId("ST0123456789abcdef01234567", "settlement_id").ok());
  EXPECT_EQ(FieldOf(ValidateSettlementId("", "settlement_id")), "settlement_id");
  EXPECT_EQ(FieldOf(ValidateSettlementId("ST0123456789ABCDEF01234567", "settlement_id")), "settlement_id");
  EXPECT_EQ(FieldOf(ValidateSettlementId("XX0123456789abcdef01234567", "settlement_id")), "settlement_id");
}

}  // namespace
}  // namespace interop::services
