#pragma once
/// \file result.h
/// Errors as values. Every public backend call that can fail returns a Result<T>; exceptions from
/// LibTorch, OpenCV and FFmpeg are caught at the pipeline entry and converted to an Error.
/// Cancellation is not an error: operations that can be cancelled report it in their own outcome.
///
/// Example:
///     ditstudio::Result<int> parsePositive(const std::string &s);
///     auto r = parsePositive("x");
///     if (!r.ok())
///         std::cerr << r.error().toString() << '\n';   // "invalid argument: ..."
///     else
///         use(*r);

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace ditstudio {

/// Broad classes of failure; the message carries the specifics (file, key, expected vs found).
enum class ErrorCode {
    InvalidArgument, ///< a request field is out of range or inconsistent
    NotFound, ///< a file, key or class that was asked for does not exist
    IoError, ///< reading or writing failed (permissions, disk full, truncated file)
    FormatError, ///< a file is not in the expected format or is corrupt
    ShapeMismatch, ///< a tensor's shape or dtype differs from what the architecture needs
    Unsupported, ///< valid input that this build cannot handle (e.g. CUDA without a CUDA LibTorch)
    Cancelled, ///< used only where a caller explicitly asks to treat cancellation as failure
    Internal, ///< a bug or an unexpected exception from a library
    OutOfMemory, ///< the request cannot fit in memory (refused up front, with the estimate)
    NumericError, ///< the model produced NaN or Inf (the message names the step)
};

/// Human-readable name of an error code ("format error", ...).
const char *errorCodeName(ErrorCode code);

struct Error {
    ErrorCode code = ErrorCode::Internal;
    std::string message;

    /// "format error: <message>"
    std::string toString() const;
};

/// Holds either a value or an Error. Cheap to move; value() asserts ok().
template<typename T> class [[nodiscard]] Result {
public:
    Result(T value) : m_data(std::in_place_index<0>, std::move(value)) { }
    Result(Error error) : m_data(std::in_place_index<1>, std::move(error)) { }

    bool ok() const { return m_data.index() == 0; }
    explicit operator bool() const { return ok(); }

    T &value() &
    {
        assert(ok());
        return std::get<0>(m_data);
    }
    const T &value() const &
    {
        assert(ok());
        return std::get<0>(m_data);
    }
    T &&value() &&
    {
        assert(ok());
        return std::get<0>(std::move(m_data));
    }
    T *operator->() { return &value(); }
    const T *operator->() const { return &value(); }
    T &operator*() & { return value(); }
    const T &operator*() const & { return value(); }

    const Error &error() const
    {
        assert(!ok());
        return std::get<1>(m_data);
    }

private:
    std::variant<T, Error> m_data;
};

template<> class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : m_error(std::move(error)) { }

    bool ok() const { return !m_error.has_value(); }
    explicit operator bool() const { return ok(); }
    const Error &error() const
    {
        assert(!ok());
        return *m_error;
    }

private:
    std::optional<Error> m_error;
};

inline Error makeError(ErrorCode code, std::string message)
{
    return Error {code, std::move(message)};
}

} // namespace ditstudio
