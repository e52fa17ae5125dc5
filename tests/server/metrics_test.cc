#include "server/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace aegis::server {
namespace {

TEST(MetricsTest, CounterAndGaugeWithLabels) {
  MetricsRegistry m;
  auto c = m.GetCounter("aegis_hits_total", "Hits.\nSecond line \\ here",
                        {{"type", "ip"}, {"src", "a\"b\\c\nd"}});
  ASSERT_TRUE(c);
  (*c)->Inc();
  (*c)->Inc(2);
  (*c)->Inc(-5);  // counters only go up
  EXPECT_EQ((*c)->Value(), 3);
  auto same = m.GetCounter("aegis_hits_total", "ignored", {{"type", "ip"}, {"src", "a\"b\\c\nd"}});
  ASSERT_TRUE(same);
  EXPECT_EQ(*same, *c);
  auto g = m.GetGauge("aegis_queue_depth", "Depth.");
  ASSERT_TRUE(g);
  (*g)->Set(7);
  (*g)->Dec(2);
  (*g)->Inc(0.5);
  const std::string text = m.Render();
  EXPECT_EQ(text,
            "# HELP aegis_hits_total Hits.\\nSecond line \\\\ here\n"
            "# TYPE aegis_hits_total counter\n"
            "aegis_hits_total{type=\"ip\",src=\"a\\\"b\\\\c\\nd\"} 3\n"
            "# HELP aegis_queue_depth Depth.\n"
            "# TYPE aegis_queue_depth gauge\n"
            "aegis_queue_depth 5.5\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  MetricsRegistry m;
  auto h = m.GetHistogram("req_seconds", "Durations.", {0.25, 1, 10}, {{"route", "/x"}});
  ASSERT_TRUE(h);
  for (double v : {0.125, 0.25, 0.5, 5.0, 50.0}) (*h)->Observe(v);
  EXPECT_EQ(m.Render(),
            "# HELP req_seconds Durations.\n"
            "# TYPE req_seconds histogram\n"
            "req_seconds_bucket{route=\"/x\",le=\"0.25\"} 2\n"
            "req_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"
            "req_seconds_bucket{route=\"/x\",le=\"10\"} 4\n"
            "req_seconds_bucket{route=\"/x\",le=\"+Inf\"} 5\n"
            "req_seconds_sum{route=\"/x\"} 55.875\n"
            "req_seconds_count{route=\"/x\"} 5\n");
}

TEST(MetricsTest, RejectsBadNamesAndTypeClashes) {
  MetricsRegistry m;
  EXPECT_FALSE(m.GetCounter("1abc", "x"));
  EXPECT_FALSE(m.GetCounter("a-b", "x"));
  EXPECT_FALSE(m.GetCounter("ok", "x", {{"bad-label", "v"}}));
  EXPECT_FALSE(m.GetCounter("ok", "x", {{"__reserved", "v"}}));
  EXPECT_FALSE(m.GetHistogram("h", "x", {1, 2}, {{"le", "1"}}));
  EXPECT_FALSE(m.GetHistogram("h", "x", {2, 1}));
  ASSERT_TRUE(m.GetCounter("name:sub_total", "x"));
  EXPECT_FALSE(m.GetGauge("name:sub_total", "x"));
  ASSERT_TRUE(m.GetHistogram("h2", "x", {1, 2}));
  EXPECT_FALSE(m.GetHistogram("h2", "x", {1, 3}));
}

TEST(MetricsTest, FormatsSpecialValues) {
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(1e6), "1000000");
  EXPECT_EQ(FormatMetricValue(0.25), "0.25");
  EXPECT_EQ(FormatMetricValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(FormatMetricValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(FormatMetricValue(0.0 / 0.0), "NaN");
}

TEST(MetricsTest, ConcurrentUpdates) {
  MetricsRegistry m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&m, t] {
      for (int i = 0; i < 1000; ++i) {
        (*m.GetCounter("c_total", "c", {{"t", std::to_string(t % 2)}}))->Inc();
        (*m.GetHistogram("h", "h", {1}))->Observe(0.5);
        if (i % 100 == 0) (void)m.Render();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ((*m.GetCounter("c_total", "c", {{"t", "0"}}))->Value(), 4000);
  EXPECT_EQ((*m.GetCounter("c_total", "c", {{"t", "1"}}))->Value(), 4000);
  EXPECT_NE(m.Render().find("h_count 8000\n"), std::string::npos);
}

}  // namespace
}  // namespace aegis::server

namespace aegis::server {
namespace {

TEST(MetricsTest, CollectorsAppendTheirTextAtScrapeTime) {
  MetricsRegistry registry;
  ASSERT_TRUE(registry.GetCounter("aegis_a_total", "A.").has_value());
  int scrapes = 0;
  registry.AddCollector([&scrapes] {
    ++scrapes;
    return "# TYPE aegis_feed_runs_total counter\naegis_feed_runs_total{feed=\"x\"} " +
           std::to_string(scrapes);  // no trailing newline: Render adds it
  });
  const std::string first = registry.Render();
  EXPECT_NE(first.find("aegis_a_total 0\n"), std::string::npos);
  EXPECT_NE(first.find("aegis_feed_runs_total{feed=\"x\"} 1\n"), std::string::npos);
  EXPECT_LT(first.find("aegis_a_total"), first.find("aegis_feed_runs_total"));
  EXPECT_NE(registry.Render().find("aegis_feed_runs_total{feed=\"x\"} 2\n"), std::string::npos);
}

}  // namespace
}  // namespace aegis::server
