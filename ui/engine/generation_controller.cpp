#include "engine/generation_controller.h"

#include "engine/generation_worker.h"

#include <QMetaObject>

namespace {

// Images of a generation job: one per seed, or one with the request's seed when seeds is empty.
int itemCount(const QList<quint64> &seeds)
{
    return seeds.isEmpty() ? 1 : static_cast<int>(seeds.size());
}

} // namespace

GenerationController::GenerationController(QObject *parent) : QObject(parent), m_worker(new GenerationWorker)
{
    qRegisterMetaType<ModelSummary>();
    qRegisterMetaType<ModelLoadSpec>();
    qRegisterMetaType<GenerationOutcome>();
    qRegisterMetaType<PromptCheck>();
    qRegisterMetaType<InsideProbes>();
    qRegisterMetaType<JobInfo>();
    qRegisterMetaType<JobResult>();
    qRegisterMetaType<EngineTask>();

    m_thread.setObjectName(QStringLiteral("GenerationWorker"));
    m_worker->moveToThread(&m_thread);

    // Worker -> controller: queued (the worker lives on m_thread). Progress signals are forwarded
    // as they are; the outcome and load results pass through the controller to update its state.
    connect(m_worker, &GenerationWorker::itemStarted, this, &GenerationController::itemStarted);
    connect(m_worker, &GenerationWorker::stepFinished, this, &GenerationController::stepFinished);
    // The queue view's progress of a generation: steps over all of its images.
    connect(m_worker, &GenerationWorker::itemStarted, this, [this](int index, int count) {
        if (runningJob() != 0 && m_running.info.kind == JobKind::Generate) {
            m_runningItem = index;
            m_running.info.stage = tr("image %1 of %2").arg(index + 1).arg(count);
        }
    });
    connect(m_worker, &GenerationWorker::stepFinished, this, [this](int step, int total) {
        if (runningJob() == 0 || m_running.info.kind != JobKind::Generate)
            return;
        const int items = itemCount(m_running.seeds);
        m_running.info.done = m_runningItem * total + step;
        m_running.info.total = total * items;
        emit jobChanged(m_running.info);
    });
    connect(m_worker, &GenerationWorker::previewReady, this, &GenerationController::previewReady);
    connect(m_worker, &GenerationWorker::probesReady, this, &GenerationController::probesReady);
    connect(m_worker, &GenerationWorker::promptChecked, this, &GenerationController::promptChecked);
    connect(m_worker, &GenerationWorker::modelLoaded, this, &GenerationController::onModelLoaded);
    connect(m_worker, &GenerationWorker::loadFailed, this, &GenerationController::onLoadFailed);
    connect(m_worker, &GenerationWorker::itemFinished, this, &GenerationController::itemFinished);
    connect(m_worker, &GenerationWorker::finished, this, &GenerationController::onFinished);
    connect(m_worker, &GenerationWorker::taskFinished, this, &GenerationController::onTaskFinished);
    connect(m_worker, &GenerationWorker::jobProgress, this, &GenerationController::onProgress);
    connect(m_worker, &GenerationWorker::jobPreview, this, &GenerationController::jobPreview);

    m_thread.start();
}

GenerationController::~GenerationController()
{
    m_running.cancel.cancel();
    for (Job &job : m_queue)
        job.cancel.cancel();
    m_thread.quit();
    m_thread.wait();
    // The thread has stopped, so nothing runs on the worker any more; queued jobs die with it.
    delete m_worker;
}

void GenerationController::loadModel(const QString &path)
{
    ModelLoadSpec spec;
    spec.path = path;
    loadModel(spec);
}

void GenerationController::loadDefaultModel()
{
    loadModel(ModelLoadSpec {});
}

void GenerationController::loadModel(const ModelLoadSpec &spec)
{
    ++m_pendingLoads;
    emit stateChanged();
    GenerationWorker *worker = m_worker;
    QMetaObject::invokeMethod(
        m_worker, [worker, spec] { worker->loadModel(spec); }, Qt::QueuedConnection);
}

quint64 GenerationController::generate(const ditstudio::GenerateRequest &request, const QList<quint64> &seeds,
                                       const QString &title)
{
    Job job;
    job.info.kind = JobKind::Generate;
    const int items = itemCount(seeds);
    job.info.title = !title.isEmpty() ? title
        : items > 1                   ? tr("%1 × %2").arg(QString::fromStdString(request.prompt)).arg(items)
                                      : QString::fromStdString(request.prompt);
    job.info.total = request.steps * items;
    job.request = request;
    job.seeds = seeds;
    return enqueue(std::move(job));
}

quint64 GenerationController::submit(JobKind kind, const QString &title, const EngineTask &task)
{
    Job job;
    job.info.kind = kind;
    job.info.title = title;
    job.task = task;
    return enqueue(std::move(job));
}

quint64 GenerationController::enqueue(Job job)
{
    job.info.id = m_nextJob++;
    job.info.state = JobState::Queued;
    const quint64 id = job.info.id;
    m_queue.append(std::move(job));
    emit jobChanged(m_queue.back().info);
    dispatchNext();
    emit stateChanged();
    return id;
}

