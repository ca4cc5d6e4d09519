#pragma once
/// \file video_edit_dialog.h
/// "Edit → Edit video…": video-to-video (img2img on every frame with one shared noise, optional
/// temporal smoothing of the latents) through ditstudio::editVideo. Follows EditDialog: the edit is
/// a job in the engine's queue (JobDialog) on the loaded model, reports frames done / total with a
/// live preview of the latest edited frame, honours Cancel, and ends in exactly one finishedEdit signal.

#include "engine/job_dialog.h"
#include "generate/generation_settings.h"

#include "ditstudio/cancel_token.h"

#include <QDialog>
#include <QImage>
#include <memory>

class ImageView;
class QDoubleSpinBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSlider;
class QSpinBox;

/// The end of one video edit, handed from the worker thread to the dialog.
struct VideoEditOutcome {
    bool ok = false;
    bool cancelled = false;
    QString text;
    int frames = 0;
    double fps = 0;
};

class VideoEditDialog : public JobDialog {
    Q_OBJECT
public:
    /// engine: the controller whose loaded model edits the frames (see JobDialog).
    VideoEditDialog(GenerationController *engine, const GenerationSettings &settings,
                    QWidget *parent = nullptr);
    ~VideoEditDialog() override;

    /// Open the input video: shows its size, fps, frames and duration and the first frame.
    /// False + status text when the file cannot be read as a video.
    bool setInputPath(const QString &path);
    QString inputPath() const { return m_inputPath; }
    void setOutputPath(const QString &path);
    void setPrompt(const QString &prompt);
    void setStrength(double strength); ///< 0..1
    void setSteps(int steps);
    void setSeed(int seed);
    void setTemporalSmoothing(double amount); ///< 0..0.95
    /// Where the file dialogs start (the app's outputs folder); default: the home folder.
    void setStartFolder(const QString &folder) { m_startFolder = folder; }
    /// Show input frame `index` in the preview (the slider does the same).
    void showInputFrame(int index);
    int inputFrameCount() const;
    QImage previewImage() const { return m_previewImage; } ///< the input frame last shown
    QImage lastEditedFrame() const { return m_lastEdited; }
    QString infoText() const;
    QString resultText() const { return m_resultText; }

public slots:
    void start();

signals:
    /// Exactly once per start(): ok, or not ok with the error / "Cancelled…" text.
    void finishedEdit(bool ok, const QString &text);

protected:
private:
    void browseInput();
    void browseOutput();
    void fail(const QString &text);
    void onJobProgress(int done, int total, const QString &stage) override;
    void onJobPreview(const QImage &after) override;
    void onJobFinished(const JobInfo &info) override;

    GenerationSettings m_settings;
    QString m_inputPath;
    int m_frameCount = 0;
    QString m_startFolder;
    ImageView *m_inputView = nullptr;
    ImageView *m_outputView = nullptr;
    QSlider *m_frameSlider = nullptr;
    QLabel *m_frameLabel = nullptr;
    QLabel *m_info = nullptr;
    QLineEdit *m_input = nullptr;
    QLineEdit *m_output = nullptr;
    QLineEdit *m_prompt = nullptr;
    QDoubleSpinBox *m_strength = nullptr;
    QSpinBox *m_steps = nullptr;
    QDoubleSpinBox *m_cfg = nullptr;
    QSpinBox *m_seed = nullptr;
    QComboBox *m_sampler = nullptr;
    QDoubleSpinBox *m_smoothing = nullptr;
    QSpinBox *m_scale = nullptr; ///< output upscale factor (1 = model size)
    QLabel *m_status = nullptr;
    QProgressBar *m_progress = nullptr;
    QPushButton *m_runButton = nullptr;
    QPushButton *m_cancelButton = nullptr;
    std::shared_ptr<VideoEditOutcome> m_outcome; ///< filled by the running job, read when it has ended
    QImage m_previewImage;
    QImage m_lastEdited;
    QString m_resultText;
};
