#include "tools/mock_city/population.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "gateway/base/cities.h"
#include "gateway/identity/division_codes.h"
#include "gateway/identity/resident_id.h"

namespace interop::mock_city {
namespace {

using ::interop::identity::ComputeCheckCharacter;
using ::interop::identity::Division;
using ::interop::identity::DivisionLevel;
using ::interop::identity::DivisionRegistry;

// Everything random here comes from SplitMix64 (Steele, Lea and Flood, 2014): integer-only and
// fully specified, so the population is the same with every compiler and standard library.
constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;

uint64_t Mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t Combine(uint64_t a, uint64_t b) { return Mix64(Mix64(a + kGolden) ^ (b + 2 * kGolden)); }

uint64_t Combine(uint64_t a, uint64_t b, uint64_t c) { return Combine(Combine(a, b), c); }

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    state_ += kGolden;
    return Mix64(state_);
  }

  // Uniform in [0, n) for n > 0. The modulo bias is below n / 2^64, irrelevant for test data.
  int64_t Below(int64_t n) { return static_cast<int64_t>(Next() % static_cast<uint64_t>(n)); }

  // Uniform in [lo, hi], both inclusive; lo <= hi.
  int64_t Between(int64_t lo, int64_t hi) { return lo + Below(hi - lo + 1); }

  // True with probability permille / 1000.
  bool Permille(int permille) { return Below(1000) < permille; }

  // An index in [0, n) skewed towards the front (the minimum of two draws): for lists ordered from
  // most to least common.
  size_t FrontSkewed(size_t n) {
    int64_t a = Below(static_cast<int64_t>(n));
    int64_t b = Below(static_cast<int64_t>(n));
    return static_cast<size_t>(std::min(a, b));
  }

 private:
  uint64_t state_;
};

template <typename T, size_t N>
const T& Pick(Rng& rng, const std::array<T, N>& items) {
  return items[static_cast<size_t>(rng.Below(static_cast<int64_t>(N)))];
}

// ---------------------------------------------------------------------------------------------
// Names. Lists are ordered roughly from most to least common (Shanxi favourites such as 郭, 武,
// 贾, 闫, 郝, 霍 moved up), and are drawn front-skewed.

constexpr std::array<absl::string_view, 100> kSurnames = {
    "王", "李", "张", "刘", "郭", "赵", "杨", "武", "贾", "高", "陈", "田", "闫", "梁", "郝",
    "史", "冯", "吴", "孙", "韩", "薛", "霍", "段", "乔", "温", "白", "任", "周", "马", "宋",
    "黄", "徐", "胡", "朱", "程", "常", "曹", "董", "侯", "牛", "申", "樊", "裴", "范", "秦",
    "吕", "苏", "郑", "谢", "许", "袁", "邓", "彭", "曾", "崔", "康", "姚", "孟", "石", "卫",
    "贺", "阎", "魏", "岳", "成", "路", "聂", "雷", "米", "原", "尹", "翟", "燕", "弓", "畅",
    "靳", "柴", "药", "智", "降", "仇", "冀", "卢", "蔡", "丁", "姜", "潘", "杜", "戴", "夏",
    "钟", "汪", "方", "廖", "邹", "熊", "金", "陆", "孔", "毛"};

constexpr std::array<absl::string_view, 6> kCompoundSurnames = {"欧阳", "司马", "上官",
                                                                "令狐", "尉迟", "诸葛"};

constexpr std::array<absl::string_view, 60> kMaleGiven = {
    "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "刚", "平", "辉", "鹏", "华",
    "飞", "鑫", "波", "宇", "浩", "凯", "健", "俊", "帆", "帅", "旭", "宁", "龙", "林", "阳",
    "建", "国", "东", "文", "志", "海", "峰", "亮", "晨", "博", "轩", "睿", "泽", "宏", "成",
    "晋", "兵", "生", "福", "贵", "忠", "智", "瑞", "栋", "锋", "彬", "毅", "俊", "振", "利"};

