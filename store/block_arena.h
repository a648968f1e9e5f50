#ifndef HERD_STORE_BLOCK_ARENA_H_
#define HERD_STORE_BLOCK_ARENA_H_

#include <cstddef>
#include <memory>
#include <vector>

namespace herd {

// Hands out memory blocks carved from large chunks, for objects that live
// as long as their owner (the location index's per-client items; the index
// keeps blocks of forgotten clients for reuse itself). No per-block header and no rounding beyond
// the requested alignment, so a 30-byte block costs 32 bytes where malloc would take 48. Blocks are
// never freed one by one; all go with the arena.
//
// Not thread-safe: the owner serialises calls.
class BlockArena {
 public:
  static constexpr size_t kChunkBytes = 64 * 1024;

  BlockArena() = default;
  BlockArena(const BlockArena&) = delete;
  BlockArena& operator=(const BlockArena&) = delete;

  // `size` bytes aligned to `alignment` (a power of two, at most
  // alignof(std::max_align_t)). Blocks over kChunkBytes get a chunk of
  // their own. Throws std::bad_alloc when memory runs out.
  void* Allocate(size_t size, size_t alignment);

  // Bytes reserved from the system so far.
  size_t bytes_reserved() const { return bytes_reserved_; }

 private:
  std::vector<std::unique_ptr<std::byte[]>> chunks_;
  std::byte* next_ = nullptr;  // free space in the newest chunk
  size_t left_ = 0;
  size_t bytes_reserved_ = 0;
};

}  // namespace herd

#endif  // HERD_STORE_BLOCK_ARENA_H_
