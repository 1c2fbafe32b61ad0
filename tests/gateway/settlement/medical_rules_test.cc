// ValidateCatalogue, ValidatePolicy and MedicalRules: every refusal names its field (and, when
// loading, its file); the five cities' checked-in catalogues and policies load and differ.
#include "gateway/settlement/medical_rules.h"

#include <stdlib.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gateway/base/cities.h"
#include "gateway/base/rich_status.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace interop::settlement {
namespace {

using common::v1::City;
using config::v1::GatewayConfig;
using config::v1::MedicalCatalogue;
using config::v1::MedicalPolicy;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The codes every city's checked-in catalogue lists (also listed in a comment at the top of each
// adapters/<city>/medical_catalogue.textproto, for other tests and benchmarks to use).
constexpr const char* kCodesInAllFiveCatalogues[] = {
    "XJ01CAA040A001010101445", "XJ01DDT047B001010104428", "XJ01MAL028B002020102217",
    "XA10BAE056A001010103512", "XA10AEY023B002010100729", "XC08CAA039A001010101883",
    "XC10AAA051A001010102264", "XB01ACA064A012010100395", "XB01ACL042A001010104071",
    "XA02BCA211E001010100812", "XB05XAL046B002020300154", "XN02BED034A001010100126",
    "XA11JAF021A001010100504", "ZA01BAL010A001010101443", "ZA12BAF027A001010100986",
    "ZA12HAX063B002010102315", "ZB16BAL021A001010100452", "001101000010000",
    "001102000010000",         "001107000010000",         "001107000020000",
    "001201000010000",         "002201000010000",         "003100000010000",
    "003103000010000",         "002301000010000",         "002302000010000",
    "002303000010000",         "003310000010000",         "003311000010000",
};

template <typename Message>
Message ParseText(const std::string& text) {
  Message message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message)) << text;
  return message;
}

MedicalCatalogue ValidCatalogue() {
  return ParseText<MedicalCatalogue>(R"pb(
    city: CITY_JINZHONG
    version: "2026-01"
    items { code: "XJ01CAA040A001010101445" name: "amoxicillin" catalogue_class: CATALOGUE_CLASS_A }
    items {
      code: "ZA01BAL010A001010101443"
      name: "Lianhua Qingwen"
      catalogue_class: CATALOGUE_CLASS_B
      pre_self_pay_permille: 80
    }
    items {
      code: "001107000010000"
      name: "bed day"
      catalogue_class: CATALOGUE_CLASS_A
      unit_price_limit_fen: 4000
    }
    items { code: "XA11JAF021A001010100504" name: "vitamins" catalogue_class: CATALOGUE_CLASS_C }
  )pb");
}

MedicalPolicy ValidPolicy() {
  return ParseText<MedicalPolicy>(R"pb(
    city: CITY_JINZHONG
    version: "2026"
    rules {
      insurance_type: 310
      visit_type: VISIT_TYPE_INPATIENT
      hospital_level: HOSPITAL_LEVEL_TERTIARY
      deductible_per_year_fen: 80000
      fund_ratio_permille: 880
    }
    rules {
      insurance_type: 390
      visit_type: VISIT_TYPE_INPATIENT
      hospital_level: HOSPITAL_LEVEL_TERTIARY
      deductible_per_year_fen: 90000
      fund_ratio_permille: 620
    }
    caps { insurance_type: 310 fund_cap_per_year_fen: 45000000 }
    caps { insurance_type: 390 fund_cap_per_year_fen: 20000000 }
    cross_city_ratio_reduction_permille: 0
    unfiled_visit_rule: UNFILED_VISIT_RULE_REDUCED_RATIO
    unfiled_ratio_reduction_permille: 100
    personal_account_insurance_types: 310
    account_pays_out_of_scope: true
  )pb");
}

// Expects INVALID_ARGUMENT with a BadRequest naming `field` and the message starting with it.
void ExpectFieldError(const absl::Status& status, const std::string& field) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(BadRequestField(status), field) << status;
  EXPECT_THAT(std::string(status.message()), StartsWith(field + ": "));
}

// ----- ValidateCatalogue -------------------------------------------------------------------------

TEST(ValidateCatalogueTest, AcceptsAValidCatalogueAndItsBoundaries) {
  EXPECT_TRUE(ValidateCatalogue(ValidCatalogue()).ok());
  MedicalCatalogue catalogue = ValidCatalogue();
  catalogue.mutable_items(1)->set_pre_self_pay_permille(1000);
  catalogue.mutable_items(2)->set_unit_price_limit_fen(0);
  EXPECT_TRUE(ValidateCatalogue(catalogue).ok());
  catalogue.mutable_items(1)->set_pre_self_pay_permille(0);
  EXPECT_TRUE(ValidateCatalogue(catalogue).ok());
  catalogue.clear_items();
  EXPECT_TRUE(ValidateCatalogue(catalogue).ok());
}

