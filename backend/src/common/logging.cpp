// spdlog setup: stderr + rotating file in the user data directory + optional GUI callback.
#include "ditstudio/runtime.h"

#include "common/errors.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <mutex>

namespace ditstudio {

namespace {

std::mutex g_callbackMutex;
LogCallback g_callback = nullptr;
void *g_callbackData = nullptr;

class CallbackSink : public spdlog::sinks::base_sink<std::mutex> {
protected:
    void sink_it_(const spdlog::details::log_msg &msg) override
    {
        std::lock_guard<std::mutex> lock(g_callbackMutex);
        if (!g_callback)
            return;
        spdlog::memory_buf_t formatted;
        formatter_->format(msg, formatted);
        std::string text(formatted.data(), formatted.size());
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
            text.pop_back();
        const auto level = spdlog::level::to_string_view(msg.level);
        g_callback(g_callbackData, std::string(level.data(), level.size()).c_str(), text.c_str());
    }
    void flush_() override { }
};

} // namespace

Result<void> initLogging(const std::string &levelText, const std::string &logDir)
{
    std::string level = levelText;
    if (level.empty()) {
        const char *env = std::getenv("DITSTUDIO_LOG");
        level = env && *env ? env : "info";
    }
    std::transform(level.begin(), level.end(), level.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    const auto parsed = spdlog::level::from_str(level);
    if (parsed == spdlog::level::off && level != "off")
        return makeError(ErrorCode::InvalidArgument,
                         "log level '" + levelText + "': expected trace, debug, info, warn, error or off");

    std::vector<spdlog::sink_ptr> sinks;
    auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    console->set_pattern("[%H:%M:%S.%e] [%^%l%$] %v");
    sinks.push_back(console);
    if (!logDir.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(logDir, ec);
        if (!ec) {
            try {
                auto file = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
                    (std::filesystem::path(logDir) / "ditstudio.log").string(), 5 * 1024 * 1024, 3);
                file->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] [t%t] %v");
                sinks.push_back(file);
            } catch (const spdlog::spdlog_ex &) {
                // An unwritable log directory must not stop the app; the console sink remains.
            }
        }
    }
    auto callback = std::make_shared<CallbackSink>();
    callback->set_pattern("%H:%M:%S %v");
    sinks.push_back(callback);

    auto logger = std::make_shared<spdlog::logger>("ditstudio", sinks.begin(), sinks.end());
    logger->set_level(parsed);
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(logger);
    return {};
}

void setLogCallback(LogCallback callback, void *userData)
{
    std::lock_guard<std::mutex> lock(g_callbackMutex);
    g_callback = callback;
    g_callbackData = userData;
}

void logInfo(const std::string &message)
{
    spdlog::info("{}", message);
}
void logWarn(const std::string &message)
{
    spdlog::warn("{}", message);
}
void logError(const std::string &message)
{
    spdlog::error("{}", message);
}

} // namespace ditstudio
