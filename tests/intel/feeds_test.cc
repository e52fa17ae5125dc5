// Tests for feed import, scheduling and export (intel/feeds.h): real files in a temp
// dir, file:// URLs, a real SQLite STIX store, maltrail lists from ../shared/data.
#include "intel/feeds.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "../common/test_util.h"
#include "intel/loaders.h"
#include "intel/stix_object.h"
#include "intel/stix_store.h"

namespace aegis::intel {
namespace {

namespace fs = std::filesystem;
using aegis::testing::WaitFor;

constexpr std::string_view kPlainFeed =
    "# a plain list with junk\n"
    "evil-domain.example.com\n"
    "45.9.20.7\n"
    "not a domain at all\n"
    "http://phish.example.net/login.php\n"
    "0.0.0.0\n"
    "44d88612fea8a8f36de82e1278abb02f\n"
    "192.168.1.1\n";

class FeedsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("aegis-feeds-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_ = (dir_ / "aegis.db").string();
    auto store = StixStore::Open(db_);
    ASSERT_TRUE(store) << store.error().ToString();
    store_ = std::move(*store);
    auto importer = FeedImporter::Open(db_, store_.get());
    ASSERT_TRUE(importer) << importer.error().ToString();
    importer_ = std::move(*importer);
  }
  void TearDown() override {
    importer_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  std::string Write(const std::string& name, std::string_view content) {
    fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    // Atomically (a scheduler thread may be reading the file).
    fs::path temporary = path;
    temporary += ".tmp";
    std::ofstream(temporary, std::ios::binary | std::ios::trunc) << content;
    fs::rename(temporary, path);
    return path.string();
  }

  FeedConfig Feed(std::string name, std::string url, FeedFormat format = FeedFormat::kAuto) {
    FeedConfig feed;
    feed.name = std::move(name);
    feed.url = std::move(url);
    feed.format = format;
    feed.collection = "feed-test";
    feed.producer_org = "ncc";
    return feed;
  }

  FeedRunReport Run(const FeedConfig& feed, bool force = false) {
    auto report = importer_->Run(feed, {.force = force});
    EXPECT_TRUE(report) << report.error().ToString();
    return report ? *report : FeedRunReport{};
  }

  // Latest versions of every object in a collection.
  std::vector<StoredObject> All(const std::string& collection,
                                const std::string& type = "indicator") {
    std::vector<StoredObject> out;
    auto found = store_->GetCollection(collection);
    if (!found || !*found) return out;
    ObjectQuery query;
    query.collection_id = (*found)->id;
    if (!type.empty()) query.types = {type};
    while (true) {
      auto page = store_->Query(query);
      EXPECT_TRUE(page) << page.error().ToString();
      if (!page) break;
      out.insert(out.end(), page->objects.begin(), page->objects.end());
      if (!page->more) break;
      query.after = page->next;
    }
    return out;
  }

  // "type value" pairs of the indicators in a collection, read back from patterns.
  std::set<std::string> Values(const std::string& collection) {
    std::set<std::string> values;
    for (const StoredObject& object : All(collection)) {
      auto at = object.json.find("\"pattern\":");
      EXPECT_NE(at, std::string::npos);
      size_t start = object.json.find('"', at + 10) + 1;
      size_t end = object.json.find("\",", start);
      std::string pattern = object.json.substr(start, end - start);
      std::string unescaped;
      for (size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] == '\\' && i + 1 < pattern.size()) ++i;
        unescaped.push_back(pattern[i]);
      }
      auto comparisons = internal::ParseStixPattern(unescaped);
      EXPECT_TRUE(comparisons) << unescaped;
      if (!comparisons) continue;
      for (const auto& c : *comparisons) {
        auto vetted = VetValue(c.value, internal::StixPathType(c.path), true);
        EXPECT_TRUE(vetted) << c.value;
        if (vetted)
          values.insert(std::string(IndicatorTypeName(vetted->type)) + " " + vetted->value);
      }
    }
    return values;
  }

  fs::path dir_;
  std::string db_;
  std::unique_ptr<StixStore> store_;
  std::unique_ptr<FeedImporter> importer_;
};

TEST(FeedIds, UuidV5MatchesTheRfcExample) {
  // RFC 9562 / Python uuid.uuid5(uuid.NAMESPACE_DNS, "python.org").
  EXPECT_EQ(UuidV5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "python.org"),
            "886313e1-3b8a-5372-9b90-0c9aee199e5d");
  std::string v4 = UuidV4();
  EXPECT_EQ(v4.size(), 36u);
  EXPECT_EQ(v4[14], '4');
  EXPECT_NE(v4, UuidV4());
}

