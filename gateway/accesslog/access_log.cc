// The canonical encodings that the chain hashes and the checkpoint signatures cover.
//
// They are defined here, byte for byte, so that any verifier (this one, or one written later in
// another language) computes the same values. Building blocks:
//   u32(n)  4 bytes, big-endian, unsigned
//   u64(n)  8 bytes, big-endian, unsigned
//   i64(n)  8 bytes, big-endian, two's complement
//   str(s)  u32(number of bytes of s) || the bytes of s, exactly as stored (UTF-8 expected, not checked)
//   time    i64(unix time in microseconds, rounded down; sub-microsecond parts are not recorded)
//
// Record encoding (fields in this order):
//   str("interop-accesslog-record-v1")
//   u64(sequence)
//   time(time)
//   str(request_id) str(caller_organization) str(caller_city) str(caller_role) str(method)
//   str(person) str(purpose)
//   i64(result_code)
//   str(result_reason)
//   u32(number of cities_consulted) || str(city) for each city, in order
//
//   record_hash = SHA-256(previous_hash || record encoding)
// where previous_hash is the 32-byte record_hash of record sequence-1 (32 zero bytes for record 1).
//
// Checkpoint message (what the ECDSA P-256 / SHA-256 signature of a checkpoint covers):
//   str("interop-accesslog-checkpoint-v1") || u64(sequence) || str(record_hash) || time(signed_at)
#include "gateway/accesslog/access_log.h"

#include <openssl/evp.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace interop::accesslog {
namespace {

constexpr char kRecordTag[] = "interop-accesslog-record-v1";
constexpr char kCheckpointTag[] = "interop-accesslog-checkpoint-v1";

void AppendU32(std::string* out, uint32_t value) {
  char bytes[4];
  for (int i = 3; i >= 0; --i) {
    bytes[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  out->append(bytes, sizeof(bytes));
}

void AppendU64(std::string* out, uint64_t value) {
  char bytes[8];
  for (int i = 7; i >= 0; --i) {
    bytes[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  out->append(bytes, sizeof(bytes));
}

void AppendI64(std::string* out, int64_t value) { AppendU64(out, static_cast<uint64_t>(value)); }

// Field lengths are bounded far below 4 GiB by the gateway (metadata and request size limits).
void AppendStr(std::string* out, const std::string& value) {
  AppendU32(out, static_cast<uint32_t>(value.size()));
  out->append(value);
}

void AppendTime(std::string* out, absl::Time time) { AppendI64(out, absl::ToUnixMicros(time)); }

// SHA-256, fetched once: an implicit fetch per call (EVP_sha256()) takes a global lock in OpenSSL 3.
const EVP_MD* Sha256() {
  static const EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

}  // namespace

std::string CheckpointMessage(uint64_t sequence, const std::string& record_hash, absl::Time signed_at) {
  std::string message;
  message.reserve(96);
  AppendStr(&message, kCheckpointTag);
  AppendU64(&message, sequence);
  AppendStr(&message, record_hash);
  AppendTime(&message, signed_at);
  return message;
}

std::string ComputeRecordHash(const AccessRecord& record, const std::string& previous_hash) {
  std::string input;
  input.reserve(256 + record.request_id.size() + record.caller_organization.size() + record.method.size() +
                record.result_reason.size());
  input.append(previous_hash);
  AppendStr(&input, kRecordTag);
  AppendU64(&input, record.sequence);
  AppendTime(&input, record.time);
  AppendStr(&input, record.request_id);
  AppendStr(&input, record.caller_organization);
  AppendStr(&input, record.caller_city);
  AppendStr(&input, record.caller_role);
  AppendStr(&input, record.method);
  AppendStr(&input, record.person);
  AppendStr(&input, record.purpose);
  AppendI64(&input, record.result_code);
  AppendStr(&input, record.result_reason);
  AppendU32(&input, static_cast<uint32_t>(record.cities_consulted.size()));
  for (const std::string& city : record.cities_consulted) AppendStr(&input, city);

  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  const EVP_MD* md = Sha256();
  if (md == nullptr || EVP_Digest(input.data(), input.size(), digest, &length, md, nullptr) != 1 ||
      length != 32) {
    // SHA-256 is always available in OpenSSL's default provider; without it nothing here can work.
    abort();
  }
  return std::string(reinterpret_cast<const char*>(digest), length);
}

}  // namespace interop::accesslog
