// Screenshot check: drives the real MainWindow the way a new user would (the embedded default model
// when installed, else the tiny fixture) and writes four captures to DITSTUDIO_SCREENSHOT_DIR:
//   main_window_idle.png        model loaded, a prompt typed (inline validation shown)
//   main_window_generating.png  mid-run: live x_t / x0 previews, noise chart, progress with ETA
//   main_window_finished.png    after a batch: result, timeline, history gallery (also main_window.png)
//   main_window_error.png       a broken checkpoint: the error dialog over the window
// Works offscreen (QWidget::grab) and under Xvfb (xvfb-run -a ... -platform xcb). Fails when a
// capture cannot be rendered or written.
#include "engine/generation_controller.h"
#include "engine/job_queue_view.h"
#include "history/history_panel.h"
#include "main_window.h"

#include "ditstudio/engine.h"
#include "ditstudio/runtime.h"

#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPainter>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

namespace {

constexpr int kTimeoutMs = 120000;

bool saveShot(const QImage &shot, const QString &name)
{
    const QString dir = QStringLiteral(DITSTUDIO_SCREENSHOT_DIR);
    if (!QDir().mkpath(dir))
        return false;
    const QString path = QDir(dir).filePath(name);
    if (!shot.save(path, "PNG"))
        return false;
    qInfo("screenshot: %s (%dx%d)", qPrintable(path), shot.width(), shot.height());
    return true;
}

/// The window with its top-level dialogs painted where a window manager would center them.
QImage grabWithDialogs(QMainWindow &window)
{
    QImage shot = window.grab().toImage();
    QPainter painter(&shot);
    for (QMessageBox *box : window.findChildren<QMessageBox *>()) {
        if (!box->isVisible())
            continue;
        const QImage dialog = box->grab().toImage();
        const QPoint topLeft((window.width() - box->width()) / 2, (window.height() - box->height()) / 3);
        painter.fillRect(QRect(topLeft + QPoint(4, 4), box->size()), QColor(0, 0, 0, 70)); // a soft shadow
        painter.drawImage(topLeft, dialog);
        painter.setPen(QColor(0x60, 0x60, 0x60));
        painter.drawRect(QRect(topLeft, box->size()).adjusted(0, 0, -1, -1));
    }
    return shot;
}

void settle(int ms = 150)
{
    QTest::qWait(ms); // let queued signals and repaints land
}

} // namespace

