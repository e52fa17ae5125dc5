// Tests for the STIX 2.1 store (intel/stix_store.h) on real SQLite files.
#include "intel/stix_store.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <sqlite3.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace aegis::intel {
namespace {

namespace fs = std::filesystem;

constexpr const char* kGreen = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
constexpr const char* kAmberStrict = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
constexpr const char* kRed = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";

std::string IndicatorId(int n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "indicator--%08x-1111-4111-8111-%012x", n, n);
  return buf;
}

// One indicator; `modified` is 2024-01-01T00:00:<seconds>.000Z.
std::string IndicatorJson(int n, int seconds = 0, const std::string& extra = "",
                          const std::string& name = "c2") {
  char ts[40];
  std::snprintf(ts, sizeof ts, "2024-01-01T00:%02d:%02d.000Z", seconds / 60, seconds % 60);
  return std::string(R"({"type":"indicator","spec_version":"2.1","id":")") + IndicatorId(n) +
         R"(","created":"2024-01-01T00:00:00.000Z","modified":")" + ts + R"(","name":")" + name +
         R"(","pattern":"[ipv4-addr:value = '10.0.)" + std::to_string(n % 256) +
         R"(.1']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z")" + extra + "}";
}

stix::StixObject Valid(const std::string& json) {
  auto object = stix::ValidateObject(json);
  EXPECT_TRUE(object) << (object ? "" : object.error().ToString());
  return object ? *object : stix::StixObject{};
}

class StixStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("aegis-stix-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    path_ = (dir_ / "sub" / "aegis.db").string();  // parent created by Open
    auto store = StixStore::Open(path_);
    ASSERT_TRUE(store) << store.error().ToString();
    store_ = std::move(*store);
    auto c = store_->CreateCollection({.alias = "main", .title = "Main"});
    ASSERT_TRUE(c) << c.error().ToString();
    collection_ = c->id;
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  AddResult Add(const std::vector<std::string>& jsons, const std::string& org = "rxa",
                const std::string& collection = "") {
    std::vector<stix::StixObject> objects;
    for (const auto& j : jsons) objects.push_back(Valid(j));
    auto added = store_->AddObjects(
        {.collection_id = collection.empty() ? collection_ : collection, .producer_org = org},
        objects);
    EXPECT_TRUE(added) << added.error().ToString();
    return added ? *added : AddResult{};
  }

  // All pages of `query`, following `next`.
  std::vector<StoredObject> All(ObjectQuery query) {
    std::vector<StoredObject> out;
    for (int guard = 0; guard < 100000; ++guard) {
      auto page = store_->Query(query);
      EXPECT_TRUE(page) << page.error().ToString();
      if (!page) break;
      for (auto& o : page->objects) out.push_back(std::move(o));
      if (!page->more) break;
      EXPECT_TRUE(page->next.has_value());
      query.after = page->next;
    }
    return out;
  }

  // Runs SQL directly on the database file (to force ties, inspect rows).
  void RawSql(const std::string& text) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    char* message = nullptr;
    EXPECT_EQ(sqlite3_exec(db, text.c_str(), nullptr, nullptr, &message), SQLITE_OK)
        << (message ? message : "");
    sqlite3_free(message);
    sqlite3_close(db);
  }

  fs::path dir_;
  std::string path_;
  std::unique_ptr<StixStore> store_;
  std::string collection_;
};

TEST_F(StixStoreTest, CollectionsCreateListGetByIdOrAlias) {
  auto second = store_->CreateCollection({.alias = "national-indicators",
                                          .title = "National",
                                          .description = "from the centre",
                                          .access = {.readers = {"*"}, .writers = {"ncc"}}});
  ASSERT_TRUE(second) << second.error().ToString();
  EXPECT_EQ(second->id.size(), 36u);
  auto list = store_->ListCollections();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1].alias, "national-indicators");
  EXPECT_EQ((*list)[1].access.writers, std::vector<std::string>{"ncc"});
  auto by_alias = store_->GetCollection("national-indicators");
  ASSERT_TRUE(by_alias && *by_alias);
  EXPECT_EQ((*by_alias)->id, second->id);
  EXPECT_EQ((*by_alias)->description, "from the centre");
  auto by_id = store_->GetCollection(second->id);
  ASSERT_TRUE(by_id && *by_id);
  EXPECT_EQ((*by_id)->title, "National");
  auto none = store_->GetCollection("nope");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());

  auto dup = store_->CreateCollection({.alias = "main", .title = "again"});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().field, "alias");
  auto bad_alias = store_->CreateCollection({.alias = "Bad Alias!"});
  ASSERT_FALSE(bad_alias);
  EXPECT_EQ(bad_alias.error().field, "alias");
  auto bad_id = store_->CreateCollection({.id = "not-a-uuid", .title = "x"});
  ASSERT_FALSE(bad_id);
  EXPECT_EQ(bad_id.error().field, "id");
  auto no_title = store_->CreateCollection({});
  ASSERT_FALSE(no_title);
  EXPECT_EQ(no_title.error().field, "title");
}

