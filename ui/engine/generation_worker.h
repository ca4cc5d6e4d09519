#pragma once
/// \file generation_worker.h
/// The QObject that owns the engine (an EngineSession from the module) and does all engine work. It lives on
/// the GenerationController's QThread; its slots are invoked there (queued) and its signals reach the GUI
/// thread queued. Never call its slots directly from another thread.

#include "engine/generation_types.h"

#include "ditstudio/cancel_token.h"

#include "ditstudio/engine.h"

#include <QList>
#include <QObject>
#include <QString>

#include <memory>

class GenerationWorker : public QObject {
    Q_OBJECT

public:
    explicit GenerationWorker(QObject *parent = nullptr);
    ~GenerationWorker() override;

    /// Load a checkpoint file or diffusers folder (spec.path empty: the embedded default) with the
    /// spec's VAE, device and precision; emits modelLoaded or loadFailed. A failed load leaves the
    /// previously loaded model in place.
    void loadModel(const ModelLoadSpec &spec);
    /// Run one job: one image per seed, one after the other. Emits itemStarted per image,
    /// stepFinished and previewReady per step, then finished exactly once. The token is shared with
    /// the controller, which cancels it from the GUI thread: Now stops at the next step,
    /// AfterCurrentItem lets the running image finish and skips the rest.
    void generate(quint64 jobId, const ditstudio::GenerateRequest &request, const QList<quint64> &seeds,
                  const ditstudio::CancelToken &cancel);
    /// Match a prompt against the loaded model's classes; emits promptChecked.
    void checkPrompt(const QString &prompt);
    /// Run an engine task (an edit, a film, ...) on this thread with the loaded model's engine;
    /// emits jobProgress / jobPreview while it runs and taskFinished exactly once. A task whose
    /// token was cancelled before it started does not run (taskFinished(Cancelled)).
    void runTask(quint64 jobId, const EngineTask &task, const ditstudio::CancelToken &cancel);

signals:
    void modelLoaded(const ModelSummary &model);
    void loadFailed(const QString &message);
    void itemStarted(int index, int count, quint64 seed, const QString &conditioning);
    /// step counts finished steps from 1 to total; timestep is the model's (1000-step) timestep,
    /// sigma the noise level sqrt((1 - abar) / abar) at it.
    void stepFinished(int step, int total, double timestep, double sigma, double elapsedSeconds);
    /// Previews of the current image after step (1-based): the current sample and predicted x0.
    void previewReady(const QImage &xt, const QImage &x0, int step);
    /// What the request's probes recorded at step (1-based), after previewReady of that step.
    void probesReady(const InsideProbes &probes, int step);
    void itemFinished(quint64 jobId, const QImage &image, quint64 seed, double seconds,
                      const QString &conditioning);
    void finished(const GenerationOutcome &outcome);
    void promptChecked(const PromptCheck &check);
    void jobProgress(quint64 jobId, int done, int total, const QString &stage);
    void jobPreview(quint64 jobId, const QImage &image);
    void taskFinished(quint64 jobId, const JobResult &result);

private:
    /// The engine, made on this thread on first use; null when the engine module is missing.
    ditstudio::EngineSession *engine();

    std::unique_ptr<ditstudio::EngineSession> m_engine;
    ModelLoadSpec m_spec; ///< how the current model was loaded
};
