// Tests of EventReader and DeadLetterFile: plain files, folders, stdin, gzip and zip
// (whole and truncated), JSON document splitting, over-long lines, follow mode.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/event.h"
#include "ingest/ingest.h"

namespace aegis::ingest {
namespace {

namespace fs = std::filesystem;

// Keeps copies of the bad records it is given.
class CollectingSink : public BadRecordSink {
 public:
  struct Copy {
    Error error;
    EventFormat format;
    std::string raw;
  };
  void Reject(const BadRecord& bad) override {
    std::lock_guard lock(mutex_);
    records.push_back({bad.error, bad.format, std::string(bad.raw)});
  }
  std::vector<Copy> records;

 private:
  std::mutex mutex_;
};

struct ReadResult {
  std::vector<Event> events;
  ReaderStats stats;
  uint64_t progress = 0;
  uint64_t total = 0;
};

ReadResult ReadAll(const std::string& path, CollectingSink& sink, ReaderOptions options = {}) {
  ReadResult result;
  auto reader = EventReader::Open(path, options, &sink);
  EXPECT_TRUE(reader.has_value()) << (reader ? "" : reader.error().ToString());
  if (!reader) return result;
  Event ev;
  while ((*reader)->Next(ev)) result.events.push_back(ev);
  result.stats = (*reader)->stats();
  result.progress = (*reader)->progress_bytes();
  result.total = (*reader)->total_bytes();
  return result;
}

std::string ZeekLine(int i) {
  return R"({"_path":"dns","ts":)" + std::to_string(1521911720 + i) + R"(.5,"uid":"C)" +
         std::to_string(i) + R"(","id.orig_h":"10.0.0.1","id.orig_p":1000,"query":"host)" +
         std::to_string(i) + R"(.example","answers":["10.1.1.1"]})";
}

std::string ZeekLines(int count) {
  std::string text;
  for (int i = 1; i <= count; ++i) text += ZeekLine(i) + "\n";
  return text;
}

const char kTsvLog[] =
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n"
    "#fields\tts\tuid\tquery\n#types\ttime\tstring\tstring\n"
    "1521911720.1\tC1\ta.example\n1521911720.2\tC2\tb.example\n";

class ReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "aegis-reader-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  std::string Write(const std::string& name, std::string_view content) {
    fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    return path.string();
  }

  std::string WriteGzip(const std::string& name, std::string_view content) {
    fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    gzFile gz = gzopen(path.c_str(), "wb6");
    EXPECT_NE(gz, nullptr);
    EXPECT_EQ(gzwrite(gz, content.data(), static_cast<unsigned>(content.size())),
              static_cast<int>(content.size()));
    gzclose(gz);
    return path.string();
  }

  std::string WriteZip(const std::string& name,
                       const std::vector<std::pair<std::string, std::string>>& entries) {
    std::string path = Path(name);
    int error = 0;
    zip_t* archive = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
    EXPECT_NE(archive, nullptr);
    for (const auto& [entry, content] : entries) {
      zip_source_t* source = zip_source_buffer(archive, content.data(), content.size(), 0);
      EXPECT_GE(zip_file_add(archive, entry.c_str(), source, ZIP_FL_ENC_UTF_8), 0);
    }
    EXPECT_EQ(zip_close(archive), 0);
    return path;
  }

  static void Truncate(const std::string& path, uint64_t size) {
    ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(size)), 0);
  }

  fs::path dir_;
};

TEST_F(ReaderTest, NdjsonLinesWithLineNumbersAndOffsets) {
  const std::string text = ZeekLines(3);
  const std::string path = Write("dns.json", text);
  CollectingSink sink;
  auto result = ReadAll(path, sink);
  ASSERT_EQ(result.events.size(), 3u);
  uint64_t offset = 0;
  for (int i = 0; i < 3; ++i) {
    const Event& ev = result.events[i];
    EXPECT_EQ(ev.source, path);
    EXPECT_EQ(ev.format, EventFormat::kZeekJson);
    EXPECT_EQ(ev.line, static_cast<uint64_t>(i + 1));
    EXPECT_EQ(ev.offset, offset);
    EXPECT_EQ(ev.raw, ZeekLine(i + 1));
    EXPECT_EQ(ev.Find("dns.question.name")->value, "host" + std::to_string(i + 1) + ".example");
    offset += ZeekLine(i + 1).size() + 1;
  }
  EXPECT_EQ(result.stats.files, 1u);
  EXPECT_EQ(result.stats.events, 3u);
  EXPECT_EQ(result.stats.records, 3u);
  EXPECT_EQ(result.stats.bytes, text.size());
  EXPECT_EQ(result.total, text.size());
  EXPECT_EQ(result.progress, text.size());
  EXPECT_TRUE(sink.records.empty());
}

