// Tests for SyslogListener (src/ingest/syslog_listener.cc): messages sent by the real
// `logger` command (util-linux) over UDP and TCP, and raw sends from the test for TCP
// framing edge cases, oversize messages, bad records, IPv6 and start-up errors.
// Every wait polls with a generous timeout; nothing asserts on timing.
#include "ingest/syslog_listener.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/event.h"
#include "ingest/ingest.h"

namespace aegis::ingest {
namespace {

constexpr auto kWaitLimit = std::chrono::seconds(15);

struct Received {
  std::string source;
  EventFormat format = EventFormat::kUnknown;
  int64_t timestamp_ns = 0;
  uint64_t line = 0;
  uint64_t offset = 0;
  std::string raw;
  std::string host;
  std::string app;
  std::string pid;
  std::string message;
  std::string source_ip;  // from CEF
};

struct Rejected {
  Error error;
  EventFormat format;
  std::string raw;
};

// Collects events (from the listener thread) and bad records; waits for them.
class Collector : public BadRecordSink {
 public:
  SyslogListener::EventHandler Handler() {
    return [this](Event& ev) {
      Received r;
      r.source = ev.source;
      r.format = ev.format;
      r.timestamp_ns = ev.timestamp_ns;
      r.line = ev.line;
      r.offset = ev.offset;
      r.raw = ev.raw;
      auto value = [&ev](std::string_view name) {
        const Field* f = ev.Find(name);
        return f ? f->value : std::string();
      };
      r.host = value("host.name");
      r.app = value("process.name");
      r.pid = value("process.pid");
      r.message = value("message");
      r.source_ip = value("source.ip");
      std::lock_guard lock(mutex_);
      events_.push_back(std::move(r));
      changed_.notify_all();
    };
  }

  void Reject(const BadRecord& bad) override {
    std::lock_guard lock(mutex_);
    rejected_.push_back({bad.error, bad.format, std::string(bad.raw)});
    changed_.notify_all();
  }

  // The first event whose message is `message`, waiting for it to arrive.
  std::optional<Received> WaitForMessage(const std::string& message) {
    std::unique_lock lock(mutex_);
    std::optional<Received> found;
    changed_.wait_for(lock, kWaitLimit, [&] {
      for (const Received& r : events_) {
        if (r.message == message) {
          found = r;
          return true;
        }
      }
      return false;
    });
    return found;
  }

  bool WaitForEvents(size_t count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kWaitLimit, [&] { return events_.size() >= count; });
  }

  bool WaitForRejected(size_t count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kWaitLimit, [&] { return rejected_.size() >= count; });
  }

  std::vector<Received> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }
  std::vector<Rejected> rejected() {
    std::lock_guard lock(mutex_);
    return rejected_;
  }

 private:
  std::mutex mutex_;  // guards events_, rejected_
  std::condition_variable changed_;
  std::vector<Received> events_;
  std::vector<Rejected> rejected_;
};

bool WaitUntil(const std::function<bool()>& condition) {
  auto deadline = std::chrono::steady_clock::now() + kWaitLimit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

sockaddr_storage LoopbackAddress(bool v6, uint16_t port, socklen_t* length) {
  sockaddr_storage storage{};
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    a->sin6_port = htons(port);
    *length = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&storage);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->sin_port = htons(port);
    *length = sizeof(sockaddr_in);
  }
  return storage;
}

void SendUdp(uint16_t port, const std::string& payload, bool v6 = false) {
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  socklen_t length = 0;
  sockaddr_storage to = LoopbackAddress(v6, port, &length);
  ASSERT_EQ(sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to), length),
            static_cast<ssize_t>(payload.size()));
  close(fd);
}

int ConnectTcp(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  socklen_t length = 0;
  sockaddr_storage to = LoopbackAddress(false, port, &length);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&to), length) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

void WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    ASSERT_GT(n, 0);
    done += static_cast<size_t>(n);
  }
}

std::string OctetFrame(const std::string& message) {
  return std::to_string(message.size()) + " " + message;
}

std::string ShortHostName() {
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  std::string host = name;
  return host.substr(0, host.find('.'));
}

// A unique message text, so that tests never match each other's messages.
std::string Unique(const std::string& text) {
  static int counter = 0;
  return text + " #" + std::to_string(getpid()) + "-" + std::to_string(++counter);
}

