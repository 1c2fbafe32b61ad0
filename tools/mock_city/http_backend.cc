#include "tools/mock_city/http_backend.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "adapters/dialect/money.h"
#include "gateway/base/cities.h"
#include "gateway/base/log.h"
#include "gateway/base/rich_status.h"
#include "gateway/identity/resident_id.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/status.pb.h"
#include "interop/mockcity/v1/mock_city_admin.pb.h"
#include "nlohmann/json.hpp"
#include "tools/mock_city/mock_city_admin.h"

namespace interop::mock_city {
namespace {

using json = nlohmann::ordered_json;

constexpr char kCallServicePath[] = "/fsi/api/rsfComIfsService/callService";
constexpr char kJsonContentType[] = "application/json;charset=UTF-8";

const absl::TimeZone& ChinaTime() {
  static const absl::TimeZone* const zone = new absl::TimeZone(absl::FixedTimeZone(8 * 60 * 60));
  return *zone;
}

// Whether `city` holds any record of the person: the medical enrolment, or the registration and
// contributions as migrations and transfers have left them.
bool HoldsAny(const SyntheticPerson& person, City city, const MockMobilityRecords& mobility) {
  return (person.has_medical && person.medical.city == city) || mobility.HoldsAnyRecordBesidesMedical(person);
}

std::string Flag(bool value) { return value ? "1" : "0"; }

// cpp-httplib 0.11 lets each worker wait out the keep-alive timeout of an idle connection before
// it notices stop(). So that stopping is prompt, this shuts down (without closing: the workers own
// the descriptors) every TCP socket of this process whose local port is `port`, that is the
// connections the server accepted; their workers then see end-of-stream and finish at once.
void ShutdownAcceptedConnections(int port) {
  DIR* fds = opendir("/proc/self/fd");
  if (fds == nullptr) return;
  while (dirent* entry = readdir(fds)) {
    int fd = 0;
    if (!absl::SimpleAtoi(entry->d_name, &fd) || fd == dirfd(fds)) continue;
    sockaddr_storage local{};
    socklen_t length = sizeof local;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) continue;
    int local_port = -1;
    if (local.ss_family == AF_INET) {
      local_port = ntohs(reinterpret_cast<const sockaddr_in*>(&local)->sin_port);
    } else if (local.ss_family == AF_INET6) {
      local_port = ntohs(reinterpret_cast<const sockaddr_in6*>(&local)->sin6_port);
    }
    sockaddr_storage peer{};
    socklen_t peer_length = sizeof peer;
    if (local_port == port && getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_length) == 0) {
      shutdown(fd, SHUT_RDWR);
    }
  }
  closedir(fds);
}

// The descriptor of the connection accepted on local `port` from remote_addr:remote_port (as
// cpp-httplib spells the address), or -1. The worker serving that connection owns the descriptor, so
// it stays valid while that worker's handler runs.
int AcceptedConnection(int port, const std::string& remote_addr, int remote_port) {
  DIR* fds = opendir("/proc/self/fd");
  if (fds == nullptr) return -1;
  int found = -1;
  while (dirent* entry = readdir(fds)) {
    int fd = 0;
    if (!absl::SimpleAtoi(entry->d_name, &fd) || fd == dirfd(fds)) continue;
    sockaddr_storage local{}, peer{};
    socklen_t local_length = sizeof local, peer_length = sizeof peer;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_length) != 0 ||
        getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_length) != 0) {
      continue;
    }
    char address[INET6_ADDRSTRLEN] = {};
    int local_port = -1, peer_port = -1;
    if (local.ss_family == AF_INET && peer.ss_family == AF_INET) {
      local_port = ntohs(reinterpret_cast<const sockaddr_in*>(&local)->sin_port);
      const auto* p = reinterpret_cast<const sockaddr_in*>(&peer);
      peer_port = ntohs(p->sin_port);
      inet_ntop(AF_INET, &p->sin_addr, address, sizeof address);
    } else if (local.ss_family == AF_INET6 && peer.ss_family == AF_INET6) {
      local_port = ntohs(reinterpret_cast<const sockaddr_in6*>(&local)->sin6_port);
      const auto* p = reinterpret_cast<const sockaddr_in6*>(&peer);
      peer_port = ntohs(p->sin6_port);
      inet_ntop(AF_INET6, &p->sin6_addr, address, sizeof address);
    }
    if (local_port == port && peer_port == remote_port && remote_addr == address) {
      found = fd;
      break;
    }
  }
  closedir(fds);
  return found;
}

// --- The fault admin over HTTP/JSON (see http_backend.h).

constexpr char kAdminFaultsPath[] = "/admin/faults";
constexpr char kAdminResetPath[] = "/admin/faults/reset";

void AnswerAdminJson(const google::protobuf::Message& message, httplib::Response& response) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string text;
  const auto printed = google::protobuf::util::MessageToJsonString(message, &text, options);
  if (!printed.ok()) {
    response.status = 500;
    response.set_content(std::string(printed.message()), "text/plain");
    return;
  }
  response.status = 200;
  response.set_content(std::move(text), "application/json");
}

// `status` as a google.rpc.Status in JSON (its details, such as the BadRequest naming the field,
// included), with HTTP 400 for INVALID_ARGUMENT and 500 otherwise.
void AnswerAdminError(const absl::Status& status, httplib::Response& response) {
  const grpc::Status wire = ToGrpcStatus(status);
  google::rpc::Status rpc;
  if (wire.error_details().empty() || !rpc.ParseFromString(wire.error_details())) {
    rpc.set_code(static_cast<int32_t>(status.code()));
    rpc.set_message(std::string(status.message()));
  }
  AnswerAdminJson(rpc, response);
  response.status = status.code() == absl::StatusCode::kInvalidArgument ? 400 : 500;
}

// --- Cross-city medical settlement (NATIONAL_INTERFACE.md, "Cross-city settlement").

bool IsSettlementTransaction(const std::string& infno) {
  return infno == "5206" || infno == "2207A" || infno == "2208A" || infno == "5203" || infno == "3202" ||
         infno == "2501A" || infno == "2502A" || infno == "5301A";
}

// The JSON name of a field the ledger names by the city backend contract.
std::string JsonField(absl::string_view contract_field) {
  static constexpr std::pair<absl::string_view, absl::string_view> kNames[] = {
      {"settlement_id", "setl_id"},
      {"visit_type_code", "med_type"},
      {"institution_code", "fixmedins_code"},
      {"treatment_city_code", "mdtrtarea_admvs"},
      {"settle_date", "setl_date"},
      {"total", "medfee_sumamt"},
      {"deductible_applied", "act_pay_dedc"},
      {"fund_pay", "fund_pay_sumamt"},
      {"account_pay", "acct_pay"},
      {"cash_pay", "psn_cash_pay"},
      {"reversed_date", "refd_date"},
      {"valid_from", "begndate"},
      {"valid_to", "enddate"},
      {"reason_code", "fil_type"},
      {"filing_id", "trt_dcla_detl_sn"}};
  for (const auto& [contract, name] : kNames) {
    if (contract == contract_field) return std::string(name);
  }
  return std::string(contract_field);
}

// The reply's err_msg for a ledger refusal.
std::string LedgerError(const absl::Status& status) {
  std::string message(status.message());
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return absl::StrCat("E1001:", message);
    case absl::StatusCode::kInvalidArgument: {
      const size_t colon = message.find(": ");
      if (colon == std::string::npos) return absl::StrCat("E1002:", message);
      return absl::StrCat("E1002:input.data.", JsonField(message.substr(0, colon)), message.substr(colon));
    }
    case absl::StatusCode::kAborted:
      return absl::StrCat("E2001:", message);
    case absl::StatusCode::kAlreadyExists:
      return absl::StrCat("E2002:", message);
    case absl::StatusCode::kFailedPrecondition:
      return absl::StrCat("E2003:", message);
    default:
      return absl::StrCat("E1999:", message);
  }
}

// What the desks of the platform share: reading input.data in the dialect, and failing with an
// err_msg.
class Desk {
 protected:
  Desk(const adapters::Dialect& dialect, const Population& population, absl::CivilDay today)
      : dialect_(dialect), population_(population), today_(today) {}