TEST_F(ReaderTest, KeepRawFalseLeavesRawEmpty) {
  const std::string path = Write("dns.json", ZeekLines(2));
  CollectingSink sink;
  ReaderOptions options;
  options.keep_raw = false;
  auto result = ReadAll(path, sink, options);
  ASSERT_EQ(result.events.size(), 2u);
  EXPECT_TRUE(result.events[0].raw.empty());
}

TEST_F(ReaderTest, BrokenLineInTheMiddleIsReportedAndReadingGoesOn) {
  const std::string broken = R"({"_path":"dns","ts":1521911720.5,"query":)";
  const std::string text = ZeekLine(1) + "\n" + broken + "\n\n" + ZeekLine(3) + "\r\n";
  const std::string path = Write("dns.json", text);
  CollectingSink sink;
  auto result = ReadAll(path, sink);
  ASSERT_EQ(result.events.size(), 2u);
  EXPECT_EQ(result.events[1].line, 4u);          // the blank line 3 counts as a line
  EXPECT_EQ(result.events[1].raw, ZeekLine(3));  // CR removed
  ASSERT_EQ(sink.records.size(), 1u);
  const auto& bad = sink.records[0];
  EXPECT_EQ(bad.error.where, path);
  EXPECT_EQ(bad.error.line, 2u);
  EXPECT_EQ(bad.error.offset, ZeekLine(1).size() + 1);
  EXPECT_FALSE(bad.error.reason.empty());
  EXPECT_EQ(bad.raw, broken);
  EXPECT_EQ(bad.format, EventFormat::kZeekJson);
  EXPECT_EQ(result.stats.bad_records, 1u);
  EXPECT_EQ(result.stats.records, 3u);
  EXPECT_NE(bad.error.ToString().find(path + ":2: "), std::string::npos);
}

TEST_F(ReaderTest, LastLineWithoutNewline) {
  const std::string path = Write("dns.log", std::string(kTsvLog) + "1521911720.3\tC3\tc.example");
  CollectingSink sink;
  auto result = ReadAll(path, sink);
  ASSERT_EQ(result.events.size(), 3u);
  EXPECT_EQ(result.events[2].Find("dns.question.name")->value, "c.example");
  EXPECT_EQ(result.events[2].line, 10u);
}

TEST_F(ReaderTest, LinesLongerThanOneMebibyteAreRejected) {
  std::string text = ZeekLine(1) + "\n";
  text += R"({"_path":"dns","query":")" + std::string(1536 * 1024, 'a') + "\"}\n";
  text += ZeekLine(3) + "\n";
  text += std::string(3 * 1024 * 1024, 'b') + "\n";  // longer than the whole buffer
  text += ZeekLine(5) + "\n";
  const std::string path = Write("dns.json", text);
  CollectingSink sink;
  auto result = ReadAll(path, sink);
  ASSERT_EQ(result.events.size(), 3u);
  EXPECT_EQ(result.events[1].line, 3u);
  EXPECT_EQ(result.events[2].line, 5u);
  EXPECT_EQ(result.events[2].raw, ZeekLine(5));
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[0].error.line, 2u);
  EXPECT_NE(sink.records[0].error.reason.find("1 MiB"), std::string::npos);
  EXPECT_EQ(sink.records[1].error.line, 4u);
  EXPECT_EQ(result.stats.bad_records, 2u);
}

TEST_F(ReaderTest, FormatOverride) {
  // Sniffing says Zeek; the caller says Suricata.
  const std::string path = Write("x.json", R"({"_path":"dns","timestamp":"2021-01-01T00:00:00Z"})");
  CollectingSink sink;
  ReaderOptions options;
  options.format = EventFormat::kSuricataEve;
  auto result = ReadAll(path, sink, options);
  ASSERT_EQ(result.events.size(), 1u);
  EXPECT_EQ(result.events[0].format, EventFormat::kSuricataEve);
  EXPECT_EQ(result.events[0].timestamp_ns, 1609459200000000000);
}

