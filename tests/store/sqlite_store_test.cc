// Tests for the SQLite store: URL forms, migrations, exact round trips, alert
// queries, indicator upserts and counts, WAL concurrency and a bulk load. Every
// test uses real database files in its own temporary directory.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "core/alert.h"
#include "core/indicator.h"
#include "store/sqlite_internal.h"
#include "store/store.h"

namespace aegis::store {
namespace {

namespace fs = std::filesystem;
using internal::LatestSqliteSchemaVersion;
using internal::Migration;
using internal::SqliteMigrations;

// ---------------------------------------------------------------------------
// Helpers

// A raw SQLite connection, to look at (or tamper with) what the store wrote.
class RawDb {
 public:
  explicit RawDb(const fs::path& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close(db_); }
  sqlite3* get() const { return db_; }

  void Exec(const std::string& sql) {
    char* message = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
    EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (message ? message : "");
    sqlite3_free(message);
  }
  // The first column of every row, as text.
  std::vector<std::string> Column(const std::string& sql) {
    std::vector<std::string> out;
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
    while (stmt && sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      out.emplace_back(text ? text : "");
    }
    sqlite3_finalize(stmt);
    return out;
  }
  std::string One(const std::string& sql) {
    auto column = Column(sql);
    return column.empty() ? "<no rows>" : column.front();
  }

 private:
  sqlite3* db_ = nullptr;
};

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("aegis-store-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = dir_ / "aegis.db";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Store> OpenOrDie(const std::string& url) {
    auto store = Open(url);
    if (!store) {
      ADD_FAILURE() << "Open(" << url << "): " << store.error().ToString();
      return nullptr;
    }
    return std::move(*store);
  }
  std::unique_ptr<Store> OpenDb() { return OpenOrDie(path_.string()); }

  fs::path dir_;
  fs::path path_;
};

Alert MakeAlert(std::string id, int64_t time_ns, Severity severity = Severity::kMedium,
                std::string rule = "evil.example", std::string detector = "indicator") {
  Alert a;
  a.id = std::move(id);
  a.time_ns = time_ns;
  a.event_time_ns = time_ns - 1000;
  a.severity = severity;
  a.detector = std::move(detector);
  a.rule = std::move(rule);
  a.title = "Indicator match: " + a.rule;
  a.indicator_type = "domain";
  a.indicator_source = "test-feed";
  a.confidence = 80;
  a.tags = {"c2"};
  a.matches = {{"dns.question.name", "query", "www." + a.rule, a.rule, "subdomain"}};
  a.event_source = "dns.log";
  a.event_line = 7;
  a.event_offset = 1234;
  a.event_format = EventFormat::kZeekJson;
  a.event_json = R"({"ts":1})";
  return a;
}

Indicator MakeIndicator(IndicatorType type, std::string value, std::string source = "feed-a") {
  Indicator i;
  i.type = type;
  i.value = std::move(value);
  i.meta.source = std::move(source);
  return i;
}

void ExpectSameAlert(const Alert& want, const Alert& got) {
  EXPECT_EQ(want.id, got.id);
  EXPECT_EQ(want.time_ns, got.time_ns);
  EXPECT_EQ(want.event_time_ns, got.event_time_ns);
  EXPECT_EQ(want.severity, got.severity);
  EXPECT_EQ(want.tlp, got.tlp);
  EXPECT_EQ(want.detector, got.detector);
  EXPECT_EQ(want.rule, got.rule);
  EXPECT_EQ(want.title, got.title);
  EXPECT_EQ(want.indicator_type, got.indicator_type);
  EXPECT_EQ(want.indicator_source, got.indicator_source);
  EXPECT_EQ(want.confidence, got.confidence);
  EXPECT_EQ(want.tags, got.tags);
  ASSERT_EQ(want.matches.size(), got.matches.size());
  for (size_t i = 0; i < want.matches.size(); ++i) {
    EXPECT_EQ(want.matches[i].field, got.matches[i].field);
    EXPECT_EQ(want.matches[i].original, got.matches[i].original);
    EXPECT_EQ(want.matches[i].value, got.matches[i].value);
    EXPECT_EQ(want.matches[i].indicator, got.matches[i].indicator);
    EXPECT_EQ(want.matches[i].match, got.matches[i].match);
  }
  EXPECT_EQ(want.event_source, got.event_source);
  EXPECT_EQ(want.event_line, got.event_line);
  EXPECT_EQ(want.event_offset, got.event_offset);
  EXPECT_EQ(want.event_format, got.event_format);
  EXPECT_EQ(want.event_json, got.event_json);
  EXPECT_EQ(want.count, got.count);
  EXPECT_EQ(want.source_ip, got.source_ip);
  EXPECT_EQ(want.destination_ip, got.destination_ip);
  // Also covers any member added to Alert (and to AlertToJson) after this test.
  EXPECT_EQ(AlertToJson(want), AlertToJson(got));
}

// Concatenates; used where GCC 12 raises a false -Wrestrict on "a" + std::to_string(n).
std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view part : parts) out.append(part);
  return out;
}

