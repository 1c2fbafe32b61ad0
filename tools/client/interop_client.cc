// interop-client: calls one read of the gateway's public API over mutual TLS and prints the answer.
//
//   interop-client --target=HOST:PORT --ca=ca.pem --cert=caller.pem --key=caller.key
//                  [--server_name=NAME] [--deadline_ms=5000]
//                  [--purpose=PURPOSE] [--on_behalf_of=RESIDENT_ID] [--case_reference=REF]
//                  medical|contributions|household RESIDENT_ID
//                  [--granularity=year|month] [--kinds=pension,unemployment,medical,injury]
//                  [--from_year=YYYY] [--to_year=YYYY]
//
//   medical        interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus
//   contributions  interop.social.v1.SocialSecurityService/GetContributionHistory
//   household      interop.household.v1.HouseholdRegistrationService/GetHouseholdRecord
//
// --purpose, --on_behalf_of and --case_reference fill the request's AccessContext. The gateway refuses
// a call without a purpose, or with one the access policy does not grant the caller's role for the
// method (gateway/server/access_policy.textproto); the purpose is named in lower case with hyphens:
// treatment, medical-insurance-administration, social-insurance-administration,
// household-administration, citizen-self-service, audit.
//
// On success prints the response in protobuf text format (UTF-8 shown as UTF-8, so names are
// readable) followed by a comment line "# x-request-id: ID", and exits 0. On a failed call prints
// "interop-client: CODE_NAME: message" to stderr, then the error reason and the offending field if
// the gateway attached them (google.rpc.ErrorInfo, BadRequest) and the request id if it sent one,
// and exits 1. Bad usage exits 2.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gateway/base/rich_status.h"
#include "gateway/tls/tls_credentials.h"
#include "google/protobuf/text_format.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "interop/common/v1/common.pb.h"
#include "interop/household/v1/household.grpc.pb.h"
#include "interop/medical/v1/medical.grpc.pb.h"
#include "interop/social/v1/social.grpc.pb.h"

ABSL_FLAG(std::string, target, "", "Gateway address, HOST:PORT.");
ABSL_FLAG(std::string, ca, "", "CA certificate(s) that the gateway's certificate must chain to (PEM).");
ABSL_FLAG(std::string, cert, "", "The caller's client certificate (PEM); it names the organisation, city and role.");
ABSL_FLAG(std::string, key, "", "The caller's private key (PEM).");
ABSL_FLAG(std::string, server_name, "",
          "Name to expect in the gateway's certificate, if it differs from the host in --target "
          "(e.g. localhost).");
ABSL_FLAG(int32_t, deadline_ms, 5000, "Deadline of the call in milliseconds.");
ABSL_FLAG(std::string, purpose, "",
          "Why you ask (access.purpose): treatment, medical-insurance-administration, "
          "social-insurance-administration, household-administration, citizen-self-service or audit.");
ABSL_FLAG(std::string, on_behalf_of, "",
          "Citizen portal only: identity number of the signed-in citizen (access.on_behalf_of_resident_id).");
ABSL_FLAG(std::string, case_reference, "",
          "Your reference for the case, recorded in the access log (access.case_reference).");
ABSL_FLAG(std::string, granularity, "", "contributions only: year (default) or month.");
ABSL_FLAG(std::vector<std::string>, kinds, {},
          "contributions only: comma-separated kinds to include (pension, unemployment, medical, injury); "
          "default every kind.");
ABSL_FLAG(int32_t, from_year, 0, "contributions only: first calendar year to include; 0 = from the beginning.");
ABSL_FLAG(int32_t, to_year, 0, "contributions only: last calendar year to include; 0 = up to now.");