class ScreenshotTest : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("ditstudio-tests"));
        QCoreApplication::setApplicationName(QStringLiteral("ditstudio-ui-screenshot"));
        QSettings().clear();
        QVERIFY(m_dataDir.isValid());
        qputenv("DITSTUDIO_DATA_DIR", m_dataDir.path().toUtf8()); // a fresh, empty history
        QVERIFY(ditstudio::initLogging("info", "").ok());
        ditstudio::setComputeThreads(0); // as the app does
    }

    void capturesTheWindowInItsStates()
    {
        const bool defaultModel = !ditstudio::defaultModelPath().empty();
        MainWindow window;
        window.resize(1280, 820);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));

        QSignalSpy loaded(window.controller(), &GenerationController::modelLoaded);
        if (defaultModel)
            window.openDefaultModel();
        else
            window.openModel(QStringLiteral(DITSTUDIO_TEST_DATA_DIR "/parity/dit-tiny/weights.safetensors"));
        QVERIFY(loaded.wait(kTimeoutMs));

        auto *prompt = window.findChild<QLineEdit *>(QStringLiteral("prompt"));
        auto *steps = window.findChild<QSpinBox *>(QStringLiteral("steps"));
        auto *seed = window.findChild<QSpinBox *>(QStringLiteral("seed"));
        auto *seedMode = window.findChild<QComboBox *>(QStringLiteral("seedMode"));
        auto *batch = window.findChild<QSpinBox *>(QStringLiteral("batchCount"));
        auto *sampler = window.findChild<QComboBox *>(QStringLiteral("sampler"));
        auto *status = window.findChild<QLabel *>(QStringLiteral("promptStatus"));
        QVERIFY(prompt && steps && seed && seedMode && batch && sampler && status);

        // 1. Idle: a prompt typed, the validator's verdict below it.
        prompt->setText(defaultModel ? QStringLiteral("ankle boot") : QStringLiteral("#3"));
        sampler->setCurrentText(QStringLiteral("ddim"));
        steps->setValue(30);
        seedMode->setCurrentIndex(seedMode->findText(QStringLiteral("increment")));
        seed->setValue(7);
        batch->setValue(1);
        QTRY_VERIFY_WITH_TIMEOUT(status->text().contains(QStringLiteral("→")), 10000);
        settle();
        QVERIFY(saveShot(window.grab().toImage(), QStringLiteral("main_window_idle.png")));

        // 2. Mid-generation: past the middle of the run.
        QSignalSpy previews(window.controller(), &GenerationController::previewReady);
        QSignalSpy finished(window.controller(), &GenerationController::finished);
        QVERIFY(window.startGeneration());
        QTRY_VERIFY_WITH_TIMEOUT(previews.count() >= 13, kTimeoutMs);
        QVERIFY(finished.isEmpty());
        QVERIFY(saveShot(window.grab().toImage(), QStringLiteral("main_window_generating.png")));

        // 2b. The Jobs dock: the running generation and an export waiting behind it on the one engine
        // (cancelled while it waits: it never runs).
        auto *jobsDock = window.findChild<QDockWidget *>(QStringLiteral("jobsDock"));
        auto *jobs = window.findChild<JobQueueView *>(QStringLiteral("jobsView"));
        QVERIFY(jobsDock && jobs);
        jobsDock->raise();
        const quint64 waiting = window.controller()->submit(
            JobKind::Film, QStringLiteral("Ankle boot → film.mp4"),
            [](ditstudio::EngineSession &, const JobContext &, const ditstudio::CancelToken &) {
                return JobResult {JobState::Failed, QStringLiteral("ran although it was cancelled")};
            });
        settle();
        QVERIFY2(jobs->rowText(waiting).contains(QStringLiteral("queued")),
                 qPrintable(jobs->rowText(waiting)));
        QVERIFY(saveShot(window.grab().toImage(), QStringLiteral("jobs_queue.png")));
        window.controller()->cancelJob(waiting);
        QCOMPARE(window.controller()->job(waiting).state, JobState::Cancelled);
        window.findChild<QDockWidget *>(QStringLiteral("logDock"))->raise();
        QVERIFY(finished.wait(kTimeoutMs));

        // 3. Finished with history: a batch of three more, different classes for the gallery.
        const QStringList more = defaultModel
            ? QStringList {QStringLiteral("trouser"), QStringLiteral("bag"), QStringLiteral("pullover")}
            : QStringList {QStringLiteral("#1"), QStringLiteral("#2")};
        steps->setValue(20);
        for (const QString &p : more) {
            prompt->setText(p);
            finished.clear();
            QVERIFY(window.startGeneration());
            QVERIFY(finished.wait(kTimeoutMs));
        }
        prompt->setText(defaultModel ? QStringLiteral("ankle boot") : QStringLiteral("#3"));
        batch->setValue(2);
        finished.clear();
        QVERIFY(window.startGeneration());
        QVERIFY(finished.wait(kTimeoutMs));
        QCOMPARE(window.history()->count(), 1 + more.size() + 2);
        settle();
        const QImage done = window.grab().toImage();
        QVERIFY(saveShot(done, QStringLiteral("main_window_finished.png")));
        QVERIFY(saveShot(done, QStringLiteral("main_window.png")));

        // 4. Error: a checkpoint whose header is cut off.
        const QString broken = m_dataDir.filePath(QStringLiteral("downloaded-dit.safetensors"));
        {
            QFile f(broken);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("\x40\x00\x00\x00\x00\x00\x00\x00{\"blocks.0.attn.qkv.weight\":{\"dtype\":\"F32\"", 50);
        }
        QSignalSpy failed(window.controller(), &GenerationController::loadFailed);
        window.openModel(broken);
        QVERIFY(failed.wait(kTimeoutMs));
        QTRY_VERIFY(window.findChild<QMessageBox *>(QStringLiteral("errorBox")) != nullptr);
        settle(300);
        QVERIFY(saveShot(grabWithDialogs(window), QStringLiteral("main_window_error.png")));
        window.findChild<QMessageBox *>(QStringLiteral("errorBox"))->accept();
        QVERIFY(window.controller()->hasModel()); // the previous model stays
    }

private:
    QTemporaryDir m_dataDir;
};

QTEST_MAIN(ScreenshotTest)
#include "screenshot_test.moc"
