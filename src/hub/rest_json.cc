// JSON helpers of the REST API: see hub/rest_json.h.
#include "hub/rest_json.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/strings.h"

namespace aegis::hub::rest {

void JsonObject::Key(std::string_view key) {
  if (!first_) out_ += ',';
  first_ = false;
  AppendJsonString(out_, key);
  out_ += ':';
}

JsonObject& JsonObject::Str(std::string_view key, std::string_view value) {
  Key(key);
  AppendJsonString(out_, value);
  return *this;
}

JsonObject& JsonObject::OptStr(std::string_view key, const std::optional<std::string>& value) {
  if (value) return Str(key, *value);
  Key(key);
  out_ += "null";
  return *this;
}

JsonObject& JsonObject::Int(std::string_view key, int64_t value) {
  Key(key);
  out_ += std::to_string(value);
  return *this;
}

JsonObject& JsonObject::Bool(std::string_view key, bool value) {
  Key(key);
  out_ += value ? "true" : "false";
  return *this;
}

JsonObject& JsonObject::Raw(std::string_view key, std::string_view json) {
  Key(key);
  out_ += json;
  return *this;
}

JsonObject& JsonObject::StrArray(std::string_view key, const std::vector<std::string>& values) {
  Key(key);
  out_ += '[';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out_ += ',';
    AppendJsonString(out_, values[i]);
  }
  out_ += ']';
  return *this;
}

std::string JsonObject::Done() {
  out_ += '}';
  return std::move(out_);
}

std::string JsonArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += items[i];
  }
  out += ']';
  return out;
}

void BodyReader::Fail(std::string message) {
  if (!error_) error_ = server::Response::Error(422, message);
}

void BodyReader::AllowOnly(std::initializer_list<std::string_view> allowed) {
  for (auto field : object_) {
    if (std::find(allowed.begin(), allowed.end(), field.key) == allowed.end()) {
      std::string names;
      for (auto name : allowed) names += fmt::format("{}'{}'", names.empty() ? "" : ", ", name);
      Fail(fmt::format("unknown field '{}' (expected {})", field.key, names));
      return;
    }
  }
}

std::optional<simdjson::dom::element> BodyReader::Member(std::string_view key) const {
  simdjson::dom::element value;
  if (object_.at_key(key).get(value)) return std::nullopt;
  return value;
}

bool BodyReader::Has(std::string_view key) const { return Member(key).has_value(); }

bool BodyReader::IsNull(std::string_view key) const {
  auto value = Member(key);
  return value && value->is_null();
}

std::optional<std::string> BodyReader::String(std::string_view key, bool required) {
  if (failed()) return std::nullopt;
  auto value = Member(key);
  if (!value) {
    if (required) Fail(fmt::format("field '{}' is required", key));
    return std::nullopt;
  }
  std::string_view text;
  if (value->get_string().get(text)) {
    Fail(fmt::format("field '{}' must be a string", key));
    return std::nullopt;
  }
  if (required && text.empty()) {
    Fail(fmt::format("field '{}' must not be empty", key));
    return std::nullopt;
  }
  return std::string(text);
}

std::optional<bool> BodyReader::Bool(std::string_view key) {
  if (failed()) return std::nullopt;
  auto value = Member(key);
  if (!value) return std::nullopt;
  bool b = false;
  if (value->get_bool().get(b)) {
    Fail(fmt::format("field '{}' must be true or false", key));
    return std::nullopt;
  }
  return b;
}

std::optional<int64_t> BodyReader::Int(std::string_view key) {
  if (failed()) return std::nullopt;
  auto value = Member(key);
  if (!value) return std::nullopt;
  int64_t n = 0;
  if (value->get_int64().get(n)) {
    Fail(fmt::format("field '{}' must be an integer", key));
    return std::nullopt;
  }
  return n;
}

std::optional<std::vector<std::string>> BodyReader::Strings(std::string_view key) {
  if (failed()) return std::nullopt;
  auto value = Member(key);
  if (!value) return std::nullopt;
  simdjson::dom::array array;
  if (value->get_array().get(array)) {
    Fail(fmt::format("field '{}' must be an array of strings", key));
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (simdjson::dom::element item : array) {
    std::string_view text;
    if (item.get_string().get(text)) {
      Fail(fmt::format("field '{}' must be an array of strings", key));
      return std::nullopt;
    }
    out.emplace_back(text);
  }
  return out;
}

}  // namespace aegis::hub::rest
