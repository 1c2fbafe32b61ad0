#include "gateway/auth/certificate_verifier.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "gateway/base/log.h"

namespace interop::auth {
namespace {

// ---------------------------------------------------------------------------------------------
// RAII for OpenSSL objects.

template <auto kFree>
struct OpenSslDeleter {
  template <typename T>
  void operator()(T* object) const {
    kFree(object);
  }
};
void FreeBytes(void* bytes) { OPENSSL_free(bytes); }

using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BN_free>>;
using BytesPtr = std::unique_ptr<void, OpenSslDeleter<FreeBytes>>;
using EvpMdPtr = std::unique_ptr<EVP_MD, OpenSslDeleter<EVP_MD_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpenSslDeleter<GENERAL_NAMES_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, OpenSslDeleter<X509_CRL_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpenSslDeleter<X509_STORE_CTX_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OpenSslDeleter<X509_STORE_free>>;

// A read-only memory BIO over `data`; null if it is too large for OpenSSL's int lengths.
BioPtr MemoryBio(absl::string_view data) {
  if (data.size() > static_cast<size_t>(INT_MAX)) return nullptr;
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// The first error on this thread's OpenSSL error queue as text (or `fallback`); empties the queue,
// which must never be left holding errors for the next user of OpenSSL on this thread (gRPC's TLS).
std::string TakeOpenSslError(absl::string_view fallback) {
  unsigned long code = ERR_peek_error();  // NOLINT(runtime/int): OpenSSL's type
  std::string text(fallback);
  if (code != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    text = buffer;
  }
  ERR_clear_error();
  return text;
}

std::optional<absl::Time> ToAbslTime(const ASN1_TIME* time) {
  struct tm tm;
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return std::nullopt;
  return absl::FromCivil(
      absl::CivilSecond(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec),
      absl::UTCTimeZone());
}

std::string FormatUtc(std::optional<absl::Time> time) {
  if (!time.has_value()) return "(unreadable date)";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", *time, absl::UTCTimeZone());
}

std::string NameToString(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    ERR_clear_error();
    return "(unprintable name)";
  }
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);  // NOLINT(runtime/int): OpenSSL's type
  return std::string(data, size > 0 ? static_cast<size_t>(size) : 0);
}

std::string SerialToHex(const ASN1_INTEGER* serial) {
  BignumPtr number(ASN1_INTEGER_to_BN(serial, nullptr));
  if (number == nullptr) return "?";
  BytesPtr hex(BN_bn2hex(number.get()));
  return hex == nullptr ? "?" : std::string(static_cast<const char*>(hex.get()));
}

absl::StatusOr<std::string> ReadFile(const std::string& path, absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", what, " ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return absl::NotFoundError(absl::StrCat("cannot read ", what, " ", path));
  return contents.str();
}

absl::Status Refuse(absl::string_view reason, absl::string_view message) {
  absl::Status status = absl::UnauthenticatedError(message);
  status.SetPayload(kAuthFailureReasonTypeUrl, absl::Cord(reason));
  return status;
}

// The DER bytes of the first "CERTIFICATE" PEM block in `pem` (RFC 7468). Done here rather than
// with PEM_read_bio, which costs several times more than the rest of a cached Verify together.
absl::StatusOr<std::string> FirstCertificateDer(absl::string_view pem) {
  constexpr absl::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  constexpr absl::string_view kEnd = "-----END CERTIFICATE-----";
  size_t begin = pem.find(kBegin);
  if (begin == absl::string_view::npos)
    return absl::InvalidArgumentError("no \"-----BEGIN CERTIFICATE-----\"");
  size_t body = begin + kBegin.size();
  size_t end = pem.find(kEnd, body);
  if (end == absl::string_view::npos) return absl::InvalidArgumentError("no \"-----END CERTIFICATE-----\"");
  std::string der;
  // Base64Unescape skips white space (line breaks) and rejects anything else that is not base64.
  if (!absl::Base64Unescape(pem.substr(body, end - body), &der) || der.empty()) {
    return absl::InvalidArgumentError("the PEM block is not base64");
  }
  return der;
}

// The X509 verification errors that mean "revocation cannot be decided" rather than "revoked".
bool IsCrlProblem(int error) {
  switch (error) {
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
    case X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
    case X509_V_ERR_CRL_PATH_VALIDATION_ERROR:
      return true;
    default:
      return false;
  }
}

// One error reported by X509_verify_cert, at `depth` (0: the client certificate).
struct ChainError {
  int error;
  int depth;
};

// Verification callback: records every error and lets OpenSSL go on, so that all problems of a
// certificate are known and the most fundamental one is reported, whatever order OpenSSL checks
// them in (it checks revocation before validity dates, for instance). A certificate is accepted only
// if X509_verify_cert succeeds AND nothing was recorded.
int RecordChainError(int ok, X509_STORE_CTX* ctx) {
  if (ok == 1) return 1;
  auto* errors = static_cast<std::vector<ChainError>*>(X509_STORE_CTX_get_app_data(ctx));
  errors->push_back({X509_STORE_CTX_get_error(ctx), X509_STORE_CTX_get_error_depth(ctx)});
  return 1;
}

// Reasons in the order in which they are reported when a certificate has several problems: the most
// fundamental first. A certificate nobody vouches for is "untrusted" whatever else is wrong with it.
enum class Problem { kUntrusted, kNotForClients, kRevoked, kExpired, kNotYetValid, kRevocationUnknown };

Problem Classify(const ChainError& e) {
  if (IsCrlProblem(e.error)) return Problem::kRevocationUnknown;
  if (e.depth != 0) return Problem::kUntrusted;  // a CA certificate's problem: the chain is not usable
  switch (e.error) {
    case X509_V_ERR_CERT_REVOKED:
      return Problem::kRevoked;
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return Problem::kExpired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return Problem::kNotYetValid;
    case X509_V_ERR_INVALID_PURPOSE:
      return Problem::kNotForClients;
    default:
      return Problem::kUntrusted;
  }
}

// The nearest boundaries around `now` among `boundaries`: [latest <= now, earliest > now).
std::pair<absl::Time, absl::Time> StableInterval(const std::vector<absl::Time>& boundaries, absl::Time now) {
  absl::Time from = absl::InfinitePast();
  absl::Time until = absl::InfiniteFuture();
  for (absl::Time boundary : boundaries) {
    if (boundary <= now) {
      from = std::max(from, boundary);
    } else {
      until = std::min(until, boundary);
    }
  }
  return {from, until};
}

bool StatFile(const std::string& path, int64_t* device, int64_t* inode, int64_t* size, int64_t* mtime_ns,
              int64_t* ctime_ns) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) return false;
  *device = static_cast<int64_t>(info.st_dev);
  *inode = static_cast<int64_t>(info.st_ino);
  *size = static_cast<int64_t>(info.st_size);
  *mtime_ns = static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec;
  *ctime_ns = static_cast<int64_t>(info.st_ctim.tv_sec) * 1000000000 + info.st_ctim.tv_nsec;
  return true;
}

}  // namespace

