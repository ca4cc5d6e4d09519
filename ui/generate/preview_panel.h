#pragma once
/// \file preview_panel.h
/// The centre of the window: the live x_t / predicted-x0 previews (one of them or side by side),
/// a timeline scrubber over every step of the current run, and the noise-level chart with the
/// shown step marked. While "live" the newest step is shown; moving the scrubber back pins the view
/// to that step (the run continues), moving it to the end follows the run again.

#include "generate/step_timeline.h"

#include <QImage>
#include <QWidget>

class ImageView;
class NoiseChart;
class QButtonGroup;
class QLabel;
class QSlider;
class QToolButton;

class PreviewPanel : public QWidget {
    Q_OBJECT

public:
    enum class ViewMode { Xt = 0, X0 = 1, SideBySide = 2 };

    explicit PreviewPanel(QWidget *parent = nullptr);

    /// A new image is being sampled with totalSteps steps: clears the timeline and the chart.
    void beginRun(int totalSteps, const QString &title);
    /// Step progress (1-based step); previews may come separately (addPreview) or be absent.
    void addStep(int step, double timestep, double sigma);
    void addPreview(int step, const QImage &xt, const QImage &x0);
    /// The run's final image (shown in the x0 view and, after the last step, as x_t too).
    void finishRun(const QImage &result);
    /// Show a still image (history entry, opened file): clears the timeline.
    void showStill(const QImage &image, const QString &title, const QString &detail = {});
    /// True while a finished image (history, opened file) is shown instead of a run's steps.
    bool isShowingStill() const { return m_still; }

    void setViewMode(ViewMode mode);
    /// Zoom of both image panes (linked: they always show the same region).
    void setFitMode(int mode); ///< an ImageView::FitMode
    void zoomIn();
    void zoomOut();
    void setSmoothing(bool on);
    ViewMode viewMode() const { return m_mode; }
    /// Show a stored step (what the scrubber does); returns false when no frame is stored.
    bool showStep(int step);
    /// The step currently shown (0: none / a still image).
    int shownStep() const { return m_shownStep; }
    bool isFollowingLive() const { return m_followLive; }
    const StepTimeline &timeline() const { return m_timeline; }
    ImageView *xtView() const { return m_xtView; }
    ImageView *x0View() const { return m_x0View; }

signals:
    void viewModeChanged(ViewMode mode);
    /// The step shown changed (scrubber, live follow, a new run: 0 = none); the Inside view follows it.
    void shownStepChanged(int step);

private:
    void updateSlider();
    void updateStepLabel();

    StepTimeline m_timeline;
    QVector<double> m_timesteps; ///< per step (index step-1), for the label even without a frame
    ViewMode m_mode = ViewMode::SideBySide;
    int m_shownStep = 0;
    int m_announcedStep = -1; ///< last step sent with shownStepChanged
    int m_lastStep = 0;
    bool m_followLive = true;
    bool m_updatingSlider = false;

    QButtonGroup *m_modeGroup = nullptr;
    QWidget *m_xtColumn = nullptr;
    QLabel *m_xtCaption = nullptr;
    QButtonGroup *m_zoomGroup = nullptr;
    QLabel *m_x0Caption = nullptr;
    bool m_still = false;
    void setStill(bool still, const QString &detail = {});
    QWidget *m_x0Column = nullptr;
    ImageView *m_xtView = nullptr;
    ImageView *m_x0View = nullptr;
    QLabel *m_title = nullptr;
    QSlider *m_slider = nullptr;
    QLabel *m_stepLabel = nullptr;
    QToolButton *m_liveButton = nullptr;
    NoiseChart *m_chart = nullptr;
};
