// Qt Test suite for the UI: the GenerationController's threading contract (one preview per step,
// exactly one finished per job, cancel, failed loads, destruction mid-run) and the MainWindow
// driven end to end on the tiny fixture model. Runs headless (QT_QPA_PLATFORM=offscreen).
#include "generation_controller.h"
#include "image_conversion.h"
#include "main_window.h"

#include "ditstudio/engine.h"
#include "ditstudio/runtime.h"

#include <QAction>
#include <QCheckBox>
#include <QCompleter>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QStringListModel>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>

namespace {

const QString kFixture = QStringLiteral(DITSTUDIO_TEST_DATA_DIR "/parity/dit-tiny/weights.safetensors");
constexpr int kTimeoutMs = 60000;

ditstudio::GenerateRequest tinyRequest(int steps)
{
    ditstudio::GenerateRequest r;
    r.prompt = "#3";
    r.steps = steps;
    r.seed = 7;
    r.cfgScale = 4.0;
    return r;
}

GenerationOutcome outcomeAt(const QSignalSpy &spy, int index)
{
    return spy.at(index).at(0).value<GenerationOutcome>();
}

} // namespace

class MainWindowTest : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void init();

    void imageConversionRoundTrips();
    void controllerLoadsFixture();
    void generationEmitsOnePreviewPerStep();
    void cancelMidRunFinishesOnceCancelled();
    void cancelBeforeStartFinishesOnceCancelled();
    void badCheckpointFailsAndControllerStillWorks();
    void badPromptFailsWithBackendMessage();
    void destroyingControllerDuringRunExitsCleanly();
    void destroyingControllerDuringLoadExitsCleanly();

    void windowStartsWithoutModel();
    void windowGeneratesEndToEnd();
    void windowShowsErrorsAndKeepsWorking();
    void windowSavesPngWithParameters();
    void windowReopensLastModel();

private:
    bool loadFixture(GenerationController &controller);
};

void MainWindowTest::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true); // settings go to ~/.qttest, not the user's
    QCoreApplication::setOrganizationName(QStringLiteral("ditstudio-tests"));
    QCoreApplication::setApplicationName(QStringLiteral("ditstudio-ui-tests"));
    QVERIFY(ditstudio::initLogging("warn", "").ok());
    QVERIFY2(QFile::exists(kFixture), qPrintable(kFixture));
}

void MainWindowTest::init()
{
    QSettings().clear();
}

bool MainWindowTest::loadFixture(GenerationController &controller)
{
    QSignalSpy loaded(&controller, &GenerationController::modelLoaded);
    controller.loadModel(kFixture);
    return loaded.wait(kTimeoutMs) && loaded.count() == 1;
}

void MainWindowTest::imageConversionRoundTrips()
{
    for (int channels : {1, 3, 4}) {
        ditstudio::Image img;
        img.width = 5; // odd width: QImage pads rows, the backend does not
        img.height = 3;
        img.channels = channels;
        for (int i = 0; i < img.width * img.height * channels; ++i)
            img.pixels.push_back(static_cast<std::uint8_t>(i * 7));
        const QImage q = toQImage(img);
        QCOMPARE(q.size(), QSize(5, 3));
        const ditstudio::Image back = toDitImage(q);
        QCOMPARE(back.channels, channels);
        QVERIFY(back.pixels == img.pixels);
    }
    QVERIFY(toQImage(ditstudio::Image{}).isNull());
}

void MainWindowTest::controllerLoadsFixture()
{
    GenerationController controller;
    QSignalSpy loaded(&controller, &GenerationController::modelLoaded);
    QSignalSpy failed(&controller, &GenerationController::loadFailed);
    controller.loadModel(kFixture);
    QVERIFY(controller.isLoading());
    QVERIFY(loaded.wait(kTimeoutMs));
    QCOMPARE(failed.count(), 0);
    const auto model = loaded.at(0).at(0).value<ModelSummary>();
    QCOMPARE(model.numClasses, 10);
    QCOMPARE(model.imageSize, 8);
    QCOMPARE(model.fileName, QStringLiteral("weights.safetensors"));
    QVERIFY(model.classNames.isEmpty());
    QVERIFY(controller.hasModel());
    QVERIFY(!controller.isLoading());
}

