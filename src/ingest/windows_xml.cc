// The windows-xml RecordParser: one <Event> record as XML, the form libevtx renders
// EVTX records in. The XML reader here is deliberately small and strict: elements,
// attributes, text, CDATA, comments and processing instructions; the five predefined
// entities and numeric character references; no DTDs (so no entity expansion), a
// nesting limit, and an Error naming the reason for anything else.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "ingest/parsers.h"
#include "ingest/windows_event.h"

namespace aegis::ingest {
namespace {

constexpr int kMaxXmlDepth = 24;  // <Event> is depth 1
constexpr size_t kMaxRecordBytes = size_t{256} << 20;  // keeps arena offsets in 32 bits

bool IsXmlSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool IsNameDelimiter(char c) {
  return IsXmlSpace(c) || c == '/' || c == '>' || c == '<' || c == '=' || c == '"' ||
         c == '\'' || c == '&';
}

// "ns:Name" -> "Name".
std::string_view LocalName(std::string_view name) {
  const size_t colon = name.rfind(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

void AppendUtf8(uint32_t code_point, std::string& out) {
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

// Decodes character data (text or an attribute value) into `out`. Returns an empty
// string on success, else the reason.
std::string AppendDecoded(std::string_view raw, bool in_attribute, std::string& out) {
  size_t pos = 0;
  while (pos < raw.size()) {
    const size_t amp = raw.find('&', pos);
    const std::string_view plain =
        raw.substr(pos, (amp == std::string_view::npos ? raw.size() : amp) - pos);
    if (in_attribute && plain.find('<') != std::string_view::npos) {
      return "'<' in an attribute value";
    }
    out.append(plain);
    if (amp == std::string_view::npos) break;
    const size_t semicolon = raw.find(';', amp + 1);
    if (semicolon == std::string_view::npos || semicolon - amp > 12) {
      return "unterminated entity reference";
    }
    const std::string_view entity = raw.substr(amp + 1, semicolon - amp - 1);
    if (entity == "amp") {
      out.push_back('&');
    } else if (entity == "lt") {
      out.push_back('<');
    } else if (entity == "gt") {
      out.push_back('>');
    } else if (entity == "quot") {
      out.push_back('"');
    } else if (entity == "apos") {
      out.push_back('\'');
    } else if (entity.size() >= 2 && entity[0] == '#') {
      const bool hex = entity[1] == 'x';
      const std::string_view digits = entity.substr(hex ? 2 : 1);
      if (digits.empty()) return "empty character reference";
      uint32_t code_point = 0;
      for (char c : digits) {
        uint32_t digit;
        if (c >= '0' && c <= '9') {
          digit = static_cast<uint32_t>(c - '0');
        } else if (hex && c >= 'a' && c <= 'f') {
          digit = static_cast<uint32_t>(c - 'a' + 10);
        } else if (hex && c >= 'A' && c <= 'F') {
          digit = static_cast<uint32_t>(c - 'A' + 10);
        } else {
          return "invalid character reference &" + std::string(entity) + ";";
        }
        code_point = code_point * (hex ? 16 : 10) + digit;
        if (code_point > 0x10FFFF) return "character reference out of range";
      }
      if (code_point == 0 || (code_point >= 0xD800 && code_point <= 0xDFFF)) {
        return "invalid character reference &" + std::string(entity) + ";";
      }
      AppendUtf8(code_point, out);
    } else {
      return "unknown entity &" + std::string(entity) + ";";
    }
    pos = semicolon + 1;
  }
  return {};
}

// A parsed XML document: elements in document order with their attributes and text.
// Decoded strings live in `arena_` and are addressed by offset (the arena grows).
class XmlDocument {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  struct Node {
    std::string_view name;  // local name, a view into the input
    uint32_t first_attribute = 0;
    uint32_t attribute_count = 0;
    uint32_t text_begin = 0;  // into arena_; only meaningful without element children
    uint32_t text_size = 0;
    uint32_t first_child = kNone;
    uint32_t last_child = kNone;
    uint32_t next_sibling = kNone;
    std::string_view qualified_name;  // as written, for matching the end tag
  };
  struct Attribute {
    std::string_view name;  // local name
    uint32_t value_begin = 0;
    uint32_t value_size = 0;
  };

  // Parses `input`; on failure returns the reason (and the byte offset in `offset`).
  std::string Parse(std::string_view input, size_t& offset);

  const Node& node(uint32_t index) const { return nodes_[index]; }
  bool has_children(uint32_t index) const { return nodes_[index].first_child != kNone; }
  std::string_view text(uint32_t index) const {
    const Node& n = nodes_[index];
    return std::string_view(arena_).substr(n.text_begin, n.text_size);
  }
  // Sets `value` to attribute `name` (local name); false when there is none.
  bool attribute(uint32_t index, std::string_view name, std::string_view& value) const {
    const Node& n = nodes_[index];
    for (uint32_t i = 0; i < n.attribute_count; ++i) {
      const Attribute& a = attributes_[n.first_attribute + i];
      if (a.name == name) {
        value = std::string_view(arena_).substr(a.value_begin, a.value_size);
        return true;
      }
    }
    return false;
  }
  // First child element called `name`, or kNone.
  uint32_t child(uint32_t index, std::string_view name) const {
    for (uint32_t c = nodes_[index].first_child; c != kNone; c = nodes_[c].next_sibling) {
      if (nodes_[c].name == name) return c;
    }
    return kNone;
  }

 private:
  std::string ParseStartTag(std::string_view input, size_t& pos, bool& self_closing);
  void AddText(std::string_view decoded_from, uint32_t node);

  std::vector<Node> nodes_;
  std::vector<Attribute> attributes_;
  std::vector<uint32_t> open_;
  std::string arena_;
};

std::string XmlDocument::Parse(std::string_view input, size_t& offset) {
  nodes_.clear();
  attributes_.clear();
  open_.clear();
  arena_.clear();
  size_t pos = 0;
  if (input.starts_with("\xEF\xBB\xBF")) pos = 3;
  bool root_seen = false;
  auto fail = [&](std::string reason) {
    offset = pos;
    return reason;
  };

  while (pos < input.size()) {
    if (input[pos] != '<') {
      const size_t lt = input.find('<', pos);
      const std::string_view raw =
          input.substr(pos, (lt == std::string_view::npos ? input.size() : lt) - pos);
      if (open_.empty()) {
        for (char c : raw) {
          if (!IsXmlSpace(c)) return fail(root_seen ? "text after the root element"
                                                    : "text before the root element");
        }
      } else {
        Node& current = nodes_[open_.back()];
        if (current.first_child == kNone) {
          if (current.text_size == 0) current.text_begin = static_cast<uint32_t>(arena_.size());
          const size_t before = arena_.size();
          if (std::string reason = AppendDecoded(raw, false, arena_); !reason.empty()) {
            return fail(reason);
          }
          current.text_size += static_cast<uint32_t>(arena_.size() - before);
        }
      }
      pos += raw.size();
      continue;
    }
    const std::string_view rest = input.substr(pos);
    if (rest.starts_with("<!--")) {
      const size_t end = input.find("-->", pos + 4);
      if (end == std::string_view::npos) return fail("unterminated comment");
      pos = end + 3;
    } else if (rest.starts_with("<?")) {
      const size_t end = input.find("?>", pos + 2);
      if (end == std::string_view::npos) return fail("unterminated processing instruction");
      pos = end + 2;
    } else if (rest.starts_with("<![CDATA[")) {
      if (open_.empty()) return fail("CDATA outside the root element");
      const size_t end = input.find("]]>", pos + 9);
      if (end == std::string_view::npos) return fail("unterminated CDATA section");
      Node& current = nodes_[open_.back()];
      if (current.first_child == kNone) {
        if (current.text_size == 0) current.text_begin = static_cast<uint32_t>(arena_.size());
        const std::string_view data = input.substr(pos + 9, end - pos - 9);
        arena_.append(data);
        current.text_size += static_cast<uint32_t>(data.size());
      }
      pos = end + 3;
    } else if (rest.starts_with("<!")) {
      return fail("DOCTYPE and other declarations are not allowed");
    } else if (rest.starts_with("</")) {
      size_t name_end = pos + 2;
      while (name_end < input.size() && !IsNameDelimiter(input[name_end])) ++name_end;
      const std::string_view name = input.substr(pos + 2, name_end - pos - 2);
      if (open_.empty()) return fail("end tag </" + std::string(name) + "> without a start tag");
      const Node& current = nodes_[open_.back()];
      if (name != current.qualified_name) {
        return fail("mismatched end tag </" + std::string(name) + ">, expected </" +
                    std::string(current.qualified_name) + ">");
      }
      pos = name_end;
      while (pos < input.size() && IsXmlSpace(input[pos])) ++pos;
      if (pos >= input.size() || input[pos] != '>') return fail("malformed end tag");
      ++pos;
      open_.pop_back();
    } else {
      if (open_.empty() && root_seen) return fail("a second root element");
      if (open_.size() >= kMaxXmlDepth) return fail("elements nested too deeply");
      bool self_closing = false;
      const size_t tag_start = pos;
      if (std::string reason = ParseStartTag(input, pos, self_closing); !reason.empty()) {
        offset = tag_start;
        return reason;
      }
      root_seen = true;
      if (!self_closing) open_.push_back(static_cast<uint32_t>(nodes_.size() - 1));
    }
  }
  if (!open_.empty()) {
    return fail("unexpected end of input inside <" +
                std::string(nodes_[open_.back()].qualified_name) + ">");
  }
  if (!root_seen) return fail("no root element");
  return {};
}

// Parses "<name attr='v' ...>" or ".../>" at `pos` and appends the node.
std::string XmlDocument::ParseStartTag(std::string_view input, size_t& pos,
                                       bool& self_closing) {
  size_t cursor = pos + 1;
  const size_t name_start = cursor;
  while (cursor < input.size() && !IsNameDelimiter(input[cursor])) ++cursor;
  if (cursor == name_start) return "empty element name";
  const uint32_t index = static_cast<uint32_t>(nodes_.size());
  Node node;
  node.qualified_name = input.substr(name_start, cursor - name_start);
  node.name = LocalName(node.qualified_name);
  node.first_attribute = static_cast<uint32_t>(attributes_.size());
  while (true) {
    const size_t before_space = cursor;
    while (cursor < input.size() && IsXmlSpace(input[cursor])) ++cursor;
    if (cursor >= input.size()) return "unexpected end of input in a start tag";
    const char c = input[cursor];
    if (c == '>') {
      ++cursor;
      break;
    }
    if (c == '/') {
      if (cursor + 1 >= input.size() || input[cursor + 1] != '>') return "malformed start tag";
      cursor += 2;
      self_closing = true;
      break;
    }
    if (cursor == before_space) return "missing space before an attribute";
    const size_t attribute_start = cursor;
    while (cursor < input.size() && !IsNameDelimiter(input[cursor])) ++cursor;
    const std::string_view attribute_name =
        input.substr(attribute_start, cursor - attribute_start);
    if (attribute_name.empty()) return "malformed attribute";
    while (cursor < input.size() && IsXmlSpace(input[cursor])) ++cursor;
    if (cursor >= input.size() || input[cursor] != '=') {
      return "attribute " + std::string(attribute_name) + " without a value";
    }
    ++cursor;
    while (cursor < input.size() && IsXmlSpace(input[cursor])) ++cursor;
    if (cursor >= input.size() || (input[cursor] != '"' && input[cursor] != '\'')) {
      return "attribute " + std::string(attribute_name) + " value is not quoted";
    }
    const char quote = input[cursor];
    const size_t value_end = input.find(quote, cursor + 1);
    if (value_end == std::string_view::npos) return "unterminated attribute value";
    const std::string_view raw_value = input.substr(cursor + 1, value_end - cursor - 1);
    cursor = value_end + 1;
    if (attribute_name == "xmlns" || attribute_name.starts_with("xmlns:")) continue;
    Attribute attribute;
    attribute.name = LocalName(attribute_name);
    attribute.value_begin = static_cast<uint32_t>(arena_.size());
    if (std::string reason = AppendDecoded(raw_value, true, arena_); !reason.empty()) {
      return reason;
    }
    attribute.value_size = static_cast<uint32_t>(arena_.size() - attribute.value_begin);
    attributes_.push_back(attribute);
    ++node.attribute_count;
  }
  if (!open_.empty()) {
    Node& parent = nodes_[open_.back()];
    if (parent.last_child == kNone) {
      parent.first_child = index;
    } else {
      nodes_[parent.last_child].next_sibling = index;
    }
    parent.last_child = index;
  }
  nodes_.push_back(node);
  pos = cursor;
  return {};
}

bool IsBlank(std::string_view text) {
  for (char c : text) {
    if (!IsXmlSpace(c)) return false;
  }
  return true;
}

class WindowsXmlParser : public RecordParser {
 public:
  EventFormat format() const override { return EventFormat::kWindowsXml; }

  Result<ParseOutcome> Parse(std::string_view record, Event& out) override {
    if (IsBlank(record)) return ParseOutcome::kSkip;
    if (record.size() > kMaxRecordBytes) return Fail("XML record larger than 256 MiB");
    size_t offset = 0;
    if (std::string reason = document_.Parse(record, offset); !reason.empty()) {
      return Fail("XML: " + reason + " (at byte " + std::to_string(offset) + ")");
    }
    constexpr uint32_t kRoot = 0;
    if (document_.node(kRoot).name != "Event") {
      return Fail("root element is <" + std::string(document_.node(kRoot).name) +
                  ">, not <Event>");
    }
    const uint32_t system = document_.child(kRoot, "System");
    if (system == XmlDocument::kNone) return Fail("no <System> element", "System");

    builder_.Begin(out, EventFormat::kWindowsXml);
    if (auto result = ReadSystem(system, out); !result) return std::unexpected(result.error());
    for (uint32_t c = document_.node(kRoot).first_child; c != XmlDocument::kNone;
         c = document_.node(c).next_sibling) {
      const std::string_view name = document_.node(c).name;
      if (name != "EventData" && name != "UserData") continue;
      if (!AddData(c, name, 0)) {
        return Fail("<" + std::string(name) + "> nested too deeply", std::string(name));
      }
    }
    builder_.Finish();
    return ParseOutcome::kEvent;
  }

 private:
  Result<void> ReadSystem(uint32_t system, Event& out) {
    std::string_view value;
    for (uint32_t c = document_.node(system).first_child; c != XmlDocument::kNone;
         c = document_.node(c).next_sibling) {
      const std::string_view name = document_.node(c).name;
      if (name == "Provider") {
        if (document_.attribute(c, "Name", value)) {
          builder_.SetSystem(WindowsSystemField::kProviderName, value);
        }
        if (document_.attribute(c, "Guid", value)) {
          builder_.SetSystem(WindowsSystemField::kProviderGuid, value);
        }
        if (document_.attribute(c, "EventSourceName", value)) {
          builder_.SetSystem(WindowsSystemField::kEventSourceName, value);
        }
      } else if (name == "TimeCreated") {
        if (document_.attribute(c, "SystemTime", value) && !value.empty()) {
          auto time = ParseWindowsTime(value);
          if (!time) return Fail("bad SystemTime '" + std::string(value) + "'", "SystemTime");
          out.timestamp_ns = *time;
        }
      } else if (name == "Correlation") {
        if (document_.attribute(c, "ActivityID", value)) {
          builder_.SetSystem(WindowsSystemField::kActivityId, value);
        }
        if (document_.attribute(c, "RelatedActivityID", value)) {
          builder_.SetSystem(WindowsSystemField::kRelatedActivityId, value);
        }
      } else if (name == "Execution") {
        if (document_.attribute(c, "ProcessID", value)) {
          builder_.SetSystem(WindowsSystemField::kProcessId, value);
        }
        if (document_.attribute(c, "ThreadID", value)) {
          builder_.SetSystem(WindowsSystemField::kThreadId, value);
        }
      } else if (name == "Security") {
        if (document_.attribute(c, "UserID", value)) {
          builder_.SetSystem(WindowsSystemField::kUserId, value);
        }
      } else if (auto field = SystemFieldOfTextElement(name)) {
        builder_.SetSystem(*field, document_.text(c));
      }
    }
    return {};
  }

  // A leaf element is one name/value: <Data Name="N">v</Data> is N, <Data>v</Data> is
  // "Data", <X>v</X> is X. Elements with children contribute their leaves.
  bool AddData(uint32_t node, std::string_view name, int depth) {
    if (depth > kWindowsMaxDepth) return false;
    if (!document_.has_children(node)) {
      std::string_view data_name = name;
      if (name == "Data") {
        std::string_view attribute_name;
        if (document_.attribute(node, "Name", attribute_name) && !attribute_name.empty()) {
          data_name = attribute_name;
        }
      }
      builder_.AddData(data_name, document_.text(node));
      return true;
    }
    for (uint32_t c = document_.node(node).first_child; c != XmlDocument::kNone;
         c = document_.node(c).next_sibling) {
      if (!AddData(c, document_.node(c).name, depth + 1)) return false;
    }
    return true;
  }

  XmlDocument document_;
  WindowsEventBuilder builder_;
};

}  // namespace

std::unique_ptr<RecordParser> MakeWindowsXmlParser() {
  return std::make_unique<WindowsXmlParser>();
}

}  // namespace aegis::ingest
