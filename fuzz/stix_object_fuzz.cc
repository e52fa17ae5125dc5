// libFuzzer target: STIX 2.1 object and bundle validation (intel/stix_object.h) and
// the version store fed with what validates.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "intel/stix_object.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace stix = aegis::intel::stix;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  stix::ObjectVersions versions;
  if (auto object = stix::ValidateObject(input)) {
    if (object->id.empty() || object->type.empty()) __builtin_trap();
    if (!versions.Add(*object)) __builtin_trap();  // first version of its id
    auto again = versions.Add(*object);            // an exact re-send is a duplicate
    if (!again || *again != stix::ObjectVersions::Added::kDuplicate) __builtin_trap();
  } else if (object.error().reason.empty()) {
    __builtin_trap();
  }
  if (auto bundle = stix::ValidateBundle(input)) {
    for (const auto& error : bundle->rejected) {
      if (error.reason.empty() || error.offset > size) __builtin_trap();
    }
    for (auto& object : bundle->objects) {
      (void)versions.Add(object);  // conflicts are fine; crashes are not
      if (versions.Newest(object.id) == nullptr) __builtin_trap();
    }
  } else if (bundle.error().reason.empty()) {
    __builtin_trap();
  }
  return 0;
}
