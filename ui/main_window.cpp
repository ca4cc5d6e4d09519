#include "main_window.h"

#include "about_box.h"
#include "edit/edit_panel.h"
#include "edit/film_export_dialog.h"
#include "edit/video_edit_dialog.h"
#include "engine/engine_module.h"
#include "engine/job_queue_view.h"
#include "generate/compare_dialog.h"
#include "generate/generate_panel.h"
#include "generate/generation_runner.h"
#include "generate/grid_dialog.h"
#include "generate/model_switcher.h"
#include "generate/preview_panel.h"
#include "generate/prompt_checker.h"
#include "get_models_dialog.h"
#include "history/history_panel.h"
#include "history/history_store.h"
#include "inside/inside_film_exporter.h"
#include "inside/inside_panel.h"
#include "widgets/accessible_names.h"
#include "widgets/error_box.h"
#include "widgets/image_view.h"
#include "widgets/log_panel.h"
#include "widgets/shortcuts_dialog.h"
#include "widgets/window_placement.h"

#include "ditstudio/runtime.h"

#include <QAction>
#include <QCloseEvent>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFrame>
#include <QHBoxLayout>
#include <QKeySequence>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMenuBar>
#include <QMimeData>
#include <QProgressBar>
#include <QScrollArea>
#include <QSettings>
#include <QStatusBar>
#include <QTimer>
#include <QUrl>
#include <QVBoxLayout>

namespace {

constexpr int kStatusTimeoutMs = 8000;

// Settings keys.
const QString kKeyAutoSave = QStringLiteral("files/autoSave");
const QString kKeyViewMode = QStringLiteral("view/previewMode");
const QString kKeyGeometry = QStringLiteral("window/geometry");
const QString kKeyState = QStringLiteral("window/state");

} // namespace

MainWindow::MainWindow(QWidget *parent, const QString &historyDatabase)
    : QMainWindow(parent), m_controller(std::make_unique<GenerationController>()),
      m_history(std::make_unique<HistoryStore>(historyDatabase.isEmpty() ? HistoryStore::defaultDatabasePath()
                                                                         : historyDatabase))
{
    setWindowTitle(tr("DiT Studio"));
    setAcceptDrops(true);
    GenerationController *c = m_controller.get();
    m_generatePanel = new GeneratePanel;
    m_preview = new PreviewPanel(this);
    m_preview->setObjectName(QStringLiteral("previewPanel"));
    m_historyPanel = new HistoryPanel(m_history.get(), this);
    m_historyPanel->setObjectName(QStringLiteral("historyPanel"));
    m_insidePanel = new InsidePanel(this);
    m_insidePanel->setObjectName(QStringLiteral("insidePanel"));
    m_models = new ModelSwitcher(c, m_generatePanel, this);
    m_prompts = new PromptChecker(c, m_generatePanel, this);
    m_recorder = new HistoryRecorder(m_history.get(), m_historyPanel, this);
    m_runner
        = new GenerationRunner(c, m_generatePanel, m_prompts, m_preview, m_insidePanel, m_recorder, this);
    auto *insideFilm = new InsideFilmExporter(m_insidePanel, this);
    buildUi();
    buildDocks();
    buildMenus();
    readSettings();
    applyPreferences(Preferences::load());
    nameControlsForScreenReaders(this);
    m_generatePanel->prompt()->setFocus();

    connect(m_models, &ModelSwitcher::statusMessage, this, &MainWindow::showStatus);
    connect(m_runner, &GenerationRunner::statusMessage, this, &MainWindow::showStatus);
    connect(m_recorder, &HistoryRecorder::statusMessage, this, &MainWindow::showStatus);
    connect(insideFilm, &InsideFilmExporter::statusMessage, this, &MainWindow::showStatus);
    connect(c, &GenerationController::modelLoaded, m_insidePanel, &InsidePanel::setModel);
    connect(m_models, &ModelSwitcher::modelLoaded, this, [this](const ModelSummary &model) {
        if (m_prefs.threads > 0)
            EngineModule::setComputeThreads(m_prefs.threads); // the module is in: this does not wait
        setWindowTitle(
            tr("%1 — DiT Studio").arg(model.embeddedDefault ? tr("default model") : model.fileName));
        updateActions();
    });
    connect(m_models, &ModelSwitcher::loadFailed, this, &MainWindow::updateActions);
    connect(m_models, &ModelSwitcher::ready, this, &MainWindow::ready);
    connect(m_runner, &GenerationRunner::runStarted, this, [this] {
        writeSettings();
        updateActions();
    });
    connect(m_runner, &GenerationRunner::changed, this, &MainWindow::updateActions);
    connect(c, &GenerationController::stateChanged, this, &MainWindow::updateActions);
    updateActions();
    if (!m_history->recoveryNote().isEmpty()) {
        // Said once, in the log and the status bar: the app works on with a new history.
        ditstudio::logWarn(m_history->recoveryNote().toStdString());
        QTimer::singleShot(0, this, [this] { statusBar()->showMessage(m_history->recoveryNote(), 20000); });
    }
    if (!m_history->isOpen())
        QTimer::singleShot(0, this, [this] {
            showErrorBox(this, tr("The history is not available"), m_history->errorString());
        });
}

