// The safe PyTorch checkpoint reader: parity with the safetensors fixture for all three containers,
// hand-made files for every dtype and layout, and hostile or broken input (which must give a clear
// DitException naming the file, never a crash, a hang or an executed global).

#include "common/errors.h"
#include "io/pickle_reader.h"
#include "io/safetensors.h"
#include "io/torch_checkpoint.h"
#include "test_util.h"

#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace ditstudio {
namespace {

fs::path fixtureDir()
{
    return test::dataDir() / "parity" / "dit-tiny";
}

std::string readAll(const fs::path &p)
{
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void writeAll(const fs::path &p, const std::string &bytes)
{
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string fromHex(const std::string &hex)
{
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    return out;
}

std::string le64(uint64_t v)
{
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i)
        s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    return s;
}

std::string le32(uint32_t v)
{
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i)
        s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    return s;
}

template<typename T> std::string rawBytes(const std::vector<T> &values)
{
    return std::string(reinterpret_cast<const char *>(values.data()), values.size() * sizeof(T));
}

std::string tensorBytes(const torch::Tensor &t)
{
    const auto c = t.contiguous();
    return std::string(static_cast<const char *>(c.data_ptr()), c.numel() * c.element_size());
}

/// Writes pickle opcodes by hand (protocol 2, as torch.save does).
class PickleWriter {
public:
    PickleWriter() { m_b += "\x80\x02"; }
    PickleWriter &op(char c)
    {
        m_b += c;
        return *this;
    }
    PickleWriter &mark() { return op('('); }
    PickleWriter &global(const std::string &module, const std::string &name)
    {
        m_b += 'c' + module + '\n' + name + '\n';
        return *this;
    }
    PickleWriter &str(const std::string &s)
    {
        m_b += 'X' + le32(static_cast<uint32_t>(s.size())) + s;
        return *this;
    }
    PickleWriter &integer(int64_t v)
    {
        if (v >= 0 && v < 256) {
            m_b += 'K';
            m_b += static_cast<char>(v);
        } else if (v >= INT32_MIN && v <= INT32_MAX) {
            m_b += 'J' + le32(static_cast<uint32_t>(static_cast<int32_t>(v)));
        } else {
            m_b += "\x8a\x08" + le64(static_cast<uint64_t>(v)); // LONG1
        }
        return *this;
    }
    PickleWriter &ints(const std::vector<int64_t> &v)
    {
        mark();
        for (int64_t x : v)
            integer(x);
        return op('t');
    }
    /// _rebuild_tensor_v2(<storage key of type>, offset, sizes, strides, False, {})
    PickleWriter &tensor(const std::string &storageType, const std::string &key, int64_t storageNumel,
                         int64_t offset, const std::vector<int64_t> &sizes,
                         const std::vector<int64_t> &strides, bool legacy)
    {
        global("torch._utils", "_rebuild_tensor_v2").mark();
        mark().str("storage").global("torch", storageType).str(key).str("cpu").integer(storageNumel);
        if (legacy)
            op('N');
        op('t').op('Q');
        integer(offset).ints(sizes).ints(strides).op('\x89').op('}').op('t').op('R');
        return *this;
    }
    PickleWriter &orderedDict() { return global("collections", "OrderedDict").op(')').op('R'); }
    std::string done() const { return m_b + '.'; }

private:
    std::string m_b;
};

/// One float tensor [n] on storage "0" of storageNumel elements, in an OrderedDict under `name`.
std::string oneTensorPickle(const std::string &name, int64_t n, int64_t storageNumel, bool legacy)
{
    PickleWriter w;
    w.orderedDict().mark().str(name).tensor("FloatStorage", "0", storageNumel, 0, {n}, {1}, legacy).op('u');
    return w.done();
}

/// A legacy (pre-zip) torch.save file: magic, version, sys_info, the object, the key list, the data.
std::string legacyFile(const std::string &mainPickle,
                       const std::vector<std::pair<std::string, std::string>> &storages,
                       const std::vector<uint64_t> &counts)
{
    std::string f = fromHex("80028a0a6cfc9c46f9206aa850192e"); // LONG1 0x1950a86a20f9469cfc6c
    f += PickleWriter().integer(1001).done();
    f += PickleWriter().op('}').str("little_endian").op('\x88').op('s').done();
    f += mainPickle;
    PickleWriter keys;
    keys.op(']').mark();
    for (const auto &s : storages)
        keys.str(s.first);
    f += keys.op('e').done();
    for (std::size_t i = 0; i < storages.size(); ++i)
        f += le64(counts[i]) + storages[i].second;
    return f;
}

void writeZip(const fs::path &path, const std::string &pickle,
              const std::map<std::string, std::string> &storages)
{
    caffe2::serialize::PyTorchStreamWriter writer(path.string());
    writer.writeRecord("data.pkl", pickle.data(), pickle.size());
    for (const auto &[key, bytes] : storages)
        writer.writeRecord("data/" + key, bytes.data(), bytes.size());
    writer.writeEndOfFile();
}

class TorchCheckpointTest : public test::TorchTest {
protected:
    void SetUp() override
    {
        TorchTest::SetUp();
        const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
        std::string name = std::string(info->test_suite_name()) + "-" + info->name();
        for (char &c : name)
            if (c == '/')
                c = '_';
        m_dir = fs::temp_directory_path() / ("ditstudio-ckpt-" + name + "-" + test::processTag());
        fs::remove_all(m_dir);
        fs::create_directories(m_dir);
    }
    void TearDown() override
    {
        std::error_code ec;
        fs::remove_all(m_dir, ec);
    }

