#pragma once
// SHA-256 (FIPS 180-4), incremental. Small and dependency-free so ditstudio_common (and the GUI that
// links it) needs no crypto library; it hashes at a few hundred MB/s, enough to verify a 2.7 GB
// download in seconds.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace ditstudio {

class Sha256 {
public:
    Sha256();
    void update(const void *data, std::size_t size);
    /// The digest; the object must not be updated afterwards.
    std::array<std::uint8_t, 32> finish();
    /// finish() as lowercase hex.
    std::string finishHex();

private:
    void block(const std::uint8_t *p);

    std::array<std::uint32_t, 8> m_state;
    std::array<std::uint8_t, 64> m_buffer {};
    std::size_t m_buffered = 0;
    std::uint64_t m_length = 0; ///< bytes hashed so far
};

} // namespace ditstudio
