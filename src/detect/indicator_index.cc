// The compact indicator index: IndexBuilder, the immutable index it builds, and
// IndexHandle (atomic snapshot swapping). Layout and the reasons behind it are in
// docs/INDEX.md; in short:
//   - every indicator is one record in a single byte arena: [meta u32][len varint][value]
//   - domains, URLs, emails and each hash kind have an open-addressing table of 8-byte
//     slots {record offset, 32-bit hash}; the slot index comes from the hash's top bits
//   - exact IPv4/IPv6 addresses have tables keyed by the address itself
//   - blocked Bloom filters in front of the two big tables (domains, IPv4) answer most
//     misses from cache
//   - CIDR ranges are flattened into sorted, disjoint intervals (binary search), each
//     pointing at its most specific prefix, which points at its enclosing prefix
//   - metadata lives once in a table indexed by MetaId
#include "detect/indicator_index.h"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <unordered_map>
#include <utility>

#include "detect/hashing.h"

namespace aegis::detect {
namespace {

using u128 = unsigned __int128;

constexpr uint32_t kNoRecord = 0;  // arena offset 0 is a dummy byte, never a record
constexpr uint32_t kNoPrefix = UINT32_MAX;
constexpr size_t kMinCapacity = 16;
constexpr size_t kMaxDomainLength = 255;             // longer names cannot be DNS names
constexpr size_t kMaxLabels = kMaxDomainLength + 1;  // even "a....." has dots + 1 labels

// Heap bytes held by a std::string beyond the object itself (0 while it fits inline).
size_t HeapBytes(const std::string& s) {
  static const size_t kInlineCapacity = std::string().capacity();
  return s.capacity() > kInlineCapacity ? s.capacity() + 1 : 0;
}

// ---------------------------------------------------------------------------------
// Large arrays (tables, arena) are looked up at random: backing them with 2 MiB pages
// saves most TLB misses. Smaller arrays use the ordinary heap.

constexpr size_t kHugePage = size_t{2} << 20;

// Bytes actually taken from the system for an array of `bytes`.
size_t AllocatedBytes(size_t bytes) {
  return bytes >= kHugePage ? (bytes + kHugePage - 1) / kHugePage * kHugePage : bytes;
}

template <typename T>
struct LargeArrayAllocator {
  using value_type = T;
  LargeArrayAllocator() = default;
  template <typename U>
  LargeArrayAllocator(const LargeArrayAllocator<U>&) {}

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugePage)
      return static_cast<T*>(::operator new (bytes, std::align_val_t{alignof(T)}));
    void* p = std::aligned_alloc(kHugePage, AllocatedBytes(bytes));
    if (p == nullptr) throw std::bad_alloc();
    madvise(p, AllocatedBytes(bytes), MADV_HUGEPAGE);  // a hint: failure is harmless
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kHugePage) {
      ::operator delete (p, std::align_val_t{alignof(T)});
    } else {
      std::free(p);
    }
  }
  template <typename U>
  bool operator==(const LargeArrayAllocator<U>&) const {
    return true;
  }
};

template <typename T>
using LargeArray = std::vector<T, LargeArrayAllocator<T>>;

template <typename T>
size_t MemoryOf(const LargeArray<T>& v) {
  return AllocatedBytes(v.capacity() * sizeof(T));
}

// ---------------------------------------------------------------------------------
// All indicator values, one record each: [MetaId, 4 bytes][length, LEB128][bytes].

class RecordArena {
 public:
  RecordArena() : bytes_(1, '\0') {}

  // Appends a record and returns its offset, or kNoRecord when the arena is full.
  uint32_t Append(std::string_view value, MetaId meta) {
    if (value.size() > UINT32_MAX - 9 - bytes_.size()) return kNoRecord;
    char header[4 + 5];  // meta, then up to 5 LEB128 bytes for a length below 2^32
    std::memcpy(header, &meta, 4);
    size_t header_size = 4;
    size_t length = value.size();
    while (length >= 0x80) {
      header[header_size++] = static_cast<char>((length & 0x7f) | 0x80);
      length >>= 7;
    }
    header[header_size++] = static_cast<char>(length);
    const auto offset = static_cast<uint32_t>(bytes_.size());
    bytes_.insert(bytes_.end(), header, header + header_size);
    bytes_.insert(bytes_.end(), value.begin(), value.end());
    return offset;
  }

