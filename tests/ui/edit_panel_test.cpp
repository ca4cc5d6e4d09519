// "Edit image…" (issue 7): img2img / inpaint run off the GUI thread on the default model, the mask
// is painted with the mouse, unmasked pixels survive inpainting, cancel ends in exactly one outcome,
// and a start without an image is refused with a message.
#include "edit/edit_panel.h"

#include "engine/generation_controller.h"
#include "main_window.h"
#include "widgets/image_conversion.h"

#include "ditstudio/engine.h"

#include <QAction>
#include <QApplication>
#include <QDir>
#include <QLabel>
#include <QProgressBar>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include "test_skip.h"
#include "window_test_util.h"
#include <cstdlib>

class EditPanelTest : public QObject {
    Q_OBJECT

private:
    static GenerationSettings settings(int steps)
    {
        GenerationSettings s;
        s.prompt = QStringLiteral("sneaker");
        s.steps = steps;
        s.sampler = QStringLiteral("ddim");
        s.seedMode = SeedMode::Fixed;
        s.seed = 7;
        s.embeddedDefault = true;
        s.device = QStringLiteral("cpu");
        return s;
    }

    /// A gray test pattern: a bright disc on a gradient (varied pixels, so "kept" means something).
    static QImage pattern(int size)
    {
        QImage image(size, size, QImage::Format_Grayscale8);
        for (int y = 0; y < size; ++y)
            for (int x = 0; x < size; ++x) {
                const int dx = x - size / 2, dy = y - size / 2;
                const bool disc = dx * dx + dy * dy < size * size / 9;
                image.scanLine(y)[x] = uchar(disc ? 230 : (x * 120 / size + y * 60 / size));
            }
        return image;
    }

    static QPoint canvasPoint(MaskCanvas *canvas, double u, double v)
    {
        // (u, v) in [0, 1] of the image, mapped through the canvas's aspect-fit rectangle.
        const QSize img = canvas->image().size();
        const QSizeF s = QSizeF(img).scaled(QSizeF(canvas->size()), Qt::KeepAspectRatio);
        const QPointF origin((canvas->width() - s.width()) / 2, (canvas->height() - s.height()) / 2);
        return (origin + QPointF(u * s.width(), v * s.height())).toPoint();
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

    void img2imgGivesModelSizedResult()
    {
        EditDialog dialog(m_engine.get(), settings(4));
        dialog.setImage(pattern(40)); // not the model's size: center-crop + resize to 28x28
        dialog.setMode(EditDialog::Img2Img);
        dialog.setStrength(0.5);
        QSignalSpy done(&dialog, &EditDialog::finishedEdit);
        dialog.start();
        QVERIFY(dialog.isRunning()); // off the GUI thread
        QVERIFY(done.wait(60000));
        QCOMPARE(done.count(), 1);
        QVERIFY2(done.first().at(0).toBool(), qPrintable(dialog.resultText()));
        QCOMPARE(dialog.afterImage().size(), QSize(28, 28));
        QCOMPARE(dialog.beforeImage().size(), QSize(28, 28));
        QVERIFY(dialog.afterImage() != dialog.beforeImage());
        // Saving refuses to replace an existing file.
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("edited.png"));
        QVERIFY2(dialog.saveResultTo(path), qPrintable(dialog.resultText()));
        QVERIFY(!dialog.saveResultTo(path));
        QVERIFY2(dialog.resultText().contains(QStringLiteral("exist")), qPrintable(dialog.resultText()));
        QCOMPARE(QImage(path).size(), QSize(28, 28));
    }