TEST(FeedIds, DeterministicPerFeedTypeAndValue) {
  std::string a = FeedIndicatorId("urlhaus", IndicatorType::kDomain, "evil.example.com");
  EXPECT_EQ(a, FeedIndicatorId("urlhaus", IndicatorType::kDomain, "evil.example.com"));
  EXPECT_TRUE(a.starts_with("indicator--"));
  EXPECT_NE(a, FeedIndicatorId("other", IndicatorType::kDomain, "evil.example.com"));
  EXPECT_NE(a, FeedIndicatorId("urlhaus", IndicatorType::kUrl, "evil.example.com"));
  EXPECT_NE(a, FeedIndicatorId("urlhaus", IndicatorType::kDomain, "evil.example.org"));
}

TEST(FeedIds, PatternsPerType) {
  EXPECT_EQ(StixPatternFor(IndicatorType::kIpv4, "198.51.100.7"),
            "[ipv4-addr:value = '198.51.100.7']");
  EXPECT_EQ(StixPatternFor(IndicatorType::kCidr, "2001:db8::/32"),
            "[ipv6-addr:value = '2001:db8::/32']");
  EXPECT_EQ(StixPatternFor(IndicatorType::kDomain, "a.example"),
            "[domain-name:value = 'a.example']");
  EXPECT_EQ(StixPatternFor(IndicatorType::kSha256, "ab"), "[file:hashes.'SHA-256' = 'ab']");
  EXPECT_EQ(StixPatternFor(IndicatorType::kEmail, "x@a.example"),
            "[email-addr:value = 'x@a.example']");
  EXPECT_EQ(StixPatternFor(IndicatorType::kUrl, "http://a.example/it's"),
            "[url:value = 'http://a.example/it\\'s']");
  // Every pattern parses back to its value.
  auto parsed =
      internal::ParseStixPattern(StixPatternFor(IndicatorType::kUrl, "http://a.example/it's\\x"));
  ASSERT_TRUE(parsed) << parsed.error();
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ((*parsed)[0].value, "http://a.example/it's\\x");
}

TEST(FeedConfigToml, ParsesEveryKey) {
  constexpr std::string_view kToml = R"(
[hub]
org = "ncc"

[[feeds]]
name = "urlhaus"
url = "https://urlhaus.abuse.ch/downloads/csv_recent/"
format = "csv"
interval = "15m"
collection = "national-indicators"
producer_org = "ncc"
producer_identity = "identity--5b2b3e2a-5f7b-4a4e-9d2a-0b1c2d3e4f50"
default_tlp = "green"
confidence = 70
labels = ["urlhaus", "malware-distribution"]
allow_private = false
enabled = true
headers = { Authorization = "Bearer x" }
[feeds.csv]
value_column = "url"
type_column = ""
first_seen_column = 1
delimiter = ","
has_header = false

[[feeds]]
name = "circl"
url = "https://www.circl.lu/doc/misp/feed-osint/"
format = "misp"
misp_only_to_ids = false
)";
  auto feeds = ParseFeedsToml(kToml, "aegis.toml");
  ASSERT_TRUE(feeds) << feeds.error().ToString();
  ASSERT_EQ(feeds->size(), 2u);
  const FeedConfig& a = (*feeds)[0];
  EXPECT_EQ(a.name, "urlhaus");
  EXPECT_EQ(a.format, FeedFormat::kCsv);
  EXPECT_EQ(a.interval, std::chrono::minutes(15));
  EXPECT_EQ(a.collection, "national-indicators");
  EXPECT_EQ(a.default_tlp, Tlp::kGreen);
  EXPECT_EQ(a.confidence, 70);
  EXPECT_EQ(a.labels, (std::vector<std::string>{"urlhaus", "malware-distribution"}));
  ASSERT_EQ(a.headers.size(), 1u);
  EXPECT_EQ(a.headers[0].first, "Authorization");
  EXPECT_EQ(a.csv.value_column, "url");
  EXPECT_EQ(a.csv.first_seen_column, "1");
  EXPECT_FALSE(a.csv.has_header);
  const FeedConfig& b = (*feeds)[1];
  EXPECT_EQ(b.format, FeedFormat::kMisp);
  EXPECT_FALSE(b.misp_only_to_ids);
  EXPECT_EQ(b.interval, std::chrono::hours(1));  // default
  EXPECT_EQ(b.collection, "indicators");         // default

  auto none = ParseFeedsToml("[hub]\norg = \"x\"\n", "aegis.toml");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(FeedConfigToml, ErrorsNameLineAndField) {
  struct Case {
    std::string toml;
    std::string field;
    std::string reason_part;
    uint64_t line;
  };
  const Case cases[] = {
      {"[[feeds]]\nname = \"a\"\nurl = \"x.txt\"\nformat = \"yaml\"\n", "feeds[0].format",
       "unknown format", 4},
      {"[[feeds]]\nname = \"a\"\nurl = \"x.txt\"\ncolour = 1\n", "feeds[0].colour",
       "unknown setting", 4},
      {"[[feeds]]\nname = \"a\"\nurl = \"x.txt\"\ninterval = \"soon\"\n", "feeds[0].interval",
       "duration", 4},
      {"[[feeds]]\nname = \"a\"\nurl = \"x.txt\"\ndefault_tlp = \"blue\"\n", "feeds[0].default_tlp",
       "TLP", 4},
      {"[[feeds]]\nname = \"a\"\nurl = \"x.txt\"\nconfidence = 101\n", "feeds[0].confidence",
       "0 to 100", 4},
      {"[[feeds]]\nname = \"a b\"\nurl = \"x.txt\"\n", "feeds[0].name", "name", 1},
      {"[[feeds]]\nname = \"a\"\n", "feeds[0].url", "url", 1},
      {"[[feeds]]\nname = \"a\"\nurl = \"ftp://x/y\"\n", "feeds[0].url", "scheme", 1},
      {"[[feeds]]\nname = \"a\"\nurl = \"x\"\n[[feeds]]\nname = \"a\"\nurl = \"y\"\n",
       "feeds[1].name", "duplicate", 4},
      {"[[feeds]]\nname = \"a\"\nurl = \"x\"\n[feeds.csv]\ndelimiter = \";;\"\n",
       "feeds[0].csv.delimiter", "one character", 5},
      {"feeds = 3\n", "feeds", "[[feeds]]", 1},
  };
  for (const Case& c : cases) {
    auto feeds = ParseFeedsToml(c.toml, "aegis.toml");
    ASSERT_FALSE(feeds) << c.toml;
    EXPECT_EQ(feeds.error().where, "aegis.toml");
    EXPECT_EQ(feeds.error().field, c.field) << c.toml;
    EXPECT_NE(feeds.error().reason.find(c.reason_part), std::string::npos)
        << feeds.error().ToString();
    EXPECT_EQ(feeds.error().line, c.line) << c.toml;
  }
  auto broken = ParseFeedsToml("[[feeds]\nname=", "aegis.toml");
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().line, 1u);
}

