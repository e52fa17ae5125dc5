// The parts of json_fields.h that run once per record or only on errors.
#include "ingest/json_fields.h"

namespace aegis::ingest {

std::unexpected<Error> JsonFieldError(std::string reason, std::string_view field) {
  return Fail(std::move(reason), std::string(field));
}

Result<void> JsonObjectReader::Open(std::string_view record, simdjson::ondemand::document& doc,
                                    simdjson::ondemand::object& object) {
  // The on-demand parser reads up to SIMDJSON_PADDING bytes past the end.
  if (padded_.size() < record.size() + simdjson::SIMDJSON_PADDING) {
    padded_.resize(record.size() + simdjson::SIMDJSON_PADDING);
  }
  std::memcpy(padded_.data(), record.data(), record.size());
  if (parser_.iterate(padded_.data(), record.size(), padded_.size()).get(doc) !=
      simdjson::SUCCESS) {
    return Fail("not JSON");
  }
  if (doc.get_object().get(object) != simdjson::SUCCESS) return Fail("not a JSON object");
  return {};
}

Result<void> JsonObjectReader::CheckNothingFollows(simdjson::ondemand::document& doc) {
  const char* trailing = nullptr;
  if (doc.current_location().get(trailing) == simdjson::SUCCESS) {
    return Fail("trailing characters after the JSON object");
  }
  return {};
}

simdjson::error_code RawJsonText(simdjson::simdjson_result<simdjson::ondemand::value>& value,
                                 simdjson::ondemand::json_type type, std::string_view& json) {
  if (type == simdjson::ondemand::json_type::object) {
    simdjson::ondemand::object object;
    if (auto error = value.get_object().get(object); error) return error;
    return object.raw_json().get(json);
  }
  simdjson::ondemand::array array;
  if (auto error = value.get_array().get(array); error) return error;
  return array.raw_json().get(json);
}

}  // namespace aegis::ingest
