#include "common/errors.h"

#include <c10/util/Exception.h>

#include <string>

namespace ditstudio {

Error currentExceptionToError(const std::string &context)
{
    const std::string prefix = context.empty() ? std::string() : context + ": ";
    try {
        throw;
    } catch (const DitException &e) {
        // "loading X" + "X: no such file" reads better as "loading X: no such file".
        const std::string message = e.what();
        const auto space = context.rfind(' ');
        const std::string subject = space == std::string::npos ? context : context.substr(space + 1);
        if (!subject.empty() && message.rfind(subject + ": ", 0) == 0)
            return Error {e.code(), prefix + message.substr(subject.size() + 2)};
        return Error {e.code(), prefix + message};
    } catch (const c10::Error &e) {
        // what_without_backtrace keeps the message readable for users.
        return Error {ErrorCode::Internal, prefix + "LibTorch: " + e.what_without_backtrace()};
    } catch (const std::bad_alloc &) {
        return Error {ErrorCode::Internal, prefix + "out of memory"};
    } catch (const std::exception &e) {
        return Error {ErrorCode::Internal, prefix + e.what()};
    } catch (...) {
        return Error {ErrorCode::Internal, prefix + "unknown exception"};
    }
}

} // namespace ditstudio
