// libFuzzer target: the TCP framing of the syslog listener (FrameSyslogStream:
// octet counting and newline framing, RFC 6587), without sockets. The stream is fed
// as the listener's reads would deliver it: in pieces, each call seeing what is left
// of the previous ones, and once more at the end of the stream.
// Input: byte 0 picks max_message_bytes, byte 1 the piece sizes, the rest is the stream.
// Invariants: no crash; views stay inside the buffer; offsets only grow; never more
// buffered than one maximal frame (framing cannot be made to buffer without bound);
// at the end everything is consumed; and when no message can be oversize, cutting the
// stream into pieces changes nothing.
// Seeds: fuzz/corpus/syslog_framing/
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/syslog_framing.h"

namespace {

using aegis::ingest::SyslogFramingState;

struct Found {
  int kind = 0;  // 0 message, 1 oversize, 2 frame error
  std::string text;
  uint64_t line = 0;
  uint64_t offset = 0;  // in the stream
  uint64_t size = 0;
  bool at_least = false;
};

class Recorder : public aegis::ingest::SyslogFrameSink {
 public:
  std::string_view buffer;
  uint64_t buffer_offset = 0;  // stream offset of buffer[0]
  std::vector<Found> found;

  void Message(std::string_view message, uint64_t line, size_t offset) override {
    CheckInside(message, offset);
    if (message.data() != buffer.data() + offset) __builtin_trap();
    Add({0, std::string(message), line, buffer_offset + offset, message.size(), false});
  }
  void Oversize(std::string_view head, uint64_t size, bool at_least, uint64_t line,
                size_t offset) override {
    CheckInside(head, offset);
    if (head.size() > aegis::ingest::kSyslogBadRawLimit || (!at_least && head.size() > size)) {
      __builtin_trap();
    }
    Add({1, std::string(head), line, buffer_offset + offset, size, at_least});
  }
  void FrameError(std::string reason, std::string_view raw, size_t offset) override {
    if (reason.empty()) __builtin_trap();
    CheckInside(raw, offset);
    Add({2, std::string(raw), 0, buffer_offset + offset, 0, false});
  }

 private:
  void CheckInside(std::string_view part, size_t offset) const {
    if (offset > buffer.size()) __builtin_trap();
    if (part.empty()) return;
    if (part.data() < buffer.data() + offset ||
        part.data() + part.size() > buffer.data() + buffer.size()) {
      __builtin_trap();
    }
  }
  void Add(Found item) {
    if (!found.empty() && item.offset <= found.back().offset) __builtin_trap();
    found.push_back(std::move(item));
  }
};

// Feeds `stream` in pieces whose sizes come from `pieces` (0: all at once), the way
// SyslogListener's reads do. Returns what the framing found.
std::vector<Found> Feed(std::string_view stream, size_t max_message_bytes, uint8_t pieces) {
  SyslogFramingState state;
  Recorder recorder;
  std::string buffer;
  size_t next = 0;
  uint32_t random = pieces;
  while (true) {
    bool at_end = next == stream.size();
    if (!at_end) {
      size_t piece = stream.size() - next;
      if (pieces != 0) {
        random = random * 1103515245u + 12345u;
        piece = std::min<size_t>(piece, 1 + (random >> 16) % (pieces % 64 + 1));
      }
      buffer.append(stream.substr(next, piece));
      next += piece;
    }
    recorder.buffer = buffer;
    auto result = aegis::ingest::FrameSyslogStream(buffer, at_end, max_message_bytes, state, recorder);
    if (result.consumed > buffer.size()) __builtin_trap();
    buffer.erase(0, result.consumed);
    recorder.buffer_offset += result.consumed;
    if (!result.ok) break;  // the listener closes the connection
    if (at_end) {
      if (!buffer.empty()) __builtin_trap();  // nothing is left over at the end
      break;
    }
    // Never more buffered than MSG-LEN, a space and a maximal message (or a CR).
    if (buffer.size() > max_message_bytes + 12) __builtin_trap();
  }
  return std::move(recorder.found);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  static constexpr size_t kMaxBytes[] = {1, 2, 5, 16, 64, 256, 1024, 64 * 1024};
  const size_t max_message_bytes = kMaxBytes[data[0] & 7];
  std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);
  std::vector<Found> whole = Feed(stream, max_message_bytes, 0);
  std::vector<Found> pieces = Feed(stream, max_message_bytes, data[1] | 1);
  for (const Found& item : whole) {
    if (item.kind == 0 && item.line == 0 && item.size > max_message_bytes) __builtin_trap();
  }
  // Without oversize messages (whose shown head depends on what had arrived), the
  // pieces change nothing; a bad frame's shown bytes may be cut short, so only its
  // place is compared.
  if (max_message_bytes > stream.size() + 1) {
    bool oversize = false;
    for (const Found& item : whole) oversize |= item.kind == 1;
    if (!oversize) {
      if (whole.size() != pieces.size()) __builtin_trap();
      for (size_t i = 0; i < whole.size(); ++i) {
        const Found& a = whole[i];
        const Found& b = pieces[i];
        if (a.kind != b.kind || a.offset != b.offset || a.line != b.line || a.size != b.size) {
          __builtin_trap();
        }
        if (a.kind == 0 && a.text != b.text) __builtin_trap();
      }
    }
  }
  return 0;
}
