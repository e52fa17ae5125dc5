// Sigma known-answer tests: SigmaHQ's own regression samples.
//
// The shared data holds, under sigma/regression_data/, one folder per rule with an
// info.yml (rule_metadata: id, title; regression_tests_info: path, type, provider,
// match_count), an .evtx sample and the same events as evtx_dump JSON. Every SigmaHQ
// rule (all five rule folders) is loaded once with default options; then, for each
// folder and for each of its two sample forms, a Matcher runs over every event and
// the events on which the named rule matched are counted.
//
// Expectation, per regression_tests_info entry: exactly `match_count` events when it
// is given; at least one when it is absent. The latter is what SigmaHQ's
// tests/regression_tests_runner.py does (`success = match_count > 0` when
// `test_data.get("match_count")` is None). SigmaHQ only warns when a rule matches more
// often than match_count; here the count must be exact, since these samples are small
// and each one was made for its rule.
//
// Without the shared data every test skips.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "core/event.h"
#include "detect/sigma.h"
#include "ingest/ingest.h"

namespace aegis::detect::sigma {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kNoData = "../shared/data not found: Sigma regression samples skipped";

fs::path SigmaRoot() { return (fs::path(AEGIS_SHARED_DATA) / "sigma").lexically_normal(); }
fs::path RegressionRoot() { return SigmaRoot() / "regression_data"; }

bool SharedDataPresent() {
  std::error_code ec;
  return fs::is_directory(RegressionRoot(), ec) && fs::is_directory(SigmaRoot() / "rules", ec);
}

// The five SigmaHQ rule folders.
std::vector<std::string> RuleFolders() {
  std::vector<std::string> folders;
  for (const char* name : {"rules", "rules-emerging-threats", "rules-threat-hunting",
                           "rules-placeholder", "rules-compliance"}) {
    folders.push_back((SigmaRoot() / name).string());
  }
  return folders;
}

// --- info.yml ----------------------------------------------------------------------

struct SampleSpec {
  std::string name;      // "Positive Detection Test"
  std::string type;      // "evtx"
  std::string provider;  // "Microsoft-Windows-Sysmon"
  std::string path;      // as written in info.yml
  fs::path evtx;         // resolved
  std::optional<int64_t> match_count;
};

struct RegressionCase {
  std::string test_name;  // the rule folder's name, made a valid test name
  fs::path folder;
  fs::path info;
  std::string rule_id;
  std::string title;
  std::vector<SampleSpec> samples;
  std::string problem;  // info.yml could not be read or is incomplete
};

// Prints a case as its folder (gtest shows this for a failing parameter).
void PrintTo(const RegressionCase& c, std::ostream* os) { *os << c.folder.string(); }

std::string Scalar(const YAML::Node& node, const char* key) {
  if (!node.IsMap()) return {};
  const YAML::Node value = node[key];
  if (!value || !value.IsScalar()) return {};
  return value.Scalar();
}

// `path` of an info.yml entry is relative to the sigma folder
// ("regression_data/rules/..."); SigmaHQ's runner walks up from the rule until the
// path exists. Resolve it against the sigma folder, else against the info.yml's folder
// (by file name).
fs::path ResolveSample(const std::string& path, const fs::path& folder) {
  std::error_code ec;
  fs::path candidate = SigmaRoot() / path;
  if (fs::exists(candidate, ec)) return candidate;
  candidate = folder / fs::path(path).filename();
  if (fs::exists(candidate, ec)) return candidate;
  return SigmaRoot() / path;
}

RegressionCase ReadInfo(const fs::path& info) {
  RegressionCase c;
  c.info = info;
  c.folder = info.parent_path();
  try {
    const YAML::Node root = YAML::LoadFile(info.string());
    const YAML::Node metadata = root["rule_metadata"];
    if (metadata && metadata.IsSequence() && metadata.size() > 0) {
      c.rule_id = Scalar(metadata[0], "id");
      c.title = Scalar(metadata[0], "title");
    }
    if (c.rule_id.empty()) c.problem = "info.yml has no rule_metadata[0].id";
    const YAML::Node tests = root["regression_tests_info"];
    if (tests && tests.IsSequence()) {
      for (const YAML::Node& test : tests) {
        if (!test.IsMap()) continue;
        SampleSpec spec;
        spec.name = Scalar(test, "name");
        spec.type = Scalar(test, "type");
        spec.provider = Scalar(test, "provider");
        spec.path = Scalar(test, "path");
        spec.evtx = ResolveSample(spec.path, c.folder);
        if (const YAML::Node count = test["match_count"]; count && !count.IsNull()) {
          spec.match_count = count.as<int64_t>();
        }
        c.samples.push_back(std::move(spec));
      }
    }
  } catch (const YAML::Exception& e) {
    c.problem = std::string("info.yml does not parse: ") + e.what();
  }
  return c;
}

std::string TestName(const fs::path& folder) {
  std::string name = folder.filename().string();
  for (char& ch : name) {
    const bool ok =
        (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    if (!ok) ch = '_';
  }
  if (name.empty()) name = "unnamed";
  return name;
}

// Every info.yml under regression_data, sorted; one placeholder case without data so
// that the suite reports the skip instead of being uninstantiated.
std::vector<RegressionCase> DiscoverCases() {
  std::vector<RegressionCase> cases;
  if (!SharedDataPresent()) {
    RegressionCase none;
    none.test_name = "SharedDataMissing";
    cases.push_back(std::move(none));
    return cases;
  }
  std::vector<fs::path> infos;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(RegressionRoot(), ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && it->path().filename() == "info.yml") {
      infos.push_back(it->path());
    }
  }
  std::sort(infos.begin(), infos.end());
  std::set<std::string> names;
  for (const fs::path& info : infos) {
    RegressionCase c = ReadInfo(info);
    std::string name = TestName(c.folder);
    for (int n = 2; names.contains(name); ++n) name = TestName(c.folder) + "_" + std::to_string(n);
    names.insert(name);
    c.test_name = std::move(name);
    cases.push_back(std::move(c));
  }
  return cases;
}

// info.yml files whose match_count is lower than what their sample holds. Each was
// checked by hand, event by event, against the rule as written: every extra event
// satisfies the rule, so the sample (not the engine) disagrees with its info.yml, and
// SigmaHQ's runner, which only warns when a rule matches more often than match_count,
// never noticed. The corrected count is applied only while info.yml still says `stale`.
struct Correction {
  std::string_view folder;
  int64_t stale;   // match_count in info.yml
  int64_t actual;  // events in the sample that satisfy the rule
  std::string_view why;
};
constexpr Correction kCorrections[] = {
    {"file_event_win_anydesk_artefact", 1, 3,
     "events 3, 4, 5 write AnyDesk\\user.conf.new, user.conf~RF2d9c20d.TMP, user.conf.new: all "
     "contain '\\AppData\\Roaming\\AnyDesk\\user.conf' (events 1, 2 are service.conf*)"},
    {"file_event_win_cred_dump_tools_dropped_files", 1, 3,
     "events 1, 3, 5 drop procdump64.exe, procdump64a.exe, procdump.exe: all three are in the "
     "rule's endswith list (events 2, 4, 6 are their :Zone.Identifier streams)"},
    {"registry_set_change_security_zones", 1, 3,
     "all three events set ZoneMap\\Domains\\bad-domain.com\\bad-subdomain\\{https,http,*} "
     "to DWORD (0x00000002), which the rule's filter (0, 1, (Empty)) does not exclude"},
    {"registry_set_disable_administrative_share", 1, 2,
     "both events set LanmanServer\\Parameters\\AutoShareServer and \\AutoShareWks to "
     "DWORD (0x00000000); the rule names both values"},
};

const Correction* CorrectionFor(const RegressionCase& c, const SampleSpec& spec) {
  for (const Correction& k : kCorrections) {
    if (k.folder == c.folder.filename().string() && spec.match_count == k.stale) return &k;
  }
  return nullptr;
}

// --- the rules, loaded once ----------------------------------------------------------

struct LoadedRules {
  bool attempted = false;
  std::string error;  // LoadRules failed as a whole
  std::optional<LoadResult> result;
  std::unordered_map<std::string, uint32_t> by_id;
  std::vector<std::string> duplicate_ids;
};

class SigmaRegressionBase : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (loaded_ != nullptr || !SharedDataPresent()) return;
    loaded_ = new LoadedRules();
    loaded_->attempted = true;
    const std::vector<std::string> folders = RuleFolders();
    auto result = LoadRules(folders, LoadOptions{});
    if (!result) {
      loaded_->error = result.error().ToString();
      return;
    }
    loaded_->result = std::move(*result);
    const RuleSet& rules = *loaded_->result->rules;
    for (size_t i = 0; i < RuleCount(rules); ++i) {
      const RuleInfo& info = RuleAt(rules, i);
      if (!loaded_->by_id.emplace(info.id, static_cast<uint32_t>(i)).second) {
        loaded_->duplicate_ids.push_back(info.id);
      }
    }
  }
  // Kept for the whole run (shared by the suites of this file).
  static inline LoadedRules* loaded_ = nullptr;
};

