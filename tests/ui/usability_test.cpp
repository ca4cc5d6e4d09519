// Issue 18: the defects a new user met in the main window, one test each (each failed before its fix):
// a refused VAE that broke the next launch, batch images that reached History only at the end, a
// history image shown as x_t / x̂₀ with a stale progress bar, the prompt hint (red while a class name
// is being typed, growing, the completion popup over it during a run), clipped history captions, a
// cancelled run logged as "generated", and a window restored off every screen.
#include "engine/generation_controller.h"
#include "generate/preview_panel.h"
#include "history/history_panel.h"
#include "history/history_store.h"
#include "main_window.h"
#include "widgets/log_panel.h"

#include "ditstudio/engine.h"
#include "ditstudio/runtime.h"

#include <QAbstractItemView>
#include <QComboBox>
#include <QCompleter>
#include <QDateTime>
#include <QFile>
#include <QFileInfo>
#include <QFontMetrics>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QScreen>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QToolButton>
#include <QtTest>

#include "test_skip.h"
#include "window_test_util.h"

#if !defined(_WIN32)
#include <csignal>
#include <sys/resource.h>
#endif

namespace {

const QString kLatentFixture = QStringLiteral(DITSTUDIO_TEST_DATA_DIR "/parity/dit-tiny/weights.safetensors");
constexpr int kTimeoutMs = 60000;

using ditstudio::uitest::child;
bool loadInto(MainWindow &window, const QString &path)
{
    return ditstudio::uitest::loadWindowModel(window, path, kTimeoutMs);
}

void closeErrorBoxes(const QWidget &window)
{
    for (QMessageBox *box : window.findChildren<QMessageBox *>(QStringLiteral("errorBox")))
        box->close();
}

} // namespace