  MetaId meta(uint32_t record) const {
    MetaId m;
    std::memcpy(&m, bytes_.data() + record, sizeof m);
    return m;
  }
  void set_meta(uint32_t record, MetaId m) { std::memcpy(bytes_.data() + record, &m, sizeof m); }

  std::string_view value(uint32_t record) const {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes_.data()) + record + 4;
    size_t length = 0;
    unsigned shift = 0;
    while (*p & 0x80) {
      length |= static_cast<size_t>(*p & 0x7f) << shift;
      shift += 7;
      ++p;
    }
    length |= static_cast<size_t>(*p) << shift;
    return {reinterpret_cast<const char*>(p + 1), length};
  }

  void Reserve(size_t bytes) { bytes_.reserve(bytes); }
  void Shrink() { bytes_.shrink_to_fit(); }
  size_t memory_bytes() const { return MemoryOf(bytes_); }

 private:
  LargeArray<char> bytes_;
};

// Slot index from the top bits of a 32-bit hash; `shift` = 32 - log2(capacity).
inline size_t HomeSlot(uint32_t hash, unsigned shift) { return hash >> shift; }

inline unsigned ShiftFor(size_t capacity) {
  return 32 - static_cast<unsigned>(std::countr_zero(capacity));
}

// ---------------------------------------------------------------------------------
// Open addressing (linear probing, load <= 3/4) over records holding strings. The slot
// keeps the full 32-bit hash so that almost every non-matching probe is rejected
// without touching the arena, and so that growing never re-reads the strings.

struct StringSlot {
  uint32_t record;  // kNoRecord = empty
  uint32_t hash;
};

class StringTable {
 public:
  size_t size() const { return size_; }
  size_t memory_bytes() const { return MemoryOf(slots_); }

  uint32_t Find(uint32_t hash, std::string_view key, const RecordArena& arena) const {
    if (size_ == 0) return kNoRecord;
    for (size_t i = HomeSlot(hash, shift_);; i = (i + 1) & mask_) {
      const StringSlot slot = slots_[i];
      if (slot.record == kNoRecord) return kNoRecord;
      if (slot.hash == hash && arena.value(slot.record) == key) return slot.record;
    }
  }

  // Adds a record whose value is not in the table yet.
  void Insert(uint32_t hash, uint32_t record) {
    if ((size_ + 1) * 4 > slots_.size() * 3) Grow();
    Place(hash, record);
    ++size_;
  }

  template <typename Fn>
  void ForEachHash(const Fn& fn) const {
    for (const StringSlot& slot : slots_) {
      if (slot.record != kNoRecord) fn(slot.hash);
    }
  }

 private:
  void Place(uint32_t hash, uint32_t record) {
    size_t i = HomeSlot(hash, shift_);
    while (slots_[i].record != kNoRecord) i = (i + 1) & mask_;
    slots_[i] = {record, hash};
  }

  void Grow() {
    const size_t capacity = slots_.empty() ? kMinCapacity : slots_.size() * 2;
    LargeArray<StringSlot> old(capacity, StringSlot{kNoRecord, 0});
    old.swap(slots_);
    mask_ = capacity - 1;
    shift_ = ShiftFor(capacity);
    for (const StringSlot& slot : old) {
      if (slot.record != kNoRecord) Place(slot.hash, slot.record);
    }
  }

  LargeArray<StringSlot> slots_;
  size_t size_ = 0;
  size_t mask_ = 0;
  unsigned shift_ = 32;
};

// ---------------------------------------------------------------------------------
// A blocked Bloom filter over the 32-bit hashes of a large table (domains, IPv4
// addresses). Most lookups miss, and the tables are far bigger than the CPU caches; the
// filter (about 10 bits per entry, ~1-2% false positives) mostly stays cached and
// answers most misses without the table's cache miss. Each key sets one bit in each of the 8 words
// of one 64-byte block, so a check reads one cache line.

