// libFuzzer target for a store round trip: five fields cut from the input
// (by '|'), if they make a well-formed record, are applied; a record the
// store accepts must come back from Get() byte for byte, and the feed must
// hand out the same bytes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/record.h"
#include "store/store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> fields;
  size_t start = 0;
  for (int i = 0; i < 4; ++i) {
    const size_t bar = input.find('|', start);
    if (bar == std::string_view::npos) return 0;
    fields.emplace_back(input.substr(start, bar - start));
    start = bar + 1;
  }
  fields.emplace_back(input.substr(start));
  const herd::Record record{fields[0], fields[1], fields[2], fields[3], fields[4]};
  if (!herd::IsWellFormedRecord(record)) return 0;
  herd::Store store(1);
  if (store.Apply(record) != herd::Store::Outcome::kAccepted) __builtin_trap();
  const std::optional<herd::Record> got = store.Get(record.client_id);
  if (!got || !(*got == record)) __builtin_trap();
  herd::Store::Cursor cursor;
  const std::vector<herd::Store::FeedEntry> feed = store.ReadAfter(&cursor, 10);
  if (feed.size() != 1 || !(feed[0].record == record)) __builtin_trap();
  if (store.Apply(record) != herd::Store::Outcome::kStale) __builtin_trap();
  (void)herd::OriginReceiveNs(record.client_time, record.skew);
  return 0;
}
