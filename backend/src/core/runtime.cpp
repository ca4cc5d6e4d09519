// Process-wide runtime: threads, devices, versions, BLAS detection, logging.
#include "ditstudio/runtime.h"

#include "common/errors.h"
#include "core/platform.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}
#include <opencv2/core/version.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

namespace ditstudio {

bool cudaAvailable()
{
    return torch::cuda::is_available();
}

int cudaDeviceCount()
{
    return static_cast<int>(torch::cuda::device_count());
}

bool mpsAvailable()
{
    // at::hasMPS() exists since LibTorch 1.12 (Debian's is 1.13); false unless built with MPS.
    return at::hasMPS();
}

Result<DeviceSpec> parseDevice(const std::string &text)
{
    std::string t = text;
    std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
    if (t.empty() || t == "auto") {
        if (cudaAvailable())
            return DeviceSpec {DeviceKind::Cuda, 0};
        return mpsAvailable() ? DeviceSpec {DeviceKind::Mps, 0} : DeviceSpec {DeviceKind::Cpu, 0};
    }
    if (t == "cpu")
        return DeviceSpec {DeviceKind::Cpu, 0};
    if (t == "mps") {
        if (!mpsAvailable())
            return makeError(
                ErrorCode::Unsupported,
                "device 'mps': this build's LibTorch has no MPS support or this is not a Mac with it");
        return DeviceSpec {DeviceKind::Mps, 0};
    }
    if (t.rfind("cuda", 0) == 0) {
        int index = 0;
        if (t.size() > 4) {
            if (t[4] != ':' || t.size() == 5 || t.find_first_not_of("0123456789", 5) != std::string::npos)
                return makeError(ErrorCode::InvalidArgument,
                                 "device '" + text + "': expected cpu, cuda, cuda:N, mps or auto");
            index = std::stoi(t.substr(5));
        }
        if (!cudaAvailable())
            return makeError(ErrorCode::Unsupported,
                             "device '" + text
                                 + "': this build's LibTorch has no CUDA or no CUDA device is present");
        if (index >= cudaDeviceCount())
            return makeError(ErrorCode::InvalidArgument,
                             "device '" + text + "': only " + std::to_string(cudaDeviceCount())
                                 + " CUDA device(s)");
        return DeviceSpec {DeviceKind::Cuda, index};
    }
    return makeError(ErrorCode::InvalidArgument,
                     "device '" + text + "': expected cpu, cuda, cuda:N, mps or auto");
}

int setComputeThreads(int threads)
{
    if (threads <= 0)
        threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(threads);
    platform::configureBlasThreads();
    return at::get_num_threads();
}

int computeThreads()
{
    return at::get_num_threads();
}

RuntimeInfo runtimeInfo()
{
    RuntimeInfo info;
    info.appVersion = appVersion();
    info.torchVersion = TORCH_VERSION;
    info.openCvVersion = CV_VERSION;
    std::ostringstream ff;

    ff << "libavcodec " << AV_VERSION_MAJOR(avcodec_version()) << '.' << AV_VERSION_MINOR(avcodec_version())
       << '.' << AV_VERSION_MICRO(avcodec_version()) << ", libavformat "
       << AV_VERSION_MAJOR(avformat_version()) << '.' << AV_VERSION_MINOR(avformat_version()) << '.'
       << AV_VERSION_MICRO(avformat_version());
    info.ffmpegVersion = ff.str();
    info.blas = platform::blasDescription();
    info.cudaBuild = platform::torchHasCuda();
    info.cudaDevices = cudaAvailable() ? cudaDeviceCount() : 0;
    info.threads = computeThreads();
    info.hardwareThreads = static_cast<int>(std::thread::hardware_concurrency());
    info.mpsAvailable = mpsAvailable();
    info.defaultDevice = info.cudaDevices > 0 ? "cuda:0" : info.mpsAvailable ? "mps" : "cpu";
    return info;
}

std::string runtimeInfoText(const std::vector<std::string> &extraLines)
{
    const RuntimeInfo info = runtimeInfo();
    std::ostringstream out;
    out << "DiT Studio " << info.appVersion << '\n'
        << "LibTorch " << info.torchVersion << (info.cudaBuild ? " (CUDA build)" : " (CPU build)") << '\n'
        << "OpenCV " << info.openCvVersion << '\n'
        << "FFmpeg: " << info.ffmpegVersion << '\n'
        << "BLAS: " << info.blas << '\n'
        << "Device: " << info.defaultDevice;
    if (info.cudaDevices > 0)
        out << " (" << info.cudaDevices << " CUDA device(s))";
    out << '\n' << "Threads: " << info.threads << " intra-op (of " << info.hardwareThreads << " hardware)\n";
    for (const auto &line : extraLines)
        out << line << '\n';
    return out.str();
}

std::string defaultUserDataDir()
{
    return platform::userDataDir().string();
}

} // namespace ditstudio
