#include "io/pickle_reader.h"

#include "common/errors.h"

#include <torch/torch.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>

namespace ditstudio::pickle {

namespace {

// Opcodes, as CPython's Lib/pickle.py names them.
// clang-format off
enum Op : uint8_t {
    kMark = '(', kStop = '.', kPop = '0', kPopMark = '1', kDup = '2', kFloat = 'F', kInt = 'I',
    kBinInt = 'J', kBinInt1 = 'K', kLong = 'L', kBinInt2 = 'M', kNone = 'N', kPersId = 'P',
    kBinPersId = 'Q', kReduce = 'R', kString = 'S', kBinString = 'T', kShortBinString = 'U',
    kUnicode = 'V', kBinUnicode = 'X', kAppend = 'a', kBuild = 'b', kGlobal = 'c', kDict = 'd',
    kEmptyDict = '}', kAppends = 'e', kGet = 'g', kBinGet = 'h', kInst = 'i', kLongBinGet = 'j',
    kList = 'l', kEmptyList = ']', kObj = 'o', kPut = 'p', kBinPut = 'q', kLongBinPut = 'r',
    kSetItem = 's', kTuple = 't', kEmptyTuple = ')', kSetItems = 'u', kBinFloat = 'G',
    // Protocol 2
    kProto = 0x80, kNewObj = 0x81, kExt1 = 0x82, kExt2 = 0x83, kExt4 = 0x84, kTuple1 = 0x85,
    kTuple2 = 0x86, kTuple3 = 0x87, kNewTrue = 0x88, kNewFalse = 0x89, kLong1 = 0x8a, kLong4 = 0x8b,
    // Protocol 3
    kBinBytes = 'B', kShortBinBytes = 'C',
    // Protocol 4
    kShortBinUnicode = 0x8c, kBinUnicode8 = 0x8d, kBinBytes8 = 0x8e, kEmptySet = 0x8f,
    kAddItems = 0x90, kFrozenSet = 0x91, kNewObjEx = 0x92, kStackGlobal = 0x93, kMemoize = 0x94,
    kFrame = 0x95,
    // Protocol 5
    kByteArray8 = 0x96, kNextBuffer = 0x97, kReadOnlyBuffer = 0x98,
};
// clang-format on

constexpr int kHighestProtocol = 5;
constexpr std::size_t kMaxDecimalDigits = 4300; // CPython's default int/str conversion limit

struct StorageTypeName {
    const char *name;
    torch::ScalarType dtype;
};

// clang-format off
constexpr StorageTypeName kStorageTypes[] = {
    {"FloatStorage", torch::kFloat},   {"HalfStorage", torch::kHalf},
    {"BFloat16Storage", torch::kBFloat16}, {"DoubleStorage", torch::kDouble},
    {"LongStorage", torch::kLong},     {"IntStorage", torch::kInt},
    {"ShortStorage", torch::kShort},   {"CharStorage", torch::kChar},
    {"ByteStorage", torch::kByte},     {"BoolStorage", torch::kBool},
    {"ComplexFloatStorage", torch::kComplexFloat}, {"ComplexDoubleStorage", torch::kComplexDouble},
};
// clang-format on

std::string hexByte(uint8_t b)
{
    static const char *digits = "0123456789abcdef";
    return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

void appendUtf8(std::string &out, uint32_t cp)
{
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xc0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xe0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        out += static_cast<char>(0xf0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    }
}

// UTF-8 as Python's pickle decodes it ('surrogatepass': encoded surrogates are allowed).
bool isValidUtf8(const std::string &s)
{
    const auto *p = reinterpret_cast<const unsigned char *>(s.data());
    const std::size_t n = s.size();
    std::size_t i = 0;
    while (i < n) {
        const unsigned char c = p[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        int len = 0;
        uint32_t cp = 0;
        if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > n)
            return false;
        for (int k = 1; k < len; ++k) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        const uint32_t minimum = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
        if (cp < minimum || cp > 0x10ffff)
            return false;
        i += len;
    }
    return true;
}

// Python 2 byte strings: torch.load decodes them as UTF-8; fall back to Latin-1 where that fails.
std::string bytesToText(const std::string &bytes)
{
    if (isValidUtf8(bytes))
        return bytes;
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes)
        appendUtf8(out, c);
    return out;
}

int hexValue(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool checkedMul(int64_t a, int64_t b, int64_t &out)
{
    return !__builtin_mul_overflow(a, b, &out);
}

bool checkedAdd(int64_t a, int64_t b, int64_t &out)
{
    return !__builtin_add_overflow(a, b, &out);
}

} // namespace

const char *kindName(Kind kind)
{
    switch (kind) {
    case Kind::None:
        return "None";
    case Kind::Bool:
        return "bool";
    case Kind::Int:
        return "int";
    case Kind::BigInt:
        return "int";
    case Kind::Float:
        return "float";
    case Kind::String:
        return "str";
    case Kind::Bytes:
        return "bytes";
    case Kind::List:
        return "list";
    case Kind::Tuple:
        return "tuple";
    case Kind::Dict:
        return "dict";
    case Kind::Tensor:
        return "tensor";
    case Kind::Storage:
        return "storage";
    case Kind::Global:
        return "class or function";
    case Kind::Object:
        return "object";
    }
    return "value";
}

std::string kindWithArticle(Kind kind)
{
    if (kind == Kind::None)
        return "None";
    const std::string name = kindName(kind);
    return (std::string("aeiou").find(name[0]) != std::string::npos ? "an " : "a ") + name;
}

const torch::Tensor &StorageData::data()
{
    if (!cached.defined()) {
        if (!loader)
            fail(ErrorCode::FormatError, "storage '" + key + "' has no data");
        torch::Tensor t = loader(*this);
        if (!t.defined() || t.dim() != 1 || t.numel() != numel || t.scalar_type() != dtype)
            fail(ErrorCode::Internal, "storage '" + key + "': the loader returned the wrong shape or dtype");
        cached = std::move(t);
    }
    return cached;
}

Value *Value::get(const std::string &key) const
{
    if (kind != Kind::Dict || !dict)
        return nullptr;
    auto it = dict->index.find("s" + key);
    return it == dict->index.end() ? nullptr : dict->entries[it->second].second;
}

Unpickler::Unpickler(const unsigned char *data, std::size_t size, std::string source, Limits limits)
    : m_data(data), m_size(data ? size : 0), m_source(std::move(source)), m_limits(limits)
{
}

void Unpickler::error(const std::string &message) const
{
    fail(ErrorCode::FormatError,
         m_source + ": " + message + " (pickle byte " + std::to_string(m_opStart) + ")");
}

// ---- reading ------------------------------------------------------------------------------------

void Unpickler::need(std::size_t n) const
{
    if (n > m_size - m_pos)
        error("truncated pickle: " + std::to_string(n) + " bytes needed, " + std::to_string(m_size - m_pos)
              + " left");
}

uint8_t Unpickler::readByte()
{
    need(1);
    return m_data[m_pos++];
}

uint64_t Unpickler::readUInt(int bytes)
{
    need(static_cast<std::size_t>(bytes));
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i)
        v = (v << 8) | m_data[m_pos + i];
    m_pos += bytes;
    return v;
}

std::string Unpickler::readBytes(uint64_t n)
{
    if (n > m_size - m_pos)
        error("truncated pickle: a " + std::to_string(n) + "-byte string with "
              + std::to_string(m_size - m_pos) + " bytes left");
    std::string s(reinterpret_cast<const char *>(m_data + m_pos), static_cast<std::size_t>(n));
    m_pos += static_cast<std::size_t>(n);
    return s;
}

std::string Unpickler::readLine()
{
    const void *nl = std::memchr(m_data + m_pos, '\n', m_size - m_pos);
    if (!nl)
        error("truncated pickle: a text argument without its newline");
    const auto end = static_cast<std::size_t>(static_cast<const unsigned char *>(nl) - m_data);
    std::string s(reinterpret_cast<const char *>(m_data + m_pos), end - m_pos);
    m_pos = end + 1;
    if (!s.empty() && s.back() == '\r')
        s.pop_back();
    return s;
}

// ---- stack and memo -----------------------------------------------------------------------------

void Unpickler::push(Value *v)
{
    if (m_stack.size() >= m_limits.maxStack)
        error("pickle stack deeper than " + std::to_string(m_limits.maxStack));
    m_stack.push_back(v);
}

Value *Unpickler::pop()
{
    const std::size_t base = m_marks.empty() ? 0 : m_marks.back();
    if (m_stack.size() <= base)
        error("pickle stack underflow");
    Value *v = m_stack.back();
    m_stack.pop_back();
    return v;
}

Value *Unpickler::top() const
{
    const std::size_t base = m_marks.empty() ? 0 : m_marks.back();
    if (m_stack.size() <= base)
        error("pickle stack underflow");
    return m_stack.back();
}

std::vector<Value *> Unpickler::popMark()
{
    if (m_marks.empty())
        error("MARK expected on the pickle stack");
    const std::size_t base = m_marks.back();
    m_marks.pop_back();
    std::vector<Value *> items(m_stack.begin() + static_cast<std::ptrdiff_t>(base), m_stack.end());
    m_stack.resize(base);
    return items;
}

void Unpickler::memoPut(uint64_t index, Value *v)
{
    auto it = m_memo.find(index);
    if (it != m_memo.end()) {
        it->second = v;
        return;
    }
    if (m_memo.size() >= m_limits.maxMemo)
        error("pickle memo larger than " + std::to_string(m_limits.maxMemo));
    m_memo.emplace(index, v);
}

Value *Unpickler::memoGet(uint64_t index) const
{
    auto it = m_memo.find(index);
    if (it == m_memo.end())
        error("memo entry " + std::to_string(index) + " was never stored");
    return it->second;
}

// ---- values -------------------------------------------------------------------------------------

Value *Unpickler::make(Kind kind)
{
    if (m_arena.size() >= m_limits.maxValues)
        error("more than " + std::to_string(m_limits.maxValues) + " pickled values");
    Value &v = m_arena.emplace_back();
    v.kind = kind;
    if (kind == Kind::Dict)
        v.dict = std::make_unique<DictData>();
    return &v;
}

Value *Unpickler::makeString(std::string text)
{
    Value *v = make(Kind::String);
    v->text = std::move(text);
    return v;
}

Value *Unpickler::makeObject(std::string module, std::string name, std::string reason)
{
    Value *v = make(Kind::Object);
    v->text = std::move(module);
    v->name = std::move(name);
    v->reason = std::move(reason);
    return v;
}

Value *Unpickler::makeStorage(std::shared_ptr<StorageData> data, int64_t offset, int64_t numel)
{
    int64_t end = 0;
    if (!data || offset < 0 || numel < 0 || !checkedAdd(offset, numel, end) || end > data->numel)
        error("storage view [" + std::to_string(offset) + ", +" + std::to_string(numel)
              + ") is outside its storage"
              + (data ? " of " + std::to_string(data->numel) + " elements" : std::string()));
    Value *v = make(Kind::Storage);
    v->storage = std::move(data);
    v->storageOffset = offset;
    v->storageNumel = numel;
    return v;
}

Value *Unpickler::makeInt(int64_t i)
{
    Value *v = make(Kind::Int);
    v->integer = i;
    return v;
}

// Little-endian two's complement, as LONG1/LONG4 store it.
Value *Unpickler::makeLong(const std::string &bytes)
{
    const std::size_t n = bytes.size();
    if (n == 0)
        return makeInt(0);
    const auto *b = reinterpret_cast<const unsigned char *>(bytes.data());
    const std::size_t low = std::min<std::size_t>(n, 8);
    uint64_t u = 0;
    for (std::size_t i = low; i-- > 0;)
        u = (u << 8) | b[i];
    const bool negative = (b[n - 1] & 0x80) != 0;
    if (low < 8 && negative)
        u |= ~uint64_t(0) << (8 * low); // sign-extend
    bool fits = true;
    if (n > 8) {
        const unsigned char fill = (u >> 63) ? 0xff : 0x00;
        for (std::size_t i = 8; i < n && fits; ++i)
            fits = b[i] == fill;
    }
    if (fits)
        return makeInt(static_cast<int64_t>(u));
    // Minimal encoding, so equal numbers compare equal however they were written.
    std::size_t len = n;
    while (len > 1
           && ((b[len - 1] == 0x00 && !(b[len - 2] & 0x80)) || (b[len - 1] == 0xff && (b[len - 2] & 0x80))))
        --len;
    Value *v = make(Kind::BigInt);
    v->text = bytes.substr(0, len);
    return v;
}

Value *Unpickler::makeIntFromText(const std::string &text, bool allowBoolCodes)
{
    if (allowBoolCodes && text == "00")
        return make(Kind::Bool);
    if (allowBoolCodes && text == "01") {
        Value *v = make(Kind::Bool);
        v->boolean = true;
        return v;
    }
    std::string digits = text;
    while (!digits.empty() && (digits.back() == ' ' || digits.back() == '\t'))
        digits.pop_back();
    bool negative = false;
    std::size_t start = 0;
    if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
        negative = digits[0] == '-';
        start = 1;
    }
    if (start == digits.size())
        error("invalid integer literal '" + text.substr(0, 40) + "'");
    for (std::size_t i = start; i < digits.size(); ++i)
        if (digits[i] < '0' || digits[i] > '9')
            error("invalid integer literal '" + text.substr(0, 40) + "'");
    int64_t i64 = 0;
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), i64);
    if (ec == std::errc() && ptr == digits.data() + digits.size())
        return makeInt(i64);
    if (digits.size() - start > kMaxDecimalDigits)
        error("integer literal with more than " + std::to_string(kMaxDecimalDigits) + " digits");
    // Beyond int64: convert to little-endian two's complement like LONG1 stores it.
    std::vector<unsigned char> mag; // little-endian magnitude
    for (std::size_t i = start; i < digits.size(); ++i) {
        unsigned carry = static_cast<unsigned>(digits[i] - '0');
        for (auto &byte : mag) {
            const unsigned x = byte * 10u + carry;
            byte = static_cast<unsigned char>(x & 0xff);
            carry = x >> 8;
        }
        while (carry) {
            mag.push_back(static_cast<unsigned char>(carry & 0xff));
            carry >>= 8;
        }
    }
    mag.push_back(0); // room for the sign bit
    if (negative) {
        unsigned carry = 1;
        for (auto &byte : mag) {
            const unsigned x = static_cast<unsigned char>(~byte) + carry;
            byte = static_cast<unsigned char>(x & 0xff);
            carry = x >> 8;
        }
    }
    return makeLong(std::string(mag.begin(), mag.end()));
}

