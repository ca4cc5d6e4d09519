#pragma once
// Internal error plumbing: backend internals throw DitException; the pipeline entry points catch it
// (and c10::Error, cv::Exception, std::exception) and convert to ditstudio::Error.

#include "ditstudio/result.h"

#include <stdexcept>
#include <string>

namespace ditstudio {

class DitException : public std::runtime_error {
public:
    DitException(ErrorCode code, const std::string &message) : std::runtime_error(message), m_code(code) { }
    ErrorCode code() const { return m_code; }

private:
    ErrorCode m_code;
};

[[noreturn]] inline void fail(ErrorCode code, const std::string &message)
{
    throw DitException(code, message);
}

/// Convert the exception currently being handled into an Error (call inside catch(...)).
Error currentExceptionToError(const std::string &context = {});

/// Run f() and convert any exception into an Error. f returns T (or void).
template<typename F> auto guarded(const std::string &context, F &&f) -> Result<decltype(f())>
{
    try {
        if constexpr (std::is_void_v<decltype(f())>) {
            f();
            return Result<void>();
        } else {
            return f();
        }
    } catch (...) {
        return currentExceptionToError(context);
    }
}

} // namespace ditstudio
