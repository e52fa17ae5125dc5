// Internal to src/intel: walking JSON objects and arrays of objects with simdjson
// On-Demand, shared by the STIX and MISP loaders.
#pragma once

#include <simdjson.h>

#include <string_view>
#include <utility>

namespace aegis::intel::internal {

// Calls on_member(key, value, kind) for each member of `obj`, key unescaped; stops at
// the first error, its own or one on_member returns.
template <typename OnMember>
simdjson::error_code ForEachMember(simdjson::ondemand::object obj, OnMember&& on_member) {
  for (auto field : obj) {
    std::string_view key;
    if (auto error = field.unescaped_key().get(key)) return error;
    simdjson::ondemand::value value;
    if (auto error = field.value().get(value)) return error;
    simdjson::ondemand::json_type kind;
    if (auto error = value.type().get(kind)) return error;
    if (auto error = on_member(key, value, kind)) return error;
  }
  return simdjson::SUCCESS;
}

// Calls on_object(obj) for each element of the array `array_value` that is an object
// (other elements are skipped); stops at the first error.
template <typename OnObject>
simdjson::error_code ForEachObjectElement(simdjson::ondemand::value array_value,
                                          OnObject&& on_object) {
  simdjson::ondemand::array items;
  if (auto error = array_value.get_array().get(items)) return error;
  for (auto item : items) {
    simdjson::ondemand::object obj;
    if (item.get_object().get(obj)) continue;
    if (auto error = on_object(obj)) return error;
  }
  return simdjson::SUCCESS;
}

}  // namespace aegis::intel::internal
