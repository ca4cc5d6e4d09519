#pragma once
// Shared by the harnesses whose parser takes a path: the input is written to a file in a private
// temporary folder (tmpfs when available) with the extension the parser dispatches on.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace ditstudio::fuzz {

inline std::filesystem::path scratchDir()
{
    static const std::filesystem::path dir = [] {
        std::filesystem::path base = std::filesystem::exists("/dev/shm")
            ? std::filesystem::path("/dev/shm")
            : std::filesystem::temp_directory_path();
        auto d = base / ("ditstudio-fuzz-" + std::to_string(std::random_device {}()));
        std::filesystem::create_directories(d);
        return d;
    }();
    return dir;
}

inline std::filesystem::path writeInput(const std::string &name, const std::uint8_t *data, std::size_t size)
{
    const auto path = scratchDir() / name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(data), static_cast<std::streamsize>(size));
    return path;
}

} // namespace ditstudio::fuzz
