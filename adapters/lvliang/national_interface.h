// Lüliang's backend protocol: HTTP/JSON in the envelope of the national medical-insurance platform
// interface (国家医保信息平台 定点医药机构接口), as described in adapters/lvliang/NATIONAL_INTERFACE.md.
//
// This file holds the protocol without any I/O: building request bodies, and parsing and translating
// reply bodies into canonical types. It is what the unit tests and the fuzz target
// (fuzz/lvliang_reply_fuzzer.cc) exercise; NationalInterfaceAdapter only adds the transport.
//
//   std::string body = BuildPersonInfoRequest(*dialect, envelope, "14110219900307125X");
//   ... POST body, receive reply ...
//   absl::StatusOr<medical::v1::GetInsuranceStatusResponse> status =
//       ParsePersonInfoReply(*dialect, "14110219900307125X", reply);
//
// Reply parsing is strict: the reply must be valid UTF-8 JSON without duplicate keys and nested at
// most kMaxJsonDepth deep; every field the gateway uses must be present with its documented type, and
// its value in the city's dialect (Lüliang: amounts yuan with at most two decimals, dates
// "YYYY-MM-DD", months "YYYY-MM", national codes). Anything else is INTERNAL naming the city, the
// transaction and the field ("output.insuinfo[0].balc"); nothing is guessed or defaulted.
//
// Error replies (infcode -1) are mapped by the code at the start of err_msg:
//   E1001 no record       -> NOT_FOUND naming the city (LocatePerson: found=false instead)
//   E9001 platform busy   -> UNAVAILABLE naming the city
//   anything else         -> INTERNAL naming the city, the transaction and the (sanitised) err_msg
// The settlement transactions (5206 ... 5301A), L9401 (signing) and the workflow steps (L9302 ...
// L9304, L9202 ... L9206) map more codes, as the gRPC adapter maps the backend's status codes
// (SettlementReplyError):
//   E1002 malformed request -> INVALID_ARGUMENT      E2001 version moved  -> ABORTED
//   E1003 unknown transaction -> UNIMPLEMENTED       E2002 id/key reused  -> ALREADY_EXISTS
//                                                    E2003 refused        -> FAILED_PRECONDITION
//
// Thread-safe: pure functions over immutable inputs; MessageIdGenerator is thread-safe.
#ifndef INTEROP_ADAPTERS_LVLIANG_NATIONAL_INTERFACE_H_
#define INTEROP_ADAPTERS_LVLIANG_NATIONAL_INTERFACE_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "adapters/city_adapter.h"
#include "adapters/dialect/dialect.h"
#include "interop/common/v1/common.pb.h"
#include "interop/household/v1/household.pb.h"
#include "interop/medical/v1/medical.pb.h"
#include "interop/social/v1/social.pb.h"