// An AlertQuery with some fields set, e.g. Query([](AlertQuery& q) { q.limit = 2; }).
template <typename Set>
AlertQuery Query(Set set) {
  AlertQuery query;
  set(query);
  return query;
}

AlertQuery Limit(size_t limit) {
  return Query([&](AlertQuery& q) { q.limit = limit; });
}

std::vector<std::string> Ids(const std::vector<Alert>& alerts) {
  std::vector<std::string> ids;
  for (const Alert& a : alerts) ids.push_back(a.id);
  return ids;
}

std::vector<Indicator> AllIndicators(Store& store) {
  std::vector<Indicator> out;
  auto visited = store.ForEachIndicator([&](const Indicator& i) { out.push_back(i); });
  EXPECT_TRUE(visited) << visited.error().ToString();
  if (visited) {
    EXPECT_EQ(*visited, out.size());
  }
  return out;
}

// ---------------------------------------------------------------------------
// Opening and URLs

TEST_F(SqliteStoreTest, OpensEveryUrlForm) {
  struct Case {
    std::string url;
    fs::path file;
  };
  const Case cases[] = {
      {(dir_ / "bare.db").string(), dir_ / "bare.db"},
      {"sqlite:" + (dir_ / "scheme.db").string(), dir_ / "scheme.db"},
      {"SQLite:" + (dir_ / "upper.db").string(), dir_ / "upper.db"},
      {"sqlite://" + (dir_ / "slashes.db").string(), dir_ / "slashes.db"},
  };
  for (const Case& c : cases) {
    auto store = OpenOrDie(c.url);
    ASSERT_NE(store, nullptr) << c.url;
    EXPECT_EQ(store->backend(), "sqlite");
    EXPECT_EQ(store->schema_version(), LatestSqliteSchemaVersion());
    EXPECT_TRUE(fs::exists(c.file)) << c.url;
  }
}

TEST_F(SqliteStoreTest, InMemoryDatabaseWorksAndIsPrivate) {
  auto first = OpenOrDie("sqlite::memory:");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->schema_version(), LatestSqliteSchemaVersion());
  Alert a = MakeAlert("mem1", 1);
  ASSERT_TRUE(first->PutAlerts({&a, 1}));
  EXPECT_EQ(first->CountAlerts().value_or(0), 1u);
  auto second = OpenOrDie("sqlite::memory:");
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->CountAlerts().value_or(99), 0u);
  EXPECT_FALSE(fs::exists(":memory:"));
}

TEST_F(SqliteStoreTest, CreatesMissingParentDirectories) {
  fs::path nested = dir_ / "var" / "lib" / "aegis" / "store.db";
  auto store = OpenOrDie("sqlite:" + nested.string());
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(fs::exists(nested));
}

TEST_F(SqliteStoreTest, PostgresUrlsGiveAClearErrorWithoutThePassword) {
  for (std::string url : {"postgres://aegis:s3cret@db.nhs.example/aegis",
                          "postgresql://aegis:s3cret@db.nhs.example:5432/aegis"}) {
    auto store = Open(url);
    ASSERT_FALSE(store) << url;
    EXPECT_EQ(store.error().reason, "PostgreSQL backend is not available in this build yet");
    EXPECT_EQ(store.error().ToString().find("s3cret"), std::string::npos)
        << store.error().ToString();
    EXPECT_NE(store.error().ToString().find("db.nhs.example"), std::string::npos);
  }
}

TEST_F(SqliteStoreTest, RejectsUnknownSchemesAndEmptyUrls) {
  auto mysql = Open("mysql://root@localhost/aegis");
  ASSERT_FALSE(mysql);
  EXPECT_NE(mysql.error().reason.find("unknown store URL scheme 'mysql'"), std::string::npos)
      << mysql.error().reason;
  EXPECT_FALSE(Open(""));
  EXPECT_FALSE(Open("sqlite:"));
  EXPECT_FALSE(Open("sqlite://"));
}

TEST_F(SqliteStoreTest, UsesWalJournal) {
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  Alert a = MakeAlert("wal1", 1);
  ASSERT_TRUE(store->PutAlerts({&a, 1}));
  EXPECT_TRUE(fs::exists(path_.string() + "-wal"));
  RawDb raw(path_);
  EXPECT_EQ(raw.One("PRAGMA journal_mode"), "wal");  // WAL is a property of the file
}

TEST_F(SqliteStoreTest, ReportsAnUnopenableDatabase) {
  fs::path not_a_db = dir_ / "garbage.db";
  {
    std::FILE* f = std::fopen(not_a_db.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::string junk(8192, 'x');
    std::fwrite(junk.data(), 1, junk.size(), f);
    std::fclose(f);
  }
  auto store = Open(not_a_db.string());
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().where, not_a_db.string());
}

// ---------------------------------------------------------------------------
// Migrations

TEST(SqliteMigrationsTest, ListIsNumberedFromOneWithoutGaps) {
  auto migrations = SqliteMigrations();
  ASSERT_FALSE(migrations.empty());
  for (size_t i = 0; i < migrations.size(); ++i) {
    EXPECT_EQ(migrations[i].version, static_cast<int>(i) + 1);
    EXPECT_FALSE(migrations[i].description.empty());
  }
  EXPECT_EQ(LatestSqliteSchemaVersion(), migrations.back().version);
}

