// Tests for IndexHandle: snapshots, generations, and readers matching concurrently
// while a writer swaps in new indexes.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "detect/indicator_index.h"

namespace aegis::detect {
namespace {

// Concatenates (GCC 12 warns falsely about "literal" + std::string at -O3).
template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::string s;
  (s.append(std::string_view(parts)), ...);
  return s;
}

constexpr int64_t kNow = 1'700'000'000'000'000'000;
constexpr int kKeys = 2000;

// Generation `g` holds the same kKeys domains, all pointing at meta "gen-<g>", plus a
// marker domain unique to the generation and an IPv4 range whose length encodes g.
std::unique_ptr<IndicatorIndex> MakeGeneration(int g) {
  IndexBuilder b;
  IndicatorMeta meta;
  meta.source = Cat("gen-", std::to_string(g));
  const MetaId m = b.AddMeta(meta);
  for (int i = 0; i < kKeys; ++i)
    b.Add(IndicatorType::kDomain, Cat("k", std::to_string(i), ".example"), m);
  b.Add(IndicatorType::kDomain, Cat("g", std::to_string(g), ".marker"), m);
  return b.Build();
}

int GenerationOf(const IndicatorMatch& m) { return std::stoi(m.meta->source.substr(4)); }

TEST(IndexHandleTest, StartsWithAnEmptyIndex) {
  IndexHandle handle;
  EXPECT_EQ(handle.generation(), 0u);
  auto snapshot = handle.Snapshot();
  ASSERT_NE(snapshot, nullptr);
  EXPECT_EQ(snapshot->stats().indicators, 0u);
  EXPECT_FALSE(snapshot->MatchDomain("k1.example", kNow));
}

TEST(IndexHandleTest, SwapPublishesAndCountsGenerations) {
  IndexHandle handle;
  handle.Swap(MakeGeneration(1));
  EXPECT_EQ(handle.generation(), 1u);
  auto first = handle.Snapshot();
  handle.Swap(MakeGeneration(2));
  EXPECT_EQ(handle.generation(), 2u);
  auto second = handle.Snapshot();
  // An old snapshot stays usable after the swap.
  EXPECT_EQ(GenerationOf(*first->MatchDomain("k5.example", kNow)), 1);
  EXPECT_EQ(GenerationOf(*second->MatchDomain("k5.example", kNow)), 2);
  EXPECT_FALSE(second->MatchDomain("g1.marker", kNow));
  handle.Swap(nullptr);  // never publishes a null index
  EXPECT_EQ(handle.generation(), 3u);
  ASSERT_NE(handle.Snapshot(), nullptr);
  EXPECT_EQ(handle.Snapshot()->stats().indicators, 0u);
}

TEST(IndexHandleTest, ConcurrentReadersSeeWholeIndexesWhileAWriterSwaps) {
  constexpr int kReaders = 3;
  constexpr int kSwaps = 100;
  IndexHandle handle;
  handle.Swap(MakeGeneration(1));
  auto held = handle.Snapshot();  // kept across all swaps

  std::atomic<bool> done{false};
  std::atomic<uint64_t> checks{0};
  std::atomic<uint64_t> failures{0};
  std::vector<int> distinct_generations(kReaders, 0);
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      int last_seen = 0;
      unsigned key = static_cast<unsigned>(r) * 7919;
      while (!done.load(std::memory_order_acquire)) {
        const uint64_t generation_before = handle.generation();
        auto snapshot = handle.Snapshot();
        const auto marker_probe = snapshot->MatchDomain("k0.example", kNow);
        if (!marker_probe) {
          failures.fetch_add(1);
          continue;
        }
        const int g = GenerationOf(*marker_probe);
        bool ok = snapshot->stats().indicators == kKeys + 1;
        // The generation counter never runs ahead of the published index...
        ok = ok && static_cast<uint64_t>(g) >= generation_before;
        // ... and a reader never goes back in time.
        ok = ok && g >= last_seen;
        ok = ok && snapshot->MatchDomain(Cat("g", std::to_string(g), ".marker"), kNow);
        ok = ok && !snapshot->MatchDomain(Cat("g", std::to_string(g + 1), ".marker"), kNow);
        for (int i = 0; i < 64 && ok; ++i) {
          key = key * 1103515245u + 12345u;
          auto m = snapshot->MatchDomain(Cat("x.k", std::to_string(key % kKeys), ".example"), kNow);
          ok = m && m->subdomain && GenerationOf(*m) == g;
        }
        if (!ok) failures.fetch_add(1);
        if (g != last_seen) ++distinct_generations[r];
        last_seen = g;
        checks.fetch_add(1, std::memory_order_release);
      }
    });
  }

  for (int g = 2; g <= kSwaps + 1; ++g) {
    auto next = MakeGeneration(g);
    // Let every reader finish a few checks on the current index before swapping again.
    const uint64_t target = checks.load(std::memory_order_acquire) + kReaders;
    while (checks.load(std::memory_order_acquire) < target) std::this_thread::yield();
    handle.Swap(std::move(next));
  }
  const uint64_t target = checks.load() + kReaders;
  while (checks.load() < target) std::this_thread::yield();
  done.store(true, std::memory_order_release);
  for (auto& t : readers) t.join();

  EXPECT_EQ(failures.load(), 0u);
  EXPECT_EQ(handle.generation(), static_cast<uint64_t>(kSwaps + 1));
  int total_distinct = 0;
  for (int d : distinct_generations) total_distinct += d;
  EXPECT_GT(total_distinct, kSwaps / 2) << "readers barely overlapped with the swaps";
  EXPECT_EQ(GenerationOf(*held->MatchDomain("k7.example", kNow)), 1);
  EXPECT_EQ(GenerationOf(*handle.Snapshot()->MatchDomain("k7.example", kNow)), kSwaps + 1);
}

}  // namespace
}  // namespace aegis::detect