TEST_F(FeedsTest, PlainListImportsGoodLinesAndReportsJunkWithLineNumbers) {
  std::string path = Write("lists/plain.txt", kPlainFeed);
  FeedConfig feed = Feed("plain-list", path, FeedFormat::kPlain);
  feed.default_tlp = Tlp::kGreen;
  feed.confidence = 65;
  feed.labels = {"test-feed"};
  feed.producer_identity = "identity--5b2b3e2a-5f7b-4a4e-9d2a-0b1c2d3e4f50";
  FeedRunReport report = Run(feed);
  EXPECT_EQ(report.status, "ok");
  EXPECT_EQ(report.documents, 1u);
  EXPECT_EQ(report.imported, 4u);
  EXPECT_EQ(report.duplicates, 0u);
  EXPECT_EQ(report.rejected, 3u);
  std::set<std::string> rejected_where;
  for (const Reject& r : report.rejects) rejected_where.insert(r.where);
  EXPECT_EQ(rejected_where, (std::set<std::string>{path + ":4", path + ":6", path + ":8"}));

  EXPECT_EQ(Values("feed-test"),
            (std::set<std::string>{"domain evil-domain.example.com", "ipv4 45.9.20.7",
                                   "url phish.example.net/login.php",
                                   "md5 44d88612fea8a8f36de82e1278abb02f"}));
  // Each object is a valid STIX indicator with the feed's settings.
  std::vector<StoredObject> objects = All("feed-test");
  ASSERT_EQ(objects.size(), 4u);
  for (const StoredObject& object : objects) {
    auto valid = stix::ValidateObject(object.json);
    ASSERT_TRUE(valid) << valid.error().ToString();
    EXPECT_EQ(object.meta.tlp, Tlp::kGreen) << object.json;
    EXPECT_EQ(object.meta.producer_org, "ncc");
    EXPECT_EQ(valid->created_by_ref, feed.producer_identity);
    EXPECT_NE(object.json.find("\"confidence\":65"), std::string::npos);
    EXPECT_NE(object.json.find("\"test-feed\""), std::string::npos);
    EXPECT_NE(object.json.find("\"valid_from\""), std::string::npos);
  }
  EXPECT_EQ(objects[0].meta.id.substr(0, 11), "indicator--");
  std::set<std::string> ids;
  for (const auto& o : objects) ids.insert(o.meta.id);
  EXPECT_TRUE(ids.contains(
      FeedIndicatorId("plain-list", IndicatorType::kDomain, "evil-domain.example.com")));
}

TEST_F(FeedsTest, ReimportIsNotModifiedThenDuplicates) {
  std::string path = Write("plain.txt", kPlainFeed);
  FeedConfig feed = Feed("plain-list", path);
  EXPECT_EQ(Run(feed).imported, 4u);

  FeedRunReport again = Run(feed);  // unchanged content: nothing parsed
  EXPECT_EQ(again.status, "not-modified");
  EXPECT_TRUE(again.not_modified);
  EXPECT_EQ(again.imported, 0u);

  FeedRunReport forced = Run(feed, /*force=*/true);  // same ids, same content
  EXPECT_EQ(forced.status, "ok");
  EXPECT_EQ(forced.imported, 0u);
  EXPECT_EQ(forced.duplicates, 4u);
  EXPECT_EQ(All("feed-test").size(), 4u);

  auto states = importer_->States();
  ASSERT_TRUE(states);
  ASSERT_EQ(states->size(), 1u);
  EXPECT_EQ((*states)[0].runs, 3u);
  EXPECT_EQ((*states)[0].imported, 4u);
  EXPECT_EQ((*states)[0].duplicates, 4u);
  EXPECT_EQ((*states)[0].rejected, 6u);
  EXPECT_EQ((*states)[0].last_status, "ok");
}