TEST_F(SqliteStoreTest, AppliesMigrationsOnceAndRecordsThem) {
  { ASSERT_NE(OpenDb(), nullptr); }
  RawDb raw(path_);
  auto versions = raw.Column("SELECT version FROM schema_migrations ORDER BY version");
  auto descriptions = raw.Column("SELECT description FROM schema_migrations ORDER BY version");
  auto applied = raw.Column("SELECT applied_at FROM schema_migrations ORDER BY version");
  auto migrations = SqliteMigrations();
  ASSERT_EQ(versions.size(), migrations.size());
  for (size_t i = 0; i < migrations.size(); ++i) {
    EXPECT_EQ(versions[i], std::to_string(migrations[i].version));
    EXPECT_EQ(descriptions[i], migrations[i].description);
    EXPECT_EQ(applied[i].size(), std::string("2025-01-01T00:00:00.000Z").size()) << applied[i];
  }
  auto tables = raw.Column("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
  EXPECT_EQ(tables, (std::vector<std::string>{"alerts", "indicators", "schema_migrations"}));
  auto indexes = raw.Column(
      "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name");
  EXPECT_EQ(indexes,
            (std::vector<std::string>{"alerts_rule", "alerts_time_ns", "indicators_source"}));
}

TEST_F(SqliteStoreTest, ReopeningIsIdempotentAndKeepsData) {
  Alert a = MakeAlert("keep1", 5);
  {
    auto store = OpenDb();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->PutAlerts({&a, 1}));
  }
  std::string first_applied = RawDb(path_).One("SELECT group_concat(applied_at) FROM schema_migrations");
  for (int i = 0; i < 3; ++i) {
    auto store = OpenDb();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->schema_version(), LatestSqliteSchemaVersion());
    EXPECT_EQ(store->CountAlerts().value_or(0), 1u);
  }
  RawDb raw(path_);
  EXPECT_EQ(raw.One("SELECT COUNT(*) FROM schema_migrations"),
            std::to_string(SqliteMigrations().size()));
  EXPECT_EQ(raw.One("SELECT group_concat(applied_at) FROM schema_migrations"), first_applied);
}

TEST_F(SqliteStoreTest, RefusesADatabaseFromANewerBuild) {
  { ASSERT_NE(OpenDb(), nullptr); }
  const int future = LatestSqliteSchemaVersion() + 1;
  RawDb(path_).Exec("INSERT INTO schema_migrations VALUES (" + std::to_string(future) +
                    ", 'from the future', '2099-01-01T00:00:00.000Z')");
  auto store = Open(path_.string());
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().where, path_.string());
  EXPECT_NE(store.error().reason.find("schema version " + std::to_string(future) +
                                      " is newer than this build"),
            std::string::npos)
      << store.error().reason;
}

TEST_F(SqliteStoreTest, ANewMigrationIsOneEntryAndAppliesToAnExistingDatabase) {
  {
    auto store = OpenDb();
    ASSERT_NE(store, nullptr);
    Alert a = MakeAlert("old1", 1);
    ASSERT_TRUE(store->PutAlerts({&a, 1}));
  }
  std::vector<Migration> next(SqliteMigrations().begin(), SqliteMigrations().end());
  const int version = LatestSqliteSchemaVersion() + 1;
  next.push_back({version, "alert notes", "ALTER TABLE alerts ADD COLUMN note TEXT NOT NULL DEFAULT '';"
                                          "CREATE INDEX alerts_note ON alerts(note);"});
  RawDb raw(path_);
  auto applied = internal::ApplyMigrations(raw.get(), next, "test");
  ASSERT_TRUE(applied) << applied.error().ToString();
  EXPECT_EQ(*applied, version);
  EXPECT_EQ(raw.One("SELECT note = '' FROM alerts WHERE id = 'old1'"), "1");
  EXPECT_EQ(raw.One("SELECT description FROM schema_migrations WHERE version = " +
                    std::to_string(version)),
            "alert notes");
  // Applying the same list again changes nothing.
  auto again = internal::ApplyMigrations(raw.get(), next, "test");
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, version);
  EXPECT_EQ(raw.One("SELECT COUNT(*) FROM schema_migrations"), std::to_string(next.size()));
}

TEST_F(SqliteStoreTest, AFailingMigrationRollsBackEntirely) {
  { ASSERT_NE(OpenDb(), nullptr); }
  std::vector<Migration> next(SqliteMigrations().begin(), SqliteMigrations().end());
  next.push_back({LatestSqliteSchemaVersion() + 1, "broken",
                  "CREATE TABLE half_done (x INTEGER); INSERT INTO no_such_table VALUES (1);"});
  RawDb raw(path_);
  auto applied = internal::ApplyMigrations(raw.get(), next, "test");
  ASSERT_FALSE(applied);
  EXPECT_NE(applied.error().reason.find("broken"), std::string::npos) << applied.error().reason;
  EXPECT_EQ(raw.One("SELECT COUNT(*) FROM sqlite_master WHERE name = 'half_done'"), "0");
  EXPECT_EQ(raw.One("SELECT MAX(version) FROM schema_migrations"),
            std::to_string(LatestSqliteSchemaVersion()));
}

