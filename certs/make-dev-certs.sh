#!/usr/bin/env bash
# Makes the development PKI of the Shanxi five-city interop gateway: a development CA, the gateway's
# certificate, one server certificate per mock city backend, caller certificates for every role, and
# certificates for negative tests (an unrelated CA, an expired, a not-yet-valid and a revoked caller,
# ...), and two certificate revocation lists signed by the CA: crl.pem (revokes caller-revoked) and
# crl-empty.pem (revokes nothing). Also each city's certificate signing key (city-<city>-signing.key and
# .pub.pem, EC P-256; no certificate: the gateway's trust list vouches for them), an SM2 signing key for
# Jinzhong (city-jinzhong-signing-sm2) and a Taiyuan key that tests treat as revoked
# (city-taiyuan-signing-retired).
# EC P-256 keys, SHA-256 signatures, PEM files. Uses the openssl command-line tool only (OpenSSL 3).
# See certs/README.md for what each file is and for the identity scheme interop://<city>/<role>/<org-id>.
#
# Usage: certs/make-dev-certs.sh [--force] [OUT_DIR]      (OUT_DIR defaults to certs/dev)
#
# Idempotent: when OUT_DIR already holds every file, and both CRLs are signed by its ca.pem, say the
# right thing about caller-revoked.pem and stay valid for at least CRL_MIN_DAYS more days, it does
# nothing. When some certificates are missing it makes only those (reusing the CA if ca.pem and ca.key
# are both there); whenever it makes anything it also makes both CRLs anew (they are cheap, and must
# match the CA and caller-revoked.pem). --force makes everything anew, CA included. Keys and
# certificates are never committed (.gitignore covers certs/dev/, *.key, *.pem).
set -euo pipefail
export LC_ALL=C

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR

usage() {
  cat <<EOF
Usage: $(basename "$0") [--force] [OUT_DIR]

Makes the development PKI (CA, gateway, mock city backends, callers of every role, negative-test
certificates, CRLs) in OUT_DIR (default: ${SCRIPT_DIR}/dev).

  --force     regenerate everything, CA included, even if OUT_DIR is complete
  -h, --help  show this help
EOF
}

die() { echo "make-dev-certs: error: $*" >&2; exit 1; }

force=0
out=""
for arg in "$@"; do
  case "$arg" in
    --force|-f) force=1 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "make-dev-certs: unknown option: $arg" >&2; usage >&2; exit 2 ;;
    *)
      [[ -z "$out" ]] || { echo "make-dev-certs: only one OUT_DIR may be given" >&2; usage >&2; exit 2; }
      out="$arg" ;;
  esac
done
out="${out:-${SCRIPT_DIR}/dev}"

command -v openssl >/dev/null 2>&1 || die "openssl not found (apt-get install openssl)"
ossl_version="$(openssl version)"
[[ "$ossl_version" =~ ^OpenSSL\ 3\. ]] || die "needs OpenSSL 3.x, found: $ossl_version"

# ---------------------------------------------------------------------------------------------------
# What is made.

readonly CITIES=(taiyuan yangquan jinzhong xinzhou lvliang)
declare -A CITY_NAME=([taiyuan]=Taiyuan [yangquan]=Yangquan [jinzhong]=Jinzhong [xinzhou]=Xinzhou [lvliang]=Lvliang)
declare -A CITY_CODE=([taiyuan]=140100 [yangquan]=140300 [jinzhong]=140700 [xinzhou]=140900 [lvliang]=141100)
# A county-level district of each city (GB/T 2260), where the city's development hospital stands.
declare -A DISTRICT_CODE=([taiyuan]=140105 [yangquan]=140302 [jinzhong]=140702 [xinzhou]=140902 [lvliang]=141102)
declare -A DISTRICT_NAME=([taiyuan]=Xiaodian [yangquan]=Chengqu [jinzhong]=Yuci [xinzhou]=Xinfu [lvliang]=Lishi)

readonly CA_DAYS=3650      # development CA: 10 years
readonly LEAF_DAYS=825     # every other valid certificate
readonly CRL_DAYS=30       # a CRL's next update: 30 days after it is made
readonly CRL_MIN_DAYS=7    # a CRL that expires sooner than this is made anew, even if nothing else is
readonly GATEWAY_URI="interop://gateway/operator/shanxi-interop-gateway"

