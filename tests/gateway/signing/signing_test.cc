#include "gateway/signing/signing.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/signing/test_keys.h"

namespace interop::signing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using test_support::NewPrivateKeyPem;
using test_support::PublicPemOf;

std::unique_ptr<SigningKey> MustLoad(const std::string& pem) {
  absl::StatusOr<std::unique_ptr<SigningKey>> key = SigningKey::FromPem(pem, "test key");
  EXPECT_TRUE(key.ok()) << key.status();
  return key.ok() ? *std::move(key) : nullptr;
}

TEST(SigningTest, EcdsaP256SignsAndVerifies) {
  std::unique_ptr<SigningKey> key = MustLoad(NewPrivateKeyPem("P-256"));
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->algorithm(), Algorithm::kEcdsaP256Sha256);
  absl::StatusOr<std::string> signature = key->Sign("payload bytes");
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_TRUE(key->public_key().Verify("payload bytes", *signature));
  EXPECT_FALSE(key->public_key().Verify("payload byteS", *signature));
  std::string flipped = *signature;
  flipped[flipped.size() / 2] ^= 0x01;
  EXPECT_FALSE(key->public_key().Verify("payload bytes", flipped));
}

TEST(SigningTest, Sm2WithSm3SignsAndVerifiesOnThisOpenSsl) {
  ASSERT_TRUE(Sm2Available()) << "Debian 12's OpenSSL 3.0 offers SM2 and SM3";
  std::unique_ptr<SigningKey> key = MustLoad(NewPrivateKeyPem("SM2"));
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->algorithm(), Algorithm::kSm2Sm3);
  absl::StatusOr<std::string> signature = key->Sign("payload bytes");
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_TRUE(key->public_key().Verify("payload bytes", *signature));
  EXPECT_FALSE(key->public_key().Verify("payload bytez", *signature));
  // The public key read back from its DER encoding still checks SM2 signatures.
  absl::StatusOr<std::unique_ptr<PublicKey>> copy = PublicKey::FromDer(key->public_key().der());
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_EQ((*copy)->algorithm(), Algorithm::kSm2Sm3);
  EXPECT_TRUE((*copy)->Verify("payload bytes", *signature));
}

TEST(SigningTest, AnotherKeysSignatureIsRefused) {
  std::unique_ptr<SigningKey> a = MustLoad(NewPrivateKeyPem("P-256"));
  std::unique_ptr<SigningKey> b = MustLoad(NewPrivateKeyPem("P-256"));
  absl::StatusOr<std::string> signature = a->Sign("m");
  ASSERT_TRUE(signature.ok());
  EXPECT_FALSE(b->public_key().Verify("m", *signature));
}

TEST(SigningTest, PublicKeyFromPemMatchesThePrivateKey) {
  std::string pem = NewPrivateKeyPem("P-256");
  std::unique_ptr<SigningKey> key = MustLoad(pem);
  absl::StatusOr<std::unique_ptr<PublicKey>> public_key = PublicKey::FromPem(PublicPemOf(pem), "public");
  ASSERT_TRUE(public_key.ok()) << public_key.status();
  EXPECT_EQ((*public_key)->der(), key->public_key().der());
  absl::StatusOr<std::string> signature = key->Sign("m");
  EXPECT_TRUE((*public_key)->Verify("m", *signature));
}

TEST(SigningTest, OtherCurvesAndGarbageAreRefusedNamingTheSource) {
  absl::StatusOr<std::unique_ptr<SigningKey>> p384 = SigningKey::FromPem(NewPrivateKeyPem("P-384"), "p384.key");
  ASSERT_FALSE(p384.ok());
  EXPECT_EQ(p384.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(p384.status().message()), HasSubstr("p384.key"));
  EXPECT_THAT(std::string(p384.status().message()), HasSubstr("P-256"));
  EXPECT_EQ(SigningKey::FromPem("not a key", "x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PublicKey::FromPem("not a key", "x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PublicKey::FromDer("\x30\x03garbage").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SigningKey::FromPemFile("/nonexistent/key.pem").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SigningTest, KeyIdsAndAlgorithmNames) {
  std::unique_ptr<SigningKey> key = MustLoad(NewPrivateKeyPem("P-256"));
  const std::string id = DeriveKeyId(common::v1::CITY_TAIYUAN, key->public_key());
  EXPECT_THAT(id, MatchesRegex("taiyuan-[0-9a-f]{16}"));
  EXPECT_EQ(id, DeriveKeyId(common::v1::CITY_TAIYUAN, key->public_key()));
  EXPECT_EQ(AlgorithmName(Algorithm::kSm2Sm3), "sm2-sm3");
  EXPECT_EQ(AlgorithmForName("ecdsa-p256-sha256"), Algorithm::kEcdsaP256Sha256);
  EXPECT_EQ(AlgorithmForName("rsa"), std::nullopt);
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace interop::signing
