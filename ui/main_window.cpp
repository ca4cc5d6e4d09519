#include "main_window.h"

#include "edit/edit_panel.h"
#include "edit/film_export_dialog.h"
#include "edit/video_edit_dialog.h"
#include "engine/engine_module.h"
#include "engine/job_queue_view.h"
#include "generate/compare_dialog.h"
#include "generate/generate_panel.h"
#include "generate/grid_dialog.h"
#include "generate/preview_panel.h"
#include "get_models_dialog.h"
#include "history/history_panel.h"
#include "history/history_store.h"
#include "inside/inside_panel.h"
#include "widgets/image_conversion.h"
#include "widgets/image_view.h"
#include "widgets/log_panel.h"

#include "ditstudio/engine.h"
#include "ditstudio/runtime.h"
#include "ditstudio/video.h"

#include <QAbstractItemView>
#include <QAction>
#include <QCloseEvent>
#include <QComboBox>
#include <QCompleter>
#include <QDateTime>
#include <QDir>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QFrame>
#include <QFutureWatcher>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QImageReader>
#include <QKeySequence>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QScreen>
#include <QScrollArea>
#include <QSettings>
#include <QSpinBox>
#include <QStandardPaths>
#include <QStatusBar>
#include <QStringListModel>
#include <QTableWidget>
#include <QTimer>
#include <QToolButton>
#include <QUrl>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <limits>

namespace {

constexpr int kStatusTimeoutMs = 8000;
constexpr int kMaxRecentModels = 8;
constexpr int kPromptCheckDelayMs = 250;

// Model combo entries: what an item does when chosen.
enum class ModelItem { Default = 0, Path = 1, OpenFile = 2, OpenFolder = 3 };
constexpr int kModelKindRole = Qt::UserRole + 1;
constexpr int kModelPathRole = Qt::UserRole + 2;

// Settings keys.
const QString kKeyModelPath = QStringLiteral("model/lastPath");
const QString kKeyModelIsDefault = QStringLiteral("model/lastIsDefault");
const QString kKeyRecent = QStringLiteral("model/recent");
const QString kKeyDevice = QStringLiteral("model/device");
const QString kKeySaveDir = QStringLiteral("files/lastSaveDir");
const QString kKeyAutoSave = QStringLiteral("files/autoSave");
const QString kKeyViewMode = QStringLiteral("view/previewMode");
const QString kKeyGeometry = QStringLiteral("window/geometry");
const QString kKeyState = QStringLiteral("window/state");

QString formatSeconds(double seconds)
{
    if (seconds < 60)
        return QStringLiteral("%1 s").arg(seconds, 0, 'f', 1);
    const int total = static_cast<int>(seconds + 0.5);
    return QStringLiteral("%1:%2").arg(total / 60).arg(total % 60, 2, 10, QLatin1Char('0'));
}

QString safeFileStem(QString text)
{
    text.replace(QRegularExpression(QStringLiteral("[^A-Za-z0-9._+-]+")), QStringLiteral("_"));
    text.remove(QRegularExpression(QStringLiteral("^_+|_+$")));
    return text.isEmpty() ? QStringLiteral("ditstudio") : text.left(80);
}

bool isModelPath(const QFileInfo &info)
{
    static const QStringList suffixes {QStringLiteral("safetensors"), QStringLiteral("pt"),
                                       QStringLiteral("pth"), QStringLiteral("bin"), QStringLiteral("ckpt")};
    return info.isDir() || suffixes.contains(info.suffix().toLower());
}

} // namespace

MainWindow::MainWindow(QWidget *parent, const QString &historyDatabase)
    : QMainWindow(parent), m_controller(std::make_unique<GenerationController>()),
      m_history(std::make_unique<HistoryStore>(historyDatabase.isEmpty() ? HistoryStore::defaultDatabasePath()
                                                                         : historyDatabase))
{
    setWindowTitle(tr("DiT Studio"));
    setAcceptDrops(true);
    buildUi();
    buildDocks();
    buildMenus();
    readSettings();
    applyPreferences(Preferences::load());
    // Screen readers: every labelled control is named by its label; the rest by their tooltips.
    for (QLabel *label : findChildren<QLabel *>())
        if (QWidget *buddy = label->buddy(); buddy && buddy->accessibleName().isEmpty())
            buddy->setAccessibleName(label->text().remove(QLatin1Char('&')));
    for (QWidget *w : findChildren<QWidget *>())
        if (w->accessibleName().isEmpty() && !w->toolTip().isEmpty() && w->focusPolicy() != Qt::NoFocus)
            w->setAccessibleName(w->toolTip().section(QLatin1Char('('), 0, 0).trimmed());
    m_prompt->setFocus();

    GenerationController *c = m_controller.get();
    connect(c, &GenerationController::modelLoaded, this, &MainWindow::onModelLoaded);
    connect(c, &GenerationController::loadFailed, this, &MainWindow::onLoadFailed);
    connect(c, &GenerationController::itemStarted, this, &MainWindow::onItemStarted);
    connect(c, &GenerationController::stepFinished, this, &MainWindow::onStepFinished);
    connect(c, &GenerationController::previewReady, this, &MainWindow::onPreviewReady);
    connect(c, &GenerationController::probesReady, this,
            [this](const InsideProbes &probes, int step) { m_insidePanel->addProbes(step, probes); });
    connect(c, &GenerationController::itemFinished, this, &MainWindow::onItemFinished);
    connect(c, &GenerationController::finished, this, &MainWindow::onFinished);
    connect(c, &GenerationController::promptChecked, this, &MainWindow::onPromptChecked);
    connect(c, &GenerationController::stateChanged, this, &MainWindow::updateActions);
    updateModelCombo();
    updateActions();
    if (!m_history->recoveryNote().isEmpty()) {
        // Said once, in the log and the status bar: the app works on with a new history.
        ditstudio::logWarn(m_history->recoveryNote().toStdString());
        QTimer::singleShot(0, this, [this] { statusBar()->showMessage(m_history->recoveryNote(), 20000); });
    }
    if (!m_history->isOpen())
        QTimer::singleShot(
            0, this, [this] { showError(tr("The history is not available"), m_history->errorString()); });
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
    m_generatePanel = new GeneratePanel;
    scroll->setWidget(m_generatePanel);
    // The window reaches the fields it wires directly.
    GeneratePanel *g = m_generatePanel;
    m_modelCombo = g->modelCombo();
    m_vaePath = g->vaePath();
    m_vaeBrowse = g->vaeBrowse();
    m_device = g->device();
    m_precision = g->precision();
    m_prompt = g->prompt();
    m_promptStatus = g->promptStatus();
    m_completer = g->completer();
    m_completionModel = g->completionModel();
    m_generateButton = g->generateButton();
    m_cancelButton = g->cancelButton();
    m_promptTimer = new QTimer(this);
    m_promptTimer->setSingleShot(true);
    m_promptTimer->setInterval(kPromptCheckDelayMs);
    connect(m_promptTimer, &QTimer::timeout, this, [this] {
        if (m_controller->hasModel() && !m_prompt->text().trimmed().isEmpty())
            m_controller->checkPrompt(m_prompt->text());
    });
    connect(m_prompt, &QLineEdit::textChanged, this, &MainWindow::schedulePromptCheck);
    connect(m_modelCombo, &QComboBox::activated, this, &MainWindow::onModelComboActivated);
    connect(m_vaeBrowse, &QToolButton::clicked, this, &MainWindow::chooseVae);
    connect(m_vaePath, &QLineEdit::editingFinished, this, [this] {
        if (m_controller->hasModel() && m_vaePath->text().trimmed() != m_controller->model().vaePath)
            reloadWithPanelOptions();
    });
    // Clearing the field (its clear button, or deleting the text) takes the VAE off at once.
    connect(m_vaePath, &QLineEdit::textChanged, this, [this](const QString &text) {
        if (text.isEmpty() && !m_applyingSettings && m_controller->hasModel()
            && !m_controller->model().vaePath.isEmpty())
            QTimer::singleShot(0, this, [this] {
                if (m_vaePath->text().isEmpty())
                    reloadWithPanelOptions();
            });
    });
    connect(m_device, &QComboBox::activated, this, [this] { reloadWithPanelOptions(); });
    connect(m_precision, &QComboBox::activated, this, [this] { reloadWithPanelOptions(); });

    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    scroll->setFixedWidth(scroll->widget()->sizeHint().width() + 16);
    layout->addWidget(scroll);

    auto *right = new QVBoxLayout;
    right->setSpacing(6);
    m_preview = new PreviewPanel(central);
    m_preview->setObjectName(QStringLiteral("previewPanel"));
    right->addWidget(m_preview, 1);
    m_progress = new QProgressBar(central);
    m_progress->setObjectName(QStringLiteral("progress"));
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progress->setTextVisible(true);
    m_progress->setAlignment(Qt::AlignCenter);
    m_progress->setFormat(tr("Idle"));
    right->addWidget(m_progress);
    layout->addLayout(right, 1);
    setCentralWidget(central);

    m_modelLabel = new QLabel(tr("No model loaded — open a checkpoint"), this);
    m_modelLabel->setObjectName(QStringLiteral("modelLabel"));
    statusBar()->addPermanentWidget(m_modelLabel);
}

