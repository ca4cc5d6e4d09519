// Error messages: the context and the exception's own text are joined without repeating the path.
#include "test_util.h"

#include "common/errors.h"
#include "ditstudio/engine.h"

using namespace ditstudio;

TEST(Errors, MissingModelNamesThePathOnce)
{
    Engine engine;
    const std::string path = "/nonexistent/dir/model.safetensors";
    const auto r = engine.loadModel(path);
    ASSERT_FALSE(r.ok());
    const std::string m = r.error().message;
    EXPECT_EQ(r.error().code, ErrorCode::NotFound) << m;
    const auto first = m.find(path);
    ASSERT_NE(first, std::string::npos) << m;
    EXPECT_EQ(m.find(path, first + 1), std::string::npos) << "path repeated: " << m;
}

TEST(Errors, GuardedKeepsContextForOtherMessages)
{
    const auto r
        = guarded("reading thing.bin", []() -> int { fail(ErrorCode::FormatError, "header too short"); });
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "reading thing.bin: header too short");
    const auto r2
        = guarded("reading thing.bin", []() -> int { fail(ErrorCode::FormatError, "thing.bin: bad magic"); });
    EXPECT_EQ(r2.error().message, "reading thing.bin: bad magic");
}

#include "module_guard.h"

namespace ditstudio::test {
namespace {

// The engine module's entries run their bodies through moduleCall: no exception crosses the
// module boundary, whatever the body throws.
TEST(ModuleGuard, ExceptionsBecomeFailureValues)
{
    auto result = moduleCall("loadModel", []() -> Result<int> { throw std::runtime_error("disk on fire"); });
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error().message.find("disk on fire"), std::string::npos) << result.error().message;
    EXPECT_NE(result.error().message.find("loadModel"), std::string::npos) << result.error().message;
    auto typed = moduleCall("generate",
                            []() -> Result<int> { throw DitException(ErrorCode::NotFound, "no such file"); });
    ASSERT_FALSE(typed.ok());
    EXPECT_EQ(typed.error().code, ErrorCode::NotFound);
    EXPECT_FALSE(moduleCall("hasModel", []() -> bool { throw std::bad_alloc(); }));
    EXPECT_TRUE(moduleCall("classNames", []() -> std::vector<std::string> { throw 42; }).empty());
    EXPECT_EQ(moduleCall("defaultModelPath", []() -> std::string { throw std::runtime_error("x"); }), "");
    bool ran = false;
    moduleCall("destroyEngine", [&] {
        ran = true;
        throw std::logic_error("destructor threw");
    });
    EXPECT_TRUE(ran);
    EXPECT_EQ(moduleCall("cudaDeviceCount", [] { return 3; }), 3);
}

} // namespace
} // namespace ditstudio::test
