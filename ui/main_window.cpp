#include "main_window.h"

#include "generation_controller.h"
#include "image_conversion.h"
#include "image_view.h"

#include "ditstudio/engine.h"
#include "ditstudio/runtime.h"

#include <QAction>
#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QCompleter>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QKeySequence>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSettings>
#include <QSpinBox>
#include <QStandardPaths>
#include <QStatusBar>
#include <QStringListModel>
#include <QVBoxLayout>

#include <limits>

namespace {

constexpr int kMaxSeed = std::numeric_limits<int>::max();
constexpr int kStatusTimeoutMs = 8000;

// Settings keys.
const QString kKeySteps = QStringLiteral("generation/steps");
const QString kKeyCfg = QStringLiteral("generation/cfgScale");
const QString kKeySampler = QStringLiteral("generation/sampler");
const QString kKeySeed = QStringLiteral("generation/seed");
const QString kKeyRandomSeed = QStringLiteral("generation/randomSeed");
const QString kKeyPrompt = QStringLiteral("generation/prompt");
const QString kKeyModelPath = QStringLiteral("model/lastPath");
const QString kKeySaveDir = QStringLiteral("files/lastSaveDir");
const QString kKeyGeometry = QStringLiteral("window/geometry");

QString formatSeconds(double seconds)
{
    if (seconds < 60)
        return QStringLiteral("%1 s").arg(seconds, 0, 'f', 1);
    const int total = static_cast<int>(seconds + 0.5);
    return QStringLiteral("%1:%2").arg(total / 60).arg(total % 60, 2, 10, QLatin1Char('0'));
}

QLabel *makeCaption(const QString &html, QWidget *parent)
{
    auto *label = new QLabel(html, parent);
    label->setTextFormat(Qt::RichText);
    label->setAlignment(Qt::AlignHCenter);
    return label;
}

} // namespace

MainWindow::MainWindow(QWidget *parent)
    : QMainWindow(parent)
    , m_controller(std::make_unique<GenerationController>())
{
    setWindowTitle(tr("DiT Studio"));
    buildUi();
    m_prompt->setFocus();
    buildMenus();
    readSettings();

    GenerationController *c = m_controller.get();
    connect(c, &GenerationController::modelLoaded, this, &MainWindow::onModelLoaded);
    connect(c, &GenerationController::loadFailed, this, &MainWindow::onLoadFailed);
    connect(c, &GenerationController::stepFinished, this, &MainWindow::onStepFinished);
    connect(c, &GenerationController::previewReady, this, &MainWindow::onPreviewReady);
    connect(c, &GenerationController::finished, this, &MainWindow::onFinished);
    connect(c, &GenerationController::stateChanged, this, &MainWindow::updateActions);
    updateActions();
}

MainWindow::~MainWindow() = default;

