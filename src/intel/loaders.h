// Internal interface between the intel loaders (not part of the public API).
//
// Each format has a parse-from-memory function that feeds a LoadContext; load.cc
// reads files and folders and picks the format, the fuzz targets call the
// parse-from-memory functions directly. LoadContext vets every value
// (VetInto, see vet.cc), hands accepted ones to the sink and keeps the counts.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/indicator.h"
#include "detect/indicator_index.h"
#include "intel/intel.h"

namespace aegis::intel::internal {

// Reusable scratch space for VetInto, so vetting a value does not allocate.
struct VetBuffers {
  std::string defanged;
  std::string value;   // the normalised value after a successful VetInto
  std::string reason;  // storage for rejection reasons that are built at run time
};

// Vets and normalises `raw` into buffers.value. Returns the indicator type, or the
// rejection reason (pointing at static storage or at buffers.reason).
std::expected<IndicatorType, std::string_view> VetInto(std::string_view raw,
                                                       std::optional<IndicatorType> type,
                                                       bool allow_private, VetBuffers& buffers);

// Undoes common defanging ("hxxp", "[.]", "(.)", "[:]", "[@]", ...). Returns `raw`
// itself when there is nothing to undo, else a view of `scratch`.
std::string_view Defang(std::string_view raw, std::string& scratch);

// Unix nanoseconds from an ISO 8601 / RFC 3339 time or from epoch seconds,
// milliseconds, microseconds or nanoseconds (told apart by magnitude).
std::optional<int64_t> ParseFlexibleTime(std::string_view text);

// Shared state of one LoadPath call.
class LoadContext {
 public:
  LoadContext(const LoadOptions& options, detect::IndicatorSink& sink, LoadReport& report);
  LoadContext(const LoadContext&) = delete;
  LoadContext& operator=(const LoadContext&) = delete;
  ~LoadContext();

  const LoadOptions& options() const { return options_; }
  detect::IndicatorSink& sink() { return sink_; }
  LoadReport& report() { return report_; }

  // Registers `meta`, reusing the previous id when it is identical to the last one.
  detect::MetaId Meta(const IndicatorMeta& meta);

  // Vets `raw`; adds it to the sink with `meta` or counts the rejection. `where` and
  // `line` say where the value came from (only used for the first rejects kept).
  bool Offer(std::string_view raw, std::optional<IndicatorType> type, detect::MetaId meta,
             std::string_view where, uint64_t line = 0);
  // Adds an already vetted value.
  void Accept(IndicatorType type, std::string_view value, detect::MetaId meta);
  void Reject(std::string_view reason, std::string_view value, std::string_view where,
              uint64_t line = 0);
  void NotLoaded(std::string_view reason, std::string_view value, std::string_view where,
                 uint64_t line = 0);
  void FileError(std::string_view where, std::string reason);

  // Folds the per-type counters into report().accepted_by_type.
  void Flush();

 private:
  void Keep(std::string_view reason, std::string_view value, std::string_view where, uint64_t line);

  const LoadOptions& options_;
  detect::IndicatorSink& sink_;
  LoadReport& report_;
  VetBuffers buffers_;
  uint64_t accepted_by_type_[9] = {};
  bool have_last_meta_ = false;
  IndicatorMeta last_meta_;
  detect::MetaId last_meta_id_ = 0;
};

// Maltrail category rules: severity and confidence for a trail file of `category`
// ("malware", "malicious", "suspicious", "mass_scanner", ...) on top of `defaults`.
IndicatorMeta MaltrailMeta(std::string_view category, std::string_view family,
                           const IndicatorMeta& defaults);

// Parse-from-memory entry points. `where` names the file in rejects and the
// meta's source when the options do not override it.
void LoadPlainText(std::string_view text, std::string_view where, const IndicatorMeta& meta,
                   LoadContext& context);
void LoadHostsText(std::string_view text, std::string_view where, const IndicatorMeta& meta,
                   LoadContext& context);
void LoadCsvText(std::string_view text, std::string_view where, const IndicatorMeta& meta,
                 LoadContext& context);
void LoadStixText(std::string_view json, std::string_view where, LoadContext& context);
// One MISP event file ({"Event": {...}}); `manifest_info` is the event's "info" from
// manifest.json, used when the event itself has none.
void LoadMispEventText(std::string_view json, std::string_view where,
                       std::string_view manifest_info, LoadContext& context);

// Checks a STIX pattern: on success calls `emit(object_path, type_hint, value)` for
// each comparison (value unescaped) and returns the number of comparisons; on failure
// returns why the pattern cannot be used. Comparisons on unsupported object paths are
// reported through `unsupported(path)` and do not fail an OR.
struct StixComparison {
  std::string path;   // "domain-name:value", "file:hashes.'SHA-256'"
  std::string value;  // the string literal, unescaped
};
std::expected<std::vector<StixComparison>, std::string> ParseStixPattern(std::string_view pattern);
// The indicator type for a supported STIX object path, or nullopt.
std::optional<IndicatorType> StixPathType(std::string_view path);

// Guesses the format of a file from its name and first bytes.
FeedFormat DetectFileFormat(std::string_view path, std::string_view head);

// Reads a whole file into `out` (reusing its capacity); false with `error` set on failure.
bool ReadWholeFile(const std::filesystem::path& path, std::string& out, std::string& error);

// The trails/static folder of a maltrail tree at or below `dir`, if it is one.
std::optional<std::filesystem::path> FindMaltrailRoot(const std::filesystem::path& dir);
// Loads every *.txt trail file below `static_root` (see plain.cc for the categories).
void LoadMaltrailTree(const std::filesystem::path& static_root, LoadContext& context);
// Loads a MISP feed folder: manifest.json and the <uuid>.json events it lists.
void LoadMispFolder(const std::filesystem::path& dir, LoadContext& context);

}  // namespace aegis::intel::internal
