// Tests for Sigma correlation rules: parsing of the `correlation:` section and the
// windows of CorrelationEngine (all seven types, grouping, aliases, chaining,
// out-of-order events, the group ceiling).
#include "detect/sigma_correlation.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <limits>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace aegis::detect::sigma {
namespace {

constexpr int64_t kSec = 1'000'000'000LL;
using Fields = std::map<std::string, std::string>;

CorrelationSpec MustParse(const std::string& yaml) {
  auto spec = ParseCorrelation(YAML::Load(yaml));
  EXPECT_TRUE(spec.has_value()) << (spec ? "" : spec.error().ToString());
  return spec ? *spec : CorrelationSpec{};
}

Error MustFail(const std::string& yaml) {
  auto spec = ParseCorrelation(YAML::Load(yaml));
  EXPECT_FALSE(spec.has_value()) << "parsed: " << yaml;
  return spec ? Error{} : spec.error();
}

// Engine over one spec whose rules (in order) are base rule indices 1, 2, 3, ...
// and whose own rule index is 100.
struct Harness {
  explicit Harness(CorrelationSpec spec, size_t max_groups = 1000) {
    for (size_t i = 0; i < spec.rule_refs.size(); ++i) {
      spec.rule_indices.push_back(static_cast<uint32_t>(i + 1));
    }
    std::vector<CorrelationSpec> specs;
    specs.push_back(std::move(spec));
    engine = std::make_unique<CorrelationEngine>(std::move(specs), std::vector<uint32_t>{100},
                                                 max_groups);
  }
  // Feeds a match of rule `rule` at `seconds`; returns the hits of this call.
  std::vector<CorrelationHit> Match(uint32_t rule, int64_t seconds, Fields fields = {}) {
    std::vector<CorrelationHit> out;
    engine->OnMatch(
        rule, seconds * kSec,
        [&fields](std::string_view name) -> std::optional<std::string> {
          auto it = fields.find(std::string(name));
          if (it == fields.end()) return std::nullopt;
          return it->second;
        },
        out);
    return out;
  }
  std::unique_ptr<CorrelationEngine> engine;
};

// ---- Parsing -------------------------------------------------------------------------

TEST(SigmaCorrelationParse, FullEventCount) {
  auto spec = MustParse(R"(
title: Many failed logins
name: many_failed
correlation:
  type: event_count
  rules: [failed_login, 5638f7c0-ac70-491d-8465-2a65075e0d86]
  group-by: [ComputerName, User]
  timespan: 1h
  condition: {gte: 10, lte: 20}
  generate: true
)");
  EXPECT_EQ(spec.type, CorrelationType::kEventCount);
  EXPECT_EQ(spec.rule_refs,
            (std::vector<std::string>{"failed_login", "5638f7c0-ac70-491d-8465-2a65075e0d86"}));
  EXPECT_EQ(spec.group_by, (std::vector<std::string>{"ComputerName", "User"}));
  EXPECT_EQ(spec.timespan_ns, 3600 * kSec);
  ASSERT_EQ(spec.condition.comparisons.size(), 2u);
  EXPECT_EQ(spec.condition.comparisons[0], std::make_pair(CompareOp::kGte, 10.0));
  EXPECT_EQ(spec.condition.comparisons[1], std::make_pair(CompareOp::kLte, 20.0));
  EXPECT_TRUE(spec.generate);
}

TEST(SigmaCorrelationParse, TimespanUnitsAndDefaults) {
  const std::pair<const char*, int64_t> cases[] = {{"30s", 30 * kSec},
                                                   {"5m", 300 * kSec},
                                                   {"90m", 5400 * kSec},
                                                   {"1h", 3600 * kSec},
                                                   {"2d", 2 * 86400 * kSec}};
  for (const auto& [text, ns] : cases) {
    auto spec = MustParse(std::string("correlation: {type: temporal, rules: [a, b], timespan: ") +
                          text + "}");
    EXPECT_EQ(spec.timespan_ns, ns) << text;
    EXPECT_TRUE(spec.group_by.empty());
    EXPECT_TRUE(spec.condition.comparisons.empty());  // temporal: all rules
    EXPECT_FALSE(spec.generate);
  }
  EXPECT_EQ(CorrelationTypeName(CorrelationType::kTemporalOrdered), "temporal_ordered");
  EXPECT_EQ(CorrelationTypeName(CorrelationType::kValuePercentile), "value_percentile");
}

TEST(SigmaCorrelationParse, AllTypesAndFields) {
  auto vc = MustParse(R"(
correlation: {type: value_count, rules: [r], group-by: [Host], timespan: 1d,
              condition: {field: User, gte: 100}})");
  EXPECT_EQ(vc.type, CorrelationType::kValueCount);
  EXPECT_EQ(vc.condition.field, "User");
  auto sum = MustParse(R"(
correlation: {type: value_sum, rules: [r], timespan: 1h, condition: {field: bytes, gt: 1.5e6}})");
  EXPECT_EQ(sum.type, CorrelationType::kValueSum);
  EXPECT_DOUBLE_EQ(sum.condition.comparisons.at(0).second, 1.5e6);
  auto avg = MustParse(
      "correlation: {type: value_avg, rules: [r], timespan: 1h, condition: {field: b, neq: 0}}");
  EXPECT_EQ(avg.condition.comparisons.at(0).first, CompareOp::kNeq);
  auto pct = MustParse(R"(
correlation: {type: value_percentile, rules: [r], timespan: 1h,
              condition: {field: b, percentile: 95, gt: 1000}})");
  EXPECT_EQ(pct.type, CorrelationType::kValuePercentile);
  EXPECT_DOUBLE_EQ(pct.condition.percentile, 95);
  // The spec's own test file: no `percentile:` (rarity mode).
  auto rare = MustParse(R"(
title: A computer spawned a processes name in the last 24h than 1% of all the processes.
correlation:
    type: value_percentile
    rules:
        - process_creation
    group-by:
        - ComputerName
    timespan: 24h
    condition:
        field: image
        lte: 1)");
  EXPECT_LT(rare.condition.percentile, 0);
  auto ordered = MustParse(
      "correlation: {type: temporal_ordered, rules: [a, b], group-by: User, timespan: 1h}");
  EXPECT_EQ(ordered.type, CorrelationType::kTemporalOrdered);
  EXPECT_EQ(ordered.group_by, std::vector<std::string>{"User"});
}

TEST(SigmaCorrelationParse, Aliases) {
  auto spec = MustParse(R"(
correlation:
    type: temporal
    rules: [internal_error, new_network_connection]
    group-by: [internal_ip, remote_ip]
    timespan: 10s
    aliases:
        internal_ip:
            internal_error: destination.ip
            new_network_connection: source.ip
        remote_ip:
            internal_error: source.ip
            new_network_connection: destination.ip
)");
  ASSERT_EQ(spec.aliases.size(), 2u);
  EXPECT_EQ(spec.aliases.at("internal_ip").at("internal_error"), "destination.ip");
  EXPECT_EQ(spec.aliases.at("remote_ip").at("new_network_connection"), "destination.ip");
}

TEST(SigmaCorrelationParse, Errors) {
  auto e = MustFail("correlation: {type: event_sum, rules: [a], timespan: 1h, condition: {gt: 1}}");
  EXPECT_EQ(e.field, "correlation.type");
  EXPECT_NE(e.reason.find("event_sum"), std::string::npos) << e.reason;

  e = MustFail("correlation: {type: event_count, timespan: 1h, condition: {gt: 1}}");
  EXPECT_EQ(e.field, "correlation.rules");
  EXPECT_NE(e.reason.find("rules"), std::string::npos) << e.reason;
  e = MustFail("correlation: {type: event_count, rules: [], timespan: 1h, condition: {gt: 1}}");
  EXPECT_EQ(e.field, "correlation.rules");

  for (const char* bad :
       {"5x", "m", "0m", "-5m", "5", "1.5h", "5 m", "99999999999999999999s", "40000d"}) {
    e = MustFail(std::string("correlation: {type: event_count, rules: [a], condition: {gt: 1}, "
                             "timespan: '") +
                 bad + "'}");
    EXPECT_EQ(e.field, "correlation.timespan") << bad;
    EXPECT_NE(e.reason.find("timespan"), std::string::npos) << e.reason;
  }
  e = MustFail("correlation: {type: event_count, rules: [a], condition: {gt: 1}}");
  EXPECT_EQ(e.field, "correlation.timespan");

  e = MustFail("correlation: {type: value_count, rules: [a], timespan: 1h, condition: {gt: 1}}");
  EXPECT_EQ(e.field, "correlation.condition.field");
  EXPECT_NE(e.reason.find("value_count"), std::string::npos) << e.reason;

  e = MustFail("correlation: {type: event_count, rules: [a], timespan: 1h}");
  EXPECT_EQ(e.field, "correlation.condition");
  e = MustFail("correlation: {type: event_count, rules: [a], timespan: 1h, condition: {gt: x}}");
  EXPECT_EQ(e.field, "correlation.condition.gt");
  e = MustFail("correlation: {type: event_count, rules: [a], timespan: 1h, condition: {gtt: 1}}");
  EXPECT_EQ(e.field, "correlation.condition.gtt");
  e = MustFail(
      "correlation: {type: value_percentile, rules: [a], timespan: 1h,"
      " condition: {field: f, percentile: 101, gt: 1}}");
  EXPECT_EQ(e.field, "correlation.condition.percentile");
  e = MustFail(
      "correlation: {type: event_count, rules: [a], timespan: 1h, condition: {gt: 1}, generate: "
      "maybe}");
  EXPECT_EQ(e.field, "correlation.generate");
  e = MustFail("correlation: {type: temporal, rules: [a, a], timespan: 1h}");
  EXPECT_EQ(e.field, "correlation.rules");
  e = MustFail("correlation: {type: temporal, rules: [a, b], timespan: 1h, condition: a and b}");
  EXPECT_EQ(e.field, "correlation.condition");
  e = MustFail("correlation: {type: temporal, rules: [a], timespan: 1h, window: 3}");
  EXPECT_EQ(e.field, "correlation.window");
  e = MustFail("title: no correlation");
  EXPECT_EQ(e.field, "correlation");
  e = MustFail("correlation: [1, 2]");
  e = MustFail("just a string");
  e = MustFail("correlation: {type: [x], rules: [a], timespan: 1h}");
  EXPECT_EQ(e.field, "correlation.type");
  e = MustFail("correlation: {type: temporal, rules: [a], timespan: 1h, aliases: {x: 1}}");
  EXPECT_EQ(e.field, "correlation.aliases.x");
}

// ---- Engine: each type fires and does not fire ------------------------------------------

TEST(SigmaCorrelationEngine, EventCount) {
  Harness h(MustParse(R"(
correlation: {type: event_count, rules: [a, b], group-by: [Host], timespan: 1m,
              condition: {gte: 3}})"));
  EXPECT_TRUE(h.Match(1, 0, {{"Host", "x"}}).empty());
  EXPECT_TRUE(h.Match(2, 10, {{"Host", "x"}}).empty());
  auto hits = h.Match(1, 20, {{"Host", "x"}});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].correlation, 100u);
  EXPECT_EQ(hits[0].events, 3u);
  EXPECT_DOUBLE_EQ(hits[0].value, 3);
  EXPECT_EQ(hits[0].first_ns, 0);
  EXPECT_EQ(hits[0].last_ns, 20 * kSec);
  EXPECT_EQ(hits[0].group, (std::vector<std::pair<std::string, std::string>>{{"Host", "x"}}));

