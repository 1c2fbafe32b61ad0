// GB/T 2260 administrative division codes since 1981, with their years in use and successors.
//
// The table is compiled into the binary from gateway/identity/gb2260-history.csv (public-domain
// data from yescallop/areacodes; see the README beside it), so nothing needs installing at run time.
// It answers the questions the exchange asks of an address code: is this a real province-level
// prefix, what was this code called, and which of today's prefecture-level cities does it lie in
// (following renumbering: before 1999-2003 today's Jinzhong, Xinzhou and Lüliang were prefectures
// coded 1424xx, 1422xx and 1423xx).
//
// Thread-safe: a DivisionRegistry is immutable after construction.
#ifndef INTEROP_GATEWAY_IDENTITY_DIVISION_CODES_H_
#define INTEROP_GATEWAY_IDENTITY_DIVISION_CODES_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace interop::identity {

enum class DivisionLevel { kProvince, kPrefecture, kCounty };

struct Division {
  std::string code;        // six digits
  std::string name;        // UTF-8, for example "小店区"
  std::string province;    // name of the province-level division
  // Name of the prefecture-level division, empty for provinces; "直辖" for a county directly
  // under its province (for example the districts of Beijing).
  std::string prefecture;
  DivisionLevel level = DivisionLevel::kCounty;
  int first_year = 0;      // first year in use
  int end_year = 0;        // first year no longer in use (exclusive); 0 if in use today
  // Codes that replaced this one (empty if in use, or retired without successor), including codes
  // that took over part of its territory before it was retired (CSV entries with a "[YEAR]").
  std::vector<std::string> successors;

  bool in_use() const { return end_year == 0; }
};

class DivisionRegistry {
 public:
  // The registry built from the embedded GB/T 2260 history. Built once, on first use.
  static const DivisionRegistry& Embedded();

  // Builds a registry from CSV text in the format of gb2260-history.csv (header row, UTF-8, an
  // optional byte-order mark). INVALID_ARGUMENT naming the line for a malformed row, including a
  // successor code that has no row of its own and rows of one code whose years overlap.
  static absl::StatusOr<std::unique_ptr<DivisionRegistry>> FromCsv(absl::string_view csv);

  // The division with this code, or nullptr. When a code was reused for different divisions over
  // time, returns the most recent.
  const Division* Find(absl::string_view code) const;

  // True if `prefix` (two digits) is the prefix of a province-level code GB/T 2260 has ever used.
  bool IsProvincePrefix(absl::string_view prefix) const;

  // The prefecture-level code(s) (ending in "00") in use today that `code` lies in, following
  // successors through renumbering; for a code in use, its own prefecture. Empty if unknown or if the
  // code was retired without successor. For example "142401" (old 榆次市) -> {"140700"}.
  // A county directly under a province (such as "110101" in Beijing) and a province-level code
  // itself map to the province-level code ("110000"). Sorted, without duplicates.
  std::vector<std::string> CurrentPrefectures(absl::string_view code) const;

  // County-level codes that lie today in prefecture `prefecture_code` (for example "140700"):
  // those in use, and with `include_retired`, also retired ones whose successors lie there.
  // One entry per code (the most recent qualifying row of a reused code), sorted by code. The
  // pointers live as long as the registry.
  std::vector<const Division*> CountiesOf(absl::string_view prefecture_code,
                                          bool include_retired) const;

 private:
  DivisionRegistry() = default;

  // Indices into divisions_ of the rows of `code`, oldest first, as the half-open range
  // [first, second); empty if the code is unknown.
  std::pair<size_t, size_t> RowRange(absl::string_view code) const;

  // Sorted by code, then by first_year.
  std::vector<Division> divisions_;
  // Code -> index of its most recent row.
  absl::flat_hash_map<std::string, size_t> by_code_;
  // Parallel to divisions_: the answer of CurrentPrefectures for that row.
  std::vector<std::vector<std::string>> current_prefectures_;
};

}  // namespace interop::identity

#endif  // INTEROP_GATEWAY_IDENTITY_DIVISION_CODES_H_
