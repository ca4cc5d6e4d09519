// Issue 18, the comforts: zoom and pan with a pixel-exact mode, a batch grid, A/B compare (side by
// side and swipe), History → Send to Edit / Copy image, edits recorded in History, Preferences with a
// dark theme, Help → Keyboard shortcuts. Writes screenshots of each view to DITSTUDIO_SCREENSHOT_DIR.
#include "edit/edit_panel.h"
#include "engine/generation_controller.h"
#include "generate/compare_dialog.h"
#include "generate/grid_dialog.h"
#include "generate/preview_panel.h"
#include "history/history_panel.h"
#include "history/history_store.h"
#include "main_window.h"
#include "preferences_dialog.h"
#include "widgets/image_view.h"

#include "ditstudio/engine.h"
#include "ditstudio/runtime.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QToolButton>
#include <QWheelEvent>
#include <QtTest>

#include "test_skip.h"
#include "window_test_util.h"

namespace {

constexpr int kTimeoutMs = 60000;

using ditstudio::uitest::child;
using ditstudio::uitest::loadWindowModel;

/// A 4x4 checkerboard of 7-pixel squares (28x28): every image pixel is black or white.
QImage checkerboard()
{
    QImage im(28, 28, QImage::Format_RGB888);
    for (int y = 0; y < 28; ++y)
        for (int x = 0; x < 28; ++x)
            im.setPixelColor(x, y, ((x / 7 + y / 7) % 2) ? Qt::white : Qt::black);
    return im;
}

void shot(QWidget &w, const char *name)
{
    w.grab().save(QStringLiteral(DITSTUDIO_SCREENSHOT_DIR "/") + QString::fromLatin1(name));
}

bool generateBatch(MainWindow &window, const QString &prompt, int images, int steps)
{
    window.findChild<QLineEdit *>(QStringLiteral("prompt"))->setText(prompt);
    window.findChild<QSpinBox *>(QStringLiteral("steps"))->setValue(steps);
    window.findChild<QSpinBox *>(QStringLiteral("batchCount"))->setValue(images);
    QSignalSpy finished(window.controller(), &GenerationController::finished);
    return window.startGeneration() && finished.wait(kTimeoutMs);
}

} // namespace

