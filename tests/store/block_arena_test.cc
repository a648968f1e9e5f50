#include "store/block_arena.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace herd {
namespace {

bool Aligned(const void* p, size_t alignment) {
  return reinterpret_cast<uintptr_t>(p) % alignment == 0;
}

TEST(BlockArenaTest, PacksBlocksWithoutHeadersAndHonoursAlignment) {
  BlockArena arena;
  char* a = static_cast<char*>(arena.Allocate(30, 8));
  char* b = static_cast<char*>(arena.Allocate(30, 8));
  EXPECT_TRUE(Aligned(a, 8));
  EXPECT_TRUE(Aligned(b, 8));
  EXPECT_EQ(b - a, 32);  // 30 rounded up to the alignment, nothing more
  char* c = static_cast<char*>(arena.Allocate(1, 1));
  EXPECT_EQ(c - b, 30);
  EXPECT_TRUE(Aligned(arena.Allocate(4, 16), 16));
  EXPECT_EQ(arena.bytes_reserved(), BlockArena::kChunkBytes);
}

TEST(BlockArenaTest, BlocksStayValidAcrossChunks) {
  BlockArena arena;
  std::vector<char*> blocks;
  for (int i = 0; i < 10000; ++i) {  // ~4 chunks
    char* block = static_cast<char*>(arena.Allocate(25, 4));
    std::memset(block, i % 251, 25);
    blocks.push_back(block);
  }
  for (int i = 0; i < 10000; ++i) {
    for (int j = 0; j < 25; ++j) ASSERT_EQ(blocks[i][j], static_cast<char>(i % 251)) << i;
  }
  EXPECT_GT(arena.bytes_reserved(), 3 * BlockArena::kChunkBytes);
}

TEST(BlockArenaTest, BigBlocksGetTheirOwnChunkAndKeepTheCurrentOne) {
  BlockArena arena;
  char* small = static_cast<char*>(arena.Allocate(8, 8));
  char* big = static_cast<char*>(arena.Allocate(BlockArena::kChunkBytes + 1, 8));
  std::memset(big, 7, BlockArena::kChunkBytes + 1);
  char* next = static_cast<char*>(arena.Allocate(8, 8));
  EXPECT_EQ(next - small, 8);  // still carved from the first chunk
  EXPECT_EQ(arena.bytes_reserved(), 2 * BlockArena::kChunkBytes + 1);
}

}  // namespace
}  // namespace herd