TEST(ValidateCatalogueTest, EachErrorNamesItsField) {
  {
    MedicalCatalogue c = ValidCatalogue();
    c.set_city(City::CITY_UNSPECIFIED);
    ExpectFieldError(ValidateCatalogue(c), "city");
  }
  {
    MedicalCatalogue c = ValidCatalogue();
    c.clear_version();
    ExpectFieldError(ValidateCatalogue(c), "version");
  }
  for (const char* bad : {"", "XJ01CAA040A00101010144", "XJ01CAA040A0010101014455", "YJ01CAA040A001010101445",
                          "xJ01CAA040A001010101445", "XJ01CAA040A00101010144-", "00110700001000",
                          "00110700001000A", "0011070000100000"}) {
    MedicalCatalogue c = ValidCatalogue();
    c.mutable_items(2)->set_code(bad);
    SCOPED_TRACE(bad);
    ExpectFieldError(ValidateCatalogue(c), "items[2].code");
  }
  {
    MedicalCatalogue c = ValidCatalogue();
    c.mutable_items(3)->set_code("XJ01CAA040A001010101445");
    absl::Status status = ValidateCatalogue(c);
    ExpectFieldError(status, "items[3].code");
    EXPECT_THAT(std::string(status.message()), HasSubstr("items[0]"));
  }
  {
    MedicalCatalogue c = ValidCatalogue();
    c.mutable_items(0)->set_catalogue_class(config::v1::CATALOGUE_CLASS_UNSPECIFIED);
    ExpectFieldError(ValidateCatalogue(c), "items[0].catalogue_class");
  }
  {
    MedicalCatalogue c = ValidCatalogue();
    c.mutable_items(0)->set_catalogue_class(static_cast<config::v1::CatalogueClass>(9));
    ExpectFieldError(ValidateCatalogue(c), "items[0].catalogue_class");
  }
  {
    MedicalCatalogue c = ValidCatalogue();
    c.mutable_items(0)->set_pre_self_pay_permille(100);  // class A
    ExpectFieldError(ValidateCatalogue(c), "items[0].pre_self_pay_permille");
  }
  {
    MedicalCatalogue c = ValidCatalogue();
    c.mutable_items(3)->set_pre_self_pay_permille(100);  // class C
    ExpectFieldError(ValidateCatalogue(c), "items[3].pre_self_pay_permille");
  }
  {
    MedicalCatalogue c = ValidCatalogue();
    c.mutable_items(1)->set_pre_self_pay_permille(1001);
    ExpectFieldError(ValidateCatalogue(c), "items[1].pre_self_pay_permille");
  }
  {
    MedicalCatalogue c = ValidCatalogue();
    c.mutable_items(2)->set_unit_price_limit_fen(-1);
    ExpectFieldError(ValidateCatalogue(c), "items[2].unit_price_limit_fen");
  }
}

// ----- ValidatePolicy ----------------------------------------------------------------------------

TEST(ValidatePolicyTest, AcceptsAValidPolicyAndItsBoundaries) {
  EXPECT_TRUE(ValidatePolicy(ValidPolicy()).ok());
  MedicalPolicy p = ValidPolicy();
  p.mutable_rules(0)->set_fund_ratio_permille(1000);
  p.mutable_rules(0)->set_deductible_per_year_fen(0);
  p.set_cross_city_ratio_reduction_permille(1000);
  p.set_unfiled_ratio_reduction_permille(1000);
  p.set_unfiled_visit_rule(config::v1::UNFILED_VISIT_RULE_REFUSE);
  EXPECT_TRUE(ValidatePolicy(p).ok());
}

