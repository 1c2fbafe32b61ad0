#include "gateway/identity/division_codes.h"

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

// Defined by interop_embed_file (see gateway/identity/CMakeLists.txt).
extern const char kGb2260HistoryCsv[];
extern const std::size_t kGb2260HistoryCsv_size;

namespace interop::identity {
namespace {

constexpr absl::string_view kByteOrderMark = "\xEF\xBB\xBF";
constexpr absl::string_view kHeader =
    "代码,一级行政区,二级行政区,名称,级别,状态,启用时间,变更/弃用时间,新代码";
constexpr size_t kFieldCount = 9;

// A 新代码 entry: the successor code and the year it took over (all or part of) the territory.
struct SuccessorRef {
  std::string code;
  int year = 0;
};

struct ParsedRow {
  Division division;
  int line = 0;
  std::vector<SuccessorRef> successors;
};

bool IsDigits(absl::string_view text, size_t length) {
  return text.size() == length && std::all_of(text.begin(), text.end(), [](char c) {
           return absl::ascii_isdigit(static_cast<unsigned char>(c));
         });
}

absl::Status LineError(int line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("line ", line, ": ", what));
}

absl::StatusOr<int> ParseYear(absl::string_view text, int line, absl::string_view column) {
  int year = 0;
  if (!IsDigits(text, 4) || !absl::SimpleAtoi(text, &year)) {
    return LineError(line, absl::StrCat(column, " must be a 4-digit year, got \"", text, "\""));
  }
  return year;
}

absl::StatusOr<DivisionLevel> ParseLevel(absl::string_view text, int line) {
  if (text == "省级") return DivisionLevel::kProvince;
  if (text == "地级") return DivisionLevel::kPrefecture;
  if (text == "县级") return DivisionLevel::kCounty;
  return LineError(line, absl::StrCat("级别 must be 省级, 地级 or 县级, got \"", text, "\""));
}

absl::Status CheckCodeMatchesLevel(const Division& division, int line) {
  absl::string_view code = division.code;
  switch (division.level) {
    case DivisionLevel::kProvince:
      if (!absl::EndsWith(code, "0000")) {
        return LineError(line, absl::StrCat("province-level code ", code, " must end in 0000"));
      }
      if (!division.prefecture.empty()) {
        return LineError(line, "二级行政区 must be empty for a province-level row");
      }
      return absl::OkStatus();
    case DivisionLevel::kPrefecture:
      if (!absl::EndsWith(code, "00") || absl::EndsWith(code, "0000")) {
        return LineError(
            line, absl::StrCat("prefecture-level code ", code, " must end in 00 but not in 0000"));
      }
      break;
    case DivisionLevel::kCounty:
      if (absl::EndsWith(code, "00")) {
        return LineError(line, absl::StrCat("county-level code ", code, " must not end in 00"));
      }
      break;
  }
  if (division.prefecture.empty()) {
    return LineError(line, "二级行政区 must not be empty below province level");
  }
  return absl::OkStatus();
}

// Parses 新代码: ';'-separated six-digit codes, each optionally followed by "[YEAR]". A code
// without a year took over when the row's code went out of use (`end_year`).
absl::StatusOr<std::vector<SuccessorRef>> ParseSuccessors(absl::string_view text, int end_year,
                                                          int line) {
  std::vector<SuccessorRef> successors;
  if (text.empty()) return successors;
  for (absl::string_view entry : absl::StrSplit(text, ';')) {
    SuccessorRef ref;
    absl::string_view code = entry;
    absl::string_view year_text;
    if (const size_t bracket = entry.find('['); bracket != absl::string_view::npos) {
      code = entry.substr(0, bracket);
      year_text = entry.substr(bracket);
      if (!absl::ConsumePrefix(&year_text, "[") || !absl::ConsumeSuffix(&year_text, "]")) {
        return LineError(line,
                         absl::StrCat("新代码 entry \"", entry, "\" is not CODE or CODE[YEAR]"));
      }
    }
    if (!IsDigits(code, 6)) {
      return LineError(line,
                       absl::StrCat("新代码 entry \"", entry, "\" is not CODE or CODE[YEAR]"));
    }
    ref.code = std::string(code);
    if (year_text.empty()) {
      ref.year = end_year;
    } else {
      absl::StatusOr<int> year = ParseYear(year_text, line, "新代码 year");
      if (!year.ok()) return year.status();
      ref.year = *year;
    }
    successors.push_back(std::move(ref));
  }
  return successors;
}

absl::StatusOr<ParsedRow> ParseRow(absl::string_view text, int line) {
  std::vector<absl::string_view> fields = absl::StrSplit(text, ',');
  if (fields.size() != kFieldCount) {
    return LineError(line, absl::StrCat("expected ", kFieldCount, " comma-separated fields, got ",
                                        fields.size()));
  }
  ParsedRow row;
  row.line = line;
  Division& division = row.division;
  if (!IsDigits(fields[0], 6)) {
    return LineError(line, absl::StrCat("代码 must be six digits, got \"", fields[0], "\""));
  }
  division.code = std::string(fields[0]);
  division.province = std::string(fields[1]);
  division.prefecture = std::string(fields[2]);
  division.name = std::string(fields[3]);
  if (division.province.empty()) return LineError(line, "一级行政区 must not be empty");
  if (division.name.empty()) return LineError(line, "名称 must not be empty");

  absl::StatusOr<DivisionLevel> level = ParseLevel(fields[4], line);
  if (!level.ok()) return level.status();
  division.level = *level;
  if (absl::Status status = CheckCodeMatchesLevel(division, line); !status.ok()) return status;

  absl::string_view state = fields[5];
  const bool in_use = state == "在用";
  if (!in_use && state != "变更" && state != "弃用") {
    return LineError(line, absl::StrCat("状态 must be 在用, 变更 or 弃用, got \"", state, "\""));
  }
  absl::StatusOr<int> first_year = ParseYear(fields[6], line, "启用时间");
  if (!first_year.ok()) return first_year.status();
  division.first_year = *first_year;
  if (in_use) {
    if (!fields[7].empty()) return LineError(line, "变更/弃用时间 must be empty for a code 在用");
  } else {
    absl::StatusOr<int> end_year = ParseYear(fields[7], line, "变更/弃用时间");
    if (!end_year.ok()) return end_year.status();
    if (*end_year <= division.first_year) {
      return LineError(line, absl::StrCat("变更/弃用时间 ", *end_year, " is not after 启用时间 ",
                                          division.first_year));
    }
    division.end_year = *end_year;
  }

  absl::StatusOr<std::vector<SuccessorRef>> successors =
      ParseSuccessors(fields[8], division.end_year, line);
  if (!successors.ok()) return successors.status();
  // A code in use lists only codes that took over part of its territory; it has no successor.
  if (!in_use) {
    row.successors = *std::move(successors);
    for (const SuccessorRef& ref : row.successors) {
      if (std::find(division.successors.begin(), division.successors.end(), ref.code) ==
          division.successors.end()) {
        division.successors.push_back(ref.code);
      }
    }
  }
  return row;
}

// The prefecture-level code in use that the in-use `division` lies in (see CurrentPrefectures), or
// "" if the table has no such code.
std::string OwnPrefecture(const DivisionRegistry& registry, const Division& division) {
  if (division.level != DivisionLevel::kCounty) return division.code;
  std::string prefecture = absl::StrCat(division.code.substr(0, 4), "00");
  if (const Division* found = registry.Find(prefecture);
      found != nullptr && found->in_use() && found->level == DivisionLevel::kPrefecture) {
    return prefecture;
  }
  std::string province = absl::StrCat(division.code.substr(0, 2), "0000");
  if (const Division* found = registry.Find(province);
      found != nullptr && found->in_use() && found->level == DivisionLevel::kProvince) {
    return province;
  }
  return "";
}

}  // namespace

