#pragma once
/// \file main_window.h
/// The main window: the Generate panel (model, prompt, sampling parameters, seeds, batch), the
/// preview with its timeline scrubber and noise chart, progress, the history gallery and the log
/// as docks, and the File / Generation / View / Help menus. All engine work goes through the
/// GenerationController, so the GUI thread never blocks on the model.

#include "engine/generation_controller.h"
#include "engine/generation_types.h"
#include "generate/generation_settings.h"
#include "preferences_dialog.h"

#include <QElapsedTimer>
#include <QImage>
#include <QMainWindow>
#include <QString>

#include <memory>
#include <optional>

class QAction;
class QComboBox;
class QCompleter;
class QDockWidget;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QStringListModel;
class QTimer;
class QToolButton;
class HistoryPanel;
class InsidePanel;
class HistoryStore;
class GeneratePanel;
class JobQueueView;
class LogPanel;
class PreviewPanel;
struct HistoryEntry;

class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    /// historyDatabase empty: HistoryStore::defaultDatabasePath() (honors $DITSTUDIO_DATA_DIR).
    explicit MainWindow(QWidget *parent = nullptr, const QString &historyDatabase = {});
    ~MainWindow() override;

    /// Start-up: load path (the command line's model) or else the model used last time, else the
    /// embedded default model; with neither the window says "No model loaded — open a checkpoint"
    /// and Generate stays disabled. Emits ready() once that load finished either way.
    void loadInitialModel(const QString &path = {});
    /// Load a checkpoint file or diffusers folder (what File → Open does after its dialog) with the
    /// panel's VAE, device and precision.
    void openModel(const QString &path);
    /// Load the embedded default model with the panel's device and precision.
    void openDefaultModel();
    /// What the Generate button does. Returns false when nothing was started (no model, busy,
    /// empty or invalid prompt: the reason is shown inline).
    bool startGeneration();
    /// Cancel the running generation, if any (Esc: now; Shift+Esc: after the current image).
    void cancelGeneration(GenerationController::CancelMode mode = GenerationController::CancelMode::Now);
    /// Write the last result as PNG with its settings embedded (an A1111 "parameters" chunk and a
    /// "ditstudio" JSON chunk). Without overwrite an existing file is refused. Errors are shown.
    bool saveImageTo(const QString &path, bool overwrite = false);
    /// Read a PNG made by DiT Studio (or A1111-style parameters) and put its settings into the
    /// panel (loading its model when that is another one and exists). Errors are shown.
    bool openImageFile(const QString &path);
    /// Put settings into the Generate panel (history "Reuse settings", opened PNGs).
    void applySettings(const GenerationSettings &settings);
    /// Open the modal "Export film" dialog for these settings (File menu: the current ones;
    /// History: those of an earlier run, which regenerates it step by step with its seed).
    void exportFilm(const GenerationSettings &settings);
    /// File > Get models…: download the official models; "Use this model" opens a DiT or sets the VAE.
    void showGetModels();
    /// The Generate panel's current values (with the loaded model's identity).
    GenerationSettings currentSettings() const;

    GenerationController *controller() const { return m_controller.get(); }
    HistoryStore *history() const { return m_history.get(); }
    HistoryPanel *historyPanel() const { return m_historyPanel; }
    PreviewPanel *previewPanel() const { return m_preview; }
    LogPanel *logPanel() const { return m_logPanel; }
    /// The last completed image (null before the first one) and what made it.
    QImage resultImage() const { return m_result; }
    GenerationSettings resultSettings() const { return m_resultSettings; }
    /// History id of the last completed image (0 when none or not recorded).
    qint64 resultHistoryId() const { return m_resultHistoryId; }
    /// Edit → Preferences (output folder, auto-save, theme, smoothing, threads, default device).
    void showPreferences();
    /// The image editor, starting from `image` (the current result when null), with the panel's
    /// settings; a finished edit goes into the history.
    void openEditDialog(const QImage &image = {}, const GenerationSettings *settings = nullptr);
    /// The images of the last batch as a grid (View → Last batch as grid).
    void showLastBatchGrid();
    /// The folder auto-saved images go to (Preferences; default <data dir>/outputs).
    QString outputsFolder() const;
    /// A model is loaded and Generate can be pressed (what --exit-when-ready reports).
    bool isUsable() const;

signals:
    /// The first model after start-up loaded (or failed): the window is ready for a prompt.
    void ready();

protected:
    void closeEvent(QCloseEvent *event) override;
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dropEvent(QDropEvent *event) override;

