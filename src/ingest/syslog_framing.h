// Internal to src/ingest: the TCP framing of the syslog listener (RFC 6587) as a pure
// function over a connection's received bytes, so that it can be tested and fuzzed
// without sockets. Not part of the public ingest API.
//
// Framing is detected per connection from its first byte: "MSG-LEN SP" (a digit 1-9,
// digits, a space) means octet counting, anything else newline framing (LF or NUL ends
// a message). CR, LF and spaces before the first frame are skipped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace aegis::ingest {

// Bytes of an oversize or badly framed message shown to the sink.
inline constexpr size_t kSyslogBadRawLimit = 4096;

// Per-connection framing state, kept between calls.
struct SyslogFramingState {
  enum class Framing : unsigned char { kUnknown, kOctetCounting, kNewline };
  Framing framing = Framing::kUnknown;
  uint64_t line = 0;        // newline framing: frames seen so far
  uint64_t skip_bytes = 0;  // octet counting: rest of an oversize frame to drop
  bool skip_line = false;   // newline framing: drop up to the next newline
};

// Receives what FrameSyslogStream finds. Offsets are relative to the start of the
// buffer passed to FrameSyslogStream; views point into that buffer.
class SyslogFrameSink {
 public:
  virtual ~SyslogFrameSink() = default;
  // One framed message (possibly empty, possibly ending in CR or NUL, possibly longer
  // than max_message_bytes when it arrived in one piece). `line` is 0 for octet counting.
  virtual void Message(std::string_view message, uint64_t line, size_t offset) = 0;
  // A message longer than max_message_bytes: its first bytes, its size (or, when
  // `at_least`, that it is longer than max_message_bytes) and where it started.
  virtual void Oversize(std::string_view head, uint64_t size, bool at_least, uint64_t line,
                        size_t offset) = 0;
  // A frame that cannot be used: a bad MSG-LEN, or the stream ended inside a frame.
  virtual void FrameError(std::string reason, std::string_view raw, size_t offset) = 0;
};

struct SyslogFramingResult {
  size_t consumed = 0;  // bytes at the front of the buffer that are done with
  bool ok = true;       // false: the stream cannot be framed any more (close it)
};

// Frames the messages in `buffer` (bytes received and not yet consumed), updating
// `state`. At the end of the stream (`at_end`) a trailing unterminated line still
// counts as a message and a partial frame is a FrameError.
SyslogFramingResult FrameSyslogStream(std::string_view buffer, bool at_end,
                                      size_t max_message_bytes, SyslogFramingState& state,
                                      SyslogFrameSink& sink);

}  // namespace aegis::ingest