Value *Unpickler::resolveGlobal(const std::string &module, const std::string &name)
{
    Value *g = make(Kind::Global);
    g->text = module;
    g->name = name;
    if (module == "collections" && name == "OrderedDict") {
        g->builtin = Builtin::OrderedDict;
    } else if ((module == "builtins" || module == "__builtin__") && (name == "set" || name == "frozenset")) {
        g->builtin = Builtin::Set;
    } else if (module == "_codecs" && name == "encode") {
        g->builtin = Builtin::CodecsEncode;
    } else if (module == "torch._utils" && name == "_rebuild_tensor") {
        g->builtin = Builtin::RebuildTensor;
    } else if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
        g->builtin = Builtin::RebuildTensorV2;
    } else if (module == "torch._utils"
               && (name == "_rebuild_parameter" || name == "_rebuild_parameter_with_state")) {
        g->builtin = Builtin::RebuildParameter;
    } else if (module == "torch._tensor" && name == "_rebuild_from_type_v2") {
        g->builtin = Builtin::RebuildFromTypeV2;
    } else if ((module == "torch" && name == "Tensor")
               || (module == "torch.nn.parameter" && name == "Parameter")) {
        g->builtin = Builtin::TensorType;
    } else if (module == "torch" || module == "torch.cuda") {
        // torch.cuda.*Storage appear in legacy files saved from the GPU; we always load to the CPU.
        for (const auto &s : kStorageTypes) {
            if (name == s.name) {
                g->builtin = Builtin::StorageType;
                g->dtype = s.dtype;
                break;
            }
        }
    }
    if (g->builtin == Builtin::Opaque && !allowedInertGlobal(module, name))
        error("refused pickle global '" + module + "." + name
              + "': only the globals of tensor checkpoints are allowed (collections.OrderedDict, torch "
                "tensors, "
                "parameters and storages, argparse.Namespace, set/frozenset)");
    return g;
}