void MainWindow::buildUi()
{
    auto *central = new QWidget(this);
    auto *layout = new QVBoxLayout(central);
    layout->setContentsMargins(12, 12, 12, 8);
    layout->setSpacing(10);

    // Row 1: prompt and the two job buttons.
    auto *promptRow = new QHBoxLayout;
    auto *promptLabel = new QLabel(tr("&Prompt"), central);
    m_prompt = new QLineEdit(central);
    m_prompt->setObjectName(QStringLiteral("prompt"));
    m_prompt->setPlaceholderText(tr("a class name (e.g. sneaker), #3, or a mix: 0.7 coat + 0.3 dress"));
    m_prompt->setClearButtonEnabled(true);
    promptLabel->setBuddy(m_prompt);
    m_completionModel = new QStringListModel(this);
    m_completer = new QCompleter(m_completionModel, this);
    m_completer->setCaseSensitivity(Qt::CaseInsensitive);
    m_completer->setFilterMode(Qt::MatchContains);
    m_completer->setMaxVisibleItems(12);
    m_prompt->setCompleter(m_completer);
    m_generateButton = new QPushButton(tr("Generate"), central);
    m_generateButton->setObjectName(QStringLiteral("generateButton"));
    m_generateButton->setDefault(true);
    m_generateButton->setToolTip(tr("Generate (Ctrl+Return)"));
    m_cancelButton = new QPushButton(tr("Cancel"), central);
    m_cancelButton->setObjectName(QStringLiteral("cancelButton"));
    m_cancelButton->setToolTip(tr("Cancel (Esc)"));
    promptRow->addWidget(promptLabel);
    promptRow->addWidget(m_prompt, 1);
    promptRow->addWidget(m_generateButton);
    promptRow->addWidget(m_cancelButton);
    layout->addLayout(promptRow);

    // Row 2: sampling parameters.
    auto *paramRow = new QHBoxLayout;
    paramRow->setSpacing(6);
    auto addLabeled = [&](const QString &text, QWidget *field) {
        auto *label = new QLabel(text, central);
        label->setBuddy(field);
        paramRow->addWidget(label);
        paramRow->addWidget(field);
        paramRow->addSpacing(14);
    };
    m_guidance = new QDoubleSpinBox(central);
    m_guidance->setObjectName(QStringLiteral("guidance"));
    m_guidance->setRange(0.0, 20.0);
    m_guidance->setSingleStep(0.5);
    m_guidance->setDecimals(2);
    m_guidance->setValue(4.0);
    m_guidance->setToolTip(tr("Classifier-free guidance scale (1 = no guidance)"));
    addLabeled(tr("&Guidance"), m_guidance);
    m_steps = new QSpinBox(central);
    m_steps->setObjectName(QStringLiteral("steps"));
    m_steps->setRange(1, 1000);
    m_steps->setValue(50);
    m_steps->setToolTip(tr("Number of sampling steps"));
    addLabeled(tr("S&teps"), m_steps);
    m_sampler = new QComboBox(central);
    m_sampler->setObjectName(QStringLiteral("sampler"));
    for (const auto &name : ditstudio::samplerNames())
        m_sampler->addItem(QString::fromStdString(name));
    addLabeled(tr("Sa&mpler"), m_sampler);
    m_seed = new QSpinBox(central);
    m_seed->setObjectName(QStringLiteral("seed"));
    m_seed->setRange(0, kMaxSeed);
    m_seed->setMinimumWidth(110);
    auto *seedLabel = new QLabel(tr("S&eed"), central);
    seedLabel->setBuddy(m_seed);
    m_randomSeed = new QCheckBox(tr("random"), central);
    m_randomSeed->setObjectName(QStringLiteral("randomSeed"));
    m_randomSeed->setToolTip(tr("Draw a new seed for every generation (the seed used is shown)"));
    paramRow->addWidget(seedLabel);
    paramRow->addWidget(m_seed);
    paramRow->addWidget(m_randomSeed);
    paramRow->addStretch(1);
    layout->addLayout(paramRow);
    connect(m_randomSeed, &QCheckBox::toggled, m_seed, [this](bool random) { m_seed->setEnabled(!random); });

    // Row 3: the two previews side by side.
    auto *previewRow = new QHBoxLayout;
    previewRow->setSpacing(12);
    auto addPreview = [&](QLabel *&caption, ImageView *&view, const QString &html, const QString &name) {
        auto *column = new QVBoxLayout;
        column->setSpacing(4);
        caption = makeCaption(html, central);
        view = new ImageView(central);
        view->setObjectName(name);
        column->addWidget(caption);
        column->addWidget(view, 1);
        previewRow->addLayout(column, 1);
    };
    addPreview(m_xtCaption, m_xtView, tr("<b>x<sub>t</sub></b> — current sample"), QStringLiteral("xtView"));
    addPreview(m_x0Caption, m_x0View, tr("<b>x̂<sub>0</sub></b> — predicted clean image"),
               QStringLiteral("x0View"));
    layout->addLayout(previewRow, 1);

    // Row 4: progress.
    m_progress = new QProgressBar(central);
    m_progress->setObjectName(QStringLiteral("progress"));
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progress->setTextVisible(true);
    m_progress->setAlignment(Qt::AlignCenter);
    m_progress->setFormat(tr("Idle"));
    layout->addWidget(m_progress);

    setCentralWidget(central);

    m_modelLabel = new QLabel(tr("No model loaded — open a checkpoint"), this);
    m_modelLabel->setObjectName(QStringLiteral("modelLabel"));
    statusBar()->addPermanentWidget(m_modelLabel);

    setTabOrder(m_prompt, m_generateButton);
    setTabOrder(m_generateButton, m_cancelButton);
    setTabOrder(m_cancelButton, m_guidance);
    setTabOrder(m_guidance, m_steps);
    setTabOrder(m_steps, m_sampler);
    setTabOrder(m_sampler, m_seed);
    setTabOrder(m_seed, m_randomSeed);
}

