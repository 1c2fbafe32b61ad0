#include "gateway/certificates/certificate_payload.h"

#include <openssl/rand.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "gateway/base/cities.h"

namespace interop::certificates {

std::string NewCertificateId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    // The CSPRNG failing is a broken invariant of the process, not a request error.
    std::abort();
  }
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

v1::CertificatePayload NewPayload(v1::CertificateKind kind, common::v1::City city, const std::string& key_id,
                                  const std::string& resident_id, const std::string& name, absl::Time issued_at,
                                  absl::Duration valid_for) {
  v1::CertificatePayload payload;
  payload.set_certificate_id(NewCertificateId());
  payload.set_kind(kind);
  *payload.mutable_issuer() = MakeCityInfo(city);
  payload.set_key_id(key_id);
  payload.set_subject_resident_id(resident_id);
  payload.set_subject_name(name);
  const int64_t issued = absl::ToUnixSeconds(issued_at);
  payload.set_issued_at_unix(issued);
  payload.set_expires_at_unix(issued + absl::ToInt64Seconds(valid_for));
  return payload;
}

v1::ContributionClaims ContributionClaimsFrom(const social::v1::GetContributionHistoryResponse& yearly, int from_year,
                                              int to_year) {
  v1::ContributionClaims claims;
  claims.set_from_year(from_year);
  claims.set_to_year(to_year);
  claims.set_total_pension_months(yearly.total_pension_months());
  std::vector<common::v1::City> cities;
  for (const social::v1::ContributionEntry& entry : yearly.entries()) {
    v1::ContributionYear* year = claims.add_years();
    year->set_year(entry.year());
    year->set_kind(entry.kind());
    *year->mutable_city() = entry.city();
    year->set_months(entry.months());
    *year->mutable_wage_base() = entry.wage_base();
    *year->mutable_personal_amount() = entry.personal_amount();
    *year->mutable_employer_amount() = entry.employer_amount();
    if (std::find(cities.begin(), cities.end(), entry.city().city()) == cities.end()) {
      cities.push_back(entry.city().city());
    }
  }
  for (common::v1::City city : cities) *claims.add_cities() = MakeCityInfo(city);
  return claims;
}

v1::InsuranceStatusClaims InsuranceStatusClaimsFrom(const medical::v1::GetInsuranceStatusResponse& status) {
  v1::InsuranceStatusClaims claims;
  *claims.mutable_insured_city() = status.insured_city();
  claims.set_insured_region_code(status.insured_region_code());
  claims.set_insurance_type(status.insurance_type());
  claims.set_status(status.status());
  *claims.mutable_since() = status.enrollment_date();
  return claims;
}

v1::ResidenceClaims ResidenceClaimsFrom(const household::v1::GetHouseholdRecordResponse& record) {
  v1::ResidenceClaims claims;
  *claims.mutable_registered_city() = record.registered_city();
  claims.set_address_code(record.address_code());
  *claims.mutable_since() = record.registered_since();
  return claims;
}

}  // namespace interop::certificates
