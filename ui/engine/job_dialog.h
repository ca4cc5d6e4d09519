#pragma once
/// A dialog whose work runs as a job in the GenerationController's queue, on the one loaded model
/// (the film export and the image and video edit dialogs). It implements what they share:
/// submitting the job, isRunning(), the queue position while it waits, Cancel ("Cancelling…" and a
/// disabled button) and closing while the job runs or waits (it is cancelled; the job only holds
/// values, never the dialog, so the dialog need not wait for it).
///
///     class MyDialog : public JobDialog {
///         void start() { submitJob(JobKind::Film, tr("film"), task); } // task: see EngineTask
///         void onJobFinished(const JobInfo &info) override { ... }     // once per job
///     };

#include "engine/generation_types.h"

#include <QDialog>

#include <memory>

class GenerationController;
class QLabel;
class QPushButton;

class JobDialog : public QDialog {
    Q_OBJECT
public:
    /// engine: the controller that owns the loaded model (not owned; must outlive the dialog).
    explicit JobDialog(GenerationController *engine, QWidget *parent = nullptr);
    ~JobDialog() override;

    /// True from submitJob() until the job's outcome arrived (queued or running).
    bool isRunning() const { return m_jobId != 0; }
    /// The running or waiting job's id (0: none).
    quint64 jobId() const { return m_jobId; }

public slots:
    void cancel();
    /// Closing while the job runs or waits cancels it.
    void reject() override;

protected:
    /// Call once from the subclass constructor, after creating these widgets.
    void setJobWidgets(QLabel *status, QPushButton *cancelButton);
    /// Queue the task on the engine; the outcome arrives in onJobFinished. False (and a message in
    /// the status line) without an engine or while this dialog's previous job has not ended.
    bool submitJob(JobKind kind, const QString &title, const EngineTask &task);
    /// True once Cancel was pressed for the current job.
    bool isCancelRequested() const { return m_cancelRequested; }
    virtual void onJobProgress(int done, int total, const QString &stage);
    virtual void onJobPreview(const QImage &image);
    /// Exactly once per submitted job, after isRunning() turned false.
    virtual void onJobFinished(const JobInfo &info) = 0;

    GenerationController *m_engine = nullptr;

private:
    void onJobChanged(const JobInfo &info);

    quint64 m_jobId = 0;
    bool m_cancelRequested = false;
    QLabel *m_jobStatus = nullptr;
    QPushButton *m_jobCancelButton = nullptr;
};

// The dialogs' outcomes (EditOutcome, FilmExportOutcome, VideoEditOutcome) share ok, cancelled and
// text; their tasks write one into a shared slot that the dialog reads once the job has ended.

/// The JobResult of a task's outcome: Finished when ok, Cancelled, else Failed, with its text.
template<typename Outcome> JobResult jobResultOf(const Outcome &outcome)
{
    return JobResult {outcome.ok              ? JobState::Finished
                          : outcome.cancelled ? JobState::Cancelled
                                              : JobState::Failed,
                      outcome.text};
}

/// Empty the slot and return the job's outcome: what the task wrote, or, for a job cancelled while
/// it waited in the queue (it never ran), a cancelled outcome with the queue's message; a failure
/// the task did not describe (e.g. no model loaded) gets the queue's message too.
template<typename Outcome> Outcome takeOutcome(std::shared_ptr<Outcome> &slot, const JobInfo &info)
{
    Outcome outcome = slot ? *slot : Outcome();
    slot.reset();
    if (info.state == JobState::Cancelled && !outcome.cancelled) {
        outcome = Outcome();
        outcome.cancelled = true;
        outcome.text = info.message;
    } else if (info.state == JobState::Failed && outcome.text.isEmpty()) {
        outcome.text = info.message;
    }
    return outcome;
}
