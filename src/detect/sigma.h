// Sigma: loads Sigma rules (specification v2: detection rules, filters and
// correlation rules) and matches them against Events.
//
// Loading turns YAML files into an immutable, shareable RuleSet. Matching is done
// by a per-thread Matcher. Logsource routing (docs/SIGMA.md,
// config/sigma-logsources.yml) decides which rules an event can reach at all; a
// prefilter then finds the rules whose required values, path tails or literals the
// event holds (hash lookups, and one Hyperscan scan per field with that field's
// literals), and only those (plus the few rules without any) are evaluated in full.
//
//   auto loaded = sigma::LoadRules({"rules/"}, {});
//   if (!loaded) fail(loaded.error());
//   sigma::Matcher matcher(loaded->rules);         // one per thread
//   std::vector<sigma::RuleMatch> matches;
//   matcher.Match(event, matches);
//
// Detections become Alerts through MakeSigmaDetector (detect.h style), which also
// runs correlation rules on the matches.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/alert.h"
#include "core/error.h"
#include "core/event.h"
#include "core/types.h"
#include "detect/detect.h"

namespace aegis::detect::sigma {

// Metadata of a loaded rule, as alerts report it.
struct RuleInfo {
  std::string id;    // the rule's UUID (or its name when it has no id)
  std::string name;  // the optional `name:` (used by correlations and filters)
  std::string title;
  std::string status;  // stable, test, experimental, deprecated, unsupported ("" if none)
  Severity level = Severity::kMedium;
  std::vector<std::string> tags;           // e.g. attack.t1059.001
  std::string path;                        // file the rule came from
  std::string product, category, service;  // logsource
  bool is_correlation = false;
  bool generate = true;  // false: a correlation's base rule that raises no alert itself
};

// A rule that did not load, with the exact reason.
struct LoadIssue {
  std::string path;
  int line = 0;      // 1-based line in the file, 0 when unknown
  std::string rule;  // title or id when known
  std::string reason;
};

// Which rules to keep (all by default).
struct RuleFilter {
  Severity min_level = Severity::kInformational;
  std::vector<std::string> statuses;  // keep only these statuses (empty: all but
                                      // deprecated and unsupported)
  std::vector<std::string> tags;      // keep rules carrying any of these tags (prefix
                                      // match: "attack.t1059" keeps attack.t1059.001)
};

struct LoadOptions {
  // Logsource routing and field mapping (YAML, see docs/SIGMA.md). Empty: the
  // built-in copy of config/sigma-logsources.yml.
  std::string logsource_mapping_path;
  // Values for the `expand` modifier's %placeholders%.
  std::map<std::string, std::vector<std::string>> placeholders;
  RuleFilter filter;
  // Called after each file (for progress bars): files done, files total.
  std::function<void(size_t, size_t)> on_file;
};

class RuleSet;  // compiled rules; immutable, shared by all threads

struct LoadResult {
  std::shared_ptr<const RuleSet> rules;
  std::vector<LoadIssue> issues;    // rules that did not load (the others did)
  std::vector<LoadIssue> warnings;  // loaded, with a caveat (e.g. inactive)
  size_t files = 0;
  size_t rules_loaded = 0;  // detection rules (including correlations' bases)
  size_t correlations = 0;
  size_t filters = 0;           // Sigma filters applied
  size_t filtered_out = 0;      // rules dropped by RuleFilter
  size_t unrouted = 0;          // loaded, but no logsource mapping reaches them
  size_t inactive = 0;          // loaded, but `expand` placeholders lack values
  size_t literals = 0;          // distinct literals in the prefilter (Hyperscan)
  size_t hashed_atoms = 0;      // distinct exact values and path tails (hash lookups)
  size_t always_evaluated = 0;  // rules without a usable literal
};

// Loads every .yml/.yaml file under each path (files or folders, recursively). A
// rule that does not parse is reported in `issues` and skipped; the error result is
// only for unusable input as a whole (a path that does not exist, a bad mapping).
Result<LoadResult> LoadRules(std::span<const std::string> paths, const LoadOptions& options);
// Loads rules from YAML text (one or more documents); `origin` names it in issues.
Result<LoadResult> LoadRulesFromText(std::string_view yaml, std::string_view origin,
                                     const LoadOptions& options);

size_t RuleCount(const RuleSet& rules);
const RuleInfo& RuleAt(const RuleSet& rules, size_t index);

// One field of the event that took part in a match.
struct MatchedField {
  std::string_view field;     // schema name
  std::string_view original;  // original name
  std::string value;
  std::string selection;  // the selection (search identifier) it satisfied
};

struct RuleMatch {
  uint32_t rule = 0;  // index into the RuleSet
  std::vector<MatchedField> fields;
};

struct MatcherStats {
  uint64_t events = 0;
  uint64_t unrouted_events = 0;  // no rule applies to the event's logsource
  uint64_t candidates = 0;       // rules evaluated in full
  uint64_t scanned_bytes = 0;    // field bytes given to the literal scan
  uint64_t matches = 0;
  uint64_t regex_errors = 0;  // regex match limit hit (treated as no match)
  uint64_t scan_errors = 0;   // a literal scan failed: all routed rules evaluated
};

struct MatcherOptions {
  // false: evaluate every rule the event's logsource reaches, without the literal
  // prefilter. Slow; for checking that the prefilter never loses a detection.
  bool prefilter = true;
};

// Adds counters (to sum the stats of several matchers or threads).
MatcherStats& operator+=(MatcherStats& into, const MatcherStats& more);

// Matches events against a RuleSet. Not thread-safe: one per thread.
class Matcher {
 public:
  explicit Matcher(std::shared_ptr<const RuleSet> rules, MatcherOptions options = {});
  ~Matcher();
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;

