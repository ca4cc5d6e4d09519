// File > Get models…: the dialog downloads a catalogue entry from a local HTTP server
// (tests/support/range_server.py on 127.0.0.1, serving tests/data) off the GUI thread, reports progress,
// cancels keeping the .part, resumes it, and refuses a licence it was not given. Writes
// ${DITSTUDIO_SCREENSHOT_DIR}/get_models_dialog.png while a (throttled) download is running.
#include "get_models_dialog.h"

#include "local_http_server.h"

#include <QCheckBox>
#include <QDir>
#include <QFileInfo>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include "test_skip.h"

#include <memory>

namespace {
const char *kVae = "parity/vae-tiny/vae-diffusers.safetensors"; // 4,294,380 bytes, 4 latent channels
}

class GetModelsDialogTest : public QObject {
    Q_OBJECT

private:
    std::unique_ptr<LocalHttpServer> m_server;

    QString url(const char *query = "") const
    {
        return QString::fromStdString(m_server->url(kVae)) + QLatin1String(query);
    }

private slots:
    void initTestCase()
    {
#if defined(_WIN32)
        DITSTUDIO_QSKIP("the local test server needs POSIX");
#endif
        m_server = std::make_unique<LocalHttpServer>(DITSTUDIO_PYTHON3, DITSTUDIO_RANGE_SERVER,
                                                     DITSTUDIO_TEST_DATA_DIR);
        QVERIFY2(m_server->ok(), m_server->error().c_str());
    }

    void downloadsWithProgressAndChecks()
    {
        QTemporaryDir dir;
        GetModelsDialog dialog(nullptr, dir.path());
        dialog.setUrlOverride(url("?rate=8000000"));
        QVERIFY(dialog.selectModel(QStringLiteral("sd-vae-ft-ema")));
        QSignalSpy progress(&dialog, &GetModelsDialog::progressChanged);
        QSignalSpy finished(&dialog, &GetModelsDialog::downloadFinished);
        QSignalSpy failed(&dialog, &GetModelsDialog::downloadFailed);
        QVERIFY(dialog.startDownload());
        QVERIFY(dialog.isDownloading()); // the GUI thread is free while it works
        QVERIFY2(finished.wait(60000),
                 failed.isEmpty() ? "no outcome" : qPrintable(failed.first().at(0).toString()));
        QCOMPARE(failed.count(), 0);
        QVERIFY(progress.count() >= 1);
        const QList<QVariant> last = progress.last();
        QCOMPARE(last.at(0).toLongLong(), qint64(4294380));
        QCOMPARE(last.at(1).toLongLong(), qint64(4294380));
        const QString path = finished.first().at(0).toString();
        QCOMPARE(path, QDir(dir.path()).filePath(QStringLiteral("sd-vae-ft-ema.safetensors")));
        QVERIFY(QFileInfo(path).size() == 4294380);
        QVERIFY2(finished.first().at(1).toString().contains(QStringLiteral("4 latent channels")),
                 qPrintable(finished.first().at(1).toString()));
        QVERIFY(!QFileInfo::exists(path + QStringLiteral(".part")));
        QVERIFY(QFileInfo::exists(QDir(dir.path()).filePath(QStringLiteral("downloads.json"))));
        auto *use = dialog.findChild<QPushButton *>(QStringLiteral("useModelButton"));
        QVERIFY(use && use->isEnabled());
    }

    void cancelKeepsThePartAndResumeFinishes()
    {
        QTemporaryDir dir;
        GetModelsDialog dialog(nullptr, dir.path());
        dialog.setUrlOverride(url("?rate=1000000")); // ~4.3 s for the whole file
        QVERIFY(dialog.selectModel(QStringLiteral("sd-vae-ft-mse")));
        QSignalSpy progress(&dialog, &GetModelsDialog::progressChanged);
        QSignalSpy cancelled(&dialog, &GetModelsDialog::downloadCancelled);
        QSignalSpy finished(&dialog, &GetModelsDialog::downloadFinished);
        QVERIFY(dialog.startDownload());
        QVERIFY(progress.wait(20000));
        QTRY_VERIFY_WITH_TIMEOUT(progress.last().at(0).toLongLong() > 500000, 20000);
        dialog.cancelDownload();
        QVERIFY(cancelled.wait(20000));
        QCOMPARE(finished.count(), 0);
        QVERIFY(!dialog.isDownloading());
        const QString file = QDir(dir.path()).filePath(QStringLiteral("sd-vae-ft-mse.safetensors"));
        QVERIFY(!QFileInfo::exists(file));
        const qint64 kept = QFileInfo(file + QStringLiteral(".part")).size();
        QVERIFY2(kept > 500000 && kept < 4294380, qPrintable(QString::number(kept)));
        auto *button = dialog.findChild<QPushButton *>(QStringLiteral("downloadButton"));
        QVERIFY(button && button->text().contains(QStringLiteral("Resume")));

        dialog.setUrlOverride(url());
        QVERIFY(dialog.startDownload());
        QVERIFY(finished.wait(60000));
        QCOMPARE(cancelled.count(), 1);
        QCOMPARE(QFileInfo(file).size(), qint64(4294380));
        auto *status = dialog.findChild<QLabel *>(QStringLiteral("downloadStatus"));
        QVERIFY(status && status->text().startsWith(QStringLiteral("Done")));
    }