bool Unpickler::allowedInertGlobal(const std::string &module, const std::string &name)
{
    // Globals a real checkpoint may hold that we keep as inert objects (never called): the official
    // training script's argparse.Namespace ("args"), storage types we cannot decode (a quantized
    // optimizer tensor that is never needed), torch dtypes, devices and sizes in metadata.
    if (module == "argparse" && name == "Namespace")
        return true;
    if ((module == "torch" || module == "torch.cuda") && name.size() > 7
        && name.compare(name.size() - 7, 7, "Storage") == 0)
        return true;
    static const char *const kTorchNames[]
        = {"Size", "device", "float32", "float64", "float16", "bfloat16", "int64", "int32", "int16",
           "int8", "uint8",  "bool",    "float",   "double",  "half",     "long",  "int",   "dtype"};
    if (module == "torch")
        for (const char *n : kTorchNames)
            if (name == n)
                return true;
    return false;
}

int64_t Unpickler::toInt(const Value *v, const char *what) const
{
    if (v->kind == Kind::Int)
        return v->integer;
    if (v->kind == Kind::Bool)
        return v->boolean ? 1 : 0;
    error(std::string(what) + " must be an int, not " + kindWithArticle(v->kind));
}

std::vector<int64_t> Unpickler::toIntTuple(const Value *v, const char *what) const
{
    if (v->kind != Kind::Tuple && v->kind != Kind::List)
        error(std::string(what) + " must be a tuple of ints, not " + kindWithArticle(v->kind));
    if (v->items.size() > m_limits.maxDims)
        error(std::string(what) + " has " + std::to_string(v->items.size()) + " dimensions (at most "
              + std::to_string(m_limits.maxDims) + ")");
    std::vector<int64_t> out;
    out.reserve(v->items.size());
    for (const Value *item : v->items)
        out.push_back(toInt(item, what));
    return out;
}