  // Appends one RuleMatch per matching detection rule (correlations excluded).
  void Match(const Event& event, std::vector<RuleMatch>& out);
  const RuleSet& rules() const;
  const MatcherStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The current rule set, swapped atomically on reload (like IndexHandle). Detectors
// read the generation (an atomic, no lock) per event and take the lock only to copy
// the pointer when it changed.
class RuleSetHandle {
 public:
  void Set(std::shared_ptr<const RuleSet> rules);
  std::shared_ptr<const RuleSet> Get() const;
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex rules_mutex_;  // guards rules_
  std::shared_ptr<const RuleSet> rules_;
  std::atomic<uint64_t> generation_{0};
};

// Correlation windows shared by every detector of one pipeline (all inputs, all
// worker threads), so that a correlation sees every event its rules match, whichever
// input it came through. Only matches of rules that a correlation references reach
// it; it takes its own lock for them.
class CorrelationHub;
// At most `max_groups` groups over all correlations (least recently updated evicted
// first, counted).
std::shared_ptr<CorrelationHub> MakeCorrelationHub(size_t max_groups);

struct DetectorOptions {
  bool include_event_json = true;
  // Shared correlation state (recommended whenever several detectors run). Without
  // it, each detector keeps its own windows, bounded by correlation_max_groups.
  std::shared_ptr<CorrelationHub> correlations;
  // Correlation state: at most this many groups are kept (oldest evicted first);
  // state older than a rule's timespan is always dropped.
  size_t correlation_max_groups = 100'000;
};

struct DetectorStats {
  MatcherStats matcher;              // summed over the rule sets the detector used
  uint64_t correlation_evicted = 0;  // groups dropped because the ceiling was reached
  uint64_t correlation_groups = 0;   // groups held now
};

// A Detector raising one alert per rule match (detector "sigma") and one per
// correlation that fires (detector "sigma-correlation"). Picks up a new RuleSet
// from `handle` between events. One per thread.
std::unique_ptr<Detector> MakeSigmaDetector(const RuleSetHandle* handle,
                                            const DetectorOptions& options = {});
// Stats of a detector made by MakeSigmaDetector (zeros for other detectors). With a
// CorrelationHub, the correlation counters are the hub's (CorrelationHubStats), not
// the detector's.
DetectorStats SigmaDetectorStats(const Detector& detector);
// The hub's correlation counters (matcher counters are zero).
DetectorStats CorrelationHubStats(const CorrelationHub& hub);

}  // namespace aegis::detect::sigma