  bool Fail(std::string err_msg) {
    *err_ = std::move(err_msg);
    return false;
  }
  bool Malformed(absl::string_view field, absl::string_view why) {
    return Fail(absl::StrCat("E1002:input.data.", field, ": ", why));
  }

  bool String(const json& data, const char* key, std::string* out) {
    auto it = data.find(key);
    if (it == data.end() || !it->is_string()) return Malformed(key, "is missing or not a string");
    *out = it->get<std::string>();
    return true;
  }
  bool Day(const json& data, const char* key, absl::CivilDay* out) {
    std::string text;
    if (!String(data, key, &text)) return false;
    absl::StatusOr<absl::CivilDay> day = dialect_.date_format().ParseDate(text);
    if (!day.ok()) return Malformed(key, day.status().message());
    *out = *day;
    return true;
  }
  bool Money(const json& data, const char* key, int64_t* fen) {
    std::string text;
    if (!String(data, key, &text)) return false;
    absl::StatusOr<int64_t> parsed = adapters::ParseMoney(text, dialect_.money_format());
    if (!parsed.ok()) return Malformed(key, parsed.status().message());
    *fen = *parsed;
    return true;
  }
  bool Year(const json& data, const char* key, int* year) {
    std::string text;
    if (!String(data, key, &text)) return false;
    if (text.size() != 4 || !absl::SimpleAtoi(text, year) || *year < 1900) {
      return Malformed(key, "must be a year of four digits");
    }
    return true;
  }
  bool TreatmentCity(const json& data, const char* key, City* city) {
    std::string code;
    if (!String(data, key, &code)) return false;
    *city =
        code.size() == 6 && std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; })
            ? CityForPrefectureCode(absl::StrCat(code.substr(0, 4), "00"))
            : City::CITY_UNSPECIFIED;
    if (*city == City::CITY_UNSPECIFIED)
      return Malformed(key, "must be a division code of one of the five cities");
    return true;
  }
  // The person named by psn_cert_type and certno; E1001 unless the population has them under that
  // form of the number.
  bool Person(const json& data, const SyntheticPerson** out) {
    std::string cert_type, certno;
    if (!String(data, "psn_cert_type", &cert_type)) return false;
    if (cert_type != "01") return Malformed("psn_cert_type", "must be \"01\"");
    if (!String(data, "certno", &certno)) return false;
    absl::StatusOr<identity::ResidentId> id = identity::ParseResidentId(certno, today_);
    if (!id.ok()) return Malformed("certno", id.status().message());
    const SyntheticPerson* person = population_.Find(id->number);
    if (person == nullptr || dialect_.KeysByLegacyNumber(person->resident_id) != id->upgraded_from_legacy) {
      return Fail("E1001:未查询到人员信息 (no such person here)");
    }
    *out = person;
    return true;
  }
  // The same, as the 18-character number.
  bool Person(const json& data, std::string* resident_id) {
    const SyntheticPerson* person = nullptr;
    if (!Person(data, &person)) return false;
    *resident_id = person->resident_id;
    return true;
  }

  std::string MoneyText(int64_t fen) const { return adapters::FormatMoney(fen, dialect_.money_format()); }
  std::string DayText(absl::CivilDay day) const { return dialect_.date_format().FormatDate(day); }

  const adapters::Dialect& dialect_;
  const Population& population_;
  const absl::CivilDay today_;
  std::string* err_ = nullptr;
};

// Answers the settlement transactions from the ledger, in the dialect.
class SettlementDesk : public Desk {
 public:
  SettlementDesk(const adapters::Dialect& dialect, const Population& population, MockMedicalLedger& ledger,
                 absl::CivilDay today)
      : Desk(dialect, population, today), ledger_(ledger) {}

  // Fills `output`, or sets `err_msg` and returns false.
  bool Answer(const std::string& infno, const json& data, json* output, std::string* err_msg) {
    err_ = err_msg;
    if (infno == "5206") return Account(data, output);
    if (infno == "2207A") return Settle(data, output);
    if (infno == "2208A") return Reverse(data, output);
    if (infno == "5203") return Record(data, output);
    if (infno == "3202") return Reconcile(data, output);
    if (infno == "2501A") return File(data, output);
    if (infno == "2502A") return Revoke(data, output);
    return Filings(data, output);
  }

 private:
  // baseinfo and cuminfo of an account into `output`.
  bool WriteAccount(const adapters::MedicalAccount& account, json* output) {
    const std::string national_type = account.insurance_type == medical::v1::INSURANCE_TYPE_EMPLOYEE ? "310"
                                      : account.insurance_type == medical::v1::INSURANCE_TYPE_RETIRED_CADRE
                                          ? "340"
                                          : "390";
    const std::string national_status = absl::StrCat(static_cast<int>(account.status));
    const std::string* type = dialect_.table(adapters::CodeTableKind::kInsuranceTypes).ToLocal(national_type);
    const std::string* status =
        dialect_.table(adapters::CodeTableKind::kEnrollmentStatuses).ToLocal(national_status);
    if (type == nullptr || status == nullptr) {
      return Fail(absl::StrCat("E1999:mock city: ", dialect_.source(),
                               " cannot write the person's insurance type "
                               "or status"));
    }
    json baseinfo;
    baseinfo["psn_no"] = "";
    baseinfo["certno"] = dialect_.BackendResidentId(account.resident_id);
    baseinfo["insutype"] = *type;
    baseinfo["psn_insu_stas"] = *status;
    baseinfo["balc"] = MoneyText(account.balance_fen);
    baseinfo["acct_ver"] = absl::StrCat(account.version);
    json cuminfo = json::array();
    const std::pair<const char*, int64_t> cums[] = {{"C11", account.deductible_used_outpatient_fen},
                                                    {"C21", account.deductible_used_inpatient_fen},
                                                    {"C90", account.fund_paid_fen}};
    for (const auto& [code, fen] : cums) {
      json entry;
      entry["insutype"] = *type;
      entry["year"] = absl::StrFormat("%04d", account.year);
      entry["cum_type_code"] = code;
      entry["cum"] = MoneyText(fen);
      cuminfo.push_back(std::move(entry));
    }
    (*output)["baseinfo"] = std::move(baseinfo);
    (*output)["cuminfo"] = std::move(cuminfo);
    return true;
  }

  json SettlementJson(const adapters::SettlementRecord& record) const {
    json info;
    info["setl_id"] = record.settlement_id;
    info["certno"] = dialect_.BackendResidentId(record.resident_id);
    info["year"] = absl::StrFormat("%04d", record.year);
    info["med_type"] = record.visit_type == config::v1::VISIT_TYPE_INPATIENT ? "21" : "11";
    info["fixmedins_code"] = record.institution_code;
    info["mdtrtarea_admvs"] = std::string(CityDivisionCode(record.treatment_city));
    info["setl_date"] = DayText(record.settle_date);
    info["medfee_sumamt"] = MoneyText(record.total_fen);
    info["act_pay_dedc"] = MoneyText(record.deductible_applied_fen);
    info["fund_pay_sumamt"] = MoneyText(record.fund_pay_fen);
    info["acct_pay"] = MoneyText(record.account_pay_fen);
    info["psn_cash_pay"] = MoneyText(record.cash_pay_fen);
    info["refd_setl_flag"] = Flag(record.reversed);
    info["refd_date"] = record.reversed ? DayText(record.reversed_date) : std::string();
    return info;
  }

  json FilingJson(const adapters::FilingRecord& filing) const {
    json info;
    info["trt_dcla_detl_sn"] = filing.filing_id;
    info["certno"] = dialect_.BackendResidentId(filing.resident_id);
    info["mdtrtarea_admvs"] = std::string(CityDivisionCode(filing.treatment_city));
    info["begndate"] = DayText(filing.valid_from);
    info["enddate"] = DayText(filing.valid_to);
    info["fil_type"] = absl::StrCat(static_cast<int>(filing.reason));
    info["vali_flag"] = Flag(!filing.revoked);
    return info;
  }

  bool WriteCommit(const absl::StatusOr<adapters::CommitResult>& result, json* output) {
    if (!result.ok()) return Fail(LedgerError(result.status()));
    (*output)["setlinfo"] = SettlementJson(result->settlement);
    if (!WriteAccount(result->account, output)) return false;
    (*output)["rpt_flag"] = Flag(result->replayed);
    return true;
  }

