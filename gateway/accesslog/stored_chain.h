// What the SQLite and PostgreSQL access logs share about their stored rows, so that both store and
// verify the chain the same way: the encoding of the cities_consulted column, and the check of a run
// of stored records against the chain rules and the signed checkpoints (AccessLog::Verify).
// Internal to gateway/accesslog; not part of the log's interface.
#ifndef INTEROP_GATEWAY_ACCESSLOG_STORED_CHAIN_H_
#define INTEROP_GATEWAY_ACCESSLOG_STORED_CHAIN_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/accesslog/access_log.h"
#include "gateway/accesslog/signing.h"

namespace interop::accesslog {

// The log's key pair from options.signing_key_file and options.signing_cert_file, the verifier also
// holding the keys of options.previous_signing_cert_files. INVALID_ARGUMENT naming the option if a
// file cannot be loaded or is not EC P-256, or if the private key does not belong to
// signing_cert_file.
struct CheckpointKeys {
  std::unique_ptr<CheckpointSigner> signer;
  std::unique_ptr<CheckpointVerifier> verifier;
};
absl::StatusOr<CheckpointKeys> LoadCheckpointKeys(const AccessLogOptions& options);

// cities_consulted as a JSON array of strings: '"' and '\' and bytes below 0x20 escaped, nothing
// else, no spaces (['"taiyuan","jinzhong"]'). Other bytes, including invalid UTF-8, are kept as they are.
std::string EncodeCities(const std::vector<std::string>& cities);

// Parses what EncodeCities writes (and the other JSON escapes of bytes below 0x80). False if `text`
// is anything else; `cities` then holds what was parsed so far.
bool DecodeCities(absl::string_view text, std::vector<std::string>* cities);

// Checks the stored records first..last, fed in ascending sequence order, as AccessLog::Verify
// describes: continuity, each record's hash, its link to the previous record, and each checkpoint of
// the range (signature, and that its record still has the signed hash). Stops at the first problem.
//
//   ChainCheck check(verifier, first, last, hash_of_record_first_minus_1, checkpoints);
//   for (each stored row, in order) if (!check.Add(sequence, decoded_record)) break;
//   VerificationResult result = check.Finish();
class ChainCheck {
 public:
  // `previous_hash`: the stored hash of record first-1 (32 zero bytes if first is 1). `checkpoints`:
  // the stored checkpoints with first <= sequence <= last, in ascending order. `first` >= 1.
  ChainCheck(const CheckpointVerifier& verifier, uint64_t first, uint64_t last, std::string previous_hash,
             std::vector<Checkpoint> checkpoints);

  // Feeds the next stored record: its sequence, and the record decoded from its row (or DATA_LOSS
  // naming it if the row could not be decoded). False once a problem is found: feed no more.
  bool Add(uint64_t sequence, absl::StatusOr<AccessRecord> record);

  // The verdict, after the last stored record of the range was fed (or Add() returned false).
  VerificationResult Finish();

  // The verdict when record first-1, which the range links to, is not stored.
  static VerificationResult MissingBefore(uint64_t first);

 private:
  bool Bad(uint64_t sequence, std::string problem);

  const CheckpointVerifier& verifier_;
  const uint64_t first_;
  const uint64_t last_;
  std::string expected_previous_;
  std::vector<Checkpoint> checkpoints_;
  size_t next_checkpoint_ = 0;
  uint64_t expected_ = 0;
  uint64_t last_good_checkpoint_ = 0;
  bool failed_ = false;
  VerificationResult result_;
};

}  // namespace interop::accesslog

#endif  // INTEROP_GATEWAY_ACCESSLOG_STORED_CHAIN_H_