class BlockedFilter {
 public:
  static constexpr size_t kBitsPerEntry = 10;

  template <typename Table>
  void Build(const Table& table) {
    blocks_.clear();
    if (table.size() == 0) return;
    const size_t blocks = (table.size() * kBitsPerEntry + 511) / 512;
    blocks_.assign(blocks, Block{});
    table.ForEachHash([&](uint32_t hash) {
      Block& block = blocks_[BlockIndex(hash)];
      const uint64_t bits = BitPositions(hash);
      for (int w = 0; w < 8; ++w) block.words[w] |= uint64_t{1} << ((bits >> (6 * w)) & 63);
    });
  }

  void Prefetch(uint32_t hash) const {
    if (!blocks_.empty()) __builtin_prefetch(&blocks_[BlockIndex(hash)]);
  }

  // False means the hash is certainly absent; true means "look in the table".
  bool MayContain(uint32_t hash) const {
    if (blocks_.empty()) return true;
    const Block& block = blocks_[BlockIndex(hash)];
    const uint64_t bits = BitPositions(hash);
    uint64_t missing = 0;
    for (int w = 0; w < 8; ++w)
      missing |= ~block.words[w] & (uint64_t{1} << ((bits >> (6 * w)) & 63));
    return missing == 0;
  }

  size_t memory_bytes() const { return MemoryOf(blocks_); }

 private:
  struct alignas(64) Block {
    uint64_t words[8] = {};
  };

  // Block and bit positions come from two independent re-mixes of the table hash (its
  // top bits already pick the table slot).
  size_t BlockIndex(uint32_t hash) const {
    const uint64_t mixed = hashing::Finish(hash ^ 0x5bd1e995ULL) >> 32;
    return static_cast<size_t>((mixed * blocks_.size()) >> 32);
  }
  static uint64_t BitPositions(uint32_t hash) {
    return hashing::Finish(hash ^ 0x27d4eb2f165667c5ULL);
  }

  LargeArray<Block> blocks_;
};

// ---------------------------------------------------------------------------------
// Exact IP addresses: open addressing keyed by the address (uint32_t or V6Key).

struct V6Key {
  uint64_t high = 0;
  uint64_t low = 0;
  bool operator==(const V6Key&) const = default;
};

inline uint32_t HashAddress(uint32_t a) {
  return hashing::Hash32(hashing::HashU64(a, hashing::kSeed));
}
inline uint32_t HashAddress(const V6Key& k) {
  return hashing::Hash32(hashing::HashU64(k.low, hashing::HashU64(k.high, hashing::kSeed)));
}

template <typename Key>
class AddressTable {
 public:
  size_t size() const { return size_; }
  size_t memory_bytes() const { return MemoryOf(slots_); }

  uint32_t Find(const Key& key) const { return Find(key, HashAddress(key)); }
  uint32_t Find(const Key& key, uint32_t hash) const {
    if (size_ == 0) return kNoRecord;
    for (size_t i = HomeSlot(hash, shift_);; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.record == kNoRecord) return kNoRecord;
      if (slot.key == key) return slot.record;
    }
  }

  void Insert(const Key& key, uint32_t record) {
    if ((size_ + 1) * 4 > slots_.size() * 3) Grow();
    Place(key, record);
    ++size_;
  }

  template <typename Fn>
  void ForEachHash(const Fn& fn) const {
    for (const Slot& slot : slots_) {
      if (slot.record != kNoRecord) fn(HashAddress(slot.key));
    }
  }

 private:
  struct Slot {
    Key key{};
    uint32_t record = kNoRecord;
  };

  void Place(const Key& key, uint32_t record) {
    size_t i = HomeSlot(HashAddress(key), shift_);
    while (slots_[i].record != kNoRecord) i = (i + 1) & mask_;
    slots_[i] = Slot{key, record};
  }

  void Grow() {
    const size_t capacity = slots_.empty() ? kMinCapacity : slots_.size() * 2;
    LargeArray<Slot> old(capacity);
    old.swap(slots_);
    mask_ = capacity - 1;
    shift_ = ShiftFor(capacity);
    for (const Slot& slot : old) {
      if (slot.record != kNoRecord) Place(slot.key, slot.record);
    }
  }

  LargeArray<Slot> slots_;
  size_t size_ = 0;
  size_t mask_ = 0;
  unsigned shift_ = 32;
};

