// Screenshot check: renders the real MainWindow (QWidget::grab, no display needed) after a short
// generation with the tiny fixture model and writes DITSTUDIO_SCREENSHOT_DIR/main_window.png for
// people (and CI artifacts) to look at. Fails when the window cannot be rendered or saved.
#include "generation_controller.h"
#include "main_window.h"

#include "ditstudio/runtime.h"

#include <QCheckBox>
#include <QDir>
#include <QLineEdit>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QtTest>

class ScreenshotTest : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("ditstudio-tests"));
        QCoreApplication::setApplicationName(QStringLiteral("ditstudio-ui-screenshot"));
        QSettings().clear();
        QVERIFY(ditstudio::initLogging("warn", "").ok());
    }

    void rendersMainWindowAfterGeneration()
    {
        MainWindow window;
        window.resize(980, 700);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));

        QSignalSpy loaded(window.controller(), &GenerationController::modelLoaded);
        window.openModel(QStringLiteral(DITSTUDIO_TEST_DATA_DIR "/parity/dit-tiny/weights.safetensors"));
        QVERIFY(loaded.wait(60000));

        window.findChild<QLineEdit *>(QStringLiteral("prompt"))->setText(QStringLiteral("#3"));
        window.findChild<QSpinBox *>(QStringLiteral("steps"))->setValue(25);
        window.findChild<QCheckBox *>(QStringLiteral("randomSeed"))->setChecked(false);
        window.findChild<QSpinBox *>(QStringLiteral("seed"))->setValue(42);
        QSignalSpy finished(window.controller(), &GenerationController::finished);
        QVERIFY(window.startGeneration());
        QVERIFY(finished.wait(60000));
        QTest::qWait(50); // let the last repaint land

        const QImage shot = window.grab().toImage();
        QVERIFY(!shot.isNull());
        QCOMPARE(shot.size(), window.size() * shot.devicePixelRatio());
        const QString dir = QStringLiteral(DITSTUDIO_SCREENSHOT_DIR);
        QVERIFY(QDir().mkpath(dir));
        const QString path = QDir(dir).filePath(QStringLiteral("main_window.png"));
        QVERIFY2(shot.save(path, "PNG"), qPrintable(path));
        qInfo("screenshot: %s", qPrintable(path));
    }
};

QTEST_MAIN(ScreenshotTest)
#include "screenshot_test.moc"
