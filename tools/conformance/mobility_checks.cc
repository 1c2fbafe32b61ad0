#include "tools/conformance/mobility_checks.h"

#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "gateway/base/cities.h"
#include "gateway/signing/signing.h"
#include "interop/certificates/v1/certificates.pb.h"

namespace interop::conformance {
namespace {

using adapters::City;
using adapters::ContactLetter;
using adapters::MoveInPermit;
using adapters::MoveOutRecord;
using adapters::PensionApplication;
using adapters::PensionSheetYear;
using adapters::PensionTransferSheet;
using adapters::PreparedTransferOut;
using adapters::SettleInResult;
using adapters::TransferInConfirmation;
using adapters::TransferOutCompletion;
using HouseholdAnswer = absl::StatusOr<household::v1::GetHouseholdRecordResponse>;

// A permit is valid 40 days including the day of issue.
constexpr int kPermitDaysAfterIssue = 39;

std::string Day(absl::CivilDay day) { return absl::FormatCivilTime(day); }

std::string Code(absl::StatusCode code) { return absl::StatusCodeToString(code); }

const char* Bool(bool value) { return value ? "true" : "false"; }

// One line about an answer, for messages (no personal data: numbers and dates of the city's acts).
std::string Answered(const MoveInPermit& p) {
  return absl::StrCat("a permit (", p.permit_number, ", issued ", Day(p.issued_on), ", valid until ",
                      Day(p.valid_until), ", replayed=", Bool(p.replayed), ")");
}
std::string Answered(const MoveOutRecord& r) {
  return absl::StrCat("a move-out (from ", r.previous_address_code, " on ", Day(r.moved_out_on),
                      ", replayed=", Bool(r.replayed), ")");
}
std::string Answered(const SettleInResult& r) {
  return absl::StrCat("a registration (at ", r.registration.address_code(), ", household ",
                      r.registration.household_number(), ", replayed=", Bool(r.replayed), ")");
}
std::string Answered(const PensionApplication& a) {
  return absl::StrCat("an application (", a.application_number, " of ", Day(a.applied_on),
                      ", replayed=", Bool(a.replayed), ")");
}
std::string Answered(const ContactLetter& l) {
  return absl::StrCat("a letter (", l.letter_number, " of ", Day(l.issued_on),
                      ", replayed=", Bool(l.replayed), ")");
}
std::string Answered(const PreparedTransferOut& p) {
  return absl::StrCat("a sheet (", p.sheet.months.size(), " months, personal account ",
                      Yuan(p.sheet.personal_account_fen), ", pooled fund ", Yuan(p.sheet.pooled_fund_fen),
                      ", replayed=", Bool(p.replayed), ")");
}
std::string Answered(const TransferOutCompletion& c) {
  return absl::StrCat("the end of the relationship (on ", Day(c.ended_on), ", replayed=", Bool(c.replayed),
                      ")");
}
std::string Answered(const TransferInConfirmation& c) {
  return absl::StrCat("a confirmation (on ", Day(c.confirmed_on),
                      ", applicant notified=", Bool(c.applicant_notified), ", replayed=", Bool(c.replayed),
                      ")");
}
std::string Answered(const adapters::CertificateSignature& s) {
  return absl::StrCat("a signature (key ", s.key_id, ", ", s.algorithm, ")");
}

template <typename T>
std::string AnsweredOrError(const absl::StatusOr<T>& result) {
  return result.ok() ? Answered(*result) : Describe(result.status());
}

// Fails unless `result` is the error `expected`; `why` says why the contract wants it.
template <typename T>
void ExpectCode(const absl::StatusOr<T>& result, absl::StatusCode expected, absl::string_view what,
                absl::string_view why, Findings& findings) {
  if (result.status().code() == expected) return;
  findings.Fail(absl::StrCat(what, " answered ", AnsweredOrError(result), "; must be ", Code(expected),
                             why.empty() ? "" : " (", why, why.empty() ? "" : ")"));
}

// The two answers to one request sent twice with the same key: the second must be the first,
// replayed. `difference` says how the answers differ ("" if they do not).
template <typename T>
void ExpectReplay(const absl::StatusOr<T>& again, absl::string_view what, const std::string& difference,
                  Findings& findings) {
  if (!again.ok()) {
    findings.Fail(absl::StrCat(what, " answered ", Describe(again.status()),
                               "; a repeated request_key is answered with the first answer, replayed=true"));
    return;
  }
  if (!again->replayed) {
    findings.Fail(absl::StrCat(what, " answered ", Answered(*again),
                               "; a repeated request_key is applied once and answered replayed=true"));
  }
  if (!difference.empty()) {
    findings.Fail(absl::StrCat(what, " answered other than the first time (", difference,
                               "); a repeated request_key is answered with the first answer"));
  }
}

// "differs in a, b" naming the fields that differ, or "" if none does.
std::string Differences(std::initializer_list<std::pair<bool, const char*>> fields) {
  std::vector<std::string> names;
  for (const auto& [differs, name] : fields) {
    if (differs) names.push_back(name);
  }
  return names.empty() ? "" : absl::StrCat("differs in ", absl::StrJoin(names, ", "));
}

std::string SheetDifference(const PensionTransferSheet& a, const PensionTransferSheet& b) {
  bool years = a.years.size() != b.years.size();
  for (size_t i = 0; !years && i < a.years.size(); ++i) {
    const PensionSheetYear& x = a.years[i];
    const PensionSheetYear& y = b.years[i];
    years = std::tie(x.year, x.months, x.wage_base_total_fen, x.personal_fen, x.employer_fen) !=
            std::tie(y.year, y.months, y.wage_base_total_fen, y.personal_fen, y.employer_fen);
  }
  bool months = a.months.size() != b.months.size();
  for (size_t i = 0; !months && i < a.months.size(); ++i) months = !SameMessage(a.months[i], b.months[i]);
  return Differences({{years, "years"},
                      {months, "months"},
                      {a.personal_account_fen != b.personal_account_fen, "personal_account"},
                      {a.pooled_fund_fen != b.pooled_fund_fen, "pooled_fund"}});
}

// A city other than `city` (the other end of the kit's migrations and transfers), and a third one
// (for a request that differs only in that city).
City OtherCity(City city) { return city == City::CITY_TAIYUAN ? City::CITY_JINZHONG : City::CITY_TAIYUAN; }
City ThirdCity(City city) {
  for (City c : kAllCities) {
    if (c != city && c != OtherCity(city)) return c;
  }
  return City::CITY_UNSPECIFIED;
}
// A county of OtherCity(city): Taiyuan's Xiaodian district, or Jinzhong's Yuci district.
std::string CountyOfOtherCity(City city) {
  return OtherCity(city) == City::CITY_TAIYUAN ? "140105" : "140702";
}

// Why the city's adapter does not offer `part` at all ("" if it does), from its answer to a request
// the contract cannot carry (no city): an adapter that offers the part refuses it itself
// (INVALID_ARGUMENT, without a call); one that does not answers UNIMPLEMENTED (CityAdapter's
// defaults). Then the checks of the part are skipped: not the backend's doing, but the gateway cannot
// run the workflow with the city whatever the backend does.
template <typename T>
std::string NotOffered(const absl::StatusOr<T>& refused, absl::string_view part) {
  if (!absl::IsUnimplemented(refused.status())) return "";
  return absl::StrCat("not run: the gateway's adapter for this city and transport does not offer ", part,
                      " (", refused.status().message(),
                      "), so the gateway cannot run these workflows with the city; nothing was asked of the "
                      "backend");
}

// The adapter's calls, timed.
class Calls {
 public:
  explicit Calls(const MobilityContext& context) : c_(context) {}