void MainWindow::buildDocks()
{
    m_historyPanel = new HistoryPanel(m_history.get(), this);
    m_historyPanel->setObjectName(QStringLiteral("historyPanel"));
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
    connect(m_historyPanel, &HistoryPanel::showRequested, this, &MainWindow::showHistoryEntry);
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
            [this](const QString &message) { showError(tr("History"), message); });

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
    m_insidePanel = new InsidePanel(this);
    m_insidePanel->setObjectName(QStringLiteral("insidePanel"));
    m_insideDock = new QDockWidget(tr("Inside"), this);
    m_insideDock->setObjectName(QStringLiteral("insideDock"));
    m_insideDock->setWidget(m_insidePanel);
    m_insideDock->setAllowedAreas(Qt::LeftDockWidgetArea | Qt::RightDockWidgetArea
                                  | Qt::BottomDockWidgetArea);
    addDockWidget(Qt::RightDockWidgetArea, m_insideDock);
    tabifyDockWidget(m_historyDock, m_insideDock);
    m_historyDock->raise();
    connect(m_preview, &PreviewPanel::shownStepChanged, m_insidePanel, &InsidePanel::showStep);
    connect(m_insidePanel, &InsidePanel::interventionRequested, this, &MainWindow::startIntervention);
    connect(m_insidePanel, &InsidePanel::exportFilmRequested, this, &MainWindow::exportInsideFilm);
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
                    m_vaePath->setText(path); // applied on the next load, like a typed path
                else
                    openModel(path);
            });
    dialog.exec();
}

void MainWindow::buildMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    m_openModelAction = file->addAction(tr("&Open model…"), this, &MainWindow::openModelDialog);
    m_openModelAction->setShortcut(QKeySequence::Open);
    m_openModelAction->setObjectName(QStringLiteral("openModelAction"));
    m_openFolderAction
        = file->addAction(tr("Open &diffusers folder…"), this, &MainWindow::openDiffusersDialog);
    file->addAction(tr("Use the &embedded default model"), this, &MainWindow::openDefaultModel);
    QAction *getModels = file->addAction(tr("&Get models…"), this, &MainWindow::showGetModels);
    getModels->setObjectName(QStringLiteral("getModelsAction"));
    file->addSeparator();
    m_openImageAction
        = file->addAction(tr("Open &image (restore settings)…"), this, &MainWindow::openImageDialog);
    m_openImageAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    m_openImageAction->setObjectName(QStringLiteral("openImageAction"));
    m_saveAction = file->addAction(tr("&Save image…"), this, &MainWindow::saveImage);
    m_saveAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_S));
    m_saveAction->setObjectName(QStringLiteral("saveAction"));
    m_autoSaveAction = file->addAction(tr("&Auto-save every result"));
    m_autoSaveAction->setObjectName(QStringLiteral("autoSaveAction"));
    m_autoSaveAction->setCheckable(true);
    m_autoSaveAction->setChecked(true);
    m_autoSaveAction->setToolTip(
        tr("Write every generated image (with its settings) to %1")
            .arg(QDir::toNativeSeparators(
                QDir(HistoryStore::dataDirectory()).filePath(QStringLiteral("outputs")))));
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

    QMenu *generation = menuBar()->addMenu(tr("&Generation"));
    m_generateAction = generation->addAction(tr("&Generate"), this, [this] { startGeneration(); });
    m_generateAction->setShortcuts(
        {QKeySequence(Qt::CTRL | Qt::Key_Return), QKeySequence(Qt::CTRL | Qt::Key_Enter)});
    m_cancelAction = generation->addAction(tr("&Stop now"), this, [this] { cancelGeneration(); });
    m_cancelAction->setShortcut(QKeySequence(Qt::Key_Escape));
    m_cancelAction->setObjectName(QStringLiteral("cancelAction"));
    m_cancelAfterAction = generation->addAction(tr("Stop &after the current image"), this, [this] {
        cancelGeneration(GenerationController::CancelMode::AfterCurrentItem);
    });
    m_cancelAfterAction->setShortcut(QKeySequence(Qt::SHIFT | Qt::Key_Escape));
    m_cancelAfterAction->setObjectName(QStringLiteral("cancelAfterAction"));
    connect(m_generateButton, &QPushButton::clicked, m_generateAction, &QAction::trigger);
    auto *cancelMenu = new QMenu(m_cancelButton);
    cancelMenu->addAction(m_cancelAction);
    cancelMenu->addAction(m_cancelAfterAction);
    m_cancelButton->setMenu(cancelMenu);
    connect(m_cancelButton, &QToolButton::clicked, m_cancelAction, &QAction::trigger);

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
    QAction *keys = help->addAction(tr("&Keyboard shortcuts"), this, &MainWindow::showShortcuts);
    keys->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Slash));
    keys->setObjectName(QStringLiteral("shortcutsAction"));
    QAction *about = help->addAction(tr("&About DiT Studio"), this, &MainWindow::showAbout);
    about->setMenuRole(QAction::AboutRole);
}

void MainWindow::readSettings()
{
    QSettings s;
    m_generatePanel->readSettings(s);
    m_autoSaveAction->setChecked(s.value(kKeyAutoSave, true).toBool());
    m_preview->setViewMode(static_cast<PreviewPanel::ViewMode>(
        qBound(0, s.value(kKeyViewMode, static_cast<int>(PreviewPanel::ViewMode::SideBySide)).toInt(), 2)));
    if (!restoreGeometry(s.value(kKeyGeometry).toByteArray()))
        resize(1280, 820);
    else
        keepOnScreen();
    restoreState(s.value(kKeyState).toByteArray());
}

