// Tests of CertificateVerifier against the development PKI that certs/make-dev-certs.sh makes into
// INTEROP_TEST_CERTS_DIR (the ctest fixture dev_certs). Time is a ManualClock anchored at the
// lastUpdate of the generated crl.pem, so nothing depends on the wall clock.
#include "gateway/auth/certificate_verifier.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gateway/base/cities.h"
#include "gateway/base/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#ifndef INTEROP_TEST_CERTS_DIR
#error "INTEROP_TEST_CERTS_DIR must name the directory make-dev-certs.sh writes"
#endif

namespace interop::auth {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

std::string CertPath(absl::string_view name) { return absl::StrCat(INTEROP_TEST_CERTS_DIR, "/", name); }

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path << " (did the dev_certs fixture run?)";
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void WriteFile(const std::string& path, absl::string_view contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  ASSERT_TRUE(out.good()) << path;
}

std::string Pem(absl::string_view name) { return ReadFileOrDie(CertPath(absl::StrCat(name, ".pem"))); }

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
  void operator()(X509_CRL* x) const { X509_CRL_free(x); }
  void operator()(EVP_PKEY* x) const { EVP_PKEY_free(x); }
  void operator()(BIO* x) const { BIO_free(x); }
  void operator()(ASN1_TIME* x) const { ASN1_TIME_free(x); }
};
template <typename T>
using Owned = std::unique_ptr<T, X509Free>;

Owned<X509> ParseCert(const std::string& pem) {
  Owned<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return Owned<X509>(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

absl::Time ToTime(const ASN1_TIME* t) {
  struct tm tm;
  EXPECT_EQ(ASN1_TIME_to_tm(t, &tm), 1);
  return absl::FromCivil(
      absl::CivilSecond(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec),
      absl::UTCTimeZone());
}

absl::Time NotBefore(absl::string_view name) {
  return ToTime(X509_get0_notBefore(ParseCert(Pem(name)).get()));
}
absl::Time NotAfter(absl::string_view name) { return ToTime(X509_get0_notAfter(ParseCert(Pem(name)).get())); }

// SHA-256 of the certificate's DER encoding, hex, computed independently of the verifier.
std::string Sha256Hex(absl::string_view name) {
  Owned<X509> cert = ParseCert(Pem(name));
  unsigned char* der = nullptr;
  int length = i2d_X509(cert.get(), &der);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  EXPECT_EQ(EVP_Digest(der, length, digest, &digest_length, EVP_sha256(), nullptr), 1);
  OPENSSL_free(der);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), digest_length));
}

// When the dev PKI's CRLs were made: every test's clock starts one minute later.
absl::Time CrlLastUpdate() {
  std::string pem = ReadFileOrDie(CertPath("crl.pem"));
  Owned<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Owned<X509_CRL> crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  if (crl == nullptr) {
    ADD_FAILURE() << "no CRL in crl.pem";
    return absl::UnixEpoch();
  }
  return ToTime(X509_CRL_get0_lastUpdate(crl.get()));
}

// A CRL that claims to be the dev CA's (its issuer name) but is signed with other-ca's key.
std::string ForgedCrlPem() {
  Owned<X509> ca = ParseCert(Pem("ca"));
  std::string key_pem = ReadFileOrDie(CertPath("other-ca.key"));
  Owned<BIO> key_bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  Owned<EVP_PKEY> key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  Owned<X509_CRL> crl(X509_CRL_new());
  Owned<ASN1_TIME> last(ASN1_TIME_set(nullptr, absl::ToTimeT(CrlLastUpdate())));
  Owned<ASN1_TIME> next(ASN1_TIME_set(nullptr, absl::ToTimeT(CrlLastUpdate() + absl::Hours(24 * 30))));
  EXPECT_EQ(X509_CRL_set_version(crl.get(), 1), 1);
  EXPECT_EQ(X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca.get())), 1);
  EXPECT_EQ(X509_CRL_set1_lastUpdate(crl.get(), last.get()), 1);
  EXPECT_EQ(X509_CRL_set1_nextUpdate(crl.get(), next.get()), 1);
  EXPECT_GT(X509_CRL_sign(crl.get(), key.get(), EVP_sha256()), 0);
  Owned<BIO> out(BIO_new(BIO_s_mem()));
  EXPECT_EQ(PEM_write_bio_X509_CRL(out.get(), crl.get()), 1);
  char* data = nullptr;
  long size = BIO_get_mem_data(out.get(), &data);  // NOLINT(runtime/int)
  return std::string(data, static_cast<size_t>(size));
}