constexpr std::array<absl::string_view, 60> kFemaleGiven = {
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀", "玲", "燕", "婷", "雪", "慧", "琳",
    "颖", "倩", "洁", "红", "梅", "丹", "萍", "佳", "悦", "欣", "怡", "琪", "涵", "璐", "晶",
    "蕾", "英", "兰", "珍", "凤", "桂", "荣", "莉", "薇", "云", "月", "霞", "瑶", "诗", "雨",
    "梦", "菲", "彤", "淑", "琴", "晓", "爱", "春", "美", "翠", "霏", "妍", "可", "馨", "蓉"};

std::string MakeName(Rng& rng, bool male) {
  std::string name;
  if (rng.Permille(4)) {
    name = std::string(Pick(rng, kCompoundSurnames));
  } else {
    name = std::string(kSurnames[rng.FrontSkewed(kSurnames.size())]);
  }
  const std::array<absl::string_view, 60>& given = male ? kMaleGiven : kFemaleGiven;
  const int length = rng.Permille(250) ? 1 : 2;
  for (int i = 0; i < length; ++i) {
    absl::string_view c = Pick(rng, given);
    name.append(c.data(), c.size());
  }
  return name;
}

// ---------------------------------------------------------------------------------------------
// Division codes of each city, prepared once per Generate().

struct CodeSpan {
  std::string code;
  int first_year = 0;
  int end_year = 0;  // exclusive; 0 if in use today
  bool InUseIn(int year) const { return first_year <= year && (end_year == 0 || year < end_year); }
};

struct CityCodes {
  City city = City::CITY_UNSPECIFIED;
  // Every county-level code, retired or in use, that lies today in the city alone.
  std::vector<CodeSpan> all;
  // The county-level codes in use today.
  std::vector<std::string> in_use;
  // For each code in `all`: the code in use today that replaced it (itself if in use; empty if the
  // successors cannot be followed to a single in-use county of the city).
  absl::flat_hash_map<std::string, std::string> today_county;
};

// The in-use county of `city` that `code` became, following successors breadth-first.
std::string FollowToInUse(const DivisionRegistry& registry, const std::string& code,
                          const absl::flat_hash_set<std::string>& in_use) {
  std::vector<std::string> frontier = {code};
  for (int depth = 0; depth < 6 && !frontier.empty(); ++depth) {
    std::vector<std::string> next;
    for (const std::string& c : frontier) {
      if (in_use.contains(c)) return c;
      const Division* division = registry.Find(c);
      if (division == nullptr) continue;
      for (const std::string& successor : division->successors) {
        // Successors may carry a "[YEAR]" suffix.
        next.push_back(successor.substr(0, successor.find('[')));
      }
    }
    frontier = std::move(next);
  }
  return "";
}

CityCodes LoadCityCodes(const DivisionRegistry& registry, City city) {
  CityCodes codes;
  codes.city = city;
  const std::string prefecture(CityDivisionCode(city));
  absl::flat_hash_map<std::string, size_t> index;
  for (const Division* division : registry.CountiesOf(prefecture, /*include_retired=*/true)) {
    if (division->level != DivisionLevel::kCounty || division->code.size() != 6 ||
        absl::string_view(division->code).substr(4) == "00") {
      continue;
    }
    const std::vector<std::string> prefectures = registry.CurrentPrefectures(division->code);
    if (prefectures.size() != 1 || prefectures[0] != prefecture) continue;
    // A code may appear in several rows (renamed or moved to another prefecture while keeping its
    // number): merge them into one span of years.
    auto [it, inserted] = index.try_emplace(division->code, codes.all.size());
    if (inserted) {
      codes.all.push_back({division->code, division->first_year, division->end_year});
    } else {
      CodeSpan& span = codes.all[it->second];
      span.first_year = std::min(span.first_year, division->first_year);
      span.end_year = (span.end_year == 0 || division->end_year == 0)
                          ? 0
                          : std::max(span.end_year, division->end_year);
    }
  }
  std::sort(codes.all.begin(), codes.all.end(),
            [](const CodeSpan& a, const CodeSpan& b) { return a.code < b.code; });
  absl::flat_hash_set<std::string> in_use;
  for (const CodeSpan& span : codes.all) {
    if (span.end_year == 0) {
      codes.in_use.push_back(span.code);
      in_use.insert(span.code);
    }
  }
  for (const CodeSpan& span : codes.all) {
    codes.today_county[span.code] = FollowToInUse(registry, span.code, in_use);
  }
  return codes;
}

