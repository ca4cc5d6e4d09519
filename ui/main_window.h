#pragma once
/// \file main_window.h
/// The main window: prompt and sampling parameters, live x_t / predicted-x0 previews, progress,
/// model status, File (open model, save image) and Help menus. All engine work goes through the
/// GenerationController, so the GUI thread never blocks on the model.

#include "generation_types.h"

#include <QImage>
#include <QMainWindow>
#include <QString>

#include <memory>

class QAction;
class QCheckBox;
class QComboBox;
class QCompleter;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QStringListModel;
class GenerationController;
class ImageView;

class MainWindow : public QMainWindow
{
    Q_OBJECT

public:
    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    /// Start-up: load the model used last time, else the embedded default model; with neither the
    /// window says "No model loaded — open a checkpoint" and Generate stays disabled.
    void loadInitialModel();
    /// Load a checkpoint file or diffusers folder (what File → Open does after its dialog).
    void openModel(const QString &path);
    /// What the Generate button does. Returns false when nothing was started (no model, busy,
    /// empty prompt).
    bool startGeneration();
    /// Cancel the running generation, if any.
    void cancelGeneration();
    /// Write the last result as PNG with a "parameters" text chunk (what File → Save does after its
    /// dialog). Without overwrite an existing file is refused. Errors are shown; returns success.
    bool saveImageTo(const QString &path, bool overwrite = false);

    GenerationController *controller() const { return m_controller.get(); }
    /// The last completed image (null before the first one).
    QImage resultImage() const { return m_result; }

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void buildUi();
    void buildMenus();
    void readSettings();
    void writeSettings() const;
    void updateActions();

    void onModelLoaded(const ModelSummary &model);
    void onLoadFailed(const QString &message);
    void onStepFinished(int step, int total, double timestep, double elapsedSeconds);
    void onPreviewReady(const QImage &xt, const QImage &x0, int step);
    void onFinished(const GenerationOutcome &outcome);

    void openModelDialog();
    void openDiffusersDialog();
    void saveImage();
    void showAbout();
    void showError(const QString &title, const QString &message);
    QString modelDialogDir() const;

    std::unique_ptr<GenerationController> m_controller; // destroyed (thread joined) before the widgets

    QLineEdit *m_prompt = nullptr;
    QCompleter *m_completer = nullptr;
    QStringListModel *m_completionModel = nullptr;
    QDoubleSpinBox *m_guidance = nullptr;
    QSpinBox *m_steps = nullptr;
    QComboBox *m_sampler = nullptr;
    QSpinBox *m_seed = nullptr;
    QCheckBox *m_randomSeed = nullptr;
    QPushButton *m_generateButton = nullptr;
    QPushButton *m_cancelButton = nullptr;
    ImageView *m_xtView = nullptr;
    ImageView *m_x0View = nullptr;
    QLabel *m_xtCaption = nullptr;
    QLabel *m_x0Caption = nullptr;
    QProgressBar *m_progress = nullptr;
    QLabel *m_modelLabel = nullptr;

    QAction *m_openModelAction = nullptr;
    QAction *m_openFolderAction = nullptr;
    QAction *m_saveAction = nullptr;
    QAction *m_generateAction = nullptr;
    QAction *m_cancelAction = nullptr;

    QImage m_result;
    QString m_resultParameters;
    QString m_resultName;         ///< suggested file name stem for Save
    bool m_fallBackToDefault = false; ///< the start-up load of the last model: try the default if it fails
};