// Ref: torch/_utils.py _rebuild_tensor(storage, storage_offset, size, stride) and
// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]).
Value *Unpickler::rebuildTensor(const std::vector<Value *> &args, bool v2)
{
    const char *fn = v2 ? "_rebuild_tensor_v2" : "_rebuild_tensor";
    const bool countOk = v2 ? (args.size() == 6 || args.size() == 7) : args.size() == 4;
    if (!countOk)
        error(std::string(fn) + " called with " + std::to_string(args.size()) + " arguments");
    const Value *storage = args[0];
    if (storage->kind == Kind::Object) {
        Value *o = makeObject(storage->text, storage->name, storage->reason);
        o->tensorLike = true;
        return o;
    }
    if (storage->kind != Kind::Storage)
        error(std::string(fn) + ": the first argument is " + kindWithArticle(storage->kind)
              + ", not a storage");
    const int64_t offset = toInt(args[1], "storage_offset");
    const auto sizes = toIntTuple(args[2], "size");
    const auto strides = toIntTuple(args[3], "stride");
    if (sizes.size() != strides.size())
        error(std::string(fn) + ": " + std::to_string(sizes.size()) + " sizes but "
              + std::to_string(strides.size()) + " strides");
    if (offset < 0)
        error(std::string(fn) + ": negative storage offset " + std::to_string(offset));
    int64_t numel = 1;
    int64_t last = offset; // highest element index touched
    for (std::size_t d = 0; d < sizes.size(); ++d) {
        if (sizes[d] < 0 || strides[d] < 0)
            error(std::string(fn) + ": negative size or stride in dimension " + std::to_string(d));
        if (!checkedMul(numel, sizes[d], numel))
            error(std::string(fn) + ": element count overflows");
    }
    const int64_t storageNumel = storage->storageNumel;
    if (numel > 0) {
        for (std::size_t d = 0; d < sizes.size(); ++d) {
            int64_t reach = 0;
            if (!checkedMul(sizes[d] - 1, strides[d], reach) || !checkedAdd(last, reach, last))
                error(std::string(fn) + ": stride overflows");
        }
        if (last >= storageNumel)
            error(std::string(fn) + ": the tensor reaches element " + std::to_string(last)
                  + " of a storage of " + std::to_string(storageNumel) + " elements");
        // Overlapping views (stride 0) may describe more elements than the storage holds; cap what a
        // contiguous copy of one could cost.
        if (numel > storageNumel && numel > (int64_t(1) << 28))
            error(std::string(fn) + ": an overlapping view of " + std::to_string(numel)
                  + " elements on a storage of " + std::to_string(storageNumel));
    } else if (offset > storageNumel) {
        error(std::string(fn) + ": storage offset " + std::to_string(offset) + " beyond a storage of "
              + std::to_string(storageNumel) + " elements");
    }
    int64_t absolute = 0;
    if (!checkedAdd(storage->storageOffset, offset, absolute))
        error(std::string(fn) + ": storage offset overflows");
    Value *t = make(Kind::Tensor);
    t->tensor = std::make_unique<TensorInfo>();
    t->tensor->storage = storage->storage;
    t->tensor->storageOffset = absolute;
    t->tensor->sizes = sizes;
    t->tensor->strides = strides;
    if (v2)
        t->tensor->requiresGrad = args[4]->kind == Kind::Bool ? args[4]->boolean : false;
    return t;
}