// ---------------------------------------------------------------------------------
// CIDR ranges of one address family (Key = uint32_t or u128), longest-prefix match.
// Prefixes never partially overlap (they are nested or disjoint), so the address
// space splits into disjoint intervals, each owned by the most specific prefix that
// covers it (or by none). A lookup is one binary search over the interval starts; an
// expired owner hands over to its parent prefix (the next less specific one).

template <typename Key>
class PrefixSet {
 public:
  static constexpr unsigned kBits = sizeof(Key) * 8;

  struct Prefix {
    uint32_t record;
    uint32_t parent;  // index of the nearest enclosing prefix, or kNoPrefix
    uint8_t length;
  };

  // Build time: the record stored for this prefix, or kNoRecord.
  uint32_t Find(Key first, uint8_t length) const {
    const auto it = pending_.find({first, length});
    return it == pending_.end() ? kNoRecord : it->second;
  }
  // Build time: adds a prefix not stored yet.
  void Add(Key first, uint8_t length, uint32_t record) {
    pending_.emplace(std::pair{first, length}, record);
  }

  size_t size() const { return prefixes_.size() + pending_.size(); }

  // Build time: turns the pending prefixes into the interval form used by Match.
  void Finalize() {
    prefixes_.clear();
    starts_.clear();
    owners_.clear();
    prefixes_.reserve(pending_.size());
    // std::map order is (first ascending, length ascending): every prefix comes after
    // the prefixes that enclose it.
    std::vector<Key> lasts;
    lasts.reserve(pending_.size());
    std::vector<uint32_t> open;  // enclosing prefixes of the current position, innermost last
    Key cursor = 0;              // first address not yet assigned to an interval
    bool exhausted = false;      // cursor passed the top of the address space
    auto close_innermost = [&] {
      const uint32_t top = open.back();
      open.pop_back();
      if (exhausted || cursor > lasts[top]) return;
      Emit(cursor, top);
      if (lasts[top] == static_cast<Key>(~Key{0})) {
        exhausted = true;
      } else {
        cursor = lasts[top] + 1;
      }
    };
    for (const auto& [key, record] : pending_) {
      const auto [first, length] = key;
      const Key last = first | (length >= kBits ? Key{0} : static_cast<Key>(~Key{0}) >> length);
      while (!open.empty() && lasts[open.back()] < first) close_innermost();
      if (cursor < first) Emit(cursor, open.empty() ? kNoPrefix : open.back());
      cursor = first;
      prefixes_.push_back({record, open.empty() ? kNoPrefix : open.back(), length});
      lasts.push_back(last);
      open.push_back(static_cast<uint32_t>(prefixes_.size() - 1));
    }
    while (!open.empty()) close_innermost();
    if (!exhausted) Emit(cursor, kNoPrefix);
    pending_.clear();
    prefixes_.shrink_to_fit();
    starts_.shrink_to_fit();
    owners_.shrink_to_fit();
  }

  // The most specific prefix containing `address` for which `alive(record)` holds.
  template <typename Alive>
  const Prefix* Match(Key address, const Alive& alive) const {
    if (prefixes_.empty()) return nullptr;
    // Last interval whose start is <= address (starts_[0] is 0). Branch-free halving.
    const Key* base = starts_.data();
    size_t n = starts_.size();
    while (n > 1) {
      const size_t half = n / 2;
      base = (base[half] <= address) ? base + half : base;
      n -= half;
    }
    for (uint32_t owner = owners_[base - starts_.data()]; owner != kNoPrefix;) {
      const Prefix& p = prefixes_[owner];
      if (alive(p.record)) return &p;
      owner = p.parent;
    }
    return nullptr;
  }

