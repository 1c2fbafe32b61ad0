#include "gateway/accesslog/stored_chain.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace interop::accesslog {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::StatusOr<CheckpointKeys> LoadCheckpointKeys(const AccessLogOptions& options) {
  absl::StatusOr<std::unique_ptr<CheckpointSigner>> signer =
      CheckpointSigner::FromPemFile(options.signing_key_file);
  if (!signer.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("signing_key_file: ", signer.status().message()));
  }
  absl::StatusOr<std::unique_ptr<CheckpointVerifier>> verifier =
      CheckpointVerifier::FromPemFile(options.signing_cert_file);
  if (!verifier.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("signing_cert_file: ", verifier.status().message()));
  }
  if (!(*signer)->Matches(**verifier)) {
    return absl::InvalidArgumentError(absl::StrCat("signing_key_file \"", options.signing_key_file,
                                                   "\" is not the private key of signing_cert_file \"",
                                                   options.signing_cert_file, "\""));
  }
  if (!options.previous_signing_cert_files.empty()) {
    for (const std::string& file : options.previous_signing_cert_files) {
      absl::StatusOr<std::unique_ptr<CheckpointVerifier>> previous = CheckpointVerifier::FromPemFile(file);
      if (!previous.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("previous_signing_cert_files: ", previous.status().message()));
      }
    }
    std::vector<std::string> files = {options.signing_cert_file};
    files.insert(files.end(), options.previous_signing_cert_files.begin(), options.previous_signing_cert_files.end());
    verifier = CheckpointVerifier::FromPemFiles(files);
    if (!verifier.ok()) return verifier.status();
  }
  return CheckpointKeys{std::move(*signer), std::move(*verifier)};
}

std::string EncodeCities(const std::vector<std::string>& cities) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "[";
  for (size_t i = 0; i < cities.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : cities[i]) {
      unsigned char byte = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (byte < 0x20) {
        out += "\\u00";
        out += kHex[byte >> 4];
        out += kHex[byte & 0xf];
      } else {
        out += c;
      }
    }
    out += '"';
  }
  out += ']';
  return out;
}

bool DecodeCities(absl::string_view text, std::vector<std::string>* cities) {
  size_t i = 0;
  const size_t n = text.size();
  if (n < 2 || text[0] != '[') return false;
  i = 1;
  if (text[i] == ']') return n == 2;
  while (true) {
    if (i >= n || text[i] != '"') return false;
    ++i;
    std::string city;
    while (true) {
      if (i >= n) return false;
      char c = text[i++];
      if (c == '"') break;
      if (c != '\\') {
        city += c;
        continue;
      }
      if (i >= n) return false;
      char escape = text[i++];
      switch (escape) {
        case '"':
        case '\\':
        case '/':
          city += escape;
          break;
        case 'b':
          city += '\b';
          break;
        case 'f':
          city += '\f';
          break;
        case 'n':
          city += '\n';
          break;
        case 'r':
          city += '\r';
          break;
        case 't':
          city += '\t';
          break;
        case 'u': {
          if (i + 4 > n) return false;
          int value = 0;
          for (int k = 0; k < 4; ++k) {
            int digit = HexValue(text[i + k]);
            if (digit < 0) return false;
            value = value * 16 + digit;
          }
          if (value >= 0x80) return false;
          city += static_cast<char>(value);
          i += 4;
          break;
        }
        default:
          return false;
      }
    }
    cities->push_back(std::move(city));
    if (i >= n) return false;
    if (text[i] == ']') return i + 1 == n;
    if (text[i] != ',') return false;
    ++i;
  }
}

ChainCheck::ChainCheck(const CheckpointVerifier& verifier, uint64_t first, uint64_t last,
                       std::string previous_hash, std::vector<Checkpoint> checkpoints)
    : verifier_(verifier),
      first_(first),
      last_(last),
      expected_previous_(std::move(previous_hash)),
      checkpoints_(std::move(checkpoints)),
      expected_(first) {}

bool ChainCheck::Bad(uint64_t sequence, std::string problem) {
  failed_ = true;
  result_.ok = false;
  result_.first_bad_sequence = sequence;
  result_.problem = std::move(problem);
  return false;
}

bool ChainCheck::Add(uint64_t sequence, absl::StatusOr<AccessRecord> record) {
  if (failed_) return false;
  if (sequence != expected_) {
    return Bad(expected_, absl::StrCat("record ", expected_,
                                       ": missing (sequence gap; the next stored record is ", sequence, ")"));
  }
  if (!record.ok()) return Bad(sequence, std::string(record.status().message()));
  if (ComputeRecordHash(*record, record->previous_hash) != record->record_hash) {
    return Bad(sequence, absl::StrCat("record ", sequence, ": hash does not match its contents"));
  }
  if (record->previous_hash != expected_previous_) {
    return Bad(sequence,
               absl::StrCat("record ", sequence, ": previous_hash does not match the hash of record ",
                            sequence - 1, " (records reordered, inserted or replaced)"));
  }
  if (next_checkpoint_ < checkpoints_.size() && checkpoints_[next_checkpoint_].sequence == sequence) {
    const Checkpoint& checkpoint = checkpoints_[next_checkpoint_++];
    if (!verifier_.Verify(
            CheckpointMessage(checkpoint.sequence, checkpoint.record_hash, checkpoint.signed_at),
            checkpoint.signature)) {
      return Bad(sequence, absl::StrCat("checkpoint at ", sequence, ": signature does not verify"));
    }
    if (checkpoint.record_hash != record->record_hash) {
      std::string since = last_good_checkpoint_ > 0 ? absl::StrCat("after checkpoint ", last_good_checkpoint_)
                                                    : absl::StrCat("from ", first_);
      return Bad(sequence, absl::StrCat("checkpoint at ", sequence, ": record ", sequence,
                                        " does not have the signed hash: records ", since, " to ", sequence,
                                        " were changed after they were signed"));
    }
    ++result_.checkpoints_checked;
    last_good_checkpoint_ = sequence;
    result_.last_signed_sequence = sequence;
  }
  ++result_.records_checked;
  expected_previous_ = std::move(record->record_hash);
  ++expected_;
  return true;
}

VerificationResult ChainCheck::Finish() {
  if (!failed_ && expected_ <= last_) {
    Bad(expected_, absl::StrCat("record ", expected_, ": missing (sequence gap; the range or a checkpoint ",
                                "goes to ", last_, " but the stored records end at ", expected_ - 1, ")"));
  }
  if (!failed_) result_.ok = true;
  return result_;
}

VerificationResult ChainCheck::MissingBefore(uint64_t first) {
  VerificationResult result;
  result.first_bad_sequence = first - 1;
  result.problem = absl::StrCat("record ", first - 1, ": missing (sequence gap)");
  return result;
}

}  // namespace interop::accesslog
