#include "generate/noise_chart.h"

#include <QFontMetricsF>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>

#include <cmath>
#include <limits>

namespace {
const QColor kBackground(0x24, 0x26, 0x29);
const QColor kGrid(0x3a, 0x3d, 0x42);
const QColor kText(0x9a, 0x9d, 0xa3);
const QColor kCurve(0x5c, 0xa8, 0xf0);
const QColor kMarker(0xf0, 0xb4, 0x4c);
constexpr double kFloor = 1e-4; // sigma 0 (the final step of some samplers) is drawn at the floor
} // namespace

NoiseChart::NoiseChart(QWidget *parent) : QWidget(parent)
{
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    setMinimumHeight(60);
    setMaximumHeight(110);
    setToolTip(tr("Noise level σ per step (log scale). Click to show a step."));
}

void NoiseChart::reset(int totalSteps)
{
    m_total = qMax(0, totalSteps);
    m_current = 0;
    m_sigma = QVector<double>(m_total, std::numeric_limits<double>::quiet_NaN());
    update();
}

void NoiseChart::setSigma(int step, double sigma)
{
    if (step < 1)
        return;
    if (step > m_total) { // a run reporting more steps than announced: grow
        m_total = step;
        m_sigma.resize(m_total, std::numeric_limits<double>::quiet_NaN());
    }
    m_sigma[step - 1] = sigma;
    update();
}

void NoiseChart::setCurrentStep(int step)
{
    if (step == m_current)
        return;
    m_current = step;
    update();
}

double NoiseChart::sigma(int step) const
{
    return step >= 1 && step <= m_sigma.size() ? m_sigma[step - 1] : std::numeric_limits<double>::quiet_NaN();
}

QRectF NoiseChart::plotRect() const
{
    // Left margin for the decade labels, a little room for the axis caption at the bottom.
    return QRectF(rect()).adjusted(38, 6, -8, -16);
}

int NoiseChart::stepAt(double x) const
{
    const QRectF plot = plotRect();
    if (m_total < 1 || plot.width() <= 0)
        return 0;
    const double f = (x - plot.left()) / plot.width();
    return qBound(1, 1 + static_cast<int>(std::lround(f * (m_total - 1))), m_total);
}

void NoiseChart::mousePressEvent(QMouseEvent *event)
{
    if (event->button() == Qt::LeftButton)
        if (const int step = stepAt(event->position().x()); step > 0)
            emit stepPicked(step);
}

void NoiseChart::mouseMoveEvent(QMouseEvent *event)
{
    if (event->buttons() & Qt::LeftButton)
        if (const int step = stepAt(event->position().x()); step > 0)
            emit stepPicked(step);
}

void NoiseChart::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    p.fillRect(rect(), kBackground);
    QFont small = font();
    small.setPointSizeF(qMax(6.5, small.pointSizeF() * 0.8));
    p.setFont(small);
    const QRectF plot = plotRect();

    // The y range: the decades spanned by the known sigmas.
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (double s : m_sigma)
        if (!std::isnan(s)) {
            const double v = std::log10(qMax(s, kFloor));
            lo = qMin(lo, v);
            hi = qMax(hi, v);
        }
    p.setPen(kText);
    p.drawText(QRectF(plot.left(), plot.bottom() + 2, plot.width(), 14), Qt::AlignCenter,
               m_total > 0 ? tr("noise level σ per step (log)") : tr("noise level σ per step"));
    if (!std::isfinite(lo) || m_total < 1) {
        p.setPen(kGrid);
        p.drawRect(plot);
        return;
    }
    lo = std::floor(lo);
    hi = std::ceil(hi);
    if (hi - lo < 1)
        hi = lo + 1;
    auto yOf = [&](double s) {
        return plot.bottom() - (std::log10(qMax(s, kFloor)) - lo) / (hi - lo) * plot.height();
    };
    auto xOf = [&](int step) {
        return m_total == 1 ? plot.center().x() : plot.left() + (step - 1) * plot.width() / (m_total - 1);
    };

    // Decade grid with labels 10^k.
    const int decades = static_cast<int>(hi - lo);
    // Label every decade that leaves room for the text (about 1.3 lines apart).
    const double decadePx = plot.height() / qMax(1, decades);
    const int labelEvery
        = qMax(1, static_cast<int>(std::ceil(QFontMetricsF(small).height() * 1.3 / decadePx)));
    for (int k = static_cast<int>(lo); k <= static_cast<int>(hi); ++k) {
        const double y = plot.bottom() - (k - lo) / (hi - lo) * plot.height();
        p.setPen(kGrid);
        p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y));
        if ((k - static_cast<int>(lo)) % labelEvery == 0) {
            p.setPen(kText);
            const QString label = k == 0 ? QStringLiteral("1") : QStringLiteral("1e%1").arg(k);
            p.drawText(QRectF(0, y - 7, plot.left() - 4, 14), Qt::AlignRight | Qt::AlignVCenter, label);
        }
    }
    p.setPen(kGrid);
    p.drawRect(plot);

    // The curve over the known steps (gaps where a step is unknown).
    QPainterPath path;
    bool pen = false;
    for (int i = 1; i <= m_total; ++i) {
        const double s = m_sigma[i - 1];
        if (std::isnan(s)) {
            pen = false;
            continue;
        }
        const QPointF pt(xOf(i), yOf(s));
        if (pen)
            path.lineTo(pt);
        else
            path.moveTo(pt);
        pen = true;
    }
    p.setPen(QPen(kCurve, 1.6));
    p.drawPath(path);

    // The current step: a vertical line and a dot on the curve.
    if (m_current >= 1 && m_current <= m_total) {
        const double x = xOf(m_current);
        p.setPen(QPen(kMarker, 1, Qt::DashLine));
        p.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()));
        const double s = m_sigma[m_current - 1];
        if (!std::isnan(s)) {
            p.setPen(Qt::NoPen);
            p.setBrush(kMarker);
            p.drawEllipse(QPointF(x, yOf(s)), 3.5, 3.5);
        }
    }
}