std::string AuthFailureReason(const absl::Status& status) {
  absl::optional<absl::Cord> reason = status.GetPayload(kAuthFailureReasonTypeUrl);
  return reason.has_value() ? std::string(*reason) : std::string();
}

// ---------------------------------------------------------------------------------------------
// Private types.

struct CertificateVerifier::TrustAnchors {
  std::vector<X509Ptr> cas;
  // notBefore and notAfter of every CA certificate.
  std::vector<absl::Time> boundaries;
  EvpMdPtr sha256;
};

struct CertificateVerifier::TrustState {
  uint64_t generation = 0;
  bool check_revocation = false;
  X509StorePtr store;  // the CAs, and the CRLs if check_revocation
  std::vector<X509CrlPtr> crls;
  // The anchors' boundaries, and lastUpdate and nextUpdate of every CRL.
  std::vector<absl::Time> boundaries;
};

struct CertificateVerifier::VerifyOutcome {
  absl::StatusOr<CallerIdentity> result;
  // The result stays the same while the clock is in [valid_from, valid_until).
  absl::Time valid_from = absl::InfinitePast();
  absl::Time valid_until = absl::InfiniteFuture();
};

class CertificateVerifier::ResultCache {
 public:
  explicit ResultCache(size_t capacity) : capacity_(capacity) {}

