// The Locations API's pure pieces: typed coordinates and times to IAMAT
// text, page tokens, Places JSON to typed places, status mapping.

#include "api/location_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "places/places_provider.h"
#include "store/record.h"

namespace herd {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(FormatCoordinateTest, SixToNineFractionDigitsAndASign) {
  EXPECT_EQ(FormatCoordinate(34.06893), "+34.068930");
  EXPECT_EQ(FormatCoordinate(-118.445127), "-118.445127");
  EXPECT_EQ(FormatCoordinate(-118.4451271), "-118.4451271");
  EXPECT_EQ(FormatCoordinate(0), "+0.000000");
  EXPECT_EQ(FormatCoordinate(-0.0), "+0.000000");
  EXPECT_EQ(FormatCoordinate(-1e-12), "+0.000000");  // rounds to zero: no "-0"
  EXPECT_EQ(FormatCoordinate(1e-9), "+0.000000001");
  EXPECT_EQ(FormatCoordinate(90), "+90.000000");
  EXPECT_EQ(FormatCoordinate(-180), "-180.000000");
  EXPECT_EQ(FormatLocation(34.06893, -118.445127), "+34.068930-118.445127");
}

TEST(FormatCoordinateTest, RoundTripsThroughTheTextProtocolsParser) {
  std::mt19937_64 random(7);
  std::uniform_real_distribution<double> lat(-90, 90), lng(-180, 180);
  for (int i = 0; i < 10000; ++i) {
    const double a = lat(random), b = lng(random);
    const std::string text = FormatLocation(a, b);
    double pa, pb;
    ASSERT_TRUE(ParseLocation(text, &pa, &pb)) << text;
    EXPECT_NEAR(pa, a, 1e-9) << text;
    EXPECT_NEAR(pb, b, 1e-9) << text;
  }
}

TEST(ClientTimeTest, PosixSecondsWithNineDigits) {
  google::protobuf::Timestamp t;
  t.set_seconds(1621464827);
  t.set_nanos(959498503);
  EXPECT_EQ(FormatClientTime(t), "1621464827.959498503");
  t.set_nanos(5);
  EXPECT_EQ(FormatClientTime(t), "1621464827.000000005");
  t.set_seconds(0);
  t.set_nanos(0);
  EXPECT_EQ(FormatClientTime(t), "0.000000000");
  t.set_seconds(std::numeric_limits<int64_t>::max());
  EXPECT_TRUE(IsWellFormedClientTime(FormatClientTime(t)));
}

TEST(ClientTimeTest, ChecksNameTheField) {
  google::protobuf::Timestamp t;
  EXPECT_THAT(std::string(CheckClientTime(false, t, "client_time").message()),
              StartsWith("client_time: required"));
  t.set_seconds(-1);
  EXPECT_THAT(std::string(CheckClientTime(true, t, "client_time").message()),
              StartsWith("client_time: "));
  t.set_seconds(1);
  t.set_nanos(1'000'000'000);
  EXPECT_THAT(std::string(CheckClientTime(true, t, "client_time").message()),
              StartsWith("client_time.nanos: "));
  t.set_nanos(999'999'999);
  EXPECT_TRUE(CheckClientTime(true, t, "client_time").ok());
}

TEST(RecordFromReportTest, TheSpecsExample) {
  v1::ReportRequest request;
  request.set_client_id("kiwi.cs.ucla.edu");
  request.set_latitude(34.068930);
  request.set_longitude(-118.445127);
  request.mutable_client_time()->set_seconds(1621464827);
  request.mutable_client_time()->set_nanos(959498503);
  absl::StatusOr<Record> record = RecordFromReport(request, "Riley", 1621464828'223371889);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->AtLine(),
            "AT Riley +0.263873386 kiwi.cs.ucla.edu +34.068930-118.445127 "
            "1621464827.959498503");
}

TEST(RecordFromReportTest, TheFirstBadFieldIsNamed) {
  v1::ReportRequest request;
  EXPECT_THAT(std::string(RecordFromReport(request, "Riley", 0).status().message()),
              StartsWith("client_id: required"));
  request.set_client_id("a\tb");
  EXPECT_THAT(std::string(RecordFromReport(request, "Riley", 0).status().message()),
              StartsWith("client_id: contains whitespace"));
  request.set_client_id(std::string(257, 'x'));
  EXPECT_THAT(std::string(RecordFromReport(request, "Riley", 0).status().message()),
              StartsWith("client_id: longer than 256"));
  for (const std::string id :
       {std::string("a\0b", 3), std::string("a\x1b[2J"), std::string("a\x7f")}) {
    request.set_client_id(id);
    EXPECT_THAT(std::string(RecordFromReport(request, "Riley", 0).status().message()),
                StartsWith("client_id: contains a control byte"));
  }
  // The edge's rule (IsValidClientId), UTF-8 included.
  request.set_client_id("caf\xc3");
  EXPECT_THAT(std::string(RecordFromReport(request, "Riley", 0).status().message()),
              StartsWith("client_id: is not valid UTF-8"));
  request.set_client_id(std::string(256, 'x'));
  EXPECT_THAT(std::string(RecordFromReport(request, "Riley", 0).status().message()),
              StartsWith("latitude: required"));
  request.set_latitude(std::nan(""));
  EXPECT_THAT(std::string(RecordFromReport(request, "Riley", 0).status().message()),
              StartsWith("latitude: must be in [-90, 90]"));
  request.set_latitude(-90);
  EXPECT_THAT(std::string(RecordFromReport(request, "Riley", 0).status().message()),
              StartsWith("longitude: required"));
  request.set_longitude(180.000001);
  EXPECT_THAT(std::string(RecordFromReport(request, "Riley", 0).status().message()),
              StartsWith("longitude: must be in [-180, 180]"));
  request.set_longitude(180);
  EXPECT_THAT(std::string(RecordFromReport(request, "Riley", 0).status().message()),
              StartsWith("client_time: required"));
  request.mutable_client_time()->set_seconds(0);
  EXPECT_TRUE(RecordFromReport(request, "Riley", 0).ok());
}

TEST(PageTokenTest, RoundTripsAndRejectsForgeries) {
  // The longest id a client may have: 256 bytes of UTF-8 ("é" is two).
  std::string longest;
  for (int i = 0; i < 128; ++i) longest += "\xc3\xa9";
  for (const std::string& id : std::vector<std::string>{"kiwi.cs.ucla.edu", longest, "a"}) {
    absl::StatusOr<std::string> decoded = DecodePageToken(EncodePageToken(id));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, id);
  }
  for (const std::string& token :
       std::vector<std::string>{"!!", "djI6eA", "djE6", "djE6YSBi", std::string(1000, 'A'),
                                EncodePageToken(std::string(256, '\xff'))}) {
    absl::StatusOr<std::string> decoded = DecodePageToken(token);
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument) << token;
    EXPECT_THAT(std::string(decoded.status().message()), StartsWith("page_token: ")) << token;
  }
}