  absl::StatusOr<adapters::PersonLocation> Locate(const std::string& id) {
    return c_.calls.Await<absl::StatusOr<adapters::PersonLocation>>(
        absl::StrCat("LocatePerson(", id, ")"), [&](const adapters::CallOptions& call, auto done) {
          c_.adapter.LocatePerson(id, call, std::move(done));
        });
  }
  HouseholdAnswer Household(const std::string& id) {
    return c_.calls.Await<HouseholdAnswer>(absl::StrCat("GetHouseholdRegistration(", id, ")"),
                                           [&](const adapters::CallOptions& call, auto done) {
                                             c_.adapter.GetHouseholdRecord(id, call, std::move(done));
                                           });
  }
  absl::StatusOr<MoveInPermit> Permit(const std::string& key, const std::string& id, City origin,
                                      const std::string& address) {
    return c_.calls.Await<absl::StatusOr<MoveInPermit>>(
        absl::StrCat("IssueMoveInPermit(", key, ")"), [&](const adapters::CallOptions& call, auto done) {
          c_.adapter.IssueMoveInPermit(key, id, origin, address, call, std::move(done));
        });
  }
  absl::StatusOr<MoveOutRecord> MoveOut(const std::string& key, const std::string& id, City destination,
                                        const std::string& permit, absl::CivilDay valid_until) {
    return c_.calls.Await<absl::StatusOr<MoveOutRecord>>(
        absl::StrCat("RecordMoveOut(", key, ")"), [&](const adapters::CallOptions& call, auto done) {
          c_.adapter.RecordMoveOut(key, id, destination, permit, valid_until, call, std::move(done));
        });
  }
  absl::StatusOr<SettleInResult> Settle(const std::string& key, const std::string& id,
                                        const std::string& permit, const std::string& address,
                                        const std::string& name) {
    return c_.calls.Await<absl::StatusOr<SettleInResult>>(
        absl::StrCat("SettleIn(", key, ")"), [&](const adapters::CallOptions& call, auto done) {
          c_.adapter.SettleIn(key, id, permit, address, name, call, std::move(done));
        });
  }
  absl::StatusOr<PensionApplication> Apply(const std::string& key, const std::string& id, City origin) {
    return c_.calls.Await<absl::StatusOr<PensionApplication>>(
        absl::StrCat("ApplyPensionTransfer(", key, ")"), [&](const adapters::CallOptions& call, auto done) {
          c_.adapter.ApplyPensionTransfer(key, id, origin, call, std::move(done));
        });
  }
  absl::StatusOr<ContactLetter> Letter(const std::string& key, const std::string& id,
                                       const std::string& application) {
    return c_.calls.Await<absl::StatusOr<ContactLetter>>(
        absl::StrCat("IssueContactLetter(", key, ")"), [&](const adapters::CallOptions& call, auto done) {
          c_.adapter.IssueContactLetter(key, id, application, call, std::move(done));
        });
  }
  absl::StatusOr<PreparedTransferOut> Prepare(const std::string& key, const std::string& id, City destination,
                                              const std::string& letter) {
    return c_.calls.Await<absl::StatusOr<PreparedTransferOut>>(
        absl::StrCat("PreparePensionTransferOut(", key, ")"),
        [&](const adapters::CallOptions& call, auto done) {
          c_.adapter.PreparePensionTransferOut(key, id, destination, letter, call, std::move(done));
        });
  }
  absl::StatusOr<TransferOutCompletion> Complete(const std::string& key, const std::string& id,
                                                 City destination, const std::string& letter,
                                                 int64_t personal, int64_t pooled) {
    return c_.calls.Await<absl::StatusOr<TransferOutCompletion>>(
        absl::StrCat("CompletePensionTransferOut(", key, ")"),
        [&](const adapters::CallOptions& call, auto done) {
          c_.adapter.CompletePensionTransferOut(key, id, destination, letter, personal, pooled, call,
                                                std::move(done));
        });
  }
  absl::StatusOr<TransferInConfirmation> Confirm(const std::string& key, const std::string& id,
                                                 const std::string& application, City origin,
                                                 const PensionTransferSheet& sheet) {
    return c_.calls.Await<absl::StatusOr<TransferInConfirmation>>(
        absl::StrCat("ConfirmPensionTransferIn(", key, ")"),
        [&](const adapters::CallOptions& call, auto done) {
          c_.adapter.ConfirmPensionTransferIn(key, id, application, origin, sheet, call, std::move(done));
        });
  }
  absl::StatusOr<adapters::CertificateSignature> Sign(absl::string_view what, const std::string& payload) {
    return c_.calls.Await<absl::StatusOr<adapters::CertificateSignature>>(
        absl::StrCat("SignCertificate(", what, ")"), [&](const adapters::CallOptions& call, auto done) {
          c_.adapter.SignCertificate(payload, call, std::move(done));
        });
  }

 private:
  const MobilityContext& c_;
};

// --- Household migration.

class MigrationRun {
 public:
  explicit MigrationRun(const MobilityContext& context)
      : c_(context), calls_(context), other_(OtherCity(context.city)), today_(context.options.today) {}

