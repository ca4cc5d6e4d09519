// libFuzzer harness: PNG text chunks (tEXt/iTXt) as readPngText reads them to restore settings.
#include "ditstudio/engine.h"
#include "fuzz_file_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const auto path = ditstudio::fuzz::writeInput("input.png", data, size);
    (void)ditstudio::readPngText(path.string()); // returns errors as values; must never crash
    return 0;
}
