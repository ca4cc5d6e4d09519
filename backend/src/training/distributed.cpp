#include "training/distributed.h"

#include "common/errors.h"

#include <cstdlib>

#ifdef DITSTUDIO_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace ditstudio {

namespace {

int envInt(const char *name, int def, int lo, int hi)
{
    const char *v = std::getenv(name);
    if (!v || !*v)
        return def;
    try {
        size_t pos = 0;
        const int x = std::stoi(v, &pos);
        if (pos != std::string(v).size() || x < lo || x > hi)
            throw std::out_of_range("range");
        return x;
    } catch (...) {
        fail(ErrorCode::InvalidArgument,
             std::string("environment variable ") + name + "='" + v + "': expected an integer in ["
                 + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
}

} // namespace

DistributedOptions distributedOptionsFromEnvironment(DistributedOptions d)
{
    d.worldSize = envInt("WORLD_SIZE", d.worldSize, 1, 65536);
    d.rank = envInt("RANK", d.rank, 0, 65535);
    d.masterPort = envInt("MASTER_PORT", d.masterPort, 1, 65535);
    if (const char *a = std::getenv("MASTER_ADDR"); a && *a)
        d.masterAddr = a;
    if (d.rank >= d.worldSize)
        fail(ErrorCode::InvalidArgument,
             "RANK " + std::to_string(d.rank) + " must be below WORLD_SIZE " + std::to_string(d.worldSize));
    return d;
}

#ifdef DITSTUDIO_HAVE_GLOO

struct ProcessGroupHandle::Impl {
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
    int rank = 0, world = 1;

    void wait(const c10::intrusive_ptr<c10d::Work> &work, const char *what)
    {
        try {
            work->wait();
        } catch (const std::exception &e) {
            fail(ErrorCode::IoError,
                 std::string("data parallel ") + what
                     + " failed (another rank stopped or the "
                       "network broke): "
                     + e.what());
        }
    }
};

ProcessGroupHandle::ProcessGroupHandle() : m_impl(std::make_unique<Impl>()) { }
ProcessGroupHandle::~ProcessGroupHandle() = default;

std::unique_ptr<ProcessGroupHandle> ProcessGroupHandle::connect(const DistributedOptions &o)
{
    if (o.worldSize < 1 || o.rank < 0 || o.rank >= o.worldSize)
        fail(ErrorCode::InvalidArgument,
             "data parallel: rank " + std::to_string(o.rank) + " is outside world size "
                 + std::to_string(o.worldSize));
    std::unique_ptr<ProcessGroupHandle> h(new ProcessGroupHandle());
    h->m_impl->rank = o.rank;
    h->m_impl->world = o.worldSize;
    try {
        c10d::TCPStoreOptions so;
        so.port = static_cast<std::uint16_t>(o.masterPort);
        so.isServer = o.rank == 0;
        so.numWorkers = o.worldSize;
        so.waitWorkers = true;
        so.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(o.timeout);
        h->m_impl->store = c10::make_intrusive<c10d::TCPStore>(o.masterAddr, so);
        auto opts = c10d::ProcessGroupGloo::Options::create(
            std::chrono::duration_cast<std::chrono::milliseconds>(o.timeout));
        // GLOO_SOCKET_IFNAME picks the interface as in PyTorch; a loopback master means one machine.
        if (const char *ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
            opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
        else if (o.masterAddr == "127.0.0.1" || o.masterAddr == "localhost")
            opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
        else
            opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
        opts->threads = 2;
        h->m_impl->group
            = c10::make_intrusive<c10d::ProcessGroupGloo>(h->m_impl->store, o.rank, o.worldSize, opts);
    } catch (const DitException &) {
        throw;
    } catch (const std::exception &e) {
        fail(ErrorCode::IoError,
             "data parallel: could not join the group at " + o.masterAddr + ":" + std::to_string(o.masterPort)
                 + " as rank " + std::to_string(o.rank) + " of " + std::to_string(o.worldSize) + ": "
                 + e.what());
    }
    return h;
}

int ProcessGroupHandle::rank() const
{
    return m_impl->rank;
}
int ProcessGroupHandle::worldSize() const
{
    return m_impl->world;
}

void ProcessGroupHandle::allReduceMean(const std::vector<torch::Tensor> &tensors)
{
    if (tensors.empty() || m_impl->world == 1)
        return;
    std::vector<torch::Tensor> flat;
    for (const auto &t : tensors)
        flat.push_back(t.reshape({-1}));
    std::vector<torch::Tensor> buffer {torch::cat(flat)};
    m_impl->wait(m_impl->group->allreduce(buffer), "all-reduce");
    buffer[0].div_(m_impl->world);
    int64_t offset = 0;
    for (const auto &t : tensors) {
        const auto n = t.numel();
        t.copy_(buffer[0].narrow(0, offset, n).view_as(t));
        offset += n;
    }
}

void ProcessGroupHandle::broadcast(const std::vector<torch::Tensor> &tensors, int root)
{
    if (m_impl->world == 1)
        return;
    for (const auto &t : tensors) {
        std::vector<torch::Tensor> one {t};
        c10d::BroadcastOptions bo;
        bo.rootRank = root;
        m_impl->wait(m_impl->group->broadcast(one, bo), "broadcast");
    }
}

void ProcessGroupHandle::barrier()
{
    if (m_impl->world > 1)
        m_impl->wait(m_impl->group->barrier(), "barrier");
}

bool dataParallelAvailable()
{
    return true;
}

#else

struct ProcessGroupHandle::Impl { };
ProcessGroupHandle::ProcessGroupHandle() : m_impl(std::make_unique<Impl>()) { }
ProcessGroupHandle::~ProcessGroupHandle() = default;

std::unique_ptr<ProcessGroupHandle> ProcessGroupHandle::connect(const DistributedOptions &)
{
    fail(ErrorCode::Unsupported,
         "data parallel training needs a LibTorch with c10d Gloo and libgloo-dev at build time; "
         "this build has neither (DITSTUDIO_HAVE_GLOO is off)");
}
int ProcessGroupHandle::rank() const
{
    return 0;
}
int ProcessGroupHandle::worldSize() const
{
    return 1;
}
void ProcessGroupHandle::allReduceMean(const std::vector<torch::Tensor> &) { }
void ProcessGroupHandle::broadcast(const std::vector<torch::Tensor> &, int) { }
void ProcessGroupHandle::barrier() { }
bool dataParallelAvailable()
{
    return false;
}

#endif

} // namespace ditstudio