TEST_F(StixStoreTest, AddDuplicateAndConflict) {
  AddResult first = Add({IndicatorJson(1), IndicatorJson(2)});
  EXPECT_EQ(first.added, 2u);
  EXPECT_GT(first.last_added_us, first.first_added_us);

  // Same content, other whitespace: duplicate; other content same version: conflict.
  std::string spaced = IndicatorJson(1);
  spaced.insert(1, "\n  ");
  AddResult again = Add({spaced, IndicatorJson(2, 0, "", "renamed"), IndicatorJson(3)});
  ASSERT_EQ(again.outcomes.size(), 3u);
  EXPECT_EQ(again.outcomes[0].kind, AddOutcome::Kind::kDuplicate);
  EXPECT_EQ(again.outcomes[1].kind, AddOutcome::Kind::kFailed);
  EXPECT_NE(again.outcomes[1].message.find("different content"), std::string::npos)
      << again.outcomes[1].message;
  EXPECT_EQ(again.outcomes[2].kind, AddOutcome::Kind::kAdded);
  EXPECT_EQ(again.added, 1u);
  EXPECT_EQ(again.duplicates, 1u);
  EXPECT_EQ(again.failed, 1u);
  auto count = store_->CountObjects(collection_);
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, 3u);
  auto by_alias = store_->CountObjects("main");
  ASSERT_TRUE(by_alias);
  EXPECT_EQ(*by_alias, 3u);

  // The stored object of id 2 is still the original.
  auto page = store_->Query({.collection_id = collection_, .ids = {IndicatorId(2)}});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->objects.size(), 1u);
  EXPECT_NE(page->objects[0].json.find("\"c2\""), std::string::npos);

  // Duplicates inside one batch.
  AddResult batch = Add({IndicatorJson(7), IndicatorJson(7)});
  EXPECT_EQ(batch.added, 1u);
  EXPECT_EQ(batch.duplicates, 1u);

  auto missing = store_->AddObjects({.collection_id = "nope", .producer_org = "rxa"}, {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().field, "collection_id");
  auto no_org = store_->AddObjects({.collection_id = collection_}, {});
  ASSERT_FALSE(no_org);
  EXPECT_EQ(no_org.error().field, "producer_org");
}

