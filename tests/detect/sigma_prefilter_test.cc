// The prefilter never loses a detection: on real events, matching with the prefilter
// gives exactly the matches of evaluating every rule the event's logsource reaches.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "detect/sigma.h"
#include "ingest/ingest.h"

namespace aegis::detect::sigma {
namespace {

namespace fs = std::filesystem;

const fs::path kShared = AEGIS_SHARED_DATA;

std::vector<std::string> RuleFolders() {
  std::vector<std::string> out;
  for (const char* d : {"rules", "rules-emerging-threats", "rules-threat-hunting",
                        "rules-placeholder", "rules-compliance"}) {
    out.push_back((kShared / "sigma" / d).string());
  }
  return out;
}

// Reads up to `limit` events of a file (any format the reader knows).
void ReadEvents(const fs::path& path, size_t limit, std::vector<Event>& out) {
  ingest::ReaderOptions options;
  auto reader = ingest::EventReader::Open(path.string(), options, nullptr);
  if (!reader) return;
  Event ev;
  size_t n = 0;
  while (n < limit && (*reader)->Next(ev)) {
    out.push_back(ev);
    ++n;
  }
}

std::vector<std::string> MatchedIds(Matcher& m, const Event& ev) {
  std::vector<RuleMatch> matches;
  m.Match(ev, matches);
  std::vector<std::string> ids;
  for (const auto& r : matches) ids.push_back(RuleAt(m.rules(), r.rule).id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

void ExpectSameMatches(const std::shared_ptr<const RuleSet>& rules,
                       const std::vector<Event>& events) {
  Matcher fast(rules);
  Matcher full(rules, MatcherOptions{.prefilter = false});
  size_t matched_events = 0, total = 0;
  for (const Event& ev : events) {
    const auto a = MatchedIds(fast, ev);
    const auto b = MatchedIds(full, ev);
    EXPECT_EQ(a, b) << ev.source << ":" << ev.line << " offset " << ev.offset;
    if (!b.empty()) ++matched_events;
    total += b.size();
  }
  // The comparison is only meaningful if something matched.
  EXPECT_GT(matched_events, 0u);
  EXPECT_LT(fast.stats().candidates, full.stats().candidates);
  std::printf(
      "[ INFO ] %zu events, %zu with matches, %zu matches; rules evaluated: %llu "
      "with the prefilter, %llu without\n",
      events.size(), matched_events, total,
      static_cast<unsigned long long>(fast.stats().candidates),
      static_cast<unsigned long long>(full.stats().candidates));
}

class SigmaPrefilter : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(kShared / "sigma" / "rules")) return;
    auto loaded = LoadRules(RuleFolders(), {});
    ASSERT_TRUE(loaded.has_value()) << loaded.error().ToString();
    rules_ = new std::shared_ptr<const RuleSet>(loaded->rules);
  }
  static void TearDownTestSuite() {
    delete rules_;
    rules_ = nullptr;
  }
  void SetUp() override {
    if (rules_ == nullptr) {
      GTEST_SKIP() << "../shared/data not found (" << kShared.string()
                   << "): Sigma prefilter check on real events skipped";
    }
  }
  static std::shared_ptr<const RuleSet>* rules_;
};
std::shared_ptr<const RuleSet>* SigmaPrefilter::rules_ = nullptr;

TEST_F(SigmaPrefilter, SameMatchesOnEveryRegressionSample) {
  std::vector<Event> events;
  for (const auto& entry :
       fs::recursive_directory_iterator(kShared / "sigma" / "regression_data")) {
    if (entry.path().extension() == ".evtx") ReadEvents(entry.path(), 10'000, events);
  }
  ASSERT_GT(events.size(), 200u);
  ExpectSameMatches(*rules_, events);
}

TEST_F(SigmaPrefilter, SameMatchesOnOtrfAttackDatasets) {
  std::vector<fs::path> files;
  const fs::path root = kShared / "events" / "otrf" / "datasets";
  if (!fs::exists(root)) GTEST_SKIP() << "no OTRF datasets in " << root.string();
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().extension() == ".zip") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<Event> events;
  // The first events of every dataset: every channel and event type they hold, at a
  // cost the full evaluation can afford.
  for (const auto& f : files) ReadEvents(f, 400, events);
  ASSERT_GT(events.size(), 3000u);
  ExpectSameMatches(*rules_, events);
}

}  // namespace
}  // namespace aegis::detect::sigma
