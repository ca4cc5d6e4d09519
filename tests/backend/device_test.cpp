// Device strings: cpu, cuda[:N], mps and auto, including Apple's MPS where LibTorch has it.
#include "ditstudio/runtime.h"

#include <gtest/gtest.h>

namespace ditstudio {
namespace {

TEST(DeviceTest, MpsIsParsedAndRefusedWhereAbsent)
{
    auto mps = parseDevice("MPS");
    if (mpsAvailable()) {
        ASSERT_TRUE(mps.ok());
        EXPECT_EQ(mps->kind, DeviceKind::Mps);
        EXPECT_EQ(mps->toString(), "mps");
    } else {
        ASSERT_FALSE(mps.ok());
        EXPECT_EQ(mps.error().code, ErrorCode::Unsupported);
        EXPECT_NE(mps.error().message.find("MPS"), std::string::npos) << mps.error().message;
    }
    EXPECT_EQ(runtimeInfo().mpsAvailable, mpsAvailable());
}

TEST(DeviceTest, AutoPrefersCudaThenMpsThenCpu)
{
    auto dev = parseDevice("auto");
    ASSERT_TRUE(dev.ok());
    const DeviceKind expected = cudaAvailable() ? DeviceKind::Cuda
        : mpsAvailable()                        ? DeviceKind::Mps
                                                : DeviceKind::Cpu;
    EXPECT_EQ(dev->kind, expected);
    const DeviceSpec mps {DeviceKind::Mps, 0};
    EXPECT_EQ(mps.toString(), "mps");
    auto bad = parseDevice("metal");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("mps"), std::string::npos) << bad.error().message;
}

} // namespace
} // namespace ditstudio
