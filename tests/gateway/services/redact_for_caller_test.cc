#include "gateway/base/rich_status.h"
#include "gateway/services/service_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::services {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(RedactForCallerTest, InternalErrorsKeepTheCityAndTheRequestIdButNotTheValue) {
  absl::Status translated = absl::InternalError(
      "city jinzhong answered GetMedicalEnrollment with balance \"12.345\": more than two decimals");
  absl::Status told = RedactForCaller(translated, "req-0001");
  EXPECT_EQ(told.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(told.message(), HasSubstr("city jinzhong"));
  EXPECT_THAT(told.message(), HasSubstr("req-0001"));
  EXPECT_THAT(told.message(), Not(HasSubstr("12.345")));
  EXPECT_THAT(told.message(), Not(HasSubstr("balance")));

  told = RedactForCaller(absl::DataLossError("stored record 17 does not parse"), "req-0002");
  EXPECT_EQ(told.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(told.message(), HasSubstr("the gateway"));
  EXPECT_THAT(told.message(), Not(HasSubstr("record 17")));
}

TEST(RedactForCallerTest, OtherErrorsAreUnchanged) {
  for (const absl::Status& status :
       {absl::OkStatus(), FieldError("person.resident_id", "bad check character"),
        absl::UnavailableError("city lvliang did not answer within its deadline of 2s"),
        Refusal(absl::StatusCode::kPermissionDenied, "NOT_OWN_RECORD", "not yours")}) {
    EXPECT_EQ(RedactForCaller(status, "req"), status);
  }
}

}  // namespace
}  // namespace interop::services
