// Feeds over real HTTP (the Aegis server on port 0 serving a MISP feed folder with
// ETag and Last-Modified) and `aegis feed import|run|export|status` driven through
// the real binary, checked through the STIX store and feed libraries.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include "auth/accounts.h"
#include "common/test_util.h"
#include "intel/feeds.h"
#include "intel/stix_store.h"
#include "server/http_server.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using aegis::Result;
using aegis::testing::CommandResult;
using aegis::testing::ReadAll;
using aegis::testing::WaitFor;
namespace intel = aegis::intel;
namespace server = aegis::server;

constexpr std::string_view kEventA = R"({"Event": {
  "uuid": "5f1b2c3d-0000-4000-8000-00000000000a", "info": "Phishing wave", "threat_level_id": "1",
  "Tag": [{"name": "tlp:green"}],
  "Attribute": [
    {"uuid": "a-1", "type": "ip-dst", "value": "45.9.20.1", "to_ids": true, "timestamp": "1700000000"},
    {"uuid": "a-2", "type": "domain", "value": "phish.example.net", "to_ids": true}]}})";
constexpr std::string_view kEventB = R"({"Event": {
  "uuid": "5f1b2c3d-0000-4000-8000-00000000000b", "info": "Malware hashes",
  "Attribute": [{"uuid": "b-1", "type": "md5", "value": "44d88612fea8a8f36de82e1278abb02f", "to_ids": true}]}})";

std::string Manifest(int b_timestamp) {
  return R"({"5f1b2c3d-0000-4000-8000-00000000000a": {"info": "Phishing wave", "timestamp": "1700000000"},
 "5f1b2c3d-0000-4000-8000-00000000000b": {"info": "Malware hashes", "timestamp": ")" +
         std::to_string(b_timestamp) + "\"}}";
}

class FeedCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("aegis-feed-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_ = (dir_ / "data" / "aegis.db").string();  // "data" does not exist yet
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, std::string_view content) {
    fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
    return path.string();
  }

  CommandResult Aegis(const std::string& args, std::string* err = nullptr) {
    return aegis::testing::RunCommand(AEGIS_BINARY, args + " --db " + db_ + " < /dev/null", err);
  }

  std::vector<intel::StoredObject> Objects(const std::string& collection) {
    std::vector<intel::StoredObject> out;
    auto store = intel::StixStore::Open(db_);
    EXPECT_TRUE(store) << store.error().ToString();
    if (!store) return out;
    auto found = (*store)->GetCollection(collection);
    if (!found || !*found) return out;
    intel::ObjectQuery query;
    query.collection_id = (*found)->id;
    while (true) {
      auto page = (*store)->Query(query);
      if (!page) break;
      out.insert(out.end(), page->objects.begin(), page->objects.end());
      if (!page->more) break;
      query.after = page->next;
    }
    return out;
  }

  fs::path dir_;
  std::string db_;
};

// Serves dir/<file> under /misp/ with a strong ETag (content digest) and
// Last-Modified, answering 304 to a matching If-None-Match; counts requests.
class FeedServer {
 public:
  explicit FeedServer(fs::path dir) : dir_(std::move(dir)) {
    server::Router router;
    (void)router.AddPrefix(
        "GET", "/misp", [this](const server::Request& r) -> Result<server::Response> {
          std::string name(r.path.substr(std::string_view("/misp/").size()));
          {
            std::lock_guard lock(mutex_);
            ++requests_[name];
            if (auto inm = r.Header("If-None-Match"))
              conditional_.insert(name + " " + std::string(*inm));
          }
          if (name == "broken.txt") return server::Response::Text(500, "oops");
          if (name.find('/') != std::string::npos || name.find("..") != std::string::npos ||
              !fs::exists(dir_ / name)) {
            return server::Response::Text(404, "not found");
          }
          std::string body = ReadAll(dir_ / name);
          std::string etag = "\"" + std::to_string(std::hash<std::string>{}(body)) + "\"";
          server::Response response;
          if (r.Header("If-None-Match") == etag) {
            response.status = 304;
          } else {
            response = server::Response::Json(200, body);
          }
          response.headers.emplace_back("ETag", etag);
          response.headers.emplace_back("Last-Modified", "Tue, 14 Nov 2023 22:13:20 GMT");
          return response;
        });
    server::ServerConfig config;
    config.access_log = false;
    config.threads = 2;
    auto created = server::HttpServer::Create(config, std::move(router));
    EXPECT_TRUE(created);
    server_ = std::move(*created);
    EXPECT_TRUE(server_->Start());
  }
  std::string Url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + std::string(path);
  }
  int Requests(const std::string& name) {
    std::lock_guard lock(mutex_);
    return requests_[name];
  }
  std::set<std::string> Conditional() {
    std::lock_guard lock(mutex_);
    return conditional_;
  }

 private:
  fs::path dir_;
  std::mutex mutex_;  // guards requests_ and conditional_ (server worker threads)
  std::map<std::string, int> requests_;
  std::set<std::string> conditional_;
  std::unique_ptr<server::HttpServer> server_;
};

