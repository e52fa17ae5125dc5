// AlertDeduplicator: folds repeats of the same alert (same detector, rule, matched
// values and host pair) seen within a time window of the last admitted one, keyed by a
// 64-bit hash, with memory bounded by forgetting the least recently admitted keys.
#include <algorithm>
#include <deque>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "detect/detect.h"
#include "detect/hashing.h"

namespace aegis::detect {
namespace {

uint64_t DedupKey(const Alert& alert) {
  std::vector<std::string_view> values;
  values.reserve(alert.matches.size());
  for (const AlertMatch& m : alert.matches) values.push_back(m.value);
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());

  // HashBytes mixes each piece's length in, so the pieces cannot run into each other.
  uint64_t h = hashing::HashBytes(alert.detector);
  h = hashing::HashBytes(alert.rule, h);
  h = hashing::HashU64(values.size(), h);
  for (std::string_view v : values) h = hashing::HashBytes(v, h);
  h = hashing::HashBytes(alert.source_ip, h);
  h = hashing::HashBytes(alert.destination_ip, h);
  return hashing::Finish(h);
}

// |a - b| < window without overflowing.
bool WithinWindow(int64_t a, int64_t b, int64_t window) {
  int64_t difference;
  if (__builtin_sub_overflow(a, b, &difference)) return false;
  return difference < window && difference > -window;
}

}  // namespace

struct AlertDeduplicator::Impl {
  struct Entry {
    int64_t window_start;  // event time of the last admitted alert with this key
    uint64_t stamp;        // admission number, to recognise stale entries in `order`
    std::string first_id;  // id of the admitted alert that repeats are folded into
  };
  struct Admission {
    uint64_t key;
    uint64_t stamp;
  };

  int64_t window_ns;
  size_t max_keys;

  std::mutex mutex;  // guards everything below
  std::unordered_map<uint64_t, Entry> entries;
  std::deque<Admission> order;  // admissions, oldest first; stale when the stamp moved on
  uint64_t next_stamp = 0;
  uint64_t suppressed = 0;

  void ForgetOldest() {
    while (!order.empty()) {
      const Admission oldest = order.front();
      order.pop_front();
      auto it = entries.find(oldest.key);
      if (it != entries.end() && it->second.stamp == oldest.stamp) {
        entries.erase(it);
        return;
      }
    }
  }

  // Drops stale admissions so that `order` stays proportional to `entries`.
  void CompactOrder() {
    std::erase_if(order, [&](const Admission& a) {
      auto it = entries.find(a.key);
      return it == entries.end() || it->second.stamp != a.stamp;
    });
  }
};

AlertDeduplicator::AlertDeduplicator(int64_t window_ns, size_t max_keys)
    : impl_(std::make_unique<Impl>()) {
  impl_->window_ns = window_ns;
  impl_->max_keys = std::max<size_t>(max_keys, 1);
}

AlertDeduplicator::~AlertDeduplicator() = default;

bool AlertDeduplicator::Admit(const Alert& alert) { return Admit(alert, nullptr); }

bool AlertDeduplicator::Admit(const Alert& alert, std::string* repeat_of) {
  if (impl_->window_ns <= 0) return true;
  const uint64_t key = DedupKey(alert);
  // Events without a timestamp fall back to the time the alert was raised.
  const int64_t when = alert.event_time_ns != 0 ? alert.event_time_ns : alert.time_ns;

  std::lock_guard lock(impl_->mutex);
  const uint64_t stamp = impl_->next_stamp++;
  auto [it, inserted] = impl_->entries.try_emplace(key, Impl::Entry{when, stamp, alert.id});
  if (!inserted) {
    if (WithinWindow(when, it->second.window_start, impl_->window_ns)) {
      ++impl_->suppressed;
      if (repeat_of != nullptr) *repeat_of = it->second.first_id;
      return false;
    }
    it->second = {when, stamp, alert.id};  // a new window starts with this alert
  }
  impl_->order.push_back({key, stamp});
  while (impl_->entries.size() > impl_->max_keys) impl_->ForgetOldest();
  if (impl_->order.size() > 2 * impl_->entries.size() + 1024) impl_->CompactOrder();
  return true;
}

uint64_t AlertDeduplicator::suppressed() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->suppressed;
}

}  // namespace aegis::detect
