// CheckpointSigner / CheckpointVerifier: ECDSA P-256 with SHA-256 from PEM files.
#include "gateway/accesslog/signing.h"

#include <openssl/err.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/accesslog/test_support.h"

namespace interop::accesslog {
namespace {

using ::interop::accesslog::testing::KeyFiles;
using ::interop::accesslog::testing::TempDir;
using ::interop::accesslog::testing::WriteKeyFiles;
using ::testing::HasSubstr;

class SigningTest : public ::testing::Test {
 protected:
  SigningTest() : keys_(WriteKeyFiles(dir_.path(), "gateway")) {}
  TempDir dir_;
  KeyFiles keys_;
};

TEST_F(SigningTest, SignaturesVerifyWithTheCertificateAndThePublicKey) {
  absl::StatusOr<std::unique_ptr<CheckpointSigner>> signer = CheckpointSigner::FromPemFile(keys_.private_key);
  ASSERT_TRUE(signer.ok()) << signer.status();
  absl::StatusOr<std::string> signature = (*signer)->Sign("checkpoint message");
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_EQ((*signature)[0], '\x30') << "a DER SEQUENCE";

  for (const std::string& file : {keys_.certificate, keys_.public_key}) {
    absl::StatusOr<std::unique_ptr<CheckpointVerifier>> verifier = CheckpointVerifier::FromPemFile(file);
    ASSERT_TRUE(verifier.ok()) << verifier.status();
    EXPECT_TRUE((*verifier)->Verify("checkpoint message", *signature));
    EXPECT_FALSE((*verifier)->Verify("checkpoint messagE", *signature));
    EXPECT_FALSE((*verifier)->Verify("checkpoint message", "not a signature"));
    EXPECT_FALSE((*verifier)->Verify("checkpoint message", ""));
    EXPECT_TRUE((*signer)->Matches(**verifier));
  }
  EXPECT_EQ(ERR_peek_error(), 0u) << "failed verifications leave no OpenSSL errors queued";
}

TEST_F(SigningTest, AnotherKeyDoesNotMatchOrVerify) {
  KeyFiles other = WriteKeyFiles(dir_.path(), "other");
  absl::StatusOr<std::unique_ptr<CheckpointSigner>> signer = CheckpointSigner::FromPemFile(keys_.private_key);
  absl::StatusOr<std::unique_ptr<CheckpointVerifier>> verifier =
      CheckpointVerifier::FromPemFile(other.certificate);
  ASSERT_TRUE(signer.ok() && verifier.ok());
  EXPECT_FALSE((*signer)->Matches(**verifier));
  absl::StatusOr<std::string> signature = (*signer)->Sign("m");
  ASSERT_TRUE(signature.ok());
  EXPECT_FALSE((*verifier)->Verify("m", *signature));
}

TEST_F(SigningTest, RejectsOtherCurvesAndUnreadableFiles) {
  KeyFiles p384 = WriteKeyFiles(dir_.path(), "p384", "P-384");
  absl::StatusOr<std::unique_ptr<CheckpointSigner>> signer = CheckpointSigner::FromPemFile(p384.private_key);
  EXPECT_EQ(signer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(signer.status().message(), HasSubstr("EC P-256"));
  EXPECT_THAT(signer.status().message(), HasSubstr(p384.private_key));
  EXPECT_EQ(CheckpointVerifier::FromPemFile(p384.certificate).status().code(),
            absl::StatusCode::kInvalidArgument);

  absl::StatusOr<std::unique_ptr<CheckpointVerifier>> missing =
      CheckpointVerifier::FromPemFile(dir_.File("nope"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.status().message(), HasSubstr("cannot be read"));

  std::ofstream(dir_.File("garbage.pem"))
      << "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
  EXPECT_EQ(CheckpointVerifier::FromPemFile(dir_.File("garbage.pem")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckpointVerifier::FromPemFile(keys_.private_key).status().code(),
            absl::StatusCode::kInvalidArgument)
      << "a private key file is neither a certificate nor a public key";
  EXPECT_EQ(CheckpointSigner::FromPemFile(keys_.public_key).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ERR_peek_error(), 0u);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// After a key rotation the verifier holds the current key and the earlier ones: a signature by any
// of them verifies, and one by a key it does not hold does not.
TEST_F(SigningTest, ABundleOfCertificatesVerifiesTheSignaturesOfEachOfItsKeys) {
  KeyFiles earlier = WriteKeyFiles(dir_.path(), "earlier");
  KeyFiles stranger = WriteKeyFiles(dir_.path(), "stranger");
  // The current certificate, a private key block (skipped), and the earlier key's public key.
  std::ofstream(dir_.File("bundle.pem")) << ReadAll(keys_.certificate) << ReadAll(stranger.private_key)
                                         << ReadAll(earlier.public_key);
  absl::StatusOr<std::unique_ptr<CheckpointVerifier>> bundle = CheckpointVerifier::FromPemFile(dir_.File("bundle.pem"));
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_EQ((*bundle)->key_count(), 2u);
  absl::StatusOr<std::unique_ptr<CheckpointVerifier>> files =
      CheckpointVerifier::FromPemFiles({keys_.certificate, earlier.certificate});
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ((*files)->key_count(), 2u);

  for (const KeyFiles* keys : {&keys_, &earlier, &stranger}) {
    absl::StatusOr<std::unique_ptr<CheckpointSigner>> signer = CheckpointSigner::FromPemFile(keys->private_key);
    ASSERT_TRUE(signer.ok()) << signer.status();
    absl::StatusOr<std::string> signature = (*signer)->Sign("checkpoint");
    ASSERT_TRUE(signature.ok());
    const bool trusted = keys != &stranger;
    EXPECT_EQ((*bundle)->Verify("checkpoint", *signature), trusted) << keys->private_key;
    EXPECT_EQ((*files)->Verify("checkpoint", *signature), trusted) << keys->private_key;
    EXPECT_FALSE((*bundle)->Verify("checkpoinT", *signature));
    EXPECT_EQ((*signer)->Matches(**bundle), trusted);
  }
  EXPECT_EQ(ERR_peek_error(), 0u);
}

// The gateway's certificate file may be a chain (its certificate, then its CA's, which a TLS server
// sends): the CA certificates are skipped, whatever their key, as the first certificate alone was
// used before bundles.
TEST_F(SigningTest, AChainFileGivesItsLeafKeyOnly) {
  const std::string ca_key = dir_.File("ca.key");
  const std::string ca_cert = dir_.File("ca.pem");
  ASSERT_EQ(std::system(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout " + ca_key +
                         " -out " + ca_cert + " -days 1 -subj /CN=test-ca -addext basicConstraints=critical,CA:TRUE "
                         ">/dev/null 2>&1")
                            .c_str()),
            0);
  std::ofstream(dir_.File("chain.pem")) << ReadAll(keys_.certificate) << ReadAll(ca_cert);
  absl::StatusOr<std::unique_ptr<CheckpointVerifier>> chain = CheckpointVerifier::FromPemFile(dir_.File("chain.pem"));
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_EQ((*chain)->key_count(), 1u);
  absl::StatusOr<std::unique_ptr<CheckpointSigner>> signer = CheckpointSigner::FromPemFile(keys_.private_key);
  ASSERT_TRUE(signer.ok());
  absl::StatusOr<std::string> signature = (*signer)->Sign("checkpoint");
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE((*chain)->Verify("checkpoint", *signature));
  EXPECT_EQ(CheckpointVerifier::FromPemFile(ca_cert).status().code(), absl::StatusCode::kInvalidArgument)
      << "a CA certificate alone holds no checkpoint key";
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(SigningTest, ABundleWithAKeyOnAnotherCurveOrNoFilesIsRefused) {
  KeyFiles p384 = WriteKeyFiles(dir_.path(), "p384", "P-384");
  std::ofstream(dir_.File("mixed.pem")) << ReadAll(keys_.certificate) << ReadAll(p384.certificate);
  absl::StatusOr<std::unique_ptr<CheckpointVerifier>> mixed = CheckpointVerifier::FromPemFile(dir_.File("mixed.pem"));
  EXPECT_EQ(mixed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mixed.status().message(), HasSubstr("EC P-256"));
  EXPECT_EQ(CheckpointVerifier::FromPemFiles({}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckpointVerifier::FromPemFiles({keys_.certificate, dir_.File("nope")}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ERR_peek_error(), 0u);
}

}  // namespace
}  // namespace interop::accesslog
