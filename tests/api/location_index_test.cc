// The location index (store/location_index) against a brute-force scan of
// the store: random clients everywhere, including around the poles and
// across the ±180° meridian, moving in and out of the query circles.
// (It is a store/ component; its tests live with the API that serves it.)

#include "store/location_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/location_codec.h"
#include "common/geo.h"
#include "store/store.h"

namespace herd {
namespace {

struct Point {
  double latitude;
  double longitude;
};

class Scenario {
 public:
  explicit Scenario(uint64_t seed) : random_(seed) {}

  // A point near one of a few hot spots (LA, the north pole, the
  // antimeridian, the south pole) or anywhere.
  Point RandomPoint() {
    std::uniform_real_distribution<double> unit(0, 1);
    std::normal_distribution<double> near(0, 0.3);
    const double choice = unit(random_);
    Point p;
    if (choice < 0.3) {
      p = {34.07 + near(random_), -118.44 + near(random_)};
    } else if (choice < 0.45) {
      p = {89.8 + near(random_) / 3, unit(random_) * 360 - 180};
    } else if (choice < 0.6) {
      p = {near(random_) * 5, (unit(random_) < 0.5 ? 179.9 : -179.9) + near(random_) / 3};
    } else if (choice < 0.7) {
      p = {-89.9 + near(random_) / 3, unit(random_) * 360 - 180};
    } else {
      p = {unit(random_) * 180 - 90, unit(random_) * 360 - 180};
    }
    p.latitude = std::clamp(p.latitude, -90.0, 90.0);
    if (p.longitude > 180) p.longitude -= 360;
    if (p.longitude < -180) p.longitude += 360;
    return p;
  }

  double RandomRadius() { return std::uniform_real_distribution<double>(0.001, 50)(random_); }

  std::mt19937_64& random() { return random_; }