TEST_F(FeedsTest, ChangedMetadataMakesANewVersionOfTheSameId) {
  std::string path = Write("plain.txt", "evil-domain.example.com\n");
  FeedConfig feed = Feed("versions", path);
  EXPECT_EQ(Run(feed).imported, 1u);
  feed.confidence = 90;  // the feed now rates it higher
  Write("plain.txt", "evil-domain.example.com\n# touched\n");
  FeedRunReport second = Run(feed);
  EXPECT_EQ(second.imported, 1u);
  EXPECT_EQ(second.duplicates, 0u);
  std::vector<StoredObject> objects = All("feed-test");
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_NE(objects[0].json.find("\"confidence\":90"), std::string::npos);
  auto found = store_->GetCollection("feed-test");
  ASSERT_TRUE(found && *found);
  ObjectQuery query;
  query.collection_id = (*found)->id;
  query.ids = {objects[0].meta.id};
  query.versions = VersionMatch::kAll;
  auto versions = store_->Versions(query);
  ASSERT_TRUE(versions) << versions.error().ToString();
  ASSERT_EQ(versions->objects.size(), 2u);
  auto first = stix::ValidateObject(versions->objects[0].json);
  auto last = stix::ValidateObject(versions->objects[1].json);
  ASSERT_TRUE(first && last);
  EXPECT_EQ(first->created_ns, last->created_ns);
  EXPECT_LT(first->modified_ns, last->modified_ns);
}

TEST_F(FeedsTest, CsvOverFileUrlWithColumnMapping) {
  std::string path = Write("feed.csv",
                           "first_seen,indicator,kind,score,tags\n"
                           "2024-01-02T03:04:05Z,evil.example.org,domain,80,malware|c2\n"
                           "2024-01-03T00:00:00Z,45.9.20.9,ipv4,40,scanner\n"
                           "2024-01-03T00:00:00Z,???,domain,40,junk\n");
  FeedConfig feed = Feed("csv-feed", "file://" + path, FeedFormat::kCsv);
  feed.csv.value_column = "indicator";
  feed.csv.type_column = "kind";
  feed.csv.confidence_column = "score";
  feed.csv.tags_column = "tags";
  feed.csv.first_seen_column = "first_seen";
  FeedRunReport report = Run(feed);
  EXPECT_EQ(report.status, "ok");
  EXPECT_EQ(report.imported, 2u);
  EXPECT_EQ(report.rejected, 1u);
  ASSERT_FALSE(report.rejects.empty());
  EXPECT_EQ(report.rejects[0].where, "file://" + path + ":4");
  std::string domain_id = FeedIndicatorId("csv-feed", IndicatorType::kDomain, "evil.example.org");
  bool seen = false;
  for (const StoredObject& o : All("feed-test")) {
    if (o.meta.id != domain_id) continue;
    seen = true;
    EXPECT_NE(o.json.find("\"confidence\":80"), std::string::npos) << o.json;
    EXPECT_NE(o.json.find("\"valid_from\":\"2024-01-02T03:04:05.000Z\""), std::string::npos)
        << o.json;
    EXPECT_NE(o.json.find("\"c2\""), std::string::npos) << o.json;
  }
  EXPECT_TRUE(seen);
  EXPECT_EQ(Run(feed).status, "not-modified");
}

constexpr std::string_view kEventA = R"({"Event": {
  "uuid": "5f1b2c3d-0000-4000-8000-00000000000a", "info": "Phishing wave", "threat_level_id": "1",
  "Tag": [{"name": "tlp:amber"}],
  "Attribute": [
    {"uuid": "a-1", "type": "ip-dst", "value": "45.9.20.1", "to_ids": true, "timestamp": "1700000000"},
    {"uuid": "a-2", "type": "domain", "value": "phish.example.net", "to_ids": true},
    {"uuid": "a-3", "type": "domain", "value": "not_a domain!", "to_ids": true},
    {"uuid": "a-4", "type": "hostname", "value": "quiet.example.net", "to_ids": false}]}})";
constexpr std::string_view kEventB = R"({"Event": {
  "uuid": "5f1b2c3d-0000-4000-8000-00000000000b", "info": "Malware hashes",
  "Attribute": [
    {"uuid": "b-1", "type": "sha256", "value": "%s", "to_ids": true, "Tag": [{"name": "tlp:red"}]}]}})";

