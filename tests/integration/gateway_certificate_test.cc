// Certificates end to end: five mock cities (each signing with its own key; Jinzhong with SM2, Lüliang
// over HTTP/JSON) and the gateway as real processes. Each kind of certificate is issued in at least
// two cities, verified by callers of every other city through VerifyCertificate, and checked offline
// with the certificate-verify binary and a saved trust list; for every tampered variant the RPC and
// the offline verifier give the same verdict.
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gateway/base/cities.h"
#include "gateway/signing/signing.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "interop/certificates/v1/certificates.grpc.pb.h"
#include "tests/integration/city_cluster.h"
#include "tools/mock_city/population.h"

namespace interop::testing {
namespace {

namespace pb = ::interop::certificates::v1;
using ::testing::HasSubstr;
using mock_city::Population;
using mock_city::SyntheticPerson;

struct Issued {
  pb::SignedCertificate certificate;
  pb::CertificatePayload payload;
};

class GatewayCertificateTest : public ::testing::Test {
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
    dir_ = new std::string(MakeTempDir("certificate-test-"));
  }
  static void TearDownTestSuite() {
    delete cluster_;
    delete population_;
    delete dir_;
  }

  void SetUp() override { ASSERT_NE(cluster_, nullptr); }

  static std::unique_ptr<pb::CertificateService::Stub> Stub(const std::string& caller) {
    return pb::CertificateService::NewStub(cluster_->CallerChannel(caller));
  }
  static void SetDeadline(grpc::ClientContext* context) {
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
  }

  static const SyntheticPerson& FindPerson(const std::function<bool(const SyntheticPerson&)>& pred) {
    for (const SyntheticPerson& p : population_->persons()) {
      if (pred(p)) return p;
    }
    ADD_FAILURE() << "no such person in the population";
    return population_->persons().front();
  }
  static const SyntheticPerson& InsuredIn(City city) {
    return FindPerson([city](const SyntheticPerson& p) {
      return p.has_medical && p.medical.city == city && p.medical.status_code == "1" && !p.employment.empty();
    });
  }
  static const SyntheticPerson& RegisteredIn(City city) {
    return FindPerson([city](const SyntheticPerson& p) {
      return p.household.city == city && p.issuing_city != city && !p.employment.empty();
    });
  }

  static Issued IssueInsuranceStatus(const SyntheticPerson& person) {
    pb::IssueInsuranceStatusCertificateRequest request;
    request.mutable_person()->set_resident_id(person.resident_id);
    request.mutable_access()->set_purpose(common::v1::PURPOSE_MEDICAL_INSURANCE_ADMINISTRATION);
    pb::IssueInsuranceStatusCertificateResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status status = Stub("caller-medical-insurance-bureau-taiyuan")
                              ->IssueInsuranceStatusCertificate(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.certificate(), response.payload()};
  }
  static Issued IssueResidence(const SyntheticPerson& person) {
    pb::IssueResidenceCertificateRequest request;
    request.mutable_person()->set_resident_id(person.resident_id);
    request.mutable_access()->set_purpose(common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION);
    request.mutable_validity()->set_valid_days(40);
    pb::IssueResidenceCertificateResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status status =
        Stub("caller-household-office-xinzhou")->IssueResidenceCertificate(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.certificate(), response.payload()};
  }
  static Issued IssueContribution(const SyntheticPerson& person) {
    pb::IssueContributionCertificateRequest request;
    request.mutable_person()->set_resident_id(person.resident_id);
    request.mutable_access()->set_purpose(common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION);
    pb::IssueContributionCertificateResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status status =
        Stub("caller-social-security-bureau-jinzhong")->IssueContributionCertificate(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.certificate(), response.payload()};
  }

