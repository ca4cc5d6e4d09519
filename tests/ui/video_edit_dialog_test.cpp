// "Edit video…": video-to-video off the GUI thread on the default model. The output keeps the
// input's frame count and fps, cancel ends in exactly one cancelled outcome and leaves no file, an
// existing output is refused, and an unreadable input gives an error text.
#include "edit/video_edit_dialog.h"

#include "main_window.h"

#include "ditstudio/engine.h"
#include "ditstudio/video.h"

#include "test_skip.h"
#include "window_test_util.h"
#include <QAction>
#include <QApplication>
#include <QFile>
#include <QFileInfo>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

class VideoEditDialogTest : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString m_video;

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
        QVERIFY(m_dir.isValid());
        // 8 frames, 28x28 gray, 8 fps: a bright square moving across a gradient.
        m_video = m_dir.filePath(QStringLiteral("input.mp4"));
        ditstudio::VideoWriter writer;
        ditstudio::VideoWriterOptions options;
        options.fps = 8;
        auto opened = writer.open(m_video.toStdString(), options);
        QVERIFY2(opened.ok(), opened.ok() ? "" : opened.error().toString().c_str());
        for (int f = 0; f < 8; ++f) {
            ditstudio::Image frame;
            frame.width = frame.height = 28;
            frame.channels = 1;
            frame.pixels.resize(28 * 28);
            for (int y = 0; y < 28; ++y)
                for (int x = 0; x < 28; ++x) {
                    const bool square = x >= 4 + 2 * f && x < 12 + 2 * f && y >= 10 && y < 18;
                    frame.pixels[y * 28 + x] = std::uint8_t(square ? 230 : x * 4 + y * 2);
                }
            auto w = writer.write(frame);
            QVERIFY2(w.ok(), w.ok() ? "" : w.error().toString().c_str());
        }
        auto done = writer.finish();
        QVERIFY2(done.ok(), done.ok() ? "" : done.error().toString().c_str());
    }

    void opensAndBrowsesInput()
    {
        VideoEditDialog dialog(m_engine.get(), settings(2));
        QVERIFY2(dialog.setInputPath(m_video), qPrintable(dialog.resultText()));
        QCOMPARE(dialog.inputFrameCount(), 8);
        QVERIFY2(dialog.infoText().contains(QStringLiteral("8 frames")), qPrintable(dialog.infoText()));
        QVERIFY2(dialog.infoText().contains(QStringLiteral("8 fps")), qPrintable(dialog.infoText()));
        const QImage first = dialog.previewImage();
        QVERIFY(!first.isNull());
        dialog.showInputFrame(6);
        QVERIFY(!dialog.previewImage().isNull());
        QVERIFY(dialog.previewImage() != first); // the square moved
    }

    void editKeepsFrameCountAndFps()
    {
        VideoEditDialog dialog(m_engine.get(), settings(2));
        QVERIFY(dialog.setInputPath(m_video));
        const QString out = m_dir.filePath(QStringLiteral("edited.mp4"));
        dialog.setOutputPath(out);
        dialog.setStrength(0.5);
        dialog.setSteps(2);
        dialog.setTemporalSmoothing(0.3);
        QSignalSpy done(&dialog, &VideoEditDialog::finishedEdit);
        dialog.start();
        QVERIFY(dialog.isRunning()); // off the GUI thread
        QVERIFY(done.wait(60000));
        QTest::qWait(50);
        QCOMPARE(done.count(), 1);
        QVERIFY2(done.first().at(0).toBool(), qPrintable(dialog.resultText()));
        QVERIFY(!dialog.lastEditedFrame().isNull());

        ditstudio::VideoReader reader;
        auto info = reader.open(out.toStdString());
        QVERIFY2(info.ok(), info.ok() ? "" : info.error().toString().c_str());
        QCOMPARE(info->fps, 8.0);
        auto frames = reader.readAll();
        QVERIFY(frames.ok());
        QCOMPARE(int(frames->size()), 8);

        // A second run onto the same output is refused with a message; the file is untouched.
        const qint64 size = QFileInfo(out).size();
        QSignalSpy again(&dialog, &VideoEditDialog::finishedEdit);
        dialog.start();
        QCOMPARE(again.count(), 1);
        QVERIFY(!again.first().at(0).toBool());
        QVERIFY(!dialog.isRunning());
        QVERIFY2(dialog.resultText().contains(QStringLiteral("exists")), qPrintable(dialog.resultText()));
        QCOMPARE(QFileInfo(out).size(), size);
    }

    void cancelGivesOneOutcomeAndNoFile()
    {
        VideoEditDialog dialog(m_engine.get(), settings(50));
        QVERIFY(dialog.setInputPath(m_video));
        const QString out = m_dir.filePath(QStringLiteral("cancelled.mp4"));
        dialog.setOutputPath(out);
        dialog.setStrength(1.0);
        dialog.setSteps(50);
        QSignalSpy done(&dialog, &VideoEditDialog::finishedEdit);
        dialog.start();
        QVERIFY(dialog.isRunning());
        // Cancel once the first frame is edited (or, on a fast machine, right away).
        QTRY_VERIFY_WITH_TIMEOUT(!dialog.lastEditedFrame().isNull() || done.count() > 0, 30000);
        dialog.cancel();
        dialog.cancel(); // a second press changes nothing
        QVERIFY(done.count() > 0 || done.wait(30000));
        QTest::qWait(100);
        QCOMPARE(done.count(), 1);
        QVERIFY(!done.first().at(0).toBool());
        QVERIFY2(dialog.resultText().contains(QStringLiteral("Cancelled")), qPrintable(dialog.resultText()));
        QVERIFY(!QFileInfo::exists(out));
    }

    // Issue 18: typing a path opens it, no label shows a literal '&', the bar counts the video's frames
    // once it is open (not "0 / 1"), and the output can be upscaled like an exported film.
    void typedInputLabelsProgressAndUpscale()
    {
        VideoEditDialog dialog(m_engine.get(), settings(2));
        dialog.show();
        auto *progress = dialog.findChild<QProgressBar *>(QStringLiteral("videoEditProgress"));
        QVERIFY(progress);
        QVERIFY2(!progress->text().contains(QStringLiteral("/ 1")), qPrintable(progress->text()));
        auto *input = dialog.findChild<QLineEdit *>(QStringLiteral("videoEditInput"));
        QVERIFY(input);
        QVERIFY(!input->isReadOnly());
        input->setFocus();
        QTest::keyClicks(input, m_video);
        QCOMPARE(input->text(), m_video); // typing reaches the field
        QTest::keyClick(input, Qt::Key_Return);
        QCOMPARE(dialog.inputFrameCount(), 8);
        QCOMPARE(progress->maximum(), 8);
        QCOMPARE(progress->text(), QStringLiteral("0 / 8 frames"));
        for (QLabel *label : dialog.findChildren<QLabel *>()) {
            if (label->textFormat() == Qt::RichText || label->text().startsWith(QLatin1Char('<')))
                continue;
            // A label with a buddy shows its mnemonic underlined; one without shows the '&' itself.
            if (label->text().contains(QLatin1Char('&')))
                QVERIFY2(label->buddy() != nullptr,
                         qPrintable(QStringLiteral("label shows a literal '&': ") + label->text()));
        }
        auto *scale = dialog.findChild<QSpinBox *>(QStringLiteral("videoEditScale"));
        QVERIFY(scale);
        scale->setValue(3);
        const QString out = m_dir.filePath(QStringLiteral("upscaled.mp4"));
        dialog.setOutputPath(out);
        dialog.setStrength(0.3);
        QSignalSpy done(&dialog, &VideoEditDialog::finishedEdit);
        dialog.start();
        QVERIFY(done.wait(60000));
        QVERIFY2(done.first().at(0).toBool(), qPrintable(dialog.resultText()));
        QCOMPARE(progress->text(), QStringLiteral("8 / 8 frames"));
        ditstudio::VideoReader reader;
        auto info = reader.open(out.toStdString());
        QVERIFY(info.ok());
        QCOMPARE(info->width, 84);
        QCOMPARE(info->height, 84);
    }

    void unreadableInputGivesErrorText()
    {
        VideoEditDialog dialog(m_engine.get(), settings(2));
        const QString bad = m_dir.filePath(QStringLiteral("not-a-video.mp4"));
        QFile f(bad);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("this is not a video");
        f.close();
        QVERIFY(!dialog.setInputPath(bad));
        QVERIFY(!dialog.resultText().isEmpty());
        QVERIFY2(dialog.resultText().contains(QStringLiteral("not-a-video.mp4")),
                 qPrintable(dialog.resultText()));
        QVERIFY(!dialog.setInputPath(m_dir.filePath(QStringLiteral("missing.mp4"))));
        // Starting without a readable input is refused with one outcome.
        QSignalSpy done(&dialog, &VideoEditDialog::finishedEdit);
        dialog.start();
        QCOMPARE(done.count(), 1);
        QVERIFY(!done.first().at(0).toBool());
        QVERIFY(!dialog.isRunning());
    }

    void mainWindowOpensTheVideoEditDialog()
    {
        QTemporaryDir dataDir; // history and settings away from the user's
        qputenv("DITSTUDIO_DATA_DIR", dataDir.path().toUtf8());
        QStandardPaths::setTestModeEnabled(true);
        MainWindow window;
        auto *action = window.findChild<QAction *>(QStringLiteral("editVideoAction"));
        QVERIFY(action);
        VideoEditDialog *opened = nullptr;
        QTimer::singleShot(0, &window, [&opened] {
            opened = qobject_cast<VideoEditDialog *>(QApplication::activeModalWidget());
            if (opened)
                opened->close();
        });
        action->trigger(); // exec() returns once the dialog is closed
        QVERIFY(opened);
        qunsetenv("DITSTUDIO_DATA_DIR");
    }
};

QTEST_MAIN(VideoEditDialogTest)
#include "video_edit_dialog_test.moc"