// The only "calls" a pickle can make: whitelisted builtins run our own code; anything else becomes an
// opaque Object (nothing is imported or executed).
Value *Unpickler::call(Value *callable, const std::vector<Value *> &args, int depth)
{
    if (callable->kind == Kind::Object)
        return makeObject(callable->text, callable->name, callable->reason);
    if (callable->kind != Kind::Global)
        return makeObject("", "", std::string("a call of ") + kindWithArticle(callable->kind));
    const std::string qualified = callable->qualifiedName();
    switch (callable->builtin) {
    case Builtin::Opaque:
        return makeObject(callable->text, callable->name, "unsupported pickle global '" + qualified + "'");
    case Builtin::OrderedDict: {
        Value *d = make(Kind::Dict);
        if (args.empty())
            return d;
        if (args.size() != 1)
            error("OrderedDict called with " + std::to_string(args.size()) + " arguments");
        const Value *src = args[0];
        if (src->kind == Kind::Dict) {
            for (const auto &[k, v] : src->dict->entries)
                setItem(d, k, v);
        } else if (src->kind == Kind::List || src->kind == Kind::Tuple) {
            for (const Value *pair : src->items) {
                if ((pair->kind != Kind::Tuple && pair->kind != Kind::List) || pair->items.size() != 2)
                    error("OrderedDict called with an item that is not a (key, value) pair");
                setItem(d, pair->items[0], pair->items[1]);
            }
        } else {
            error(std::string("OrderedDict called with ") + kindWithArticle(src->kind));
        }
        return d;
    }
    case Builtin::Set: {
        Value *s = make(Kind::List);
        if (args.size() == 1 && (args[0]->kind == Kind::List || args[0]->kind == Kind::Tuple)) {
            // Copying is budgeted: set(big_list) repeated through the memo must not grow memory
            // quadratically in the file size.
            chargeContainerWork(args[0]->items.size());
            s->items = args[0]->items;
        } else if (!args.empty())
            error(qualified + " called with unsupported arguments");
        return s;
    }
    case Builtin::CodecsEncode: {
        // Protocols 0-2 pickle bytes as _codecs.encode(<str of the byte values>, 'latin1'); decode
        // that one form (no other codec, nothing executed).
        if (args.size() != 2 || args[0]->kind != Kind::String || args[1]->kind != Kind::String
            || (args[1]->text != "latin1" && args[1]->text != "latin-1"))
            error(qualified + " supports only (str, 'latin1') arguments");
        Value *b = make(Kind::Bytes);
        const std::string &u = args[0]->text; // UTF-8
        for (std::size_t i = 0; i < u.size();) {
            const auto c = static_cast<unsigned char>(u[i]);
            if (c < 0x80) {
                b->text += static_cast<char>(c);
                i += 1;
            } else if ((c & 0xe0) == 0xc0 && i + 1 < u.size() && c <= 0xc3) {
                b->text
                    += static_cast<char>(((c & 0x1f) << 6) | (static_cast<unsigned char>(u[i + 1]) & 0x3f));
                i += 2;
            } else {
                error(qualified + ": a character beyond latin-1 in bytes data");
            }
        }
        return b;
    }
    case Builtin::RebuildTensor:
        return rebuildTensor(args, false);
    case Builtin::RebuildTensorV2:
        return rebuildTensor(args, true);
    case Builtin::RebuildParameter: {
        // Ref: torch/_utils.py _rebuild_parameter(data, requires_grad, backward_hooks[, state]).
        if (args.size() != 3 && args.size() != 4)
            error(qualified + " called with " + std::to_string(args.size()) + " arguments");
        if (args[0]->kind != Kind::Tensor && args[0]->kind != Kind::Object)
            error(qualified + ": the data is " + kindWithArticle(args[0]->kind) + ", not a tensor");
        return args[0];
    }
    case Builtin::RebuildFromTypeV2: {
        // Ref: torch/_tensor.py _rebuild_from_type_v2(func, new_type, args, state).
        if (args.size() != 4)
            error(qualified + " called with " + std::to_string(args.size()) + " arguments");
        if (args[2]->kind != Kind::Tuple)
            error(qualified + ": the arguments are " + kindWithArticle(args[2]->kind) + ", not a tuple");
        if (depth >= m_limits.maxCallDepth)
            error(qualified + " nested too deeply");
        Value *r = call(args[0], args[2]->items, depth + 1);
        const Value *type = args[1];
        if (type->kind == Kind::Global && type->builtin == Builtin::TensorType)
            return r;
        if (r->kind == Kind::Object)
            return r;
        const std::string typeName
            = type->kind == Kind::Global ? type->qualifiedName() : kindName(type->kind);
        Value *o = makeObject(type->text, type->name, "unsupported tensor subclass '" + typeName + "'");
        o->tensorLike = r->kind == Kind::Tensor;
        return o;
    }
    case Builtin::TensorType:
    case Builtin::StorageType:
        return makeObject(callable->text, callable->name, "unsupported call of '" + qualified + "'");
    }
    return makeObject(callable->text, callable->name, "unsupported pickle global '" + qualified + "'");
}

void Unpickler::chargeContainerWork(std::size_t items)
{
    m_containerWork += items;
    if (m_containerWork > m_limits.maxContainerWork + 4 * static_cast<uint64_t>(m_size))
        error("too much container copying (" + std::to_string(m_containerWork) + " items for a pickle of "
              + std::to_string(m_size) + " bytes; hostile pickle?)");
}

