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
// The settlement transactions (5206 ... 5301A) map more codes, as the gRPC adapter maps the
// backend's status codes (SettlementReplyError):
//   E1002 malformed request -> INVALID_ARGUMENT      E2001 version moved  -> ABORTED
//   E1003 unknown transaction -> UNIMPLEMENTED       E2002 id reused      -> ALREADY_EXISTS
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

// Error codes at the start of err_msg ("E1001:..."), for infcode -1.
inline constexpr char kErrorNoRecord[] = "E1001";    // no such person, or no such record of them
inline constexpr char kErrorBadRequest[] = "E1002";  // the request was malformed
inline constexpr char kErrorUnknownTransaction[] = "E1003";
inline constexpr char kErrorVersionMoved[] = "E2001";        // settlement: the account version moved
inline constexpr char kErrorSettlementIdReused[] = "E2002";  // settlement: the id was used with other values
inline constexpr char kErrorRefused[] =
    "E2003";                                   // settlement, filing: refused by a rule (overdraw, cap, ...)
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

}  // namespace interop::adapters::lvliang

#endif  // INTEROP_ADAPTERS_LVLIANG_NATIONAL_INTERFACE_H_