TEST_F(ReaderTest, PrettyPrintedArraysAndConcatenatedJson) {
  const std::string text =
      "[\n"
      "  {\n    \"_path\": \"dns\",\n    \"ts\": 1.0,\n    \"query\": \"a.example\"\n  },\n"
      "  {\"_path\": \"dns\", \"ts\": 2.0, \"query\": \"b{}\\\"[.example\"}\n"
      "]\n"
      "{\"_path\":\"dns\",\"ts\":3.0,\"query\":\"c.example\"}{\"_path\":\"dns\",\"ts\":4.0,"
      "\"query\":\"d.example\"}\n"
      "garbage here\n"
      "{\"_path\":\"dns\",\"ts\":5.0,\n\"query\":\"e.example\"}\n"
      "{\"_path\":\"dns\",\"ts\":6.0,";  // cut short
  const std::string path = Write("pretty.json", text);
  CollectingSink sink;
  auto result = ReadAll(path, sink);
  ASSERT_EQ(result.events.size(), 5u);
  EXPECT_EQ(result.events[0].Find("dns.question.name")->value, "a.example");
  EXPECT_EQ(result.events[0].line, 2u);
  EXPECT_EQ(result.events[0].offset, text.find('{'));
  EXPECT_EQ(result.events[1].Find("dns.question.name")->value, "b{}\"[.example");
  EXPECT_EQ(result.events[1].line, 7u);
  EXPECT_EQ(result.events[2].line, 9u);
  EXPECT_EQ(result.events[3].line, 9u);
  EXPECT_EQ(result.events[3].offset, text.find("{\"_path\":\"dns\",\"ts\":4.0"));
  EXPECT_EQ(result.events[4].Find("dns.question.name")->value, "e.example");
  EXPECT_EQ(result.events[4].line, 11u);
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[0].error.line, 10u);
  EXPECT_EQ(sink.records[0].raw, "garbage here");
  EXPECT_EQ(sink.records[1].error.line, 13u);
  EXPECT_NE(sink.records[1].error.reason.find("incomplete"), std::string::npos);
}

TEST_F(ReaderTest, JsonDocumentsAndXmlElementsSpanningReads) {
  // Big enough that reads end inside documents and elements many times over.
  const int kCount = 30000;
  std::string json = "[\n";
  std::string xml = "<Events>\n";
  for (int i = 1; i <= kCount; ++i) {
    json += "  {\n    \"_path\": \"dns\",\n    \"ts\": " + std::to_string(i) +
            ",\n    \"query\": \"q" + std::to_string(i) + ".example\\\"}\"\n  }" +
            (i < kCount ? ",\n" : "\n");
    xml += "<Event xmlns='x'><System><EventRecordID>" + std::to_string(i) +
           "</EventRecordID></System>\n</Event>\n";
  }
  json += "]\n";
  xml += "</Events>\n";
  CollectingSink sink;
  auto json_result = ReadAll(WriteGzip("big.json.gz", json), sink);
  ASSERT_EQ(json_result.events.size(), static_cast<size_t>(kCount));
  for (int i = 0; i < kCount; ++i) {
    const Event& ev = json_result.events[i];
    ASSERT_EQ(ev.line, static_cast<uint64_t>(2 + 5 * i));
    ASSERT_EQ(ev.Find("dns.question.name")->value, "q" + std::to_string(i + 1) + ".example\"}");
  }
  EXPECT_TRUE(sink.records.empty());
  auto xml_result = ReadAll(WriteGzip("big.xml.gz", xml), sink);
  EXPECT_EQ(xml_result.stats.records, static_cast<uint64_t>(kCount));
  for (const auto& bad : sink.records) {
    ASSERT_TRUE(bad.raw.starts_with("<Event xmlns='x'>") && bad.raw.ends_with("</Event>"));
  }
}

TEST_F(ReaderTest, XmlEventsAreSplitWhereverLinesBreak) {
  const std::string event =
      "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
      "<Provider Name='Microsoft-Windows-Sysmon'/><EventID>1</EventID>"
      "<TimeCreated SystemTime='2020-01-01T00:00:00.000Z'/><EventRecordID>7</EventRecordID>"
      "<Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>pc</Computer></System>"
      "<EventData><Data Name='Image'>C:\\a.exe</Data></EventData></Event>";
  const std::string text =
      "<?xml version='1.0'?>\n<Events>\n" + event + "\n" + event + event + "\n</Events>\n";
  const std::string path = Write("events.xml", text);
  CollectingSink sink;
  auto result = ReadAll(path, sink);
  // Parsing is the Windows XML parser's business; splitting is the reader's.
  EXPECT_EQ(result.stats.records, 3u);
  EXPECT_EQ(result.stats.events + result.stats.bad_records, 3u);
  for (const auto& bad : sink.records) EXPECT_EQ(bad.raw, event);
  for (const Event& ev : result.events) EXPECT_EQ(ev.raw, event);
  if (result.events.size() == 3) {
    EXPECT_EQ(result.events[0].line, 3u);
    EXPECT_EQ(result.events[2].line, 4u);
    EXPECT_EQ(result.events[2].offset, text.rfind("<Event "));
  }
}