# Callers: "role city org-id|organisation name". Organisation ids: a hospital's is its 12-character
# national institution code ("H" + 6-digit county code + 5 digits); an agency's is a 3-letter prefix
# plus the 6-digit division code of the city it serves.
CALLERS=()
for c in "${CITIES[@]}"; do
  n="${CITY_NAME[$c]}"; code="${CITY_CODE[$c]}"
  CALLERS+=("hospital $c H${DISTRICT_CODE[$c]}00001|$n ${DISTRICT_NAME[$c]} District People's Hospital")
  CALLERS+=("medical-insurance-bureau $c MIB${code}|$n Medical Insurance Bureau")
  CALLERS+=("social-security-bureau $c SSB${code}|$n Human Resources and Social Security Bureau")
  CALLERS+=("household-office $c HRO${code}|$n Public Security Bureau Household Registration Office")
  CALLERS+=("citizen-portal $c CPT${code}|$n Citizen Service Portal")
done
CALLERS+=("operator taiyuan OPS140100|Shanxi Interop Operations Centre")
readonly CALLERS

# Every certificate made, in the order of the summary (each has NAME.pem and NAME.key, CA included).
NAMES=(ca gateway)
for c in "${CITIES[@]}"; do NAMES+=("city-$c"); done
for entry in "${CALLERS[@]}"; do
  read -r role city _ <<<"${entry%%|*}"
  NAMES+=("caller-$role-$city")
done
NAMES+=(other-ca caller-untrusted caller-expired caller-notyet caller-nouri caller-badrole caller-revoked)
readonly NAMES
# Certificate revocation lists signed by ca (NAME.pem only): crl revokes caller-revoked, crl-empty
# revokes nothing (tests copy one over the other to prove that a CRL is reloaded).
readonly CRLS=(crl crl-empty)
# Certificate signing keys (NAME.key and NAME.pub.pem, no certificate): "name curve".
SIGNING_KEYS=()
for c in "${CITIES[@]}"; do SIGNING_KEYS+=("city-$c-signing P-256"); done
SIGNING_KEYS+=("city-jinzhong-signing-sm2 SM2" "city-taiyuan-signing-retired P-256")
readonly SIGNING_KEYS

# ---------------------------------------------------------------------------------------------------
# Is there anything to do?

is_complete() {
  local n entry
  for n in "${NAMES[@]}"; do
    [[ -s "$out/$n.pem" && -s "$out/$n.key" ]] || return 1
  done
  for entry in "${SIGNING_KEYS[@]}"; do
    n="${entry%% *}"
    [[ -s "$out/$n.key" && -s "$out/$n.pub.pem" ]] || return 1
  done
}

