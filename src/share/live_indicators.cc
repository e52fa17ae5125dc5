// LiveIndicators: see live_indicators.h.
#include "share/live_indicators.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "core/event.h"
#include "intel/intel.h"
#include "intel/loaders.h"
#include "share/sightings.h"

namespace aegis::share {
namespace {

// Collects what the STIX loader accepts from one object.
class CollectingSink final : public detect::IndicatorSink {
 public:
  detect::MetaId AddMeta(const IndicatorMeta& meta) override {
    metas_.push_back(meta);
    return static_cast<detect::MetaId>(metas_.size() - 1);
  }
  void Add(IndicatorType type, std::string_view value, detect::MetaId meta) override {
    if (meta >= metas_.size()) return;
    indicators.push_back({type, std::string(value), metas_[meta]});
  }
  std::vector<Indicator> indicators;

 private:
  std::vector<IndicatorMeta> metas_;
};

struct Pending {
  intel::ObjectMeta meta;
  std::string json;
  std::string source;  // collection alias (or id) for the indicators' source
  int64_t offered_ns = 0;
};

struct LiveObject {
  int64_t version_us = 0;
  int64_t added_us = 0;
  std::vector<Indicator> indicators;  // empty: revoked or unusable (kept as a tombstone)
};

}  // namespace

struct LiveIndicators::State {
  LiveIndicatorsOptions options;
  std::shared_ptr<detect::IndexHandle> handle = std::make_shared<detect::IndexHandle>();

  std::mutex mutex;  // guards queue, stop, collections, stats, offered_seq
  std::condition_variable wake;
  std::condition_variable applied;
  std::condition_variable wake_poller;
  std::deque<Pending> queue;
  bool stop = false;
  bool have_filter = false;
  std::unordered_map<std::string, std::string> collections;  // id -> display name
  LiveIndicatorsStats stats;
  uint64_t offered_seq = 0;
  uint64_t applied_seq = 0;

  // Poll positions per watched collection id: the last date_added seen.
  std::mutex poll_mutex;  // guards positions and serialises PollOnce
  std::map<std::string, int64_t> positions;
  std::thread poller;

  // Worker-only state (no lock needed: only the worker thread touches it).
  std::unordered_map<std::string, LiveObject> objects;  // by STIX id

  std::thread worker;

  bool Wanted(const std::string& collection_id, std::string* source) {
    if (!have_filter) {
      auto it = collections.find(collection_id);
      *source = it == collections.end() ? collection_id : it->second;
      return true;
    }
    auto it = collections.find(collection_id);
    if (it == collections.end()) return false;
    *source = it->second;
    return true;
  }

  void Enqueue(std::span<const intel::StoredObject> added) {
    bool any = false;
    {
      std::lock_guard lock(mutex);
      const int64_t now = NowNs();
      std::string source;
      for (const intel::StoredObject& object : added) {
        if (object.meta.type != "indicator") continue;
        if (!Wanted(object.meta.collection_id, &source)) continue;
        queue.push_back({object.meta, object.json, source, now});
        ++stats.offered;
        ++offered_seq;
        any = true;
      }
    }
    if (any) wake.notify_one();
  }

  // Parses one version; true when it changed the live set.
  bool Apply(const Pending& p) {
    auto& known = objects[p.meta.id];
    if (known.version_us > p.meta.version_us) return false;  // older than what we have
    intel::LoadOptions load;
    load.allow_private = options.allow_private;
    load.source_name = p.source;
    load.defaults.tlp = p.meta.tlp;
    load.keep_rejects = false;
    intel::LoadReport report;
    CollectingSink sink;
    {
      intel::internal::LoadContext context(load, sink, report);
      intel::internal::LoadStixText(p.json, p.source, context);
    }
    const std::string tag = std::string(kStixIdTagPrefix) + p.meta.id;
    for (Indicator& indicator : sink.indicators) indicator.meta.tags.push_back(tag);
    known.version_us = p.meta.version_us;
    known.added_us = p.meta.date_added_us;
    known.indicators = std::move(sink.indicators);
    if (known.indicators.empty()) {
      std::lock_guard lock(mutex);
      ++stats.not_loaded;
    }
    return true;
  }

  void Rebuild(int64_t oldest_offer_ns) {
    const auto started = std::chrono::steady_clock::now();
    const int64_t now = NowNs();
    // Drop tombstones' payloads and expired indicators; cap the number of live objects.
    size_t live_objects = 0;
    for (auto& [id, object] : objects) {
      std::erase_if(object.indicators, [&](const Indicator& i) {
        return i.meta.valid_until_ns != 0 && i.meta.valid_until_ns < now;
      });
      if (!object.indicators.empty()) ++live_objects;
    }
    if (live_objects > options.max_objects) {
      std::vector<std::pair<int64_t, std::string>> by_age;
      for (auto& [id, object] : objects) {
        if (!object.indicators.empty()) by_age.emplace_back(object.added_us, id);
      }
      std::sort(by_age.begin(), by_age.end());
      for (size_t i = 0; i < live_objects - options.max_objects; ++i) {
        objects[by_age[i].second].indicators.clear();
      }
      live_objects = options.max_objects;
    }
    detect::IndexBuilder builder;
    uint64_t values = 0;
    for (auto& [id, object] : objects) {
      for (const Indicator& indicator : object.indicators) {
        builder.Add(indicator.type, indicator.value, builder.AddMeta(indicator.meta));
        ++values;
      }
    }
    handle->Swap(builder.Build());
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::lock_guard lock(mutex);
    stats.objects = live_objects;
    stats.indicators = values;
    ++stats.rebuilds;
    stats.last_rebuild_seconds = seconds;
    if (oldest_offer_ns > 0) stats.last_offer_to_swap_ns = NowNs() - oldest_offer_ns;
  }