TEST_F(ReaderTest, GzipIsReadDirectlyAndProgressCountsCompressedBytes) {
  const std::string text = ZeekLines(2000);
  const std::string path = WriteGzip("dns.json.gz", text);
  CollectingSink sink;
  auto result = ReadAll(path, sink);
  ASSERT_EQ(result.events.size(), 2000u);
  EXPECT_EQ(result.events.back().line, 2000u);
  EXPECT_EQ(result.events.back().source, path);
  EXPECT_EQ(result.stats.bytes, text.size());
  EXPECT_EQ(result.total, fs::file_size(path));
  EXPECT_EQ(result.progress, fs::file_size(path));
  EXPECT_LT(result.total, text.size());
  EXPECT_TRUE(sink.records.empty());
}

TEST_F(ReaderTest, ConcatenatedGzipMembers) {
  const std::string path = WriteGzip("two.json.gz", ZeekLines(3));
  const std::string second = WriteGzip("second.gz", ZeekLines(2));
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    std::ifstream in(second, std::ios::binary);
    out << in.rdbuf();
  }
  fs::remove(second);
  CollectingSink sink;
  auto result = ReadAll(path, sink);
  EXPECT_EQ(result.events.size(), 5u);
  EXPECT_TRUE(sink.records.empty());
}

TEST_F(ReaderTest, TruncatedGzipKeepsEarlierRecordsAndReportsDamage) {
  const int kLines = 20000;
  const std::string path = WriteGzip("dns.json.gz", ZeekLines(kLines));
  const uint64_t size = fs::file_size(path);
  Truncate(path, size / 2);
  CollectingSink sink;
  auto result = ReadAll(path, sink);
  ASSERT_GT(result.events.size(), 1000u);
  ASSERT_LT(result.events.size(), static_cast<size_t>(kLines));
  for (size_t i = 0; i < result.events.size(); ++i) {
    ASSERT_EQ(result.events[i].line, i + 1);
    ASSERT_EQ(result.events[i].raw, ZeekLine(static_cast<int>(i + 1)));
  }
  EXPECT_EQ(result.stats.damaged_files, 1u);
  ASSERT_EQ(sink.records.size(), 1u);
  const auto& damage = sink.records[0];
  EXPECT_EQ(damage.error.where, path);
  EXPECT_NE(damage.error.reason.find("truncated gzip stream"), std::string::npos)
      << damage.error.reason;
  EXPECT_GT(damage.error.offset, 0u);
  EXPECT_EQ(damage.error.offset, result.stats.bytes);
}

TEST_F(ReaderTest, ZipEntriesAreReadInTurn) {
  const std::string path = WriteZip("logs.zip", {{"a/dns.json", ZeekLines(3)},
                                                 {"b.log", kTsvLog},
                                                 {"notes.txt", "just some text\n"},
                                                 {"empty/", ""},
                                                 {"c.json", ZeekLine(9) + "\n{broken\n"}});
  CollectingSink sink;
  auto result = ReadAll(path, sink);
  ASSERT_EQ(result.events.size(), 6u);
  EXPECT_EQ(result.events[0].source, path + "!a/dns.json");
  EXPECT_EQ(result.events[0].format, EventFormat::kZeekJson);
  EXPECT_EQ(result.events[3].source, path + "!b.log");
  EXPECT_EQ(result.events[3].format, EventFormat::kZeekTsv);
  EXPECT_EQ(result.events[4].line, 9u);
  EXPECT_EQ(result.events[5].source, path + "!c.json");
  EXPECT_EQ(result.stats.skipped_files, 1u);
  EXPECT_EQ(result.stats.bad_records, 1u);
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[0].error.where, path + "!notes.txt");
  EXPECT_EQ(sink.records[1].error.where, path + "!c.json");
  EXPECT_EQ(sink.records[1].error.line, 2u);
  EXPECT_EQ(result.progress, result.total);
}

TEST_F(ReaderTest, GzipInsideZip) {
  const std::string gz_path = WriteGzip("inner.json.gz", ZeekLines(4));
  std::ifstream in(gz_path, std::ios::binary);
  std::string gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string path = WriteZip("outer.zip", {{"inner.json.gz", gz}});
  CollectingSink sink;
  auto result = ReadAll(path, sink);
  EXPECT_EQ(result.events.size(), 4u);
}

