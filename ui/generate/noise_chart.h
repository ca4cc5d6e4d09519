#pragma once
/// \file noise_chart.h
/// A small chart of the noise level sigma per sampling step (log scale), with the step shown in
/// the preview marked. Painted by hand: one polyline, decade grid lines, a marker. Clicking or
/// dragging picks a step (stepPicked).

#include <QVector>
#include <QWidget>

class NoiseChart : public QWidget {
    Q_OBJECT

public:
    explicit NoiseChart(QWidget *parent = nullptr);

    /// Start a new run with this many steps (clears the curve).
    void reset(int totalSteps);
    /// sigma after step (1-based); steps may arrive in any order, unknown ones are not drawn.
    void setSigma(int step, double sigma);
    void setCurrentStep(int step);
    int currentStep() const { return m_current; }
    int totalSteps() const { return m_total; }
    /// The stored sigma of a step (NaN when unknown).
    double sigma(int step) const;

    QSize sizeHint() const override { return {320, 84}; }
    QSize minimumSizeHint() const override { return {120, 60}; }

signals:
    void stepPicked(int step);

protected:
    void paintEvent(QPaintEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;

private:
    QRectF plotRect() const;
    int stepAt(double x) const;

    int m_total = 0;
    int m_current = 0;
    QVector<double> m_sigma; ///< index step-1; NaN = not known yet
};