TEST_F(FeedCliTest, MispFeedOverHttpUsesConditionalGetAndFetchesOnlyChangedEvents) {
  Write("misp/manifest.json", Manifest(1700000001));
  Write("misp/5f1b2c3d-0000-4000-8000-00000000000a.json", kEventA);
  Write("misp/5f1b2c3d-0000-4000-8000-00000000000b.json", kEventB);
  FeedServer http(dir_ / "misp");
  auto store = intel::StixStore::Open(db_);
  ASSERT_TRUE(store) << store.error().ToString();
  auto importer = intel::FeedImporter::Open(db_, store->get());
  ASSERT_TRUE(importer) << importer.error().ToString();
  intel::FeedConfig feed;
  feed.name = "http-misp";
  feed.url = http.Url("/misp/");
  feed.collection = "national";

  auto first = (*importer)->Run(feed);
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_EQ(first->status, "ok") << intel::FeedRunReportJson(*first);
  EXPECT_EQ(first->imported, 3u);
  EXPECT_EQ(http.Requests("manifest.json"), 1);
  EXPECT_EQ(http.Requests("5f1b2c3d-0000-4000-8000-00000000000a.json"), 1);

  auto second = (*importer)->Run(feed);  // If-None-Match: 304, no event fetched
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, "not-modified");
  EXPECT_EQ(http.Requests("manifest.json"), 2);
  EXPECT_EQ(http.Requests("5f1b2c3d-0000-4000-8000-00000000000a.json"), 1);
  bool sent_etag = false;
  for (const std::string& c : http.Conditional())
    sent_etag = sent_etag || c.starts_with("manifest.json \"");
  EXPECT_TRUE(sent_etag);

  // Event B changes: the manifest changes (new ETag), only B is fetched again.
  std::string b(kEventB);
  b.replace(b.find("\"to_ids\""), 0, "\"comment\": \"x\", ");
  Write("misp/5f1b2c3d-0000-4000-8000-00000000000b.json", b);
  Write("misp/manifest.json", Manifest(1700000900));
  auto third = (*importer)->Run(feed);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->status, "ok");
  EXPECT_EQ(third->documents, 1u);
  EXPECT_EQ(http.Requests("5f1b2c3d-0000-4000-8000-00000000000a.json"), 1);
  EXPECT_EQ(http.Requests("5f1b2c3d-0000-4000-8000-00000000000b.json"), 2);

  auto states = (*importer)->States();
  ASSERT_TRUE(states);
  ASSERT_EQ(states->size(), 1u);
  EXPECT_FALSE((*states)[0].etag.empty());
  EXPECT_EQ((*states)[0].last_modified, "Tue, 14 Nov 2023 22:13:20 GMT");

  // A server error fails that feed's run with the status in the error.
  intel::FeedConfig broken = feed;
  broken.name = "broken";
  broken.url = http.Url("/misp/broken.txt");
  auto failed = (*importer)->Run(broken);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, "failed");
  ASSERT_EQ(failed->errors.size(), 1u);
  EXPECT_NE(failed->errors[0].reason.find("500"), std::string::npos);
}