// A fresh directory under the test's temporary directory.
std::string MakeTempDir() {
  std::string pattern = (fs::path(::testing::TempDir()) / "auth_test.XXXXXX").string();
  char* made = mkdtemp(pattern.data());
  EXPECT_NE(made, nullptr) << pattern;
  return pattern;
}

void CopyFile(const std::string& from, const std::string& to) {
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

#define EXPECT_REFUSED(result, reason)                                                          \
  do {                                                                                          \
    const auto& result_ = (result);                                                             \
    ASSERT_FALSE(result_.ok()) << "accepted as " << result_->uri;                               \
    EXPECT_EQ(result_.status().code(), absl::StatusCode::kUnauthenticated) << result_.status(); \
    EXPECT_EQ(AuthFailureReason(result_.status()), reason) << result_.status();                 \
  } while (0)

class CertificateVerifierTest : public ::testing::Test {
 protected:
  CertificateVerifierTest() : clock_(CrlLastUpdate() + absl::Minutes(1)) {}

  std::unique_ptr<CertificateVerifier> Make(const std::string& crl_file, size_t cache_capacity = 10000,
                                            const std::string& ca_bundle = CertPath("ca.pem")) {
    CertificateVerifier::Options options;
    options.ca_bundle_file = ca_bundle;
    options.crl_file = crl_file;
    options.cache_capacity = cache_capacity;
    absl::StatusOr<std::unique_ptr<CertificateVerifier>> verifier =
        CertificateVerifier::Create(options, clock_);
    EXPECT_TRUE(verifier.ok()) << verifier.status();
    return verifier.ok() ? *std::move(verifier) : nullptr;
  }

  absl::Status CreateError(const std::string& ca_bundle, const std::string& crl_file) {
    CertificateVerifier::Options options;
    options.ca_bundle_file = ca_bundle;
    options.crl_file = crl_file;
    absl::StatusOr<std::unique_ptr<CertificateVerifier>> verifier =
        CertificateVerifier::Create(options, clock_);
    EXPECT_FALSE(verifier.ok()) << "created with " << ca_bundle << " and " << crl_file;
    return verifier.status();
  }

  ManualClock clock_;
};

struct ExpectedCaller {
  std::string file;
  City city;
  CallerRole role;
  std::string organization_id;
};

// The callers make-dev-certs.sh makes, with the identities certs/README.md gives them.
std::vector<ExpectedCaller> DevelopmentCallers() {
  struct CityRow {
    City city;
    const char* district;
  };
  const CityRow rows[] = {{City::CITY_TAIYUAN, "140105"},
                          {City::CITY_YANGQUAN, "140302"},
                          {City::CITY_JINZHONG, "140702"},
                          {City::CITY_XINZHOU, "140902"},
                          {City::CITY_LVLIANG, "141102"}};
  std::vector<ExpectedCaller> callers;
  for (const CityRow& row : rows) {
    std::string city(CityName(row.city));
    std::string code(CityDivisionCode(row.city));
    auto add = [&](CallerRole role, std::string org) {
      callers.push_back({absl::StrCat("caller-", RoleName(role), "-", city), row.city, role, std::move(org)});
    };
    add(CallerRole::kHospital, absl::StrCat("H", row.district, "00001"));
    add(CallerRole::kMedicalInsuranceBureau, absl::StrCat("MIB", code));
    add(CallerRole::kSocialSecurityBureau, absl::StrCat("SSB", code));
    add(CallerRole::kHouseholdOffice, absl::StrCat("HRO", code));
    add(CallerRole::kCitizenPortal, absl::StrCat("CPT", code));
  }
  callers.push_back({"caller-operator-taiyuan", City::CITY_TAIYUAN, CallerRole::kOperator, "OPS140100"});
  return callers;
}

TEST_F(CertificateVerifierTest, EveryCallerVerifiesToItsIdentity) {
  std::unique_ptr<CertificateVerifier> verifier = Make(CertPath("crl.pem"));
  ASSERT_NE(verifier, nullptr);
  std::vector<ExpectedCaller> callers = DevelopmentCallers();
  ASSERT_EQ(callers.size(), 26u);
  for (const ExpectedCaller& expected : callers) {
    SCOPED_TRACE(expected.file);
    absl::StatusOr<CallerIdentity> id = verifier->Verify(Pem(expected.file));
    ASSERT_TRUE(id.ok()) << id.status();
    EXPECT_EQ(id->organization_id, expected.organization_id);
    EXPECT_EQ(id->city, expected.city);
    EXPECT_EQ(id->role, expected.role);
    EXPECT_EQ(id->uri, absl::StrCat("interop://", CityName(expected.city), "/", RoleName(expected.role), "/",
                                    expected.organization_id));
    EXPECT_EQ(id->certificate_sha256_hex, Sha256Hex(expected.file));
    EXPECT_EQ(id->not_after, NotAfter(expected.file));
  }
}

TEST_F(CertificateVerifierTest, RevokedCallerHasAnIdentityOfItsOwnWhenNotRevoked) {
  std::unique_ptr<CertificateVerifier> verifier = Make(CertPath("crl-empty.pem"));
  absl::StatusOr<CallerIdentity> id = verifier->Verify(Pem("caller-revoked"));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->uri, "interop://taiyuan/hospital/H14010500002");
  EXPECT_EQ(id->organization_id, "H14010500002");
  EXPECT_EQ(id->city, City::CITY_TAIYUAN);
  EXPECT_EQ(id->role, CallerRole::kHospital);
  // And without revocation checking at all.
  EXPECT_TRUE(Make("")->Verify(Pem("caller-revoked")).ok());
}

