// Plain indicator lists and maltrail trail trees.
//
// A plain list has one value per line; '#' starts a comment line, "value # note"
// carries an inline comment (a '#' preceded by a space or tab), blank lines are
// skipped. Values are typed by VetInto's auto-detection.
//
// A maltrail tree (trails/static/<category>/<family>.txt) is a set of plain lists.
// Each file becomes one metadata record: source "maltrail/<category>/<family>",
// tags "<category>" and "<category>:<family>". Severity and confidence follow
// the category, from how much a hit on it says about a host:
//   malware       high,   confidence 80  (known malware infrastructure)
//   malicious     high,   confidence 70  (attack tooling, phishing, exploit kits)
//   suspicious    medium, confidence 50  (dual use: proxies, DNS tunnels, miners)
//   mass_scanner* low,    confidence 40  (internet-wide scanners, mostly noise)
// Files in other folders keep the defaults from LoadOptions.
#include <algorithm>
#include <cstring>
#include <vector>

#include "intel/loaders.h"

namespace aegis::intel::internal {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view TrimBlank(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

IndicatorMeta MaltrailMeta(std::string_view category, std::string_view family,
                           const IndicatorMeta& defaults) {
  IndicatorMeta meta = defaults;
  meta.source = "maltrail/";
  meta.source.append(category);
  meta.source.push_back('/');
  meta.source.append(family);
  if (category == "malware") {
    meta.severity = Severity::kHigh;
    meta.confidence = 80;
  } else if (category == "malicious") {
    meta.severity = Severity::kHigh;
    meta.confidence = 70;
  } else if (category == "suspicious") {
    meta.severity = Severity::kMedium;
    meta.confidence = 50;
  } else if (category.starts_with("mass_scanner")) {
    meta.severity = Severity::kLow;
    meta.confidence = 40;
  }
  meta.tags = defaults.tags;
  meta.tags.emplace_back(category);
  std::string family_tag(category);
  family_tag.push_back(':');
  family_tag.append(family);
  meta.tags.push_back(std::move(family_tag));
  if (meta.description.empty()) {
    meta.description = "maltrail ";
    meta.description.append(category);
    meta.description.append(" trail '");
    meta.description.append(family);
    meta.description.push_back('\'');
  }
  return meta;
}

void LoadPlainText(std::string_view text, std::string_view where, const IndicatorMeta& meta,
                   LoadContext& context) {
  detect::MetaId meta_id = context.Meta(meta);
  const char* p = text.data();
  const char* end = p + text.size();
  uint64_t line_number = 0;
  while (p < end) {
    const char* newline = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const char* line_end = newline ? newline : end;
    std::string_view line(p, static_cast<size_t>(line_end - p));
    p = newline ? newline + 1 : end;
    ++line_number;
    line = TrimBlank(line);
    if (line.empty() || line.front() == '#') continue;
    // Inline comment: a '#' after a blank. A '#' glued to the value (URL fragment)
    // stays part of it.
    for (size_t hash = line.find('#'); hash != std::string_view::npos; hash = line.find('#', hash + 1)) {
      if (IsBlank(line[hash - 1])) {
        line = TrimBlank(line.substr(0, hash));
        break;
      }
    }
    context.Offer(line, std::nullopt, meta_id, where, line_number);
  }
}

void LoadMaltrailTree(const std::filesystem::path& static_root, LoadContext& context) {
  namespace fs = std::filesystem;
  struct TrailFile {
    fs::path path;
    std::string category;
    std::string family;
  };
  std::vector<TrailFile> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(static_root, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->path().extension() != ".txt") continue;
    fs::path relative = it->path().lexically_relative(static_root);
    std::string family = it->path().stem().string();
    std::string category;
    if (std::distance(relative.begin(), relative.end()) > 1) {
      category = relative.begin()->string();
    } else {
      category = family.starts_with("mass_scanner") ? "mass_scanner" : family;
    }
    files.push_back({it->path(), std::move(category), std::move(family)});
  }
  if (ec) context.FileError(static_root.string(), "cannot list folder: " + ec.message());
  std::sort(files.begin(), files.end(), [](const TrailFile& a, const TrailFile& b) { return a.path < b.path; });

  std::string content;
  std::string error;
  for (const TrailFile& file : files) {
    std::string where = file.path.string();
    if (!ReadWholeFile(file.path, content, error)) {
      context.FileError(where, error);
      continue;
    }
    ++context.report().files;
    if (context.options().on_file) context.options().on_file(where, context.report().files);
    IndicatorMeta meta = MaltrailMeta(file.category, file.family, context.options().defaults);
    LoadPlainText(content, where, meta, context);
  }
}

std::optional<std::filesystem::path> FindMaltrailRoot(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto is_static_root = [&](const fs::path& p) {
    return fs::is_directory(p / "malware", ec) || fs::is_directory(p / "malicious", ec) ||
           fs::is_directory(p / "suspicious", ec);
  };
  for (const fs::path& candidate : {dir / "trails" / "static", dir / "static", dir}) {
    if (fs::is_directory(candidate, ec) && is_static_root(candidate)) {
      // A bare folder counts only when it is named like maltrail's.
      if (candidate == dir && dir.filename() != "static") continue;
      return candidate;
    }
  }
  return std::nullopt;
}

}  // namespace aegis::intel::internal
