#include "io/safetensors.h"

#include "common/atomic_file.h"
#include "common/errors.h"
#include "core/platform.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>

namespace ditstudio {

const torch::Tensor &StateDict::at(const std::string &key) const
{
    auto it = tensors.find(key);
    if (it == tensors.end())
        fail(ErrorCode::NotFound,
             (source.empty() ? std::string("checkpoint") : source) + ": missing tensor '" + key + "'");
    return it->second;
}

namespace safetensors {

namespace {

constexpr uint64_t kMaxHeader = 100ull * 1024 * 1024;

struct DTypeInfo {
    const char *name;
    torch::ScalarType type;
    int size;
};

constexpr DTypeInfo kDTypes[] = {
    {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2}, {"BF16", torch::kBFloat16, 2},
    {"F64", torch::kFloat64, 8}, {"I64", torch::kInt64, 8},   {"I32", torch::kInt32, 4},
    {"I16", torch::kInt16, 2},   {"I8", torch::kInt8, 1},     {"U8", torch::kUInt8, 1},
    {"BOOL", torch::kBool, 1},
};

const DTypeInfo *findDType(const std::string &name)
{
    for (const auto &d : kDTypes)
        if (name == d.name)
            return &d;
    return nullptr;
}

const DTypeInfo &findDType(torch::ScalarType type)
{
    for (const auto &d : kDTypes)
        if (type == d.type)
            return d;
    fail(ErrorCode::Unsupported, std::string("safetensors: cannot store dtype ") + c10::toString(type));
}

std::string shapeText(const std::vector<int64_t> &shape)
{
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

} // namespace

Header parseHeader(const unsigned char *data, std::size_t size, const std::string &source,
                   std::size_t fileSize)
{
    if (fileSize == 0)
        fileSize = size;
    if (size < 8)
        fail(ErrorCode::FormatError,
             source + ": not a safetensors file (shorter than the 8-byte header length)");
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i)
        n = (n << 8) | data[i];
    if (n == 0 || n > kMaxHeader)
        fail(ErrorCode::FormatError,
             source + ": not a safetensors file (header length " + std::to_string(n) + " is implausible)");
    if (8 + n > size)
        fail(ErrorCode::FormatError,
             source + ": truncated: header says " + std::to_string(n) + " bytes of JSON but the file has "
                 + std::to_string(size - 8));
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(data + 8, data + 8 + n);
    } catch (const nlohmann::json::exception &e) {
        fail(ErrorCode::FormatError, source + ": header is not valid JSON: " + e.what());
    }
    if (!json.is_object())
        fail(ErrorCode::FormatError, source + ": header must be a JSON object");

