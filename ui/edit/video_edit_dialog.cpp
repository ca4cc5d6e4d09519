#include "edit/video_edit_dialog.h"

#include "engine/engine_module.h"
#include "widgets/image_conversion.h"
#include "widgets/image_view.h"

#include "ditstudio/editing.h"
#include "ditstudio/engine.h"
#include "ditstudio/video.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QVBoxLayout>

#include <cmath>
#include <limits>

namespace {

struct VideoEditJob {
    GenerationSettings settings;
    QString input;
    QString output;
    double strength = 0.6;
    double smoothing = 0.0;
    int outputScale = 1;
};

// Runs on the engine thread with the loaded model (never a model of its own).
VideoEditOutcome runVideoEdit(ditstudio::EngineSession &engine, const VideoEditJob &job,
                              const JobContext &context, const ditstudio::CancelToken &cancel)
{
    using namespace ditstudio;
    VideoEditOutcome out;
    QString error;
    auto generate = job.settings.toRequest(job.settings.seed, &error);
    if (!generate) {
        out.text = error;
        return out;
    }
    generate->batch = 1;
    VideoEditRequest request;
    request.inputPath = job.input.toStdString();
    request.outputPath = job.output.toStdString();
    request.overwrite = false; // the dialog refuses existing files; never replace one silently
    request.edit.mode = EditMode::Img2Img;
    request.edit.generate = *generate;
    request.edit.strength = job.strength;
    request.temporalSmoothing = job.smoothing;
    request.outputScale = job.outputScale;

    int framesDone = 0;
    auto r = engine.editVideo(
        request,
        [&](const VideoEditProgress &p) {
            framesDone = p.frame + 1;
            context.progress(p.frame + 1, p.totalFrames, QString());
            if (!p.after.empty())
                context.preview(toQImage(p.after));
        },
        cancel);
    if (!r.ok()) {
        out.text = QString::fromStdString(r.error().toString());
        return out;
    }
    if (r->status == JobStatus::Cancelled) {
        out.cancelled = true;
        out.text = QObject::tr("Cancelled after %1 frames; no video was written.").arg(framesDone);
        return out;
    }
    out.ok = true;
    out.frames = r->frames;
    out.fps = r->fps;
    out.text = QObject::tr("Wrote %1: %2 frames at %3 fps in %4 s")
                   .arg(QDir::toNativeSeparators(QString::fromStdString(r->outputPath)))
                   .arg(r->frames)
                   .arg(r->fps, 0, 'g', 4)
                   .arg(r->seconds, 0, 'f', 2);
    return out;
}

} // namespace

