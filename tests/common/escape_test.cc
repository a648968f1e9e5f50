#include "common/escape.h"

#include <gtest/gtest.h>

namespace herd {
namespace {

TEST(LoggableUrlTest, KeepsSchemeHostAndPath) {
  EXPECT_EQ(LoggableUrl("https://hooks.example.com:8443/in/fences"),
            "https://hooks.example.com:8443/in/fences");
}

TEST(LoggableUrlTest, DropsWhatMayCarrySecrets) {
  EXPECT_EQ(LoggableUrl("https://hooks.example.com/in?token=s3cret#part"),
            "https://hooks.example.com/in");
  EXPECT_EQ(LoggableUrl("http://user:pa55@127.0.0.1:8080/hook"), "http://127.0.0.1:8080/hook");
  // An '@' in the path is not user info.
  EXPECT_EQ(LoggableUrl("http://example.com/a@b"), "http://example.com/a@b");
}

TEST(LoggableUrlTest, SaysWhenItIsNoUrl) {
  EXPECT_EQ(LoggableUrl("example.com/hook"), "(not a URL)");
  EXPECT_EQ(LoggableUrl(""), "(not a URL)");
}

}  // namespace
}  // namespace herd