  size_t memory_bytes() const {
    return prefixes_.capacity() * sizeof(Prefix) + starts_.capacity() * sizeof(Key) +
           owners_.capacity() * sizeof(uint32_t);
  }

 private:
  void Emit(Key start, uint32_t owner) {
    if (!owners_.empty() && owners_.back() == owner) return;  // extends the previous interval
    starts_.push_back(start);
    owners_.push_back(owner);
  }

  std::map<std::pair<Key, uint8_t>, uint32_t> pending_;  // build time only
  std::vector<Prefix> prefixes_;
  std::vector<Key> starts_;       // interval starts, ascending, starts_[0] == 0
  std::vector<uint32_t> owners_;  // most specific prefix of each interval, or kNoPrefix
};

V6Key ToV6Key(const IpAddress& ip) {
  V6Key k;
  for (int i = 0; i < 8; ++i) k.high = (k.high << 8) | ip.bytes[i];
  for (int i = 8; i < 16; ++i) k.low = (k.low << 8) | ip.bytes[i];
  return k;
}

u128 ToU128(const IpAddress& ip) {
  const V6Key k = ToV6Key(ip);
  return (static_cast<u128>(k.high) << 64) | k.low;
}

// ---------------------------------------------------------------------------------
// Domain hashing. A name's hash is a chain over its labels from the right, so one
// right-to-left pass yields the hash of the name and of every parent domain.

struct SuffixHash {
  uint32_t hash;
  uint32_t start;  // where the suffix begins in the name
};

// Fills `out` (room for kMaxLabels) with one hash per suffix, most general first: out[0]
// is the last label ("com"), out[n-1] the whole name. `name` must be <= kMaxDomainLength.
size_t DomainSuffixHashes(std::string_view name, SuffixHash* out) {
  const char* const begin = name.data();
  const char* p = begin + name.size();
  const char* label_end = p;
  uint64_t state = hashing::kSeed;
  size_t n = 0;
  while (p > begin) {
    --p;
    if (*p == '.') {
      state = hashing::HashBytes(p + 1, static_cast<size_t>(label_end - (p + 1)), state);
      out[n++] = {hashing::Hash32(state), static_cast<uint32_t>(p + 1 - begin)};
      label_end = p;
    }
  }
  state = hashing::HashBytes(begin, static_cast<size_t>(label_end - begin), state);
  out[n++] = {hashing::Hash32(state), 0};
  return n;
}

uint32_t StringHash(std::string_view s) { return hashing::Hash32(hashing::HashBytes(s)); }

uint64_t MetaHash(const IndicatorMeta& m) {
  uint64_t h = hashing::HashBytes(m.source);
  h = hashing::HashU64(static_cast<uint64_t>(m.confidence), h);
  h = hashing::HashU64(static_cast<uint64_t>(m.tlp), h);
  h = hashing::HashU64(static_cast<uint64_t>(m.severity), h);
  for (const std::string& tag : m.tags) h = hashing::HashBytes(tag, h);
  h = hashing::HashU64(static_cast<uint64_t>(m.first_seen_ns), h);
  h = hashing::HashU64(static_cast<uint64_t>(m.last_seen_ns), h);
  h = hashing::HashU64(static_cast<uint64_t>(m.valid_until_ns), h);
  return hashing::Finish(hashing::HashBytes(m.description, h));
}

// ---------------------------------------------------------------------------------

class CompactIndex final : public IndicatorIndex {
 public:
  // --- Matching (any thread, once built) ---

  std::optional<IndicatorMatch> MatchIp(const IpAddress& ip, int64_t now_ns) const override {
    const auto alive = [&](uint32_t record) { return Alive(record, now_ns); };
    if (!ip.v6) {
      const uint32_t address = ip.v4();
      const uint32_t hash = HashAddress(address);
      if (const uint32_t record = v4_filter_.MayContain(hash) ? v4_exact_.Find(address, hash) : 0;
          record && alive(record)) {
        return Found(IndicatorType::kIpv4, record, false, 32);
      }
      if (const auto* p = v4_prefixes_.Match(address, alive)) {
        return Found(IndicatorType::kCidr, p->record, false, p->length);
      }
      return std::nullopt;
    }
    if (const uint32_t record = v6_exact_.Find(ToV6Key(ip)); record && alive(record)) {
      return Found(IndicatorType::kIpv6, record, false, 128);
    }
    if (const auto* p = v6_prefixes_.Match(ToU128(ip), alive)) {
      return Found(IndicatorType::kCidr, p->record, false, p->length);
    }
    return std::nullopt;
  }

