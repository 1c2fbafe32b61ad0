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
#      2 household, 3 account, 4 commit, 5 reversal, 6 settlement record, 7 filing, 8 settlement
#      list, 9 filing list) PERSON(0 born 1990, 1 born 1965) TEXTPROTO
seed() {
  local name="$1" dialect="$2" kind="$3" person="$4" text="$5" message selector
  case "$kind" in
    0) message=GetMedicalEnrollmentResponse ;;
    1) message=GetContributionsResponse ;;
    2) message=GetHouseholdRegistrationResponse ;;
    3) message=MedicalAccount ;;
    4) message=CommitSettlementResponse ;;
    5) message=ReverseSettlementResponse ;;
    6) message=SettlementRecord ;;
    7) message=FilingRecord ;;
    8) message=ListSettlementRecordsResponse ;;
    9) message=ListFilingsResponse ;;
  esac
  # The reply is bits 3-4 plus four times bits 6-7 (reply_translation_fuzzer.cc).
  selector=$((dialect | ((kind & 3) << 3) | (person << 5) | ((kind >> 2) << 6)))
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
# The settlement part of the contract, as the mock cities write it: the account of 2026 asked about
# (kAskedYear), settlement S1 (kAskedSettlementId) committed and reversed, a settlement of another
# person as GetSettlementRecord answers it, a filing, and a page of each list.
# settlement_seeds NAME DIALECT PERSON ID INSURANCE STATUS DATE REVERSED_DATE ZERO SMALL TOTAL DED FUND ACCT CASH
settlement_seeds() {
  local name="$1" dialect="$2" person="$3" id="$4" insurance="$5" status="$6" date="$7" reversed="$8"
  local zero="$9" small="${10}" total="${11}" ded="${12}" fund="${13}" acct="${14}" cash="${15}"
  local other='resident_id: "140106199003070019"'  # another person, check character valid
  local account="resident_id: \"$id\" insurance_type_code: \"$insurance\" status_code: \"$status\" balance: \"$total\" year: 2026 deductible_used_outpatient: \"$ded\" deductible_used_inpatient: \"$zero\" fund_paid: \"$small\" version: 7"
  local body="year: 2026 visit_type_code: \"11\" institution_code: \"H14010500001\" treatment_city_code: \"140100\" settle_date: \"$date\" total: \"$total\" deductible_applied: \"$ded\" fund_pay: \"$fund\" account_pay: \"$acct\" cash_pay: \"$cash\""
  local settlement="settlement_id: \"S1\" resident_id: \"$id\" $body"
  local filing="resident_id: \"$id\" treatment_city_code: \"140700\" valid_from: \"$date\" valid_to: \"$reversed\" reason_code: \"5\""
  seed "$name-account" "$dialect" 3 "$person" "$account"
  seed "$name-commit" "$dialect" 4 "$person" "account { $account } settlement { $settlement } replayed: false"
  seed "$name-commit-replayed" "$dialect" 4 "$person" "account { $account } settlement { $settlement reversed: true reversed_date: \"$reversed\" } replayed: true"
  seed "$name-reversal" "$dialect" 5 "$person" "account { $account } settlement { $settlement reversed: true reversed_date: \"$reversed\" } replayed: false"
  seed "$name-settlement-record" "$dialect" 6 "$person" "settlement_id: \"S2\" $other $body"
  seed "$name-filing" "$dialect" 7 "$person" "filing_id: \"F14010000000001\" $filing revoked: false"
  seed "$name-settlement-list" "$dialect" 8 "$person" "settlements { $settlement } settlements { settlement_id: \"S2\" $other $body reversed: true reversed_date: \"$reversed\" } next_page_token: \"UzI\""
  seed "$name-filing-list" "$dialect" 9 "$person" "filings { filing_id: \"F1\" $filing revoked: true } filings { filing_id: \"F2\" $filing }"
}
settlement_seeds taiyuan 0 0 140105199003071250 310 1 20260315 20260320 0 12345 10000 1000 3000 2000 5000
settlement_seeds yangquan 1 0 140105199003071250 E1 A 2026.03.15 2026.03.20 0 12345 10000 1000 3000 2000 5000
settlement_seeds jinzhong 2 0 140105199003071250 ZG ZC 2026-03-15 2026-03-20 0.00 123.45 100.00 10.00 30.00 20.00 50.00
settlement_seeds xinzhou-legacy 3 1 142201650307123 11 0 2026/03/15 2026/03/20 0 12345 10000 1000 3000 2000 5000
settlement_seeds lvliang 4 0 140105199003071250 390 1 2026-03-15 2026-03-20 0.00 123.45 100.00 10.00 30.00 20.00 50.00