TEST_F(CertificateVerifierTest, MissingCertificate) {
  std::unique_ptr<CertificateVerifier> verifier = Make(CertPath("crl.pem"));
  EXPECT_REFUSED(verifier->Verify(""), kCertificateMissing);
  EXPECT_REFUSED(verifier->Verify(" \n\t"), kCertificateMissing);
  EXPECT_THAT(std::string(verifier->Verify("").status().message()), HasSubstr("no client certificate"));
}

TEST_F(CertificateVerifierTest, UnparsableCertificateIsUntrusted) {
  std::unique_ptr<CertificateVerifier> verifier = Make(CertPath("crl.pem"));
  std::string key = ReadFileOrDie(CertPath("caller-hospital-taiyuan.key"));
  std::string crl = Pem("crl");
  std::string pem = Pem("caller-hospital-taiyuan");
  std::string corrupt = pem;
  corrupt[pem.size() / 2] = corrupt[pem.size() / 2] == 'A' ? 'B' : 'A';  // a bad signature, or bad DER
  for (const std::string& input :
       {std::string("hello"), key, crl,
        std::string("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), corrupt}) {
    absl::StatusOr<CallerIdentity> id = verifier->Verify(input);
    EXPECT_REFUSED(id, kCertificateUntrusted);
  }
  EXPECT_THAT(std::string(verifier->Verify(key).status().message()), HasSubstr("cannot be parsed"));
}

TEST_F(CertificateVerifierTest, OnlyTheFirstCertificateCounts) {
  std::unique_ptr<CertificateVerifier> verifier = Make(CertPath("crl.pem"));
  absl::StatusOr<CallerIdentity> id =
      verifier->Verify(Pem("caller-hospital-yangquan") + Pem("caller-revoked"));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->organization_id, "H14030200001");
  EXPECT_REFUSED(verifier->Verify(Pem("caller-revoked") + Pem("caller-hospital-yangquan")),
                 kCertificateRevoked);
}

TEST_F(CertificateVerifierTest, AnotherCaIsUntrusted) {
  std::unique_ptr<CertificateVerifier> verifier = Make(CertPath("crl.pem"));
  absl::StatusOr<CallerIdentity> id = verifier->Verify(Pem("caller-untrusted"));
  EXPECT_REFUSED(id, kCertificateUntrusted);
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("unable to get local issuer certificate"));
  // A CA certificate presented as a client certificate names nobody either.
  EXPECT_FALSE(verifier->Verify(Pem("other-ca")).ok());
}

