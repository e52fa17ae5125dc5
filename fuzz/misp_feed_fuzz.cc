// libFuzzer target: a MISP feed as the feed importer sees it. The input is read both
// as manifest.json (ParseMispManifest) and as one event file converted to STIX 2.1
// indicators (ConvertDocument). Every generated indicator must pass ValidateObject,
// keep its deterministic id, and the loader's books must balance.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "intel/feeds.h"
#include "intel_fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto manifest = aegis::intel::ParseMispManifest(input);
  if (manifest) {
    for (const auto& entry : *manifest) {
      if (entry.uuid.size() > input.size()) __builtin_trap();
    }
  }
  aegis::intel::FeedConfig feed;
  feed.name = "fuzz";
  feed.url = "fuzz.json";
  feed.misp_only_to_ids = size % 2 == 0;  // explore both attribute policies
  feed.producer_identity = "identity--5b2b3e2a-5f7b-4a4e-9d2a-0b1c2d3e4f50";
  auto converted = aegis::intel::ConvertDocument(feed, aegis::intel::FeedFormat::kMisp, "fuzz.json",
                                                 input, 1'700'000'000'123'000'000);
  if (!converted.invalid.empty()) __builtin_trap();
  if (converted.objects.size() > converted.load.accepted) __builtin_trap();
  for (const auto& object : converted.objects) {
    if (object.type != "indicator" || !object.id.starts_with("indicator--")) __builtin_trap();
  }
  aegis::intel::fuzzing::CheckReport(converted.load);
  return 0;
}
