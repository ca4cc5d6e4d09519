#pragma once
// The only place with OS-specific calls (dlsym, environment paths). Everything else is portable.

#include <cstdint>
#include <filesystem>
#include <string>

namespace ditstudio::platform {

/// The BLAS library LibTorch's matrix products run on, e.g. "OpenBLAS 0.3.21 (pthread, 2 threads)".
std::string blasDescription();
/// Set the BLAS library's own thread count where it exposes one (OpenBLAS): the compute threads for
/// OpenBLAS's OpenMP build (it shares LibTorch's pool), one thread for its pthreads build (whose pool
/// fights LibTorch's); $DITSTUDIO_BLAS_THREADS overrides. Call after at::set_num_threads.
void configureBlasThreads();
/// True when the LibTorch we run on was built with CUDA.
bool torchHasCuda();

/// Memory the system can still give this process, in bytes (Linux: MemAvailable; macOS: free and
/// inactive pages; Windows: available physical memory); 0 when unknown.
std::uint64_t availableMemoryBytes();

/// The process's peak resident set size in bytes so far (0 where unknown).
std::uint64_t peakResidentBytes();
/// Per-user data directory (created on demand by callers).
std::filesystem::path userDataDir();
/// Directory of the running executable (empty if unknown).
std::filesystem::path executableDir();

} // namespace ditstudio::platform

namespace ditstudio::platform {

/// Whether a file that is memory-mapped can still be replaced or deleted by others (a trainer writing
/// a new model.safetensors over the one the app shows). POSIX: yes, the map keeps the old file.
/// Windows: no, so long-lived maps of user files are avoided there.
#if defined(_WIN32)
inline constexpr bool kMappedFilesStayReplaceable = false;
#else
inline constexpr bool kMappedFilesStayReplaceable = true;
#endif

/// A private (copy-on-write) memory map of a whole file: the file is never changed; a write to a page
/// gives this process its own copy of that page. Throws DitException (IoError) naming the file.
class MappedFile {
public:
    explicit MappedFile(const std::filesystem::path &path);
    ~MappedFile();
    MappedFile(const MappedFile &) = delete;
    MappedFile &operator=(const MappedFile &) = delete;

    const unsigned char *data() const { return m_data; }
    /// Let the OS drop the pages that lie wholly inside [p, p + n) from this process's memory; they
    /// are read from the file again if touched. Only for ranges that were never written. No-op where
    /// the platform has no such call, and for ranges outside the map.
    void release(const void *p, std::size_t n) const;
    std::size_t size() const { return m_size; }

private:
    const unsigned char *m_data = nullptr;
    std::size_t m_size = 0;
#if defined(_WIN32)
    void *m_file = nullptr;
    void *m_mapping = nullptr;
#endif
};

} // namespace ditstudio::platform
