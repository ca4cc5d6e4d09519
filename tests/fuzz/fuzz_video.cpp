// libFuzzer harness: the FFmpeg demuxer/decoder behind VideoReader (open, read up to 8 frames).
#include "ditstudio/video.h"
#include "fuzz_file_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const auto path = ditstudio::fuzz::writeInput("input.mp4", data, size);
    ditstudio::VideoReader reader;
    if (!reader.open(path.string()).ok())
        return 0;
    for (int i = 0; i < 8; ++i) {
        auto frame = reader.read();
        if (!frame.ok() || !frame.value())
            break;
    }
    return 0;
}