  std::vector<CheckResult> Run() {
    const std::string city(CityName(c_.city));
    const std::string other(CityName(other_));
    const std::string& unknown = c_.options.unknown_id;
    const std::string not_offered = NotOffered(
        calls_.Permit(Key("permit-no-origin"), unknown, City::CITY_UNSPECIFIED, ""), "household migration");
    if (!not_offered.empty()) {
      return {Skipped("migration-permit", not_offered), Skipped("migration-move-out", not_offered),
              Skipped("migration-settle-in", not_offered), Skipped("migration-refusals", not_offered)};
    }
    // Nobody's registration changes whatever the backend answers: the unknown person is not
    // registered here.
    ExpectCode(calls_.MoveOut(Key("move-out-unknown"), unknown, other_, Key("permit-unknown"),
                              today_ + kPermitDaysAfterIssue),
               absl::StatusCode::kNotFound,
               absl::StrCat("RecordMoveOut of the unknown person ", unknown, " to ", other),
               "the person is not registered here", refusals_);

    person_ = c_.options.migration_person;
    std::string not_exercised;
    HouseholdAnswer before = absl::UnknownError("not asked");
    if (person_.empty()) {
      not_exercised =
          absl::StrCat("not exercised: no migration person; name a test person registered in ", city,
                       " whom the kit may move out and settle in again with --migration_person");
    } else {
      before = calls_.Household(person_);
      if (!before.ok()) {
        not_exercised = absl::StrCat("not exercised: GetHouseholdRegistration of the migration person ",
                                     person_, " answered ", Describe(before.status()),
                                     "; the migration person must be registered in ", city);
      }
    }
    if (!not_exercised.empty()) {
      for (Findings* findings : {&permit_, &move_out_, &settle_in_, &refusals_}) {
        findings->Fail(not_exercised);
      }
      return Results();
    }
    address_ = before->address_code();
    name_ = before->name();
    registered_ = true;
    destination_permit_ = Key(absl::StrCat("permit-of-", other));

    RefusalsWhileRegistered();
    MoveOut();
    RefusalsWhileMovedOut();
    IssuePermit();
    SettleIn();
    if (!registered_) {
      settle_in_.Fail(absl::StrCat("the migration person ", person_, " is left moved out of ", city,
                                   ": settle them in again at ", address_, " by hand"));
    }
    return Results();
  }

 private:
  std::string Key(absl::string_view step) const { return absl::StrCat("CONFORMANCE-", c_.run_id, "-", step); }

  std::vector<CheckResult> Results() {
    const std::string city(CityName(c_.city));
    return {
        permit_.Result(absl::StrCat("a permit to move in ", person_, " from ", CityName(other_), " at ",
                                    address_, " (", permit_number_,
                                    "): valid 40 days from its day of issue; the same "
                                    "request_key again answered the same permit, replayed=true; the key with "
                                    "another origin city answered ALREADY_EXISTS")),
        move_out_.Result(absl::StrCat(
            "the move-out of ", person_, " to ", CityName(other_), " answered the address ", address_,
            "; GetHouseholdRegistration then answered NOT_FOUND and LocatePerson no longer claimed the "
            "registration; the same request_key again answered the same move-out, replayed=true; the "
            "key with another permit answered ALREADY_EXISTS")),
        settle_in_.Result(absl::StrCat(
            "settling ", person_, " in at ", address_, " on ", permit_number_,
            " answered the registration GetHouseholdRegistration answers from then on; the same request_key "
            "again answered the same registration, replayed=true; the key with another permit, and with "
            "another name, answered ALREADY_EXISTS; the person is registered in ",
            city, " again")),
        refusals_.Result(
            "a permit for a person registered here and a move-out on an expired permit answered "
            "FAILED_PRECONDITION; a move-out of a person not registered here (the migration person "
            "once moved out, the unknown person) NOT_FOUND; a permit for an address of another city "
            "INVALID_ARGUMENT; a settling-in on a permit the city did not issue FAILED_PRECONDITION"),
    };
  }

  void RefusalsWhileRegistered() {
    const std::string city(CityName(c_.city));
    absl::StatusOr<MoveInPermit> permit = calls_.Permit(Key("permit-registered"), person_, other_, address_);
    ExpectCode(permit, absl::StatusCode::kFailedPrecondition,
               absl::StrCat("IssueMoveInPermit for ", person_, ", registered in ", city, ","),
               "the person is registered in this city already", refusals_);

    const absl::CivilDay expired = today_ - 30;
    absl::StatusOr<MoveOutRecord> out =
        calls_.MoveOut(Key("move-out-expired"), person_, other_, Key("permit-expired"), expired);
    ExpectCode(out, absl::StatusCode::kFailedPrecondition,
               absl::StrCat("RecordMoveOut of ", person_, " on a permit valid until ", Day(expired)),
               "the permit expired before today", refusals_);
    if (out.ok() && !out->replayed) {
      registered_ = false;
      moved_out_on_expired_permit_ = true;
    }
  }

  void MoveOut() {
    const std::string other(CityName(other_));
    if (moved_out_on_expired_permit_) {
      move_out_.Fail("not exercised: the move-out on an expired permit was applied (see migration-refusals)");
      return;
    }
    const absl::CivilDay valid_until = today_ + kPermitDaysAfterIssue;
    const std::string key = Key("move-out");
    const std::string what = absl::StrCat("RecordMoveOut of ", person_, " to ", other, " on permit ",
                                          destination_permit_, " valid until ", Day(valid_until));
    absl::StatusOr<MoveOutRecord> out =
        calls_.MoveOut(key, person_, other_, destination_permit_, valid_until);
    if (!out.ok()) {
      move_out_.Fail(absl::StrCat(what, " answered ", Describe(out.status())));
      return;
    }
    registered_ = false;
    if (out->replayed) {
      move_out_.Fail(absl::StrCat(what, " answered replayed=true for a request_key never sent"));
    }
    if (out->previous_address_code != address_) {
      move_out_.Fail(absl::StrCat(what, " answered previous_address_code ", out->previous_address_code,
                                  "; the person was registered at ", address_));
    }
    HouseholdAnswer now = calls_.Household(person_);
    if (!absl::IsNotFound(now.status())) {
      move_out_.Fail(absl::StrCat("GetHouseholdRegistration of ", person_, " after the move-out answered ",
                                  now.ok() ? "a registration" : Describe(now.status()),
                                  "; from the move-out on the person is not registered here (NOT_FOUND)"));
    }
    absl::StatusOr<adapters::PersonLocation> located = calls_.Locate(person_);
    if (!located.ok()) {
      move_out_.Fail(absl::StrCat("LocatePerson of ", person_, " after the move-out answered ",
                                  Describe(located.status())));
    } else if (located->holds_household_registration) {
      move_out_.Fail(absl::StrCat("LocatePerson of ", person_,
                                  " after the move-out still claims the household registration"));
    }
    absl::StatusOr<MoveOutRecord> again =
        calls_.MoveOut(key, person_, other_, destination_permit_, valid_until);
    ExpectReplay(again, absl::StrCat("the same RecordMoveOut again (request_key ", key, ")"),
                 again.ok() ? Differences({{again->previous_address_code != out->previous_address_code,
                                            "previous_address_code"},
                                           {again->moved_out_on != out->moved_out_on, "moved_out_on"}})
                            : "",
                 move_out_);
    ExpectCode(calls_.MoveOut(key, person_, other_, destination_permit_ + "-OTHER", valid_until),
               absl::StatusCode::kAlreadyExists,
               absl::StrCat("RecordMoveOut with request_key ", key, " again but another permit number"),
               "the same key with a different request", move_out_);
  }

