#pragma once
// A restricted, non-executing unpickler for PyTorch checkpoints.
//
// It runs the pickle virtual machine (protocols 0-5) but never imports or calls anything: GLOBAL and
// STACK_GLOBAL resolve against a short whitelist (collections.OrderedDict, torch's tensor rebuild
// functions, torch's typed storage classes, set/frozenset), and those "calls" are our own C++ code.
// Any other global becomes an opaque Global value; calling or constructing it yields an opaque Object
// that remembers why it is unsupported. Opaque values are errors only where a caller needs a tensor,
// so a training checkpoint's argparse.Namespace can simply be skipped.
//
// Tensors are lazy: the pickle only describes them (storage, offset, sizes, strides); the bytes are
// read when materialize() is called, so unused entries (optimizer state) cost no memory.
//
// Hostile input: every read is bounds-checked; the stack, mark stack, memo and value count are
// capped; sizes, strides and element counts are checked for negatives and overflow; strides that
// reach outside their storage are rejected. Errors are DitException(FormatError) naming the source.
// Ref: CPython Lib/pickle.py and Lib/pickletools.py (opcodes); torch/_utils.py, torch/serialization.py.

#include <torch/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ditstudio::pickle {

enum class Kind {
    None,
    Bool,
    Int, ///< fits in int64
    BigInt, ///< an integer beyond int64; `text` holds its minimal little-endian two's-complement bytes
    Float,
    String, ///< UTF-8 text (also Python 2 byte strings, as torch.load decodes them)
    Bytes,
    List, ///< also sets and frozensets
    Tuple,
    Dict, ///< insertion-ordered (dict and collections.OrderedDict)
    Tensor, ///< a lazy tensor (see TensorInfo)
    Storage, ///< a typed storage (or a legacy view of one)
    Global, ///< a class or function reference, whitelisted or opaque
    Object, ///< an instance of an unsupported class, or the result of an unsupported call
};

const char *kindName(Kind kind);
/// "a list", "an int", "None", ... for messages.
std::string kindWithArticle(Kind kind);

/// What a whitelisted global does when the pickle calls it.
enum class Builtin {
    Opaque, ///< allowlisted inert global (argparse.Namespace, ...): calling it yields an Object
    OrderedDict, ///< collections.OrderedDict
    Set, ///< builtins.set / frozenset (become lists)
    CodecsEncode, ///< _codecs.encode(text, 'latin1'): how protocols 0-2 write bytes
    RebuildTensor, ///< torch._utils._rebuild_tensor
    RebuildTensorV2, ///< torch._utils._rebuild_tensor_v2
    RebuildParameter, ///< torch._utils._rebuild_parameter(_with_state)
    RebuildFromTypeV2, ///< torch._tensor._rebuild_from_type_v2
    TensorType, ///< torch.Tensor / torch.nn.parameter.Parameter (type markers)
    StorageType, ///< torch.FloatStorage etc. (`dtype` says which)
};

/// One storage's bytes as the container holds them. Shared by every tensor and view on it.
struct StorageData {
    std::string key; ///< the container's storage key (for messages)
    torch::ScalarType dtype = torch::kFloat;
    int64_t numel = 0; ///< element count the pickle declares
    /// Produces the whole storage as a 1-D owning CPU tensor [numel] of dtype (throws on failure).
    std::function<torch::Tensor(const StorageData &)> loader;
    torch::Tensor cached; ///< loaded on first use

    const torch::Tensor &data();
};

/// A lazy tensor: a strided view on a storage. Bounds were checked when it was built.
struct TensorInfo {
    std::shared_ptr<StorageData> storage;
    int64_t storageOffset = 0; ///< in elements, from the start of the root storage
    std::vector<int64_t> sizes;
    std::vector<int64_t> strides;
    bool requiresGrad = false;
};

struct Value;

/// Insertion-ordered dictionary with hashed lookup on a canonical key encoding.
struct DictData {
    std::vector<std::pair<Value *, Value *>> entries;
    std::unordered_map<std::string, std::size_t> index;
};

/// A pickled value. Values live in their Unpickler's arena and refer to each other by raw pointer
/// (no ownership, so shared and cyclic structures are harmless and destruction is flat).
struct Value {
    Kind kind = Kind::None;
    bool boolean = false;
    int64_t integer = 0;
    double real = 0;
    std::string text; ///< String, Bytes, BigInt; Global/Object: the module
    std::string name; ///< Global/Object: the qualified name
    std::vector<Value *> items; ///< List, Tuple
    std::unique_ptr<DictData> dict; ///< Dict
    std::unique_ptr<TensorInfo> tensor; ///< Tensor
    // Storage: a view [storageOffset, storageOffset + storageNumel) of `storage`.
    std::shared_ptr<StorageData> storage;
    int64_t storageOffset = 0;
    int64_t storageNumel = 0;
    Builtin builtin = Builtin::Opaque; ///< Global
    torch::ScalarType dtype = torch::kFloat; ///< Global with Builtin::StorageType
    std::string reason; ///< Object: why it cannot be used, e.g. "unsupported pickle global 'os.system'"
    Value *state = nullptr; ///< Object: the BUILD state, if any (e.g. an argparse.Namespace's fields)
    bool tensorLike = false; ///< Object: stands for a tensor or storage this reader cannot build