# crl_is_current NAME: OUT_DIR/NAME.pem is a CRL signed by OUT_DIR/ca.pem whose next update is at least
# CRL_MIN_DAYS away.
crl_is_current() {
  local f="$out/$1.pem" next
  [[ -s "$f" ]] || return 1
  openssl crl -in "$f" -CAfile "$out/ca.pem" -noout >/dev/null 2>&1 || return 1
  next="$(openssl crl -in "$f" -noout -nextupdate 2>/dev/null)" || return 1
  next="$(date -u -d "${next#nextUpdate=}" +%s 2>/dev/null)" || return 1
  ((next > $(date -u +%s) + CRL_MIN_DAYS * 86400))
}

# Both CRLs are current, crl.pem revokes caller-revoked.pem and crl-empty.pem does not.
crls_are_current() {
  local res
  crl_is_current crl && crl_is_current crl-empty || return 1
  openssl verify -crl_check -CRLfile "$out/crl-empty.pem" -CAfile "$out/ca.pem" \
    "$out/caller-revoked.pem" >/dev/null 2>&1 || return 1
  ! res="$(openssl verify -crl_check -CRLfile "$out/crl.pem" -CAfile "$out/ca.pem" \
    "$out/caller-revoked.pem" 2>&1)" && [[ "$res" == *"certificate revoked"* ]]
}

if [[ $force -eq 0 && -f "$out/ca.pem" ]] && is_complete && crls_are_current; then
  echo "make-dev-certs: $out already holds the complete development PKI (${#NAMES[@]} certificates, ${#CRLS[@]} CRLs); nothing to do."
  for n in ca gateway; do
    if ! openssl x509 -checkend $((30 * 86400)) -noout -in "$out/$n.pem" >/dev/null 2>&1; then
      echo "make-dev-certs: warning: $out/$n.pem expires within 30 days (or has expired): rerun with --force." >&2
    fi
  done
  echo "make-dev-certs: use --force to regenerate everything."
  exit 0
fi

mkdir -p "$out"
stage="$(mktemp -d "$out/.staging.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
trap 'exit 130' INT TERM HUP
umask 077

random_serial() {  # 127 random bits, hex, without starting a process
  printf '0x%08x%08x%08x%08x' $((SRANDOM & 0x7fffffff)) "$SRANDOM" "$SRANDOM" "$SRANDOM"
}

# Runs openssl quietly; on failure shows what it said and stops.
ossl() {
  local log="$stage/openssl.log"
  if ! openssl "$@" >"$log" 2>&1; then
    echo "make-dev-certs: openssl $1 failed:" >&2
    cat "$log" >&2
    exit 1
  fi
}

# Which files to (re)make: all of them with --force or without a usable CA; otherwise the missing ones.
declare -A MAKE=()
if [[ $force -eq 1 || ! -s "$out/ca.pem" || ! -s "$out/ca.key" ]]; then
  for n in "${NAMES[@]}"; do MAKE[$n]=1; done
else
  for n in "${NAMES[@]}"; do
    [[ -s "$out/$n.pem" && -s "$out/$n.key" ]] || MAKE[$n]=1
  done
  # A new unrelated CA means a new certificate signed by it.
  [[ -z "${MAKE[other-ca]:-}" ]] || MAKE[caller-untrusted]=1
  cp "$out/ca.pem" "$out/ca.key" "$stage/"
fi
if [[ -z "${MAKE[other-ca]:-}" ]]; then cp "$out/other-ca.pem" "$out/other-ca.key" "$stage/"; fi

cat >"$stage/req.cnf" <<'EOF'
[ req ]
distinguished_name = dn
string_mask = utf8only
utf8 = yes
[ dn ]
EOF

# Minimal CA database for `openssl ca`, the only OpenSSL 3.0 command that sets explicit validity dates.
mkdir -p "$stage/cadb/newcerts"
: >"$stage/cadb/index.txt"
random_serial | cut -c3- >"$stage/cadb/serial"
cat >"$stage/ca.cnf" <<EOF
[ ca ]
default_ca = devca
[ devca ]
dir = $stage/cadb
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
copy_extensions = none
[ policy_any ]
countryName = optional
stateOrProvinceName = optional
localityName = optional
organizationName = optional
organizationalUnitName = optional
commonName = optional
EOF

# Every key: EC P-256, PKCS#8 PEM, made by `openssl req -newkey` together with its request or
# certificate, under umask 077 (mode 600).
readonly NEWKEY=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)

make_ca() {  # make_ca NAME SUBJECT
  local name="$1" subj="$2"
  # `openssl req` (3.0) has no -extfile: the extensions go in a section of its -config.
  {
    cat "$stage/req.cnf"
    echo "[ ext_ca ]"
    echo "basicConstraints = critical, CA:TRUE"
    echo "keyUsage = critical, keyCertSign, cRLSign"
    echo "subjectKeyIdentifier = hash"
  } >"$stage/$name.req.cnf"
  ossl req -new -x509 -config "$stage/$name.req.cnf" -extensions ext_ca "${NEWKEY[@]}" -keyout "$stage/$name.key" \
    -subj "$subj" \
    -sha256 -days "$CA_DAYS" -set_serial "$(random_serial)" -out "$stage/$name.pem"
}

# make_leaf NAME SUBJECT EKU SAN [ISSUER [NOT_BEFORE NOT_AFTER]]
#   EKU: serverAuth | clientAuth | "serverAuth, clientAuth"; SAN: openssl subjectAltName value or "".
#   ISSUER defaults to ca; NOT_BEFORE/NOT_AFTER (YYYYMMDDHHMMSSZ) replace the usual LEAF_DAYS from now.
make_leaf() {
  local name="$1" subj="$2" eku="$3" san="$4" issuer="${5:-ca}" not_before="${6:-}" not_after="${7:-}"
  {
    echo "basicConstraints = critical, CA:FALSE"
    echo "keyUsage = critical, digitalSignature"
    echo "extendedKeyUsage = $eku"
    echo "subjectKeyIdentifier = hash"
    echo "authorityKeyIdentifier = keyid"
    [[ -z "$san" ]] || echo "subjectAltName = $san"
  } >"$stage/$name.ext"
  ossl req -new -config "$stage/req.cnf" "${NEWKEY[@]}" -keyout "$stage/$name.key" -subj "$subj" \
    -out "$stage/$name.csr"
  if [[ -z "$not_before" ]]; then
    ossl x509 -req -in "$stage/$name.csr" -CA "$stage/$issuer.pem" -CAkey "$stage/$issuer.key" \
      -set_serial "$(random_serial)" -sha256 -days "$LEAF_DAYS" \
      -extfile "$stage/$name.ext" -out "$stage/$name.pem"
  else
    ossl ca -config "$stage/ca.cnf" -batch -notext -preserveDN -md sha256 \
      -cert "$stage/$issuer.pem" -keyfile "$stage/$issuer.key" \
      -startdate "$not_before" -enddate "$not_after" \
      -extfile "$stage/$name.ext" -in "$stage/$name.csr" -out "$stage/$name.pem"
  fi
  rm -f "$stage/$name.csr"
}