TEST_F(ReaderTest, TruncatedZipKeepsEntriesBeforeTheDamage) {
  std::string big = ZeekLines(20000);
  const std::string path =
      WriteZip("logs.zip", {{"first.json", ZeekLines(5)}, {"second.json", big}});
  Truncate(path, fs::file_size(path) / 2);  // inside the second entry's data
  CollectingSink sink;
  auto result = ReadAll(path, sink);
  ASSERT_GT(result.events.size(), 5u);
  ASSERT_LT(result.events.size(), 20005u);
  EXPECT_EQ(result.events[0].source, path + "!first.json");
  EXPECT_EQ(result.events[5].source, path + "!second.json");
  for (size_t i = 5; i < result.events.size(); ++i) ASSERT_EQ(result.events[i].line, i - 4);
  EXPECT_EQ(result.stats.damaged_files, 1u);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_NE(sink.records[0].error.reason.find("truncated zip"), std::string::npos)
      << sink.records[0].error.reason;
  EXPECT_EQ(sink.records[0].error.where, path + "!second.json");
}

TEST_F(ReaderTest, FoldersRecurseInSortedOrder) {
  Write("logs/b/dns.json", ZeekLines(2));
  WriteGzip("logs/a/deeper/dns.log.gz", kTsvLog);
  Write("logs/c.json", ZeekLine(7) + "\n");
  Write("logs/README.md", "# not a log\n");
  Write("logs/empty.log", "");
  CollectingSink sink;
  auto result = ReadAll(Path("logs"), sink);
  ASSERT_EQ(result.events.size(), 5u);
  EXPECT_EQ(result.events[0].source, Path("logs/a/deeper/dns.log.gz"));
  EXPECT_EQ(result.events[2].source, Path("logs/b/dns.json"));
  EXPECT_EQ(result.events[4].source, Path("logs/c.json"));
  EXPECT_EQ(result.stats.skipped_files, 1u);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].error.where, Path("logs/README.md"));
  EXPECT_EQ(result.stats.files, 5u);
  EXPECT_EQ(result.progress, result.total);
}

TEST_F(ReaderTest, OpenFailsForMissingPaths) {
  CollectingSink sink;
  auto reader = EventReader::Open(Path("does-not-exist.json"), {}, &sink);
  ASSERT_FALSE(reader);
  EXPECT_NE(reader.error().ToString().find("does-not-exist.json"), std::string::npos);
}

TEST_F(ReaderTest, UnrecognisedFileIsSkippedWithOneNotice) {
  const std::string path = Write("notes.txt", "hello\nworld\n");
  CollectingSink sink;
  auto result = ReadAll(path, sink);
  EXPECT_TRUE(result.events.empty());
  EXPECT_EQ(result.stats.skipped_files, 1u);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].error.where, path);
}

TEST_F(ReaderTest, StdinIsRead) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const int saved_stdin = ::dup(STDIN_FILENO);
  ASSERT_GE(saved_stdin, 0);
  ASSERT_EQ(::dup2(pipe_fds[0], STDIN_FILENO), STDIN_FILENO);
  ::close(pipe_fds[0]);
  const std::string text = ZeekLines(50);
  std::thread writer([&] {
    // In two parts, to exercise reading from a pipe that delivers data piecemeal.
    size_t half = text.size() / 2;
    EXPECT_EQ(::write(pipe_fds[1], text.data(), half), static_cast<ssize_t>(half));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(::write(pipe_fds[1], text.data() + half, text.size() - half),
              static_cast<ssize_t>(text.size() - half));
    ::close(pipe_fds[1]);
  });
  CollectingSink sink;
  auto result = ReadAll("-", sink);
  writer.join();
  ::dup2(saved_stdin, STDIN_FILENO);
  ::close(saved_stdin);
  ASSERT_EQ(result.events.size(), 50u);
  EXPECT_EQ(result.events[0].source, "stdin");
  EXPECT_EQ(result.events[49].line, 50u);
  EXPECT_EQ(result.total, 0u);
  EXPECT_EQ(result.progress, text.size());
}