  // Not firing: three events, but never three within one minute.
  Harness quiet(MustParse(R"(
correlation: {type: event_count, rules: [a], group-by: [Host], timespan: 1m,
              condition: {gte: 3}})"));
  for (int64_t t : {0, 40, 80, 120, 160, 200}) {
    EXPECT_TRUE(quiet.Match(1, t, {{"Host", "x"}}).empty()) << t;
  }
  // An unreferenced rule is ignored.
  EXPECT_TRUE(quiet.Match(7, 201, {{"Host", "x"}}).empty());
  EXPECT_TRUE(quiet.engine->IsReferenced(1));
  EXPECT_FALSE(quiet.engine->IsReferenced(7));
}

TEST(SigmaCorrelationEngine, WindowResetsAfterFiring) {
  Harness h(
      MustParse("correlation: {type: event_count, rules: [a], timespan: 1m, condition: {gte: 2}}"));
  EXPECT_TRUE(h.Match(1, 0).empty());
  EXPECT_EQ(h.Match(1, 1).size(), 1u);
  EXPECT_TRUE(h.Match(1, 2).empty());   // a new window: one event so far
  EXPECT_TRUE(h.Match(1, 0).empty());   // late, belongs to the window that fired
  EXPECT_EQ(h.Match(1, 3).size(), 1u);  // second event of the new window
}

TEST(SigmaCorrelationEngine, RangeCondition) {
  Harness h(MustParse(R"(
correlation: {type: value_sum, rules: [a], timespan: 1h,
              condition: {field: n, gt: 100, lte: 200}})"));
  EXPECT_TRUE(h.Match(1, 0, {{"n", "150"}}).size() == 1u);  // 150 in (100, 200]
  EXPECT_TRUE(h.Match(1, 1, {{"n", "250"}}).empty());       // 250 above the range
  EXPECT_TRUE(h.Match(1, 2, {{"n", "50"}}).empty());        // 300
}

TEST(SigmaCorrelationEngine, ValueCount) {
  Harness h(MustParse(R"(
correlation: {type: value_count, rules: [failed], group-by: [Host], timespan: 1h,
              condition: {field: User, gte: 3}})"));
  EXPECT_TRUE(h.Match(1, 0, {{"Host", "h"}, {"User", "alice"}}).empty());
  EXPECT_TRUE(h.Match(1, 1, {{"Host", "h"}, {"User", "alice"}}).empty());
  EXPECT_TRUE(h.Match(1, 2, {{"Host", "h"}, {"User", "bob"}}).empty());
  EXPECT_TRUE(h.Match(1, 3, {{"Host", "h"}}).empty());  // no User: not counted
  EXPECT_TRUE(h.Match(1, 4, {{"Host", "h"}, {"User", "bob"}}).empty());
  auto hits = h.Match(1, 5, {{"Host", "h"}, {"User", "carol"}});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_DOUBLE_EQ(hits[0].value, 3);
  EXPECT_EQ(hits[0].events, 5u);  // the match without User is not counted

  // Not firing: the first user leaves the window before the third arrives.
  Harness slow(MustParse(R"(
correlation: {type: value_count, rules: [failed], timespan: 10s,
              condition: {field: User, gte: 3}})"));
  EXPECT_TRUE(slow.Match(1, 0, {{"User", "alice"}}).empty());
  EXPECT_TRUE(slow.Match(1, 8, {{"User", "bob"}}).empty());
  EXPECT_TRUE(slow.Match(1, 15, {{"User", "carol"}}).empty());
  // alice seen again inside the window: her newest time counts.
  EXPECT_EQ(slow.Match(1, 16, {{"User", "alice"}}).size(), 1u);
}

TEST(SigmaCorrelationEngine, Temporal) {
  Harness h(MustParse(R"(
correlation: {type: temporal, rules: [a, b, c], group-by: [User], timespan: 5m})"));
  EXPECT_TRUE(h.Match(3, 0, {{"User", "u"}}).empty());
  EXPECT_TRUE(h.Match(1, 10, {{"User", "u"}}).empty());
  EXPECT_TRUE(h.Match(1, 20, {{"User", "u"}}).empty());  // a again: still two rules
  auto hits = h.Match(2, 30, {{"User", "u"}});           // any order
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_DOUBLE_EQ(hits[0].value, 3);

  // Not firing: c falls out of the window before b arrives; another user's b does not help.
  EXPECT_TRUE(h.Match(3, 1000, {{"User", "v"}}).empty());
  EXPECT_TRUE(h.Match(1, 1200, {{"User", "v"}}).empty());
  EXPECT_TRUE(h.Match(2, 1200, {{"User", "w"}}).empty());
  EXPECT_TRUE(h.Match(2, 1400, {{"User", "v"}}).empty());

  // With a condition: two of the three rules suffice.
  Harness two(MustParse(
      "correlation: {type: temporal, rules: [a, b, c], timespan: 5m, condition: {gte: 2}}"));
  EXPECT_TRUE(two.Match(2, 0).empty());
  EXPECT_EQ(two.Match(3, 1).size(), 1u);
}

TEST(SigmaCorrelationEngine, TemporalOrdered) {
  Harness h(MustParse(R"(
correlation: {type: temporal_ordered, rules: [a, b, c], group-by: [User], timespan: 1h})"));
  // b before a: out of order, nothing yet.
  EXPECT_TRUE(h.Match(2, 0, {{"User", "u"}}).empty());
  EXPECT_TRUE(h.Match(1, 10, {{"User", "u"}}).empty());
  EXPECT_TRUE(h.Match(3, 20, {{"User", "u"}}).empty());  // a, c: b missing after a
  EXPECT_TRUE(h.Match(2, 30, {{"User", "u"}}).empty());  // a b: c missing after b
  auto hits = h.Match(3, 40, {{"User", "u"}});           // a(10) b(30) c(40)
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_DOUBLE_EQ(hits[0].value, 3);

  // c, b, a in that order never fires.
  Harness rev(MustParse("correlation: {type: temporal_ordered, rules: [a, b, c], timespan: 1h}"));
  EXPECT_TRUE(rev.Match(3, 0).empty());
  EXPECT_TRUE(rev.Match(2, 1).empty());
  EXPECT_TRUE(rev.Match(1, 2).empty());
  // An earlier a still leads the order when a repeats after b.
  Harness rep(MustParse("correlation: {type: temporal_ordered, rules: [a, b, c], timespan: 1h}"));
  EXPECT_TRUE(rep.Match(1, 0).empty());
  EXPECT_TRUE(rep.Match(2, 5).empty());
  EXPECT_TRUE(rep.Match(1, 6).empty());
  EXPECT_EQ(rep.Match(3, 7).size(), 1u);
  // A late a, arriving after b but stamped before it, completes the order.
  Harness late(MustParse("correlation: {type: temporal_ordered, rules: [a, b], timespan: 1h}"));
  EXPECT_TRUE(late.Match(2, 100).empty());
  EXPECT_EQ(late.Match(1, 90).size(), 1u);
}

TEST(SigmaCorrelationEngine, ValueSum) {
  Harness h(MustParse(R"(
correlation: {type: value_sum, rules: [web], group-by: [Src], timespan: 1h,
              condition: {field: bytes, gt: 1000}})"));
  EXPECT_TRUE(h.Match(1, 0, {{"Src", "a"}, {"bytes", "400"}}).empty());
  EXPECT_TRUE(h.Match(1, 1, {{"Src", "a"}, {"bytes", "not a number"}}).empty());
  EXPECT_TRUE(h.Match(1, 2, {{"Src", "a"}}).empty());
  EXPECT_TRUE(h.Match(1, 3, {{"Src", "b"}, {"bytes", "900"}}).empty());
  EXPECT_TRUE(h.Match(1, 4, {{"Src", "a"}, {"bytes", "600"}}).empty());  // 1000: not > 1000
  auto hits = h.Match(1, 5, {{"Src", "a"}, {"bytes", " 0.5 "}});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_DOUBLE_EQ(hits[0].value, 1000.5);
  EXPECT_EQ(hits[0].events, 3u);
  // Old bytes leave the window: 900 (t=3) + 200 an hour later is not over 1000.
  EXPECT_TRUE(h.Match(1, 3 + 3601, {{"Src", "b"}, {"bytes", "200"}}).empty());
}

TEST(SigmaCorrelationEngine, ValueAvg) {
  Harness h(MustParse(R"(
correlation: {type: value_avg, rules: [net], timespan: 1h,
              condition: {field: out, gte: 500}})"));
  EXPECT_TRUE(h.Match(1, 0, {{"out", "100"}}).empty());
  EXPECT_TRUE(h.Match(1, 1, {{"out", "700"}}).empty());  // avg 400
  auto hits = h.Match(1, 2, {{"out", "800"}});           // avg 533.3
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_NEAR(hits[0].value, 1600.0 / 3, 1e-9);
  // Not firing: small values.
  EXPECT_TRUE(h.Match(1, 3, {{"out", "10"}}).empty());
  EXPECT_TRUE(h.Match(1, 4, {{"out", "20"}}).empty());
}

TEST(SigmaCorrelationEngine, ValuePercentile) {
  Harness h(MustParse(R"(
correlation: {type: value_percentile, rules: [r], timespan: 1h,
              condition: {field: ms, percentile: 90, gt: 9}})"));
  // Values 1..10: the 90th percentile (linear interpolation) is 9.1 after the tenth.
  for (int i = 1; i <= 9; ++i) {
    EXPECT_TRUE(h.Match(1, i, {{"ms", std::to_string(i)}}).empty()) << i;
  }
  auto hits = h.Match(1, 10, {{"ms", "10"}});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_NEAR(hits[0].value, 9.1, 1e-9);

  Harness median(MustParse(R"(
correlation: {type: value_percentile, rules: [r], timespan: 1h,
              condition: {field: ms, percentile: 50, eq: 25}})"));
  EXPECT_TRUE(median.Match(1, 0, {{"ms", "40"}}).empty());  // median 40
  hits = median.Match(1, 1, {{"ms", "10"}});                // median (10 + 40) / 2
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_DOUBLE_EQ(hits[0].value, 25);
  // Not firing: one outlier among 20 values leaves the 90th percentile at 5.
  Harness low(MustParse(R"(
correlation: {type: value_percentile, rules: [r], timespan: 1h,
              condition: {field: ms, percentile: 90, gt: 500}})"));
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(low.Match(1, i, {{"ms", i == 19 ? "10000" : "5"}}).empty()) << i;
  }
}

TEST(SigmaCorrelationEngine, ValuePercentileMedianValue) {
  Harness h(MustParse(R"(
correlation: {type: value_percentile, rules: [r], timespan: 1h,
              condition: {field: ms, percentile: 50, gte: 0}})"));
  auto hits = h.Match(1, 0, {{"ms", "40"}});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_DOUBLE_EQ(hits[0].value, 40);
  // After the reset: 30, 10, 20 -> median 20; p0 would be 10, p100 30.
  Harness p(MustParse(R"(
correlation: {type: value_percentile, rules: [r], timespan: 1h,
              condition: {field: ms, percentile: 25, lt: 15}})"));
  EXPECT_TRUE(p.Match(1, 0, {{"ms", "30"}}).empty());  // 30
  EXPECT_TRUE(p.Match(1, 1, {{"ms", "20"}}).empty());  // 20 + 0.25*10 = 22.5
  hits = p.Match(1, 2, {{"ms", "10"}});                // 10,20,30: rank 0.5 -> 15, not < 15
  EXPECT_TRUE(hits.empty());
  hits = p.Match(1, 3, {{"ms", "0"}});  // 0,10,20,30: rank .75 -> 7.5
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_DOUBLE_EQ(hits[0].value, 7.5);
}

TEST(SigmaCorrelationEngine, ValuePercentileRarity) {
  Harness h(MustParse(R"(
correlation: {type: value_percentile, rules: [proc], group-by: [Host], timespan: 24h,
              condition: {field: image, lte: 1}})"));
  for (int i = 0; i < 99; ++i) {
    EXPECT_TRUE(h.Match(1, i, {{"Host", "pc"}, {"image", "explorer.exe"}}).empty()) << i;
  }
  auto hits = h.Match(1, 100, {{"Host", "pc"}, {"image", "evil.exe"}});  // 1 of 100 = 1%
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_DOUBLE_EQ(hits[0].value, 1);
  // The baseline is kept: a common image does not fire, a second evil.exe (2/102) does not.
  EXPECT_TRUE(h.Match(1, 101, {{"Host", "pc"}, {"image", "explorer.exe"}}).empty());
  EXPECT_TRUE(h.Match(1, 102, {{"Host", "pc"}, {"image", "evil.exe"}}).empty());
}

// ---- Grouping, aliases, chaining --------------------------------------------------------

TEST(SigmaCorrelationEngine, GroupBySeparatesGroups) {
  Harness h(MustParse(R"(
correlation: {type: event_count, rules: [a], group-by: [Host, User], timespan: 1h,
              condition: {gte: 2}})"));
  EXPECT_TRUE(h.Match(1, 0, {{"Host", "a"}, {"User", "u"}}).empty());
  EXPECT_TRUE(h.Match(1, 1, {{"Host", "b"}, {"User", "u"}}).empty());
  EXPECT_TRUE(h.Match(1, 2, {{"Host", "a"}, {"User", "v"}}).empty());
  EXPECT_TRUE(h.Match(1, 3, {{"User", "u"}}).empty());  // Host absent: groups by ""
  auto hits = h.Match(1, 4, {{"Host", "b"}, {"User", "u"}});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].group,
            (std::vector<std::pair<std::string, std::string>>{{"Host", "b"}, {"User", "u"}}));
  hits = h.Match(1, 5, {{"User", "u"}});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].group,
            (std::vector<std::pair<std::string, std::string>>{{"Host", ""}, {"User", "u"}}));
  // Values that would collide if simply concatenated stay apart.
  EXPECT_TRUE(h.Match(1, 6, {{"Host", "ab"}, {"User", "c"}}).empty());
  EXPECT_TRUE(h.Match(1, 7, {{"Host", "a"}, {"User", "bc"}}).empty());
  EXPECT_EQ(h.engine->stats().groups, 6u);
}

TEST(SigmaCorrelationEngine, Aliases) {
  Harness h(MustParse(R"(
correlation:
    type: temporal
    rules: [internal_error, new_network_connection]
    group-by: [internal_ip, remote_ip]
    timespan: 10s
    aliases:
        internal_ip:
            internal_error: destination.ip
            new_network_connection: source.ip
        remote_ip:
            internal_error: source.ip
            new_network_connection: destination.ip
)"));
  EXPECT_TRUE(
      h.Match(1, 0, {{"destination.ip", "10.0.0.5"}, {"source.ip", "203.0.113.9"}}).empty());
  // Same addresses, but the wrong way round for the second rule: another group.
  EXPECT_TRUE(
      h.Match(2, 1, {{"destination.ip", "10.0.0.5"}, {"source.ip", "203.0.113.9"}}).empty());
  auto hits = h.Match(2, 2, {{"source.ip", "10.0.0.5"}, {"destination.ip", "203.0.113.9"}});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].group, (std::vector<std::pair<std::string, std::string>>{
                               {"internal_ip", "10.0.0.5"}, {"remote_ip", "203.0.113.9"}}));
}

TEST(SigmaCorrelationEngine, ChainEventCountOverTemporal) {
  // Rule indices: base a=1, b=2, success=3; temporal "recon" = 10;
  // event_count over recon = 11; temporal_ordered [event_count, success] = 12.
  auto recon = MustParse(
      "correlation: {type: temporal, rules: [a, b], group-by: [User, Host], timespan: 1m}");
  recon.rule_indices = {1, 2};
  auto many = MustParse(R"(
correlation: {type: event_count, rules: [recon], group-by: [User], timespan: 1h,
              condition: {gte: 2}})");
  many.rule_indices = {10};
  auto then = MustParse(R"(
correlation: {type: temporal_ordered, rules: [many, success], group-by: [User], timespan: 1h})");
  then.rule_indices = {11, 3};
  CorrelationEngine engine({recon, many, then}, {10, 11, 12}, 100);
  EXPECT_TRUE(engine.IsReferenced(10));
  EXPECT_TRUE(engine.IsReferenced(11));
  EXPECT_FALSE(engine.IsReferenced(12));

  auto match = [&](uint32_t rule, int64_t s, Fields f) {
    std::vector<CorrelationHit> out;
    engine.OnMatch(
        rule, s * kSec,
        [&f](std::string_view n) -> std::optional<std::string> {
          auto it = f.find(std::string(n));
          return it == f.end() ? std::nullopt : std::optional<std::string>(it->second);
        },
        out);
    return out;
  };
  const Fields h1{{"User", "eve"}, {"Host", "h1"}}, h2{{"User", "eve"}, {"Host", "h2"}};
  EXPECT_TRUE(match(1, 0, h1).empty());
  auto hits = match(2, 5, h1);  // recon fires once (count 1 for `many`)
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].correlation, 10u);
  EXPECT_TRUE(match(3, 6, h1).empty());  // success before `many` fired: out of order
  EXPECT_TRUE(match(1, 100, h2).empty());
  hits = match(2, 110, h2);  // recon on another host, same user: `many` fires too
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].correlation, 10u);
  EXPECT_EQ(hits[1].correlation, 11u);
  EXPECT_EQ(hits[1].events, 2u);
  EXPECT_EQ(hits[1].group, (std::vector<std::pair<std::string, std::string>>{{"User", "eve"}}));
  hits = match(3, 120, {{"User", "eve"}});  // then the successful login
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].correlation, 12u);
}

TEST(SigmaCorrelationEngine, ReferenceCycleTerminates) {
  auto a = MustParse(
      "correlation: {type: event_count, rules: [x, b], timespan: 1h, "
      "condition: {gte: 1}}");
  a.rule_indices = {1, 11};
  auto b = MustParse(
      "correlation: {type: event_count, rules: [a], timespan: 1h, "
      "condition: {gte: 1}}");
  b.rule_indices = {10};
  CorrelationEngine engine({a, b}, {10, 11}, 100);
  std::vector<CorrelationHit> out;
  engine.OnMatch(
      1, 0, [](std::string_view) { return std::nullopt; }, out);
  EXPECT_FALSE(out.empty());
  EXPECT_LE(out.size(), 64u);
}

// ---- Out-of-order events, memory bound, robustness ------------------------------------

TEST(SigmaCorrelationEngine, OutOfOrderInsideTimespanCounts) {
  Harness h(MustParse(
      "correlation: {type: event_count, rules: [a], timespan: 10s, condition: {gte: 3}}"));
  EXPECT_TRUE(h.Match(1, 100).empty());
  EXPECT_TRUE(h.Match(1, 95).empty());  // 5 s older than the newest: inside
  auto hits = h.Match(1, 91);           // 9 s older: inside
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].first_ns, 91 * kSec);
  EXPECT_EQ(hits[0].last_ns, 100 * kSec);
}

TEST(SigmaCorrelationEngine, OutOfOrderOutsideTimespanNotCounted) {
  Harness h(MustParse(
      "correlation: {type: event_count, rules: [a], timespan: 10s, condition: {gte: 3}}"));
  EXPECT_TRUE(h.Match(1, 100).empty());
  EXPECT_TRUE(h.Match(1, 85).empty());  // 15 s older: dropped
  EXPECT_TRUE(h.Match(1, 89).empty());  // 11 s older: dropped
  EXPECT_TRUE(h.Match(1, 99).empty());  // two in the window
  EXPECT_EQ(h.Match(1, 98).size(), 1u);
  // A newer event pushes older ones out: 95 is evicted when 106 arrives.
  Harness e(MustParse(
      "correlation: {type: event_count, rules: [a], timespan: 10s, condition: {gte: 3}}"));
  EXPECT_TRUE(e.Match(1, 95).empty());
  EXPECT_TRUE(e.Match(1, 100).empty());
  EXPECT_TRUE(e.Match(1, 106).empty());  // 95 < 106 - 10: evicted; 100, 106 left
  EXPECT_EQ(e.Match(1, 97).size(), 1u);  // 97 >= 96: inside
}

TEST(SigmaCorrelationEngine, EvictsLeastRecentlyUpdatedGroup) {
  Harness h(MustParse(R"(
correlation: {type: event_count, rules: [a], group-by: [Host], timespan: 1h,
              condition: {gte: 2}})"),
            /*max_groups=*/2);
  EXPECT_TRUE(h.Match(1, 0, {{"Host", "a"}}).empty());
  EXPECT_TRUE(h.Match(1, 1, {{"Host", "b"}}).empty());
  EXPECT_TRUE(h.Match(1, 2, {{"Host", "a"}}).size() == 1u);  // a is now the newest
  EXPECT_EQ(h.engine->stats().evicted_groups, 0u);
  EXPECT_TRUE(h.Match(1, 3, {{"Host", "c"}}).empty());  // evicts b (least recent)
  EXPECT_EQ(h.engine->stats().evicted_groups, 1u);
  EXPECT_EQ(h.engine->stats().groups, 2u);
  EXPECT_TRUE(h.Match(1, 4, {{"Host", "b"}}).empty());  // b starts over; evicts a
  EXPECT_EQ(h.engine->stats().evicted_groups, 2u);
  EXPECT_EQ(h.Match(1, 5, {{"Host", "c"}}).size(), 1u);  // c was kept
  for (int i = 0; i < 100; ++i) h.Match(1, 6 + i, {{"Host", "h" + std::to_string(i)}});
  EXPECT_EQ(h.engine->stats().groups, 2u);
  EXPECT_EQ(h.engine->stats().evicted_groups, 102u);
}

TEST(SigmaCorrelationEngine, NoExceptionsOnWeirdInput) {
  Harness h(MustParse(R"(
correlation: {type: value_sum, rules: [a], group-by: [Host], timespan: 1h,
              condition: {field: n, gt: 0}})"));
  std::vector<CorrelationHit> out;
  EXPECT_NO_THROW(h.engine->OnMatch(
      1, 0, [](std::string_view) -> std::optional<std::string> { throw std::runtime_error("x"); },
      out));
  EXPECT_NO_THROW(h.engine->OnMatch(1, 0, FieldLookup{}, out));  // empty lookup
  EXPECT_TRUE(out.empty());
  for (const char* v : {"nan", "inf", "-inf", "1e999", "", "+", "0x10", "1,5"}) {
    EXPECT_TRUE(h.Match(1, 1, {{"n", v}}).empty()) << v;
  }
  EXPECT_EQ(h.Match(1, std::numeric_limits<int64_t>::min() / kSec, {{"n", "1"}}).size(), 1u);
  EXPECT_EQ(h.Match(1, std::numeric_limits<int64_t>::max() / kSec, {{"n", "1"}}).size(), 1u);
  // A spec whose rule_indices were never filled, and no rule_of.
  CorrelationEngine bare({CorrelationSpec{}}, {}, 0);
  EXPECT_NO_THROW(bare.OnMatch(0, 0, FieldLookup{}, out));
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace aegis::detect::sigma
