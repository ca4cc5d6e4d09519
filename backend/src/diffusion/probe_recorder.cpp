#include "diffusion/probe_recorder.h"

#include "common/errors.h"
#include "core/tensor_image.h"

#include <algorithm>
#include <cstdio>

namespace ditstudio {

namespace {

HostTensor hostFloat(const torch::Tensor &t)
{
    return toHost(t.detach().to(torch::kCPU, torch::kFloat32).contiguous());
}

std::string megabytes(std::int64_t bytes)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / (1 << 20));
    return buf;
}

} // namespace

std::int64_t attentionProbeBytes(const ProbeOptions &o, const DiTConfig &config, int rows)
{
    if (!o.attention)
        return 0;
    const std::int64_t t = config.tokens();
    const std::int64_t q = o.queryTokens.empty() ? t : static_cast<std::int64_t>(o.queryTokens.size());
    const std::int64_t h = o.headMean ? 1 : config.numHeads;
    const std::int64_t blocks
        = o.attentionBlocks.empty() ? config.depth : static_cast<std::int64_t>(o.attentionBlocks.size());
    return static_cast<std::int64_t>(rows) * h * q * t * blocks * static_cast<std::int64_t>(sizeof(float));
}

StepProbeRecorder::StepProbeRecorder(const ProbeOptions &options, const DiTConfig &config, int rows,
                                     bool enabled)
    : m_options(options), m_config(config), m_enabled(enabled && options.any())
{
    if (!options.any())
        return;
    const int depth = config.depth, tokens = config.tokens();
    for (int b : options.attentionBlocks)
        if (b < 0 || b >= depth)
            fail(ErrorCode::InvalidArgument,
                 "probes.attentionBlocks: block " + std::to_string(b) + " is out of range 0.."
                     + std::to_string(depth - 1));
    for (int q : options.queryTokens)
        if (q < 0 || q >= tokens)
            fail(ErrorCode::InvalidArgument,
                 "probes.queryTokens: token " + std::to_string(q) + " is out of range 0.."
                     + std::to_string(tokens - 1) + " (" + std::to_string(tokens) + " tokens)");
    const auto bytes = attentionProbeBytes(options, config, rows);
    if (bytes > options.attentionBudgetBytes)
        fail(ErrorCode::InvalidArgument,
             "attention probes would record " + megabytes(bytes) + " per step (" + std::to_string(rows)
                 + " rows x " + std::to_string(options.headMean ? 1 : config.numHeads) + " heads x "
                 + std::to_string(options.queryTokens.empty() ? tokens
                                                              : static_cast<int>(options.queryTokens.size()))
                 + " queries x " + std::to_string(tokens) + " tokens x "
                 + std::to_string(options.attentionBlocks.empty()
                                      ? depth
                                      : static_cast<int>(options.attentionBlocks.size()))
                 + " blocks, float32), over the budget of " + megabytes(options.attentionBudgetBytes)
                 + ": choose query tokens, head means or fewer blocks");
    if (!options.attentionBlocks.empty()) {
        m_attentionBlocks.assign(depth, 0);
        for (int b : options.attentionBlocks)
            m_attentionBlocks[b] = 1;
    }
    if (!options.queryTokens.empty())
        m_queryIndex = torch::tensor(
            std::vector<int64_t>(options.queryTokens.begin(), options.queryTokens.end()), torch::kLong);
}

DiTTrace *StepProbeRecorder::traceForCall()
{
    m_callIsProbed = false;
    if (!m_enabled || m_trace)
        return nullptr;
    DiTTrace t;
    t.keepBlockOut = false;
    t.wantAttention = m_options.attention;
    t.attentionBlocks = m_attentionBlocks;
    t.queryIndex = m_queryIndex;
    t.headMean = m_options.headMean;
    t.wantAdaln = m_options.adaln;
    t.wantActivity = m_options.activity;
    m_trace = std::move(t);
    m_callIsProbed = true;
    return &*m_trace;
}

torch::Tensor *StepProbeRecorder::guidanceSlot()
{
    return m_callIsProbed && m_options.guidance ? &m_guidance : nullptr;
}

StepProbes StepProbeRecorder::takeStep(const torch::Tensor &x0)
{
    StepProbes p;
    if (!m_enabled)
        return p;
    p.tokensPerSide = m_config.inputSize / m_config.patchSize;
    p.patchSize = m_config.patchSize;
    if (m_trace) {
        const auto &tr = *m_trace;
        if (m_options.attention) {
            p.queryTokens = m_options.queryTokens;
            for (size_t i = 0; i < tr.attention.size(); ++i) {
                if (!tr.attention[i].defined())
                    continue;
                p.attentionBlocks.push_back(static_cast<int>(i));
                p.attention.push_back(hostFloat(tr.attention[i]));
            }
        }
        if (m_options.adaln)
            for (const auto &a : tr.adaln)
                p.adaln.push_back(a.defined() ? hostFloat(a) : HostTensor {});
        if (m_options.activity && !tr.activity.empty())
            p.activity = hostFloat(torch::stack(tr.activity, 0)); // [blocks, rows]
    }
    if (m_guidance.defined())
        p.guidance = hostFloat(m_guidance);
    if (m_options.x0Change) {
        const auto cur = x0.detach().to(torch::kFloat32).flatten(1); // [B, CHW]
        for (int64_t i = 0; i < cur.size(0); ++i) {
            double change = 0;
            if (m_previousX0.defined()) {
                const auto prev = m_previousX0[i];
                change
                    = ((cur[i] - prev).norm().item<double>()) / std::max(prev.norm().item<double>(), 1e-30);
            }
            p.x0Change.push_back(change);
        }
        m_previousX0 = cur.clone();
    }
    m_trace.reset();
    m_guidance = torch::Tensor();
    m_callIsProbed = false;
    return p;
}

} // namespace ditstudio
