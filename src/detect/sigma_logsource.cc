// Parses the logsource mapping (config/sigma-logsources.yml, docs/SIGMA.md).
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "detect/sigma_internal.h"

namespace aegis::detect::sigma::internal {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return s;
}

std::unexpected<Error> MappingError(std::string_view origin, const YAML::Node& node,
                                    std::string reason) {
  Error e;
  e.where = std::string(origin);
  if (node.IsDefined()) e.line = node.Mark().line + 1;
  e.reason = std::move(reason);
  return std::unexpected(std::move(e));
}

Result<std::vector<SourceTest>> ParseTests(const YAML::Node& node, std::string_view origin) {
  if (!node.IsMap()) return MappingError(origin, node, "each `when` alternative must be a map");
  std::vector<SourceTest> tests;
  for (const auto& kv : node) {
    SourceTest test;
    test.field = kv.first.as<std::string>();
    if (kv.second.IsSequence()) {
      for (const auto& v : kv.second) test.values.push_back(Lower(v.as<std::string>()));
    } else if (kv.second.IsScalar()) {
      test.values.push_back(Lower(kv.second.as<std::string>()));
    } else {
      return MappingError(origin, kv.second,
                          "`" + test.field + "` must be a value or a list of values");
    }
    tests.push_back(std::move(test));
  }
  return tests;
}

}  // namespace

Result<LogsourceMapping> ParseLogsourceMapping(std::string_view yaml, std::string_view origin) {
  LogsourceMapping mapping;
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (!root.IsMap()) return MappingError(origin, root, "the mapping must be a YAML map");
    const YAML::Node entries = root["logsources"];
    if (!entries.IsSequence()) {
      return MappingError(origin, root, "`logsources` must be a list of entries");
    }
    std::set<std::string> routing;
    for (const auto& entry : entries) {
      if (!entry.IsMap()) return MappingError(origin, entry, "a logsource entry must be a map");
      LogsourceEntry e;
      for (const auto& kv : entry) {
        const std::string key = kv.first.as<std::string>();
        if (key == "product") {
          e.product = Lower(kv.second.as<std::string>());
        } else if (key == "category") {
          e.category = Lower(kv.second.as<std::string>());
        } else if (key == "service") {
          e.service = Lower(kv.second.as<std::string>());
        } else if (key != "when") {
          return MappingError(origin, kv.first,
                              "unknown key `" + key +
                                  "` (expected product, category, "
                                  "service, when)");
        }
      }
      if (e.product.empty() && e.category.empty() && e.service.empty()) {
        return MappingError(origin, entry, "an entry needs a product, category or service");
      }
      const YAML::Node when = entry["when"];
      if (!when.IsSequence() || when.size() == 0) {
        return MappingError(origin, entry, "an entry needs `when`: a list of alternatives");
      }
      for (const auto& alt : when) {
        auto tests = ParseTests(alt, origin);
        if (!tests) return std::unexpected(tests.error());
        for (const auto& t : *tests) routing.insert(t.field);
        e.when.push_back(std::move(*tests));
      }
      mapping.entries.push_back(std::move(e));
    }
    if (const YAML::Node fields = root["fields"]) {
      if (!fields.IsMap()) return MappingError(origin, fields, "`fields` must be a map");
      for (const auto& product : fields) {
        std::string name = Lower(product.first.as<std::string>());
        if (name == "*") name.clear();
        if (!product.second.IsMap()) {
          return MappingError(origin, product.second, "`fields." + name + "` must be a map");
        }
        for (const auto& f : product.second) {
          auto& names = mapping.fields[name][f.first.as<std::string>()];
          if (f.second.IsSequence()) {
            for (const auto& v : f.second) names.push_back(v.as<std::string>());
          } else {
            names.push_back(f.second.as<std::string>());
          }
        }
      }
    }
    mapping.routing_fields.assign(routing.begin(), routing.end());
  } catch (const YAML::Exception& ex) {
    Error e;
    e.where = std::string(origin);
    e.line = ex.mark.line >= 0 ? ex.mark.line + 1 : 0;
    e.reason = ex.msg;
    return std::unexpected(std::move(e));
  }
  return mapping;
}

}  // namespace aegis::detect::sigma::internal