void MainWindow::buildMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    m_openModelAction = file->addAction(tr("&Open model…"), this, &MainWindow::openModelDialog);
    m_openModelAction->setShortcut(QKeySequence::Open);
    m_openModelAction->setObjectName(QStringLiteral("openModelAction"));
    m_openFolderAction = file->addAction(tr("Open &diffusers folder…"), this, &MainWindow::openDiffusersDialog);
    file->addSeparator();
    m_saveAction = file->addAction(tr("&Save image…"), this, &MainWindow::saveImage);
    m_saveAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_S));
    m_saveAction->setObjectName(QStringLiteral("saveAction"));
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Q));
    quit->setMenuRole(QAction::QuitRole);

    QMenu *generation = menuBar()->addMenu(tr("&Generation"));
    m_generateAction = generation->addAction(tr("&Generate"), this, [this] { startGeneration(); });
    m_generateAction->setShortcuts({QKeySequence(Qt::CTRL | Qt::Key_Return), QKeySequence(Qt::CTRL | Qt::Key_Enter)});
    m_cancelAction = generation->addAction(tr("&Cancel"), this, &MainWindow::cancelGeneration);
    m_cancelAction->setShortcut(QKeySequence(Qt::Key_Escape));
    connect(m_generateButton, &QPushButton::clicked, m_generateAction, &QAction::trigger);
    connect(m_cancelButton, &QPushButton::clicked, m_cancelAction, &QAction::trigger);

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    QAction *about = help->addAction(tr("&About DiT Studio"), this, &MainWindow::showAbout);
    about->setMenuRole(QAction::AboutRole);
}

void MainWindow::readSettings()
{
    QSettings s;
    m_steps->setValue(s.value(kKeySteps, 50).toInt());
    m_guidance->setValue(s.value(kKeyCfg, 4.0).toDouble());
    const int sampler = m_sampler->findText(s.value(kKeySampler, QStringLiteral("ddpm")).toString());
    m_sampler->setCurrentIndex(sampler >= 0 ? sampler : 0);
    m_seed->setValue(s.value(kKeySeed, 0).toInt());
    m_randomSeed->setChecked(s.value(kKeyRandomSeed, true).toBool());
    m_seed->setEnabled(!m_randomSeed->isChecked());
    m_prompt->setText(s.value(kKeyPrompt).toString());
    if (!restoreGeometry(s.value(kKeyGeometry).toByteArray()))
        resize(980, 700);
}

void MainWindow::writeSettings() const
{
    QSettings s;
    s.setValue(kKeySteps, m_steps->value());
    s.setValue(kKeyCfg, m_guidance->value());
    s.setValue(kKeySampler, m_sampler->currentText());
    s.setValue(kKeySeed, m_seed->value());
    s.setValue(kKeyRandomSeed, m_randomSeed->isChecked());
    s.setValue(kKeyPrompt, m_prompt->text());
    s.setValue(kKeyGeometry, saveGeometry());
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
    // order (the guidance box); the prompt is where the user continues.
    if (!ready && focusWidget() == m_generateButton)
        m_prompt->setFocus();
    m_generateAction->setEnabled(ready);
    m_generateButton->setEnabled(ready);
    m_cancelAction->setEnabled(busy);
    m_cancelButton->setEnabled(busy);
    m_openModelAction->setEnabled(!busy);
    m_openFolderAction->setEnabled(!busy);
    m_saveAction->setEnabled(!m_result.isNull());
}

// ---- model loading ----

void MainWindow::loadInitialModel()
{
    const QString last = QSettings().value(kKeyModelPath).toString();
    const bool haveDefault = !ditstudio::defaultModelPath().empty();
    if (!last.isEmpty() && QFileInfo::exists(last)) {
        m_fallBackToDefault = haveDefault;
        openModel(last);
    } else if (haveDefault) {
        statusBar()->showMessage(tr("Loading the default model…"));
        m_controller->loadDefaultModel();
    } else {
        m_modelLabel->setText(tr("No model loaded — open a checkpoint"));
        statusBar()->showMessage(tr("File → Open model… (Ctrl+O) loads a DiT checkpoint or a diffusers folder"));
    }
}