class UsabilityTest : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        static QTemporaryDir dataDir;
        QVERIFY(dataDir.isValid());
        qputenv("DITSTUDIO_DATA_DIR", dataDir.path().toUtf8());
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("ditstudio-tests"));
        QCoreApplication::setApplicationName(QStringLiteral("ditstudio-usability-tests"));
        QVERIFY(ditstudio::initLogging("info", "").ok());
        QVERIFY2(QFile::exists(kLatentFixture), qPrintable(kLatentFixture));
        if (ditstudio::defaultModelPath().empty())
            DITSTUDIO_QSKIP("the embedded default model was not found");
    }
    void init() { QSettings().clear(); }

    // A refused VAE: the field goes back to what is loaded, the bad path is never saved, the next
    // launch loads; the VAE row is off for a pixel-space model; clearing the field takes the VAE off.
    void rejectedVaeIsNeitherKeptNorSaved()
    {
        QTemporaryDir dir;
        const QString bad = dir.filePath(QStringLiteral("not-a-vae.safetensors"));
        {
            QFile f(bad);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("definitely not a safetensors file");
        }
        {
            MainWindow window;
            window.show();
            QVERIFY(loadInto(window, kLatentFixture));
            auto *vae = child<QLineEdit>(window, "vaePath");
            auto *browse = child<QToolButton>(window, "vaeBrowse");
            QVERIFY(vae->isEnabled() && browse->isEnabled()); // a latent model takes a VAE
            QSignalSpy failed(window.controller(), &GenerationController::loadFailed);
            QSignalSpy loaded(window.controller(), &GenerationController::modelLoaded);
            vae->setText(bad);
            emit vae->editingFinished();
            QVERIFY(failed.wait(kTimeoutMs));
            QTRY_COMPARE_WITH_TIMEOUT(vae->text(), QString(), 5000); // not kept
            QVERIFY(window.controller()->hasModel());
            closeErrorBoxes(window);
            window.close();
            QCOMPARE(QSettings().value(QStringLiteral("model/vaePath")).toString(), QString()); // not saved
        }
        {
            // The next launch comes up usable on the same model.
            MainWindow window;
            QSignalSpy ready(&window, &MainWindow::ready);
            window.loadInitialModel();
            QVERIFY(ready.wait(kTimeoutMs));
            QVERIFY(window.isUsable());
            QCOMPARE(window.controller()->model().path, QFileInfo(kLatentFixture).absoluteFilePath());
            window.close();
        }
        {
            // The pixel-space default model: no VAE row; and a VAE saved by an older version is ignored.
            QSettings().setValue(QStringLiteral("model/lastIsDefault"), true);
            QSettings().setValue(QStringLiteral("model/vaePath"), bad);
            MainWindow window;
            QSignalSpy ready(&window, &MainWindow::ready);
            window.loadInitialModel();
            QVERIFY(ready.wait(kTimeoutMs));
            QVERIFY2(window.isUsable(), "a saved VAE stopped the default model from loading");
            QVERIFY(window.controller()->model().embeddedDefault);
            QVERIFY(!child<QLineEdit>(window, "vaePath")->isEnabled());
            QVERIFY(!child<QToolButton>(window, "vaeBrowse")->isEnabled());
        }
    }

    void clearingTheVaeFieldReloadsWithoutIt()
    {
        MainWindow window;
        window.show();
        // A VAE that loads: the fixture's own tiny one.
        const QString goodVae
            = QStringLiteral(DITSTUDIO_TEST_DATA_DIR "/parity/vae-tiny/vae-ldm.safetensors");
        auto *vae = child<QLineEdit>(window, "vaePath");
        vae->setText(goodVae);
        QVERIFY(loadInto(window, kLatentFixture));
        QCOMPARE(window.controller()->model().vaePath, goodVae);
        QSignalSpy loaded(window.controller(), &GenerationController::modelLoaded);
        vae->clear(); // the clear button does the same
        QVERIFY(loaded.wait(kTimeoutMs));
        QCOMPARE(window.controller()->model().vaePath, QString());
    }

    // A saved model that no longer loads: the launch falls back to the embedded default and says so.
    void startupFallsBackToTheDefaultModel()
    {
        QTemporaryDir dir;
        const QString gone = dir.filePath(QStringLiteral("deleted-model.safetensors"));
        QSettings().setValue(QStringLiteral("model/lastPath"), gone);
        QSettings().setValue(QStringLiteral("model/lastIsDefault"), false);
        MainWindow window;
        window.show();
        QSignalSpy ready(&window, &MainWindow::ready);
        window.loadInitialModel();
        QVERIFY(ready.wait(kTimeoutMs));
        QVERIFY(window.isUsable());
        QVERIFY(window.controller()->model().embeddedDefault);
        QVERIFY2(window.logPanel()->text().contains(QStringLiteral("embedded default model instead")),
                 qPrintable(window.logPanel()->text()));
        closeErrorBoxes(window);
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QImage shot = window.grab().toImage();
        shot.save(QStringLiteral(DITSTUDIO_SCREENSHOT_DIR "/startup_fallback.png"));
    }

    // Each image of a batch is in History as soon as it is done, not when the batch ends.
    void batchImagesReachHistoryOneByOne()
    {
        MainWindow window;
        QVERIFY(loadInto(window, QString()));
        child<QLineEdit>(window, "prompt")->setText(QStringLiteral("sneaker"));
        child<QSpinBox>(window, "steps")->setValue(8);
        child<QSpinBox>(window, "batchCount")->setValue(3);
        const int before = window.history()->count();
        QList<int> countsAtEachImage;
        QList<bool> busyAtEachImage;
        // Connected after the window's own slot, so this sees the state the window left.
        connect(window.controller(), &GenerationController::itemFinished, &window, [&] {
            countsAtEachImage << window.history()->count() - before;
            busyAtEachImage << window.controller()->isBusy();
        });
        QSignalSpy finished(window.controller(), &GenerationController::finished);
        QVERIFY(window.startGeneration());
        QVERIFY(finished.wait(kTimeoutMs));
        QCOMPARE(countsAtEachImage, (QList<int> {1, 2, 3}));
        QCOMPARE(busyAtEachImage.first(), true); // the first image was in History mid-batch
        QCOMPARE(window.history()->count() - before, 3); // and nothing twice
    }

    // A history image: one pane captioned as a finished image, the scrubber says so, the bar no
    // longer shows the last run; a single click shows it.
    void historyImageIsShownAsAFinishedImage()
    {
        MainWindow window;
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(loadInto(window, QString()));
        child<QLineEdit>(window, "prompt")->setText(QStringLiteral("trouser"));
        child<QSpinBox>(window, "steps")->setValue(5);
        child<QSpinBox>(window, "batchCount")->setValue(1);
        QSignalSpy finished(window.controller(), &GenerationController::finished);
        QVERIFY(window.startGeneration());
        QVERIFY(finished.wait(kTimeoutMs));
        auto *progress = child<QProgressBar>(window, "progress");
        QVERIFY(progress->text().startsWith(QStringLiteral("Done")));
        auto *list = child<QListWidget>(*window.historyPanel(), "historyList");
        QVERIFY(list->count() >= 1);
        const QRect cell = list->visualItemRect(list->item(0));
        QTest::mouseClick(list->viewport(), Qt::LeftButton, {}, cell.center());
        PreviewPanel *preview = window.previewPanel();
        QTRY_VERIFY_WITH_TIMEOUT(preview->isShowingStill(), 2000);
        QVERIFY(!child<QWidget>(*preview, "xtView")->isVisible()); // one pane
        QVERIFY(child<QWidget>(*preview, "x0View")->isVisible());
        const QString caption = child<QLabel>(*preview, "x0ViewCaption")->text();
        QVERIFY2(!caption.contains(QStringLiteral("predicted")) && caption.contains(QStringLiteral("Image")),
                 qPrintable(caption));
        const QString step = child<QLabel>(*preview, "timelineLabel")->text();
        QVERIFY2(step != QStringLiteral("no steps") && step.contains(QStringLiteral("finished")),
                 qPrintable(step));
        QVERIFY2(!progress->text().startsWith(QStringLiteral("Done")), qPrintable(progress->text()));
        QVERIFY(!child<QToolButton>(*preview, "modeXt")->isEnabled());
        // The next run brings both panes back.
        QVERIFY(window.startGeneration());
        QTRY_VERIFY_WITH_TIMEOUT(!preview->isShowingStill(), 5000);
        QVERIFY(finished.wait(kTimeoutMs));
        QVERIFY(child<QWidget>(*preview, "xtView")->isVisible());
    }

    // The prompt hint: a class name being typed is offered, not an error; the hint keeps its
    // height; the completion popup closes when a run starts.
    void promptHintWhileTyping()
    {
        MainWindow window;
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(loadInto(window, QString()));
        auto *prompt = child<QLineEdit>(window, "prompt");
        auto *status = child<QLabel>(window, "promptStatus");
        auto *steps = child<QSpinBox>(window, "steps");
        const int hintHeight = status->height();
        const int stepsY = steps->mapTo(&window, QPoint(0, 0)).y();
        prompt->setFocus();
        QTest::keyClicks(prompt, QStringLiteral("snea"));
        QTRY_VERIFY_WITH_TIMEOUT(status->text().contains(QStringLiteral("Sneaker")), 10000);
        QVERIFY2(!status->text().contains(QStringLiteral("#d0473e")), qPrintable(status->text())); // not red
        QVERIFY2(!status->text().contains(QStringLiteral("did you mean")), qPrintable(status->text()));
        // A long error does not grow the hint or move the Sampling section.
        prompt->setText(QStringLiteral("0.3 blorpfish + 0.3 quuxbeast + 0.4 zzyzxsnorkeling"));
        QTRY_VERIFY_WITH_TIMEOUT(status->text().contains(QStringLiteral("#d0473e")), 10000);
        QCOMPARE(status->height(), hintHeight);
        QCOMPARE(steps->mapTo(&window, QPoint(0, 0)).y(), stepsY);
        // Completion popup open, then Generate (Ctrl+Return): the popup goes away.
        prompt->clear();
        QTest::keyClicks(prompt, QStringLiteral("sandal"));
        prompt->completer()->complete();
        QTRY_VERIFY_WITH_TIMEOUT(prompt->completer()->popup()->isVisible(), 5000);
        prompt->setText(QStringLiteral("sandal"));
        steps->setValue(4);
        QSignalSpy finished(window.controller(), &GenerationController::finished);
        QVERIFY(window.startGeneration());
        QVERIFY(!prompt->completer()->popup()->isVisible());
        QVERIFY(finished.wait(kTimeoutMs));
    }

    // History captions fit their cells: each line within the cell's width, both lines within its height.
    void historyCaptionsFit()
    {
        MainWindow window;
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(loadInto(window, QString()));
        child<QLineEdit>(window, "prompt")
            ->setText(QStringLiteral("0.4 T-shirt/top + 0.3 Ankle boot + 0.3 Pullover"));
        child<QSpinBox>(window, "steps")->setValue(3);
        auto *seedMode = child<QComboBox>(window, "seedMode");
        seedMode->setCurrentIndex(seedMode->findText(QStringLiteral("fixed")));
        child<QSpinBox>(window, "seed")->setValue(2147483600);
        QSignalSpy finished(window.controller(), &GenerationController::finished);
        QVERIFY(window.startGeneration());
        QVERIFY(finished.wait(kTimeoutMs));
        auto *list = child<QListWidget>(*window.historyPanel(), "historyList");
        QVERIFY(list->count() >= 1);
        const QFontMetrics fm(list->font());
        const QSize grid = list->gridSize();
        bool sawSeed = false;
        for (int i = 0; i < list->count(); ++i) {
            const QStringList lines = list->item(i)->text().split(QLatin1Char('\n'));
            QCOMPARE(lines.size(), 2);
            sawSeed = sawSeed || lines.at(1) == QStringLiteral("seed 2147483600"); // the seed line whole
            for (const QString &line : lines)
                QVERIFY2(fm.horizontalAdvance(line) <= grid.width() - 4, qPrintable(line));
            QVERIFY(list->iconSize().height() + 2 * fm.lineSpacing() <= grid.height());
        }
        QVERIFY(sawSeed);
    }

    // A run cancelled before its first image is not logged as having generated one.
    void cancelledRunIsNotLoggedAsGenerated()
    {
        MainWindow window;
        QVERIFY(loadInto(window, QString()));
        child<QLineEdit>(window, "prompt")->setText(QStringLiteral("bag"));
        child<QSpinBox>(window, "steps")->setValue(1000);
        child<QSpinBox>(window, "batchCount")->setValue(1);
        QSignalSpy previews(window.controller(), &GenerationController::previewReady);
        QSignalSpy finished(window.controller(), &GenerationController::finished);
        QVERIFY(window.startGeneration());
        QVERIFY(previews.wait(kTimeoutMs));
        window.cancelGeneration();
        QVERIFY(finished.wait(kTimeoutMs));
        QTRY_VERIFY_WITH_TIMEOUT(window.logPanel()->text().contains(QStringLiteral("cancelled")), 5000);
        const QString log = window.logPanel()->text();
        const QString last = log.mid(log.lastIndexOf(QStringLiteral("cancelled")) - 40);
        QVERIFY2(!last.contains(QStringLiteral("generated 1 image")), qPrintable(last));
        QVERIFY2(log.contains(QStringLiteral("no finished image")), qPrintable(log.right(400)));
    }

    // Geometry saved on a screen that is gone: the window comes back on the primary screen.
    void geometryOffEveryScreenComesBack()
    {
        QByteArray saved;
        {
            MainWindow window;
            window.show();
            QVERIFY(QTest::qWaitForWindowExposed(&window));
            window.move(20000, 15000); // where a second monitor used to be
            window.close();
            saved = QSettings().value(QStringLiteral("window/geometry")).toByteArray();
        }
        QVERIFY(!saved.isEmpty());
        MainWindow window;
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        const QRect screen = QGuiApplication::primaryScreen()->availableGeometry();
        QVERIFY2(screen.intersects(window.frameGeometry()),
                 qPrintable(QStringLiteral("window at %1,%2").arg(window.x()).arg(window.y())));
        qInfo() << "screen" << screen << "window frame" << window.frameGeometry();
        QVERIFY(screen.contains(window.frameGeometry().topLeft() + QPoint(10, 10)));
    }