constexpr std::string_view kList =
    "evil-domain.example.com\n"
    "45.9.20.7\n"
    "definitely not an indicator\n"
    "44d88612fea8a8f36de82e1278abb02f\n";

TEST_F(FeedCliTest, ImportReportsJunkLinesAndIsIdempotent) {
  std::string list = Write("list.txt", kList);
  std::string err;
  CommandResult r =
      Aegis("feed import --format plain " + list + " --collection blocklist --json", &err);
  ASSERT_EQ(r.code, 0) << r.out << err;
  EXPECT_NE(r.out.find("\"status\":\"ok\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"imported\":3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"rejected\":1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"where\":\"" + list + ":3\""), std::string::npos) << r.out;
  EXPECT_EQ(Objects("blocklist").size(), 3u);

  r = Aegis("feed import " + list + " --collection blocklist");
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("not-modified"), std::string::npos) << r.out;
  r = Aegis("feed import " + list + " --collection blocklist --force --json");
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("\"duplicates\":3"), std::string::npos) << r.out;
  EXPECT_EQ(Objects("blocklist").size(), 3u);

  r = Aegis("feed status --json");
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("\"name\":\"list\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"runs\":3"), std::string::npos) << r.out;
  r = Aegis("feed status");
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("FEED"), std::string::npos);
  EXPECT_NE(r.out.find("list"), std::string::npos);
}

TEST_F(FeedCliTest, ExportAllThreeFormatsAndImportThemBack) {
  std::string list = Write("list.txt", kList);
  ASSERT_EQ(Aegis("feed import " + list + " --collection source --tlp green").code, 0);

  CommandResult csv = Aegis("feed export --format csv --collection source");
  ASSERT_EQ(csv.code, 0);
  EXPECT_TRUE(csv.out.starts_with("type,value,first_seen,tlp,confidence,source\n")) << csv.out;
  EXPECT_NE(csv.out.find("domain,evil-domain.example.com,"), std::string::npos) << csv.out;
  EXPECT_NE(csv.out.find(",TLP:GREEN,"), std::string::npos) << csv.out;
  EXPECT_EQ(std::count(csv.out.begin(), csv.out.end(), '\n'), 4);

  std::string stix = (dir_ / "out.json").string();
  CommandResult r = Aegis("feed export --format stix --out " + stix + " --json");
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("\"indicators\":3"), std::string::npos) << r.out;
  r = Aegis("feed import --format stix " + stix + " --collection from-stix --json");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\"imported\":3"), std::string::npos) << r.out;

  std::string misp = (dir_ / "misp-out").string();
  r = Aegis("feed export --format misp --out " + misp + " --collection source");
  ASSERT_EQ(r.code, 0);
  EXPECT_TRUE(fs::exists(fs::path(misp) / "manifest.json"));
  r = Aegis("feed import --format misp " + misp + " --collection from-misp --json");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\"imported\":3"), std::string::npos) << r.out;

  std::string csv_file = Write("export.csv", csv.out);
  r = Aegis("feed import --format csv " + csv_file +
            " --type-column type --collection from-csv --json");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\"imported\":3"), std::string::npos) << r.out;
  for (const char* collection : {"from-stix", "from-misp", "from-csv"}) {
    std::set<std::string> patterns;
    for (const auto& o : Objects(collection)) {
      size_t at = o.json.find("\"pattern\":");
      patterns.insert(o.json.substr(at, o.json.find(',', at) - at));
    }
    EXPECT_EQ(patterns.size(), 3u) << collection;
    EXPECT_TRUE(
        patterns.contains("\"pattern\":\"[domain-name:value = 'evil-domain.example.com']\""))
        << collection;
  }
}

