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

}  // namespace interop::adapters
