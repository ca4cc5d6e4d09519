#pragma once
/// \file generation_worker.h
/// The QObject that owns the ditstudio::Engine and does all engine work. It lives on the
/// GenerationController's QThread; its slots are invoked there (queued) and its signals reach the
/// GUI thread queued. Never call its slots directly from another thread.

#include "generation_types.h"

#include "ditstudio/cancel_token.h"
#include "ditstudio/engine.h"

#include <QObject>
#include <QString>

class GenerationWorker : public QObject
{
    Q_OBJECT

public:
    explicit GenerationWorker(QObject *parent = nullptr);
    ~GenerationWorker() override;

    /// Load a checkpoint file or diffusers folder; emits modelLoaded or loadFailed.
    /// A failed load leaves the previously loaded model in place.
    void loadModel(const QString &path);
    /// Load the embedded default model; emits loadFailed when it is not installed.
    void loadDefaultModel();
    /// Run one job; emits stepFinished and previewReady per step, then finished exactly once.
    /// The token is shared with the controller, which cancels it from the GUI thread.
    void generate(quint64 jobId, const ditstudio::GenerateRequest &request, const ditstudio::CancelToken &cancel);

signals:
    void modelLoaded(const ModelSummary &model);
    void loadFailed(const QString &message);
    /// step counts finished steps from 1 to total; timestep is the model's (1000-step) timestep.
    void stepFinished(int step, int total, double timestep, double elapsedSeconds);
    /// Previews of the first batch item after step (1-based): the current sample and predicted x0.
    void previewReady(const QImage &xt, const QImage &x0, int step);
    void finished(const GenerationOutcome &outcome);

private:
    void reportLoad(const ditstudio::Result<ditstudio::CheckpointInfo> &result);
    QString parametersText(const ditstudio::GenerateRequest &request, const QString &conditioning,
                           int imageSize) const;

    ditstudio::Engine m_engine;
};
