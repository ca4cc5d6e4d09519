#pragma once
/// \file cancel_token.h
/// Cooperative cancellation shared between a caller (e.g. the GUI thread) and a running job.
/// Copies share one flag. cancel() and isCancelled() are lock-free and safe from any thread.
///
/// Example:
///     ditstudio::CancelToken cancel;            // copies share one flag
///     std::thread worker([&] { engine.generate(request, {}, cancel); });
///     cancel.cancel();                          // from any thread: stops at the next step
///     worker.join();

#include <atomic>
#include <memory>

namespace ditstudio {

class CancelToken {
public:
    /// What a cancel request asks for: stop at the next check, or finish the current image first.
    enum class Mode { None = 0, Now = 1, AfterCurrentItem = 2 };

    CancelToken() : m_state(std::make_shared<std::atomic<int>>(0)) { }

    /// Request that the job stop at its next check (every sampling step).
    void cancel() { m_state->store(static_cast<int>(Mode::Now)); }
    /// Request that the job finish the image it is working on, then stop.
    void cancelAfterCurrentItem()
    {
        int expected = 0;
        m_state->compare_exchange_strong(expected, static_cast<int>(Mode::AfterCurrentItem));
    }
    /// True once cancel() was called (the job must stop now).
    bool isCancelled() const { return m_state->load() == static_cast<int>(Mode::Now); }
    /// True once any cancel request was made.
    bool isCancelRequested() const { return m_state->load() != 0; }
    Mode mode() const { return static_cast<Mode>(m_state->load()); }
    /// Clear the request so the token can be reused for the next job.
    void reset() { m_state->store(0); }

private:
    std::shared_ptr<std::atomic<int>> m_state;
};

} // namespace ditstudio