    Header header;
    header.dataStart = 8 + n;
    const uint64_t dataSize = fileSize - header.dataStart;
    for (auto it = json.begin(); it != json.end(); ++it) {
        const std::string &name = it.key();
        const auto &v = it.value();
        if (name == "__metadata__") {
            if (!v.is_object())
                fail(ErrorCode::FormatError, source + ": __metadata__ must be an object of strings");
            for (auto m = v.begin(); m != v.end(); ++m) {
                if (!m.value().is_string())
                    fail(ErrorCode::FormatError, source + ": __metadata__." + m.key() + " must be a string");
                header.metadata[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        const std::string where = source + ": tensor '" + name + "'";
        if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
            fail(ErrorCode::FormatError, where + ": expected {dtype, shape, data_offsets}");
        HeaderEntry e;
        e.name = name;
        if (!v["dtype"].is_string())
            fail(ErrorCode::FormatError, where + ": dtype must be a string");
        e.dtype = v["dtype"].get<std::string>();
        const DTypeInfo *dt = findDType(e.dtype);
        if (!dt)
            fail(ErrorCode::Unsupported, where + ": unsupported dtype '" + e.dtype + "'");
        if (!v["shape"].is_array())
            fail(ErrorCode::FormatError, where + ": shape must be an array");
        uint64_t numel = 1;
        for (const auto &d : v["shape"]) {
            if (!d.is_number_integer() || d.get<int64_t>() < 0)
                fail(ErrorCode::FormatError, where + ": shape entries must be non-negative integers");
            e.shape.push_back(d.get<int64_t>());
            // Checked product: a shape like [2^62 + 1, 4] must not wrap around to a small count.
            const auto dim = static_cast<uint64_t>(e.shape.back());
            if (dim != 0 && numel > std::numeric_limits<uint64_t>::max() / dim)
                fail(ErrorCode::FormatError,
                     where + ": shape " + shapeText(e.shape) + "... has more elements than fit in 64 bits");
            numel *= dim;
        }
        if (numel > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(dt->size)
            || numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            fail(ErrorCode::FormatError,
                 where + ": shape " + shapeText(e.shape) + " of " + e.dtype + " is too large to address");
        const auto &off = v["data_offsets"];
        if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned()
            || !off[1].is_number_unsigned())
            fail(ErrorCode::FormatError, where + ": data_offsets must be [begin, end]");
        e.begin = off[0].get<uint64_t>();
        e.end = off[1].get<uint64_t>();
        if (e.end < e.begin)
            fail(ErrorCode::FormatError, where + ": data_offsets end < begin");
        if (e.end - e.begin != numel * static_cast<uint64_t>(dt->size))
            fail(ErrorCode::FormatError,
                 where + ": " + std::to_string(e.end - e.begin) + " bytes for shape " + shapeText(e.shape)
                     + " of " + e.dtype + " (expected " + std::to_string(numel * dt->size) + ")");
        if (e.end > dataSize)
            fail(ErrorCode::FormatError,
                 where + ": data ends at byte " + std::to_string(e.end) + " but the data region has "
                     + std::to_string(dataSize) + " bytes (truncated file?)");
        header.entries.push_back(std::move(e));
    }
    // Overlap check: sorted by begin, each must start at or after the previous end.
    std::vector<const HeaderEntry *> sorted;
    for (const auto &e : header.entries)
        sorted.push_back(&e);
    std::sort(sorted.begin(), sorted.end(), [](auto *a, auto *b) { return a->begin < b->begin; });
    for (size_t i = 1; i < sorted.size(); ++i)
        if (sorted[i]->begin < sorted[i - 1]->end && sorted[i]->end > sorted[i]->begin)
            fail(ErrorCode::FormatError,
                 source + ": tensors '" + sorted[i - 1]->name + "' and '" + sorted[i]->name
                     + "' overlap in the data region");
    return header;
}

Header readHeader(const std::filesystem::path &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        fail(ErrorCode::IoError, path.string() + ": cannot open");
    in.seekg(0, std::ios::end);
    const auto size = static_cast<std::size_t>(in.tellg());
    in.seekg(0);
    unsigned char lenBytes[8] = {};
    in.read(reinterpret_cast<char *>(lenBytes), 8);
    if (!in)
        return parseHeader(lenBytes, static_cast<std::size_t>(in.gcount()), path.string());
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i)
        n = (n << 8) | lenBytes[i];
    if (n == 0 || n > kMaxHeader || 8 + n > size)
        return parseHeader(lenBytes, std::min<std::size_t>(size, 8), path.string()); // throws
    std::vector<unsigned char> buf(8 + n);
    std::memcpy(buf.data(), lenBytes, 8);
    in.read(reinterpret_cast<char *>(buf.data() + 8), static_cast<std::streamsize>(n));
    // Offsets are validated against the real file size, not just the buffer.
    return parseHeader(buf.data(), buf.size(), path.string(), size);
}

// The 8-byte length check above passes the short buffer to parseHeader only to raise its error.

StateDict load(const std::filesystem::path &path)
{
    auto mapped = std::make_shared<platform::MappedFile>(path);
    Header header = parseHeader(mapped->data(), mapped->size(), path.string());
    StateDict sd;
    sd.source = path.string();
    sd.container = "safetensors";
    sd.metadata = header.metadata;
    sd.mapping = mapped;
    for (const auto &e : header.entries) {
        const DTypeInfo *dt = findDType(e.dtype);
        const unsigned char *ptr = mapped->data() + header.dataStart + e.begin;
        torch::Tensor t;
        if (e.end == e.begin) {
            t = torch::empty(e.shape, torch::TensorOptions().dtype(dt->type));
        } else if (reinterpret_cast<uintptr_t>(ptr) % dt->size == 0) {
            // Zero-copy: the tensor keeps the mapping alive. A private map: writing copies the page,
            // the file never changes.
            auto keep = mapped;
            t = torch::from_blob(
                const_cast<unsigned char *>(ptr), e.shape, [keep](void *) {},
                torch::TensorOptions().dtype(dt->type));
        } else {
            t = torch::empty(e.shape, torch::TensorOptions().dtype(dt->type));
            std::memcpy(t.data_ptr(), ptr, e.end - e.begin);
        }
        sd.tensors[e.name] = t;
    }
    return sd;
}

void save(const std::filesystem::path &path, const std::map<std::string, torch::Tensor> &tensors,
          const std::map<std::string, std::string> &metadata)
{
    nlohmann::json header = nlohmann::json::object();
    if (!metadata.empty())
        header["__metadata__"] = metadata;
    std::vector<torch::Tensor> contiguous;
    uint64_t offset = 0;
    for (const auto &[name, tensor] : tensors) {
        torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
        const DTypeInfo &dt = findDType(t.scalar_type());
        const uint64_t bytes = static_cast<uint64_t>(t.numel()) * dt.size;
        header[name]
            = {{"dtype", dt.name}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
        contiguous.push_back(t);
    }
    std::string text = header.dump();
    while ((8 + text.size()) % 8 != 0)
        text.push_back(' ');
    writeFileAtomically(path, [&](std::ostream &out) {
        const uint64_t n = text.size();
        unsigned char len[8];
        for (int i = 0; i < 8; ++i)
            len[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xff);
        out.write(reinterpret_cast<const char *>(len), 8);
        out.write(text.data(), static_cast<std::streamsize>(text.size()));
        for (const auto &t : contiguous)
            out.write(static_cast<const char *>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
    });
}

std::vector<TensorSpec> specs(const Header &header)
{
    std::vector<TensorSpec> out;
    for (const auto &e : header.entries)
        out.push_back({e.name, e.shape});
    return out;
}

} // namespace safetensors
} // namespace ditstudio