VideoEditDialog::VideoEditDialog(GenerationController *engine, const GenerationSettings &settings,
                                 QWidget *parent)
    : JobDialog(engine, parent), m_settings(settings)
{
    setWindowTitle(tr("Edit video"));
    setObjectName(QStringLiteral("videoEditDialog"));

    m_input = new QLineEdit(this);
    m_input->setObjectName(QStringLiteral("videoEditInput"));
    m_input->setPlaceholderText(tr("a video file (type a path or Open…)"));
    // A typed or pasted path is opened when the field is left or Return is pressed.
    connect(m_input, &QLineEdit::editingFinished, this, [this] {
        const QString typed = QDir::fromNativeSeparators(m_input->text().trimmed());
        if (!typed.isEmpty() && typed != m_inputPath)
            setInputPath(typed);
    });
    auto *openButton = new QPushButton(tr("Open…"), this);
    connect(openButton, &QPushButton::clicked, this, &VideoEditDialog::browseInput);
    auto *inputRow = new QHBoxLayout;
    inputRow->addWidget(m_input, 1);
    inputRow->addWidget(openButton);

    m_output = new QLineEdit(this);
    m_output->setObjectName(QStringLiteral("videoEditOutput"));
    m_output->setPlaceholderText(tr("edited.mp4 (.mp4, .webm or .gif)"));
    auto *saveAsButton = new QPushButton(tr("Browse…"), this);
    connect(saveAsButton, &QPushButton::clicked, this, &VideoEditDialog::browseOutput);
    auto *outputRow = new QHBoxLayout;
    outputRow->addWidget(m_output, 1);
    outputRow->addWidget(saveAsButton);

    m_info = new QLabel(tr("No video"), this);
    m_info->setObjectName(QStringLiteral("videoEditInfo"));

    m_prompt = new QLineEdit(settings.prompt, this);
    m_prompt->setObjectName(QStringLiteral("videoEditPrompt"));
    m_prompt->setPlaceholderText(tr("class to generate, e.g. sneaker"));
    m_strength = new QDoubleSpinBox(this);
    m_strength->setRange(0.0, 1.0);
    m_strength->setSingleStep(0.05);
    m_strength->setValue(0.6);
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
    m_smoothing = new QDoubleSpinBox(this);
    m_smoothing->setRange(0.0, 0.95); // the backend needs a < 1
    m_smoothing->setSingleStep(0.05);
    m_smoothing->setValue(0.0);
    m_smoothing->setToolTip(tr("Blend each edited latent with the previous frame's (0 = off): less flicker"));
    m_scale = new QSpinBox(this);
    m_scale->setObjectName(QStringLiteral("videoEditScale"));
    m_scale->setRange(1, 16);
    m_scale->setValue(1);
    m_scale->setPrefix(QStringLiteral("×"));
    m_scale->setToolTip(
        tr("Enlarge the model-size frames by this factor in the written video (nearest pixels)"));

    // Rows whose field is a layout get a label with a buddy: QFormLayout would show the '&' literally.
    auto *form = new QFormLayout;
    auto labelFor = [this](const QString &text, QWidget *buddy) {
        auto *label = new QLabel(text, this);
        label->setBuddy(buddy);
        return label;
    };
    form->addRow(labelFor(tr("&Input"), m_input), inputRow);
    form->addRow(tr("Video"), m_info);
    form->addRow(labelFor(tr("&Output"), m_output), outputRow);
    form->addRow(tr("&Class"), m_prompt);
    form->addRow(tr("S&trength"), m_strength);
    form->addRow(tr("&Steps"), m_steps);
    form->addRow(tr("C&FG scale"), m_cfg);
    form->addRow(tr("S&eed"), m_seed);
    form->addRow(tr("Sa&mpler"), m_sampler);
    form->addRow(tr("Temporal s&moothing"), m_smoothing);
    form->addRow(tr("&Upscale"), m_scale);

    m_inputView = new ImageView(this);
    m_inputView->setObjectName(QStringLiteral("videoEditInputFrame"));
    m_inputView->setPlaceholderText(tr("Input frame"));
    m_inputView->setMinimumSize(200, 200);
    m_outputView = new ImageView(this);
    m_outputView->setObjectName(QStringLiteral("videoEditOutputFrame"));
    m_outputView->setPlaceholderText(tr("Latest edited frame"));
    m_outputView->setMinimumSize(200, 200);
    m_frameSlider = new QSlider(Qt::Horizontal, this);
    m_frameSlider->setObjectName(QStringLiteral("videoEditFrameSlider"));
    m_frameSlider->setRange(0, 0);
    m_frameSlider->setEnabled(false);
    m_frameLabel = new QLabel(this);
    m_frameLabel->setMinimumWidth(70);
    connect(m_frameSlider, &QSlider::valueChanged, this, &VideoEditDialog::showInputFrame);
    auto *sliderRow = new QHBoxLayout;
    sliderRow->addWidget(m_frameSlider, 1);
    sliderRow->addWidget(m_frameLabel);

    auto *framesBox = new QGroupBox(tr("Input frame / latest edited frame"), this);
    auto *framesLayout = new QVBoxLayout(framesBox);
    auto *views = new QHBoxLayout;
    views->addWidget(m_inputView);
    views->addWidget(m_outputView);
    framesLayout->addLayout(views, 1);
    framesLayout->addLayout(sliderRow);

    m_progress = new QProgressBar(this);
    m_progress->setObjectName(QStringLiteral("videoEditProgress"));
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progress->setFormat(tr("no video"));
    m_status = new QLabel(tr("Open a video, choose an output file, and run."), this);
    m_status->setObjectName(QStringLiteral("videoEditStatus"));
    m_status->setWordWrap(true);

    auto *buttons = new QDialogButtonBox(this);
    m_runButton
        = buttons->addButton(tr("Run"), QDialogButtonBox::ActionRole); // not Accept: never the default
    m_runButton->setObjectName(QStringLiteral("videoEditRun"));
    m_cancelButton = buttons->addButton(tr("Cancel edit"), QDialogButtonBox::ActionRole);
    setJobWidgets(m_status, m_cancelButton);
    m_cancelButton->setObjectName(QStringLiteral("videoEditCancel"));
    m_cancelButton->setEnabled(false);
    buttons->addButton(QDialogButtonBox::Close);

    connect(m_runButton, &QPushButton::clicked, this, &VideoEditDialog::start);
    connect(m_cancelButton, &QPushButton::clicked, this, &VideoEditDialog::cancel);
    connect(buttons, &QDialogButtonBox::rejected, this, &VideoEditDialog::reject);

    auto *top = new QHBoxLayout;
    top->addWidget(framesBox, 1);
    top->addLayout(form);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(top, 1);
    layout->addWidget(m_progress);
    layout->addWidget(m_status);
    layout->addWidget(buttons);
    // Return in a field opens what was typed; it must not also press a button (Open…, Run).
    for (QPushButton *b : findChildren<QPushButton *>())
        b->setAutoDefault(false);
}

