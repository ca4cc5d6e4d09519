// libFuzzer harness: the safetensors header parser (length prefix, JSON header, offsets, shapes).
// A malformed header must end in DitException with a message; anything else is a finding.
#include "common/errors.h"
#include "io/safetensors.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    try {
        const auto header = ditstudio::safetensors::parseHeader(data, size, "fuzz.safetensors", size);
        (void)ditstudio::safetensors::specs(header);
    } catch (const ditstudio::DitException &) {
    }
    return 0;
}