void MainWindowTest::generationEmitsOnePreviewPerStep()
{
    GenerationController controller;
    QVERIFY(loadFixture(controller));
    QSignalSpy steps(&controller, &GenerationController::stepFinished);
    QSignalSpy previews(&controller, &GenerationController::previewReady);
    QSignalSpy finished(&controller, &GenerationController::finished);

    constexpr int kSteps = 6;
    const quint64 job = controller.generate(tinyRequest(kSteps));
    QVERIFY(job != 0);
    QVERIFY(controller.isBusy());
    QVERIFY(finished.wait(kTimeoutMs));
    QTest::qWait(200); // nothing may trail the outcome
    QCOMPARE(finished.count(), 1);
    QCOMPARE(previews.count(), kSteps);
    QCOMPARE(steps.count(), kSteps);
    for (int i = 0; i < kSteps; ++i) {
        QCOMPARE(steps.at(i).at(0).toInt(), i + 1);
        QCOMPARE(steps.at(i).at(1).toInt(), kSteps);
        QCOMPARE(previews.at(i).at(2).toInt(), i + 1);
        const auto xt = previews.at(i).at(0).value<QImage>();
        const auto x0 = previews.at(i).at(1).value<QImage>();
        QCOMPARE(xt.size(), QSize(8, 8));
        QCOMPARE(x0.size(), QSize(8, 8));
    }
    const auto outcome = outcomeAt(finished, 0);
    QCOMPARE(outcome.jobId, job);
    QCOMPARE(outcome.status, GenerationOutcome::Status::Completed);
    QCOMPARE(outcome.images.size(), 1);
    QCOMPARE(outcome.images.front().size(), QSize(8, 8));
    QCOMPARE(outcome.stepsDone, kSteps);
    QCOMPARE(outcome.seed, quint64(7));
    QVERIFY2(outcome.parameters.contains(QStringLiteral("Steps: 6")), qPrintable(outcome.parameters));
    QVERIFY(outcome.parameters.startsWith(QStringLiteral("#3\n")));
    QVERIFY(!controller.isBusy());
}

void MainWindowTest::cancelMidRunFinishesOnceCancelled()
{
    GenerationController controller;
    QVERIFY(loadFixture(controller));
    QSignalSpy previews(&controller, &GenerationController::previewReady);
    QSignalSpy finished(&controller, &GenerationController::finished);

    constexpr int kSteps = 1000;
    QVERIFY(controller.generate(tinyRequest(kSteps)) != 0);
    QCOMPARE(controller.generate(tinyRequest(3)), quint64(0)); // one job at a time
    QVERIFY(previews.wait(kTimeoutMs));
    controller.cancel();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeoutMs);
    QTest::qWait(200);
    QCOMPARE(finished.count(), 1);
    const auto outcome = outcomeAt(finished, 0);
    QCOMPARE(outcome.status, GenerationOutcome::Status::Cancelled);
    QVERIFY(outcome.stepsDone >= 1);
    QVERIFY(outcome.stepsDone < kSteps);
    QCOMPARE(previews.count(), outcome.stepsDone);

    // The next job gets a fresh token and completes.
    finished.clear();
    QVERIFY(controller.generate(tinyRequest(3)) != 0);
    QVERIFY(finished.wait(kTimeoutMs));
    QCOMPARE(outcomeAt(finished, 0).status, GenerationOutcome::Status::Completed);
}

void MainWindowTest::cancelBeforeStartFinishesOnceCancelled()
{
    GenerationController controller;
    QVERIFY(loadFixture(controller));
    QSignalSpy finished(&controller, &GenerationController::finished);
    QVERIFY(controller.generate(tinyRequest(200)) != 0);
    controller.cancel(); // most likely before the worker picked the job up
    QVERIFY(finished.wait(kTimeoutMs));
    QTest::qWait(200);
    QCOMPARE(finished.count(), 1);
    QCOMPARE(outcomeAt(finished, 0).status, GenerationOutcome::Status::Cancelled);
    controller.cancel(); // no job: harmless
}