  bool Account(const json& data, json* output) {
    std::string resident_id;
    int year = 0;
    if (!Person(data, &resident_id) || !Year(data, "year", &year)) return false;
    absl::StatusOr<adapters::MedicalAccount> account = ledger_.GetAccount(resident_id, year);
    if (!account.ok()) return Fail(LedgerError(account.status()));
    return WriteAccount(*account, output);
  }

  bool Settle(const json& data, json* output) {
    adapters::SettlementRecord s;
    std::string med_type, version;
    if (!String(data, "setl_id", &s.settlement_id) || !Person(data, &s.resident_id) ||
        !Year(data, "year", &s.year) || !String(data, "med_type", &med_type)) {
      return false;
    }
    if (med_type == "11") {
      s.visit_type = config::v1::VISIT_TYPE_OUTPATIENT;
    } else if (med_type == "21") {
      s.visit_type = config::v1::VISIT_TYPE_INPATIENT;
    } else {
      return Malformed("med_type", "must be 11 (outpatient) or 21 (inpatient)");
    }
    if (!String(data, "fixmedins_code", &s.institution_code) ||
        !TreatmentCity(data, "mdtrtarea_admvs", &s.treatment_city) ||
        !Day(data, "setl_date", &s.settle_date) || !Money(data, "medfee_sumamt", &s.total_fen) ||
        !Money(data, "act_pay_dedc", &s.deductible_applied_fen) ||
        !Money(data, "fund_pay_sumamt", &s.fund_pay_fen) || !Money(data, "acct_pay", &s.account_pay_fen) ||
        !Money(data, "psn_cash_pay", &s.cash_pay_fen) || !String(data, "acct_ver", &version)) {
      return false;
    }
    int64_t expected_version = 0;
    if (version.empty() || version.size() > 18 || !absl::SimpleAtoi(version, &expected_version) ||
        expected_version < 0) {
      return Malformed("acct_ver", "must be a version of 1 to 18 digits");
    }
    return WriteCommit(ledger_.Commit(s, expected_version), output);
  }

  bool Reverse(const json& data, json* output) {
    std::string settlement_id, resident_id;
    absl::CivilDay reversed_date;
    if (!String(data, "setl_id", &settlement_id) || !Person(data, &resident_id) ||
        !Day(data, "refd_date", &reversed_date)) {
      return false;
    }
    return WriteCommit(ledger_.Reverse(settlement_id, resident_id, reversed_date), output);
  }

  bool Record(const json& data, json* output) {
    std::string settlement_id;
    if (!String(data, "setl_id", &settlement_id)) return false;
    absl::StatusOr<adapters::SettlementRecord> record = ledger_.GetSettlement(settlement_id);
    if (!record.ok()) return Fail(LedgerError(record.status()));
    (*output)["setlinfo"] = SettlementJson(*record);
    return true;
  }

  bool Reconcile(const json& data, json* output) {
    absl::CivilDay from, to;
    std::string after;
    if (!Day(data, "stmt_begndate", &from) || !Day(data, "stmt_enddate", &to) ||
        !String(data, "after_setl_id", &after)) {
      return false;
    }
    if (to < from) return Malformed("stmt_enddate", "is before stmt_begndate");
    auto size = data.find("page_size");
    if (size == data.end() || !size->is_number_integer() || size->get<int64_t>() < 1) {
      return Malformed("page_size", "must be a positive integer");
    }
    const size_t page_size = static_cast<size_t>(std::min<int64_t>(size->get<int64_t>(), 1000));
    MockMedicalLedger::SettlementPage page = ledger_.ListSettlements(from, to, after, page_size);
    json records = json::array();
    for (const adapters::SettlementRecord& record : page.records) records.push_back(SettlementJson(record));
    (*output)["setlinfo"] = std::move(records);
    (*output)["more_flag"] = Flag(page.more);
    return true;
  }

  bool File(const json& data, json* output) {
    adapters::FilingRecord filing;
    std::string reason;
    if (!Person(data, &filing.resident_id) ||
        !TreatmentCity(data, "mdtrtarea_admvs", &filing.treatment_city) ||
        !Day(data, "begndate", &filing.valid_from) || !Day(data, "enddate", &filing.valid_to) ||
        !String(data, "fil_type", &reason)) {
      return false;
    }
    if (reason.size() != 1 || reason[0] < '1' || reason[0] > '5')
      return Malformed("fil_type", "must be 1 to 5");
    filing.reason = static_cast<medical::v1::FilingReason>(reason[0] - '0');
    absl::StatusOr<adapters::FilingRecord> filed = ledger_.FileTreatment(filing);
    if (!filed.ok()) return Fail(LedgerError(filed.status()));
    (*output)["fileinfo"] = FilingJson(*filed);
    return true;
  }

  bool Revoke(const json& data, json* output) {
    std::string resident_id, filing_id;
    if (!Person(data, &resident_id) || !String(data, "trt_dcla_detl_sn", &filing_id)) return false;
    absl::StatusOr<adapters::FilingRecord> revoked = ledger_.RevokeFiling(resident_id, filing_id);
    if (!revoked.ok()) return Fail(LedgerError(revoked.status()));
    (*output)["fileinfo"] = FilingJson(*revoked);
    return true;
  }

  bool Filings(const json& data, json* output) {
    std::string resident_id;
    if (!Person(data, &resident_id)) return false;
    absl::StatusOr<std::vector<adapters::FilingRecord>> filings = ledger_.ListFilings(resident_id);
    if (!filings.ok()) return Fail(LedgerError(filings.status()));
    json list = json::array();
    for (const adapters::FilingRecord& filing : *filings) list.push_back(FilingJson(filing));
    (*output)["fileinfo"] = std::move(list);
    return true;
  }

  MockMedicalLedger& ledger_;
};

// --- Household migration and pension transfer (NATIONAL_INTERFACE.md, "Household migration and pension
// transfer"), over MockMobilityRecords (mobility_records.h), the records the gRPC mock changes too.

bool IsWorkflowTransaction(const std::string& infno) {
  return infno == "L9302" || infno == "L9303" || infno == "L9304" || infno == "L9202" || infno == "L9203" ||
         infno == "L9204" || infno == "L9205" || infno == "L9206";
}

constexpr size_t kMaxBizSn = 200;

// Answers the workflow steps from the mobility records, in the dialect, with the rules of the gRPC
// mock (mock_city_mobility.cc): biz_sn required (at most 200 characters), the person known to the
// population, city codes the prefecture codes of the five cities, each write applied once per
// biz_sn. The records' refusals become E1001 (NOT_FOUND), E1002 (INVALID_ARGUMENT, naming
// input.data.<field>), E2002 (ALREADY_EXISTS: the biz_sn was used for another request) and E2003
// (FAILED_PRECONDITION).
class MobilityDesk : public Desk {
 public:
  MobilityDesk(const adapters::Dialect& dialect, const Population& population, MockMobilityRecords& mobility,
               absl::CivilDay today)
      : Desk(dialect, population, today), mobility_(mobility) {}

  // Fills `output`, or sets `err_msg` and returns false.
  bool Answer(const std::string& infno, const json& data, json* output, std::string* err_msg) {
    err_ = err_msg;
    std::string key;
    const SyntheticPerson* person = nullptr;
    if (!String(data, "biz_sn", &key)) return false;
    if (key.empty()) return Malformed("biz_sn", "is required");
    if (key.size() > kMaxBizSn) return Malformed("biz_sn", "is longer than 200 characters");
    if (!Person(data, &person)) return false;
    if (infno == "L9302") return IssuePermit(key, *person, data, output);
    if (infno == "L9303") return MoveOut(key, *person, data, output);
    if (infno == "L9304") return SettleIn(key, *person, data, output);
    if (infno == "L9202") return Apply(key, *person, data, output);
    if (infno == "L9203") return Letter(key, *person, data, output);
    if (infno == "L9204") return Prepare(key, *person, data, output);
    if (infno == "L9205") return Complete(key, *person, data, output);
    return Confirm(key, *person, data, output);
  }

 private:
  // The JSON field a refusal of the records names by its canonical name ("address_code: ...").
  struct FieldNames {
    const char* origin = "";       // origin_city_code
    const char* destination = "";  // destination_city_code
  };