void MainWindow::keepOnScreen()
{
    // Saved on another monitor or at another scale factor, the geometry may now lie partly off every
    // screen or be larger than the screen: then the window comes back centred on the screen that
    // shows most of it (else the primary one), no larger than that screen.
    const QRect frame = frameGeometry();
    const qint64 area = qint64(frame.width()) * frame.height();
    qint64 visible = 0;
    const QScreen *best = nullptr;
    qint64 bestShare = -1;
    for (const QScreen *screen : QGuiApplication::screens()) {
        const QRect shared = screen->availableGeometry().intersected(frame);
        const qint64 share = shared.isEmpty() ? 0 : qint64(shared.width()) * shared.height();
        visible += share;
        if (share > bestShare) {
            bestShare = share;
            best = screen;
        }
    }
    if (area <= 0 || visible * 100 >= area * 97)
        return; // (almost) all of it is on screens: where the user put it
    if (bestShare <= 0 || !best)
        best = QGuiApplication::primaryScreen();
    if (!best)
        return;
    if (isMaximized() || isFullScreen())
        showNormal();
    const QRect avail = best->availableGeometry();
    const QSize decoration = frame.size() - size();
    const QSize inner(qMin(width(), avail.width() * 9 / 10 - decoration.width()),
                      qMin(height(), avail.height() * 9 / 10 - decoration.height()));
    resize(inner);
    const QSize outer = inner + decoration;
    move(avail.center() - QPoint(outer.width() / 2, outer.height() / 2));
}

void MainWindow::writeSettings() const
{
    QSettings s;
    m_generatePanel->writeSettings(s, m_controller->hasModel(), m_controller->model().vaePath);
    s.setValue(kKeyAutoSave, m_autoSaveAction->isChecked());
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
    const bool busy = m_controller->isBusy();
    const bool loading = m_controller->isLoading();
    const bool ready = m_controller->hasModel() && !busy && !loading;
    // A button that gets disabled while it has focus would hand focus to the next widget in tab
    // order; keep it on the prompt instead so typing continues to work.
    if ((m_generateButton->hasFocus() && !ready) || (m_cancelButton->hasFocus() && !busy))
        m_prompt->setFocus();
    m_generateButton->setEnabled(ready);
    m_generateAction->setEnabled(ready);
    m_cancelButton->setEnabled(busy);
    m_cancelAction->setEnabled(busy);
    m_cancelAfterAction->setEnabled(busy && !m_controller->isCancelling());
    m_saveAction->setEnabled(!m_result.isNull());
    m_openModelAction->setEnabled(!busy);
    m_openFolderAction->setEnabled(!busy);
    m_modelCombo->setEnabled(!busy && !loading);
    m_device->setEnabled(!busy && !loading);
    m_precision->setEnabled(!busy && !loading);
    // A VAE only means something for latent-space models (or before the first model is in).
    const bool vaeApplies = !m_controller->hasModel() || m_controller->model().latentSpace;
    m_vaePath->setEnabled(vaeApplies && !busy && !loading);
    m_vaeBrowse->setEnabled(vaeApplies && !busy && !loading);
    m_vaePath->setToolTip(
        vaeApplies
            ? tr("Stable Diffusion VAE for latent-space models (file or folder); applied on the next load")
            : tr("The loaded model works in pixel space: it needs no VAE"));
    if (loading)
        m_modelLabel->setText(tr("Loading model…"));
    else if (m_controller->hasModel())
        m_modelLabel->setText(m_controller->model().displayText());
}

bool MainWindow::isUsable() const
{
    return m_controller->hasModel() && m_generateAction->isEnabled();
}

// ---- models ----

ModelLoadSpec MainWindow::loadSpec(const QString &path) const
{
    ModelLoadSpec spec;
    spec.path = path;
    // The embedded default model works in pixel space: a VAE (say, one saved by an older version)
    // must never stop it from loading.
    spec.vaePath = path.isEmpty() ? QString() : m_vaePath->text().trimmed();
    spec.device = m_device->currentData().toString();
    spec.precision = m_precision->currentData().toString();
    return spec;
}

void MainWindow::loadInitialModel(const QString &path)
{
    m_startupPending = true;
    if (!path.isEmpty()) {
        m_fallBackToDefault = true; // a start-up load that fails falls back to the embedded default
        openModel(path);
        return;
    }
    QSettings s;
    const QString last = s.value(kKeyModelPath).toString();
    if (s.value(kKeyModelIsDefault, false).toBool() || last.isEmpty()) {
        openDefaultModel();
        return;
    }
    m_fallBackToDefault = true;
    openModel(last);
}

void MainWindow::openModel(const QString &path)
{
    m_controller->loadModel(loadSpec(path));
    statusBar()->showMessage(tr("Loading %1…").arg(QDir::toNativeSeparators(path)));
}

void MainWindow::openDefaultModel()
{
    m_controller->loadModel(loadSpec(QString()));
    statusBar()->showMessage(tr("Loading the embedded default model…"));
}

void MainWindow::reloadWithPanelOptions()
{
    if (!m_controller->hasModel() || m_controller->isBusy())
        return;
    const ModelSummary &m = m_controller->model();
    if (m.embeddedDefault)
        openDefaultModel();
    else
        openModel(m.path);
}

void MainWindow::addEngineDevices()
{
    // The engine module loads in the background at launch; the first load result (either way)
    // means it is in, so asking for CUDA devices no longer waits.
    if (m_engineDevicesListed)
        return;
    m_engineDevicesListed = true;
    const int n = EngineModule::cudaDeviceCount();
    for (int i = 0; i < n; ++i) {
        const QString name = n == 1 ? QStringLiteral("cuda") : QStringLiteral("cuda:%1").arg(i);
        m_device->addItem(name, name);
    }
    // Apple's MPS where this LibTorch has it (macOS builds on Apple silicon).
    const bool mps = EngineModule::api() && EngineModule::api()->runtimeInfo().mpsAvailable;
    if (mps)
        m_device->addItem(QStringLiteral("mps"), QStringLiteral("mps"));
    m_device->setToolTip(n > 0 || mps ? tr("Compute device")
                                      : tr("Compute device (this build or machine has no CUDA)"));
    // A CUDA device chosen in an earlier session comes back once it exists.
    const QString saved = QSettings().value(kKeyDevice).toString();
    if ((n > 0 || mps) && m_device->currentData().toString() == QStringLiteral("auto")
        && m_device->findData(saved) > 1)
        m_device->setCurrentIndex(m_device->findData(saved));
}