TEST_F(SqliteStoreTest, RejectsAMisnumberedMigrationList) {
  RawDb raw(path_);
  const Migration gap[] = {{1, "one", "CREATE TABLE a (x);"}, {3, "three", "CREATE TABLE b (x);"}};
  auto applied = internal::ApplyMigrations(raw.get(), gap, "test");
  ASSERT_FALSE(applied);
  EXPECT_EQ(raw.One("SELECT COUNT(*) FROM sqlite_master WHERE name IN ('a', 'b')"), "0");
}

// ---------------------------------------------------------------------------
// Alerts

TEST_F(SqliteStoreTest, AlertsRoundTripEveryFieldExactly) {
  Alert rich;
  rich.id = "9f86d081884c7d659a2feaa0c55ad015";
  rich.time_ns = 1'700'000'000'123'456'789;
  rich.event_time_ns = -42;  // before the epoch: still exact
  rich.severity = Severity::kCritical;
  rich.tlp = Tlp::kAmberStrict;
  rich.detector = "indicator";
  rich.rule = "xn--bcher-kva.example";
  rich.title = std::string("Match \"bücher\" — 東京 \\ path 'quoted' 🚑\n\ttab") + '\0' + "nul";
  rich.indicator_type = "domain";
  rich.indicator_source = "misp/NHS-CERT \"shared\"";
  rich.confidence = 100;
  rich.tags = {"malware:emotet", "", "ünïcödé", "quote\"back\\slash", "ctl\x01\x1f",
               "latin1-\xe9-invalid", std::string("nul\0inside", 10)};
  rich.matches = {
      {"dns.question.name", "query", "www.bücher.example", "bücher.example", "subdomain"},
      {"url.original", "uri", "/a?b=\"c\"&d=\xff\xfe", "", "prefix"},
      {"", "", "", "", ""},
  };
  rich.event_source = "/var/log/zeek/dns.log.gz:dns.log";
  rich.event_line = std::numeric_limits<uint64_t>::max();
  rich.event_offset = (uint64_t{1} << 63) + 5;
  rich.event_format = EventFormat::kSuricataEve;
  rich.event_json = R"({"raw":"line with \"quotes\" and \u00e9","n":[1,2]})";
  rich.count = std::numeric_limits<uint32_t>::max();
  rich.source_ip = "2001:db8::1";
  rich.destination_ip = "192.0.2.44";

  Alert plain;  // defaults everywhere, empty strings and lists
  plain.id = "0";

  std::vector<Alert> alerts = {rich, plain};
  // Every event format and TLP survive.
  for (int f = 0; f <= static_cast<int>(EventFormat::kCef); ++f) {
    Alert a = MakeAlert("fmt" + std::to_string(f), 100 + f);
    a.event_format = static_cast<EventFormat>(f);
    a.tlp = static_cast<Tlp>(f % 5);
    a.severity = static_cast<Severity>(f % 5);
    alerts.push_back(a);
  }
  {
    auto store = OpenDb();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->PutAlerts(alerts));
  }
  auto store = OpenDb();  // read back through a fresh connection
  ASSERT_NE(store, nullptr);
  for (const Alert& want : alerts) {
    auto got = store->GetAlert(want.id);
    ASSERT_TRUE(got) << got.error().ToString();
    ASSERT_TRUE(got->has_value()) << want.id;
    ExpectSameAlert(want, **got);
  }
  auto listed = store->ListAlerts(Limit(0));
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), alerts.size());
  ExpectSameAlert(rich, listed->front());  // newest first
}

TEST_F(SqliteStoreTest, PutAlertsReplacesAnAlertWithTheSameId) {
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  Alert first = MakeAlert("dup", 10);
  first.count = 3;
  ASSERT_TRUE(store->PutAlerts({&first, 1}));
  Alert second = MakeAlert("dup", 20, Severity::kHigh);
  second.count = 2;
  second.title = "second";
  second.tags = {};
  ASSERT_TRUE(store->PutAlerts({&second, 1}));
  EXPECT_EQ(store->CountAlerts().value_or(0), 1u);
  auto got = store->GetAlert("dup");
  ASSERT_TRUE(got && *got);
  ExpectSameAlert(second, **got);  // replaced, count not added
  EXPECT_EQ((*got)->count, 2u);

  // Within one batch the later copy wins too.
  Alert a = MakeAlert("batch", 1);
  Alert b = MakeAlert("batch", 2);
  b.title = "later";
  std::vector<Alert> batch = {a, b};
  ASSERT_TRUE(store->PutAlerts(batch));
  EXPECT_EQ(store->GetAlert("batch").value()->title, "later");
  EXPECT_EQ(store->CountAlerts().value_or(0), 2u);
}

