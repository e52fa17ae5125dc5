// Intel: loads threat indicators from feeds and files into an IndicatorSink.
//
// Formats: plain lists and maltrail trail files, CSV with a column mapping, hosts
// files, STIX 2.1 bundles (patterns that are one comparison or an OR of comparisons),
// and MISP feeds (a folder or URL-less copy with manifest.json plus event files).
// Each value is normalised and vetted (core/observables.h); junk is rejected with a
// reason and counted: 0.0.0.0, private and bogon ranges (unless allowed), malformed
// names. STIX indicators whose pattern is not supported are reported as not loaded.
//
//   aegis::detect::IndexBuilder builder;
//   aegis::intel::LoadOptions opts;
//   auto report = aegis::intel::LoadPath("../shared/data/intel/maltrail", opts, builder);
//   std::cout << report->accepted << " loaded\n";
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/indicator.h"
#include "detect/indicator_index.h"

namespace aegis::intel {

enum class FeedFormat : unsigned char {
  kAuto,      // from the extension and content
  kPlain,     // one indicator per line, '#' comments (maltrail trails are this)
  kMaltrail,  // a maltrail tree: trails/static/{malware,malicious,suspicious}/*.txt
  kCsv,
  kHosts,     // "0.0.0.0 evil.com" hosts-file blocklists
  kStix,      // STIX 2.1 bundle (JSON)
  kMisp,      // MISP feed folder (manifest.json + <uuid>.json events)
};

std::string_view FeedFormatName(FeedFormat f);
std::optional<FeedFormat> ParseFeedFormat(std::string_view name);

struct CsvMapping {
  // Column names (from the header row) or 0-based indices as text ("0", "3").
  std::string value_column = "value";
  std::string type_column;         // empty: detect the type from each value
  std::string confidence_column;
  std::string tags_column;         // tags separated by ',' ';' or '|'
  std::string first_seen_column;
  std::string last_seen_column;
  std::string valid_until_column;
  char delimiter = ',';
  bool has_header = true;
};

struct LoadOptions {
  FeedFormat format = FeedFormat::kAuto;
  IndicatorMeta defaults;          // applied to indicators whose feed does not say
  bool allow_private = false;      // accept RFC 1918/bogon addresses and ranges
  CsvMapping csv;
  bool misp_only_to_ids = true;    // MISP: load only attributes flagged to_ids (for detection)
  std::string source_name;         // overrides the source recorded on each indicator
  // Called as each file starts loading, with its path and the number of files so far
  // (for progress on a terminal). May be empty.
  std::function<void(const std::string& path, uint64_t files)> on_file;
  bool keep_rejects = true;        // keep up to `max_rejects` rejects for reporting
  size_t max_rejects = 1000;
};

struct Reject {
  std::string where;   // file:line or file:object-id
  std::string value;
  std::string reason;
};

struct LoadReport {
  uint64_t files = 0;
  uint64_t accepted = 0;                     // handed to the sink
  uint64_t rejected = 0;                     // junk, with reasons below
  uint64_t not_loaded = 0;                   // valid input Aegis cannot use (e.g. STIX patterns)
  std::map<std::string, uint64_t> rejected_by_reason;
  std::map<std::string, uint64_t> not_loaded_by_reason;  // why valid input was not used
  std::map<std::string, uint64_t> accepted_by_type;
  std::vector<Reject> rejects;               // first max_rejects rejects and not-loaded items
  std::vector<Error> errors;                 // files that could not be read at all
};

// Loads one file or a folder (recursively) into `sink`. Fails only when `path`
// cannot be read at all; per-record problems land in the report.
Result<LoadReport> LoadPath(const std::string& path, const LoadOptions& options,
                            detect::IndicatorSink& sink);

// Vets and normalises one raw value whose type is known or detected (`type` empty).
// Handles defanging ("hxxp", "[.]"), ip:port, "[v6]:port", URLs with and without scheme.
// Errors carry the rejection reason.
std::expected<Indicator, std::string> VetValue(std::string_view raw,
                                                std::optional<IndicatorType> type,
                                                bool allow_private);

}  // namespace aegis::intel