void MainWindowTest::badCheckpointFailsAndControllerStillWorks()
{
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString garbage = tmp.filePath(QStringLiteral("garbage.safetensors"));
    {
        QFile f(garbage);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("this is not a safetensors file");
    }

    GenerationController controller;
    QSignalSpy loaded(&controller, &GenerationController::modelLoaded);
    QSignalSpy failed(&controller, &GenerationController::loadFailed);

    controller.loadModel(tmp.filePath(QStringLiteral("missing.safetensors")));
    QVERIFY(failed.wait(kTimeoutMs));
    QVERIFY(!failed.at(0).at(0).toString().isEmpty());
    QVERIFY(!controller.hasModel());
    QVERIFY(!controller.isLoading());

    QVERIFY(loadFixture(controller));

    // A failed load keeps the model that was loaded before.
    controller.loadModel(garbage);
    QVERIFY(failed.wait(kTimeoutMs));
    QCOMPARE(failed.count(), 2);
    QVERIFY(!failed.at(1).at(0).toString().isEmpty());
    QVERIFY(controller.hasModel());
    QCOMPARE(controller.model().fileName, QStringLiteral("weights.safetensors"));

    QSignalSpy finished(&controller, &GenerationController::finished);
    QVERIFY(controller.generate(tinyRequest(2)) != 0);
    QVERIFY(finished.wait(kTimeoutMs));
    QCOMPARE(outcomeAt(finished, 0).status, GenerationOutcome::Status::Completed);
}

void MainWindowTest::badPromptFailsWithBackendMessage()
{
    GenerationController controller;
    QSignalSpy finished(&controller, &GenerationController::finished);

    // No model yet: the engine's own error comes back as Failed.
    QVERIFY(controller.generate(tinyRequest(2)) != 0);
    QVERIFY(finished.wait(kTimeoutMs));
    QCOMPARE(outcomeAt(finished, 0).status, GenerationOutcome::Status::Failed);
    QVERIFY(!outcomeAt(finished, 0).message.isEmpty());

    QVERIFY(loadFixture(controller));
    auto request = tinyRequest(2);
    request.prompt = "#99"; // the fixture has 10 classes
    QVERIFY(controller.generate(request) != 0);
    QVERIFY(finished.wait(kTimeoutMs));
    QCOMPARE(finished.count(), 2);
    const auto outcome = outcomeAt(finished, 1);
    QCOMPARE(outcome.status, GenerationOutcome::Status::Failed);
    QVERIFY2(!outcome.message.isEmpty(), "the backend's message must reach the GUI");
    QVERIFY(!controller.isBusy());
}

void MainWindowTest::destroyingControllerDuringRunExitsCleanly()
{
    auto controller = std::make_unique<GenerationController>();
    QVERIFY(loadFixture(*controller));
    QSignalSpy previews(controller.get(), &GenerationController::previewReady);
    QVERIFY(controller->generate(tinyRequest(1000)) != 0);
    QVERIFY(previews.wait(kTimeoutMs));
    QElapsedTimer timer;
    timer.start();
    controller.reset(); // cancels, quits, waits
    QVERIFY2(timer.elapsed() < 10000, "the destructor must stop the run at the next step");
    QTest::qWait(100); // no queued signal may reach the deleted controller
}

void MainWindowTest::destroyingControllerDuringLoadExitsCleanly()
{
    auto controller = std::make_unique<GenerationController>();
    controller->loadModel(kFixture);
    controller->generate(tinyRequest(1000)); // queued behind the load
    controller.reset();
    QTest::qWait(100);
}

void MainWindowTest::windowStartsWithoutModel()
{
    MainWindow window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    auto *generate = window.findChild<QPushButton *>(QStringLiteral("generateButton"));
    auto *label = window.findChild<QLabel *>(QStringLiteral("modelLabel"));
    QVERIFY(generate && label);
    QVERIFY(!generate->isEnabled());
    QVERIFY(label->text().contains(QStringLiteral("No model loaded")));
    QVERIFY(!window.startGeneration());
}

