#include "generation_controller.h"

#include "generation_worker.h"

#include <QMetaObject>

GenerationController::GenerationController(QObject *parent)
    : QObject(parent)
    , m_worker(new GenerationWorker)
{
    qRegisterMetaType<ModelSummary>();
    qRegisterMetaType<ModelLoadSpec>();
    qRegisterMetaType<GenerationOutcome>();
    qRegisterMetaType<PromptCheck>();
    qRegisterMetaType<InsideProbes>();

    m_thread.setObjectName(QStringLiteral("GenerationWorker"));
    m_worker->moveToThread(&m_thread);

    // Worker -> controller: queued (the worker lives on m_thread). Progress signals are forwarded
    // as they are; the outcome and load results pass through the controller to update its state.
    connect(m_worker, &GenerationWorker::itemStarted, this, &GenerationController::itemStarted);
    connect(m_worker, &GenerationWorker::stepFinished, this, &GenerationController::stepFinished);
    connect(m_worker, &GenerationWorker::previewReady, this, &GenerationController::previewReady);
    connect(m_worker, &GenerationWorker::probesReady, this, &GenerationController::probesReady);
    connect(m_worker, &GenerationWorker::promptChecked, this, &GenerationController::promptChecked);
    connect(m_worker, &GenerationWorker::modelLoaded, this, &GenerationController::onModelLoaded);
    connect(m_worker, &GenerationWorker::loadFailed, this, &GenerationController::onLoadFailed);
    connect(m_worker, &GenerationWorker::itemFinished, this, &GenerationController::itemFinished);
    connect(m_worker, &GenerationWorker::finished, this, &GenerationController::onFinished);

    m_thread.start();
}

GenerationController::~GenerationController()
{
    m_cancel.cancel();
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
    loadModel(ModelLoadSpec{});
}

void GenerationController::loadModel(const ModelLoadSpec &spec)
{
    ++m_pendingLoads;
    emit stateChanged();
    GenerationWorker *worker = m_worker;
    QMetaObject::invokeMethod(m_worker, [worker, spec] { worker->loadModel(spec); }, Qt::QueuedConnection);
}

quint64 GenerationController::generate(const ditstudio::GenerateRequest &request, const QList<quint64> &seeds)
{
    if (m_activeJob != 0)
        return 0;
    const quint64 jobId = m_nextJob++;
    m_activeJob = jobId;
    m_cancel = ditstudio::CancelToken(); // a fresh flag: an old cancel must not hit this job
    emit stateChanged();
    GenerationWorker *worker = m_worker;
    const ditstudio::CancelToken token = m_cancel;
    QMetaObject::invokeMethod(
        m_worker, [worker, jobId, request, seeds, token] { worker->generate(jobId, request, seeds, token); },
        Qt::QueuedConnection);
    return jobId;
}

void GenerationController::cancel(CancelMode mode)
{
    if (m_activeJob == 0)
        return;
    if (mode == CancelMode::Now)
        m_cancel.cancel();
    else
        m_cancel.cancelAfterCurrentItem();
    emit stateChanged();
}

void GenerationController::checkPrompt(const QString &prompt)
{
    GenerationWorker *worker = m_worker;
    QMetaObject::invokeMethod(m_worker, [worker, prompt] { worker->checkPrompt(prompt); }, Qt::QueuedConnection);
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
    if (outcome.jobId == m_activeJob)
        m_activeJob = 0;
    emit stateChanged();
    emit finished(outcome);
}