TEST_F(StixStoreTest, MetaFromMarkingsAndShareList) {
  Add({IndicatorJson(1, 0,
                     std::string(R"(,"object_marking_refs":[")") + kRed +
                         R"("],"x_aegis_share_with":["gp-1","ncc"])"),
       IndicatorJson(2, 0, std::string(R"(,"object_marking_refs":[")") + kGreen + "\"]"),
       IndicatorJson(3),
       IndicatorJson(
           4, 0,
           std::string(R"(,"object_marking_refs":[")") + kGreen + R"(",")" + kAmberStrict + "\"]")},
      "rxa");
  auto page = store_->Query({.collection_id = collection_, .with_json = false});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->objects.size(), 4u);
  std::map<std::string, ObjectMeta> by_id;
  for (auto& o : page->objects) {
    EXPECT_TRUE(o.json.empty());
    by_id[o.meta.id] = o.meta;
  }
  const ObjectMeta& red = by_id[IndicatorId(1)];
  EXPECT_EQ(red.tlp, Tlp::kRed);
  EXPECT_EQ(red.share_with, (std::vector<std::string>{"gp-1", "ncc"}));
  EXPECT_EQ(red.producer_org, "rxa");
  EXPECT_EQ(red.type, "indicator");
  EXPECT_EQ(red.spec_version, "2.1");
  EXPECT_EQ(red.collection_id, collection_);
  EXPECT_EQ(by_id[IndicatorId(2)].tlp, Tlp::kGreen);
  EXPECT_EQ(by_id[IndicatorId(3)].tlp, Tlp::kAmber);  // unmarked
  EXPECT_EQ(by_id[IndicatorId(4)].tlp, Tlp::kAmberStrict);
  auth::SharedObject shared = red.AsShared();
  EXPECT_EQ(shared.id, IndicatorId(1));
  EXPECT_EQ(shared.producer_org, "rxa");
  EXPECT_EQ(shared.markings, std::vector<std::string>{kRed});
  EXPECT_EQ(shared.amber_share_with, red.share_with);
  EXPECT_EQ(shared.red_recipients, red.share_with);

  AddResult bad = Add({IndicatorJson(5, 0, R"(,"x_aegis_share_with":"gp-1")")});
  ASSERT_EQ(bad.outcomes.size(), 1u);
  EXPECT_EQ(bad.outcomes[0].kind, AddOutcome::Kind::kFailed);
  EXPECT_NE(bad.outcomes[0].message.find("x_aegis_share_with"), std::string::npos);
}

TEST_F(StixStoreTest, VersionsFirstLastAllAndList) {
  // Versions arrive out of order: 20s, 10s, 30s.
  Add({IndicatorJson(1, 20)});
  Add({IndicatorJson(1, 10), IndicatorJson(2, 5)});
  Add({IndicatorJson(1, 30)});
  auto versions_of = [&](VersionMatch match, std::vector<std::string> list = {}) {
    std::vector<std::string> out;
    for (auto& o : All({.collection_id = collection_,
                   .ids = {IndicatorId(1)},
                   .versions = match,
                   .version_list = list})) {
      out.push_back(o.meta.version);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(versions_of(VersionMatch::kLast), std::vector<std::string>{"2024-01-01T00:00:30.000Z"});
  EXPECT_EQ(versions_of(VersionMatch::kFirst),
            std::vector<std::string>{"2024-01-01T00:00:10.000Z"});
  EXPECT_EQ(versions_of(VersionMatch::kAll).size(), 3u);
  // List: matched by instant, whatever the text form.
  EXPECT_EQ(
      versions_of(VersionMatch::kList, {"2024-01-01T00:00:20Z", "2024-01-01T00:00:10.000000Z"}),
      (std::vector<std::string>{"2024-01-01T00:00:10.000Z", "2024-01-01T00:00:20.000Z"}));
  auto bad = store_->Query({.collection_id = collection_,
                            .versions = VersionMatch::kList,
                            .version_list = {"yesterday"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "match[version]");

  // Versions(): ascending version, paginated.
  ObjectQuery q{.collection_id = collection_, .ids = {IndicatorId(1)}, .limit = 2};
  auto v1 = store_->Versions(q);
  ASSERT_TRUE(v1) << v1.error().ToString();
  ASSERT_EQ(v1->objects.size(), 2u);
  EXPECT_TRUE(v1->more);
  ASSERT_TRUE(v1->next);
  EXPECT_EQ(v1->objects[0].meta.version, "2024-01-01T00:00:10.000Z");
  EXPECT_EQ(v1->objects[1].meta.version, "2024-01-01T00:00:20.000Z");
  q.after = Cursor::Decode(v1->next->Encode());
  ASSERT_TRUE(q.after);
  auto v2 = store_->Versions(q);
  ASSERT_TRUE(v2);
  ASSERT_EQ(v2->objects.size(), 1u);
  EXPECT_FALSE(v2->more);
  EXPECT_EQ(v2->objects[0].meta.version, "2024-01-01T00:00:30.000Z");
  auto two_ids =
      store_->Versions({.collection_id = collection_, .ids = {IndicatorId(1), IndicatorId(2)}});
  EXPECT_FALSE(two_ids);

  // Default query: the latest version of each object only.
  auto latest = All({.collection_id = collection_});
  ASSERT_EQ(latest.size(), 2u);
}

TEST_F(StixStoreTest, SpecVersionFilterAndLatestSpecDefault) {
  // A STIX 2.0 version of an object (not accepted by validation; built by hand, as an
  // importer of old data might) followed by a 2.1 version.
  stix::StixObject old_spec = Valid(IndicatorJson(1, 10));
  old_spec.spec_version = "2.0";
  old_spec.json =
      R"({"type":"indicator","id":")" + IndicatorId(1) +
      R"(","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:10.000Z"})";
  auto added = store_->AddObjects({.collection_id = collection_, .producer_org = "rxa"},
                                  std::span(&old_spec, 1));
  ASSERT_TRUE(added);
  ASSERT_EQ(added->added, 1u);
  // Only 2.0 so far: it is the latest spec and visible by default.
  EXPECT_EQ(All({.collection_id = collection_, .versions = VersionMatch::kAll}).size(), 1u);
  Add({IndicatorJson(1, 20), IndicatorJson(2)});
  auto defaults = All({.collection_id = collection_, .versions = VersionMatch::kAll});
  ASSERT_EQ(defaults.size(), 2u);
  for (auto& o : defaults) EXPECT_EQ(o.meta.spec_version, "2.1");
  auto only20 =
      All({.collection_id = collection_, .spec_versions = {"2.0"}, .versions = VersionMatch::kAll});
  ASSERT_EQ(only20.size(), 1u);
  EXPECT_EQ(only20[0].meta.version, "2024-01-01T00:00:10.000Z");
  EXPECT_EQ(only20[0].meta.media_type, "application/stix+json;version=2.0");
  EXPECT_EQ(All({.collection_id = collection_,
                 .spec_versions = {"2.0", "2.1"},
                 .versions = VersionMatch::kAll})
                .size(),
            3u);
  // Deleting the 2.1 version brings the 2.0 one back as latest spec.
  auto deleted = store_->Delete(
      {.collection_id = collection_, .id = IndicatorId(1), .spec_versions = {"2.1"}});
  ASSERT_TRUE(deleted);
  EXPECT_EQ(*deleted, 1u);
  auto after = All({.collection_id = collection_, .ids = {IndicatorId(1)}});
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].meta.spec_version, "2.0");
}