void MainWindow::openModel(const QString &pathIn)
{
    // Absolute, so that the path remembered in the settings works from any working directory.
    const QString path = QFileInfo(pathIn).absoluteFilePath();
    statusBar()->showMessage(tr("Loading %1…").arg(QFileInfo(path).fileName()));
    m_controller->loadModel(path);
}

void MainWindow::onModelLoaded(const ModelSummary &model)
{
    m_fallBackToDefault = false;
    m_modelLabel->setText(model.displayText());
    m_modelLabel->setToolTip(tr("%1\n%2, %3 parameters").arg(model.path, model.format).arg(model.parameterCount));
    setWindowTitle(tr("%1 — DiT Studio").arg(model.fileName));
    statusBar()->showMessage(tr("Loaded %1").arg(model.fileName), kStatusTimeoutMs);
    // Completion: the class names, or "#0".."#N-1" for checkpoints that carry none.
    QStringList completions = model.classNames;
    if (completions.isEmpty())
        for (int i = 0; i < model.numClasses; ++i)
            completions << QStringLiteral("#%1").arg(i);
    m_completionModel->setStringList(completions);
    QSettings().setValue(kKeyModelPath, model.path);
    updateActions();
}

void MainWindow::onLoadFailed(const QString &message)
{
    statusBar()->showMessage(tr("Loading failed"), kStatusTimeoutMs);
    if (!m_controller->hasModel())
        m_modelLabel->setText(tr("No model loaded — open a checkpoint"));
    showError(tr("Could not load the model"), message); // the backend's message names the file
    if (m_fallBackToDefault) {
        m_fallBackToDefault = false;
        m_controller->loadDefaultModel();
    }
    updateActions();
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
    const QString path = QFileDialog::getExistingDirectory(this, tr("Open diffusers folder"), modelDialogDir());
    if (!path.isEmpty())
        openModel(path);
}

QString MainWindow::modelDialogDir() const
{
    const QString last = QSettings().value(kKeyModelPath).toString();
    // The folder holding the last model (for a diffusers folder: its parent, to pick a sibling).
    return last.isEmpty() ? QDir::homePath() : QFileInfo(last).absolutePath();
}

// ---- generation ----

bool MainWindow::startGeneration()
{
    if (!m_controller->hasModel() || m_controller->isBusy() || m_controller->isLoading())
        return false;
    const QString prompt = m_prompt->text().trimmed();
    if (prompt.isEmpty()) {
        statusBar()->showMessage(tr("Type a class name first (e.g. one the completer offers, or #3)"),
                                 kStatusTimeoutMs);
        m_prompt->setFocus();
        return false;
    }
    if (m_randomSeed->isChecked())
        m_seed->setValue(static_cast<int>(QRandomGenerator::global()->bounded(kMaxSeed)));

    ditstudio::GenerateRequest request;
    request.prompt = prompt.toStdString();
    request.steps = m_steps->value();
    request.cfgScale = m_guidance->value();
    if (!ditstudio::parseSampler(m_sampler->currentText().toStdString(), request.sampler))
        request.sampler = ditstudio::SamplerKind::Ddpm;
    request.seed = static_cast<std::uint64_t>(m_seed->value());
    request.batch = 1;
    request.wantPreviews = true;

    if (m_controller->generate(request) == 0)
        return false;
    writeSettings();
    m_progress->setRange(0, request.steps);
    m_progress->setValue(0);
    m_progress->setFormat(tr("Starting…"));
    statusBar()->showMessage(tr("Generating “%1”…").arg(prompt));
    updateActions();
    return true;
}

void MainWindow::cancelGeneration()
{
    if (!m_controller->isBusy())
        return;
    m_controller->cancel();
    m_progress->setFormat(tr("Cancelling…"));
}

void MainWindow::onStepFinished(int step, int total, double timestep, double elapsedSeconds)
{
    if (total > 0 && m_progress->maximum() != total)
        m_progress->setRange(0, total);
    m_progress->setValue(step);
    const double eta = step > 0 ? elapsedSeconds / step * (total - step) : 0.0;
    m_progress->setFormat(tr("step %1/%2 · t=%3 · %4 elapsed · ETA %5")
                              .arg(step)
                              .arg(total)
                              .arg(QString::number(timestep, 'g', 4), formatSeconds(elapsedSeconds),
                                   formatSeconds(eta)));
}