private:
    void buildUi();
    void buildDocks();
    void buildMenus();
    void readSettings();
    void writeSettings() const;
    void updateActions();
    void updateModelCombo();
    void rememberRecentModel(const QString &path);
    ModelLoadSpec loadSpec(const QString &path) const;
    void reloadWithPanelOptions();

    void onModelLoaded(const ModelSummary &model);
    /// Add the CUDA devices to the device list once the engine module is in (first load result).
    void addEngineDevices();
    void onLoadFailed(const QString &message);
    void onItemStarted(int index, int count, quint64 seed, const QString &conditioning);
    void onStepFinished(int step, int total, double timestep, double sigma, double elapsedSeconds);
    void onPreviewReady(const QImage &xt, const QImage &x0, int step);
    void keepOnScreen();
    void onItemFinished(quint64 jobId, const QImage &image, quint64 seed, double seconds,
                        const QString &conditioning);
    void onFinished(const GenerationOutcome &outcome);
    void onPromptChecked(const PromptCheck &check);
    void schedulePromptCheck();
    void setPromptStatus(const QString &text, const QString &color);
    qint64 recordResult(const QImage &image, quint64 seed, double seconds, int steps,
                        const QString &conditioning);
    qint64 recordEntry(const QImage &image, const GenerationSettings &settings, const QString &conditioning,
                       double seconds, int steps);
    QString autoSave(const QImage &image, const GenerationSettings &settings, const QString &conditioning);
    void showHistoryEntry(const HistoryEntry &entry);
    /// The Inside view asked to re-run the last result with interventions (same seed).
    void startIntervention(const ditstudio::Interventions &interventions, const QString &description);
    /// The Inside view's overlay frames as a video (encoded by the engine module off the GUI thread).
    void exportInsideFilm();

    void onModelComboActivated(int index);
    void openModelDialog();
    void openDiffusersDialog();
    void openImageDialog();
    void chooseVae();
    void saveImage();
    void showAbout();
    void showShortcuts();
    void applyPreferences(const Preferences &prefs);
    void showGrid(const QList<QPair<QImage, QString>> &items, const QString &title);
    void showError(const QString &title, const QString &message);
    QString modelDialogDir() const;

    std::unique_ptr<GenerationController> m_controller; // destroyed (thread joined) before the widgets
    std::unique_ptr<HistoryStore> m_history;

    // Generate panel.
    GeneratePanel *m_generatePanel
        = nullptr; ///< owns the fields; the window keeps pointers to those it wires
    QComboBox *m_modelCombo = nullptr;
    QLineEdit *m_vaePath = nullptr;
    QToolButton *m_vaeBrowse = nullptr;
    QComboBox *m_device = nullptr;
    QComboBox *m_precision = nullptr;
    QLineEdit *m_prompt = nullptr;
    QLabel *m_promptStatus = nullptr;
    QCompleter *m_completer = nullptr;
    QStringListModel *m_completionModel = nullptr;
    QPushButton *m_generateButton = nullptr;
    QToolButton *m_cancelButton = nullptr;
    QTimer *m_promptTimer = nullptr;

    PreviewPanel *m_preview = nullptr;
    QProgressBar *m_progress = nullptr;
    QLabel *m_modelLabel = nullptr;
    QDockWidget *m_historyDock = nullptr;
    HistoryPanel *m_historyPanel = nullptr;
    QDockWidget *m_logDock = nullptr;
    QDockWidget *m_jobsDock = nullptr;
    JobQueueView *m_jobsView = nullptr;
    LogPanel *m_logPanel = nullptr;
    QDockWidget *m_insideDock = nullptr;
    InsidePanel *m_insidePanel = nullptr;

    QAction *m_openModelAction = nullptr;
    QAction *m_openFolderAction = nullptr;
    QAction *m_openImageAction = nullptr;
    QAction *m_saveAction = nullptr;
    QAction *m_autoSaveAction = nullptr;
    QAction *m_generateAction = nullptr;
    QAction *m_cancelAction = nullptr;
    QAction *m_cancelAfterAction = nullptr;

    // The running job.
    GenerationSettings m_jobSettings;
    int m_jobItem = 0;
    int m_jobItems = 0;
    QElapsedTimer m_jobTimer;

    // The last result.
    QImage m_result;
    GenerationSettings m_resultSettings;
    QString m_resultConditioning;
    qint64 m_resultHistoryId = 0;

    // An Inside-view intervention re-run (same settings and seed as the last result): its job id.
    quint64 m_interventionJob = 0;

    std::optional<PromptCheck> m_promptCheck; ///< the worker's verdict on the current prompt text
    bool m_fallBackToDefault = false; ///< the start-up load of the last model: try the default if it fails
    bool m_startupPending = false; ///< ready() not emitted yet
    QList<QPair<QImage, QString>> m_lastBatch; ///< the last job's images with captions (grid view)
    Preferences m_prefs;
    bool m_engineDevicesListed = false;
    bool m_applyingSettings = false;
};
