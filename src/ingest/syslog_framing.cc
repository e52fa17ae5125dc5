// FrameSyslogStream (syslog_framing.h): RFC 6587 octet counting and newline framing.
#include "ingest/syslog_framing.h"

#include <algorithm>
#include <string>

namespace aegis::ingest {
namespace {

// MSG-LEN has at most this many digits (a longer count could never be accepted).
constexpr size_t kMaxLengthDigits = 10;

}  // namespace

SyslogFramingResult FrameSyslogStream(std::string_view buffer, bool at_end,
                                      size_t max_message_bytes, SyslogFramingState& state,
                                      SyslogFrameSink& sink) {
  using Framing = SyslogFramingState::Framing;
  size_t pos = 0;
  bool ok = true;
  while (pos < buffer.size()) {
    if (state.framing == Framing::kUnknown) {
      char first = buffer[pos];
      if (first == '\n' || first == '\r' || first == ' ') {
        ++pos;
        continue;
      }
      // Octet counting starts with MSG-LEN and a space; a line that merely starts
      // with a digit ("2024-05-01T... host app: msg") is newline framed, and so is one
      // starting with more digits than a MSG-LEN can have (which also bounds how much
      // is buffered before the framing is known).
      state.framing = Framing::kNewline;
      if (first >= '1' && first <= '9') {
        size_t digits_end = pos;
        while (digits_end < buffer.size() && digits_end - pos <= kMaxLengthDigits &&
               buffer[digits_end] >= '0' && buffer[digits_end] <= '9') {
          ++digits_end;
        }
        if (digits_end - pos <= kMaxLengthDigits) {
          if (digits_end == buffer.size() && !at_end) {
            state.framing = Framing::kUnknown;
            break;  // need more bytes to tell
          }
          if (digits_end < buffer.size() && buffer[digits_end] == ' ') {
            state.framing = Framing::kOctetCounting;
          }
        }
      }
    }
    if (state.framing == Framing::kOctetCounting) {
      if (state.skip_bytes > 0) {
        size_t skip = std::min<uint64_t>(state.skip_bytes, buffer.size() - pos);
        pos += skip;
        state.skip_bytes -= skip;
        continue;
      }
      char c = buffer[pos];
      if (c == '\n' || c == '\r') {  // tolerated between frames
        ++pos;
        continue;
      }
      // MSG-LEN SP MSG
      size_t digits_end = pos;
      uint64_t length = 0;
      while (digits_end < buffer.size() && digits_end - pos <= kMaxLengthDigits &&
             buffer[digits_end] >= '0' && buffer[digits_end] <= '9') {
        length = length * 10 + static_cast<uint64_t>(buffer[digits_end] - '0');
        ++digits_end;
      }
      if (digits_end == buffer.size() && digits_end - pos <= kMaxLengthDigits) {  // need more bytes
        if (at_end) {
          sink.FrameError("connection closed inside a frame header", buffer.substr(pos), pos);
          pos = buffer.size();
        }
        break;
      }
      if (digits_end == pos || digits_end - pos > kMaxLengthDigits || buffer[digits_end] != ' ' ||
          buffer[pos] == '0') {
        sink.FrameError(
            "bad octet-counting frame: expected MSG-LEN and a space (RFC 6587); "
            "closing the connection",
            buffer.substr(pos, std::min<size_t>(64, buffer.size() - pos)), pos);
        pos = buffer.size();
        ok = false;
        break;
      }
      size_t message_start = digits_end + 1;
      if (length > max_message_bytes) {
        size_t shown = std::min<uint64_t>({buffer.size() - message_start, length, kSyslogBadRawLimit});
        sink.Oversize(buffer.substr(message_start, shown), length,
                      /*at_least=*/false, 0, pos);
        state.skip_bytes = length;
        pos = message_start;
        continue;
      }
      if (buffer.size() - message_start < length) {
        if (at_end) {
          sink.FrameError("connection closed inside a frame: " +
                              std::to_string(buffer.size() - message_start) + " of " +
                              std::to_string(length) + " bytes received",
                          buffer.substr(message_start), pos);
          pos = buffer.size();
        }
        break;
      }
      sink.Message(buffer.substr(message_start, length), 0, message_start);
      pos = message_start + length;
      continue;
    }
    // Newline (non-transparent) framing: LF ends a message; NUL is accepted as well.
    size_t end = buffer.find_first_of(std::string_view("\n\0", 2), pos);
    if (state.skip_line) {
      if (end == std::string_view::npos) {
        pos = buffer.size();
        break;
      }
      state.skip_line = false;
      pos = end + 1;
      continue;
    }
    if (end == std::string_view::npos) {
      size_t pending = buffer.size() - pos;
      if (pending > max_message_bytes + 1) {  // +1: a CR before the LF
        ++state.line;
        sink.Oversize(buffer.substr(pos, std::min(pending, kSyslogBadRawLimit)), pending,
                      /*at_least=*/true, state.line, pos);
        state.skip_line = true;
        pos = buffer.size();
      } else if (at_end) {
        ++state.line;
        sink.Message(buffer.substr(pos), state.line, pos);
        pos = buffer.size();
      }
      break;
    }
    ++state.line;
    sink.Message(buffer.substr(pos, end - pos), state.line, pos);
    pos = end + 1;
  }
  return SyslogFramingResult{pos, ok};
}

}  // namespace aegis::ingest