class ComfortsTest : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        static QTemporaryDir dataDir;
        QVERIFY(dataDir.isValid());
        qputenv("DITSTUDIO_DATA_DIR", dataDir.path().toUtf8());
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("ditstudio-tests"));
        QCoreApplication::setApplicationName(QStringLiteral("ditstudio-comforts-tests"));
        QSettings().clear();
        QVERIFY(ditstudio::initLogging("warn", "").ok());
        if (ditstudio::defaultModelPath().empty())
            DITSTUDIO_QSKIP("the embedded default model was not found");
    }

    // Pixel-exact: a whole-number scale, every image pixel a crisp square; the wheel zooms around
    // the cursor; dragging pans; double click fits again.
    void imageViewZoomPanAndPixelExact()
    {
        ImageView view;
        view.resize(300, 300);
        view.setImage(checkerboard());
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        view.setFitMode(ImageView::FitMode::PixelExact);
        QCOMPARE(view.scale(), 10.0); // floor((300 - 16) / 28)
        const QRectF r = view.imageRect();
        QCOMPARE(r.size(), QSizeF(280, 280));
        const QImage g = view.grab().toImage();
        // Inside each image pixel the screen pixels are all one colour (no smoothing at the edges).
        for (int py = 0; py < 28; py += 3)
            for (int px = 0; px < 28; px += 3) {
                const QColor expect = ((px / 7 + py / 7) % 2) ? Qt::white : Qt::black;
                for (int dy : {0, 9})
                    for (int dx : {0, 9}) {
                        const QPoint at(int(r.left()) + px * 10 + dx, int(r.top()) + py * 10 + dy);
                        QCOMPARE(g.pixelColor(at).rgb(), expect.rgb());
                    }
            }
        // The wheel over a point zooms and keeps that image point under the cursor.
        const QPointF cursor(r.left() + 75, r.top() + 135); // image pixel (7.5, 13.5)
        const QPointF before = (cursor - view.imageRect().topLeft()) / view.scale();
        QWheelEvent wheel(cursor, view.mapToGlobal(cursor), QPoint(), QPoint(0, 120), Qt::NoButton,
                          Qt::NoModifier, Qt::NoScrollPhase, false);
        QApplication::sendEvent(&view, &wheel);
        QVERIFY(view.scale() > 10.0);
        const QPointF after = (cursor - view.imageRect().topLeft()) / view.scale();
        QVERIFY2(qAbs(after.x() - before.x()) < 0.6 && qAbs(after.y() - before.y()) < 0.6,
                 qPrintable(QStringLiteral("%1,%2 -> %3,%4")
                                .arg(before.x())
                                .arg(before.y())
                                .arg(after.x())
                                .arg(after.y())));
        // Drag pans.
        const QPointF offset = view.panOffset();
        QTest::mousePress(&view, Qt::LeftButton, {}, QPoint(150, 150));
        QMouseEvent move(QEvent::MouseMove, QPointF(110, 130), view.mapToGlobal(QPointF(110, 130)),
                         Qt::NoButton, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(&view, &move);
        QTest::mouseRelease(&view, Qt::LeftButton, {}, QPoint(110, 130));
        QVERIFY(view.panOffset() != offset);
        // Double click: fit again (smooth fitting is the default).
        QTest::mouseDClick(&view, Qt::LeftButton, {}, QPoint(150, 150));
        QCOMPARE(view.fitMode(), ImageView::FitMode::Fit);
        QCOMPARE(view.explicitZoom(), 0.0);
        QCOMPARE(view.panOffset(), QPointF());
    }

    // The main window: pixel-exact preview of a 28 px result, linked panes; the batch grid.
    void previewPixelExactAndBatchGrid()
    {
        MainWindow window;
        window.resize(1280, 820);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(loadWindowModel(window, QString(), kTimeoutMs));
        QVERIFY(generateBatch(window, QStringLiteral("ankle boot"), 4, 10));
        window.findChild<QAction *>(QStringLiteral("pixelExactAction"))->trigger();
        ImageView *xt = window.previewPanel()->xtView();
        ImageView *x0 = window.previewPanel()->x0View();
        QCOMPARE(xt->fitMode(), ImageView::FitMode::PixelExact);
        QCOMPARE(x0->fitMode(), ImageView::FitMode::PixelExact);
        QVERIFY(x0->scale() >= 2.0 && x0->scale() == std::floor(x0->scale()));
        x0->zoomIn();
        QCOMPARE(xt->scale(), x0->scale()); // linked
        QVERIFY(child<QToolButton>(*window.previewPanel(), "zoomPixels"));
        shot(window, "pixel_exact_preview.png");
        x0->setFitMode(ImageView::FitMode::Fit);

        window.findChild<QAction *>(QStringLiteral("batchGridAction"))->trigger();
        auto *grid = window.findChild<GridDialog *>();
        QVERIFY(grid);
        QCOMPARE(grid->columns(), 2);
        // 4 images of 28 px enlarged x5 (whole number), 2 x 2, captions under them.
        QVERIFY(grid->gridImage().width() >= 2 * 28 * 5);
        QVERIFY(QTest::qWaitForWindowExposed(grid));
        shot(*grid, "batch_grid.png");
        QTemporaryDir dir;
        QVERIFY(grid->saveTo(dir.filePath(QStringLiteral("grid.png"))));
        QCOMPARE(QImage(dir.filePath(QStringLiteral("grid.png"))).size(), grid->gridImage().size());
        grid->close();
    }

    // History: select two → Compare (side by side, swipe); several → Grid; Copy image; Send to Edit,
    // and the finished edit is in History.
    void historyCompareGridCopyAndEdit()
    {
        MainWindow window;
        window.resize(1280, 820);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(loadWindowModel(window, QString(), kTimeoutMs));
        QVERIFY(generateBatch(window, QStringLiteral("sneaker"), 2, 12));
        auto *list = child<QListWidget>(*window.historyPanel(), "historyList");
        QVERIFY(list->count() >= 2);
        list->clearSelection();
        list->item(0)->setSelected(true);
        list->item(1)->setSelected(true);
        auto *compare = child<QPushButton>(*window.historyPanel(), "historyCompare");
        QVERIFY(compare->isEnabled());
        compare->click();
        auto *dialog = window.findChild<CompareDialog *>();
        QVERIFY(dialog);
        QVERIFY(QTest::qWaitForWindowExposed(dialog));
        QVERIFY(std::isfinite(dialog->psnr())); // two seeds: different images
        shot(*dialog, "compare_side_by_side.png");
        dialog->setMode(CompareDialog::Mode::Swipe);
        auto *slider = child<QSlider>(*dialog, "compareSwipeSlider");
        slider->setValue(300);
        QCOMPARE(dialog->swipeView()->position(), 0.3);
        shot(*dialog, "compare_swipe.png");
        dialog->close();

        child<QPushButton>(*window.historyPanel(), "historyGrid")->click();
        auto *grid = window.findChild<GridDialog *>();
        QVERIFY(grid);
        grid->close();

        list->clearSelection();
        list->setCurrentRow(0);
        window.historyPanel()->copySelected();
        QVERIFY(!QGuiApplication::clipboard()->image().isNull());
        QCOMPARE(QGuiApplication::clipboard()->image().size(), QSize(28, 28));

        // Send to Edit: the dialog starts from that image; a finished edit goes into History.
        const int before = window.history()->count();
        bool started = false;
        QTimer::singleShot(0, &window, [&] {
            auto *edit = qobject_cast<EditDialog *>(QApplication::activeModalWidget());
            if (!edit)
                return;
            started = !edit->beforeImage().isNull() || !edit->canvas()->image().isNull();
            edit->setStrength(0.5);
            edit->setSteps(6);
            connect(edit, &EditDialog::finishedEdit, edit,
                    [edit] { QTimer::singleShot(0, edit, &QDialog::accept); });
            edit->start();
        });
        child<QPushButton>(*window.historyPanel(), "historyEdit")->click(); // exec() returns after the edit
        QVERIFY2(started, "the editor did not start from the history image");
        QCOMPARE(window.history()->count(), before + 1);
        const auto entries = window.history()->list();
        QVERIFY2(entries.front().conditioning.contains(QStringLiteral("img2img")),
                 qPrintable(entries.front().conditioning));
    }

    // Preferences: the dark theme covers the window; auto-save goes to the chosen folder.
    void preferencesDarkThemeAndOutputFolder()
    {
        MainWindow window;
        window.resize(1280, 820);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(loadWindowModel(window, QString(), kTimeoutMs));
        QTemporaryDir out;
        QTimer::singleShot(0, &window, [&] {
            auto *prefs = qobject_cast<PreferencesDialog *>(QApplication::activeModalWidget());
            if (!prefs)
                return;
            auto *theme = child<QComboBox>(*prefs, "prefsTheme");
            theme->setCurrentIndex(theme->findData(QStringLiteral("dark")));
            child<QLineEdit>(*prefs, "prefsOutputFolder")->setText(out.path());
            child<QCheckBox>(*prefs, "prefsAutoSave")->setChecked(true);
            shot(*prefs, "preferences.png");
            prefs->accept();
        });
        window.findChild<QAction *>(QStringLiteral("preferencesAction"))->trigger();
        QVERIFY(QApplication::palette().color(QPalette::Window).lightness() < 80);
        QTRY_VERIFY_WITH_TIMEOUT(window.palette().color(QPalette::Base).lightness() < 80, 2000);
        QCOMPARE(window.outputsFolder(), out.path());
        QCOMPARE(Preferences::load().theme, QStringLiteral("dark"));
        QVERIFY(generateBatch(window, QStringLiteral("dress"), 1, 10));
        QVERIFY(!window.history()->list().isEmpty());
        const QString saved = window.history()->list().front().imagePath;
        QVERIFY2(saved.startsWith(out.path()), qPrintable(saved));
        QTest::qWait(50);
        shot(window, "dark_theme.png");
        applyTheme(QStringLiteral("system"));
        Preferences p = Preferences::load();
        p.theme = QStringLiteral("system");
        p.outputFolder = Preferences::defaultOutputFolder();
        p.save();
    }

    // Issue 15's fast mode in the app: the Sampling section's choice reaches the request, the PNG's
    // JSON and parameters text carry it, and a run with it records fewer full model calls.
    void fastModeReachesTheRequestAndRoundTrips()
    {
        MainWindow window;
        auto *cache = child<QComboBox>(window, "cacheInterval");
        QVERIFY(cache);
        cache->setCurrentIndex(cache->findData(2));
        GenerationSettings s = window.currentSettings();
        QCOMPARE(s.cacheInterval, 2);
        s.prompt = QStringLiteral("bag");
        const auto request = s.toRequest(5);
        QVERIFY(request);
        QCOMPARE(request->cacheInterval, 2);
        QString error;
        const auto back = GenerationSettings::fromJson(s.toJson(), &error);
        QVERIFY2(back, qPrintable(error));
        QCOMPARE(back->cacheInterval, 2);
        QVERIFY(
            s.parametersText(QStringLiteral("Bag"), QSize(28, 28)).contains(QStringLiteral("Step cache: 2")));
        QJsonObject bad = s.toJson();
        bad[QStringLiteral("cache_interval")] = 12;
        QVERIFY(!GenerationSettings::fromJson(bad, &error));
        QVERIFY2(error.contains(QStringLiteral("cache_interval")), qPrintable(error));
    }

    void keyboardShortcutsDialogListsTheActions()
    {
        MainWindow window;
        QTableWidget *table = nullptr;
        QStringList rows;
        QTimer::singleShot(0, &window, [&] {
            QWidget *d = QApplication::activeModalWidget();
            if (!d)
                return;
            table = d->findChild<QTableWidget *>(QStringLiteral("shortcutsTable"));
            if (table)
                for (int r = 0; r < table->rowCount(); ++r)
                    rows << table->item(r, 0)->text() + QStringLiteral(" = ") + table->item(r, 1)->text();
            shot(*d, "keyboard_shortcuts.png");
            d->close();
        });
        window.findChild<QAction *>(QStringLiteral("shortcutsAction"))->trigger();
        QVERIFY(table);
        const QString all = rows.join(QLatin1Char('\n'));
        QVERIFY2(all.contains(QStringLiteral("Generate")) && all.contains(QStringLiteral("Pixel-exact")),
                 qPrintable(all));
        // Every labelled control of the Generate panel has an accessible name.
        for (const char *name :
             {"prompt", "steps", "guidance", "sampler", "seed", "batchCount", "modelCombo"}) {
            QWidget *w = window.findChild<QWidget *>(QString::fromLatin1(name));
            QVERIFY(w);
            QVERIFY2(!w->accessibleName().isEmpty(), name);
        }
    }
};

QTEST_MAIN(ComfortsTest)
#include "comforts_test.moc"
