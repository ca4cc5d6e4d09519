#pragma once
/// \file get_models_dialog.h
/// File > Get models…: the catalogue of official models (ditstudio/models.h) with a resumable,
/// verified download: progress, speed, time left and cancel. The download itself is the backend's
/// downloadCatalogModel() (the same code as `ditstudio-cli models get`), run on a thread of this
/// dialog; the architecture check reaches the engine through the engine module. Non-commercial
/// weights (DiT, CC-BY-NC 4.0) need their licence accepted first.
///
/// Every started download ends with exactly one of downloadFinished, downloadFailed or
/// downloadCancelled. Closing or destroying the dialog cancels a running download (its .part file
/// stays and the next download resumes it).

#include "ditstudio/cancel_token.h"
#include "ditstudio/models.h"

#include <QDialog>
#include <QString>

#include <thread>

class QCheckBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QTreeWidget;

class GetModelsDialog : public QDialog {
    Q_OBJECT
public:
    /// directory empty: ditstudio::defaultModelsDir().
    explicit GetModelsDialog(QWidget *parent = nullptr, const QString &directory = {});
    ~GetModelsDialog() override;

    /// Download from this address instead of the catalogue's (a mirror; the tests' local server).
    void setUrlOverride(const QString &url) { m_urlOverride = url; }
    /// Select a catalogue entry by name ("sd-vae-ft-ema"); false when there is none.
    bool selectModel(const QString &name);
    /// Start downloading the selected entry (what the Download button does); false when it cannot
    /// start (nothing selected, licence not accepted, a download running).
    bool startDownload();
    /// Cancel the running download (the Cancel button).
    void cancelDownload();
    bool isDownloading() const { return m_thread.joinable() && m_running; }
    QString directory() const { return m_directory; }

signals:
    /// During a download, at most ~10 times a second. total is -1 while unknown.
    void progressChanged(qint64 bytesDone, qint64 bytesTotal, double bytesPerSecond, double etaSeconds);
    /// The file is in place and checked (or was already there).
    void downloadFinished(const QString &path, const QString &description);
    void downloadFailed(const QString &message);
    void downloadCancelled();
    /// "Use this model": a DiT to open, or a VAE to decode with.
    void useModel(const QString &path, ditstudio::ModelKind kind);

protected:
    void closeEvent(QCloseEvent *event) override;
    void reject() override;

private:
    void updateDetails();
    void refreshStates();
    void onProgress(const ditstudio::DownloadProgress &progress);
    void onDone(const ditstudio::Result<ditstudio::DownloadResult> &result);
    void setRunning(bool running);
    void joinWorker();
    int currentIndex() const;

    QString m_directory;
    QString m_urlOverride;
    QTreeWidget *m_list = nullptr;
    QLabel *m_details = nullptr;
    QLabel *m_license = nullptr;
    QCheckBox *m_accept = nullptr;
    QProgressBar *m_progress = nullptr;
    QLabel *m_status = nullptr;
    QPushButton *m_downloadButton = nullptr;
    QPushButton *m_cancelButton = nullptr;
    QPushButton *m_useButton = nullptr;
    QPushButton *m_closeButton = nullptr;

    std::thread m_thread;
    bool m_running = false;
    ditstudio::CancelToken m_cancel;
    QString m_lastPath;
    ditstudio::ModelKind m_lastKind = ditstudio::ModelKind::DiT;
};
