// Qt Test suite for the Inside view (issue 14): the panel on synthetic probes (what each view reads),
// and the real MainWindow on the tiny fixture model, pixel-space and latent with a VAE: probes per
// step, the scrubber link, clicking a patch, an intervention with PSNR, the process sheet. Writes
// screenshots of each view to DITSTUDIO_SCREENSHOT_DIR (inside_*.png).
#include "engine/engine_module.h"
#include "engine/generation_controller.h"
#include "generate/preview_panel.h"
#include "inside/activity_heatmap.h"
#include "inside/inside_map_view.h"
#include "inside/inside_panel.h"
#include "main_window.h"
#include "widgets/image_conversion.h"

#include "ditstudio/module_api.h"
#include "ditstudio/video.h"

#include "ditstudio/engine.h"
#include "ditstudio/runtime.h"

#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QLineEdit>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

namespace {

const QString kFixture = QStringLiteral(DITSTUDIO_TEST_DATA_DIR "/parity/dit-tiny/weights.safetensors");
const QString kVae = QStringLiteral(DITSTUDIO_TEST_DATA_DIR "/parity/vae-tiny/vae-ldm.safetensors");
constexpr int kTimeoutMs = 120000;

ModelSummary tinySummary()
{
    ModelSummary m;
    m.architecture = QStringLiteral("DiT-test");
    m.depth = 2;
    m.numHeads = 2;
    m.tokensPerSide = 2;
    return m;
}

/// Probes of a made-up step: attention [2 rows, 2 heads, 4, 4] with row r, head h, query q putting
/// all its weight on token (q + h) % 4; adaLN chunk c of block b = (b + 1) * (c + 1) * step;
/// activity of block b = 0.1 * (b + 1) * step; guidance 1 at pixel 0 of image 0.
InsideProbes syntheticProbes(int step)
{
    auto p = std::make_shared<ditstudio::StepProbes>();
    p->tokensPerSide = 2;
    p->patchSize = 2;
    for (int b = 0; b < 2; ++b) {
        ditstudio::HostTensor a;
        a.shape = {2, 2, 4, 4};
        a.data.assign(64, 0.f);
        for (int r = 0; r < 2; ++r)
            for (int h = 0; h < 2; ++h)
                for (int q = 0; q < 4; ++q)
                    a.data[((r * 2 + h) * 4 + q) * 4 + (q + h) % 4] = 1.f;
        p->attentionBlocks.push_back(b);
        p->attention.push_back(a);
        ditstudio::HostTensor ad;
        ad.shape = {2, 6, 3};
        for (int r = 0; r < 2; ++r)
            for (int c = 0; c < 6; ++c)
                for (int d = 0; d < 3; ++d)
                    ad.data.push_back(static_cast<float>((b + 1) * (c + 1) * step));
        p->adaln.push_back(ad);
    }
    p->activity.shape = {2, 2};
    p->activity.data = {0.1f * step, 0.1f * step, 0.2f * step, 0.2f * step};
    p->guidance.shape = {1, 1, 4, 4};
    p->guidance.data.assign(16, 0.f);
    p->guidance.data[0] = 1.f;
    return p;
}

QImage grayImage(int side, int value)
{
    QImage img(side, side, QImage::Format_RGB888);
    img.fill(QColor(value, value, value));
    return img;
}

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

} // namespace

