// Terminal and script output for the command line: aligned tables, a progress bar
// that draws only on a terminal, number formatting, and a small JSON object writer.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace aegis::cli {

std::string Thousands(uint64_t n);        // 1234567 -> "1,234,567"
std::string HumanBytes(uint64_t bytes);   // 1536 -> "1.5 KiB"
std::string Fixed(double v, int decimals);

class Table {
 public:
  explicit Table(std::vector<std::string> header);
  void Row(std::vector<std::string> cells);
  void Print(std::FILE* out, bool header = true) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// Draws "Scanning [#####.....] 52% 120 MiB/230 MiB 3s" on stderr, at most 10 times a
// second, and only when enabled (a terminal). Thread-safe enough for one updater at a time.
class ProgressBar {
 public:
  ProgressBar(std::string label, bool enabled);
  void Update(uint64_t done, uint64_t total);
  void Finish();

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

// Builds one JSON object: JsonObject o; o.Str("a","b").Num("n",1); o.Close()
class JsonObject {
 public:
  JsonObject& Str(std::string_view key, std::string_view value);
  JsonObject& Num(std::string_view key, uint64_t value);
  JsonObject& Float(std::string_view key, double value);
  JsonObject& Bool(std::string_view key, bool value);
  JsonObject& Raw(std::string_view key, std::string_view json);
  std::string Close();

 private:
  void Key(std::string_view key);
  std::string out_ = "{";
};

}  // namespace aegis::cli