void MainWindow::onPreviewReady(const QImage &xt, const QImage &x0, int)
{
    m_xtView->setImage(xt);
    m_x0View->setImage(x0);
}

void MainWindow::onFinished(const GenerationOutcome &outcome)
{
    using Status = GenerationOutcome::Status;
    switch (outcome.status) {
    case Status::Completed: {
        if (!outcome.images.isEmpty()) {
            m_result = outcome.images.front();
            m_resultParameters = outcome.parameters;
            m_resultName = QStringLiteral("%1-%2").arg(outcome.conditioning).arg(outcome.seed);
            m_xtView->setImage(m_result);
        }
        m_progress->setValue(m_progress->maximum());
        m_progress->setFormat(tr("Done: %1 steps in %2").arg(outcome.stepsDone).arg(formatSeconds(outcome.seconds)));
        QString message = tr("Generated “%1” (seed %2) in %3")
                              .arg(outcome.conditioning)
                              .arg(outcome.seed)
                              .arg(formatSeconds(outcome.seconds));
        if (!outcome.warnings.isEmpty())
            message += QStringLiteral(" — ") + outcome.warnings.join(QStringLiteral("; "));
        statusBar()->showMessage(message);
        break;
    }
    case Status::Cancelled:
        m_progress->setFormat(tr("Cancelled after %1 of %2 steps").arg(outcome.stepsDone).arg(m_progress->maximum()));
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

// ---- files and dialogs ----

void MainWindow::saveImage()
{
    if (m_result.isNull())
        return;
    QSettings settings;
    QString dir = settings.value(kKeySaveDir).toString();
    if (dir.isEmpty() || !QFileInfo(dir).isDir())
        dir = QStandardPaths::writableLocation(QStandardPaths::PicturesLocation);
    QString stem = m_resultName;
    stem.replace(QRegularExpression(QStringLiteral("[^A-Za-z0-9._+-]+")), QStringLiteral("_"));
    if (stem.isEmpty())
        stem = QStringLiteral("ditstudio");

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
    std::vector<std::pair<std::string, std::string>> chunks;
    chunks.emplace_back("parameters", m_resultParameters.toStdString());
    chunks.emplace_back("Software", "DiT Studio " + ditstudio::runtimeInfo().appVersion);
    const auto written = ditstudio::writePng(path.toStdString(), toDitImage(m_result), chunks, overwrite);
    if (!written.ok()) {
        showError(tr("Could not save the image"), QString::fromStdString(written.error().message));
        return false;
    }
    statusBar()->showMessage(tr("Saved %1").arg(QDir::toNativeSeparators(path)), kStatusTimeoutMs);
    return true;
}

void MainWindow::showAbout()
{
    const std::string info = ditstudio::runtimeInfoText(
        {std::string("Qt: ") + qVersion() + " (built with " QT_VERSION_STR ")"});
    QMessageBox::about(this, tr("About DiT Studio"),
                       tr("<h3>DiT Studio</h3><p>A desktop studio for Diffusion Transformers "
                          "(Peebles &amp; Xie 2023).</p><pre>%1</pre>")
                           .arg(QString::fromStdString(info).toHtmlEscaped()));
}

void MainWindow::showError(const QString &title, const QString &message)
{
    // Window-modal but not blocking: no nested event loop while worker signals keep arriving.
    // The title is repeated in the text: some window managers (and none at all) show no title.
    // One rich-text label (not informativeText, which wraps into a narrow column) keeps the box wide
    // enough for the backend's messages, which carry file paths.
    const QString html = QStringLiteral("<p><b>%1</b></p><p>%2</p>")
                             .arg(title.toHtmlEscaped(), message.toHtmlEscaped().replace(QLatin1Char('\n'),
                                                                                         QStringLiteral("<br>")));
    auto *box = new QMessageBox(QMessageBox::Warning, title, html, QMessageBox::Ok, this);
    box->setTextFormat(Qt::RichText);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setObjectName(QStringLiteral("errorBox"));
    box->open();
}