  // The result cached for `key` by generation `generation`, if `now` is inside its interval.
  std::optional<absl::StatusOr<CallerIdentity>> Lookup(const std::string& key, uint64_t generation,
                                                       absl::Time now) const {
    if (capacity_ == 0) return std::nullopt;
    absl::ReaderMutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    const Entry& entry = it->second;
    if (entry.generation != generation || now < entry.outcome.valid_from ||
        now >= entry.outcome.valid_until) {
      return std::nullopt;
    }
    return entry.outcome.result;
  }

  // Keeps `outcome`, computed with the trust state of `generation`, unless a newer state has
  // already emptied the cache.
  void Insert(const std::string& key, uint64_t generation, VerifyOutcome outcome) {
    if (capacity_ == 0) return;
    absl::MutexLock lock(&mu_);
    if (generation < generation_) return;
    auto it = entries_.find(key);
    if (it == entries_.end() && entries_.size() >= capacity_) entries_.erase(entries_.begin());
    entries_.insert_or_assign(key, Entry{generation, std::move(outcome)});
  }

  // Forgets everything; from now on only results of `generation` or newer are kept.
  void Reset(uint64_t generation) {
    absl::flat_hash_map<std::string, Entry> old;  // destroyed after the lock is released
    absl::MutexLock lock(&mu_);
    generation_ = std::max(generation_, generation);
    old.swap(entries_);
  }

  size_t size() const {
    absl::ReaderMutexLock lock(&mu_);
    return entries_.size();
  }

 private:
  struct Entry {
    uint64_t generation;
    VerifyOutcome outcome;
  };

