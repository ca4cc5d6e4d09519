#include "inside/activity_heatmap.h"

#include "ditstudio/inside.h"

#include <QMouseEvent>
#include <QPainter>

#include <cmath>
#include <limits>

ActivityHeatmap::ActivityHeatmap(QWidget *parent) : QWidget(parent)
{
    setAccessibleName(tr("Block activity per step and block"));
    setToolTip(tr(
        "How much each block changes its input, |out − in| / |in|, at each step.\nClick a cell to show that "
        "step and block."));
}

void ActivityHeatmap::reset(int totalSteps, int blocks)
{
    m_steps = qMax(0, totalSteps);
    m_blocks = qMax(0, blocks);
    m_current = 0;
    m_values = QVector<float>(m_steps * m_blocks, std::numeric_limits<float>::quiet_NaN());
    update();
}

void ActivityHeatmap::setStep(int step, const QVector<float> &perBlock)
{
    if (step < 1 || step > m_steps)
        return;
    for (int b = 0; b < m_blocks && b < perBlock.size(); ++b)
        m_values[(step - 1) * m_blocks + b] = perBlock[b];
    update();
}

void ActivityHeatmap::setCurrentStep(int step)
{
    m_current = step;
    update();
}

int ActivityHeatmap::stepsWithData() const
{
    int n = 0;
    for (int s = 0; s < m_steps; ++s)
        if (m_blocks > 0 && !std::isnan(m_values[s * m_blocks]))
            ++n;
    return n;
}

float ActivityHeatmap::value(int step, int block) const
{
    if (step < 1 || step > m_steps || block < 0 || block >= m_blocks)
        return std::numeric_limits<float>::quiet_NaN();
    return m_values[(step - 1) * m_blocks + block];
}

QRect ActivityHeatmap::mapRect() const
{
    return rect().adjusted(44, 22, -58, -34);
}

QPair<int, int> ActivityHeatmap::cellAt(const QPoint &pos) const
{
    const QRect r = mapRect();
    if (m_steps == 0 || m_blocks == 0 || !r.contains(pos))
        return {0, -1};
    const int block = qBound(0, (pos.x() - r.left()) * m_blocks / qMax(1, r.width()), m_blocks - 1);
    const int step = qBound(0, (pos.y() - r.top()) * m_steps / qMax(1, r.height()), m_steps - 1) + 1;
    return {step, block};
}

void ActivityHeatmap::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.fillRect(rect(), palette().base());
    const QColor text = palette().color(QPalette::Text);
    p.setPen(text);
    p.drawText(QRect(0, 2, width(), 18), Qt::AlignCenter, tr("block activity |out − in| / |in|"));
    const QRect r = mapRect();
    if (m_steps == 0 || m_blocks == 0 || r.width() < 4 || r.height() < 4) {
        p.drawText(rect(), Qt::AlignCenter, tr("Generate with “Record inside” on to see block activity"));
        return;
    }
    float lo = std::numeric_limits<float>::max(), hi = std::numeric_limits<float>::lowest();
    for (float v : m_values)
        if (!std::isnan(v)) {
            lo = qMin(lo, v);
            hi = qMax(hi, v);
        }
    const float range = hi > lo ? hi - lo : 1.f;
    for (int s = 0; s < m_steps; ++s)
        for (int b = 0; b < m_blocks; ++b) {
            const QRect cell(QPoint(r.left() + b * r.width() / m_blocks, r.top() + s * r.height() / m_steps),
                             QPoint(r.left() + (b + 1) * r.width() / m_blocks - 1,
                                    r.top() + (s + 1) * r.height() / m_steps - 1));
            const float v = m_values[s * m_blocks + b];
            if (std::isnan(v)) {
                p.fillRect(cell, palette().color(QPalette::AlternateBase));
                continue;
            }
            std::uint8_t rgb[3];
            ditstudio::colormapRgb((v - lo) / range, rgb);
            p.fillRect(cell, QColor(rgb[0], rgb[1], rgb[2]));
        }
    if (m_current >= 1 && m_current <= m_steps) {
        const int y0 = r.top() + (m_current - 1) * r.height() / m_steps,
                  y1 = r.top() + m_current * r.height() / m_steps;
        p.setPen(QPen(QColor(0, 220, 255), 2));
        p.setBrush(Qt::NoBrush);
        p.drawRect(QRect(QPoint(r.left() - 1, y0 - 1), QPoint(r.right() + 1, y1)));
    }
    // Axes: blocks along the bottom, steps down the left, a colour bar with the range on the right.
    p.setPen(text);
    QFont f = font();
    f.setPointSizeF(f.pointSizeF() * 0.85);
    p.setFont(f);
    const int xEvery = qMax(1, (m_blocks + 7) / 8), yEvery = qMax(1, (m_steps + 7) / 8);
    for (int b = 0; b < m_blocks; b += xEvery)
        p.drawText(
            QRect(r.left() + b * r.width() / m_blocks - 10, r.bottom() + 2, r.width() / m_blocks + 20, 14),
            Qt::AlignCenter, QString::number(b));
    for (int s = 0; s < m_steps; s += yEvery)
        p.drawText(QRect(0, r.top() + s * r.height() / m_steps - 2, r.left() - 4, 14), Qt::AlignRight,
                   QString::number(s + 1));
    p.drawText(QRect(r.left(), r.bottom() + 16, r.width(), 16), Qt::AlignCenter, tr("block"));
    p.save();
    p.translate(10, r.center().y());
    p.rotate(-90);
    p.drawText(QRect(-40, -8, 80, 16), Qt::AlignCenter, tr("step"));
    p.restore();
    const QRect bar(r.right() + 10, r.top(), 10, r.height());
    for (int y = 0; y < bar.height(); ++y) {
        std::uint8_t rgb[3];
        ditstudio::colormapRgb(1.f - static_cast<float>(y) / qMax(1, bar.height() - 1), rgb);
        p.setPen(QColor(rgb[0], rgb[1], rgb[2]));
        p.drawLine(bar.left(), bar.top() + y, bar.right(), bar.top() + y);
    }
    p.setPen(text);
    if (hi >= lo) {
        p.drawText(QRect(bar.right() + 3, bar.top() - 2, 50, 14), Qt::AlignLeft, QString::number(hi, 'g', 3));
        p.drawText(QRect(bar.right() + 3, bar.bottom() - 12, 50, 14), Qt::AlignLeft,
                   QString::number(lo, 'g', 3));
    }
}

void ActivityHeatmap::mousePressEvent(QMouseEvent *event)
{
    const auto [step, block] = cellAt(event->position().toPoint());
    if (step > 0)
        emit cellClicked(step, block);
}