  std::optional<IndicatorMatch> MatchDomain(std::string_view name, int64_t now_ns) const override {
    if (name.empty() || name.size() > kMaxDomainLength || domains_.size() == 0) {
      return std::nullopt;
    }
    SuffixHash suffixes[kMaxLabels];
    const size_t n = DomainSuffixHashes(name, suffixes);
    // A bare TLD is only matched as the whole name, never as a parent.
    const size_t most_general = n > 1 ? 1 : 0;
    // Most lookups miss: start the filter reads for every suffix at once and touch the
    // (much larger) table only where the filter says the name may be present.
    for (size_t i = most_general; i < n; ++i) domain_filter_.Prefetch(suffixes[i].hash);
    for (size_t i = n; i-- > most_general;) {
      if (!domain_filter_.MayContain(suffixes[i].hash)) continue;
      const uint32_t record =
          domains_.Find(suffixes[i].hash, name.substr(suffixes[i].start), arena_);
      if (record != kNoRecord && Alive(record, now_ns)) {
        return Found(IndicatorType::kDomain, record, i != n - 1, 0);
      }
    }
    return std::nullopt;
  }

  std::optional<IndicatorMatch> MatchUrl(std::string_view key, int64_t now_ns) const override {
    return MatchExact(urls_, IndicatorType::kUrl, key, now_ns);
  }

  std::optional<IndicatorMatch> MatchHash(std::string_view hex, int64_t now_ns) const override {
    switch (hex.size()) {
      case 32:
        return MatchExact(md5_, IndicatorType::kMd5, hex, now_ns);
      case 40:
        return MatchExact(sha1_, IndicatorType::kSha1, hex, now_ns);
      case 64:
        return MatchExact(sha256_, IndicatorType::kSha256, hex, now_ns);
      default:
        return std::nullopt;
    }
  }

  std::optional<IndicatorMatch> MatchEmail(std::string_view email, int64_t now_ns) const override {
    return MatchExact(emails_, IndicatorType::kEmail, email, now_ns);
  }

  const IndexStats& stats() const override { return stats_; }

  // --- Building (IndexBuilder only, before the index is published) ---

  MetaId AddMeta(const IndicatorMeta& meta) {
    metas_.push_back(meta);
    valid_until_.push_back(meta.valid_until_ns);
    return static_cast<MetaId>(metas_.size() - 1);
  }
  const IndicatorMeta& meta(MetaId id) const { return metas_[id]; }

  void Reserve(size_t indicators) { arena_.Reserve(indicators * 24); }

  void Add(IndicatorType type, std::string_view value, MetaId meta) {
    if (meta >= metas_.size() || value.empty()) {
      ++rejected_;
      return;
    }
    switch (type) {
      case IndicatorType::kIpv4:
      case IndicatorType::kIpv6: {
        const auto ip = ParseIp(value);
        if (!ip) break;
        if (ip->v6) {
          AddAddress(v6_exact_, ToV6Key(*ip), IndicatorType::kIpv6, value, meta);
        } else {
          AddAddress(v4_exact_, ip->v4(), IndicatorType::kIpv4, value, meta);
        }
        return;
      }
      case IndicatorType::kCidr: {
        const auto prefix = ParseCidr(value);
        // A /0 would match every address: never an indicator, whatever the loader said.
        if (!prefix || prefix->length == 0) break;
        if (prefix->addr.v6) {
          AddPrefix(v6_prefixes_, ToU128(prefix->addr), prefix->length, value, meta);
        } else {
          AddPrefix(v4_prefixes_, prefix->addr.v4(), prefix->length, value, meta);
        }
        return;
      }
      case IndicatorType::kDomain: {
        if (value.size() > kMaxDomainLength) break;
        SuffixHash suffixes[kMaxLabels];
        const size_t n = DomainSuffixHashes(value, suffixes);
        AddString(domains_, suffixes[n - 1].hash, type, value, meta);
        return;
      }
      case IndicatorType::kUrl:
        AddString(urls_, StringHash(value), type, value, meta);
        return;
      case IndicatorType::kEmail:
        AddString(emails_, StringHash(value), type, value, meta);
        return;
      case IndicatorType::kMd5:
        if (value.size() != 32) break;
        AddString(md5_, StringHash(value), type, value, meta);
        return;
      case IndicatorType::kSha1:
        if (value.size() != 40) break;
        AddString(sha1_, StringHash(value), type, value, meta);
        return;
      case IndicatorType::kSha256:
        if (value.size() != 64) break;
        AddString(sha256_, StringHash(value), type, value, meta);
        return;
    }
    ++rejected_;
  }

