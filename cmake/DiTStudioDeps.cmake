# Third-party dependencies. Every target links them PRIVATE; only what a public header needs is PUBLIC
# (nothing: the public API uses our own plain types).

# LibTorch: Debian's libtorch-dev, or any LibTorch (e.g. a CUDA build, or the one bundled with a pip
# PyTorch) given with -DCMAKE_PREFIX_PATH=<libtorch or python -c 'import torch;print(torch.utils.cmake_prefix_path)'>.
find_package(Torch REQUIRED)
message(STATUS "DiTStudio: LibTorch ${Torch_VERSION} from ${Torch_DIR}")
if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES)
    set(DITSTUDIO_HAVE_CUDA ON)
else()
    set(DITSTUDIO_HAVE_CUDA OFF)
endif()
message(STATUS "DiTStudio: CUDA LibTorch: ${DITSTUDIO_HAVE_CUDA}")

# OpenCV: only core, imgproc and imgcodecs. Debian ships OpenCVConfig.cmake only in the heavy
# libopencv-dev meta package, so fall back to locating the three module packages directly.
find_package(OpenCV QUIET COMPONENTS core imgproc imgcodecs)
if(NOT OpenCV_FOUND)
    find_path(DITSTUDIO_OPENCV_INCLUDE opencv2/core.hpp PATH_SUFFIXES opencv4 REQUIRED)
    set(OpenCV_LIBS)
    foreach(module core imgproc imgcodecs)
        find_library(DITSTUDIO_OPENCV_${module} NAMES opencv_${module} REQUIRED)
        list(APPEND OpenCV_LIBS ${DITSTUDIO_OPENCV_${module}})
    endforeach()
    add_library(ditstudio_opencv INTERFACE)
    target_include_directories(ditstudio_opencv INTERFACE ${DITSTUDIO_OPENCV_INCLUDE})
    target_link_libraries(ditstudio_opencv INTERFACE ${OpenCV_LIBS})
    set(OpenCV_LIBS ditstudio_opencv)
endif()
find_package(spdlog REQUIRED)
find_package(nlohmann_json 3.9 REQUIRED)
find_package(ZLIB REQUIRED)
# libcurl: model downloads (HTTP(S) with Range resume), in ditstudio_common.
find_package(CURL REQUIRED)
find_package(Threads REQUIRED)

find_package(PkgConfig REQUIRED)
pkg_check_modules(FFMPEG REQUIRED IMPORTED_TARGET libavformat libavcodec libavutil libswscale)

# Gloo (c10d ProcessGroupGloo) is optional: the data-parallel trainer needs it.
find_path(GLOO_INCLUDE_DIR gloo/config.h)
find_library(GLOO_LIBRARY gloo)
if(GLOO_INCLUDE_DIR AND GLOO_LIBRARY)
    set(DITSTUDIO_HAVE_GLOO ON)
else()
    set(DITSTUDIO_HAVE_GLOO OFF)
endif()
message(STATUS "DiTStudio: Gloo (c10d data parallel): ${DITSTUDIO_HAVE_GLOO}")

if(DITSTUDIO_BUILD_UI)
    find_package(Qt6 6.2 REQUIRED COMPONENTS Core Gui Widgets Sql Concurrent Test Charts)
    # AUTOMOC/AUTORCC are enabled only in the Qt folders (ui/, app/, tests/ui/), so the backend and
    # its tests build identically with the UI on or off.
endif()

if(DITSTUDIO_BUILD_TESTS)
    find_package(GTest REQUIRED)
endif()