// --- reading a sample and counting matches -----------------------------------------

class CollectBad : public ingest::BadRecordSink {
 public:
  void Reject(const ingest::BadRecord& bad) override {
    std::lock_guard lock(mutex_);
    if (reasons.size() < 5) reasons.push_back(bad.error.ToString());
  }
  std::mutex mutex_;
  std::vector<std::string> reasons;
};

std::string Clip(std::string_view s, size_t max = 160) {
  std::string out(s.substr(0, max));
  if (s.size() > max) out += "...";
  for (char& ch : out) {
    if (ch == '\n' || ch == '\r') ch = ' ';
  }
  return out;
}

std::string DumpFields(const Event& ev, size_t max_fields = 48) {
  std::ostringstream os;
  os << "    (" << FormatName(ev.format) << ", " << ev.size() << " fields, time "
     << FormatTime(ev.timestamp_ns) << ")\n";
  size_t n = 0;
  for (const Field& f : ev.fields()) {
    if (n++ == max_fields) {
      os << "    ... " << (ev.size() - max_fields) << " more\n";
      break;
    }
    os << "    " << f.key.original;
    if (f.key.name != f.key.original) os << " [" << f.key.name << "]";
    os << " = " << Clip(f.value) << "\n";
  }
  return os.str();
}

struct SampleRun {
  std::string open_error;
  uint64_t events = 0;
  uint64_t unrouted = 0;
  uint64_t bad_records = 0;
  std::vector<std::string> bad_reasons;
  std::vector<uint64_t> matched_events;      // 1-based event numbers
  std::vector<std::string> match_details;    // fields of the rule's matches
  std::string first_event;                   // dump of the first event
  std::map<uint32_t, uint64_t> other_rules;  // other rules that matched, and how often
};

