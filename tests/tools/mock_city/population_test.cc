#include "tools/mock_city/population.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "gateway/base/cities.h"
#include "gateway/identity/division_codes.h"
#include "gateway/identity/resident_id.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::mock_city {
namespace {

using ::interop::identity::Division;
using ::interop::identity::DivisionLevel;
using ::interop::identity::DivisionRegistry;
using ::interop::identity::ParseResidentId;
using ::interop::identity::ResidentId;

constexpr absl::CivilDay kToday(2026, 6, 30);

const Population& DefaultPopulation() {
  static const Population* const population = [] {
    const auto start = std::chrono::steady_clock::now();
    auto* generated = new Population(Population::Generate(PopulationOptions()));
    const auto elapsed = std::chrono::steady_clock::now() - start;
    std::printf("Generate(default options): %zu persons in %lld ms\n", generated->persons().size(),
                static_cast<long long>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()));
    return generated;
  }();
  return *population;
}

std::string Describe(const SyntheticPerson& p) {
  std::string out = absl::StrCat(
      p.resident_id, "|", p.name, "|", p.issuing_city, "|", absl::FormatCivilTime(p.birth_date),
      "|", p.has_medical, "|", p.seed, "|M:", p.medical.city, ",", p.medical.insured_region_code,
      ",", p.medical.insurance_type_code, ",", p.medical.status_code, ",",
      absl::FormatCivilTime(p.medical.enrollment_date), ",", p.medical.balance_fen,
      "|H:", p.household.city, ",", p.household.address_code, ",", p.household.household_number,
      ",", p.household.relation_code, ",", p.household.household_type_code, ",",
      absl::FormatCivilTime(p.household.registered_since), "|E:");
  for (const EmploymentSpell& spell : p.employment) {
    absl::StrAppend(&out, spell.city, ",", absl::FormatCivilTime(spell.first_month), ",",
                    absl::FormatCivilTime(spell.last_month), ",", spell.initial_wage_base_fen, ";");
  }
  return out;
}

std::string Describe(const ContributionMonth& c) {
  return absl::StrCat(c.city, ",", c.kind_code, ",", absl::FormatCivilTime(c.month), ",",
                      c.wage_base_fen, ",", c.personal_fen, ",", c.employer_fen);
}

std::vector<std::string> Describe(const std::vector<ContributionMonth>& months) {
  std::vector<std::string> out;
  out.reserve(months.size());
  for (const ContributionMonth& c : months) out.push_back(Describe(c));
  return out;
}

int AgeOn(absl::CivilDay birth, absl::CivilDay on) {
  int age = static_cast<int>(on.year() - birth.year());
  if (std::make_pair(on.month(), on.day()) < std::make_pair(birth.month(), birth.day())) --age;
  return age;
}

// True if `code` is a county-level code in use today that lies in `city`.
bool IsInUseCountyOf(absl::string_view code, City city) {
  const DivisionRegistry& registry = DivisionRegistry::Embedded();
  const Division* division = registry.Find(code);
  if (division == nullptr || !division->in_use() || division->level != DivisionLevel::kCounty) {
    return false;
  }
  return registry.CurrentPrefectures(code) ==
         std::vector<std::string>{std::string(CityDivisionCode(city))};
}

// Persons with employment history, the first `limit` of them.
std::vector<const SyntheticPerson*> Employed(const Population& population, size_t limit) {
  std::vector<const SyntheticPerson*> out;
  for (const SyntheticPerson& p : population.persons()) {
    if (!p.employment.empty()) out.push_back(&p);
    if (out.size() == limit) break;
  }
  return out;
}

TEST(PopulationTest, SameOptionsGiveTheSamePopulation) {
  const Population& first = DefaultPopulation();
  const Population second = Population::Generate(PopulationOptions());
  ASSERT_EQ(first.persons().size(), second.persons().size());
  for (size_t i = 0; i < first.persons().size(); ++i) {
    ASSERT_EQ(Describe(first.persons()[i]), Describe(second.persons()[i])) << "person " << i;
  }
  for (const SyntheticPerson* p : Employed(first, 200)) {
    EXPECT_EQ(Describe(first.Contributions(*p, City::CITY_UNSPECIFIED)),
              Describe(second.Contributions(*second.Find(p->resident_id), City::CITY_UNSPECIFIED)));
  }
}

