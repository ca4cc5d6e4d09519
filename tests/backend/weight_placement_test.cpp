// Inference models use memory-mapped safetensors weights in place (issue 15's memory item): an fp32
// load must not copy the weights, a bf16 load converts tensor by tensor, and the training path
// (no placement) keeps its own copy that it may update.
#include "test_util.h"

#include "io/safetensors.h"
#include "model/model_loader.h"

namespace ditstudio::test {
namespace {

namespace fs = std::filesystem;

bool insideMap(const torch::Tensor &t, const platform::MappedFile &map)
{
    const auto *p = static_cast<const unsigned char *>(t.data_ptr());
    return p >= map.data() && p + t.nbytes() <= map.data() + map.size();
}

fs::path tinyWeights()
{
    return dataDir() / "parity" / "dit-tiny" / "weights.safetensors";
}

TEST(WeightPlacement, Fp32InferenceUsesTheMappedFileInPlace)
{
    const auto checkpoint = readDiTCheckpoint(tinyWeights());
    ASSERT_TRUE(checkpoint.weights.mapping) << "safetensors loads are memory-mapped";
    const auto model = buildDiT(checkpoint, torch::kCPU, torch::kFloat32);
    int inPlace = 0, total = 0;
    for (const auto &p : model->named_parameters()) {
        ++total;
        const auto &src = checkpoint.weights.at(p.key());
        EXPECT_TRUE(torch::equal(p.value(), src)) << p.key();
        if (insideMap(p.value(), *checkpoint.weights.mapping))
            ++inPlace;
    }
    ASSERT_GT(total, 10);
    // Every fp32 tensor of a safetensors file written by the official converter is aligned. Windows
    // copies instead: a mapped file could not be replaced there while the model lives.
    if (platform::kMappedFilesStayReplaceable)
        EXPECT_EQ(inPlace, total) << "parameters copied instead of used in place";
    else
        EXPECT_EQ(inPlace, 0) << "a long-lived map would lock the file";
}

TEST(WeightPlacement, Bf16InferenceConvertsEachTensorAndLeavesTheFile)
{
    const auto checkpoint = readDiTCheckpoint(tinyWeights());
    const auto model = buildDiT(checkpoint, torch::kCPU, torch::kBFloat16);
    for (const auto &p : model->named_parameters()) {
        EXPECT_EQ(p.value().scalar_type(), torch::kBFloat16) << p.key();
        EXPECT_FALSE(insideMap(p.value(), *checkpoint.weights.mapping)) << p.key();
        // The released pages come back from the file when read again: the source is intact.
        EXPECT_TRUE(torch::equal(p.value(), checkpoint.weights.at(p.key()).to(torch::kBFloat16))) << p.key();
    }
    EXPECT_EQ(torch::get_default_dtype(), caffe2::TypeMeta::Make<float>()) << "default dtype restored";
}

TEST(WeightPlacement, TrainingLoadsCopyAndWritesNeverReachTheFile)
{
    const auto checkpoint = readDiTCheckpoint(tinyWeights());
    DiT model(checkpoint.info.config);
    loadIntoModule(*model, checkpoint.weights, "test", {"pos_embed"});
    for (const auto &p : model->named_parameters())
        EXPECT_FALSE(insideMap(p.value(), *checkpoint.weights.mapping)) << p.key();
    // An inference model that writes to a weight in place (copy-on-write map) changes only itself.
    auto inference = buildDiT(checkpoint, torch::kCPU, torch::kFloat32);
    const auto name = inference->named_parameters().begin()->key();
    const torch::Tensor before = inference->named_parameters()[name].clone();
    {
        torch::NoGradGuard noGrad;
        inference->named_parameters()[name].add_(1.0f);
    }
    EXPECT_TRUE(torch::allclose(inference->named_parameters()[name], before + 1.0f));
    const auto reread = safetensors::load(tinyWeights()); // a new map of the file
    EXPECT_TRUE(torch::equal(reread.at(name), before)) << "the write reached the file";
}

} // namespace
} // namespace ditstudio::test