TEST_F(SqliteStoreTest, ListAlertsFiltersAndOrdersNewestFirst) {
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  std::vector<Alert> alerts = {
      MakeAlert("a", 100, Severity::kLow, "evil.example"),
      MakeAlert("b", 200, Severity::kHigh, "evil.example"),
      MakeAlert("c", 300, Severity::kCritical, "bad.example"),
      MakeAlert("d", 400, Severity::kInformational, "bad.example", "sigma"),
      MakeAlert("e", 500, Severity::kMedium, "evil.example", "sigma"),
      MakeAlert("f", 300, Severity::kHigh, "other.example"),  // same time as c
  };
  ASSERT_TRUE(store->PutAlerts(alerts));
  using V = std::vector<std::string>;
  auto list = [&](const AlertQuery& q) {
    auto r = store->ListAlerts(q);
    EXPECT_TRUE(r) << r.error().ToString();
    return r ? Ids(*r) : V{"<error>"};
  };
  EXPECT_EQ(list({}), (V{"e", "d", "f", "c", "b", "a"}));  // ties broken by id, descending
  EXPECT_EQ(list(Limit(2)), (V{"e", "d"}));
  EXPECT_EQ(list(Limit(0)).size(), 6u);
  EXPECT_EQ(list(Query([](AlertQuery& q) { q.since_ns = 300; })), (V{"e", "d", "f", "c"}));
  EXPECT_EQ(list(Query([](AlertQuery& q) { q.since_ns = 501; })), V{});
  EXPECT_EQ(list(Query([](AlertQuery& q) { q.min_severity = Severity::kHigh; })), (V{"f", "c", "b"}));
  EXPECT_EQ(list(Query([](AlertQuery& q) { q.rule = "bad.example"; })), (V{"d", "c"}));
  EXPECT_EQ(list(Query([](AlertQuery& q) { q.detector = "sigma"; })), (V{"e", "d"}));
  AlertQuery combined;
  combined.since_ns = 150;
  combined.min_severity = Severity::kMedium;
  combined.rule = "evil.example";
  EXPECT_EQ(list(combined), (V{"e", "b"}));
  combined.detector = "indicator";
  combined.limit = 1;
  EXPECT_EQ(list(combined), (V{"b"}));
  EXPECT_EQ(list(Query([](AlertQuery& q) { q.rule = "nothing.example"; })), V{});
  EXPECT_EQ(store->CountAlerts().value_or(0), 6u);
}

TEST_F(SqliteStoreTest, GetAlertByIdOrUniquePrefix) {
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  std::vector<Alert> alerts = {MakeAlert("abc123", 1), MakeAlert("abd456", 2),
                               MakeAlert("abd457", 3), MakeAlert("ff", 4),
                               MakeAlert("ff00", 5)};
  ASSERT_TRUE(store->PutAlerts(alerts));

  auto exact = store->GetAlert("abd456");
  ASSERT_TRUE(exact && *exact);
  EXPECT_EQ((*exact)->id, "abd456");

  auto unique = store->GetAlert("abc");
  ASSERT_TRUE(unique && *unique);
  EXPECT_EQ((*unique)->id, "abc123");
  ExpectSameAlert(alerts[0], **unique);

  auto ambiguous = store->GetAlert("abd");
  ASSERT_FALSE(ambiguous);
  EXPECT_NE(ambiguous.error().reason.find("ambiguous id prefix"), std::string::npos);
  auto very_ambiguous = store->GetAlert("a");
  EXPECT_FALSE(very_ambiguous);

  // An id that is also a prefix of another id is an exact match, not ambiguous.
  auto exact_and_prefix = store->GetAlert("ff");
  ASSERT_TRUE(exact_and_prefix && *exact_and_prefix);
  EXPECT_EQ((*exact_and_prefix)->id, "ff");

  auto missing = store->GetAlert("abe");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
  auto past_end = store->GetAlert("zzz");
  ASSERT_TRUE(past_end);
  EXPECT_FALSE(past_end->has_value());
  EXPECT_FALSE(store->GetAlert(""));
}

TEST_F(SqliteStoreTest, AFailedBatchStoresNothing) {
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  RawDb(path_).Exec(
      "CREATE TRIGGER poison_alert BEFORE INSERT ON alerts WHEN NEW.id = 'poison' "
      "BEGIN SELECT RAISE(ABORT, 'poisoned alert'); END;"
      "CREATE TRIGGER poison_indicator BEFORE INSERT ON indicators WHEN NEW.value = 'poison' "
      "BEGIN SELECT RAISE(ABORT, 'poisoned indicator'); END;");
  std::vector<Alert> alerts = {MakeAlert("good1", 1), MakeAlert("poison", 2), MakeAlert("good2", 3)};
  auto put = store->PutAlerts(alerts);
  ASSERT_FALSE(put);
  EXPECT_NE(put.error().reason.find("poisoned alert"), std::string::npos) << put.error().reason;
  EXPECT_EQ(store->CountAlerts().value_or(99), 0u);

  std::vector<Indicator> indicators = {MakeIndicator(IndicatorType::kDomain, "ok.example"),
                                       MakeIndicator(IndicatorType::kDomain, "poison")};
  ASSERT_FALSE(store->PutIndicators(indicators));
  EXPECT_EQ(store->CountIndicators().value().total, 0u);

  // The store is still usable afterwards.
  alerts.erase(alerts.begin() + 1);
  ASSERT_TRUE(store->PutAlerts(alerts));
  EXPECT_EQ(store->CountAlerts().value_or(0), 2u);
}