MainWindow::~MainWindow() = default;

// ---- construction ----

void MainWindow::buildUi()
{
    auto *central = new QWidget(this);
    auto *layout = new QHBoxLayout(central);
    layout->setContentsMargins(10, 10, 10, 6);
    layout->setSpacing(12);

    auto *scroll = new QScrollArea(central);
    scroll->setWidget(m_generatePanel);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    scroll->setFixedWidth(scroll->widget()->sizeHint().width() + 16);
    layout->addWidget(scroll);

    auto *right = new QVBoxLayout;
    right->setSpacing(6);
    right->addWidget(m_preview, 1);
    right->addWidget(m_runner->progressBar());
    layout->addLayout(right, 1);
    setCentralWidget(central);

    statusBar()->addPermanentWidget(m_models->modelLabel());
}

void MainWindow::buildDocks()
{
    m_historyDock = new QDockWidget(tr("History"), this);
    m_historyDock->setObjectName(QStringLiteral("historyDock"));
    m_historyDock->setWidget(m_historyPanel);
    m_historyDock->setAllowedAreas(Qt::LeftDockWidgetArea | Qt::RightDockWidgetArea
                                   | Qt::BottomDockWidgetArea);
    addDockWidget(Qt::RightDockWidgetArea, m_historyDock);
    connect(m_historyPanel, &HistoryPanel::reuseRequested, this, [this](const HistoryEntry &e) {
        applySettings(e.settings);
        statusBar()->showMessage(
            tr("Settings of “%1” (seed %2) restored").arg(e.conditioning).arg(e.settings.seed),
            kStatusTimeoutMs);
    });
    connect(m_historyPanel, &HistoryPanel::filmRequested, this,
            [this](const HistoryEntry &e) { exportFilm(e.settings); });
    connect(m_historyPanel, &HistoryPanel::showRequested, m_runner, &GenerationRunner::showHistoryEntry);
    connect(m_historyPanel, &HistoryPanel::editRequested, this,
            [this](const HistoryEntry &e) { openEditDialog(HistoryPanel::imageOf(e), &e.settings); });
    connect(m_historyPanel, &HistoryPanel::compareRequested, this,
            [this](const HistoryEntry &a, const HistoryEntry &b) {
                auto caption = [](const HistoryEntry &e) {
                    return tr("%1 · seed %2 · %3 steps %4")
                        .arg(e.conditioning)
                        .arg(e.settings.seed)
                        .arg(e.steps)
                        .arg(e.settings.sampler);
                };
                auto *dialog = new CompareDialog(HistoryPanel::imageOf(a), caption(a),
                                                 HistoryPanel::imageOf(b), caption(b), this);
                dialog->setAttribute(Qt::WA_DeleteOnClose);
                dialog->show();
            });
    connect(m_historyPanel, &HistoryPanel::gridRequested, this, [this](const QList<HistoryEntry> &entries) {
        QList<QPair<QImage, QString>> items;
        for (const HistoryEntry &e : entries)
            items << qMakePair(HistoryPanel::imageOf(e),
                               tr("%1\nseed %2").arg(e.conditioning).arg(e.settings.seed));
        showGrid(items, tr("%n history image(s)", nullptr, int(items.size())));
    });
    connect(m_historyPanel, &HistoryPanel::errorOccurred, this,
            [this](const QString &message) { showErrorBox(this, tr("History"), message); });

    m_logPanel = new LogPanel(this);
    m_logPanel->setObjectName(QStringLiteral("logPanel"));
    m_logDock = new QDockWidget(tr("Log"), this);
    m_logDock->setObjectName(QStringLiteral("logDock"));
    m_logDock->setWidget(m_logPanel);
    addDockWidget(Qt::BottomDockWidgetArea, m_logDock);
    // Jobs: the engine's one queue (generations, edits, films), beside the log.
    m_jobsView = new JobQueueView(m_controller.get(), this);
    m_jobsView->setObjectName(QStringLiteral("jobsView"));
    m_jobsDock = new QDockWidget(tr("Jobs"), this);
    m_jobsDock->setObjectName(QStringLiteral("jobsDock"));
    m_jobsDock->setWidget(m_jobsView);
    addDockWidget(Qt::BottomDockWidgetArea, m_jobsDock);
    tabifyDockWidget(m_logDock, m_jobsDock);
    m_logDock->raise();
    // Inside: what the transformer does while it samples, linked to the preview's scrubber.
    m_insideDock = new QDockWidget(tr("Inside"), this);
    m_insideDock->setObjectName(QStringLiteral("insideDock"));
    m_insideDock->setWidget(m_insidePanel);
    m_insideDock->setAllowedAreas(Qt::LeftDockWidgetArea | Qt::RightDockWidgetArea
                                  | Qt::BottomDockWidgetArea);
    addDockWidget(Qt::RightDockWidgetArea, m_insideDock);
    tabifyDockWidget(m_historyDock, m_insideDock);
    m_historyDock->raise();
    connect(m_preview, &PreviewPanel::shownStepChanged, m_insidePanel, &InsidePanel::showStep);
    resizeDocks({m_historyDock}, {290}, Qt::Horizontal);
    resizeDocks({m_logDock}, {110}, Qt::Vertical);
}

