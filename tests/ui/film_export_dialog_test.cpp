// "Export film…": the dialog renders the denoising film / a latent walk off the GUI thread, reports
// progress, and cancels without leaving a file.
#include "film_export_dialog.h"

#include "ditstudio/engine.h"
#include "ditstudio/video.h"

#include <QProgressBar>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include "test_skip.h"

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

private slots:
    void initTestCase()
    {
        if (ditstudio::defaultModelPath().empty())
            DITSTUDIO_QSKIP("the embedded default model was not found");
    }

    void exportsAFilmInTheBackground()
    {
        QTemporaryDir dir;
        FilmExportDialog dialog(settings(4));
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

    void walkExport()
    {
        QTemporaryDir dir;
        FilmExportDialog dialog(settings(3));
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
        FilmExportDialog dialog(settings(200));
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
