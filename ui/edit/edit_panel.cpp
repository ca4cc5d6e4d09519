#include "edit/edit_panel.h"

#include "engine/engine_module.h"
#include "widgets/image_conversion.h"
#include "widgets/image_view.h"

#include "ditstudio/editing.h"
#include "ditstudio/engine.h"

#include <QButtonGroup>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QImageReader>
#include <QLabel>
#include <QLineEdit>
#include <QMouseEvent>
#include <QPainter>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QRadioButton>
#include <QSlider>
#include <QSpinBox>
#include <QVBoxLayout>

#include <cmath>
#include <limits>

// ---------------------------------------------------------------------------------------------
// MaskCanvas

MaskCanvas::MaskCanvas(QWidget *parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("maskCanvas"));
    setMouseTracking(false);
    setCursor(Qt::CrossCursor);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

void MaskCanvas::setImage(const QImage &image)
{
    m_image = image;
    m_mask = QImage();
    if (!image.isNull()) {
        m_mask = QImage(image.size(), QImage::Format_Grayscale8);
        m_mask.fill(0);
    }
    update();
    emit maskChanged();
}

void MaskCanvas::setMask(const QImage &mask)
{
    if (m_image.isNull() || mask.size() != m_image.size())
        return;
    m_mask = mask.convertToFormat(QImage::Format_Grayscale8);
    update();
    emit maskChanged();
}

void MaskCanvas::clearMask()
{
    if (m_mask.isNull())
        return;
    m_mask.fill(0);
    update();
    emit maskChanged();
}

int MaskCanvas::maskedPixels() const
{
    int n = 0;
    for (int y = 0; y < m_mask.height(); ++y) {
        const uchar *row = m_mask.constScanLine(y);
        for (int x = 0; x < m_mask.width(); ++x)
            n += row[x] >= 128 ? 1 : 0;
    }
    return n;
}

QRectF MaskCanvas::targetRect() const
{
    if (m_image.isNull())
        return {};
    QSizeF s = QSizeF(m_image.size()).scaled(QSizeF(size()), Qt::KeepAspectRatio);
    return QRectF(QPointF((width() - s.width()) / 2.0, (height() - s.height()) / 2.0), s);
}

QPointF MaskCanvas::toImage(const QPointF &widgetPos) const
{
    const QRectF r = targetRect();
    if (r.isEmpty())
        return {};
    return {(widgetPos.x() - r.left()) * m_image.width() / r.width(),
            (widgetPos.y() - r.top()) * m_image.height() / r.height()};
}

void MaskCanvas::dab(const QPointF &c)
{
    // A round brush in image pixels: every pixel whose centre lies within the radius.
    const double radius = m_brush / 2.0;
    const uchar value = m_eraser ? 0 : 255;
    const int x0 = qMax(0, int(std::floor(c.x() - radius)));
    const int x1 = qMin(m_mask.width() - 1, int(std::ceil(c.x() + radius)));
    const int y0 = qMax(0, int(std::floor(c.y() - radius)));
    const int y1 = qMin(m_mask.height() - 1, int(std::ceil(c.y() + radius)));
    for (int y = y0; y <= y1; ++y) {
        uchar *row = m_mask.scanLine(y);
        for (int x = x0; x <= x1; ++x) {
            const double dx = x + 0.5 - c.x(), dy = y + 0.5 - c.y();
            if (dx * dx + dy * dy <= qMax(radius * radius, 0.5))
                row[x] = value;
        }
    }
}

void MaskCanvas::strokeTo(const QPointF &p)
{
    // Dabs every half pixel along the segment, so fast mouse moves leave no gaps.
    const QPointF d = p - m_last;
    const int n = qMax(1, int(std::ceil(std::hypot(d.x(), d.y()) * 2)));
    for (int i = 1; i <= n; ++i)
        dab(m_last + d * (double(i) / n));
    m_last = p;
    update();
    emit maskChanged();
}

