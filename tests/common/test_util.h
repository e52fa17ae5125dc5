// Helpers shared by the test suites: run the real `aegis` binary, read a file, wait
// for a condition with a deadline (tests never assert timings).
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace aegis::testing {

inline std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Polls until `pred` holds or `seconds` pass.
template <typename Pred>
bool WaitFor(Pred pred, int seconds = 15) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

struct CommandResult {
  int code = -1;
  std::string out;
};

// Runs `binary ARGS` through the shell with stdout captured (stderr to a temporary
// file read into `err` when given).
inline CommandResult RunCommand(const std::string& binary, const std::string& args,
                                std::string* err = nullptr) {
  namespace fs = std::filesystem;
  static int counter = 0;
  const fs::path err_file =
      fs::temp_directory_path() /
      ("aegis-test-err-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  const std::string cmd = binary + " " + args + " 2>" + err_file.string();
  CommandResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (err != nullptr) *err = ReadAll(err_file);
  fs::remove(err_file);
  return r;
}

}  // namespace aegis::testing
