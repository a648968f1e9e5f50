// CreatePlacesProvider: which provider each config gets, and its errors.

#include "places/provider_factory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/server_log.h"
#include "places/gazetteer.h"
#include "places/offline_provider.h"
#include "places/places_cache.h"
#include "tests/places/awaited.h"
#include "tests/places/fake_google_server.h"

namespace herd {
namespace {

using ::herd::testing::Awaited;
using ::herd::testing::FakeGoogleServer;
using ::herd::testing::LegacyBody;
using ::herd::testing::PlacesNewBody;
using nlohmann::json;
using ::testing::HasSubstr;

class ProviderFactoryTest : public ::testing::Test {
 protected:
  PlacesSettings Settings(const std::string& provider) {
    PlacesSettings settings;
    settings.provider = ParsePlacesProviderKind(provider).value();
    settings.endpoint = server_.url();
    settings.gazetteer = DefaultGazetteerPath();
    return settings;
  }

  json Ask(PlacesProvider& provider) {
    Awaited<json> answer;
    provider.Nearby({34.068930, -118.445127, 10, 2}, answer.Setter());
    return answer.Wait().value_or(json());
  }

  std::unique_ptr<ServerLog> log_ = ServerLog::Discard();
  FakeGoogleServer server_;
};

TEST_F(ProviderFactoryTest, AutoWithoutAKeyIsOffline) {
  for (const char* key : {static_cast<const char*>(nullptr), ""}) {
    auto provider = CreatePlacesProvider(Settings("auto"), key, log_.get());
    ASSERT_TRUE(provider.ok()) << provider.status();
    EXPECT_NE(dynamic_cast<OfflinePlacesProvider*>(provider->get()), nullptr);
    EXPECT_EQ(Ask(**provider).at("status"), "OK");
  }
  EXPECT_EQ(server_.request_count(), 0u);
}

TEST_F(ProviderFactoryTest, AutoWithAKeyIsGooglePlacesNewBehindTheCache) {
  server_.Respond({.body = PlacesNewBody(3)});
  auto provider = CreatePlacesProvider(Settings("auto"), "k", log_.get());
  ASSERT_TRUE(provider.ok()) << provider.status();
  EXPECT_NE(dynamic_cast<CachingPlacesProvider*>(provider->get()), nullptr);
  EXPECT_EQ(Ask(**provider).at("results").size(), 2u);
  Ask(**provider);
  ASSERT_EQ(server_.request_count(), 1u);
  EXPECT_EQ(server_.requests()[0].path, "/v1/places:searchNearby");
}

TEST_F(ProviderFactoryTest, GoogleLegacyUsesNearbySearch) {
  server_.Respond({.body = LegacyBody(3)});
  auto provider = CreatePlacesProvider(Settings("google-legacy"), "k", log_.get());
  ASSERT_TRUE(provider.ok()) << provider.status();
  EXPECT_EQ(Ask(**provider).at("results").size(), 2u);
  ASSERT_EQ(server_.request_count(), 1u);
  EXPECT_EQ(server_.requests()[0].path, "/maps/api/place/nearbysearch/json");
}

TEST_F(ProviderFactoryTest, OfflineIgnoresAKey) {
  auto provider = CreatePlacesProvider(Settings("offline"), "k", log_.get());
  ASSERT_TRUE(provider.ok()) << provider.status();
  EXPECT_NE(dynamic_cast<OfflinePlacesProvider*>(provider->get()), nullptr);
}

TEST_F(ProviderFactoryTest, GoogleWithoutAKeyIsAnErrorNamingTheVariable) {
  for (const char* provider : {"google", "google-legacy"}) {
    PlacesSettings settings = Settings(provider);
    settings.api_key_env = "MY_PLACES_KEY";
    auto unset = CreatePlacesProvider(settings, nullptr, log_.get());
    ASSERT_FALSE(unset.ok());
    EXPECT_THAT(std::string(unset.status().message()),
                HasSubstr(std::string("places.provider: \"") + provider + "\""));
    EXPECT_THAT(std::string(unset.status().message()), HasSubstr("MY_PLACES_KEY"));
    EXPECT_THAT(std::string(unset.status().message()), HasSubstr("not set"));
    auto empty = CreatePlacesProvider(settings, "", log_.get());
    ASSERT_FALSE(empty.ok());
    EXPECT_THAT(std::string(empty.status().message()), HasSubstr("empty"));
  }
}

TEST_F(ProviderFactoryTest, ABadEndpointNamesTheField) {
  PlacesSettings settings = Settings("google");
  settings.endpoint = "places.example.com";
  auto provider = CreatePlacesProvider(settings, "k", log_.get());
  ASSERT_FALSE(provider.ok());
  EXPECT_THAT(std::string(provider.status().message()), HasSubstr("places.endpoint: "));
}

TEST_F(ProviderFactoryTest, ABadGazetteerNamesTheField) {
  PlacesSettings settings = Settings("offline");
  settings.gazetteer = "/nonexistent/cities.tsv";
  auto provider = CreatePlacesProvider(settings, nullptr, log_.get());
  ASSERT_FALSE(provider.ok());
  EXPECT_THAT(std::string(provider.status().message()), HasSubstr("places.gazetteer: "));
}

}  // namespace
}  // namespace herd
