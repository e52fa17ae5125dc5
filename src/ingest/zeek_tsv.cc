// Zeek's default TSV logs: '#' header lines (#separator, #set_separator, #empty_field,
// #unset_field, #path, #fields, #types) set up the columns, then each line -> Event.
// Field names and types map to the schema exactly like the JSON logs (MapZeekField).
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "ingest/http_url.h"
#include "ingest/ingest.h"
#include "ingest/parsers.h"

namespace aegis::ingest {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes the \xHH escapes Zeek writes in header values ("#separator \x09").
std::string DecodeEscapes(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size() && text[i + 1] == 'x') {
      int high = HexDigit(text[i + 2]);
      int low = HexDigit(text[i + 3]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 3;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

// Splits `text` at `separator` one token at a time, without allocating.
class Tokenizer {
 public:
  Tokenizer(std::string_view text, char separator) : text_(text), separator_(separator) {}
  bool Next(std::string_view& token) {
    if (done_) return false;
    size_t end = text_.find(separator_, position_);
    if (end == std::string_view::npos) {
      token = text_.substr(position_);
      done_ = true;
    } else {
      token = text_.substr(position_, end - position_);
      position_ = end + 1;
    }
    return true;
  }

 private:
  std::string_view text_;
  char separator_;
  size_t position_ = 0;
  bool done_ = false;
};

// What a Zeek type name says about the values of a column.
struct ColumnType {
  ValueType type = ValueType::kString;
  bool container = false;  // set[...] or vector[...]: one field per element
};

ColumnType ParseZeekType(std::string_view name) {
  ColumnType result;
  for (std::string_view prefix : {"set[", "vector["}) {
    if (name.starts_with(prefix) && name.ends_with("]")) {
      result.container = true;
      name = name.substr(prefix.size(), name.size() - prefix.size() - 1);
    }
  }
  if (name == "time") {
    result.type = ValueType::kTime;
  } else if (name == "interval" || name == "double") {
    result.type = ValueType::kFloat;
  } else if (name == "count" || name == "int" || name == "port") {
    result.type = ValueType::kInt;
  } else if (name == "bool") {
    result.type = ValueType::kBool;
  } else if (name == "addr") {
    result.type = ValueType::kIp;
  }
  return result;
}

class ZeekTsvParser final : public RecordParser {
 public:
  EventFormat format() const override { return EventFormat::kZeekTsv; }

  Result<ParseOutcome> Parse(std::string_view record, Event& out) override {
    if (!record.empty() && record.back() == '\r') record.remove_suffix(1);
    if (record.empty()) return ParseOutcome::kSkip;
    if (record.front() == '#') return ParseHeader(record);
    if (columns_.empty()) return Fail("data line before the #fields header");

    line_has_backslash_ = record.find('\\') != std::string_view::npos;  // escapes are rare
    if (!path_.empty()) out.Add(path_key_, ValueType::kString, path_);
    Tokenizer tokens(record, separator_);
    std::string_view token;
    size_t index = 0;
    while (tokens.Next(token)) {
      if (index >= columns_.size()) {
        return Fail("more values than the " + std::to_string(columns_.size()) + " #fields");
      }
      const Column& column = columns_[index++];
      if (token == unset_field_) continue;
      if (column.container) {
        if (token == empty_field_) continue;
        size_t start = 0;
        while (true) {
          size_t end = token.find(set_separator_, start);
          std::string_view element = token.substr(
              start, end == std::string_view::npos ? std::string_view::npos : end - start);
          if (auto added = AddValue(column, element, out); !added)
            return std::unexpected(added.error());
          if (end == std::string_view::npos) break;
          start = end + set_separator_.size();
        }
        continue;
      }
      if (token == empty_field_) token = {};
      if (auto added = AddValue(column, token, out); !added) return std::unexpected(added.error());
    }
    if (index != columns_.size()) {
      return Fail("expected " + std::to_string(columns_.size()) + " values, found " +
                  std::to_string(index));
    }
    if (is_http_) http_url_.AddFullUrl(out);
    return ParseOutcome::kEvent;
  }

 private:
  struct Column {
    std::string original;
    ZeekMapping mapping;
    ValueType source_type = ValueType::kString;  // from #types
    bool container = false;
    bool is_ts = false;
  };

  Result<ParseOutcome> ParseHeader(std::string_view line) {
    if (line.starts_with("#separator")) {
      // "#separator \x09": the one header separated by a space.
      std::string_view rest = line.substr(10);
      if (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
      std::string value = DecodeEscapes(rest);
      if (value.size() != 1) return Fail("separator must be one character", "#separator");
      separator_ = value[0];
      return ParseOutcome::kSkip;
    }
    Tokenizer tokens(line, separator_);
    std::string_view directive;
    tokens.Next(directive);
    std::string_view value;
    if (directive == "#set_separator") {
      if (!tokens.Next(value)) return Fail("missing value", "#set_separator");
      std::string separator = DecodeEscapes(value);
      if (separator.empty()) return Fail("empty set separator", "#set_separator");
      set_separator_ = std::move(separator);
    } else if (directive == "#empty_field") {
      if (!tokens.Next(value)) return Fail("missing value", "#empty_field");
      empty_field_ = DecodeEscapes(value);
    } else if (directive == "#unset_field") {
      if (!tokens.Next(value)) return Fail("missing value", "#unset_field");
      unset_field_ = DecodeEscapes(value);
    } else if (directive == "#path") {
      if (!tokens.Next(value)) return Fail("missing value", "#path");
      path_.assign(value);
      is_http_ = path_ == "http";
      path_key_ = MapZeekField(path_, "_path").key;
      // Names map per log: remap the columns if they came first.
      for (Column& column : columns_) column.mapping = MapZeekField(path_, column.original);
    } else if (directive == "#fields") {
      columns_.clear();
      while (tokens.Next(value)) {
        if (value.empty()) {
          columns_.clear();
          return Fail("empty field name", "#fields");
        }
        Column column;
        column.original.assign(value);
        column.mapping = MapZeekField(path_, value);
        column.is_ts = value == "ts";
        column.source_type = column.is_ts ? ValueType::kTime : ValueType::kString;
        columns_.push_back(std::move(column));
      }
      if (columns_.empty()) return Fail("no field names", "#fields");
    } else if (directive == "#types") {
      size_t index = 0;
      while (tokens.Next(value) && index < columns_.size()) {
        ColumnType type = ParseZeekType(value);
        columns_[index].source_type = type.type;
        columns_[index].container = type.container;
        ++index;
      }
    }
    // #open, #close and unknown directives carry nothing an event needs.
    return ParseOutcome::kSkip;
  }

  Result<void> AddValue(const Column& column, std::string_view text, Event& out) {
    ValueType type = column.mapping.type.value_or(column.source_type);
    switch (column.source_type) {
      case ValueType::kBool:
        if (text == "T") {
          text = "true";
        } else if (text == "F") {
          text = "false";
        } else {
          return Fail("not a boolean (T or F)", column.original);
        }
        type = ValueType::kBool;
        break;
      case ValueType::kTime: {
        auto ns = ParseEpochSecondsInRange(text);
        if (!ns) return Fail("not a time (epoch seconds)", column.original);
        if (column.is_ts) {
          out.timestamp_ns = *ns;
          return {};
        }
        out.Add(column.mapping.key, ValueType::kTime, FormatTime(*ns));
        return {};
      }
      default:
        break;
    }
    if (line_has_backslash_ && text.find('\\') != std::string_view::npos) text = Unescape(text);
    out.Add(column.mapping.key, type, text);
    return {};
  }

  // Undoes the TSV writer's escapes where the JSON writer has none, so that both forms
  // of a log give the same values: "\\" is a backslash, "\xHH" of a printable character
  // (an escaped separator) or of a JSON-escapable control (newline, tab, ...) is that
  // byte. Other "\xHH" stay as text, as the JSON writer also writes them.
  std::string_view Unescape(std::string_view text) {
    unescaped_.clear();
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == '\\') {
        unescaped_.push_back('\\');
        ++i;
        continue;
      }
      if (text[i] == '\\' && i + 3 < text.size() && text[i + 1] == 'x') {
        int high = HexDigit(text[i + 2]);
        int low = HexDigit(text[i + 3]);
        int byte = high < 0 || low < 0 ? -1 : high * 16 + low;
        bool plain = (byte >= 0x20 && byte < 0x7f) || byte == '\n' || byte == '\t' ||
                     byte == '\r' || byte == '\b' || byte == '\f';
        if (plain) {
          unescaped_.push_back(static_cast<char>(byte));
          i += 3;
          continue;
        }
      }
      unescaped_.push_back(text[i]);
    }
    return unescaped_;
  }

  char separator_ = '\t';
  std::string set_separator_ = ",";
  std::string empty_field_ = "(empty)";
  std::string unset_field_ = "-";
  std::string path_;
  bool is_http_ = false;
  FieldKey path_key_;
  std::vector<Column> columns_;
  HttpUrlBuilder http_url_;
  std::string unescaped_;  // scratch for Unescape
  bool line_has_backslash_ = false;
};

}  // namespace

std::unique_ptr<RecordParser> MakeZeekTsvParser() { return std::make_unique<ZeekTsvParser>(); }

}  // namespace aegis::ingest
