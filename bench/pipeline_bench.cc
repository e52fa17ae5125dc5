// Events per second per core through parse + normalise + indicator matching, on the
// real data sets of ../shared/data, against all the maltrail indicators (~1.85M).
//
//   build-bench/bench/pipeline_bench --benchmark_counters_tabular=true
//
// Inputs are decompressed into memory first, so the figures are for the CPU work per
// event (one thread), not for disk or gzip. `aegis scan` end to end (with reading and
// decompression) is timed by bench/run.sh with hyperfine, beside grep and ripgrep.
#include <benchmark/benchmark.h>

#include <algorithm>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "detect/detect.h"
#include "detect/indicator_index.h"
#include "ingest/ingest.h"
#include "intel/intel.h"

namespace {

const std::string kShared = AEGIS_SHARED_DATA;

std::vector<std::string> ReadEventLines(const std::string& path) {
  // Use Aegis' own reader only to get the records; keep raw lines.
  std::vector<std::string> lines;
  aegis::ingest::ReaderOptions opts;
  aegis::ingest::DeadLetterFile none("");
  auto reader = aegis::ingest::EventReader::Open(path, opts, &none);
  if (!reader) return lines;
  aegis::Event ev;
  while ((*reader)->Next(ev)) lines.push_back(ev.raw);
  return lines;
}

struct Fixture {
  aegis::detect::IndexHandle handle;
  bool ready = false;
  std::string error;
  Fixture() {
    std::string trails = kShared + "/intel/maltrail/trails/static";
    if (!std::filesystem::exists(trails)) {
      error = "shared data not found: " + trails;
      return;
    }
    aegis::detect::IndexBuilder builder;
    aegis::intel::LoadOptions opts;
    auto r = aegis::intel::LoadPath(trails, opts, builder);
    if (!r) {
      error = r.error().ToString();
      return;
    }
    handle.Swap(builder.Build());
    ready = true;
  }
};

Fixture& Shared() {
  static Fixture* f = new Fixture();
  return *f;
}

void RunEvents(benchmark::State& state, aegis::EventFormat format,
               const std::vector<std::string>& lines) {
  Fixture& fx = Shared();
  if (!fx.ready || lines.empty()) {
    state.SkipWithError(fx.ready ? "no events in input (shared data missing?)" : fx.error.c_str());
    return;
  }
  auto parser = aegis::ingest::MakeParser(format);
  auto detector = aegis::detect::MakeIndicatorDetector(&fx.handle, /*include_event_json=*/true);
  aegis::Event ev;
  std::vector<aegis::Alert> alerts;
  uint64_t events = 0, matched = 0, bytes = 0;
  for (auto _ : state) {
    for (const std::string& line : lines) {
      ev.Clear();
      ev.raw.assign(line);
      auto r = parser->Parse(line, ev);
      if (r && *r == aegis::ingest::ParseOutcome::kEvent) {
        detector->Inspect(ev, alerts);
        matched += alerts.size();
        alerts.clear();
        ++events;
      }
      bytes += line.size();
    }
  }
  state.counters["events_per_s"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
  state.counters["alerts"] = static_cast<double>(matched) / static_cast<double>(state.iterations());
  state.counters["events"] = static_cast<double>(events) / static_cast<double>(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

void BM_ZeekDnsJson(benchmark::State& state) {
  static const auto lines = ReadEventLines(kShared + "/events/zeek/zeek-json/dns.json.gz");
  RunEvents(state, aegis::EventFormat::kZeekJson, lines);
}
BENCHMARK(BM_ZeekDnsJson)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_ZeekSslJson(benchmark::State& state) {
  static const auto lines = ReadEventLines(kShared + "/events/zeek/zeek-json/ssl.json.gz");
  RunEvents(state, aegis::EventFormat::kZeekJson, lines);
}
BENCHMARK(BM_ZeekSslJson)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// OTRF Sysmon (flat Windows JSON): every zipped dataset of the atomic folder.
std::vector<std::string> OtrfLines() {
  std::vector<std::string> all;
  std::string root = kShared + "/events/otrf/datasets/atomic/windows";
  if (!std::filesystem::exists(root)) return all;
  std::vector<std::string> zips;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (e.path().extension() == ".zip") zips.push_back(e.path());
  }
  std::sort(zips.begin(), zips.end());
  for (const auto& z : zips) {
    auto lines = ReadEventLines(z);
    all.insert(all.end(), std::make_move_iterator(lines.begin()), std::make_move_iterator(lines.end()));
  }
  return all;
}

void BM_OtrfWindowsFlat(benchmark::State& state) {
  static const auto lines = OtrfLines();
  RunEvents(state, aegis::EventFormat::kWindowsFlat, lines);
}
BENCHMARK(BM_OtrfWindowsFlat)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// Parsing and normalising alone, without matching: the share of the work that is parsing.
void BM_ZeekDnsJsonParseOnly(benchmark::State& state) {
  static const auto lines = ReadEventLines(kShared + "/events/zeek/zeek-json/dns.json.gz");
  Fixture& fx = Shared();
  if (!fx.ready || lines.empty()) {
    state.SkipWithError("shared data missing");
    return;
  }
  auto parser = aegis::ingest::MakeParser(aegis::EventFormat::kZeekJson);
  aegis::Event ev;
  uint64_t events = 0;
  for (auto _ : state) {
    for (const std::string& line : lines) {
      ev.Clear();
      if (parser->Parse(line, ev)) ++events;
    }
  }
  state.counters["parse_only_events_per_s"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ZeekDnsJsonParseOnly)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
