#pragma once
// Data parallelism over processes with PyTorch's own c10d process groups (Gloo on CPU), set up
// the way torchrun does it: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (a TCPStore on rank 0).
// Only built where LibTorch exports ProcessGroupGloo and libgloo-dev is present
// (DITSTUDIO_HAVE_GLOO); elsewhere connect() fails with ErrorCode::Unsupported.

#include "ditstudio/training.h"
#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace ditstudio {

// DistributedOptions is public (ditstudio/training.h).

/// Fill rank/worldSize/masterAddr/masterPort from the torchrun environment variables where set.
/// Throws DitException naming the variable when one is malformed.
DistributedOptions distributedOptionsFromEnvironment(DistributedOptions defaults = {});

class ProcessGroupHandle {
public:
    /// Join the group (blocks until all worldSize ranks have connected or the timeout passes).
    static std::unique_ptr<ProcessGroupHandle> connect(const DistributedOptions &options);
    ~ProcessGroupHandle();
    ProcessGroupHandle(const ProcessGroupHandle &) = delete;
    ProcessGroupHandle &operator=(const ProcessGroupHandle &) = delete;

    int rank() const;
    int worldSize() const;
    /// Average the tensors over ranks in place (one flattened all-reduce: fewer round trips).
    void allReduceMean(const std::vector<torch::Tensor> &tensors);
    /// Copy root's tensors to every rank, in place.
    void broadcast(const std::vector<torch::Tensor> &tensors, int root = 0);
    void barrier();

private:
    ProcessGroupHandle();
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

/// True when this build can run data parallel (Gloo present).
bool dataParallelAvailable();

} // namespace ditstudio