want() { [[ -n "${MAKE[$1]:-}" ]]; }

caller_subject() {  # caller_subject ROLE CITY ORG_ID ORG_NAME
  echo "/C=CN/ST=Shanxi/L=${CITY_NAME[$2]}/O=$4/OU=$1/CN=$3"
}

start_s=$SECONDS
made=0

# The development CA.
if want ca; then
  make_ca ca "/C=CN/ST=Shanxi/O=Shanxi Interop Development/CN=Shanxi Interop Development CA"
  made=$((made + 1))
fi

# The gateway: a server to callers and a client of the city backends.
if want gateway; then
  make_leaf gateway "/C=CN/ST=Shanxi/L=Taiyuan/O=Shanxi Interop Operations Centre/OU=operator/CN=gateway.interop.local" \
    "serverAuth, clientAuth" \
    "DNS:localhost, DNS:gateway.interop.local, IP:127.0.0.1, URI:$GATEWAY_URI"
  made=$((made + 1))
fi

# One server certificate per mock city backend.
for c in "${CITIES[@]}"; do
  want "city-$c" || continue
  make_leaf "city-$c" "/C=CN/ST=Shanxi/L=${CITY_NAME[$c]}/O=${CITY_NAME[$c]} City Backend (mock)/CN=$c.city.interop.local" \
    serverAuth "DNS:localhost, DNS:$c.city.interop.local, IP:127.0.0.1"
  made=$((made + 1))
done

# Callers of every role.
for entry in "${CALLERS[@]}"; do
  read -r role city org_id <<<"${entry%%|*}"
  org_name="${entry#*|}"
  want "caller-$role-$city" || continue
  make_leaf "caller-$role-$city" "$(caller_subject "$role" "$city" "$org_id" "$org_name")" \
    clientAuth "URI:interop://$city/$role/$org_id"
  made=$((made + 1))
done

# Negative tests. All claim to be the Taiyuan hospital unless said otherwise.
hospital_subject="$(caller_subject hospital taiyuan H14010500001 "Taiyuan Xiaodian District People's Hospital")"
hospital_uri="URI:interop://taiyuan/hospital/H14010500001"
if want other-ca; then
  make_ca other-ca "/C=CN/ST=Shanxi/O=Unrelated Test Organisation/CN=Unrelated Test CA (not trusted by the gateway)"
  made=$((made + 1))
fi
if want caller-untrusted; then   # signed by other-ca, which nobody trusts
  make_leaf caller-untrusted "$hospital_subject" clientAuth "$hospital_uri" other-ca
  made=$((made + 1))
fi
if want caller-expired; then     # valid from 395 days ago until 30 days ago
  now=$(date -u +%s)
  make_leaf caller-expired "$hospital_subject" clientAuth "$hospital_uri" ca \
    "$(date -u -d "@$((now - 395 * 86400))" +%Y%m%d%H%M%SZ)" "$(date -u -d "@$((now - 30 * 86400))" +%Y%m%d%H%M%SZ)"
  made=$((made + 1))
fi
if want caller-notyet; then      # valid from 5 years from now, for one year (inside the CA's 10 years)
  now=$(date -u +%s)
  make_leaf caller-notyet "$hospital_subject" clientAuth "$hospital_uri" ca \
    "$(date -u -d "@$((now + 1826 * 86400))" +%Y%m%d%H%M%SZ)" "$(date -u -d "@$((now + 2191 * 86400))" +%Y%m%d%H%M%SZ)"
  made=$((made + 1))
