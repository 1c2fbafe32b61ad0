// PolicyFile: loads the policy from a file in a temp dir and swaps in a new one when the file
// changes; a refused file leaves the old policy in force and is not retried until it changes again.
#include "gateway/policy/policy_file.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gateway/base/rich_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "reference_policy.h"

namespace interop::policy {
namespace {

using ::interop::policy::test_support::kGetHouseholdRecord;
using ::interop::policy::test_support::kGetInsuranceStatus;
using ::testing::HasSubstr;

using common::v1::CALLER_ROLE_HOSPITAL;
using common::v1::CALLER_ROLE_HOUSEHOLD_OFFICE;
using common::v1::CALLER_ROLE_OPERATOR;
using common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION;
using common::v1::PURPOSE_TREATMENT;

// Hospitals may read insurance status.
constexpr char kPolicyA[] = R"pb(
  grants {
    role: CALLER_ROLE_HOSPITAL
    method: "/interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus"
    purposes: PURPOSE_TREATMENT
    visible_fields: "*"
  }
)pb";

// As A, and household offices may read household records (longer than A).
constexpr char kPolicyB[] = R"pb(
  grants {
    role: CALLER_ROLE_HOSPITAL
    method: "/interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus"
    purposes: PURPOSE_TREATMENT
    visible_fields: "*"
  }
  grants {
    role: CALLER_ROLE_HOUSEHOLD_OFFICE
    method: "/interop.household.v1.HouseholdRegistrationService/GetHouseholdRecord"
    purposes: PURPOSE_HOUSEHOLD_ADMINISTRATION
    visible_fields: "*"
  }
)pb";

// The same size as A (CALLER_ROLE_OPERATOR has as many letters as CALLER_ROLE_HOSPITAL).
constexpr char kPolicyOperator[] = R"pb(
  grants {
    role: CALLER_ROLE_OPERATOR
    method: "/interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus"
    purposes: PURPOSE_TREATMENT
    visible_fields: "*"
  }
)pb";

// Parses, but does not validate: the method does not exist.
constexpr char kPolicyInvalid[] = R"pb(
  grants {
    role: CALLER_ROLE_HOSPITAL
    method: "/interop.medical.v1.MedicalInsuranceService/GetInsuranceHistoryOfEveryone"
    purposes: PURPOSE_TREATMENT
  }
)pb";

bool Allows(const std::shared_ptr<const AccessPolicy>& policy, CallerRole role, const std::string& method,
            Purpose purpose) {
  return policy != nullptr && policy->Authorize(role, method, purpose, /*personal=*/true).ok();
}

bool HospitalAllowed(const std::shared_ptr<const AccessPolicy>& policy) {
  return Allows(policy, CALLER_ROLE_HOSPITAL, kGetInsuranceStatus, PURPOSE_TREATMENT);
}

bool HouseholdOfficeAllowed(const std::shared_ptr<const AccessPolicy>& policy) {
  return Allows(policy, CALLER_ROLE_HOUSEHOLD_OFFICE, kGetHouseholdRecord, PURPOSE_HOUSEHOLD_ADMINISTRATION);
}

class PolicyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ =
        absl::StrCat(::testing::TempDir(), "/policy_file_test_", getpid(), "_", info->name(), ".textproto");
    std::remove(path_.c_str());
  }
  void TearDown() override {
    std::remove(path_.c_str());
    std::remove((path_ + ".new").c_str());
  }

  void Write(const std::string& text) { WriteTo(path_, text); }
  static void WriteTo(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    ASSERT_TRUE(out) << "cannot write " << path;
  }

  std::unique_ptr<PolicyFile> OpenOrDie() {
    absl::StatusOr<std::unique_ptr<PolicyFile>> file = PolicyFile::Open(path_);
    EXPECT_TRUE(file.ok()) << file.status();
    return file.ok() ? *std::move(file) : nullptr;
  }

  std::string path_;
};

TEST_F(PolicyFileTest, MissingFileIsNotFound) {
  absl::StatusOr<std::unique_ptr<PolicyFile>> file = PolicyFile::Open(path_);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(file.status().message(), HasSubstr(path_));
}

TEST_F(PolicyFileTest, InvalidFileAtOpenIsInvalidArgumentNamingPathAndField) {
  Write(kPolicyInvalid);
  absl::StatusOr<std::unique_ptr<PolicyFile>> file = PolicyFile::Open(path_);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(file.status().message(), HasSubstr(path_));
  EXPECT_THAT(file.status().message(), HasSubstr("grants[0].method"));
}

TEST_F(PolicyFileTest, SyntaxErrorAtOpenNamesTheLine) {
  Write("grants {\n  role: CALLER_ROLE_HOSPITAL\n  method: \n}\n");
  absl::StatusOr<std::unique_ptr<PolicyFile>> file = PolicyFile::Open(path_);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(file.status().message(), HasSubstr(path_));
  EXPECT_THAT(file.status().message(), HasSubstr("line 4"));
}

TEST_F(PolicyFileTest, OpensTheReferencePolicy) {
  absl::StatusOr<std::unique_ptr<PolicyFile>> file = PolicyFile::Open(test_support::ReferencePolicyPath());
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_TRUE(HospitalAllowed((*file)->Current()));
  EXPECT_TRUE(HouseholdOfficeAllowed((*file)->Current()));
  EXPECT_NE((*file)->Current()->RateLimitFor(CALLER_ROLE_OPERATOR), nullptr);
}

