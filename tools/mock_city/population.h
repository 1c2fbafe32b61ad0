// The deterministic synthetic population that mock cities serve.
//
// Every mock-city process generates the SAME population of all five cities from the same seed and
// serves only the records its city holds, so the five processes agree with each other without
// talking: a person born in Xinzhou and insured in Taiyuan is answered for by Taiyuan's mock for
// medical insurance, by Xinzhou's for household registration (if still registered there), and by
// each city they paid contributions in for that part of their history.
//
// Persons are generated per issuing city: valid 18-digit identity numbers with real county codes of
// that city (including codes retired before 1999-2003 for people old enough to have been issued
// one, e.g. 1422xx for Xinzhou), correct check characters, birth dates between 1935 and 2020, and a
// share of people who moved: insured, registered or employed in another of the five cities.
//
// Contribution months are not stored: they are generated from the person's own seed on request, so a
// population of 60,000 costs a few megabytes.
//
// Thread-safe: a Population is immutable after Generate().
#ifndef INTEROP_TOOLS_MOCK_CITY_POPULATION_H_
#define INTEROP_TOOLS_MOCK_CITY_POPULATION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "interop/common/v1/common.pb.h"

namespace interop::mock_city {

using ::interop::common::v1::City;

// One period of employment in one city, during which contributions are paid every month.
struct EmploymentSpell {
  City city = City::CITY_UNSPECIFIED;
  absl::CivilMonth first_month;  // inclusive
  absl::CivilMonth last_month;   // inclusive
  int64_t initial_wage_base_fen = 0;  // monthly wage base in the spell's first year
};

struct MedicalEnrollment {
  City city = City::CITY_UNSPECIFIED;
  std::string insured_region_code;  // county-level code in use today, in `city`
  std::string insurance_type_code;  // "310", "340" or "390"
  std::string status_code;          // "1" active, "2" suspended, "3" terminated
  absl::CivilDay enrollment_date;
  int64_t balance_fen = 0;          // 0 unless "310"/"340"
};

struct HouseholdRegistration {
  City city = City::CITY_UNSPECIFIED;
  std::string address_code;         // county-level code in use today, in `city`
  std::string household_number;     // nine digits
  std::string relation_code;        // "02", "10", "20", "30", "50", "99"
  std::string household_type_code;  // "1" family, "2" collective
  absl::CivilDay registered_since;
};

struct SyntheticPerson {
  std::string resident_id;  // 18 characters, valid
  std::string name;         // Chinese name, UTF-8
  City issuing_city = City::CITY_UNSPECIFIED;  // today's city of the address code in resident_id
  absl::CivilDay birth_date;
  bool has_medical = true;  // false for a few persons with no enrolment anywhere
  MedicalEnrollment medical;
  HouseholdRegistration household;
  std::vector<EmploymentSpell> employment;  // oldest first, non-overlapping; may be empty
  uint64_t seed = 0;        // drives the generation of this person's contribution months
};

// One month of one kind of contribution (the city backend contract's MonthlyContribution).
struct ContributionMonth {
  City city = City::CITY_UNSPECIFIED;
  std::string kind_code;  // "110" pension, "210" unemployment, "310" employee medical, "410" injury
  absl::CivilMonth month;
  int64_t wage_base_fen = 0;
  int64_t personal_fen = 0;
  int64_t employer_fen = 0;
};

struct PopulationOptions {
  uint64_t seed = 20261126;
  // Persons whose numbers were issued in each city. Because people move both ways, every city holds
  // records of at least about this many persons.
  int persons_per_issuing_city = 12000;
  // "Today" for the population: no date is after it.
  absl::CivilDay today = absl::CivilDay(2026, 6, 30);
};

class Population {
 public:
  // Same options, same population, on every machine and in every process.
  static Population Generate(const PopulationOptions& options);

  const std::vector<SyntheticPerson>& persons() const { return persons_; }

  // The person with this 18-character number, or nullptr.
  const SyntheticPerson* Find(absl::string_view resident_id) const;

  // The person's contribution months paid in `city` (all cities when CITY_UNSPECIFIED), ascending
  // by month then kind, limited to years [from_year, to_year] (0 = unbounded). Deterministic.
  std::vector<ContributionMonth> Contributions(const SyntheticPerson& person, City city,
                                               int from_year = 0, int to_year = 0) const;

  // True if `city` holds any contribution history of the person.
  static bool HasContributionsIn(const SyntheticPerson& person, City city);

  const PopulationOptions& options() const { return options_; }

 private:
  PopulationOptions options_;
  std::vector<SyntheticPerson> persons_;
  absl::flat_hash_map<std::string, size_t> by_id_;
};

}  // namespace interop::mock_city

#endif  // INTEROP_TOOLS_MOCK_CITY_POPULATION_H_