TEST_F(SqliteStoreTest, ReportsCorruptJsonColumnsAsErrors) {
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  Alert a = MakeAlert("corrupt", 1);
  ASSERT_TRUE(store->PutAlerts({&a, 1}));
  RawDb(path_).Exec("UPDATE alerts SET matches = '[{\"field\": 1}]' WHERE id = 'corrupt'");
  auto got = store->GetAlert("corrupt");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().field, "matches");
  EXPECT_NE(got.error().reason.find("corrupt"), std::string::npos) << got.error().reason;
  RawDb(path_).Exec("UPDATE alerts SET matches = '[]', tags = '[\"open' WHERE id = 'corrupt'");
  auto listed = store->ListAlerts({});
  ASSERT_FALSE(listed);
  EXPECT_EQ(listed.error().field, "tags");
}

// ---------------------------------------------------------------------------
// Indicators

TEST_F(SqliteStoreTest, IndicatorsRoundTripEveryFieldExactly) {
  std::vector<Indicator> indicators;
  for (int t = 0; t <= static_cast<int>(IndicatorType::kEmail); ++t) {
    Indicator i = MakeIndicator(static_cast<IndicatorType>(t), "value-" + std::to_string(t));
    i.meta.confidence = t * 10;
    i.meta.tlp = static_cast<Tlp>(t % 5);
    i.meta.severity = static_cast<Severity>(t % 5);
    i.meta.tags = {"tag-" + std::to_string(t)};
    i.meta.first_seen_ns = 1'600'000'000'000'000'000 + t;
    i.meta.last_seen_ns = 1'700'000'000'000'000'000 + t;
    i.meta.valid_until_ns = t == 0 ? 0 : std::numeric_limits<int64_t>::max() - t;
    i.meta.description = "described " + std::to_string(t);
    indicators.push_back(i);
  }
  Indicator odd = MakeIndicator(IndicatorType::kUrl, "http://bücher.example/a?q=\"x\"&y='z'",
                                "feeds/“curly” \\ source");
  odd.meta.tags = {"ünïcödé", "", "with\"quote", "bad-\xc3\x28-utf8", "🚑"};
  odd.meta.description = "line one\nline two\t\"quoted\" \\ 東京";
  odd.meta.confidence = 0;
  odd.meta.first_seen_ns = std::numeric_limits<int64_t>::min();
  indicators.push_back(odd);

  {
    auto store = OpenDb();
    ASSERT_NE(store, nullptr);
    auto put = store->PutIndicators(indicators);
    ASSERT_TRUE(put) << put.error().ToString();
    EXPECT_EQ(*put, indicators.size());
  }
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  auto stored = AllIndicators(*store);
  ASSERT_EQ(stored.size(), indicators.size());
  for (const Indicator& want : indicators) {
    auto it = std::find_if(stored.begin(), stored.end(), [&](const Indicator& got) {
      return got.type == want.type && got.value == want.value;
    });
    ASSERT_NE(it, stored.end()) << want.value;
    EXPECT_EQ(it->meta, want.meta) << want.value;
  }
}

TEST_F(SqliteStoreTest, PutIndicatorsUpsertsByTypeAndValue) {
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  Indicator first = MakeIndicator(IndicatorType::kDomain, "evil.example", "feed-a");
  first.meta.confidence = 10;
  first.meta.tags = {"old"};
  ASSERT_TRUE(store->PutIndicators({&first, 1}));

  Indicator replacement = MakeIndicator(IndicatorType::kDomain, "evil.example", "feed-b");
  replacement.meta.confidence = 90;
  replacement.meta.description = "newer";
  Indicator other_type = MakeIndicator(IndicatorType::kUrl, "evil.example", "feed-a");
  Indicator dup_early = MakeIndicator(IndicatorType::kIpv4, "192.0.2.1", "early");
  Indicator dup_late = MakeIndicator(IndicatorType::kIpv4, "192.0.2.1", "late");
  std::vector<Indicator> batch = {replacement, other_type, dup_early, dup_late};
  auto put = store->PutIndicators(batch);
  ASSERT_TRUE(put);
  EXPECT_EQ(*put, 4u);  // rows written, counting the replacements

  auto stored = AllIndicators(*store);
  ASSERT_EQ(stored.size(), 3u);
  for (const Indicator& i : stored) {
    switch (i.type) {
      case IndicatorType::kDomain: EXPECT_EQ(i.meta, replacement.meta); break;
      case IndicatorType::kUrl: EXPECT_EQ(i.meta, other_type.meta); break;
      case IndicatorType::kIpv4: EXPECT_EQ(i.meta.source, "late"); break;
      default: ADD_FAILURE() << "unexpected indicator " << i.value;
    }
  }
  EXPECT_EQ(store->PutIndicators({}).value_or(99), 0u);
}

