// Internal to the REST API (hub/rest_api.cc): writing JSON responses and reading JSON
// request bodies with clear per-field errors (422 naming the field and why).
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/router.h"

namespace aegis::hub::rest {

// Builds one JSON object member by member.
class JsonObject {
 public:
  JsonObject& Str(std::string_view key, std::string_view value);
  JsonObject& OptStr(std::string_view key, const std::optional<std::string>& value);  // null
  JsonObject& Int(std::string_view key, int64_t value);
  JsonObject& Bool(std::string_view key, bool value);
  JsonObject& Raw(std::string_view key, std::string_view json);  // already JSON
  JsonObject& StrArray(std::string_view key, const std::vector<std::string>& values);
  std::string Done();

 private:
  void Key(std::string_view key);
  std::string out_ = "{";
  bool first_ = true;
};

// Joins already-serialised JSON values into an array.
std::string JsonArray(const std::vector<std::string>& items);

// Reads the members of a parsed request body. The first problem wins and is kept as
// a ready 422 response; readers return nullopt after it.
class BodyReader {
 public:
  explicit BodyReader(simdjson::dom::object object) : object_(object) {}

  // Fails on any member not in `allowed` (catches typos such as "rol").
  void AllowOnly(std::initializer_list<std::string_view> allowed);
  bool Has(std::string_view key) const;
  bool IsNull(std::string_view key) const;
  std::optional<std::string> String(std::string_view key, bool required = false);
  std::optional<bool> Bool(std::string_view key);
  std::optional<int64_t> Int(std::string_view key);
  std::optional<std::vector<std::string>> Strings(std::string_view key);
  void Fail(std::string message);

  bool failed() const { return error_.has_value(); }
  server::Response error() const { return *error_; }

 private:
  std::optional<simdjson::dom::element> Member(std::string_view key) const;
  simdjson::dom::object object_;
  std::optional<server::Response> error_;
};

}  // namespace aegis::hub::rest