  void RefusalsWhileMovedOut() {
    const std::string city(CityName(c_.city));
    if (registered_) {
      refusals_.Fail(absl::StrCat(
          "not exercised: the migration person was not moved out (see migration-move-out), so a "
          "move-out of a person not registered here, a permit for an address of another city and a "
          "settling-in without a permit could not be asked"));
      return;
    }
    ExpectCode(calls_.MoveOut(Key("move-out-again"), person_, other_, destination_permit_,
                              today_ + kPermitDaysAfterIssue),
               absl::StatusCode::kNotFound,
               absl::StrCat("RecordMoveOut of ", person_, " once moved out (a new request_key)"),
               absl::StrCat("the person is not registered in ", city), refusals_);
    const std::string elsewhere = CountyOfOtherCity(c_.city);
    ExpectCode(calls_.Permit(Key("permit-elsewhere"), person_, other_, elsewhere),
               absl::StatusCode::kInvalidArgument,
               absl::StrCat("IssueMoveInPermit for ", person_, " at ", elsewhere, ", a county of ",
                            CityName(OtherCity(c_.city)), ","),
               absl::StrCat("address_code is not a county of ", city), refusals_);
    absl::StatusOr<SettleInResult> settled =
        calls_.Settle(Key("settle-in-no-permit"), person_, Key("no-such-permit"), address_, name_);
    ExpectCode(settled, absl::StatusCode::kFailedPrecondition,
               absl::StrCat("SettleIn of ", person_, " on permit ", Key("no-such-permit"), ", which ", city,
                            " did not issue,"),
               "this city issued no such permit for the person", refusals_);
    if (settled.ok() && !settled->replayed) {
      registered_ = true;
      settled_without_permit_ = true;
    }
  }

  void IssuePermit() {
    const std::string city(CityName(c_.city));
    if (registered_) {
      permit_.Fail(absl::StrCat("not exercised: the migration person is registered in ", city,
                                settled_without_permit_
                                    ? " (settled in without a permit, see migration-refusals)"
                                    : " (not moved out, see migration-move-out)"));
      return;
    }
    const std::string key = Key("permit");
    const std::string what =
        absl::StrCat("IssueMoveInPermit for ", person_, " from ", CityName(other_), " at ", address_);
    permit_answer_ = calls_.Permit(key, person_, other_, address_);
    if (!permit_answer_.ok()) {
      permit_.Fail(absl::StrCat(what, " answered ", Describe(permit_answer_.status())));
      return;
    }
    const MoveInPermit& permit = *permit_answer_;
    permit_number_ = permit.permit_number;
    if (permit.replayed) {
      permit_.Fail(absl::StrCat(what, " answered replayed=true for a request_key never sent"));
    }
    if (permit.valid_until != permit.issued_on + kPermitDaysAfterIssue) {
      permit_.Fail(absl::StrCat(what, " answered a permit issued on ", Day(permit.issued_on), " valid until ",
                                Day(permit.valid_until),
                                "; a permit is valid 40 days including the day of issue (",
                                Day(permit.issued_on + kPermitDaysAfterIssue), ")"));
    }
    absl::StatusOr<MoveInPermit> again = calls_.Permit(key, person_, other_, address_);
    ExpectReplay(again, absl::StrCat("the same IssueMoveInPermit again (request_key ", key, ")"),
                 again.ok() ? Differences({{again->permit_number != permit.permit_number, "permit_number"},
                                           {again->issued_on != permit.issued_on, "issued_on"},
                                           {again->valid_until != permit.valid_until, "valid_until"}})
                            : "",
                 permit_);
    const City third = ThirdCity(c_.city);
    ExpectCode(calls_.Permit(key, person_, third, address_), absl::StatusCode::kAlreadyExists,
               absl::StrCat("IssueMoveInPermit with request_key ", key, " again but from ", CityName(third)),
               "the same key with a different request", permit_);
  }

  void SettleIn() {
    if (!permit_answer_.ok()) {
      settle_in_.Fail("not exercised: no permit to move in (see migration-permit)");
      return;
    }
    const std::string key = Key("settle-in");
    const std::string what = absl::StrCat("SettleIn of ", person_, " at ", address_, " on ", permit_number_);
    // The adapter refuses a registration of another person or at another address (INTERNAL).
    absl::StatusOr<SettleInResult> settled = calls_.Settle(key, person_, permit_number_, address_, name_);
    if (!settled.ok()) {
      settle_in_.Fail(absl::StrCat(what, " answered ", Describe(settled.status())));
      return;
    }
    registered_ = true;
    if (settled->replayed) {
      settle_in_.Fail(absl::StrCat(what, " answered replayed=true for a request_key never sent"));
    }
    HouseholdAnswer now = calls_.Household(person_);
    if (!now.ok()) {
      settle_in_.Fail(absl::StrCat("GetHouseholdRegistration of ", person_, " after settling in answered ",
                                   Describe(now.status())));
    } else if (!SameMessage(*now, settled->registration)) {
      settle_in_.Fail(
          absl::StrCat("GetHouseholdRegistration of ", person_,
                       " after settling in is not the registration SettleIn answered: it differs in ",
                       absl::StrJoin(DifferingFields(*now, settled->registration), ", ")));
    }
    absl::StatusOr<adapters::PersonLocation> located = calls_.Locate(person_);
    if (!located.ok() || !located->holds_household_registration) {
      settle_in_.Fail(absl::StrCat("LocatePerson of ", person_, " after settling in answered ",
                                   located.ok() ? "no household registration" : Describe(located.status())));
    }
    absl::StatusOr<SettleInResult> again = calls_.Settle(key, person_, permit_number_, address_, name_);
    ExpectReplay(
        again, absl::StrCat("the same SettleIn again (request_key ", key, ")"),
        again.ok() && !SameMessage(again->registration, settled->registration)
            ? absl::StrCat("the registration differs in ",
                           absl::StrJoin(DifferingFields(again->registration, settled->registration), ", "))
            : "",
        settle_in_);
    ExpectCode(calls_.Settle(key, person_, permit_number_ + "-OTHER", address_, name_),
               absl::StatusCode::kAlreadyExists,
               absl::StrCat("SettleIn with request_key ", key, " again but another permit number"),
               "the same key with a different request", settle_in_);
    ExpectCode(calls_.Settle(key, person_, permit_number_, address_, name_ + "X"), absl::StatusCode::kAlreadyExists,
               absl::StrCat("SettleIn with request_key ", key, " again but another name"),
               "the same key with a different request", settle_in_);
  }

