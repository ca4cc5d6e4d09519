// "Export film…": the dialog renders the denoising film / a latent walk off the GUI thread, reports
// progress, and cancels without leaving a file.
#include "edit/film_export_dialog.h"

#include "ditstudio/engine.h"
#include "ditstudio/video.h"

#include "ditstudio/runtime.h"

#include "test_skip.h"
#include "window_test_util.h"
#include <QDir>
#include <QFileInfo>
#include <QProgressBar>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

class FilmExportDialogTest : public QObject {
    Q_OBJECT

private:
    static GenerationSettings settings(int steps)
    {
        GenerationSettings s;
        s.prompt = QStringLiteral("sneaker");
        s.steps = steps;
        s.seedMode = SeedMode::Fixed;
        s.seed = 5;
        s.embeddedDefault = true;
        s.device = QStringLiteral("cpu");
        return s;
    }

private:
    std::unique_ptr<GenerationController> m_engine;

private slots:
    void initTestCase()
    {
        if (ditstudio::defaultModelPath().empty())
            DITSTUDIO_QSKIP("the embedded default model was not found");
        // One engine (the controller's thread and model) for every dialog of this suite.
        m_engine = ditstudio::uitest::loadedDefaultEngine();
        QVERIFY(m_engine);
    }

    void exportsAFilmInTheBackground()
    {
        QTemporaryDir dir;
        FilmExportDialog dialog(m_engine.get(), settings(4));
        dialog.setOutputPath(dir.filePath(QStringLiteral("film.gif")));
        QSignalSpy done(&dialog, &FilmExportDialog::finishedExport);
        dialog.start();
        QVERIFY(dialog.isRunning()); // the GUI thread is free while it works
        QVERIFY(done.wait(60000));
        QCOMPARE(done.first().at(0).toBool(), true);
        QVERIFY2(dialog.resultText().startsWith(QStringLiteral("Wrote")), qPrintable(dialog.resultText()));
        ditstudio::VideoReader reader;
        auto info = reader.open(dir.filePath(QStringLiteral("film.gif")).toStdString());
        QVERIFY(info.ok());
        QCOMPARE(info->frameCount, 4 + 10); // 4 steps + a 1 s hold at 10 fps
        QVERIFY(info->comment.find("denoising-film") != std::string::npos);
        // A second export to the same file is refused (no silent overwrite).
        dialog.start();
        QVERIFY(done.wait(60000));
        QCOMPARE(done.last().at(0).toBool(), false);
        QVERIFY2(dialog.resultText().contains(QStringLiteral("exists")), qPrintable(dialog.resultText()));
    }

    // Issue 18: on a fresh home folder (no ~/Videos) the first export works: the default path is in
    // a folder that exists or is created; a film that cannot be written is reported in the log too.
    void firstExportWorksOnAFreshHome()
    {
        QTemporaryDir home, data;
        const QByteArray oldHome = qgetenv("HOME");
        qputenv("HOME", home.path().toUtf8());
        qputenv("XDG_CONFIG_HOME", home.filePath(QStringLiteral(".config")).toUtf8());
        qputenv("DITSTUDIO_DATA_DIR", data.path().toUtf8());
        QVERIFY(!QFileInfo::exists(home.filePath(QStringLiteral("Videos"))));
        FilmExportDialog dialog(m_engine.get(), settings(3));
        const QString path = dialog.outputPath();
        QSignalSpy done(&dialog, &FilmExportDialog::finishedExport);
        dialog.start();
        QVERIFY(done.wait(60000));
        QVERIFY2(done.first().at(0).toBool(), qPrintable(dialog.resultText()));
        QVERIFY2(QFileInfo::exists(path), qPrintable(path));

        QVERIFY(ditstudio::initLogging("warn", "").ok());
        static QStringList logged;
        ditstudio::setLogCallback(
            [](void *, const char *, const char *message) { logged << QString::fromUtf8(message); }, nullptr);
        QFile blocker(data.filePath(QStringLiteral("blocker")));
        QVERIFY(blocker.open(QIODevice::WriteOnly)); // a file where a folder would have to be
        blocker.close();
        dialog.setOutputPath(data.filePath(QStringLiteral("blocker/sub/film.mp4")));
        dialog.start();
        QTest::qWait(200);
        ditstudio::setLogCallback(nullptr, nullptr);
        QVERIFY2(logged.join(QLatin1Char('\n')).contains(QStringLiteral("Export film")),
                 qPrintable(logged.join(QLatin1Char('\n'))));
        qputenv("HOME", oldHome);
        qunsetenv("XDG_CONFIG_HOME");
        qunsetenv("DITSTUDIO_DATA_DIR");
    }

    void walkExport()
    {
        QTemporaryDir dir;
        FilmExportDialog dialog(m_engine.get(), settings(3));
        dialog.setMode(1);
        dialog.setWalkFrames(3);
        dialog.setOutputPath(dir.filePath(QStringLiteral("walk.mp4")));
        QSignalSpy done(&dialog, &FilmExportDialog::finishedExport);
        dialog.start();
        QVERIFY(done.wait(60000));
        QVERIFY2(done.first().at(0).toBool(), qPrintable(dialog.resultText()));
        ditstudio::VideoReader reader;
        auto info = reader.open(dir.filePath(QStringLiteral("walk.mp4")).toStdString());
        QVERIFY(info.ok());
        QCOMPARE(info->frameCount, 3);
    }

    void cancelLeavesNoFile()
    {
        QTemporaryDir dir;
        FilmExportDialog dialog(m_engine.get(), settings(200));
        dialog.setOutputPath(dir.filePath(QStringLiteral("cancel.mp4")));
        QSignalSpy done(&dialog, &FilmExportDialog::finishedExport);
        dialog.start();
        auto *bar = dialog.findChild<QProgressBar *>();
        QVERIFY(bar);
        QTRY_VERIFY_WITH_TIMEOUT(bar->value() >= 2, 60000); // a few frames are out
        dialog.cancel();
        QVERIFY(done.wait(60000));
        QCOMPARE(done.first().at(0).toBool(), false);
        QVERIFY(dialog.resultText().contains(QStringLiteral("Cancelled")));
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden).size(), 0);
    }
};

QTEST_MAIN(FilmExportDialogTest)
#include "film_export_dialog_test.moc"