TEST_F(CertificateVerifierTest, Expired) {
  std::unique_ptr<CertificateVerifier> verifier = Make(CertPath("crl.pem"));
  absl::StatusOr<CallerIdentity> id = verifier->Verify(Pem("caller-expired"));
  EXPECT_REFUSED(id, kCertificateExpired);
  EXPECT_EQ(
      id.status().message(),
      absl::StrCat("client certificate expired on ",
                   absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", NotAfter("caller-expired"), absl::UTCTimeZone())));
}

TEST_F(CertificateVerifierTest, NotYetValid) {
  std::unique_ptr<CertificateVerifier> verifier = Make(CertPath("crl.pem"));
  absl::StatusOr<CallerIdentity> id = verifier->Verify(Pem("caller-notyet"));
  EXPECT_REFUSED(id, kCertificateNotYetValid);
  EXPECT_THAT(
      std::string(id.status().message()),
      HasSubstr(absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", NotBefore("caller-notyet"), absl::UTCTimeZone())));
}

TEST_F(CertificateVerifierTest, Revoked) {
  std::unique_ptr<CertificateVerifier> verifier = Make(CertPath("crl.pem"));
  absl::StatusOr<CallerIdentity> id = verifier->Verify(Pem("caller-revoked"));
  EXPECT_REFUSED(id, kCertificateRevoked);
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("was revoked on "));
}

TEST_F(CertificateVerifierTest, ServerCertificatesAreNotForClients) {
  std::unique_ptr<CertificateVerifier> verifier = Make(CertPath("crl.pem"));
  for (City city : kAllCities) {
    std::string name = absl::StrCat("city-", CityName(city));
    absl::StatusOr<CallerIdentity> id = verifier->Verify(Pem(name));
    EXPECT_REFUSED(id, kCertificateNotForClients);
    EXPECT_THAT(std::string(id.status().message()), HasSubstr("clientAuth")) << name;
  }
}

TEST_F(CertificateVerifierTest, NoUsableIdentity) {
  std::unique_ptr<CertificateVerifier> verifier = Make(CertPath("crl.pem"));
  absl::StatusOr<CallerIdentity> id = verifier->Verify(Pem("caller-nouri"));
  EXPECT_REFUSED(id, kCertificateIdentityMissing);
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("no subjectAltName URI"));

  id = verifier->Verify(Pem("caller-badrole"));
  EXPECT_REFUSED(id, kCertificateIdentityMissing);
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("unknown role"));

  // The gateway's own certificate is a valid client certificate, but "gateway" is no city.
  id = verifier->Verify(Pem("gateway"));
  EXPECT_REFUSED(id, kCertificateIdentityMissing);
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("unknown city"));
}

TEST_F(CertificateVerifierTest, ReloadingTheCrlTakesEffect) {
  std::string dir = MakeTempDir();
  std::string crl = dir + "/crl.pem";
  CopyFile(CertPath("crl-empty.pem"), crl);
  std::unique_ptr<CertificateVerifier> verifier = Make(crl);
  ASSERT_NE(verifier, nullptr);

  EXPECT_TRUE(verifier->Verify(Pem("caller-revoked")).ok());
  EXPECT_FALSE(verifier->ReloadCrlIfChanged()) << "nothing changed";

  CopyFile(CertPath("crl.pem"), crl);
  EXPECT_TRUE(verifier->ReloadCrlIfChanged());
  EXPECT_FALSE(verifier->ReloadCrlIfChanged()) << "already loaded";
  EXPECT_REFUSED(verifier->Verify(Pem("caller-revoked")), kCertificateRevoked);
  EXPECT_TRUE(verifier->Verify(Pem("caller-hospital-taiyuan")).ok());

  // Back, this time replaced by a rename (a new inode), as deployment tools do.
  CopyFile(CertPath("crl-empty.pem"), dir + "/crl.pem.new");
  fs::rename(dir + "/crl.pem.new", crl);
  EXPECT_TRUE(verifier->ReloadCrlIfChanged());
  EXPECT_TRUE(verifier->Verify(Pem("caller-revoked")).ok());

  // An explicit reload works whether or not the file changed.
  EXPECT_TRUE(verifier->ReloadCrl().ok());
  fs::remove_all(dir);
}

