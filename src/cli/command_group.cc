// Shared pieces of the command groups: see cli/command_group.h.
#include "cli/command_group.h"

#include <cstdlib>

namespace aegis::cli {

std::string DefaultDatabasePath() {
  if (const char* env = std::getenv("AEGIS_DB"); env != nullptr && *env != '\0') return env;
  return "aegis-data/aegis.db";
}

void AddDatabaseOption(CLI::App* cmd, std::string& path) {
  path = DefaultDatabasePath();
  cmd->add_option("--db", path, "Database file (default aegis-data/aegis.db or $AEGIS_DB)");
}

}  // namespace aegis::cli
