// LoadPath: reads a file or a folder of threat intel, picks the format and hands the
// content to the format's loader; also the bookkeeping shared by all loaders
// (LoadContext: vetting, sink calls, counters, kept rejects).
//
// Format detection (LoadOptions::format = kAuto):
//   folder with manifest.json                     -> MISP feed
//   folder with trails/static, static/ or named static/ holding malware|malicious|
//   suspicious                                    -> maltrail tree
//   other folders                                 -> each file below, by its own format;
//                                                    only *.txt *.csv *.tsv *.json *.list
//                                                    *.lst *.hosts *.ioc and "hosts"
//   *.json (or content starting with '{' / '[')   -> STIX, or MISP event if it has "Event"
//   *.csv, *.tsv                                  -> CSV (LoadOptions::csv)
//   lines that look like "<address> <name>..."    -> hosts
//   anything else                                 -> plain list
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/observables.h"
#include "core/strings.h"
#include "intel/intel.h"
#include "intel/loaders.h"

namespace aegis::intel {
namespace fs = std::filesystem;

namespace internal {

LoadContext::LoadContext(const LoadOptions& options, detect::IndicatorSink& sink, LoadReport& report)
    : options_(options), sink_(sink), report_(report) {}

LoadContext::~LoadContext() { Flush(); }

detect::MetaId LoadContext::Meta(const IndicatorMeta& meta) {
  if (!options_.source_name.empty() && meta.source != options_.source_name) {
    IndicatorMeta renamed = meta;
    renamed.source = options_.source_name;
    return Meta(renamed);
  }
  if (have_last_meta_ && last_meta_ == meta) return last_meta_id_;
  last_meta_id_ = sink_.AddMeta(meta);
  last_meta_ = meta;
  have_last_meta_ = true;
  return last_meta_id_;
}

bool LoadContext::Offer(std::string_view raw, std::optional<IndicatorType> type, detect::MetaId meta,
                        std::string_view where, uint64_t line) {
  auto vetted = VetInto(raw, type, options_.allow_private, buffers_);
  if (!vetted) {
    Reject(vetted.error(), raw, where, line);
    return false;
  }
  Accept(*vetted, buffers_.value, meta);
  return true;
}

void LoadContext::Accept(IndicatorType type, std::string_view value, detect::MetaId meta) {
  sink_.Add(type, value, meta);
  ++accepted_by_type_[static_cast<size_t>(type)];
  ++report_.accepted;
}

void LoadContext::Reject(std::string_view reason, std::string_view value, std::string_view where,
                         uint64_t line) {
  ++report_.rejected;
  ++report_.rejected_by_reason[std::string(reason)];
  Keep(reason, value, where, line);
}

void LoadContext::NotLoaded(std::string_view reason, std::string_view value, std::string_view where,
                            uint64_t line) {
  ++report_.not_loaded;
  ++report_.not_loaded_by_reason[std::string(reason)];
  Keep(reason, value, where, line);
}

void LoadContext::Keep(std::string_view reason, std::string_view value, std::string_view where, uint64_t line) {
  if (!options_.keep_rejects || report_.rejects.size() >= options_.max_rejects) return;
  intel::Reject kept;
  kept.where.assign(where);
  if (line != 0) {
    kept.where.push_back(':');
    kept.where.append(std::to_string(line));
  }
  kept.value.assign(value);
  kept.reason.assign(reason);
  report_.rejects.push_back(std::move(kept));
}

void LoadContext::FileError(std::string_view where, std::string reason) {
  Error error;
  error.where.assign(where);
  error.reason = std::move(reason);
  report_.errors.push_back(std::move(error));
}

void LoadContext::Flush() {
  for (size_t i = 0; i < std::size(accepted_by_type_); ++i) {
    if (accepted_by_type_[i] == 0) continue;
    report_.accepted_by_type[std::string(IndicatorTypeName(static_cast<IndicatorType>(i)))] += accepted_by_type_[i];
    accepted_by_type_[i] = 0;
  }
}

bool ReadWholeFile(const fs::path& path, std::string& out, std::string& error) {
  out.clear();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = std::string("cannot open: ") + std::strerror(errno);
    return false;
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    error = "not a regular file";
    ::close(fd);
    return false;
  }
  out.resize(static_cast<size_t>(info.st_size));
  size_t done = 0;
  while (true) {
    if (done == out.size()) out.resize(out.size() + 65536);  // the file may have grown
    ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = std::string("cannot read: ") + std::strerror(errno);
      ::close(fd);
      out.clear();
      return false;
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  ::close(fd);
  return true;
}

namespace {

bool HostsLike(std::string_view head) {
  int lines = 0;
  int hosts_lines = 0;
  size_t pos = 0;
  while (pos < head.size() && lines < 50) {
    size_t newline = head.find('\n', pos);
    if (newline == std::string_view::npos) break;  // the last line of a sample may be cut
    std::string_view line = Trim(head.substr(pos, newline - pos));
    pos = newline + 1;
    if (line.empty() || line.front() == '#') continue;
    ++lines;
    size_t blank = line.find_first_of(" \t");
    if (blank == std::string_view::npos) continue;
    std::string_view rest = Trim(line.substr(blank));
    if (ParseIp(line.substr(0, blank)) && !rest.empty() && rest.front() != '#') ++hosts_lines;
  }
  return lines > 0 && hosts_lines * 2 > lines;
}

}  // namespace

FeedFormat DetectFileFormat(std::string_view path, std::string_view head) {
  std::string extension = AsciiLower(fs::path(path).extension().string());
  std::string_view start = Trim(head.substr(0, 64));
  if (start.starts_with("\xEF\xBB\xBF")) start.remove_prefix(3);
  bool json = extension == ".json" || extension == ".stix" ||
              (!start.empty() && (start.front() == '{' || start.front() == '['));
  if (json) {
    // A MISP event names "Event" at the top; STIX objects never do.
    if (head.substr(0, 4096).find("\"Event\"") != std::string_view::npos) return FeedFormat::kMisp;
    return FeedFormat::kStix;
  }
  if (extension == ".csv" || extension == ".tsv") return FeedFormat::kCsv;
  if (HostsLike(head.substr(0, 16384))) return FeedFormat::kHosts;
  return FeedFormat::kPlain;
}

}  // namespace internal

namespace {

using internal::LoadContext;

bool LoadableFile(const fs::path& path) {
  std::string name = path.filename().string();
  if (name.empty() || name.front() == '.') return false;
  if (name == "hosts") return true;
  std::string extension = AsciiLower(path.extension().string());
  for (std::string_view allowed : {".txt", ".csv", ".tsv", ".json", ".stix", ".list", ".lst", ".hosts", ".ioc"}) {
    if (extension == allowed) return true;
  }
  return false;
}

IndicatorMeta FileMeta(const fs::path& path, const LoadOptions& options) {
  IndicatorMeta meta = options.defaults;
  meta.source = path.filename().string();
  return meta;
}

void LoadFileContent(const fs::path& path, std::string_view content, FeedFormat format, LoadContext& context) {
  std::string where = path.string();
  if (format == FeedFormat::kAuto) format = internal::DetectFileFormat(where, content);
  ++context.report().files;
  if (context.options().on_file) context.options().on_file(where, context.report().files);
  switch (format) {
    case FeedFormat::kAuto:
    case FeedFormat::kPlain:
      internal::LoadPlainText(content, where, FileMeta(path, context.options()), context);
      return;
    case FeedFormat::kMaltrail: {
      // A single trail file: its folder names the category.
      std::string category = path.parent_path().filename().string();
      if (category.empty() || category == "static") category = path.stem().string();
      if (category.starts_with("mass_scanner")) category = "mass_scanner";
      internal::LoadPlainText(content, where,
                              internal::MaltrailMeta(category, path.stem().string(), context.options().defaults),
                              context);
      return;
    }
    case FeedFormat::kCsv:
      internal::LoadCsvText(content, where, FileMeta(path, context.options()), context);
      return;
    case FeedFormat::kHosts:
      internal::LoadHostsText(content, where, FileMeta(path, context.options()), context);
      return;
    case FeedFormat::kStix:
      internal::LoadStixText(content, where, context);
      return;
    case FeedFormat::kMisp:
      internal::LoadMispEventText(content, where, {}, context);
      return;
  }
}

void LoadFolder(const fs::path& dir, FeedFormat format, LoadContext& context, int depth) {
  std::error_code ec;
  if (format == FeedFormat::kMisp || (format == FeedFormat::kAuto && fs::exists(dir / "manifest.json", ec))) {
    internal::LoadMispFolder(dir, context);
    return;
  }
  if (format == FeedFormat::kMaltrail || format == FeedFormat::kAuto) {
    if (auto root = internal::FindMaltrailRoot(dir)) {
      internal::LoadMaltrailTree(*root, context);
      return;
    }
    if (format == FeedFormat::kMaltrail) {
      internal::LoadMaltrailTree(dir, context);
      return;
    }
  }
  if (depth > 32) {
    context.FileError(dir.string(), "folders nested too deeply");
    return;
  }
  std::vector<fs::directory_entry> entries;
  for (fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end; !ec && it != end;
       it.increment(ec)) {
    entries.push_back(*it);
  }
  if (ec) context.FileError(dir.string(), "cannot list folder: " + ec.message());
  std::sort(entries.begin(), entries.end(),
            [](const fs::directory_entry& a, const fs::directory_entry& b) { return a.path() < b.path(); });
  std::string content;
  std::string error;
  for (const fs::directory_entry& entry : entries) {
    if (entry.path().filename().string().starts_with(".")) continue;
    if (entry.is_directory(ec)) {
      LoadFolder(entry.path(), format, context, depth + 1);
      continue;
    }
    if (!entry.is_regular_file(ec) || !LoadableFile(entry.path())) continue;
    if (!internal::ReadWholeFile(entry.path(), content, error)) {
      context.FileError(entry.path().string(), error);
      continue;
    }
    LoadFileContent(entry.path(), content, format, context);
  }
}

}  // namespace

std::string_view FeedFormatName(FeedFormat f) {
  switch (f) {
    case FeedFormat::kAuto: return "auto";
    case FeedFormat::kPlain: return "plain";
    case FeedFormat::kMaltrail: return "maltrail";
    case FeedFormat::kCsv: return "csv";
    case FeedFormat::kHosts: return "hosts";
    case FeedFormat::kStix: return "stix";
    case FeedFormat::kMisp: return "misp";
  }
  return "auto";
}

std::optional<FeedFormat> ParseFeedFormat(std::string_view name) {
  std::string lower = AsciiLower(Trim(name));
  for (FeedFormat f : {FeedFormat::kAuto, FeedFormat::kPlain, FeedFormat::kMaltrail, FeedFormat::kCsv,
                       FeedFormat::kHosts, FeedFormat::kStix, FeedFormat::kMisp}) {
    if (lower == FeedFormatName(f)) return f;
  }
  if (lower == "txt" || lower == "list") return FeedFormat::kPlain;
  if (lower == "stix2" || lower == "stix2.1" || lower == "json") return FeedFormat::kStix;
  return std::nullopt;
}

Result<LoadReport> LoadPath(const std::string& path, const LoadOptions& options, detect::IndicatorSink& sink) {
  fs::path target = fs::path(path).lexically_normal();
  if (!target.has_filename() && target.has_parent_path()) target = target.parent_path();  // "dir/"
  std::error_code ec;
  fs::file_status status = fs::status(target, ec);
  if (status.type() == fs::file_type::not_found || ec) {
    Error error;
    error.where = path;
    error.reason = status.type() == fs::file_type::not_found ? "no such file or folder"
                                                             : "cannot read: " + ec.message();
    return std::unexpected(std::move(error));
  }
  LoadReport report;
  {
    LoadContext context(options, sink, report);
    if (fs::is_directory(status)) {
      LoadFolder(target, options.format, context, 0);
    } else {
      std::string content;
      std::string reason;
      if (!internal::ReadWholeFile(target, content, reason)) {
        Error error;
        error.where = path;
        error.reason = reason;
        return std::unexpected(std::move(error));
      }
      LoadFileContent(target, content, options.format, context);
    }
  }  // the context folds its counters into the report here
  return report;
}

}  // namespace aegis::intel