TEST_F(CertificateVerifierTest, AnInvalidCrlKeepsTheOldOne) {
  std::string dir = MakeTempDir();
  std::string crl = dir + "/crl.pem";
  CopyFile(CertPath("crl.pem"), crl);
  std::unique_ptr<CertificateVerifier> verifier = Make(crl);
  ASSERT_NE(verifier, nullptr);
  EXPECT_REFUSED(verifier->Verify(Pem("caller-revoked")), kCertificateRevoked);

  struct BadCrl {
    std::string contents;
    std::string message;
  };
  std::string crl_pem = Pem("crl");
  std::vector<BadCrl> bad = {
      {"not a CRL at all\n", "holds no PEM CRL"},
      {"", "holds no PEM CRL"},
      {Pem("ca"), "holds no PEM CRL"},
      {crl_pem.substr(0, crl_pem.size() / 2), "cannot be parsed"},
      {ForgedCrlPem(), "is not signed by a CA of the CA bundle"},
  };
  for (const BadCrl& b : bad) {
    WriteFile(crl, b.contents);
    absl::Status reloaded = verifier->ReloadCrl();
    EXPECT_EQ(reloaded.code(), absl::StatusCode::kInvalidArgument) << reloaded;
    EXPECT_THAT(std::string(reloaded.message()), HasSubstr(crl));
    EXPECT_THAT(std::string(reloaded.message()), HasSubstr(b.message));
    EXPECT_REFUSED(verifier->Verify(Pem("caller-revoked")), kCertificateRevoked);
    EXPECT_TRUE(verifier->Verify(Pem("caller-hospital-taiyuan")).ok());
  }

  // The same through ReloadCrlIfChanged: false, and the old CRL stays.
  WriteFile(crl, "garbage, but of another size\n");
  EXPECT_FALSE(verifier->ReloadCrlIfChanged());
  EXPECT_FALSE(verifier->ReloadCrlIfChanged()) << "a failed file is not retried until it changes";
  EXPECT_REFUSED(verifier->Verify(Pem("caller-revoked")), kCertificateRevoked);

  // A missing file: NOT_FOUND, old CRL kept.
  fs::remove(crl);
  absl::Status reloaded = verifier->ReloadCrl();
  EXPECT_EQ(reloaded.code(), absl::StatusCode::kNotFound) << reloaded;
  EXPECT_THAT(std::string(reloaded.message()), HasSubstr(crl));
  EXPECT_FALSE(verifier->ReloadCrlIfChanged());
  EXPECT_REFUSED(verifier->Verify(Pem("caller-revoked")), kCertificateRevoked);

  // A good file again is picked up.
  CopyFile(CertPath("crl-empty.pem"), crl);
  EXPECT_TRUE(verifier->ReloadCrlIfChanged());
  EXPECT_TRUE(verifier->Verify(Pem("caller-revoked")).ok());
  fs::remove_all(dir);
}

