#include "store/block_arena.h"

#include <cstdint>

namespace herd {

void* BlockArena::Allocate(size_t size, size_t alignment) {
  const size_t padding = (alignment - reinterpret_cast<uintptr_t>(next_) % alignment) % alignment;
  if (next_ == nullptr || padding + size > left_) {
    // new[] of std::byte is aligned for any fundamental type.
    const size_t chunk = size > kChunkBytes ? size : kChunkBytes;
    chunks_.push_back(std::make_unique_for_overwrite<std::byte[]>(chunk));
    bytes_reserved_ += chunk;
    if (size > kChunkBytes) return chunks_.back().get();  // keeps the current chunk's space
    next_ = chunks_.back().get();
    left_ = chunk;
    return Allocate(size, alignment);
  }
  std::byte* block = next_ + padding;
  next_ = block + size;
  left_ -= padding + size;
  return block;
}

}  // namespace herd