  const size_t capacity_;
  mutable absl::Mutex mu_;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

bool CertificateVerifier::FileStamp::operator==(const FileStamp& other) const {
  return device == other.device && inode == other.inode && size == other.size && mtime_ns == other.mtime_ns &&
         ctime_ns == other.ctime_ns;
}

namespace {

// The CA certificates of `path`.
absl::StatusOr<std::vector<X509Ptr>> LoadCaBundle(const std::string& path) {
  absl::StatusOr<std::string> pem = ReadFile(path, "CA bundle");
  if (!pem.ok()) return pem.status();
  BioPtr bio = MemoryBio(*pem);
  if (bio == nullptr) return absl::InvalidArgumentError(absl::StrCat("CA bundle ", path, " is too large"));
  std::vector<X509Ptr> cas;
  ERR_clear_error();  // the error queue tells how the loop below ended
  while (X509* raw = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    X509Ptr ca(raw);
    if (X509_check_ca(ca.get()) == 0) {
      ERR_clear_error();
      return absl::InvalidArgumentError(absl::StrCat("CA bundle ", path, ": certificate ", cas.size() + 1,
                                                     " (", NameToString(X509_get_subject_name(ca.get())),
                                                     ") is not a CA certificate"));
    }
    cas.push_back(std::move(ca));
  }
  // The loop ends at the end of the input (PEM_R_NO_START_LINE) or at a broken block.
  unsigned long last = ERR_peek_last_error();  // NOLINT(runtime/int): OpenSSL's type
  if (last != 0 && !(ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE)) {
    return absl::InvalidArgumentError(absl::StrCat("CA bundle ", path, ": certificate ", cas.size() + 1,
                                                   " cannot be parsed: ", TakeOpenSslError("")));
  }
  ERR_clear_error();
  if (cas.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("CA bundle ", path, " holds no PEM certificate (-----BEGIN CERTIFICATE-----)"));
  }
  return cas;
}

// The CRLs of `pem` (read from `path`), each signed by one of `cas`.
absl::StatusOr<std::vector<X509CrlPtr>> ParseCrls(const std::string& path, absl::string_view pem,
                                                  const std::vector<X509Ptr>& cas) {
  BioPtr bio = MemoryBio(pem);
  if (bio == nullptr) return absl::InvalidArgumentError(absl::StrCat("CRL file ", path, " is too large"));
  std::vector<X509CrlPtr> crls;
  ERR_clear_error();  // the error queue tells how the loop below ended
  while (X509_CRL* raw = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) {
    X509CrlPtr crl(raw);
    const X509_NAME* issuer = X509_CRL_get_issuer(crl.get());
    bool signed_by_ca = false;
    for (const X509Ptr& ca : cas) {
      if (X509_NAME_cmp(issuer, X509_get_subject_name(ca.get())) != 0) continue;
      EVP_PKEY* key = X509_get0_pubkey(ca.get());
      if (key != nullptr && X509_CRL_verify(crl.get(), key) == 1) {
        signed_by_ca = true;
        break;
      }
    }
    ERR_clear_error();
    if (!signed_by_ca) {
      return absl::InvalidArgumentError(absl::StrCat("CRL file ", path, ": CRL ", crls.size() + 1,
                                                     " (issuer ", NameToString(issuer),
                                                     ") is not signed by a CA of the CA bundle"));
    }
    crls.push_back(std::move(crl));
  }
  unsigned long last = ERR_peek_last_error();  // NOLINT(runtime/int): OpenSSL's type
  if (last != 0 && !(ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE)) {
    return absl::InvalidArgumentError(absl::StrCat("CRL file ", path, ": CRL ", crls.size() + 1,
                                                   " cannot be parsed: ", TakeOpenSslError("")));
  }
  ERR_clear_error();
  if (crls.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("CRL file ", path, " holds no PEM CRL (-----BEGIN X509 CRL-----)"));
  }
  return crls;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// CertificateVerifier.

absl::StatusOr<std::unique_ptr<CertificateVerifier>> CertificateVerifier::Create(const Options& options,
                                                                                 const Clock& clock) {
  absl::StatusOr<std::vector<X509Ptr>> cas = LoadCaBundle(options.ca_bundle_file);
  if (!cas.ok()) return cas.status();
  auto anchors = std::make_unique<TrustAnchors>();
  anchors->cas = *std::move(cas);
  for (const X509Ptr& ca : anchors->cas) {
    for (const ASN1_TIME* time : {X509_get0_notBefore(ca.get()), X509_get0_notAfter(ca.get())}) {
      if (std::optional<absl::Time> t = ToAbslTime(time)) anchors->boundaries.push_back(*t);
    }
  }
  anchors->sha256.reset(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  if (anchors->sha256 == nullptr) {
    return absl::InternalError(absl::StrCat("OpenSSL has no SHA256: ", TakeOpenSslError("")));
  }

  std::unique_ptr<CertificateVerifier> verifier(new CertificateVerifier(options, clock, std::move(anchors)));
  if (options.crl_file.empty()) {
    auto state = std::make_shared<TrustState>();
    state->store.reset(X509_STORE_new());
    if (state->store == nullptr) return absl::ResourceExhaustedError("X509_STORE_new failed");
    for (const X509Ptr& ca : verifier->anchors_->cas) {
      if (X509_STORE_add_cert(state->store.get(), ca.get()) != 1) {
        return absl::InternalError(absl::StrCat("X509_STORE_add_cert: ", TakeOpenSslError("")));
      }
    }
    state->boundaries = verifier->anchors_->boundaries;
    absl::MutexLock lock(&verifier->state_mu_);
    verifier->state_ = std::move(state);
  } else {
    absl::MutexLock lock(&verifier->reload_mu_);
    absl::Status loaded = verifier->ReloadCrlLocked();
    if (!loaded.ok()) return loaded;
  }
  return verifier;
}

CertificateVerifier::CertificateVerifier(const Options& options, const Clock& clock,
                                         std::unique_ptr<const TrustAnchors> anchors)
    : options_(options),
      clock_(clock),
      anchors_(std::move(anchors)),
      cache_(std::make_unique<ResultCache>(options.cache_capacity)) {}

CertificateVerifier::~CertificateVerifier() = default;

std::shared_ptr<const CertificateVerifier::TrustState> CertificateVerifier::Snapshot() const {
  absl::ReaderMutexLock lock(&state_mu_);
  return state_;
}

absl::StatusOr<CallerIdentity> CertificateVerifier::Verify(absl::string_view peer_pem) const {
  if (absl::StripAsciiWhitespace(peer_pem).empty()) {
    return Refuse(kCertificateMissing, "the call presented no client certificate");
  }
  absl::StatusOr<std::string> der = FirstCertificateDer(peer_pem);
  if (!der.ok()) {
    return Refuse(kCertificateUntrusted,
                  absl::StrCat("client certificate cannot be parsed: ", der.status().message()));
  }
  std::string sha256(EVP_MAX_MD_SIZE, '\0');
  unsigned int sha256_size = 0;
  if (EVP_Digest(der->data(), der->size(), reinterpret_cast<unsigned char*>(sha256.data()), &sha256_size,
                 anchors_->sha256.get(), nullptr) != 1) {
    return Refuse(kCertificateUntrusted, absl::StrCat("client certificate cannot be hashed: ",
                                                      TakeOpenSslError("EVP_Digest failed")));
  }
  sha256.resize(sha256_size);

  std::shared_ptr<const TrustState> state = Snapshot();
  absl::Time now = clock_.Now();
  if (std::optional<absl::StatusOr<CallerIdentity>> cached = cache_->Lookup(sha256, state->generation, now)) {
    hits_.fetch_add(1, std::memory_order_relaxed);
    return *std::move(cached);
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  VerifyOutcome outcome = VerifyUncached(*der, sha256, *state, now);
  absl::StatusOr<CallerIdentity> result = outcome.result;
  cache_->Insert(sha256, state->generation, std::move(outcome));
  return result;
}

CertificateVerifier::VerifyOutcome CertificateVerifier::VerifyUncached(const std::string& der,
                                                                       const std::string& sha256,
                                                                       const TrustState& state,
                                                                       absl::Time now) const {
  VerifyOutcome outcome;
  std::vector<absl::Time> boundaries = state.boundaries;
  auto finish = [&](absl::StatusOr<CallerIdentity> result) {
    outcome.result = std::move(result);
    std::tie(outcome.valid_from, outcome.valid_until) = StableInterval(boundaries, now);
    return std::move(outcome);
  };

  const unsigned char* cursor = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* end = cursor + der.size();
  X509Ptr cert(der.size() > static_cast<size_t>(LONG_MAX)
                   ? nullptr
                   : d2i_X509(nullptr, &cursor, static_cast<long>(der.size())));  // NOLINT(runtime/int)
  if (cert == nullptr || cursor != end) {
    std::string why = cert == nullptr ? TakeOpenSslError("not an X.509 certificate")
                                      : std::string("unexpected bytes after the certificate");
    return finish(Refuse(kCertificateUntrusted, absl::StrCat("client certificate cannot be parsed: ", why)));
  }
  std::optional<absl::Time> not_before = ToAbslTime(X509_get0_notBefore(cert.get()));
  std::optional<absl::Time> not_after = ToAbslTime(X509_get0_notAfter(cert.get()));
  if (not_before.has_value()) boundaries.push_back(*not_before);
  if (not_after.has_value()) boundaries.push_back(*not_after);

  // The chain, at `now`.
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  std::vector<ChainError> errors;
  int verified = 0;
  if (ctx != nullptr && X509_STORE_CTX_init(ctx.get(), state.store.get(), cert.get(), nullptr) == 1) {
    X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
    X509_VERIFY_PARAM_set_time(param, absl::ToTimeT(now));
    if (state.check_revocation) X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CRL_CHECK);
    X509_STORE_CTX_set_app_data(ctx.get(), &errors);
    X509_STORE_CTX_set_verify_cb(ctx.get(), RecordChainError);
    verified = X509_verify_cert(ctx.get());
  }
  if (verified != 1 && errors.empty()) {
    int error = ctx == nullptr ? X509_V_ERR_UNSPECIFIED : X509_STORE_CTX_get_error(ctx.get());
    errors.push_back({error == X509_V_OK ? X509_V_ERR_UNSPECIFIED : error, 0});
  }
  ERR_clear_error();

  if (!errors.empty()) {
    const ChainError* worst = &errors.front();
    for (const ChainError& e : errors) {
      if (Classify(e) < Classify(*worst)) worst = &e;
    }
    const char* openssl_says = X509_verify_cert_error_string(worst->error);
    switch (Classify(*worst)) {
      case Problem::kUntrusted:
        return finish(Refuse(kCertificateUntrusted,
                             absl::StrCat("client certificate is not trusted: ", openssl_says,
                                          worst->depth > 0 ? absl::StrCat(" (at the CA certificate ",
                                                                          worst->depth, " up the chain)")
                                                           : std::string())));
      case Problem::kNotForClients: {
        uint32_t eku = X509_get_extended_key_usage(cert.get());
        return finish(Refuse(kCertificateNotForClients,
                             (eku & XKU_SSL_CLIENT) == 0
                                 ? "client certificate is not for TLS clients: its extended key usage lacks "
                                   "clientAuth"
                                 : "client certificate is not for TLS clients: its key usage lacks "
                                   "digitalSignature"));
      }
      case Problem::kRevoked: {
        std::string when;
        for (const X509CrlPtr& crl : state.crls) {
          X509_REVOKED* entry = nullptr;
          if (X509_CRL_get0_by_cert(crl.get(), &entry, cert.get()) == 1 && entry != nullptr) {
            when = absl::StrCat(" on ", FormatUtc(ToAbslTime(X509_REVOKED_get0_revocationDate(entry))));
            break;
          }
        }
        return finish(
            Refuse(kCertificateRevoked,
                   absl::StrCat("client certificate (serial ",
                                SerialToHex(X509_get0_serialNumber(cert.get())), ") was revoked", when)));
      }
      case Problem::kExpired:
        return finish(Refuse(kCertificateExpired,
                             absl::StrCat("client certificate expired on ", FormatUtc(not_after))));
      case Problem::kNotYetValid:
        return finish(Refuse(kCertificateNotYetValid,
                             absl::StrCat("client certificate is not valid before ", FormatUtc(not_before))));
      case Problem::kRevocationUnknown:
        return finish(
            Refuse(kCertificateRevocationUnknown,
                   absl::StrCat("the gateway cannot check whether the client certificate is revoked (",
                                openssl_says, "); it has no current revocation list of its issuer")));
    }
  }

  // The identity: exactly one SAN URI, in the interop:// syntax.
  int critical = -1;
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert.get(), NID_subject_alt_name, &critical, nullptr)));
  ERR_clear_error();
  if (names == nullptr) {
    return finish(Refuse(kCertificateIdentityMissing,
                         critical == -2   ? "client certificate has several subjectAltName extensions"
                         : critical == -1 ? "client certificate names no caller: it has no subjectAltName URI"
                                          : "client certificate's subjectAltName cannot be decoded"));
  }
  std::vector<std::string> uris;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                      static_cast<size_t>(ASN1_STRING_length(uri)));
  }
  if (uris.size() != 1) {
    return finish(Refuse(kCertificateIdentityMissing,
                         uris.empty()
                             ? "client certificate names no caller: it has no subjectAltName URI"
                             : absl::StrCat("client certificate names ", uris.size(),
                                            " subjectAltName URIs; a caller certificate has exactly one")));
  }
  absl::StatusOr<CallerIdentity> identity = ParseCallerUri(uris.front());
  if (!identity.ok()) {
    return finish(Refuse(kCertificateIdentityMissing,
                         absl::StrCat("client certificate names no caller: ", identity.status().message())));
  }
  identity->certificate_sha256_hex = absl::BytesToHexString(sha256);
  identity->not_after = not_after.value_or(absl::InfinitePast());
  return finish(std::move(identity));
}