VideoEditDialog::~VideoEditDialog() = default; // JobDialog cancels a job that still runs or waits

bool VideoEditDialog::setInputPath(const QString &path)
{
    auto *engine = EngineModule::api();
    auto info = engine ? engine->probeVideo(path.toStdString())
                       : ditstudio::Result<ditstudio::VideoInfo>(EngineModule::unavailableError());
    if (!info.ok()) {
        m_inputPath.clear();
        m_frameCount = 0;
        m_info->setText(tr("No video"));
        m_progress->setRange(0, 1);
        m_progress->setValue(0);
        m_progress->setFormat(tr("no video"));
        m_frameSlider->setRange(0, 0);
        m_frameSlider->setEnabled(false);
        m_inputView->clear();
        m_previewImage = QImage();
        m_resultText
            = tr("Cannot read the video %1: %2")
                  .arg(QDir::toNativeSeparators(path), QString::fromStdString(info.error().toString()));
        m_status->setText(m_resultText);
        return false;
    }
    m_inputPath = path;
    m_input->setText(QDir::toNativeSeparators(path));
    m_frameCount = int(qMax<std::int64_t>(0, info->frameCount));
    m_info->setText(tr("%1×%2, %3 fps, %4%5 frames, %6 s")
                        .arg(info->width)
                        .arg(info->height)
                        .arg(info->fps, 0, 'g', 4)
                        .arg(info->frameCountExact ? QString() : QStringLiteral("~"))
                        .arg(m_frameCount)
                        .arg(info->durationSeconds, 0, 'f', 2));
    if (m_output->text().isEmpty()) {
        const QFileInfo fi(path);
        m_output->setText(fi.dir().filePath(fi.completeBaseName() + QStringLiteral("-edited.")
                                            + (fi.suffix().isEmpty() ? QStringLiteral("mp4") : fi.suffix())));
    }
    // The bar counts this video's frames from the start (the container's count, maybe an estimate).
    m_progress->setRange(0, qMax(1, m_frameCount));
    m_progress->setValue(0);
    m_progress->setFormat(tr("%v / %m frames"));
    const QSignalBlocker block(m_frameSlider);
    m_frameSlider->setRange(0, qMax(0, m_frameCount - 1));
    m_frameSlider->setValue(0);
    m_frameSlider->setEnabled(m_frameCount > 1);
    showInputFrame(0);
    m_resultText = tr("Opened %1").arg(QFileInfo(path).fileName());
    m_status->setText(m_resultText);
    return true;
}

QString VideoEditDialog::infoText() const
{
    return m_inputPath.isEmpty() ? QString() : m_info->text();
}

int VideoEditDialog::inputFrameCount() const
{
    return m_frameCount;
}

void VideoEditDialog::showInputFrame(int index)
{
    if (m_inputPath.isEmpty())
        return;
    if (m_frameSlider->value() != index) {
        const QSignalBlocker block(m_frameSlider);
        m_frameSlider->setValue(index);
    }
    // A fresh reader per look-up: browsing is occasional, and seeking is by frame index.
    auto *engine = EngineModule::api();
    QString problem;
    if (!engine) {
        problem = QString::fromStdString(EngineModule::unavailableError().toString());
    } else if (auto frame = engine->readVideoFrame(m_inputPath.toStdString(), index); !frame.ok()) {
        problem = QString::fromStdString(frame.error().toString());
    } else if (!frame->has_value()) {
        problem = tr("frame %1 is past the end").arg(index);
    } else {
        m_previewImage = toQImage((*frame)->image);
        // Small model-sized videos are enlarged smoothly so the preview is readable.
        const QImage shown = m_previewImage.width() < 256
            ? m_previewImage.scaled(256, 256, Qt::KeepAspectRatio, Qt::SmoothTransformation)
            : m_previewImage;
        m_inputView->setImage(shown);
    }
    m_frameLabel->setText(tr("%1 / %2").arg(index + 1).arg(m_frameCount));
    if (!problem.isEmpty())
        m_status->setText(tr("Cannot show frame %1: %2").arg(index + 1).arg(problem));
}

void VideoEditDialog::setOutputPath(const QString &path)
{
    m_output->setText(path);
}

void VideoEditDialog::setPrompt(const QString &prompt)
{
    m_prompt->setText(prompt);
}

