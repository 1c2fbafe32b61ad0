// Merging monthly contribution entries from several cities into the public answer.
//
// Thread-safe: pure functions.
#ifndef INTEROP_GATEWAY_SERVICES_CONTRIBUTION_MERGE_H_
#define INTEROP_GATEWAY_SERVICES_CONTRIBUTION_MERGE_H_

#include <vector>

#include "absl/status/status.h"
#include "interop/social/v1/social.pb.h"

namespace interop::services {

// INVALID_ARGUMENT naming the field if the request's granularity, kinds or year range is malformed
// (the person is validated separately).
absl::Status ValidateContributionQuery(const social::v1::GetContributionHistoryRequest& request);

// Fills `response->entries` and `total_pension_months` from monthly entries of any number of cities:
// keeps only `request.kinds` (all if empty) and groups by `request.granularity`. A yearly entry
// sums months and amounts and carries the wage base of its latest month. Entries are ordered by
// year, month, city division code, kind.
void MergeContributions(const social::v1::GetContributionHistoryRequest& request,
                        std::vector<social::v1::ContributionEntry> monthly,
                        social::v1::GetContributionHistoryResponse* response);

}  // namespace interop::services

#endif  // INTEROP_GATEWAY_SERVICES_CONTRIBUTION_MERGE_H_