void MainWindowTest::windowGeneratesEndToEnd()
{
    MainWindow window;
    window.show();
    window.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&window));
    auto *prompt = window.findChild<QLineEdit *>(QStringLiteral("prompt"));
    auto *steps = window.findChild<QSpinBox *>(QStringLiteral("steps"));
    auto *seed = window.findChild<QSpinBox *>(QStringLiteral("seed"));
    auto *random = window.findChild<QCheckBox *>(QStringLiteral("randomSeed"));
    auto *generate = window.findChild<QPushButton *>(QStringLiteral("generateButton"));
    auto *progress = window.findChild<QProgressBar *>(QStringLiteral("progress"));
    auto *label = window.findChild<QLabel *>(QStringLiteral("modelLabel"));
    QVERIFY(prompt && steps && seed && random && generate && progress && label);

    QSignalSpy loaded(window.controller(), &GenerationController::modelLoaded);
    window.openModel(kFixture);
    QVERIFY(loaded.wait(kTimeoutMs));
    QVERIFY(generate->isEnabled());
    QVERIFY(label->text().contains(QStringLiteral("weights.safetensors")));
    auto *completions = qobject_cast<QStringListModel *>(prompt->completer()->model());
    QVERIFY(completions);
    QCOMPARE(completions->stringList().size(), 10);
    QCOMPARE(completions->stringList().front(), QStringLiteral("#0"));

    prompt->setText(QStringLiteral("#3"));
    steps->setValue(5);
    random->setChecked(false);
    seed->setValue(11);
    QSignalSpy finished(window.controller(), &GenerationController::finished);
    QTest::keyClick(prompt, Qt::Key_Return, Qt::ControlModifier); // the Generate shortcut
    QVERIFY(window.controller()->isBusy());
    QVERIFY(!generate->isEnabled());
    QVERIFY(finished.wait(kTimeoutMs));
    QCOMPARE(outcomeAt(finished, 0).status, GenerationOutcome::Status::Completed);
    QCOMPARE(outcomeAt(finished, 0).seed, quint64(11));
    QCOMPARE(progress->value(), 5);
    QCOMPARE(window.resultImage().size(), QSize(8, 8));
    QVERIFY(generate->isEnabled());
    auto *save = window.findChild<QAction *>(QStringLiteral("saveAction"));
    QVERIFY(save && save->isEnabled());

    // Settings persisted for the next start.
    QSettings settings;
    QCOMPARE(settings.value(QStringLiteral("generation/steps")).toInt(), 5);
    QCOMPARE(settings.value(QStringLiteral("generation/seed")).toInt(), 11);
    QCOMPARE(settings.value(QStringLiteral("model/lastPath")).toString(), QFileInfo(kFixture).absoluteFilePath());

    // Cancel from the button while a long run is going.
    steps->setValue(1000);
    QSignalSpy previews(window.controller(), &GenerationController::previewReady);
    QTest::mouseClick(generate, Qt::LeftButton);
    QVERIFY(previews.wait(kTimeoutMs));
    QTest::mouseClick(window.findChild<QPushButton *>(QStringLiteral("cancelButton")), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, kTimeoutMs);
    QCOMPARE(outcomeAt(finished, 1).status, GenerationOutcome::Status::Cancelled);
    QVERIFY(progress->format().contains(QStringLiteral("Cancelled")));
    QVERIFY(generate->isEnabled());
}