  // A refusal of the records as err_msg.
  bool Refused(const absl::Status& status, const FieldNames& names) {
    std::string message(status.message());
    const size_t colon = message.find(": ");
    if (colon != std::string::npos) {
      const std::string field = message.substr(0, colon);
      const std::string json_field = field == "address_code"            ? "hhreg_admdvs"
                                     : field == "request_key"           ? "biz_sn"
                                     : field == "origin_city_code"      ? names.origin
                                     : field == "destination_city_code" ? names.destination
                                                                        : field;
      if (!json_field.empty()) message = absl::StrCat(json_field, message.substr(colon));
    }
    switch (status.code()) {
      case absl::StatusCode::kNotFound:
        return Fail(absl::StrCat("E1001:", message));
      case absl::StatusCode::kInvalidArgument:
        return Fail(absl::StrCat("E1002:input.data.", message));
      case absl::StatusCode::kAlreadyExists:
        return Fail(absl::StrCat("E2002:", message));
      case absl::StatusCode::kFailedPrecondition:
        return Fail(absl::StrCat("E2003:", message));
      default:
        return Fail(absl::StrCat("E1999:", message));
    }
  }

  // A prefecture code of one of the five cities, as the gRPC mock reads city codes.
  bool CityCode(const json& data, const char* key, City* city) {
    std::string code;
    if (!String(data, key, &code)) return false;
    *city = CityForPrefectureCode(code);
    if (*city == City::CITY_UNSPECIFIED) {
      return Malformed(key,
                       absl::StrCat("\"", code, "\" is not the division code of one of the five cities"));
    }
    return true;
  }
  bool Required(const json& data, const char* key, std::string* out) {
    if (!String(data, key, out)) return false;
    if (out->empty()) return Malformed(key, "is required");
    return true;
  }
  bool Month(const json& data, const char* key, absl::CivilMonth* out) {
    std::string text;
    if (!String(data, key, &text)) return false;
    absl::StatusOr<absl::CivilMonth> month = dialect_.date_format().ParseMonth(text);
    if (!month.ok()) return Malformed(key, month.status().message());
    *out = *month;
    return true;
  }

  json PersonInfo(const SyntheticPerson& person) const {
    json info;
    info["certno"] = dialect_.BackendResidentId(person.resident_id);
    return info;
  }
  bool Done(json* output, const char* key, json info, bool replayed) {
    (*output)[key] = std::move(info);
    (*output)["rpt_flag"] = Flag(replayed);
    return true;
  }

  // The sheet's funds, yearinfo and clctinfo (L9204's output, L9206's input).
  bool WriteSheet(const adapters::PensionTransferSheet& sheet, const SyntheticPerson& person, json* output) {
    const std::string* pension = dialect_.table(adapters::CodeTableKind::kContributionKinds).ToLocal("110");
    if (pension == nullptr)
      return Fail(absl::StrCat("E1999:mock city: ", dialect_.source(), " has no pension code"));
    json baseinfo = PersonInfo(person);
    baseinfo["psn_acct_balc"] = MoneyText(sheet.personal_account_fen);
    baseinfo["pool_fund_amt"] = MoneyText(sheet.pooled_fund_fen);
    json years = json::array();
    for (const adapters::PensionSheetYear& y : sheet.years) {
      json year;
      year["year"] = absl::StrFormat("%04d", y.year);
      year["clct_mons"] = absl::StrCat(y.months);
      year["clct_base_sum"] = MoneyText(y.wage_base_total_fen);
      year["psn_clct_amt"] = MoneyText(y.personal_fen);
      year["emp_clct_amt"] = MoneyText(y.employer_fen);
      years.push_back(std::move(year));
    }
    json months = json::array();
    for (const social::v1::ContributionEntry& e : sheet.months) {
      json month;
      month["insutype"] = *pension;
      month["ym"] = dialect_.date_format().FormatMonth(absl::CivilMonth(e.year(), e.month()));
      month["clct_base"] = MoneyText(e.wage_base().fen());
      month["psn_clct_amt"] = MoneyText(e.personal_amount().fen());
      month["emp_clct_amt"] = MoneyText(e.employer_amount().fen());
      months.push_back(std::move(month));
    }
    (*output)["baseinfo"] = std::move(baseinfo);
    (*output)["yearinfo"] = std::move(years);
    (*output)["clctinfo"] = std::move(months);
    return true;
  }

  bool ReadSheet(const json& data, adapters::PensionTransferSheet* sheet) {
    if (!Money(data, "psn_acct_balc", &sheet->personal_account_fen) ||
        !Money(data, "pool_fund_amt", &sheet->pooled_fund_fen)) {
      return false;
    }
    auto years = data.find("yearinfo");
    if (years == data.end() || !years->is_array()) return Malformed("yearinfo", "is missing or not an array");
    for (size_t i = 0; i < years->size(); ++i) {
      const json& row = (*years)[i];
      const std::string field = absl::StrCat("yearinfo[", i, "]");
      if (!row.is_object()) return Malformed(field, "is not an object");
      adapters::PensionSheetYear year;
      std::string months;
      if (!Year(row, "year", &year.year) || !String(row, "clct_mons", &months) ||
          !Money(row, "clct_base_sum", &year.wage_base_total_fen) ||
          !Money(row, "psn_clct_amt", &year.personal_fen) ||
          !Money(row, "emp_clct_amt", &year.employer_fen)) {
        return false;
      }
      if (months.empty() || months.size() > 2 || months[0] == '0' ||
          !absl::SimpleAtoi(months, &year.months) || year.months < 1 || year.months > 12) {
        return Malformed(field + ".clct_mons", "must be a number of months from 1 to 12");
      }
      sheet->years.push_back(year);
    }
    auto months = data.find("clctinfo");
    if (months == data.end() || !months->is_array())
      return Malformed("clctinfo", "is missing or not an array");
    for (size_t i = 0; i < months->size(); ++i) {
      const json& row = (*months)[i];
      const std::string field = absl::StrCat("clctinfo[", i, "]");
      if (!row.is_object()) return Malformed(field, "is not an object");
      std::string kind;
      ContributionMonth month;
      if (!String(row, "insutype", &kind) || !Month(row, "ym", &month.month) ||
          !Money(row, "clct_base", &month.wage_base_fen) ||
          !Money(row, "psn_clct_amt", &month.personal_fen) ||
          !Money(row, "emp_clct_amt", &month.employer_fen)) {
        return false;
      }
      const std::string* national =
          dialect_.table(adapters::CodeTableKind::kContributionKinds).ToNational(kind);
      if (national == nullptr || *national != "110") {
        return Malformed(field + ".insutype", "is not this city's pension code");
      }
      month.city = dialect_.city();
      month.kind_code = "110";
      sheet->months.push_back(ToPensionEntry(month));
    }
    return true;
  }

  // --- Household migration.

  bool IssuePermit(const std::string& key, const SyntheticPerson& person, const json& data, json* output) {
    City origin = City::CITY_UNSPECIFIED;
    std::string address;
    if (!CityCode(data, "mvout_admdvs", &origin) || !String(data, "hhreg_admdvs", &address)) return false;
    absl::StatusOr<adapters::MoveInPermit> permit =
        mobility_.IssueMoveInPermit(key, person, origin, address, today_);
    if (!permit.ok()) return Refused(permit.status(), {"mvout_admdvs", ""});
    json info = PersonInfo(person);
    info["mvin_pmt_no"] = permit->permit_number;
    info["issu_date"] = DayText(permit->issued_on);
    info["vali_enddate"] = DayText(permit->valid_until);
    return Done(output, "pmtinfo", std::move(info), permit->replayed);
  }

  bool MoveOut(const std::string& key, const SyntheticPerson& person, const json& data, json* output) {
    City destination = City::CITY_UNSPECIFIED;
    std::string permit_number;
    absl::CivilDay valid_until;
    if (!CityCode(data, "mvin_admdvs", &destination) || !Required(data, "mvin_pmt_no", &permit_number) ||
        !Day(data, "pmt_vali_enddate", &valid_until)) {
      return false;
    }
    absl::StatusOr<adapters::MoveOutRecord> record =
        mobility_.RecordMoveOut(key, person, destination, permit_number, valid_until, today_);
    if (!record.ok()) return Refused(record.status(), {"", "mvin_admdvs"});
    json info = PersonInfo(person);
    info["hhreg_admdvs"] = record->previous_address_code;
    info["mvout_date"] = DayText(record->moved_out_on);
    return Done(output, "mvoutinfo", std::move(info), record->replayed);
  }

