// main() for the webhook tests: curl_global_init before any thread, as the
// herd binary does (ARCHITECTURE, thread rule 4).

#include <curl/curl.h>
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  testing::InitGoogleTest(&argc, argv);
  const int status = RUN_ALL_TESTS();
  curl_global_cleanup();
  return status;
}
