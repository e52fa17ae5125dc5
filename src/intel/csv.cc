// CSV feeds (RFC 4180) mapped to indicators by a CsvMapping.
//
// Fields may be quoted ("a,b", "say ""hi""", line breaks inside quotes); CRLF and
// LF line ends are both accepted. Columns are named by header (case-insensitive) or
// by 0-based index given as text. Per row, optional columns give the type (else it is
// detected from the value), confidence (0..100), tags (split on ',', ';' or '|'),
// first_seen / last_seen / valid_until (ISO 8601 or epoch s/ms/us/ns). Lines starting
// with '#' are comments, except that a commented line naming the value column is taken
// as the header (abuse.ch feeds write "# id,dateadded,url,...").
#include <algorithm>
#include <charconv>
#include <vector>

#include "core/strings.h"
#include "intel/loaders.h"

namespace aegis::intel::internal {
namespace {

constexpr size_t kNoColumn = static_cast<size_t>(-1);

// Reads RFC 4180 records from memory. Field storage is reused between records.
class CsvReader {
 public:
  CsvReader(std::string_view text, char delimiter) : text_(text), delimiter_(delimiter) {}

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }
  uint64_t line() const { return line_; }

  // Skips the rest of the current physical line.
  void SkipLine() {
    size_t newline = text_.find('\n', pos_);
    pos_ = newline == std::string_view::npos ? text_.size() : newline + 1;
    ++line_;
  }
  void Advance(size_t n) { pos_ += n; }

  // Reads one record into fields[0..count); returns the count (0 at the end).
  // `malformed` is set for an unterminated quote.
  size_t Next(std::vector<std::string>& fields, bool& malformed) {
    malformed = false;
    if (AtEnd()) return 0;
    ++line_;
    size_t count = 0;
    while (true) {
      if (fields.size() <= count) fields.emplace_back();
      std::string& field = fields[count++];
      field.clear();
      if (pos_ < text_.size() && text_[pos_] == '"') {
        ++pos_;
        while (true) {
          size_t quote = text_.find('"', pos_);
          if (quote == std::string_view::npos) {
            field.append(text_.substr(pos_));
            pos_ = text_.size();
            malformed = true;
            break;
          }
          std::string_view chunk = text_.substr(pos_, quote - pos_);
          for (char c : chunk) line_ += c == '\n';
          field.append(chunk);
          pos_ = quote + 1;
          if (pos_ < text_.size() && text_[pos_] == '"') {
            field.push_back('"');
            ++pos_;
            continue;
          }
          break;
        }
      }
      // Unquoted text (or, leniently, text after a closing quote).
      while (pos_ < text_.size() && text_[pos_] != delimiter_ && text_[pos_] != '\n') {
        field.push_back(text_[pos_++]);
      }
      if (pos_ < text_.size() && text_[pos_] == delimiter_) {
        ++pos_;
        continue;
      }
      if (!field.empty() && field.back() == '\r') field.pop_back();
      if (pos_ < text_.size()) ++pos_;  // the '\n'
      return count;
    }
  }

 private:
  std::string_view text_;
  char delimiter_;
  size_t pos_ = 0;
  uint64_t line_ = 0;
};

bool ParseIndex(std::string_view text, size_t& index) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), index);
  return ec == std::errc() && end == text.data() + text.size();
}

struct ColumnSpec {
  std::string_view name;  // as configured
  size_t index = kNoColumn;
};

struct Columns {
  ColumnSpec value, type, confidence, tags, first_seen, last_seen, valid_until;
  ColumnSpec* All() { return &value; }
  static constexpr int kCount = 7;
  bool PerRowMeta() const {
    return confidence.index != kNoColumn || tags.index != kNoColumn || first_seen.index != kNoColumn ||
           last_seen.index != kNoColumn || valid_until.index != kNoColumn;
  }
};

// Resolves names against the header (or indices given as text). Returns the first
// column that cannot be resolved, or nullopt.
std::optional<std::string> Resolve(Columns& columns, const std::vector<std::string>* header,
                                   size_t header_count) {
  ColumnSpec* specs = columns.All();
  for (int i = 0; i < Columns::kCount; ++i) {
    ColumnSpec& spec = specs[i];
    if (spec.name.empty()) continue;
    if (ParseIndex(spec.name, spec.index)) continue;
    spec.index = kNoColumn;
    if (header) {
      for (size_t c = 0; c < header_count; ++c) {
        if (IEquals(Trim((*header)[c]), Trim(spec.name))) {
          spec.index = c;
          break;
        }
      }
    }
    if (spec.index == kNoColumn) return std::string(spec.name);
  }
  return std::nullopt;
}

