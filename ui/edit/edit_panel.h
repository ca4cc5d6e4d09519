#pragma once
/// \file edit_panel.h
/// "Edit → Edit image…" (issue 7): img2img (SDEdit), inpainting with a mask painted on the image,
/// and DDIM inversion + regeneration as another class. The edit runs off the GUI thread
/// (QtConcurrent) on its own Engine, like FilmExportDialog, with step progress, a live x̂₀ preview
/// and cancel; the result is shown next to the (preprocessed) input and can be saved as PNG.

#include "engine/job_dialog.h"
#include "generate/generation_settings.h"

#include "ditstudio/cancel_token.h"

#include <QDialog>
#include <QImage>
#include <QWidget>
#include <memory>

class ImageView;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QRadioButton;
class QSlider;
class QSpinBox;

/// The input image with the inpainting mask painted over it (red overlay). The mask has the
/// image's size (Format_Grayscale8, 255 = regenerate, 0 = keep), which is what EditRequest::mask
/// expects; the brush size is in image pixels.
class MaskCanvas : public QWidget {
    Q_OBJECT
public:
    explicit MaskCanvas(QWidget *parent = nullptr);

    void setImage(const QImage &image); ///< clears the mask
    const QImage &image() const { return m_image; }
    const QImage &mask() const { return m_mask; }
    void setMask(const QImage &mask); ///< converted to Grayscale8; must have the image's size
    void clearMask();
    void setEraser(bool eraser) { m_eraser = eraser; }
    bool eraser() const { return m_eraser; }
    void setBrushSize(int pixels) { m_brush = qMax(1, pixels); }
    int brushSize() const { return m_brush; }
    /// Number of mask pixels >= 128 (the backend's "regenerate" threshold).
    int maskedPixels() const;

    QSize sizeHint() const override { return {280, 280}; }
    QSize minimumSizeHint() const override { return {160, 160}; }

signals:
    void maskChanged();

protected:
    void paintEvent(QPaintEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;

private:
    QRectF targetRect() const;
    QPointF toImage(const QPointF &widgetPos) const;
    void dab(const QPointF &imagePos);
    void strokeTo(const QPointF &imagePos);

    QImage m_image;
    QImage m_mask;
    bool m_eraser = false;
    bool m_painting = false;
    int m_brush = 4;
    QPointF m_last;
};

/// The end of one edit, handed from the worker thread to the dialog.
struct EditOutcome {
    bool ok = false;
    bool cancelled = false;
    QString text;
    QImage before; ///< the preprocessed input at the model's size
    QImage after;
    QString conditioning;
};

class EditDialog : public JobDialog {
    Q_OBJECT
public:
    enum Mode { Img2Img = 0, Inpaint = 1, Invert = 2 };

    /// engine: the controller whose loaded model runs the edits (see JobDialog).
    EditDialog(GenerationController *engine, const GenerationSettings &settings, QWidget *parent = nullptr);
    ~EditDialog() override;

    const GenerationSettings &settings() const { return m_settings; }
    MaskCanvas *canvas() const { return m_canvas; }
    void setImage(const QImage &image);
    bool openImageFile(const QString &path); ///< false + status text on an unreadable file
    void setMode(Mode mode);
    Mode mode() const;
    void setPrompt(const QString &prompt);
    void setStrength(double strength); ///< 0..1 (slider in hundredths)
    void setBrushSize(int pixels); ///< the brush diameter in image pixels
    void setSteps(int steps);
    void setSeed(int seed);
    void setFeather(double pixels);
    QImage beforeImage() const { return m_before; }
    QImage afterImage() const { return m_after; }
    /// What made afterImage(): the settings of that run (prompt, steps, seed, …) and its classes.
    GenerationSettings resultSettings() const { return m_runSettings; }
    QString resultConditioning() const { return m_conditioning; }
    /// A short description of the edit for the history, e.g. "img2img 0.60".
    QString resultDescription() const { return m_runDescription; }
    /// Where the file dialogs start (the app's outputs folder); default: the home folder.
    void setStartFolder(const QString &folder) { m_startFolder = folder; }
    /// What the last run (or refused start / save) said; for tests and the status line.
    QString resultText() const { return m_resultText; }
    /// Write the result as PNG; refuses an existing file unless overwrite. Returns the status text.
    bool saveResultTo(const QString &path, bool overwrite = false);

public slots:
    void start();

signals:
    /// Exactly once per start(): ok, or not ok with the error / "Cancelled…" text.
    void finishedEdit(bool ok, const QString &text);

protected:
private:
    void browseImage();
    void saveResult();
    void updateMode();
    void fail(const QString &text);
    void onJobProgress(int done, int total, const QString &stage) override;
    void onJobPreview(const QImage &preview) override;
    void onJobFinished(const JobInfo &info) override;

    GenerationSettings m_settings;
    MaskCanvas *m_canvas = nullptr;
    ImageView *m_beforeView = nullptr;
    ImageView *m_afterView = nullptr;
    QComboBox *m_mode = nullptr;
    QLineEdit *m_prompt = nullptr;
    QLineEdit *m_sourcePrompt = nullptr;
    QSlider *m_strength = nullptr;
    QLabel *m_strengthLabel = nullptr;
    QSpinBox *m_steps = nullptr;
    QDoubleSpinBox *m_cfg = nullptr;
    QSpinBox *m_seed = nullptr;
    QComboBox *m_sampler = nullptr;
    QRadioButton *m_brushButton = nullptr;
    QRadioButton *m_eraserButton = nullptr;
    QSpinBox *m_brushSize = nullptr;
    QDoubleSpinBox *m_feather = nullptr;
    QPushButton *m_clearMask = nullptr;
    QLabel *m_status = nullptr;
    QProgressBar *m_progress = nullptr;
    QPushButton *m_runButton = nullptr;
    QPushButton *m_cancelButton = nullptr;
    QPushButton *m_saveButton = nullptr;
    std::shared_ptr<EditOutcome> m_outcome; ///< filled by the running job, read when it has ended
    QImage m_before;
    QImage m_after;
    QString m_conditioning;
    QString m_resultText;
    GenerationSettings m_runSettings;
    QString m_runDescription;
    QString m_startFolder;
};
