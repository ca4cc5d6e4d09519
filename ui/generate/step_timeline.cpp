#include "generate/step_timeline.h"

StepTimeline::StepTimeline(qint64 budgetBytes) : m_budget(budgetBytes) { }

void StepTimeline::reset(int totalSteps)
{
    m_frames.clear();
    m_bytes = 0;
    m_total = totalSteps;
    m_stride = 1;
}

qint64 StepTimeline::frameBytes(const StepFrame &f)
{
    return f.xt.sizeInBytes() + f.x0.sizeInBytes();
}

void StepTimeline::add(const StepFrame &frame)
{
    const bool last = frame.step >= m_total;
    if (!last && frame.step % m_stride != 0)
        return;
    if (auto it = m_frames.find(frame.step); it != m_frames.end()) {
        m_bytes -= frameBytes(*it);
        m_frames.erase(it);
    }
    m_frames.insert(frame.step, frame);
    m_bytes += frameBytes(frame);
    // Over budget: double the stride and drop the stored steps it no longer keeps (the first and
    // the newest frame stay, so the scrubber always spans the whole run so far).
    while (m_bytes > m_budget && m_frames.size() > 2) {
        m_stride *= 2;
        const int first = m_frames.firstKey(), newest = m_frames.lastKey();
        for (auto it = m_frames.begin(); it != m_frames.end();) {
            if (it.key() != first && it.key() != newest && it.key() % m_stride != 0) {
                m_bytes -= frameBytes(*it);
                it = m_frames.erase(it);
            } else {
                ++it;
            }
        }
    }
}

const StepFrame *StepTimeline::frameAt(int step) const
{
    if (m_frames.isEmpty())
        return nullptr;
    auto it = m_frames.upperBound(step); // first stored step > step
    if (it == m_frames.constBegin())
        return &*it;
    --it;
    return &*it;
}