// A canonical encoding of a hashable key, so equal Python keys collide. Work is budgeted so a
// hostile pickle cannot make dict insertion quadratic.
std::string Unpickler::keyOf(const Value *key, int depth)
{
    m_keyWork += 16 + key->text.size() + key->name.size();
    if (m_keyWork > m_limits.maxKeyWork + 4 * static_cast<uint64_t>(m_size))
        error("too much dictionary key work (hostile pickle?)");
    switch (key->kind) {
    case Kind::None:
        return "N";
    case Kind::Bool:
        return key->boolean ? "i1" : "i0";
    case Kind::Int:
        return "i" + std::to_string(key->integer);
    case Kind::BigInt:
        return "I" + key->text;
    case Kind::Float: {
        const double d = key->real;
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2e18)
            return "i" + std::to_string(static_cast<int64_t>(d));
        uint64_t bits = 0;
        std::memcpy(&bits, &d, sizeof bits);
        return "f" + std::to_string(bits);
    }
    case Kind::String:
        return "s" + key->text;
    case Kind::Bytes:
        return "b" + key->text;
    case Kind::Global:
        return "g" + key->qualifiedName();
    case Kind::Tuple: {
        if (depth >= 4 || key->items.size() > 64)
            error("dictionary key tuple too large or nested");
        std::string s = "t" + std::to_string(key->items.size()) + "(";
        for (const Value *item : key->items) {
            const std::string k = keyOf(item, depth + 1);
            s += std::to_string(k.size()) + ":" + k;
        }
        return s + ")";
    }
    default:
        error(std::string("unsupported dictionary key of type ") + kindName(key->kind));
    }
}

void Unpickler::setItem(Value *target, Value *key, Value *value)
{
    if (target->kind == Kind::Object)
        return; // an opaque object's own items: irrelevant
    if (target->kind != Kind::Dict)
        error(std::string("SETITEM on ") + kindWithArticle(target->kind));
    auto &d = *target->dict;
    const auto [it, inserted] = d.index.emplace(keyOf(key), d.entries.size());
    if (inserted)
        d.entries.emplace_back(key, value);
    else
        d.entries[it->second].second = value; // Python keeps the first position
}

void Unpickler::append(Value *target, Value *item)
{
    if (target->kind == Kind::Object)
        return;
    if (target->kind != Kind::List)
        error(std::string("APPEND to ") + kindWithArticle(target->kind));
    if (target->items.size() >= m_limits.maxStack)
        error("list longer than " + std::to_string(m_limits.maxStack));
    target->items.push_back(item);
}

void Unpickler::build(Value *target, Value *state)
{
    // Objects keep their state (e.g. an argparse.Namespace's fields, for metadata); OrderedDict's
    // _metadata and Parameter state are irrelevant to the tensors.
    if (target->kind == Kind::Object) {
        Value *s = state;
        if (s->kind == Kind::Tuple && s->items.size() == 2 && s->items[0]->kind == Kind::Dict)
            s = s->items[0]; // (state, slotstate)
        target->state = s;
    }
}

// ---- the machine --------------------------------------------------------------------------------