fi
if want caller-nouri; then       # trusted, clientAuth, but no SAN URI: no identity for the gateway
  make_leaf caller-nouri "$hospital_subject" clientAuth ""
  made=$((made + 1))
fi
if want caller-badrole; then     # trusted, but the URI names a role that does not exist
  make_leaf caller-badrole "$(caller_subject surgeon taiyuan H14010500001 "Taiyuan Xiaodian District People's Hospital")" \
    clientAuth "URI:interop://taiyuan/surgeon/H14010500001"
  made=$((made + 1))
fi
if want caller-revoked; then     # a well-formed Taiyuan hospital caller of its own, revoked in crl.pem
  make_leaf caller-revoked \
    "$(caller_subject hospital taiyuan H14010500002 "Taiyuan Xiaodian District Second People's Hospital")" \
    clientAuth "URI:interop://taiyuan/hospital/H14010500002"
  made=$((made + 1))
fi

# A certificate as it will be once installed: the new one if it was just made, else the one in OUT_DIR.
pem() { if want "$1"; then echo "$stage/$1.pem"; else echo "$out/$1.pem"; fi; }

# make_crl NAME [CERT_NAME...]: NAME.pem, a CRL signed by ca that revokes the given certificates
# (reason keyCompromise) and nothing else, with its next update CRL_DAYS from now. Each CRL comes
# from a temporary database of its own that holds only what it revokes. The CRL number is the time in
# nanoseconds, so a later CRL always has a higher number (RFC 5280, 5.2.3).
make_crl() {
  local name="$1" db="$stage/crldb-$1" n
  shift
  mkdir -p "$db"
  : >"$db/index.txt"
  printf '%X\n' "$(date -u +%s%N)" >"$db/crlnumber"
  cat >"$db/ca.cnf" <<CNF
[ ca ]
default_ca = crlca
[ crlca ]
dir = $db
database = \$dir/index.txt
crlnumber = \$dir/crlnumber
default_md = sha256
unique_subject = no
crl_extensions = crl_ext
[ crl_ext ]
authorityKeyIdentifier = keyid:always
CNF
  for n in "$@"; do
    ossl ca -config "$db/ca.cnf" -batch -revoke "$(pem "$n")" -crl_reason keyCompromise \
      -cert "$stage/ca.pem" -keyfile "$stage/ca.key"
  done
  ossl ca -config "$db/ca.cnf" -batch -gencrl -crldays "$CRL_DAYS" \
    -cert "$stage/ca.pem" -keyfile "$stage/ca.key" -out "$stage/$name.pem"
}

# Certificate signing keys: made when missing (or with --force), independent of the CA.
declare -A MAKE_SIGNING=()
for entry in "${SIGNING_KEYS[@]}"; do
  read -r n curve <<<"$entry"
  if [[ $force -eq 1 || ! -s "$out/$n.key" || ! -s "$out/$n.pub.pem" ]]; then
    ossl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$curve" -out "$stage/$n.key"
    ossl pkey -in "$stage/$n.key" -pubout -out "$stage/$n.pub.pem"
    MAKE_SIGNING[$n]=1
  fi
done

# Both CRLs, every time anything is made (they must match the CA and caller-revoked.pem).
make_crl crl-empty
make_crl crl caller-revoked

# ---------------------------------------------------------------------------------------------------
# Check what was made before it replaces anything in OUT_DIR.

fail_check() { echo "make-dev-certs: self-check failed: $*" >&2; exit 1; }

verify_ok() {  # verify_ok PURPOSE CA NAME...: every NAME verifies against CA for PURPOSE (one openssl run)
  local purpose="$1" ca="$2" res n files=()
  shift 2
  for n in "$@"; do files+=("$(pem "$n")"); done
  res="$(openssl verify -purpose "$purpose" -CAfile "$(pem "$ca")" "${files[@]}" 2>&1)" \
    || fail_check "not every one of $* verifies against $ca.pem for $purpose: $res"
}
verify_fails() {  # verify_fails NAME EXPECTED_ERROR_SUBSTRING
  local res
  if res="$(openssl verify -purpose sslclient -CAfile "$(pem ca)" "$(pem "$1")" 2>&1)"; then
    fail_check "$1.pem verifies against ca.pem but must not"
  fi
  [[ "$res" == *"$2"* ]] || fail_check "$1.pem: expected \"$2\", openssl said: $res"
}