  bool SettleIn(const std::string& key, const SyntheticPerson& person, const json& data, json* output) {
    std::string name, permit_number, address;
    if (!Required(data, "psn_name", &name) || !Required(data, "mvin_pmt_no", &permit_number) ||
        !String(data, "hhreg_admdvs", &address)) {
      return false;
    }
    bool replayed = false;
    absl::StatusOr<HouseholdRegistration> registration =
        mobility_.SettleIn(key, person, permit_number, address, name, today_, &replayed);
    if (!registration.ok()) return Refused(registration.status(), {});
    const std::string* relation =
        dialect_.table(adapters::CodeTableKind::kRelations).ToLocal(registration->relation_code);
    const std::string* type =
        dialect_.table(adapters::CodeTableKind::kHouseholdTypes).ToLocal(registration->household_type_code);
    if (relation == nullptr || type == nullptr) {
      return Fail(
          absl::StrCat("E1999:mock city: ", dialect_.source(), " cannot write the registration's codes"));
    }
    json info = PersonInfo(person);
    info["psn_name"] = name;
    info["hhreg_admdvs"] = registration->address_code;
    info["hh_no"] = registration->household_number;
    info["rlts"] = *relation;
    info["hh_type"] = *type;
    info["hhreg_date"] = DayText(registration->registered_since);
    return Done(output, "hhreginfo", std::move(info), replayed);
  }

  // --- Pension transfer.

  bool Apply(const std::string& key, const SyntheticPerson& person, const json& data, json* output) {
    City origin = City::CITY_UNSPECIFIED;
    if (!CityCode(data, "trfout_admdvs", &origin)) return false;
    absl::StatusOr<adapters::PensionApplication> application =
        mobility_.ApplyPensionTransfer(key, person, origin, today_);
    if (!application.ok()) return Refused(application.status(), {"trfout_admdvs", ""});
    json info = PersonInfo(person);
    info["aply_no"] = application->application_number;
    info["aply_date"] = DayText(application->applied_on);
    return Done(output, "aplyinfo", std::move(info), application->replayed);
  }

  bool Letter(const std::string& key, const SyntheticPerson& person, const json& data, json* output) {
    std::string application_number;
    if (!Required(data, "aply_no", &application_number)) return false;
    absl::StatusOr<adapters::ContactLetter> letter =
        mobility_.IssueContactLetter(key, person, application_number, today_);
    if (!letter.ok()) return Refused(letter.status(), {});
    json info = PersonInfo(person);
    info["letr_no"] = letter->letter_number;
    info["aply_no"] = application_number;
    info["issu_date"] = DayText(letter->issued_on);
    return Done(output, "letrinfo", std::move(info), letter->replayed);
  }

  bool Prepare(const std::string& key, const SyntheticPerson& person, const json& data, json* output) {
    City destination = City::CITY_UNSPECIFIED;
    std::string letter_number;
    if (!CityCode(data, "trfin_admdvs", &destination) || !Required(data, "letr_no", &letter_number))
      return false;
    absl::StatusOr<adapters::PreparedTransferOut> prepared =
        mobility_.PreparePensionTransferOut(key, person, destination, letter_number);
    if (!prepared.ok()) return Refused(prepared.status(), {"", "trfin_admdvs"});
    if (!WriteSheet(prepared->sheet, person, output)) return false;
    (*output)["rpt_flag"] = Flag(prepared->replayed);
    return true;
  }

  bool Complete(const std::string& key, const SyntheticPerson& person, const json& data, json* output) {
    City destination = City::CITY_UNSPECIFIED;
    std::string letter_number;
    int64_t personal = 0, pooled = 0;
    if (!CityCode(data, "trfin_admdvs", &destination) || !Required(data, "letr_no", &letter_number) ||
        !Money(data, "psn_acct_balc", &personal) || !Money(data, "pool_fund_amt", &pooled)) {
      return false;
    }
    absl::StatusOr<adapters::TransferOutCompletion> completion = mobility_.CompletePensionTransferOut(
        key, person, destination, letter_number, personal, pooled, today_);
    if (!completion.ok()) return Refused(completion.status(), {"", "trfin_admdvs"});
    json info = PersonInfo(person);
    info["trfout_date"] = DayText(completion->ended_on);
    return Done(output, "trfoutinfo", std::move(info), completion->replayed);
  }

  bool Confirm(const std::string& key, const SyntheticPerson& person, const json& data, json* output) {
    City origin = City::CITY_UNSPECIFIED;
    std::string application_number;
    adapters::PensionTransferSheet sheet;
    if (!Required(data, "aply_no", &application_number) || !CityCode(data, "trfout_admdvs", &origin) ||
        !ReadSheet(data, &sheet)) {
      return false;
    }
    absl::StatusOr<adapters::TransferInConfirmation> confirmation =
        mobility_.ConfirmPensionTransferIn(key, person, application_number, origin, sheet, today_);
    if (!confirmation.ok()) return Refused(confirmation.status(), {"trfout_admdvs", ""});
    json info = PersonInfo(person);
    info["cfm_date"] = DayText(confirmation->confirmed_on);
    info["ntc_flag"] = Flag(confirmation->applicant_notified);
    return Done(output, "trfininfo", std::move(info), confirmation->replayed);
  }

  MockMobilityRecords& mobility_;
};

}  // namespace

NationalInterfacePlatform::NationalInterfacePlatform(std::shared_ptr<const adapters::Dialect> dialect,
                                                     const Population& population, const Clock& clock)
    : NationalInterfacePlatform(dialect, population, clock,
                                std::make_unique<MockMedicalLedger>(population, dialect->city()), nullptr) {}

NationalInterfacePlatform::NationalInterfacePlatform(std::shared_ptr<const adapters::Dialect> dialect,
                                                     const Population& population, const Clock& clock,
                                                     MockMedicalLedger& ledger)
    : NationalInterfacePlatform(std::move(dialect), population, clock, nullptr, &ledger) {}

NationalInterfacePlatform::NationalInterfacePlatform(std::shared_ptr<const adapters::Dialect> dialect,
                                                     const Population& population, const Clock& clock,
                                                     std::unique_ptr<MockMedicalLedger> owned_ledger,
                                                     MockMedicalLedger* ledger)
    : dialect_(std::move(dialect)),
      city_(dialect_->city()),
      population_(population),
      clock_(clock),
      owned_ledger_(std::move(owned_ledger)),
      ledger_(ledger != nullptr ? *ledger : *owned_ledger_),
      mobility_(std::make_unique<MockMobilityRecords>(population, city_)),
      faults_(TransactionCodes()) {}

std::vector<std::string> NationalInterfacePlatform::TransactionCodes() {
  return {"1101",  "L9101", "L9201", "L9301", "5206",  "2207A", "2208A", "5203",  "3202",  "2501A", "2502A",
          "5301A", "L9401", "L9302", "L9303", "L9304", "L9202", "L9203", "L9204", "L9205", "L9206"};
}

std::string NationalInterfacePlatform::InjectedErrMsg(const absl::Status& refusal) {
  const char* code = "E1999";
  switch (refusal.code()) {
    case absl::StatusCode::kNotFound:
      code = "E1001";
      break;
    case absl::StatusCode::kInvalidArgument:
      code = "E1002";
      break;
    case absl::StatusCode::kUnimplemented:
      code = "E1003";
      break;
    case absl::StatusCode::kAborted:
      code = "E2001";
      break;
    case absl::StatusCode::kAlreadyExists:
      code = "E2002";
      break;
    case absl::StatusCode::kFailedPrecondition:
      code = "E2003";
      break;
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnavailable:
      code = "E9001";
      break;
    default:
      break;
  }
  return absl::StrCat(code, ":", refusal.message());
}

std::string NationalInterfacePlatform::Answer(absl::string_view request_body) {
  return AnswerRequest(request_body, nullptr, nullptr);
}

std::string NationalInterfacePlatform::AnswerWithFaults(absl::string_view request_body,
                                                        FaultDecision* decision,
                                                        const std::function<void(FaultDecision&)>& admit) {
  return AnswerRequest(request_body, decision, &admit);
}