TEST_F(SqliteStoreTest, CountsIndicatorsByTypeAndTopSources) {
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  std::vector<Indicator> indicators;
  // 25 sources: source-NN holds NN + 1 domains, so the top 20 are source-24 .. source-05.
  for (int s = 0; s < 25; ++s) {
    char name[16];
    std::snprintf(name, sizeof name, "source-%02d", s);
    for (int n = 0; n <= s; ++n) {
      indicators.push_back(MakeIndicator(IndicatorType::kDomain,
                                         std::to_string(s) + "-" + std::to_string(n) + ".example",
                                         name));
    }
  }
  for (int n = 0; n < 7; ++n) {
    indicators.push_back(
        MakeIndicator(IndicatorType::kIpv4, "198.51.100." + std::to_string(n), "ips"));
  }
  indicators.push_back(MakeIndicator(IndicatorType::kSha256, std::string(64, 'a'), "hashes"));
  ASSERT_TRUE(store->PutIndicators(indicators));

  auto counts = store->CountIndicators();
  ASSERT_TRUE(counts) << counts.error().ToString();
  EXPECT_EQ(counts->total, 325u + 7u + 1u);
  using Pairs = std::vector<std::pair<std::string, uint64_t>>;
  EXPECT_EQ(counts->by_type, (Pairs{{"domain", 325}, {"ipv4", 7}, {"sha256", 1}}));
  ASSERT_EQ(counts->by_source.size(), 20u);
  EXPECT_EQ(counts->by_source.front(), (std::pair<std::string, uint64_t>{"source-24", 25}));
  EXPECT_EQ(counts->by_source[1], (std::pair<std::string, uint64_t>{"source-23", 24}));
  // Ties (source-06 and "ips" both have 7) are ordered by name.
  EXPECT_EQ(counts->by_source[18], (std::pair<std::string, uint64_t>{"ips", 7}));
  EXPECT_EQ(counts->by_source[19], (std::pair<std::string, uint64_t>{"source-06", 7}));

  auto empty = OpenOrDie("sqlite::memory:")->CountIndicators();
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->total, 0u);
  EXPECT_TRUE(empty->by_type.empty());
  EXPECT_TRUE(empty->by_source.empty());
}

TEST_F(SqliteStoreTest, DeletesIndicatorsFromOneSource) {
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  std::vector<Indicator> indicators = {
      MakeIndicator(IndicatorType::kDomain, "a.example", "gone"),
      MakeIndicator(IndicatorType::kDomain, "b.example", "gone"),
      MakeIndicator(IndicatorType::kIpv4, "192.0.2.7", "gone"),
      MakeIndicator(IndicatorType::kDomain, "c.example", "kept"),
      MakeIndicator(IndicatorType::kDomain, "d.example", "gone/sub"),  // not a prefix match
  };
  ASSERT_TRUE(store->PutIndicators(indicators));
  auto deleted = store->DeleteIndicatorsFromSource("gone");
  ASSERT_TRUE(deleted);
  EXPECT_EQ(*deleted, 3u);
  EXPECT_EQ(store->DeleteIndicatorsFromSource("gone").value_or(99), 0u);
  auto left = AllIndicators(*store);
  ASSERT_EQ(left.size(), 2u);
  for (const Indicator& i : left) EXPECT_NE(i.meta.source, "gone");
}

// ---------------------------------------------------------------------------
// Concurrency

TEST_F(SqliteStoreTest, ReaderSeesASnapshotWhileAWriterCommits) {
  auto writer = OpenDb();
  auto reader = OpenDb();
  ASSERT_NE(writer, nullptr);
  ASSERT_NE(reader, nullptr);
  std::vector<Indicator> initial;
  for (int n = 0; n < 1000; ++n) {
    initial.push_back(MakeIndicator(IndicatorType::kDomain, Cat({"d", std::to_string(n), ".example"})));
  }
  ASSERT_TRUE(writer->PutIndicators(initial));

  // While the reader is in the middle of its scan, the writer commits more rows.
  // Under WAL the commit succeeds at once and the scan keeps its snapshot.
  bool wrote = false;
  uint64_t seen = 0;
  auto visited = reader->ForEachIndicator([&](const Indicator&) {
    if (++seen != 10) return;
    std::vector<Indicator> more;
    for (int n = 0; n < 500; ++n) {
      more.push_back(MakeIndicator(IndicatorType::kIpv4, "10.0.1." + std::to_string(n)));
    }
    auto put = writer->PutIndicators(more);
    EXPECT_TRUE(put) << put.error().ToString();
    Alert a = MakeAlert("during-scan", 1);
    EXPECT_TRUE(writer->PutAlerts({&a, 1}));
    wrote = put.has_value();
  });
  ASSERT_TRUE(visited) << visited.error().ToString();
  EXPECT_TRUE(wrote);
  EXPECT_EQ(*visited, 1000u);  // the snapshot from before the write
  EXPECT_EQ(reader->CountIndicators().value().total, 1500u);  // the next read sees it
  EXPECT_EQ(reader->CountAlerts().value_or(0), 1u);
}