callers=()
for entry in "${CALLERS[@]}"; do
  read -r role city _ <<<"${entry%%|*}"
  callers+=("caller-$role-$city")
done
servers=()
for c in "${CITIES[@]}"; do servers+=("city-$c"); done
verify_ok sslserver ca gateway "${servers[@]}"
verify_ok sslclient ca gateway "${callers[@]}" caller-nouri caller-badrole caller-revoked
verify_ok sslclient other-ca caller-untrusted
for n in "${servers[@]}"; do
  if openssl verify -purpose sslclient -CAfile "$(pem ca)" "$(pem "$n")" >/dev/null 2>&1; then
    fail_check "$n.pem must not be usable as a client certificate"
  fi
done
verify_fails caller-untrusted "unable to get local issuer certificate"
verify_fails caller-expired "certificate has expired"
verify_fails caller-notyet "certificate is not yet valid"
if openssl x509 -checkend 0 -noout -in "$(pem caller-expired)" >/dev/null 2>&1; then
  fail_check "caller-expired.pem is not expired (openssl x509 -checkend 0)"
fi
san="$(openssl x509 -noout -ext subjectAltName -in "$(pem caller-hospital-taiyuan)")"
[[ "$san" == *"URI:interop://taiyuan/hospital/H14010500001"* ]] || fail_check "caller-hospital-taiyuan.pem SAN: $san"

# The CRLs: both signed by ca. With crl-empty.pem every client certificate passes revocation checking,
# caller-revoked included; with crl.pem every one passes except caller-revoked, which is revoked.
for n in "${CRLS[@]}"; do
  openssl crl -in "$stage/$n.pem" -CAfile "$(pem ca)" -noout >/dev/null 2>&1 \
    || fail_check "$n.pem is not a CRL signed by ca.pem"
done
verify_ok_crl() {  # verify_ok_crl CRL NAME...: every NAME verifies for sslclient against ca, CRL checked
  local crl="$1" res n files=()
  shift
  for n in "$@"; do files+=("$(pem "$n")"); done
  res="$(openssl verify -purpose sslclient -crl_check -CRLfile "$stage/$crl.pem" -CAfile "$(pem ca)" \
    "${files[@]}" 2>&1)" || fail_check "not every one of $* verifies against ca.pem with $crl.pem: $res"
}
verify_ok_crl crl-empty gateway "${callers[@]}" caller-nouri caller-badrole caller-revoked
verify_ok_crl crl gateway "${callers[@]}" caller-nouri caller-badrole
if res="$(openssl verify -purpose sslclient -crl_check -CRLfile "$stage/crl.pem" -CAfile "$(pem ca)" \
    "$(pem caller-revoked)" 2>&1)"; then
  fail_check "caller-revoked.pem verifies with crl.pem but must be revoked"
fi
[[ "$res" == *"certificate revoked"* ]] \
  || fail_check "caller-revoked.pem with crl.pem: expected \"certificate revoked\", openssl said: $res"

# Each new signing key signs and verifies (SM2 with SM3 and the GM/T 0009 default identifier, as the
# gateway and the mock cities use it).
printf 'self-check' >"$stage/message"
for n in "${!MAKE_SIGNING[@]}"; do
  opts=(-digest sha256)
  if [[ "$n" == *-sm2 ]]; then opts=(-digest sm3 -pkeyopt distid:1234567812345678); fi
  ossl pkeyutl -sign -rawin -in "$stage/message" -inkey "$stage/$n.key" "${opts[@]}" -out "$stage/$n.sig"
  openssl pkeyutl -verify -rawin -in "$stage/message" -pubin -inkey "$stage/$n.pub.pem" "${opts[@]}" \
    -sigfile "$stage/$n.sig" >/dev/null 2>&1 || fail_check "$n.key does not sign what $n.pub.pem verifies"
done

# Install: each file replaces its old version by a rename, so OUT_DIR never holds half a file.
for n in "${NAMES[@]}"; do
  want "$n" || continue
  mv -f "$stage/$n.key" "$out/$n.key"
  mv -f "$stage/$n.pem" "$out/$n.pem"
  chmod 600 "$out/$n.key"
  chmod 644 "$out/$n.pem"
done
for n in "${CRLS[@]}"; do
  mv -f "$stage/$n.pem" "$out/$n.pem"
  chmod 644 "$out/$n.pem"
