#include "fences/durable_fences.h"

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace herd {

DurableTable DurableFences(FenceBook* book, int64_t now_ns, int64_t deleted_ttl_ns) {
  DurableTable table;
  table.prefix = "f";
  table.read_after = [book](uint64_t* cursor, size_t max) {
    std::vector<DurableTable::Entry> entries;
    for (const v1::Fence& fence : book->ReadAfter(cursor, max)) {
      entries.emplace_back(fence.id(), fence.SerializeAsString());
    }
    return entries;
  };
  table.subscribe = [book](std::function<void()> wake) {
    const int64_t id = book->AddListener(std::move(wake));
    return std::function<void()>([book, id] { book->RemoveListener(id); });
  };
  table.load = [book, now_ns, deleted_ttl_ns](std::string_view key,
                                              std::string_view value) -> absl::StatusOr<bool> {
    v1::Fence fence;
    if (!fence.ParseFromArray(value.data(), static_cast<int>(value.size())) || fence.id() != key) {
      return absl::DataLossError("a fence that does not parse");
    }
    if (fence.version().deleted() && fence.version().time_ns() < now_ns - deleted_ttl_ns) {
      return false;
    }
    return book->Apply(fence) != FenceBook::Outcome::kInvalid;
  };
  return table;
}

}  // namespace herd