void MainWindow::exportFilm(const GenerationSettings &settings)
{
    FilmExportDialog dialog(m_controller.get(), settings, this);
    dialog.exec();
}

void MainWindow::showGetModels()
{
    GetModelsDialog dialog(this);
    connect(&dialog, &GetModelsDialog::useModel, this,
            [this](const QString &path, ditstudio::ModelKind kind) {
                if (kind == ditstudio::ModelKind::Vae)
                    m_generatePanel->vaePath()->setText(path); // applied on the next load, like a typed path
                else
                    openModel(path);
            });
    dialog.exec();
}

void MainWindow::buildMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    file->addActions(m_models->actions());
    QAction *getModels = file->addAction(tr("&Get models…"), this, &MainWindow::showGetModels);
    getModels->setObjectName(QStringLiteral("getModelsAction"));
    file->addSeparator();
    QAction *openImage
        = file->addAction(tr("Open &image (restore settings)…"), this, &MainWindow::openImageDialog);
    openImage->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    openImage->setObjectName(QStringLiteral("openImageAction"));
    m_saveAction = file->addAction(tr("&Save image…"), this,
                                   [this] { m_recorder->saveWithDialog(m_runner->result()); });
    m_saveAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_S));
    m_saveAction->setObjectName(QStringLiteral("saveAction"));
    file->addAction(m_recorder->autoSaveAction());
    // The denoising film / latent walk of the current settings (History: of any earlier run).
    QAction *exportFilm
        = file->addAction(tr("E&xport film…"), this, [this] { this->exportFilm(currentSettings()); });
    exportFilm->setObjectName(QStringLiteral("exportFilmAction"));
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Q));
    quit->setMenuRole(QAction::QuitRole);

    // Editing (issue 7): img2img, inpainting and inversion with the current model and settings.
    QMenu *edit = menuBar()->addMenu(tr("&Edit"));
    QAction *editImage = edit->addAction(tr("Edit &image…"), this, [this] { openEditDialog(); });
    editImage->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    editImage->setObjectName(QStringLiteral("editImageAction"));
    // Video-to-video: img2img on every frame of a clip, one shared noise (ui/video_edit_dialog.h).
    QAction *editVideo = edit->addAction(tr("Edit &video…"), this, [this] {
        VideoEditDialog dialog(m_controller.get(), currentSettings(), this);
        dialog.setStartFolder(outputsFolder());
        dialog.exec();
    });
    editVideo->setObjectName(QStringLiteral("editVideoAction"));
    edit->addSeparator();
    QAction *prefs = edit->addAction(tr("&Preferences…"), this, &MainWindow::showPreferences);
    prefs->setObjectName(QStringLiteral("preferencesAction"));
    prefs->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Comma));
    prefs->setMenuRole(QAction::PreferencesRole);

    menuBar()->addMenu(tr("&Generation"))->addActions(m_runner->actions());

    QMenu *view = menuBar()->addMenu(tr("&View"));
    view->addAction(m_historyDock->toggleViewAction());
    view->addAction(m_logDock->toggleViewAction());
    view->addAction(m_jobsDock->toggleViewAction());
    QAction *inside = m_insideDock->toggleViewAction();
    inside->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_I));
    inside->setObjectName(QStringLiteral("insideAction"));
    view->addAction(inside);
    connect(inside, &QAction::triggered, this, [this](bool on) {
        if (on)
            m_insideDock->raise();
    });
    view->addSeparator();
    const struct {
        PreviewPanel::ViewMode mode;
        QString text;
        QKeySequence key;
    } modes[]
        = {{PreviewPanel::ViewMode::Xt, tr("Show x_t (noisy sample)"), QKeySequence(Qt::CTRL | Qt::Key_1)},
           {PreviewPanel::ViewMode::X0, tr("Show predicted x̂₀"), QKeySequence(Qt::CTRL | Qt::Key_2)},
           {PreviewPanel::ViewMode::SideBySide, tr("Side by side"), QKeySequence(Qt::CTRL | Qt::Key_3)}};
    for (const auto &m : modes) {
        QAction *a = view->addAction(m.text, this, [this, mode = m.mode] { m_preview->setViewMode(mode); });
        a->setShortcut(m.key);
    }
    view->addSeparator();
    QAction *zoomIn = view->addAction(tr("Zoom &in"), this, [this] { m_preview->zoomIn(); });
    zoomIn->setShortcuts({QKeySequence::ZoomIn, QKeySequence(Qt::CTRL | Qt::Key_Equal)});
    QAction *zoomOut = view->addAction(tr("Zoom &out"), this, [this] { m_preview->zoomOut(); });
    zoomOut->setShortcut(QKeySequence::ZoomOut);
    QAction *fit = view->addAction(tr("&Fit to the pane"), this,
                                   [this] { m_preview->setFitMode(int(ImageView::FitMode::Fit)); });
    fit->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_0));
    QAction *actual = view->addAction(tr("&Actual size (100%)"), this,
                                      [this] { m_preview->setFitMode(int(ImageView::FitMode::ActualSize)); });
    actual->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_8));
    QAction *pixels = view->addAction(tr("&Pixel-exact (crisp pixels)"), this,
                                      [this] { m_preview->setFitMode(int(ImageView::FitMode::PixelExact)); });
    pixels->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_9));
    pixels->setObjectName(QStringLiteral("pixelExactAction"));
    view->addSeparator();
    QAction *grid = view->addAction(tr("Last batch as a &grid…"), this, &MainWindow::showLastBatchGrid);
    grid->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_G));
    grid->setObjectName(QStringLiteral("batchGridAction"));

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    QAction *keys = help->addAction(tr("&Keyboard shortcuts"), this, [this] {
        ShortcutsDialog dialog(menuBar(), this);
        dialog.exec();
    });
    keys->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Slash));
    keys->setObjectName(QStringLiteral("shortcutsAction"));
    QAction *about = help->addAction(tr("&About DiT Studio"), this,
                                     [this] { showAboutBox(this, m_history->databasePath()); });
    about->setMenuRole(QAction::AboutRole);
}