  void Finalize() {
    domain_filter_.Build(domains_);
    v4_filter_.Build(v4_exact_);
    v4_prefixes_.Finalize();
    v6_prefixes_.Finalize();
    arena_.Shrink();
    metas_.shrink_to_fit();
    valid_until_.shrink_to_fit();

    stats_.indicators = 0;
    for (uint64_t n : stats_.by_type) stats_.indicators += n;
    stats_.duplicates = duplicates_;
    stats_.rejected = rejected_;
    stats_.metas = metas_.size();
    uint64_t bytes = sizeof(*this) + arena_.memory_bytes() + domains_.memory_bytes() +
                     domain_filter_.memory_bytes() + v4_filter_.memory_bytes() +
                     urls_.memory_bytes() + emails_.memory_bytes() + md5_.memory_bytes() +
                     sha1_.memory_bytes() + sha256_.memory_bytes() + v4_exact_.memory_bytes() +
                     v6_exact_.memory_bytes() + v4_prefixes_.memory_bytes() +
                     v6_prefixes_.memory_bytes() + valid_until_.capacity() * sizeof(int64_t) +
                     metas_.capacity() * sizeof(IndicatorMeta);
    for (const IndicatorMeta& m : metas_) {
      bytes +=
          HeapBytes(m.source) + HeapBytes(m.description) + m.tags.capacity() * sizeof(std::string);
      for (const std::string& tag : m.tags) bytes += HeapBytes(tag);
    }
    stats_.memory_bytes = bytes;
  }

 private:
  bool Alive(uint32_t record, int64_t now_ns) const {
    const int64_t valid_until = valid_until_[arena_.meta(record)];
    return valid_until == 0 || valid_until >= now_ns;
  }

  IndicatorMatch Found(IndicatorType type, uint32_t record, bool subdomain, uint8_t length) const {
    return IndicatorMatch{type, arena_.value(record), &metas_[arena_.meta(record)], subdomain,
                          length};
  }

  std::optional<IndicatorMatch> MatchExact(const StringTable& table, IndicatorType type,
                                           std::string_view key, int64_t now_ns) const {
    if (table.size() == 0) return std::nullopt;
    const uint32_t record = table.Find(StringHash(key), key, arena_);
    if (record == kNoRecord || !Alive(record, now_ns)) return std::nullopt;
    return Found(type, record, false, 0);
  }

  // A value seen again keeps one record; the later meta wins unless its confidence is lower.
  void KeepBetterMeta(uint32_t record, MetaId meta) {
    ++duplicates_;
    if (metas_[meta].confidence >= metas_[arena_.meta(record)].confidence) {
      arena_.set_meta(record, meta);
    }
  }

  // Keeps one record per value: `existing` (0 when the value is new) gets the better
  // meta; a new value is appended to the arena and insert(record) files it.
  template <typename Insert>
  void AddRecord(uint32_t existing, IndicatorType type, std::string_view value, MetaId meta,
                 Insert&& insert) {
    if (existing) {
      KeepBetterMeta(existing, meta);
      return;
    }
    const uint32_t record = arena_.Append(value, meta);
    if (record == kNoRecord) {
      ++rejected_;
      return;
    }
    insert(record);
    ++stats_.by_type[static_cast<size_t>(type)];
  }

