#pragma once
/// \file activity_heatmap.h
/// Block activity |block out - block in| / |block in| as a step x block heat map (rows = steps, the
/// first and noisiest on top; columns = blocks), in the colour map of inside.h, with the step shown in
/// the preview outlined. Clicking a cell picks that step and block (cellClicked).

#include <QVector>
#include <QWidget>

class ActivityHeatmap : public QWidget {
    Q_OBJECT

public:
    explicit ActivityHeatmap(QWidget *parent = nullptr);

    /// Start a run: totalSteps rows, blocks columns (clears the values).
    void reset(int totalSteps, int blocks);
    /// The activity of every block at step (1-based).
    void setStep(int step, const QVector<float> &perBlock);
    void setCurrentStep(int step);
    int stepsWithData() const;
    float value(int step, int block) const; ///< NaN when unknown
    /// The step and block under a widget position (step 0: none).
    QPair<int, int> cellAt(const QPoint &pos) const;

    QSize sizeHint() const override { return {360, 260}; }
    QSize minimumSizeHint() const override { return {160, 120}; }

signals:
    void cellClicked(int step, int block);

protected:
    void paintEvent(QPaintEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;

private:
    QRect mapRect() const;

    int m_steps = 0;
    int m_blocks = 0;
    int m_current = 0;
    QVector<float> m_values; ///< [steps * blocks], NaN = unknown
};