// ---------------------------------------------------------------------------------------------
// Dates.

int DaysInMonth(int year, int month) {
  return static_cast<int>(absl::CivilDay(year, month + 1, 1) - absl::CivilDay(year, month, 1));
}

absl::CivilDay FirstDay(absl::CivilMonth month) {
  return absl::CivilDay(month.year(), month.month(), 1);
}

// The day `years` after `day` (29 February becomes 1 March in a common year).
absl::CivilDay AddYears(absl::CivilDay day, int years) {
  return absl::CivilDay(day.year() + years, day.month(), day.day());
}

int AgeOn(absl::CivilDay birth, absl::CivilDay on) {
  int age = static_cast<int>(on.year() - birth.year());
  if (on.month() < birth.month() || (on.month() == birth.month() && on.day() < birth.day())) --age;
  return age;
}

absl::CivilDay Clamp(absl::CivilDay day, absl::CivilDay lo, absl::CivilDay hi) {
  return std::max(lo, std::min(day, hi));
}

// A uniformly drawn day in [lo, hi]; lo if the range is empty.
absl::CivilDay DayBetween(Rng& rng, absl::CivilDay lo, absl::CivilDay hi) {
  if (hi <= lo) return lo;
  return lo + rng.Below(static_cast<int64_t>(hi - lo) + 1);
}

// Birth years by five-year band from 1935 (the last band is the single year 2020): a rough shape of
// Shanxi's age pyramid.
constexpr std::array<int, 18> kBirthBandWeights = {1, 2, 3, 5, 5, 6, 8, 7, 6,
                                                   7, 8, 7, 5, 4, 4, 5, 5, 1};

absl::CivilDay DrawBirthDate(Rng& rng, absl::CivilDay today) {
  int total = 0;
  for (int w : kBirthBandWeights) total += w;
  int pick = static_cast<int>(rng.Below(total));
  size_t band = 0;
  while (pick >= kBirthBandWeights[band]) pick -= kBirthBandWeights[band++];
  const int band_start = 1935 + 5 * static_cast<int>(band);
  const int band_years = band + 1 == kBirthBandWeights.size() ? 1 : 5;
  const int year = std::min(band_start + static_cast<int>(rng.Below(band_years)),
                            static_cast<int>(today.year()));
  const int month = static_cast<int>(rng.Between(1, 12));
  const int day = static_cast<int>(rng.Between(1, DaysInMonth(year, month)));
  return std::min(absl::CivilDay(year, month, day), today);
}

// ---------------------------------------------------------------------------------------------
// Cities.

// A city other than `exclude`; Taiyuan, the provincial capital, draws four times as many movers.
City OtherCity(Rng& rng, City exclude) {
  std::array<City, 4> candidates{};
  std::array<int, 4> weights{};
  int n = 0;
  int total = 0;
  for (City city : kAllCities) {
    if (city == exclude) continue;
    candidates[n] = city;
    weights[n] = city == City::CITY_TAIYUAN ? 4 : 1;
    total += weights[n];
    ++n;
  }
  int pick = static_cast<int>(rng.Below(total));
  for (int i = 0; i < n; ++i) {
    if (pick < weights[i]) return candidates[i];
    pick -= weights[i];
  }
  return candidates[0];
}

const std::string& AnyInUse(Rng& rng, const CityCodes& codes) {
  return codes.in_use[static_cast<size_t>(rng.Below(static_cast<int64_t>(codes.in_use.size())))];
}

// The county a person of `codes.city` lives in: mostly the county their number was issued in (as
// it is called today), otherwise any county of the city.
std::string LocalCounty(Rng& rng, const CityCodes& codes, const std::string& address_code,
                        int keep_permille) {
  auto it = codes.today_county.find(address_code);
  if (it != codes.today_county.end() && !it->second.empty() && rng.Permille(keep_permille)) {
    return it->second;
  }
  return AnyInUse(rng, codes);
}

