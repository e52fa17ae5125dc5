// The `aegis` command: everything is in src/cli.
#include "cli/cli.h"

int main(int argc, char** argv) { return aegis::cli::Main(argc, argv); }