namespace interop::adapters::lvliang {

// Where the platform takes every transaction (POST, application/json; charset=UTF-8).
inline constexpr char kCallServicePath[] = "/fsi/api/rsfComIfsService/callService";
// Health: GET answers 200 with the body "SERVING" while the platform serves.
inline constexpr char kHealthPath[] = "/health";

// Transaction codes (infno). 1101 is the national interface's; the national interface has no
// transaction for the other record kinds, so Lüliang defines local ones with an "L" prefix.
inline constexpr char kPersonInfoTransaction[] = "1101";      // 人员信息获取: medical insurance
inline constexpr char kLocatePersonTransaction[] = "L9101";   // which records Lüliang holds
inline constexpr char kContributionsTransaction[] = "L9201";  // contribution history by month
inline constexpr char kHouseholdTransaction[] = "L9301";      // household registration

// Cross-city medical settlement (NATIONAL_INTERFACE.md, "Cross-city settlement"). The national
// numbers where the national interface has the transaction; an "A" suffix where Lüliang's differs
// from the national one of that number (it settles a visit the gateway computed, or is about
// cross-city filings rather than referrals or chronic diseases).
inline constexpr char kAccountTransaction[] = "5206";  // 人员累计信息查询: account, accumulators
inline constexpr char kSettleTransaction[] = "2207A";  // 结算: commit a settlement
inline constexpr char kReverseSettlementTransaction[] = "2208A";  // 撤销结算: reverse a settlement
inline constexpr char kSettlementRecordTransaction[] = "5203";    // 结算信息查询: one settlement
inline constexpr char kReconciliationTransaction[] = "3202";      // 明细对账: settlements of a period
inline constexpr char kFileTreatmentTransaction[] = "2501A";      // 异地就医备案: file
inline constexpr char kRevokeFilingTransaction[] = "2502A";       // 撤销异地就医备案: revoke a filing
inline constexpr char kFilingQueryTransaction[] = "5301A";  // 异地就医备案查询: a person's filings

// Certificates (NATIONAL_INTERFACE.md, "Certificates"): Lüliang signs a certificate payload with its
// own key. The national interface has no such transaction, so it is a local one.
inline constexpr char kSignCertificateTransaction[] = "L9401";  // 电子证明签章: sign a certificate

// Household migration and pension transfer (NATIONAL_INTERFACE.md, "Household migration and pension
// transfer"): the steps of the gateway's workflows (gateway/transfers/), one local transaction each,
// the household ones beside L9301 and the pension ones beside L9201. Each carries the workflow's
// idempotency key as biz_sn: Lüliang applies a biz_sn once and answers it again with its first answer
// (rpt_flag "1").
inline constexpr char kMoveInPermitTransaction[] = "L9302";  // 准予迁入证明: destination issues a permit
inline constexpr char kMoveOutTransaction[] = "L9303";       // 迁出登记: origin records the move-out
inline constexpr char kSettleInTransaction[] = "L9304";      // 落户登记: destination settles the person in
inline constexpr char kPensionApplicationTransaction[] = "L9202";  // 转移接续申请: destination, application
inline constexpr char kContactLetterTransaction[] = "L9203";       // 联系函: destination, contact letter
inline constexpr char kPrepareTransferOutTransaction[] = "L9204";  // 信息表: origin, sheet and funds
inline constexpr char kCompleteTransferOutTransaction[] = "L9205";  // 转出: origin ends the relationship
inline constexpr char kConfirmTransferInTransaction[] = "L9206";    // 转入确认: destination merges it
// biz_sn: the gateway's idempotency key, 1 to this many characters.
inline constexpr size_t kMaxBizSnLength = 200;

// Error codes at the start of err_msg ("E1001:..."), for infcode -1.
inline constexpr char kErrorNoRecord[] = "E1001";    // no such person, or no such record of them
inline constexpr char kErrorBadRequest[] = "E1002";  // the request was malformed
inline constexpr char kErrorUnknownTransaction[] = "E1003";
inline constexpr char kErrorVersionMoved[] = "E2001";        // settlement: the account version moved
// settlement: the setl_id was used with other values; workflow steps: the biz_sn was used for another
// request.
inline constexpr char kErrorSettlementIdReused[] = "E2002";
// settlement, filing, certificate, workflow step: refused by a rule (overdraw, cap, an expired permit,
// a relationship that cannot move, ...).
inline constexpr char kErrorRefused[] = "E2003";
inline constexpr char kErrorBusy[] = "E9001";  // the platform cannot answer now

// The accumulation types (cum_type_code) of 5206 and of the settlement replies.
inline constexpr char kCumDeductibleOutpatient[] = "C11";  // 门诊起付线累计: deductible used, outpatient
inline constexpr char kCumDeductibleInpatient[] = "C21";  // 住院起付线累计: deductible used, inpatient
inline constexpr char kCumFundPaid[] = "C90";             // 统筹基金支付累计: paid by the pooled fund

// Settlements per 3202 page the adapter asks for.
inline constexpr int kReconciliationPageSize = 500;

// Replies nested deeper than this are refused before they are parsed.
inline constexpr int kMaxJsonDepth = 32;
// Replies larger than this are refused.
inline constexpr size_t kMaxReplyBytes = 8 << 20;

// The city's dialect (adapters/lvliang/dialect.textproto, interop.config.v1.CityDialect) says how
// values are written inside the JSON strings: the money format of amounts, the date format of dates
// and months, the local codes of each code table, and whether older persons are keyed by their
// legacy 15-digit number. Text is always UTF-8 (JSON is); a dialect with another text encoding
// cannot be used with this transport (CheckDialectForNationalInterface).

// OK if `dialect` can describe a national-interface backend: INVALID_ARGUMENT naming its source
// unless its text encoding is UTF-8.
absl::Status CheckDialectForNationalInterface(const Dialect& dialect);

// The envelope fields that change per request.
struct RequestEnvelope {
  // 30 characters, unique per request (see MessageIdGenerator).
  std::string msgid;
  // Six-digit division code sent as mdtrtarea_admvs and insuplc_admdvs ("141100" for Lüliang).
  std::string region_code;
  // Sent as inf_time, "YYYY-MM-DD HH:MM:SS" in China Standard Time.
  absl::Time inf_time;
};

// Makes msgid values: 12-character sender code + inf_time as "YYYYMMDDHHMMSS" (China Standard Time)
// + 4-character base-36 sequence; 30 characters, unique while one generator makes fewer than 36^4
// ids in a second. The sender code is "GW" + 10 random base-36 characters per generator, so gateway
// replicas do not collide. Thread-safe.
class MessageIdGenerator {
 public:
  MessageIdGenerator();
  // With a fixed sender code (12 characters), for tests.
  explicit MessageIdGenerator(std::string sender_code) : sender_code_(std::move(sender_code)) {}
  std::string Next(absl::Time now);
  const std::string& sender_code() const { return sender_code_; }