    /// Loading `path` throws a DitException whose message holds the file name and every needle.
    static ::testing::AssertionResult failsWith(const fs::path &path,
                                                std::initializer_list<std::string> needles)
    {
        try {
            loadTorchCheckpoint(path);
            return ::testing::AssertionFailure() << path << " loaded without an error";
        } catch (const DitException &e) {
            const std::string message = e.what();
            if (message.find(path.string()) == std::string::npos)
                return ::testing::AssertionFailure() << "message does not name the file: " << message;
            for (const auto &needle : needles)
                if (message.find(needle) == std::string::npos)
                    return ::testing::AssertionFailure() << "message lacks '" << needle << "': " << message;
            return ::testing::AssertionSuccess() << message;
        } catch (const std::exception &e) {
            return ::testing::AssertionFailure() << "not a DitException: " << e.what();
        }
    }

    /// Loading either succeeds or throws a DitException (for fuzzing: no other outcome is allowed).
    static ::testing::AssertionResult loadsOrFailsCleanly(const fs::path &path)
    {
        try {
            loadTorchCheckpoint(path);
        } catch (const DitException &) {
        } catch (const std::exception &e) {
            return ::testing::AssertionFailure() << "not a DitException: " << e.what();
        }
        return ::testing::AssertionSuccess();
    }

