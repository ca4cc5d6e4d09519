// Architecture detection from the real released checkpoints' key/shape manifests (no weights),
// parameter counts and MAC counts against the paper's figures.
#include "test_util.h"

#include "ditstudio/model_info.h"

#include <nlohmann/json.hpp>

#include <fstream>

namespace ditstudio::test {
namespace {

struct ManifestEntry {
    std::vector<TensorSpec> specs;
    int64_t params = 0;
};

ManifestEntry manifest(const std::string &name)
{
    std::ifstream in(dataDir() / "dit-official-manifest.json");
    const auto j = nlohmann::json::parse(in);
    ManifestEntry e;
    e.params = j.at(name).at("params").get<int64_t>();
    for (const auto &[k, v] : j.at(name).at("keys").items())
        e.specs.push_back({k, v.get<std::vector<int64_t>>()});
    return e;
}

struct Expected {
    const char *manifestName;
    const char *arch;
    int inputSize;
};

class ManifestDetection : public ::testing::TestWithParam<Expected> { };

TEST_P(ManifestDetection, NamesTheArchitecture)
{
    const auto e = manifest(GetParam().manifestName);
    const auto info = detectDiTArchitecture(e.specs);
    ASSERT_TRUE(info.ok()) << info.error().message;
    EXPECT_EQ(info->config.name(), GetParam().arch);
    EXPECT_EQ(info->config.inputSize, GetParam().inputSize);
    EXPECT_EQ(info->config.numClasses, 1000);
    EXPECT_TRUE(info->config.learnSigma);
    EXPECT_EQ(info->config.inChannels, 4);
    EXPECT_EQ(info->layout, "official");
    EXPECT_EQ(info->parameterCount, e.params);
    EXPECT_EQ(info->config.parameterCount(), e.params);
}

INSTANTIATE_TEST_SUITE_P(Released, ManifestDetection,
                         ::testing::Values(Expected {"DiT-XL/2@256px", "DiT-XL/2", 32},
                                           Expected {"DiT-XL/2@512px", "DiT-XL/2", 64},
                                           Expected {"DiT-S/2@256px", "DiT-S/2", 32},
                                           Expected {"DiT-B/4@256px", "DiT-B/4", 32}));

TEST(ArchitectureFigures, ParameterCountsOfThePaper)
{
    EXPECT_EQ(ditConfigByName("DiT-XL/2", 32)->parameterCount(), 675129632);
    EXPECT_EQ(ditConfigByName("DiT-B/2", 32)->parameterCount(), 130512416);
    EXPECT_EQ(ditConfigByName("DiT-S/2", 32)->parameterCount(), 32963360);
}

TEST(ArchitectureFigures, MacsPerForwardMatchThePaper)
{
    // DiT paper table 4 (Gflops as counted by fvcore = multiply-accumulates).
    EXPECT_NEAR(ditConfigByName("DiT-XL/2", 32)->macsPerForward() / 1e9, 118.6, 0.6);
    EXPECT_NEAR(ditConfigByName("DiT-L/2", 32)->macsPerForward() / 1e9, 80.7, 0.5);
    EXPECT_NEAR(ditConfigByName("DiT-B/2", 32)->macsPerForward() / 1e9, 23.0, 0.2);
    EXPECT_NEAR(ditConfigByName("DiT-S/2", 32)->macsPerForward() / 1e9, 6.1, 0.1);
}

TEST(ArchitectureDetection, RejectsNonDiTKeys)
{
    auto r = detectDiTArchitecture({{"encoder.conv_in.weight", {128, 3, 3, 3}}});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("not a DiT checkpoint"), std::string::npos);
}

TEST(ArchitectureDetection, MissingBlockIsReported)
{
    auto e = manifest("DiT-S/2@256px");
    std::vector<TensorSpec> specs;
    for (const auto &s : e.specs)
        if (s.key.rfind("blocks.3.", 0) != 0)
            specs.push_back(s);
    auto r = detectDiTArchitecture(specs);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("block is missing"), std::string::npos) << r.error().message;
}

TEST(ArchitectureDetection, MalformedPosEmbedIsReportedNotRead)
{
    // A hostile header may give pos_embed any rank: the shape is checked before a dimension is read.
    for (const std::vector<int64_t> &bad : std::vector<std::vector<int64_t>> {
             {256}, {}, {1, 255, 384}, {1, -4, 384}, {2, 256, 384}, {1, 256, 383}}) {
        auto e = manifest("DiT-S/2@256px");
        for (auto &s : e.specs)
            if (s.key == "pos_embed")
                s.shape = bad;
        auto r = detectDiTArchitecture(e.specs);
        ASSERT_FALSE(r.ok()) << "accepted pos_embed of rank " << bad.size();
        EXPECT_NE(r.error().message.find("'pos_embed'"), std::string::npos) << r.error().message;
    }
}

TEST(ArchitectureDetection, ConfigByNameValidates)
{
    EXPECT_FALSE(ditConfigByName("DiT-XXL/2", 32).ok());
    EXPECT_FALSE(ditConfigByName("DiT-XL/3", 32).ok());
    EXPECT_FALSE(ditConfigByName("DiT-XL/8", 30).ok()); // 30 not divisible by 8
}

} // namespace
} // namespace ditstudio::test