 private:
  std::string sender_code_;
  std::atomic<uint64_t> sequence_{0};
};

// "YYYY-MM-DD HH:MM:SS" in China Standard Time (UTC+8).
std::string FormatInfTime(absl::Time time);

// Request bodies. `resident_id` is a validated 18-character number; it is sent as certno in the form
// the dialect keys the person by. For contributions, from_year and to_year are 0 for unbounded and
// become begn_ym / end_ym, January of from_year and December of to_year in the dialect's month
// format ("" when 0).
std::string BuildPersonInfoRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                   const std::string& resident_id);
std::string BuildLocatePersonRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                     const std::string& resident_id);
std::string BuildContributionsRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                      const std::string& resident_id, int from_year, int to_year);
std::string BuildHouseholdRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                  const std::string& resident_id);

// The reply envelope without its output.
struct ReplyEnvelope {
  int64_t infcode = 0;
  std::string err_msg;       // "" when absent or null
  std::string inf_refmsgid;  // "" when absent or null
};

// Parses the envelope of a reply to transaction `infno`: INTERNAL naming the city and the field when
// the body is not strict JSON (see the top of this file) or a field has the wrong type. Does not
// look at infcode's meaning (see ReplyError) nor at the output.
absl::StatusOr<ReplyEnvelope> ParseReplyEnvelope(City city, absl::string_view infno, absl::string_view body);

// The error a reply with infcode != 0 stands for (see the top of this file); `what` names the record
// for NOT_FOUND ("medical-insurance enrolment"). OK when infcode is 0.
absl::Status ReplyError(City city, absl::string_view infno, const ReplyEnvelope& envelope,
                        absl::string_view what);

// Checks the HTTP layer of a reply: status 200 and a JSON content type (charset, if given, UTF-8).
// 5xx is UNAVAILABLE naming the city (the platform's front is down or overloaded); anything else
// INTERNAL naming the city and the transaction.
absl::Status CheckHttpReply(City city, absl::string_view infno, int http_status,
                            absl::string_view content_type);

// The error a reply with infcode != 0 to a settlement transaction stands for (the table at the top
// of this file); `what` names the record or the action ("the settlement commit"). OK when infcode
// is 0.
absl::Status SettlementReplyError(City city, absl::string_view infno, const ReplyEnvelope& envelope,
                                  absl::string_view what);

// Reply parsers: envelope, then the error mapping, then the output, in `dialect` (whose city names
// the errors). `resident_id` is the 18-character number that was asked about: a reply about another
// person is INTERNAL.

