// libFuzzer target for the edge's line framing: the input is cut into
// chunks at points the fuzzer chooses (split lines, CR/LF mixes), and the
// lines that come out must be exactly those of the whole input fed at once,
// each at most max_line_bytes, and each must parse or be refused without
// crashing.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "edge/line_framer.h"
#include "edge/protocol.h"

namespace {

constexpr size_t kMaxLine = 64;

std::vector<std::string> Frame(std::string_view input, const std::vector<size_t>& cuts) {
  herd::LineFramer framer(kMaxLine);
  std::vector<std::string> out;
  size_t start = 0;
  auto drain = [&] {
    for (;;) {
      const herd::LineFramer::Event event = framer.Next();
      if (event.kind == herd::LineFramer::Event::kNeedMore) return;
      if (event.text.size() > kMaxLine) __builtin_trap();
      out.push_back(std::string(event.kind == herd::LineFramer::Event::kLine ? "L" : "T") +
                    std::string(event.text));
      (void)herd::ParseCommand(event.text);
    }
  };
  for (size_t cut : cuts) {
    if (cut <= start || cut > input.size()) continue;
    // A copy per chunk, as a socket read would give: views must not
    // outlive their chunk.
    const std::string chunk(input.substr(start, cut - start));
    framer.Feed(chunk);
    drain();
    start = cut;
  }
  const std::string rest(input.substr(start));
  framer.Feed(rest);
  drain();
  out.push_back("E" + std::string(framer.TakeLast()));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The first bytes choose the cut points; the rest is the stream.
  if (size < 4) return 0;
  const size_t cut_count = data[0] % 8;
  if (size < 1 + cut_count) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1 + cut_count,
                               size - 1 - cut_count);
  std::vector<size_t> cuts;
  for (size_t i = 0; i < cut_count; ++i) {
    const size_t previous = cuts.empty() ? 0 : cuts.back();
    cuts.push_back(previous + data[1 + i] % 32);
  }
  if (Frame(input, cuts) != Frame(input, {})) __builtin_trap();
  return 0;
}