  void AddString(StringTable& table, uint32_t hash, IndicatorType type, std::string_view value,
                 MetaId meta) {
    AddRecord(table.Find(hash, value, arena_), type, value, meta,
              [&](uint32_t record) { table.Insert(hash, record); });
  }

  template <typename Key>
  void AddAddress(AddressTable<Key>& table, const Key& key, IndicatorType type,
                  std::string_view value, MetaId meta) {
    AddRecord(table.Find(key), type, value, meta,
              [&](uint32_t record) { table.Insert(key, record); });
  }

  template <typename Key>
  void AddPrefix(PrefixSet<Key>& set, Key first, uint8_t length, std::string_view value,
                 MetaId meta) {
    if (set.size() >= kNoPrefix - 1) {
      ++rejected_;
      return;
    }
    AddRecord(set.Find(first, length), IndicatorType::kCidr, value, meta,
              [&](uint32_t record) { set.Add(first, length, record); });
  }

  RecordArena arena_;
  StringTable domains_, urls_, emails_, md5_, sha1_, sha256_;
  BlockedFilter domain_filter_;  // in front of domains_
  AddressTable<uint32_t> v4_exact_;
  BlockedFilter v4_filter_;  // in front of v4_exact_
  AddressTable<V6Key> v6_exact_;
  PrefixSet<uint32_t> v4_prefixes_;
  PrefixSet<u128> v6_prefixes_;
  std::vector<IndicatorMeta> metas_;
  std::vector<int64_t> valid_until_;  // per MetaId: a compact copy for the expiry check
  uint64_t duplicates_ = 0;
  uint64_t rejected_ = 0;
  IndexStats stats_;
};

}  // namespace

// ---------------------------------------------------------------------------------

struct IndexBuilder::Impl {
  std::unique_ptr<CompactIndex> index = std::make_unique<CompactIndex>();
  std::unordered_multimap<uint64_t, MetaId> meta_ids;  // MetaHash -> ids, for de-duplication
};

IndexBuilder::IndexBuilder() : impl_(std::make_unique<Impl>()) {}
IndexBuilder::~IndexBuilder() = default;

MetaId IndexBuilder::AddMeta(const IndicatorMeta& meta) {
  const uint64_t hash = MetaHash(meta);
  auto [begin, end] = impl_->meta_ids.equal_range(hash);
  for (auto it = begin; it != end; ++it) {
    if (impl_->index->meta(it->second) == meta) return it->second;
  }
  const MetaId id = impl_->index->AddMeta(meta);
  impl_->meta_ids.emplace(hash, id);
  return id;
}

void IndexBuilder::Add(IndicatorType type, std::string_view normalised_value, MetaId meta) {
  impl_->index->Add(type, normalised_value, meta);
}

void IndexBuilder::Reserve(size_t indicators) { impl_->index->Reserve(indicators); }

std::unique_ptr<IndicatorIndex> IndexBuilder::Build() {
  std::unique_ptr<CompactIndex> built = std::move(impl_->index);
  built->Finalize();
  impl_ = std::make_unique<Impl>();
  return built;
}

// ---------------------------------------------------------------------------------

IndexHandle::IndexHandle() : current_(std::shared_ptr<const IndicatorIndex>(IndexBuilder().Build())) {}

std::shared_ptr<const IndicatorIndex> IndexHandle::Snapshot() const {
  std::lock_guard lock(current_mutex_);
  return current_;
}

void IndexHandle::Swap(std::unique_ptr<IndicatorIndex> next) {
  if (!next) next = IndexBuilder().Build();  // readers never see a null index
  std::shared_ptr<const IndicatorIndex> incoming(std::move(next));
  {
    std::lock_guard lock(current_mutex_);
    current_.swap(incoming);
    // Inside the lock: a reader that sees the new generation also gets the new index.
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  // `incoming` now holds the old index; it is freed here (outside the lock) unless a
  // reader still holds a snapshot, in which case the last reader frees it.
}

}  // namespace aegis::detect