TEST(ValidatePolicyTest, EachErrorNamesItsField) {
  struct Case {
    const char* field;
    void (*mutate)(MedicalPolicy&);
  };
  const Case cases[] = {
      {"city", [](MedicalPolicy& p) { p.set_city(City::CITY_UNSPECIFIED); }},
      {"version", [](MedicalPolicy& p) { p.clear_version(); }},
      {"rules[1].insurance_type", [](MedicalPolicy& p) { p.mutable_rules(1)->set_insurance_type(320); }},
      {"rules[1].visit_type",
       [](MedicalPolicy& p) { p.mutable_rules(1)->set_visit_type(config::v1::VISIT_TYPE_UNSPECIFIED); }},
      {"rules[0].hospital_level",
       [](MedicalPolicy& p) {
         p.mutable_rules(0)->set_hospital_level(config::v1::HOSPITAL_LEVEL_UNSPECIFIED);
       }},
      {"rules[2]", [](MedicalPolicy& p) { *p.add_rules() = p.rules(0); }},
      {"rules[0].deductible_per_year_fen",
       [](MedicalPolicy& p) { p.mutable_rules(0)->set_deductible_per_year_fen(-1); }},
      {"rules[1].fund_ratio_permille",
       [](MedicalPolicy& p) { p.mutable_rules(1)->set_fund_ratio_permille(1001); }},
      {"caps[0].insurance_type", [](MedicalPolicy& p) { p.mutable_caps(0)->set_insurance_type(0); }},
      {"caps[1].insurance_type", [](MedicalPolicy& p) { p.mutable_caps(1)->set_insurance_type(310); }},
      {"caps[1].fund_cap_per_year_fen",
       [](MedicalPolicy& p) { p.mutable_caps(1)->set_fund_cap_per_year_fen(0); }},
      {"caps", [](MedicalPolicy& p) { p.mutable_caps()->RemoveLast(); }},
      {"cross_city_ratio_reduction_permille",
       [](MedicalPolicy& p) { p.set_cross_city_ratio_reduction_permille(1001); }},
      {"unfiled_visit_rule",
       [](MedicalPolicy& p) { p.set_unfiled_visit_rule(config::v1::UNFILED_VISIT_RULE_UNSPECIFIED); }},
      {"unfiled_ratio_reduction_permille",
       [](MedicalPolicy& p) { p.set_unfiled_ratio_reduction_permille(1001); }},
      {"personal_account_insurance_types[1]",
       [](MedicalPolicy& p) { p.add_personal_account_insurance_types(311); }},
      {"personal_account_insurance_types[1]",
       [](MedicalPolicy& p) { p.add_personal_account_insurance_types(310); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.field);
    MedicalPolicy policy = ValidPolicy();
    c.mutate(policy);
    ExpectFieldError(ValidatePolicy(policy), c.field);
  }
}

TEST(ValidatePolicyTest, MissingCapNamesTheInsuranceType) {
  MedicalPolicy policy = ValidPolicy();
  policy.mutable_caps()->RemoveLast();
  EXPECT_THAT(std::string(ValidatePolicy(policy).message()), HasSubstr("390"));
}

// ----- MedicalRules::FromMessages ------------------------------------------------------------------

TEST(MedicalRulesTest, FromMessagesIndexesByCity) {
  absl::StatusOr<std::shared_ptr<const MedicalRules>> rules =
      MedicalRules::FromMessages({ValidCatalogue()}, {ValidPolicy()});
  ASSERT_TRUE(rules.ok()) << rules.status();
  ASSERT_NE((*rules)->catalogue(City::CITY_JINZHONG), nullptr);
  EXPECT_EQ((*rules)->catalogue(City::CITY_JINZHONG)->version(), "2026-01");
  ASSERT_NE((*rules)->policy(City::CITY_JINZHONG), nullptr);
  EXPECT_EQ((*rules)->catalogue(City::CITY_TAIYUAN), nullptr);
  EXPECT_EQ((*rules)->policy(City::CITY_UNSPECIFIED), nullptr);
}

TEST(MedicalRulesTest, FromMessagesRefusesInvalidOrDuplicateMessages) {
  MedicalCatalogue bad = ValidCatalogue();
  bad.mutable_items(0)->set_unit_price_limit_fen(-5);
  absl::Status status = MedicalRules::FromMessages({ValidCatalogue(), bad}, {}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BadRequestField(status), "items[0].unit_price_limit_fen");
  EXPECT_THAT(std::string(status.message()), StartsWith("catalogues[1]: "));

  status = MedicalRules::FromMessages({ValidCatalogue(), ValidCatalogue()}, {}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("CITY_JINZHONG"));

  status = MedicalRules::FromMessages({}, {ValidPolicy(), ValidPolicy()}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), StartsWith("policies[1]: "));
}

// ----- MedicalRules::Load ----------------------------------------------------------------------------

std::string CatalogueFile(City city) {
  return absl::StrCat("adapters/", CityName(city), "/medical_catalogue.textproto");
}
std::string PolicyFile(City city) {
  return absl::StrCat("adapters/", CityName(city), "/medical_policy.textproto");
}

// All five cities with their checked-in files, relative to the source tree.
GatewayConfig CheckedInConfig() {
  GatewayConfig config;
  for (City city : kAllCities) {
    config::v1::CityBackendConfig* c = config.add_cities();
    c->set_city(city);
    c->set_medical_catalogue_file(CatalogueFile(city));
    c->set_medical_policy_file(PolicyFile(city));
  }
  return config;
}