TEST_F(CertificateVerifierTest, WithoutCrlFileThereIsNothingToReload) {
  std::unique_ptr<CertificateVerifier> verifier = Make("");
  EXPECT_EQ(verifier->ReloadCrl().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(verifier->ReloadCrlIfChanged());
}

TEST_F(CertificateVerifierTest, CreateErrorsNameTheFile) {
  std::string dir = MakeTempDir();
  absl::Status status = CreateError(dir + "/no-such-ca.pem", "");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()), HasSubstr(dir + "/no-such-ca.pem"));

  status = CreateError(CertPath("caller-hospital-taiyuan.pem"), "");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("is not a CA certificate"));

  status = CreateError(CertPath("crl.pem"), "");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("holds no PEM certificate"));

  status = CreateError(CertPath("ca.pem"), dir + "/no-such-crl.pem");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()), HasSubstr(dir + "/no-such-crl.pem"));

  WriteFile(dir + "/forged.pem", ForgedCrlPem());
  status = CreateError(CertPath("ca.pem"), dir + "/forged.pem");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("not signed by a CA"));

  // crl.pem is the dev CA's: a bundle of other-ca alone cannot vouch for it.
  status = CreateError(CertPath("other-ca.pem"), CertPath("crl.pem"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  fs::remove_all(dir);
}

TEST_F(CertificateVerifierTest, BundleOfSeveralCas) {
  std::string dir = MakeTempDir();
  WriteFile(dir + "/bundle.pem", Pem("ca") + Pem("other-ca"));
  std::unique_ptr<CertificateVerifier> verifier = Make("", 10000, dir + "/bundle.pem");
  ASSERT_NE(verifier, nullptr);
  EXPECT_TRUE(verifier->Verify(Pem("caller-untrusted")).ok());
  EXPECT_TRUE(verifier->Verify(Pem("caller-hospital-taiyuan")).ok());

  // With revocation checked, other-ca has no CRL: its callers are refused (fail closed).
  verifier = Make(CertPath("crl.pem"), 10000, dir + "/bundle.pem");
  ASSERT_NE(verifier, nullptr);
  absl::StatusOr<CallerIdentity> id = verifier->Verify(Pem("caller-untrusted"));
  EXPECT_REFUSED(id, kCertificateRevocationUnknown);
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("unable to get certificate CRL"));
  EXPECT_TRUE(verifier->Verify(Pem("caller-hospital-taiyuan")).ok());
  fs::remove_all(dir);
}

TEST_F(CertificateVerifierTest, CachedIdentityExpiresWithTheClock) {
  std::unique_ptr<CertificateVerifier> verifier = Make("");
  const std::string pem = Pem("caller-hospital-taiyuan");
  const absl::Time not_after = NotAfter("caller-hospital-taiyuan");

  ASSERT_TRUE(verifier->Verify(pem).ok());
  ASSERT_TRUE(verifier->Verify(pem).ok());
  EXPECT_EQ(verifier->cache_stats().misses, 1u);
  EXPECT_EQ(verifier->cache_stats().hits, 1u);

  clock_.Set(not_after - absl::Seconds(1));
  absl::StatusOr<CallerIdentity> id = verifier->Verify(pem);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->not_after, not_after);
  EXPECT_EQ(verifier->cache_stats().hits, 2u) << "still inside the cached interval";

  clock_.Set(not_after);
  id = verifier->Verify(pem);
  EXPECT_REFUSED(id, kCertificateExpired);
  EXPECT_EQ(id.status().message(),
            absl::StrCat("client certificate expired on ",
                         absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", not_after, absl::UTCTimeZone())));
  clock_.Set(not_after + absl::Hours(1));
  EXPECT_REFUSED(verifier->Verify(pem), kCertificateExpired);
  EXPECT_EQ(verifier->cache_stats().hits, 3u) << "the failure is cached too";

  // Back in time (a clock step): identified again.
  clock_.Set(not_after - absl::Hours(1));
  EXPECT_TRUE(verifier->Verify(pem).ok());
}

TEST_F(CertificateVerifierTest, ExpiryWinsOverAStaleCrl) {
  std::unique_ptr<CertificateVerifier> verifier = Make(CertPath("crl.pem"));
  const std::string pem = Pem("caller-hospital-taiyuan");
  ASSERT_TRUE(verifier->Verify(pem).ok());
  // 31 days on, the CRL (next update after 30 days) is stale: nobody of that CA gets in.
  clock_.Advance(absl::Hours(24 * 31));
  absl::StatusOr<CallerIdentity> id = verifier->Verify(pem);
  EXPECT_REFUSED(id, kCertificateRevocationUnknown);
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("CRL has expired"));
  // Past the certificate's own notAfter, its expiry is what the caller hears about.
  clock_.Set(NotAfter("caller-hospital-taiyuan"));
  EXPECT_REFUSED(verifier->Verify(pem), kCertificateExpired);
  // A revoked certificate stays revoked even when the CRL is stale.
  clock_.Set(CrlLastUpdate() + absl::Hours(24 * 31));
  EXPECT_REFUSED(verifier->Verify(Pem("caller-revoked")), kCertificateRevoked);
}