std::string Manifest(std::string_view a_timestamp, std::string_view b_timestamp) {
  return std::string(
             R"({"5f1b2c3d-0000-4000-8000-00000000000a": {"info": "Phishing wave", "timestamp": ")") +
         std::string(a_timestamp) +
         R"("}, "5f1b2c3d-0000-4000-8000-00000000000b": {"info": "Malware hashes", "timestamp": )" +
         std::string(b_timestamp) + "}}";
}

TEST_F(FeedsTest, MispFeedImportsOnlyNewOrChangedEvents) {
  Write("misp/manifest.json", Manifest("1700000000", "1700000001"));
  Write("misp/5f1b2c3d-0000-4000-8000-00000000000a.json", kEventA);
  std::string b(kEventB);
  b.replace(b.find("%s"), 2, std::string(64, 'b'));
  Write("misp/5f1b2c3d-0000-4000-8000-00000000000b.json", b);
  FeedConfig feed =
      Feed("misp-feed", "file://" + (dir_ / "misp").string() + "/", FeedFormat::kMisp);

  FeedRunReport first = Run(feed);
  EXPECT_EQ(first.status, "ok") << FeedRunReportJson(first);
  EXPECT_EQ(first.documents, 2u);
  EXPECT_EQ(first.imported, 3u);
  EXPECT_EQ(first.rejected, 1u);
  EXPECT_EQ(first.not_loaded, 1u);  // to_ids false
  std::map<std::string, Tlp> tlp_by_id;
  for (const StoredObject& o : All("feed-test")) tlp_by_id[o.meta.id] = o.meta.tlp;
  EXPECT_EQ(tlp_by_id[FeedIndicatorId("misp-feed", IndicatorType::kIpv4, "45.9.20.1")],
            Tlp::kAmber);
  EXPECT_EQ(tlp_by_id[FeedIndicatorId("misp-feed", IndicatorType::kSha256, std::string(64, 'b'))],
            Tlp::kRed);

  EXPECT_EQ(Run(feed).status, "not-modified");

  // Event B changes (new timestamp); A does not: only B is fetched again.
  b.replace(b.find("\"to_ids\""), 0, "\"comment\": \"updated\", ");
  Write("misp/5f1b2c3d-0000-4000-8000-00000000000b.json", b);
  Write("misp/manifest.json", Manifest("1700000000", "1700000500"));
  FeedRunReport second = Run(feed);
  EXPECT_EQ(second.status, "ok");
  EXPECT_EQ(second.documents, 1u);
  EXPECT_EQ(second.duplicates, 1u);
  EXPECT_EQ(second.imported, 0u);

  // A local folder path works the same way.
  FeedConfig by_path = Feed("misp-by-path", (dir_ / "misp").string());
  FeedRunReport local = Run(by_path);
  EXPECT_EQ(local.documents, 2u);
  EXPECT_EQ(local.imported, 3u);
}

TEST(FeedConvert, MispManifestAndEventWithoutTheStore) {
  auto manifest = ParseMispManifest(Manifest("1700000000", "1700000001"));
  ASSERT_TRUE(manifest) << manifest.error().ToString();
  ASSERT_EQ(manifest->size(), 2u);
  EXPECT_EQ((*manifest)[0].uuid, "5f1b2c3d-0000-4000-8000-00000000000a");
  EXPECT_EQ((*manifest)[0].info, "Phishing wave");
  EXPECT_EQ((*manifest)[0].timestamp, "1700000000");
  EXPECT_EQ((*manifest)[1].timestamp, "1700000001");  // a JSON number
  EXPECT_FALSE(ParseMispManifest("[1,2]"));
  EXPECT_FALSE(ParseMispManifest("{\"a\": "));

  FeedConfig feed;
  feed.name = "convert";
  auto converted =
      ConvertDocument(feed, FeedFormat::kMisp, "a.json", kEventA, 1'700'000'000'000'000'000);
  EXPECT_TRUE(converted.invalid.empty());
  ASSERT_EQ(converted.objects.size(), 2u);
  EXPECT_EQ(converted.load.rejected, 1u);
  EXPECT_EQ(converted.objects[0].id, FeedIndicatorId("convert", IndicatorType::kIpv4, "45.9.20.1"));
  EXPECT_EQ(converted.objects[0].version, "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(converted.objects[0].object_marking_refs,
            (std::vector<std::string>{"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"}));
}

TEST_F(FeedsTest, MispFeedWithAMissingEventIsPartialAndRetried) {
  Write("misp/manifest.json", Manifest("1", "2"));
  Write("misp/5f1b2c3d-0000-4000-8000-00000000000a.json", kEventA);
  FeedConfig feed = Feed("misp-partial", (dir_ / "misp").string(), FeedFormat::kMisp);
  FeedRunReport first = Run(feed);
  EXPECT_EQ(first.status, "partial");
  EXPECT_EQ(first.imported, 2u);
  ASSERT_EQ(first.errors.size(), 1u);
  EXPECT_NE(first.errors[0].where.find("00000000000b.json"), std::string::npos);
  std::string b(kEventB);
  b.replace(b.find("%s"), 2, std::string(64, 'c'));
  Write("misp/5f1b2c3d-0000-4000-8000-00000000000b.json", b);
  FeedRunReport second = Run(feed);  // manifest unchanged, but the last run was not complete
  EXPECT_EQ(second.status, "ok");
  EXPECT_EQ(second.documents, 1u);
  EXPECT_EQ(second.imported, 1u);
}