SampleRun RunSample(const fs::path& path, std::shared_ptr<const RuleSet> rules, uint32_t rule) {
  SampleRun run;
  CollectBad bad;
  ingest::ReaderOptions options;
  options.keep_raw = false;
  auto reader = ingest::EventReader::Open(path.string(), options, &bad);
  if (!reader) {
    run.open_error = reader.error().ToString();
    return run;
  }
  Matcher matcher(std::move(rules));
  Event ev;
  std::vector<RuleMatch> matches;
  while ((*reader)->Next(ev)) {
    ++run.events;
    if (run.events == 1) run.first_event = DumpFields(ev);
    matches.clear();
    matcher.Match(ev, matches);
    bool hit = false;
    for (const RuleMatch& m : matches) {
      if (m.rule == rule) {
        hit = true;
        if (run.match_details.size() < 8) {
          std::ostringstream os;
          os << "    event #" << run.events << ":";
          for (const MatchedField& f : m.fields) {
            os << " " << f.original << "=" << Clip(f.value, 80) << " (" << f.selection << ");";
          }
          run.match_details.push_back(os.str());
        }
      } else {
        ++run.other_rules[m.rule];
      }
    }
    if (hit) run.matched_events.push_back(run.events);
  }
  run.unrouted = matcher.stats().unrouted_events;
  run.bad_records = (*reader)->stats().bad_records;
  run.bad_reasons = std::move(bad.reasons);
  return run;
}