TEST(FillNearbyTest, TypedPlacesFromTheNearbySearchShape) {
  const nlohmann::json answer = {
      {"html_attributions", nlohmann::json::array()},
      {"results",
       {{{"place_id", "p1"},
         {"name", "Westwood"},
         {"vicinity", "California, US"},
         {"types", {"locality", "political"}},
         {"rating", 4.5},
         {"geometry", {{"location", {{"lat", 34.05612}, {"lng", -118.43063}}}}}},
        {{"name", 7}, {"geometry", "nonsense"}, {"types", {1, "x"}}},
        "not an object"}},
      {"status", "OK"}};
  v1::NearbyResponse response;
  FillNearby(answer, 34.068930, -118.445127, &response);
  EXPECT_EQ(response.status(), "OK");
  ASSERT_EQ(response.places_size(), 2);
  const v1::Place& place = response.places(0);
  EXPECT_EQ(place.place_id(), "p1");
  EXPECT_EQ(place.name(), "Westwood");
  EXPECT_EQ(place.vicinity(), "California, US");
  EXPECT_THAT(place.types(), ::testing::ElementsAre("locality", "political"));
  EXPECT_TRUE(place.has_rating());
  EXPECT_DOUBLE_EQ(place.latitude(), 34.05612);
  EXPECT_NEAR(place.distance_km(), 2.0, 0.5);
  EXPECT_EQ(response.places(1).name(), "");  // wrong types are left empty
  EXPECT_FALSE(response.places(1).has_rating());
  EXPECT_THAT(response.places(1).types(), ::testing::ElementsAre("x"));
  EXPECT_EQ(nlohmann::json::parse(response.json()), answer);
}

TEST(FillNearbyTest, NotAnObjectStillAnswers) {
  v1::NearbyResponse response;
  FillNearby(nlohmann::json::array(), 0, 0, &response);
  EXPECT_EQ(response.status(), "");
  EXPECT_EQ(response.json(), "[]");
  EXPECT_EQ(PlacesStatusToGrpc(response.status()).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST(PlacesStatusTest, FailuresMapToGrpcCodes) {
  EXPECT_TRUE(PlacesStatusToGrpc("OK").ok());
  EXPECT_TRUE(PlacesStatusToGrpc("ZERO_RESULTS").ok());
  EXPECT_EQ(PlacesStatusToGrpc("OVER_QUERY_LIMIT").error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(PlacesStatusToGrpc("REQUEST_DENIED").error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(PlacesStatusToGrpc("INVALID_REQUEST").error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(PlacesStatusToGrpc("UNKNOWN_ERROR").error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(PlacesStatusToGrpc("UNKNOWN_ERROR").error_message(), HasSubstr("UNKNOWN_ERROR"));
}

}  // namespace
}  // namespace herd