int NationalInterfacePlatform::HeldPersonCount() const {
  int count = 0;
  for (const SyntheticPerson& person : population_.persons())
    count += HoldsAny(person, city_, *mobility_) ? 1 : 0;
  return count;
}

std::string NationalInterfacePlatform::AnswerRequest(absl::string_view request_body, FaultDecision* decision,
                                                     const std::function<void(FaultDecision&)>* admit) {
  absl::Time now = clock_.Now();
  const std::string region(CityDivisionCode(city_));
  json reply;
  reply["infcode"] = 0;
  reply["inf_refmsgid"] =
      absl::StrFormat("%s%s%010d", region, absl::FormatTime("%Y%m%d%H%M%S", now, ChinaTime()),
                      replies_.fetch_add(1) % 10000000000ull);
  std::string refmsg_time = absl::FormatTime("%Y%m%d%H%M%E3S", now, ChinaTime());
  refmsg_time.erase(std::remove(refmsg_time.begin(), refmsg_time.end(), '.'), refmsg_time.end());
  reply["refmsg_time"] = refmsg_time;
  reply["respond_time"] = refmsg_time;
  reply["err_msg"] = nullptr;
  reply["warn_msg"] = nullptr;
  reply["cainfo"] = nullptr;
  reply["signtype"] = nullptr;

  auto fail = [&reply](const std::string& err_msg) {
    reply["infcode"] = -1;
    reply["err_msg"] = err_msg;
    reply["output"] = nullptr;
    return reply.dump(-1, ' ', false, json::error_handler_t::replace);
  };

  auto string_field = [](const json& object, const char* key) -> const std::string* {
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
  };
  json request = json::parse(request_body.begin(), request_body.end(), nullptr, /*allow_exceptions=*/false);
  const bool is_object = !request.is_discarded() && request.is_object();
  const std::string* infno = is_object ? string_field(request, "infno") : nullptr;
  if (decision != nullptr) {
    // The fault check: before anything is run, so that a refused call applies nothing.
    *decision = faults_.Decide(infno != nullptr ? absl::string_view(*infno) : absl::string_view());
    if (*admit) (*admit)(*decision);
    if (decision->action == FaultAction::kHang) return std::string();
    if (decision->action == FaultAction::kRefuse) {
      if (decision->refusal.code() == absl::StatusCode::kUnavailable) return std::string();
      return fail(InjectedErrMsg(decision->refusal));
    }
  }
  if (!is_object) return fail("E1002:请求报文不是JSON对象 (request is not a JSON object)");
  if (infno == nullptr) return fail("E1002:infno is missing or not a string");
  const std::string* msgid = string_field(request, "msgid");
  if (msgid == nullptr || msgid->size() != 30) return fail("E1002:msgid must be a string of 30 characters");
  const std::string* inf_time = string_field(request, "inf_time");
  absl::Time parsed_time;
  std::string time_error;
  if (inf_time == nullptr ||
      !absl::ParseTime("%Y-%m-%d %H:%M:%S", *inf_time, ChinaTime(), &parsed_time, &time_error)) {
    return fail("E1002:inf_time must be \"YYYY-MM-DD HH:MM:SS\"");
  }
  const bool settlement = IsSettlementTransaction(*infno);
  if (*infno == "L9401" && signer_ != nullptr) {
    // Certificates (NATIONAL_INTERFACE.md, "Certificates"): sign with this city's own key.
    const std::string* encoded = nullptr;
    auto input = request.find("input");
    if (input != request.end() && input->is_object()) {
      auto data = input->find("data");
      if (data != input->end() && data->is_object()) encoded = string_field(*data, "cert_payload");
    }
    std::string payload;
    if (encoded == nullptr || !absl::Base64Unescape(*encoded, &payload)) {
      return fail("E1002:input.data.cert_payload must be a base64 string");
    }
    absl::StatusOr<adapters::CertificateSignature> signature = signer_->Sign(payload);
    if (!signature.ok()) {
      return fail(absl::StrCat(
          signature.status().code() == absl::StatusCode::kFailedPrecondition ? "E2003:" : "E1002:",
          signature.status().code() == absl::StatusCode::kInvalidArgument ? "input.data.cert_" : "",
          signature.status().message()));
    }
    json signinfo;
    signinfo["sign_data"] = absl::Base64Escape(signature->signature);
    signinfo["key_id"] = signature->key_id;
    signinfo["sign_alg"] = signature->algorithm;
    reply["output"]["signinfo"] = std::move(signinfo);
    return reply.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  const bool workflow = IsWorkflowTransaction(*infno);
  if (*infno != "1101" && *infno != "L9101" && *infno != "L9201" && *infno != "L9301" && !settlement &&
      !workflow) {
    return fail(absl::StrCat("E1003:不支持的交易 (unsupported transaction) ", *infno));
  }
  auto input = request.find("input");
  if (input == request.end() || !input->is_object()) return fail("E1002:input must be an object");
  auto data = input->find("data");
  if (data == input->end() || !data->is_object()) return fail("E1002:input.data must be an object");
  if (settlement) {
    SettlementDesk desk(*dialect_, population_, ledger_, identity::ChinaCivilDay(now));
    json output = json::object();
    std::string err_msg;
    if (!desk.Answer(*infno, *data, &output, &err_msg)) return fail(err_msg);
    reply["output"] = std::move(output);
    return reply.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  if (workflow) {
    MobilityDesk desk(*dialect_, population_, *mobility_, identity::ChinaCivilDay(now));
    json output = json::object();
    std::string err_msg;
    if (!desk.Answer(*infno, *data, &output, &err_msg)) return fail(err_msg);
    reply["output"] = std::move(output);
    return reply.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  const std::string* cert_type = string_field(*data, "psn_cert_type");
  if (cert_type == nullptr || *cert_type != "01")
    return fail("E1002:input.data.psn_cert_type must be \"01\"");
  const std::string* certno = string_field(*data, "certno");
  if (certno == nullptr) return fail("E1002:input.data.certno is missing or not a string");
  absl::StatusOr<identity::ResidentId> id = identity::ParseResidentId(*certno, identity::ChinaCivilDay(now));
  if (!id.ok()) return fail(absl::StrCat("E1002:input.data.certno: ", id.status().message()));

  const SyntheticPerson* person = population_.Find(id->number);
  if (person != nullptr && !HoldsAny(*person, city_, *mobility_))
    person = nullptr;  // only what this city holds
  // Like a real register, the platform knows each person under one number only.
  if (person != nullptr && dialect_->KeysByLegacyNumber(person->resident_id) != id->upgraded_from_legacy) {
    person = nullptr;
  }
  const adapters::Dialect& dialect = *dialect_;
  std::string missing_code;  // a national code the dialect cannot write, if any
  auto local = [&dialect, &missing_code](adapters::CodeTableKind table, const std::string& national) {
    const std::string* code = dialect.table(table).ToLocal(national);
    if (code != nullptr) return *code;
    missing_code = absl::StrCat(adapters::CodeTableName(table), " \"", national, "\"");
    return std::string();
  };
  auto money = [&dialect](int64_t fen) { return adapters::FormatMoney(fen, dialect.money_format()); };
  auto date = [&dialect](const absl::CivilDay& day) { return dialect.date_format().FormatDate(day); };
  json output = json::object();

  if (*infno == "L9101") {
    output["certno"] = *certno;
    output["psn_exist_flag"] = Flag(person != nullptr);
    output["insu_flag"] = Flag(person != nullptr && person->has_medical && person->medical.city == city_);
    output["clct_flag"] = Flag(person != nullptr && mobility_->HasContributions(*person));
    output["hhreg_flag"] = Flag(person != nullptr && mobility_->Registration(*person).has_value());
    reply["output"] = std::move(output);
    return reply.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  if (person == nullptr) return fail("E1001:未查询到人员信息 (no such person here)");
  const std::string backend_id = dialect.BackendResidentId(person->resident_id);
  const std::string psn_no =
      absl::StrFormat("%s%010d", region, static_cast<long long>(person - population_.persons().data()));

  if (*infno == "1101") {
    json baseinfo;
    baseinfo["psn_no"] = psn_no;
    baseinfo["psn_cert_type"] = "01";
    baseinfo["certno"] = backend_id;
    baseinfo["psn_name"] = person->name;
    baseinfo["gend"] = (person->resident_id[16] - '0') % 2 == 1 ? "1" : "2";
    baseinfo["naty"] = "01";
    baseinfo["brdy"] = date(person->birth_date);
    absl::CivilDay today = identity::ChinaCivilDay(now);
    int age = static_cast<int>(today.year() - person->birth_date.year());
    if (today.month() < person->birth_date.month() ||
        (today.month() == person->birth_date.month() && today.day() < person->birth_date.day())) {
      --age;
    }
    baseinfo["age"] = age;
    json insuinfo = json::array();
    if (person->has_medical && person->medical.city == city_) {
      const MedicalEnrollment& m = person->medical;
      json entry;
      entry["balc"] = money(ledger_.BalanceOr(person->resident_id, m.balance_fen));  // as settlements left it
      entry["insutype"] = local(adapters::CodeTableKind::kInsuranceTypes, m.insurance_type_code);
      entry["psn_type"] =
          m.insurance_type_code == "390" ? "1501" : (m.insurance_type_code == "340" ? "1301" : "1101");
      entry["psn_insu_stas"] = local(adapters::CodeTableKind::kEnrollmentStatuses, m.status_code);
      entry["psn_insu_date"] = date(m.enrollment_date);
      entry["paus_insu_date"] = nullptr;
      entry["cvlserv_flag"] = "0";
      entry["insuplc_admdvs"] = m.insured_region_code;
      entry["emp_name"] = "";
      insuinfo.push_back(std::move(entry));
    }
    output["baseinfo"] = std::move(baseinfo);
    output["insuinfo"] = std::move(insuinfo);  // empty: known here, but not insured here
    output["idetinfo"] = json::array();
  } else if (*infno == "L9201") {
    int years[2] = {0, 0};
    const char* keys[2] = {"begn_ym", "end_ym"};
    for (int i = 0; i < 2; ++i) {
      const std::string* ym = string_field(*data, keys[i]);
      if (ym == nullptr) return fail(absl::StrCat("E1002:input.data.", keys[i], " must be a string"));
      if (ym->empty()) continue;
      absl::StatusOr<absl::CivilMonth> month = dialect.date_format().ParseMonth(*ym);
      if (!month.ok()) {
        return fail(absl::StrCat("E1002:input.data.", keys[i], " must be \"\" or ",
                                 dialect.date_format().month_pattern()));
      }
      years[i] = static_cast<int>(month->year());
    }
    if (!mobility_->HasContributions(*person)) return fail("E1001:未查询到缴费信息 (no contributions here)");
    json baseinfo;
    baseinfo["psn_no"] = psn_no;
    baseinfo["certno"] = backend_id;
    baseinfo["psn_name"] = person->name;
    json clctinfo = json::array();
    // As transfers have left them: without the pension months of a relationship that moved away,
    // with those merged in.
    for (const ContributionMonth& month : mobility_->Contributions(*person, years[0], years[1])) {
      json row;
      row["insutype"] = local(adapters::CodeTableKind::kContributionKinds, month.kind_code);
      row["ym"] = dialect.date_format().FormatMonth(month.month);
      row["clct_base"] = money(month.wage_base_fen);
      row["psn_clct_amt"] = money(month.personal_fen);
      row["emp_clct_amt"] = money(month.employer_fen);
      clctinfo.push_back(std::move(row));
    }
    output["baseinfo"] = std::move(baseinfo);
    output["clctinfo"] = std::move(clctinfo);
  } else {  // L9301
    // As migrations have left it.
    const std::optional<HouseholdRegistration> registration = mobility_->Registration(*person);
    if (!registration.has_value()) return fail("E1001:未查询到户籍信息 (not registered here)");
    const HouseholdRegistration& h = *registration;
    json info;
    info["certno"] = backend_id;
    info["psn_name"] = person->name;
    info["hhreg_admdvs"] = h.address_code;
    info["hh_no"] = h.household_number;
    info["rlts"] = local(adapters::CodeTableKind::kRelations, h.relation_code);
    info["hh_type"] = local(adapters::CodeTableKind::kHouseholdTypes, h.household_type_code);
    info["hhreg_date"] = date(h.registered_since);
    output["hhreginfo"] = std::move(info);
  }
  if (!missing_code.empty()) {
    return fail(absl::StrCat("E1999:mock city: ", dialect.source(), " has no local code for national ",
                             missing_code));
  }
  reply["output"] = std::move(output);
  return reply.dump(-1, ' ', false, json::error_handler_t::replace);
}

HttpMockCityBackend::HttpMockCityBackend(std::shared_ptr<const adapters::Dialect> dialect,
                                         const Population& population, const Clock& clock,
                                         MockMedicalLedger* ledger)
    : platform_(ledger != nullptr ? NationalInterfacePlatform(std::move(dialect), population, clock, *ledger)
                                  : NationalInterfacePlatform(std::move(dialect), population, clock)) {}

absl::StatusOr<std::unique_ptr<HttpMockCityBackend>> HttpMockCityBackend::Start(
    std::shared_ptr<const adapters::Dialect> dialect, const Population& population, const Clock& clock,
    const HttpBackendOptions& options) {
  return Serve(std::unique_ptr<HttpMockCityBackend>(
                   new HttpMockCityBackend(std::move(dialect), population, clock, nullptr)),
               options);
}

absl::StatusOr<std::unique_ptr<HttpMockCityBackend>> HttpMockCityBackend::Start(
    std::shared_ptr<const adapters::Dialect> dialect, const Population& population, const Clock& clock,
    MockMedicalLedger& ledger, const HttpBackendOptions& options) {
  return Serve(std::unique_ptr<HttpMockCityBackend>(
                   new HttpMockCityBackend(std::move(dialect), population, clock, &ledger)),
               options);
}

absl::StatusOr<std::unique_ptr<HttpMockCityBackend>> HttpMockCityBackend::Serve(
    std::unique_ptr<HttpMockCityBackend> backend, const HttpBackendOptions& options) {
  backend->platform_.SetCertificateSigner(options.certificate_signer);
  std::string tls_error;
  backend->server_ = std::make_unique<httplib::SSLServer>([&options, &tls_error](SSL_CTX& ctx) {
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_use_certificate_chain_file(&ctx, options.cert_file.c_str()) != 1) {
      tls_error = absl::StrCat("cert_file: cannot use ", options.cert_file);
      return false;
    }
    if (SSL_CTX_use_PrivateKey_file(&ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(&ctx) != 1) {
      tls_error = absl::StrCat("key_file: cannot use ", options.key_file, " with ", options.cert_file);
      return false;
    }
    if (SSL_CTX_load_verify_locations(&ctx, options.ca_cert_file.c_str(), nullptr) != 1) {
      tls_error = absl::StrCat("ca_cert_file: cannot use ", options.ca_cert_file);
      return false;
    }
    STACK_OF(X509_NAME)* client_cas = SSL_load_client_CA_file(options.ca_cert_file.c_str());
    if (client_cas != nullptr) SSL_CTX_set_client_CA_list(&ctx, client_cas);
    // Mutual TLS: a client without a certificate from the CA fails the handshake.
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    // Without a session id context, OpenSSL answers a client that resumes a session (as libcurl does
    // on its second connection) with an internal_error alert when client certificates are verified.
    static constexpr unsigned char kSessionContext[] = "interop-mock-city";
    SSL_CTX_set_session_id_context(&ctx, kSessionContext, sizeof kSessionContext - 1);
    return true;
  });
  if (!backend->server_->is_valid()) {
    return absl::InvalidArgumentError(tls_error.empty() ? "cannot set up TLS" : tls_error);
  }
  httplib::SSLServer& server = *backend->server_;
  const int threads = std::max(1, options.threads);
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_tcp_nodelay(true);  // headers and body go out in separate writes
  server.set_keep_alive_max_count(1000000);
  server.set_keep_alive_timeout(std::max<time_t>(1, absl::ToInt64Seconds(options.keep_alive_timeout)));
  server.set_read_timeout(10, 0);
  server.set_write_timeout(10, 0);
  server.set_payload_max_length(1 << 20);

  absl::Status faults_valid = backend->faults().Set(options.faults);
  if (!faults_valid.ok()) return WithMessagePrefix(faults_valid, "faults");
  backend->max_held_ = std::max(0, threads - kWorkersKeptFree);
  backend->max_hang_ = options.max_hang;

  HttpMockCityBackend* self = backend.get();
  server.Post(kCallServicePath, [self](const httplib::Request& request, httplib::Response& response) {
    self->BeforeAnswer(request.remote_addr, request.remote_port);
    self->AnswerCall(request, response);
  });
  server.Get("/health", [self](const httplib::Request& request, httplib::Response& response) {
    self->BeforeAnswer(request.remote_addr, request.remote_port);
    const bool down = self->platform_.faults().down();
    response.status = down ? 503 : 200;
    response.set_content(down ? "NOT_SERVING" : "SERVING", "text/plain");
  });
  // The fault admin (never subject to faults, not counted in requests_served).
  server.Post(kAdminFaultsPath, [self](const httplib::Request& request, httplib::Response& response) {
    mockcity::v1::SetFaultsRequest set;
    const auto parsed = google::protobuf::util::JsonStringToMessage(request.body, &set);
    if (!parsed.ok()) {
      return AnswerAdminError(absl::InvalidArgumentError(absl::StrCat(
                                  "the body is not a SetFaultsRequest in protobuf's JSON mapping: ",
                                  std::string(parsed.message()))),
                              response);
    }
    absl::StatusOr<mockcity::v1::SetFaultsResponse> applied = ApplySetFaults(self->platform_.faults(), set);
    if (!applied.ok()) return AnswerAdminError(applied.status(), response);
    AnswerAdminJson(*applied, response);
  });
  server.Get(kAdminFaultsPath, [self](const httplib::Request&, httplib::Response& response) {
    AnswerAdminJson(DescribeFaults(self->platform_.faults()), response);
  });
  server.Post(kAdminResetPath, [self](const httplib::Request&, httplib::Response& response) {
    self->platform_.faults().Reset();
    AnswerAdminJson(mockcity::v1::ResetFaultsResponse(), response);
  });

  size_t colon = options.listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(options.listen.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("listen: \"", options.listen, "\" is not host:port"));
  }
  std::string host = options.listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (port == 0) {
    port = server.bind_to_any_port(host);
    if (port <= 0) return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  } else if (!server.bind_to_port(host, port)) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  backend->port_ = port;
  backend->thread_ = std::thread([self] {
    // A worker that answers a caller who has closed its connection (a held reply) writes to a closed
    // socket; SIGPIPE must not end the process. The workers, started from this thread, inherit the
    // mask; the signal stays pending on them and the write fails with EPIPE.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    self->server_->listen_after_bind();
    self->listen_returned_ = true;
  });
  // The socket already listens (connections wait in its backlog); this only makes Stop() reliable.
  for (int i = 0; i < 5000 && !server.is_running() && !backend->listen_returned_; ++i)
    absl::SleepFor(absl::Milliseconds(1));
  return backend;
}

HttpMockCityBackend::~HttpMockCityBackend() { Stop(); }

void HttpMockCityBackend::Stop() {
  if (!stopping_.HasBeenNotified()) stopping_.Notify();
  if (!thread_.joinable()) return;
  // stop() does nothing until the server thread has entered its accept loop.
  while (!server_->is_running() && !listen_returned_) absl::SleepFor(absl::Milliseconds(1));
  server_->stop();
  ShutdownAcceptedConnections(port_);
  thread_.join();
}

void HttpMockCityBackend::SetDelay(absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  delay_ = delay;
}

int HttpMockCityBackend::connections_seen() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(connections_.size());
}

int HttpMockCityBackend::requests_served() const { return requests_.load(); }

void HttpMockCityBackend::BeforeAnswer(const std::string& remote_addr, int remote_port) {
  absl::Duration delay;
  {
    absl::MutexLock lock(&mu_);
    connections_.insert(absl::StrCat(remote_addr, ":", remote_port));
    delay = delay_;
  }
  ++requests_;
  if (delay > absl::ZeroDuration()) stopping_.WaitForNotificationWithTimeout(delay);
}

void HttpMockCityBackend::AnswerCall(const httplib::Request& request, httplib::Response& response) {
  bool held = false;  // took a slot for a held reply
  FaultDecision decision;
  std::string body = platform_.AnswerWithFaults(request.body, &decision, [this, &held](FaultDecision& d) {
    if (d.action != FaultAction::kHang && d.reply_delay <= absl::ZeroDuration()) return;
    if (TryHold()) {
      held = true;
      return;
    }
    d.action = FaultAction::kRefuse;
    d.reply_delay = absl::ZeroDuration();
    d.refusal = absl::UnavailableError(
        absl::StrCat("mock city: all ", max_held_, " workers that may hold a reply are holding one"));
  });
  if (decision.action == FaultAction::kHang) {
    const bool capped = HoldReply(request, absl::Now() + max_hang_);
    response.status = 504;  // only read if the caller is still there
    response.set_content(
        capped ? absl::StrCat("mock city: injected hang ended after ", absl::FormatDuration(max_hang_))
               : std::string("mock city: injected hang ended"),
        "text/plain");
    return;
  }
  if (held) HoldReply(request, absl::Now() + decision.reply_delay);
  if (body.empty()) {  // down, or an injected UNAVAILABLE
    response.status = 503;
    response.set_content(std::string(decision.refusal.message()), "text/plain");
    return;
  }
  response.status = 200;  // business errors too, as the national platform does
  response.set_content(std::move(body), kJsonContentType);
}

bool HttpMockCityBackend::TryHold() {
  int now = held_.load();
  while (now < max_held_) {
    if (held_.compare_exchange_weak(now, now + 1)) return true;
  }
  return false;
}

bool HttpMockCityBackend::HoldReply(const httplib::Request& request, absl::Time until) {
  const int fd = AcceptedConnection(port_, request.remote_addr, request.remote_port);
  bool came = true;
  while (true) {
    const absl::Time now = absl::Now();
    if (now >= until) break;
    if (stopping_.HasBeenNotified()) {
      came = false;
      break;
    }
    // Slices, so that Stop() is seen even if the connection cannot be watched.
    const absl::Duration slice = std::min(until - now, absl::Milliseconds(250));
    if (fd < 0) {
      stopping_.WaitForNotificationWithTimeout(slice);
      continue;
    }
    // POLLRDHUP: the caller closed (or shut down) its side; POLLHUP/POLLERR: the connection is gone
    // (Stop() shuts it down). Data from the caller is not looked at.
    pollfd watched{fd, POLLRDHUP, 0};
    const int ready =
        poll(&watched, 1, static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(slice))));
    if (ready > 0 && (watched.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0) {
      came = false;
      break;
    }
  }
  held_.fetch_sub(1);
  return came;
}

int ServeHttpUntilSignal(std::shared_ptr<const adapters::Dialect> dialect, const Population& population,
                         MockMedicalLedger& ledger, const HttpBackendOptions& options,
                         const std::string& port_file, const sigset_t& stop_signals) {
  absl::Time started = absl::Now();
  const City city = dialect->city();
  const std::string source = dialect->source();
  absl::StatusOr<std::unique_ptr<HttpMockCityBackend>> backend =
      HttpMockCityBackend::Start(std::move(dialect), population, Clock::Real(), ledger, options);
  if (!backend.ok()) {
    std::fprintf(stderr, "mock-city: %s\n", std::string(backend.status().message()).c_str());
    return backend.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  LogInfo("mock city serving",
          {{"city", std::string(CityName(city))},
           {"transport", "http"},
           {"dialect", source},
           {"port", absl::StrCat((*backend)->port())},
           {"persons_held", absl::StrCat((*backend)->platform().HeldPersonCount())},
           {"seed", absl::StrCat(population.options().seed)},
           {"faults", options.faults == FaultSettings{} ? "none" : "injected"},
           {"startup_ms", absl::StrCat(absl::ToInt64Milliseconds(absl::Now() - started))}});
  if (!port_file.empty()) {
    std::string tmp = port_file + ".tmp";
    std::ofstream(tmp) << (*backend)->port() << "\n";
    std::rename(tmp.c_str(), port_file.c_str());
  }
  int signal = 0;
  sigwait(&stop_signals, &signal);
  (*backend)->Stop();
  return 0;
}

}  // namespace interop::mock_city