void MaskCanvas::mousePressEvent(QMouseEvent *event)
{
    if (m_image.isNull() || event->button() != Qt::LeftButton)
        return QWidget::mousePressEvent(event);
    m_painting = true;
    m_last = toImage(event->position());
    dab(m_last);
    update();
    emit maskChanged();
}

void MaskCanvas::mouseMoveEvent(QMouseEvent *event)
{
    if (!m_painting)
        return QWidget::mouseMoveEvent(event);
    strokeTo(toImage(event->position()));
}

void MaskCanvas::mouseReleaseEvent(QMouseEvent *event)
{
    if (!m_painting)
        return QWidget::mouseReleaseEvent(event);
    strokeTo(toImage(event->position()));
    m_painting = false;
}

void MaskCanvas::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.fillRect(rect(), QColor(0x20, 0x20, 0x24));
    if (m_image.isNull()) {
        p.setPen(QColor(0xb0, 0xb0, 0xb0));
        p.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap, tr("Open an image to edit"));
        return;
    }
    const QRectF r = targetRect();
    // Nearest-neighbour here so each mask pixel lines up with the image pixel it covers.
    p.drawImage(r, m_image.convertToFormat(QImage::Format_RGB32));
    QImage overlay(m_mask.size(), QImage::Format_ARGB32_Premultiplied);
    for (int y = 0; y < m_mask.height(); ++y) {
        const uchar *src = m_mask.constScanLine(y);
        auto *dst = reinterpret_cast<QRgb *>(overlay.scanLine(y));
        for (int x = 0; x < m_mask.width(); ++x) {
            const int a = src[x] * 140 / 255; // half-transparent red where the model repaints
            dst[x] = qPremultiply(qRgba(230, 40, 40, a));
        }
    }
    p.drawImage(r, overlay);
}

// ---------------------------------------------------------------------------------------------
// The job

namespace {

struct EditJob {
    GenerationSettings settings;
    ditstudio::EditMode mode = ditstudio::EditMode::Img2Img;
    QImage image;
    QImage mask;
    double strength = 0.75;
    double feather = 1.5;
    QString sourcePrompt;
};

// Runs on the engine thread with the loaded model (never a model of its own).
EditOutcome runEdit(ditstudio::EngineSession &engine, const EditJob &job, const JobContext &context,
                    const ditstudio::CancelToken &cancel)
{
    using namespace ditstudio;
    EditOutcome out;
    QString error;
    auto generate = job.settings.toRequest(job.settings.seed, &error);
    if (!generate) {
        out.text = error;
        return out;
    }
    generate->batch = 1;
    EditRequest request;
    request.mode = job.mode;
    request.image = toDitImage(job.image);
    if (request.mode == EditMode::Inpaint)
        request.mask = toDitImage(job.mask);
    request.generate = *generate;
    request.strength = job.strength;
    request.featherPixels = job.feather;
    request.sourcePrompt = job.sourcePrompt.trimmed().toStdString();
    request.inversionSteps = job.settings.steps;

    GenerateObserver observer;
    observer.onStep = [&context](const StepUpdate &u) {
        context.progress(u.step + 1, u.totalSteps, QString());
        if (!u.previewX0.empty())
            context.preview(toQImage(u.previewX0.front()));
    };
    auto r = engine.editImage(request, observer, cancel);
    if (!r.ok()) {
        out.text = QString::fromStdString(r.error().toString());
        return out;
    }
    if (r->status == JobStatus::Cancelled) {
        out.cancelled = true;
        out.text = QObject::tr("Cancelled after %1 of %2 steps.").arg(r->stepsDone).arg(r->totalSteps);
        return out;
    }
    out.ok = true;
    out.before = toQImage(r->before);
    out.after = toQImage(r->image);
    out.conditioning = job.settings.prompt;
    out.text = QObject::tr("%1: %2 steps in %3 s, %4×%5")
                   .arg(QString::fromLatin1(editModeName(request.mode)))
                   .arg(r->stepsDone)
                   .arg(r->seconds, 0, 'f', 2)
                   .arg(r->image.width)
                   .arg(r->image.height);
    if (request.mode == EditMode::Invert) {
        // How faithful the layout is kept is the point of inversion: show the PSNR to the input.
        auto psnr = imagePsnr(r->before, r->image);
        if (psnr.ok())
            out.text += QObject::tr(", %1 dB PSNR to the input").arg(*psnr, 0, 'f', 1);
    }
    return out;
}

} // namespace