    fs::path m_dir;
};

// ---- parity with the safetensors fixture ---------------------------------------------------------

struct ParityCase {
    const char *file;
    const char *container;
};

void PrintTo(const ParityCase &c, std::ostream *os)
{
    *os << c.file;
}

class TorchCheckpointParity : public ::testing::TestWithParam<ParityCase> { };

TEST_P(TorchCheckpointParity, MatchesSafetensorsBitForBit)
{
    const auto path = fixtureDir() / GetParam().file;
    const StateDict reference = safetensors::load(fixtureDir() / "weights.safetensors");
    const StateDict loaded = loadTorchCheckpoint(path);
    EXPECT_EQ(loaded.container, GetParam().container);
    EXPECT_EQ(loaded.source, path.string());
    ASSERT_EQ(loaded.tensors.size(), reference.tensors.size());
    for (const auto &[key, ref] : reference.tensors) {
        SCOPED_TRACE(key);
        ASSERT_TRUE(loaded.contains(key));
        const torch::Tensor &t = loaded.at(key);
        EXPECT_EQ(t.scalar_type(), ref.scalar_type());
        EXPECT_EQ(t.sizes(), ref.sizes());
        EXPECT_EQ(tensorBytes(t), tensorBytes(ref)) << "values differ";
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TorchCheckpointParity,
                         ::testing::Values(ParityCase {"weights.pt", "pytorch-zip"},
                                           ParityCase {"weights-legacy.pt", "pytorch-legacy"},
                                           ParityCase {"train-checkpoint.pt", "training-checkpoint"}),
                         [](const auto &info) {
                             std::string name = info.param.file;
                             name = name.substr(0, name.find('.'));
                             for (char &c : name)
                                 if (c == '-')
                                     c = '_';
                             return name;
                         });

TEST_F(TorchCheckpointTest, TrainingCheckpointKeepsArgsAsMetadata)
{
    const StateDict sd = loadTorchCheckpoint(fixtureDir() / "train-checkpoint.pt");
    EXPECT_EQ(sd.metadata.at("checkpoint.entry"), "ema");
    EXPECT_EQ(sd.metadata.at("args.model"), "DiT-S/2");
    EXPECT_EQ(sd.metadata.at("args.num_classes"), "10");
}

// ---- hand-made files: dtypes, layouts, prefixes --------------------------------------------------

TEST_F(TorchCheckpointTest, HandMadeLegacyFileLoads)
{
    const std::vector<float> values = {1.5f, -2.0f, 3.25f, 4.0f};
    const auto path = m_dir / "ok-legacy.pt";
    writeAll(path, legacyFile(oneTensorPickle("w", 4, 4, true), {{"0", rawBytes(values)}}, {4}));
    const StateDict sd = loadTorchCheckpoint(path);
    EXPECT_EQ(sd.container, "pytorch-legacy");
    ASSERT_TRUE(sd.contains("w"));
    EXPECT_TRUE(torch::equal(sd.at("w"), torch::tensor(values)));
}

TEST_F(TorchCheckpointTest, HandMadeZipWithEveryDtypeAndLayout)
{
    struct Entry {
        const char *name;
        const char *storageType;
        torch::Tensor value;
    };
    const auto base = torch::arange(24, torch::kDouble).sub(7.5);
    const std::vector<Entry> entries = {
        {"f32", "FloatStorage", base.to(torch::kFloat)},        {"f16", "HalfStorage", base.to(torch::kHalf)},
        {"bf16", "BFloat16Storage", base.to(torch::kBFloat16)}, {"f64", "DoubleStorage", base},
        {"i64", "LongStorage", base.to(torch::kLong)},          {"i32", "IntStorage", base.to(torch::kInt)},
        {"i16", "ShortStorage", base.to(torch::kShort)},        {"i8", "CharStorage", base.to(torch::kChar)},
        {"u8", "ByteStorage", base.abs().to(torch::kByte)},     {"bool", "BoolStorage", base.gt(0)},
    };
    PickleWriter w;
    w.orderedDict().mark();
    std::map<std::string, std::string> storages;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const std::string key = std::to_string(i);
        w.str(entries[i].name).tensor(entries[i].storageType, key, 24, 0, {2, 3, 4}, {12, 4, 1}, false);
        storages[key] = tensorBytes(entries[i].value);
    }
    // Views: a transposed [4, 3] (strides 1, 4) at offset 0 of storage 0, a [2, 2] at offset 5,
    // a 0-dim scalar, an empty tensor, and a DDP-style "module." key.
    w.str("transposed").tensor("FloatStorage", "0", 24, 0, {4, 3}, {1, 4}, false);
    w.str("window").tensor("FloatStorage", "0", 24, 5, {2, 2}, {6, 1}, false);
    w.str("scalar").tensor("FloatStorage", "0", 24, 23, {}, {}, false);
    w.str("empty").tensor("FloatStorage", "0", 24, 24, {0, 5}, {5, 1}, false);
    w.str("module.prefixed").tensor("FloatStorage", "0", 24, 0, {24}, {1}, false);
    w.op('u');
    const auto path = m_dir / "dtypes.pt";
    writeZip(path, w.done(), storages);

    const StateDict sd = loadTorchCheckpoint(path);
    EXPECT_EQ(sd.container, "pytorch-zip");
    for (const auto &e : entries) {
        SCOPED_TRACE(e.name);
        ASSERT_TRUE(sd.contains(e.name));
        const auto &t = sd.at(e.name);
        EXPECT_EQ(t.scalar_type(), e.value.scalar_type());
        EXPECT_EQ(t.sizes(), torch::IntArrayRef({2, 3, 4}));
        EXPECT_EQ(tensorBytes(t), tensorBytes(e.value));
    }
    const auto f32 = base.to(torch::kFloat);
    EXPECT_TRUE(torch::equal(sd.at("transposed"), f32.as_strided({4, 3}, {1, 4}, 0)));
    EXPECT_TRUE(torch::equal(sd.at("window"), f32.as_strided({2, 2}, {6, 1}, 5)));
    EXPECT_EQ(sd.at("scalar").dim(), 0);
    EXPECT_EQ(sd.at("scalar").item<float>(), 15.5f);
    EXPECT_EQ(sd.at("empty").sizes(), torch::IntArrayRef({0, 5}));
    EXPECT_TRUE(sd.contains("prefixed"));
    EXPECT_FALSE(sd.contains("module.prefixed"));
    // Views own compact memory: writing to one must not change another.
    sd.tensors.at("window").fill_(0);
    EXPECT_TRUE(torch::equal(sd.at("f32"), f32.view({2, 3, 4})));
}

TEST_F(TorchCheckpointTest, TrainingCheckpointPrefersEma)
{
    PickleWriter w;
    w.op('}').mark();
    w.str("model").orderedDict().mark().str("w").tensor("FloatStorage", "0", 2, 0, {2}, {1}, false).op('u');
    w.str("ema")
        .orderedDict()
        .mark()
        .str("module.w")
        .tensor("FloatStorage", "1", 2, 0, {2}, {1}, false)
        .op('u');
    w.str("args")
        .global("argparse", "Namespace")
        .op(')')
        .op('\x81')
        .op('}')
        .str("lr")
        .integer(3)
        .op('s')
        .op('b');
    // The official train.py stores opt.state_dict() (plain dicts and lists); a pickled optimizer
    // object would name a global outside the allowlist and be refused.
    w.str("opt").op('}').str("param_groups").op(']').op('s');
    w.str("step").integer(7);
    w.op('u');
    const auto path = m_dir / "train.pt";
    writeZip(path, w.done(),
             {{"0", rawBytes(std::vector<float> {1, 2})}, {"1", rawBytes(std::vector<float> {3, 4})}});
    const StateDict sd = loadTorchCheckpoint(path);
    EXPECT_EQ(sd.container, "training-checkpoint");
    ASSERT_EQ(sd.tensors.size(), 1u);
    EXPECT_TRUE(torch::equal(sd.at("w"), torch::tensor({3.0f, 4.0f})));
    EXPECT_EQ(sd.metadata.at("args.lr"), "3");
    EXPECT_EQ(sd.metadata.at("checkpoint.step"), "7");
}

// ---- broken and hostile input --------------------------------------------------------------------

TEST_F(TorchCheckpointTest, MissingFile)
{
    const auto path = m_dir / "nope.pt";
    try {
        loadTorchCheckpoint(path);
        FAIL() << "loaded a missing file";
    } catch (const DitException &e) {
        EXPECT_EQ(e.code(), ErrorCode::NotFound);
        EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos);
    }
}

