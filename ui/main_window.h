#pragma once
/// \file main_window.h
/// The main window: the Generate panel (model, prompt, sampling parameters, seeds, batch), the
/// preview with its timeline scrubber and noise chart, progress, the history gallery and the log
/// as docks, and the File / Generation / View / Help menus. All engine work goes through the
/// GenerationController, so the GUI thread never blocks on the model.
///
/// The window is wiring: it lays out the panels and docks, builds the menus and connects the
/// features that own the logic: ModelSwitcher (which model is loaded), PromptChecker (the prompt's
/// completions and verdict), GenerationRunner (a run, step by step, and the last result),
/// HistoryRecorder (the history and the image files) and InsideFilmExporter.

#include "engine/generation_controller.h"
#include "generate/generation_settings.h"
#include "preferences_dialog.h"

#include <QImage>
#include <QMainWindow>
#include <QString>

#include <memory>

class QAction;
class QDockWidget;
class GenerationRunner;
class GeneratePanel;
class HistoryPanel;
class HistoryRecorder;
class HistoryStore;
class InsidePanel;
class JobQueueView;
class LogPanel;
class ModelSwitcher;
class PreviewPanel;
class PromptChecker;

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
    QImage resultImage() const;
    GenerationSettings resultSettings() const;
    /// History id of the last completed image (0 when none or not recorded).
    qint64 resultHistoryId() const;
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
    void openImageDialog();
    void applyPreferences(const Preferences &prefs);
    void showGrid(const QList<QPair<QImage, QString>> &items, const QString &title);
    void showStatus(const QString &text, int timeoutMs);

    std::unique_ptr<GenerationController> m_controller; // destroyed (thread joined) before the widgets
    std::unique_ptr<HistoryStore> m_history;

    // The features the window wires (each owns its logic; all are children of the window).
    GeneratePanel *m_generatePanel = nullptr; ///< owns the fields
    ModelSwitcher *m_models = nullptr;
    PromptChecker *m_prompts = nullptr;
    HistoryRecorder *m_recorder = nullptr;
    GenerationRunner *m_runner = nullptr;

    PreviewPanel *m_preview = nullptr;
    QDockWidget *m_historyDock = nullptr;
    HistoryPanel *m_historyPanel = nullptr;
    QDockWidget *m_logDock = nullptr;
    QDockWidget *m_jobsDock = nullptr;
    JobQueueView *m_jobsView = nullptr;
    LogPanel *m_logPanel = nullptr;
    QDockWidget *m_insideDock = nullptr;
    InsidePanel *m_insidePanel = nullptr;
    QAction *m_saveAction = nullptr;

    Preferences m_prefs;
};
