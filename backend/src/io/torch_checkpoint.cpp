#include "io/torch_checkpoint.h"

#include "common/errors.h"
#include "core/platform.h"
#include "io/pickle_reader.h"

#include <caffe2/serialize/inline_container.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <sstream>

// Two containers, one pickle dialect. Ref: torch/serialization.py (_save, _legacy_save, _load,
// _legacy_load) and caffe2/serialize/inline_container.h.
//  - zip (torch.save since 1.6): <archive>/data.pkl, storages in <archive>/data/<key>; persistent ids
//    ('storage', storage_type, key, location, numel).
//  - legacy: pickles of the magic number, the protocol version (1001) and sys_info, then the object,
//    then the sorted list of storage keys, then per key an 8-byte little-endian element count and the
//    raw bytes; persistent ids ('storage', storage_type, root_key, location, numel, view_metadata).

namespace ditstudio {

namespace {

namespace fs = std::filesystem;
using pickle::Kind;
using pickle::StorageData;
using pickle::Unpickler;
using pickle::Value;

// 0x1950a86a20f9469cfc6c, little-endian, as LONG1 stores it.
constexpr unsigned char kLegacyMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
constexpr int64_t kLegacyProtocolVersion = 1001;
constexpr std::size_t kSniffBytes = 4096;

std::string firstLine(const std::string &text)
{
    const auto nl = text.find('\n');
    return nl == std::string::npos ? text : text.substr(0, nl);
}

std::string c10Message(const c10::Error &e)
{
    return firstLine(e.what_without_backtrace());
}

// Storages by key, shared by every tensor and view on them.
struct StorageTable {
    std::map<std::string, std::shared_ptr<StorageData>> storages;
    std::function<torch::Tensor(const StorageData &)> loader;
};

// ('storage', storage_type, key, location, numel[, view_metadata]) -> a Storage value; unsupported
// storage types and other persistent objects become opaque Objects (errors only if a tensor needs them).
Value *persistentStorage(Unpickler &u, const Value &pid, StorageTable &table)
{
    if (pid.kind != Kind::Tuple || pid.items.empty())
        u.error(std::string("a persistent id that is ") + pickle::kindWithArticle(pid.kind)
                + ", not a tuple");
    const Value *tag = pid.items[0];
    if (!tag->isString())
        u.error("a persistent id without a type name");
    if (tag->text != "storage") {
        Value *o = u.makeObject("", tag->text, "unsupported persistent object '" + tag->text + "'");
        o->tensorLike = true;
        return o;
    }
    if (pid.items.size() != 5 && pid.items.size() != 6)
        u.error("a storage persistent id with " + std::to_string(pid.items.size()) + " fields");
    const Value *type = pid.items[1];
    const Value *keyValue = pid.items[2];
    const Value *location = pid.items[3];
    const Value *numelValue = pid.items[4];
    if (type->kind != Kind::Global)
        u.error("a storage type that is " + pickle::kindWithArticle(type->kind));
    if (!location->isString())
        u.error("a storage location that is not a string");
    std::string key;
    if (keyValue->isString())
        key = keyValue->text;
    else if (keyValue->kind == Kind::Int)
        key = std::to_string(keyValue->integer);
    else
        u.error("a storage key that is " + pickle::kindWithArticle(keyValue->kind));
    if (numelValue->kind != Kind::Int || numelValue->integer < 0)
        u.error("storage '" + key + "' has an invalid element count");
    if (type->builtin != pickle::Builtin::StorageType) {
        Value *o = u.makeObject(type->text, type->name,
                                "unsupported storage type '" + type->qualifiedName() + "'");
        o->tensorLike = true;
        return o;
    }
    const int64_t numel = numelValue->integer;
    const auto itemSize = static_cast<int64_t>(c10::elementSize(type->dtype));
    if (numel > std::numeric_limits<int64_t>::max() / itemSize)
        u.error("storage '" + key + "' is too large (" + std::to_string(numel) + " elements)");

    auto &slot = table.storages[key];
    if (!slot) {
        slot = std::make_shared<StorageData>();
        slot->key = key;
        slot->dtype = type->dtype;
        slot->numel = numel;
        slot->loader = table.loader;
    } else if (slot->dtype != type->dtype || slot->numel != numel) {
        u.error("storage '" + key + "' is used with two different types or sizes");
    }

    const Value *view = pid.items.size() == 6 ? pid.items[5] : nullptr;
    if (!view || view->kind == Kind::None)
        return u.makeStorage(slot, 0, numel);
    // Legacy storage views: (view_key, offset, size) in elements of the root storage.
    if (view->kind != Kind::Tuple || view->items.size() != 3 || view->items[1]->kind != Kind::Int
        || view->items[2]->kind != Kind::Int)
        u.error("storage '" + key + "' has malformed view metadata");
    return u.makeStorage(slot, view->items[1]->integer, view->items[2]->integer);
}

std::string scalarText(const Value &v)
{
    switch (v.kind) {
    case Kind::Bool:
        return v.boolean ? "true" : "false";
    case Kind::Int:
        return std::to_string(v.integer);
    case Kind::Float: {
        std::ostringstream s;
        s.precision(17);
        s << v.real;
        return s.str();
    }
    case Kind::String:
        return v.text;
    default:
        return {};
    }
}

bool isScalar(const Value &v)
{
    return v.kind == Kind::Bool || v.kind == Kind::Int || v.kind == Kind::Float || v.kind == Kind::String;
}

// Scalars of a dict (or an object's BUILD state, e.g. argparse.Namespace) as metadata entries.
void collectScalars(const Value *v, const std::string &prefix, std::map<std::string, std::string> &out)
{
    if (v && v->kind == Kind::Object)
        v = v->state;
    if (!v || v->kind != Kind::Dict)
        return;
    for (const auto &[k, item] : v->dict->entries)
        if (k->isString() && isScalar(*item))
            out[prefix + k->text] = scalarText(*item);
}

// Interpret the unpickled object: a state_dict, or a training checkpoint holding one.
StateDict toStateDict(const Value &root, const std::string &source, const std::string &container)
{
    const Value *dict = &root;
    std::string entry;
    if (root.kind == Kind::Dict) {
        // Official DiT train.py writes {"model", "ema", "opt", "args"}: the EMA weights are the ones
        // to sample with. Others use "model" or "state_dict".
        for (const char *name : {"ema", "model", "state_dict"}) {
            const Value *v = root.get(name);
            if (v && (v->kind == Kind::Dict || v->kind == Kind::Object)) {
                dict = v;
                entry = name;
                break;
            }
        }
    }
    const std::string where = entry.empty() ? source : source + ": '" + entry + "'";
    if (dict->kind == Kind::Object)
        fail(ErrorCode::Unsupported,
             where + ": " + dict->reason + " (only tensor state_dicts can be loaded)");
    if (dict->kind != Kind::Dict)
        fail(ErrorCode::FormatError,
             where + ": the checkpoint holds " + pickle::kindWithArticle(dict->kind)
                 + ", not a state_dict of tensors");

    StateDict out;
    out.source = source;
    out.container = entry.empty() ? container : "training-checkpoint";
    if (!entry.empty()) {
        out.metadata["checkpoint.entry"] = entry;
        for (const auto &[k, item] : root.dict->entries)
            if (k->isString() && isScalar(*item))
                out.metadata["checkpoint." + k->text] = scalarText(*item);
        collectScalars(root.get("args"), "args.", out.metadata);
    }
    std::vector<std::string> skipped; // "'key': reason"
    for (const auto &[k, v] : dict->dict->entries) {
        if (!k->isString())
            continue; // not a parameter name (e.g. an optimizer's integer-keyed state)
        std::string name = k->text;
        if (name.rfind("module.", 0) == 0)
            name.erase(0, 7); // DistributedDataParallel's wrapper
        if (v->kind == Kind::Object && !v->tensorLike) {
            // Not a tensor this reader failed to build, just an object it will not construct (a
            // config class, a numpy scalar): skip it rather than refuse the whole checkpoint.
            skipped.push_back("'" + k->text + "': " + v->reason);
        } else if (v->kind == Kind::Tensor || v->kind == Kind::Object) {
            torch::Tensor t = pickle::materialize(*v, where + ": '" + k->text + "'");
            if (!out.tensors.emplace(name, std::move(t)).second)
                fail(ErrorCode::FormatError,
                     where + ": two tensors named '" + name + "' (after removing 'module.')");
        } else if (isScalar(*v)) {
            out.metadata[name] = scalarText(*v);
        }
        // Other values (nested containers, None) are not weights: skipped.
    }
    if (out.tensors.empty())
        fail(ErrorCode::FormatError,
             where + ": no tensors found (not a state_dict)"
                 + (skipped.empty() ? std::string()
                                    : "; " + skipped.front() + " (only tensor state_dicts can be loaded)"));
    if (!skipped.empty())
        spdlog::warn("{}: skipped {} entries that are not tensors, e.g. {}", where, skipped.size(),
                     skipped.front());
    return out;
}

// ---- zip ----------------------------------------------------------------------------------------

void swapBytes(torch::Tensor &t)
{
    // Complex numbers swap each component separately.
    const auto unit = static_cast<std::size_t>(t.element_size()) / (t.is_complex() ? 2 : 1);
    if (unit <= 1)
        return;
    auto *p = static_cast<unsigned char *>(t.data_ptr());
    const std::size_t n = static_cast<std::size_t>(t.numel()) * t.element_size() / unit;
    for (std::size_t i = 0; i < n; ++i)
        std::reverse(p + i * unit, p + (i + 1) * unit);
}

StateDict loadZip(const fs::path &path, const std::string &source)
{
    using caffe2::serialize::PyTorchStreamReader;
    std::shared_ptr<PyTorchStreamReader> reader;
    try {
        reader = std::make_shared<PyTorchStreamReader>(path.string());
    } catch (const c10::Error &e) {
        fail(ErrorCode::FormatError,
             source + ": unreadable zip archive (truncated or corrupt?): " + c10Message(e));
    }
    auto readRecord = [&](const std::string &name) {
        try {
            return reader->getRecord(name);
        } catch (const c10::Error &e) {
            fail(ErrorCode::FormatError, source + ": cannot read '" + name + "': " + c10Message(e));
        }
    };
    if (reader->hasRecord("constants.pkl") || reader->hasRecord("code/__torch__.py"))
        fail(ErrorCode::Unsupported,
             source
                 + ": a TorchScript archive (torch.jit.save), not a torch.save "
                   "checkpoint: save the model's state_dict instead");
    if (!reader->hasRecord("data.pkl"))
        fail(ErrorCode::FormatError,
             source + ": a zip archive without data.pkl (not a torch.save checkpoint)");

    bool bigEndian = false;
    if (reader->hasRecord("byteorder")) { // written by torch >= 2.1
        auto [ptr, size] = readRecord("byteorder");
        const std::string order(static_cast<const char *>(ptr.get()), std::min<std::size_t>(size, 16));
        if (order == "big")
            bigEndian = true;
        else if (order != "little")
            fail(ErrorCode::FormatError, source + ": unknown byte order '" + order + "'");
    }

    StorageTable table;
    table.loader = [reader, source, bigEndian](const StorageData &s) -> torch::Tensor {
        const std::string record = "data/" + s.key;
        const auto itemSize = static_cast<uint64_t>(c10::elementSize(s.dtype));
        const uint64_t expected = static_cast<uint64_t>(s.numel) * itemSize;
        std::tuple<at::DataPtr, std::size_t> got;
        try {
            if (!reader->hasRecord(record))
                fail(ErrorCode::FormatError, source + ": missing storage '" + record + "'");
            got = reader->getRecord(record);
        } catch (const c10::Error &e) {
            fail(ErrorCode::FormatError, source + ": cannot read storage '" + record + "': " + c10Message(e));
        } catch (const std::bad_alloc &) {
            fail(ErrorCode::IoError, source + ": out of memory reading storage '" + record + "'");
        }
        const std::size_t size = std::get<1>(got);
        if (size < expected)
            fail(ErrorCode::FormatError,
                 source + ": truncated storage '" + record + "': expected " + std::to_string(expected)
                     + " bytes, found " + std::to_string(size));
        if (s.numel == 0)
            return torch::empty({0}, torch::TensorOptions().dtype(s.dtype));
        auto holder = std::make_shared<at::DataPtr>(std::move(std::get<0>(got)));
        void *data = holder->get();
        torch::Tensor t = torch::from_blob(
            data, {s.numel}, [holder](void *) mutable { holder.reset(); },
            torch::TensorOptions().dtype(s.dtype));
        if (bigEndian)
            swapBytes(t);
        return t;
    };

    auto [pkl, pklSize] = readRecord("data.pkl");
    Unpickler u(static_cast<const unsigned char *>(pkl.get()), pklSize, source + " (data.pkl)");
    u.setPersistentLoad(
        [&table](Unpickler &up, const Value &pid) { return persistentStorage(up, pid, table); });
    const Value *root = u.load();
    return toStateDict(*root, source, "pytorch-zip");
}

// ---- legacy -------------------------------------------------------------------------------------

bool isLegacyMagic(const Value &v)
{
    return v.kind == Kind::BigInt && v.text.size() == sizeof kLegacyMagic
        && std::memcmp(v.text.data(), kLegacyMagic, sizeof kLegacyMagic) == 0;
}

bool looksLegacy(const unsigned char *data, std::size_t size, const std::string &source)
{
    try {
        Unpickler u(data, std::min(size, kSniffBytes), source);
        return isLegacyMagic(*u.load());
    } catch (const DitException &) {
        return false;
    }
}

StateDict loadLegacy(const std::shared_ptr<platform::MappedFile> &file, const std::string &source)
{
    const unsigned char *data = file->data();
    const std::size_t size = file->size();
    std::size_t pos = 0;
    auto loadNext = [&](Unpickler &u) {
        const Value *v = u.load();
        pos += u.position();
        return v;
    };
    {
        Unpickler magic(data, size, source);
        loadNext(magic);
    }
    {
        Unpickler version(data + pos, size - pos, source);
        const Value *v = loadNext(version);
        if (v->kind != Kind::Int || v->integer != kLegacyProtocolVersion)
            fail(ErrorCode::Unsupported,
                 source + ": unsupported legacy checkpoint version "
                     + (v->kind == Kind::Int ? std::to_string(v->integer) : std::string("?")));
    }
    {
        Unpickler sysInfo(data + pos, size - pos, source);
        const Value *info = loadNext(sysInfo);
        const Value *little = info->get("little_endian");
        if (little && little->kind == Kind::Bool && !little->boolean)
            fail(ErrorCode::Unsupported, source + ": a big-endian legacy checkpoint is not supported");
    }

    // Where each storage's bytes are, filled in once the key list has been read.
    auto offsets = std::make_shared<std::map<std::string, std::size_t>>();
    StorageTable table;
    table.loader = [file, offsets, source](const StorageData &s) -> torch::Tensor {
        auto it = offsets->find(s.key);
        if (it == offsets->end())
            fail(ErrorCode::FormatError, source + ": storage '" + s.key + "' has no data in the file");
        torch::Tensor t = torch::empty({s.numel}, torch::TensorOptions().dtype(s.dtype));
        std::memcpy(t.data_ptr(), file->data() + it->second,
                    static_cast<std::size_t>(s.numel) * t.element_size());
        return t;
    };

    Unpickler main(data + pos, size - pos, source);
    main.setPersistentLoad(
        [&table](Unpickler &up, const Value &pid) { return persistentStorage(up, pid, table); });
    const Value *root = loadNext(main);

    std::vector<std::string> keys;
    {
        Unpickler keyList(data + pos, size - pos, source);
        const Value *list = loadNext(keyList);
        if (list->kind != Kind::List)
            fail(ErrorCode::FormatError,
                 source + ": the storage key list is " + pickle::kindWithArticle(list->kind));
        for (const Value *k : list->items) {
            if (k->isString())
                keys.push_back(k->text);
            else if (k->kind == Kind::Int)
                keys.push_back(std::to_string(k->integer));
            else
                fail(ErrorCode::FormatError,
                     source + ": a storage key that is " + pickle::kindWithArticle(k->kind));
        }
    }
    for (const auto &key : keys) {
        auto it = table.storages.find(key);
        if (it == table.storages.end())
            fail(ErrorCode::FormatError, source + ": storage '" + key + "' is listed but never used");
        const StorageData &s = *it->second;
        if (size - pos < 8)
            fail(ErrorCode::FormatError,
                 source + ": truncated storage '" + key + "': the file ends before its size");
        uint64_t count = 0;
        for (int i = 7; i >= 0; --i)
            count = (count << 8) | data[pos + i];
        pos += 8;
        if (count != static_cast<uint64_t>(s.numel))
            fail(ErrorCode::FormatError,
                 source + ": storage '" + key + "' holds " + std::to_string(count)
                     + " elements but the pickle declares " + std::to_string(s.numel));
        const uint64_t bytes = static_cast<uint64_t>(s.numel) * c10::elementSize(s.dtype);
        if (bytes > size - pos)
            fail(ErrorCode::FormatError,
                 source + ": truncated storage '" + key + "': expected " + std::to_string(bytes)
                     + " bytes, found " + std::to_string(size - pos));
        (*offsets)[key] = pos;
        pos += static_cast<std::size_t>(bytes);
    }
    return toStateDict(*root, source, "pytorch-legacy");
}

} // namespace

StateDict loadTorchCheckpoint(const std::filesystem::path &path)
{
    const std::string source = path.string();
    std::error_code ec;
    if (!fs::exists(path, ec))
        fail(ErrorCode::NotFound, source + ": no such file");
    if (fs::is_directory(path, ec))
        fail(ErrorCode::IoError, source + ": is a directory, expected a checkpoint file");
    try {
        auto file = std::make_shared<platform::MappedFile>(path);
        const unsigned char *data = file->data();
        const std::size_t size = file->size();
        if (size == 0)
            fail(ErrorCode::FormatError, source + ": empty file (not a PyTorch checkpoint)");
        if (size >= 4 && std::memcmp(data, "PK\x03\x04", 4) == 0) {
            file.reset();
            return loadZip(path, source);
        }
        if (looksLegacy(data, size, source))
            return loadLegacy(file, source);
        if (size > 262 && std::memcmp(data + 257, "ustar", 5) == 0)
            fail(ErrorCode::Unsupported,
                 source
                     + ": a tar-format checkpoint (PyTorch before 0.4) is not supported; "
                       "re-save it with a newer PyTorch");
        fail(ErrorCode::FormatError,
             source + ": not a PyTorch checkpoint (neither a zip archive nor the legacy format)");
    } catch (const DitException &) {
        throw;
    } catch (const c10::Error &e) {
        fail(ErrorCode::FormatError, source + ": " + c10Message(e));
    } catch (const std::bad_alloc &) {
        fail(ErrorCode::IoError, source + ": out of memory");
    }
}

} // namespace ditstudio