 private:
  std::mt19937_64 random_;
};

Record At(const std::string& client, Point p, int time) {
  return Record{client, "Riley", "+0.000000000", FormatLocation(p.latitude, p.longitude),
                std::to_string(time)};
}

struct Client {
  std::string id;
  Point point;
};

// Every client in the store now (read through its feed).
std::vector<Client> Snapshot(const Store& store) {
  std::vector<Client> clients;
  Store::Cursor cursor;
  for (const Store::FeedEntry& entry : store.ReadAfter(&cursor, SIZE_MAX)) {
    Point p;
    EXPECT_TRUE(ParseLocation(entry.record.location, &p.latitude, &p.longitude));
    clients.push_back({entry.record.client_id, p});
  }
  return clients;
}

// Where `id` is now.
Point Snapshot1(const Store& store, const std::string& id) {
  Point p;
  EXPECT_TRUE(ParseLocation(store.Get(id)->location, &p.latitude, &p.longitude));
  return p;
}

// The clients within the circle, by brute force, as (distance, id).
std::vector<std::pair<double, std::string>> BruteForce(const std::vector<Client>& clients,
                                                       Point centre, double radius_km) {
  std::vector<std::pair<double, std::string>> inside;
  for (const Client& client : clients) {
    const double d = HaversineKm(centre.latitude, centre.longitude, client.point.latitude,
                                 client.point.longitude);
    if (d <= radius_km) inside.emplace_back(d, client.id);
  }
  std::sort(inside.begin(), inside.end());
  return inside;
}

void ExpectSameAsBruteForce(const std::vector<Client>& clients, const LocationIndex& index,
                            Point centre, double radius_km, size_t max) {
  const auto expected = BruteForce(clients, centre, radius_km);
  const LocationIndex::CircleResult got =
      index.Within(centre.latitude, centre.longitude, radius_km, max);
  ASSERT_EQ(got.total, expected.size())
      << "centre " << centre.latitude << "," << centre.longitude << " r " << radius_km;
  ASSERT_EQ(got.hits.size(), std::min(max, expected.size()));
  for (size_t i = 0; i < got.hits.size(); ++i) {
    EXPECT_EQ(got.hits[i].client_id, expected[i].second) << i;
    EXPECT_DOUBLE_EQ(got.hits[i].distance_km, expected[i].first) << i;
  }
}

TEST(LocationIndexTest, AgreesWithBruteForceOnRandomDataAsClientsMove) {
  Store store(1);
  LocationIndex index(&store);
  LocationIndex untracked(&store);  // the second index reads every entry
  Scenario scenario(42);
  constexpr int kClients = 20000;
  for (int c = 0; c < kClients; ++c) {
    store.Apply(At(absl::StrCat("c", c), scenario.RandomPoint(), 1));
  }
  ASSERT_TRUE(index.CatchUp());
  ASSERT_TRUE(untracked.CatchUp());
  EXPECT_EQ(index.size(), static_cast<size_t>(kClients));
  size_t non_empty = 0;
  for (int round = 2; round <= 4; ++round) {
    const std::vector<Client> clients = Snapshot(store);
    for (int q = 0; q < 150; ++q) {
      // Centres drawn like the clients, so most circles hold some.
      const Point centre = scenario.RandomPoint();
      const double radius_km = scenario.RandomRadius();
      ExpectSameAsBruteForce(clients, index, centre, radius_km, 1000);
      ExpectSameAsBruteForce(clients, untracked, centre, radius_km, 1000);
      ExpectSameAsBruteForce(clients, index, centre, 50, 7);
      non_empty += index.Within(centre.latitude, centre.longitude, 50, 1).total > 0;
    }
    // A third of the clients move (some into circles, some out of them),
    // a few new ones appear; some reports are stale and change nothing.
    std::uniform_int_distribution<int> pick(0, kClients - 1);
    for (int i = 0; i < kClients / 3; ++i) {
      const int c = pick(scenario.random());
      store.Apply(At(absl::StrCat("c", c), scenario.RandomPoint(), i % 10 == 0 ? 0 : round));
    }
    for (int i = 0; i < 100; ++i) {
      store.Apply(At(absl::StrCat("new", round, "-", i), scenario.RandomPoint(), round));
    }
    // Others report again from where they are (the index skips those), a
    // few of them after moving in this round.
    for (int i = 0; i < kClients / 3; ++i) {
      const Client& client = clients[pick(scenario.random()) % clients.size()];
      store.Apply(At(client.id, Snapshot1(store, client.id), round + 1));
    }
    // Catch up in small steps, as the pump does.
    while (!index.CatchUp(500)) {
    }
    ASSERT_TRUE(untracked.CatchUp());
  }
  EXPECT_GT(non_empty, 200u);  // the comparison was not vacuous
}

TEST(LocationIndexTest, PolesAndTheAntimeridian) {
  Store store(1);
  LocationIndex index(&store);
  store.Apply(At("north", {90, 0}, 1));
  store.Apply(At("north-far-side", {89.9, 179}, 1));  // ~11 km from the pole
  store.Apply(At("east", {0, 180}, 1));
  store.Apply(At("west", {0, -179.95}, 1));
  store.Apply(At("south", {-90, 45}, 1));
  index.CatchUp();
  auto ids = [&](double lat, double lng, double r) {
    std::set<std::string> out;
    for (const auto& hit : index.Within(lat, lng, r, 100).hits) out.insert(hit.client_id);
    return out;
  };
  EXPECT_EQ(ids(89.95, -1, 20), (std::set<std::string>{"north", "north-far-side"}));
  EXPECT_EQ(ids(0, -180, 10), (std::set<std::string>{"east", "west"}));
  EXPECT_EQ(ids(0, 179.99, 10), (std::set<std::string>{"east", "west"}));
  EXPECT_EQ(ids(-89.99, -135, 5), (std::set<std::string>{"south"}));
  EXPECT_TRUE(ids(45, 45, 50).empty());
  EXPECT_TRUE(index.Within(0, 0, 0, 10).hits.empty());
  EXPECT_TRUE(index.Within(91, 0, 10, 10).hits.empty());
  EXPECT_TRUE(index.Within(0, 0, std::nan(""), 10).hits.empty());
}

TEST(LocationIndexTest, IdsInOrderAndMovesKeepOneEntryPerClient) {
  Store store(1);
  LocationIndex index(&store);
  for (const char* id : {"b", "a", "d", "c"}) store.Apply(At(id, {1, 1}, 1));
  index.CatchUp();
  EXPECT_EQ(index.IdsAfter("", 10), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(index.IdsAfter("b", 1), (std::vector<std::string>{"c"}));
  EXPECT_TRUE(index.IdsAfter("d", 10).empty());
  store.Apply(At("a", {50, 50}, 2));
  index.CatchUp();
  EXPECT_EQ(index.size(), 4u);
  EXPECT_EQ(index.Within(1, 1, 1, 10).total, 3u);
  EXPECT_EQ(index.Within(50, 50, 1, 10).total, 1u);
}

TEST(LocationIndexTest, ClientsTheStoreForgetsLeaveTheIndex) {
  constexpr int64_t kSecond = 1'000'000'000;
  std::atomic<int64_t> now{100 * kSecond};
  Store::Limits limits;
  limits.client_ttl_ns = 10 * kSecond;
  limits.now = [&now] { return now.load(); };
  Store store(1, limits);
  LocationIndex index(&store);
  store.Apply(At("a", {1, 1}, 95));   // received at 95 s: expires at 105 s
  store.Apply(At("b", {1, 1}, 100));  // expires at 110 s
  index.CatchUp();
  EXPECT_EQ(index.size(), 2u);
  now = 106 * kSecond;
  EXPECT_EQ(store.ForgetExpired(), 1u);
  index.CatchUp();
  EXPECT_EQ(index.IdsAfter("", 10), (std::vector<std::string>{"b"}));
  EXPECT_EQ(index.Within(1, 1, 1, 10).total, 1u);
  // Back again: indexed again (reusing the freed block).
  store.Apply(At("a", {2, 2}, 106));
  index.CatchUp();
  EXPECT_EQ(index.IdsAfter("", 10), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(index.Within(2, 2, 1, 10).total, 1u);
}

}  // namespace
}  // namespace herd
