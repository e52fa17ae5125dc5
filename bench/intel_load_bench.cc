// Benchmark: loading the maltrail trail tree (~1.85M values in ~3,100 files).
//   BM_LoadMaltrailTree:         into a sink that only counts: the loaders' share
//                                (reading, line splitting, vetting, normalising)
//   BM_LoadMaltrailIntoIndex:    the whole job, IndexBuilder::Add and Build included
//   ./build/bench/intel_load_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>

#include "intel/intel.h"

namespace {

class CountingSink : public aegis::detect::IndicatorSink {
 public:
  aegis::detect::MetaId AddMeta(const aegis::IndicatorMeta&) override { return metas_++; }
  void Add(aegis::IndicatorType, std::string_view value, aegis::detect::MetaId) override {
    ++count_;
    bytes_ += value.size();
  }
  uint64_t count() const { return count_; }

 private:
  aegis::detect::MetaId metas_ = 0;
  uint64_t count_ = 0;
  uint64_t bytes_ = 0;
};

void BM_LoadMaltrailTree(benchmark::State& state) {
  std::string root = (std::filesystem::path(AEGIS_SHARED_DATA) / "intel" / "maltrail").string();
  if (!std::filesystem::exists(root)) {
    state.SkipWithError("no maltrail tree under AEGIS_SHARED_DATA");
    return;
  }
  aegis::intel::LoadOptions options;
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  for (auto _ : state) {
    CountingSink sink;
    auto report = aegis::intel::LoadPath(root, options, sink);
    if (!report) {
      state.SkipWithError(report.error().ToString().c_str());
      return;
    }
    accepted = report->accepted;
    rejected = report->rejected;
    benchmark::DoNotOptimize(sink.count());
  }
  state.counters["accepted"] = static_cast<double>(accepted);
  state.counters["rejected"] = static_cast<double>(rejected);
  state.counters["values_per_s"] =
      benchmark::Counter(static_cast<double>(accepted + rejected), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_LoadMaltrailTree)->Unit(benchmark::kMillisecond);

void BM_LoadMaltrailIntoIndex(benchmark::State& state) {
  std::string root = (std::filesystem::path(AEGIS_SHARED_DATA) / "intel" / "maltrail").string();
  if (!std::filesystem::exists(root)) {
    state.SkipWithError("no maltrail tree under AEGIS_SHARED_DATA");
    return;
  }
  aegis::intel::LoadOptions options;
  uint64_t indicators = 0;
  for (auto _ : state) {
    aegis::detect::IndexBuilder builder;
    auto report = aegis::intel::LoadPath(root, options, builder);
    if (!report) {
      state.SkipWithError(report.error().ToString().c_str());
      return;
    }
    auto index = builder.Build();
    indicators = index->stats().indicators;
    benchmark::DoNotOptimize(index.get());
  }
  state.counters["indicators"] = static_cast<double>(indicators);
}
BENCHMARK(BM_LoadMaltrailIntoIndex)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
