#include "generate/model_switcher.h"

#include "engine/engine_module.h"
#include "engine/generation_controller.h"
#include "generate/generate_panel.h"
#include "widgets/error_box.h"

#include "ditstudio/engine.h"
#include "ditstudio/runtime.h"

#include <QAction>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QKeySequence>
#include <QLabel>
#include <QLineEdit>
#include <QSettings>
#include <QTimer>
#include <QToolButton>

namespace {

constexpr int kStatusTimeoutMs = 8000;
constexpr int kMaxRecentModels = 8;

// Model combo entries: what an item does when chosen.
enum class ModelItem { Default = 0, Path = 1, OpenFile = 2, OpenFolder = 3 };
constexpr int kModelKindRole = Qt::UserRole + 1;
constexpr int kModelPathRole = Qt::UserRole + 2;

// Settings keys.
const QString kKeyModelPath = QStringLiteral("model/lastPath");
const QString kKeyModelIsDefault = QStringLiteral("model/lastIsDefault");
const QString kKeyRecent = QStringLiteral("model/recent");
const QString kKeyDevice = QStringLiteral("model/device");

} // namespace

ModelSwitcher::ModelSwitcher(GenerationController *controller, GeneratePanel *panel, QWidget *window)
    : QObject(window), m_controller(controller), m_panel(panel), m_window(window),
      m_modelLabel(new QLabel(tr("No model loaded — open a checkpoint"), window)),
      m_openModelAction(new QAction(tr("&Open model…"), window)),
      m_openFolderAction(new QAction(tr("Open &diffusers folder…"), window)),
      m_defaultAction(new QAction(tr("Use the &embedded default model"), window))
{
    m_modelLabel->setObjectName(QStringLiteral("modelLabel"));
    m_openModelAction->setShortcut(QKeySequence::Open);
    m_openModelAction->setObjectName(QStringLiteral("openModelAction"));
    connect(m_openModelAction, &QAction::triggered, this, &ModelSwitcher::openModelDialog);
    connect(m_openFolderAction, &QAction::triggered, this, &ModelSwitcher::openDiffusersDialog);
    connect(m_defaultAction, &QAction::triggered, this, &ModelSwitcher::openDefaultModel);

    connect(controller, &GenerationController::modelLoaded, this, &ModelSwitcher::onModelLoaded);
    connect(controller, &GenerationController::loadFailed, this, &ModelSwitcher::onLoadFailed);
    connect(panel->modelCombo(), &QComboBox::activated, this, &ModelSwitcher::onModelComboActivated);
    connect(panel->vaeBrowse(), &QToolButton::clicked, this, &ModelSwitcher::chooseVae);
    QLineEdit *vae = panel->vaePath();
    connect(vae, &QLineEdit::editingFinished, this, [this, vae] {
        if (m_controller->hasModel() && vae->text().trimmed() != m_controller->model().vaePath)
            reloadWithPanelOptions();
    });
    // Clearing the field (its clear button, or deleting the text) takes the VAE off at once.
    connect(vae, &QLineEdit::textChanged, this, [this, vae](const QString &text) {
        if (text.isEmpty() && !m_applyingSettings && m_controller->hasModel()
            && !m_controller->model().vaePath.isEmpty())
            QTimer::singleShot(0, this, [this, vae] {
                if (vae->text().isEmpty())
                    reloadWithPanelOptions();
            });
    });
    connect(panel->device(), &QComboBox::activated, this, [this] { reloadWithPanelOptions(); });
    connect(panel->precision(), &QComboBox::activated, this, [this] { reloadWithPanelOptions(); });
    updateModelCombo();
}

void ModelSwitcher::updateActions()
{
    const bool busy = m_controller->isBusy();
    const bool loading = m_controller->isLoading();
    m_openModelAction->setEnabled(!busy);
    m_openFolderAction->setEnabled(!busy);
    m_panel->modelCombo()->setEnabled(!busy && !loading);
    m_panel->device()->setEnabled(!busy && !loading);
    m_panel->precision()->setEnabled(!busy && !loading);
    // A VAE only means something for latent-space models (or before the first model is in).
    const bool vaeApplies = !m_controller->hasModel() || m_controller->model().latentSpace;
    m_panel->vaePath()->setEnabled(vaeApplies && !busy && !loading);
    m_panel->vaeBrowse()->setEnabled(vaeApplies && !busy && !loading);
    m_panel->vaePath()->setToolTip(
        vaeApplies
            ? tr("Stable Diffusion VAE for latent-space models (file or folder); applied on the next load")
            : tr("The loaded model works in pixel space: it needs no VAE"));
    if (loading)
        m_modelLabel->setText(tr("Loading model…"));
    else if (m_controller->hasModel())
        m_modelLabel->setText(m_controller->model().displayText());
}

bool ModelSwitcher::isModelPath(const QFileInfo &info)
{
    static const QStringList suffixes {QStringLiteral("safetensors"), QStringLiteral("pt"),
                                       QStringLiteral("pth"), QStringLiteral("bin"), QStringLiteral("ckpt")};
    return info.isDir() || suffixes.contains(info.suffix().toLower());
}