  void Run() {
    std::unique_lock lock(mutex);
    while (true) {
      // Expired indicators leave the index on a periodic rebuild too.
      wake.wait_for(lock, std::chrono::minutes(1), [this] { return stop || !queue.empty(); });
      if (stop) return;
      std::deque<Pending> batch;
      batch.swap(queue);
      const uint64_t seq = offered_seq;
      lock.unlock();
      int64_t oldest = 0;
      for (const Pending& p : batch) {
        if (oldest == 0 || p.offered_ns < oldest) oldest = p.offered_ns;
        Apply(p);
      }
      Rebuild(oldest);
      lock.lock();
      applied_seq = seq;
      applied.notify_all();
    }
  }
};

LiveIndicators::LiveIndicators(LiveIndicatorsOptions options) : state_(std::make_shared<State>()) {
  state_->options = std::move(options);
  State* state = state_.get();
  state_->worker = std::thread([state] { state->Run(); });
}

LiveIndicators::~LiveIndicators() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stop = true;
  }
  state_->wake.notify_all();
  state_->wake_poller.notify_all();
  if (state_->poller.joinable()) state_->poller.join();
  if (state_->worker.joinable()) state_->worker.join();
}

std::shared_ptr<detect::IndexHandle> LiveIndicators::handle() const { return state_->handle; }

Result<uint64_t> LiveIndicators::Attach(intel::StixStore& store) {
  auto collections = store.ListCollections();
  if (!collections) return std::unexpected(collections.error());
  std::vector<std::string> ids;
  {
    std::lock_guard lock(state_->mutex);
    state_->have_filter = !state_->options.collections.empty();
    for (const intel::Collection& c : *collections) {
      const std::string name = c.alias.empty() ? c.id : c.alias;
      bool wanted = !state_->have_filter;
      for (const std::string& want : state_->options.collections) {
        if (want == c.id || (!c.alias.empty() && want == c.alias)) wanted = true;
      }
      if (!wanted) continue;
      state_->collections[c.id] = name;
      ids.push_back(c.id);
    }
    for (const std::string& want : state_->options.collections) {
      bool found = false;
      for (const auto& [id, name] : state_->collections)
        found = found || id == want || name == want;
      if (!found) {
        Error e;
        e.field = "collections";
        e.reason = "live indicators: no collection '" + want + "'";
        return std::unexpected(e);
      }
    }
  }
  // The hook first, so nothing added while the stored indicators load is missed (a
  // version applied twice changes nothing).
  std::weak_ptr<State> weak = state_;
  store.AddObjectsAddedHook([weak](std::span<const intel::StoredObject> added) {
    if (auto state = weak.lock()) state->Enqueue(added);
  });
  // What is already stored: latest versions of every indicator.
  uint64_t offered = 0;
  for (const std::string& id : ids) {
    intel::ObjectQuery q;
    q.collection_id = id;
    q.types = {"indicator"};
    q.versions = intel::VersionMatch::kLast;
    q.limit = 1000;
    while (true) {
      auto page = store.Query(q);
      if (!page) return std::unexpected(page.error());
      Offer(page->objects);
      offered += page->objects.size();
      {
        std::lock_guard lock(state_->poll_mutex);
        int64_t& position = state_->positions[id];
        for (const intel::StoredObject& o : page->objects) {
          position = std::max(position, o.meta.date_added_us);
        }
      }
      if (!page->more || !page->next) break;
      q.after = page->next;
    }
  }
  Flush();
  return offered;
}

Result<uint64_t> LiveIndicators::PollOnce(intel::StixStore& store) {
  std::lock_guard poll_lock(state_->poll_mutex);
  std::vector<std::string> ids;
  {
    std::lock_guard lock(state_->mutex);
    for (const auto& [id, name] : state_->collections) ids.push_back(id);
  }
  uint64_t offered = 0;
  for (const std::string& id : ids) {
    int64_t& position = state_->positions[id];
    intel::ObjectQuery q;
    q.collection_id = id;
    q.types = {"indicator"};
    q.versions = intel::VersionMatch::kAll;
    q.added_after_us = position;
    q.limit = 1000;
    while (true) {
      auto page = store.Query(q);
      if (!page) return std::unexpected(page.error());
      Offer(page->objects);
      offered += page->objects.size();
      for (const intel::StoredObject& o : page->objects) {
        position = std::max(position, o.meta.date_added_us);
      }
      if (!page->more || !page->next) break;
      q.after = page->next;
    }
  }
  return offered;
}

void LiveIndicators::StartPolling(intel::StixStore* store, std::chrono::milliseconds interval) {
  if (state_->poller.joinable()) return;
  State* state = state_.get();
  LiveIndicators* self = this;
  state_->poller = std::thread([state, self, store, interval] {
    std::unique_lock lock(state->mutex);
    while (!state->stop) {
      lock.unlock();
      if (auto r = self->PollOnce(*store); !r) {
        spdlog::warn("live indicators: polling the STIX store failed: {}", r.error().ToString());
      }
      lock.lock();
      state->wake_poller.wait_for(lock, interval, [state] { return state->stop; });
    }
  });
}

void LiveIndicators::Offer(std::span<const intel::StoredObject> added) { state_->Enqueue(added); }

void LiveIndicators::Flush() {
  std::unique_lock lock(state_->mutex);
  const uint64_t target = state_->offered_seq;
  state_->applied.wait(lock, [&] { return state_->stop || state_->applied_seq >= target; });
}

LiveIndicatorsStats LiveIndicators::stats() const {
  std::lock_guard lock(state_->mutex);
  return state_->stats;
}

}  // namespace aegis::share