TEST_F(SqliteStoreTest, ConcurrentReaderAndWriterThreads) {
  auto writer = OpenDb();
  auto reader = OpenDb();
  ASSERT_NE(writer, nullptr);
  ASSERT_NE(reader, nullptr);
  constexpr int kBatches = 60;
  constexpr int kBatchSize = 50;
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::string reader_failure;

  std::thread reading([&] {
    uint64_t last = 0;
    while (!done.load()) {
      auto count = reader->CountAlerts();
      if (!count) {
        reader_failure = count.error().ToString();
        return;
      }
      // Batches are atomic: a reader never sees half of one, nor goes back.
      if (*count % kBatchSize != 0 || *count < last) {
        reader_failure = "saw " + std::to_string(*count) + " after " + std::to_string(last);
        return;
      }
      last = *count;
      auto recent = reader->ListAlerts(Limit(10));
      if (!recent) {
        reader_failure = recent.error().ToString();
        return;
      }
      ++reads;
    }
  });
  for (int b = 0; b < kBatches; ++b) {
    std::vector<Alert> batch;
    for (int n = 0; n < kBatchSize; ++n) {
      batch.push_back(MakeAlert(Cat({"w", std::to_string(b), "-", std::to_string(n)}), b * 100 + n));
    }
    auto put = writer->PutAlerts(batch);
    EXPECT_TRUE(put) << put.error().ToString();
    if (!put) break;  // still join the reader below
  }
  done = true;
  reading.join();
  EXPECT_EQ(reader_failure, "");
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(reader->CountAlerts().value_or(0), uint64_t{kBatches * kBatchSize});
}

TEST_F(SqliteStoreTest, OneStoreIsSafeToShareBetweenThreads) {
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < 50; ++n) {
        Alert a = MakeAlert(Cat({"t", std::to_string(t), "-", std::to_string(n)}), n);
        if (!store->PutAlerts({&a, 1}) || !store->ListAlerts(Limit(5))) ++failures;
        Indicator i = MakeIndicator(IndicatorType::kDomain,
                                    std::to_string(t) + "-" + std::to_string(n) + ".example");
        if (!store->PutIndicators({&i, 1}) || !store->CountIndicators()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store->CountAlerts().value_or(0), 200u);
  EXPECT_EQ(store->CountIndicators().value().total, 200u);
}

// ---------------------------------------------------------------------------
// Bulk load

TEST_F(SqliteStoreTest, BulkInsertOfManyIndicators) {
  // AEGIS_STORE_BULK_COUNT=1800000 measures a full feed set by hand.
  size_t total = 200'000;
  if (const char* env = std::getenv("AEGIS_STORE_BULK_COUNT")) total = std::strtoull(env, nullptr, 10);

  // Shaped like loaded feeds: a few hundred sources, each with one shared
  // metadata block, and a mix of domains, addresses and hashes.
  std::vector<Indicator> indicators;
  indicators.reserve(total);
  IndicatorMeta meta;
  for (size_t n = 0; n < total; ++n) {
    if (n % 5000 == 0) {
      meta.source = "maltrail/malware/family-" + std::to_string(n / 5000);
      meta.tags = {"malware:family-" + std::to_string(n / 5000), "c2"};
      meta.confidence = 70;
      meta.description = "bulk test";
    }
    Indicator& i = indicators.emplace_back();
    i.meta = meta;
    switch (n % 4) {
      case 0:
      case 1:
        i.type = IndicatorType::kDomain;
        i.value = "host" + std::to_string(n * 7919 % 1'000'003) + "-" + std::to_string(n) + ".example";
        break;
      case 2:
        i.type = IndicatorType::kIpv4;
        i.value = std::to_string(n >> 24 & 255) + "." + std::to_string(n >> 16 & 255) + "." +
                  std::to_string(n >> 8 & 255) + "." + std::to_string(n & 255);
        break;
      default: {
        i.type = IndicatorType::kSha256;
        char hex[65];
        std::snprintf(hex, sizeof hex, "%016zx%016zx%016zx%016zx", static_cast<size_t>(n * 0x9E3779B97F4A7C15ull),
                      n, ~n, n * 31);
        i.value = hex;
      }
    }
  }
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  auto start = std::chrono::steady_clock::now();
  auto put = store->PutIndicators(indicators);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(put) << put.error().ToString();
  EXPECT_EQ(*put, total);
  std::printf("[ bulk     ] PutIndicators: %zu indicators in %.2f s (%.0f/s)\n", total, seconds,
              total / seconds);

  start = std::chrono::steady_clock::now();
  uint64_t streamed_bytes = 0;
  auto streamed = store->ForEachIndicator([&](const Indicator& i) { streamed_bytes += i.value.size(); });
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(streamed);
  EXPECT_EQ(*streamed, total);
  EXPECT_GT(streamed_bytes, total * 7);
  std::printf("[ bulk     ] ForEachIndicator: %zu indicators in %.2f s (%.0f/s)\n", total,
              seconds, total / seconds);

  // A reload of the same feeds is all upserts and leaves the count unchanged.
  start = std::chrono::steady_clock::now();
  ASSERT_TRUE(store->PutIndicators(indicators));
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ bulk     ] PutIndicators again (all upserts): %.2f s (%.0f/s)\n", seconds,
              total / seconds);
  auto counts = store->CountIndicators();
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->total, total);
  EXPECT_EQ(store->DeleteIndicatorsFromSource("maltrail/malware/family-0").value_or(0),
            std::min<size_t>(total, 5000));
}

}  // namespace
}  // namespace aegis::store