TEST_F(TorchCheckpointTest, EmptyFile)
{
    const auto path = m_dir / "empty.pt";
    writeAll(path, "");
    EXPECT_TRUE(failsWith(path, {"empty file"}));
}

TEST_F(TorchCheckpointTest, RandomBytes)
{
    std::mt19937 rng(42);
    for (int round = 0; round < 20; ++round) {
        std::string bytes(1 + rng() % 8192, '\0');
        for (char &c : bytes)
            c = static_cast<char>(rng());
        if (round == 1)
            bytes[0] = '\x80'; // looks like a pickle protocol header
        const auto path = m_dir / ("random" + std::to_string(round) + ".pt");
        writeAll(path, bytes);
        EXPECT_TRUE(failsWith(path, {"not a PyTorch checkpoint"})) << "round " << round;
    }
}

TEST_F(TorchCheckpointTest, TruncatedZip)
{
    const std::string full = readAll(fixtureDir() / "weights.pt");
    for (std::size_t keep : {std::size_t(4), std::size_t(100), full.size() / 2, full.size() - 30}) {
        const auto path = m_dir / ("truncated" + std::to_string(keep) + ".pt");
        writeAll(path, full.substr(0, keep));
        EXPECT_TRUE(failsWith(path, {"zip"})) << "kept " << keep << " bytes";
    }
}

TEST_F(TorchCheckpointTest, TruncatedLegacyFile)
{
    const std::string full = readAll(fixtureDir() / "weights-legacy.pt");
    for (std::size_t keep :
         {std::size_t(20), std::size_t(3000), std::size_t(6400), full.size() / 2, full.size() - 1}) {
        const auto path = m_dir / ("truncated" + std::to_string(keep) + ".pt");
        writeAll(path, full.substr(0, keep));
        try {
            loadTorchCheckpoint(path);
            ADD_FAILURE() << "a truncated file loaded (kept " << keep << " bytes)";
        } catch (const DitException &e) {
            EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
        }
    }
}

// GLOBAL os.system, called with a shell command that would leave a file behind if it ever ran.
std::string osSystemPickle(const fs::path &marker)
{
    return PickleWriter()
        .global("os", "system")
        .mark()
        .str("touch " + marker.string())
        .op('t')
        .op('R')
        .done();
}

TEST_F(TorchCheckpointTest, OsSystemGlobalIsNeverExecutedLegacy)
{
    const auto marker = m_dir / "pwned";
    const auto path = m_dir / "evil-legacy.pt";
    writeAll(path, legacyFile(osSystemPickle(marker), {}, {}));
    EXPECT_TRUE(failsWith(path, {"refused pickle global 'os.system'"}));
    EXPECT_FALSE(fs::exists(marker));
}

TEST_F(TorchCheckpointTest, OsSystemGlobalIsNeverExecutedZip)
{
    const auto marker = m_dir / "pwned";
    const auto path = m_dir / "evil.pt";
    writeZip(path, osSystemPickle(marker), {});
    EXPECT_TRUE(failsWith(path, {"refused pickle global 'os.system'"}));
    EXPECT_FALSE(fs::exists(marker));
}