TEST_F(ReaderTest, FollowPicksUpAppendedLinesTruncationAndRotation) {
  const std::string path = Write("live.json", ZeekLines(2));
  std::atomic<bool> stop{false};
  std::atomic<int> received{0};
  ReaderOptions options;
  options.follow = true;
  options.follow_poll_ms = 20;
  options.stop = &stop;
  CollectingSink sink;
  auto reader = EventReader::Open(path, options, &sink);
  ASSERT_TRUE(reader);
  auto append = [&](const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << text;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  // Waits until the reader has had `count` events (so that no step overtakes it); gives
  // up at the deadline and stops the reader, so that a failure cannot hang the test.
  auto wait_for = [&](int count) {
    while (received.load() < count) {
      if (std::chrono::steady_clock::now() > deadline) {
        stop = true;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  };
  std::thread writer([&] {
    if (!wait_for(2)) return;
    append(ZeekLine(3) + "\n");
    if (!wait_for(3)) return;
    append(ZeekLine(4).substr(0, 20));  // half a line: waits for the rest
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    append(ZeekLine(4).substr(20) + "\n");
    if (!wait_for(4)) return;
    // Truncated in place, then rewritten (copytruncate rotation).
    { std::ofstream out(path, std::ios::binary | std::ios::trunc); }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    append(ZeekLine(5) + "\n");
    if (!wait_for(5)) return;
    // Renamed away and replaced by a new file (create rotation).
    fs::rename(path, path + ".1");
    std::ofstream(path, std::ios::binary) << ZeekLine(6) << "\n";
    wait_for(6);
  });
  Event ev;
  std::vector<std::string> queries;
  std::vector<uint64_t> lines;
  while (queries.size() < 6 && (*reader)->Next(ev)) {
    queries.emplace_back(ev.Find("dns.question.name")->value);
    lines.push_back(ev.line);
    ++received;
  }
  writer.join();
  stop = true;
  EXPECT_FALSE((*reader)->Next(ev));
  EXPECT_EQ(queries, (std::vector<std::string>{"host1.example", "host2.example", "host3.example",
                                               "host4.example", "host5.example", "host6.example"}));
  EXPECT_EQ(lines, (std::vector<uint64_t>{1, 2, 3, 4, 1, 1}));
  EXPECT_TRUE(sink.records.empty());
}

TEST_F(ReaderTest, FollowEndsWhenStopIsSet) {
  const std::string path = Write("quiet.json", ZeekLines(1));
  std::atomic<bool> stop{false};
  ReaderOptions options;
  options.follow = true;
  options.follow_poll_ms = 10;
  options.stop = &stop;
  CollectingSink sink;
  auto reader = EventReader::Open(path, options, &sink);
  ASSERT_TRUE(reader);
  Event ev;
  ASSERT_TRUE((*reader)->Next(ev));
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop = true;
  });
  auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE((*reader)->Next(ev));
  stopper.join();
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(90));
}

// Rotation right after the file grew: the old file's new lines are read before the new
// file, and a half-written last line of the old file is reported, not dropped.
TEST_F(ReaderTest, FollowDrainsTheOldFileBeforeSwitchingOnRotation) {
  const std::string path = Write("live.json", ZeekLines(3));
  std::atomic<bool> stop{false};
  std::atomic<int> received{0};
  ReaderOptions options;
  options.follow = true;
  options.follow_poll_ms = 300;  // the writer's steps all fall into one wait
  options.stop = &stop;
  CollectingSink sink;
  auto reader = EventReader::Open(path, options, &sink);
  ASSERT_TRUE(reader);
  const std::string partial = ZeekLine(7).substr(0, 30);
  std::thread writer([&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (received.load() < 3) {
      if (std::chrono::steady_clock::now() > deadline) {
        stop = true;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the reader is waiting
    {
      std::ofstream out(path, std::ios::binary | std::ios::app);
      out << ZeekLine(4) << "\n" << ZeekLine(5) << "\n" << ZeekLine(6) << "\n" << partial;
    }
    fs::rename(path, path + ".1");
    std::ofstream(path, std::ios::binary) << ZeekLine(8) << "\n" << ZeekLine(9) << "\n";
    // A safety net: the reader should be done (and set stop) long before.
    for (int i = 0; i < 1000 && !stop; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    stop = true;
  });
  Event ev;
  std::vector<std::string> queries;
  std::vector<uint64_t> lines;
  while (queries.size() < 8 && (*reader)->Next(ev)) {
    queries.emplace_back(ev.Find("dns.question.name")->value);
    lines.push_back(ev.line);
    ++received;
  }
  stop = true;
  writer.join();
  EXPECT_EQ(queries,
            (std::vector<std::string>{"host1.example", "host2.example", "host3.example",
                                      "host4.example", "host5.example", "host6.example",
                                      "host8.example", "host9.example"}));
  EXPECT_EQ(lines, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 1, 2}));
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].error.reason, "incomplete last line before rotation");
  EXPECT_EQ(sink.records[0].error.line, 7u);
  EXPECT_EQ(sink.records[0].raw, partial);
}

