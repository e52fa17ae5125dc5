// SyslogListener (syslog_listener.h): UDP and TCP syslog server.
//
// Built on plain POSIX sockets and one poll() loop rather than Boost.Asio: the listener
// needs a handful of sockets and one thread, poll() does that in a few hundred lines
// without exceptions (Asio reports many errors by throwing unless every call takes an
// error_code) and without adding a heavy header-only dependency to every build of
// aegis_ingest. One thread also means the handler is never called concurrently.
#include "ingest/syslog_listener.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string_view>
#include <utility>

#include "ingest/parsers.h"
#include "ingest/syslog_framing.h"
#include "ingest/syslog_internal.h"

namespace aegis::ingest {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kMaxDatagram = 65535;
constexpr int kUdpBatch = 256;       // datagrams read per wake-up, for fairness with TCP
constexpr size_t kBadRawLimit = kSyslogBadRawLimit;  // bytes of an oversize message shown

Error SocketError(const std::string& address, const std::string& what) {
  Error error;
  error.field = "bind_addresses";
  error.reason = what + (address.empty() ? "" : " " + address) + ": " + std::strerror(errno);
  return error;
}

// "1.2.3.4:514" or "[::1]:514" -> sockaddr (numeric addresses only: no DNS lookups).
Result<sockaddr_storage> ParseBindAddress(const std::string& text, socklen_t* length) {
  sockaddr_storage storage{};
  std::string_view view = text;
  std::string host;
  std::string_view port_text;
  if (view.starts_with('[')) {
    size_t close = view.find(']');
    if (close == std::string_view::npos || close + 1 >= view.size() || view[close + 1] != ':') {
      return Fail("'" + text + "' is not [ipv6]:port", "bind_addresses");
    }
    host = view.substr(1, close - 1);
    port_text = view.substr(close + 2);
  } else {
    size_t colon = view.rfind(':');
    if (colon == std::string_view::npos || view.find(':') != colon) {
      return Fail("'" + text + "' is not ipv4:port or [ipv6]:port", "bind_addresses");
    }
    host = view.substr(0, colon);
    port_text = view.substr(colon + 1);
  }
  if (port_text.empty() || port_text.size() > 5) {
    return Fail("'" + text + "' has no valid port", "bind_addresses");
  }
  unsigned port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9') return Fail("'" + text + "' has no valid port", "bind_addresses");
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port > 65535) return Fail("'" + text + "': port above 65535", "bind_addresses");
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    *length = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    *length = sizeof(sockaddr_in6);
  } else {
    return Fail("'" + host + "' is not a numeric IPv4 or IPv6 address", "bind_addresses");
  }
  return storage;
}

// "1.2.3.4:514" / "[2001:db8::1]:514"; IPv4-mapped IPv6 peers print as IPv4.
std::string FormatEndpoint(const sockaddr_storage& storage) {
  char text[INET6_ADDRSTRLEN] = {};
  if (storage.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(storage);
    inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(v4.sin_port));
  }
  if (storage.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(storage);
    if (IN6_IS_ADDR_V4MAPPED(&v6.sin6_addr)) {
      inet_ntop(AF_INET, &v6.sin6_addr.s6_addr[12], text, sizeof text);
      return std::string(text) + ":" + std::to_string(ntohs(v6.sin6_port));
    }
    inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(v6.sin6_port));
  }
  return "unknown";
}

uint16_t PortOf(const sockaddr_storage& storage) {
  if (storage.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in&>(storage).sin_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in6&>(storage).sin6_port);
}

}  // namespace

class SyslogListener::Loop {
 public:
  Loop(const SyslogListenerOptions& options, EventHandler handler, BadRecordSink* bad_records)
      : options_(options),
        handler_(std::move(handler)),
        bad_records_(bad_records),
        parser_5424_(MakeSyslog5424Parser()),
        parser_3164_(MakeSyslog3164Parser()),
        parser_cef_(MakeCefParser()) {
    udp_buffer_.resize(std::min(options_.max_message_bytes + 2, kMaxDatagram + 1));
  }

  ~Loop() { CloseAll(); }