  const MobilityContext& c_;
  Calls calls_;
  const City other_;
  const absl::CivilDay today_;
  Findings permit_{"migration-permit"};
  Findings move_out_{"migration-move-out"};
  Findings settle_in_{"migration-settle-in"};
  Findings refusals_{"migration-refusals"};
  std::string person_;
  std::string address_;  // where the person was registered
  std::string name_;
  // Whether the person is registered here, as far as the answers tell.
  bool registered_ = false;
  bool moved_out_on_expired_permit_ = false;
  bool settled_without_permit_ = false;
  std::string destination_permit_;  // the other city's permit the move-out names
  absl::StatusOr<MoveInPermit> permit_answer_ = absl::UnknownError("not asked");
  std::string permit_number_;
};

// --- Pension transfer.

class PensionRun {
 public:
  explicit PensionRun(const MobilityContext& context)
      : c_(context), calls_(context), other_(OtherCity(context.city)) {}

  std::vector<CheckResult> Run() {
    const std::string city(CityName(c_.city));
    const std::string other(CityName(other_));
    const std::string& unknown = c_.options.unknown_id;
    const std::string not_offered =
        NotOffered(calls_.Apply(Key("apply-no-origin"), unknown, City::CITY_UNSPECIFIED), "pension transfer");
    if (!not_offered.empty()) {
      return {Skipped("pension-apply", not_offered), Skipped("pension-prepare", not_offered),
              Skipped("pension-complete-out", not_offered), Skipped("pension-confirm-in", not_offered),
              Skipped("pension-refusals", not_offered)};
    }
    ExpectCode(calls_.Prepare(Key("prepare-unknown"), unknown, other_, Key("letter-unknown")),
               absl::StatusCode::kNotFound,
               absl::StrCat("PreparePensionTransferOut of the unknown person ", unknown, " to ", other),
               "the person has no pension record here", refusals_);
    person_ = c_.options.pension_person;
    if (person_.empty()) {
      const std::string not_exercised = absl::StrCat(
          "not exercised: no pension person; name a test person with a pension record in ", city,
          " that can move (who no longer contributes there), whom the kit may transfer out and back in, with "
          "--pension_person");
      for (Findings* findings : {&apply_, &prepare_, &complete_, &confirm_, &refusals_}) {
        findings->Fail(not_exercised);
      }
      return Results();
    }
    letter_ = Key(absl::StrCat("letter-of-", other));
    Prepare();
    if (prepared_.ok()) {
      CompleteOut();
      Apply();
      ConfirmIn();
    } else {
      const std::string not_exercised = "not exercised: no sheet was prepared (see pension-prepare)";
      for (Findings* findings : {&apply_, &complete_, &confirm_, &refusals_}) findings->Fail(not_exercised);
    }
    if (ended_ && !merged_) {
      confirm_.Fail(absl::StrCat("the pension person ", person_,
                                 "'s relationship is left transferred out of ", city,
                                 ": transfer it in again by hand"));
    }
    return Results();
  }

 private:
  std::string Key(absl::string_view step) const { return absl::StrCat("CONFORMANCE-", c_.run_id, "-", step); }

  std::vector<CheckResult> Results() {
    const std::string city(CityName(c_.city));
    const std::string other(CityName(other_));
    const PensionTransferSheet sheet = prepared_.ok() ? prepared_->sheet : PensionTransferSheet();
    return {
        apply_.Result(absl::StrCat("an application of ", person_, " to transfer in from ", other, " (",
                                   application_number_,
                                   ") and a contact letter for it; the same request_key again "
                                   "answered each replayed=true; each key with another request answered "
                                   "ALREADY_EXISTS")),
        prepare_.Result(absl::StrCat(
            "the sheet of ", person_, " (", sheet.years.size(), " years, ", sheet.months.size(),
            " months, personal account ", Yuan(sheet.personal_account_fen), ", pooled fund ",
            Yuan(sheet.pooled_fund_fen),
            ") is consistent: months and years ascending, years the sums of their months, the pooled "
            "fund 12% of the wage bases since 1998-01; preparing again answered the same sheet; the same "
            "request_key answered it replayed=true; the key with another letter answered ALREADY_EXISTS")),
        complete_.Result(absl::StrCat("the relationship of ", person_, " in ", city,
                                      " ended on the prepared funds; the same request_key again answered "
                                      "replayed=true; the key with another letter answered ALREADY_EXISTS")),
        confirm_.Result(
            absl::StrCat("the sheet and funds of ", person_, " confirmed in ", city, " from ", other,
                         "; the same request_key again answered replayed=true; the key with another "
                         "application answered ALREADY_EXISTS; the relationship is back in ",
                         city)),
        refusals_.Result(
            "preparing for the unknown person answered NOT_FOUND, for the relationship once moved away "
            "FAILED_PRECONDITION; completing on funds a fen off the prepared ones, a letter for an "
            "application the "
            "city does not hold, and confirming a pooled fund a fen off the sheet answered "
            "FAILED_PRECONDITION"),
    };
  }

  void Prepare() {
    const std::string key = Key("prepare");
    const std::string what = absl::StrCat("PreparePensionTransferOut of ", person_, " to ", CityName(other_),
                                          " on letter ", letter_);
    prepared_ = calls_.Prepare(key, person_, other_, letter_);
    if (!prepared_.ok()) {
      prepare_.Fail(absl::StrCat(what, " answered ", Describe(prepared_.status()),
                                 "; the pension person must have a pension record here that can move"));
      return;
    }
    const PensionTransferSheet& sheet = prepared_->sheet;
    if (prepared_->replayed) {
      prepare_.Fail(absl::StrCat(what, " answered replayed=true for a request_key never sent"));
    }
    if (sheet.months.empty()) {
      prepare_.Fail(absl::StrCat(what,
                                 " answered a sheet without months; a person without pension months here has "
                                 "no pension record here (NOT_FOUND)"));
    }
    const std::string inconsistency = SheetInconsistency(sheet);
    if (!inconsistency.empty()) {
      prepare_.Fail(absl::StrCat(what, ": the sheet is inconsistent: ", inconsistency));
    }
    absl::StatusOr<PreparedTransferOut> again = calls_.Prepare(key, person_, other_, letter_);
    ExpectReplay(again, absl::StrCat("the same PreparePensionTransferOut again (request_key ", key, ")"),
                 again.ok() ? SheetDifference(sheet, again->sheet) : "", prepare_);
    // Preparing changes nothing: another preparation answers the same sheet.
    absl::StatusOr<PreparedTransferOut> fresh = calls_.Prepare(Key("prepare-2"), person_, other_, letter_);
    if (!fresh.ok()) {
      prepare_.Fail(absl::StrCat("PreparePensionTransferOut again with a new request_key answered ",
                                 Describe(fresh.status()), "; preparing changes nothing"));
    } else {
      if (fresh->replayed) {
        prepare_.Fail("PreparePensionTransferOut with a new request_key answered replayed=true");
      }
      const std::string difference = SheetDifference(sheet, fresh->sheet);
      if (!difference.empty()) {
        prepare_.Fail(
            absl::StrCat("PreparePensionTransferOut again with a new request_key answered another sheet (",
                         difference, "); preparing changes nothing"));
      }
    }
    ExpectCode(calls_.Prepare(key, person_, other_, letter_ + "-OTHER"), absl::StatusCode::kAlreadyExists,
               absl::StrCat("PreparePensionTransferOut with request_key ", key, " again but another letter"),
               "the same key with a different request", prepare_);
  }