void MainWindow::onModelLoaded(const ModelSummary &model)
{
    addEngineDevices();
    if (m_prefs.threads > 0)
        EngineModule::setComputeThreads(m_prefs.threads); // the module is in: this does not wait
    m_insidePanel->setModel(model);
    m_fallBackToDefault = false;
    m_modelLabel->setText(model.displayText());
    m_modelLabel->setToolTip(tr("%1\n%2, %3 parameters, %4 %5\nweights %6")
                                 .arg(QDir::toNativeSeparators(model.path), model.format)
                                 .arg(model.parameterCount)
                                 .arg(model.device, model.precision, model.weightHash.left(19)));
    setWindowTitle(tr("%1 — DiT Studio").arg(model.embeddedDefault ? tr("default model") : model.fileName));
    statusBar()->showMessage(tr("Loaded %1 on %2").arg(model.fileName, model.device), kStatusTimeoutMs);
    // Completion: the class names with their aliases ("Sneaker, sneakers, trainer" offers all three),
    // or "#0".."#N-1" for checkpoints that carry none.
    QStringList completions;
    for (const QString &name : model.classNames)
        for (const QString &alias : name.split(QStringLiteral(", "), Qt::SkipEmptyParts))
            if (!completions.contains(alias.trimmed()))
                completions << alias.trimmed();
    if (completions.isEmpty())
        for (int i = 0; i < model.numClasses; ++i)
            completions << QStringLiteral("#%1").arg(i);
    m_completionModel->setStringList(completions);
    QSettings s;
    s.setValue(kKeyModelPath, model.path);
    s.setValue(kKeyModelIsDefault, model.embeddedDefault);
    if (!model.embeddedDefault)
        rememberRecentModel(model.path);
    updateModelCombo();
    updateActions();
    m_promptCheck.reset();
    schedulePromptCheck();
    if (m_startupPending) {
        m_startupPending = false;
        emit ready();
    }
}

void MainWindow::onLoadFailed(const QString &message)
{
    addEngineDevices();
    statusBar()->showMessage(tr("Loading failed"), kStatusTimeoutMs);
    if (!m_controller->hasModel())
        m_modelLabel->setText(tr("No model loaded — open a checkpoint"));
    showError(tr("Could not load the model"), message); // the backend's message names the file
    // The field shows what is loaded again: a refused VAE is neither kept nor saved.
    {
        m_applyingSettings = true;
        m_vaePath->setText(m_controller->hasModel() ? m_controller->model().vaePath : QString());
        m_applyingSettings = false;
    }
    if (m_fallBackToDefault) {
        m_fallBackToDefault = false;
        const QString note
            = tr("The saved model could not be loaded; using the embedded default model instead");
        ditstudio::logWarn(note.toStdString() + ": " + message.toStdString());
        openDefaultModel();
        statusBar()->showMessage(note, 20000);
    } else if (m_startupPending) {
        m_startupPending = false;
        emit ready();
    }
    updateModelCombo();
    updateActions();
}

void MainWindow::rememberRecentModel(const QString &path)
{
    QSettings s;
    QStringList recent = s.value(kKeyRecent).toStringList();
    recent.removeAll(path);
    recent.prepend(path);
    while (recent.size() > kMaxRecentModels)
        recent.removeLast();
    s.setValue(kKeyRecent, recent);
}

void MainWindow::updateModelCombo()
{
    const QSignalBlocker block(m_modelCombo);
    m_modelCombo->clear();
    const bool has = m_controller->hasModel();
    const ModelSummary &current = m_controller->model();
    m_modelCombo->addItem(tr("Embedded default"));
    m_modelCombo->setItemData(0, static_cast<int>(ModelItem::Default), kModelKindRole);
    m_modelCombo->setItemData(0, tr("The DiT shipped with DiT Studio: 28×28 grayscale, 10 clothing classes"),
                              Qt::ToolTipRole);
    int currentIndex = has && current.embeddedDefault ? 0 : -1;
    QStringList recent = QSettings().value(kKeyRecent).toStringList();
    if (has && !current.embeddedDefault && !recent.contains(current.path))
        recent.prepend(current.path);
    for (const QString &path : recent) {
        const int i = m_modelCombo->count();
        m_modelCombo->addItem(QFileInfo(path).fileName());
        m_modelCombo->setItemData(i, static_cast<int>(ModelItem::Path), kModelKindRole);
        m_modelCombo->setItemData(i, path, kModelPathRole);
        m_modelCombo->setItemData(i, QDir::toNativeSeparators(path), Qt::ToolTipRole);
        if (has && !current.embeddedDefault && path == current.path)
            currentIndex = i;
    }
    m_modelCombo->insertSeparator(m_modelCombo->count());
    m_modelCombo->addItem(tr("Open checkpoint file…"));
    m_modelCombo->setItemData(m_modelCombo->count() - 1, static_cast<int>(ModelItem::OpenFile),
                              kModelKindRole);
    m_modelCombo->addItem(tr("Open diffusers folder…"));
    m_modelCombo->setItemData(m_modelCombo->count() - 1, static_cast<int>(ModelItem::OpenFolder),
                              kModelKindRole);
    if (currentIndex < 0) {
        m_modelCombo->insertItem(0, tr("(no model loaded)"));
        m_modelCombo->setItemData(0, -1, kModelKindRole);
        currentIndex = 0;
    }
    m_modelCombo->setCurrentIndex(currentIndex);
}

void MainWindow::onModelComboActivated(int index)
{
    const int kind = m_modelCombo->itemData(index, kModelKindRole).toInt();
    updateModelCombo(); // show the loaded model until another one has loaded
    switch (static_cast<ModelItem>(kind)) {
    case ModelItem::Default:
        openDefaultModel();
        break;
    case ModelItem::Path:
        openModel(m_modelCombo->itemData(index, kModelPathRole).toString());
        break;
    case ModelItem::OpenFile:
        openModelDialog();
        break;
    case ModelItem::OpenFolder:
        openDiffusersDialog();
        break;
    }
}

void MainWindow::openModelDialog()
{
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open model"), modelDialogDir(),
        tr("DiT checkpoints (*.safetensors *.pt *.pth *.bin *.ckpt);;All files (*)"));
    if (!path.isEmpty())
        openModel(path);
}

void MainWindow::openDiffusersDialog()
{
    const QString path
        = QFileDialog::getExistingDirectory(this, tr("Open diffusers folder"), modelDialogDir());
    if (!path.isEmpty())
        openModel(path);
}

void MainWindow::chooseVae()
{
    const QString start
        = m_vaePath->text().isEmpty() ? modelDialogDir() : QFileInfo(m_vaePath->text()).absolutePath();
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Choose a VAE"), start, tr("VAE checkpoints (*.safetensors *.pt *.pth *.bin *.ckpt)"));
    if (path.isEmpty())
        return;
    m_vaePath->setText(path);
    reloadWithPanelOptions();
}

QString MainWindow::modelDialogDir() const
{
    const QString last = QSettings().value(kKeyModelPath).toString();
    // The folder holding the last model (for a diffusers folder: its parent, to pick a sibling).
    return last.isEmpty() ? QDir::homePath() : QFileInfo(last).absolutePath();
}

// ---- prompt validation ----

void MainWindow::schedulePromptCheck()
{
    m_promptCheck.reset();
    if (m_prompt->text().trimmed().isEmpty()) {
        setPromptStatus(m_controller->hasModel()
                            ? tr("Type a class name — the completer offers the model's classes")
                            : QString(),
                        QStringLiteral("#8a8f98"));
        return;
    }
    m_promptTimer->start();
}

