#pragma once
/// \file model_switcher.h
/// Which model is loaded and how it changes, as the window offers it: the Generate panel's model
/// chooser, VAE, device and precision, File's model actions, the start-up load and the status bar's
/// model label.
///
///     auto *models = new ModelSwitcher(controller, panel, window);
///     models->loadInitialModel(commandLinePath);   // -> ready() once it loaded or failed
///     models->applySettings(entry.settings);       // loads that model when it is another one

#include "engine/generation_types.h"
#include "generate/generation_settings.h"

#include <QList>
#include <QObject>
#include <QString>

class GeneratePanel;
class GenerationController;
class QAction;
class QFileInfo;
class QLabel;
class QWidget;

/// Owns the model chooser's entries (the embedded default, the recent checkpoints, Open…), the list
/// of recent models and the last model in QSettings, the load requests built from the panel's VAE,
/// device and precision (a change of those reloads the model), the engine's devices added once the
/// engine module is in, the start-up load's fall-back to the embedded default, the model label, and
/// the actions Open model…, Open diffusers folder… and Use the embedded default model. Load results
/// arrive from the controller; errors are shown over `window`.
class ModelSwitcher : public QObject {
    Q_OBJECT
public:
    ModelSwitcher(GenerationController *controller, GeneratePanel *panel, QWidget *window);

    /// The status bar's permanent label: what is loaded (objectName "modelLabel").
    QLabel *modelLabel() const { return m_modelLabel; }
    /// File menu: Open model…, Open diffusers folder…, Use the embedded default model.
    QList<QAction *> actions() const { return {m_openModelAction, m_openFolderAction, m_defaultAction}; }

    /// Start-up: load path, else the model used last time, else the embedded default model; a
    /// start-up load that fails falls back to the default. Emits ready() once that ended either way.
    void loadInitialModel(const QString &path);
    /// Load a checkpoint file or diffusers folder with the panel's VAE, device and precision.
    void openModel(const QString &path);
    /// Load the embedded default model with the panel's device and precision.
    void openDefaultModel();
    /// Put settings into the Generate panel and load their model when it is another one and can be
    /// found (else the status bar says which one is kept).
    void applySettings(const GenerationSettings &settings);
    /// Enable the model fields and actions for the controller's state; the label says what loads.
    void updateActions();
    /// A checkpoint file (by its suffix) or a folder: something openModel() may take (drag and drop).
    static bool isModelPath(const QFileInfo &info);

signals:
    void statusMessage(const QString &text, int timeoutMs);
    /// A model loaded (after the chooser, label and recent list were updated).
    void modelLoaded(const ModelSummary &model);
    /// A load failed (the previous model, if any, stays).
    void loadFailed();
    /// The start-up load ended (loaded or failed).
    void ready();

private:
    ModelLoadSpec loadSpec(const QString &path) const;
    void reloadWithPanelOptions();
    void addEngineDevices();
    void onModelLoaded(const ModelSummary &model);
    void onLoadFailed(const QString &message);
    void rememberRecentModel(const QString &path);
    void updateModelCombo();
    void onModelComboActivated(int index);
    void openModelDialog();
    void openDiffusersDialog();
    void chooseVae();
    QString modelDialogDir() const;

    GenerationController *m_controller;
    GeneratePanel *m_panel;
    QWidget *m_window; ///< the dialogs' and error boxes' parent
    QLabel *m_modelLabel;
    QAction *m_openModelAction;
    QAction *m_openFolderAction;
    QAction *m_defaultAction;
    bool m_fallBackToDefault = false; ///< the start-up load of the last model: try the default if it fails
    bool m_startupPending = false; ///< ready() not emitted yet
    bool m_engineDevicesListed = false;
    bool m_applyingSettings = false; ///< the VAE field changes because settings are put in, not by hand
};
