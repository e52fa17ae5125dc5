// SyslogListener: a syslog server that turns messages received over UDP (RFC 5426)
// and TCP (RFC 6587) into Events.
//
// Each bind address ("127.0.0.1:514", "[::]:6514", port 0 for an ephemeral port) gets
// a UDP socket, a TCP socket, or both. TCP framing is detected per connection from its
// first byte: a digit means octet counting ("123 <34>1 ..."), anything else means
// newline-terminated (non-transparent) framing. Each message is parsed as RFC 5424,
// RFC 3164 or bare CEF, whichever fits. Messages longer than max_message_bytes, and
// messages that do not parse, go to the BadRecordSink.
//
// Event::line / offset: a UDP datagram has line = its 1-based sequence number among all
// datagrams this listener received (so messages from one peer never share
// source/line/offset) and offset 0; TCP newline framing sets line = message number in the
// connection, TCP sets offset = byte offset of the message in the connection's stream.
//
// Threading: one background thread does all socket work and calls `handler` for every
// event, one at a time, on that thread. The handler must not throw and must not call
// Stop() or destroy the listener; it may keep the Event only for the call's duration.
//
//   aegis::ingest::SyslogListenerOptions options;
//   options.bind_addresses = {"127.0.0.1:0"};          // ephemeral UDP and TCP ports
//   aegis::ingest::DeadLetterFile dead("");
//   auto listener = aegis::ingest::SyslogListener::Start(
//       options, [](aegis::Event& ev) { detect(ev); }, &dead);
//   if (!listener) die(listener.error().ToString());
//   printf("udp %u tcp %u\n", (*listener)->udp_port(), (*listener)->tcp_port());
//   ...
//   (*listener)->Stop();                                // joins the thread
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/event.h"
#include "ingest/ingest.h"

namespace aegis::ingest {

struct SyslogListenerOptions {
  // Numeric "ipv4:port" or "[ipv6]:port". "[::]:514" is dual-stack where the OS allows.
  std::vector<std::string> bind_addresses = {"127.0.0.1:514"};
  bool udp = true;
  bool tcp = true;
  size_t max_message_bytes = 64 * 1024;  // larger messages are bad records
  size_t max_connections = 256;          // further TCP connections are closed at once
  bool keep_raw = true;                  // copy each message into Event::raw
};

struct SyslogListenerStats {
  uint64_t messages = 0;             // framed messages received, including bad ones
  uint64_t events = 0;               // events handed to the handler
  uint64_t bad_records = 0;          // oversize, unparsable or badly framed messages
  uint64_t connections = 0;          // TCP connections accepted
  uint64_t rejected_connections = 0; // closed at once: max_connections reached
};

// One bound socket, for callers that bind several addresses.
struct SyslogBoundSocket {
  bool tcp = false;
  std::string address;  // "udp://127.0.0.1:40123", "tcp://[::1]:40124"
  uint16_t port = 0;
};

class SyslogListener {
 public:
  using EventHandler = std::function<void(Event&)>;

  // Binds every address and starts the listener thread. Fails (with nothing left
  // running) when an address is malformed or cannot be bound. `bad_records` may be
  // null; it must outlive the listener.
  static Result<std::unique_ptr<SyslogListener>> Start(const SyslogListenerOptions& options,
                                                       EventHandler handler,
                                                       BadRecordSink* bad_records);
  ~SyslogListener();  // calls Stop()
  SyslogListener(const SyslogListener&) = delete;
  SyslogListener& operator=(const SyslogListener&) = delete;

  // Closes all sockets and joins the thread; messages not yet framed are dropped.
  // Idempotent; call it from any thread except the handler's.
  void Stop();

  // Port of the first UDP / TCP socket (0 when there is none).
  uint16_t udp_port() const;
  uint16_t tcp_port() const;
  const std::vector<SyslogBoundSocket>& bound() const { return bound_; }
  SyslogListenerStats stats() const;  // thread-safe snapshot

 private:
  class Loop;  // the socket loop, owned by and run on thread_
  SyslogListener() = default;

  std::vector<SyslogBoundSocket> bound_;
  std::unique_ptr<Loop> loop_;
  std::thread thread_;
  int wake_fd_ = -1;  // eventfd: Stop() writes it to end poll()
  std::atomic<bool> stopping_{false};
};

}  // namespace aegis::ingest