TEST_F(StixStoreTest, TypeAndIdFilters) {
  Add({IndicatorJson(1), IndicatorJson(2), IndicatorJson(3),
       R"({"type":"malware","spec_version":"2.1","id":"malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","name":"x","is_family":false})",
       R"({"type":"ipv4-addr","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"198.51.100.3"})"});
  EXPECT_EQ(All({.collection_id = collection_, .types = {"indicator"}}).size(), 3u);
  EXPECT_EQ(All({.collection_id = collection_, .types = {"malware", "ipv4-addr"}}).size(), 2u);
  EXPECT_EQ(All({.collection_id = collection_, .types = {"tool"}}).size(), 0u);
  auto ids = All({.collection_id = collection_, .ids = {IndicatorId(3), IndicatorId(1), "x--y"}});
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_LT(ids[0].meta.date_added_us, ids[1].meta.date_added_us);  // date_added order
  EXPECT_EQ(
      All({.collection_id = collection_, .ids = {IndicatorId(3)}, .types = {"malware"}}).size(),
      0u);
  // An SCO without created/modified: its version is its date_added.
  auto sco = All({.collection_id = collection_, .types = {"ipv4-addr"}});
  ASSERT_EQ(sco.size(), 1u);
  EXPECT_EQ(sco[0].meta.version_us, sco[0].meta.date_added_us);
  EXPECT_TRUE(sco[0].meta.version.ends_with("Z"));
}

TEST_F(StixStoreTest, UnversionedObjectsDuplicateOrNewVersion) {
  const std::string a =
      R"({"type":"ipv4-addr","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"198.51.100.3"})";
  const std::string b =
      R"({"type":"ipv4-addr","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"198.51.100.3","x_note":"seen"})";
  EXPECT_EQ(Add({a}).added, 1u);
  EXPECT_EQ(Add({a}).duplicates, 1u);
  EXPECT_EQ(Add({b}).added, 1u);
  auto all = All({.collection_id = collection_, .versions = VersionMatch::kAll});
  ASSERT_EQ(all.size(), 2u);
  auto last = All({.collection_id = collection_});
  ASSERT_EQ(last.size(), 1u);
  EXPECT_NE(last[0].json.find("x_note"), std::string::npos);
}

