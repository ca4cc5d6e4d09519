#pragma once
// Shared test helpers: a torch-seeding fixture and a tensor-closeness check that reports max abs
// and max relative error.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace ditstudio::test {

inline std::filesystem::path dataDir()
{
    return std::filesystem::path(DITSTUDIO_TEST_DATA_DIR);
}

/// A tag unique to this test process (portable stand-in for the pid in temporary folder names, so
/// parallel ctest processes never share a folder).
inline const std::string &processTag()
{
    static const std::string tag = [] {
        std::random_device rd;
        return std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000007) + "_"
            + std::to_string(rd());
    }();
    return tag;
}

/// Candidate fixture folders: every folder under tests/data/parity plus every folder listed in
/// $DITSTUDIO_EXTRA_FIXTURES (colon-separated). Each parity suite filters them by what they hold.
inline std::vector<std::filesystem::path> fixtureRoots()
{
    std::vector<std::filesystem::path> roots;
    std::error_code ec;
    for (const auto &e : std::filesystem::directory_iterator(dataDir() / "parity", ec))
        if (e.is_directory())
            roots.push_back(e.path());
    if (const char *extra = std::getenv("DITSTUDIO_EXTRA_FIXTURES")) {
        std::stringstream ss(extra);
        std::string item;
        while (std::getline(ss, item, ':'))
            if (!item.empty())
                roots.emplace_back(item);
    }
    return roots;
}

/// True when DITSTUDIO_REQUIRE_ALL=1 (set by .ci/run): a test that would skip for a missing
/// dependency (Gloo, Fashion-MNIST, the ffmpeg CLI, the default model) fails instead, so a green run
/// never hides an untested path.
inline bool requireAll()
{
    const char *v = std::getenv("DITSTUDIO_REQUIRE_ALL");
    return v && std::string(v) == "1";
}

/// Skip the test with a reason, or fail it under DITSTUDIO_REQUIRE_ALL=1.
#define DITSTUDIO_SKIP_OR_FAIL(reason)                                                                       \
    do {                                                                                                     \
        if (::ditstudio::test::requireAll())                                                                 \
            GTEST_FAIL() << "DITSTUDIO_REQUIRE_ALL=1 and this test cannot run: " << reason;                  \
        else                                                                                                 \
            GTEST_SKIP() << reason;                                                                          \
    } while (0)

/// True for a file in a DiT fixture folder that holds weights (not the reference numbers the
/// suites compare against: cases.safetensors, explain.safetensors, samplers.safetensors).
inline bool isFixtureWeightsFile(const std::filesystem::path &path)
{
    const auto name = path.filename().string();
    if (name == "cases.safetensors" || name == "explain.safetensors" || name == "samplers.safetensors")
        return false;
    return path.extension() == ".safetensors" || path.extension() == ".pt";
}

/// A fixture that seeds torch so tests are reproducible.
class TorchTest : public ::testing::Test {
protected:
    void SetUp() override { torch::manual_seed(1234); }
};

struct Closeness {
    double maxAbs = 0;
    double maxRel = 0; ///< max |a-b| / max|b| (relative to the reference's scale)
    double refMaxAbs = 0;
};

inline Closeness closeness(const torch::Tensor &actual, const torch::Tensor &reference)
{
    auto a = actual.detach().to(torch::kCPU, torch::kFloat64);
    auto b = reference.detach().to(torch::kCPU, torch::kFloat64);
    Closeness c;
    c.maxAbs = (a - b).abs().max().item<double>();
    c.refMaxAbs = b.abs().max().item<double>();
    c.maxRel = c.refMaxAbs > 0 ? c.maxAbs / c.refMaxAbs : c.maxAbs;
    return c;
}

/// EXPECT-style check: shapes equal and max|a-b| <= relTol * max|ref|.
inline ::testing::AssertionResult tensorsClose(const torch::Tensor &actual, const torch::Tensor &reference,
                                               double relTol)
{
    if (actual.sizes() != reference.sizes()) {
        std::ostringstream s;
        s << "shape " << actual.sizes() << " vs reference " << reference.sizes();
        return ::testing::AssertionFailure() << s.str();
    }
    const Closeness c = closeness(actual, reference);
    std::ostringstream s;
    s << "max abs err " << c.maxAbs << ", max rel err " << c.maxRel << " (tolerance " << relTol
      << ", ref max " << c.refMaxAbs << ")";
    if (c.maxRel <= relTol) {
        // Report the measured error so parity runs document themselves.
        std::cout << "[ measured ] " << s.str() << std::endl;
        return ::testing::AssertionSuccess() << s.str();
    }
    return ::testing::AssertionFailure() << s.str();
}

} // namespace ditstudio::test