Value *Unpickler::load()
{
    m_stack.clear();
    m_marks.clear();
    m_memo.clear();
    for (;;) {
        m_opStart = m_pos;
        if (m_pos >= m_size)
            error("truncated pickle (no STOP opcode)");
        const uint8_t op = m_data[m_pos++];
        switch (op) {
        case kProto: {
            const uint8_t proto = readByte();
            if (proto > kHighestProtocol)
                error("unsupported pickle protocol " + std::to_string(proto));
            break;
        }
        case kFrame: {
            const uint64_t n = readUInt(8);
            if (n > m_size - m_pos)
                error("truncated pickle frame");
            break;
        }
        case kStop:
            return pop();
        case kMark:
            if (m_marks.size() >= m_limits.maxMarks)
                error("more than " + std::to_string(m_limits.maxMarks) + " nested MARKs");
            m_marks.push_back(m_stack.size());
            break;
        case kPop: {
            const std::size_t base = m_marks.empty() ? 0 : m_marks.back();
            if (m_stack.size() > base)
                m_stack.pop_back();
            else
                popMark();
            break;
        }
        case kPopMark:
            popMark();
            break;
        case kDup:
            push(top());
            break;

        // Scalars.
        case kNone:
            push(make(Kind::None));
            break;
        case kNewTrue:
        case kNewFalse: {
            Value *v = make(Kind::Bool);
            v->boolean = op == kNewTrue;
            push(v);
            break;
        }
        case kInt:
            push(makeIntFromText(readLine(), true));
            break;
        case kLong: {
            std::string line = readLine();
            if (!line.empty() && line.back() == 'L')
                line.pop_back();
            push(makeIntFromText(line, false));
            break;
        }
        case kBinInt:
            push(makeInt(static_cast<int32_t>(static_cast<uint32_t>(readUInt(4)))));
            break;
        case kBinInt1:
            push(makeInt(readByte()));
            break;
        case kBinInt2:
            push(makeInt(static_cast<int64_t>(readUInt(2))));
            break;
        case kLong1: {
            const uint8_t n = readByte();
            push(makeLong(readBytes(n)));
            break;
        }
        case kLong4: {
            const auto n = static_cast<int32_t>(static_cast<uint32_t>(readUInt(4)));
            if (n < 0)
                error("LONG4 with negative length");
            push(makeLong(readBytes(static_cast<uint64_t>(n))));
            break;
        }
        case kFloat: {
            const std::string line = readLine();
            double d = 0;
            const auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), d);
            if (ec != std::errc() || ptr != line.data() + line.size())
                error("invalid float literal '" + line.substr(0, 40) + "'");
            Value *v = make(Kind::Float);
            v->real = d;
            push(v);
            break;
        }
        case kBinFloat: {
            need(8);
            uint64_t bits = 0;
            for (int i = 0; i < 8; ++i)
                bits = (bits << 8) | m_data[m_pos + i]; // big-endian
            m_pos += 8;
            Value *v = make(Kind::Float);
            std::memcpy(&v->real, &bits, sizeof bits);
            push(v);
            break;
        }

        // Strings and bytes.
        case kBinUnicode:
        case kShortBinUnicode:
        case kBinUnicode8: {
            const uint64_t n = op == kShortBinUnicode ? readByte() : readUInt(op == kBinUnicode ? 4 : 8);
            std::string s = readBytes(n);
            if (!isValidUtf8(s))
                error("invalid UTF-8 in a pickled string");
            push(makeString(std::move(s)));
            break;
        }
        case kUnicode: {
            // raw-unicode-escape: Latin-1 bytes plus \uXXXX and \UXXXXXXXX.
            const std::string line = readLine();
            std::string out;
            for (std::size_t i = 0; i < line.size(); ++i) {
                const auto c = static_cast<unsigned char>(line[i]);
                if (c == '\\' && i + 1 < line.size() && (line[i + 1] == 'u' || line[i + 1] == 'U')) {
                    const std::size_t digits = line[i + 1] == 'u' ? 4 : 8;
                    if (i + 2 + digits > line.size())
                        error("truncated \\u escape in a UNICODE string");
                    uint32_t cp = 0;
                    for (std::size_t k = 0; k < digits; ++k) {
                        const int h = hexValue(line[i + 2 + k]);
                        if (h < 0)
                            error("invalid \\u escape in a UNICODE string");
                        cp = (cp << 4) | static_cast<uint32_t>(h);
                    }
                    if (cp > 0x10ffff)
                        error("code point out of range in a UNICODE string");
                    appendUtf8(out, cp);
                    i += 1 + digits;
                } else {
                    appendUtf8(out, c);
                }
            }
            push(makeString(std::move(out)));
            break;
        }
        case kString: {
            // A Python 2 str repr: quoted, with backslash escapes.
            const std::string line = readLine();
            if (line.size() < 2 || (line[0] != '\'' && line[0] != '"') || line.back() != line[0])
                error("the STRING argument is not quoted");
            std::string out;
            for (std::size_t i = 1; i + 1 < line.size(); ++i) {
                char c = line[i];
                if (c != '\\' || i + 2 >= line.size()) {
                    out += c;
                    continue;
                }
                c = line[++i];
                switch (c) {
                case 'n':
                    out += '\n';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 'a':
                    out += '\a';
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'v':
                    out += '\v';
                    break;
                case '\\':
                    out += '\\';
                    break;
                case '\'':
                    out += '\'';
                    break;
                case '"':
                    out += '"';
                    break;
                case 'x': {
                    const int hi = i + 1 < line.size() ? hexValue(line[i + 1]) : -1;
                    const int lo = i + 2 < line.size() ? hexValue(line[i + 2]) : -1;
                    if (hi < 0 || lo < 0)
                        error("invalid \\x escape in a STRING");
                    out += static_cast<char>(hi * 16 + lo);
                    i += 2;
                    break;
                }
                default:
                    if (c >= '0' && c <= '7') {
                        int v = c - '0';
                        for (int k = 0;
                             k < 2 && i + 1 < line.size() - 1 && line[i + 1] >= '0' && line[i + 1] <= '7';
                             ++k)
                            v = v * 8 + (line[++i] - '0');
                        out += static_cast<char>(v & 0xff);
                    } else {
                        out += '\\';
                        out += c;
                    }
                }
            }
            push(makeString(bytesToText(out)));
            break;
        }
        case kBinString: {
            const auto n = static_cast<int32_t>(static_cast<uint32_t>(readUInt(4)));
            if (n < 0)
                error("BINSTRING with negative length");
            push(makeString(bytesToText(readBytes(static_cast<uint64_t>(n)))));
            break;
        }
        case kShortBinString:
            push(makeString(bytesToText(readBytes(readByte()))));
            break;
        case kBinBytes:
        case kShortBinBytes:
        case kBinBytes8:
        case kByteArray8: {
            const uint64_t n = op == kShortBinBytes ? readByte() : readUInt(op == kBinBytes ? 4 : 8);
            Value *v = make(Kind::Bytes);
            v->text = readBytes(n);
            push(v);
            break;
        }
        case kNextBuffer:
            error("out-of-band pickle buffers are not supported");
        case kReadOnlyBuffer:
            top();
            break;

        // Containers.
        case kEmptyList:
        case kEmptySet:
            push(make(Kind::List));
            break;
        case kEmptyTuple:
            push(make(Kind::Tuple));
            break;
        case kEmptyDict:
            push(make(Kind::Dict));
            break;
        case kList:
        case kFrozenSet: {
            Value *v = make(Kind::List);
            v->items = popMark();
            chargeContainerWork(v->items.size());
            push(v);
            break;
        }
        case kTuple: {
            Value *v = make(Kind::Tuple);
            v->items = popMark();
            push(v);
            break;
        }
        case kTuple1:
        case kTuple2:
        case kTuple3: {
            const int n = op - kTuple1 + 1;
            Value *v = make(Kind::Tuple);
            v->items.resize(n);
            for (int i = n - 1; i >= 0; --i)
                v->items[i] = pop();
            push(v);
            break;
        }
        case kDict: {
            const auto items = popMark();
            if (items.size() % 2)
                error("DICT with an odd number of items");
            Value *d = make(Kind::Dict);
            for (std::size_t i = 0; i < items.size(); i += 2)
                setItem(d, items[i], items[i + 1]);
            push(d);
            break;
        }
        case kAppend: {
            Value *item = pop();
            append(top(), item);
            break;
        }
        case kAppends:
        case kAddItems: {
            const auto items = popMark();
            chargeContainerWork(items.size());
            Value *target = top();
            for (Value *item : items)
                append(target, item);
            break;
        }
        case kSetItem: {
            Value *value = pop();
            Value *key = pop();
            setItem(top(), key, value);
            break;
        }
        case kSetItems: {
            const auto items = popMark();
            if (items.size() % 2)
                error("SETITEMS with an odd number of items");
            Value *target = top();
            for (std::size_t i = 0; i < items.size(); i += 2)
                setItem(target, items[i], items[i + 1]);
            break;
        }

        // Memo.
        case kPut:
        case kGet: {
            const std::string line = readLine();
            uint64_t index = 0;
            const auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), index);
            if (ec != std::errc() || ptr != line.data() + line.size())
                error("invalid memo index '" + line.substr(0, 40) + "'");
            if (op == kPut)
                memoPut(index, top());
            else
                push(memoGet(index));
            break;
        }
        case kBinPut:
            memoPut(readByte(), top());
            break;
        case kLongBinPut:
            memoPut(readUInt(4), top());
            break;
        case kMemoize:
            memoPut(m_memo.size(), top());
            break;
        case kBinGet:
            push(memoGet(readByte()));
            break;
        case kLongBinGet:
            push(memoGet(readUInt(4)));
            break;

        // Globals, calls and objects: resolved against the whitelist, never executed.
        case kGlobal: {
            const std::string module = readLine();
            const std::string name = readLine();
            push(resolveGlobal(module, name));
            break;
        }
        case kStackGlobal: {
            Value *name = pop();
            Value *module = pop();
            if (!name->isString() || !module->isString())
                error("STACK_GLOBAL needs two strings");
            push(resolveGlobal(module->text, name->text));
            break;
        }
        case kExt1:
        case kExt2:
        case kExt4: {
            const uint64_t code = readUInt(op == kExt1 ? 1 : op == kExt2 ? 2 : 4);
            Value *g = make(Kind::Global);
            g->text = "copyreg";
            g->name = "extension" + std::to_string(code);
            push(g);
            break;
        }
        case kReduce: {
            Value *args = pop();
            Value *callable = pop();
            if (args->kind != Kind::Tuple)
                error(std::string("REDUCE arguments are ") + kindWithArticle(args->kind) + ", not a tuple");
            push(call(callable, args->items));
            break;
        }
        case kNewObj:
        case kNewObjEx: {
            if (op == kNewObjEx)
                pop(); // kwargs
            Value *args = pop();
            Value *cls = pop();
            if (args->kind != Kind::Tuple)
                error(std::string("NEWOBJ arguments are ") + kindWithArticle(args->kind) + ", not a tuple");
            if (cls->kind == Kind::Global && cls->builtin == Builtin::OrderedDict)
                push(make(Kind::Dict));
            else if (cls->kind == Kind::Global && cls->builtin == Builtin::Set)
                push(make(Kind::List));
            else if (cls->kind == Kind::Global)
                push(makeObject(cls->text, cls->name,
                                "unsupported pickle global '" + cls->qualifiedName() + "'"));
            else
                push(call(cls, {}));
            break;
        }
        case kInst: {
            const std::string module = readLine();
            const std::string name = readLine();
            const auto args = popMark();
            push(call(resolveGlobal(module, name), args));
            break;
        }
        case kObj: {
            auto items = popMark();
            if (items.empty())
                error("OBJ without a class");
            Value *cls = items.front();
            items.erase(items.begin());
            push(call(cls, items));
            break;
        }
        case kBuild: {
            Value *state = pop();
            build(top(), state);
            break;
        }
        case kPersId:
        case kBinPersId: {
            Value *pid = op == kPersId ? makeString(bytesToText(readLine())) : pop();
            if (!m_persistentLoad)
                error("a persistent id, but no storage loader");
            Value *v = m_persistentLoad(*this, *pid);
            if (!v)
                error("the persistent id names nothing");
            push(v);
            break;
        }
        default:
            error("unknown pickle opcode " + hexByte(op));
        }
    }
}

