// libFuzzer harness: a diffusers folder's transformer/config.json (and model_index.json) next to real
// weights, as describeCheckpoint reads it: JSON syntax, types and values of every config field.
#include "common/errors.h"
#include "fuzz_file_common.h"
#include "model/model_loader.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    namespace fs = std::filesystem;
    static const fs::path folder = [] {
        const fs::path dir = ditstudio::fuzz::scratchDir() / "diffusers";
        fs::create_directories(dir / "transformer");
        const char *weights = std::getenv("DITSTUDIO_FUZZ_DIFFUSERS_WEIGHTS");
        if (weights)
            fs::copy_file(weights, dir / "transformer" / "diffusion_pytorch_model.safetensors",
                          fs::copy_options::overwrite_existing);
        std::ofstream(dir / "model_index.json") << "{\"_class_name\": \"DiTPipeline\"}";
        return dir;
    }();
    {
        std::ofstream out(folder / "transformer" / "config.json", std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char *>(data), static_cast<std::streamsize>(size));
    }
    try {
        (void)ditstudio::describeCheckpoint(folder);
    } catch (const ditstudio::DitException &) {
    }
    return 0;
}