TEST_F(CertificateVerifierTest, CachedNotYetValidBecomesValid) {
  std::unique_ptr<CertificateVerifier> verifier = Make("");
  const std::string pem = Pem("caller-notyet");
  EXPECT_REFUSED(verifier->Verify(pem), kCertificateNotYetValid);
  EXPECT_REFUSED(verifier->Verify(pem), kCertificateNotYetValid);
  EXPECT_EQ(verifier->cache_stats().hits, 1u);
  clock_.Set(NotBefore("caller-notyet"));
  absl::StatusOr<CallerIdentity> id = verifier->Verify(pem);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->uri, "interop://taiyuan/hospital/H14010500001");
}

TEST_F(CertificateVerifierTest, ReloadEmptiesTheCache) {
  std::unique_ptr<CertificateVerifier> verifier = Make(CertPath("crl.pem"));
  ASSERT_TRUE(verifier->Verify(Pem("caller-hospital-taiyuan")).ok());
  EXPECT_REFUSED(verifier->Verify(Pem("caller-revoked")), kCertificateRevoked);
  EXPECT_EQ(verifier->cache_stats().entries, 2u);
  ASSERT_TRUE(verifier->ReloadCrl().ok());
  EXPECT_EQ(verifier->cache_stats().entries, 0u);
  ASSERT_TRUE(verifier->Verify(Pem("caller-hospital-taiyuan")).ok());
  EXPECT_EQ(verifier->cache_stats().hits, 0u);
  EXPECT_EQ(verifier->cache_stats().misses, 3u);
}

TEST_F(CertificateVerifierTest, CacheCapacityIsRespected) {
  std::unique_ptr<CertificateVerifier> verifier = Make(CertPath("crl.pem"), 3);
  for (const ExpectedCaller& caller : DevelopmentCallers()) {
    absl::StatusOr<CallerIdentity> id = verifier->Verify(Pem(caller.file));
    ASSERT_TRUE(id.ok()) << caller.file << ": " << id.status();
    EXPECT_EQ(id->organization_id, caller.organization_id);
    EXPECT_LE(verifier->cache_stats().entries, 3u);
  }
  std::unique_ptr<CertificateVerifier> uncached = Make(CertPath("crl.pem"), 0);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(uncached->Verify(Pem("caller-hospital-taiyuan")).ok());
  EXPECT_EQ(uncached->cache_stats().hits, 0u);
  EXPECT_EQ(uncached->cache_stats().entries, 0u);
}

TEST_F(CertificateVerifierTest, ConcurrentVerifyAndReload) {
  std::string dir = MakeTempDir();
  std::string crl = dir + "/crl.pem";
  CopyFile(CertPath("crl-empty.pem"), crl);
  std::unique_ptr<CertificateVerifier> verifier = Make(crl);
  ASSERT_NE(verifier, nullptr);
  const std::string revoked = Pem("caller-revoked");
  const std::string good = Pem("caller-social-security-bureau-lvliang");

  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        absl::StatusOr<CallerIdentity> r = verifier->Verify(revoked);
        if (!r.ok() && AuthFailureReason(r.status()) != kCertificateRevoked) wrong.fetch_add(1);
        if (!verifier->Verify(good).ok()) wrong.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 40; ++i) {
    CopyFile(CertPath(i % 2 == 0 ? "crl.pem" : "crl-empty.pem"), crl);
    EXPECT_TRUE(verifier->ReloadCrl().ok());
  }
  CopyFile(CertPath("crl.pem"), crl);
  ASSERT_TRUE(verifier->ReloadCrl().ok());
  // Once the reload has returned, no reader gets a result of an older CRL.
  EXPECT_REFUSED(verifier->Verify(revoked), kCertificateRevoked);
  stop.store(true);
  for (std::thread& reader : readers) reader.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_REFUSED(verifier->Verify(revoked), kCertificateRevoked);
  fs::remove_all(dir);
}

TEST(AuthFailureReasonTest, EmptyWithoutPayload) {
  EXPECT_EQ(AuthFailureReason(absl::OkStatus()), "");
  EXPECT_EQ(AuthFailureReason(absl::UnauthenticatedError("x")), "");
  absl::Status status = absl::UnauthenticatedError("x");
  status.SetPayload(kAuthFailureReasonTypeUrl, absl::Cord("CERTIFICATE_EXPIRED"));
  EXPECT_EQ(AuthFailureReason(status), kCertificateExpired);
}

}  // namespace
}  // namespace interop::auth