// ---------------------------------------------------------------------------------------------
// Contributions.
//
// Rates, in basis points of the monthly wage base (national rules, Shanxi practice):
//   110 pension:       personal 8%; employer 20% up to 2019-04, 16% from 2019-05
//                      (国办发〔2019〕13号 cut the employer rate).
//   210 unemployment:  personal 0.5%, employer 0.5%.
//   310 medical:       from 2000-01 only (employee medical insurance started in Shanxi in
//                      1999-2001); personal 2%, employer 6%-7% by city (MedicalEmployerBp).
//   410 work injury:   from 2004-01 only (工伤保险条例 in force); employer only, 0.2%-1% by
//                      the employer's industry risk class, fixed per spell.
// Every amount is round-half-up of base * rate: (base * bp + 5000) / 10000, in integer fen.
// The wage base starts at the spell's initial_wage_base_fen and, every new calendar year of the
// spell, grows by 2%-8% (drawn per spell and year, rounded half up). About 1.5% of months other
// than a spell's first are unpaid (no record of any kind).

constexpr int64_t kBpDenominator = 10000;

int64_t RoundedShare(int64_t base_fen, int64_t bp) {
  return (base_fen * bp + kBpDenominator / 2) / kBpDenominator;
}

int64_t MedicalEmployerBp(City city) {
  switch (city) {
    case City::CITY_TAIYUAN:
      return 700;
    case City::CITY_YANGQUAN:
      return 650;
    case City::CITY_JINZHONG:
      return 600;
    case City::CITY_XINZHOU:
      return 600;
    case City::CITY_LVLIANG:
      return 650;
    default:
      return 600;
  }
}

constexpr std::array<int64_t, 6> kInjuryBp = {20, 40, 50, 60, 80, 100};
constexpr int kGapPermille = 15;

// Salt values that keep the independent streams of one person apart.
enum Stream : uint64_t {
  kStreamPerson = 1,
  kStreamContributions = 2,
  kStreamSpell = 3,
  kStreamGrowth = 4,
  kStreamGap = 5,
};

// ---------------------------------------------------------------------------------------------
// Employment.

constexpr int kMinWageBaseFen = 150000;
constexpr int kMaxWageBaseFen = 900000;

// An initial monthly wage base for a spell starting in `year`: 1,500-9,000 yuan, with the top of
// the range reached only by spells starting from 2012 (wages were lower in the 1990s).
int64_t DrawInitialWageBase(Rng& rng, int year) {
  const int64_t span = kMaxWageBaseFen - kMinWageBaseFen;
  const int64_t years_since = std::clamp(year - 1995, 0, 17);
  const int64_t top = kMinWageBaseFen + span * (5 + years_since) / 22;
  // Round to whole yuan, as bureaus do.
  return rng.Between(kMinWageBaseFen, top) / 100 * 100;
}

}  // namespace

