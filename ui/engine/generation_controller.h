#pragma once
/// \file generation_controller.h
/// GUI-side handle of the one loaded model: owns a long-lived QThread and the GenerationWorker (and
/// thus the one ditstudio::Engine) that lives on it, and the queue of every kind of engine work.
/// All public functions are called on the GUI thread and return at once; results arrive as signals
/// on the GUI thread.
///
/// Every kind of work is a job in one queue (Krita AI Diffusion's JobQueue, KDE's KJob): generate()
/// and submit() add one and return its id. Jobs run one at a time in the order submitted, on the
/// model that is loaded when they run (the model is never reloaded for a job); a load queued behind
/// a job waits for it. Each job has a kind, a state (queued, running, finished, cancelled, failed),
/// progress, its own cancel token, and ends with jobFinished exactly once (generate jobs also with
/// finished(GenerationOutcome)). cancel()/cancelJob() set the token directly from the GUI thread, so
/// a cancel takes effect at the next sampling step even while the worker is busy; a queued job that
/// is cancelled never runs. The destructor cancels every job, quits the thread and waits for it.
///
///     GenerationController engine;
///     engine.loadDefaultModel();                       // -> modelLoaded
///     const quint64 id = engine.submit(JobKind::EditImage, "img2img", task); // -> jobFinished(info)
///     engine.cancelJob(id);

#include "engine/generation_types.h"

#include "ditstudio/cancel_token.h"
#include "ditstudio/engine.h"

#include <QList>
#include <QObject>
#include <QString>
#include <QThread>

class GenerationWorker;

class GenerationController : public QObject {
    Q_OBJECT

public:
    /// The engine's own cancel modes: Now stops at the next sampling step, AfterCurrentItem lets
    /// the image being sampled finish and skips the job's remaining images.
    using CancelMode = ditstudio::CancelToken::Mode;

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
    /// return its job id (never 0). It runs after the jobs queued before it and ends with one
    /// finished(GenerationOutcome) and one jobFinished.
    quint64 generate(const ditstudio::GenerateRequest &request, const QList<quint64> &seeds = {},
                     const QString &title = {});
    /// Queue an engine task (an edit, a film, ...; see EngineTask) and return its job id (never 0).
    /// Its progress arrives as jobProgress/jobPreview and its end as jobFinished exactly once.
    quint64 submit(JobKind kind, const QString &title, const EngineTask &task);
    /// Cancel the running job, if any (it ends with one finished(Cancelled), or Completed when
    /// AfterCurrentItem arrives during its last image). Safe to call any time. A later Now
    /// upgrades an AfterCurrentItem request.
    void cancel(CancelMode mode = CancelMode::Now);
    /// Cancel one job: a queued one ends at once (Cancelled, it never runs), a running one at its
    /// next step. Unknown or ended ids are ignored.
    void cancelJob(quint64 jobId, CancelMode mode = CancelMode::Now);
    /// Ask the worker to match a prompt against the model's classes (answered by promptChecked,
    /// after any job ahead of it in the queue).
    void checkPrompt(const QString &prompt);

    /// True while a job runs or waits in the queue.
    bool isBusy() const { return runningJob() != 0 || !m_queue.isEmpty(); }
    /// The running job's id (0: none).
    quint64 runningJob() const { return m_running.info.id; }
    /// The jobs that wait and run (in queue order, the running one first), then the last ended ones
    /// (newest first, at most kRecentJobs).
    QList<JobInfo> jobs() const;
    /// The job's current record (id 0 when unknown).
    JobInfo job(quint64 jobId) const;
    /// How many jobs run or wait before this one (0: it runs now or next; -1: not queued).
    int jobsAhead(quint64 jobId) const;
    static constexpr int kRecentJobs = 20;
    bool isLoading() const { return m_pendingLoads > 0; }
    /// True once a cancel was requested for the running job.
    bool isCancelling() const { return runningJob() != 0 && m_running.cancel.isCancelRequested(); }
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
    void itemFinished(quint64 jobId, const QImage &image, quint64 seed, double seconds,
                      const QString &conditioning);
    void finished(const GenerationOutcome &outcome);
    void promptChecked(const PromptCheck &check);
    /// Emitted when isBusy(), isLoading() or isCancelling() changes.
    void stateChanged();
    /// A job was queued, started, progressed or ended (the queue view's feed).
    void jobChanged(const JobInfo &info);
    /// An engine task's progress and previews (see JobContext).
    void jobProgress(quint64 jobId, int done, int total, const QString &stage);
    void jobPreview(quint64 jobId, const QImage &image);
    /// Exactly once per job of any kind, after its kind's own outcome signal.
    void jobFinished(const JobInfo &info);

private:
    struct Job {
        JobInfo info;
        ditstudio::GenerateRequest request; // Generate
        QList<quint64> seeds; // Generate
        EngineTask task; // the other kinds
        ditstudio::CancelToken cancel; // this job's own flag (copies share it)
    };

    quint64 enqueue(Job job);
    void dispatchNext();
    void endJob(JobInfo info);
    void onModelLoaded(const ModelSummary &model);
    void onLoadFailed(const QString &message);
    void onFinished(const GenerationOutcome &outcome);
    void onTaskFinished(quint64 jobId, const JobResult &result);
    void onProgress(quint64 jobId, int done, int total, const QString &stage);

    QThread m_thread;
    GenerationWorker *m_worker = nullptr; // lives on m_thread; deleted after the thread stopped
    Job m_running; // the running job (info.id 0: none); its token is what cancel() sets
    QList<Job> m_queue; // waiting, in order
    QList<JobInfo> m_recent; // ended, newest first
    quint64 m_nextJob = 1;
    int m_runningItem = 0; // image index within the running generation
    int m_pendingLoads = 0;
    bool m_hasModel = false;
    ModelSummary m_model;
};