const std::string* Cell(const std::vector<std::string>& fields, size_t count, size_t index) {
  if (index == kNoColumn || index >= count) return nullptr;
  return &fields[index];
}

void AddTags(std::string_view text, std::vector<std::string>& tags) {
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ',' || text[i] == ';' || text[i] == '|') {
      std::string_view tag = Trim(text.substr(start, i - start));
      if (!tag.empty()) tags.emplace_back(tag);
      start = i + 1;
    }
  }
}

}  // namespace

void LoadCsvText(std::string_view text, std::string_view where, const IndicatorMeta& meta,
                 LoadContext& context) {
  const CsvMapping& mapping = context.options().csv;
  Columns columns;
  columns.value.name = mapping.value_column;
  columns.type.name = mapping.type_column;
  columns.confidence.name = mapping.confidence_column;
  columns.tags.name = mapping.tags_column;
  columns.first_seen.name = mapping.first_seen_column;
  columns.last_seen.name = mapping.last_seen_column;
  columns.valid_until.name = mapping.valid_until_column;
  if (columns.value.name.empty()) {
    context.FileError(where, "CSV mapping has no value column");
    return;
  }

  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // UTF-8 byte order mark
  CsvReader reader(text, mapping.delimiter);
  std::vector<std::string> fields;
  bool malformed = false;
  bool resolved = false;
  if (!mapping.has_header) {
    if (auto missing = Resolve(columns, nullptr, 0)) {
      context.FileError(where, "column '" + *missing + "' is named but the CSV has no header");
      return;
    }
    resolved = true;
  }

  detect::MetaId file_meta_id = context.Meta(meta);
  bool per_row_meta = false;
  IndicatorMeta row_meta;
  while (!reader.AtEnd()) {
    // Comments, and abuse.ch-style commented headers.
    if (reader.Peek() == '#') {
      if (resolved) {
        reader.SkipLine();
        continue;
      }
      reader.Advance(1);
      size_t count = reader.Next(fields, malformed);
      if (count > 0) {
        std::string& first = fields[0];
        first.erase(0, first.find_first_not_of(" \t"));
        Columns trial = columns;
        if (!Resolve(trial, &fields, count)) {
          columns = trial;
          resolved = true;
        }
      }
      continue;
    }
    uint64_t line = reader.line() + 1;  // where the record starts
    size_t count = reader.Next(fields, malformed);
    if (count == 0) break;
    if (count == 1 && Trim(fields[0]).empty()) continue;  // blank line
    if (!resolved) {
      if (auto missing = Resolve(columns, &fields, count)) {
        context.FileError(where, "column '" + *missing + "' not found in the CSV header");
        return;
      }
      resolved = true;
      continue;
    }
    per_row_meta = columns.PerRowMeta();
    const std::string* value = Cell(fields, count, columns.value.index);
    if (!value) {
      context.Reject("row has too few columns", {}, where, line);
      continue;
    }
    if (malformed) {
      context.Reject("unterminated quoted field", *value, where, line);
      continue;
    }
    std::optional<IndicatorType> type;
    if (const std::string* type_cell = Cell(fields, count, columns.type.index)) {
      std::string_view type_text = Trim(*type_cell);
      if (!type_text.empty()) {
        type = ParseIndicatorType(type_text);
        if (!type) {
          context.Reject("unknown indicator type '" + std::string(type_text) + "'", *value, where, line);
          continue;
        }
      }
    }
    detect::MetaId meta_id = file_meta_id;
    if (per_row_meta) {
      row_meta = meta;
      if (const std::string* cell = Cell(fields, count, columns.confidence.index)) {
        int confidence = 0;
        std::string_view text_value = Trim(*cell);
        auto [end, ec] = std::from_chars(text_value.data(), text_value.data() + text_value.size(), confidence);
        if (ec == std::errc() && end == text_value.data() + text_value.size()) {
          row_meta.confidence = std::clamp(confidence, 0, 100);
        }
      }
      if (const std::string* cell = Cell(fields, count, columns.tags.index)) AddTags(*cell, row_meta.tags);
      if (const std::string* cell = Cell(fields, count, columns.first_seen.index)) {
        if (auto t = ParseFlexibleTime(*cell)) row_meta.first_seen_ns = *t;
      }
      if (const std::string* cell = Cell(fields, count, columns.last_seen.index)) {
        if (auto t = ParseFlexibleTime(*cell)) row_meta.last_seen_ns = *t;
      }
      if (const std::string* cell = Cell(fields, count, columns.valid_until.index)) {
        if (auto t = ParseFlexibleTime(*cell)) row_meta.valid_until_ns = *t;
      }
      meta_id = context.Meta(row_meta);
    }
    context.Offer(*value, type, meta_id, where, line);
  }
}

}  // namespace aegis::intel::internal
