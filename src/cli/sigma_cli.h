// The Sigma parts of the command line: `aegis sigma check` and the --sigma options
// that `aegis scan` shares (internal to src/cli).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "detect/sigma.h"

namespace aegis::cli {

// Options of every command that loads Sigma rules.
struct SigmaFlags {
  std::vector<std::string> paths;
  std::string min_level = "informational";
  std::vector<std::string> statuses;
  std::vector<std::string> tags;
  std::string logsources;
  std::vector<std::string> placeholders;  // name=value1,value2

  // `positional`: the rule paths are the command's arguments (sigma check), else
  // they come with --sigma.
  void Add(CLI::App* cmd, bool positional);
  Result<detect::sigma::LoadOptions> ToOptions() const;
};

// Loads the rules with a progress bar on a terminal. Prints nothing else.
Result<detect::sigma::LoadResult> LoadSigmaRules(const SigmaFlags& flags, bool progress,
                                                 double* seconds);

// One line per rule that did not load: "path:line: title: reason".
void PrintSigmaIssues(const detect::sigma::LoadResult& result, std::FILE* out, size_t limit);

// `aegis sigma check PATH...`: loads every rule and reports each one that does not
// load with the exact reason. Exit 0 when all load, 1 otherwise.
int RunSigmaCheck(const SigmaFlags& flags, bool json, bool show_warnings);

}  // namespace aegis::cli