void MainWindow::setPromptStatus(const QString &text, const QString &color)
{
    const QFontMetrics fm(m_promptStatus->font());
    const int width = qMax(160, m_promptStatus->width() > 0 ? m_promptStatus->width() : 220);
    // Word wrap breaks lines early; leave some slack so two lines always hold the elided text.
    const QString shown = fm.elidedText(text, Qt::ElideRight, width * 2 - fm.averageCharWidth() * 8);
    m_promptStatus->setToolTip(shown == text ? QString() : text);
    m_promptStatus->setText(
        text.isEmpty()
            ? QString()
            : QStringLiteral("<span style=\"color:%1\">%2</span>").arg(color, shown.toHtmlEscaped()));
}

void MainWindow::onPromptChecked(const PromptCheck &check)
{
    if (check.prompt != m_prompt->text())
        return; // the text changed since: a newer check is on its way
    m_promptCheck = check;
    if (!check.ok) {
        // A class name being typed ("snea") is not an error yet: offer what it completes to.
        QString typing = check.prompt.section(QLatin1Char('+'), -1).trimmed();
        typing.remove(QRegularExpression(QStringLiteral("^[0-9.]+\\s*")));
        QStringList matches;
        if (!typing.isEmpty() && !typing.startsWith(QLatin1Char('#')))
            for (const QString &c : m_completionModel->stringList())
                if (c.startsWith(typing, Qt::CaseInsensitive))
                    matches << c;
        if (!matches.isEmpty()) {
            setPromptStatus(tr("… %1? Keep typing or pick one from the list")
                                .arg(matches.mid(0, 3).join(QStringLiteral(", "))),
                            QStringLiteral("#8a8f98"));
            return;
        }
        setPromptStatus(check.message, QStringLiteral("#d0473e"));
    } else if (!check.warnings.isEmpty())
        setPromptStatus(tr("→ %1 (%2)").arg(check.conditioning, check.warnings.join(QStringLiteral("; "))),
                        QStringLiteral("#b7791f"));
    else
        setPromptStatus(tr("→ %1").arg(check.conditioning), QStringLiteral("#3f8f4f"));
}

// ---- generation ----

GenerationSettings MainWindow::currentSettings() const
{
    GenerationSettings s = m_generatePanel->settings();
    if (m_controller->hasModel()) {
        const ModelSummary &m = m_controller->model();
        s.embeddedDefault = m.embeddedDefault;
        s.modelPath = m.path;
        s.modelHash = m.weightHash;
        s.modelArchitecture = m.architecture;
        // What the model was actually loaded with (the panel may have changed since).
        s.vaePath = m.vaePath;
        s.precision = m.precision;
        if (!m.device.isEmpty())
            s.device = m.device;
    }
    return s;
}

bool MainWindow::startGeneration()
{
    if (!m_controller->hasModel() || m_controller->isBusy() || m_controller->isLoading())
        return false;
    const QString prompt = m_prompt->text().trimmed();
    if (prompt.isEmpty()) {
        setPromptStatus(tr("Type a class name first (e.g. one the completer offers, or #3)"),
                        QStringLiteral("#d0473e"));
        statusBar()->showMessage(tr("Type a class name first"), kStatusTimeoutMs);
        m_prompt->setFocus();
        return false;
    }
    if (m_promptCheck && m_promptCheck->prompt == m_prompt->text() && !m_promptCheck->ok) {
        // Known to be invalid: say so where the user is typing instead of a dialog.
        setPromptStatus(m_promptCheck->message, QStringLiteral("#d0473e"));
        statusBar()->showMessage(tr("Fix the prompt first: %1").arg(m_promptCheck->message),
                                 kStatusTimeoutMs);
        m_prompt->setFocus();
        return false;
    }
    if (m_completer->popup() && m_completer->popup()->isVisible())
        m_completer->popup()->hide(); // it would cover the hint and the panel during the run
    GenerationSettings settings = currentSettings();
    const QList<quint64> seeds = settings.jobSeeds();
    QString error;
    auto request = settings.toRequest(seeds.front(), &error);
    if (!request) {
        showError(tr("Cannot generate"), error);
        return false;
    }
    if (m_insidePanel->isRecording()) {
        request->probes = m_insidePanel->probeOptions(request->steps);
        request->cacheInterval = 1; // the probes look inside every step's blocks: exact run
    }
    if (settings.seedMode == SeedMode::Random)
        m_generatePanel->seed()->setValue(static_cast<int>(seeds.back()));
    if (m_controller->generate(*request, seeds) == 0)
        return false;
    m_jobSettings = settings;
    m_lastBatch.clear();
    m_jobItem = 0;
    m_jobItems = static_cast<int>(seeds.size());
    m_jobTimer.start();
    writeSettings();
    m_progress->setRange(0, request->steps * m_jobItems);
    m_progress->setValue(0);
    m_progress->setFormat(tr("Starting…"));
    statusBar()->showMessage(m_jobItems > 1 ? tr("Generating %1 images of “%2”…").arg(m_jobItems).arg(prompt)
                                            : tr("Generating “%1”…").arg(prompt));
    updateActions();
    return true;
}

void MainWindow::cancelGeneration(GenerationController::CancelMode mode)
{
    if (!m_controller->isBusy())
        return;
    m_controller->cancel(mode);
    if (mode == GenerationController::CancelMode::Now)
        m_progress->setFormat(tr("Cancelling…"));
    else
        statusBar()->showMessage(tr("Stopping after the current image…"));
}

void MainWindow::onItemStarted(int index, int count, quint64 seed, const QString &conditioning)
{
    m_jobItem = index;
    const QString what = conditioning.isEmpty() ? m_jobSettings.prompt : conditioning;
    m_insidePanel->beginRun(m_jobSettings.steps,
                            m_interventionJob ? tr("%1 · seed %2 with interventions").arg(what).arg(seed)
                                              : tr("%1 · seed %2").arg(what).arg(seed));
    m_preview->beginRun(
        m_jobSettings.steps,
        count > 1 ? tr("%1 — image %2 of %3 · seed %4").arg(what).arg(index + 1).arg(count).arg(seed)
                  : tr("%1 · seed %2").arg(what).arg(seed));
}

void MainWindow::onStepFinished(int step, int total, double timestep, double sigma, double)
{
    m_preview->addStep(step, timestep, sigma);
    m_insidePanel->setTimestep(step, timestep);
    const int overallTotal = total * qMax(1, m_jobItems);
    const int overall = m_jobItem * total + step;
    if (m_progress->maximum() != overallTotal)
        m_progress->setRange(0, overallTotal);
    m_progress->setValue(overall);
    if (m_controller->isCancelling() && m_controller->isBusy()
        && m_progress->format().startsWith(tr("Cancelling")))
        return;
    // ETA over the whole job: the mean time per step so far times the steps left.
    const double elapsed = m_jobTimer.nsecsElapsed() / 1e9;
    const double eta = overall > 0 ? elapsed / overall * (overallTotal - overall) : 0.0;
    QString text = tr("step %1/%2 · t=%3 · %4 elapsed · ETA %5")
                       .arg(step)
                       .arg(total)
                       .arg(QString::number(timestep, 'f', 0), formatSeconds(elapsed), formatSeconds(eta));
    if (m_jobItems > 1)
        text = tr("image %1/%2 · ").arg(m_jobItem + 1).arg(m_jobItems) + text;
    m_progress->setFormat(text);
}

