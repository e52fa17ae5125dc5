// libFuzzer target: a MISP feed folder, i.e. manifest.json (event uuid -> {"info"})
// and the <uuid>.json events it lists, read through LoadMispFolder (the manifest is
// only parsed from a folder). The input is split at the first "\n--event--\n": the
// part before is written as manifest.json, the part after (or a small default event)
// as the event file of kUuid, in a private temporary folder removed at exit.
// Seeds: fuzz/corpus/misp_manifest/
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "intel/loaders.h"
#include "intel_fuzz_common.h"

namespace {

constexpr std::string_view kUuid = "5f1c0a3e-1b2c-4d5e-8f90-a1b2c3d4e5f6";
constexpr std::string_view kSeparator = "\n--event--\n";
constexpr std::string_view kDefaultEvent =
    R"({"Event":{"uuid":"5f1c0a3e-1b2c-4d5e-8f90-a1b2c3d4e5f6","Attribute":[)"
    R"({"type":"domain","value":"evil.example.com","to_ids":true}]}})";

class FeedFolder {
 public:
  FeedFolder() {
    const char* tmpdir = std::getenv("TMPDIR");
    std::string path = (tmpdir && *tmpdir) ? tmpdir : "/tmp";
    path += "/aegis-misp-manifest-fuzz-XXXXXX";
    if (mkdtemp(path.data()) == nullptr) __builtin_trap();
    dir_ = path;
  }
  ~FeedFolder() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void Write(std::string_view manifest, std::string_view event) {
    WriteFile(dir_ / "manifest.json", manifest);
    WriteFile(dir_ / (std::string(kUuid) + ".json"), event);
  }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  static void WriteFile(const std::filesystem::path& path, std::string_view content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) __builtin_trap();
  }
  std::filesystem::path dir_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static FeedFolder folder;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view manifest = input;
  std::string_view event = kDefaultEvent;
  if (size_t split = input.find(kSeparator); split != std::string_view::npos) {
    manifest = input.substr(0, split);
    event = input.substr(split + kSeparator.size());
  }
  folder.Write(manifest, event);
  aegis::intel::LoadOptions options;
  options.misp_only_to_ids = size % 2 == 0;  // explore both attribute policies
  aegis::intel::LoadReport report;
  aegis::intel::fuzzing::CheckingSink sink;
  {
    aegis::intel::internal::LoadContext context(options, sink, report);
    aegis::intel::internal::LoadMispFolder(folder.dir(), context);
  }
  aegis::intel::fuzzing::CheckReport(report);
  for (const aegis::Error& error : report.errors) {
    if (error.reason.empty()) __builtin_trap();
  }
  return 0;
}