TEST_F(StixStoreTest, AddedAfterIsStrictAndPagesReportFirstLast) {
  AddResult r = Add({IndicatorJson(1), IndicatorJson(2), IndicatorJson(3), IndicatorJson(4)});
  auto all = All({.collection_id = collection_});
  ASSERT_EQ(all.size(), 4u);
  auto after = All({.collection_id = collection_, .added_after_us = all[1].meta.date_added_us});
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0].meta.id, all[2].meta.id);
  auto page = store_->Query(
      {.collection_id = collection_, .added_after_us = all[0].meta.date_added_us, .limit = 2});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->first_added_us, all[1].meta.date_added_us);
  EXPECT_EQ(page->last_added_us, all[2].meta.date_added_us);
  EXPECT_TRUE(page->more);
  EXPECT_EQ(r.first_added_us, all[0].meta.date_added_us);
  EXPECT_EQ(r.last_added_us, all[3].meta.date_added_us);
  auto none = store_->Query({.collection_id = collection_, .added_after_us = r.last_added_us});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->objects.empty());
  EXPECT_FALSE(none->more);
  EXPECT_EQ(none->first_added_us, 0);
}

TEST_F(StixStoreTest, DateAddedStrictlyIncreasesWithinABatchAndAcrossWriters) {
  std::vector<std::string> batch;
  for (int i = 0; i < 300; ++i) batch.push_back(IndicatorJson(i));
  std::thread other([&] {
    std::vector<std::string> more;
    for (int i = 1000; i < 1300; ++i) more.push_back(IndicatorJson(i));
    Add(more);
  });
  Add(batch);
  other.join();
  auto all = All({.collection_id = collection_, .limit = 97});
  ASSERT_EQ(all.size(), 600u);
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_LT(all[i - 1].meta.date_added_us, all[i].meta.date_added_us) << i;
  }
}

TEST_F(StixStoreTest, PaginationAcrossTiesWithConcurrentInserts) {
  std::vector<std::string> batch;
  for (int i = 0; i < 250; ++i) batch.push_back(IndicatorJson(i));
  Add(batch);
  // Force one date_added for every row (as old data or another writer could leave).
  RawSql("UPDATE stix_objects SET date_added_us = 1700000000000000");
  std::set<std::string> seen;
  std::vector<std::string> order;
  ObjectQuery q{.collection_id = collection_, .limit = 7};
  int pages = 0, inserted = 0;
  while (true) {
    auto page = store_->Query(q);
    ASSERT_TRUE(page) << page.error().ToString();
    ++pages;
    for (auto& o : page->objects) {
      EXPECT_TRUE(seen.insert(o.meta.id).second) << "repeated " << o.meta.id;
      order.push_back(o.meta.id);
    }
    if (page->more) {
      ASSERT_TRUE(page->next) << "more without next";
      ASSERT_EQ(page->objects.size(), 7u);
    }
    // Between pages: new objects arrive, and a new version of an object already read.
    if (inserted < 5) {
      Add({IndicatorJson(5000 + inserted)});
      ++inserted;
    }
    if (!page->more) break;
    auto decoded = Cursor::Decode(page->next->Encode());
    ASSERT_TRUE(decoded);
    q.after = decoded;
  }
  for (int i = 0; i < 250; ++i) EXPECT_TRUE(seen.count(IndicatorId(i))) << i;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(seen.count(IndicatorId(5000 + i))) << i;
  EXPECT_EQ(seen.size(), 255u);
  EXPECT_GT(pages, 30);
  // Ties are broken by id: the tied prefix comes in id order.
  EXPECT_TRUE(std::is_sorted(order.begin(), order.begin() + 250));
}