TEST(PopulationTest, PersonsDependOnlyOnSeedCityAndIndex) {
  PopulationOptions options;
  options.persons_per_issuing_city = 100;
  const Population small = Population::Generate(options);
  const std::vector<SyntheticPerson>& all = DefaultPopulation().persons();
  for (size_t city = 0; city < kAllCities.size(); ++city) {
    for (size_t i = 0; i < 100; ++i) {
      EXPECT_EQ(Describe(small.persons()[city * 100 + i]), Describe(all[city * 12000 + i]));
    }
  }
}

// 64-bit FNV-1a.
uint64_t Fingerprint(absl::string_view text, uint64_t hash = 0xcbf29ce484222325ULL) {
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

TEST(PopulationTest, GoldenFingerprintIsTheSameOnEveryMachine) {
  // Pins the generator: a change here changes every mock city's data (update the constants on
  // purpose, never to silence a platform difference).
  PopulationOptions options;
  options.persons_per_issuing_city = 200;
  const Population population = Population::Generate(options);
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const SyntheticPerson& p : population.persons()) {
    hash = Fingerprint(Describe(p), hash);
    for (const ContributionMonth& c : population.Contributions(p, City::CITY_UNSPECIFIED)) {
      hash = Fingerprint(Describe(c), hash);
    }
  }
  EXPECT_EQ(population.persons().front().resident_id, "140122195304164512");
  EXPECT_EQ(population.persons().front().name, "申飞亮");
  EXPECT_EQ(absl::StrFormat("%016x", hash), "67498d5881a1b46e");
}

TEST(PopulationTest, DifferentSeedGivesADifferentPopulation) {
  PopulationOptions options;
  options.persons_per_issuing_city = 1000;
  const Population a = Population::Generate(options);
  options.seed += 1;
  const Population b = Population::Generate(options);
  ASSERT_EQ(a.persons().size(), b.persons().size());
  int different = 0;
  for (size_t i = 0; i < a.persons().size(); ++i) {
    if (a.persons()[i].resident_id != b.persons()[i].resident_id) ++different;
  }
  EXPECT_GT(different, static_cast<int>(a.persons().size()) * 95 / 100);
}

TEST(PopulationTest, HoldsTheRequestedNumberOfPersonsPerIssuingCity) {
  PopulationOptions options;
  options.persons_per_issuing_city = 321;
  const Population small = Population::Generate(options);
  absl::flat_hash_map<City, int> per_city;
  for (const SyntheticPerson& p : small.persons()) ++per_city[p.issuing_city];
  ASSERT_EQ(per_city.size(), 5u);
  for (City city : kAllCities) EXPECT_EQ(per_city[city], 321) << CityName(city);

  absl::flat_hash_map<City, int> default_per_city;
  for (const SyntheticPerson& p : DefaultPopulation().persons()) ++default_per_city[p.issuing_city];
  for (City city : kAllCities) EXPECT_EQ(default_per_city[city], 12000) << CityName(city);
}

TEST(PopulationTest, IdentityNumbersAreValidUniqueAndIssuedInTheirCity) {
  const Population& population = DefaultPopulation();
  const DivisionRegistry& registry = DivisionRegistry::Embedded();
  absl::flat_hash_set<std::string> seen;
  for (const SyntheticPerson& p : population.persons()) {
    absl::StatusOr<ResidentId> id = ParseResidentId(p.resident_id, kToday);
    ASSERT_TRUE(id.ok()) << p.resident_id << ": " << id.status();
    EXPECT_EQ(id->number, p.resident_id);
    EXPECT_FALSE(id->upgraded_from_legacy);
    EXPECT_EQ(id->birth_date, p.birth_date) << p.resident_id;
    EXPECT_GE(p.birth_date, absl::CivilDay(1935, 1, 1));
    EXPECT_LE(p.birth_date, absl::CivilDay(2020, 12, 31));
    EXPECT_GE(id->sequence, 1);
    EXPECT_EQ(registry.CurrentPrefectures(id->address_code),
              std::vector<std::string>{std::string(CityDivisionCode(p.issuing_city))})
        << p.resident_id;
    const Division* division = registry.Find(id->address_code);
    ASSERT_NE(division, nullptr) << p.resident_id;
    EXPECT_EQ(division->level, DivisionLevel::kCounty) << p.resident_id;
    EXPECT_TRUE(seen.insert(p.resident_id).second) << "duplicate " << p.resident_id;
  }
}