// A fresh directory under the test's temp dir.
std::string MakeTempDir() {
  std::string pattern = absl::StrCat(::testing::TempDir(), "medical_rules_test.XXXXXX");
  EXPECT_NE(mkdtemp(pattern.data()), nullptr);
  return pattern;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(MedicalRulesLoadTest, TheFiveCheckedInCataloguesAndPoliciesLoad) {
  absl::StatusOr<std::shared_ptr<const MedicalRules>> loaded =
      MedicalRules::Load(CheckedInConfig(), INTEROP_SOURCE_DIR);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const MedicalRules& rules = **loaded;
  for (City city : kAllCities) {
    SCOPED_TRACE(CityName(city));
    const MedicalCatalogue* catalogue = rules.catalogue(city);
    ASSERT_NE(catalogue, nullptr);
    EXPECT_EQ(catalogue->city(), city);
    EXPECT_GE(catalogue->items_size(), 25);
    EXPECT_LE(catalogue->items_size(), 40);
    std::set<std::string> codes;
    for (const auto& item : catalogue->items()) {
      codes.insert(item.code());
      if (item.catalogue_class() == config::v1::CATALOGUE_CLASS_B) {
        EXPECT_GE(item.pre_self_pay_permille(), 50u) << item.code();
        EXPECT_LE(item.pre_self_pay_permille(), 200u) << item.code();
      }
    }
    for (const char* code : kCodesInAllFiveCatalogues) EXPECT_EQ(codes.count(code), 1u) << code;
    // The shared list is also written at the top of the file.
    const std::string text = ReadFile(absl::StrCat(INTEROP_SOURCE_DIR, "/", CatalogueFile(city)));
    for (const char* code : kCodesInAllFiveCatalogues)
      EXPECT_THAT(text, HasSubstr(absl::StrCat("#   ", code))) << code;

    const MedicalPolicy* policy = rules.policy(city);
    ASSERT_NE(policy, nullptr);
    EXPECT_EQ(policy->city(), city);
    EXPECT_EQ(policy->rules_size(), 18);  // 3 insurance types x 2 visit types x 3 levels
    EXPECT_LE(policy->cross_city_ratio_reduction_permille(), 100u);
    for (const auto& cap : policy->caps()) {
      if (cap.insurance_type() == 310) {
        EXPECT_GE(cap.fund_cap_per_year_fen(), 40000000);
        EXPECT_LE(cap.fund_cap_per_year_fen(), 50000000);
      } else if (cap.insurance_type() == 390) {
        EXPECT_GE(cap.fund_cap_per_year_fen(), 15000000);
        EXPECT_LE(cap.fund_cap_per_year_fen(), 25000000);
      }
    }
    std::vector<uint32_t> account_types(policy->personal_account_insurance_types().begin(),
                                        policy->personal_account_insurance_types().end());
    std::sort(account_types.begin(), account_types.end());
    EXPECT_EQ(account_types, (std::vector<uint32_t>{310, 340}));
  }
}

TEST(MedicalRulesLoadTest, TheFiveCitiesDiffer) {
  absl::StatusOr<std::shared_ptr<const MedicalRules>> loaded =
      MedicalRules::Load(CheckedInConfig(), INTEROP_SOURCE_DIR);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const MedicalRules& rules = **loaded;
  int refuse = 0, reduced = 0, out_of_scope = 0;
  for (City city : kAllCities) {
    const MedicalPolicy& policy = *rules.policy(city);
    refuse += policy.unfiled_visit_rule() == config::v1::UNFILED_VISIT_RULE_REFUSE;
    reduced += policy.unfiled_visit_rule() == config::v1::UNFILED_VISIT_RULE_REDUCED_RATIO;
    out_of_scope += policy.account_pays_out_of_scope();
    for (City other : kAllCities) {
      if (other <= city) continue;
      MedicalCatalogue a = *rules.catalogue(city), b = *rules.catalogue(other);
      b.set_city(a.city());
      EXPECT_FALSE(google::protobuf::util::MessageDifferencer::Equals(a, b))
          << CityName(city) << " " << CityName(other);
      MedicalPolicy p = policy, q = *rules.policy(other);
      q.set_city(p.city());
      EXPECT_FALSE(google::protobuf::util::MessageDifferencer::Equals(p, q))
          << CityName(city) << " " << CityName(other);
    }
  }
  EXPECT_GE(refuse, 2);
  EXPECT_GE(reduced, 2);
  EXPECT_GT(out_of_scope, 0);
  EXPECT_LT(out_of_scope, 5);
}

TEST(MedicalRulesLoadTest, CityWithoutFilesHasNoRules) {
  GatewayConfig config = CheckedInConfig();
  config.mutable_cities(1)->clear_medical_catalogue_file();
  config.mutable_cities(1)->clear_medical_policy_file();
  absl::StatusOr<std::shared_ptr<const MedicalRules>> loaded = MedicalRules::Load(config, INTEROP_SOURCE_DIR);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->catalogue(config.cities(1).city()), nullptr);
  EXPECT_EQ((*loaded)->policy(config.cities(1).city()), nullptr);
  EXPECT_NE((*loaded)->catalogue(config.cities(0).city()), nullptr);
}