TEST_F(FeedCliTest, ExportAsOrgAppliesTlp) {
  {
    auto accounts = aegis::auth::Accounts::Open(db_);
    ASSERT_TRUE(accounts) << accounts.error().ToString();
    for (const char* id : {"trust-a", "trust-b"}) {
      aegis::auth::NewOrg org;
      org.id = id;
      org.name = id;
      auto created = (*accounts)->CreateOrg(org, aegis::auth::Actor::Cli());
      ASSERT_TRUE(created) << created.error().ToString();
    }
  }
  std::string list = Write("list.txt", kList);
  std::string err;
  CommandResult r =
      Aegis("feed import " + list + " --collection amber --org trust-a --tlp amber", &err);
  ASSERT_EQ(r.code, 0) << r.out << err;
  for (const auto& o : Objects("amber")) {
    EXPECT_EQ(o.meta.producer_org, "trust-a");
    EXPECT_NE(o.json.find("\"created_by_ref\":\"identity--"), std::string::npos) << o.json;
  }
  CommandResult own = Aegis("feed export --format csv --as-org trust-a");
  ASSERT_EQ(own.code, 0);
  EXPECT_EQ(std::count(own.out.begin(), own.out.end(), '\n'), 4) << own.out;
  CommandResult other = Aegis("feed export --format csv --as-org trust-b");
  ASSERT_EQ(other.code, 0);
  EXPECT_EQ(other.out, "type,value,first_seen,tlp,confidence,source\n");

  r = Aegis("feed import " + list + " --org nobody", &err);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(err.find("no organisation 'nobody'"), std::string::npos) << err;
  r = Aegis("feed export --format csv --as-org nobody", &err);
  EXPECT_EQ(r.code, 2);
}

TEST_F(FeedCliTest, RunOnceFromConfigAndUsageErrors) {
  std::string good = Write("good.txt", "good.example.com\n");
  std::string config = Write("aegis.toml", "[[feeds]]\nname = \"good\"\nurl = \"" + good +
                                               "\"\ncollection = \"cfg\"\ninterval = \"1h\"\n"
                                               "[[feeds]]\nname = \"gone\"\nurl = \"" +
                                               (dir_ / "gone.txt").string() +
                                               "\"\n"
                                               "[[feeds]]\nname = \"off\"\nurl = \"" +
                                               good + "\"\nenabled = false\n");
  CommandResult r = Aegis("feed run --config " + config + " --once --json");
  EXPECT_EQ(r.code, 1);  // "gone" failed
  EXPECT_NE(r.out.find("\"feed\":\"good\",\"status\":\"ok\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"feed\":\"gone\",\"status\":\"failed\""), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\"feed\":\"off\""), std::string::npos) << r.out;
  EXPECT_EQ(Objects("cfg").size(), 1u);
  r = Aegis("feed run --config " + config + " --once --feed good");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("not-modified"), std::string::npos) << r.out;

  std::string err;
  std::string bad = Write("bad.toml", "[[feeds]]\nname = \"x\"\nurl = \"y\"\nformat = \"yaml\"\n");
  r = Aegis("feed run --config " + bad + " --once", &err);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(err.find("bad.toml:4"), std::string::npos) << err;
  EXPECT_NE(err.find("feeds[0].format"), std::string::npos) << err;
  r = Aegis("feed import --format yaml " + good, &err);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(err.find("--format"), std::string::npos) << err;
  r = Aegis("feed export --format misp", &err);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(err.find("--out"), std::string::npos) << err;
  r = aegis::testing::RunCommand(AEGIS_BINARY, "feed --help");
  EXPECT_EQ(r.code, 0);
  for (const char* sub : {"import", "run", "export", "status"})
    EXPECT_NE(r.out.find(sub), std::string::npos);
}

TEST_F(FeedCliTest, RunSchedulesUntilInterrupted) {
  std::string good = Write("good.txt", "good.example.com\n");
  std::string config = Write("aegis.toml", "[[feeds]]\nname = \"good\"\nurl = \"" + good +
                                               "\"\ncollection = \"cfg\"\ninterval = \"1h\"\n");
  std::string out = (dir_ / "run.out").string();
  std::vector<std::string> args = {AEGIS_BINARY, "feed", "run", "--config", config, "--db", db_};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, AEGIS_BINARY, &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  bool ran = WaitFor([&] { return ReadAll(out).find("feed good: ok") != std::string::npos; });
  ::kill(pid, SIGINT);  // the scheduler now waits an hour: Ctrl-C must end it
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(ran) << ReadAll(out);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(Objects("cfg").size(), 1u);
}

}  // namespace