Population Population::Generate(const PopulationOptions& options) {
  Population population;
  population.options_ = options;
  const absl::CivilDay today = options.today;
  const absl::CivilMonth this_month(today);
  const absl::CivilMonth first_contribution_month(1995, 1);

  const DivisionRegistry& registry = DivisionRegistry::Embedded();
  absl::flat_hash_map<City, CityCodes> city_codes;
  for (City city : kAllCities) city_codes[city] = LoadCityCodes(registry, city);

  const int per_city = std::max(0, options.persons_per_issuing_city);
  population.persons_.reserve(static_cast<size_t>(per_city) * kAllCities.size());
  population.by_id_.reserve(static_cast<size_t>(per_city) * kAllCities.size());

  for (City issuing_city : kAllCities) {
    const CityCodes& issuing_codes = city_codes[issuing_city];
    for (int index = 0; index < per_city; ++index) {
      const uint64_t person_seed =
          Combine(options.seed, static_cast<uint64_t>(issuing_city), static_cast<uint64_t>(index));
      Rng rng(Combine(person_seed, kStreamPerson));
      SyntheticPerson p;
      p.issuing_city = issuing_city;
      p.seed = Combine(person_seed, kStreamContributions);
      p.birth_date = DrawBirthDate(rng, today);
      const bool male = rng.Permille(510);
      const int birth_year = static_cast<int>(p.birth_date.year());

      // The year the number was first issued: at birth registration for people born from 1985; for
      // older people with the first identity cards (1984-1989), or at 16 for those still children
      // then.
      int issue_year = birth_year;
      if (birth_year < 1985) {
        issue_year = std::max(static_cast<int>(rng.Between(1984, 1989)), birth_year + 16);
      }
      issue_year = std::min(issue_year, static_cast<int>(today.year()));

      // Most numbers carry a code in use in the year of issue (retired since for many older
      // people); some were re-issued later under a code in use today.
      std::string address_code;
      if (rng.Permille(880)) {
        std::vector<const CodeSpan*> candidates;
        for (const CodeSpan& span : issuing_codes.all) {
          if (span.InUseIn(issue_year)) candidates.push_back(&span);
        }
        if (!candidates.empty()) {
          address_code =
              candidates[static_cast<size_t>(rng.Below(static_cast<int64_t>(candidates.size())))]
                  ->code;
        }
      }
      if (address_code.empty()) address_code = AnyInUse(rng, issuing_codes);

      // Sequence: odd for men (1-999), even for women (2-998); bumped by two while taken.
      int sequence = male ? static_cast<int>(2 * rng.Below(500) + 1)
                          : static_cast<int>(2 * rng.Below(499) + 2);
      std::string first17;
      for (int attempt = 0;; ++attempt) {
        first17 = absl::StrFormat("%s%04d%02d%02d%03d", address_code, birth_year,
                                  p.birth_date.month(), p.birth_date.day(), sequence);
        std::string id = first17;
        id.push_back(ComputeCheckCharacter(first17));
        if (!population.by_id_.contains(id)) {
          p.resident_id = std::move(id);
          break;
        }
        sequence += 2;
        if (sequence > 999) sequence = male ? 1 : 2;
        if (attempt > 500) {
          // Every sequence of the day is taken (never at these sizes): move to another county.
          address_code = AnyInUse(rng, issuing_codes);
          attempt = 0;
        }
      }
      p.name = MakeName(rng, male);

      const int age = AgeOn(p.birth_date, today);
      const int retirement_age = male ? 60 : (rng.Permille(500) ? 50 : 55);
      const absl::CivilMonth retirement_month =
          absl::CivilMonth(p.birth_date) + 12 * retirement_age;

      // Where the person lives and, unless their employment says otherwise, is insured.
      City home_city = issuing_city;
      if (rng.Permille(105)) home_city = OtherCity(rng, issuing_city);

      // Employment: urban employees contribute from their first job (age 18-22, never before the
      // records start in 1995-01) until retirement or today; a few left employment early.
      const bool employee = age >= 18 && rng.Permille(620);
      bool employed_now = false;
      if (employee) {
        const int start_age = static_cast<int>(rng.Between(18, 22));
        absl::CivilMonth start = absl::CivilMonth(p.birth_date) + 12 * start_age + rng.Below(12);
        start = std::max(start, first_contribution_month);
        absl::CivilMonth end = std::min(retirement_month - 1, this_month);
        employed_now = end == this_month;
        if (employed_now && start < end && rng.Permille(60)) {
          end = start + rng.Below(static_cast<int64_t>(end - start));
          employed_now = false;
        }
        if (start <= end) {
          const int64_t months = static_cast<int64_t>(end - start) + 1;
          if (months >= 48 && rng.Permille(140)) {
            // Two cities in sequence, sometimes with a few months between the jobs.
            const City first_city = rng.Permille(800) ? issuing_city : OtherCity(rng, issuing_city);
            const City second_city = OtherCity(rng, first_city);
            const absl::CivilMonth split = start + 12 + rng.Below(months - 24);
            const absl::CivilMonth resume = split + (rng.Permille(500) ? 0 : rng.Between(1, 6));
            // split lies in [start + 12, end - 12]: neither spell is shorter than seven months.
            const int64_t first_base = DrawInitialWageBase(rng, static_cast<int>(start.year()));
            const int64_t second_base = DrawInitialWageBase(rng, static_cast<int>(resume.year()));
            p.employment.push_back({first_city, start, split - 1, first_base});
            p.employment.push_back({second_city, resume, end, second_base});
          } else {
            const int64_t base = DrawInitialWageBase(rng, static_cast<int>(start.year()));
            p.employment.push_back({home_city, start, end, base});
          }
        } else {
          employed_now = false;
        }
      }
      const bool retired = employee && retirement_month <= this_month;

      // Medical insurance.
      MedicalEnrollment& medical = p.medical;
      p.has_medical = !rng.Permille(12);
      medical.city = home_city;
      if ((employed_now || retired) && !p.employment.empty()) {
        medical.city = p.employment.back().city;
      }
      const absl::CivilDay rollout_1999 = absl::CivilDay(1999, 1, 1) + rng.Below(3 * 365);
      if (employed_now || retired) {
        medical.insurance_type_code =
            (retired && birth_year <= 1940 && rng.Permille(150)) ? "340" : "310";
      } else {
        medical.insurance_type_code = "390";
      }
      const int status_draw = static_cast<int>(rng.Below(1000));
      medical.status_code = status_draw < 900 ? "1" : (status_draw < 970 ? "2" : "3");
      absl::CivilDay enrolled;
      if (medical.insurance_type_code == "390") {
        // Resident schemes: rural 2003-2008, urban 2007-2012; newborns within a few months.
        const absl::CivilDay scheme_start = absl::CivilDay(2003, 1, 1) + rng.Below(10 * 365);
        enrolled = std::max(p.birth_date + rng.Between(1, 120), scheme_start);
        if (!p.employment.empty()) {
          enrolled = std::max(enrolled, FirstDay(p.employment.back().last_month + 1));
        }
      } else {
        enrolled = rollout_1999;
        for (const EmploymentSpell& spell : p.employment) {
          if (spell.city == medical.city) {
            enrolled = std::max(FirstDay(spell.first_month), rollout_1999);
          }
        }
      }
      medical.enrollment_date = Clamp(enrolled, p.birth_date, today);
      if (medical.insurance_type_code == "310") {
        medical.balance_fen = rng.Between(500, 2500000);
      } else if (medical.insurance_type_code == "340") {
        medical.balance_fen = rng.Between(10000, 5000000);
      }
      medical.insured_region_code =
          medical.city == issuing_city
              ? LocalCounty(rng, city_codes[medical.city], address_code, 700)
              : AnyInUse(rng, city_codes[medical.city]);
      if (!p.has_medical) p.medical = MedicalEnrollment();

      // Household registration: many who live elsewhere moved their registration too.
      HouseholdRegistration& household = p.household;
      household.city = issuing_city;
      if (home_city != issuing_city || (p.has_medical && medical.city != issuing_city)) {
        const City living_city = p.has_medical ? medical.city : home_city;
        if (living_city != issuing_city && rng.Permille(550)) household.city = living_city;
      } else if (rng.Permille(25)) {
        household.city = OtherCity(rng, issuing_city);
      }
      household.address_code = household.city == issuing_city
                                   ? LocalCounty(rng, city_codes[household.city], address_code, 650)
                                   : AnyInUse(rng, city_codes[household.city]);
      household.household_number = absl::StrCat(rng.Between(100000000, 999999999));
      household.household_type_code = "1";
      const int relation_draw = static_cast<int>(rng.Below(100));
      if (age < 18) {
        household.relation_code = relation_draw < 85 ? "20" : "30";
      } else if (age <= 30) {
        household.relation_code = relation_draw < 35   ? "02"
                                  : relation_draw < 60 ? "10"
                                  : relation_draw < 95 ? "20"
                                                       : "99";
        if (rng.Permille(250)) {
          household.household_type_code = "2";
          household.relation_code = rng.Permille(800) ? "99" : "02";
        }
      } else if (age < 60) {
        household.relation_code = relation_draw < 50   ? "02"
                                  : relation_draw < 90 ? "10"
                                  : relation_draw < 95 ? "20"
                                                       : "99";
      } else {
        household.relation_code = relation_draw < 50   ? "02"
                                  : relation_draw < 80 ? "10"
                                  : relation_draw < 98 ? "50"
                                                       : "99";
      }
      absl::CivilDay since;
      if (household.household_type_code == "2") {
        since = AddYears(p.birth_date, static_cast<int>(rng.Between(18, 22))) + rng.Below(365);
      } else if (household.city == issuing_city) {
        // Registered at birth; the household register itself dates from 1958.
        since = p.birth_date + rng.Between(1, 90);
        if (since < absl::CivilDay(1958, 1, 1)) {
          since = absl::CivilDay(1958, 1, 1) + rng.Below(3 * 365);
        }
      } else {
        // Moved the registration as an adult (children with their parents), after starting work
        // there if they did.
        absl::CivilDay lo = age >= 18 ? AddYears(p.birth_date, 18) : p.birth_date + 1;
        for (const EmploymentSpell& spell : p.employment) {
          if (spell.city == household.city) lo = std::max(lo, FirstDay(spell.first_month));
        }
        since = DayBetween(rng, lo, today);
      }
      household.registered_since = Clamp(since, p.birth_date, today);

      population.by_id_.emplace(p.resident_id, population.persons_.size());
      population.persons_.push_back(std::move(p));
    }
  }
  return population;
}