// Inside a state_dict, a global outside the allowlist is refused by name (never constructed, never
// run), even next to good tensors: the strict unpickler loads nothing from such a file.
TEST_F(TorchCheckpointTest, OsSystemInsideStateDictIsRefusedNotRun)
{
    const auto marker = m_dir / "pwned";
    PickleWriter w;
    w.orderedDict().mark();
    w.str("ok").tensor("FloatStorage", "0", 2, 0, {2}, {1}, false);
    w.str("evil").global("os", "system").mark().str("touch " + marker.string()).op('t').op('R');
    w.op('u');
    const auto path = m_dir / "evil-entry.pt";
    writeZip(path, w.done(), {{"0", rawBytes(std::vector<float> {1, 2})}});
    EXPECT_TRUE(failsWith(path, {"refused pickle global 'os.system'", "allowed"}));
    EXPECT_FALSE(fs::exists(marker));
    // Other globals a hostile or foreign file may name are refused the same way.
    for (const auto &[module, name] :
         std::vector<std::pair<std::string, std::string>> {{"builtins", "eval"},
                                                           {"subprocess", "Popen"},
                                                           {"numpy.core.multiarray", "_reconstruct"},
                                                           {"torch", "load"},
                                                           {"__main__", "Evil"}}) {
        PickleWriter e;
        e.orderedDict().mark().str("x").global(module, name).op('u');
        writeZip(path, e.done(), {});
        EXPECT_TRUE(failsWith(path, {"refused pickle global '" + module + "." + name + "'"}))
            << module << "." << name;
    }
}

// The globals real checkpoints hold stay loadable: argparse.Namespace (the official training
// script's "args"), torch dtypes and sizes in metadata, storages we never need.
TEST_F(TorchCheckpointTest, AllowlistedInertGlobalsStillLoad)
{
    PickleWriter w;
    w.op('}').mark();
    w.str("model").orderedDict().mark().str("w").tensor("FloatStorage", "0", 2, 0, {2}, {1}, false).op('u');
    w.str("args")
        .global("argparse", "Namespace")
        .op(')')
        .op('\x81')
        .op('}')
        .str("lr")
        .integer(1)
        .op('s')
        .op('b');
    w.str("dtype").global("torch", "bfloat16");
    w.op('u');
    const auto path = m_dir / "allowed.pt";
    writeZip(path, w.done(), {{"0", rawBytes(std::vector<float> {1, 2})}});
    EXPECT_EQ(loadTorchCheckpoint(path).tensors.size(), 1u);
}

// set(big_list) repeated through the memo: each call copied the list (quadratic memory from a small
// file). The copying is budgeted now and such a file is refused quickly.
TEST_F(TorchCheckpointTest, RepeatedSetOfAMemoizedListIsBudgeted)
{
    PickleWriter w;
    w.orderedDict().mark().str("junk");
    w.op(']').mark();
    for (int i = 0; i < 20000; ++i)
        w.integer(i % 200);
    w.op('e').op('q').op('\x01'); // BINPUT 1: the list
    w.global("builtins", "set").op('q').op('\x02'); // BINPUT 2: set
    w.op(']').mark();
    for (int i = 0; i < 5000; ++i)
        w.op('h').op('\x02').op('h').op('\x01').op('\x85').op('R'); // set(list)
    w.op('e').op('u');
    const auto path = m_dir / "sets.pt";
    writeZip(path, w.done(), {});
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(failsWith(path, {"too much container copying"}));
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
}

TEST_F(TorchCheckpointTest, StorageShorterThanNeededZip)
{
    const auto path = m_dir / "short.pt";
    writeZip(path, oneTensorPickle("w", 256, 256, false), {{"0", std::string(100, '\0')}});
    EXPECT_TRUE(failsWith(path, {"truncated storage 'data/0': expected 1024 bytes, found 100"}));
}

TEST_F(TorchCheckpointTest, StorageShorterThanNeededLegacy)
{
    const auto path = m_dir / "short-legacy.pt";
    // The element count matches, but the file ends early.
    writeAll(path, legacyFile(oneTensorPickle("w", 256, 256, true), {{"0", std::string(100, '\0')}}, {256}));
    EXPECT_TRUE(failsWith(path, {"truncated storage '0': expected 1024 bytes, found 100"}));
    // The element count disagrees with the pickle.
    writeAll(path, legacyFile(oneTensorPickle("w", 256, 256, true), {{"0", std::string(100, '\0')}}, {25}));
    EXPECT_TRUE(failsWith(path, {"storage '0' holds 25 elements"}));
}

TEST_F(TorchCheckpointTest, StridesOutsideStorage)
{
    const auto path = m_dir / "outside.pt";
    writeZip(path, oneTensorPickle("w", 300, 256, false), {{"0", std::string(1024, '\0')}});
    EXPECT_TRUE(failsWith(path, {"reaches element 299 of a storage of 256 elements"}));
}

