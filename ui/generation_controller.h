#pragma once
/// \file generation_controller.h
/// GUI-side handle of one model: owns a long-lived QThread and the GenerationWorker (and thus the
/// ditstudio::Engine) that lives on it. All public functions are called on the GUI thread and
/// return at once; results arrive as signals on the GUI thread.
///
/// Jobs run one at a time in the order requested (a load queued behind a generation waits for it).
/// cancel() sets the running job's atomic token directly, so it takes effect at the next sampling
/// step even while the worker is busy. The destructor cancels, quits the thread and waits for it.

#include "generation_types.h"

#include "ditstudio/cancel_token.h"
#include "ditstudio/engine.h"

#include <QList>
#include <QObject>
#include <QString>
#include <QThread>

class GenerationWorker;

class GenerationController : public QObject
{
    Q_OBJECT

public:
    enum class CancelMode {
        Now,             ///< stop at the next sampling step
        AfterCurrentItem ///< let the image being sampled finish, skip the job's remaining images
    };

    explicit GenerationController(QObject *parent = nullptr);
    ~GenerationController() override;
    GenerationController(const GenerationController &) = delete;
    GenerationController &operator=(const GenerationController &) = delete;

    /// Load a checkpoint file or diffusers folder (replaces the model on success).
    void loadModel(const QString &path);
    /// Load with a VAE, device and precision; spec.path empty loads the embedded default model.
    void loadModel(const ModelLoadSpec &spec);
    /// Load the embedded default model; loadFailed when it is not installed.
    void loadDefaultModel();
    /// Queue a generation of one image per seed (seeds empty: one image with request.seed) and
    /// return its job id (never 0). Refused with 0 while another job is still running: one job at
    /// a time keeps cancel() unambiguous.
    quint64 generate(const ditstudio::GenerateRequest &request, const QList<quint64> &seeds = {});
    /// Cancel the running job, if any (it ends with one finished(Cancelled), or Completed when
    /// AfterCurrentItem arrives during its last image). Safe to call any time. A later Now
    /// upgrades an AfterCurrentItem request.
    void cancel(CancelMode mode = CancelMode::Now);
    /// Ask the worker to match a prompt against the model's classes (answered by promptChecked,
    /// after any job ahead of it in the queue).
    void checkPrompt(const QString &prompt);

    bool isBusy() const { return m_activeJob != 0; }
    bool isLoading() const { return m_pendingLoads > 0; }
    /// True once a cancel was requested for the running job.
    bool isCancelling() const { return m_activeJob != 0 && m_cancel.isCancelRequested(); }
    /// True once a model loaded; a later failed load keeps the previous model.
    bool hasModel() const { return m_hasModel; }
    const ModelSummary &model() const { return m_model; }

signals:
    void modelLoaded(const ModelSummary &model);
    void loadFailed(const QString &message);
    void itemStarted(int index, int count, quint64 seed, const QString &conditioning);
    void stepFinished(int step, int total, double timestep, double sigma, double elapsedSeconds);
    void previewReady(const QImage &xt, const QImage &x0, int step);
    void probesReady(const InsideProbes &probes, int step);
    /// Exactly once per job id returned by generate().
    /// One image of a job is done (emitted for each image, before the job's finished()).
    void itemFinished(quint64 jobId, const QImage &image, quint64 seed, double seconds, const QString &conditioning);
    void finished(const GenerationOutcome &outcome);
    void promptChecked(const PromptCheck &check);
    /// Emitted when isBusy(), isLoading() or isCancelling() changes.
    void stateChanged();

private:
    void onModelLoaded(const ModelSummary &model);
    void onLoadFailed(const QString &message);
    void onFinished(const GenerationOutcome &outcome);

    QThread m_thread;
    GenerationWorker *m_worker = nullptr; // lives on m_thread; deleted after the thread stopped
    ditstudio::CancelToken m_cancel;      // token of the active job (copies share the flag)
    quint64 m_nextJob = 1;
    quint64 m_activeJob = 0;
    int m_pendingLoads = 0;
    bool m_hasModel = false;
    ModelSummary m_model;
};
