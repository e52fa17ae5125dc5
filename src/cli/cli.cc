#include "cli/cli.h"

#include <CLI/CLI.hpp>

namespace aegis::cli {

int Main(int argc, char** argv) {
  CLI::App app{"Aegis: cyber defence for health services"};
  app.require_subcommand(1);
  CLI11_PARSE(app, argc, argv);
  return 0;
}

}  // namespace aegis::cli