absl::Status CertificateVerifier::ReloadCrlLocked() {
  const std::string& path = options_.crl_file;
  if (path.empty()) return absl::FailedPreconditionError("no CRL file is configured");
  // Looked at before reading, so that a change after this point is seen by the next check.
  FileStamp stamp;
  if (!StatFile(path, &stamp.device, &stamp.inode, &stamp.size, &stamp.mtime_ns, &stamp.ctime_ns)) {
    stamp = FileStamp();
  }
  crl_stamp_ = stamp;
  absl::StatusOr<std::string> pem = ReadFile(path, "CRL file");
  if (!pem.ok()) return pem.status();
  absl::StatusOr<std::vector<X509CrlPtr>> crls = ParseCrls(path, *pem, anchors_->cas);
  if (!crls.ok()) return crls.status();

  auto state = std::make_shared<TrustState>();
  state->generation = next_generation_++;
  state->check_revocation = true;
  state->store.reset(X509_STORE_new());
  if (state->store == nullptr) return absl::ResourceExhaustedError("X509_STORE_new failed");
  for (const X509Ptr& ca : anchors_->cas) {
    if (X509_STORE_add_cert(state->store.get(), ca.get()) != 1) {
      return absl::InternalError(absl::StrCat("X509_STORE_add_cert: ", TakeOpenSslError("")));
    }
  }
  state->boundaries = anchors_->boundaries;
  absl::Time now = clock_.Now();
  for (const X509CrlPtr& crl : *crls) {
    if (X509_STORE_add_crl(state->store.get(), crl.get()) != 1) {
      return absl::InternalError(absl::StrCat("X509_STORE_add_crl: ", TakeOpenSslError("")));
    }
    std::optional<absl::Time> last_update = ToAbslTime(X509_CRL_get0_lastUpdate(crl.get()));
    std::optional<absl::Time> next_update = ToAbslTime(X509_CRL_get0_nextUpdate(crl.get()));
    if (last_update.has_value()) state->boundaries.push_back(*last_update);
    if (next_update.has_value()) {
      state->boundaries.push_back(*next_update);
      if (*next_update <= now) {
        LogWarning(
            "CRL has expired: callers whose certificates its CA issued are refused "
            "(CERTIFICATE_REVOCATION_UNKNOWN) until a current one is installed",
            {{"file", path},
             {"issuer", NameToString(X509_CRL_get_issuer(crl.get()))},
             {"next_update", FormatUtc(next_update)}});
      }
    }
  }
  state->crls = *std::move(crls);

  std::shared_ptr<const TrustState> old;  // released after the lock
  {
    absl::MutexLock lock(&state_mu_);
    old = std::exchange(state_, std::move(state));
  }
  cache_->Reset(next_generation_ - 1);
  return absl::OkStatus();
}

