#include "gateway/policy/access_policy.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gateway/base/rich_status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "interop/accesslog/v1/access_log.grpc.pb.h"
#include "interop/certificates/v1/certificates.grpc.pb.h"
#include "interop/household/v1/household.grpc.pb.h"
#include "interop/household/v1/migration.grpc.pb.h"
#include "interop/medical/v1/medical.grpc.pb.h"
#include "interop/medical/v1/settlement.grpc.pb.h"
#include "interop/social/v1/social.grpc.pb.h"
#include "interop/social/v1/pension_transfer.grpc.pb.h"

namespace interop::policy {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::FieldDescriptor;
using google::protobuf::MethodDescriptor;

constexpr char kAccessContextType[] = "interop.common.v1.AccessContext";

// The policy is checked against the API's own descriptors; referencing one message of each API file
// makes sure they are linked in and registered in the generated pool.
void EnsureApiDescriptorsLinked() {
  static const bool linked = [] {
    (void)medical::v1::GetInsuranceStatusRequest::descriptor();
    (void)social::v1::GetContributionHistoryRequest::descriptor();
    (void)household::v1::GetHouseholdRecordRequest::descriptor();
    (void)accesslog::v1::ListAccessesToPersonRequest::descriptor();
    (void)medical::v1::SettleRequest::descriptor();
    (void)certificates::v1::VerifyCertificateRequest::descriptor();
    (void)household::v1::StartHouseholdMigrationRequest::descriptor();
    (void)social::v1::StartPensionTransferRequest::descriptor();
    return true;
  }();
  (void)linked;
}

// The services the gateway serves; a policy may grant only their methods.
bool IsPublicService(absl::string_view full_name) {
  for (absl::string_view served : {medical::v1::MedicalInsuranceService::service_full_name(),
                                   social::v1::SocialSecurityService::service_full_name(),
                                   household::v1::HouseholdRegistrationService::service_full_name(),
                                   accesslog::v1::AccessLogService::service_full_name(),
                                   medical::v1::CrossCitySettlementService::service_full_name(),
                                   certificates::v1::CertificateService::service_full_name(),
                                   household::v1::HouseholdMigrationService::service_full_name(),
                                   social::v1::PensionTransferService::service_full_name()}) {
    if (full_name == served) return true;
  }
  return false;
}

// "/pkg.Service/Method" -> the descriptor of a method of one of the gateway's public services, or
// nullptr.
const MethodDescriptor* FindMethod(const std::string& method) {
  EnsureApiDescriptorsLinked();
  if (method.size() < 3 || method[0] != '/') return nullptr;
  std::vector<std::string> parts = absl::StrSplit(method.substr(1), '/');
  if (parts.size() != 2 || !IsPublicService(parts[0])) return nullptr;
  const google::protobuf::ServiceDescriptor* service =
      DescriptorPool::generated_pool()->FindServiceByName(parts[0]);
  return service == nullptr ? nullptr : service->FindMethodByName(parts[1]);
}

bool TakesAccessContext(const MethodDescriptor& method) {
  const Descriptor* input = method.input_type();
  for (int i = 0; i < input->field_count(); ++i) {
    const FieldDescriptor* field = input->field(i);
    if (field->message_type() != nullptr && field->message_type()->full_name() == kAccessContextType) return true;
  }
  return false;
}

class ErrorCollector final : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override {
    if (first_.empty()) first_ = absl::StrCat("line ", line + 1, " column ", column + 1, ": ", message);
  }
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

}  // namespace

bool IsPersonalRecordMethod(const std::string& method) {
  const MethodDescriptor* descriptor = FindMethod(method);
  return descriptor != nullptr && TakesAccessContext(*descriptor);
}

