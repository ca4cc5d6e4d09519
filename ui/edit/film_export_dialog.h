#pragma once
/// \file film_export_dialog.h
/// "Export film…": renders the denoising film (one frame per step) or a latent walk of the given
/// generation settings to MP4/WebM/GIF, with progress and cancel. The export is a job in the
/// engine's queue (JobDialog): it runs on the engine thread with the model that is loaded there.

#include "engine/job_dialog.h"
#include "generate/generation_settings.h"

#include "ditstudio/cancel_token.h"

#include <QDialog>
#include <memory>

class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;

/// The end of one export, handed from the worker thread to the dialog.
struct FilmExportOutcome {
    bool ok = false;
    bool cancelled = false;
    QString text;
};

class FilmExportDialog : public JobDialog {
    Q_OBJECT
public:
    /// engine: the controller whose loaded model renders the film (see JobDialog).
    FilmExportDialog(GenerationController *engine, const GenerationSettings &settings,
                     QWidget *parent = nullptr);
    ~FilmExportDialog() override;

    /// The generation settings this dialog films.
    const GenerationSettings &settings() const { return m_settings; }
    /// What the last export did ("Wrote …", "Cancelled", or the error); for tests and the status bar.
    QString resultText() const { return m_resultText; }
    QString outputPath() const;
    /// Where films go by default: the Videos folder when it exists, else <data dir>/outputs/films.
    static QString defaultFilmFolder();
    void setOutputPath(const QString &path);
    /// 0: denoising film, 1: latent walk.
    void setMode(int mode);
    void setWalkFrames(int frames);

public slots:
    void start();

signals:
    void finishedExport(bool ok, const QString &text);

protected:
private:
    void reportFailure(const QString &text);
    void browse();
    void updateMode();
    void onJobProgress(int done, int total, const QString &stage) override;
    void onJobFinished(const JobInfo &info) override;

    GenerationSettings m_settings;
    QComboBox *m_mode = nullptr;
    QLineEdit *m_path = nullptr;
    QComboBox *m_frames = nullptr;
    QSpinBox *m_fps = nullptr;
    QDoubleSpinBox *m_hold = nullptr;
    QSpinBox *m_scale = nullptr;
    QComboBox *m_filter = nullptr;
    QCheckBox *m_caption = nullptr;
    QCheckBox *m_overwrite = nullptr;
    QSpinBox *m_walkFrames = nullptr;
    QSpinBox *m_toSeed = nullptr;
    QLineEdit *m_toPrompt = nullptr;
    QLabel *m_status = nullptr;
    QProgressBar *m_progress = nullptr;
    QPushButton *m_startButton = nullptr;
    QPushButton *m_cancelButton = nullptr;
    QDialogButtonBox *m_buttons = nullptr;
    std::shared_ptr<FilmExportOutcome> m_outcome; ///< filled by the running job, read when it has ended
    QString m_resultText;
    bool m_ok = false;
};