void MainWindow::onPreviewReady(const QImage &xt, const QImage &x0, int step)
{
    m_preview->addPreview(step, xt, x0);
    m_insidePanel->addPreview(step, xt, x0);
}

void MainWindow::onItemFinished(quint64 jobId, const QImage &image, quint64 seed, double seconds,
                                const QString &conditioning)
{
    if (jobId == m_interventionJob && m_interventionJob != 0)
        return; // an Inside-view re-run is never added to the history
    // Every finished image goes to the history at once (a batch does not wait for its last image).
    m_result = image;
    m_resultSettings = m_jobSettings.forImage(seed);
    m_resultConditioning = conditioning;
    m_resultHistoryId = recordResult(image, seed, seconds, m_jobSettings.steps, conditioning);
    m_lastBatch << qMakePair(image, tr("seed %1").arg(seed)); // the grid's title names the class
    updateActions();
}

void MainWindow::onFinished(const GenerationOutcome &outcome)
{
    using Status = GenerationOutcome::Status;
    if (outcome.jobId == m_interventionJob && m_interventionJob != 0) {
        // An Inside-view re-run: compared with the result it varies, never added to the history.
        m_interventionJob = 0;
        if (!outcome.images.isEmpty())
            m_preview->finishRun(outcome.images.back());
        if (outcome.status == Status::Completed && !outcome.images.isEmpty()) {
            m_insidePanel->showInterventionResult(outcome.images.back());
            m_progress->setValue(m_progress->maximum());
            m_progress->setFormat(tr("Intervention re-run done in %1").arg(formatSeconds(outcome.seconds)));
        } else if (outcome.status == Status::Cancelled) {
            m_insidePanel->interventionFailed(tr("cancelled"));
            m_progress->setFormat(tr("Cancelled"));
        } else {
            m_insidePanel->interventionFailed(outcome.message);
            m_progress->setFormat(tr("Failed"));
        }
        updateActions();
        return;
    }
    // Each finished image went to the history as it finished (onItemFinished).
    if (!outcome.images.isEmpty()) {
        m_preview->finishRun(outcome.images.back());
        m_insidePanel->finishRun(outcome.images.back());
    }
    switch (outcome.status) {
    case Status::Completed: {
        m_progress->setValue(m_progress->maximum());
        m_progress->setFormat(
            outcome.images.size() > 1
                ? tr("Done: %1 images in %2").arg(outcome.images.size()).arg(formatSeconds(outcome.seconds))
                : tr("Done: %1 steps in %2").arg(outcome.stepsDone).arg(formatSeconds(outcome.seconds)));
        QString message = tr("Generated “%1” (seed %2) in %3")
                              .arg(outcome.conditioning)
                              .arg(outcome.seeds.isEmpty() ? outcome.seed : outcome.seeds.back())
                              .arg(formatSeconds(outcome.seconds));
        if (!outcome.warnings.isEmpty())
            message += QStringLiteral(" — ") + outcome.warnings.join(QStringLiteral("; "));
        statusBar()->showMessage(message);
        break;
    }
    case Status::Cancelled:
        if (outcome.images.isEmpty())
            m_progress->setFormat(
                tr("Cancelled after %1 of %2 steps").arg(outcome.stepsDone).arg(m_progress->maximum()));
        else
            m_progress->setFormat(
                tr("Cancelled: kept %1 of %2 images").arg(outcome.images.size()).arg(outcome.itemsRequested));
        statusBar()->showMessage(tr("Cancelled"), kStatusTimeoutMs);
        break;
    case Status::Failed:
        m_progress->setValue(0);
        m_progress->setFormat(tr("Failed"));
        statusBar()->showMessage(tr("Generation failed"), kStatusTimeoutMs);
        showError(tr("Generation failed"), outcome.message);
        break;
    }
    updateActions();
}

void MainWindow::startIntervention(const ditstudio::Interventions &interventions, const QString &description)
{
    if (m_result.isNull() || !m_controller->hasModel()) {
        m_insidePanel->interventionFailed(tr("generate an image first"));
        return;
    }
    if (m_controller->isBusy() || m_controller->isLoading()) {
        m_insidePanel->interventionFailed(tr("wait for the running job to finish"));
        return;
    }
    // The last result's own settings and seed, so that only the interventions differ.
    const GenerationSettings settings = m_resultSettings;
    QString error;
    auto request = settings.toRequest(settings.seed, &error);
    if (!request) {
        m_insidePanel->interventionFailed(error);
        return;
    }
    request->interventions = interventions;
    request->cacheInterval = 1; // interventions change blocks that a cached call would skip
    if (m_insidePanel->isRecording())
        request->probes = m_insidePanel->probeOptions(request->steps);
    const quint64 job = m_controller->generate(*request, {settings.seed});
    if (job == 0) {
        m_insidePanel->interventionFailed(tr("the engine is busy"));
        return;
    }
    m_interventionJob = job;
    m_jobSettings = settings;
    m_jobItem = 0;
    m_jobItems = 1;
    m_jobTimer.start();
    m_progress->setRange(0, request->steps);
    m_progress->setValue(0);
    m_progress->setFormat(tr("Re-running with %1…").arg(description));
    statusBar()->showMessage(tr("Re-running seed %1 with %2").arg(settings.seed).arg(description));
    updateActions();
}

void MainWindow::exportInsideFilm()
{
    const QList<QImage> frames = m_insidePanel->overlayFrames();
    if (frames.isEmpty()) {
        showError(tr("Export film with overlay"),
                  tr("Nothing to export: generate an image with “Record inside” on first."));
        return;
    }
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::MoviesLocation);
    QDir().mkpath(dir);
    const QString path = QFileDialog::getSaveFileName(this, tr("Export film with overlay"),
                                                      dir + QStringLiteral("/inside-film.mp4"),
                                                      tr("Videos (*.mp4 *.webm *.gif)"));
    if (path.isEmpty())
        return;
    auto *api = EngineModule::api();
    if (!api) {
        showError(tr("Export film with overlay"),
                  QString::fromStdString(EngineModule::unavailableError().message));
        return;
    }
    // Frames become crisp pixels at >= 256 px high (even sizes for the encoders).
    std::vector<ditstudio::Image> images;
    for (const QImage &f : frames) {
        const int factor = qMax(1, (256 + f.height() - 1) / qMax(1, f.height()));
        QImage big = f.scaled(f.width() * factor, f.height() * factor, Qt::IgnoreAspectRatio,
                              Qt::FastTransformation);
        big = big.copy(0, 0, big.width() & ~1, big.height() & ~1);
        images.push_back(toDitImage(big.convertToFormat(QImage::Format_RGB888)));
    }
    statusBar()->showMessage(tr("Encoding %1 frames…").arg(images.size()));
    auto *watcher = new QFutureWatcher<ditstudio::Result<ditstudio::VideoInfo>>(this);
    connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher, path] {
        const auto result = watcher->result();
        watcher->deleteLater();
        if (!result.ok()) {
            showError(tr("Export film with overlay"), QString::fromStdString(result.error().message));
            return;
        }
        statusBar()->showMessage(
            tr("Wrote %1 (%2 frames)").arg(QDir::toNativeSeparators(path)).arg(result->frameCount),
            kStatusTimeoutMs);
    });
    const std::string target = path.toStdString();
    watcher->setFuture(QtConcurrent::run([api, target, images = std::move(images)] {
        ditstudio::VideoWriterOptions options;
        if (auto codec = ditstudio::videoCodecForPath(target); codec.ok())
            options.codec = *codec;
        options.fps = 8;
        options.overwrite = true; // the file dialog asked before replacing
        return api->writeVideo(target, images, options);
    }));
}