    bool isString() const { return kind == Kind::String; }
    /// "module.name" for Global and Object.
    std::string qualifiedName() const { return text + "." + name; }
    /// Dict lookup by string key; nullptr if absent or not a dict.
    Value *get(const std::string &key) const;
};

struct Limits {
    std::size_t maxValues = 10'000'000;
    std::size_t maxStack = 10'000'000;
    std::size_t maxMarks = 100'000;
    std::size_t maxMemo = 10'000'000;
    std::size_t maxDims = 64;
    int maxCallDepth = 8;
    uint64_t maxKeyWork = 64ull << 20; ///< bytes of dict-key encoding work (on top of 4x the input)
    uint64_t maxContainerWork = 4ull << 20; ///< list/set items copied or appended (on top of 4x the input)
};

/// Runs one pickle from a byte range. Not thread-safe; cheap to construct.
class Unpickler {
public:
    /// Called for BINPERSID/PERSID with the persistent id; returns the object it names.
    using PersistentLoad = std::function<Value *(Unpickler &, const Value &pid)>;

    /// `source` prefixes every error message (usually the file name).
    Unpickler(const unsigned char *data, std::size_t size, std::string source, Limits limits = {});
    Unpickler(const Unpickler &) = delete;
    Unpickler &operator=(const Unpickler &) = delete;

    void setPersistentLoad(PersistentLoad load) { m_persistentLoad = std::move(load); }

    /// Runs the machine from the current position to STOP and returns the result (owned by this).
    Value *load();
    /// Bytes consumed so far (after load(): the offset just past STOP).
    std::size_t position() const { return m_pos; }
    const std::string &source() const { return m_source; }

    // Arena constructors, for persistent-load callbacks.
    Value *make(Kind kind);
    Value *makeString(std::string text);
    Value *makeObject(std::string module, std::string name, std::string reason);
    /// A storage value viewing [offset, offset + numel) of `data`; checks the range.
    Value *makeStorage(std::shared_ptr<StorageData> data, int64_t offset, int64_t numel);

    [[noreturn]] void error(const std::string &message) const;

private:
    // Reading.
    void need(std::size_t n) const;
    uint8_t readByte();
    uint64_t readUInt(int bytes);
    std::string readBytes(uint64_t n);
    std::string readLine();

    // Stack.
    void push(Value *v);
    Value *pop();
    Value *top() const;
    std::vector<Value *> popMark();

    // Opcode helpers.
    Value *makeInt(int64_t v);
    Value *makeLong(const std::string &littleEndian);
    Value *makeIntFromText(const std::string &text, bool allowBoolCodes);
    Value *resolveGlobal(const std::string &module, const std::string &name);
    Value *call(Value *callable, const std::vector<Value *> &args, int depth = 0);
    Value *rebuildTensor(const std::vector<Value *> &args, bool v2);
    void setItem(Value *target, Value *key, Value *value);
    void append(Value *target, Value *item);
    void build(Value *target, Value *state);
    void memoPut(uint64_t index, Value *v);
    Value *memoGet(uint64_t index) const;
    std::string keyOf(const Value *key, int depth = 0);
    int64_t toInt(const Value *v, const char *what) const;
    std::vector<int64_t> toIntTuple(const Value *v, const char *what) const;
    /// Globals outside the known builtins that real checkpoints hold, kept inert (never called).
    static bool allowedInertGlobal(const std::string &module, const std::string &name);
    void chargeContainerWork(std::size_t items);

    const unsigned char *m_data;
    std::size_t m_size;
    std::size_t m_pos = 0;
    std::size_t m_opStart = 0;
    std::string m_source;
    Limits m_limits;
    uint64_t m_keyWork = 0;
    uint64_t m_containerWork = 0;
    std::deque<Value> m_arena;
    std::vector<Value *> m_stack;
    std::vector<std::size_t> m_marks;
    std::unordered_map<uint64_t, Value *> m_memo;
    PersistentLoad m_persistentLoad;
};

/// The tensor a Tensor value describes, read from its storage: owning memory, contiguous unless it
/// covers its whole storage exactly. Throws DitException if the value is not a usable tensor (an
/// Object's reason is in the message, prefixed by `context`).
torch::Tensor materialize(const Value &value, const std::string &context);

} // namespace ditstudio::pickle
