// libFuzzer harness: a whole .pt file (zip container with data.pkl and storages, or the legacy
// pickle-stream format), as loadTorchCheckpoint reads it. Errors must be DitException.
#include "common/errors.h"
#include "fuzz_file_common.h"
#include "io/torch_checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const auto path = ditstudio::fuzz::writeInput("input.pt", data, size);
    try {
        (void)ditstudio::loadTorchCheckpoint(path);
    } catch (const ditstudio::DitException &) {
    }
    return 0;
}
