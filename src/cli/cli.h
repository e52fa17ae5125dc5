// The `aegis` command line: subcommands scan, intel, alerts, run (CLI11).
#pragma once

namespace aegis::cli {

// Entry point of the `aegis` binary. Returns the process exit code.
int Main(int argc, char** argv);

}  // namespace aegis::cli
