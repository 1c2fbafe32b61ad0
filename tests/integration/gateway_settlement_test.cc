// Cross-city settlement through the gateway, with the five mock cities as real processes (Lüliang
// over HTTP/JSON): a Taiyuan hospital settles for patients insured in each other city; reversal;
// idempotent retry; an unfiled visit refused where the insured city's policy says so; 64
// concurrent settlements for one patient never pass the annual cap; clearing and reconciliation.
#include <atomic>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "adapters/adapter_factory.h"
#include "gateway/base/rich_status.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/protobuf/text_format.h"
#include "google/rpc/status.pb.h"
#include "interop/config/v1/medical_rules.pb.h"
#include "gtest/gtest.h"
#include "interop/medical/v1/medical.grpc.pb.h"
#include "tests/integration/city_cluster.h"
#include "tests/integration/settlement_support.h"

namespace interop::testing {
namespace {

using ::testing::HasSubstr;
using medical::v1::CrossCitySettlementService;
using medical::v1::Settlement;
using mock_city::Population;
using mock_city::SyntheticPerson;

// The first BadRequest field of a failed call, or "".
std::string FieldOf(const grpc::Status& status) {
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return "";
  for (const auto& any : details.details()) {
    google::rpc::BadRequest bad_request;
    if (any.UnpackTo(&bad_request) && bad_request.field_violations_size() > 0) {
      return bad_request.field_violations(0).field();
    }
  }
  return "";
}

class GatewaySettlementTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ClusterOptions options;
    auto cluster = CityCluster::Start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = cluster->release();
    mock_city::PopulationOptions population_options;
    population_options.seed = options.seed;
    population_options.persons_per_issuing_city = options.persons_per_city;
    population_ = new Population(Population::Generate(population_options));
  }
  static void TearDownTestSuite() {
    delete cluster_;
    delete population_;
  }

  void SetUp() override {
    ASSERT_NE(cluster_, nullptr);
    hospital_ = CrossCitySettlementService::NewStub(cluster_->CallerChannel(kTaiyuanHospitalCaller));
    medical_ = medical::v1::MedicalInsuranceService::NewStub(cluster_->CallerChannel(kTaiyuanHospitalCaller));
  }

  std::unique_ptr<CrossCitySettlementService::Stub> Bureau(City city) {
    return CrossCitySettlementService::NewStub(
        cluster_->CallerChannel(absl::StrCat("caller-medical-insurance-bureau-", CityName(city))));
  }