// ---------------------------------------------------------------------------------------------
// EditDialog

EditDialog::EditDialog(GenerationController *engine, const GenerationSettings &settings, QWidget *parent)
    : JobDialog(engine, parent), m_settings(settings)
{
    setWindowTitle(tr("Edit image"));
    setObjectName(QStringLiteral("editDialog"));

    m_canvas = new MaskCanvas(this);
    m_beforeView = new ImageView(this);
    m_beforeView->setObjectName(QStringLiteral("editBefore"));
    m_beforeView->setPlaceholderText(tr("Before"));
    m_afterView = new ImageView(this);
    m_afterView->setObjectName(QStringLiteral("editAfter"));
    m_afterView->setPlaceholderText(tr("After"));

    auto *openButton = new QPushButton(tr("Open image…"), this);
    connect(openButton, &QPushButton::clicked, this, &EditDialog::browseImage);

    m_mode = new QComboBox(this);
    m_mode->setObjectName(QStringLiteral("editMode"));
    m_mode->addItem(tr("img2img (SDEdit)"));
    m_mode->addItem(tr("Inpaint the painted mask"));
    m_mode->addItem(tr("Invert + regenerate (class swap)"));

    m_prompt = new QLineEdit(settings.prompt, this);
    m_prompt->setObjectName(QStringLiteral("editPrompt"));
    m_prompt->setPlaceholderText(tr("class to generate, e.g. sneaker"));
    m_sourcePrompt = new QLineEdit(this);
    m_sourcePrompt->setPlaceholderText(tr("what the image shows (default: the class above)"));

    m_strength = new QSlider(Qt::Horizontal, this);
    m_strength->setObjectName(QStringLiteral("editStrength"));
    m_strength->setRange(0, 100);
    m_strength->setValue(60);
    m_strengthLabel = new QLabel(this);
    m_strengthLabel->setMinimumWidth(36);
    auto *strengthRow = new QHBoxLayout;
    strengthRow->addWidget(m_strength);
    strengthRow->addWidget(m_strengthLabel);
    auto showStrength
        = [this] { m_strengthLabel->setText(QString::number(m_strength->value() / 100.0, 'f', 2)); };
    connect(m_strength, &QSlider::valueChanged, this, showStrength);
    showStrength();

    m_steps = new QSpinBox(this);
    m_steps->setRange(1, 1000);
    m_steps->setValue(settings.steps);
    m_cfg = new QDoubleSpinBox(this);
    m_cfg->setRange(1.0, 30.0);
    m_cfg->setSingleStep(0.5);
    m_cfg->setValue(settings.cfgScale);
    m_seed = new QSpinBox(this);
    m_seed->setRange(0, std::numeric_limits<int>::max());
    m_seed->setValue(int(qMin<quint64>(settings.seed, quint64(std::numeric_limits<int>::max()))));
    m_sampler = new QComboBox(this);
    for (const auto &name : ditstudio::samplerNames())
        m_sampler->addItem(QString::fromStdString(name));
    m_sampler->setCurrentText(settings.sampler);

    m_brushButton = new QRadioButton(tr("Brush"), this);
    m_brushButton->setChecked(true);
    m_eraserButton = new QRadioButton(tr("Eraser"), this);
    auto *tools = new QButtonGroup(this);
    tools->addButton(m_brushButton);
    tools->addButton(m_eraserButton);
    connect(m_eraserButton, &QRadioButton::toggled, m_canvas, &MaskCanvas::setEraser);
    m_brushSize = new QSpinBox(this);
    m_brushSize->setObjectName(QStringLiteral("editBrushSize"));
    m_brushSize->setRange(1, 512);
    m_brushSize->setSuffix(tr(" px"));
    m_brushSize->setValue(m_canvas->brushSize());
    connect(m_brushSize, &QSpinBox::valueChanged, m_canvas, &MaskCanvas::setBrushSize);
    m_feather = new QDoubleSpinBox(this);
    m_feather->setRange(0.0, 16.0);
    m_feather->setSingleStep(0.5);
    m_feather->setValue(1.5);
    m_feather->setSuffix(tr(" px"));
    m_feather->setToolTip(tr("Blend width inside the mask's edge (output pixels); kept pixels never change"));
    m_clearMask = new QPushButton(tr("Clear mask"), this);
    connect(m_clearMask, &QPushButton::clicked, m_canvas, &MaskCanvas::clearMask);
    auto *toolRow = new QHBoxLayout;
    toolRow->addWidget(m_brushButton);
    toolRow->addWidget(m_eraserButton);
    toolRow->addWidget(m_brushSize);
    toolRow->addWidget(m_clearMask);

    auto *form = new QFormLayout;
    form->addRow(QString(), openButton);
    form->addRow(tr("&Mode"), m_mode);
    form->addRow(tr("&Class"), m_prompt);
    form->addRow(tr("Source class"), m_sourcePrompt);
    form->addRow(tr("Strength"), strengthRow);
    form->addRow(tr("Mask"), toolRow);
    form->addRow(tr("&Feather"), m_feather);
    form->addRow(tr("&Steps"), m_steps);
    form->addRow(tr("C&FG scale"), m_cfg);
    form->addRow(tr("S&eed"), m_seed);
    form->addRow(tr("Sampler"), m_sampler);

    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_status = new QLabel(tr("Open an image, pick a mode, and run."), this);
    m_status->setObjectName(QStringLiteral("editStatus"));
    m_status->setWordWrap(true);

    auto *buttons = new QDialogButtonBox(this);
    m_runButton = buttons->addButton(tr("Run edit"), QDialogButtonBox::AcceptRole);
    m_runButton->setObjectName(QStringLiteral("editRun"));
    m_cancelButton = buttons->addButton(tr("Cancel edit"), QDialogButtonBox::ActionRole);
    setJobWidgets(m_status, m_cancelButton);
    m_cancelButton->setEnabled(false);
    m_saveButton = buttons->addButton(tr("Save result…"), QDialogButtonBox::ActionRole);
    m_saveButton->setEnabled(false);
    buttons->addButton(QDialogButtonBox::Close);
    connect(m_runButton, &QPushButton::clicked, this, &EditDialog::start);
    connect(m_cancelButton, &QPushButton::clicked, this, &EditDialog::cancel);
    connect(m_saveButton, &QPushButton::clicked, this, &EditDialog::saveResult);
    connect(buttons, &QDialogButtonBox::rejected, this, &EditDialog::reject);
    connect(m_mode, &QComboBox::currentIndexChanged, this, &EditDialog::updateMode);

    // Left: the input with its mask (paint here); right: the settings. Below: before | after.
    auto *inputBox = new QGroupBox(tr("Input and mask (paint with the mouse)"), this);
    auto *inputLayout = new QVBoxLayout(inputBox);
    inputLayout->addWidget(m_canvas);
    auto *top = new QHBoxLayout;
    top->addWidget(inputBox, 1);
    top->addLayout(form);

    auto *compareBox = new QGroupBox(tr("Before / after (at the model's size)"), this);
    auto *compare = new QHBoxLayout(compareBox);
    compare->addWidget(m_beforeView);
    compare->addWidget(m_afterView);
    m_beforeView->setMinimumSize(200, 200);
    m_afterView->setMinimumSize(200, 200);

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(top, 1);
    layout->addWidget(compareBox, 1);
    layout->addWidget(m_progress);
    layout->addWidget(m_status);
    layout->addWidget(buttons);
    updateMode();
}