class InsidePanelTest : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        static QTemporaryDir dataDir;
        QVERIFY(dataDir.isValid());
        qputenv("DITSTUDIO_DATA_DIR", dataDir.path().toUtf8());
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("ditstudio-tests"));
        QCoreApplication::setApplicationName(QStringLiteral("ditstudio-ui-inside"));
        QVERIFY(ditstudio::initLogging("warn", "").ok());
        QVERIFY2(QFile::exists(kFixture), qPrintable(kFixture));
        QVERIFY2(QFile::exists(kVae), qPrintable(kVae));
    }
    void init() { QSettings().clear(); }

    void attentionViewReadsTheClickedPatchBlockAndHead()
    {
        InsidePanel panel;
        panel.resize(420, 760);
        panel.setModel(tinySummary());
        panel.beginRun(3, QStringLiteral("test"));
        for (int s = 1; s <= 3; ++s) {
            panel.addPreview(s, grayImage(4, 40 * s), grayImage(4, 60 * s));
            panel.addProbes(s, syntheticProbes(s));
        }
        QCOMPARE(panel.storedSteps(), 3);
        panel.setView(InsidePanel::View::Attention);
        panel.setBlock(1);
        panel.setHead(1);
        panel.selectToken(2);
        // Head 1 of query 2 looks only at token 3.
        QCOMPARE(panel.currentAttention(), (QVector<float> {0.f, 0.f, 0.f, 1.f}));
        panel.setHead(InsidePanel::kHeadMean);
        QCOMPARE(panel.currentAttention(), (QVector<float> {0.f, 0.f, 0.5f, 0.5f}));
        // Clicking the map picks the patch under the pointer.
        panel.show();
        auto *map = panel.findChild<InsideMapView *>(QStringLiteral("insideMap"));
        QVERIFY(map);
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        const QRect cell = map->tokenRect(1);
        QVERIFY(!cell.isEmpty());
        QTest::mouseClick(map, Qt::LeftButton, {}, cell.center());
        QCOMPARE(panel.selectedToken(), 1);
        QCOMPARE(panel.currentAttention(), (QVector<float> {0.f, 0.5f, 0.5f, 0.f}));
        QVERIFY(panel.statusText().contains(QStringLiteral("patch (0, 1)")));
        QVERIFY(!panel.currentMap().isNull());
        // Rollout over blocks 0..1 is a distribution over the tokens.
        panel.setHead(InsidePanel::kRollout);
        double sum = 0;
        for (float v : panel.currentAttention())
            sum += v;
        QVERIFY(std::fabs(sum - 1.0) < 1e-5);
    }

    void scrubberStepsGuidanceActivityAndAdaln()
    {
        InsidePanel panel;
        panel.setModel(tinySummary());
        panel.beginRun(3, QStringLiteral("test"));
        for (int s = 1; s <= 3; ++s) {
            panel.addPreview(s, grayImage(4, 40 * s), grayImage(4, 60 * s));
            panel.addProbes(s, syntheticProbes(s));
        }
        panel.showStep(2);
        QCOMPARE(panel.shownStep(), 2);
        QVERIFY(panel.statusText().startsWith(QStringLiteral("step 2 of 3")));
        panel.setView(InsidePanel::View::Guidance);
        const QImage g = panel.currentMap();
        QCOMPARE(g.size(), QSize(4, 4));
        QVERIFY2(g.pixelColor(0, 0) != g.pixelColor(3, 3), "the guided pixel stands out");
        auto *heat = panel.findChild<ActivityHeatmap *>(QStringLiteral("insideActivity"));
        QVERIFY(heat);
        QCOMPARE(heat->stepsWithData(), 3);
        QCOMPARE(heat->value(3, 1), 0.2f * 3);
        panel.setView(InsidePanel::View::Adaln);
        auto *chart = panel.findChild<QChartView *>(QStringLiteral("insideAdalnChart"));
        QVERIFY(chart);
        QCOMPARE(chart->chart()->series().size(), 3); // two blocks + the shown-step marker
        // The process sheet: a row per step, four columns.
        const QImage sheet = panel.processSheet();
        QVERIFY(!sheet.isNull());
        QVERIFY(sheet.height() > 3 * 112);
        QTemporaryDir dir;
        QString error;
        QVERIFY2(panel.exportProcessSheet(dir.filePath(QStringLiteral("sheet.png")), &error),
                 qPrintable(error));
        QCOMPARE(QImage(dir.filePath(QStringLiteral("sheet.png"))).size(), sheet.size());
        QVERIFY(!panel.exportProcessSheet(dir.filePath(QStringLiteral("no/such/folder/sheet.png")), &error));
        QVERIFY(error.contains(QStringLiteral("sheet.png")));
        QCOMPARE(panel.overlayFrames().size(), 3);
    }

    void probeOptionsStayWithinTheBudget()
    {
        InsidePanel panel;
        ModelSummary small = tinySummary();
        panel.setModel(small);
        auto p = panel.probeOptions(50);
        QVERIFY(p.attention && p.adaln && p.activity && p.guidance);
        QVERIFY(!p.headMean);
        ModelSummary xl; // DiT-XL/2 at 256 px
        xl.depth = 28;
        xl.numHeads = 16;
        xl.tokensPerSide = 16;
        panel.setModel(xl);
        p = panel.probeOptions(50);
        QVERIFY(p.headMean);
        QVERIFY(p.attentionBlocks.empty());
        xl.tokensPerSide = 32; // 512 px: head means of every few blocks
        panel.setModel(xl);
        p = panel.probeOptions(50);
        QVERIFY(p.headMean);
        QVERIFY(!p.attentionBlocks.empty());
        QCOMPARE(p.attentionBlocks.front(), 0);
        const qint64 perStep = 2LL * 1024 * 1024 * static_cast<qint64>(p.attentionBlocks.size()) * 4;
        QVERIFY(perStep * 50 <= (768LL << 20));
        QVERIFY(p.attentionBudgetBytes >= perStep);
    }

    void windowRecordsProbesFollowsTheScrubberAndIntervenes()
    {
        MainWindow window;
        window.resize(1500, 900);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QSignalSpy loaded(window.controller(), &GenerationController::modelLoaded);
        window.openModel(kFixture);
        QVERIFY(loaded.wait(kTimeoutMs));
        auto *inside = window.findChild<InsidePanel *>(QStringLiteral("insidePanel"));
        QVERIFY(inside);
        window.findChild<QDockWidget *>(QStringLiteral("insideDock"))->raise();
        window.findChild<QLineEdit *>(QStringLiteral("prompt"))->setText(QStringLiteral("#3"));
        window.findChild<QSpinBox *>(QStringLiteral("steps"))->setValue(6);
        auto *seedMode = window.findChild<QComboBox *>(QStringLiteral("seedMode"));
        seedMode->setCurrentIndex(seedMode->findText(QStringLiteral("fixed")));
        QSignalSpy probes(window.controller(), &GenerationController::probesReady);
        QSignalSpy finished(window.controller(), &GenerationController::finished);
        QVERIFY(window.startGeneration());
        QVERIFY(finished.wait(kTimeoutMs));
        QCOMPARE(probes.count(), 6);
        QCOMPARE(inside->storedSteps(), 6);
        // The scrubber drives the Inside view.
        auto *preview = window.findChild<PreviewPanel *>(QStringLiteral("previewPanel"));
        QVERIFY(preview->showStep(2));
        QCOMPARE(inside->shownStep(), 2);
        // Attention of a clicked patch: a distribution over the 16 tokens.
        inside->setView(InsidePanel::View::Attention);
        auto *map = inside->findChild<InsideMapView *>(QStringLiteral("insideMap"));
        QTest::qWait(50);
        QTest::mouseClick(map, Qt::LeftButton, {}, map->tokenRect(5).center());
        QCOMPARE(inside->selectedToken(), 5);
        double sum = 0;
        for (float v : inside->currentAttention())
            sum += v;
        QCOMPARE(inside->currentAttention().size(), 16);
        QVERIFY(std::fabs(sum - 1.0) < 1e-4);
        QTest::qWait(100);
        QVERIFY(saveShot(window.grab().toImage(), QStringLiteral("inside_attention.png")));
        inside->setView(InsidePanel::View::Guidance);
        QTest::qWait(100);
        QVERIFY(saveShot(window.grab().toImage(), QStringLiteral("inside_guidance.png")));
        inside->setView(InsidePanel::View::Activity);
        QTest::qWait(100);
        QVERIFY(saveShot(window.grab().toImage(), QStringLiteral("inside_activity.png")));
        inside->setView(InsidePanel::View::Adaln);
        QTest::qWait(100);
        QVERIFY(saveShot(window.grab().toImage(), QStringLiteral("inside_adaln.png")));

        // Intervention: head 1 of block 0 off, same seed: a different image, not in the history.
        inside->addIntervention(QStringLiteral("head"), 0, 1);
        QVERIFY(inside->interventions().any());
        QSignalSpy again(window.controller(), &GenerationController::finished);
        QVERIFY(inside->requestRerun());
        QVERIFY(again.wait(kTimeoutMs));
        QCOMPARE(again.at(0).at(0).value<GenerationOutcome>().status, GenerationOutcome::Status::Completed);
        QVERIFY2(std::isfinite(inside->lastPsnr()) && inside->lastPsnr() > 0,
                 qPrintable(QString::number(inside->lastPsnr())));
        inside->setView(InsidePanel::View::Attention);
        QTest::qWait(100);
        QVERIFY(saveShot(window.grab().toImage(), QStringLiteral("inside_intervention.png")));
        QVERIFY(saveShot(inside->processSheet(), QStringLiteral("inside_process_sheet.png")));

        // The film with the overlay: the frames the export encodes, through the engine module.
        const QList<QImage> frames = inside->overlayFrames();
        QCOMPARE(frames.size(), 6);
        std::vector<ditstudio::Image> images;
        for (const QImage &f : frames)
            images.push_back(
                toDitImage(f.scaled(f.width() * 8, f.height() * 8).convertToFormat(QImage::Format_RGB888)));
        QTemporaryDir dir;
        const std::string film = dir.filePath(QStringLiteral("inside.gif")).toStdString();
        ditstudio::VideoWriterOptions vo;
        vo.codec = ditstudio::VideoCodec::Gif;
        const auto written = EngineModule::api()->writeVideo(film, images, vo);
        QVERIFY2(written.ok(), written.ok() ? "" : written.error().message.c_str());
        QCOMPARE(written->frameCount, std::int64_t(6));
        QVERIFY(QFileInfo::exists(QString::fromStdString(film)));
    }

    void latentModelWithVaeShowsInside()
    {
        MainWindow window;
        window.resize(1500, 900);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QSignalSpy loaded(window.controller(), &GenerationController::modelLoaded);
        ModelLoadSpec spec;
        spec.path = kFixture;
        spec.vaePath = kVae;
        spec.device = QStringLiteral("cpu");
        window.controller()->loadModel(spec);
        QVERIFY(loaded.wait(kTimeoutMs));
        QVERIFY(window.controller()->model().latentSpace);
        auto *inside = window.findChild<InsidePanel *>(QStringLiteral("insidePanel"));
        window.findChild<QDockWidget *>(QStringLiteral("insideDock"))->raise();
        window.findChild<QLineEdit *>(QStringLiteral("prompt"))->setText(QStringLiteral("#5"));
        window.findChild<QSpinBox *>(QStringLiteral("steps"))->setValue(5);
        QSignalSpy finished(window.controller(), &GenerationController::finished);
        QVERIFY(window.startGeneration());
        QVERIFY(finished.wait(kTimeoutMs));
        QCOMPARE(finished.at(0).at(0).value<GenerationOutcome>().status,
                 GenerationOutcome::Status::Completed);
        QCOMPARE(inside->storedSteps(), 5);
        inside->setView(InsidePanel::View::Attention);
        inside->selectToken(6);
        QCOMPARE(inside->currentAttention().size(), 16);
        QVERIFY(!inside->currentMap().isNull());
        inside->setView(InsidePanel::View::Guidance);
        QVERIFY(!inside->currentMap().isNull());
        QTest::qWait(100);
        QVERIFY(saveShot(window.grab().toImage(), QStringLiteral("inside_latent_vae.png")));
    }

    void defaultModelInsideScreenshots()
    {
        // The embedded default model, as a new user sees it: the README's screenshots of the view.
        const QString defaultModel = QString::fromStdString(ditstudio::defaultModelPath());
        QVERIFY2(!defaultModel.isEmpty() && QFile::exists(defaultModel),
                 "the embedded default model is missing");
        MainWindow window;
        window.resize(1500, 900);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QSignalSpy loaded(window.controller(), &GenerationController::modelLoaded);
        window.openDefaultModel();
        QVERIFY(loaded.wait(kTimeoutMs));
        auto *inside = window.findChild<InsidePanel *>(QStringLiteral("insidePanel"));
        window.findChild<QDockWidget *>(QStringLiteral("insideDock"))->raise();
        window.findChild<QLineEdit *>(QStringLiteral("prompt"))->setText(QStringLiteral("sneaker"));
        window.findChild<QSpinBox *>(QStringLiteral("steps"))->setValue(50);
        auto *seedMode = window.findChild<QComboBox *>(QStringLiteral("seedMode"));
        seedMode->setCurrentIndex(seedMode->findText(QStringLiteral("fixed")));
        window.findChild<QSpinBox *>(QStringLiteral("seed"))->setValue(7);
        QSignalSpy finished(window.controller(), &GenerationController::finished);
        QVERIFY(window.startGeneration());
        QVERIFY(finished.wait(kTimeoutMs));
        QCOMPARE(inside->storedSteps(), 50);
        const int grid = window.controller()->model().tokensPerSide;
        QVERIFY(grid > 0);
        auto *preview = window.findChild<PreviewPanel *>(QStringLiteral("previewPanel"));
        QVERIFY(preview->showStep(30));
        inside->setView(InsidePanel::View::Attention);
        inside->setBlock(window.controller()->model().depth / 2);
        auto *map = inside->findChild<InsideMapView *>(QStringLiteral("insideMap"));
        QTest::qWait(50);
        const int token = (grid / 2 + 1) * grid + grid / 2 - 1; // on the shoe
        QTest::mouseClick(map, Qt::LeftButton, {}, map->tokenRect(token).center());
        QCOMPARE(inside->selectedToken(), token);
        QCOMPARE(inside->currentAttention().size(), grid * grid);
        QTest::qWait(100);
        QVERIFY(saveShot(window.grab().toImage(), QStringLiteral("inside_default_attention.png")));
        inside->setView(InsidePanel::View::Guidance);
        QTest::qWait(100);
        QVERIFY(saveShot(window.grab().toImage(), QStringLiteral("inside_default_guidance.png")));
        inside->setView(InsidePanel::View::Activity);
        QTest::qWait(100);
        QVERIFY(saveShot(window.grab().toImage(), QStringLiteral("inside_default_activity.png")));
        inside->setView(InsidePanel::View::Adaln);
        QTest::qWait(100);
        QVERIFY(saveShot(window.grab().toImage(), QStringLiteral("inside_default_adaln.png")));
        QVERIFY(saveShot(inside->processSheet(), QStringLiteral("inside_default_process_sheet.png")));
        inside->addIntervention(QStringLiteral("skip"), window.controller()->model().depth - 1, 0);
        QSignalSpy again(window.controller(), &GenerationController::finished);
        QVERIFY(inside->requestRerun());
        QVERIFY(again.wait(kTimeoutMs));
        QVERIFY(std::isfinite(inside->lastPsnr()));
        QVERIFY(preview->showStep(30));
        inside->setView(InsidePanel::View::Attention);
        QTest::qWait(100);
        QVERIFY(saveShot(window.grab().toImage(), QStringLiteral("inside_default_intervention.png")));
    }
};

QTEST_MAIN(InsidePanelTest)
#include "inside_panel_test.moc"
