#pragma once
/// \file generation_runner.h
/// A generation as the window shows it, from the Generate button to the last image.
///
///     auto *runner = new GenerationRunner(controller, panel, prompts, preview, inside, recorder, window);
///     runner->start();                 // what Generate does; false (with the reason shown) if not
///     runner->result().image;          // the last finished image

#include "engine/generation_controller.h"
#include "generate/generation_settings.h"
#include "history/history_recorder.h"

#include <QElapsedTimer>
#include <QImage>
#include <QList>
#include <QObject>
#include <QPair>
#include <QString>

class GeneratePanel;
struct HistoryEntry;
class InsidePanel;
class PreviewPanel;
class PromptChecker;
class QAction;
class QProgressBar;
class QWidget;

/// Owns the running job's presentation and the Generation menu's actions (Generate, Stop now, Stop
/// after the current image, tied to the panel's buttons): it starts a run from the panel's settings
/// (with the Inside view's probes when it records), follows it step by step in the preview, the
/// Inside view and the progress bar (with its ETA), records each finished image through the
/// HistoryRecorder, and reports the outcome. It also runs the Inside view's intervention re-runs of
/// the last result (never recorded), and keeps the last result and the last batch.
class GenerationRunner : public QObject {
    Q_OBJECT
public:
    GenerationRunner(GenerationController *controller, GeneratePanel *panel, PromptChecker *prompts,
                     PreviewPanel *preview, InsidePanel *inside, HistoryRecorder *recorder, QWidget *window);

    /// Under the preview (objectName "progress"): the run's steps, ETA and outcome.
    QProgressBar *progressBar() const { return m_progress; }
    /// Generation menu: Generate, Stop now, Stop after the current image.
    QList<QAction *> actions() const { return {m_generateAction, m_cancelAction, m_cancelAfterAction}; }
    /// Generate can be pressed now.
    bool canGenerate() const;
    /// Enable the actions and buttons for the controller's state.
    void updateActions();

    /// The Generate panel's current values (with the loaded model's identity).
    GenerationSettings currentSettings() const;
    /// What Generate does. Returns false when nothing was started (no model, busy, empty or
    /// invalid prompt: the reason is shown inline).
    bool start();
    /// Cancel the running generation, if any (Now: at the next step; AfterCurrentItem: after the
    /// current image).
    void cancel(GenerationController::CancelMode mode = GenerationController::CancelMode::Now);
    /// Re-run the last result with interventions (same settings and seed), for the Inside view.
    void startIntervention(const ditstudio::Interventions &interventions, const QString &description);
    /// Show a history image in the preview (not while a run owns it).
    void showHistoryEntry(const HistoryEntry &entry);

    /// The last finished image of a run (null image before the first one).
    const FinishedImage &result() const { return m_result; }
    /// The last run's images with captions, and its prompt (the grid view's title).
    QList<QPair<QImage, QString>> lastBatch() const { return m_lastBatch; }
    QString lastBatchTitle() const { return m_jobSettings.prompt; }

signals:
    void statusMessage(const QString &text, int timeoutMs);
    /// A run was started (after its job was queued).
    void runStarted();
    /// A run's image or outcome arrived: what can be done (saving, generating) may have changed.
    void changed();

private:
    void onItemStarted(int index, int count, quint64 seed, const QString &conditioning);
    void onStepFinished(int step, int total, double timestep, double sigma, double elapsedSeconds);
    void onPreviewReady(const QImage &xt, const QImage &x0, int step);
    void onItemFinished(quint64 jobId, const QImage &image, quint64 seed, double seconds,
                        const QString &conditioning);
    void onFinished(const GenerationOutcome &outcome);
    void onInterventionFinished(const GenerationOutcome &outcome);

    GenerationController *m_controller;
    GeneratePanel *m_panel;
    PromptChecker *m_prompts;
    PreviewPanel *m_preview;
    InsidePanel *m_inside;
    HistoryRecorder *m_recorder;
    QWidget *m_window;
    QProgressBar *m_progress;
    QAction *m_generateAction;
    QAction *m_cancelAction;
    QAction *m_cancelAfterAction;

    // The running job.
    GenerationSettings m_jobSettings;
    int m_jobItem = 0;
    int m_jobItems = 0;
    QElapsedTimer m_jobTimer;
    quint64 m_interventionJob = 0; ///< an Inside-view re-run: its job id

    FinishedImage m_result;
    QList<QPair<QImage, QString>> m_lastBatch; ///< the last job's images with captions (grid view)
};