// L9101: which records the city holds. An unknown person (psn_exist_flag "0", or error E1001) is
// found=false, not an error.
absl::StatusOr<PersonLocation> ParseLocatePersonReply(const Dialect& dialect, const std::string& resident_id,
                                                      absl::string_view body);

// 1101: the person's medical-insurance enrolment in the city. NOT_FOUND for error E1001 or an empty
// insuinfo. Of several insuinfo entries (all must translate), the active one is chosen, else the one
// with the latest psn_insu_date. Fills every field except provenance.
absl::StatusOr<medical::v1::GetInsuranceStatusResponse> ParsePersonInfoReply(const Dialect& dialect,
                                                                             const std::string& resident_id,
                                                                             absl::string_view body);

// L9201: contributions as monthly entries, ascending by year, month, kind, limited to
// [from_year, to_year] (0 unbounded). NOT_FOUND for E1001. The same kind and month twice is INTERNAL.
absl::StatusOr<std::vector<social::v1::ContributionEntry>> ParseContributionsReply(
    const Dialect& dialect, const std::string& resident_id, int from_year, int to_year,
    absl::string_view body);

// L9301: the household registration. NOT_FOUND for E1001. Fills every field except provenance.
absl::StatusOr<household::v1::GetHouseholdRecordResponse> ParseHouseholdReply(const Dialect& dialect,
                                                                              const std::string& resident_id,
                                                                              absl::string_view body);

// --- Cross-city medical settlement (NATIONAL_INTERFACE.md, "Cross-city settlement").
//
// Request builders take canonical values and write them in the dialect. INVALID_ARGUMENT naming the
// canonical field for a value the protocol cannot carry: an unset visit type, treatment city or
// filing reason, an amount outside 0..kMaxMoneyFen, a date outside the years 1900-9999, an empty
// settlement or filing id.

// 5206: the account and the accumulators of `year`.
std::string BuildAccountRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                const std::string& resident_id, int year);
// 2207A: commit `settlement` (reversed false) if the account is at `expected_version`.
absl::StatusOr<std::string> BuildSettleRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                               const SettlementRecord& settlement, int64_t expected_version);
// 2208A: reverse a settlement on `reversed_date`.
absl::StatusOr<std::string> BuildReverseSettlementRequest(const Dialect& dialect,
                                                          const RequestEnvelope& envelope,
                                                          const std::string& settlement_id,
                                                          const std::string& resident_id,
                                                          absl::CivilDay reversed_date);
// 5203: one settlement.
std::string BuildSettlementRecordRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                         const std::string& settlement_id);
// 3202: the page of settlements with a settle date in [from, to] whose ids follow
// `after_settlement_id` ("" for the first page), at most `page_size`.
absl::StatusOr<std::string> BuildReconciliationRequest(const Dialect& dialect,
                                                       const RequestEnvelope& envelope, absl::CivilDay from,
                                                       absl::CivilDay to,
                                                       const std::string& after_settlement_id, int page_size);
// 2501A: file `filing` (filing_id empty, revoked false).
absl::StatusOr<std::string> BuildFileTreatmentRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                                      const FilingRecord& filing);
// 2502A: revoke a filing.
std::string BuildRevokeFilingRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                     const std::string& resident_id, const std::string& filing_id);
// 5301A: the person's filings.
std::string BuildFilingQueryRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                    const std::string& resident_id);

// Reply parsers, errors as SettlementReplyError; INTERNAL naming the city, the transaction and the
// field for anything malformed.

// 5206: the account of `resident_id` for `year`.
absl::StatusOr<MedicalAccount> ParseAccountReply(const Dialect& dialect, const std::string& resident_id,
                                                 int year, absl::string_view body);
// 2207A: the result of committing `sent`; the settlement recorded must be `sent` (the reversal
// aside; a new commit, rpt_flag "0", is not reversed).
absl::StatusOr<CommitResult> ParseSettleReply(const Dialect& dialect, const SettlementRecord& sent,
                                              absl::string_view body);
// 2208A: the result of reversing `settlement_id` of `resident_id`; the settlement must be reversed.
absl::StatusOr<CommitResult> ParseReverseSettlementReply(const Dialect& dialect,
                                                         const std::string& settlement_id,
                                                         const std::string& resident_id,
                                                         absl::string_view body);
