// The trust list: the cities' certificate signing keys as the gateway vouches for them, signed by
// the gateway (interop.certificates.v1.SignedTrustList).
//
//   absl::StatusOr<TrustList> list = BuildTrustList(config.certificates(), clock.Now());
//   absl::StatusOr<SignedTrustList> signed_list = SignTrustList(*list, *gateway_key);
//
// Thread-safe: pure functions.
#ifndef INTEROP_GATEWAY_CERTIFICATES_TRUST_LIST_H_
#define INTEROP_GATEWAY_CERTIFICATES_TRUST_LIST_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/signing/signing.h"
#include "interop/certificates/v1/certificates.pb.h"
#include "interop/config/v1/gateway_config.pb.h"

namespace interop::certificates {

using certificates::v1::SignatureAlgorithm;
using certificates::v1::SignedTrustList;
using certificates::v1::TrustList;

// The proto enum of a signing algorithm, and back (nullopt for UNSPECIFIED or unknown values).
SignatureAlgorithm ToProto(signing::Algorithm algorithm);
std::optional<signing::Algorithm> FromProto(SignatureAlgorithm algorithm);

// The trust list the configuration describes, made at `now`: every city_keys entry with its public
// key read from public_key_file, its key id (derived when not configured) and its times. Errors:
// INVALID_ARGUMENT naming the field ("city_keys[2].revoked_at: ..."): a city that is not one of
// the five, an unreadable or unsupported key file, a malformed RFC 3339 time, valid_to not after
// valid_from, the same key id twice.
absl::StatusOr<TrustList> BuildTrustList(const config::v1::CertificatesConfig& config, absl::Time now);

// `list` serialized and signed with `key`.
absl::StatusOr<SignedTrustList> SignTrustList(const TrustList& list, const signing::SigningKey& key);

}  // namespace interop::certificates

#endif  // INTEROP_GATEWAY_CERTIFICATES_TRUST_LIST_H_