    void paintingSetsAndErasesMaskPixels()
    {
        EditDialog dialog(m_engine.get(), settings(4));
        dialog.resize(900, 700);
        dialog.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dialog));
        dialog.setImage(pattern(28));
        dialog.setMode(EditDialog::Inpaint);
        MaskCanvas *canvas = dialog.canvas();
        canvas->setBrushSize(3);
        QCOMPARE(canvas->maskedPixels(), 0);
        // A horizontal stroke across the middle row.
        const QPoint a = canvasPoint(canvas, 0.2, 0.5), b = canvasPoint(canvas, 0.8, 0.5);
        QTest::mousePress(canvas, Qt::LeftButton, {}, a);
        QTest::mouseMove(canvas, (a + b) / 2);
        QTest::mouseMove(canvas, b);
        QTest::mouseRelease(canvas, Qt::LeftButton, {}, b);
        const QImage mask = canvas->mask();
        QCOMPARE(mask.size(), QSize(28, 28));
        for (int x = 7; x <= 21; ++x)
            QVERIFY2(mask.pixelColor(x, 14).value() == 255, qPrintable(QString::number(x)));
        QCOMPARE(mask.pixelColor(2, 2).value(), 0);
        QCOMPARE(mask.pixelColor(14, 2).value(), 0);
        const int painted = canvas->maskedPixels();
        QVERIFY(painted >= 15 && painted < 28 * 8);
        // The eraser along the same line removes it again.
        canvas->setEraser(true);
        canvas->setBrushSize(5);
        QTest::mousePress(canvas, Qt::LeftButton, {}, a);
        QTest::mouseMove(canvas, b);
        QTest::mouseRelease(canvas, Qt::LeftButton, {}, b);
        QVERIFY(canvas->maskedPixels() < painted);
        QCOMPARE(canvas->mask().pixelColor(14, 14).value(), 0);
    }

    void inpaintKeepsUnmaskedPixels()
    {
        EditDialog dialog(m_engine.get(), settings(6));
        dialog.setImage(pattern(28));
        dialog.setMode(EditDialog::Inpaint);
        dialog.setStrength(1.0);
        QImage mask(28, 28, QImage::Format_Grayscale8);
        for (int y = 0; y < 28; ++y)
            for (int x = 0; x < 28; ++x)
                mask.scanLine(y)[x] = x < 14 ? 255 : 0; // regenerate the left half
        dialog.canvas()->setMask(mask);
        QCOMPARE(dialog.canvas()->maskedPixels(), 14 * 28);
        QSignalSpy done(&dialog, &EditDialog::finishedEdit);
        dialog.start();
        QVERIFY(done.wait(60000));
        QVERIFY2(done.first().at(0).toBool(), qPrintable(dialog.resultText()));
        const QImage before = dialog.beforeImage().convertToFormat(QImage::Format_Grayscale8);
        const QImage after = dialog.afterImage().convertToFormat(QImage::Format_Grayscale8);
        QCOMPARE(after.size(), QSize(28, 28));
        int maxKeptDiff = 0, changedInMask = 0;
        for (int y = 0; y < 28; ++y)
            for (int x = 0; x < 28; ++x) {
                const int d = std::abs(int(after.constScanLine(y)[x]) - int(before.constScanLine(y)[x]));
                if (x >= 14)
                    maxKeptDiff = qMax(maxKeptDiff, d);
                else if (d > 8)
                    ++changedInMask;
            }
        QVERIFY2(maxKeptDiff <= 1, qPrintable(QString::number(maxKeptDiff)));
        QVERIFY2(changedInMask > 20, qPrintable(QString::number(changedInMask))); // it did regenerate
    }

    void invertRegeneratesAndReportsPsnr()
    {
        GenerationSettings s = settings(10);
        s.cfgScale = 1.0; // no guidance: the same class reconstructs the input
        EditDialog dialog(m_engine.get(), s);
        dialog.setImage(pattern(28));
        dialog.setMode(EditDialog::Invert);
        QSignalSpy done(&dialog, &EditDialog::finishedEdit);
        dialog.start();
        QVERIFY(done.wait(60000));
        QVERIFY2(done.first().at(0).toBool(), qPrintable(dialog.resultText()));
        QCOMPARE(dialog.afterImage().size(), QSize(28, 28));
        QVERIFY2(dialog.resultText().contains(QStringLiteral("dB PSNR")), qPrintable(dialog.resultText()));
    }

    void editWaitsInTheEngineQueueAndRunsOnTheLoadedModel()
    {
        // A long generation holds the engine; the edit queues behind it (visibly) on the same
        // engine and model, then runs once the generation is cancelled. No second model.
        ditstudio::GenerateRequest long_;
        long_.prompt = "sneaker";
        long_.steps = 1000;
        QSignalSpy generated(m_engine.get(), &GenerationController::finished);
        QSignalSpy previews(m_engine.get(), &GenerationController::stepFinished);
        const quint64 generation = m_engine->generate(long_);
        QVERIFY(generation != 0);
        QVERIFY(previews.wait(60000)); // it runs
        EditDialog dialog(m_engine.get(), settings(4));
        dialog.setImage(pattern(28));
        dialog.setMode(EditDialog::Img2Img);
        dialog.setStrength(0.5);
        QSignalSpy done(&dialog, &EditDialog::finishedEdit);
        dialog.start();
        QVERIFY(dialog.isRunning());
        QCOMPARE(m_engine->job(dialog.jobId()).state, JobState::Queued);
        QCOMPARE(m_engine->job(dialog.jobId()).kind, JobKind::EditImage);
        QCOMPARE(m_engine->jobsAhead(dialog.jobId()), 1);
        auto *status = dialog.findChild<QLabel *>(QStringLiteral("editStatus"));
        QVERIFY(status);
        QVERIFY2(status->text().contains(QStringLiteral("Queued")), qPrintable(status->text()));
        QTest::qWait(300);
        QCOMPARE(done.count(), 0); // still waiting
        m_engine->cancelJob(generation);
        QVERIFY(generated.wait(60000));
        QVERIFY(done.wait(60000));
        QVERIFY2(done.first().at(0).toBool(), qPrintable(dialog.resultText()));
        QCOMPARE(dialog.afterImage().size(), QSize(28, 28));
        QVERIFY(!m_engine->isBusy());
    }

    void closingTheDialogCancelsItsWaitingJob()
    {
        ditstudio::GenerateRequest long_;
        long_.prompt = "sneaker";
        long_.steps = 1000;
        QSignalSpy ends(m_engine.get(), &GenerationController::jobFinished);
        QSignalSpy previews(m_engine.get(), &GenerationController::stepFinished);
        const quint64 generation = m_engine->generate(long_);
        QVERIFY(previews.wait(60000));
        quint64 editJob = 0;
        {
            EditDialog dialog(m_engine.get(), settings(4));
            dialog.setImage(pattern(28));
            dialog.start();
            editJob = dialog.jobId();
            QVERIFY(editJob != 0);
            dialog.reject(); // close while it waits
            QVERIFY(!dialog.isRunning());
        }
        QCOMPARE(m_engine->job(editJob).state, JobState::Cancelled);
        m_engine->cancelJob(generation);
        QTRY_COMPARE_WITH_TIMEOUT(ends.count(), 2, 60000);
        QCOMPARE(ends.at(0).at(0).value<JobInfo>().id, editJob);
        QVERIFY(!m_engine->isBusy());
    }

    void cancelGivesExactlyOneCancelledOutcome()
    {
        EditDialog dialog(m_engine.get(), settings(1000));
        dialog.setImage(pattern(28));
        dialog.setMode(EditDialog::Img2Img);
        dialog.setStrength(1.0);
        QSignalSpy done(&dialog, &EditDialog::finishedEdit);
        dialog.start();
        auto *bar = dialog.findChild<QProgressBar *>();
        QVERIFY(bar);
        QTRY_VERIFY_WITH_TIMEOUT(bar->maximum() > 1 && bar->value() >= 2, 60000);
        dialog.cancel();
        QVERIFY(done.wait(60000));
        QTest::qWait(200); // nothing else arrives afterwards
        QCOMPARE(done.count(), 1);
        QCOMPARE(done.first().at(0).toBool(), false);
        QVERIFY2(dialog.resultText().contains(QStringLiteral("Cancelled")), qPrintable(dialog.resultText()));
        QVERIFY(dialog.afterImage().isNull());
        QVERIFY(!dialog.isRunning());
    }

    void badInputIsRefusedWithAMessage()
    {
        EditDialog dialog(m_engine.get(), settings(4));
        QSignalSpy done(&dialog, &EditDialog::finishedEdit);
        dialog.start(); // no image
        QCOMPARE(done.count(), 1);
        QCOMPARE(done.first().at(0).toBool(), false);
        QVERIFY(!dialog.isRunning());
        auto *status = dialog.findChild<QLabel *>(QStringLiteral("editStatus"));
        QVERIFY(status);
        QVERIFY2(status->text().contains(QStringLiteral("open an image")), qPrintable(status->text()));
        // Inpaint with nothing painted, and an unreadable file: messages, no crash.
        dialog.setImage(pattern(28));
        dialog.setMode(EditDialog::Inpaint);
        dialog.start();
        QCOMPARE(done.count(), 2);
        QVERIFY2(status->text().contains(QStringLiteral("Mask")), qPrintable(status->text()));
        QVERIFY(!dialog.openImageFile(QStringLiteral("/nonexistent/picture.png")));
        QVERIFY2(status->text().contains(QStringLiteral("picture.png")), qPrintable(status->text()));
        QVERIFY(!dialog.saveResultTo(QDir::temp().filePath(QStringLiteral("never-written.png"))));
    }

    void mainWindowOpensTheEditDialog()
    {
        QTemporaryDir dataDir; // history and settings away from the user's
        qputenv("DITSTUDIO_DATA_DIR", dataDir.path().toUtf8());
        QStandardPaths::setTestModeEnabled(true);
        MainWindow window;
        auto *action = window.findChild<QAction *>(QStringLiteral("editImageAction"));
        QVERIFY(action);
        EditDialog *opened = nullptr;
        QTimer::singleShot(0, &window, [&opened] {
            opened = qobject_cast<EditDialog *>(QApplication::activeModalWidget());
            if (opened)
                opened->close();
        });
        action->trigger(); // exec() returns once the dialog is closed
        QVERIFY(opened);
        qunsetenv("DITSTUDIO_DATA_DIR");
    }

    /// The dialog mid-use (a generated dress, a mask painted over its lower half, the result
    /// regenerated with another seed),
    /// written to ${build}/screenshots/edit_mode.png for docs/screenshots.
    void screenshot()
    {
        ditstudio::Engine engine;
        QVERIFY(engine.loadDefaultModel().ok());
        ditstudio::GenerateRequest g;
        g.prompt = "dress";
        g.steps = 50;
        g.seed = 3;
        auto generated = engine.generate(g);
        QVERIFY(generated.ok());
        GenerationSettings s = settings(50);
        s.sampler = QStringLiteral("ddpm");
        EditDialog dialog(m_engine.get(), s);
        dialog.resize(860, 720);
        dialog.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dialog));
        dialog.setImage(toQImage(generated->images.front()));
        dialog.setMode(EditDialog::Inpaint);
        dialog.setPrompt(QStringLiteral("dress"));
        dialog.setSeed(11);
        dialog.setStrength(1.0);
        MaskCanvas *canvas = dialog.canvas();
        dialog.setBrushSize(7);
        QCOMPARE(canvas->brushSize(), 7);
        for (double v : {0.6, 0.75, 0.9}) {
            const QPoint a = canvasPoint(canvas, 0.12, v), b = canvasPoint(canvas, 0.88, v);
            QTest::mousePress(canvas, Qt::LeftButton, {}, a);
            QTest::mouseMove(canvas, b);
            QTest::mouseRelease(canvas, Qt::LeftButton, {}, b);
        }
        QVERIFY(canvas->maskedPixels() > 100);
        QSignalSpy done(&dialog, &EditDialog::finishedEdit);
        dialog.start();
        QVERIFY(done.wait(60000));
        QVERIFY2(done.first().at(0).toBool(), qPrintable(dialog.resultText()));
        QTest::qWait(50);
        const QString dir = QStringLiteral(DITSTUDIO_SCREENSHOT_DIR);
        QVERIFY(QDir().mkpath(dir));
        QVERIFY(dialog.grab().save(QDir(dir).filePath(QStringLiteral("edit_mode.png"))));
    }
};

QTEST_MAIN(EditPanelTest)
#include "edit_panel_test.moc"