TEST_F(FeedsTest, StixBundleFeedKeepsGoodObjectsAndRejectsBadOnes) {
  std::string bundle =
      R"({"type": "bundle", "id": "bundle--6f8b9a1c-1d2e-4f3a-8b4c-5d6e7f8a9b0c", "objects": [
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
     "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
     "pattern": "[domain-name:value = 'c2.example.org']", "pattern_type": "stix",
     "valid_from": "2024-01-01T00:00:00Z"},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--not-a-uuid",
     "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
     "pattern": "[domain-name:value = 'x.example']", "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"},
    {"type": "malware", "spec_version": "2.1", "id": "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b",
     "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
     "name": "Poison Ivy", "is_family": true}]})";
  std::string path = Write("bundle.json", bundle);
  FeedConfig feed = Feed("stix-feed", path);  // auto: JSON without "Event" is STIX
  FeedRunReport report = Run(feed);
  EXPECT_EQ(report.status, "ok");
  EXPECT_EQ(report.imported, 2u);
  EXPECT_EQ(report.rejected, 1u);
  ASSERT_EQ(report.rejects.size(), 1u);
  EXPECT_NE(report.rejects[0].where.find("objects[1]"), std::string::npos);
  EXPECT_EQ(All("feed-test", "").size(), 2u);
  EXPECT_EQ(Run(feed, /*force=*/true).duplicates, 2u);
}

TEST_F(FeedsTest, OasisExampleBundleImports) {
  fs::path example =
      fs::path(AEGIS_SHARED_DATA) / "intel/stix/examples/indicator-for-c2-ip-address.json";
  if (!fs::exists(example)) GTEST_SKIP() << "no " << example;
  FeedConfig feed = Feed("oasis-example", example.string(), FeedFormat::kStix);
  FeedRunReport report = Run(feed);
  EXPECT_EQ(report.status, "ok") << FeedRunReportJson(report);
  EXPECT_GT(report.imported, 0u);
  EXPECT_EQ(report.rejected, 0u);
  EXPECT_EQ(All("feed-test", "").size(), report.imported);
}

TEST_F(FeedsTest, MaltrailListsFromSharedData) {
  fs::path malware = fs::path(AEGIS_SHARED_DATA) / "intel/maltrail/trails/static/malware";
  if (!fs::exists(malware)) GTEST_SKIP() << "no maltrail trails in " << malware;
  // A folder with three real trail files.
  std::vector<fs::path> picked;
  for (const auto& entry : fs::directory_iterator(malware)) {
    if (entry.path().extension() == ".txt" && fs::file_size(entry.path()) > 200)
      picked.push_back(entry.path());
  }
  std::sort(picked.begin(), picked.end());
  ASSERT_GE(picked.size(), 3u);
  picked.resize(3);
  fs::create_directories(dir_ / "trails");
  for (const fs::path& p : picked) fs::copy_file(p, dir_ / "trails" / p.filename());

  // Expected: the distinct values the intel loaders accept from these files.
  class DistinctSink : public detect::IndicatorSink {
   public:
    detect::MetaId AddMeta(const IndicatorMeta&) override { return 0; }
    void Add(IndicatorType type, std::string_view value, detect::MetaId) override {
      values.insert(std::string(IndicatorTypeName(type)) + " " + std::string(value));
    }
    std::set<std::string> values;
  } expected;
  LoadOptions options;
  options.format = FeedFormat::kPlain;
  auto loaded = LoadPath((dir_ / "trails").string(), options, expected);
  ASSERT_TRUE(loaded);

  FeedConfig feed = Feed("maltrail", (dir_ / "trails").string(), FeedFormat::kPlain);
  FeedRunReport report = Run(feed);
  EXPECT_EQ(report.status, "ok") << FeedRunReportJson(report);
  EXPECT_EQ(report.documents, 3u);
  EXPECT_EQ(report.imported, expected.values.size());
  EXPECT_EQ(report.rejected, loaded->rejected);
  EXPECT_EQ(Values("feed-test"), expected.values);
  FeedRunReport again = Run(feed);  // a folder is always read; ids make it idempotent
  EXPECT_EQ(again.imported, 0u);
  EXPECT_EQ(again.duplicates, expected.values.size());
}

TEST_F(FeedsTest, UnreachableSourceFailsTheRunNotTheImporter) {
  FeedConfig feed = Feed("missing", (dir_ / "nope.txt").string());
  FeedRunReport report = Run(feed);
  EXPECT_EQ(report.status, "failed");
  ASSERT_EQ(report.errors.size(), 1u);
  FeedConfig bad = Feed("bad name!", "x.txt");
  auto refused = importer_->Run(bad);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().field, "name");
}