// 5203: the settlement `settlement_id`.
absl::StatusOr<SettlementRecord> ParseSettlementRecordReply(const Dialect& dialect,
                                                            const std::string& settlement_id,
                                                            absl::string_view body);
// 3202: one page, ids strictly ascending and after `after_settlement_id`, settle dates in
// [from, to]; `more` says whether pages follow (a page saying so must not be empty).
struct ReconciliationPage {
  std::vector<SettlementRecord> records;
  bool more = false;
};
absl::StatusOr<ReconciliationPage> ParseReconciliationReply(const Dialect& dialect, absl::CivilDay from,
                                                            absl::CivilDay to,
                                                            const std::string& after_settlement_id,
                                                            absl::string_view body);
// 2501A: the filing recorded for `sent`, with its id; it must carry what was sent.
absl::StatusOr<FilingRecord> ParseFileTreatmentReply(const Dialect& dialect, const FilingRecord& sent,
                                                     absl::string_view body);
// 2502A: the filing `filing_id` of `resident_id`, revoked.
absl::StatusOr<FilingRecord> ParseRevokeFilingReply(const Dialect& dialect, const std::string& resident_id,
                                                    const std::string& filing_id, absl::string_view body);
// 5301A: the filings of `resident_id`, as answered (oldest first).
absl::StatusOr<std::vector<FilingRecord>> ParseFilingQueryReply(const Dialect& dialect,
                                                                const std::string& resident_id,
                                                                absl::string_view body);

// --- Certificates (NATIONAL_INTERFACE.md, "Certificates").

// L9401: sign `payload` (a serialized CertificatePayload, sent as standard base64).
std::string BuildSignCertificateRequest(const RequestEnvelope& envelope, const std::string& payload);
// L9401: the signature. Errors as SettlementReplyError (E2003 refused -> FAILED_PRECONDITION,
// E1003 -> UNIMPLEMENTED, E1002 -> INVALID_ARGUMENT); INTERNAL for a signature that is not base64,
// an empty key id, or an algorithm other than "ecdsa-p256-sha256" and "sm2-sm3".
absl::StatusOr<CertificateSignature> ParseSignCertificateReply(City city, absl::string_view body);

// --- Household migration and pension transfer (NATIONAL_INTERFACE.md, "Household migration and
// pension transfer"), the CityAdapter methods IssueMoveInPermit ... ConfirmPensionTransferIn.
//
// Request builders take canonical values and write them in the dialect, with `request_key` as biz_sn.
// INVALID_ARGUMENT naming the canonical field for what the protocol cannot carry: a request_key empty
// or longer than kMaxBizSnLength, a city that is not one of the five, an empty permit, application or
// letter number, an address code that is not six digits, a name that is empty or not UTF-8, an amount
// outside 0..kMaxMoneyFen, a date or month outside the years 1900-9999, a dialect without a pension
// contribution code.

// L9302: destination; a permit for `resident_id` to move in from `origin` to `address_code`.
absl::StatusOr<std::string> BuildMoveInPermitRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                                     const std::string& request_key,
                                                     const std::string& resident_id, City origin,
                                                     const std::string& address_code);
// L9303: origin; the move-out to `destination` on its permit.
absl::StatusOr<std::string> BuildMoveOutRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                                const std::string& request_key, const std::string& resident_id,
                                                City destination, const std::string& permit_number,
                                                absl::CivilDay permit_valid_until);
// L9304: destination; settles the person in at `address_code` on its permit; `name` UTF-8.
absl::StatusOr<std::string> BuildSettleInRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                                 const std::string& request_key, const std::string& resident_id,
                                                 const std::string& permit_number,
                                                 const std::string& address_code, const std::string& name);
// L9202: destination; an application to transfer the pension relationship in from `origin`.
absl::StatusOr<std::string> BuildPensionApplicationRequest(const Dialect& dialect,
                                                           const RequestEnvelope& envelope,
                                                           const std::string& request_key,
                                                           const std::string& resident_id, City origin);
