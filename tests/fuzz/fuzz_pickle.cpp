// libFuzzer harness: the restricted unpickler on raw pickle bytes (protocols 0-5; the allowlist of
// globals; memo, marks and container budgets). Errors must be DitException.
#include "common/errors.h"
#include "io/pickle_reader.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    try {
        ditstudio::pickle::Limits limits;
        limits.maxValues = 200'000; // keep one input's work small; the real limits scale the same way
        limits.maxStack = 200'000;
        limits.maxMemo = 200'000;
        ditstudio::pickle::Unpickler u(data, size, "fuzz.pkl", limits);
        (void)u.load();
    } catch (const ditstudio::DitException &) {
    }
    return 0;
}
