#pragma once
// Shared plumbing of the ditstudio-cli subcommands: argument parsing, usage errors, a progress bar and
// Ctrl+C -> CancelToken wiring. Each command family lives in its own cli_<family>.cpp and is declared
// in cli_commands.h, so families can grow without touching each other.

#include "ditstudio/cancel_token.h"
#include "ditstudio/result.h"

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace ditstudio::cli {

/// Parsed command line: positional arguments, "--key value" / "--key=value" options, and flags.
struct Args {
    std::vector<std::string> positional;
    std::map<std::string, std::string> options;
    std::set<std::string> flags;
};

/// A usage mistake (exit code 2), as opposed to a failure while working (exit code 1).
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// A failure while working (exit code 1): the engine's error code and message, printed as
/// "ditstudio-cli: <code>: <message>".
struct CommandError : std::runtime_error {
    CommandError(ErrorCode code, const std::string &message) : std::runtime_error(message), code(code) { }
    ErrorCode code;
};

/// Throw a CommandError.
[[noreturn]] inline void fail(ErrorCode code, const std::string &message)
{
    throw CommandError(code, message);
}
[[noreturn]] inline void fail(const Error &error)
{
    throw CommandError(error.code, error.message);
}
/// The value of a Result, or a CommandError carrying its error.
template<typename T> T valueOr(Result<T> &&result)
{
    if (!result.ok())
        fail(result.error());
    return std::move(result.value());
}
inline void check(const Result<void> &result)
{
    if (!result.ok())
        fail(result.error());
}

/// Parse argv from index start. Options in kCommonFlags and extraFlags take no value; every other
/// "--x" takes the next argument (or its "=value").
Args parseArgs(const std::vector<std::string> &argv, size_t start,
               const std::set<std::string> &extraFlags = {});
/// Throw a UsageError naming the first option or flag that is not in allowed.
void allowOnly(const Args &a, const std::set<std::string> &allowed, const std::string &cmd);
long long intOpt(const Args &a, const std::string &key, long long def, long long lo, long long hi);
double floatOpt(const Args &a, const std::string &key, double def);
/// floatOpt with a closed range check [lo, hi].
double floatOptIn(const Args &a, const std::string &key, double def, double lo, double hi);
std::string opt(const Args &a, const std::string &key, const std::string &def = {});
bool has(const Args &a, const std::string &key); ///< option or flag present

/// A usage text with the app's default sampling settings (ditstudio/defaults.h) filled in for the
/// placeholders {default-steps}, {default-sampler} and {default-cfg}, so the help never drifts from them.
std::string withAppDefaults(std::string text);

/// Replace every character outside [A-Za-z0-9.-] by '_' ("image" when empty).
std::string safeFileName(std::string s);

/// A one-line progress bar on stderr ("\r" redraws); silent when disabled.
class ProgressBar {
public:
    explicit ProgressBar(bool enabled) : m_enabled(enabled) { }
    void update(int done, int total, double elapsed, const std::string &label);

private:
    bool m_enabled;
};

/// While alive, Ctrl+C (SIGINT) cancels the given token instead of killing the process.
class SigintCancels {
public:
    explicit SigintCancels(CancelToken &token);
    ~SigintCancels();
    SigintCancels(const SigintCancels &) = delete;
    SigintCancels &operator=(const SigintCancels &) = delete;

private:
    void (*m_previous)(int) = nullptr;
};

/// An enum option through its parser (the Result<Enum> parse next to the enum): def when absent,
/// a UsageError naming the option and what was expected when the text is not a known name.
template<typename E>
E parsedOpt(const Args &a, const std::string &key, Result<E> (*parse)(const std::string &), E def)
{
    if (!a.options.count(key))
        return def;
    auto parsed = parse(opt(a, key));
    if (!parsed.ok())
        throw UsageError(key + ": " + parsed.error().message);
    return *parsed;
}

} // namespace ditstudio::cli
