#include "engine/job_dialog.h"

#include "engine/generation_controller.h"

#include <QLabel>
#include <QPushButton>

JobDialog::JobDialog(GenerationController *engine, QWidget *parent) : QDialog(parent), m_engine(engine)
{
    if (!m_engine)
        return;
    connect(m_engine, &GenerationController::jobChanged, this, &JobDialog::onJobChanged);
    connect(m_engine, &GenerationController::jobProgress, this,
            [this](quint64 id, int done, int total, const QString &stage) {
                if (id == m_jobId && id != 0)
                    onJobProgress(done, total, stage);
            });
    connect(m_engine, &GenerationController::jobPreview, this, [this](quint64 id, const QImage &image) {
        if (id == m_jobId && id != 0)
            onJobPreview(image);
    });
    connect(m_engine, &GenerationController::jobFinished, this, [this](const JobInfo &info) {
        if (info.id != m_jobId || info.id == 0)
            return;
        m_jobId = 0;
        onJobFinished(info);
    });
}

JobDialog::~JobDialog()
{
    // The job holds only values; cancelling is enough (it never reports to a dead dialog: the
    // connections above end with it).
    if (m_engine && m_jobId != 0)
        m_engine->cancelJob(m_jobId);
}

void JobDialog::setJobWidgets(QLabel *status, QPushButton *cancelButton)
{
    m_jobStatus = status;
    m_jobCancelButton = cancelButton;
}

bool JobDialog::submitJob(JobKind kind, const QString &title, const EngineTask &task)
{
    if (m_jobId != 0)
        return false;
    if (!m_engine) {
        if (m_jobStatus)
            m_jobStatus->setText(tr("No engine: the model is not loaded."));
        return false;
    }
    m_cancelRequested = false;
    m_jobId = m_engine->submit(kind, title, task);
    onJobChanged(m_engine->job(m_jobId)); // queued behind others: say so now
    return true;
}

void JobDialog::onJobChanged(const JobInfo &info)
{
    if (info.id != m_jobId || info.id == 0 || !m_jobStatus || m_cancelRequested)
        return;
    // While it waits, say behind what: the queue is the engine's, shared with the main window.
    if (info.state == JobState::Queued) {
        const int ahead = m_engine->jobsAhead(info.id);
        m_jobStatus->setText(
            tr("Queued: waiting for %n job(s) ahead of it on the engine…", nullptr, qMax(1, ahead)));
    } else if (info.state == JobState::Running && info.done == 0 && info.total == 0) {
        m_jobStatus->setText(tr("Starting…"));
    }
}

void JobDialog::onJobProgress(int, int, const QString &) { }

void JobDialog::onJobPreview(const QImage &) { }

void JobDialog::cancel()
{
    if (!isRunning() || m_cancelRequested)
        return;
    m_cancelRequested = true;
    m_engine->cancelJob(m_jobId);
    if (m_jobId == 0)
        return; // it was still queued: it has ended already (onJobFinished said so)
    if (m_jobStatus)
        m_jobStatus->setText(tr("Cancelling…"));
    if (m_jobCancelButton)
        m_jobCancelButton->setEnabled(false);
}

void JobDialog::reject()
{
    // Closing while the job runs or waits cancels it (a writer removes its partial file).
    cancel();
    QDialog::reject();
}