const SyntheticPerson* Population::Find(absl::string_view resident_id) const {
  auto it = by_id_.find(resident_id);
  return it == by_id_.end() ? nullptr : &persons_[it->second];
}

std::vector<ContributionMonth> Population::Contributions(const SyntheticPerson& person, City city,
                                                         int from_year, int to_year) const {
  std::vector<ContributionMonth> months;
  const absl::CivilMonth pension_cut(2019, 5);
  const absl::CivilMonth medical_start(2000, 1);
  const absl::CivilMonth injury_start(2004, 1);
  for (size_t s = 0; s < person.employment.size(); ++s) {
    const EmploymentSpell& spell = person.employment[s];
    if (city != City::CITY_UNSPECIFIED && spell.city != city) continue;
    if (to_year != 0 && spell.first_month.year() > to_year) continue;
    if (from_year != 0 && spell.last_month.year() < from_year) continue;
    Rng spell_rng(Combine(person.seed, kStreamSpell, s));
    const int64_t injury_bp = Pick(spell_rng, kInjuryBp);
    const int64_t medical_employer_bp = MedicalEmployerBp(spell.city);
    int64_t base = spell.initial_wage_base_fen;
    for (absl::CivilMonth month = spell.first_month; month <= spell.last_month; ++month) {
      const int year = static_cast<int>(month.year());
      if (month != spell.first_month && month.month() == 1) {
        Rng growth_rng(Combine(person.seed, kStreamGrowth, Combine(s, year)));
        base = RoundedShare(base, kBpDenominator + growth_rng.Between(200, 800));
      }
      if ((from_year != 0 && year < from_year) || (to_year != 0 && year > to_year)) continue;
      if (month != spell.first_month) {
        const uint64_t month_key = static_cast<uint64_t>(year * 12 + month.month());
        Rng gap_rng(Combine(person.seed, kStreamGap, Combine(s, month_key)));
        if (gap_rng.Permille(kGapPermille)) continue;
      }
      auto add = [&](const char* kind, int64_t personal_bp, int64_t employer_bp) {
        ContributionMonth c;
        c.city = spell.city;
        c.kind_code = kind;
        c.month = month;
        c.wage_base_fen = base;
        c.personal_fen = RoundedShare(base, personal_bp);
        c.employer_fen = RoundedShare(base, employer_bp);
        months.push_back(std::move(c));
      };
      add("110", 800, month < pension_cut ? 2000 : 1600);
      add("210", 50, 50);
      if (month >= medical_start) add("310", 200, medical_employer_bp);
      if (month >= injury_start) add("410", 0, injury_bp);
    }
  }
  return months;
}

bool Population::HasContributionsIn(const SyntheticPerson& person, City city) {
  for (const EmploymentSpell& spell : person.employment) {
    if (spell.city == city) return true;
  }
  return false;
}

}  // namespace interop::mock_city