EditDialog::~EditDialog() = default; // JobDialog cancels a job that still runs or waits

void EditDialog::setImage(const QImage &image)
{
    // The backend reads 1, 3 or 4 channels; alpha would only matter without a painted mask.
    QImage in = image.isNull() ? QImage()
        : image.isGrayscale()  ? image.convertToFormat(QImage::Format_Grayscale8)
                               : image.convertToFormat(QImage::Format_RGB888);
    m_canvas->setImage(in);
    if (!in.isNull())
        m_brushSize->setValue(qMax(1, qMin(in.width(), in.height()) / 7));
    m_before = QImage();
    m_after = QImage();
    m_beforeView->setImage(in);
    m_afterView->clear();
    m_saveButton->setEnabled(false);
}

bool EditDialog::openImageFile(const QString &path)
{
    QImageReader reader(path);
    const QImage image = reader.read();
    if (image.isNull()) {
        m_resultText
            = tr("Cannot read the image %1: %2").arg(QDir::toNativeSeparators(path), reader.errorString());
        m_status->setText(m_resultText);
        return false;
    }
    setImage(image);
    m_status->setText(
        tr("Opened %1 (%2×%3)").arg(QFileInfo(path).fileName()).arg(image.width()).arg(image.height()));
    return true;
}

void EditDialog::setMode(Mode mode)
{
    m_mode->setCurrentIndex(int(mode));
}