class SyslogListenerTest : public ::testing::Test {
 protected:
  void StartListener(SyslogListenerOptions options = {}) {
    if (options.bind_addresses == SyslogListenerOptions{}.bind_addresses) {
      options.bind_addresses = {"127.0.0.1:0"};
    }
    auto started = SyslogListener::Start(options, collector_.Handler(), &collector_);
    ASSERT_TRUE(started) << started.error().ToString();
    listener_ = std::move(*started);
    ASSERT_NE(listener_->udp_port(), 0);
    ASSERT_NE(listener_->tcp_port(), 0);
  }

  void Logger(const std::string& transport_options, const std::string& message) {
    uint16_t port = transport_options.find("--udp") != std::string::npos ? listener_->udp_port()
                                                                         : listener_->tcp_port();
    std::string command = "logger --server 127.0.0.1 --port " + std::to_string(port) + " " +
                          transport_options + " -t aegistest '" + message + "'";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }

  void ExpectFromLogger(const Received& r, EventFormat format, const std::string& scheme) {
    EXPECT_EQ(r.format, format);
    EXPECT_EQ(r.app, "aegistest");
    EXPECT_TRUE(r.host == ShortHostName() || r.host.starts_with(ShortHostName() + ".")) << r.host;
    EXPECT_TRUE(r.source.starts_with(scheme + "://127.0.0.1:")) << r.source;
    EXPECT_NE(r.timestamp_ns, 0);
    EXPECT_FALSE(r.raw.empty());
  }

  Collector collector_;
  std::unique_ptr<SyslogListener> listener_;
};

TEST_F(SyslogListenerTest, LoggerOverUdpRfc5424And3164) {
  StartListener();
  std::string message_5424 = Unique("udp 5424 message");
  Logger("--udp --rfc5424", message_5424);
  auto received = collector_.WaitForMessage(message_5424);
  ASSERT_TRUE(received) << "no event for: " << message_5424;
  ExpectFromLogger(*received, EventFormat::kSyslog5424, "udp");
  EXPECT_EQ(received->offset, 0u);

  std::string message_3164 = Unique("udp 3164 message");
  Logger("--udp --rfc3164", message_3164);
  received = collector_.WaitForMessage(message_3164);
  ASSERT_TRUE(received) << "no event for: " << message_3164;
  ExpectFromLogger(*received, EventFormat::kSyslog3164, "udp");
  EXPECT_TRUE(received->raw.starts_with("<13>")) << received->raw;
}

TEST_F(SyslogListenerTest, LoggerOverTcpNewlineAndOctetCounting) {
  StartListener();
  // logger's default TCP framing is newline-terminated (RFC 6587 non-transparent).
  std::string message_5424 = Unique("tcp 5424 message");
  Logger("--tcp --rfc5424", message_5424);
  auto received = collector_.WaitForMessage(message_5424);
  ASSERT_TRUE(received) << "no event for: " << message_5424;
  ExpectFromLogger(*received, EventFormat::kSyslog5424, "tcp");
  EXPECT_EQ(received->line, 1u);

  std::string message_3164 = Unique("tcp 3164 message");
  Logger("--tcp --rfc3164", message_3164);
  received = collector_.WaitForMessage(message_3164);
  ASSERT_TRUE(received) << "no event for: " << message_3164;
  ExpectFromLogger(*received, EventFormat::kSyslog3164, "tcp");

  std::string message_octet = Unique("tcp octet-counted message");
  Logger("--tcp --octet-count --rfc5424", message_octet);
  received = collector_.WaitForMessage(message_octet);
  ASSERT_TRUE(received) << "no event for: " << message_octet;
  ExpectFromLogger(*received, EventFormat::kSyslog5424, "tcp");
  EXPECT_EQ(received->line, 0u);    // octet counting is not line-based
  EXPECT_GT(received->offset, 0u);  // the payload starts after "MSG-LEN "

  EXPECT_TRUE(WaitUntil([&] { return listener_->stats().connections >= 3; }));
  EXPECT_EQ(listener_->stats().bad_records, 0u);
}