TEST_F(TorchCheckpointTest, HostileSizes)
{
    struct Case {
        const char *name;
        int64_t offset;
        std::vector<int64_t> sizes, strides;
        const char *needle;
    };
    const std::vector<Case> cases = {
        {"negative-size", 0, {-4}, {1}, "negative size"},
        {"negative-stride", 3, {4}, {-1}, "negative size or stride"},
        {"negative-offset", -1, {1}, {1}, "negative storage offset"},
        {"overflow", 0, {1 << 30, 1 << 30, 1 << 30}, {0, 0, 0}, "overflows"},
        {"rank-mismatch", 0, {2, 2}, {1}, "2 sizes but 1 strides"},
        {"huge-overlap", 0, {1 << 20, 1 << 20}, {0, 0}, "overlapping view"},
    };
    for (const auto &c : cases) {
        PickleWriter w;
        w.orderedDict()
            .mark()
            .str("w")
            .tensor("FloatStorage", "0", 4, c.offset, c.sizes, c.strides, false)
            .op('u');
        const auto path = m_dir / (std::string(c.name) + ".pt");
        writeZip(path, w.done(), {{"0", std::string(16, '\0')}});
        EXPECT_TRUE(failsWith(path, {c.needle})) << c.name;
    }
    // An element count whose byte size overflows int64.
    const auto path = m_dir / "numel-overflow.pt";
    writeZip(path, oneTensorPickle("w", 1, int64_t(1) << 62, false), {{"0", std::string(16, '\0')}});
    EXPECT_TRUE(failsWith(path, {"too large"}));
}

TEST_F(TorchCheckpointTest, NonTensorTopLevelObject)
{
    const auto path = m_dir / "list.pt";
    writeZip(path, PickleWriter().op(']').mark().integer(1).integer(2).op('e').done(), {});
    EXPECT_TRUE(failsWith(path, {"holds a list, not a state_dict"}));
    writeZip(path, PickleWriter().integer(42).done(), {});
    EXPECT_TRUE(failsWith(path, {"holds an int, not a state_dict"}));
    writeZip(path, PickleWriter().op('}').str("epoch").integer(3).op('s').done(), {});
    EXPECT_TRUE(failsWith(path, {"no tensors found"}));
    // A pickled nn.Module (an unsupported class) at the top level.
    writeZip(path, PickleWriter().global("models", "DiT").op(')').op('\x81').op('}').op('b').done(), {});
    EXPECT_TRUE(failsWith(path, {"refused pickle global 'models.DiT'"}));
}

TEST_F(TorchCheckpointTest, UnsupportedStorageTypeOnlyWhenNeeded)
{
    PickleWriter w;
    w.op('}').mark();
    w.str("model").orderedDict().mark().str("w").tensor("FloatStorage", "0", 2, 0, {2}, {1}, false).op('u');
    w.str("opt").op('}').str("q").tensor("QInt8Storage", "1", 2, 0, {2}, {1}, false).op('s');
    w.op('u');
    const auto path = m_dir / "qint.pt";
    writeZip(path, w.done(), {{"0", rawBytes(std::vector<float> {1, 2})}, {"1", std::string(2, '\0')}});
    EXPECT_EQ(loadTorchCheckpoint(path).tensors.size(), 1u); // the optimizer's odd tensor is never needed

    writeZip(path,
             PickleWriter()
                 .orderedDict()
                 .mark()
                 .str("q")
                 .tensor("QInt8Storage", "1", 2, 0, {2}, {1}, false)
                 .op('u')
                 .done(),
             {{"1", std::string(2, '\0')}});
    EXPECT_TRUE(failsWith(path, {"'q'", "unsupported storage type 'torch.QInt8Storage'"}));
}

TEST_F(TorchCheckpointTest, TorchScriptArchiveIsRejected)
{
    const auto path = m_dir / "scripted.pt";
    {
        caffe2::serialize::PyTorchStreamWriter writer(path.string());
        const std::string pkl = PickleWriter().op('N').done();
        writer.writeRecord("data.pkl", pkl.data(), pkl.size());
        writer.writeRecord("constants.pkl", pkl.data(), pkl.size());
        writer.writeEndOfFile();
    }
    EXPECT_TRUE(failsWith(path, {"TorchScript"}));
}

// Random byte flips and truncations of real files: each must load or fail with a DitException.
TEST_F(TorchCheckpointTest, FuzzedLegacyFile)
{
    const std::string original = readAll(fixtureDir() / "weights-legacy.pt");
    std::mt19937 rng(7);
    const auto path = m_dir / "fuzz.pt";
    for (int round = 0; round < 300; ++round) {
        std::string bytes = original;
        const int flips = 1 + static_cast<int>(rng() % 8);
        for (int i = 0; i < flips; ++i)
            bytes[rng() % 6400] = static_cast<char>(rng()); // the pickles, not the raw data
        if (round % 5 == 0)
            bytes.resize(rng() % bytes.size());
        writeAll(path, bytes);
        ASSERT_TRUE(loadsOrFailsCleanly(path)) << "round " << round;
    }
}

