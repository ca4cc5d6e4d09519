#include "job_dialog.h"

#include <QFutureWatcherBase>
#include <QLabel>
#include <QPushButton>

void JobDialog::setJobWidgets(QFutureWatcherBase *watcher, QLabel *status, QPushButton *cancelButton)
{
    m_jobWatcher = watcher;
    m_jobStatus = status;
    m_jobCancelButton = cancelButton;
}

bool JobDialog::isRunning() const
{
    return m_jobWatcher && m_jobWatcher->isRunning();
}

void JobDialog::cancel()
{
    if (!isRunning())
        return;
    m_cancel.cancel();
    m_jobStatus->setText(tr("Cancelling…"));
    m_jobCancelButton->setEnabled(false);
}

void JobDialog::reject()
{
    if (isRunning()) {
        // Closing while the job runs cancels it first (a writer removes its partial file).
        cancel();
        m_jobWatcher->waitForFinished();
    }
    QDialog::reject();
}