  // The patient's balance as the hospital sees it through the gateway.
  int64_t Balance(const std::string& resident_id) {
    medical::v1::GetInsuranceStatusRequest request;
    request.mutable_person()->set_resident_id(resident_id);
    request.mutable_access()->set_purpose(common::v1::PURPOSE_TREATMENT);
    medical::v1::GetInsuranceStatusResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status status = medical_->GetInsuranceStatus(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.personal_account_balance().fen();
  }

  grpc::Status Settle(const medical::v1::SettleRequest& request, medical::v1::SettleResponse* response) {
    grpc::ClientContext context;
    SetDeadline(&context);
    return hospital_->Settle(&context, request, response);
  }

  grpc::Status File(City insured_city, const std::string& resident_id, City treatment_city) {
    medical::v1::FileTreatmentRequest request;
    request.mutable_person()->set_resident_id(resident_id);
    request.mutable_access()->set_purpose(common::v1::PURPOSE_MEDICAL_INSURANCE_ADMINISTRATION);
    request.set_treatment_city(treatment_city);
    absl::CivilDay today = TodayInChina();
    *request.mutable_valid_from() = DateOf(today - 30);
    *request.mutable_valid_to() = DateOf(today + 180);
    request.set_reason(medical::v1::FILING_REASON_LONG_TERM_RESIDENT);
    medical::v1::FileTreatmentResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    return Bureau(insured_city)->FileTreatment(&context, request, &response);
  }

  medical::v1::ClearingMatrix Clearing() {
    medical::v1::GetClearingMatrixRequest request;
    *request.mutable_period()->mutable_from() = DateOf(TodayInChina() - 1);
    *request.mutable_period()->mutable_to() = DateOf(TodayInChina() + 1);
    medical::v1::GetClearingMatrixResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status status = Bureau(City::CITY_TAIYUAN)->GetClearingMatrix(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.matrix();
  }

  static int64_t Cell(const medical::v1::ClearingMatrix& matrix, City treatment, City insured) {
    for (const auto& cell : matrix.cells()) {
      if (cell.treatment_city() == treatment && cell.insured_city() == insured) return cell.amount().fen();
    }
    ADD_FAILURE() << "no cell " << CityName(treatment) << " <- " << CityName(insured);
    return 0;
  }

  static CityCluster* cluster_;
  static Population* population_;
  std::unique_ptr<CrossCitySettlementService::Stub> hospital_;
  std::unique_ptr<medical::v1::MedicalInsuranceService::Stub> medical_;
};

CityCluster* GatewaySettlementTest::cluster_ = nullptr;
Population* GatewaySettlementTest::population_ = nullptr;

TEST_F(GatewaySettlementTest, ATaiyuanHospitalSettlesForAPatientOfEachOtherCity) {
  for (City insured : {City::CITY_YANGQUAN, City::CITY_JINZHONG, City::CITY_XINZHOU, City::CITY_LVLIANG}) {
    SCOPED_TRACE(CityName(insured));
    const SyntheticPerson& patient = InsuredEmployee(*population_, insured, 0);
    ASSERT_FALSE(patient.resident_id.empty());
    ASSERT_TRUE(File(insured, patient.resident_id, City::CITY_TAIYUAN).ok());
    const int64_t balance_before = Balance(patient.resident_id);
    const int64_t claim_before = Cell(Clearing(), City::CITY_TAIYUAN, insured);

    medical::v1::SettleResponse response;
    grpc::Status status = Settle(SettleRequestFor(patient.resident_id, absl::StrCat("each-city-", CityName(insured)),
                                                  TaiyuanVisit({{kAmoxicillin, 2000, 2350},
                                                                {kBloodCount, 1000, 2500},
                                                                {"001102000010000", 1000, 5000}})),
                                 &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    const Settlement& s = response.settlement();
    EXPECT_EQ(s.state(), medical::v1::SETTLEMENT_STATE_SETTLED);
    EXPECT_FALSE(response.replayed());
    EXPECT_THAT(s.settlement_id(), ::testing::StartsWith("ST"));
    EXPECT_EQ(s.insured_city().city(), insured);
    EXPECT_EQ(s.treatment_city().city(), City::CITY_TAIYUAN);
    EXPECT_TRUE(s.filed());
    // 2 x 23.50 + 25.00 + 50.00 yuan (the consultation is above Taiyuan's 30-yuan limit).
    EXPECT_EQ(s.total().fen(), 4700 + 2500 + 5000);
    EXPECT_EQ(s.over_price_limit().fen(), 5000 - 3000);
    EXPECT_EQ(SplitInconsistency(s), "");
    EXPECT_EQ(s.balance_after().fen(), balance_before - s.personal_account_pay().fen());
    EXPECT_EQ(Balance(patient.resident_id), s.balance_after().fen());
    ASSERT_EQ(response.provenance().source_cities_size(), 1);
    EXPECT_EQ(response.provenance().source_cities(0).city(), insured);
    // The claim of Taiyuan on the insured city grows by what the fund and the account paid.
    EXPECT_EQ(Cell(Clearing(), City::CITY_TAIYUAN, insured),
              claim_before + s.fund_pay().fen() + s.personal_account_pay().fen());
  }
}

TEST_F(GatewaySettlementTest, ReversalRestoresTheAccountExactlyOnce) {
  const SyntheticPerson& patient = InsuredEmployee(*population_, City::CITY_JINZHONG, 1);
  const int64_t balance_before = Balance(patient.resident_id);
  const int64_t claim_before = Cell(Clearing(), City::CITY_TAIYUAN, City::CITY_JINZHONG);
  medical::v1::SettleResponse settled;
  ASSERT_TRUE(Settle(SettleRequestFor(patient.resident_id, "reversal-0001",
                                      TaiyuanVisit({{kAppendectomy, 1000, 180000}}, /*emergency=*/true)),
                     &settled)
                  .ok());
  ASSERT_GT(settled.settlement().fund_pay().fen() + settled.settlement().personal_account_pay().fen(), 0);

  medical::v1::ReverseSettlementRequest request;
  request.mutable_person()->set_resident_id(patient.resident_id);
  request.mutable_access()->set_purpose(common::v1::PURPOSE_TREATMENT);
  request.set_settlement_id(settled.settlement().settlement_id());
  for (int attempt = 0; attempt < 2; ++attempt) {
    medical::v1::ReverseSettlementResponse reversed;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status status = hospital_->ReverseSettlement(&context, request, &reversed);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(reversed.settlement().state(), medical::v1::SETTLEMENT_STATE_REVERSED);
    EXPECT_EQ(reversed.replayed(), attempt == 1);
    EXPECT_EQ(reversed.settlement().balance_after().fen(), balance_before);
    EXPECT_EQ(Balance(patient.resident_id), balance_before);
  }
  // Settled and reversed in one period: no claim remains.
  EXPECT_EQ(Cell(Clearing(), City::CITY_TAIYUAN, City::CITY_JINZHONG), claim_before);

  // Another organisation may not reverse it.
  auto other = CrossCitySettlementService::NewStub(cluster_->CallerChannel("caller-hospital-jinzhong"));
  grpc::ClientContext context;
  SetDeadline(&context);
  medical::v1::ReverseSettlementResponse refused;
  grpc::Status status = other->ReverseSettlement(&context, request, &refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
}

TEST_F(GatewaySettlementTest, ARetryWithTheSameKeyIsAnsweredOnceAndADifferentRequestIsRefused) {
  const SyntheticPerson& patient = InsuredEmployee(*population_, City::CITY_LVLIANG, 2);
  const int64_t balance_before = Balance(patient.resident_id);
  medical::v1::SettleRequest request = SettleRequestFor(
      patient.resident_id, "retry-key-0001", TaiyuanVisit({{kBloodCount, 3000, 2500}}, /*emergency=*/true));
  medical::v1::SettleResponse first;
  ASSERT_TRUE(Settle(request, &first).ok());
  medical::v1::SettleResponse second;
  grpc::Status status = Settle(request, &second);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(second.replayed());
  EXPECT_EQ(second.settlement().SerializeAsString(), first.settlement().SerializeAsString());
  EXPECT_EQ(Balance(patient.resident_id), balance_before - first.settlement().personal_account_pay().fen());

  request.mutable_visit()->mutable_items(0)->set_quantity_milli(4000);
  medical::v1::SettleResponse third;
  status = Settle(request, &third);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS) << status.error_message();
  EXPECT_EQ(ReasonOf(status), "IDEMPOTENCY_KEY_REUSED");
  EXPECT_EQ(FieldOf(status), "idempotency_key");
  EXPECT_EQ(Balance(patient.resident_id), balance_before - first.settlement().personal_account_pay().fen());
}

TEST_F(GatewaySettlementTest, AnUnfiledVisitIsRefusedWhereTheInsuredCitysPolicySaysSo) {
  // Xinzhou's policy refuses unfiled cross-city visits (adapters/xinzhou/medical_policy.textproto).
  const SyntheticPerson& patient = InsuredEmployee(*population_, City::CITY_XINZHOU, 3);
  const int64_t balance_before = Balance(patient.resident_id);
  medical::v1::SettleResponse response;
  grpc::Status status =
      Settle(SettleRequestFor(patient.resident_id, "unfiled-0001", TaiyuanVisit({{kBloodCount, 1000, 2500}})),
             &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_EQ(ReasonOf(status), "TREATMENT_NOT_FILED");
  EXPECT_EQ(Balance(patient.resident_id), balance_before);

  // The same visit as an emergency counts as filed.
  status = Settle(SettleRequestFor(patient.resident_id, "unfiled-0002",
                                   TaiyuanVisit({{kBloodCount, 1000, 2500}}, /*emergency=*/true)),
                  &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.settlement().filed());

  // Jinzhong pays an unfiled visit at a reduced ratio instead.
  const SyntheticPerson& other = InsuredEmployee(*population_, City::CITY_JINZHONG, 4);
  status = Settle(SettleRequestFor(other.resident_id, "unfiled-0003", TaiyuanVisit({{kAppendectomy, 1000, 90000}})),
                  &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(response.settlement().filed());
}

TEST_F(GatewaySettlementTest, BadInputNamesTheField) {
  const SyntheticPerson& patient = InsuredEmployee(*population_, City::CITY_YANGQUAN, 5);
  medical::v1::SettleResponse response;
  medical::v1::SettleRequest request =
      SettleRequestFor(patient.resident_id, "bad-input-1", TaiyuanVisit({{kBloodCount, 1000, 2500}}));
  request.mutable_visit()->mutable_hospital()->set_institution_code("H14070200001");  // a Jinzhong hospital
  grpc::Status status = Settle(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("visit.hospital.institution_code"));

  request = SettleRequestFor(patient.resident_id, "bad-input-2", TaiyuanVisit({{"12345", 1000, 2500}}));
  status = Settle(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("visit.items[0].code"));

  request = SettleRequestFor(patient.resident_id, "short", TaiyuanVisit({{kBloodCount, 1000, 2500}}));
  status = Settle(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("idempotency_key"));
}

TEST_F(GatewaySettlementTest, ConcurrentSettlementsForOnePatientNeverPassTheAnnualCap) {
  // Big emergency bills for one Yangquan employee: a few of them reach the annual cap of the fund.
  const SyntheticPerson& patient = InsuredEmployee(*population_, City::CITY_YANGQUAN, 6);
  constexpr int kSettlements = 64;
  std::vector<medical::v1::SettleResponse> responses(kSettlements);
  std::vector<grpc::Status> statuses(kSettlements);
  std::vector<std::thread> threads;
  for (int i = 0; i < kSettlements; ++i) {
    threads.emplace_back([&, i] {
      auto stub = CrossCitySettlementService::NewStub(cluster_->CallerChannel(kTaiyuanHospitalCaller));
      grpc::ClientContext context;
      SetDeadline(&context, 60);
      statuses[i] = stub->Settle(&context,
                                 SettleRequestFor(patient.resident_id, absl::StrCat("cap-test-", i),
                                                  TaiyuanVisit({{kAppendectomy, 1000, 12'000'000}},
                                                               /*emergency=*/true, config::v1::VISIT_TYPE_INPATIENT)),
                                 &responses[i]);
    });
  }
  for (auto& thread : threads) thread.join();

  int64_t fund_sum = 0;
  int64_t account_sum = 0;
  int64_t first_fund_paid_before = -1;
  int64_t final_fund_paid = 0;
  int64_t lowest_balance_after = INT64_MAX;
  int settled = 0;
  for (int i = 0; i < kSettlements; ++i) {
    // Every call settles (the cap limits the fund's share, it does not refuse the visit) or is
    // ABORTED after too much contention; nothing else.
    if (!statuses[i].ok()) {
      EXPECT_EQ(statuses[i].error_code(), grpc::StatusCode::ABORTED) << statuses[i].error_message();
      continue;
    }
    const Settlement& s = responses[i].settlement();
    EXPECT_EQ(SplitInconsistency(s), "");
    ++settled;
    fund_sum += s.fund_pay().fen();
    account_sum += s.personal_account_pay().fen();
    int64_t after = s.accumulators_after().fund_paid().fen();
    if (after - s.fund_pay().fen() < first_fund_paid_before || first_fund_paid_before < 0) {
      first_fund_paid_before = after - s.fund_pay().fen();
    }
    final_fund_paid = std::max(final_fund_paid, after);
    lowest_balance_after = std::min(lowest_balance_after, s.balance_after().fen());
  }
  ASSERT_GT(settled, kSettlements / 2);
  // Yangquan's cap for employees, from its policy file.
  config::v1::MedicalPolicy policy;
  std::ifstream file(cluster_->options().adapters_dir + "/yangquan/medical_policy.textproto");
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &policy));
  int64_t cap = 0;
  for (const auto& entry : policy.caps()) {
    if (entry.insurance_type() == 310) cap = entry.fund_cap_per_year_fen();
  }
  ASSERT_GT(cap, 0);
  EXPECT_LE(final_fund_paid, cap);
  EXPECT_EQ(final_fund_paid, cap) << "64 bills of 120,000 yuan reach any employee cap";
  EXPECT_EQ(final_fund_paid - first_fund_paid_before, fund_sum) << "fund pay not equal to the accumulator's growth";
  EXPECT_GE(lowest_balance_after, 0);
  EXPECT_LE(account_sum, patient.medical.balance_fen);
  // The cap was reached: later settlements got nothing from the fund.
  int zero_fund = 0;
  for (int i = 0; i < kSettlements; ++i) {
    if (statuses[i].ok() && responses[i].settlement().fund_pay().fen() == 0) ++zero_fund;
  }
  EXPECT_GT(zero_fund, 0);
}

TEST_F(GatewaySettlementTest, ReconciliationBalancesAndNamesASettlementTheGatewayDidNotMake) {
  const SyntheticPerson& patient = InsuredEmployee(*population_, City::CITY_LVLIANG, 7);
  medical::v1::SettleResponse response;
  ASSERT_TRUE(Settle(SettleRequestFor(patient.resident_id, "reconcile-0001",
                                      TaiyuanVisit({{kBloodCount, 1000, 2500}}, /*emergency=*/true)),
                     &response)
                  .ok());
  for (City city : kAllCities) {
    SCOPED_TRACE(CityName(city));
    medical::v1::ReconcileRequest request;
    request.set_city(city);
    *request.mutable_period()->mutable_from() = DateOf(TodayInChina() - 1);
    *request.mutable_period()->mutable_to() = DateOf(TodayInChina() + 1);
    medical::v1::ReconcileResponse reconciled;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status status = Bureau(city)->Reconcile(&context, request, &reconciled);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(reconciled.balanced()) << reconciled.DebugString();
    EXPECT_EQ(reconciled.ledger().SerializeAsString(), reconciled.city_records().SerializeAsString());
    if (city == City::CITY_LVLIANG) {
      EXPECT_GT(reconciled.ledger().settlements(), 0);
    }
  }

  // A settlement the insured city committed without the gateway (say, a local visit keyed in by
  // hand with a gateway-style id) is a mismatch that reconciliation names.
  config::v1::CityBackendConfig backend;
  backend.set_city(City::CITY_JINZHONG);
  backend.set_address(absl::StrCat("127.0.0.1:", cluster_->city(City::CITY_JINZHONG).port()));
  backend.set_tls_server_name("localhost");
  backend.set_deadline_ms(5000);
  backend.set_dialect_file(cluster_->DialectPath(City::CITY_JINZHONG));
  backend.mutable_tls()->set_ca_cert_file(cluster_->CertPath("ca.pem"));
  backend.mutable_tls()->set_cert_file(cluster_->CertPath("gateway.pem"));
  backend.mutable_tls()->set_key_file(cluster_->CertPath("gateway.key"));
  auto jinzhong = adapters::NewCityAdapter(backend);
  ASSERT_TRUE(jinzhong.ok()) << jinzhong.status();
  const SyntheticPerson& local_patient = InsuredEmployee(*population_, City::CITY_JINZHONG, 8);
  const absl::CivilDay today = TodayInChina();
  absl::Notification read;
  absl::StatusOr<adapters::MedicalAccount> account;
  (*jinzhong)->GetMedicalAccount(local_patient.resident_id, static_cast<int>(today.year()), {},
                                 [&](absl::StatusOr<adapters::MedicalAccount> result) {
                                   account = std::move(result);
                                   read.Notify();
                                 });
  read.WaitForNotification();
  ASSERT_TRUE(account.ok()) << account.status();
  adapters::SettlementRecord local;
  local.settlement_id = "ST00000000000000000000beef";
  local.resident_id = local_patient.resident_id;
  local.year = static_cast<int>(today.year());
  local.visit_type = config::v1::VISIT_TYPE_OUTPATIENT;
  local.institution_code = "H14070200001";
  local.treatment_city = City::CITY_JINZHONG;
  local.settle_date = today;
  local.total_fen = 5000;
  local.fund_pay_fen = 3000;
  local.cash_pay_fen = 2000;
  absl::Notification committed;
  absl::StatusOr<adapters::CommitResult> result;
  (*jinzhong)->CommitSettlement(local, account->version, {}, [&](absl::StatusOr<adapters::CommitResult> r) {
    result = std::move(r);
    committed.Notify();
  });
  committed.WaitForNotification();
  ASSERT_TRUE(result.ok()) << result.status();

  medical::v1::ReconcileRequest request;
  request.set_city(City::CITY_JINZHONG);
  *request.mutable_period()->mutable_from() = DateOf(today - 1);
  *request.mutable_period()->mutable_to() = DateOf(today + 1);
  medical::v1::ReconcileResponse reconciled;
  grpc::ClientContext context;
  SetDeadline(&context);
  grpc::Status status = Bureau(City::CITY_JINZHONG)->Reconcile(&context, request, &reconciled);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(reconciled.balanced());
  ASSERT_EQ(reconciled.mismatches_size(), 1) << reconciled.DebugString();
  EXPECT_EQ(reconciled.mismatches(0).settlement_id(), local.settlement_id);
  EXPECT_EQ(reconciled.mismatches(0).kind(), medical::v1::MISMATCH_KIND_MISSING_IN_LEDGER);
  EXPECT_EQ(reconciled.city_records().settlements(), reconciled.ledger().settlements() + 1);
  EXPECT_EQ(reconciled.city_records().fund_pay().fen(), reconciled.ledger().fund_pay().fen() + 3000);
}

}  // namespace
}  // namespace interop::testing