QString MainWindow::autoSave(const QImage &image, const GenerationSettings &settings,
                             const QString &conditioning)
{
    const QDateTime now = QDateTime::currentDateTime();
    const QDir dir(QDir(outputsFolder()).filePath(now.toString(QStringLiteral("yyyy-MM-dd"))));
    if (!QDir().mkpath(dir.path())) {
        ditstudio::logWarn("auto-save: cannot create " + dir.path().toStdString());
        return {};
    }
    const QString stem = safeFileStem(QStringLiteral("%1-%2").arg(conditioning).arg(settings.seed));
    const auto chunks = pngTextChunks(settings, conditioning, image.size());
    const ditstudio::Image pixels = toDitImage(image);
    // Never overwrite: the same class and seed twice a day gets "-2", "-3", ...
    for (int n = 1; n < 1000; ++n) {
        const QString path = dir.filePath(n == 1 ? stem + QStringLiteral(".png")
                                                 : QStringLiteral("%1-%2.png").arg(stem).arg(n));
        if (QFileInfo::exists(path))
            continue;
        const auto written = EngineModule::writePng(path.toStdString(), pixels, chunks, /*overwrite=*/false);
        if (written.ok())
            return path;
        ditstudio::logWarn("auto-save: " + written.error().message);
        return {};
    }
    return {};
}

qint64 MainWindow::recordResult(const QImage &image, quint64 seed, double seconds, int steps,
                                const QString &conditioning)
{
    return recordEntry(image, m_jobSettings.forImage(seed), conditioning, seconds, steps);
}

qint64 MainWindow::recordEntry(const QImage &image, const GenerationSettings &settings,
                               const QString &conditioning, double seconds, int steps)
{
    HistoryEntry entry;
    entry.createdAt = QDateTime::currentDateTimeUtc();
    entry.settings = settings;
    entry.conditioning = conditioning;
    entry.imageSize = image.size();
    entry.seconds = seconds;
    entry.steps = steps;
    entry.thumbnailPng = HistoryStore::makeThumbnail(image);
    if (m_autoSaveAction->isChecked())
        entry.imagePath = autoSave(image, entry.settings, conditioning);
    entry.id = m_history->add(entry);
    if (entry.id == 0)
        ditstudio::logWarn(m_history->errorString().toStdString());
    else
        m_historyPanel->addEntry(entry);
    return entry.id;
}

void MainWindow::showHistoryEntry(const HistoryEntry &entry)
{
    if (m_controller->isBusy()) {
        // The running job owns the preview; the image shows when asked again after it.
        statusBar()->showMessage(tr("A run is in progress: open the history image when it has finished"),
                                 kStatusTimeoutMs);
        return;
    }
    const QImage image = HistoryPanel::imageOf(entry);
    const GenerationSettings &s = entry.settings;
    m_preview->showStill(
        image, tr("%1 · seed %2 (history)").arg(entry.conditioning).arg(s.seed),
        tr("finished image · %1 steps %2 · CFG %3").arg(entry.steps).arg(s.sampler).arg(s.cfgScale));
    // The bar describes what is shown, not the last run.
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progress->setFormat(tr("Showing a history image"));
}

// ---- settings in and out ----

void MainWindow::applySettings(const GenerationSettings &s)
{
    m_applyingSettings = true;
    m_generatePanel->applySettings(s);
    m_applyingSettings = false;

    // The model: load it when it is another one and can be found.
    const bool has = m_controller->hasModel();
    const ModelSummary &current = m_controller->model();
    if (s.embeddedDefault) {
        if (!has || !current.embeddedDefault)
            openDefaultModel();
        return;
    }
    m_vaePath->setText(s.vaePath);
    if (has && (current.path == s.modelPath || (!s.modelHash.isEmpty() && current.weightHash == s.modelHash)))
        return;
    if (!s.modelPath.isEmpty() && QFileInfo::exists(s.modelPath) && QFileInfo(s.modelPath).isAbsolute()) {
        openModel(s.modelPath);
        return;
    }
    if (has && QFileInfo(s.modelPath).fileName() == current.fileName)
        return; // A1111-style text names only the file: the loaded one has that name
    statusBar()->showMessage(
        tr("The model %1 was not found; keeping %2")
            .arg(QDir::toNativeSeparators(s.modelPath), has ? current.fileName : tr("none")),
        kStatusTimeoutMs * 2);
}

bool MainWindow::openImageFile(const QString &path)
{
    // Qt reads the PNG's text chunks (tEXt, zTXt, iTXt) itself: opening an image never waits for
    // the engine module, which may still be loading right after launch.
    QImageReader reader(path);
    if (!reader.canRead()) {
        showError(tr("Could not read the image"),
                  tr("%1: %2").arg(QDir::toNativeSeparators(path), reader.errorString()));
        return false;
    }
    std::vector<std::pair<std::string, std::string>> text;
    for (const QString &key : reader.textKeys())
        text.emplace_back(key.toStdString(), reader.text(key).toStdString());
    QString error;
    const auto settings = settingsFromPngText(text, &error);
    if (!settings) {
        showError(tr("No settings in this image"),
                  QStringLiteral("%1: %2").arg(QDir::toNativeSeparators(path), error));
        return false;
    }
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
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open image and restore its settings"),
        QSettings()
            .value(kKeySaveDir, QDir(HistoryStore::dataDirectory()).filePath(QStringLiteral("outputs")))
            .toString(),
        tr("PNG images (*.png)"));
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
    else if (isModelPath(info) && !m_controller->isBusy())
        openModel(info.absoluteFilePath());
    else
        statusBar()->showMessage(tr("Drop a PNG made by DiT Studio (restores its settings) or a checkpoint"),
                                 kStatusTimeoutMs);
    event->acceptProposedAction();
}

// ---- files and dialogs ----

void MainWindow::saveImage()
{
    if (m_result.isNull())
        return;
    QSettings settings;
    QString dir = settings.value(kKeySaveDir).toString();
    if (dir.isEmpty() || !QFileInfo(dir).isDir())
        dir = QStandardPaths::writableLocation(QStandardPaths::PicturesLocation);
    const QString stem
        = safeFileStem(QStringLiteral("%1-%2").arg(m_resultConditioning).arg(m_resultSettings.seed));

    // QFileDialog asks before replacing an existing file (also after it appended ".png").
    QFileDialog dialog(this, tr("Save image"), QDir(dir).filePath(stem + QStringLiteral(".png")),
                       tr("PNG images (*.png)"));
    dialog.setAcceptMode(QFileDialog::AcceptSave);
    dialog.setDefaultSuffix(QStringLiteral("png"));
    if (dialog.exec() != QDialog::Accepted || dialog.selectedFiles().isEmpty())
        return;
    const QString path = dialog.selectedFiles().constFirst();
    if (saveImageTo(path, /*overwrite=*/true)) // the dialog asked before replacing a file
        settings.setValue(kKeySaveDir, QFileInfo(path).absolutePath());
}