const DivisionRegistry& DivisionRegistry::Embedded() {
  static const DivisionRegistry* const registry = [] {
    absl::StatusOr<std::unique_ptr<DivisionRegistry>> parsed =
        FromCsv(absl::string_view(kGb2260HistoryCsv, kGb2260HistoryCsv_size));
    if (!parsed.ok()) {
      std::fprintf(stderr, "FATAL: embedded gb2260-history.csv is malformed: %s\n",
                   parsed.status().ToString().c_str());
      std::abort();
    }
    return parsed->release();
  }();
  return *registry;
}

absl::StatusOr<std::unique_ptr<DivisionRegistry>> DivisionRegistry::FromCsv(absl::string_view csv) {
  absl::ConsumePrefix(&csv, kByteOrderMark);
  std::vector<absl::string_view> lines = absl::StrSplit(csv, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.empty()) return LineError(1, "missing header row");

  std::vector<ParsedRow> rows;
  rows.reserve(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const int line_number = static_cast<int>(i + 1);
    absl::string_view line = lines[i];
    absl::ConsumeSuffix(&line, "\r");
    if (i == 0) {
      if (line != kHeader) return LineError(1, absl::StrCat("header must be \"", kHeader, "\""));
      continue;
    }
    if (line.empty()) return LineError(line_number, "empty line");
    absl::StatusOr<ParsedRow> row = ParseRow(line, line_number);
    if (!row.ok()) return row.status();
    rows.push_back(*std::move(row));
  }

  std::stable_sort(rows.begin(), rows.end(), [](const ParsedRow& a, const ParsedRow& b) {
    return std::tie(a.division.code, a.division.first_year) <
           std::tie(b.division.code, b.division.first_year);
  });
  for (size_t i = 1; i < rows.size(); ++i) {
    const Division& earlier = rows[i - 1].division;
    const Division& later = rows[i].division;
    if (earlier.code == later.code && (earlier.in_use() || earlier.end_year > later.first_year)) {
      return LineError(rows[i].line, absl::StrCat("code ", later.code, " from ", later.first_year,
                                                  " overlaps its row on line ", rows[i - 1].line));
    }
  }

  auto registry = std::unique_ptr<DivisionRegistry>(new DivisionRegistry());
  registry->divisions_.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    registry->by_code_[rows[i].division.code] = i;
    registry->divisions_.push_back(rows[i].division);
  }

  // A successor is the latest row of its code begun by the year it took over (the row then in use
  // if there is one), or the code's oldest row if none had begun.
  std::vector<std::vector<size_t>> successor_rows(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    for (const SuccessorRef& ref : rows[i].successors) {
      const auto [first, last] = registry->RowRange(ref.code);
      if (first == last) {
        return LineError(rows[i].line,
                         absl::StrCat("successor ", ref.code, " has no row of its own"));
      }
      size_t chosen = first;
      for (size_t j = first; j < last; ++j) {
        if (registry->divisions_[j].first_year <= ref.year) chosen = j;
      }
      successor_rows[i].push_back(chosen);
    }
  }

  registry->current_prefectures_.resize(rows.size());
  for (size_t start = 0; start < rows.size(); ++start) {
    std::vector<std::string>& prefectures = registry->current_prefectures_[start];
    absl::flat_hash_set<size_t> visited;
    std::vector<size_t> pending = {start};
    while (!pending.empty()) {
      const size_t i = pending.back();
      pending.pop_back();
      if (!visited.insert(i).second) continue;
      const Division& division = registry->divisions_[i];
      if (division.in_use()) {
        std::string prefecture = OwnPrefecture(*registry, division);
        if (!prefecture.empty()) prefectures.push_back(std::move(prefecture));
        continue;
      }
      pending.insert(pending.end(), successor_rows[i].begin(), successor_rows[i].end());
    }
    std::sort(prefectures.begin(), prefectures.end());
    prefectures.erase(std::unique(prefectures.begin(), prefectures.end()), prefectures.end());
  }
  return registry;
}