ModelLoadSpec ModelSwitcher::loadSpec(const QString &path) const
{
    ModelLoadSpec spec;
    spec.path = path;
    // The embedded default model works in pixel space: a VAE (say, one saved by an older version)
    // must never stop it from loading.
    spec.vaePath = path.isEmpty() ? QString() : m_panel->vaePath()->text().trimmed();
    spec.device = m_panel->device()->currentData().toString();
    spec.precision = m_panel->precision()->currentData().toString();
    return spec;
}

void ModelSwitcher::loadInitialModel(const QString &path)
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

void ModelSwitcher::openModel(const QString &path)
{
    m_controller->loadModel(loadSpec(path));
    emit statusMessage(tr("Loading %1…").arg(QDir::toNativeSeparators(path)), 0);
}

void ModelSwitcher::openDefaultModel()
{
    m_controller->loadModel(loadSpec(QString()));
    emit statusMessage(tr("Loading the embedded default model…"), 0);
}

void ModelSwitcher::reloadWithPanelOptions()
{
    if (!m_controller->hasModel() || m_controller->isBusy())
        return;
    const ModelSummary &m = m_controller->model();
    if (m.embeddedDefault)
        openDefaultModel();
    else
        openModel(m.path);
}

void ModelSwitcher::addEngineDevices()
{
    // The engine module loads in the background at launch; the first load result (either way)
    // means it is in, so asking for CUDA devices no longer waits.
    if (m_engineDevicesListed)
        return;
    m_engineDevicesListed = true;
    QComboBox *device = m_panel->device();
    const int n = EngineModule::cudaDeviceCount();
    for (int i = 0; i < n; ++i) {
        const QString name = n == 1 ? QStringLiteral("cuda") : QStringLiteral("cuda:%1").arg(i);
        device->addItem(name, name);
    }
    // Apple's MPS where this LibTorch has it (macOS builds on Apple silicon).
    const bool mps = EngineModule::api() && EngineModule::api()->runtimeInfo().mpsAvailable;
    if (mps)
        device->addItem(QStringLiteral("mps"), QStringLiteral("mps"));
    device->setToolTip(n > 0 || mps ? tr("Compute device")
                                    : tr("Compute device (this build or machine has no CUDA)"));
    // A CUDA device chosen in an earlier session comes back once it exists.
    const QString saved = QSettings().value(kKeyDevice).toString();
    if ((n > 0 || mps) && device->currentData().toString() == QStringLiteral("auto")
        && device->findData(saved) > 1)
        device->setCurrentIndex(device->findData(saved));
}

void ModelSwitcher::onModelLoaded(const ModelSummary &model)
{
    addEngineDevices();
    m_fallBackToDefault = false;
    m_modelLabel->setText(model.displayText());
    m_modelLabel->setToolTip(tr("%1\n%2, %3 parameters, %4 %5\nweights %6")
                                 .arg(QDir::toNativeSeparators(model.path), model.format)
                                 .arg(model.parameterCount)
                                 .arg(model.device, model.precision, model.weightHash.left(19)));
    emit statusMessage(tr("Loaded %1 on %2").arg(model.fileName, model.device), kStatusTimeoutMs);
    QSettings s;
    s.setValue(kKeyModelPath, model.path);
    s.setValue(kKeyModelIsDefault, model.embeddedDefault);
    if (!model.embeddedDefault)
        rememberRecentModel(model.path);
    updateModelCombo();
    emit modelLoaded(model);
    if (m_startupPending) {
        m_startupPending = false;
        emit ready();
    }
}

void ModelSwitcher::onLoadFailed(const QString &message)
{
    addEngineDevices();
    emit statusMessage(tr("Loading failed"), kStatusTimeoutMs);
    if (!m_controller->hasModel())
        m_modelLabel->setText(tr("No model loaded — open a checkpoint"));
    showErrorBox(m_window, tr("Could not load the model"), message); // the backend's message names the file
    // The field shows what is loaded again: a refused VAE is neither kept nor saved.
    m_applyingSettings = true;
    m_panel->vaePath()->setText(m_controller->hasModel() ? m_controller->model().vaePath : QString());
    m_applyingSettings = false;
    if (m_fallBackToDefault) {
        m_fallBackToDefault = false;
        const QString note
            = tr("The saved model could not be loaded; using the embedded default model instead");
        ditstudio::logWarn(note.toStdString() + ": " + message.toStdString());
        openDefaultModel();
        emit statusMessage(note, 20000);
    } else if (m_startupPending) {
        m_startupPending = false;
        emit ready();
    }
    updateModelCombo();
    emit loadFailed();
}

void ModelSwitcher::rememberRecentModel(const QString &path)
{
    QSettings s;
    QStringList recent = s.value(kKeyRecent).toStringList();
    recent.removeAll(path);
    recent.prepend(path);
    while (recent.size() > kMaxRecentModels)
        recent.removeLast();
    s.setValue(kKeyRecent, recent);
}

