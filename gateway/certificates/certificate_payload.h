// Building certificate payloads (interop.certificates.v1.CertificatePayload) from the records the
// gateway fetched, in canonical types. The payload is what the issuing city signs.
//
// Thread-safe: pure functions (NewCertificateId draws from OpenSSL's CSPRNG).
#ifndef INTEROP_GATEWAY_CERTIFICATES_CERTIFICATE_PAYLOAD_H_
#define INTEROP_GATEWAY_CERTIFICATES_CERTIFICATE_PAYLOAD_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "interop/certificates/v1/certificates.pb.h"
#include "interop/household/v1/household.pb.h"
#include "interop/medical/v1/medical.pb.h"
#include "interop/social/v1/social.pb.h"

namespace interop::certificates {

// A fresh certificate id: 32 lower-case hex digits (128 random bits).
std::string NewCertificateId();

// The common part of a payload: a fresh id, `kind`, the issuer (`city`, `key_id`), the subject and
// the validity [issued_at, issued_at + valid_for), in whole seconds.
v1::CertificatePayload NewPayload(v1::CertificateKind kind, common::v1::City city, const std::string& key_id,
                                  const std::string& resident_id, const std::string& name, absl::Time issued_at,
                                  absl::Duration valid_for);

// Contribution claims from yearly entries (as MergeContributions makes them with GRANULARITY_YEAR:
// ascending by year, city, kind), for the years [from_year, to_year] asked (0 unbounded).
v1::ContributionClaims ContributionClaimsFrom(const social::v1::GetContributionHistoryResponse& yearly, int from_year,
                                              int to_year);

// Insurance status claims from the insured city's answer.
v1::InsuranceStatusClaims InsuranceStatusClaimsFrom(const medical::v1::GetInsuranceStatusResponse& status);

// Residence claims from the registering city's answer.
v1::ResidenceClaims ResidenceClaimsFrom(const household::v1::GetHouseholdRecordResponse& record);

}  // namespace interop::certificates

#endif  // INTEROP_GATEWAY_CERTIFICATES_CERTIFICATE_PAYLOAD_H_
