// CommandGroup: a family of `aegis` subcommands defined in its own file (org, user,
// token, ew, feed, serve...). cli.cc registers each group before parsing and asks
// each afterwards whether one of its commands was chosen (internal to src/cli).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>

namespace aegis::cli {

class CommandGroup {
 public:
  virtual ~CommandGroup() = default;
  // Adds the group's subcommands (with their options) to `app`.
  virtual void Register(CLI::App& app) = 0;
  // After parsing: the exit code of the group's command that was chosen, or nullopt.
  virtual std::optional<int> RunParsed() = 0;
};

// The database every hub command works on: --db, else $AEGIS_DB, else
// aegis-data/aegis.db (the same file `aegis run` stores alerts in by default).
std::string DefaultDatabasePath();
// Adds `--db PATH` to `cmd`, defaulting to DefaultDatabasePath().
void AddDatabaseOption(CLI::App* cmd, std::string& path);

std::unique_ptr<CommandGroup> MakeAccountCommands();       // org, user, token, audit
std::unique_ptr<CommandGroup> MakeEarlyWarningCommands();  // ew
std::unique_ptr<CommandGroup> MakeFeedCommands();          // feed
std::unique_ptr<CommandGroup> MakeServeCommand();          // serve
std::unique_ptr<CommandGroup> MakeStixCommands();          // stix import|export|collections

}  // namespace aegis::cli
