#!/usr/bin/env bash
# Writes the seed corpus of reply_translation_fuzzer (fuzz/corpus/reply_translation_fuzzer/): one
# selector byte (see reply_translation_fuzzer.cc) followed by a reply proto encoded with protoc, in
# each city's dialect, plus a few malformed ones. Rerun after changing the contract or a dialect;
# the files are checked in so that the corpus replay test needs no protoc.
#
#   fuzz/make-reply-corpus.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
OUT="$ROOT/fuzz/corpus/reply_translation_fuzzer"
PROTO=interop/citybackend/v1/city_backend.proto
mkdir -p "$OUT"

# seed NAME DIALECT(0-4: taiyuan yangquan jinzhong xinzhou lvliang) KIND(0 medical, 1 contributions,
#      2 household) PERSON(0 born 1990, 1 born 1965) TEXTPROTO
seed() {
  local name="$1" dialect="$2" kind="$3" person="$4" text="$5" message selector
  case "$kind" in
    0) message=GetMedicalEnrollmentResponse ;;
    1) message=GetContributionsResponse ;;
    2) message=GetHouseholdRegistrationResponse ;;
  esac
  selector=$((dialect | (kind << 3) | (person << 5)))
  {
    printf "\\x$(printf '%02x' "$selector")"
    protoc -I "$ROOT/protos" --encode="interop.citybackend.v1.$message" "$ROOT/protos/$PROTO" <<<"$text"
  } >"$OUT/$name"
}

YOUNG='resident_id: "140105199003071250"'
OLD_LEGACY='resident_id: "142201650307123"'
ZHANG='name: "\345\274\240\344\270\211"'     # 张三, UTF-8
ZHANG_GB='name: "\325\305\310\375"'           # 张三, GB 18030

seed taiyuan-medical 0 0 0 "$YOUNG $ZHANG insured_region_code: \"140105\" insurance_type_code: \"310\" status_code: \"1\" enrollment_date: \"20180701\" balance: \"123456\""
seed yangquan-medical 1 0 0 "$YOUNG $ZHANG_GB insured_region_code: \"140302\" insurance_type_code: \"E1\" status_code: \"A\" enrollment_date: \"2018.07.01\" balance: \"123456\""
seed jinzhong-medical 2 0 0 "$YOUNG $ZHANG insured_region_code: \"140702\" insurance_type_code: \"ZG\" status_code: \"ZC\" enrollment_date: \"2018-07-01\" balance: \"1234.56\""
seed xinzhou-medical-legacy 3 0 1 "$OLD_LEGACY $ZHANG insured_region_code: \"140902\" insurance_type_code: \"11\" status_code: \"0\" enrollment_date: \"2018/07/01\" balance: \"123456\""
seed lvliang-medical 4 0 0 "$YOUNG $ZHANG insured_region_code: \"141102\" insurance_type_code: \"390\" status_code: \"2\" enrollment_date: \"2018-07-01\" balance: \"0.00\""

seed taiyuan-contributions 0 1 0 "$YOUNG months { kind_code: \"110\" year_month: \"202311\" wage_base: \"500000\" personal_amount: \"40000\" employer_amount: \"80000\" } months { kind_code: \"410\" year_month: \"202311\" wage_base: \"500000\" personal_amount: \"0\" employer_amount: \"2500\" }"
seed yangquan-contributions 1 1 0 "$YOUNG months { kind_code: \"1\" year_month: \"2023.11\" wage_base: \"500000\" personal_amount: \"40000\" employer_amount: \"80000\" }"
seed jinzhong-contributions 2 1 0 "$YOUNG months { kind_code: \"GS\" year_month: \"2023-11\" wage_base: \"5000.00\" personal_amount: \"0.00\" employer_amount: \"25.00\" } months { kind_code: \"YL\" year_month: \"2023-11\" wage_base: \"5000.00\" personal_amount: \"400.00\" employer_amount: \"800.00\" }"
seed xinzhou-contributions-legacy 3 1 1 "$OLD_LEGACY months { kind_code: \"01\" year_month: \"1998/01\" wage_base: \"80000\" personal_amount: \"6400\" employer_amount: \"16000\" }"
seed lvliang-contributions 4 1 0 "$YOUNG months { kind_code: \"310\" year_month: \"2024-01\" wage_base: \"5200.00\" personal_amount: \"104.00\" employer_amount: \"312.00\" }"

seed taiyuan-household 0 2 0 "$YOUNG $ZHANG address_code: \"140105\" household_number: \"012345678\" relation_code: \"02\" household_type_code: \"1\" registered_since: \"19900310\""
seed yangquan-household 1 2 0 "$YOUNG $ZHANG_GB address_code: \"140302\" household_number: \"012345678\" relation_code: \"1\" household_type_code: \"F\" registered_since: \"1990.03.10\""
seed jinzhong-household 2 2 0 "$YOUNG $ZHANG address_code: \"140702\" household_number: \"012345678\" relation_code: \"ZN\" household_type_code: \"01\" registered_since: \"1990-03-10\""
seed xinzhou-household-legacy 3 2 1 "$OLD_LEGACY $ZHANG address_code: \"140902\" household_number: \"012345678\" relation_code: \"51\" household_type_code: \"10\" registered_since: \"1965/03/10\""
seed lvliang-household 4 2 0 "$YOUNG $ZHANG address_code: \"141102\" household_number: \"012345678\" relation_code: \"99\" household_type_code: \"2\" registered_since: \"2010-09-15\""

# Malformed: each is refused.
seed bad-jinzhong-three-decimals 2 0 0 "$YOUNG $ZHANG insured_region_code: \"140702\" insurance_type_code: \"ZG\" status_code: \"ZC\" enrollment_date: \"2018-07-01\" balance: \"1234.567\""
seed bad-yangquan-undecodable-name 1 0 0 "$YOUNG name: \"\325\305\310\" insured_region_code: \"140302\" insurance_type_code: \"E1\" status_code: \"A\" enrollment_date: \"2018.07.01\" balance: \"1\""
seed bad-taiyuan-unmapped-code 0 2 0 "$YOUNG $ZHANG address_code: \"140105\" household_number: \"012345678\" relation_code: \"2\" household_type_code: \"1\" registered_since: \"19900310\""
seed bad-taiyuan-legacy-number 0 0 1 "$OLD_LEGACY $ZHANG insured_region_code: \"140105\" insurance_type_code: \"310\" status_code: \"1\" enrollment_date: \"20180701\" balance: \"1\""
seed bad-xinzhou-other-person 3 0 1 "resident_id: \"142201650307124\" $ZHANG insured_region_code: \"140902\" insurance_type_code: \"11\" status_code: \"0\" enrollment_date: \"2018/07/01\" balance: \"1\""
seed bad-lvliang-date 4 1 0 "$YOUNG months { kind_code: \"310\" year_month: \"2024-13\" wage_base: \"1.00\" personal_amount: \"1.00\" employer_amount: \"1.00\" }"
# A backend still on the old contract (balance_fen, field 7, as an integer).
{ printf '\x00'; printf '\x0a\x12140105199003071250\x38\xc0\xc4\x07'; } >"$OUT/bad-old-contract-integer-balance"
echo "wrote $(ls "$OUT" | wc -l) seeds to $OUT"
