// safetensors reader/writer: round trip and every malformed-header case names the problem.
#include "test_util.h"

#include "common/errors.h"
#include "io/safetensors.h"

#include <fstream>

namespace ditstudio::test {
namespace {

namespace fs = std::filesystem;

class SafetensorsTest : public TorchTest {
protected:
    void SetUp() override
    {
        TorchTest::SetUp();
        m_dir = fs::temp_directory_path() / ("ditstudio_st_" + processTag());
        fs::create_directories(m_dir);
    }
    void TearDown() override { fs::remove_all(m_dir); }

    fs::path writeRaw(const std::string &name, const std::string &header, const std::string &data)
    {
        const auto p = m_dir / name;
        std::ofstream out(p, std::ios::binary);
        uint64_t n = header.size();
        for (int i = 0; i < 8; ++i)
            out.put(static_cast<char>((n >> (8 * i)) & 0xff));
        out << header << data;
        return p;
    }

    std::string expectFailure(const fs::path &p)
    {
        try {
            safetensors::load(p);
        } catch (const DitException &e) {
            return e.what();
        }
        ADD_FAILURE() << "loading " << p << " did not fail";
        return {};
    }

    fs::path m_dir;
};

TEST_F(SafetensorsTest, RoundTripAllDtypesAndMetadata)
{
    std::map<std::string, torch::Tensor> tensors = {
        {"f32", torch::randn({3, 5})},
        {"f16", torch::randn({4}).to(torch::kFloat16)},
        {"bf16", torch::randn({2, 2}).to(torch::kBFloat16)},
        {"i64", torch::arange(7)},
        {"u8", torch::randint(0, 255, {9}).to(torch::kUInt8)},
    };
    const auto p = m_dir / "rt.safetensors";
    safetensors::save(p, tensors, {{"hello", "world"}});
    const auto sd = safetensors::load(p);
    ASSERT_EQ(sd.tensors.size(), tensors.size());
    for (const auto &[k, t] : tensors) {
        EXPECT_EQ(sd.at(k).scalar_type(), t.scalar_type()) << k;
        EXPECT_TRUE(torch::equal(sd.at(k), t)) << k;
    }
    EXPECT_EQ(sd.metadata.at("hello"), "world");
    const auto header = safetensors::readHeader(p); // header only, validated against the file size
    EXPECT_EQ(header.entries.size(), tensors.size());
    EXPECT_EQ(header.metadata.at("hello"), "world");
}

TEST_F(SafetensorsTest, SaveRefusesNothingButWritesAtomically)
{
    const auto p = m_dir / "a.safetensors";
    safetensors::save(p, {{"x", torch::ones({2})}});
    safetensors::save(p, {{"x", torch::zeros({2})}});
    EXPECT_TRUE(torch::equal(safetensors::load(p).at("x"), torch::zeros({2})));
    for (const auto &e : fs::directory_iterator(m_dir))
        EXPECT_EQ(e.path().string().find(".tmp-"), std::string::npos) << "temporary file left: " << e.path();
}

TEST_F(SafetensorsTest, EmptyFile)
{
    const auto p = m_dir / "empty.safetensors";
    std::ofstream(p).close();
    EXPECT_NE(expectFailure(p).find("not a safetensors file"), std::string::npos);
}

TEST_F(SafetensorsTest, ImplausibleHeaderLength)
{
    const auto p = m_dir / "huge.safetensors";
    std::ofstream out(p, std::ios::binary);
    for (int i = 0; i < 8; ++i)
        out.put(static_cast<char>(0xff));
    out.close();
    EXPECT_NE(expectFailure(p).find("implausible"), std::string::npos);
}

TEST_F(SafetensorsTest, TruncatedHeader)
{
    const auto p = writeRaw("trunc.safetensors", "{\"x\": {\"dtype\": \"F32\"", "");
    // header length claims more than present after we chop the file
    fs::resize_file(p, 12);
    EXPECT_NE(expectFailure(p).find("truncated"), std::string::npos);
}

TEST_F(SafetensorsTest, InvalidJson)
{
    const auto p = writeRaw("json.safetensors", "{not json}", "");
    EXPECT_NE(expectFailure(p).find("not valid JSON"), std::string::npos);
}

TEST_F(SafetensorsTest, SizeDoesNotMatchShape)
{
    const auto p
        = writeRaw("size.safetensors", R"({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}})",
                   std::string(12, '\0'));
    const auto msg = expectFailure(p);
    EXPECT_NE(msg.find("'w'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("expected 16"), std::string::npos) << msg;
}

TEST_F(SafetensorsTest, ShapeProductOverflowIsRefused)
{
    // [2^62 + 1, 4] F32 wraps to 4 elements (16 bytes) in 64-bit arithmetic: it must not pass.
    const auto p
        = writeRaw("overflow.safetensors",
                   R"({"w": {"dtype": "F32", "shape": [4611686018427387905, 4], "data_offsets": [0, 16]}})",
                   std::string(16, '\0'));
    const auto msg = expectFailure(p);
    EXPECT_NE(msg.find("'w'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("64 bits"), std::string::npos) << msg;
    // A product that fits in 64 bits but not once multiplied by the element size.
    const auto q
        = writeRaw("overflow2.safetensors",
                   R"({"w": {"dtype": "F32", "shape": [4611686018427387905], "data_offsets": [0, 4]}})",
                   std::string(4, '\0'));
    const auto msg2 = expectFailure(q);
    EXPECT_NE(msg2.find("too large"), std::string::npos) << msg2;
}

TEST_F(SafetensorsTest, DataPastEndOfFile)
{
    const auto p
        = writeRaw("short.safetensors", R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})",
                   std::string(8, '\0'));
    const auto msg = expectFailure(p);
    EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST_F(SafetensorsTest, OverlappingTensors)
{
    const auto p = writeRaw("overlap.safetensors",
                            R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                            std::string(12, '\0'));
    EXPECT_NE(expectFailure(p).find("overlap"), std::string::npos);
}

TEST_F(SafetensorsTest, UnknownDtype)
{
    const auto p
        = writeRaw("dtype.safetensors", R"({"a": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 2]}})",
                   std::string(2, '\0'));
    EXPECT_NE(expectFailure(p).find("unsupported dtype 'Q4'"), std::string::npos);
}

TEST_F(SafetensorsTest, MissingFields)
{
    const auto p = writeRaw("fields.safetensors", R"({"a": {"dtype": "F32"}})", "");
    EXPECT_NE(expectFailure(p).find("expected {dtype, shape, data_offsets}"), std::string::npos);
}

} // namespace
} // namespace ditstudio::test
