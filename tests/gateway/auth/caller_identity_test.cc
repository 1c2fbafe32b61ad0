#include "gateway/auth/caller_identity.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gateway/base/cities.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::auth {
namespace {

using ::testing::HasSubstr;

TEST(RoleNameTest, EveryRoleRoundTrips) {
  for (CallerRole role : kAllCallerRoles) {
    std::optional<CallerRole> back = RoleFromName(RoleName(role));
    ASSERT_TRUE(back.has_value()) << RoleName(role);
    EXPECT_EQ(*back, role);
  }
}

TEST(RoleNameTest, NamesAreThoseOfTheCertificates) {
  EXPECT_EQ(RoleName(CallerRole::kHospital), "hospital");
  EXPECT_EQ(RoleName(CallerRole::kMedicalInsuranceBureau), "medical-insurance-bureau");
  EXPECT_EQ(RoleName(CallerRole::kSocialSecurityBureau), "social-security-bureau");
  EXPECT_EQ(RoleName(CallerRole::kHouseholdOffice), "household-office");
  EXPECT_EQ(RoleName(CallerRole::kCitizenPortal), "citizen-portal");
  EXPECT_EQ(RoleName(CallerRole::kOperator), "operator");
  EXPECT_EQ(RoleName(static_cast<CallerRole>(99)), "unknown");
}

TEST(RoleNameTest, OnlyTheExactSpellingIsAccepted) {
  for (const char* name : {"", "Hospital", "HOSPITAL", "hospital ", "medical_insurance_bureau", "surgeon",
                           "unknown", "gateway"}) {
    EXPECT_FALSE(RoleFromName(name).has_value()) << name;
  }
}

TEST(ParseCallerUriTest, AcceptsEveryCityAndRole) {
  for (City city : kAllCities) {
    for (CallerRole role : kAllCallerRoles) {
      std::string uri = absl::StrCat("interop://", CityName(city), "/", RoleName(role), "/ORG-1a");
      absl::StatusOr<CallerIdentity> id = ParseCallerUri(uri);
      ASSERT_TRUE(id.ok()) << uri << ": " << id.status();
      EXPECT_EQ(id->city, city);
      EXPECT_EQ(id->role, role);
      EXPECT_EQ(id->organization_id, "ORG-1a");
      EXPECT_EQ(id->uri, uri);
      EXPECT_TRUE(id->certificate_sha256_hex.empty());
      EXPECT_EQ(id->not_after, absl::InfiniteFuture());
    }
  }
}

TEST(ParseCallerUriTest, DevelopmentHospital) {
  absl::StatusOr<CallerIdentity> id = ParseCallerUri("interop://jinzhong/hospital/H14070200001");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->city, City::CITY_JINZHONG);
  EXPECT_EQ(id->role, CallerRole::kHospital);
  EXPECT_EQ(id->organization_id, "H14070200001");
}

// The INVALID_ARGUMENT message for `uri`.
std::string ErrorOf(absl::string_view uri) {
  absl::StatusOr<CallerIdentity> id = ParseCallerUri(uri);
  if (id.ok()) {
    ADD_FAILURE() << "accepted: " << uri;
    return "";
  }
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << id.status();
  return std::string(id.status().message());
}

TEST(ParseCallerUriTest, WrongScheme) {
  for (const char* uri :
       {"", "taiyuan/hospital/H1", "https://taiyuan/hospital/H1", "INTEROP://taiyuan/hospital/H1",
        "Interop://taiyuan/hospital/H1", "interop:/taiyuan/hospital/H1", "interop:taiyuan/hospital/H1",
        " interop://taiyuan/hospital/H1"}) {
    EXPECT_THAT(ErrorOf(uri), HasSubstr("scheme")) << uri;
  }
}

TEST(ParseCallerUriTest, UnknownCity) {
  for (const char* uri :
       {"interop://gateway/operator/shanxi-interop-gateway", "interop://beijing/hospital/H1",
        "interop://Taiyuan/hospital/H1", "interop://TAIYUAN/hospital/H1", "interop://lüliang/hospital/H1",
        "interop:///taiyuan/hospital/H1", "interop://taiyuan:443/hospital/H1",
        "interop://user@taiyuan/hospital/H1", "interop://140100/hospital/H1"}) {
    EXPECT_THAT(ErrorOf(uri), HasSubstr("unknown city")) << uri;
  }
}

TEST(ParseCallerUriTest, UnknownRole) {
  for (const char* uri : {"interop://taiyuan/surgeon/H14010500001", "interop://taiyuan/Hospital/H1",
                          "interop://taiyuan//H1", "interop://taiyuan/medical_insurance_bureau/MIB140100"}) {
    EXPECT_THAT(ErrorOf(uri), HasSubstr("unknown role")) << uri;
  }
}

TEST(ParseCallerUriTest, EmptyOrganization) {
  EXPECT_THAT(ErrorOf("interop://taiyuan/hospital/"), HasSubstr("org-id is empty"));
}

TEST(ParseCallerUriTest, BadOrganizationCharacters) {
  for (const char* uri :
       {"interop://taiyuan/hospital/H1?x=1", "interop://taiyuan/hospital/H1#frag",
        "interop://taiyuan/hospital/H%31", "interop://taiyuan/hospital/H 1", "interop://taiyuan/hospital/H_1",
        "interop://taiyuan/hospital/H.1", "interop://taiyuan/hospital/医院"}) {
    EXPECT_THAT(ErrorOf(uri), HasSubstr("org-id may hold only")) << uri;
  }
  EXPECT_THAT(ErrorOf(std::string("interop://taiyuan/hospital/H1\0x", 30)),
              HasSubstr("org-id may hold only"));
}

TEST(ParseCallerUriTest, TooFewOrTooManySegments) {
  EXPECT_THAT(ErrorOf("interop://"), HasSubstr("unknown city"));
  for (const char* uri : {"interop://taiyuan", "interop://taiyuan/", "interop://taiyuan/hospital"}) {
    EXPECT_THAT(ErrorOf(uri), HasSubstr("three path segments")) << uri;
  }
  for (const char* uri : {"interop://taiyuan/hospital/H1/", "interop://taiyuan/hospital/H1/extra",
                          "interop://taiyuan/hospital/H1/a/b"}) {
    EXPECT_THAT(ErrorOf(uri), HasSubstr("after the org-id")) << uri;
  }
}

TEST(ParseCallerUriTest, ErrorQuotesTheUriEscapedAndShortened) {
  std::string message = ErrorOf("interop://taiyuan/hospital/H1\n");
  EXPECT_THAT(message, HasSubstr("\"interop://taiyuan/hospital/H1\\n\""));
  std::string long_uri = absl::StrCat("interop://taiyuan/hospital/", std::string(1000, 'x'), "!");
  message = ErrorOf(long_uri);
  EXPECT_THAT(message, HasSubstr("...")) << message;
  EXPECT_LT(message.size(), 400u);
}

}  // namespace
}  // namespace interop::auth