#if !defined(_WIN32)
    // Issue 17: a full disk (RLIMIT_FSIZE, SIGXFSZ ignored) while recording into the history: a clear
    // error, the entries it had are intact, and it records again once there is room.
    void historyOnAFullDiskKeepsWhatItHad()
    {
        QTemporaryDir dir;
        const QString db = dir.filePath(QStringLiteral("history.sqlite"));
        HistoryStore store(db);
        QVERIFY2(store.isOpen(), qPrintable(store.errorString()));
        HistoryEntry e;
        e.createdAt = QDateTime::currentDateTimeUtc();
        e.settings.prompt = QStringLiteral("coat");
        e.conditioning = QStringLiteral("Coat");
        e.imageSize = QSize(28, 28);
        for (int i = 0; i < 3; ++i) {
            e.settings.seed = quint64(i);
            QVERIFY(store.add(e) != 0);
        }
        // A big entry: random bytes as the thumbnail, far over what the limit leaves.
        HistoryEntry big = e;
        big.settings.seed = 99;
        big.thumbnailPng.resize(512 * 1024);
        for (int i = 0; i < big.thumbnailPng.size(); ++i)
            big.thumbnailPng[i] = char((i * 2654435761u) >> 24);
        const qint64 limit = qMax(QFileInfo(db).size(), QFileInfo(db + QStringLiteral("-wal")).size()) + 4096;
        struct rlimit old { };
        QVERIFY(getrlimit(RLIMIT_FSIZE, &old) == 0);
        auto *oldHandler = std::signal(SIGXFSZ, SIG_IGN);
        struct rlimit full = old;
        full.rlim_cur = rlim_t(limit);
        QVERIFY(setrlimit(RLIMIT_FSIZE, &full) == 0);
        const qint64 id = store.add(big);
        const QString error = store.errorString();
        setrlimit(RLIMIT_FSIZE, &old);
        std::signal(SIGXFSZ, oldHandler);
        QCOMPARE(id, qint64(0));
        QVERIFY2(!error.isEmpty(), "no error for a failed write");
        qInfo() << "full disk:" << error;
        QCOMPARE(store.count(), 3);
        QCOMPARE(store.list().size(), 3);
        // Reopened from the file, the three are there; and it records again with room.
        HistoryStore reopened(db);
        QVERIFY2(reopened.isOpen(), qPrintable(reopened.errorString()));
        QCOMPARE(reopened.count(), 3);
        QVERIFY(reopened.add(big) != 0);
        QCOMPARE(reopened.count(), 4);
    }
#endif
};

QTEST_MAIN(UsabilityTest)
#include "usability_test.moc"