// `aegis run -` must be stoppable: a quiet pipe on stdin does not block Next() for ever.
TEST_F(ReaderTest, StdinReadingEndsWhenStopIsSet) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const int saved_stdin = ::dup(STDIN_FILENO);
  ASSERT_GE(saved_stdin, 0);
  ASSERT_EQ(::dup2(pipe_fds[0], STDIN_FILENO), STDIN_FILENO);
  ::close(pipe_fds[0]);
  const std::string line = ZeekLine(1) + "\n";
  ASSERT_EQ(::write(pipe_fds[1], line.data(), line.size()), static_cast<ssize_t>(line.size()));
  std::atomic<bool> stop{false};
  std::atomic<bool> done{false};
  ReaderOptions options;
  options.follow_poll_ms = 20;
  options.stop = &stop;
  CollectingSink sink;
  auto reader = EventReader::Open("-", options, &sink);
  ASSERT_TRUE(reader);
  Event ev;
  ASSERT_TRUE((*reader)->Next(ev));
  // Sets stop after 100 ms; closes the pipe after 10 s should the reader never stop, so
  // that a failure cannot hang the test.
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop = true;
    for (int i = 0; i < 1000 && !done; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::close(pipe_fds[1]);
  });
  auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE((*reader)->Next(ev));
  auto elapsed = std::chrono::steady_clock::now() - started;
  done = true;
  stopper.join();
  ::dup2(saved_stdin, STDIN_FILENO);
  ::close(saved_stdin);
  EXPECT_GE(elapsed, std::chrono::milliseconds(90));
  EXPECT_LT(elapsed, std::chrono::seconds(3));
  EXPECT_EQ((*reader)->stats().events, 1u);
  EXPECT_TRUE(sink.records.empty());
}

// Like tail -F: a followed file that does not exist yet is waited for.
TEST_F(ReaderTest, FollowWaitsForAFileThatDoesNotExistYet) {
  const std::string path = Path("later.json");
  std::atomic<bool> stop{false};
  ReaderOptions options;
  options.follow = true;
  options.follow_poll_ms = 20;
  options.stop = &stop;
  CollectingSink sink;
  // Without follow, or when the folder is missing too, it stays an error.
  EXPECT_FALSE(EventReader::Open(path, {}, &sink));
  EXPECT_FALSE(EventReader::Open(Path("no-folder/later.json"), options, &sink));
  auto reader = EventReader::Open(path, options, &sink);
  ASSERT_TRUE(reader) << reader.error().ToString();
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::ofstream(path, std::ios::binary) << ZeekLines(2);
    for (int i = 0; i < 1000 && !stop; ++i) {  // a safety net
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    stop = true;
  });
  Event ev;
  std::vector<uint64_t> lines;
  while (lines.size() < 2 && (*reader)->Next(ev)) lines.push_back(ev.line);
  stop = true;
  writer.join();
  EXPECT_FALSE((*reader)->Next(ev));
  EXPECT_EQ(lines, (std::vector<uint64_t>{1, 2}));
  EXPECT_TRUE(sink.records.empty());
}

TEST_F(ReaderTest, FollowOfAMissingFileEndsWhenStopIsSet) {
  std::atomic<bool> stop{false};
  ReaderOptions options;
  options.follow = true;
  options.follow_poll_ms = 10;
  options.stop = &stop;
  CollectingSink sink;
  auto reader = EventReader::Open(Path("never.json"), options, &sink);
  ASSERT_TRUE(reader);
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop = true;
  });
  Event ev;
  EXPECT_FALSE((*reader)->Next(ev));
  stopper.join();
  EXPECT_TRUE(sink.records.empty());
}

// A format forced on the wrong input says why nothing was read.
TEST_F(ReaderTest, ForcedFormatOnTheWrongInputGivesTheReason) {
  const std::string text = Write("notes.txt", "hello\nworld\n");
  CollectingSink sink;
  ReaderOptions options;
  options.format = EventFormat::kEvtx;
  auto result = ReadAll(text, sink, options);
  EXPECT_TRUE(result.events.empty());
  EXPECT_EQ(result.stats.skipped_files, 1u);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].error.where, text);
  EXPECT_NE(sink.records[0].error.reason.find("not an EVTX file (no ElfFile header)"),
            std::string::npos)
      << sink.records[0].error.reason;

  std::string bytes;
  for (int i = 0; i < 3000; ++i) bytes += static_cast<char>((i * 37 + 11) % 256);
  const std::string random = Write("random.bin", bytes);
  CollectingSink xml_sink;
  options.format = EventFormat::kWindowsXml;
  result = ReadAll(random, xml_sink, options);
  EXPECT_TRUE(result.events.empty());
  EXPECT_EQ(result.stats.bad_records, 1u);
  ASSERT_EQ(xml_sink.records.size(), 1u);
  EXPECT_EQ(xml_sink.records[0].error.where, random);
  EXPECT_EQ(xml_sink.records[0].error.reason, "no <Event> record found");
  EXPECT_EQ(xml_sink.records[0].format, EventFormat::kWindowsXml);
  EXPECT_FALSE(xml_sink.records[0].raw.empty());
}