enum class Form { kEvtx, kJson };

class SigmaRegression : public SigmaRegressionBase,
                        public ::testing::WithParamInterface<RegressionCase> {
 protected:
  void Check(Form form);
};

void SigmaRegression::Check(Form form) {
  if (!SharedDataPresent()) GTEST_SKIP() << kNoData << " (looked in " << RegressionRoot() << ")";
  const RegressionCase& c = GetParam();
  ASSERT_TRUE(c.problem.empty()) << c.info << ": " << c.problem;
  if (c.samples.empty()) {
    GTEST_SKIP() << c.info << " has no regression_tests_info (rule " << c.rule_id << ", " << c.title
                 << "): nothing to check";
  }
  ASSERT_NE(loaded_, nullptr);
  ASSERT_TRUE(loaded_->error.empty()) << "LoadRules failed: " << loaded_->error;
  ASSERT_TRUE(loaded_->result.has_value());
  const std::shared_ptr<const RuleSet>& rules = loaded_->result->rules;
  const auto found = loaded_->by_id.find(c.rule_id);
  ASSERT_NE(found, loaded_->by_id.end())
      << "rule " << c.rule_id << " (" << c.title << ") named by " << c.info
      << " is not among the loaded rules (did not load, or filtered out by default "
         "options)";
  const uint32_t rule = found->second;
  const RuleInfo& info = RuleAt(*rules, rule);

  for (const SampleSpec& spec : c.samples) {
    if (spec.type != "evtx") {
      ADD_FAILURE() << c.info << ": test \"" << spec.name << "\" has type '" << spec.type
                    << "', which this suite does not know";
      continue;
    }
    fs::path sample = spec.evtx;
    if (form == Form::kJson) sample.replace_extension(".json");
    std::error_code ec;
    if (!fs::exists(sample, ec)) {
      ADD_FAILURE() << "sample " << sample << " (from " << c.info << ") does not exist";
      continue;
    }
    std::optional<int64_t> expected = spec.match_count;
    const Correction* correction = CorrectionFor(c, spec);
    if (correction) expected = correction->actual;
    const SampleRun run = RunSample(sample, rules, rule);
    const uint64_t got = run.matched_events.size();
    const bool ok = expected ? got == static_cast<uint64_t>(*expected) : got >= 1;
    RecordProperty("matched", static_cast<int>(got));
    RecordProperty("events", static_cast<int>(run.events));
    if (correction) {
      std::cout << "[   NOTE   ] " << c.folder.filename().string() << ": info.yml says "
                << correction->stale << " match, the sample holds " << correction->actual << " ("
                << correction->why << ")\n";
    }
    if (run.open_error.empty() && run.bad_records == 0 && run.events > 0 && ok) continue;

    std::ostringstream os;
    os << "rule " << info.id << " \"" << info.title << "\"\n"
       << "  rule file: " << info.path << " (logsource product=" << info.product
       << " category=" << info.category << " service=" << info.service << ")\n"
       << "  sample:    " << sample.string() << " (" << (form == Form::kEvtx ? "EVTX" : "JSON")
       << ", provider " << spec.provider << ")\n"
       << "  expected:  "
       << (expected ? "exactly " + std::to_string(*expected)
                    : std::string("at least 1 (no match_count)"))
       << " matching event(s)";
    if (correction) {
      os << " (corrected: info.yml says " << correction->stale << "; " << correction->why << ")";
    }
    os << "\n"
       << "  actual:    " << got << " of " << run.events << " event(s) (" << run.unrouted
       << " reached no rule at all)\n";
    if (!run.open_error.empty()) os << "  open error: " << run.open_error << "\n";
    if (run.bad_records > 0) {
      os << "  bad records: " << run.bad_records << "\n";
      for (const std::string& reason : run.bad_reasons) os << "    " << reason << "\n";
    }
    if (!run.matched_events.empty()) {
      os << "  matched events:";
      for (uint64_t n : run.matched_events) os << " #" << n;
      os << "\n";
      for (const std::string& detail : run.match_details) os << detail << "\n";
    }
    if (!run.other_rules.empty()) {
      os << "  other rules that matched:\n";
      size_t shown = 0;
      for (const auto& [other, count] : run.other_rules) {
        if (shown++ == 6) {
          os << "    ...\n";
          break;
        }
        const RuleInfo& o = RuleAt(*rules, other);
        os << "    " << o.id << " \"" << o.title << "\" x" << count << "\n";
      }
    }
    if (got < (expected ? static_cast<uint64_t>(*expected) : 1) && !run.first_event.empty()) {
      os << "  first event:\n" << run.first_event;
    }
    ADD_FAILURE() << os.str();
  }
}