# Malformed settlement replies: each is refused, naming the field.
TY_BODY='year: 2026 visit_type_code: "11" institution_code: "H14010500001" treatment_city_code: "140100" settle_date: "20260315"'
TY_AMOUNTS='total: "10000" deductible_applied: "1000" fund_pay: "3000" account_pay: "2000" cash_pay: "5000"'
TY_ACCOUNT="$YOUNG insurance_type_code: \"310\" status_code: \"1\" balance: \"100\" year: 2026 deductible_used_outpatient: \"0\" deductible_used_inpatient: \"0\" fund_paid: \"0\" version: 1"
seed bad-taiyuan-account-negative-balance 0 3 0 "$YOUNG insurance_type_code: \"310\" status_code: \"1\" balance: \"-100\" year: 2026 deductible_used_outpatient: \"0\" deductible_used_inpatient: \"0\" fund_paid: \"0\" version: 1"
seed bad-taiyuan-account-other-year 0 3 0 "$YOUNG insurance_type_code: \"310\" status_code: \"1\" balance: \"100\" year: 2025 deductible_used_outpatient: \"0\" deductible_used_inpatient: \"0\" fund_paid: \"0\" version: 1"
seed bad-jinzhong-account-three-decimals 2 3 0 "$YOUNG insurance_type_code: \"ZG\" status_code: \"ZC\" balance: \"1.005\" year: 2026 deductible_used_outpatient: \"0.00\" deductible_used_inpatient: \"0.00\" fund_paid: \"0.00\" version: 1"
seed bad-taiyuan-commit-total-not-sum 0 4 0 "account { $TY_ACCOUNT } settlement { settlement_id: \"S1\" $YOUNG $TY_BODY total: \"10001\" deductible_applied: \"1000\" fund_pay: \"3000\" account_pay: \"2000\" cash_pay: \"5000\" }"
seed bad-taiyuan-commit-other-settlement 0 4 0 "account { $TY_ACCOUNT } settlement { settlement_id: \"S9\" $YOUNG $TY_BODY $TY_AMOUNTS }"
seed bad-taiyuan-commit-no-account 0 4 0 "settlement { settlement_id: \"S1\" $YOUNG $TY_BODY $TY_AMOUNTS }"
seed bad-taiyuan-reversal-without-date 0 5 0 "account { $TY_ACCOUNT } settlement { settlement_id: \"S1\" $YOUNG $TY_BODY $TY_AMOUNTS reversed: true }"
seed bad-taiyuan-record-visit-type 0 6 0 "settlement_id: \"S2\" $YOUNG year: 2026 visit_type_code: \"31\" institution_code: \"H1\" treatment_city_code: \"140100\" settle_date: \"20260315\" $TY_AMOUNTS"
seed bad-taiyuan-record-outside-five-cities 0 6 0 "settlement_id: \"S2\" $YOUNG year: 2026 visit_type_code: \"21\" institution_code: \"H1\" treatment_city_code: \"110100\" settle_date: \"20260315\" $TY_AMOUNTS"
seed bad-taiyuan-record-check-character 0 6 0 "settlement_id: \"S2\" resident_id: \"140105199003071251\" $TY_BODY $TY_AMOUNTS"
seed bad-taiyuan-record-reversed-date-not-reversed 0 6 0 "settlement_id: \"S2\" $YOUNG $TY_BODY $TY_AMOUNTS reversed_date: \"20260320\""
seed bad-taiyuan-record-legacy-number 0 6 1 "settlement_id: \"S2\" $OLD_LEGACY $TY_BODY $TY_AMOUNTS"
seed bad-lvliang-filing-ends-before-start 4 7 0 "filing_id: \"F1\" $YOUNG treatment_city_code: \"140100\" valid_from: \"2026-03-20\" valid_to: \"2026-03-15\" reason_code: \"5\""
seed bad-lvliang-filing-reason 4 7 0 "filing_id: \"F1\" $YOUNG treatment_city_code: \"140100\" valid_from: \"2026-03-15\" valid_to: \"2026-03-20\" reason_code: \"6\""
seed bad-yangquan-filing-date 1 7 0 "filing_id: \"F1\" $YOUNG treatment_city_code: \"140100\" valid_from: \"2026.02.30\" valid_to: \"2026.03.20\" reason_code: \"1\""
seed bad-xinzhou-settlement-list-second-empty-id 3 8 0 "settlements { settlement_id: \"S1\" $YOUNG year: 2026 visit_type_code: \"11\" institution_code: \"H1\" treatment_city_code: \"140900\" settle_date: \"2026/03/15\" $TY_AMOUNTS } settlements { $YOUNG }"
seed bad-jinzhong-filing-list-other-person 2 9 0 "filings { filing_id: \"F1\" resident_id: \"140106199003070019\" treatment_city_code: \"140100\" valid_from: \"2026-03-15\" valid_to: \"2026-03-20\" reason_code: \"2\" }"

# A backend still on the old contract (balance_fen, field 7, as an integer).
{ printf '\x00'; printf '\x0a\x12140105199003071250\x38\xc0\xc4\x07'; } >"$OUT/bad-old-contract-integer-balance"
echo "wrote $(ls "$OUT" | wc -l) seeds to $OUT"
