#pragma once
/// \file inside_panel.h
/// The "Inside" view: what the transformer does while it samples, from the probes the engine records
/// per step (probes.h), linked to the preview's step scrubber:
/// - the attention of a clicked patch over the image for a chosen block and head, the mean over heads
///   or the attention rollout over blocks, overlaid on x̂₀ or x_t;
/// - the guidance map |eps_cond − eps_uncond| overlaid on the image;
/// - a step x block heat map of block activity, and curves of the adaLN gates/scales per block;
/// - interventions (switch off a head, skip a block, zero a gate) re-run with the same seed, shown
///   before/after with the PSNR between them;
/// - export of a process sheet (rows = steps: x_t, x̂₀, guidance, attention of the patch).
/// All data arrives as values on the GUI thread; nothing here waits on the engine.

#include "engine/generation_types.h"

#include "ditstudio/probes.h"

#include <QImage>
#include <QVector>
#include <QWidget>

class ActivityHeatmap;
class InsideMapView;
class QCheckBox;
class QComboBox;
class QLabel;
class QListWidget;
class QPushButton;
class QSlider;
class QSpinBox;
class QStackedWidget;
class QChartView;

class InsidePanel : public QWidget {
    Q_OBJECT

public:
    enum class View { Attention = 0, Guidance = 1, Activity = 2, Adaln = 3 };
    enum class Base { X0 = 0, Xt = 1 };
    /// The head combo's special entries (heads are 0..H-1).
    static constexpr int kHeadMean = -1;
    static constexpr int kRollout = -2;

    explicit InsidePanel(QWidget *parent = nullptr);

    /// The model the next runs use (block and head lists, the token grid).
    void setModel(const ModelSummary &model);
    /// Record probes in the next runs ("Record inside while sampling").
    bool isRecording() const;
    void setRecording(bool on);
    /// Probes for a run of `steps` steps of the current model within the memory budget: full
    /// attention when it fits, else head means, else head means of every few blocks.
    ditstudio::ProbeOptions probeOptions(int steps) const;

    void beginRun(int totalSteps, const QString &title);
    void addPreview(int step, const QImage &xt, const QImage &x0);
    /// The model's timestep at step (for the process sheet's row labels).
    void setTimestep(int step, double timestep);
    void addProbes(int step, const InsideProbes &probes);
    /// The run's final image (the "before" of an intervention).
    void finishRun(const QImage &result);
    /// Follow the preview's scrubber (0: the latest step).
    void showStep(int step);
    int shownStep() const { return m_shownStep; }
    int storedSteps() const;

    void setView(View view);
    View view() const;
    void setBlock(int block);
    void setHead(int head); ///< 0..H-1, kHeadMean or kRollout
    void setBase(Base base);
    void selectToken(int token);
    int selectedToken() const { return m_token; }
    /// The picture the map view shows now (attention or guidance over the image).
    QImage currentMap() const;
    /// The attention map (values per token) now shown; empty when unavailable.
    QVector<float> currentAttention() const { return m_lastAttention; }
    QString statusText() const;

    /// Interventions queued in the list (what "Re-run" sends).
    ditstudio::Interventions interventions() const { return m_interventions; }
    void addIntervention(const QString &kind, int block, int head);
    void clearInterventions();
    /// Ask for a re-run of the last finished run with the interventions (interventionRequested).
    bool requestRerun();
    /// The re-run finished: before (the last run's result) and after, side by side with their PSNR.
    void showInterventionResult(const QImage &after);
    void interventionFailed(const QString &message);
    double lastPsnr() const { return m_lastPsnr; }

    /// The process sheet: rows = steps (up to maxRows, evenly spaced), columns = x_t, x̂₀, guidance map,
    /// attention of the selected patch in the chosen block. Null without a recorded run.
    QImage processSheet(int maxRows = 12) const;
    /// Write the process sheet as PNG atomically; false with a message on failure.
    bool exportProcessSheet(const QString &path, QString *error);
    /// Frames of the run with the current overlay (attention or guidance) next to x̂₀, one per step.
    QList<QImage> overlayFrames() const;

signals:
    void interventionRequested(const ditstudio::Interventions &interventions, const QString &description);
    void exportFilmRequested();
    void recordingChanged(bool on);

private:
    struct Frame {
        QImage xt, x0;
        InsideProbes probes;
        double timestep = -1;
    };
    const Frame *frameFor(int step) const;
    int effectiveStep() const;
    void refresh();
    void refreshAdalnChart();
    QImage baseImage(const Frame &f) const;
    QImage attentionImage(const Frame &f, int step, QVector<float> *values) const;
    QImage guidanceImage(const Frame &f) const;
    void updateControls();
    void exportSheetDialog();

    ModelSummary m_model;
    QVector<Frame> m_frames; ///< index step - 1
    int m_totalSteps = 0;
    int m_shownStep = 0;
    int m_token = -1;
    QImage m_runResult; ///< the last finished run's image (before)
    ditstudio::Interventions m_interventions;
    QStringList m_interventionText;
    QVector<float> m_lastAttention;
    double m_lastPsnr = 0;

    QCheckBox *m_record = nullptr;
    QComboBox *m_view = nullptr;
    QComboBox *m_block = nullptr;
    QComboBox *m_head = nullptr;
    QComboBox *m_base = nullptr;
    QComboBox *m_chunk = nullptr;
    QSlider *m_opacity = nullptr;
    QStackedWidget *m_stack = nullptr;
    InsideMapView *m_map = nullptr;
    ActivityHeatmap *m_activity = nullptr;
    QChartView *m_chartView = nullptr;
    QLabel *m_status = nullptr;
    QComboBox *m_ivKind = nullptr;
    QSpinBox *m_ivBlock = nullptr;
    QSpinBox *m_ivHead = nullptr;
    QListWidget *m_ivList = nullptr;
    QPushButton *m_rerun = nullptr;
    QLabel *m_before = nullptr;
    QLabel *m_after = nullptr;
    QLabel *m_psnr = nullptr;
};