TEST(MedicalRulesLoadTest, FileNamingAnotherCityIsRefusedNamingTheFile) {
  // Taiyuan configured with Yangquan's catalogue.
  GatewayConfig config = CheckedInConfig();
  ASSERT_EQ(config.cities(0).city(), City::CITY_TAIYUAN);
  config.mutable_cities(0)->set_medical_catalogue_file(CatalogueFile(City::CITY_YANGQUAN));
  absl::Status status = MedicalRules::Load(config, INTEROP_SOURCE_DIR).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BadRequestField(status), "city");
  EXPECT_THAT(
      std::string(status.message()),
      StartsWith(absl::StrCat(INTEROP_SOURCE_DIR, "/", CatalogueFile(City::CITY_YANGQUAN), ": city: ")));
  EXPECT_THAT(std::string(status.message()), HasSubstr("CITY_YANGQUAN"));

  // Xinzhou configured with Lüliang's policy.
  config = CheckedInConfig();
  ASSERT_EQ(config.cities(3).city(), City::CITY_XINZHOU);
  config.mutable_cities(3)->set_medical_policy_file(PolicyFile(City::CITY_LVLIANG));
  status = MedicalRules::Load(config, INTEROP_SOURCE_DIR).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BadRequestField(status), "city");
  EXPECT_THAT(std::string(status.message()), HasSubstr(PolicyFile(City::CITY_LVLIANG)));
}

TEST(MedicalRulesLoadTest, UnreadableUnparsableAndInvalidFilesAreRefusedNamingTheFile) {
  const std::string dir = MakeTempDir();
  GatewayConfig config;
  config::v1::CityBackendConfig* city = config.add_cities();
  city->set_city(City::CITY_JINZHONG);

  city->set_medical_catalogue_file("missing.textproto");
  absl::Status status = MedicalRules::Load(config, dir).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()), StartsWith(dir + "/missing.textproto: "));

  WriteFile(dir + "/garbled.textproto", "city: CITY_JINZHONG\nversion: \"x\"\nitems { code: }\n");
  city->set_medical_catalogue_file("garbled.textproto");
  status = MedicalRules::Load(config, dir).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), StartsWith(dir + "/garbled.textproto: "));
  EXPECT_THAT(std::string(status.message()), HasSubstr("line 3"));

  MedicalCatalogue invalid = ValidCatalogue();
  invalid.mutable_items(0)->set_pre_self_pay_permille(100);
  std::string text;
  ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(invalid, &text));
  WriteFile(dir + "/invalid.textproto", text);
  city->set_medical_catalogue_file(dir + "/invalid.textproto");  // absolute: base dir not applied
  status = MedicalRules::Load(config, "/nonexistent").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BadRequestField(status), "items[0].pre_self_pay_permille");
  EXPECT_THAT(std::string(status.message()),
              StartsWith(dir + "/invalid.textproto: items[0].pre_self_pay_permille: "));

  MedicalPolicy no_unfiled_rule = ValidPolicy();
  no_unfiled_rule.clear_unfiled_visit_rule();
  ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(no_unfiled_rule, &text));
  WriteFile(dir + "/policy.textproto", text);
  city->clear_medical_catalogue_file();
  city->set_medical_policy_file("policy.textproto");
  status = MedicalRules::Load(config, dir + "/").status();
  EXPECT_EQ(BadRequestField(status), "unfiled_visit_rule");
  EXPECT_THAT(std::string(status.message()), StartsWith(dir + "/policy.textproto: "));
}

TEST(MedicalRulesLoadTest, CityConfiguredTwiceIsRefused) {
  GatewayConfig config = CheckedInConfig();
  *config.add_cities() = config.cities(2);
  absl::Status status = MedicalRules::Load(config, INTEROP_SOURCE_DIR).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("cities[5]"));
}

}  // namespace
}  // namespace interop::settlement
