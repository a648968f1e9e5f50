#ifndef HERD_TESTS_TESTING_WAIT_H_
#define HERD_TESTS_TESTING_WAIT_H_

#include <chrono>
#include <functional>

namespace herd::testing {

// Polls `condition` until it holds or `timeout` passes; true if it held. For
// state another thread or process changes: the test waits for the state,
// never for a guessed time.
bool WaitFor(const std::function<bool()>& condition,
             std::chrono::milliseconds timeout = std::chrono::seconds(20));

}  // namespace herd::testing

#endif  // HERD_TESTS_TESTING_WAIT_H_
