// What the settlement integration tests share: finding patients in the mock population, building
// visits billed by a Taiyuan hospital, calling the settlement service, and reading its errors' details.
#ifndef INTEROP_TESTS_INTEGRATION_SETTLEMENT_SUPPORT_H_
#define INTEROP_TESTS_INTEGRATION_SETTLEMENT_SUPPORT_H_

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "absl/time/civil_time.h"
#include "gateway/base/cities.h"
#include "gateway/identity/resident_id.h"
#include "gateway/base/rich_status.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"
#include "interop/medical/v1/settlement.grpc.pb.h"
#include "tools/mock_city/population.h"

namespace interop::testing {

// The Taiyuan hospital of the development certificates (caller-hospital-taiyuan).
inline constexpr char kTaiyuanHospitalCaller[] = "caller-hospital-taiyuan";
inline constexpr char kTaiyuanHospitalCode[] = "H14010500001";
// Class A, no price limit, in Taiyuan's catalogue: appendectomy and a blood count.
inline constexpr char kAppendectomy[] = "003310000010000";
inline constexpr char kBloodCount[] = "003100000010000";
// In every catalogue: amoxicillin capsules (class A in Taiyuan).
inline constexpr char kAmoxicillin[] = "XJ01CAA040A001010101445";

inline absl::CivilDay TodayInChina() { return identity::ChinaCivilDay(absl::Now()); }

inline common::v1::Date DateOf(absl::CivilDay day) {
  common::v1::Date date;
  date.set_year(static_cast<int32_t>(day.year()));
  date.set_month(day.month());
  date.set_day(day.day());
  return date;
}

inline void SetDeadline(grpc::ClientContext* context, int seconds = 10) {
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

// An active employee (310, with a personal account) insured in `city`, the `skip`-th such.
inline const mock_city::SyntheticPerson& InsuredEmployee(const mock_city::Population& population, City city,
                                                         int skip = 0) {
  for (const mock_city::SyntheticPerson& p : population.persons()) {
    if (p.has_medical && p.medical.city == city && p.medical.status_code == "1" &&
        p.medical.insurance_type_code == "310" && p.medical.balance_fen > 100000 && skip-- == 0) {
      return p;
    }
  }
  static const mock_city::SyntheticPerson* none = new mock_city::SyntheticPerson();
  return *none;
}

// A tertiary outpatient visit at the Taiyuan hospital today, with one line per (code, milli, fen).
struct Line {
  const char* code;
  int64_t quantity_milli;
  int64_t unit_price_fen;
};
inline medical::v1::Visit TaiyuanVisit(std::initializer_list<Line> lines, bool emergency = false,
                                       config::v1::VisitType type = config::v1::VISIT_TYPE_OUTPATIENT) {
  medical::v1::Visit visit;
  visit.mutable_hospital()->set_institution_code(kTaiyuanHospitalCode);
  visit.mutable_hospital()->set_level(config::v1::HOSPITAL_LEVEL_TERTIARY);
  visit.mutable_hospital()->set_name("Taiyuan Xiaodian District People's Hospital");
  visit.set_visit_type(type);
  *visit.mutable_visit_date() = DateOf(TodayInChina());
  visit.set_diagnosis_code("K35.8");
  visit.set_emergency(emergency);
  visit.set_use_personal_account(true);
  for (const Line& line : lines) {
    medical::v1::LineItem* item = visit.add_items();
    item->set_code(line.code);
    item->set_quantity_milli(line.quantity_milli);
    item->mutable_unit_price()->set_fen(line.unit_price_fen);
  }
  return visit;
}

inline medical::v1::SettleRequest SettleRequestFor(const std::string& resident_id, const std::string& key,
                                                   const medical::v1::Visit& visit) {
  medical::v1::SettleRequest request;
  request.mutable_person()->set_resident_id(resident_id);
  request.mutable_access()->set_purpose(common::v1::PURPOSE_TREATMENT);
  request.set_idempotency_key(key);
  *request.mutable_visit() = visit;
  return request;
}

// The ErrorInfo reason of a failed call, or "".
inline std::string ReasonOf(const grpc::Status& status) { return ErrorReason(FromGrpcStatus(status)); }

// The RetryInfo delay of a failed call, or zero.
inline std::chrono::milliseconds RetryDelayOf(const grpc::Status& status) {
  std::optional<absl::Duration> delay = RetryDelay(FromGrpcStatus(status));
  return std::chrono::milliseconds(delay.has_value() ? absl::ToInt64Milliseconds(*delay) : 0);
}

// The split's two identities; "" when they hold, else what is wrong.
inline std::string SplitInconsistency(const medical::v1::Settlement& s) {
  int64_t parts = s.out_of_catalogue().fen() + s.over_price_limit().fen() + s.class_b_pre_self_pay().fen() +
                  s.in_scope().fen();
  int64_t payers = s.fund_pay().fen() + s.personal_account_pay().fen() + s.cash_pay().fen();
  std::string problem;
  if (parts != s.total().fen()) problem += "scope parts do not add up to the total; ";
  if (payers != s.total().fen()) problem += "payers do not add up to the total; ";
  if (s.fund_pay().fen() < 0 || s.personal_account_pay().fen() < 0 || s.cash_pay().fen() < 0) {
    problem += "a negative payer; ";
  }
  return problem;
}

}  // namespace interop::testing

#endif  // INTEROP_TESTS_INTEGRATION_SETTLEMENT_SUPPORT_H_