done
for n in "${!MAKE_SIGNING[@]}"; do
  mv -f "$stage/$n.key" "$out/$n.key"
  mv -f "$stage/$n.pub.pem" "$out/$n.pub.pem"
  chmod 600 "$out/$n.key"
  chmod 644 "$out/$n.pub.pem"
done

# ---------------------------------------------------------------------------------------------------
# Summary.

echo "make-dev-certs: made $made of ${#NAMES[@]} certificates, ${#MAKE_SIGNING[@]} of ${#SIGNING_KEYS[@]} signing keys and ${#CRLS[@]} CRLs in $out ($((SECONDS - start_s)) s, $ossl_version)"
printf '  %-40s %-22s %-11s %s\n' "FILE (.pem/.key)" "EXTENDED KEY USAGE" "NOT AFTER" "SUBJECT ALT NAMES / NOTE"
# One openssl run prints every certificate; awk takes one line per certificate from it, in NAMES order:
# notBefore|notAfter|extended key usage|subject alternative names.
for n in "${NAMES[@]}"; do cat "$out/$n.pem"; done >"$stage/all.pem"
mapfile -t infos < <(
  openssl crl2pkcs7 -nocrl -certfile "$stage/all.pem" | openssl pkcs7 -print_certs -text -noout |
  awk '
    function flush() { if (n++) print nb "|" na "|" eku "|" san; nb = na = eku = san = "" }
    /^Certificate:/ { flush(); next }
    /Not Before:/ { sub(/.*Not Before: */, ""); nb = $0; next }
    /Not After :/ { sub(/.*Not After : */, ""); na = $0; next }
    want == "eku" { sub(/^ */, ""); eku = $0; want = ""; next }
    want == "san" { sub(/^ */, ""); san = $0; want = ""; next }
    /X509v3 Extended Key Usage:/ { want = "eku"; next }
    /X509v3 Subject Alternative Name:/ { want = "san"; next }
    END { flush() }')
[[ ${#infos[@]} -eq ${#NAMES[@]} ]] || fail_check "summary: read ${#infos[@]} certificates, expected ${#NAMES[@]}"
for i in "${!NAMES[@]}"; do
  n="${NAMES[$i]}"
  IFS='|' read -r not_before not_after eku san <<<"${infos[$i]}"
  not_before="$(date -u -d "$not_before" +%Y-%m-%d)"
  not_after="$(date -u -d "$not_after" +%Y-%m-%d)"
  eku="${eku//TLS Web Server Authentication/serverAuth}"
  eku="${eku//TLS Web Client Authentication/clientAuth}"
  case "$n" in
    ca) note="development CA (trust anchor)" ;;
    other-ca) note="unrelated CA: nobody trusts it" ;;
    caller-untrusted) note="signed by other-ca; $san" ;;
    caller-expired) note="EXPIRED; $san" ;;
    caller-notyet) note="NOT YET VALID (from $not_before); $san" ;;
    caller-nouri) note="no SAN URI (no identity)" ;;
    caller-badrole) note="unknown role; $san" ;;
    caller-revoked) note="REVOKED in crl.pem; $san" ;;
    *) note="$san" ;;
  esac
  printf '  %-40s %-22s %-11s %s\n' "$n" "${eku:--}" "$not_after" "$note"
done
printf '  %-40s %-22s %-11s %s\n' "CRL (.pem only)" "" "NEXT UPDATE" "REVOKES (all signed by ca)"
revoked_serial="$(openssl x509 -noout -serial -in "$out/caller-revoked.pem")"
for n in "${CRLS[@]}"; do
  next="$(openssl crl -noout -nextupdate -in "$out/$n.pem")"
  next="$(date -u -d "${next#nextUpdate=}" +%Y-%m-%d)"
  case "$n" in
    crl) note="caller-revoked (serial ${revoked_serial#serial=})" ;;
    *) note="nothing" ;;
  esac
  printf '  %-40s %-22s %-11s %s\n' "$n" "" "$next" "$note"
done
printf '  %-40s %s\n' "SIGNING KEY (.key/.pub.pem)" "ALGORITHM"
for entry in "${SIGNING_KEYS[@]}"; do
  read -r n curve <<<"$entry"
  case "$curve" in SM2) alg="SM2 with SM3" ;; *) alg="ECDSA P-256 with SHA-256" ;; esac
  [[ "$n" == *-retired ]] && alg="$alg (tests treat it as revoked)"
  printf '  %-40s %s\n' "$n" "$alg"
done
echo "make-dev-certs: keys are mode 600 and must never be committed."