  // VerifyCertificate through the gateway, as `caller`.
  static pb::VerifyCertificateResponse VerifyRpc(const pb::SignedCertificate& certificate, int64_t at_unix = 0,
                                                 const std::string& caller = "caller-hospital-yangquan") {
    pb::VerifyCertificateRequest request;
    *request.mutable_certificate() = certificate;
    request.set_at_unix(at_unix);
    pb::VerifyCertificateResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status status = Stub(caller)->VerifyCertificate(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // The saved trust list (GetTrustList, saved once by `certificate-verify --fetch`).
  static std::string TrustListPath() {
    static const std::string* path = [] {
      auto* p = new std::string(*dir_ + "/trust-list.pb");
      absl::StatusOr<int> exit = RunToCompletion(
          {INTEROP_CERTIFICATE_VERIFY_BIN, "--fetch", absl::StrCat("--gateway=", cluster_->gateway_target()),
           absl::StrCat("--ca=", cluster_->CertPath("ca.pem")),
           absl::StrCat("--cert=", cluster_->CertPath("caller-citizen-portal-lvliang.pem")),
           absl::StrCat("--key=", cluster_->CertPath("caller-citizen-portal-lvliang.key")), "--tls_server_name=localhost",
           absl::StrCat("--trust_list=", *p)},
          *dir_ + "/fetch.log", absl::Seconds(30));
      EXPECT_TRUE(exit.ok() && *exit == 0) << ReadFileOrEmpty(*dir_ + "/fetch.log");
      return p;
    }();
    return *path;
  }

  struct OfflineVerdict {
    int exit_code = -1;
    std::string verdict;  // "VALID", "TAMPERED", ...
    std::string output;
  };
  // certificate-verify on `certificate`, saved to a file first (binary, or text format for a
  // ".textproto" name).
  static OfflineVerdict VerifyOffline(const pb::SignedCertificate& certificate, const std::string& at = "",
                                      const std::string& name = "certificate.pb",
                                      const std::string& trust_list = TrustListPath()) {
    static int counter = 0;
    const std::string path = absl::StrCat(*dir_, "/", ++counter, "-", name);
    std::string bytes;
    if (absl::EndsWith(name, ".textproto")) {
      google::protobuf::TextFormat::PrintToString(certificate, &bytes);
    } else {
      certificate.SerializeToString(&bytes);
    }
    std::ofstream(path, std::ios::binary) << bytes;
    std::vector<std::string> argv = {INTEROP_CERTIFICATE_VERIFY_BIN, absl::StrCat("--trust_list=", trust_list),
                                     absl::StrCat("--gateway_cert=", cluster_->CertPath("gateway.pem")),
                                     absl::StrCat("--certificate=", path)};
    if (!at.empty()) argv.push_back(absl::StrCat("--at=", at));
    const std::string log = path + ".log";
    absl::StatusOr<int> exit = RunToCompletion(argv, log, absl::Seconds(30));
    OfflineVerdict result;
    result.exit_code = exit.ok() ? *exit : -1;
    result.output = ReadFileOrEmpty(log);
    for (absl::string_view line : absl::StrSplit(result.output, '\n')) {
      if (absl::ConsumePrefix(&line, "verdict: ")) result.verdict = std::string(line);
    }
    return result;
  }

  // The RPC and the offline verifier agree on `certificate`, and both say `expected`.
  static void ExpectBothSay(const pb::SignedCertificate& certificate, pb::VerificationResult expected,
                            int64_t at_unix = 0, const std::string& what = "") {
    SCOPED_TRACE(what);
    pb::VerifyCertificateResponse online = VerifyRpc(certificate, at_unix);
    const std::string at =
        at_unix == 0 ? "" : absl::FormatTime(absl::RFC3339_full, absl::FromUnixSeconds(at_unix), absl::UTCTimeZone());
    OfflineVerdict offline = VerifyOffline(certificate, at);
    const std::string expected_name = pb::VerificationResult_Name(expected).substr(sizeof("VERIFICATION_RESULT_") - 1);
    EXPECT_EQ(online.result(), expected) << online.reason();
    EXPECT_EQ(offline.verdict, expected_name) << offline.output;
    EXPECT_EQ(offline.exit_code, expected == pb::VERIFICATION_RESULT_VALID ? 0 : 1) << offline.output;
    EXPECT_FALSE(online.reason().empty());
    EXPECT_THAT(offline.output, HasSubstr(absl::StrCat("reason: ", online.reason()))) << "same reason both ways";
  }

  static CityCluster* cluster_;
  static Population* population_;
  static std::string* dir_;
};

CityCluster* GatewayCertificateTest::cluster_ = nullptr;
Population* GatewayCertificateTest::population_ = nullptr;
std::string* GatewayCertificateTest::dir_ = nullptr;

// Issue in one city, verify in every other: each kind in at least two cities (Lüliang over HTTP among
// them, Jinzhong with SM2), verified by a caller of every other city and offline.
TEST_F(GatewayCertificateTest, IssuedInOneCityVerifiedInEveryOther) {
  struct Case {
    std::string what;
    City issuer;
    std::function<Issued()> issue;
  };
  const std::vector<Case> cases = {
      {"insurance status, Lüliang", City::CITY_LVLIANG, [] { return IssueInsuranceStatus(InsuredIn(City::CITY_LVLIANG)); }},
      {"insurance status, Jinzhong (SM2)", City::CITY_JINZHONG,
       [] { return IssueInsuranceStatus(InsuredIn(City::CITY_JINZHONG)); }},
      {"residence, Lüliang", City::CITY_LVLIANG, [] { return IssueResidence(RegisteredIn(City::CITY_LVLIANG)); }},
      {"residence, Taiyuan", City::CITY_TAIYUAN, [] { return IssueResidence(RegisteredIn(City::CITY_TAIYUAN)); }},
      {"contribution, Lüliang", City::CITY_LVLIANG, [] { return IssueContribution(InsuredIn(City::CITY_LVLIANG)); }},
      {"contribution, Xinzhou", City::CITY_XINZHOU, [] { return IssueContribution(InsuredIn(City::CITY_XINZHOU)); }},
      {"contribution, Yangquan", City::CITY_YANGQUAN, [] { return IssueContribution(InsuredIn(City::CITY_YANGQUAN)); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Issued issued = c.issue();
    ASSERT_FALSE(issued.certificate.payload().empty());
    EXPECT_EQ(issued.payload.issuer().city(), c.issuer);
    EXPECT_EQ(issued.certificate.key_id(), issued.payload.key_id());
    EXPECT_THAT(issued.certificate.key_id(), ::testing::StartsWith(std::string(CityName(c.issuer)) + "-"));
    EXPECT_EQ(issued.certificate.algorithm(), c.issuer == City::CITY_JINZHONG
                                                  ? pb::SIGNATURE_ALGORITHM_SM2_SM3
                                                  : pb::SIGNATURE_ALGORITHM_ECDSA_P256_SHA256);
    for (City verifier : kAllCities) {
      if (verifier == c.issuer) continue;
      pb::VerifyCertificateResponse response =
          VerifyRpc(issued.certificate, 0, absl::StrCat("caller-hospital-", CityName(verifier)));
      EXPECT_EQ(response.result(), pb::VERIFICATION_RESULT_VALID) << CityName(verifier) << ": " << response.reason();
      EXPECT_EQ(response.payload().certificate_id(), issued.payload.certificate_id());
    }
    ExpectBothSay(issued.certificate, pb::VERIFICATION_RESULT_VALID, 0, c.what);
  }
}

TEST_F(GatewayCertificateTest, ClaimsAreTheCitysRecords) {
  const SyntheticPerson& insured = InsuredIn(City::CITY_LVLIANG);
  Issued status = IssueInsuranceStatus(insured);
  ASSERT_TRUE(status.payload.has_insurance_status());
  EXPECT_EQ(status.payload.subject_resident_id(), insured.resident_id);
  EXPECT_EQ(status.payload.subject_name(), insured.name);
  EXPECT_EQ(status.payload.insurance_status().insured_region_code(), insured.medical.insured_region_code);
  EXPECT_EQ(status.payload.insurance_status().status(), medical::v1::ENROLLMENT_STATUS_ACTIVE);

  const SyntheticPerson& registered = RegisteredIn(City::CITY_TAIYUAN);
  Issued residence = IssueResidence(registered);
  ASSERT_TRUE(residence.payload.has_residence());
  EXPECT_EQ(residence.payload.residence().address_code(), registered.household.address_code);
  EXPECT_EQ(residence.payload.expires_at_unix() - residence.payload.issued_at_unix(), 40 * 86400);

  Issued contribution = IssueContribution(insured);
  ASSERT_TRUE(contribution.payload.has_contribution());
  EXPECT_GT(contribution.payload.contribution().years_size(), 0);
  EXPECT_GT(contribution.payload.contribution().cities_size(), 0);
}

// Every kind of tampering, and every other reason, gives the same verdict online and offline.
TEST_F(GatewayCertificateTest, EveryTamperingIsCaughtAndTheOfflineVerifierAgrees) {
  Issued lvliang = IssueInsuranceStatus(InsuredIn(City::CITY_LVLIANG));
  Issued jinzhong = IssueInsuranceStatus(InsuredIn(City::CITY_JINZHONG));
  ASSERT_FALSE(lvliang.certificate.payload().empty());
  ASSERT_FALSE(jinzhong.certificate.payload().empty());

  pb::SignedCertificate payload_flipped = lvliang.certificate;
  (*payload_flipped.mutable_payload())[payload_flipped.payload().size() / 2] ^= 0x01;
  ExpectBothSay(payload_flipped, pb::VERIFICATION_RESULT_TAMPERED, 0, "payload byte flipped");

  pb::SignedCertificate signature_flipped = lvliang.certificate;
  (*signature_flipped.mutable_signature())[signature_flipped.signature().size() - 2] ^= 0x10;
  ExpectBothSay(signature_flipped, pb::VERIFICATION_RESULT_TAMPERED, 0, "signature flipped");

  pb::SignedCertificate key_swapped = lvliang.certificate;
  key_swapped.set_key_id(jinzhong.certificate.key_id());
  key_swapped.set_algorithm(jinzhong.certificate.algorithm());
  ExpectBothSay(key_swapped, pb::VERIFICATION_RESULT_TAMPERED, 0, "key id swapped to Jinzhong's");

  pb::CertificatePayload other_issuer = lvliang.payload;
  *other_issuer.mutable_issuer() = MakeCityInfo(City::CITY_TAIYUAN);
  pb::SignedCertificate issuer_changed = lvliang.certificate;
  issuer_changed.set_payload(other_issuer.SerializeAsString());
  ExpectBothSay(issuer_changed, pb::VERIFICATION_RESULT_TAMPERED, 0, "issuer city changed in the payload");

  pb::CertificatePayload extended = lvliang.payload;
  extended.set_expires_at_unix(extended.expires_at_unix() + 365 * 86400);
  pb::SignedCertificate validity_extended = lvliang.certificate;
  validity_extended.set_payload(extended.SerializeAsString());
  ExpectBothSay(validity_extended, pb::VERIFICATION_RESULT_TAMPERED, 0, "expiry extended");

  ExpectBothSay(lvliang.certificate, pb::VERIFICATION_RESULT_EXPIRED, lvliang.payload.expires_at_unix() + 1, "expired");
  ExpectBothSay(lvliang.certificate, pb::VERIFICATION_RESULT_NOT_YET_VALID, lvliang.payload.issued_at_unix() - 60,
                "not yet valid");

  // A key the trust list does not know: a certificate made up by someone outside the five cities.
  absl::StatusOr<std::unique_ptr<signing::SigningKey>> retired =
      signing::SigningKey::FromPemFile(cluster_->CertPath("city-taiyuan-signing-retired.key"));
  ASSERT_TRUE(retired.ok()) << retired.status();
  absl::StatusOr<std::unique_ptr<signing::SigningKey>> stranger =
      signing::SigningKey::FromPemFile(cluster_->CertPath("caller-hospital-taiyuan.key"));
  ASSERT_TRUE(stranger.ok()) << stranger.status();
  auto forge = [](pb::CertificatePayload payload, const signing::SigningKey& key) {
    payload.set_key_id(signing::DeriveKeyId(payload.issuer().city(), key.public_key()));
    pb::SignedCertificate certificate;
    certificate.set_payload(payload.SerializeAsString());
    certificate.set_signature(*key.Sign(certificate.payload()));
    certificate.set_algorithm(pb::SIGNATURE_ALGORITHM_ECDSA_P256_SHA256);
    certificate.set_key_id(payload.key_id());
    return certificate;
  };
  pb::CertificatePayload in_taiyuan = lvliang.payload;
  *in_taiyuan.mutable_issuer() = MakeCityInfo(City::CITY_TAIYUAN);
  ExpectBothSay(forge(in_taiyuan, **stranger), pb::VERIFICATION_RESULT_UNKNOWN_ISSUER, 0, "unknown issuer");
  // Taiyuan's retired key, revoked in the trust list: whatever it signs is refused.
  ExpectBothSay(forge(in_taiyuan, **retired), pb::VERIFICATION_RESULT_REVOKED_KEY, 0, "revoked key");

  // Text format files verify as binary ones do.
  OfflineVerdict text = VerifyOffline(jinzhong.certificate, "", "certificate.textproto");
  EXPECT_EQ(text.verdict, "VALID") << text.output;
  EXPECT_EQ(text.exit_code, 0);
}

TEST_F(GatewayCertificateTest, OfflineVerifierRefusesATamperedOrForeignTrustList) {
  Issued issued = IssueResidence(RegisteredIn(City::CITY_LVLIANG));
  pb::SignedTrustList list;
  {
    std::ifstream in(TrustListPath(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    ASSERT_TRUE(list.ParseFromString(bytes.str()));
  }
  pb::TrustList parsed;
  ASSERT_TRUE(parsed.ParseFromString(list.trust_list()));
  parsed.mutable_keys(0)->set_revoked_at_unix(0);
  parsed.set_version(parsed.version() + 1);
  pb::SignedTrustList tampered = list;
  tampered.set_trust_list(parsed.SerializeAsString());
  const std::string tampered_path = *dir_ + "/tampered-trust-list.pb";
  std::ofstream(tampered_path, std::ios::binary) << tampered.SerializeAsString();
  OfflineVerdict verdict = VerifyOffline(issued.certificate, "", "certificate.pb", tampered_path);
  EXPECT_EQ(verdict.verdict, "TRUST_LIST_INVALID") << verdict.output;
  EXPECT_EQ(verdict.exit_code, 1);

  // Usage errors exit 2.
  absl::StatusOr<int> usage = RunToCompletion({INTEROP_CERTIFICATE_VERIFY_BIN, "--certificate=/nonexistent"},
                                              *dir_ + "/usage.log", absl::Seconds(10));
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(*usage, 2);
}

TEST_F(GatewayCertificateTest, TrustListAndAccessPolicy) {
  pb::GetTrustListResponse list;
  grpc::ClientContext context;
  SetDeadline(&context);
  ASSERT_TRUE(Stub("caller-operator-taiyuan")->GetTrustList(&context, pb::GetTrustListRequest(), &list).ok());
  EXPECT_EQ(list.parsed().version(), 1u);
  EXPECT_EQ(list.parsed().keys_size(), 6);
  int revoked = 0;
  for (const pb::TrustedKey& key : list.parsed().keys()) revoked += key.revoked_at_unix() != 0 ? 1 : 0;
  EXPECT_EQ(revoked, 1);

  // A hospital may verify but not issue; the citizen portal only for its own citizen.
  const SyntheticPerson& person = InsuredIn(City::CITY_XINZHOU);
  pb::IssueInsuranceStatusCertificateRequest request;
  request.mutable_person()->set_resident_id(person.resident_id);
  request.mutable_access()->set_purpose(common::v1::PURPOSE_TREATMENT);
  pb::IssueInsuranceStatusCertificateResponse response;
  grpc::ClientContext hospital;
  SetDeadline(&hospital);
  EXPECT_EQ(Stub("caller-hospital-xinzhou")->IssueInsuranceStatusCertificate(&hospital, request, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  request.mutable_access()->set_purpose(common::v1::PURPOSE_CITIZEN_SELF_SERVICE);
  request.mutable_access()->set_on_behalf_of_resident_id(InsuredIn(City::CITY_TAIYUAN).resident_id);
  grpc::ClientContext other_citizen;
  SetDeadline(&other_citizen);
  EXPECT_EQ(Stub("caller-citizen-portal-xinzhou")
                ->IssueInsuranceStatusCertificate(&other_citizen, request, &response)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  request.mutable_access()->set_on_behalf_of_resident_id(person.resident_id);
  grpc::ClientContext own;
  SetDeadline(&own);
  grpc::Status status = Stub("caller-citizen-portal-xinzhou")->IssueInsuranceStatusCertificate(&own, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.payload().issuer().city(), City::CITY_XINZHOU);

  // A bad validity names its field.
  request.mutable_validity()->set_valid_days(1000);
  grpc::ClientContext bad;
  SetDeadline(&bad);
  status = Stub("caller-citizen-portal-xinzhou")->IssueInsuranceStatusCertificate(&bad, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("validity.valid_days"));
}

}  // namespace
}  // namespace interop::testing