void MainWindow::readSettings()
{
    QSettings s;
    m_generatePanel->readSettings(s);
    m_recorder->autoSaveAction()->setChecked(s.value(kKeyAutoSave, true).toBool());
    m_preview->setViewMode(static_cast<PreviewPanel::ViewMode>(
        qBound(0, s.value(kKeyViewMode, static_cast<int>(PreviewPanel::ViewMode::SideBySide)).toInt(), 2)));
    if (!restoreGeometry(s.value(kKeyGeometry).toByteArray()))
        resize(1280, 820);
    else
        keepOnScreen(this);
    restoreState(s.value(kKeyState).toByteArray());
}

void MainWindow::writeSettings() const
{
    QSettings s;
    m_generatePanel->writeSettings(s, m_controller->hasModel(), m_controller->model().vaePath);
    s.setValue(kKeyAutoSave, m_recorder->autoSaveAction()->isChecked());
    s.setValue(kKeyViewMode, static_cast<int>(m_preview->viewMode()));
    s.setValue(kKeyGeometry, saveGeometry());
    s.setValue(kKeyState, saveState());
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    writeSettings();
    // Stop at the next step; the controller's destructor then joins the worker thread promptly.
    m_controller->cancel();
    QMainWindow::closeEvent(event);
}

void MainWindow::updateActions()
{
    m_runner->updateActions();
    m_saveAction->setEnabled(!m_runner->result().image.isNull());
    m_models->updateActions();
}

