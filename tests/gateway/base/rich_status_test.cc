// The rich error model helpers (gateway/base/rich_status.h): each detail attached is read back, and
// survives the trip through grpc::Status (what a caller of the gateway receives).
#include "gateway/base/rich_status.h"

#include <optional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace interop {
namespace {

TEST(RichStatusTest, FieldErrorIsInvalidArgumentNamingTheField) {
  absl::Status status = FieldError("person.resident_id", "missing");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "person.resident_id: missing");
  EXPECT_EQ(BadRequestField(status), "person.resident_id");
  EXPECT_EQ(ErrorReason(status), "");
  EXPECT_EQ(RetryDelay(status), std::nullopt);
}

TEST(RichStatusTest, ARefusalCarriesItsReasonDomainAndMetadata) {
  absl::Status status = Refusal(absl::StatusCode::kPermissionDenied, "PURPOSE_NOT_ALLOWED", "not for this purpose",
                                {{"purpose", "PURPOSE_AUDIT"}});
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrorReason(status), "PURPOSE_NOT_ALLOWED");
  grpc::Status wire = ToGrpcStatus(status);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(wire.error_details()));
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(details.details(0).UnpackTo(&info));
  EXPECT_EQ(info.domain(), kErrorDomain);
  EXPECT_EQ(info.metadata().at("purpose"), "PURPOSE_AUDIT");
}

TEST(RichStatusTest, ARetryDelayIsReadBackToTheMillisecond) {
  absl::Status status = WithRetryDelay(absl::UnavailableError("busy"), absl::Milliseconds(1667));
  EXPECT_EQ(RetryDelay(status), absl::Milliseconds(1667));
  EXPECT_EQ(RetryDelay(WithRetryDelay(absl::UnavailableError("busy"), absl::Seconds(2))), absl::Seconds(2));
  EXPECT_EQ(RetryDelay(absl::UnavailableError("no delay")), std::nullopt);
}

TEST(RichStatusTest, EveryDetailSurvivesTheTripThroughGrpcStatus) {
  absl::Status status = WithRetryDelay(
      WithFieldViolation(Refusal(absl::StatusCode::kAlreadyExists, "IDEMPOTENCY_KEY_REUSED", "used"),
                         "idempotency_key", "already used"),
      absl::Seconds(1));
  grpc::Status wire = ToGrpcStatus(status);
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(wire.error_message(), "used");
  absl::Status back = FromGrpcStatus(wire);
  EXPECT_EQ(back.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ErrorReason(back), "IDEMPOTENCY_KEY_REUSED");
  EXPECT_EQ(BadRequestField(back), "idempotency_key");
  EXPECT_EQ(RetryDelay(back), absl::Seconds(1));
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(RichStatusTest, APrefixedMessageKeepsTheCodeAndTheDetails) {
  absl::Status status = WithMessagePrefix(FieldError("visit.items[0].code", "unknown"), "city taiyuan");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "city taiyuan: visit.items[0].code: unknown");
  EXPECT_EQ(BadRequestField(status), "visit.items[0].code");
  EXPECT_TRUE(WithMessagePrefix(absl::OkStatus(), "ignored").ok());
}

}  // namespace
}  // namespace interop
