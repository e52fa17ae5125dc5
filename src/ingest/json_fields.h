// Internal to src/ingest: what the Zeek JSON and Suricata EVE parsers share to read one
// JSON object per record with simdjson On-Demand: the padded copy of the record, keys
// read in place, the cache of what each dotted field name maps to, checked numbers and
// the values that are not strings or numbers. The helpers that run for every field are
// inline, so that sharing them costs the parsers nothing.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/event.h"

namespace aegis::ingest {

// Objects nested deeper than this are kept as JSON text instead of flattened.
inline constexpr int kJsonMaxNesting = 16;
// Field names are interned for the life of the process: a parser accepts at most this
// many distinct names, so that garbage with ever new keys cannot grow memory forever.
inline constexpr size_t kJsonMaxDistinctNames = 8192;

// A failed record, naming the field at fault.
std::unexpected<Error> JsonFieldError(std::string reason, std::string_view field = {});

// The simdjson parser of one RecordParser and the padded copy of the record it reads.
class JsonObjectReader {
 public:
  // Starts reading `record` as one JSON object ("not JSON", "not a JSON object").
  Result<void> Open(std::string_view record, simdjson::ondemand::document& doc,
                    simdjson::ondemand::object& object);
  // Fails when anything but white space follows the object read.
  static Result<void> CheckNothingFollows(simdjson::ondemand::document& doc);