  void CompleteOut() {
    const PensionTransferSheet& sheet = prepared_->sheet;
    const int64_t personal = sheet.personal_account_fen;
    const int64_t pooled = sheet.pooled_fund_fen;
    // Funds that are not the prepared ones.
    const struct {
      const char* step;
      int64_t personal;
      int64_t pooled;
      const char* which;
    } wrong[] = {{"complete-personal-off", personal + 1, pooled, "a personal account one fen more"},
                 {"complete-pooled-off", personal, pooled + 1, "a pooled fund one fen more"}};
    for (const auto& w : wrong) {
      absl::StatusOr<TransferOutCompletion> result =
          calls_.Complete(Key(w.step), person_, other_, letter_, w.personal, w.pooled);
      ExpectCode(result, absl::StatusCode::kFailedPrecondition,
                 absl::StrCat("CompletePensionTransferOut of ", person_, " with ", w.which, " than prepared"),
                 "the funds are not the prepared ones", refusals_);
      if (result.ok() && !result->replayed) {
        ended_ = true;
        break;
      }
    }
    if (ended_) {
      complete_.Fail(
          "not exercised: the relationship ended on funds other than the prepared ones "
          "(see pension-refusals)");
    } else {
      const std::string key = Key("complete");
      const std::string what =
          absl::StrCat("CompletePensionTransferOut of ", person_, " with the prepared funds (",
                       Yuan(personal), " + ", Yuan(pooled), ")");
      absl::StatusOr<TransferOutCompletion> done =
          calls_.Complete(key, person_, other_, letter_, personal, pooled);
      if (!done.ok()) {
        complete_.Fail(absl::StrCat(what, " answered ", Describe(done.status())));
      } else {
        ended_ = true;
        if (done->replayed) {
          complete_.Fail(absl::StrCat(what, " answered replayed=true for a request_key never sent"));
        }
        absl::StatusOr<TransferOutCompletion> again =
            calls_.Complete(key, person_, other_, letter_, personal, pooled);
        ExpectReplay(again, absl::StrCat("the same CompletePensionTransferOut again (request_key ", key, ")"),
                     again.ok() ? Differences({{again->ended_on != done->ended_on, "ended_on"}}) : "",
                     complete_);
        ExpectCode(
            calls_.Complete(key, person_, other_, letter_ + "-OTHER", personal, pooled),
            absl::StatusCode::kAlreadyExists,
            absl::StrCat("CompletePensionTransferOut with request_key ", key, " again but another letter"),
            "the same key with a different request", complete_);
      }
    }
    if (!ended_) {
      refusals_.Fail(
          "not exercised: the relationship did not end (see pension-complete-out), so preparing a "
          "relationship that moved away could not be asked");
      return;
    }
    ExpectCode(calls_.Prepare(Key("prepare-after"), person_, other_, letter_),
               absl::StatusCode::kFailedPrecondition,
               absl::StrCat("PreparePensionTransferOut of ", person_, " after the transfer out"),
               "the relationship already moved away", refusals_);
  }

  void Apply() {
    const std::string key = Key("apply");
    const std::string what =
        absl::StrCat("ApplyPensionTransfer of ", person_, " to transfer in from ", CityName(other_));
    application_ = calls_.Apply(key, person_, other_);
    if (!application_.ok()) {
      apply_.Fail(absl::StrCat(what, " answered ", Describe(application_.status())));
    } else {
      application_number_ = application_->application_number;
      if (application_->replayed) {
        apply_.Fail(absl::StrCat(what, " answered replayed=true for a request_key never sent"));
      }
      absl::StatusOr<PensionApplication> again = calls_.Apply(key, person_, other_);
      ExpectReplay(
          again, absl::StrCat("the same ApplyPensionTransfer again (request_key ", key, ")"),
          again.ok() ? Differences({{again->application_number != application_number_, "application_number"},
                                    {again->applied_on != application_->applied_on, "applied_on"}})
                     : "",
          apply_);
      const City third = ThirdCity(c_.city);
      ExpectCode(
          calls_.Apply(key, person_, third), absl::StatusCode::kAlreadyExists,
          absl::StrCat("ApplyPensionTransfer with request_key ", key, " again but from ", CityName(third)),
          "the same key with a different request", apply_);

      const std::string letter_key = Key("letter");
      const std::string letter_what =
          absl::StrCat("IssueContactLetter for ", person_, "'s application ", application_number_);
      absl::StatusOr<ContactLetter> letter = calls_.Letter(letter_key, person_, application_number_);
      if (!letter.ok()) {
        apply_.Fail(absl::StrCat(letter_what, " answered ", Describe(letter.status())));
      } else {
        if (letter->replayed) {
          apply_.Fail(absl::StrCat(letter_what, " answered replayed=true for a request_key never sent"));
        }
        absl::StatusOr<ContactLetter> letter_again = calls_.Letter(letter_key, person_, application_number_);
        ExpectReplay(
            letter_again, absl::StrCat("the same IssueContactLetter again (request_key ", letter_key, ")"),
            letter_again.ok()
                ? Differences({{letter_again->letter_number != letter->letter_number, "letter_number"},
                               {letter_again->issued_on != letter->issued_on, "issued_on"}})
                : "",
            apply_);
        ExpectCode(calls_.Letter(letter_key, person_, application_number_ + "-OTHER"),
                   absl::StatusCode::kAlreadyExists,
                   absl::StrCat("IssueContactLetter with request_key ", letter_key,
                                " again but another application"),
                   "the same key with a different request", apply_);
      }
    }
    ExpectCode(calls_.Letter(Key("letter-no-application"), person_, Key("no-such-application")),
               absl::StatusCode::kFailedPrecondition,
               absl::StrCat("IssueContactLetter for application ", Key("no-such-application"), ", which ",
                            CityName(c_.city), " does not hold,"),
               "this city holds no such application", refusals_);
  }

