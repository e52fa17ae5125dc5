// Micro-benchmarks for the indicator index on synthetic data shaped like maltrail
// (~1.5M domains, ~300k IPv4 addresses, ~1k CIDRs, ~60k URLs): domain and IP lookups
// (hits and misses) and the build itself, with bytes per indicator as a counter.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/event.h"
#include "core/observables.h"
#include "detect/detect.h"
#include "detect/indicator_index.h"

namespace aegis::detect {
namespace {

constexpr int64_t kNow = 1'700'000'000'000'000'000;
constexpr size_t kDomains = 1'500'000;
constexpr size_t kAddresses = 300'000;
constexpr size_t kRanges = 1'000;
constexpr size_t kUrls = 60'000;
constexpr size_t kQueries = 1 << 16;

std::string RandomLabel(std::mt19937_64& rng, size_t min_length, size_t max_length) {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  const size_t length = std::uniform_int_distribution<size_t>(min_length, max_length)(rng);
  std::string label(length, 'a');
  for (char& c : label) c = kChars[rng() % 36];
  return label;
}

std::string RandomDomain(std::mt19937_64& rng) {
  static const char* const kTlds[] = {"com", "net", "org", "ru", "info", "xyz", "top", "cn",
                                      "biz", "io",  "de",  "br", "in",   "su",  "tk",  "pw"};
  std::string name = RandomLabel(rng, 5, 14) + "." + kTlds[rng() % 16];
  if (rng() % 10 < 3) name = RandomLabel(rng, 2, 8) + "." + name;
  return name;
}

struct Corpus {
  std::vector<std::string> domains, addresses, ranges, urls;
};

const Corpus& SyntheticCorpus() {
  static const Corpus* corpus = [] {
    auto* c = new Corpus;
    std::mt19937_64 rng(42);
    for (size_t i = 0; i < kDomains; ++i) c->domains.push_back(RandomDomain(rng));
    for (size_t i = 0; i < kAddresses; ++i) {
      c->addresses.push_back(FormatIp(IpAddress::FromV4(static_cast<uint32_t>(rng()))));
    }
    for (size_t i = 0; i < kRanges; ++i) {
      IpPrefix p;
      p.length = static_cast<uint8_t>(16 + rng() % 13);
      p.addr = IpAddress::FromV4(static_cast<uint32_t>(rng()) & ~(0xffffffffu >> p.length));
      c->ranges.push_back(FormatPrefix(p));
    }
    for (size_t i = 0; i < kUrls; ++i) {
      c->urls.push_back(RandomDomain(rng) + "/" + RandomLabel(rng, 3, 20) +
                        ".php?id=" + std::to_string(rng() % 1000));
    }
    return c;
  }();
  return *corpus;
}

std::unique_ptr<IndicatorIndex> BuildIndex(const Corpus& c) {
  IndexBuilder b;
  b.Reserve(c.domains.size() + c.addresses.size() + c.ranges.size() + c.urls.size());
  IndicatorMeta meta;
  meta.source = "synthetic";
  const MetaId m = b.AddMeta(meta);
  for (const auto& d : c.domains) b.Add(IndicatorType::kDomain, d, m);
  for (const auto& a : c.addresses) b.Add(IndicatorType::kIpv4, a, m);
  for (const auto& r : c.ranges) b.Add(IndicatorType::kCidr, r, m);
  for (const auto& u : c.urls) b.Add(IndicatorType::kUrl, u, m);
  return b.Build();
}

const IndicatorIndex& SharedIndex() {
  static const IndicatorIndex* index = BuildIndex(SyntheticCorpus()).release();
  return *index;
}

void AddIndexCounters(benchmark::State& state, const IndicatorIndex& index) {
  const IndexStats& s = index.stats();
  state.counters["indicators"] = static_cast<double>(s.indicators);
  state.counters["bytes_per_indicator"] =
      static_cast<double>(s.memory_bytes) / static_cast<double>(s.indicators);
}

// Query mixes. Names are what a DNS log holds: hits are indicators or their
// subdomains; misses look alike but are not in the index.
std::vector<std::string> DomainQueries(bool hits, bool subdomains) {
  const Corpus& c = SyntheticCorpus();
  std::mt19937_64 rng(hits ? 7 : 8);
  std::vector<std::string> queries;
  for (size_t i = 0; i < kQueries; ++i) {
    std::string name = hits ? c.domains[rng() % c.domains.size()] : RandomDomain(rng);
    if (subdomains) name = "www." + name;
    queries.push_back(std::move(name));
  }
  return queries;
}

void RunDomainLookups(benchmark::State& state, const std::vector<std::string>& queries,
                      bool expect_hits) {
  const IndicatorIndex& index = SharedIndex();
  size_t i = 0, found = 0;
  for (auto _ : state) {
    auto m = index.MatchDomain(queries[i], kNow);
    found += m.has_value();
    benchmark::DoNotOptimize(m);
    i = (i + 1) & (kQueries - 1);
  }
  state.SetItemsProcessed(state.iterations());
  // Random "misses" may collide with a synthetic indicator now and then.
  const double hit_rate = static_cast<double>(found) / static_cast<double>(state.iterations());
  if (expect_hits ? hit_rate < 0.99 : hit_rate > 0.01) state.SkipWithError("unexpected hit rate");
  state.counters["hit_rate"] = hit_rate;
  AddIndexCounters(state, index);
}

void BM_MatchDomainHitExact(benchmark::State& state) {
  static const auto queries = DomainQueries(true, false);
  RunDomainLookups(state, queries, true);
}
void BM_MatchDomainHitSubdomain(benchmark::State& state) {
  static const auto queries = DomainQueries(true, true);
  RunDomainLookups(state, queries, true);
}
void BM_MatchDomainMiss(benchmark::State& state) {
  static const auto queries = DomainQueries(false, false);
  RunDomainLookups(state, queries, false);
}
void BM_MatchDomainMissSubdomain(benchmark::State& state) {
  static const auto queries = DomainQueries(false, true);
  RunDomainLookups(state, queries, false);
}
// The same few names over and over, as in real DNS traffic: the cache-warm cost.
void BM_MatchDomainMissHotSet(benchmark::State& state) {
  static const auto queries = [] {
    auto q = DomainQueries(false, true);
    for (size_t i = 0; i < q.size(); ++i) q[i] = q[i % 256];
    return q;
  }();
  RunDomainLookups(state, queries, false);
}

std::vector<IpAddress> IpQueries(bool hits) {
  const Corpus& c = SyntheticCorpus();
  std::mt19937_64 rng(hits ? 9 : 10);
  std::vector<IpAddress> queries;
  for (size_t i = 0; i < kQueries; ++i) {
    if (hits && i % 2 == 0) {
      queries.push_back(*ParseIp(c.addresses[rng() % c.addresses.size()]));
    } else if (hits) {
      auto range = ParseCidr(c.ranges[rng() % c.ranges.size()]);
      IpAddress ip = range->addr;
      ip.bytes[3] ^= static_cast<uint8_t>(rng() & 0xff >> (range->length > 24 ? 8 : 0));
      queries.push_back(ip);
    } else {
      queries.push_back(IpAddress::FromV4(static_cast<uint32_t>(rng())));
    }
  }
  return queries;
}

void RunIpLookups(benchmark::State& state, const std::vector<IpAddress>& queries) {
  const IndicatorIndex& index = SharedIndex();
  size_t i = 0, found = 0;
  for (auto _ : state) {
    auto m = index.MatchIp(queries[i], kNow);
    found += m.has_value();
    benchmark::DoNotOptimize(m);
    i = (i + 1) & (kQueries - 1);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["hit_rate"] = static_cast<double>(found) / static_cast<double>(state.iterations());
}

void BM_MatchIpHit(benchmark::State& state) {
  static const auto queries = IpQueries(true);
  RunIpLookups(state, queries);
}
void BM_MatchIpMiss(benchmark::State& state) {
  static const auto queries = IpQueries(false);
  RunIpLookups(state, queries);
}

void BM_MatchUrlMiss(benchmark::State& state) {
  const IndicatorIndex& index = SharedIndex();
  static const auto queries = [] {
    auto q = DomainQueries(false, false);
    for (auto& s : q) s += "/index.php?id=1";
    return q;
  }();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(index.MatchUrl(queries[i], kNow));
    i = (i + 1) & (kQueries - 1);
  }
  state.SetItemsProcessed(state.iterations());
}

// One Zeek dns.log record per iteration through the IndicatorDetector: 5 observable
// fields (two IPs, the query, two answers), random names and addresses, no match.
void BM_InspectDnsEvent(benchmark::State& state) {
  static IndexHandle* handle = [] {
    auto* h = new IndexHandle;
    h->Swap(BuildIndex(SyntheticCorpus()));
    return h;
  }();
  static const auto names = DomainQueries(false, true);
  static const auto addresses = IpQueries(false);
  std::vector<std::string> address_text;
  for (const IpAddress& ip : addresses) address_text.push_back(FormatIp(ip));
  auto detector = MakeIndicatorDetector(handle, false);
  Event ev;
  ev.Add(KeyFor("source.ip", "id.orig_h"), ValueType::kIp, "10.1.2.3");
  ev.Add(KeyFor("destination.ip", "id.resp_h"), ValueType::kIp, "10.1.2.4");
  ev.Add(KeyFor("dns.question.name", "query"), ValueType::kString, "");
  ev.Add(KeyFor("dns.answers.data", "answers"), ValueType::kString, "");
  ev.Add(KeyFor("dns.answers.data", "answers"), ValueType::kString, "");
  std::vector<Alert> out;
  size_t i = 0;
  for (auto _ : state) {
    auto fields = ev.mutable_fields();
    fields[0].value = address_text[(i * 7) & (kQueries - 1)];
    fields[2].value = names[i];
    fields[3].value = names[(i * 13) & (kQueries - 1)];
    fields[4].value = address_text[i];
    detector->Inspect(ev, out);
    out.clear();
    i = (i + 1) & (kQueries - 1);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Build(benchmark::State& state) {
  const Corpus& corpus = SyntheticCorpus();
  std::unique_ptr<IndicatorIndex> index;
  for (auto _ : state) {
    index = BuildIndex(corpus);
    benchmark::DoNotOptimize(index.get());
    state.PauseTiming();
    index.reset();
    state.ResumeTiming();
  }
  index = BuildIndex(corpus);
  AddIndexCounters(state, *index);
  state.counters["memory_MB"] = static_cast<double>(index->stats().memory_bytes) / 1e6;
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(index->stats().indicators));
}

BENCHMARK(BM_MatchDomainHitExact);
BENCHMARK(BM_MatchDomainHitSubdomain);
BENCHMARK(BM_MatchDomainMiss);
BENCHMARK(BM_MatchDomainMissSubdomain);
BENCHMARK(BM_MatchDomainMissHotSet);
BENCHMARK(BM_MatchIpHit);
BENCHMARK(BM_MatchIpMiss);
BENCHMARK(BM_MatchUrlMiss);
BENCHMARK(BM_InspectDnsEvent);
BENCHMARK(BM_Build)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace aegis::detect

BENCHMARK_MAIN();
