// Launch as the app does it (app/gui/main.cpp): the window is built and shown while the engine
// module is held back, is usable at once (the prompt takes typing, settings change), and becomes
// ready for Generate once the module has loaded and the start-up model is in.
#include "engine/engine_module.h"
#include "main_window.h"

#include "ditstudio/engine.h"
#include "ditstudio/runtime.h"

#include "generate/generation_settings.h"
#include "test_skip.h"
#include <QComboBox>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QImageWriter>
#include <QLabel>
#include <QLineEdit>
#include <QProcess>
#include <QProcessEnvironment>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

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

    // `ditstudio --exit-when-ready` exits 0 only when a model is loaded and Generate is available, so
    // a script can check that a launch is usable; the log file follows $DITSTUDIO_DATA_DIR.
    void exitWhenReadyTellsWhetherTheLaunchIsUsable()
    {
        auto launch = [](const QProcessEnvironment &env, QString *output) {
            QProcess app;
            app.setProcessEnvironment(env);
            app.setProcessChannelMode(QProcess::MergedChannels);
            app.start(QStringLiteral(DITSTUDIO_GUI_PATH), {QStringLiteral("--exit-when-ready")});
            if (!app.waitForFinished(120000)) {
                app.kill();
                app.waitForFinished();
                return -100;
            }
            *output = QString::fromUtf8(app.readAll());
            return app.exitStatus() == QProcess::NormalExit ? app.exitCode() : -1;
        };
        QTemporaryDir home, data;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        env.insert(QStringLiteral("HOME"), home.path()); // a fresh user: no settings, no ~/Videos
        env.insert(QStringLiteral("XDG_CONFIG_HOME"), home.filePath(QStringLiteral(".config")));
        env.insert(QStringLiteral("DITSTUDIO_DATA_DIR"), data.path());
        QString out;
        QCOMPARE(launch(env, &out), 0);
        QVERIFY2(out.contains(QStringLiteral("ready for a prompt")), qPrintable(out));
        QVERIFY2(QFileInfo::exists(data.filePath(QStringLiteral("logs/ditstudio.log"))),
                 "the log file is not under DITSTUDIO_DATA_DIR");

        // A saved model that is gone: the launch falls back to the embedded default and is usable.
        {
            QSettings saved(home.filePath(QStringLiteral(".config/ditstudio/ditstudio.conf")),
                            QSettings::IniFormat);
            saved.setValue(QStringLiteral("model/lastPath"),
                           home.filePath(QStringLiteral("gone.safetensors")));
            saved.setValue(QStringLiteral("model/lastIsDefault"), false);
            saved.setValue(QStringLiteral("model/vaePath"),
                           home.filePath(QStringLiteral("gone-vae.safetensors")));
        }
        QCOMPARE(launch(env, &out), 0);

        // No engine at all: nothing can load, and the exit status says so.
        env.insert(QStringLiteral("DITSTUDIO_ENGINE_MODULE"),
                   home.filePath(QStringLiteral("no-such-engine.so")));
        const int code = launch(env, &out);
        QVERIFY2(code > 0, qPrintable(QStringLiteral("exit %1: %2").arg(code).arg(out)));
        QVERIFY2(out.contains(QStringLiteral("not usable")), qPrintable(out));
    }
};

QTEST_MAIN(LaunchTest)
#include "launch_test.moc"