  Result<SyslogBoundSocket> Bind(const std::string& address, bool tcp) {
    socklen_t length = 0;
    Result<sockaddr_storage> parsed = ParseBindAddress(address, &length);
    if (!parsed) return std::unexpected(std::move(parsed.error()));
    sockaddr_storage storage = *parsed;
    int type = (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC | SOCK_NONBLOCK;
    int fd = socket(storage.ss_family, type, 0);
    if (fd < 0) return std::unexpected(SocketError(address, "socket"));
    int one = 1;
    int zero = 0;
    if (tcp) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    // "[::]" also takes IPv4 where the OS allows it; best effort.
    if (storage.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (!tcp) {
      int receive_buffer = 4 * 1024 * 1024;  // absorb bursts; the kernel may cap it
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    }
    if (bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
      Error error = SocketError(address, tcp ? "bind tcp" : "bind udp");
      close(fd);
      return std::unexpected(std::move(error));
    }
    if (tcp && listen(fd, 128) != 0) {
      Error error = SocketError(address, "listen");
      close(fd);
      return std::unexpected(std::move(error));
    }
    socklen_t bound_length = sizeof storage;
    getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &bound_length);
    (tcp ? tcp_listen_fds_ : udp_fds_).push_back(fd);
    SyslogBoundSocket bound;
    bound.tcp = tcp;
    bound.port = PortOf(storage);
    bound.address = (tcp ? "tcp://" : "udp://") + FormatEndpoint(storage);
    return bound;
  }

  // Runs until `wake_fd` becomes readable (Stop()) or poll() fails for good.
  void Run(int wake_fd) {
    std::vector<pollfd> polls;
    while (true) {
      polls.clear();
      polls.push_back({wake_fd, POLLIN, 0});
      for (int fd : udp_fds_) polls.push_back({fd, POLLIN, 0});
      for (int fd : tcp_listen_fds_) polls.push_back({fd, POLLIN, 0});
      for (const Connection& connection : connections_) polls.push_back({connection.fd, POLLIN, 0});
      if (poll(polls.data(), polls.size(), -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (polls[0].revents != 0) return;
      size_t index = 1;
      for (int fd : udp_fds_) {
        if (polls[index++].revents != 0) ReadDatagrams(fd);
      }
      std::vector<size_t> ready_listeners;
      for (size_t i = 0; i < tcp_listen_fds_.size(); ++i) {
        if (polls[index++].revents != 0) ready_listeners.push_back(i);
      }
      for (Connection& connection : connections_) {
        if (polls[index++].revents != 0) ReadConnection(connection);
      }
      std::erase_if(connections_, [](const Connection& c) { return c.fd < 0; });
      for (size_t i : ready_listeners) Accept(tcp_listen_fds_[i]);
    }
  }

  void CloseAll() {
    for (int fd : udp_fds_) close(fd);
    for (int fd : tcp_listen_fds_) close(fd);
    for (Connection& connection : connections_) {
      if (connection.fd >= 0) close(connection.fd);
    }
    udp_fds_.clear();
    tcp_listen_fds_.clear();
    connections_.clear();
  }

  SyslogListenerStats Stats() const {
    SyslogListenerStats stats;
    stats.messages = messages_.load(std::memory_order_relaxed);
    stats.events = events_.load(std::memory_order_relaxed);
    stats.bad_records = bad_records_count_.load(std::memory_order_relaxed);
    stats.connections = connections_count_.load(std::memory_order_relaxed);
    stats.rejected_connections = rejected_connections_.load(std::memory_order_relaxed);
    return stats;
  }

 private:
  struct Connection {
    int fd = -1;
    std::string source;         // "tcp://peer"
    std::string buffer;         // received, not yet framed
    uint64_t buffer_offset = 0; // stream offset of buffer[0]
    SyslogFramingState framing;
  };

  void ReadDatagrams(int fd) {
    for (int i = 0; i < kUdpBatch; ++i) {
      sockaddr_storage peer{};
      socklen_t peer_length = sizeof peer;
      ssize_t size = recvfrom(fd, udp_buffer_.data(), udp_buffer_.size(),
                              MSG_DONTWAIT | MSG_TRUNC, reinterpret_cast<sockaddr*>(&peer),
                              &peer_length);
      if (size < 0) return;  // EAGAIN: drained (errors on UDP sockets are transient)
      if (peer_length != last_udp_peer_length_ ||
          std::memcmp(&peer, &last_udp_peer_, peer_length) != 0) {
        last_udp_peer_ = peer;
        last_udp_peer_length_ = peer_length;
        last_udp_source_ = "udp://" + FormatEndpoint(peer);
      }
      size_t received = static_cast<size_t>(size);
      // Event::line of a datagram: its 1-based sequence number in this listener, so that
      // messages from one peer (all at offset 0) stay distinct.
      const uint64_t sequence = ++udp_datagrams_;
      if (received > udp_buffer_.size()) {  // truncated by the kernel: surely oversize
        messages_.fetch_add(1, std::memory_order_relaxed);
        RejectOversize(std::string_view(udp_buffer_.data(), udp_buffer_.size()), received,
                       last_udp_source_, sequence, 0);
        continue;
      }
      HandleMessage(std::string_view(udp_buffer_.data(), received), last_udp_source_, sequence,
                    0);
    }
  }

  void Accept(int listen_fd) {
    while (true) {
      sockaddr_storage peer{};
      socklen_t peer_length = sizeof peer;
      int fd = accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &peer_length,
                       SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) return;  // EAGAIN, or a connection that died before accept
      if (connections_.size() >= options_.max_connections) {
        rejected_connections_.fetch_add(1, std::memory_order_relaxed);
        close(fd);
        continue;
      }
      connections_count_.fetch_add(1, std::memory_order_relaxed);
      Connection connection;
      connection.fd = fd;
      connection.source = "tcp://" + FormatEndpoint(peer);
      connections_.push_back(std::move(connection));
    }
  }

  void ReadConnection(Connection& connection) {
    size_t old_size = connection.buffer.size();
    connection.buffer.resize(old_size + kReadChunk);
    ssize_t size = read(connection.fd, connection.buffer.data() + old_size, kReadChunk);
    if (size < 0 && (errno == EAGAIN || errno == EINTR)) {
      connection.buffer.resize(old_size);
      return;
    }
    connection.buffer.resize(old_size + static_cast<size_t>(std::max<ssize_t>(size, 0)));
    bool open = size > 0;
    if (!FrameMessages(connection, /*at_end=*/!open) || !open) {
      close(connection.fd);
      connection.fd = -1;
    }
  }

  // Hands every complete frame in connection.buffer to HandleMessage (the framing
  // itself is FrameSyslogStream, syslog_framing.h) and drops it from the buffer.
  // Returns false when the stream cannot be framed any more (bad octet count).
  bool FrameMessages(Connection& connection, bool at_end) {
    ConnectionFrames frames(*this, connection);
    SyslogFramingResult result = FrameSyslogStream(connection.buffer, at_end,
                                                   options_.max_message_bytes,
                                                   connection.framing, frames);
    connection.buffer.erase(0, result.consumed);
    connection.buffer_offset += result.consumed;
    return result.ok;
  }

  // Turns what FrameSyslogStream finds on one connection into messages and bad records.
  class ConnectionFrames : public SyslogFrameSink {
   public:
    ConnectionFrames(Loop& loop, const Connection& connection)
        : loop_(loop), connection_(connection) {}
    void Message(std::string_view message, uint64_t line, size_t offset) override {
      loop_.HandleMessage(message, connection_.source, line, connection_.buffer_offset + offset);
    }
    void Oversize(std::string_view head, uint64_t size, bool at_least, uint64_t line,
                  size_t offset) override {
      loop_.messages_.fetch_add(1, std::memory_order_relaxed);
      loop_.RejectOversize(head, size, connection_.source, line,
                           connection_.buffer_offset + offset, at_least);
    }
    void FrameError(std::string reason, std::string_view raw, size_t offset) override {
      loop_.messages_.fetch_add(1, std::memory_order_relaxed);
      Error error;
      error.reason = std::move(reason);
      error.field = "frame";
      loop_.Reject(std::move(error), raw, connection_.source, 0,
                   connection_.buffer_offset + offset, EventFormat::kUnknown);
    }

   private:
    Loop& loop_;
    const Connection& connection_;
  };

  void HandleMessage(std::string_view message, const std::string& source, uint64_t line,
                     uint64_t offset) {
    while (!message.empty() &&
           (message.back() == '\n' || message.back() == '\r' || message.back() == '\0')) {
      message.remove_suffix(1);
    }
    if (message.empty()) return;
    messages_.fetch_add(1, std::memory_order_relaxed);
    if (message.size() > options_.max_message_bytes) {
      RejectOversize(message.substr(0, kBadRawLimit), message.size(), source, line, offset);
      return;
    }
    EventFormat format = DetectSyslogFormat(message);
    RecordParser& parser = format == EventFormat::kCef          ? *parser_cef_
                           : format == EventFormat::kSyslog5424 ? *parser_5424_
                                                                : *parser_3164_;
    event_.Clear();
    event_.format = format;
    event_.source = source;
    event_.line = line;
    event_.offset = offset;
    if (options_.keep_raw) event_.raw.assign(message);
    Result<ParseOutcome> outcome = parser.Parse(message, event_);
    if (!outcome) {
      Reject(std::move(outcome.error()), message, source, line, offset, format);
      return;
    }
    if (*outcome != ParseOutcome::kEvent) return;
    if (event_.timestamp_ns == 0) event_.timestamp_ns = NowNs();  // NILVALUE: time received
    events_.fetch_add(1, std::memory_order_relaxed);
    handler_(event_);
  }

  void RejectOversize(std::string_view head, uint64_t size, const std::string& source,
                      uint64_t line, uint64_t offset, bool at_least = false) {
    Error error;
    error.field = "message";
    error.reason = "message of " + std::string(at_least ? "more than " : "") +
                   std::to_string(at_least ? options_.max_message_bytes : size) +
                   " bytes exceeds max_message_bytes (" +
                   std::to_string(options_.max_message_bytes) + ")";
    Reject(std::move(error), head, source, line, offset, EventFormat::kUnknown);
  }

  void Reject(Error error, std::string_view raw, const std::string& source, uint64_t line,
              uint64_t offset, EventFormat format) {
    bad_records_count_.fetch_add(1, std::memory_order_relaxed);
    if (bad_records_ == nullptr) return;
    error.where = source;
    error.line = line;
    error.offset = offset;
    BadRecord bad;
    bad.error = std::move(error);
    bad.format = format;
    bad.raw = raw;
    bad_records_->Reject(bad);
  }

  SyslogListenerOptions options_;
  EventHandler handler_;
  BadRecordSink* bad_records_;
  std::unique_ptr<RecordParser> parser_5424_;
  std::unique_ptr<RecordParser> parser_3164_;
  std::unique_ptr<RecordParser> parser_cef_;
  Event event_;  // reused for every message
  std::vector<int> udp_fds_;
  std::vector<int> tcp_listen_fds_;
  std::vector<Connection> connections_;
  std::vector<char> udp_buffer_;
  sockaddr_storage last_udp_peer_{};
  socklen_t last_udp_peer_length_ = 0;
  std::string last_udp_source_;
  uint64_t udp_datagrams_ = 0;  // datagrams received on all UDP sockets (loop thread only)
  // Written by the loop thread, read by stats() from any thread.
  std::atomic<uint64_t> messages_{0};
  std::atomic<uint64_t> events_{0};
  std::atomic<uint64_t> bad_records_count_{0};
  std::atomic<uint64_t> connections_count_{0};
  std::atomic<uint64_t> rejected_connections_{0};
};

Result<std::unique_ptr<SyslogListener>> SyslogListener::Start(
    const SyslogListenerOptions& options, EventHandler handler, BadRecordSink* bad_records) {
  if (options.bind_addresses.empty()) return Fail("no bind address", "bind_addresses");
  if (!options.udp && !options.tcp) return Fail("neither UDP nor TCP enabled", "udp");
  if (options.max_message_bytes == 0) {
    return Fail("must be at least 1", "max_message_bytes");
  }
  if (!handler) return Fail("no event handler", "handler");
  std::unique_ptr<SyslogListener> listener(new SyslogListener());
  listener->loop_ = std::make_unique<Loop>(options, std::move(handler), bad_records);
  for (const std::string& address : options.bind_addresses) {
    for (bool tcp : {false, true}) {
      if (tcp ? !options.tcp : !options.udp) continue;
      Result<SyslogBoundSocket> bound = listener->loop_->Bind(address, tcp);
      if (!bound) return std::unexpected(std::move(bound.error()));
      listener->bound_.push_back(std::move(*bound));
    }
  }
  listener->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (listener->wake_fd_ < 0) return std::unexpected(SocketError("", "eventfd"));
  listener->thread_ = std::thread([loop = listener->loop_.get(), fd = listener->wake_fd_] {
    loop->Run(fd);
  });
  return listener;
}

SyslogListener::~SyslogListener() { Stop(); }

void SyslogListener::Stop() {
  if (thread_.joinable() && std::this_thread::get_id() == thread_.get_id()) {
    // Misuse from the handler: end the loop, but leave the join to a later Stop().
    uint64_t one = 1;
    ssize_t written = write(wake_fd_, &one, sizeof one);
    (void)written;
    return;
  }
  if (stopping_.exchange(true)) return;
  if (thread_.joinable()) {
    uint64_t one = 1;
    ssize_t written = write(wake_fd_, &one, sizeof one);
    (void)written;  // a full eventfd counter still wakes poll()
    thread_.join();
  }
  if (loop_) loop_->CloseAll();
  if (wake_fd_ >= 0) close(wake_fd_);
  wake_fd_ = -1;
}

uint16_t SyslogListener::udp_port() const {
  for (const SyslogBoundSocket& socket : bound_) {
    if (!socket.tcp) return socket.port;
  }
  return 0;
}

uint16_t SyslogListener::tcp_port() const {
  for (const SyslogBoundSocket& socket : bound_) {
    if (socket.tcp) return socket.port;
  }
  return 0;
}

SyslogListenerStats SyslogListener::stats() const {
  return loop_ ? loop_->Stats() : SyslogListenerStats{};
}

}  // namespace aegis::ingest