bool MainWindow::saveImageTo(const QString &path, bool overwrite)
{
    if (m_result.isNull())
        return false;
    const auto chunks = pngTextChunks(m_resultSettings, m_resultConditioning, m_result.size());
    const auto written = EngineModule::writePng(path.toStdString(), toDitImage(m_result), chunks, overwrite);
    if (!written.ok()) {
        showError(tr("Could not save the image"), QString::fromStdString(written.error().message));
        return false;
    }
    // Without an auto-saved copy, the history entry points at the file the user chose.
    if (m_resultHistoryId != 0)
        if (auto e = m_history->entry(m_resultHistoryId);
            e && (e->imagePath.isEmpty() || !QFileInfo::exists(e->imagePath)))
            m_history->setImagePath(m_resultHistoryId, QFileInfo(path).absoluteFilePath());
    statusBar()->showMessage(tr("Saved %1").arg(QDir::toNativeSeparators(path)), kStatusTimeoutMs);
    return true;
}

QString MainWindow::outputsFolder() const
{
    return m_prefs.outputFolder.isEmpty() ? Preferences::defaultOutputFolder() : m_prefs.outputFolder;
}

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
    const QImage start = image.isNull() ? m_result : image;
    if (!start.isNull())
        dialog.setImage(start); // starts from the current image; Open… picks another
    // A finished edit goes into the history like a generated image.
    connect(&dialog, &EditDialog::finishedEdit, this, [this, &dialog](bool ok) {
        if (!ok || dialog.afterImage().isNull())
            return;
        const QString what = tr("%1 (%2)").arg(dialog.resultConditioning(), dialog.resultDescription());
        const qint64 id = recordEntry(dialog.afterImage(), dialog.resultSettings(), what, 0.0,
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
    if (m_lastBatch.isEmpty()) {
        statusBar()->showMessage(tr("No batch yet: generate with Images set to 2 or more"), kStatusTimeoutMs);
        return;
    }
    showGrid(m_lastBatch, m_jobSettings.prompt);
}

void MainWindow::showPreferences()
{
    QStringList devices;
    for (int i = 0; i < m_device->count(); ++i)
        devices << m_device->itemData(i).toString();
    Preferences current = m_prefs;
    current.autoSave = m_autoSaveAction->isChecked();
    current.device = m_device->currentData().toString();
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
    m_autoSaveAction->setChecked(prefs.autoSave);
    m_autoSaveAction->setToolTip(tr("Write every generated image (with its settings) to %1")
                                     .arg(QDir::toNativeSeparators(outputsFolder())));
    if (const int device = m_device->findData(prefs.device); device >= 0)
        m_device->setCurrentIndex(device); // used by the next load
    if (threadsChanged && EngineModule::isFinished())
        EngineModule::setComputeThreads(prefs.threads);
}

void MainWindow::showShortcuts()
{
    // Every menu action that has a shortcut, plus the keys of the image views.
    auto *table = new QTableWidget(0, 2);
    table->setObjectName(QStringLiteral("shortcutsTable"));
    table->setHorizontalHeaderLabels({tr("Action"), tr("Keys")});
    table->verticalHeader()->hide();
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->setSelectionBehavior(QAbstractItemView::SelectRows);
    auto add = [table](const QString &what, const QString &keys) {
        const int row = table->rowCount();
        table->insertRow(row);
        table->setItem(row, 0, new QTableWidgetItem(what));
        table->setItem(row, 1, new QTableWidgetItem(keys));
    };
    for (QAction *menuAction : menuBar()->actions()) {
        QMenu *menu = menuAction->menu();
        if (!menu)
            continue;
        const QString menuName = menuAction->text().remove(QLatin1Char('&'));
        for (QAction *a : menu->actions()) {
            if (a->isSeparator() || a->shortcuts().isEmpty())
                continue;
            QStringList keys;
            for (const QKeySequence &k : a->shortcuts())
                keys << k.toString(QKeySequence::NativeText);
            add(menuName + QStringLiteral(" → ") + a->text().remove(QLatin1Char('&')),
                keys.join(QStringLiteral(", ")));
        }
    }
    add(tr("Image view: zoom in / out"), tr("Mouse wheel, + / -"));
    add(tr("Image view: pan"), tr("Drag"));
    add(tr("Image view: fit / 100% / pixel-exact"), tr("Double click or 0, 1, P"));
    add(tr("History: copy the selected image"),
        QKeySequence(QKeySequence::Copy).toString(QKeySequence::NativeText));
    add(tr("History: select two or more"), tr("Ctrl+click, Shift+click"));
    add(tr("Inside: move the probed patch"), tr("Arrow keys"));
    table->resizeColumnsToContents();
    table->horizontalHeader()->setStretchLastSection(true);
    QDialog dialog(this);
    dialog.setObjectName(QStringLiteral("shortcutsDialog"));
    dialog.setWindowTitle(tr("Keyboard shortcuts"));
    auto *layout = new QVBoxLayout(&dialog);
    table->setParent(&dialog);
    layout->addWidget(table);
    auto *close = new QPushButton(tr("Close"), &dialog);
    connect(close, &QPushButton::clicked, &dialog, &QDialog::accept);
    layout->addWidget(close, 0, Qt::AlignRight);
    dialog.resize(560, 520);
    dialog.exec();
}

void MainWindow::showAbout()
{
    const std::vector<std::string> extra
        = {std::string("Qt: ") + qVersion() + " (built with " QT_VERSION_STR ")",
           "History: " + m_history->databasePath().toStdString()};
    // In the first second after launch the engine may still be loading: say so rather than wait.
    std::string info;
    if (EngineModule::isFinished()) {
        info = EngineModule::runtimeInfoText(extra);
    } else {
        info = "DiT Studio " + std::string(ditstudio::appVersion())
            + "\nThe engine (LibTorch, OpenCV, FFmpeg) is still loading; its versions show here once it is "
              "in.\n";
        for (const auto &line : extra)
            info += line + "\n";
    }
    QMessageBox::about(this, tr("About DiT Studio"),
                       tr("<h3>DiT Studio</h3><p>A desktop studio for Diffusion Transformers "
                          "(Peebles &amp; Xie 2023).</p><pre>%1</pre>")
                           .arg(QString::fromStdString(info).toHtmlEscaped()));
}

void MainWindow::showError(const QString &title, const QString &message)
{
    ditstudio::logError((title + QStringLiteral(": ") + message).toStdString());
    // Window-modal but not blocking: no nested event loop while worker signals keep arriving.
    // The title is repeated in the text: some window managers (and none at all) show no title.
    // One rich-text label (not informativeText, which wraps into a narrow column) keeps the box wide
    // enough for the backend's messages, which carry file paths.
    const QString html = QStringLiteral("<p><b>%1</b></p><p>%2</p>")
                             .arg(title.toHtmlEscaped(),
                                  message.toHtmlEscaped().replace(QLatin1Char('\n'), QStringLiteral("<br>")));
    auto *box = new QMessageBox(QMessageBox::Warning, title, html, QMessageBox::Ok, this);
    box->setTextFormat(Qt::RichText);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setObjectName(QStringLiteral("errorBox"));
    // Room for a path per line; only the text label (Qt names it qt_msgbox_label), not the icon.
    box->setStyleSheet(QStringLiteral("QLabel#qt_msgbox_label { min-width: 520px; }"));
    box->open();
}
