#pragma once
// Run ditstudio-cli in-process with stdout and stderr captured (the CLI tests of every family).

#include "cli/cli.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ditstudio::test {

struct CliRun {
    int code = 0;
    std::string out, err;
};

inline CliRun runCli(const std::vector<std::string> &args)
{
    CliRun r;
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    r.code = cli::run(args);
    r.out = ::testing::internal::GetCapturedStdout();
    r.err = ::testing::internal::GetCapturedStderr();
    return r;
}

} // namespace ditstudio::test
