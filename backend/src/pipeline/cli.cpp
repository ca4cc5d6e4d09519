#include "pipeline/cli.h"

#include "ditstudio/runtime.h"

#include <iostream>

namespace ditstudio::cli {

int run(int argc, char **argv)
{
    std::vector<std::string> args(argv + 1, argv + argc);
    return run(args);
}

int run(const std::vector<std::string> &args)
{
    setComputeThreads(0);
    if (!args.empty() && args[0] == "--version") {
        std::cout << runtimeInfoText();
        return 0;
    }
    std::cout << "usage: ditstudio-cli --version\n";
    return 0;
}

} // namespace ditstudio::cli
