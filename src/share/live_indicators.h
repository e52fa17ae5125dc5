// LiveIndicators: STIX indicators that arrive at a running instance (TAXII POST,
// federation pull, feeds) reach detection within a second, without rebuilding the big
// main index.
//
// The StixStore's added-objects hook hands each new indicator version over; a worker
// thread turns the patterns it can use (the STIX loader's grammar: one comparison or an
// OR of comparisons on IPs, domains, URLs, file hashes, e-mail addresses) into core
// Indicators, rebuilds a small "live" index from the live indicators only, and swaps it
// into its own detect::IndexHandle. The indicator detector consults that overlay beside
// the main index (detect::MakeIndicatorDetector(index, live), pipeline ServiceOptions
// ::live_index). A newer version replaces the older one; a revoked version, or one
// without a usable pattern, removes the indicator; expired ones are dropped on rebuild.
// Each indicator carries the tag "stix-id:<indicator id>", so sightings refer to it.
//
//   share::LiveIndicators live({.collections = {"national-indicators"}});
//   live.Attach(*stix);                        // hook + what is already stored
//   pipeline::ServiceOptions opts{.live_index = live.handle()};
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "detect/indicator_index.h"
#include "intel/stix_store.h"

namespace aegis::share {

struct LiveIndicatorsOptions {
  // Collections (ids or aliases) whose indicators go live; empty: every collection.
  std::vector<std::string> collections;
  bool allow_private = false;    // accept RFC 1918 / bogon addresses (tests)
  size_t max_objects = 500'000;  // the oldest-added objects are dropped beyond this
};

struct LiveIndicatorsStats {
  uint64_t objects = 0;     // indicator objects currently live (with usable patterns)
  uint64_t indicators = 0;  // values in the live index
  uint64_t offered = 0;     // indicator versions handed over by the hook
  uint64_t not_loaded = 0;  // versions without a usable pattern (or revoked)
  uint64_t rebuilds = 0;
  double last_rebuild_seconds = 0;
  int64_t last_offer_to_swap_ns = 0;  // hand-over to index swap of the last rebuild
};

class LiveIndicators {
 public:
  explicit LiveIndicators(LiveIndicatorsOptions options = {});
  ~LiveIndicators();
  LiveIndicators(const LiveIndicators&) = delete;
  LiveIndicators& operator=(const LiveIndicators&) = delete;

  // The overlay detectors read. Shared so the service can hold it.
  std::shared_ptr<detect::IndexHandle> handle() const;

  // Resolves the configured collections, loads the indicators already stored there
  // (latest versions) and registers the added-objects hook. The hook holds only a weak
  // reference: destroying this object first is safe.
  Result<uint64_t> Attach(intel::StixStore& store);

  // For a detection process that is not the one writing the store (`aegis run` beside
  // `aegis serve`): the store's hook only fires in the writing process, so read what
  // was added to the watched collections since the last look (date_added order). Attach
  // first. PollOnce returns the number of indicator versions handed over.
  Result<uint64_t> PollOnce(intel::StixStore& store);
  // PollOnce every `interval` on a background thread until destruction.
  void StartPolling(intel::StixStore* store, std::chrono::milliseconds interval);

  // What the hook calls: queues the indicator objects among `added` (cheap; the work
  // happens on the worker thread).
  void Offer(std::span<const intel::StoredObject> added);

  // Applies everything offered so far and swaps the index before returning.
  void Flush();

  LiveIndicatorsStats stats() const;

  struct State;  // shared with the hook and the worker

 private:
  std::shared_ptr<State> state_;
};

}  // namespace aegis::share