std::pair<size_t, size_t> DivisionRegistry::RowRange(absl::string_view code) const {
  const auto it = by_code_.find(code);
  if (it == by_code_.end()) return {0, 0};
  size_t first = it->second;
  while (first > 0 && divisions_[first - 1].code == code) --first;
  return {first, it->second + 1};
}

const Division* DivisionRegistry::Find(absl::string_view code) const {
  const auto it = by_code_.find(code);
  return it == by_code_.end() ? nullptr : &divisions_[it->second];
}

bool DivisionRegistry::IsProvincePrefix(absl::string_view prefix) const {
  if (!IsDigits(prefix, 2)) return false;
  const auto [first, last] = RowRange(absl::StrCat(prefix, "0000"));
  for (size_t i = first; i < last; ++i) {
    if (divisions_[i].level == DivisionLevel::kProvince) return true;
  }
  return false;
}

std::vector<std::string> DivisionRegistry::CurrentPrefectures(absl::string_view code) const {
  const auto it = by_code_.find(code);
  if (it == by_code_.end()) return {};
  return current_prefectures_[it->second];
}

std::vector<const Division*> DivisionRegistry::CountiesOf(absl::string_view prefecture_code,
                                                          bool include_retired) const {
  std::vector<const Division*> counties;
  for (size_t i = 0; i < divisions_.size(); ++i) {
    const Division& division = divisions_[i];
    if (division.level != DivisionLevel::kCounty) continue;
    if (!division.in_use() && !include_retired) continue;
    const std::vector<std::string>& prefectures = current_prefectures_[i];
    if (std::none_of(prefectures.begin(), prefectures.end(),
                     [&](const std::string& p) { return p == prefecture_code; })) {
      continue;
    }
    if (!counties.empty() && counties.back()->code == division.code) {
      counties.back() = &division;
    } else {
      counties.push_back(&division);
    }
  }
  return counties;
}

}  // namespace interop::identity