TEST(PopulationTest, SequenceParityMatchesSexAsSeenInRetirementAges) {
  // Men retire at 60, women at 50 or 55: no woman (even sequence) pays after her 55th birthday
  // month, and many men pay between their 55th and 60th.
  int men = 0;
  int women = 0;
  int men_paying_after_55 = 0;
  for (const SyntheticPerson& p : DefaultPopulation().persons()) {
    const bool male = (p.resident_id[16] - '0') % 2 == 1;
    (male ? men : women)++;
    if (p.employment.empty()) continue;
    const absl::CivilMonth born(p.birth_date);
    const absl::CivilMonth last = p.employment.back().last_month;
    if (male) {
      EXPECT_LT(last, born + 60 * 12) << p.resident_id;
      if (last >= born + 55 * 12) ++men_paying_after_55;
    } else {
      EXPECT_LT(last, born + 55 * 12) << p.resident_id;
    }
  }
  EXPECT_GT(men, 27000);
  EXPECT_GT(women, 27000);
  EXPECT_GT(men_paying_after_55, 500);
}

TEST(PopulationTest, NamesAreChineseInUtf8) {
  absl::flat_hash_set<std::string> names;
  for (const SyntheticPerson& p : DefaultPopulation().persons()) {
    // Two to four CJK characters (three UTF-8 bytes each, lead byte 0xE4-0xE9).
    ASSERT_GE(p.name.size(), 6u) << p.resident_id;
    ASSERT_LE(p.name.size(), 12u) << p.resident_id;
    ASSERT_EQ(p.name.size() % 3, 0u) << p.resident_id;
    for (size_t i = 0; i < p.name.size(); i += 3) {
      const auto lead = static_cast<unsigned char>(p.name[i]);
      EXPECT_TRUE(lead >= 0xE4 && lead <= 0xE9) << p.name;
      EXPECT_EQ(static_cast<unsigned char>(p.name[i + 1]) & 0xC0, 0x80) << p.name;
      EXPECT_EQ(static_cast<unsigned char>(p.name[i + 2]) & 0xC0, 0x80) << p.name;
    }
    names.insert(p.name);
  }
  EXPECT_GT(names.size(), 20000u);
}

TEST(PopulationTest, EveryCityHoldsRecordsOfAtLeastTenThousandPersons) {
  absl::flat_hash_map<City, int> held;
  for (const SyntheticPerson& p : DefaultPopulation().persons()) {
    for (City city : kAllCities) {
      if ((p.has_medical && p.medical.city == city) || p.household.city == city) ++held[city];
    }
  }
  for (City city : kAllCities) EXPECT_GE(held[city], 10000) << CityName(city);
}

TEST(PopulationTest, SomePersonsMovedBetweenCities) {
  const Population& population = DefaultPopulation();
  const int total = static_cast<int>(population.persons().size());
  int insured_elsewhere = 0;
  int registered_elsewhere = 0;
  int two_city_contributors = 0;
  int no_medical = 0;
  for (const SyntheticPerson& p : population.persons()) {
    if (!p.has_medical) {
      ++no_medical;
      EXPECT_EQ(p.medical.city, City::CITY_UNSPECIFIED);
      EXPECT_TRUE(p.medical.insurance_type_code.empty());
    } else if (p.medical.city != p.issuing_city) {
      ++insured_elsewhere;
    }
    if (p.household.city != p.issuing_city) ++registered_elsewhere;
    int cities = 0;
    for (City city : kAllCities) cities += Population::HasContributionsIn(p, city) ? 1 : 0;
    if (cities >= 2) ++two_city_contributors;
  }
  EXPECT_GT(insured_elsewhere, total * 10 / 100);
  EXPECT_LT(insured_elsewhere, total * 20 / 100);
  EXPECT_GT(registered_elsewhere, total * 6 / 100);
  EXPECT_LT(registered_elsewhere, total * 14 / 100);
  EXPECT_GT(two_city_contributors, total * 1 / 100);
  EXPECT_GT(no_medical, 0);
  EXPECT_LT(no_medical, total * 3 / 100);
}

