// Benchmarks of the STIX 2.1 store (intel/stix_store.h) on a real SQLite file:
// ingest rate of AddObjects, and TAXII-sized pages (1,000 objects) read from a
// collection of 1,000,000 indicators with a TLP visibility predicate, from the start,
// deep with added_after, and deep with a `next` cursor.
//
// The 1M-object database is built once and reused (AEGIS_BENCH_DIR, default
// /tmp/aegis-stix-bench); delete it to rebuild. Counters: objects_per_second for
// ingest, rss_mib (peak resident set of the process) everywhere.
//
//   ninja -C build stix_store_bench && build/stix_store_bench
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/types.h"
#include "intel/stix_store.h"

namespace {

namespace fs = std::filesystem;
using aegis::Tlp;
using namespace aegis::intel;

constexpr int64_t kBigCollection = 1'000'000;
constexpr size_t kBatch = 1000;

double PeakRssMib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

fs::path BenchDir() {
  const char* env = std::getenv("AEGIS_BENCH_DIR");
  fs::path dir = env && *env ? env : "/tmp/aegis-stix-bench";
  fs::create_directories(dir);
  return dir;
}

// A realistic indicator: pattern on an IP, domain or file hash, a TLP marking (1.0 and
// 2.0 ids mixed, some unmarked), sometimes a share list, labels and a description.
std::string MakeIndicator(uint64_t n, std::mt19937_64& rng) {
  static const auto markings = aegis::StixTlpMarkings();
  char id[96];
  std::snprintf(id, sizeof id, "indicator--%08llx-%04llx-4%03llx-8%03llx-%012llx",
                static_cast<unsigned long long>(n & 0xffffffff),
                static_cast<unsigned long long>(rng() & 0xffff),
                static_cast<unsigned long long>(rng() & 0xfff),
                static_cast<unsigned long long>(rng() & 0xfff),
                static_cast<unsigned long long>(rng() & 0xffffffffffffULL));
  std::string pattern;
  switch (n % 3) {
    case 0:
      pattern = "[ipv4-addr:value = '" + std::to_string(rng() % 223 + 1) + "." +
                std::to_string(rng() % 256) + "." + std::to_string(rng() % 256) + "." +
                std::to_string(rng() % 256) + "']";
      break;
    case 1:
      pattern =
          "[domain-name:value = 'c2-" + std::to_string(rng() % 10'000'000) + ".example-bad.net']";
      break;
    default: {
      char hash[65];
      std::snprintf(hash, sizeof hash, "%016llx%016llx%016llx%016llx",
                    static_cast<unsigned long long>(rng()), static_cast<unsigned long long>(rng()),
                    static_cast<unsigned long long>(rng()), static_cast<unsigned long long>(rng()));
      pattern = "[file:hashes.'SHA-256' = '" + std::string(hash) + "']";
    }
  }
  std::string marking_part, share_part;
  const unsigned pick = static_cast<unsigned>(rng() % 100);
  if (pick >= 10) {  // 10% unmarked (AMBER by default)
    const auto& m = markings[rng() % markings.size()];
    marking_part = ",\"object_marking_refs\":[\"" + std::string(m.id) + "\"]";
    if ((m.tlp == Tlp::kAmber || m.tlp == Tlp::kRed) && rng() % 2 == 0) {
      share_part = ",\"x_aegis_share_with\":[\"gp-" + std::to_string(rng() % 20) + "\",\"ncc\"]";
    }
  }
  const int minute = static_cast<int>(n % 60);
  char ts[40];
  std::snprintf(ts, sizeof ts, "2025-03-%02dT10:%02d:00.000Z", static_cast<int>(n % 28) + 1,
                minute);
  return std::string("{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"") + id +
         "\",\"created\":\"" + ts + "\",\"modified\":\"" + ts +
         "\",\"name\":\"Malicious infrastructure " + std::to_string(n) +
         "\",\"description\":\"Observed in phishing campaign against health services; block "
         "and hunt.\",\"indicator_types\":[\"malicious-activity\"],\"pattern\":\"" +
         pattern + "\",\"pattern_type\":\"stix\",\"valid_from\":\"" + ts +
         "\",\"labels\":[\"phishing\",\"c2\"],\"confidence\":" + std::to_string(rng() % 100) +
         ",\"created_by_ref\":\"identity--f431f809-377b-45e0-aa1c-6a4751cae5ff\"" + marking_part +
         share_part + "}";
}

std::vector<aegis::intel::stix::StixObject> MakeBatch(uint64_t first, size_t count,
                                                      std::mt19937_64& rng) {
  std::vector<aegis::intel::stix::StixObject> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    auto object = aegis::intel::stix::ValidateObject(MakeIndicator(first + i, rng));
    if (!object) {
      std::fprintf(stderr, "generated object invalid: %s\n", object.error().ToString().c_str());
      std::abort();
    }
    out.push_back(std::move(*object));
  }
  return out;
}

// What the TLP policy would answer for reader organisation "gp-7" (a trust's GP
// practice): CLEAR/GREEN to everyone, AMBER and RED only through the share list,
// AMBER+STRICT never (the producer is another organisation).
bool VisibleToGp7(const ObjectMeta& meta) {
  switch (meta.tlp) {
    case Tlp::kClear:
    case Tlp::kGreen:
      return true;
    case Tlp::kAmber:
    case Tlp::kRed:
      for (const auto& org : meta.share_with) {
        if (org == "gp-7") return true;
      }
      return false;
    case Tlp::kAmberStrict:
      return false;
  }
  return false;
}

// The shared 1M-object store, built on first use.
struct BigStore {
  std::unique_ptr<StixStore> store;
  std::string collection;
  int64_t deep_added_after = 0;  // date_added of the 900,000th object
  std::optional<Cursor> deep_cursor;
};

BigStore& Big() {
  static BigStore big = [] {
    BigStore b;
    const std::string path = (BenchDir() / "stix-1m.db").string();
    auto store = StixStore::Open(path);
    if (!store) {
      std::fprintf(stderr, "%s\n", store.error().ToString().c_str());
      std::abort();
    }
    b.store = std::move(*store);
    auto existing = b.store->GetCollection("bench-1m");
    if (existing && *existing) {
      b.collection = (*existing)->id;
    } else {
      b.collection = b.store->CreateCollection({.alias = "bench-1m", .title = "1M"})->id;
    }
    auto count = b.store->CountObjects(b.collection);
    std::mt19937_64 rng(42);
    for (int64_t have = count ? static_cast<int64_t>(*count) : 0; have < kBigCollection;
         have += kBatch) {
      auto batch = MakeBatch(static_cast<uint64_t>(have), kBatch, rng);
      auto added =
          b.store->AddObjects({.collection_id = b.collection, .producer_org = "ncc"}, batch);
      if (!added) {
        std::fprintf(stderr, "%s\n", added.error().ToString().c_str());
        std::abort();
      }
    }
    // Find a deep position: walk pages of 10,000 meta rows to the 900,000th object.
    ObjectQuery walk{.collection_id = b.collection, .limit = 10'000, .with_json = false};
    int64_t seen = 0;
    while (seen < 900'000) {
      auto page = b.store->Query(walk);
      if (!page || page->objects.empty()) break;
      seen += static_cast<int64_t>(page->objects.size());
      walk.after = page->next;
      b.deep_added_after = page->last_added_us;
      if (!page->more) break;
    }
    b.deep_cursor = walk.after;
    return b;
  }();
  return big;
}

void BM_AddObjects(benchmark::State& state) {
  const fs::path path = BenchDir() / "stix-ingest.db";
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path.string() + suffix);
  auto store = StixStore::Open(path.string());
  auto collection = (*store)->CreateCollection({.alias = "ingest", .title = "ingest"});
  std::mt19937_64 rng(7);
  // Pre-generate validated objects so only the store is measured.
  const size_t batch_size = static_cast<size_t>(state.range(0));
  std::vector<std::vector<aegis::intel::stix::StixObject>> batches;
  const size_t batch_count = std::max<size_t>(2, 50'000 / batch_size);
  for (size_t i = 0; i < batch_count; ++i) {
    batches.push_back(MakeBatch(i * batch_size, batch_size, rng));
  }
  uint64_t next_id = batch_count * batch_size;
  size_t round = 0;
  int64_t objects = 0;
  for (auto _ : state) {
    if (round == batches.size()) {
      state.PauseTiming();
      for (auto& batch : batches) batch = MakeBatch((next_id += batch_size), batch_size, rng);
      round = 0;
      state.ResumeTiming();
    }
    auto added = (*store)->AddObjects({.collection_id = collection->id, .producer_org = "rxa"},
                                      batches[round++]);
    if (!added || added->added != batch_size) state.SkipWithError("add failed");
    objects += static_cast<int64_t>(batch_size);
  }
  state.SetItemsProcessed(objects);
  state.counters["objects_per_second"] =
      benchmark::Counter(static_cast<double>(objects), benchmark::Counter::kIsRate);
  state.counters["rss_mib"] = PeakRssMib();
}
BENCHMARK(BM_AddObjects)
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3.0)
    ->UseRealTime();

void RunPage(benchmark::State& state, ObjectQuery query) {
  BigStore& big = Big();
  query.collection_id = big.collection;
  query.limit = 1000;
  query.visible = VisibleToGp7;
  size_t returned = 0;
  for (auto _ : state) {
    auto page = big.store->Query(query);
    if (!page || page->objects.size() != 1000 || !page->more) {
      state.SkipWithError("page not full");
      break;
    }
    returned = page->objects.size();
    benchmark::DoNotOptimize(page->objects.back().json.data());
  }
  state.counters["objects"] = static_cast<double>(returned);
  state.counters["rss_mib"] = PeakRssMib();
}

void BM_QueryFirstPage(benchmark::State& state) { RunPage(state, {}); }
BENCHMARK(BM_QueryFirstPage)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_QueryDeepAddedAfter(benchmark::State& state) {
  RunPage(state, {.added_after_us = Big().deep_added_after});
}
BENCHMARK(BM_QueryDeepAddedAfter)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_QueryDeepNextCursor(benchmark::State& state) {
  RunPage(state, {.after = Big().deep_cursor});
}
BENCHMARK(BM_QueryDeepNextCursor)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_QueryDeepManifest(benchmark::State& state) {
  RunPage(state, {.after = Big().deep_cursor, .with_json = false});
}
BENCHMARK(BM_QueryDeepManifest)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_QueryTypeFilterDeep(benchmark::State& state) {
  RunPage(state, {.added_after_us = Big().deep_added_after, .types = {"indicator"}});
}
BENCHMARK(BM_QueryTypeFilterDeep)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