TEST_F(PolicyFileTest, CurrentIsThePolicyInTheFile) {
  Write(kPolicyA);
  std::unique_ptr<PolicyFile> file = OpenOrDie();
  ASSERT_NE(file, nullptr);
  std::shared_ptr<const AccessPolicy> policy = file->Current();
  ASSERT_NE(policy, nullptr);
  EXPECT_TRUE(HospitalAllowed(policy));
  EXPECT_FALSE(HouseholdOfficeAllowed(policy));
  // The same snapshot until something changes.
  EXPECT_EQ(file->Current(), policy);
}

TEST_F(PolicyFileTest, UnchangedFileIsNotReloaded) {
  Write(kPolicyA);
  std::unique_ptr<PolicyFile> file = OpenOrDie();
  ASSERT_NE(file, nullptr);
  std::shared_ptr<const AccessPolicy> before = file->Current();
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<bool> reloaded = file->ReloadIfChanged();
    ASSERT_TRUE(reloaded.ok()) << reloaded.status();
    EXPECT_FALSE(*reloaded);
  }
  EXPECT_EQ(file->Current(), before);
}

TEST_F(PolicyFileTest, ChangedValidFileIsReloaded) {
  Write(kPolicyA);
  std::unique_ptr<PolicyFile> file = OpenOrDie();
  ASSERT_NE(file, nullptr);
  std::shared_ptr<const AccessPolicy> before = file->Current();

  Write(kPolicyB);  // a different size, so the change is seen whatever the mtime resolution
  absl::StatusOr<bool> reloaded = file->ReloadIfChanged();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_TRUE(*reloaded);
  EXPECT_TRUE(HouseholdOfficeAllowed(file->Current()));
  EXPECT_TRUE(HospitalAllowed(file->Current()));
  // A call that took the old snapshot keeps it.
  EXPECT_FALSE(HouseholdOfficeAllowed(before));

  reloaded = file->ReloadIfChanged();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_FALSE(*reloaded);

  // And back again: removing a grant takes effect too.
  Write(kPolicyA);
  reloaded = file->ReloadIfChanged();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_TRUE(*reloaded);
  EXPECT_FALSE(HouseholdOfficeAllowed(file->Current()));
}

TEST_F(PolicyFileTest, FileReplacedByRenameWithTheSameSizeIsReloaded) {
  ASSERT_EQ(std::string(kPolicyA).size(), std::string(kPolicyOperator).size());
  Write(kPolicyA);
  std::unique_ptr<PolicyFile> file = OpenOrDie();
  ASSERT_NE(file, nullptr);

  // Write-then-rename, as editors and config managers do: a new inode, the same size.
  WriteTo(path_ + ".new", kPolicyOperator);
  ASSERT_EQ(std::rename((path_ + ".new").c_str(), path_.c_str()), 0);
  absl::StatusOr<bool> reloaded = file->ReloadIfChanged();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_TRUE(*reloaded);
  EXPECT_FALSE(HospitalAllowed(file->Current()));
  EXPECT_TRUE(Allows(file->Current(), CALLER_ROLE_OPERATOR, kGetInsuranceStatus, PURPOSE_TREATMENT));
}

TEST_F(PolicyFileTest, InvalidChangeIsRefusedAndNotRetriedUntilTheFileChangesAgain) {
  Write(kPolicyA);
  std::unique_ptr<PolicyFile> file = OpenOrDie();
  ASSERT_NE(file, nullptr);
  std::shared_ptr<const AccessPolicy> before = file->Current();

  Write(kPolicyInvalid);
  absl::StatusOr<bool> reloaded = file->ReloadIfChanged();
  ASSERT_FALSE(reloaded.ok());
  EXPECT_EQ(reloaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(reloaded.status().message(), HasSubstr(path_));
  EXPECT_THAT(reloaded.status().message(), HasSubstr("grants[0].method"));
  // The old policy stays in force.
  EXPECT_EQ(file->Current(), before);
  EXPECT_TRUE(HospitalAllowed(file->Current()));

  // Not retried while the file stays as it is.
  for (int i = 0; i < 3; ++i) {
    reloaded = file->ReloadIfChanged();
    ASSERT_TRUE(reloaded.ok()) << reloaded.status();
    EXPECT_FALSE(*reloaded);
  }
  EXPECT_EQ(file->Current(), before);

  // Fixed: taken.
  Write(kPolicyB);
  reloaded = file->ReloadIfChanged();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_TRUE(*reloaded);
  EXPECT_TRUE(HouseholdOfficeAllowed(file->Current()));
}

TEST_F(PolicyFileTest, SyntaxErrorOnReloadKeepsTheOldPolicy) {
  Write(kPolicyA);
  std::unique_ptr<PolicyFile> file = OpenOrDie();
  ASSERT_NE(file, nullptr);
  Write(std::string(kPolicyA) + "grants {\n");
  absl::StatusOr<bool> reloaded = file->ReloadIfChanged();
  ASSERT_FALSE(reloaded.ok());
  EXPECT_EQ(reloaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(reloaded.status().message(), HasSubstr("line"));
  EXPECT_TRUE(HospitalAllowed(file->Current()));
}

TEST_F(PolicyFileTest, DeletedFileKeepsTheOldPolicyUntilItReturns) {
  Write(kPolicyA);
  std::unique_ptr<PolicyFile> file = OpenOrDie();
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(std::remove(path_.c_str()), 0);

  absl::StatusOr<bool> reloaded = file->ReloadIfChanged();
  ASSERT_FALSE(reloaded.ok());
  EXPECT_EQ(reloaded.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(HospitalAllowed(file->Current()));
  reloaded = file->ReloadIfChanged();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_FALSE(*reloaded);

  Write(kPolicyB);
  reloaded = file->ReloadIfChanged();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_TRUE(*reloaded);
  EXPECT_TRUE(HouseholdOfficeAllowed(file->Current()));
}

}  // namespace
}  // namespace interop::policy
