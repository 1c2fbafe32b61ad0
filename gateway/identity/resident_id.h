// Resident identity numbers (居民身份证号码, GB 11643-1999).
//
// An 18-character number is: a 6-digit address code (where the number was first issued), an
// 8-digit birth date YYYYMMDD, a 3-digit sequence (odd for men, even for women) and a check
// character computed with ISO 7064 MOD 11-2 over the first 17 digits. Legacy 15-digit numbers have
// a 2-digit birth year (19YY) and no check character; they are upgraded by inserting "19" and
// appending the check character.
//
// The address code records where a number was issued, NOT where its holder is insured or
// registered today, and it is never changed: codes of counties that were abolished, merged or
// renamed since stay valid on the numbers issued under them. Numbers from anywhere in China are
// ordinary (people born in Beijing live in Taiyuan), so validation checks the province-level prefix
// against every province-level code GB/T 2260 has used, and looks the full code up for information
// only.
//
// Example:
//   absl::StatusOr<ResidentId> id = ParseResidentId(text, absl::CivilDay(2026, 11, 26));
//   if (!id.ok()) return FieldError("person.resident_id", id.status());
//
// Thread-safe: every function here is pure.
#ifndef INTEROP_GATEWAY_IDENTITY_RESIDENT_ID_H_
#define INTEROP_GATEWAY_IDENTITY_RESIDENT_ID_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"

namespace interop::identity {

enum class Sex { kMale, kFemale };

// A validated resident identity number.
struct ResidentId {
  // The 18-character number; a trailing lower-case 'x' is normalised to 'X'.
  std::string number;
  // True if the caller supplied a legacy 15-digit number that was upgraded.
  bool upgraded_from_legacy = false;
  // First six characters: the GB/T 2260 code of the place of issue.
  std::string address_code;
  absl::CivilDay birth_date;
  // The 3-digit sequence number, 0-999.
  int sequence = 0;
  Sex sex = Sex::kMale;
};

// Validates `text` as an 18-character or legacy 15-digit resident identity number and returns it
// normalised. `today` is the current date in China Standard Time (injected so tests do not depend on
// the clock); a birth date after it is an error, as is one before 1880-01-01.
//
// On failure returns INVALID_ARGUMENT whose message says what is wrong, without a field name (the
// caller knows the field), for example:
//   "must be 18 characters (or a legacy 15-digit number), got 17"
//   "character 7 must be a digit, got 'a'"
//   "birth date 19990230 is not a real date"
//   "birth date 20300101 is in the future"
//   "address code 990101 has no real province-level prefix \"99\""
//   "check character is '3' but the first 17 digits require 'X'"
absl::StatusOr<ResidentId> ParseResidentId(absl::string_view text, absl::CivilDay today);

// Returns the ISO 7064 MOD 11-2 check character ('0'-'9' or 'X') for the first 17 digits of an
// 18-character number. Precondition: `first17` is exactly 17 ASCII digits (checked; a violation
// crashes, since it is a programming error).
char ComputeCheckCharacter(absl::string_view first17);

// Upgrades a legacy 15-digit number to 18 characters ("19" inserted before the 2-digit year,
// check character appended). INVALID_ARGUMENT if `legacy` is not 15 digits with a real date.
absl::StatusOr<std::string> UpgradeLegacyNumber(absl::string_view legacy);

// Today's date in China Standard Time (UTC+8), from the given absolute time.
absl::CivilDay ChinaCivilDay(absl::Time now);

}  // namespace interop::identity

#endif  // INTEROP_GATEWAY_IDENTITY_RESIDENT_ID_H_