TEST(PopulationTest, RegionAndAddressCodesAreInUseCountiesOfTheirCity) {
  for (const SyntheticPerson& p : DefaultPopulation().persons()) {
    if (p.has_medical) {
      EXPECT_TRUE(IsInUseCountyOf(p.medical.insured_region_code, p.medical.city))
          << p.resident_id << " insured in " << p.medical.insured_region_code;
    }
    EXPECT_TRUE(IsInUseCountyOf(p.household.address_code, p.household.city))
        << p.resident_id << " registered at " << p.household.address_code;
  }
}

TEST(PopulationTest, RetiredCodesAppearOnOlderNumbersOnly) {
  const DivisionRegistry& registry = DivisionRegistry::Embedded();
  int retired = 0;
  absl::flat_hash_map<std::string, int> by_old_prefecture;
  for (const SyntheticPerson& p : DefaultPopulation().persons()) {
    const std::string code = p.resident_id.substr(0, 6);
    const Division* division = registry.Find(code);
    ASSERT_NE(division, nullptr) << p.resident_id;
    if (division->in_use()) continue;
    ++retired;
    ++by_old_prefecture[code.substr(0, 4)];
    // The code was still in use when the number was issued, which is never before birth.
    EXPECT_GT(division->end_year, p.birth_date.year()) << p.resident_id;
  }
  EXPECT_GT(retired, 5000);
  EXPECT_GT(by_old_prefecture["1422"], 1000);  // 忻州地区, today Xinzhou
  EXPECT_GT(by_old_prefecture["1423"], 1000);  // 吕梁地区, today Lüliang
  EXPECT_GT(by_old_prefecture["1424"], 1000);  // 晋中地区, today Jinzhong
}

TEST(PopulationTest, MedicalEnrollmentsArePlausible) {
  const absl::CivilMonth this_month(kToday);
  absl::flat_hash_map<std::string, int> types;
  absl::flat_hash_map<std::string, int> statuses;
  for (const SyntheticPerson& p : DefaultPopulation().persons()) {
    if (!p.has_medical) continue;
    const MedicalEnrollment& m = p.medical;
    ++types[m.insurance_type_code];
    ++statuses[m.status_code];
    EXPECT_GE(m.enrollment_date, p.birth_date) << p.resident_id;
    EXPECT_LE(m.enrollment_date, kToday) << p.resident_id;
    if (m.insurance_type_code == "390") {
      EXPECT_EQ(m.balance_fen, 0) << p.resident_id;
    } else {
      EXPECT_GT(m.balance_fen, 0) << p.resident_id;
    }
    if (AgeOn(p.birth_date, kToday) < 18) {
      EXPECT_EQ(m.insurance_type_code, "390") << p.resident_id;
    }
    if (m.insurance_type_code == "340") {
      EXPECT_LE(p.birth_date.year(), 1940) << p.resident_id;
    }
    const bool employed_now = !p.employment.empty() && p.employment.back().last_month == this_month;
    if (employed_now) {
      EXPECT_EQ(m.insurance_type_code, "310") << p.resident_id;
      EXPECT_EQ(m.city, p.employment.back().city) << p.resident_id;
    }
  }
  EXPECT_EQ(types.size(), 3u);
  EXPECT_GT(types["310"], 15000);
  EXPECT_GT(types["390"], 15000);
  EXPECT_GT(types["340"], 0);
  EXPECT_LT(types["340"], 600);
  EXPECT_EQ(statuses.size(), 3u);
  EXPECT_GT(statuses["1"], statuses["2"]);
  EXPECT_GT(statuses["2"], statuses["3"]);
  EXPECT_GT(statuses["3"], 0);
}

TEST(PopulationTest, HouseholdRegistrationsArePlausible) {
  absl::flat_hash_map<std::string, int> relations;
  absl::flat_hash_map<std::string, int> types;
  for (const SyntheticPerson& p : DefaultPopulation().persons()) {
    const HouseholdRegistration& h = p.household;
    ASSERT_EQ(h.household_number.size(), 9u) << p.resident_id;
    EXPECT_TRUE(std::all_of(h.household_number.begin(), h.household_number.end(), [](char c) {
      return absl::ascii_isdigit(c);
    })) << h.household_number;
    EXPECT_GE(h.registered_since, p.birth_date) << p.resident_id;
    EXPECT_LE(h.registered_since, kToday) << p.resident_id;
    ++relations[h.relation_code];
    ++types[h.household_type_code];
  }
  EXPECT_EQ(relations.size(), 6u);
  for (const char* code : {"02", "10", "20", "30", "50", "99"}) {
    EXPECT_GT(relations[code], 100) << code;
  }
  EXPECT_EQ(types.size(), 2u);
  EXPECT_GT(types["1"], types["2"]);
  EXPECT_GT(types["2"], 1000);
}

