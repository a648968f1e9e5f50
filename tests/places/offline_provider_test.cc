#include "places/offline_provider.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "places/gazetteer.h"
#include "places/places_provider.h"

namespace herd {
namespace {

using nlohmann::json;
using ::testing::StartsWith;

std::shared_ptr<const Gazetteer> Small() {
  absl::StatusOr<std::unique_ptr<Gazetteer>> g = Gazetteer::FromPlaces({
      {"Bel Air", 34.08334, -118.44869, "US", "California"},
      {"Westwood", 34.05612, -118.43063, "US", "California"},
      {"Nowhere Special", 34.05, -118.44, "XK", ""},
  });
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? std::shared_ptr<const Gazetteer>(*std::move(g)) : nullptr;
}

PlacesQuery Ucla(double radius_km = 10, int max_results = 5) {
  return {34.068930, -118.445127, radius_km, max_results};
}

// Runs Nearby() and insists it answered once, before returning.
json Ask(PlacesProvider& provider, const PlacesQuery& query) {
  std::optional<json> answer;
  int calls = 0;
  provider.Nearby(query, [&](json response) {
    ++calls;
    answer = std::move(response);
  });
  EXPECT_EQ(calls, 1);
  return answer.value_or(json());
}

void ExpectFailureShape(const json& j, const std::string& status) {
  EXPECT_EQ(j.at("status"), status);
  EXPECT_TRUE(j.at("results").is_array());
  EXPECT_TRUE(j.at("results").empty());
  EXPECT_TRUE(j.at("html_attributions").is_array());
}

TEST(OfflinePlacesProviderTest, AnswersInNearbySearchShape) {
  OfflinePlacesProvider provider(Small());
  const json j = Ask(provider, Ucla());
  EXPECT_EQ(j.at("status"), "OK");
  EXPECT_EQ(j.at("html_attributions"),
            json::array({"Data from GeoNames (https://www.geonames.org), "
                         "CC BY 4.0"}));
  ASSERT_EQ(j.at("results").size(), 3u);
  const json& first = j.at("results")[0];
  EXPECT_EQ(first.at("name"), "Bel Air");
  EXPECT_TRUE(first.at("geometry").at("location").at("lat").is_number());
  EXPECT_EQ(first.at("geometry").at("location").at("lat"), 34.08334);
  EXPECT_EQ(first.at("geometry").at("location").at("lng"), -118.44869);
  EXPECT_EQ(first.at("vicinity"), "California, US");
  EXPECT_EQ(first.at("types"), json::array({"locality", "political"}));
  EXPECT_THAT(first.at("place_id").get<std::string>(), StartsWith("geonames:"));
  EXPECT_EQ(j.at("results")[1].at("name"), "Westwood");
  // No admin1 name: the country alone.
  EXPECT_EQ(j.at("results")[2].at("vicinity"), "XK");
  // Coordinates print as given in the source, not as 34.083340000000003.
  EXPECT_THAT(j.dump(), testing::HasSubstr("\"lat\":34.08334,"));
}

TEST(OfflinePlacesProviderTest, BoundAndRadiusApply) {
  OfflinePlacesProvider provider(Small());
  EXPECT_EQ(Ask(provider, Ucla(10, 1)).at("results").size(), 1u);
  const json near = Ask(provider, Ucla(1.7, 20));
  ASSERT_EQ(near.at("results").size(), 1u);
  EXPECT_EQ(near.at("results")[0].at("name"), "Bel Air");
}

TEST(OfflinePlacesProviderTest, PlaceIdsAreDistinctAndStable) {
  OfflinePlacesProvider provider(Small());
  OfflinePlacesProvider other(Small());
  const json a = Ask(provider, Ucla());
  const json b = Ask(other, Ucla());
  std::set<std::string> ids;
  for (const json& r : a.at("results")) ids.insert(r.at("place_id"));
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(a, b);
  // Pinned: ids must not change between releases for the same place.
  EXPECT_EQ(a.at("results")[0].at("place_id"), "geonames:b425aa770170784c");
}

TEST(OfflinePlacesProviderTest, ZeroResultsFarFromEverything) {
  OfflinePlacesProvider provider(Small());
  const json j = Ask(provider, {0, -140, 50, 20});
  ExpectFailureShape(j, "ZERO_RESULTS");
  EXPECT_TRUE(j.at("html_attributions").empty());
}

TEST(OfflinePlacesProviderTest, QueriesOutsideTheContractAreInvalid) {
  OfflinePlacesProvider provider(Small());
  for (const PlacesQuery& q : std::vector<PlacesQuery>{
           {34, -118, 0, 5},      // radius must be > 0
           {34, -118, 50.01, 5},  // and <= 50
           {34, -118, 10, 0},     // bound in [1, 20]
           {34, -118, 10, 21},
           {90.5, -118, 10, 5},  // latitude in [-90, 90]
           {34, 180.5, 10, 5},   // longitude in [-180, 180]
       }) {
    ExpectFailureShape(Ask(provider, q), "INVALID_REQUEST");
  }
  EXPECT_EQ(Ask(provider, Ucla(50, 20)).at("status"), "OK");
}

TEST(OfflinePlacesProviderTest, BundledGazetteerAroundUcla) {
  absl::StatusOr<std::unique_ptr<Gazetteer>> g = Gazetteer::Load(DefaultGazetteerPath());
  ASSERT_TRUE(g.ok()) << g.status();
  OfflinePlacesProvider provider(std::shared_ptr<const Gazetteer>(*std::move(g)));
  const json j = Ask(provider, Ucla(10, 5));
  EXPECT_EQ(j.at("status"), "OK");
  std::vector<std::string> names;
  for (const json& r : j.at("results")) names.push_back(r.at("name"));
  EXPECT_EQ(names, (std::vector<std::string>{"Bel Air", "Westwood", "Century City", "Brentwood",
                                             "Sawtelle"}));
  EXPECT_EQ(j.at("results")[0].at("place_id"), "geonames:b425aa770170784c");
  ExpectFailureShape(Ask(provider, {-48.8767, -123.3933, 50, 20}), "ZERO_RESULTS");
}

TEST(PlacesFailureTest, HasTheNearbySearchShape) {
  EXPECT_EQ(PlacesFailure("OVER_QUERY_LIMIT"),
            json::parse(R"({"html_attributions": [], "results": [],
                            "status": "OVER_QUERY_LIMIT"})"));
}

}  // namespace
}  // namespace herd