    void failureIsReported()
    {
        QTemporaryDir dir;
        GetModelsDialog dialog(nullptr, dir.path());
        dialog.setUrlOverride(QString::fromStdString(m_server->url("parity/no-such-file.safetensors")));
        QVERIFY(dialog.selectModel(QStringLiteral("sd-vae-ft-ema")));
        QSignalSpy failed(&dialog, &GetModelsDialog::downloadFailed);
        QVERIFY(dialog.startDownload());
        QVERIFY(failed.wait(30000));
        QVERIFY2(failed.first().at(0).toString().contains(QStringLiteral("404")),
                 qPrintable(failed.first().at(0).toString()));
        QVERIFY(QDir(dir.path()).entryList(QDir::Files).isEmpty());
    }

    void nonCommercialLicenceMustBeAccepted()
    {
        QTemporaryDir dir;
        GetModelsDialog dialog(nullptr, dir.path());
        dialog.setUrlOverride(url());
        QVERIFY(dialog.selectModel(QStringLiteral("dit-xl-2-256")));
        auto *accept = dialog.findChild<QCheckBox *>(QStringLiteral("acceptLicense"));
        auto *license = dialog.findChild<QLabel *>(QStringLiteral("licenseText"));
        auto *button = dialog.findChild<QPushButton *>(QStringLiteral("downloadButton"));
        QVERIFY(accept && license && button);
        QVERIFY(license->text().contains(QStringLiteral("CC BY-NC 4.0")));
        QVERIFY(!accept->isHidden());
        QVERIFY(!button->isEnabled());
        QVERIFY(!dialog.startDownload());
        accept->setChecked(true);
        QVERIFY(button->isEnabled());
        // A VAE file where the catalogue promises DiT-XL/2: refused after the architecture check.
        QSignalSpy failed(&dialog, &GetModelsDialog::downloadFailed);
        QVERIFY(dialog.startDownload());
        QVERIFY(failed.wait(60000));
        QVERIFY2(failed.first().at(0).toString().contains(QStringLiteral("removed")),
                 qPrintable(failed.first().at(0).toString()));
        QVERIFY(QDir(dir.path()).entryList({QStringLiteral("*.pt*")}, QDir::Files).isEmpty());
    }

    void screenshotWhileDownloading()
    {
        QTemporaryDir dir;
        GetModelsDialog dialog(nullptr, dir.path());
        dialog.setUrlOverride(url("?rate=400000"));
        QVERIFY(dialog.selectModel(QStringLiteral("sd-vae-ft-ema")));
        QSignalSpy progress(&dialog, &GetModelsDialog::progressChanged);
        dialog.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dialog));
        QVERIFY(dialog.startDownload());
        QTRY_VERIFY_WITH_TIMEOUT(!progress.isEmpty() && progress.last().at(0).toLongLong() > 1500000, 30000);
        QTest::qWait(300); // the labels repaint
        const QImage shot = dialog.grab().toImage();
        QVERIFY(!shot.isNull());
        QDir().mkpath(QStringLiteral(DITSTUDIO_SCREENSHOT_DIR));
        const QString file = QDir(QStringLiteral(DITSTUDIO_SCREENSHOT_DIR))
                                 .filePath(QStringLiteral("get_models_dialog.png"));
        QVERIFY(shot.save(file));
        qInfo("wrote %s", qPrintable(file));
        QSignalSpy cancelled(&dialog, &GetModelsDialog::downloadCancelled);
        dialog.cancelDownload();
        QVERIFY(cancelled.wait(20000));
    }
};

QTEST_MAIN(GetModelsDialogTest)
#include "get_models_dialog_test.moc"