  void ConfirmIn() {
    if (!application_.ok()) {
      confirm_.Fail("not exercised: no application (see pension-apply)");
      return;
    }
    const PensionTransferSheet& sheet = prepared_->sheet;
    PensionTransferSheet off = sheet;
    off.pooled_fund_fen += 1;
    absl::StatusOr<TransferInConfirmation> refused =
        calls_.Confirm(Key("confirm-pooled-off"), person_, application_number_, other_, off);
    ExpectCode(refused, absl::StatusCode::kFailedPrecondition,
               absl::StrCat("ConfirmPensionTransferIn of ", person_,
                            " with a pooled fund one fen more than the "
                            "sheet's months give"),
               "the funds do not match the sheet", refusals_);
    if (refused.ok() && !refused->replayed) {
      merged_ = true;
      confirm_.Fail("not exercised: funds that do not match the sheet were merged (see pension-refusals)");
      return;
    }
    const std::string key = Key("confirm");
    const std::string what = absl::StrCat("ConfirmPensionTransferIn of ", person_, "'s sheet from ",
                                          CityName(other_), " on application ", application_number_);
    absl::StatusOr<TransferInConfirmation> confirmed =
        calls_.Confirm(key, person_, application_number_, other_, sheet);
    if (!confirmed.ok()) {
      confirm_.Fail(absl::StrCat(what, " answered ", Describe(confirmed.status())));
      return;
    }
    merged_ = true;
    if (confirmed->replayed) {
      confirm_.Fail(absl::StrCat(what, " answered replayed=true for a request_key never sent"));
    }
    absl::StatusOr<TransferInConfirmation> again =
        calls_.Confirm(key, person_, application_number_, other_, sheet);
    ExpectReplay(again, absl::StrCat("the same ConfirmPensionTransferIn again (request_key ", key, ")"),
                 again.ok() ? Differences({{again->confirmed_on != confirmed->confirmed_on, "confirmed_on"},
                                           {again->applicant_notified != confirmed->applicant_notified,
                                            "applicant_notified"}})
                            : "",
                 confirm_);
    ExpectCode(
        calls_.Confirm(key, person_, application_number_ + "-OTHER", other_, sheet),
        absl::StatusCode::kAlreadyExists,
        absl::StrCat("ConfirmPensionTransferIn with request_key ", key, " again but another application"),
        "the same key with a different request", confirm_);
  }