TEST_F(FeedsTest, SchedulerRunsFeedsAtTheirIntervalAndOneFailureDoesNotStopOthers) {
  std::string good_path = Write("good.txt", "good.example.com\n");
  FeedConfig good = Feed("good", good_path);
  good.interval = std::chrono::milliseconds(100);
  FeedConfig broken = Feed("broken", (dir_ / "missing.txt").string());
  broken.interval = std::chrono::milliseconds(100);
  FeedConfig disabled = Feed("disabled", good_path);
  disabled.enabled = false;
  FeedScheduler scheduler(std::move(importer_), {good, broken, disabled});
  std::mutex hook_mutex;
  std::vector<std::string> ran;
  scheduler.SetRunHook([&](const FeedRunReport& r) {
    std::lock_guard lock(hook_mutex);
    ran.push_back(r.feed + ":" + r.status);
  });
  scheduler.Start();
  auto runs_of = [&](std::string_view name) {
    for (const FeedStatus& s : scheduler.Snapshot()) {
      if (s.name == name) return s.runs;
    }
    return uint64_t{0};
  };
  ASSERT_TRUE(WaitFor([&] { return runs_of("good") >= 3 && runs_of("broken") >= 3; }));
  // A change in the source is picked up by the next run.
  Write("good.txt", "good.example.com\nsecond.example.com\n");
  ASSERT_TRUE(WaitFor([&] {
    for (const FeedStatus& s : scheduler.Snapshot()) {
      if (s.name == "good" && s.imported == 2) return true;
    }
    return false;
  }));
  scheduler.Stop();
  std::vector<FeedStatus> statuses = scheduler.Snapshot();
  ASSERT_EQ(statuses.size(), 3u);
  EXPECT_EQ(statuses[0].errors, 0u);
  EXPECT_TRUE(statuses[0].last_status == "ok" || statuses[0].last_status == "not-modified");
  EXPECT_EQ(statuses[1].last_status, "failed");
  EXPECT_GE(statuses[1].errors, 3u);
  EXPECT_FALSE(statuses[1].last_error.empty());
  EXPECT_EQ(statuses[2].runs, 0u);
  {
    std::lock_guard lock(hook_mutex);
    EXPECT_EQ(std::count(ran.begin(), ran.end(), "good:ok"), 2);
  }
  std::string metrics = FeedStatusPrometheus(statuses);
  EXPECT_NE(metrics.find("aegis_feed_imported_total{feed=\"good\"} 2"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("aegis_feed_last_run_ok{feed=\"broken\"} 0"), std::string::npos);
  std::string json = FeedStatusJson(statuses);
  EXPECT_NE(json.find("\"name\":\"broken\""), std::string::npos);
  EXPECT_EQ(All("feed-test").size(), 2u);
}

TEST_F(FeedsTest, SchedulerStopWakesAWaitingThread) {
  FeedConfig feed = Feed("hourly", Write("h.txt", "hourly.example.com\n"));
  feed.interval = std::chrono::hours(1);
  FeedScheduler scheduler(std::move(importer_), {feed});
  scheduler.Start();
  ASSERT_TRUE(WaitFor([&] { return scheduler.Snapshot()[0].runs == 1; }));
  EXPECT_TRUE(scheduler.RunNow("hourly"));
  EXPECT_FALSE(scheduler.RunNow("unknown"));
  ASSERT_TRUE(WaitFor([&] { return scheduler.Snapshot()[0].runs == 2; }));
  EXPECT_EQ(scheduler.Snapshot()[0].last_status, "not-modified");
  scheduler.Stop();  // the thread now waits an hour: Stop must wake it (or this test hangs)
  scheduler.Stop();  // idempotent
}

class FeedExportTest : public FeedsTest {
 protected:
  void SetUp() override {
    FeedsTest::SetUp();
    std::string path = Write("source.txt",
                             "evil-domain.example.com\n45.9.20.7\n2a01:4f8:1::7\n45.9.21.0/24\n"
                             "http://phish.example.net/a,b\"c\n44d88612fea8a8f36de82e1278abb02f\n"
                             "da39a3ee5e6b4b0d3255bfef95601890afd80709\n"
                             "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c\n"
                             "billing@phish.example.net\n");
    FeedConfig feed = Feed("source", path);
    feed.collection = "source";
    feed.default_tlp = Tlp::kAmber;
    ASSERT_EQ(Run(feed).imported, 9u);
    FeedConfig red = Feed("red-source", Write("red.txt", "secret.example.org\n"));
    red.collection = "source";
    red.default_tlp = Tlp::kRed;
    ASSERT_EQ(Run(red).imported, 1u);
    expected_ = Values("source");
    ASSERT_EQ(expected_.size(), 10u);
    options_.collections = {"source"};
  }
  std::set<std::string> expected_;
  ExportOptions options_;
};

TEST_F(FeedExportTest, StixBundleRoundTrips) {
  std::ostringstream out;
  auto report = ExportStixBundle(*store_, options_, out);
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_EQ(report->indicators, 10u);
  auto bundle = stix::ValidateBundle(out.str());
  ASSERT_TRUE(bundle) << bundle.error().ToString();
  EXPECT_TRUE(bundle->rejected.empty());
  EXPECT_EQ(bundle->objects.size(), 10u);
  FeedConfig back = Feed("back", Write("export.json", out.str()), FeedFormat::kStix);
  back.collection = "round-trip";
  FeedRunReport imported = Run(back);
  EXPECT_EQ(imported.imported, 10u);
  EXPECT_EQ(Values("round-trip"), expected_);
  // The same ids: the objects themselves travelled.
  std::set<std::string> a, b;
  for (const auto& o : All("source")) a.insert(o.meta.id);
  for (const auto& o : All("round-trip")) b.insert(o.meta.id);
  EXPECT_EQ(a, b);
}

TEST_F(FeedExportTest, CsvRoundTripsAndQuotes) {
  std::ostringstream out;
  auto report = ExportCsv(*store_, options_, out);
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_EQ(report->rows, 10u);
  std::string csv = out.str();
  EXPECT_TRUE(csv.starts_with("type,value,first_seen,tlp,confidence,source\n"));
  EXPECT_NE(csv.find("url,\"phish.example.net/a,b\"\"c\","), std::string::npos) << csv;
  EXPECT_NE(csv.find(",TLP:RED,50,red-source\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("cidr,45.9.21.0/24,"), std::string::npos) << csv;
  FeedConfig back = Feed("back", Write("export.csv", csv), FeedFormat::kCsv);
  back.collection = "round-trip";
  back.csv.value_column = "value";
  back.csv.type_column = "type";
  back.csv.confidence_column = "confidence";
  back.csv.first_seen_column = "first_seen";
  FeedRunReport imported = Run(back);
  EXPECT_EQ(imported.rejected, 0u) << FeedRunReportJson(imported);
  EXPECT_EQ(imported.imported, 10u);
  EXPECT_EQ(Values("round-trip"), expected_);
}

TEST_F(FeedExportTest, MispFeedRoundTripsThroughTheMispImporter) {
  fs::path out = dir_ / "misp-out";
  options_.org_name = "NCC";
  auto report = ExportMispFeed(*store_, options_, out);
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_EQ(report->rows, 10u);
  EXPECT_TRUE(fs::exists(out / "manifest.json"));
  EXPECT_TRUE(fs::exists(out / (report->event_uuid + ".json")));
  std::string hashes = aegis::testing::ReadAll(out / "hashes.csv");
  EXPECT_EQ(std::count(hashes.begin(), hashes.end(), '\n'), 10);

  FeedConfig back = Feed("back", out.string(), FeedFormat::kMisp);
  back.collection = "round-trip";
  FeedRunReport imported = Run(back);
  EXPECT_EQ(imported.status, "ok") << FeedRunReportJson(imported);
  EXPECT_EQ(imported.imported, 10u);
  EXPECT_EQ(Values("round-trip"), expected_);
  // TLP survives as MISP tags.
  size_t red = 0;
  for (const auto& o : All("round-trip")) red += o.meta.tlp == Tlp::kRed;
  EXPECT_EQ(red, 1u);

  // A second export into the same folder keeps the first event listed.
  auto second = ExportMispFeed(*store_, options_, out);
  ASSERT_TRUE(second);
  std::string manifest = aegis::testing::ReadAll(out / "manifest.json");
  EXPECT_NE(manifest.find(report->event_uuid), std::string::npos);
  EXPECT_NE(manifest.find(second->event_uuid), std::string::npos);
  // Only the new event is read. Its values keep their ids; the source event differs,
  // so they become new versions of the same objects, not new objects.
  FeedRunReport again = Run(back);
  EXPECT_EQ(again.documents, 1u);
  EXPECT_EQ(again.imported, 10u);
  EXPECT_EQ(All("round-trip").size(), 10u);
  EXPECT_EQ(Values("round-trip"), expected_);
}

TEST_F(FeedExportTest, VisibilityPredicateHidesObjects) {
  options_.visible = [](const ObjectMeta& meta) { return meta.tlp != Tlp::kRed; };
  std::ostringstream csv, bundle;
  auto rows = ExportCsv(*store_, options_, csv);
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->rows, 9u);
  EXPECT_EQ(csv.str().find("secret.example.org"), std::string::npos);
  auto objects = ExportStixBundle(*store_, options_, bundle);
  ASSERT_TRUE(objects);
  EXPECT_EQ(objects->indicators, 9u);
  EXPECT_EQ(bundle.str().find("secret.example.org"), std::string::npos);
  options_.collections = {"no-such-collection"};
  auto missing = ExportCsv(*store_, options_, csv);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().field, "collection");
}

}  // namespace
}  // namespace aegis::intel