TEST_P(SigmaRegression, Evtx) { Check(Form::kEvtx); }
TEST_P(SigmaRegression, Json) { Check(Form::kJson); }

INSTANTIATE_TEST_SUITE_P(SigmaHQ, SigmaRegression, ::testing::ValuesIn(DiscoverCases()),
                         [](const ::testing::TestParamInfo<RegressionCase>& param) {
                           return param.param.test_name;
                         });

// --- the rules themselves ------------------------------------------------------------

class SigmaRegressionRules : public SigmaRegressionBase {};

TEST_F(SigmaRegressionRules, AllSigmaHQRulesLoadWithoutIssues) {
  if (!SharedDataPresent()) GTEST_SKIP() << kNoData << " (looked in " << RegressionRoot() << ")";
  ASSERT_NE(loaded_, nullptr);
  ASSERT_TRUE(loaded_->error.empty()) << "LoadRules failed: " << loaded_->error;
  const LoadResult& r = *loaded_->result;
  std::ostringstream issues;
  for (const LoadIssue& issue : r.issues) {
    issues << "  " << issue.path << ":" << issue.line << ": " << issue.rule << ": " << issue.reason
           << "\n";
  }
  EXPECT_TRUE(r.issues.empty()) << r.issues.size() << " rule(s) did not load:\n" << issues.str();
  EXPECT_GT(r.rules_loaded, 3000u);
  EXPECT_TRUE(loaded_->duplicate_ids.empty())
      << "duplicate rule ids, e.g. " << loaded_->duplicate_ids.front();
  RecordProperty("files", static_cast<int>(r.files));
  RecordProperty("rules_loaded", static_cast<int>(r.rules_loaded));
  std::cout << "[          ] " << r.files << " files, " << r.rules_loaded << " rules, "
            << r.correlations << " correlations, " << r.filters << " filters, " << r.filtered_out
            << " filtered out, " << r.unrouted << " unrouted, " << r.inactive << " inactive, "
            << r.warnings.size() << " warnings\n";
}

TEST_F(SigmaRegressionRules, EveryInfoYmlNamesALoadedRule) {
  if (!SharedDataPresent()) GTEST_SKIP() << kNoData << " (looked in " << RegressionRoot() << ")";
  ASSERT_NE(loaded_, nullptr);
  ASSERT_TRUE(loaded_->error.empty()) << "LoadRules failed: " << loaded_->error;
  const std::vector<RegressionCase> cases = DiscoverCases();
  EXPECT_GE(cases.size(), 200u);
  for (const RegressionCase& c : cases) {
    EXPECT_TRUE(c.problem.empty()) << c.info << ": " << c.problem;
    EXPECT_TRUE(loaded_->by_id.contains(c.rule_id))
        << c.info << " names rule " << c.rule_id << " (" << c.title << "), which is not loaded";
  }
}

}  // namespace
}  // namespace aegis::detect::sigma
