#include "adapters/city_adapter.h"

#include "absl/strings/str_cat.h"
#include "gateway/base/cities.h"

namespace interop::adapters {
namespace {

absl::Status NotOffered(City city, absl::string_view what) {
  return absl::UnimplementedError(
      absl::StrCat("city ", CityName(city), "'s backend does not offer ", what, " through this adapter"));
}

}  // namespace

void CityAdapter::GetMedicalAccount(const std::string&, int, const CallOptions&, Callback<MedicalAccount> done) {
  done(NotOffered(city(), "medical accounts"));
}

void CityAdapter::CommitSettlement(const SettlementRecord&, int64_t, const CallOptions&,
                                   Callback<CommitResult> done) {
  done(NotOffered(city(), "settlement"));
}

void CityAdapter::ReverseSettlement(const std::string&, const std::string&, absl::CivilDay, const CallOptions&,
                                    Callback<CommitResult> done) {
  done(NotOffered(city(), "settlement reversal"));
}

void CityAdapter::GetSettlementRecord(const std::string&, const CallOptions&, Callback<SettlementRecord> done) {
  done(NotOffered(city(), "settlement records"));
}

void CityAdapter::ListSettlementRecords(absl::CivilDay, absl::CivilDay, const CallOptions&,
                                        Callback<std::vector<SettlementRecord>> done) {
  done(NotOffered(city(), "settlement records"));
}

void CityAdapter::FileTreatment(const FilingRecord&, const CallOptions&, Callback<FilingRecord> done) {
  done(NotOffered(city(), "treatment filing"));
}

void CityAdapter::RevokeFiling(const std::string&, const std::string&, const CallOptions&,
                               Callback<FilingRecord> done) {
  done(NotOffered(city(), "treatment filing"));
}

void CityAdapter::ListFilings(const std::string&, const CallOptions&, Callback<std::vector<FilingRecord>> done) {
  done(NotOffered(city(), "treatment filing"));
}

void CityAdapter::SignCertificate(const std::string&, const CallOptions&, Callback<CertificateSignature> done) {
  done(NotOffered(city(), "certificate signing"));
}

void CityAdapter::IssueMoveInPermit(const std::string&, const std::string&, City, const std::string&,
                                    const CallOptions&, Callback<MoveInPermit> done) {
  done(NotOffered(city(), "household migration"));
}

void CityAdapter::RecordMoveOut(const std::string&, const std::string&, City, const std::string&, absl::CivilDay,
                                const CallOptions&, Callback<MoveOutRecord> done) {
  done(NotOffered(city(), "household migration"));
}

void CityAdapter::SettleIn(const std::string&, const std::string&, const std::string&, const std::string&,
                           const std::string&, const CallOptions&, Callback<SettleInResult> done) {
  done(NotOffered(city(), "household migration"));
}

void CityAdapter::ApplyPensionTransfer(const std::string&, const std::string&, City, const CallOptions&,
                                       Callback<PensionApplication> done) {
  done(NotOffered(city(), "pension transfer"));
}

void CityAdapter::IssueContactLetter(const std::string&, const std::string&, const std::string&,
                                     const CallOptions&, Callback<ContactLetter> done) {
  done(NotOffered(city(), "pension transfer"));
}

void CityAdapter::PreparePensionTransferOut(const std::string&, const std::string&, City, const std::string&,
                                            const CallOptions&, Callback<PreparedTransferOut> done) {
  done(NotOffered(city(), "pension transfer"));
}

void CityAdapter::CompletePensionTransferOut(const std::string&, const std::string&, City, const std::string&,
                                             int64_t, int64_t, const CallOptions&,
                                             Callback<TransferOutCompletion> done) {
  done(NotOffered(city(), "pension transfer"));
}

void CityAdapter::ConfirmPensionTransferIn(const std::string&, const std::string&, const std::string&, City,
                                           const PensionTransferSheet&, const CallOptions&,
                                           Callback<TransferInConfirmation> done) {
  done(NotOffered(city(), "pension transfer"));
}

}  // namespace interop::adapters
