#pragma once
// RAII for LibTorch's CPU autocast state (thread-local): enabled with a dtype for one scope, and
// restored on every exit, also when the forward pass throws, so a failed step never leaves autocast
// on for the next caller on this thread. LibTorch 1.13's C++ API has no such guard of its own.

#include <ATen/autocast_mode.h>

namespace ditstudio {

class CpuAutocastGuard {
public:
    explicit CpuAutocastGuard(at::ScalarType dtype)
        : m_wasEnabled(at::autocast::is_cpu_enabled()),
          m_previousDtype(at::autocast::get_autocast_cpu_dtype())
    {
        at::autocast::set_cpu_enabled(true);
        at::autocast::set_autocast_cpu_dtype(dtype);
    }
    ~CpuAutocastGuard()
    {
        at::autocast::set_cpu_enabled(m_wasEnabled);
        at::autocast::set_autocast_cpu_dtype(m_previousDtype);
        if (!m_wasEnabled)
            at::autocast::clear_cache(); // the casted weights belong to this scope
    }
    CpuAutocastGuard(const CpuAutocastGuard &) = delete;
    CpuAutocastGuard &operator=(const CpuAutocastGuard &) = delete;

private:
    bool m_wasEnabled;
    at::ScalarType m_previousDtype;
};

} // namespace ditstudio
