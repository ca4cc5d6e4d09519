#pragma once
/// A dialog that runs one cancellable backend job off the GUI thread (the film export and the
/// image and video edit dialogs). It owns the job's CancelToken and implements what they share:
/// isRunning(), Cancel (token + "Cancelling…" + disabled button) and closing while a job runs
/// (cancel, then wait for the job so it never outlives the dialog).

#include "ditstudio/cancel_token.h"

#include <QDialog>

class QFutureWatcherBase;
class QLabel;
class QPushButton;

class JobDialog : public QDialog {
    Q_OBJECT
public:
    using QDialog::QDialog;

    bool isRunning() const;

public slots:
    void cancel();

protected:
    /// Call once from the subclass constructor, after creating these widgets.
    void setJobWidgets(QFutureWatcherBase *watcher, QLabel *status, QPushButton *cancelButton);
    void reject() override;

    ditstudio::CancelToken m_cancel;

private:
    QFutureWatcherBase *m_jobWatcher = nullptr;
    QLabel *m_jobStatus = nullptr;
    QPushButton *m_jobCancelButton = nullptr;
};