void VideoEditDialog::setStrength(double strength)
{
    m_strength->setValue(strength);
}

void VideoEditDialog::setSteps(int steps)
{
    m_steps->setValue(steps);
}

void VideoEditDialog::setSeed(int seed)
{
    m_seed->setValue(seed);
}

void VideoEditDialog::setTemporalSmoothing(double amount)
{
    m_smoothing->setValue(amount);
}

void VideoEditDialog::browseInput()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Open video to edit"), m_startFolder,
                                                      tr("Videos (*.mp4 *.mov *.mkv *.webm *.gif *.avi)"));
    if (!path.isEmpty())
        setInputPath(path);
}

void VideoEditDialog::browseOutput()
{
    // No overwrite confirmation: start() refuses existing files, so nothing is replaced silently.
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Save edited video"),
        m_output->text().isEmpty() ? QDir(m_startFolder).filePath(QStringLiteral("edited.mp4"))
                                   : m_output->text(),
        tr("Videos (*.mp4 *.webm *.gif)"), nullptr, QFileDialog::DontConfirmOverwrite);
    if (!path.isEmpty())
        m_output->setText(path);
}

void VideoEditDialog::fail(const QString &text)
{
    m_resultText = text;
    m_status->setText(text);
    emit finishedEdit(false, text);
}

void VideoEditDialog::start()
{
    if (isRunning())
        return;
    if (m_inputPath.isEmpty())
        return fail(tr("No video to edit: open a video first."));
    const QString output = m_output->text().trimmed();
    if (output.isEmpty())
        return fail(tr("Output: choose a file to write (.mp4, .webm or .gif)."));
    if (QFileInfo::exists(output))
        return fail(tr("Output: %1 already exists; choose another name (it is never replaced).")
                        .arg(QDir::toNativeSeparators(output)));
    if (m_prompt->text().trimmed().isEmpty())
        return fail(tr("Class: type the class to generate (e.g. sneaker)."));

    VideoEditJob job;
    job.settings = m_settings;
    job.settings.prompt = m_prompt->text().trimmed();
    job.settings.steps = m_steps->value();
    job.settings.cfgScale = m_cfg->value();
    job.settings.seed = quint64(m_seed->value());
    job.settings.sampler = m_sampler->currentText();
    job.input = m_inputPath;
    job.output = output;
    job.strength = m_strength->value();
    job.smoothing = m_smoothing->value();
    job.outputScale = m_scale->value();

    m_resultText.clear();
    m_lastEdited = QImage();
    m_outputView->clear();
    m_runButton->setEnabled(false);
    m_cancelButton->setEnabled(true);
    m_progress->setRange(0, 0); // busy until the first frame
    m_progress->setFormat(tr("%v / %m frames"));
    m_status->setText(tr("Starting…"));
    auto outcome = std::make_shared<VideoEditOutcome>();
    m_outcome = outcome;
    const QString title
        = QStringLiteral("%1 → %2").arg(QFileInfo(job.input).fileName(), QFileInfo(job.output).fileName());
    submitJob(JobKind::EditVideo, title,
              [job, outcome](ditstudio::EngineSession &engine, const JobContext &context,
                             const ditstudio::CancelToken &cancel) {
                  *outcome = runVideoEdit(engine, job, context, cancel);
                  return jobResultOf(*outcome);
              });
}

void VideoEditDialog::onJobProgress(int done, int total, const QString &)
{
    // The container's count is an estimate; never let the bar run past its end.
    const int max = qMax(qMax(total, m_frameCount), done);
    m_progress->setRange(0, max);
    m_progress->setValue(done);
    if (!isCancelRequested())
        m_status->setText(tr("Frame %1 of %2").arg(done).arg(max));
}

void VideoEditDialog::onJobPreview(const QImage &after)
{
    if (after.isNull())
        return;
    m_lastEdited = after;
    m_outputView->setImage(
        after.width() < 256 ? after.scaled(256, 256, Qt::KeepAspectRatio, Qt::SmoothTransformation) : after);
}

void VideoEditDialog::onJobFinished(const JobInfo &info)
{
    const VideoEditOutcome outcome = takeOutcome(m_outcome, info);
    m_resultText = outcome.text;
    m_status->setText(outcome.text);
    if (outcome.ok) {
        m_progress->setRange(0, qMax(1, outcome.frames));
        m_progress->setValue(outcome.frames);
    } else {
        m_progress->setRange(0, qMax(1, m_frameCount));
        m_progress->setValue(0);
    }
    m_runButton->setEnabled(true);
    m_cancelButton->setEnabled(false);
    emit finishedEdit(outcome.ok, outcome.text);
}
