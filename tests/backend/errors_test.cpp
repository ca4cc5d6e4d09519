// Error messages: the context and the exception's own text are joined without repeating the path.
#include "test_util.h"

#include "core/errors.h"
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
    const auto r = guarded("reading thing.bin", []() -> int { fail(ErrorCode::FormatError, "header too short"); });
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "reading thing.bin: header too short");
    const auto r2 = guarded("reading thing.bin", []() -> int { fail(ErrorCode::FormatError, "thing.bin: bad magic"); });
    EXPECT_EQ(r2.error().message, "reading thing.bin: bad magic");
}