TEST_F(StixStoreTest, VisiblePredicateFillsPagesAndSkipsHiddenRows) {
  std::vector<std::string> batch;
  for (int i = 0; i < 100; ++i) {
    batch.push_back(IndicatorJson(
        i, 0,
        i % 3 == 0 ? std::string(R"(,"object_marking_refs":[")") + kRed + "\"]" : std::string()));
  }
  Add(batch);
  int calls = 0;
  auto visible = [&](const ObjectMeta& meta) {
    ++calls;
    return meta.tlp != Tlp::kRed;
  };
  ObjectQuery q{.collection_id = collection_, .limit = 10, .visible = visible};
  std::set<std::string> seen;
  while (true) {
    auto page = store_->Query(q);
    ASSERT_TRUE(page);
    for (auto& o : page->objects) {
      EXPECT_NE(o.meta.tlp, Tlp::kRed);
      seen.insert(o.meta.id);
    }
    if (!page->more) {
      EXPECT_LE(page->objects.size(), 10u);
      break;
    }
    EXPECT_EQ(page->objects.size(), 10u);  // full pages of visible objects
    q.after = page->next;
  }
  EXPECT_EQ(seen.size(), 66u);
  EXPECT_GE(calls, 100);
  // Everything hidden: empty page, no more.
  auto hidden = store_->Query(
      {.collection_id = collection_, .visible = [](const ObjectMeta&) { return false; }});
  ASSERT_TRUE(hidden);
  EXPECT_TRUE(hidden->objects.empty());
  EXPECT_FALSE(hidden->more);
  EXPECT_FALSE(hidden->next);
}

TEST_F(StixStoreTest, CursorRoundTripTamperAndGarbage) {
  Cursor c{1700000000123456, "indicator--aa", "2024-01-01T00:00:00.000Z"};
  const std::string token = c.Encode();
  for (char ch : token) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_') << token;
  }
  auto back = Cursor::Decode(token);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->date_added_us, c.date_added_us);
  EXPECT_EQ(back->id, c.id);
  EXPECT_EQ(back->version, c.version);
  for (std::string bad :
       {std::string(), std::string("!!!!"), std::string("a"), std::string("AAAA"),
        std::string("%2F%2F"), std::string(5000, 'A'), std::string("eyJhIjoxfQ")}) {
    EXPECT_FALSE(Cursor::Decode(bad)) << bad;
  }
  // Flip every character of a real token: never a crash, and a decoded tamper is a
  // usable position (the store answers it like any other cursor).
  Add({IndicatorJson(1), IndicatorJson(2)});
  int decoded = 0;
  for (size_t i = 0; i < token.size(); ++i) {
    std::string tampered = token;
    tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
    if (auto t = Cursor::Decode(tampered)) {
      ++decoded;
      auto page = store_->Query({.collection_id = collection_, .after = t});
      EXPECT_TRUE(page);
    }
  }
  SUCCEED() << decoded << " tampered tokens still decoded";
}

TEST_F(StixStoreTest, DeleteKeepsFirstAndLastRight) {
  Add({IndicatorJson(1, 10), IndicatorJson(1, 20), IndicatorJson(1, 30), IndicatorJson(2)});
  auto latest_version = [&] {
    auto v = All({.collection_id = collection_, .ids = {IndicatorId(1)}});
    return v.size() == 1 ? v[0].meta.version : std::string("count " + std::to_string(v.size()));
  };
  auto first_version = [&] {
    auto v = All(
        {.collection_id = collection_, .ids = {IndicatorId(1)}, .versions = VersionMatch::kFirst});
    return v.size() == 1 ? v[0].meta.version : std::string("count " + std::to_string(v.size()));
  };
  auto deleted = store_->Delete(
      {.collection_id = collection_, .id = IndicatorId(1), .versions = VersionMatch::kLast});
  ASSERT_TRUE(deleted);
  EXPECT_EQ(*deleted, 1u);
  EXPECT_EQ(latest_version(), "2024-01-01T00:00:20.000Z");
  deleted = store_->Delete(
      {.collection_id = collection_, .id = IndicatorId(1), .versions = VersionMatch::kFirst});
  ASSERT_TRUE(deleted);
  EXPECT_EQ(first_version(), "2024-01-01T00:00:20.000Z");
  EXPECT_EQ(latest_version(), "2024-01-01T00:00:20.000Z");
  deleted = store_->Delete({.collection_id = collection_,
                            .id = IndicatorId(1),
                            .versions = VersionMatch::kList,
                            .version_list = {"2024-01-01T00:00:59Z"}});
  ASSERT_TRUE(deleted);
  EXPECT_EQ(*deleted, 0u);
  deleted = store_->Delete({.collection_id = collection_, .id = IndicatorId(1)});  // all
  ASSERT_TRUE(deleted);
  EXPECT_EQ(*deleted, 1u);
  EXPECT_EQ(latest_version(), "count 0");
  auto count = store_->CountObjects(collection_);
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, 1u);
  // Re-adding after deletion works and becomes latest and first.
  Add({IndicatorJson(1, 40)});
  EXPECT_EQ(latest_version(), "2024-01-01T00:00:40.000Z");
  EXPECT_EQ(first_version(), "2024-01-01T00:00:40.000Z");
  auto no_id = store_->Delete({.collection_id = collection_});
  ASSERT_FALSE(no_id);
  EXPECT_EQ(no_id.error().field, "id");
}

