#include "core/platform.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#if defined(_WIN32)
#include <windows.h>
#else
#include <dlfcn.h>
#include <unistd.h>
#endif
#if defined(__APPLE__)
#include <mach-o/dyld.h>
#endif

namespace ditstudio::platform {

namespace {
#if !defined(_WIN32)
void *findSymbol(const char *name)
{
    return dlsym(RTLD_DEFAULT, name);
}
#else
void *findSymbol(const char *name)
{
    for (const char *lib : {"libopenblas.dll", "openblas.dll", "libblas.dll"}) {
        if (HMODULE m = GetModuleHandleA(lib))
            if (auto p = reinterpret_cast<void *>(GetProcAddress(m, name)))
                return p;
    }
    return nullptr;
}
#endif
} // namespace

std::string blasDescription()
{
    using ConfigFn = char *(*)();
    using ThreadsFn = int (*)();
    if (auto config = reinterpret_cast<ConfigFn>(findSymbol("openblas_get_config"))) {
        std::string text = "OpenBLAS";
        const std::string cfg = config();
        // cfg looks like "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64"
        if (!cfg.empty())
            text = cfg;
        if (auto threads = reinterpret_cast<ThreadsFn>(findSymbol("openblas_get_num_threads")))
            text += " (" + std::to_string(threads()) + " threads)";
        return text;
    }
    if (findSymbol("mkl_get_max_threads"))
        return "Intel MKL";
    if (findSymbol("bli_info_get_version_str"))
        return "BLIS";
    if (findSymbol("cblas_sgemm") || findSymbol("sgemm_"))
        return "reference BLAS (unoptimized: install libopenblas0-pthread)";
    return "none found (LibTorch built-in kernels)";
}

void configureBlasThreads()
{
    using SetFn = void (*)(int);
    using ParallelFn = int (*)();
    // LibTorch 1.13 calls BLAS directly for each matrix product and does not split one product over
    // its own (OpenMP) pool, so BLAS threading decides most of the speed. Two cases, measured on the
    // 2-core machine (DiT-B/2 256 px, batch 2, fp32, --threads 2 unless said):
    // - OpenBLAS built with OpenMP (openblas_get_parallel() == 2, Debian's libopenblas0-openmp): it
    //   shares LibTorch's libgomp pool and runs single-threaded inside LibTorch's own parallel
    //   regions, so the two never fight: BLAS threads = compute threads (850 ms vs 1,359 ms with
    //   one thread, 1.6x).
    // - OpenBLAS with its own pthreads pool: its busy-waiting workers fight libgomp's (2 BLAS threads
    //   1,735 ms vs 1,301 ms with one), so one BLAS thread.
    // DITSTUDIO_BLAS_THREADS overrides both.
    int threads = 1;
    if (auto parallel = reinterpret_cast<ParallelFn>(findSymbol("openblas_get_parallel"));
        parallel && parallel() == 2)
        threads = std::max(1, at::get_num_threads());
    if (const char *env = std::getenv("DITSTUDIO_BLAS_THREADS"); env && *env)
        threads = std::max(1, std::atoi(env));
    if (auto set = reinterpret_cast<SetFn>(findSymbol("openblas_set_num_threads")))
        set(threads);
}

bool torchHasCuda()
{
    // is_available() is false both on CPU builds and on CUDA builds without a device; the
    // presence of libtorch_cuda's entry point tells the build apart.
    return torch::cuda::is_available() || findSymbol("_ZN2at4cuda20getCurrentCUDAStreamEa") != nullptr;
}

std::filesystem::path userDataDir()
{
    namespace fs = std::filesystem;
#if defined(_WIN32)
    if (const char *appData = std::getenv("APPDATA"))
        return fs::path(appData) / "DiTStudio";
    return fs::temp_directory_path() / "DiTStudio";
#elif defined(__APPLE__)
    if (const char *home = std::getenv("HOME"))
        return fs::path(home) / "Library" / "Application Support" / "DiTStudio";
    return fs::temp_directory_path() / "DiTStudio";
#else
    if (const char *xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
        return fs::path(xdg) / "DiTStudio";
    if (const char *home = std::getenv("HOME"))
        return fs::path(home) / ".local" / "share" / "DiTStudio";
    return fs::temp_directory_path() / "DiTStudio";
#endif
}

std::filesystem::path executableDir()
{
#if defined(_WIN32)
    wchar_t buffer[MAX_PATH];
    DWORD n = GetModuleFileNameW(nullptr, buffer, MAX_PATH);
    if (n == 0 || n == MAX_PATH)
        return {};
    return std::filesystem::path(buffer).parent_path();
#elif defined(__APPLE__)
    char buffer[4096];
    uint32_t size = sizeof(buffer);
    if (_NSGetExecutablePath(buffer, &size) != 0)
        return {};
    return std::filesystem::weakly_canonical(buffer).parent_path();
#else
    std::error_code ec;
    auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::filesystem::path() : p.parent_path();
#endif
}

} // namespace ditstudio::platform

#include "common/errors.h"

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#endif
#include <cstring>

namespace ditstudio::platform {

#if !defined(_WIN32)
MappedFile::MappedFile(const std::filesystem::path &path)
{
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0)
        fail(ErrorCode::IoError, path.string() + ": cannot open: " + std::strerror(errno));
    struct stat st { };
    if (::fstat(fd, &st) != 0) {
        ::close(fd);
        fail(ErrorCode::IoError, path.string() + ": cannot stat: " + std::strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) {
        ::close(fd);
        fail(ErrorCode::IoError, path.string() + ": is a directory, expected a file");
    }
    m_size = static_cast<std::size_t>(st.st_size);
    if (m_size > 0) {
        // Private and writable: weights can be used in place (no copy), and a stray write only
        // copies a page instead of faulting.
        void *p = ::mmap(nullptr, m_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            ::close(fd);
            fail(ErrorCode::IoError, path.string() + ": cannot map: " + std::strerror(errno));
        }
        m_data = static_cast<const unsigned char *>(p);
    }
    ::close(fd);
}

MappedFile::~MappedFile()
{
    if (m_data)
        ::munmap(const_cast<unsigned char *>(m_data), m_size);
}

void MappedFile::release(const void *p, std::size_t n) const
{
    const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto begin = reinterpret_cast<std::uintptr_t>(p), end = begin + n;
    const auto mapBegin = reinterpret_cast<std::uintptr_t>(m_data), mapEnd = mapBegin + m_size;
    if (!m_data || begin < mapBegin || end > mapEnd)
        return;
    const std::uintptr_t first = (begin + page - 1) / page * page, last = end / page * page;
    if (last > first)
        ::madvise(reinterpret_cast<void *>(first), last - first, MADV_DONTNEED);
}
#else
MappedFile::MappedFile(const std::filesystem::path &path)
{
    HANDLE file = CreateFileW(path.c_str(), GENERIC_READ, FILE_SHARE_READ, nullptr, OPEN_EXISTING,
                              FILE_ATTRIBUTE_NORMAL, nullptr);
    if (file == INVALID_HANDLE_VALUE)
        fail(ErrorCode::IoError, path.string() + ": cannot open");
    LARGE_INTEGER size;
    GetFileSizeEx(file, &size);
    m_size = static_cast<std::size_t>(size.QuadPart);
    m_file = file;
    if (m_size > 0) {
        HANDLE mapping = CreateFileMappingW(file, nullptr, PAGE_WRITECOPY, 0, 0, nullptr);
        if (!mapping) {
            CloseHandle(file);
            fail(ErrorCode::IoError, path.string() + ": cannot map");
        }
        m_mapping = mapping;
        m_data = static_cast<const unsigned char *>(MapViewOfFile(mapping, FILE_MAP_COPY, 0, 0, 0));
    }
}

void MappedFile::release(const void *, std::size_t) const { }

MappedFile::~MappedFile()
{
    if (m_data)
        UnmapViewOfFile(m_data);
    if (m_mapping)
        CloseHandle(static_cast<HANDLE>(m_mapping));
    if (m_file)
        CloseHandle(static_cast<HANDLE>(m_file));
}
#endif

} // namespace ditstudio::platform

#if defined(__APPLE__)
#include <mach/mach.h>
#include <sys/sysctl.h>
#elif !defined(_WIN32)
#include <fstream>
#endif

namespace ditstudio::platform {

std::uint64_t availableMemoryBytes()
{
#if defined(_WIN32)
    MEMORYSTATUSEX status {};
    status.dwLength = sizeof status;
    return GlobalMemoryStatusEx(&status) ? static_cast<std::uint64_t>(status.ullAvailPhys) : 0;
#elif defined(__APPLE__)
    vm_statistics64_data_t vm {};
    mach_msg_type_number_t count = HOST_VM_INFO64_COUNT;
    if (host_statistics64(mach_host_self(), HOST_VM_INFO64, reinterpret_cast<host_info64_t>(&vm), &count)
        != KERN_SUCCESS)
        return 0;
    return (static_cast<std::uint64_t>(vm.free_count) + vm.inactive_count)
        * static_cast<std::uint64_t>(vm_page_size);
#else
    std::ifstream in("/proc/meminfo");
    std::string key, unit;
    std::uint64_t kib = 0;
    while (in >> key >> kib >> unit)
        if (key == "MemAvailable:")
            return kib * 1024;
    return 0;
#endif
}

} // namespace ditstudio::platform

#if defined(_WIN32)
#include <psapi.h>
#else
#include <sys/resource.h>
#endif

namespace ditstudio::platform {

std::uint64_t peakResidentBytes()
{
#if defined(_WIN32)
    PROCESS_MEMORY_COUNTERS counters {};
    return GetProcessMemoryInfo(GetCurrentProcess(), &counters, sizeof counters)
        ? static_cast<std::uint64_t>(counters.PeakWorkingSetSize)
        : 0;
#else
    struct rusage usage { };
    if (getrusage(RUSAGE_SELF, &usage) != 0)
        return 0;
#if defined(__APPLE__)
    return static_cast<std::uint64_t>(usage.ru_maxrss); // bytes on macOS
#else
    return static_cast<std::uint64_t>(usage.ru_maxrss) * 1024; // KiB on Linux
#endif
#endif
}

} // namespace ditstudio::platform