EditDialog::Mode EditDialog::mode() const
{
    return Mode(m_mode->currentIndex());
}

void EditDialog::setPrompt(const QString &prompt)
{
    m_prompt->setText(prompt);
}

void EditDialog::setStrength(double strength)
{
    m_strength->setValue(int(std::lround(strength * 100)));
}

void EditDialog::setBrushSize(int pixels)
{
    m_brushSize->setValue(pixels);
}

void EditDialog::setSteps(int steps)
{
    m_steps->setValue(steps);
}

void EditDialog::setSeed(int seed)
{
    m_seed->setValue(seed);
}

void EditDialog::setFeather(double pixels)
{
    m_feather->setValue(pixels);
}

void EditDialog::updateMode()
{
    const Mode m = mode();
    m_strength->setEnabled(m != Invert);
    m_sourcePrompt->setEnabled(m == Invert);
    for (QWidget *w : {static_cast<QWidget *>(m_brushButton), static_cast<QWidget *>(m_eraserButton),
                       static_cast<QWidget *>(m_brushSize), static_cast<QWidget *>(m_clearMask),
                       static_cast<QWidget *>(m_feather)})
        w->setEnabled(m == Inpaint);
}

void EditDialog::browseImage()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Open image to edit"), m_startFolder,
                                                      tr("Images (*.png *.jpg *.jpeg *.bmp *.webp)"));
    if (!path.isEmpty())
        openImageFile(path);
}

void EditDialog::fail(const QString &text)
{
    m_resultText = text;
    m_status->setText(text);
    emit finishedEdit(false, text);
}