void ModelSwitcher::updateModelCombo()
{
    QComboBox *combo = m_panel->modelCombo();
    const QSignalBlocker block(combo);
    combo->clear();
    const bool has = m_controller->hasModel();
    const ModelSummary &current = m_controller->model();
    combo->addItem(tr("Embedded default"));
    combo->setItemData(0, static_cast<int>(ModelItem::Default), kModelKindRole);
    combo->setItemData(0, tr("The DiT shipped with DiT Studio: 28×28 grayscale, 10 clothing classes"),
                       Qt::ToolTipRole);
    int currentIndex = has && current.embeddedDefault ? 0 : -1;
    QStringList recent = QSettings().value(kKeyRecent).toStringList();
    if (has && !current.embeddedDefault && !recent.contains(current.path))
        recent.prepend(current.path);
    for (const QString &path : recent) {
        const int i = combo->count();
        combo->addItem(QFileInfo(path).fileName());
        combo->setItemData(i, static_cast<int>(ModelItem::Path), kModelKindRole);
        combo->setItemData(i, path, kModelPathRole);
        combo->setItemData(i, QDir::toNativeSeparators(path), Qt::ToolTipRole);
        if (has && !current.embeddedDefault && path == current.path)
            currentIndex = i;
    }
    combo->insertSeparator(combo->count());
    combo->addItem(tr("Open checkpoint file…"));
    combo->setItemData(combo->count() - 1, static_cast<int>(ModelItem::OpenFile), kModelKindRole);
    combo->addItem(tr("Open diffusers folder…"));
    combo->setItemData(combo->count() - 1, static_cast<int>(ModelItem::OpenFolder), kModelKindRole);
    if (currentIndex < 0) {
        combo->insertItem(0, tr("(no model loaded)"));
        combo->setItemData(0, -1, kModelKindRole);
        currentIndex = 0;
    }
    combo->setCurrentIndex(currentIndex);
}

void ModelSwitcher::onModelComboActivated(int index)
{
    QComboBox *combo = m_panel->modelCombo();
    const int kind = combo->itemData(index, kModelKindRole).toInt();
    updateModelCombo(); // show the loaded model until another one has loaded
    switch (static_cast<ModelItem>(kind)) {
    case ModelItem::Default:
        openDefaultModel();
        break;
    case ModelItem::Path:
        openModel(combo->itemData(index, kModelPathRole).toString());
        break;
    case ModelItem::OpenFile:
        openModelDialog();
        break;
    case ModelItem::OpenFolder:
        openDiffusersDialog();
        break;
    }
}

void ModelSwitcher::openModelDialog()
{
    const QString path = QFileDialog::getOpenFileName(
        m_window, tr("Open model"), modelDialogDir(),
        tr("DiT checkpoints (*.safetensors *.pt *.pth *.bin *.ckpt);;All files (*)"));
    if (!path.isEmpty())
        openModel(path);
}

void ModelSwitcher::openDiffusersDialog()
{
    const QString path
        = QFileDialog::getExistingDirectory(m_window, tr("Open diffusers folder"), modelDialogDir());
    if (!path.isEmpty())
        openModel(path);
}

void ModelSwitcher::chooseVae()
{
    QLineEdit *vae = m_panel->vaePath();
    const QString start = vae->text().isEmpty() ? modelDialogDir() : QFileInfo(vae->text()).absolutePath();
    const QString path = QFileDialog::getOpenFileName(
        m_window, tr("Choose a VAE"), start, tr("VAE checkpoints (*.safetensors *.pt *.pth *.bin *.ckpt)"));
    if (path.isEmpty())
        return;
    vae->setText(path);
    reloadWithPanelOptions();
}

QString ModelSwitcher::modelDialogDir() const
{
    const QString last = QSettings().value(kKeyModelPath).toString();
    // The folder holding the last model (for a diffusers folder: its parent, to pick a sibling).
    return last.isEmpty() ? QDir::homePath() : QFileInfo(last).absolutePath();
}

void ModelSwitcher::applySettings(const GenerationSettings &s)
{
    m_applyingSettings = true;
    m_panel->applySettings(s);
    m_applyingSettings = false;

    // The model: load it when it is another one and can be found.
    const bool has = m_controller->hasModel();
    const ModelSummary &current = m_controller->model();
    if (s.embeddedDefault) {
        if (!has || !current.embeddedDefault)
            openDefaultModel();
        return;
    }
    m_panel->vaePath()->setText(s.vaePath);
    if (has && (current.path == s.modelPath || (!s.modelHash.isEmpty() && current.weightHash == s.modelHash)))
        return;
    if (!s.modelPath.isEmpty() && QFileInfo::exists(s.modelPath) && QFileInfo(s.modelPath).isAbsolute()) {
        openModel(s.modelPath);
        return;
    }
    if (has && QFileInfo(s.modelPath).fileName() == current.fileName)
        return; // A1111-style text names only the file: the loaded one has that name
    emit statusMessage(tr("The model %1 was not found; keeping %2")
                           .arg(QDir::toNativeSeparators(s.modelPath), has ? current.fileName : tr("none")),
                       kStatusTimeoutMs * 2);
}