void MainWindow::showStatus(const QString &text, int timeoutMs)
{
    statusBar()->showMessage(text, timeoutMs);
}

// ---- what the features do, for the menus, the tests and app/gui/main.cpp ----

bool MainWindow::isUsable() const
{
    return m_controller->hasModel() && m_runner->canGenerate();
}

void MainWindow::loadInitialModel(const QString &path)
{
    m_models->loadInitialModel(path);
}

void MainWindow::openModel(const QString &path)
{
    m_models->openModel(path);
}

void MainWindow::openDefaultModel()
{
    m_models->openDefaultModel();
}

void MainWindow::applySettings(const GenerationSettings &settings)
{
    m_models->applySettings(settings);
}

GenerationSettings MainWindow::currentSettings() const
{
    return m_runner->currentSettings();
}

bool MainWindow::startGeneration()
{
    return m_runner->start();
}

void MainWindow::cancelGeneration(GenerationController::CancelMode mode)
{
    m_runner->cancel(mode);
}

QImage MainWindow::resultImage() const
{
    return m_runner->result().image;
}

GenerationSettings MainWindow::resultSettings() const
{
    return m_runner->result().settings;
}

qint64 MainWindow::resultHistoryId() const
{
    return m_runner->result().historyId;
}

bool MainWindow::saveImageTo(const QString &path, bool overwrite)
{
    return m_recorder->saveTo(path, m_runner->result(), overwrite);
}

QString MainWindow::outputsFolder() const
{
    return m_prefs.outputFolder.isEmpty() ? Preferences::defaultOutputFolder() : m_prefs.outputFolder;
}

// ---- files in ----

bool MainWindow::openImageFile(const QString &path)
{
    const auto settings = m_recorder->readSettings(path);
    if (!settings)
        return false;
    applySettings(*settings);
    QImage image(path);
    if (!image.isNull())
        m_preview->showStill(image, tr("%1 (opened)").arg(QFileInfo(path).fileName()));
    statusBar()->showMessage(tr("Settings restored from %1").arg(QFileInfo(path).fileName()),
                             kStatusTimeoutMs);
    return true;
}

void MainWindow::openImageDialog()
{
    const QString path
        = QFileDialog::getOpenFileName(this, tr("Open image and restore its settings"),
                                       HistoryRecorder::lastSaveFolder(), tr("PNG images (*.png)"));
    if (!path.isEmpty())
        openImageFile(path);
}

