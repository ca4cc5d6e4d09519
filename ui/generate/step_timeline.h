#pragma once
/// \file step_timeline.h
/// The per-step previews (x_t and predicted x0) of the current run, kept so that any step can be
/// revisited during and after sampling. Memory-bounded: when the frames would exceed the budget
/// every other stored step is dropped and only every 2nd (4th, ...) step is kept from then on, so a
/// long run of a large model thins out evenly instead of losing its end or its start.

#include <QImage>
#include <QMap>

struct StepFrame {
    int step = 0; ///< 1-based
    double timestep = 0;
    double sigma = 0;
    QImage xt;
    QImage x0;
};

class StepTimeline {
public:
    explicit StepTimeline(qint64 budgetBytes = 256LL * 1024 * 1024);

    void reset(int totalSteps);
    /// Store a step (ignored when the thinning stride skips it, except for the last step).
    void add(const StepFrame &frame);
    /// The stored frame nearest to step (at or before it when possible); null when empty.
    const StepFrame *frameAt(int step) const;
    bool isEmpty() const { return m_frames.isEmpty(); }
    int storedCount() const { return static_cast<int>(m_frames.size()); }
    int totalSteps() const { return m_total; }
    int lastStep() const { return m_frames.isEmpty() ? 0 : m_frames.lastKey(); }
    int stride() const { return m_stride; }
    qint64 bytes() const { return m_bytes; }
    qint64 budget() const { return m_budget; }

private:
    static qint64 frameBytes(const StepFrame &f);

    QMap<int, StepFrame> m_frames;
    qint64 m_budget;
    qint64 m_bytes = 0;
    int m_total = 0;
    int m_stride = 1;
};
