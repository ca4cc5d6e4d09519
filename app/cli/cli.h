#pragma once
// The ditstudio-cli command set (inspect, generate, bench, ...). Lives in the backend so tests can
// drive it in-process; the executable's main() only forwards to run().

#include <string>
#include <vector>

namespace ditstudio::cli {

/// Run the CLI with argv; returns the process exit code (0 ok, 1 error, 2 usage error, 130 cancelled).
int run(int argc, char **argv);
int run(const std::vector<std::string> &args);

} // namespace ditstudio::cli
