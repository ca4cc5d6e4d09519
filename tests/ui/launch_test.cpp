// Launch as the app does it (app/gui_main.cpp): the window is built and shown while the engine
// module is held back, is usable at once (the prompt takes typing, settings change), and becomes
// ready for Generate once the module has loaded and the start-up model is in.
#include "engine_module.h"
#include "main_window.h"

#include "ditstudio/engine.h"
#include "ditstudio/runtime.h"

#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include "test_skip.h"
#include "generation_settings.h"
#include <QElapsedTimer>
#include <QImageWriter>

class LaunchTest : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        static QTemporaryDir dataDir;
        QVERIFY(dataDir.isValid());
        qputenv("DITSTUDIO_DATA_DIR", dataDir.path().toUtf8());
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("ditstudio-tests"));
        QCoreApplication::setApplicationName(QStringLiteral("ditstudio-launch-tests"));
        QSettings().clear();
        QVERIFY(ditstudio::initLogging("warn", "").ok());
        if (ditstudio::defaultModelPath().empty())
            DITSTUDIO_QSKIP("the embedded default model was not found");
    }

    void windowIsUsableBeforeTheEngineLoads()
    {
        EngineModule::holdLoading();
        MainWindow window;
        QSignalSpy ready(&window, &MainWindow::ready);
        window.loadInitialModel(); // queued on the worker, which waits for the module
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));

        auto *prompt = window.findChild<QLineEdit *>(QStringLiteral("prompt"));
        auto *steps = window.findChild<QSpinBox *>(QStringLiteral("steps"));
        auto *generate = window.findChild<QPushButton *>(QStringLiteral("generateButton"));
        auto *label = window.findChild<QLabel *>(QStringLiteral("modelLabel"));
        QVERIFY(prompt && steps && generate && label);
        // The engine has not even started loading, yet the window takes input.
        QVERIFY(!EngineModule::isFinished());
        QTest::keyClicks(prompt, QStringLiteral("sneaker"));
        QCOMPARE(prompt->text(), QStringLiteral("sneaker"));
        steps->setValue(12);
        QCOMPARE(steps->value(), 12);
        QVERIFY(!generate->isEnabled());
        QCOMPARE(label->text(), QStringLiteral("Loading model…"));
        QCOMPARE(ready.count(), 0);
        // Opening a PNG restores its settings without waiting for the engine module.
        {
            GenerationSettings saved;
            saved.prompt = QStringLiteral("ankle boot");
            saved.steps = 37;
            saved.seed = 4242;
            saved.embeddedDefault = false; // no model change: the start-up load stays the only one
            QTemporaryDir dir;
            const QString png = dir.filePath(QStringLiteral("restore.png"));
            QImage pixels(8, 8, QImage::Format_Grayscale8);
            pixels.fill(128);
            QImageWriter writer(png, "png");
            for (const auto &[key, value] : pngTextChunks(saved, QStringLiteral("Ankle boot"), QSize(8, 8)))
                writer.setText(QString::fromStdString(key), QString::fromStdString(value));
            QVERIFY(writer.write(pixels));
            QElapsedTimer timer;
            timer.start();
            QVERIFY(window.openImageFile(png));
            QVERIFY2(timer.elapsed() < 2000, "opening a PNG waited");
            QVERIFY(!EngineModule::isFinished()); // the module was never needed
            QCOMPARE(steps->value(), 37);
            QCOMPARE(prompt->text(), QStringLiteral("ankle boot"));
            prompt->setText(QStringLiteral("sneaker"));
        }

        EngineModule::startLoading();
        QVERIFY(ready.wait(60000));
        QVERIFY2(EngineModule::api(), qPrintable(EngineModule::errorText()));
        QVERIFY(generate->isEnabled());
        QCOMPARE(prompt->text(), QStringLiteral("sneaker")); // what was typed meanwhile is kept
        QVERIFY2(label->text().contains(QLatin1String("ditstudio-fmnist")), qPrintable(label->text()));
    }
};

QTEST_MAIN(LaunchTest)
#include "launch_test.moc"