TEST(PopulationTest, EmploymentSpellsArePlausible) {
  const absl::CivilMonth this_month(kToday);
  for (const SyntheticPerson& p : DefaultPopulation().persons()) {
    const absl::CivilMonth born(p.birth_date);
    for (size_t i = 0; i < p.employment.size(); ++i) {
      const EmploymentSpell& spell = p.employment[i];
      EXPECT_NE(spell.city, City::CITY_UNSPECIFIED);
      EXPECT_LE(spell.first_month, spell.last_month) << p.resident_id;
      EXPECT_GE(spell.first_month, absl::CivilMonth(1995, 1)) << p.resident_id;
      EXPECT_GE(spell.first_month, born + 18 * 12) << p.resident_id;
      EXPECT_LE(spell.last_month, this_month) << p.resident_id;
      EXPECT_GE(spell.initial_wage_base_fen, 150000) << p.resident_id;
      EXPECT_LE(spell.initial_wage_base_fen, 900000) << p.resident_id;
      if (i > 0) {
        EXPECT_GT(spell.first_month, p.employment[i - 1].last_month) << p.resident_id;
        EXPECT_NE(spell.city, p.employment[i - 1].city) << p.resident_id;
      }
    }
  }
}

// The rates the population documents: pension employer 20% before 2019-05 and 16% after,
// medical employer 6%-7% by city, injury 0.2%-1%, everything rounded half up.
int64_t HalfUp(int64_t base, int64_t basis_points) { return (base * basis_points + 5000) / 10000; }

TEST(PopulationTest, ContributionAmountsFollowTheRates) {
  const Population& population = DefaultPopulation();
  int checked = 0;
  for (const SyntheticPerson* p : Employed(population, 500)) {
    for (const ContributionMonth& c : population.Contributions(*p, City::CITY_UNSPECIFIED)) {
      ++checked;
      ASSERT_GT(c.wage_base_fen, 0);
      if (c.kind_code == "110") {
        EXPECT_EQ(c.personal_fen, HalfUp(c.wage_base_fen, 800)) << Describe(c);
        EXPECT_EQ(c.employer_fen,
                  HalfUp(c.wage_base_fen, c.month < absl::CivilMonth(2019, 5) ? 2000 : 1600))
            << Describe(c);
      } else if (c.kind_code == "210") {
        EXPECT_EQ(c.personal_fen, HalfUp(c.wage_base_fen, 50)) << Describe(c);
        EXPECT_EQ(c.employer_fen, HalfUp(c.wage_base_fen, 50)) << Describe(c);
      } else if (c.kind_code == "310") {
        EXPECT_GE(c.month, absl::CivilMonth(2000, 1)) << Describe(c);
        EXPECT_EQ(c.personal_fen, HalfUp(c.wage_base_fen, 200)) << Describe(c);
        EXPECT_GE(c.employer_fen, HalfUp(c.wage_base_fen, 600)) << Describe(c);
        EXPECT_LE(c.employer_fen, HalfUp(c.wage_base_fen, 800)) << Describe(c);
      } else if (c.kind_code == "410") {
        EXPECT_GE(c.month, absl::CivilMonth(2004, 1)) << Describe(c);
        EXPECT_EQ(c.personal_fen, 0) << Describe(c);
        EXPECT_GE(c.employer_fen, HalfUp(c.wage_base_fen, 20)) << Describe(c);
        EXPECT_LE(c.employer_fen, HalfUp(c.wage_base_fen, 100)) << Describe(c);
      } else {
        ADD_FAILURE() << "unexpected kind " << Describe(c);
      }
    }
  }
  EXPECT_GT(checked, 100000);
}