TEST_F(SyslogListenerTest, LoggerSendsSeveralLinesOnOneConnection) {
  StartListener();
  std::string first = Unique("stdin line one");
  std::string second = Unique("stdin line two");
  for (std::string framing : {"--tcp", "--tcp --octet-count"}) {
    std::string command =
        "printf '%s\\n%s\\n' '" + first + "' '" + second + "' | logger --server 127.0.0.1 --port " +
        std::to_string(listener_->tcp_port()) + " " + framing + " --rfc5424 -t aegistest";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  ASSERT_TRUE(collector_.WaitForEvents(4));
  auto events = collector_.events();
  int firsts = 0, seconds = 0;
  for (const Received& r : events) {
    firsts += r.message == first;
    seconds += r.message == second;
  }
  EXPECT_EQ(firsts, 2);
  EXPECT_EQ(seconds, 2);
}

TEST_F(SyslogListenerTest, RawTcpOctetCountingEdgeCases) {
  SyslogListenerOptions options;
  options.max_message_bytes = 1024;
  StartListener(options);
  int fd = ConnectTcp(listener_->tcp_port());
  ASSERT_GE(fd, 0);
  std::string multi_line = "<13>1 - h app - - - line1\nline2";
  std::string split = "<13>1 - h app - - - split across writes";
  std::string after = "<13>1 - h app - - - after the oversize frame";
  std::string stream = OctetFrame(multi_line) + OctetFrame(split);
  // Two writes that cut a frame in the middle of its payload.
  size_t cut = stream.size() - 10;
  WriteAll(fd, stream.substr(0, cut));
  WriteAll(fd, stream.substr(cut));
  // An oversize frame is skipped as a whole and framing continues after it.
  WriteAll(fd, OctetFrame("<13>1 - h app - - - " + std::string(2000, 'x')) + OctetFrame(after));
  ASSERT_TRUE(collector_.WaitForMessage("after the oversize frame"));
  EXPECT_TRUE(collector_.WaitForMessage("line1\nline2"));
  EXPECT_TRUE(collector_.WaitForMessage("split across writes"));
  ASSERT_TRUE(collector_.WaitForRejected(1));
  auto rejected = collector_.rejected();
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].error.reason, "message of 2020 bytes exceeds max_message_bytes (1024)");
  EXPECT_TRUE(rejected[0].error.where.starts_with("tcp://127.0.0.1:"));

  // A frame cut short by the end of the connection is a bad record.
  WriteAll(fd, "100 <13>1 - h app - - - short");
  shutdown(fd, SHUT_WR);
  ASSERT_TRUE(collector_.WaitForRejected(2));
  EXPECT_EQ(collector_.rejected()[1].error.reason,
            "connection closed inside a frame: 25 of 100 bytes received");
  close(fd);

  // An octet-counted stream that stops being one is closed.
  fd = ConnectTcp(listener_->tcp_port());
  ASSERT_GE(fd, 0);
  WriteAll(fd, OctetFrame("<13>1 - h a - - - good frame") + "12x <13>1 - h a - - - m");
  ASSERT_TRUE(collector_.WaitForRejected(3));
  EXPECT_EQ(collector_.rejected()[2].error.field, "frame");
  EXPECT_TRUE(collector_.WaitForMessage("good frame"));
  char byte;
  EXPECT_EQ(read(fd, &byte, 1), 0);  // the listener closed its end
  close(fd);
  EXPECT_EQ(listener_->stats().events, 4u);
  EXPECT_EQ(listener_->stats().bad_records, 3u);
}

TEST_F(SyslogListenerTest, RawTcpNewlineFramingEdgeCases) {
  SyslogListenerOptions options;
  options.max_message_bytes = 1024;
  StartListener(options);
  int fd = ConnectTcp(listener_->tcp_port());
  ASSERT_GE(fd, 0);
  WriteAll(fd,
           "<13>1 - h app - - - crlf ended\r\n"
           "<13>Jun  1 10:00:00 h app2: bsd line\n" +
               std::string(3000, 'y') + "\n" +  // oversize: bad, then framing resumes
               "CEF:0|Acme|Gate|1|2|n|3|src=10.9.8.7 msg=bare cef\n"
               "\n"  // an empty line is no message
               "<999>1 - h a - - - bad pri\n"
               "<13>1 - h app - - - no final newline");
  shutdown(fd, SHUT_WR);
  ASSERT_TRUE(collector_.WaitForMessage("no final newline"));
  auto crlf = collector_.WaitForMessage("crlf ended");
  ASSERT_TRUE(crlf);
  EXPECT_EQ(crlf->line, 1u);
  EXPECT_EQ(crlf->offset, 0u);
  EXPECT_EQ(crlf->raw, "<13>1 - h app - - - crlf ended");
  auto bsd = collector_.WaitForMessage("bsd line");
  ASSERT_TRUE(bsd);
  EXPECT_EQ(bsd->format, EventFormat::kSyslog3164);
  EXPECT_EQ(bsd->app, "app2");
  EXPECT_EQ(bsd->line, 2u);
  auto cef = collector_.WaitForMessage("bare cef");
  ASSERT_TRUE(cef);
  EXPECT_EQ(cef->format, EventFormat::kCef);
  EXPECT_EQ(cef->source_ip, "10.9.8.7");
  EXPECT_EQ(cef->line, 4u);

  ASSERT_TRUE(collector_.WaitForRejected(2));
  auto rejected = collector_.rejected();
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_EQ(rejected[0].error.field, "message");
  EXPECT_EQ(rejected[0].error.line, 3u);
  EXPECT_EQ(rejected[1].error.field, "syslog.priority");
  EXPECT_EQ(rejected[1].error.reason, "PRI 999 is out of range 0-191");
  EXPECT_EQ(rejected[1].format, EventFormat::kSyslog5424);
  EXPECT_EQ(rejected[1].raw, "<999>1 - h a - - - bad pri");
  close(fd);
  ASSERT_TRUE(WaitUntil([&] { return listener_->stats().events == 4; }));
  EXPECT_EQ(listener_->stats().messages, 6u);
}