TEST_F(TorchCheckpointTest, FuzzedZipPickle)
{
    caffe2::serialize::PyTorchStreamReader reader((fixtureDir() / "weights.pt").string());
    std::map<std::string, std::string> storages;
    for (const auto &name : reader.getAllRecords()) {
        if (name.rfind("data/", 0) == 0) {
            auto [ptr, size] = reader.getRecord(name);
            storages[name.substr(5)] = std::string(static_cast<const char *>(ptr.get()), size);
        }
    }
    auto [pklPtr, pklSize] = reader.getRecord("data.pkl");
    const std::string pkl(static_cast<const char *>(pklPtr.get()), pklSize);
    std::mt19937 rng(11);
    const auto path = m_dir / "fuzz.pt";
    for (int round = 0; round < 150; ++round) {
        std::string bytes = pkl;
        const int flips = 1 + static_cast<int>(rng() % 6);
        for (int i = 0; i < flips; ++i)
            bytes[rng() % bytes.size()] = static_cast<char>(rng());
        if (round % 4 == 0)
            bytes.resize(rng() % bytes.size());
        writeZip(path, bytes, storages);
        ASSERT_TRUE(loadsOrFailsCleanly(path)) << "round " << round;
    }
}

// ---- the unpickler on its own --------------------------------------------------------------------

/// A string literal with its embedded NULs.
template<std::size_t N> std::string lit(const char (&s)[N])
{
    return std::string(s, N - 1);
}

TEST(PickleReaderTest, AllProtocolsDecodeTheSameObject)
{
    // pickle.dumps({'a': [1, -2, 2.5, 'x\u00e9', None, True, False, b'by', (1, 2, 3), 2**70, -2**70, -5],
    //               'b': {3: 'three'}}, protocol=N) from CPython 3.11.
    const std::vector<std::pair<int, std::string>> pickles = {
        {0,
         "286470300a56610a70310a286c70320a49310a61492d320a6146322e350a615678e90a70330a614e614930310a614930300"
         "a"
         "61635f636f646563730a656e636f64650a70340a285662790a70350a566c6174696e310a70360a7470370a5270380a61284"
         "9"
         "310a49320a49330a7470390a614c313138303539313632303731373431313330333432344c0a614c2d3131383035393136"
         "32303731373431313330333432344c0a61492d350a617356620a7031300a28647031310a49330a5674687265650a703132"
         "0a73732e"},
        {1,
         "7d71002858010000006171015d7102284b014afeffffff474004000000000000580300000078c3a971034e4930310a4930"
         "300a635f636f646563730a656e636f64650a71042858020000006279710558060000006c6174696e3171067471075271"
         "08284b014b024b037471094c313138303539313632303731373431313330333432344c0a4c2d313138303539313632"
         "303731373431313330333432344c0a4afbffffff65580100000062710a7d710b4b0358050000007468726565710c7375"
         "2e"},
        {4,
         "8004955f000000000000007d94288c0161945d94284b014afeffffff4740040000000000008c0378c3a9944e88894302"
         "6279944b014b024b0387948a090000000000000000408a090000000000000000c04afbffffff658c0162947d944b038c05"
         "74687265659473752e"},
    };
    for (const auto &[protocol, hex] : pickles) {
        SCOPED_TRACE("protocol " + std::to_string(protocol));
        const std::string bytes = fromHex(hex);
        pickle::Unpickler u(reinterpret_cast<const unsigned char *>(bytes.data()), bytes.size(), "test");
        const pickle::Value *root = u.load();
        EXPECT_EQ(u.position(), bytes.size());
        ASSERT_EQ(root->kind, pickle::Kind::Dict);
        const pickle::Value *a = root->get("a");
        ASSERT_TRUE(a && a->kind == pickle::Kind::List);
        ASSERT_EQ(a->items.size(), 12u);
        EXPECT_EQ(a->items[0]->integer, 1);
        EXPECT_EQ(a->items[1]->integer, -2);
        EXPECT_EQ(a->items[2]->real, 2.5);
        EXPECT_EQ(a->items[3]->text, "x\xc3\xa9");
        EXPECT_EQ(a->items[4]->kind, pickle::Kind::None);
        EXPECT_TRUE(a->items[5]->kind == pickle::Kind::Bool && a->items[5]->boolean);
        EXPECT_TRUE(a->items[6]->kind == pickle::Kind::Bool && !a->items[6]->boolean);
        // Protocols 0-2 write bytes as a call of _codecs.encode(str, 'latin1'), decoded as bytes.
        EXPECT_EQ(a->items[7]->kind, pickle::Kind::Bytes);
        EXPECT_EQ(a->items[7]->text, "by");
        ASSERT_EQ(a->items[8]->kind, pickle::Kind::Tuple);
        EXPECT_EQ(a->items[8]->items.size(), 3u);
        EXPECT_EQ(a->items[9]->kind, pickle::Kind::BigInt);
        EXPECT_EQ(a->items[9]->text, fromHex("000000000000000040"));
        EXPECT_EQ(a->items[10]->text, fromHex("0000000000000000c0"));
        EXPECT_EQ(a->items[11]->integer, -5);
        const pickle::Value *b = root->get("b");
        ASSERT_TRUE(b && b->kind == pickle::Kind::Dict);
        ASSERT_EQ(b->dict->entries.size(), 1u);
        EXPECT_EQ(b->dict->entries[0].first->integer, 3);
        EXPECT_EQ(b->dict->entries[0].second->text, "three");
    }
}

