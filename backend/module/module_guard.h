#pragma once
// Nothing may throw across the engine module's boundary (a C++ exception crossing a shared-library
// boundary built apart, or into a Qt event loop, ends the process). moduleCall runs an entry's body
// and turns any exception into the entry's failure value: an Error for Result<T>, else a neutral
// value (false, 0, empty), logged so it is not lost.

#include "common/errors.h"
#include "ditstudio/result.h"

#include <spdlog/spdlog.h>

#include <type_traits>

namespace ditstudio {

template<typename T> struct ModuleFailure {
    static T value(const Error &e)
    {
        spdlog::error("engine module: {}", e.toString());
        return T {};
    }
};

template<typename U> struct ModuleFailure<Result<U>> {
    static Result<U> value(const Error &e) { return e; }
};

template<typename F> auto moduleCall(const char *entry, F &&f) noexcept -> decltype(f())
{
    using R = decltype(f());
    try {
        return f();
    } catch (...) {
        const Error e = currentExceptionToError(entry);
        if constexpr (std::is_void_v<R>)
            spdlog::error("engine module: {}", e.toString());
        else
            return ModuleFailure<R>::value(e);
    }
}

} // namespace ditstudio