TEST_F(SyslogListenerTest, LineStartingWithADigitIsNewlineFramed) {
  StartListener();
  int fd = ConnectTcp(listener_->tcp_port());
  ASSERT_GE(fd, 0);
  WriteAll(fd, "2024");  // not enough to tell the framing yet
  WriteAll(fd, "-05-01T10:00:00Z db1 postgres[9]: iso line\n");
  auto received = collector_.WaitForMessage("iso line");
  ASSERT_TRUE(received);
  EXPECT_EQ(received->format, EventFormat::kSyslog3164);
  EXPECT_EQ(received->host, "db1");
  EXPECT_EQ(received->line, 1u);
  close(fd);
}

TEST_F(SyslogListenerTest, RawUdpCefOversizeAndBadRecords) {
  SyslogListenerOptions options;
  options.max_message_bytes = 1024;
  StartListener(options);
  SendUdp(listener_->udp_port(), "CEF:0|Acme|Gate|1|2|n|3|src=192.0.2.44 msg=udp cef\n");
  auto cef = collector_.WaitForMessage("udp cef");
  ASSERT_TRUE(cef);
  EXPECT_EQ(cef->format, EventFormat::kCef);
  EXPECT_EQ(cef->source_ip, "192.0.2.44");
  EXPECT_NE(cef->timestamp_ns, 0);  // no time in the record: the time it was received

  SendUdp(listener_->udp_port(), "<13>1 - h a - - - " + std::string(2000, 'z'));
  ASSERT_TRUE(collector_.WaitForRejected(1));
  SendUdp(listener_->udp_port(), "<13>1 2024-99-01T00:00:00Z h a - - - bad time");
  ASSERT_TRUE(collector_.WaitForRejected(2));
  auto rejected = collector_.rejected();
  EXPECT_EQ(rejected[0].error.reason, "message of 2018 bytes exceeds max_message_bytes (1024)");
  EXPECT_TRUE(rejected[0].error.where.starts_with("udp://127.0.0.1:"));
  EXPECT_EQ(rejected[1].error.field, "syslog.timestamp");
  EXPECT_EQ(rejected[1].raw, "<13>1 2024-99-01T00:00:00Z h a - - - bad time");
  auto stats = listener_->stats();
  EXPECT_EQ(stats.messages, 3u);
  EXPECT_EQ(stats.events, 1u);
  EXPECT_EQ(stats.bad_records, 2u);
}

// Datagrams from one peer all have offset 0: Event::line numbers them (1-based, per
// listener) so that source/line/offset, which alert ids hash, never repeat.
TEST_F(SyslogListenerTest, UdpDatagramsAreNumberedPerListener) {
  SyslogListenerOptions options;
  options.max_message_bytes = 100;
  StartListener(options);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  socklen_t length = 0;
  sockaddr_storage to = LoopbackAddress(false, listener_->udp_port(), &length);
  auto send = [&](const std::string& payload) {
    ASSERT_EQ(sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to),
                     length),
              static_cast<ssize_t>(payload.size()));
  };
  send("<13>1 - h a - - - udp seq one");
  ASSERT_TRUE(collector_.WaitForMessage("udp seq one"));  // in order
  send("<13>1 - h a - - - udp seq two");
  ASSERT_TRUE(collector_.WaitForMessage("udp seq two"));
  send("<13>1 - h a - - - " + std::string(200, 'z'));  // oversize: a bad record
  ASSERT_TRUE(collector_.WaitForRejected(1));
  send("<13>1 - h a - - - udp seq four");
  auto four = collector_.WaitForMessage("udp seq four");
  close(fd);
  ASSERT_TRUE(four);
  auto one = collector_.WaitForMessage("udp seq one");
  auto two = collector_.WaitForMessage("udp seq two");
  EXPECT_EQ(one->source, four->source);  // one peer
  EXPECT_EQ(one->line, 1u);
  EXPECT_EQ(two->line, 2u);
  EXPECT_EQ(collector_.rejected()[0].error.line, 3u);
  EXPECT_EQ(four->line, 4u);
  EXPECT_EQ(one->offset, 0u);
  EXPECT_EQ(four->offset, 0u);
}

