// IndicatorIndex: an immutable, compact index of threat indicators with fast lookups.
//
// Built once by an IndexBuilder, then only read, so any number of threads may match
// against it at once. Reloading builds a new index on the side and swaps it into an
// IndexHandle atomically: matching never pauses and never sees a half-built index.
//   IPs and CIDR ranges: longest-prefix match (v4 and v6)
//   domains: the name itself and every parent domain are looked up (most specific wins)
//   URLs, hashes, emails: exact match on the normalised value (core/observables.h)
// Indicators past their valid_until stop matching.
//
//   aegis::detect::IndexBuilder b;
//   b.Add(aegis::IndicatorType::kDomain, "evil.com", b.AddMeta(meta));
//   aegis::detect::IndexHandle handle;
//   handle.Swap(b.Build());
//   auto snap = handle.Snapshot();
//   if (auto m = snap->MatchDomain("www.evil.com", now)) ...
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/indicator.h"
#include "core/observables.h"

namespace aegis::detect {

using MetaId = uint32_t;

struct IndicatorMatch {
  IndicatorType type;
  std::string_view value;      // the indicator as stored (normalised); valid while the snapshot lives
  const IndicatorMeta* meta;   // valid while the snapshot lives
  bool subdomain = false;      // domain matched as a parent of the looked-up name
  uint8_t prefix_length = 0;   // for IP/CIDR matches
};

struct IndexStats {
  uint64_t indicators = 0;           // distinct indicators stored
  uint64_t by_type[9] = {};          // indexed by IndicatorType
  uint64_t duplicates = 0;           // Add() calls for a value already present
  uint64_t metas = 0;                // distinct metadata records
  uint64_t rejected = 0;             // Add() calls the index could not use (bad IP/CIDR, /0, unknown meta)
  uint64_t memory_bytes = 0;         // bytes held by the index
};

class IndicatorIndex {
 public:
  virtual ~IndicatorIndex() = default;
  // `now_ns` decides expiry (valid_until). All lookups take already-normalised or
  // raw event values as documented per method.
  virtual std::optional<IndicatorMatch> MatchIp(const IpAddress& ip, int64_t now_ns) const = 0;
  // `name` must be normalised (NormalizeDomainForMatch).
  virtual std::optional<IndicatorMatch> MatchDomain(std::string_view name, int64_t now_ns) const = 0;
  // `key` must be normalised (NormalizeUrl).
  virtual std::optional<IndicatorMatch> MatchUrl(std::string_view key, int64_t now_ns) const = 0;
  // lower-case hex digest.
  virtual std::optional<IndicatorMatch> MatchHash(std::string_view hex, int64_t now_ns) const = 0;
  virtual std::optional<IndicatorMatch> MatchEmail(std::string_view email, int64_t now_ns) const = 0;
  virtual const IndexStats& stats() const = 0;
};

// Receives indicators from loaders. Values must already be normalised and vetted.
class IndicatorSink {
 public:
  virtual ~IndicatorSink() = default;
  // Registers metadata shared by many indicators; returns its id.
  virtual MetaId AddMeta(const IndicatorMeta& meta) = 0;
  virtual void Add(IndicatorType type, std::string_view normalised_value, MetaId meta) = 0;
};

// Collects indicators and builds an index. Not thread-safe. If a value is added twice,
// the later metadata with the higher confidence wins.
class IndexBuilder : public IndicatorSink {
 public:
  IndexBuilder();
  ~IndexBuilder() override;
  MetaId AddMeta(const IndicatorMeta& meta) override;
  void Add(IndicatorType type, std::string_view normalised_value, MetaId meta) override;
  // Hint for the number of indicators to come (avoids rehashing).
  void Reserve(size_t indicators);
  std::unique_ptr<IndicatorIndex> Build();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Holds the current index. Readers take a snapshot (a reference-counted pointer) and
// keep it for as long as they match; writers swap in a new index. The lock is held
// only to copy or swap one pointer: a reload never blocks matching for longer than
// that, and detectors take a snapshot only when generation() changed.
// (A mutex rather than std::atomic<std::shared_ptr>: libstdc++ 12's implementation of
// the latter is reported racy by ThreadSanitizer; see docs/INDEX.md.)
class IndexHandle {
 public:
  IndexHandle();
  std::shared_ptr<const IndicatorIndex> Snapshot() const;
  void Swap(std::unique_ptr<IndicatorIndex> next);
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex current_mutex_;  // guards current_
  std::shared_ptr<const IndicatorIndex> current_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace aegis::detect