void EditDialog::start()
{
    if (isRunning())
        return;
    if (m_canvas->image().isNull())
        return fail(tr("No image to edit: open an image first."));
    if (m_prompt->text().trimmed().isEmpty())
        return fail(tr("Class: type the class to generate (e.g. sneaker)."));
    if (mode() == Inpaint && m_canvas->maskedPixels() == 0)
        return fail(tr("Mask: paint the region to regenerate first (Brush)."));

    EditJob job;
    job.settings = m_settings;
    job.settings.prompt = m_prompt->text().trimmed();
    job.settings.steps = m_steps->value();
    job.settings.cfgScale = m_cfg->value();
    job.settings.seed = quint64(m_seed->value());
    job.settings.sampler = m_sampler->currentText();
    const Mode mode = this->mode();
    job.mode = mode == Inpaint ? ditstudio::EditMode::Inpaint
        : mode == Invert       ? ditstudio::EditMode::Invert
                               : ditstudio::EditMode::Img2Img;
    job.image = m_canvas->image();
    job.mask = m_canvas->mask();
    job.strength = m_strength->value() / 100.0;
    job.feather = m_feather->value();
    job.sourcePrompt = m_sourcePrompt->text();
    m_runSettings = job.settings;
    m_runSettings.batchCount = 1;
    m_runDescription = QStringLiteral("%1 %2")
                           .arg(QString::fromLatin1(ditstudio::editModeName(job.mode)))
                           .arg(job.strength, 0, 'f', 2);

    m_resultText.clear();
    m_runButton->setEnabled(false);
    m_cancelButton->setEnabled(true);
    m_saveButton->setEnabled(false);
    m_progress->setRange(0, 0); // busy until the first step
    m_status->setText(tr("Starting…"));
    auto outcome = std::make_shared<EditOutcome>();
    m_outcome = outcome;
    const QString title = QStringLiteral("%1 · %2").arg(m_runDescription, job.settings.prompt);
    submitJob(JobKind::EditImage, title,
              [job, outcome](ditstudio::EngineSession &engine, const JobContext &context,
                             const ditstudio::CancelToken &cancel) {
                  *outcome = runEdit(engine, job, context, cancel);
                  return jobResultOf(*outcome);
              });
}

void EditDialog::onJobProgress(int done, int total, const QString &)
{
    m_progress->setRange(0, total);
    m_progress->setValue(done);
    if (!isCancelRequested())
        m_status->setText(tr("Step %1 of %2").arg(done).arg(total));
}

void EditDialog::onJobPreview(const QImage &preview)
{
    if (!preview.isNull())
        m_afterView->setImage(preview); // the step-by-step x̂₀ preview
}

void EditDialog::onJobFinished(const JobInfo &info)
{
    const EditOutcome outcome = takeOutcome(m_outcome, info);
    m_resultText = outcome.text;
    m_status->setText(outcome.text);
    m_progress->setRange(0, 1);
    m_progress->setValue(outcome.ok ? 1 : 0);
    m_runButton->setEnabled(true);
    m_cancelButton->setEnabled(false);
    if (outcome.ok) {
        m_before = outcome.before;
        m_after = outcome.after;
        m_conditioning = outcome.conditioning;
        m_beforeView->setImage(m_before);
        m_afterView->setImage(m_after);
        m_saveButton->setEnabled(true);
    } else {
        m_afterView->setImage(m_after); // back to the last finished result (or empty)
    }
    emit finishedEdit(outcome.ok, outcome.text);
}

bool EditDialog::saveResultTo(const QString &path, bool overwrite)
{
    if (m_after.isNull()) {
        m_resultText = tr("Nothing to save: run an edit first.");
        m_status->setText(m_resultText);
        return false;
    }
    const std::vector<std::pair<std::string, std::string>> chunks
        = {{"ditstudio-edit",
            QStringLiteral("mode: %1, class: %2, strength: %3, steps: %4, seed: %5")
                .arg(m_mode->currentText(), m_conditioning)
                .arg(m_strength->value() / 100.0)
                .arg(m_steps->value())
                .arg(m_seed->value())
                .toStdString()}};
    auto r = EngineModule::writePng(path.toStdString(), toDitImage(m_after), chunks, overwrite);
    m_resultText = r.ok() ? tr("Saved %1").arg(QDir::toNativeSeparators(path))
                          : QString::fromStdString(r.error().toString());
    m_status->setText(m_resultText);
    return r.ok();
}

void EditDialog::saveResult()
{
    // QFileDialog asks before replacing a file, so an overwrite here is never silent.
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Save edited image"), QDir(m_startFolder).filePath(QStringLiteral("edited.png")),
        tr("PNG images (*.png)"));
    if (!path.isEmpty())
        saveResultTo(path, QFileInfo::exists(path));
}