 private:
  simdjson::ondemand::parser parser_;
  std::vector<char> padded_;
};

// What a parser worked out once for a dotted field name.
struct CachedJsonField {
  std::string original;             // full dotted name, as in the record
  FieldKey key;                     // schema key
  std::optional<ValueType> type;    // the schema's type, or nullopt: the value's own
  bool is_timestamp = false;        // the field that gives Event::timestamp_ns
  CachedJsonField* next = nullptr;  // the field that followed this one in the last record
};

// The fields of one kind of record (one Zeek log, or all of EVE).
struct JsonFieldTable {
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  CachedJsonField* first = nullptr;  // the first field of the last record
  std::unordered_map<std::string, CachedJsonField, StringHash, std::equal_to<>> by_name;
};

// Equality for field names, inline and a word at a time: a call to memcmp per field
// was a tenth of the parse time. Loads stay inside both strings.
inline bool SameShortText(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  auto load64 = [](const char* p) {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  };
  auto load32 = [](const char* p) {
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  };
  if (n >= 8 && n <= 16) {
    return load64(a.data()) == load64(b.data()) &&
           load64(a.data() + n - 8) == load64(b.data() + n - 8);
  }
  if (n >= 4 && n < 8) {
    return load32(a.data()) == load32(b.data()) &&
           load32(a.data() + n - 4) == load32(b.data() + n - 4);
  }
  if (n < 4) {
    for (size_t i = 0; i < n; ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }
  return a == b;
}

// Finds the cached field of a name. Records of one kind mostly list the same fields in
// the same order: the field that followed the previous one last time is tried before
// the name is hashed. Distinct names are counted over all tables.
class JsonFieldCache {
 public:
  // Starts a record whose fields belong to `table`.
  void StartRecord(JsonFieldTable& table) {
    table_ = &table;
    previous_ = nullptr;
  }

  // `describe(original, field)` sets key, type and is_timestamp of a name seen for the
  // first time. nullptr when the name would go beyond kJsonMaxDistinctNames.
  template <typename Describe>
  const CachedJsonField* Lookup(std::string_view original, Describe&& describe) {
    CachedJsonField*& expected = previous_ == nullptr ? table_->first : previous_->next;
    if (expected != nullptr && SameShortText(expected->original, original)) {
      previous_ = expected;
      return expected;
    }
    auto it = table_->by_name.find(original);
    if (it == table_->by_name.end()) {
      if (distinct_names_ >= kJsonMaxDistinctNames) return nullptr;
      ++distinct_names_;
      CachedJsonField field;
      field.original.assign(original);
      describe(original, field);
      it = table_->by_name.emplace(field.original, std::move(field)).first;
    }
    expected = &it->second;
    previous_ = &it->second;
    return &it->second;
  }

 private:
  JsonFieldTable* table_ = nullptr;
  CachedJsonField* previous_ = nullptr;  // the field read last in this record
  size_t distinct_names_ = 0;
};

// The key of a field: read in place when it has no escapes (the common case, and much
// cheaper than unescaping a copy).
inline bool ReadJsonKey(simdjson::simdjson_result<simdjson::ondemand::field>& field,
                        std::string_view& key) {
  simdjson::ondemand::raw_json_string raw;
  if (field.key().get(raw) != simdjson::SUCCESS) return false;
  const char* start = raw.raw();
  const char* end = start;
  // The document was validated by stage 1: the closing quote exists.
  while (*end != '"' && *end != '\\') ++end;
  if (*end == '"') {
    key = std::string_view(start, static_cast<size_t>(end - start));
    return true;
  }
  return field.unescaped_key().get(key) == simdjson::SUCCESS;
}

inline std::string_view TrimJsonSpaceRight(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

inline bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

// Checks a JSON number token and says whether it is an integer. The on-demand parser
// does not validate numbers it is not asked to convert.
inline bool CheckJsonNumber(std::string_view token, bool& is_integer) {
  size_t i = 0;
  if (i < token.size() && token[i] == '-') ++i;
  size_t digits_start = i;
  while (i < token.size() && IsAsciiDigit(token[i])) ++i;
  if (i == digits_start) return false;
  is_integer = true;
  if (i < token.size() && token[i] == '.') {
    is_integer = false;
    size_t frac_start = ++i;
    while (i < token.size() && IsAsciiDigit(token[i])) ++i;
    if (i == frac_start) return false;
  }
  if (i < token.size() && (token[i] == 'e' || token[i] == 'E')) {
    is_integer = false;
    ++i;
    if (i < token.size() && (token[i] == '+' || token[i] == '-')) ++i;
    size_t exp_start = i;
    while (i < token.size() && IsAsciiDigit(token[i])) ++i;
    if (i == exp_start) return false;
  }
  return i == token.size();
}

// The checked token of a number value, as written. false when malformed.
inline bool ReadJsonNumber(simdjson::simdjson_result<simdjson::ondemand::value>& value,
                           std::string_view& token, bool& is_integer) {
  if (value.raw_json_token().get(token) != simdjson::SUCCESS) return false;
  token = TrimJsonSpaceRight(token);
  return CheckJsonNumber(token, is_integer);
}

// The type of a number: the schema's when it is int or float, else the number's own.
inline ValueType JsonNumberType(bool is_integer, const std::optional<ValueType>& schema_type) {
  if (schema_type == ValueType::kInt || schema_type == ValueType::kFloat) return *schema_type;
  return is_integer ? ValueType::kInt : ValueType::kFloat;
}

// The JSON text of an object or array value.
simdjson::error_code RawJsonText(simdjson::simdjson_result<simdjson::ondemand::value>& value,
                                 simdjson::ondemand::json_type type, std::string_view& json);

// Adds a value that is neither a string nor a number as `field`: a boolean as
// "true"/"false", nothing for null, the JSON text of an object or array (one nested too
// deep to flatten, or an array inside an array).
inline Result<void> AddOtherJsonValue(const CachedJsonField& field,
                                      simdjson::simdjson_result<simdjson::ondemand::value>& value,
                                      simdjson::ondemand::json_type type, Event& out) {
  namespace od = simdjson::ondemand;
  switch (type) {
    case od::json_type::boolean: {
      bool flag = false;
      if (value.get_bool().get(flag) != simdjson::SUCCESS) {
        return JsonFieldError("malformed boolean", field.original);
      }
      out.Add(field.key, ValueType::kBool, flag ? "true" : "false");
      return {};
    }
    case od::json_type::null: {
      bool is_null = false;
      if (value.is_null().get(is_null) != simdjson::SUCCESS || !is_null) {
        return JsonFieldError("malformed null", field.original);
      }
      return {};
    }
    case od::json_type::object:
    case od::json_type::array: {
      std::string_view json;
      if (RawJsonText(value, type, json) != simdjson::SUCCESS) {
        return JsonFieldError("malformed value", field.original);
      }
      out.Add(field.key, ValueType::kString, TrimJsonSpaceRight(json));
      return {};
    }
    default:
      return JsonFieldError("unexpected JSON value", field.original);
  }
}

}  // namespace aegis::ingest