// Files of no recognised format in a folder: counted and reported once each, with why.
TEST_F(ReaderTest, FolderScanCountsAndReportsUnrecognisedFilesOnce) {
  Write("logs/dns.json", ZeekLines(2));
  std::string garbage;
  for (int i = 0; i < 2000; ++i) garbage += static_cast<char>((i * 91 + 7) % 256);
  Write("logs/garbage.bin", garbage);
  // A tar stream (a ustar header, then a Zeek log) inside gzip: tar is not read.
  std::string tar(512, '\0');
  tar.replace(0, 8, "dns.json");
  tar.replace(257, 6, std::string("ustar\0", 6));
  tar += ZeekLines(2);
  tar.resize(tar.size() + 1024, '\0');
  WriteGzip("logs/archive.tar.gz", tar);
  // A pcap capture.
  Write("logs/traffic.cap", std::string("\xd4\xc3\xb2\xa1\x02\x00\x04\x00", 8) +
                                std::string(16, '\0') + std::string(64, '\x42'));
  CollectingSink sink;
  auto result = ReadAll(Path("logs"), sink);
  EXPECT_EQ(result.events.size(), 2u);
  EXPECT_EQ(result.stats.skipped_files, 3u);
  EXPECT_EQ(result.stats.bad_records, 0u);
  ASSERT_EQ(sink.records.size(), 3u);
  std::vector<std::string> where;
  for (const auto& record : sink.records) {
    where.push_back(record.error.where);
    EXPECT_NE(record.error.reason.find("format not recognised"), std::string::npos)
        << record.error.reason;
  }
  EXPECT_EQ(where, (std::vector<std::string>{Path("logs/archive.tar.gz"),
                                             Path("logs/garbage.bin"),
                                             Path("logs/traffic.cap")}));
}

TEST_F(ReaderTest, DeadLetterFileWritesJsonLines) {
  const std::string dead_path = Path("dead.jsonl");
  const std::string path = Write("dns.json", ZeekLine(1) + "\n{bad \xff line\n" + "[1]\n");
  {
    DeadLetterFile dead(dead_path);
    auto reader = EventReader::Open(path, {}, &dead);
    ASSERT_TRUE(reader);
    Event ev;
    int events = 0;
    while ((*reader)->Next(ev)) ++events;
    EXPECT_EQ(events, 1);
    EXPECT_EQ(dead.count(), 2u);
    EXPECT_EQ(dead.path(), dead_path);
  }
  std::ifstream in(dead_path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("\"where\":\"" + path + "\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"line\":2"), std::string::npos);
  EXPECT_NE(lines[0].find("\"format\":\"zeek-json\""), std::string::npos);
  EXPECT_NE(lines[0].find("\"raw\":\"{bad \xEF\xBF\xBD line\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("\"line\":3"), std::string::npos);
  // Counting only.
  DeadLetterFile counter("");
  counter.Reject(BadRecord{});
  EXPECT_EQ(counter.count(), 1u);
}

TEST_F(ReaderTest, SharedEvtxFile) {
  const fs::path root = std::string(AEGIS_SHARED_DATA) + "/sigma/regression_data";
  if (!fs::exists(root)) GTEST_SKIP() << "shared data not found at " << root;
  std::string evtx;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().extension() == ".evtx") {
      evtx = entry.path().string();
      break;
    }
  }
  if (evtx.empty()) GTEST_SKIP() << "no .evtx file under " << root;
  CollectingSink sink;
  auto result = ReadAll(evtx, sink);
  ASSERT_FALSE(result.events.empty()) << evtx;
  EXPECT_EQ(result.events[0].format, EventFormat::kWindowsXml);
  EXPECT_EQ(result.events[0].source, evtx);
  EXPECT_GE(result.events[0].line, 1u);
  EXPECT_EQ(result.stats.files, 1u);
  EXPECT_EQ(result.progress, result.total);
}

TEST_F(ReaderTest, SharedZeekDnsCountsMatchLineCounts) {
  const std::string path = std::string(AEGIS_SHARED_DATA) + "/events/zeek/zeek-json/dns.json.gz";
  if (!fs::exists(path)) GTEST_SKIP() << "shared Zeek data not found: " << path;
  CollectingSink sink;
  ReaderOptions options;
  options.keep_raw = false;
  auto reader = EventReader::Open(path, options, &sink);
  ASSERT_TRUE(reader);
  Event ev;
  uint64_t events = 0;
  auto started = std::chrono::steady_clock::now();
  while ((*reader)->Next(ev)) ++events;
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
  // The independent count: `zcat dns.json.gz | wc -l`.
  EXPECT_EQ(events, 53615u);
  EXPECT_EQ((*reader)->stats().bad_records, 0u);
  EXPECT_TRUE(sink.records.empty());
  std::printf("[ info ] read+parse %.0f ns/event (gzip included)\n",
              elapsed.count() * 1e9 / static_cast<double>(events));
}

}  // namespace
}  // namespace aegis::ingest