void MainWindow::dragEnterEvent(QDragEnterEvent *event)
{
    const auto urls = event->mimeData()->urls();
    if (!urls.isEmpty() && urls.front().isLocalFile())
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent *event)
{
    const auto urls = event->mimeData()->urls();
    if (urls.isEmpty() || !urls.front().isLocalFile())
        return;
    const QFileInfo info(urls.front().toLocalFile());
    if (info.suffix().compare(QLatin1String("png"), Qt::CaseInsensitive) == 0)
        openImageFile(info.absoluteFilePath());
    else if (ModelSwitcher::isModelPath(info) && !m_controller->isBusy())
        openModel(info.absoluteFilePath());
    else
        statusBar()->showMessage(tr("Drop a PNG made by DiT Studio (restores its settings) or a checkpoint"),
                                 kStatusTimeoutMs);
    event->acceptProposedAction();
}

// ---- dialogs ----

void MainWindow::openEditDialog(const QImage &image, const GenerationSettings *settings)
{
    GenerationSettings s = currentSettings();
    if (settings) {
        // The entry's own prompt, sampler and seed; the loaded model stays.
        s.prompt = settings->prompt;
        s.steps = settings->steps;
        s.sampler = settings->sampler;
        s.cfgScale = settings->cfgScale;
        s.seed = settings->seed;
    }
    EditDialog dialog(m_controller.get(), s, this);
    dialog.setStartFolder(outputsFolder());
    const QImage start = image.isNull() ? m_runner->result().image : image;
    if (!start.isNull())
        dialog.setImage(start); // starts from the current image; Open… picks another
    // A finished edit goes into the history like a generated image.
    connect(&dialog, &EditDialog::finishedEdit, this, [this, &dialog](bool ok) {
        if (!ok || dialog.afterImage().isNull())
            return;
        const QString what = tr("%1 (%2)").arg(dialog.resultConditioning(), dialog.resultDescription());
        const qint64 id = m_recorder->record(dialog.afterImage(), dialog.resultSettings(), what, 0.0,
                                             dialog.resultSettings().steps);
        if (id != 0)
            statusBar()->showMessage(tr("Edit added to the history"), kStatusTimeoutMs);
    });
    dialog.exec();
}

void MainWindow::showGrid(const QList<QPair<QImage, QString>> &items, const QString &title)
{
    auto *dialog = new GridDialog(items, title, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
}

void MainWindow::showLastBatchGrid()
{
    if (m_runner->lastBatch().isEmpty()) {
        statusBar()->showMessage(tr("No batch yet: generate with Images set to 2 or more"), kStatusTimeoutMs);
        return;
    }
    showGrid(m_runner->lastBatch(), m_runner->lastBatchTitle());
}

void MainWindow::showPreferences()
{
    QStringList devices;
    for (int i = 0; i < m_generatePanel->device()->count(); ++i)
        devices << m_generatePanel->device()->itemData(i).toString();
    Preferences current = m_prefs;
    current.autoSave = m_recorder->autoSaveAction()->isChecked();
    current.device = m_generatePanel->device()->currentData().toString();
    PreferencesDialog dialog(current, devices, this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    const Preferences chosen = dialog.preferences();
    chosen.save();
    applyPreferences(chosen);
}

void MainWindow::applyPreferences(const Preferences &prefs)
{
    const bool threadsChanged = prefs.threads != m_prefs.threads;
    m_prefs = prefs;
    applyTheme(prefs.theme);
    m_preview->setSmoothing(prefs.smoothPreview);
    m_recorder->autoSaveAction()->setChecked(prefs.autoSave);
    m_recorder->setOutputsFolder(outputsFolder());
    if (const int device = m_generatePanel->device()->findData(prefs.device); device >= 0)
        m_generatePanel->device()->setCurrentIndex(device); // used by the next load
    if (threadsChanged && EngineModule::isFinished())
        EngineModule::setComputeThreads(prefs.threads);
}