TEST_F(SyslogListenerTest, Ipv6Loopback) {
  SyslogListenerOptions options;
  options.bind_addresses = {"[::1]:0"};
  auto started = SyslogListener::Start(options, collector_.Handler(), &collector_);
  if (!started) GTEST_SKIP() << "no IPv6 loopback: " << started.error().ToString();
  listener_ = std::move(*started);
  EXPECT_TRUE(listener_->bound()[0].address.starts_with("udp://[::1]:"));
  SendUdp(listener_->udp_port(), "<13>1 - h a - - - over ipv6", /*v6=*/true);
  auto received = collector_.WaitForMessage("over ipv6");
  ASSERT_TRUE(received);
  EXPECT_TRUE(received->source.starts_with("udp://[::1]:")) << received->source;
}

TEST_F(SyslogListenerTest, ConnectionLimit) {
  SyslogListenerOptions options;
  options.max_connections = 1;
  StartListener(options);
  int first = ConnectTcp(listener_->tcp_port());
  ASSERT_GE(first, 0);
  WriteAll(first, "<13>1 - h a - - - first connection\n");
  ASSERT_TRUE(collector_.WaitForMessage("first connection"));  // accepted by now
  int second = ConnectTcp(listener_->tcp_port());
  ASSERT_GE(second, 0);
  EXPECT_TRUE(WaitUntil([&] { return listener_->stats().rejected_connections == 1; }));
  char byte;
  EXPECT_EQ(read(second, &byte, 1), 0);
  close(first);
  close(second);
  EXPECT_EQ(listener_->stats().connections, 1u);
}

TEST_F(SyslogListenerTest, StopIsCleanAndIdempotent) {
  StartListener();
  int fd = ConnectTcp(listener_->tcp_port());
  ASSERT_GE(fd, 0);
  WriteAll(fd, "<13>1 - h a - - - before stop\n");
  ASSERT_TRUE(collector_.WaitForMessage("before stop"));
  uint16_t port = listener_->tcp_port();
  listener_->Stop();
  listener_->Stop();
  char byte;
  EXPECT_EQ(read(fd, &byte, 1), 0);  // open connections are closed
  close(fd);
  EXPECT_LT(ConnectTcp(port), 0);  // and nothing listens any more
  EXPECT_EQ(listener_->stats().events, 1u);
  listener_.reset();
}

TEST(SyslogListenerStart, RejectsBadOptions) {
  Collector collector;
  auto start = [&](std::vector<std::string> addresses) {
    SyslogListenerOptions options;
    options.bind_addresses = std::move(addresses);
    auto started = SyslogListener::Start(options, collector.Handler(), &collector);
    return started ? std::string("<started>") : started.error().ToString();
  };
  EXPECT_EQ(start({"localhost:514"}),
            "field 'bind_addresses': 'localhost' is not a numeric IPv4 or IPv6 address");
  EXPECT_EQ(start({"127.0.0.1"}),
            "field 'bind_addresses': '127.0.0.1' is not ipv4:port or [ipv6]:port");
  EXPECT_EQ(start({"127.0.0.1:99999"}),
            "field 'bind_addresses': '127.0.0.1:99999': port above 65535");
  EXPECT_EQ(start({"[::1:514"}), "field 'bind_addresses': '[::1:514' is not [ipv6]:port");
  EXPECT_EQ(start({}), "field 'bind_addresses': no bind address");

  SyslogListenerOptions options;
  options.bind_addresses = {"127.0.0.1:0"};
  options.udp = false;
  auto first = SyslogListener::Start(options, collector.Handler(), &collector);
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_EQ((*first)->udp_port(), 0);
  options.bind_addresses = {"127.0.0.1:" + std::to_string((*first)->tcp_port())};
  options.tcp = true;
  auto second = SyslogListener::Start(options, collector.Handler(), &collector);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().ToString(), "field 'bind_addresses': bind tcp " +
                                           options.bind_addresses[0] + ": Address already in use");
}

}  // namespace
}  // namespace aegis::ingest