namespace {

constexpr char kUsage[] =
    "Calls the five-city interop gateway over mutual TLS and prints the answer.\n"
    "Usage: interop-client --target=HOST:PORT --ca=ca.pem --cert=caller.pem --key=caller.key\n"
    "         [--server_name=localhost] [--deadline_ms=5000]\n"
    "         [--purpose=treatment|medical-insurance-administration|social-insurance-administration|\n"
    "                    household-administration|citizen-self-service|audit]\n"
    "         [--on_behalf_of=RESIDENT_ID] [--case_reference=REF]\n"
    "         medical|contributions|household RESIDENT_ID\n"
    "         [--granularity=year|month] [--kinds=pension,unemployment,medical,injury]\n"
    "         [--from_year=YYYY] [--to_year=YYYY]    (these four: contributions only)";

// The InsuranceKind named `name` on the command line; INSURANCE_KIND_UNSPECIFIED if none.
interop::social::v1::InsuranceKind KindForName(const std::string& name) {
  using interop::social::v1::InsuranceKind;
  if (name == "pension") return InsuranceKind::INSURANCE_KIND_EMPLOYEE_PENSION;
  if (name == "unemployment") return InsuranceKind::INSURANCE_KIND_UNEMPLOYMENT;
  if (name == "medical") return InsuranceKind::INSURANCE_KIND_EMPLOYEE_MEDICAL;
  if (name == "injury") return InsuranceKind::INSURANCE_KIND_WORK_INJURY;
  return InsuranceKind::INSURANCE_KIND_UNSPECIFIED;
}

// The AccessContext of --purpose, --on_behalf_of and --case_reference, or INVALID_ARGUMENT naming
// the flag. An omitted --purpose is sent as PURPOSE_UNSPECIFIED, which the gateway refuses with
// reason PURPOSE_MISSING: the caller states the purpose, the client never guesses it.
absl::StatusOr<interop::common::v1::AccessContext> AccessContextFromFlags() {
  interop::common::v1::AccessContext access;
  const std::string purpose = absl::GetFlag(FLAGS_purpose);
  if (!purpose.empty()) {
    interop::common::v1::Purpose value;
    std::string enum_name = absl::StrCat("PURPOSE_", absl::AsciiStrToUpper(purpose));
    std::replace(enum_name.begin(), enum_name.end(), '-', '_');
    if (!interop::common::v1::Purpose_Parse(enum_name, &value) ||
        value == interop::common::v1::PURPOSE_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat("--purpose: unknown purpose \"", purpose, "\""));
    }
    access.set_purpose(value);
  }
  access.set_on_behalf_of_resident_id(absl::GetFlag(FLAGS_on_behalf_of));
  access.set_case_reference(absl::GetFlag(FLAGS_case_reference));
  return access;
}

int UsageError(const std::string& what) {
  std::fprintf(stderr, "interop-client: %s\n%s\n", what.c_str(), kUsage);
  return 2;
}

// The response as text format, with UTF-8 strings unescaped.
std::string ToText(const google::protobuf::Message& message) {
  google::protobuf::TextFormat::Printer printer;
  printer.SetUseUtf8StringEscaping(true);
  std::string text;
  printer.PrintToString(message, &text);
  return text;
}

std::string RequestIdOf(const grpc::ClientContext& context) {
  const auto& headers = context.GetServerInitialMetadata();
  auto it = headers.find("x-request-id");
  if (it == headers.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

// Prints the outcome of a finished call; returns the process exit code.
int Report(const grpc::Status& status, const grpc::ClientContext& context,
           const google::protobuf::Message& response) {
  const std::string request_id = RequestIdOf(context);
  if (!status.ok()) {
    absl::Status error = interop::FromGrpcStatus(status);
    std::fprintf(stderr, "interop-client: %s: %s\n", absl::StatusCodeToString(error.code()).c_str(),
                 std::string(error.message()).c_str());
    // The gateway's rich error details (google.rpc.ErrorInfo / BadRequest), when it sent them.
    const std::string reason = interop::ErrorReason(error);
    const std::string field = interop::BadRequestField(error);
    if (!reason.empty()) std::fprintf(stderr, "interop-client: reason: %s\n", reason.c_str());
    if (!field.empty()) std::fprintf(stderr, "interop-client: field: %s\n", field.c_str());
    if (!request_id.empty()) std::fprintf(stderr, "interop-client: x-request-id: %s\n", request_id.c_str());
    return 1;
  }
  std::fputs(ToText(response).c_str(), stdout);
  std::printf("# x-request-id: %s\n", request_id.empty() ? "(none)" : request_id.c_str());
  return 0;
}

// The contributions request for the --granularity, --kinds, --from_year and --to_year flags, or
// INVALID_ARGUMENT naming the flag. Year ranges are left to the gateway, which names the field.
absl::StatusOr<interop::social::v1::GetContributionHistoryRequest> ContributionsRequest(
    const std::string& resident_id) {
  interop::social::v1::GetContributionHistoryRequest request;
  request.mutable_person()->set_resident_id(resident_id);
  const std::string granularity = absl::AsciiStrToLower(absl::GetFlag(FLAGS_granularity));
  if (granularity == "month") {
    request.set_granularity(interop::social::v1::GRANULARITY_MONTH);
  } else if (granularity.empty() || granularity == "year") {
    request.set_granularity(interop::social::v1::GRANULARITY_YEAR);
  } else {
    return absl::InvalidArgumentError("--granularity must be year or month");
  }
  for (const std::string& name : absl::GetFlag(FLAGS_kinds)) {
    interop::social::v1::InsuranceKind kind = KindForName(absl::AsciiStrToLower(name));
    if (kind == interop::social::v1::INSURANCE_KIND_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat("--kinds: unknown kind \"", name, "\""));
    }
    request.add_kinds(kind);
  }
  request.set_from_year(absl::GetFlag(FLAGS_from_year));
  request.set_to_year(absl::GetFlag(FLAGS_to_year));
  return request;
}

bool HasContributionsOnlyFlags() {
  return !absl::GetFlag(FLAGS_granularity).empty() || !absl::GetFlag(FLAGS_kinds).empty() ||
         absl::GetFlag(FLAGS_from_year) != 0 || absl::GetFlag(FLAGS_to_year) != 0;
}

// A channel to --target presenting --cert/--key and trusting --ca; errors name the flag or file.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MutualTlsChannel() {
  if (absl::GetFlag(FLAGS_ca).empty() || absl::GetFlag(FLAGS_cert).empty() || absl::GetFlag(FLAGS_key).empty()) {
    return absl::InvalidArgumentError("--ca, --cert and --key are required (mutual TLS)");
  }
  interop::config::v1::TlsFiles files;
  files.set_ca_cert_file(absl::GetFlag(FLAGS_ca));
  files.set_cert_file(absl::GetFlag(FLAGS_cert));
  files.set_key_file(absl::GetFlag(FLAGS_key));
  auto credentials = interop::tls::MakeMutualTlsChannelCredentials(files);
  if (!credentials.ok()) {
    // The message names the TlsFiles field (tls.ca_cert_file, tls.cert_file, tls.key_file) and the path.
    return absl::InvalidArgumentError(absl::StrCat("cannot load the TLS files: ", credentials.status().message()));
  }
  grpc::ChannelArguments channel_args;
  if (!absl::GetFlag(FLAGS_server_name).empty()) {
    channel_args.SetSslTargetNameOverride(absl::GetFlag(FLAGS_server_name));
  }
  return grpc::CreateCustomChannel(absl::GetFlag(FLAGS_target), *credentials, channel_args);
}