TEST(PopulationTest, RoundingIsHalfUp) {
  // 8% of 150,006 fen is 12,000.48 -> 12,000; 0.5% of 150,100 fen is 750.5 -> 751.
  EXPECT_EQ(HalfUp(150006, 800), 12000);
  EXPECT_EQ(HalfUp(150100, 50), 751);
  // Find a real row whose 0.5% share has a half fen to round, and check it rounded up.
  const Population& population = DefaultPopulation();
  bool found = false;
  for (const SyntheticPerson* p : Employed(population, 2000)) {
    for (const ContributionMonth& c : population.Contributions(*p, City::CITY_UNSPECIFIED)) {
      if (c.kind_code == "210" && (c.wage_base_fen * 50) % 10000 == 5000) {
        EXPECT_EQ(c.personal_fen * 10000, c.wage_base_fen * 50 + 5000) << Describe(c);
        found = true;
        break;
      }
    }
    if (found) break;
  }
  EXPECT_TRUE(found);
}

TEST(PopulationTest, ContributionsAreSortedAndLieInsideSpells) {
  const Population& population = DefaultPopulation();
  for (const SyntheticPerson* p : Employed(population, 1000)) {
    const std::vector<ContributionMonth> months =
        population.Contributions(*p, City::CITY_UNSPECIFIED);
    int64_t spell_months = 0;
    for (const EmploymentSpell& spell : p->employment) {
      spell_months += spell.last_month - spell.first_month + 1;
    }
    absl::flat_hash_set<absl::CivilMonth> paid;
    for (size_t i = 0; i < months.size(); ++i) {
      const ContributionMonth& c = months[i];
      paid.insert(c.month);
      if (i > 0) {
        const ContributionMonth& prev = months[i - 1];
        EXPECT_LT(std::tie(prev.month, prev.kind_code), std::tie(c.month, c.kind_code))
            << p->resident_id;
        if (prev.month == c.month) {
          EXPECT_EQ(prev.wage_base_fen, c.wage_base_fen) << p->resident_id;
        }
        if (prev.city == c.city && prev.month.year() == c.month.year()) {
          EXPECT_EQ(prev.wage_base_fen, c.wage_base_fen) << p->resident_id;
        }
        if (prev.city == c.city) {
          EXPECT_GE(c.wage_base_fen, prev.wage_base_fen) << p->resident_id;
        }
      }
      const bool in_spell = std::any_of(
          p->employment.begin(), p->employment.end(), [&](const EmploymentSpell& spell) {
            return spell.city == c.city && spell.first_month <= c.month &&
                   c.month <= spell.last_month;
          });
      EXPECT_TRUE(in_spell) << p->resident_id << " " << Describe(c);
    }
    // A few gap months, never many.
    EXPECT_LE(static_cast<int64_t>(paid.size()), spell_months);
    EXPECT_GE(static_cast<int64_t>(paid.size()) * 100, spell_months * 85) << p->resident_id;
    for (const EmploymentSpell& spell : p->employment) {
      EXPECT_TRUE(paid.contains(spell.first_month)) << p->resident_id;
    }
  }
}

TEST(PopulationTest, SomeMonthsAreUnpaid) {
  const Population& population = DefaultPopulation();
  int64_t spell_months = 0;
  int64_t paid_months = 0;
  for (const SyntheticPerson* p : Employed(population, 1000)) {
    for (const EmploymentSpell& spell : p->employment) {
      spell_months += spell.last_month - spell.first_month + 1;
    }
    absl::flat_hash_set<absl::CivilMonth> paid;
    for (const ContributionMonth& c : population.Contributions(*p, City::CITY_UNSPECIFIED)) {
      paid.insert(c.month);
    }
    paid_months += static_cast<int64_t>(paid.size());
  }
  EXPECT_LT(paid_months, spell_months);
  EXPECT_GT(paid_months * 100, spell_months * 95);
}