// L9203: destination; the contact letter for an application.
absl::StatusOr<std::string> BuildContactLetterRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                                      const std::string& request_key,
                                                      const std::string& resident_id,
                                                      const std::string& application_number);
// L9204: origin; the sheet and funds of a transfer to `destination` on its contact letter.
absl::StatusOr<std::string> BuildPrepareTransferOutRequest(const Dialect& dialect,
                                                           const RequestEnvelope& envelope,
                                                           const std::string& request_key,
                                                           const std::string& resident_id, City destination,
                                                           const std::string& letter_number);
// L9205: origin; ends the relationship, transferring out the funds prepared.
absl::StatusOr<std::string> BuildCompleteTransferOutRequest(const Dialect& dialect,
                                                            const RequestEnvelope& envelope,
                                                            const std::string& request_key,
                                                            const std::string& resident_id, City destination,
                                                            const std::string& letter_number,
                                                            int64_t personal_account_fen, int64_t pooled_fund_fen);
// L9206: destination; checks `sheet` (the origin's, in this dialect), merges it, notifies the applicant.
absl::StatusOr<std::string> BuildConfirmTransferInRequest(const Dialect& dialect, const RequestEnvelope& envelope,
                                                          const std::string& request_key,
                                                          const std::string& resident_id,
                                                          const std::string& application_number, City origin,
                                                          const PensionTransferSheet& sheet);

// Reply parsers, errors as SettlementReplyError (E1001 NOT_FOUND, E1002 INVALID_ARGUMENT, E1003
// UNIMPLEMENTED, E2002 ALREADY_EXISTS: biz_sn reused, E2003 FAILED_PRECONDITION, E9001 UNAVAILABLE,
// all naming the city, as the gRPC adapter maps a backend's codes); INTERNAL naming the city, the
// transaction and the field for anything malformed, a reply about another person included.
// `replayed` is rpt_flag.

// L9302: a permit with a number and a valid_until not before issued_on.
absl::StatusOr<MoveInPermit> ParseMoveInPermitReply(const Dialect& dialect, const std::string& resident_id,
                                                    absl::string_view body);
// L9303: the previous address (a division of the city) and the day of the move-out.
absl::StatusOr<MoveOutRecord> ParseMoveOutReply(const Dialect& dialect, const std::string& resident_id,
                                                absl::string_view body);
// L9304: the new registration (as L9301 answers it), which must be at `address_code`.
absl::StatusOr<SettleInResult> ParseSettleInReply(const Dialect& dialect, const std::string& resident_id,
                                                  const std::string& address_code, absl::string_view body);
// L9202: the application's number and day.
absl::StatusOr<PensionApplication> ParsePensionApplicationReply(const Dialect& dialect,
                                                                const std::string& resident_id,
                                                                absl::string_view body);
// L9203: the letter's number and day; it must be for `application_number`.
absl::StatusOr<ContactLetter> ParseContactLetterReply(const Dialect& dialect, const std::string& resident_id,
                                                      const std::string& application_number,
                                                      absl::string_view body);
// L9204: the sheet: years (ascending, no year twice, 1-12 months each), pension months (the dialect's
// pension code only, ascending, no month twice; city: the dialect's) and the funds. Whether the sheet
// checks out (transfers::CheckSheet) is the gateway's business, not the parser's.
absl::StatusOr<PreparedTransferOut> ParsePrepareTransferOutReply(const Dialect& dialect,
                                                                 const std::string& resident_id,
                                                                 absl::string_view body);
// L9205: the day the relationship ended.
absl::StatusOr<TransferOutCompletion> ParseCompleteTransferOutReply(const Dialect& dialect,
                                                                    const std::string& resident_id,
                                                                    absl::string_view body);
// L9206: the day of the confirmation and whether the applicant was notified.
absl::StatusOr<TransferInConfirmation> ParseConfirmTransferInReply(const Dialect& dialect,
                                                                   const std::string& resident_id,
                                                                   absl::string_view body);

}  // namespace interop::adapters::lvliang

#endif  // INTEROP_ADAPTERS_LVLIANG_NATIONAL_INTERFACE_H_