// Makes the call that `command` names; returns the process exit code.
int Call(const std::string& command, const std::string& resident_id, const interop::common::v1::AccessContext& access,
         const std::shared_ptr<grpc::Channel>& channel) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(absl::GetFlag(FLAGS_deadline_ms)));
  if (command == "medical") {
    interop::medical::v1::GetInsuranceStatusRequest request;
    request.mutable_person()->set_resident_id(resident_id);
    *request.mutable_access() = access;
    interop::medical::v1::GetInsuranceStatusResponse response;
    auto stub = interop::medical::v1::MedicalInsuranceService::NewStub(channel);
    return Report(stub->GetInsuranceStatus(&context, request, &response), context, response);
  }
  if (command == "contributions") {
    auto request = ContributionsRequest(resident_id);
    if (!request.ok()) return UsageError(std::string(request.status().message()));
    *request->mutable_access() = access;
    interop::social::v1::GetContributionHistoryResponse response;
    auto stub = interop::social::v1::SocialSecurityService::NewStub(channel);
    return Report(stub->GetContributionHistory(&context, *request, &response), context, response);
  }
  interop::household::v1::GetHouseholdRecordRequest request;
  request.mutable_person()->set_resident_id(resident_id);
  *request.mutable_access() = access;
  interop::household::v1::GetHouseholdRecordResponse response;
  auto stub = interop::household::v1::HouseholdRegistrationService::NewStub(channel);
  return Report(stub->GetHouseholdRecord(&context, request, &response), context, response);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 3) return UsageError("expected a command and a RESIDENT_ID");
  const std::string command = args[1];
  if (command != "medical" && command != "contributions" && command != "household") {
    return UsageError(absl::StrCat("unknown command \"", command, "\""));
  }
  if (command != "contributions" && HasContributionsOnlyFlags()) {
    return UsageError("--granularity, --kinds, --from_year and --to_year apply to the contributions command only");
  }
  if (absl::GetFlag(FLAGS_target).empty()) return UsageError("--target is required");
  if (absl::GetFlag(FLAGS_deadline_ms) <= 0) return UsageError("--deadline_ms must be positive");
  absl::StatusOr<interop::common::v1::AccessContext> access = AccessContextFromFlags();
  if (!access.ok()) return UsageError(std::string(access.status().message()));
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MutualTlsChannel();
  if (!channel.ok()) return UsageError(std::string(channel.status().message()));
  return Call(command, args[2], *access, *channel);
}