absl::StatusOr<std::shared_ptr<const AccessPolicy>> AccessPolicy::Compile(const config::v1::AccessPolicy& proto) {
  std::shared_ptr<AccessPolicy> policy(new AccessPolicy());
  for (int i = 0; i < proto.grants_size(); ++i) {
    const config::v1::Grant& grant = proto.grants(i);
    std::string at = absl::StrCat("grants[", i, "]");
    if (grant.role() == common::v1::CALLER_ROLE_UNSPECIFIED || !common::v1::CallerRole_IsValid(grant.role())) {
      return FieldError(absl::StrCat(at, ".role"), "must be a known role");
    }
    const MethodDescriptor* method = FindMethod(grant.method());
    if (method == nullptr) {
      return FieldError(absl::StrCat(at, ".method"),
                        absl::StrCat("\"", grant.method(), "\" is not a method of the gateway's API"));
    }
    bool personal = TakesAccessContext(*method);
    CompiledGrant compiled;
    for (int p = 0; p < grant.purposes_size(); ++p) {
      int purpose = grant.purposes(p);
      if (purpose == common::v1::PURPOSE_UNSPECIFIED || !common::v1::Purpose_IsValid(purpose)) {
        return FieldError(absl::StrCat(at, ".purposes[", p, "]"), "must be a known purpose");
      }
      compiled.purposes.insert(purpose);
    }
    if (personal && compiled.purposes.empty()) {
      return FieldError(absl::StrCat(at, ".purposes"), "a method reading personal records needs at least one purpose");
    }
    if (!personal && !compiled.purposes.empty()) {
      return FieldError(absl::StrCat(at, ".purposes"), "this method takes no purpose");
    }
    const Descriptor* output = method->output_type();
    for (int f = 0; f < grant.visible_fields_size(); ++f) {
      const std::string& name = grant.visible_fields(f);
      if (name == "*") {
        compiled.all_fields_visible = true;
      } else if (output->FindFieldByName(name) == nullptr) {
        return FieldError(absl::StrCat(at, ".visible_fields[", f, "]"),
                          absl::StrCat("\"", name, "\" is not a field of ", output->full_name()));
      } else {
        compiled.visible_fields.insert(name);
      }
    }
    compiled.own_records_only = grant.own_records_only();
    if (compiled.own_records_only && !personal) {
      return FieldError(absl::StrCat(at, ".own_records_only"), "applies only to methods reading personal records");
    }
    auto key = std::make_pair(static_cast<int>(grant.role()), grant.method());
    if (!policy->grants_.emplace(key, std::move(compiled)).second) {
      return FieldError(at, absl::StrCat("a second grant for ", common::v1::CallerRole_Name(grant.role()), " on ",
                                         grant.method()));
    }
  }
  for (int i = 0; i < proto.rate_limits_size(); ++i) {
    const config::v1::RateLimit& limit = proto.rate_limits(i);
    std::string at = absl::StrCat("rate_limits[", i, "]");
    if (limit.role() == common::v1::CALLER_ROLE_UNSPECIFIED || !common::v1::CallerRole_IsValid(limit.role())) {
      return FieldError(absl::StrCat(at, ".role"), "must be a known role");
    }
    if (!(limit.calls_per_second() > 0)) return FieldError(absl::StrCat(at, ".calls_per_second"), "must be positive");
    if (limit.burst() < 1) return FieldError(absl::StrCat(at, ".burst"), "must be at least 1");
    if (!policy->rate_limits_.emplace(limit.role(), limit).second) {
      return FieldError(at, "a second rate limit for the same role");
    }
  }
  return std::shared_ptr<const AccessPolicy>(std::move(policy));
}

absl::StatusOr<std::shared_ptr<const AccessPolicy>> AccessPolicy::FromText(absl::string_view text) {
  config::v1::AccessPolicy proto;
  google::protobuf::TextFormat::Parser parser;
  ErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), &proto)) {
    return absl::InvalidArgumentError(absl::StrCat("access policy is not valid text format: ", errors.first()));
  }
  return Compile(proto);
}

absl::StatusOr<const CompiledGrant*> AccessPolicy::Authorize(CallerRole role, const std::string& method,
                                                             Purpose purpose, bool personal) const {
  auto it = grants_.find(std::make_pair(static_cast<int>(role), method));
  if (it == grants_.end()) {
    return Refusal(absl::StatusCode::kPermissionDenied, "ROLE_NOT_ALLOWED",
                   absl::StrCat("the role ", common::v1::CallerRole_Name(role), " may not call ", method),
                   {{"role", common::v1::CallerRole_Name(role)}, {"method", method}});
  }
  if (personal) {
    if (purpose == common::v1::PURPOSE_UNSPECIFIED) {
      return Refusal(absl::StatusCode::kPermissionDenied, "PURPOSE_MISSING",
                     "access.purpose: every call to a personal record must state its purpose",
                     {{"field", "access.purpose"}});
    }
    if (it->second.purposes.count(purpose) == 0) {
      return Refusal(absl::StatusCode::kPermissionDenied, "PURPOSE_NOT_ALLOWED",
                     absl::StrCat("access.purpose: ", Purpose_Name(purpose), " is not an allowed purpose for ",
                                  common::v1::CallerRole_Name(role), " on ", method),
                     {{"field", "access.purpose"}, {"purpose", Purpose_Name(purpose)}});
    }
  }
  return &it->second;
}

std::vector<std::string> AccessPolicy::ApplyFieldMask(const CompiledGrant& grant,
                                                      google::protobuf::Message* response) {
  std::vector<std::string> withheld;
  if (grant.all_fields_visible) return withheld;
  const Descriptor* descriptor = response->GetDescriptor();
  const google::protobuf::Reflection* reflection = response->GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    const std::string& name = field->name();
    if (name == "resident_id" || name == "provenance" || grant.visible_fields.count(name) > 0) continue;
    reflection->ClearField(response, field);
    withheld.push_back(name);
  }
  return withheld;
}

const config::v1::RateLimit* AccessPolicy::RateLimitFor(CallerRole role) const {
  auto it = rate_limits_.find(role);
  return it == rate_limits_.end() ? nullptr : &it->second;
}

}  // namespace interop::policy
