#include "cli/cli_common.h"

#include "ditstudio/defaults.h"

#include <atomic>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <sstream>

namespace ditstudio::cli {

namespace {

const std::set<std::string> kCommonFlags = {"--json",
                                            "--gemm",
                                            "--low-precision-residual",
                                            "--karras",
                                            "--overwrite",
                                            "--quiet",
                                            "--help",
                                            "--version",
                                            "--hflip",
                                            "--no-resume",
                                            "--no-learn-sigma",
                                            "--bf16",
                                            "--switch-weighting"};

std::atomic<CancelToken *> g_cancel {nullptr};

extern "C" void onSigint(int)
{
    if (CancelToken *t = g_cancel.load())
        t->cancel();
}

} // namespace

Args parseArgs(const std::vector<std::string> &argv, size_t start, const std::set<std::string> &extraFlags)
{
    Args a;
    for (size_t i = start; i < argv.size(); ++i) {
        const auto &s = argv[i];
        if (s.rfind("--", 0) == 0) {
            const auto eq = s.find('=');
            if (eq != std::string::npos) {
                a.options[s.substr(0, eq)] = s.substr(eq + 1);
            } else if (kCommonFlags.count(s) || extraFlags.count(s)) {
                a.flags.insert(s);
            } else {
                if (i + 1 >= argv.size())
                    throw UsageError("option " + s + " needs a value");
                a.options[s] = argv[++i];
            }
        } else {
            a.positional.push_back(s);
        }
    }
    return a;
}

void allowOnly(const Args &a, const std::set<std::string> &allowed, const std::string &cmd)
{
    for (const auto &[k, v] : a.options)
        if (!allowed.count(k))
            throw UsageError(cmd + ": unknown option " + k);
    for (const auto &f : a.flags)
        if (!allowed.count(f))
            throw UsageError(cmd + ": unknown option " + f);
}

long long intOpt(const Args &a, const std::string &key, long long def, long long lo, long long hi)
{
    auto it = a.options.find(key);
    if (it == a.options.end())
        return def;
    long long v = 0;
    try {
        size_t pos = 0;
        v = std::stoll(it->second, &pos);
        if (pos != it->second.size())
            throw std::invalid_argument("trailing");
    } catch (...) {
        throw UsageError(key + ": expected an integer, got '" + it->second + "'");
    }
    if (v < lo || v > hi)
        throw UsageError(key + ": " + it->second + " is out of range [" + std::to_string(lo) + ", "
                         + std::to_string(hi) + "]");
    return v;
}

double floatOpt(const Args &a, const std::string &key, double def)
{
    auto it = a.options.find(key);
    if (it == a.options.end())
        return def;
    try {
        size_t pos = 0;
        double v = std::stod(it->second, &pos);
        if (pos != it->second.size())
            throw std::invalid_argument("trailing");
        return v;
    } catch (...) {
        throw UsageError(key + ": expected a number, got '" + it->second + "'");
    }
}

double floatOptIn(const Args &a, const std::string &key, double def, double lo, double hi)
{
    const double v = floatOpt(a, key, def);
    if (!(v >= lo && v <= hi))
        throw UsageError(key + ": " + opt(a, key) + " is out of range [" + std::to_string(lo) + ", "
                         + std::to_string(hi) + "]");
    return v;
}

std::string opt(const Args &a, const std::string &key, const std::string &def)
{
    auto it = a.options.find(key);
    return it == a.options.end() ? def : it->second;
}

bool has(const Args &a, const std::string &key)
{
    return a.options.count(key) > 0 || a.flags.count(key) > 0;
}

std::string withAppDefaults(std::string text)
{
    std::ostringstream cfg;
    cfg << kDefaultCfgScale; // shortest form: "1.9", "4"
    const std::pair<std::string, std::string> values[] = {{"{default-steps}", std::to_string(kDefaultSteps)},
                                                          {"{default-sampler}", samplerName(kDefaultSampler)},
                                                          {"{default-cfg}", cfg.str()}};
    for (const auto &[key, value] : values)
        for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + value.size()))
            text.replace(at, key.size(), value);
    return text;
}

std::string safeFileName(std::string s)
{
    for (auto &c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.')
            c = '_';
    return s.empty() ? "image" : s;
}

void ProgressBar::update(int done, int total, double elapsed, const std::string &label)
{
    if (!m_enabled)
        return;
    const int width = 30;
    const int filled = total > 0 ? done * width / total : 0;
    const double eta = done > 0 ? elapsed / done * (total - done) : 0;
    std::fprintf(stderr, "\r%s [%s%s] %d/%d  %.1fs  ETA %.1fs ", label.c_str(),
                 std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(), done, total,
                 elapsed, eta);
    if (done == total)
        std::fprintf(stderr, "\n");
    std::fflush(stderr);
}

SigintCancels::SigintCancels(CancelToken &token)
{
    g_cancel.store(&token);
    m_previous = std::signal(SIGINT, onSigint);
}

SigintCancels::~SigintCancels()
{
    std::signal(SIGINT, m_previous == SIG_ERR ? SIG_DFL : m_previous);
    g_cancel.store(nullptr);
}

} // namespace ditstudio::cli