TEST_F(StixStoreTest, StatusRecordsRoundTrip) {
  StatusRecord s{.id = "2d086da7-4bdc-4f91-900e-d77486753710",
                 .request_timestamp = "2024-01-01T00:00:00.000000Z",
                 .total_count = 3,
                 .success_count = 2,
                 .failure_count = 1,
                 .owner_org = "rxa"};
  s.successes = {{AddOutcome::Kind::kAdded, IndicatorId(1), "v1", ""},
                 {AddOutcome::Kind::kDuplicate, IndicatorId(2), "v2", ""}};
  s.failures = {{AddOutcome::Kind::kFailed, IndicatorId(3), "v3", "conflict"}};
  ASSERT_TRUE(store_->PutStatus(s));
  auto got = store_->GetStatus(s.id);
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->status, "complete");
  EXPECT_EQ((*got)->owner_org, "rxa");
  EXPECT_EQ((*got)->total_count, 3u);
  ASSERT_EQ((*got)->successes.size(), 2u);
  EXPECT_EQ((*got)->successes[1].kind, AddOutcome::Kind::kDuplicate);
  ASSERT_EQ((*got)->failures.size(), 1u);
  EXPECT_EQ((*got)->failures[0].message, "conflict");
  // Replacing it (pending → complete) keeps one record.
  s.status = "pending";
  s.failures.clear();
  ASSERT_TRUE(store_->PutStatus(s));
  got = store_->GetStatus(s.id);
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->status, "pending");
  EXPECT_TRUE((*got)->failures.empty());
  auto missing = store_->GetStatus("nope");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
  s.status = "done";
  EXPECT_FALSE(store_->PutStatus(s));
}

TEST_F(StixStoreTest, ExportBundleValidatesAndRespectsVisibility) {
  std::vector<std::string> batch;
  for (int i = 0; i < 30; ++i) {
    batch.push_back(
        IndicatorJson(i, 0,
                      i % 2 ? std::string(R"(,"object_marking_refs":[")") + kAmberStrict + "\"]"
                            : std::string()));
  }
  batch.push_back(IndicatorJson(0, 5));  // a second version of 0: only the latest goes out
  Add(batch);
  auto bundle = store_->ExportBundle(
      {.collection_id = collection_, .limit = 7, .visible = [](const ObjectMeta& m) {
         return m.tlp != Tlp::kAmberStrict;
       }});
  ASSERT_TRUE(bundle) << bundle.error().ToString();
  auto parsed = stix::ValidateBundle(*bundle);
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  EXPECT_TRUE(parsed->rejected.empty());
  ASSERT_EQ(parsed->objects.size(), 15u);
  for (auto& o : parsed->objects) EXPECT_TRUE(o.object_marking_refs.empty());
  for (auto& o : parsed->objects) {
    if (o.id == IndicatorId(0)) EXPECT_EQ(o.version, "2024-01-01T00:00:05.000Z");
  }
}

TEST_F(StixStoreTest, HooksSeeOnlyNewRowsAfterCommit) {
  std::vector<std::string> seen;
  int64_t count_in_hook = -1;
  store_->AddObjectsAddedHook([&](std::span<const StoredObject> rows) {
    for (const auto& r : rows) seen.push_back(r.meta.id);
    // Committed: a reader connection sees the rows.
    auto c = store_->CountObjects(collection_);
    count_in_hook = c ? static_cast<int64_t>(*c) : -2;
  });
  Add({IndicatorJson(1), IndicatorJson(2)});
  EXPECT_EQ(seen, (std::vector<std::string>{IndicatorId(1), IndicatorId(2)}));
  EXPECT_EQ(count_in_hook, 2);
  seen.clear();
  Add({IndicatorJson(1), IndicatorJson(3)});  // 1 is a duplicate
  EXPECT_EQ(seen, std::vector<std::string>{IndicatorId(3)});
  seen.clear();
  Add({IndicatorJson(1)});  // nothing new: no call
  EXPECT_TRUE(seen.empty());
}