TEST(PopulationTest, ContributionsFilterByYearsAndCity) {
  const Population& population = DefaultPopulation();
  int two_city_persons = 0;
  for (const SyntheticPerson* p : Employed(population, 400)) {
    const std::vector<ContributionMonth> all = population.Contributions(*p, City::CITY_UNSPECIFIED);
    const int from = 2010;
    const int to = 2015;
    std::vector<ContributionMonth> expected;
    for (const ContributionMonth& c : all) {
      if (c.month.year() >= from && c.month.year() <= to) expected.push_back(c);
    }
    EXPECT_EQ(Describe(population.Contributions(*p, City::CITY_UNSPECIFIED, from, to)),
              Describe(expected))
        << p->resident_id;
    std::vector<ContributionMonth> from_only;
    for (const ContributionMonth& c : all) {
      if (c.month.year() >= from) from_only.push_back(c);
    }
    EXPECT_EQ(Describe(population.Contributions(*p, City::CITY_UNSPECIFIED, from, 0)),
              Describe(from_only));
    std::vector<ContributionMonth> to_only;
    for (const ContributionMonth& c : all) {
      if (c.month.year() <= to) to_only.push_back(c);
    }
    EXPECT_EQ(Describe(population.Contributions(*p, City::CITY_UNSPECIFIED, 0, to)),
              Describe(to_only));

    std::vector<std::string> merged;
    int cities = 0;
    for (City city : kAllCities) {
      const std::vector<ContributionMonth> in_city = population.Contributions(*p, city);
      EXPECT_EQ(Population::HasContributionsIn(*p, city), !in_city.empty()) << p->resident_id;
      for (const ContributionMonth& c : in_city) {
        EXPECT_EQ(c.city, city);
        merged.push_back(Describe(c));
      }
      if (!in_city.empty()) ++cities;
    }
    std::vector<std::string> all_described = Describe(all);
    std::sort(merged.begin(), merged.end());
    std::sort(all_described.begin(), all_described.end());
    EXPECT_EQ(merged, all_described) << p->resident_id;
    if (cities == 2) ++two_city_persons;
  }
  EXPECT_GT(two_city_persons, 0);
}

TEST(PopulationTest, SplitHistoriesChangeCityAndStayDisjoint) {
  const Population& population = DefaultPopulation();
  const SyntheticPerson* example = nullptr;
  for (const SyntheticPerson& p : population.persons()) {
    if (p.employment.size() == 2 && p.employment[0].city == p.issuing_city &&
        p.employment[1].last_month == absl::CivilMonth(kToday)) {
      example = &p;
      break;
    }
  }
  ASSERT_NE(example, nullptr);
  const City first = example->employment[0].city;
  const City second = example->employment[1].city;
  ASSERT_NE(first, second);
  EXPECT_EQ(example->medical.city, second);
  for (const ContributionMonth& c : population.Contributions(*example, first)) {
    EXPECT_LE(c.month, example->employment[0].last_month);
  }
  for (const ContributionMonth& c : population.Contributions(*example, second)) {
    EXPECT_GE(c.month, example->employment[1].first_month);
  }
  EXPECT_FALSE(population.Contributions(*example, first).empty());
  EXPECT_FALSE(population.Contributions(*example, second).empty());
}

TEST(PopulationTest, PersonsWithoutEmploymentHaveNoContributions) {
  const Population& population = DefaultPopulation();
  int checked = 0;
  for (const SyntheticPerson& p : population.persons()) {
    if (!p.employment.empty()) continue;
    EXPECT_TRUE(population.Contributions(p, City::CITY_UNSPECIFIED).empty());
    for (City city : kAllCities) EXPECT_FALSE(Population::HasContributionsIn(p, city));
    if (++checked == 200) break;
  }
  EXPECT_EQ(checked, 200);
}

TEST(PopulationTest, FindReturnsThePersonOrNullptr) {
  const Population& population = DefaultPopulation();
  for (size_t i = 0; i < population.persons().size(); i += 997) {
    const SyntheticPerson& p = population.persons()[i];
    EXPECT_EQ(population.Find(p.resident_id), &p);
  }
  EXPECT_EQ(population.Find(""), nullptr);
  EXPECT_EQ(population.Find("11010119900307001X"), nullptr);
  const std::string first = population.persons().front().resident_id;
  EXPECT_EQ(population.Find(first.substr(0, 17)), nullptr);
  EXPECT_EQ(population.Find(absl::StrCat(first, "0")), nullptr);
}

TEST(PopulationTest, EmptyPopulation) {
  PopulationOptions options;
  options.persons_per_issuing_city = 0;
  const Population empty = Population::Generate(options);
  EXPECT_TRUE(empty.persons().empty());
  EXPECT_EQ(empty.Find("11010119900307001X"), nullptr);
}

}  // namespace
}  // namespace interop::mock_city