void GenerationController::dispatchNext()
{
    if (runningJob() != 0 || m_queue.isEmpty())
        return;
    m_running = m_queue.takeFirst();
    m_runningItem = 0;
    m_running.info.state = JobState::Running;
    emit jobChanged(m_running.info);
    GenerationWorker *worker = m_worker;
    const quint64 jobId = m_running.info.id;
    const ditstudio::CancelToken token = m_running.cancel; // cancel() sets it directly
    if (m_running.info.kind == JobKind::Generate) {
        const ditstudio::GenerateRequest request = m_running.request;
        const QList<quint64> seeds = m_running.seeds;
        QMetaObject::invokeMethod(
            m_worker,
            [worker, jobId, request, seeds, token] { worker->generate(jobId, request, seeds, token); },
            Qt::QueuedConnection);
    } else {
        const EngineTask task = m_running.task;
        QMetaObject::invokeMethod(
            m_worker, [worker, jobId, task, token] { worker->runTask(jobId, task, token); },
            Qt::QueuedConnection);
    }
}

void GenerationController::cancel(CancelMode mode)
{
    if (runningJob() == 0)
        return;
    if (mode == CancelMode::AfterCurrentItem)
        m_running.cancel.cancelAfterCurrentItem();
    else
        m_running.cancel.cancel();
    m_running.info.cancelRequested = true;
    emit jobChanged(m_running.info);
    emit stateChanged();
}

void GenerationController::cancelJob(quint64 jobId, CancelMode mode)
{
    if (jobId != 0 && jobId == runningJob()) {
        cancel(mode);
        return;
    }
    for (int i = 0; i < m_queue.size(); ++i) {
        if (m_queue[i].info.id != jobId)
            continue;
        Job job = m_queue.takeAt(i);
        job.cancel.cancel();
        if (job.info.kind == JobKind::Generate) {
            GenerationOutcome outcome;
            outcome.jobId = jobId;
            outcome.status = GenerationOutcome::Status::Cancelled;
            outcome.itemsRequested = itemCount(job.seeds);
            outcome.seed = job.seeds.isEmpty() ? job.request.seed : job.seeds.front();
            emit finished(outcome);
        }
        job.info.state = JobState::Cancelled;
        job.info.message = tr("Cancelled before it started.");
        endJob(job.info);
        emit stateChanged();
        return;
    }
}

QList<JobInfo> GenerationController::jobs() const
{
    QList<JobInfo> all;
    if (runningJob() != 0)
        all << m_running.info;
    for (const Job &job : m_queue)
        all << job.info;
    all << m_recent;
    return all;
}

JobInfo GenerationController::job(quint64 jobId) const
{
    for (const JobInfo &info : jobs())
        if (info.id == jobId)
            return info;
    return {};
}

int GenerationController::jobsAhead(quint64 jobId) const
{
    if (jobId != 0 && jobId == runningJob())
        return 0;
    for (int i = 0; i < m_queue.size(); ++i)
        if (m_queue[i].info.id == jobId)
            return i + (runningJob() != 0 ? 1 : 0);
    return -1;
}

void GenerationController::endJob(JobInfo info)
{
    m_recent.prepend(info);
    while (m_recent.size() > kRecentJobs)
        m_recent.removeLast();
    emit jobChanged(info);
    emit jobFinished(info);
}

void GenerationController::checkPrompt(const QString &prompt)
{
    GenerationWorker *worker = m_worker;
    QMetaObject::invokeMethod(
        m_worker, [worker, prompt] { worker->checkPrompt(prompt); }, Qt::QueuedConnection);
}

void GenerationController::onModelLoaded(const ModelSummary &model)
{
    --m_pendingLoads;
    m_hasModel = true;
    m_model = model;
    emit stateChanged();
    emit modelLoaded(model);
}

void GenerationController::onLoadFailed(const QString &message)
{
    --m_pendingLoads;
    emit stateChanged();
    emit loadFailed(message);
}

void GenerationController::onFinished(const GenerationOutcome &outcome)
{
    JobInfo info;
    const bool mine = outcome.jobId == runningJob() && runningJob() != 0;
    if (mine) {
        info = m_running.info;
        m_running = Job();
    }
    emit stateChanged();
    emit finished(outcome);
    if (mine) {
        info.state = outcome.status == GenerationOutcome::Status::Completed ? JobState::Finished
            : outcome.status == GenerationOutcome::Status::Cancelled        ? JobState::Cancelled
                                                                            : JobState::Failed;
        info.message = outcome.status == GenerationOutcome::Status::Failed
            ? outcome.message
            : tr("%1 of %2 images").arg(outcome.images.size()).arg(outcome.itemsRequested);
        endJob(info);
    }
    dispatchNext();
    emit stateChanged();
}

void GenerationController::onTaskFinished(quint64 jobId, const JobResult &result)
{
    if (jobId != runningJob() || runningJob() == 0)
        return;
    JobInfo info = m_running.info;
    m_running = Job();
    info.state = result.state == JobState::Finished || result.state == JobState::Cancelled ? result.state
                                                                                           : JobState::Failed;
    info.message = result.message;
    endJob(info);
    dispatchNext();
    emit stateChanged();
}

void GenerationController::onProgress(quint64 jobId, int done, int total, const QString &stage)
{
    if (jobId == runningJob() && runningJob() != 0) {
        m_running.info.done = done;
        m_running.info.total = total;
        m_running.info.stage = stage;
        emit jobChanged(m_running.info);
    }
    emit jobProgress(jobId, done, total, stage);
}