// ---- tensors ------------------------------------------------------------------------------------

torch::Tensor materialize(const Value &value, const std::string &context)
{
    if (value.kind == Kind::Object)
        fail(ErrorCode::Unsupported,
             context + ": " + value.reason + " (only tensor state_dicts can be loaded)");
    if (value.kind != Kind::Tensor || !value.tensor)
        fail(ErrorCode::FormatError, context + ": " + kindWithArticle(value.kind) + ", not a tensor");
    const TensorInfo &info = *value.tensor;
    try {
        const torch::Tensor &base = info.storage->data(); // [numel]
        const torch::Tensor view = base.as_strided(info.sizes, info.strides, info.storageOffset);
        // A tensor that is its whole storage keeps it; anything else gets its own compact memory,
        // so one small view cannot pin a large shared storage.
        if (info.storageOffset == 0 && view.numel() == base.numel() && view.is_contiguous())
            return view;
        return view.clone(at::MemoryFormat::Contiguous);
    } catch (const DitException &) {
        throw; // storage loaders name the file and the storage themselves
    } catch (const c10::Error &e) {
        fail(ErrorCode::FormatError, context + ": " + e.what_without_backtrace());
    } catch (const std::bad_alloc &) {
        fail(ErrorCode::IoError, context + ": out of memory");
    }
}

} // namespace ditstudio::pickle