  const MobilityContext& c_;
  Calls calls_;
  const City other_;
  Findings apply_{"pension-apply"};
  Findings prepare_{"pension-prepare"};
  Findings complete_{"pension-complete-out"};
  Findings confirm_{"pension-confirm-in"};
  Findings refusals_{"pension-refusals"};
  std::string person_;
  std::string letter_;  // the other city's contact letter the transfer out names
  absl::StatusOr<PreparedTransferOut> prepared_ = absl::UnknownError("not asked");
  absl::StatusOr<PensionApplication> application_ = absl::UnknownError("not asked");
  std::string application_number_;
  bool ended_ = false;   // the relationship here ended
  bool merged_ = false;  // and was transferred in again
};

// --- Certificates.

// A certificate payload of `issuer` naming `key_id`, about `subject`: a residence certificate valid
// for an hour, made up for the check (the city signs it; nobody is handed it).
std::string Payload(const MobilityContext& c, City issuer, const std::string& key_id,
                    const std::string& subject) {
  certificates::v1::CertificatePayload payload;
  payload.set_certificate_id(signing::Sha256Hex(absl::StrCat("conformance-", c.run_id)).substr(0, 32));
  payload.set_kind(certificates::v1::CERTIFICATE_KIND_RESIDENCE);
  *payload.mutable_issuer() = MakeCityInfo(issuer);
  payload.set_key_id(key_id);
  payload.set_subject_resident_id(subject);
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  payload.set_issued_at_unix(now);
  payload.set_expires_at_unix(now + 3600);
  certificates::v1::ResidenceClaims* claims = payload.mutable_residence();
  *claims->mutable_registered_city() = MakeCityInfo(issuer);
  claims->set_address_code(std::string(CityDivisionCode(issuer)));
  return payload.SerializeAsString();
}

std::vector<CheckResult> Certificates(const MobilityContext& c) {
  Calls calls(c);
  const std::string city(CityName(c.city));
  Findings refusals("certificate-refusals");
  Findings signature("certificate-signature");
  const std::string subject =
      c.options.sample_ids.empty() ? c.options.unknown_id : c.options.sample_ids.front();

  std::unique_ptr<signing::PublicKey> key;
  std::string key_id = c.options.signing_key_id;
  if (!c.options.signing_public_key_pem.empty()) {
    absl::StatusOr<std::unique_ptr<signing::PublicKey>> parsed =
        signing::PublicKey::FromPem(c.options.signing_public_key_pem, "--signing_public_key");
    if (!parsed.ok()) {
      signature.Fail(absl::StrCat("the city's public key cannot be read: ", parsed.status().message()));
    } else {
      key = *std::move(parsed);
      if (key_id.empty()) key_id = signing::DeriveKeyId(c.city, *key);
    }
  }

  bool unimplemented = false;
  const auto refused = [&](const absl::StatusOr<adapters::CertificateSignature>& result,
                           absl::StatusCode expected, absl::string_view what, absl::string_view why) {
    if (absl::IsUnimplemented(result.status())) {
      unimplemented = true;
      return;
    }
    ExpectCode(result, expected, what, why, refusals);
  };
  const City other = OtherCity(c.city);
  // Only the issuer differs from a payload the city signs (when its key id is known).
  const std::string other_key = key_id.empty() ? absl::StrCat(CityName(other), "-conformance") : key_id;
  refused(calls.Sign("another issuer", Payload(c, other, other_key, subject)),
          absl::StatusCode::kFailedPrecondition,
          absl::StrCat("SignCertificate of a payload naming ", CityName(other), " as its issuer"),
          "a city signs only certificates it issues");
  const std::string wrong_key =
      key_id.empty() ? "conformance-no-such-key" : absl::StrCat(key_id, "-not-this");
  refused(calls.Sign("another key", Payload(c, c.city, wrong_key, subject)),
          absl::StatusCode::kFailedPrecondition,
          absl::StrCat("SignCertificate of a payload of ", city, " naming the key \"", wrong_key, "\""),
          absl::StrCat("the key id is not ", city, "'s"));
  // A length-delimited field 1 that claims 255 bytes and has one: no CertificatePayload parses.
  refused(calls.Sign("not a payload", std::string("\x0a\xff\x01\x41", 4)), absl::StatusCode::kInvalidArgument,
          "SignCertificate of bytes that are not a CertificatePayload", "");
  if (unimplemented) {
    refusals.Fail(
        absl::StrCat("SignCertificate answered UNIMPLEMENTED: the backend has no signing key, so the "
                     "gateway cannot issue certificates of the records ",
                     city, " holds; give it its signing key"));
  }

  CheckResult signature_result;
  if (c.options.signing_public_key_pem.empty()) {
    signature_result = Skipped(
        "certificate-signature",
        absl::StrCat("not run: no --signing_public_key; pass the public half of ", city,
                     "'s certificate signing key, as the gateway's trust list names it, to check that its "
                     "signatures verify"));
  } else {
    if (key != nullptr) {
      const std::string payload = Payload(c, c.city, key_id, subject);
      absl::StatusOr<adapters::CertificateSignature> signed_payload = calls.Sign("this city's key", payload);
      const std::string what =
          absl::StrCat("SignCertificate of a payload of ", city, " naming its key ", key_id);
      if (!signed_payload.ok()) {
        signature.Fail(absl::StrCat(what, " answered ", Describe(signed_payload.status())));
      } else {
        if (signed_payload->key_id != key_id) {
          signature.Fail(absl::StrCat(what, " answered the key id ", signed_payload->key_id,
                                      "; the key that signs is the payload's"));
        }
        const absl::string_view algorithm = signing::AlgorithmName(key->algorithm());
        if (signed_payload->algorithm != algorithm) {
          signature.Fail(absl::StrCat(what, " answered the algorithm ", signed_payload->algorithm,
                                      "; the key is ", algorithm));
        }
        if (!key->Verify(payload, signed_payload->signature)) {
          signature.Fail(absl::StrCat(what, ": the signature does not verify over the payload with ", city,
                                      "'s public key (", algorithm, ")"));
        }
      }
    }
    signature_result =
        signature.Result(absl::StrCat("a payload of ", city, " naming its key ", key_id,
                                      " was signed; the signature verifies over the exact payload "
                                      "bytes with the public key (",
                                      key != nullptr ? signing::AlgorithmName(key->algorithm()) : "", ")"));
  }
  return {refusals.Result(
              absl::StrCat("a payload naming another issuer and one naming another key id than ", city,
                           "'s answered FAILED_PRECONDITION; bytes that are not a CertificatePayload "
                           "INVALID_ARGUMENT")),
          std::move(signature_result)};
}

}  // namespace

int64_t ContractPooledFund(const std::vector<social::v1::ContributionEntry>& months) {
  int64_t pooled = 0;
  for (const social::v1::ContributionEntry& month : months) {
    if (month.kind() != social::v1::INSURANCE_KIND_EMPLOYEE_PENSION) continue;
    if (absl::CivilMonth(month.year(), month.month()) < absl::CivilMonth(1998, 1)) continue;
    pooled += (month.wage_base().fen() * 12 + 50) / 100;  // 12%, rounded half up to the fen
  }
  return pooled;
}

std::string SheetInconsistency(const PensionTransferSheet& sheet) {
  std::vector<std::string> problems;
  struct Sums {
    int months = 0;
    int64_t wage_base = 0;
    int64_t personal = 0;
    int64_t employer = 0;
  };
  std::map<int, Sums> by_year;
  for (size_t i = 0; i < sheet.months.size(); ++i) {
    const social::v1::ContributionEntry& m = sheet.months[i];
    const std::string name =
        absl::StrCat("months[", i, "] (", m.year(), "-", m.month() < 10 ? "0" : "", m.month(), ")");
    if (m.kind() != social::v1::INSURANCE_KIND_EMPLOYEE_PENSION || m.months() != 1 || m.month() < 1 ||
        m.month() > 12) {
      problems.push_back(absl::StrCat(name, " is not one month of pension contributions"));
      continue;
    }
    if (i > 0 && std::make_tuple(m.year(), m.month()) <=
                     std::make_tuple(sheet.months[i - 1].year(), sheet.months[i - 1].month())) {
      problems.push_back(
          absl::StrCat(name, " is not after the month before: months are ascending, one per month"));
    }
    Sums& sums = by_year[m.year()];
    ++sums.months;
    sums.wage_base += m.wage_base().fen();
    sums.personal += m.personal_amount().fen();
    sums.employer += m.employer_amount().fen();
  }
  std::map<int, bool> listed;
  for (size_t i = 0; i < sheet.years.size(); ++i) {
    const PensionSheetYear& y = sheet.years[i];
    const std::string name = absl::StrCat("years[", i, "] (", y.year, ")");
    if (i > 0 && y.year <= sheet.years[i - 1].year) {
      problems.push_back(
          absl::StrCat(name, " is not after the year before: years are ascending, one per year"));
    }
    if (y.months < 1 || y.months > 12) {
      problems.push_back(absl::StrCat(name, " has ", y.months, " months, not 1-12"));
    }
    listed[y.year] = true;
    auto sums = by_year.find(y.year);
    if (sums == by_year.end()) {
      problems.push_back(absl::StrCat(name, " has no month among the sheet's months"));
      continue;
    }
    const std::string differs =
        Differences({{y.months != sums->second.months, "months"},
                     {y.wage_base_total_fen != sums->second.wage_base, "wage_base_total"},
                     {y.personal_fen != sums->second.personal, "personal_amount"},
                     {y.employer_fen != sums->second.employer, "employer_amount"}});
    if (!differs.empty()) {
      problems.push_back(absl::StrCat(name, " is not the sum of the year's months: it ", differs, " (months ",
                                      y.months, " vs ", sums->second.months, ", wage bases ",
                                      Yuan(y.wage_base_total_fen), " vs ", Yuan(sums->second.wage_base),
                                      ")"));
    }
  }
  for (const auto& [year, sums] : by_year) {
    if (!listed.count(year)) {
      problems.push_back(absl::StrCat("the months of ", year, " have no entry in years"));
    }
  }
  const int64_t pooled = ContractPooledFund(sheet.months);
  if (sheet.pooled_fund_fen != pooled) {
    problems.push_back(
        absl::StrCat("pooled_fund is ", Yuan(sheet.pooled_fund_fen),
                     "; 12% of the wage base of each month since 1998-01, rounded half up to the "
                     "fen and summed, is ",
                     Yuan(pooled)));
  }
  if (sheet.personal_account_fen < 0) problems.push_back("personal_account is negative");
  return absl::StrJoin(problems, "; ");
}

std::vector<CheckResult> RunMigrationChecks(const MobilityContext& context) {
  return MigrationRun(context).Run();
}

std::vector<CheckResult> RunPensionChecks(const MobilityContext& context) {
  return PensionRun(context).Run();
}

std::vector<CheckResult> RunCertificateChecks(const MobilityContext& context) {
  return Certificates(context);
}

}  // namespace interop::conformance