absl::Status CertificateVerifier::ReloadCrl() {
  absl::MutexLock lock(&reload_mu_);
  return ReloadCrlLocked();
}

bool CertificateVerifier::ReloadCrlIfChanged() {
  if (options_.crl_file.empty()) return false;
  absl::MutexLock lock(&reload_mu_);
  FileStamp stamp;
  if (!StatFile(options_.crl_file, &stamp.device, &stamp.inode, &stamp.size, &stamp.mtime_ns,
                &stamp.ctime_ns)) {
    stamp = FileStamp();  // "cannot be read": logged once, until it can be again
  }
  if (stamp == crl_stamp_) return false;
  absl::Status reloaded = ReloadCrlLocked();
  if (!reloaded.ok()) {
    LogWarning("CRL file changed but cannot be loaded; the CRLs in use stay",
               {{"file", options_.crl_file}, {"error", reloaded.ToString()}});
    return false;
  }
  LogInfo("CRL reloaded", {{"file", options_.crl_file}});
  return true;
}

CertificateVerifier::CacheStats CertificateVerifier::cache_stats() const {
  CacheStats stats;
  stats.hits = hits_.load(std::memory_order_relaxed);
  stats.misses = misses_.load(std::memory_order_relaxed);
  stats.entries = cache_->size();
  return stats;
}

}  // namespace interop::auth