TEST_F(StixStoreTest, ReadersRunBesideTheWriter) {
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, errors{0};
  std::thread reader([&] {
    while (!stop) {
      auto page = store_->Query({.collection_id = collection_, .limit = 50});
      if (!page) ++errors;
      ++reads;
    }
  });
  for (int b = 0; b < 20; ++b) {
    std::vector<std::string> batch;
    for (int i = 0; i < 50; ++i) batch.push_back(IndicatorJson(b * 50 + i));
    Add(batch);
  }
  stop = true;
  reader.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(All({.collection_id = collection_}).size(), 1000u);
}

TEST_F(StixStoreTest, ReopenKeepsEverything) {
  Add({IndicatorJson(1, 10), IndicatorJson(1, 20), IndicatorJson(2)});
  store_.reset();
  auto reopened = StixStore::Open(path_);
  ASSERT_TRUE(reopened) << reopened.error().ToString();
  store_ = std::move(*reopened);
  auto c = store_->GetCollection("main");
  ASSERT_TRUE(c && *c);
  EXPECT_EQ((*c)->id, collection_);
  EXPECT_EQ(All({.collection_id = collection_}).size(), 2u);
  EXPECT_EQ(All({.collection_id = collection_, .versions = VersionMatch::kAll}).size(), 3u);
  // date_added keeps increasing after reopen.
  AddResult r = Add({IndicatorJson(3)});
  auto all = All({.collection_id = collection_, .versions = VersionMatch::kAll});
  for (auto& o : all) {
    if (o.meta.id != IndicatorId(3)) EXPECT_LT(o.meta.date_added_us, r.first_added_us);
  }
  EXPECT_FALSE(StixStore::Open(":memory:"));
}

std::string Minified(std::string_view json) {
  std::string out(json.size(), '\0');
  size_t length = 0;
  EXPECT_FALSE(simdjson::minify(json.data(), json.size(), out.data(), length));
  out.resize(length);
  return out;
}

TEST_F(StixStoreTest, OasisExamplesStoredAndReadBack) {
  const fs::path examples = fs::path(AEGIS_SHARED_DATA) / "intel" / "stix" / "examples";
  if (!fs::exists(examples)) {
    GTEST_SKIP() << "no OASIS STIX examples at " << examples
                 << " (../shared/data is absent; set AEGIS_SHARED_DATA)";
  }
  int files = 0;
  size_t objects = 0;
  for (const auto& entry : fs::recursive_directory_iterator(examples)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    auto bundle = stix::ValidateBundle(text.str());
    if (!bundle) {  // a file holding one object
      auto single = stix::ValidateObject(text.str());
      ASSERT_TRUE(single) << entry.path() << ": " << single.error().ToString();
      bundle = stix::BundleResult{};
      bundle->objects.push_back(std::move(*single));
    }
    ++files;
    auto c = store_->CreateCollection({.title = entry.path().filename().string()});
    ASSERT_TRUE(c);
    auto added =
        store_->AddObjects({.collection_id = c->id, .producer_org = "oasis"}, bundle->objects);
    ASSERT_TRUE(added) << added.error().ToString();
    EXPECT_EQ(added->failed, 0u) << entry.path();
    EXPECT_EQ(added->added + added->duplicates, bundle->objects.size());
    // Every version comes back byte for byte.
    std::multiset<std::string> expected, got;
    for (auto& o : bundle->objects) expected.insert(Minified(o.json));
    for (auto& o : All({.collection_id = c->id, .versions = VersionMatch::kAll, .limit = 5})) {
      got.insert(Minified(o.json));
    }
    std::set<std::string> unique_expected(expected.begin(), expected.end());
    EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), unique_expected) << entry.path();
    EXPECT_EQ(got.size(), added->added);
    objects += bundle->objects.size();
  }
  EXPECT_GT(files, 3);
  EXPECT_GT(objects, 20u);
}

}  // namespace
}  // namespace aegis::intel