TEST(PickleReaderTest, MalformedPicklesFailCleanly)
{
    const std::vector<std::pair<std::string, std::string>> cases = {
        {lit(""), "no STOP"},
        {lit("\x80\x02"), "no STOP"},
        {lit("\x80\x09N."), "unsupported pickle protocol 9"},
        {lit("."), "stack underflow"},
        {lit("\x80\x02h\x05."), "memo entry 5 was never stored"},
        {lit("\x80\x02X\xff\xff\xff\x7f") + "abc.", "truncated pickle"},
        {lit("\x80\x02T\xff\xff\xff\xff") + ".", "negative length"},
        {lit("\x80\x02\xff."), "unknown pickle opcode 0xff"},
        {lit("\x80\x02K\x00K\x01K\x02s."), "SETITEM on an int"},
        {lit("\x80\x02]K\x01K\x02u."), "MARK expected"},
        {lit("\x80\x02}(K\x01u."), "odd number of items"},
        {lit("\x80\x02}](K\x01K\x02ls."), "unsupported dictionary key of type list"},
        {lit("\x80\x02\x97."), "out-of-band"},
        {lit("\x80\x02X\x02\x00\x00\x00\xc3\x28."), "invalid UTF-8"},
        {lit("I12x\n."), "invalid integer literal"},
        {lit("\x80\x02\x95\xff\xff\xff\x00\x00\x00\x00\x00N."), "truncated pickle frame"},
        {lit("\x80\x02"
             "ctorch._utils\n_rebuild_tensor_v2\n(NK\x00))\x89}tR."),
         "not a storage"},
        {lit("\x80\x02N\x85Q."), "no storage loader"},
    };
    for (const auto &[bytes, needle] : cases) {
        pickle::Unpickler u(reinterpret_cast<const unsigned char *>(bytes.data()), bytes.size(), "case.pkl");
        try {
            u.load();
            ADD_FAILURE() << "no error for " << needle;
        } catch (const DitException &e) {
            const std::string m = e.what();
            EXPECT_NE(m.find("case.pkl"), std::string::npos) << m;
            EXPECT_NE(m.find(needle), std::string::npos) << m;
        }
    }
}

TEST(PickleReaderTest, HostileStructuresAreBounded)
{
    // 200k nested MARKs: capped, not a crash.
    {
        const std::string bytes = "\x80\x02" + std::string(200000, '(') + "N.";
        pickle::Unpickler u(reinterpret_cast<const unsigned char *>(bytes.data()), bytes.size(), "marks");
        EXPECT_THROW(u.load(), DitException);
    }
    // 200k nested lists and a list containing itself: values are arena-owned, so neither deep
    // nesting nor cycles recurse anywhere.
    {
        std::string bytes = "\x80\x02]\x94";
        for (int i = 0; i < 200000; ++i)
            bytes += "]\x94";
        for (int i = 0; i < 200000; ++i)
            bytes += "a";
        bytes += lit("h\x00\x94") + "a.";
        pickle::Unpickler u(reinterpret_cast<const unsigned char *>(bytes.data()), bytes.size(), "nested");
        const pickle::Value *root = u.load();
        EXPECT_EQ(root->kind, pickle::Kind::List);
    }
    // A value cap.
    {
        pickle::Limits limits;
        limits.maxValues = 1000;
        std::string bytes = "\x80\x02]";
        for (int i = 0; i < 2000; ++i)
            bytes += "Na";
        bytes += ".";
        pickle::Unpickler u(reinterpret_cast<const unsigned char *>(bytes.data()), bytes.size(), "many",
                            limits);
        EXPECT_THROW(u.load(), DitException);
    }
}

} // namespace
} // namespace ditstudio