void MainWindowTest::windowShowsErrorsAndKeepsWorking()
{
    MainWindow window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QSignalSpy failed(window.controller(), &GenerationController::loadFailed);
    window.openModel(QStringLiteral("/nonexistent/model.safetensors"));
    QVERIFY(failed.wait(kTimeoutMs));
    QTRY_VERIFY(window.findChild<QMessageBox *>(QStringLiteral("errorBox")) != nullptr);
    auto *box = window.findChild<QMessageBox *>(QStringLiteral("errorBox"));
    QVERIFY(box->text().contains(QStringLiteral("/nonexistent/model.safetensors")));
    box->accept();
    QTRY_VERIFY(window.findChild<QMessageBox *>(QStringLiteral("errorBox")) == nullptr);

    QSignalSpy loaded(window.controller(), &GenerationController::modelLoaded);
    window.openModel(kFixture);
    QVERIFY(loaded.wait(kTimeoutMs));

    auto *prompt = window.findChild<QLineEdit *>(QStringLiteral("prompt"));
    auto *steps = window.findChild<QSpinBox *>(QStringLiteral("steps"));
    QSignalSpy finished(window.controller(), &GenerationController::finished);
    prompt->setText(QStringLiteral("#42"));
    steps->setValue(2);
    QVERIFY(window.startGeneration());
    QVERIFY(finished.wait(kTimeoutMs));
    QCOMPARE(outcomeAt(finished, 0).status, GenerationOutcome::Status::Failed);
    QTRY_VERIFY(window.findChild<QMessageBox *>(QStringLiteral("errorBox")) != nullptr);
    window.findChild<QMessageBox *>(QStringLiteral("errorBox"))->accept();

    prompt->setText(QStringLiteral("#4"));
    QVERIFY(window.startGeneration());
    QVERIFY(finished.wait(kTimeoutMs));
    QCOMPARE(outcomeAt(finished, 1).status, GenerationOutcome::Status::Completed);
    QVERIFY(!window.resultImage().isNull());
}

void MainWindowTest::windowSavesPngWithParameters()
{
    MainWindow window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("out.png"));
    QVERIFY(!window.saveImageTo(path)); // nothing generated yet

    QSignalSpy loaded(window.controller(), &GenerationController::modelLoaded);
    window.openModel(kFixture);
    QVERIFY(loaded.wait(kTimeoutMs));
    window.findChild<QLineEdit *>(QStringLiteral("prompt"))->setText(QStringLiteral("#5"));
    window.findChild<QSpinBox *>(QStringLiteral("steps"))->setValue(3);
    window.findChild<QCheckBox *>(QStringLiteral("randomSeed"))->setChecked(false);
    window.findChild<QSpinBox *>(QStringLiteral("seed"))->setValue(99);
    QSignalSpy finished(window.controller(), &GenerationController::finished);
    QVERIFY(window.startGeneration());
    QVERIFY(finished.wait(kTimeoutMs));

    QVERIFY(window.saveImageTo(path));
    const auto text = ditstudio::readPngText(path.toStdString());
    QVERIFY(text.ok());
    QString parameters;
    for (const auto &[key, value] : text.value())
        if (key == "parameters")
            parameters = QString::fromStdString(value);
    QVERIFY2(parameters.startsWith(QStringLiteral("#5\n")), qPrintable(parameters));
    QVERIFY(parameters.contains(QStringLiteral("Steps: 3")));
    QVERIFY(parameters.contains(QStringLiteral("Seed: 99")));
    QVERIFY(parameters.contains(QStringLiteral("Sampler: ddpm")));
    const auto image = ditstudio::readImage(path.toStdString());
    QVERIFY(image.ok());
    QCOMPARE(image->width, 8);

    // Never overwrite silently: without the dialog's confirmation an existing file is refused.
    QVERIFY(!window.saveImageTo(path));
    QTRY_VERIFY(window.findChild<QMessageBox *>(QStringLiteral("errorBox")) != nullptr);
    QVERIFY(window.saveImageTo(path, /*overwrite=*/true));
}

void MainWindowTest::windowReopensLastModel()
{
    QSettings().setValue(QStringLiteral("model/lastPath"), QFileInfo(kFixture).absoluteFilePath());
    MainWindow window;
    QSignalSpy loaded(window.controller(), &GenerationController::modelLoaded);
    window.loadInitialModel();
    QVERIFY(loaded.wait(kTimeoutMs));
    QVERIFY(window.controller()->hasModel());
}

QTEST_MAIN(MainWindowTest)
#include "main_window_test.moc"
