#include "edit/film_export_dialog.h"

#include "history/history_store.h"

#include "ditstudio/engine.h"
#include "ditstudio/runtime.h"
#include "ditstudio/video.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QStandardPaths>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <limits>

namespace {

/// What the worker thread needs; plain copies, so nothing is shared with the GUI thread.
struct ExportJob {
    GenerationSettings settings;
    QString path;
    JobKind kind = JobKind::Film; // Film or Walk
    ditstudio::FilmOptions film;
    ditstudio::WalkOptions walk;
    QString toPrompt;
};

// Runs on the engine thread with the loaded model (never a model of its own).
FilmExportOutcome runExport(ditstudio::EngineSession &engine, const ExportJob &job,
                            const ditstudio::CancelToken &cancel, const ditstudio::VideoProgress &progress)
{
    using namespace ditstudio;
    FilmExportOutcome out;
    const quint64 seed = job.settings.jobSeeds().value(0, job.settings.seed);
    QString error;
    auto request = job.settings.toRequest(seed, &error);
    if (!request) {
        out.text = error;
        return out;
    }
    request->batch = 1;
    VideoInfo video;
    JobStatus status = JobStatus::Completed;
    double encodeSeconds = 0;
    int frames = 0;
    if (job.kind == JobKind::Film) {
        auto r = engine.renderDenoisingFilm(*request, job.film, job.path.toStdString(), progress, cancel);
        if (!r.ok()) {
            out.text = QString::fromStdString(r.error().toString());
            return out;
        }
        status = r->status;
        video = r->video;
        encodeSeconds = r->encodeSeconds;
        frames = r->framesWritten;
    } else {
        WalkOptions wo = job.walk;
        wo.fromSeed = seed;
        if (!job.toPrompt.trimmed().isEmpty()) {
            auto m = engine.parsePrompt(job.toPrompt.trimmed().toStdString());
            if (!m.ok()) {
                out.text = QObject::tr("Walk target: %1").arg(QString::fromStdString(m.error().message));
                return out;
            }
            wo.toConditioning = m->conditioning;
        }
        auto r = engine.renderLatentWalk(*request, wo, job.path.toStdString(), progress, cancel);
        if (!r.ok()) {
            out.text = QString::fromStdString(r.error().toString());
            return out;
        }
        status = r->status;
        video = r->video;
        encodeSeconds = r->encodeSeconds;
        frames = r->framesWritten;
    }
    if (status == JobStatus::Cancelled) {
        out.cancelled = true;
        out.text = QObject::tr("Cancelled; nothing was written.");
        return out;
    }
    out.ok = true;
    out.text = QObject::tr("Wrote %1 (%2, %3×%4, %5 frames, %6 KiB; encoding %7 frames/s)")
                   .arg(QString::fromStdString(video.path), QString::fromStdString(video.codec))
                   .arg(video.width)
                   .arg(video.height)
                   .arg(frames)
                   .arg(video.fileBytes / 1024)
                   .arg(encodeSeconds > 0 ? frames / encodeSeconds : 0.0, 0, 'f', 0);
    return out;
}

} // namespace

FilmExportDialog::FilmExportDialog(GenerationController *engine, const GenerationSettings &settings,
                                   QWidget *parent)
    : JobDialog(engine, parent), m_settings(settings)
{
    setWindowTitle(tr("Export film"));
    setObjectName(QStringLiteral("filmExportDialog"));

    m_mode = new QComboBox(this);
    m_mode->addItem(tr("Denoising film (one frame per step)"));
    m_mode->addItem(tr("Latent walk (between two seeds / classes)"));
    m_mode->setObjectName(QStringLiteral("filmMode"));

    m_path = new QLineEdit(this);
    m_path->setObjectName(QStringLiteral("filmPath"));
    m_path->setText(QDir(defaultFilmFolder()).filePath(QStringLiteral("ditstudio-film.mp4")));
    auto *browseButton = new QToolButton(this);
    browseButton->setText(QStringLiteral("…"));
    connect(browseButton, &QToolButton::clicked, this, &FilmExportDialog::browse);
    auto *pathRow = new QHBoxLayout;
    pathRow->addWidget(m_path);
    pathRow->addWidget(browseButton);

    m_frames = new QComboBox(this);
    m_frames->addItem(tr("x_t and predicted x0 side by side"), QStringLiteral("both"));
    m_frames->addItem(tr("Noisy sample x_t"), QStringLiteral("xt"));
    m_frames->addItem(tr("Predicted clean image x0"), QStringLiteral("x0"));
    m_fps = new QSpinBox(this);
    m_fps->setRange(1, 60);
    m_fps->setValue(10);
    m_hold = new QDoubleSpinBox(this);
    m_hold->setRange(0, 60);
    m_hold->setValue(1.0);
    m_hold->setSuffix(tr(" s"));
    m_scale = new QSpinBox(this);
    m_scale->setRange(0, 64);
    m_scale->setSpecialValueText(tr("auto (short side ≥ 256 px)"));
    m_filter = new QComboBox(this);
    for (const char *name : {"nearest", "bilinear", "bicubic", "lanczos"})
        m_filter->addItem(QString::fromLatin1(name), QString::fromLatin1(name));
    m_caption = new QCheckBox(tr("Caption (step, timestep, noise level)"), this);
    m_caption->setChecked(true);
    m_overwrite = new QCheckBox(tr("Replace an existing file"), this);
    m_walkFrames = new QSpinBox(this);
    m_walkFrames->setRange(2, 1000);
    m_walkFrames->setValue(24);
    m_toSeed = new QSpinBox(this);
    m_toSeed->setRange(0, std::numeric_limits<int>::max());
    m_toSeed->setValue(
        static_cast<int>(std::min<quint64>(settings.seed + 1, std::numeric_limits<int>::max())));
    m_toPrompt = new QLineEdit(this);
    m_toPrompt->setPlaceholderText(tr("same class as the prompt"));

    auto *form = new QFormLayout;
    form->addRow(tr("Export"), m_mode);
    form->addRow(tr("File (.mp4, .webm, .gif)"), pathRow);
    form->addRow(tr("Frames"), m_frames);
    form->addRow(tr("Hold on the result"), m_hold);
    form->addRow(tr("Walk frames"), m_walkFrames);
    form->addRow(tr("Walk to seed"), m_toSeed);
    form->addRow(tr("Walk to class"), m_toPrompt);
    form->addRow(tr("Frames per second"), m_fps);
    form->addRow(tr("Upscale"), m_scale);
    form->addRow(tr("Filter"), m_filter);
    form->addRow(QString(), m_caption);
    form->addRow(QString(), m_overwrite);

    m_status = new QLabel(
        tr("Settings: %1, %2 steps, %3").arg(settings.prompt).arg(settings.steps).arg(settings.sampler),
        this);
    m_status->setWordWrap(true);
    m_status->setObjectName(QStringLiteral("filmStatus"));
    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 1);
    m_progress->setValue(0);

    m_buttons = new QDialogButtonBox(this);
    m_startButton = m_buttons->addButton(tr("Export"), QDialogButtonBox::AcceptRole);
    m_cancelButton = m_buttons->addButton(tr("Cancel export"), QDialogButtonBox::ActionRole);
    setJobWidgets(m_status, m_cancelButton);
    m_cancelButton->setEnabled(false);
    m_buttons->addButton(QDialogButtonBox::Close);
    connect(m_startButton, &QPushButton::clicked, this, &FilmExportDialog::start);
    connect(m_cancelButton, &QPushButton::clicked, this, &FilmExportDialog::cancel);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &FilmExportDialog::reject);
    connect(m_mode, &QComboBox::currentIndexChanged, this, &FilmExportDialog::updateMode);

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_progress);
    layout->addWidget(m_status);
    layout->addWidget(m_buttons);
    updateMode();
}

FilmExportDialog::~FilmExportDialog() = default; // JobDialog cancels a job that still runs or waits

QString FilmExportDialog::outputPath() const
{
    return m_path->text().trimmed();
}

void FilmExportDialog::setOutputPath(const QString &path)
{
    m_path->setText(path);
}

void FilmExportDialog::setMode(int mode)
{
    m_mode->setCurrentIndex(mode);
}

void FilmExportDialog::setWalkFrames(int frames)
{
    m_walkFrames->setValue(frames);
}

void FilmExportDialog::browse()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Export film"), outputPath(),
                                                      tr("Videos (*.mp4 *.webm *.gif)"));
    if (!path.isEmpty())
        m_path->setText(path);
}

void FilmExportDialog::updateMode()
{
    const bool film = m_mode->currentIndex() == 0;
    for (QWidget *w : {static_cast<QWidget *>(m_frames), static_cast<QWidget *>(m_hold)})
        w->setEnabled(film);
    for (QWidget *w : {static_cast<QWidget *>(m_walkFrames), static_cast<QWidget *>(m_toSeed),
                       static_cast<QWidget *>(m_toPrompt)})
        w->setEnabled(!film);
}

QString FilmExportDialog::defaultFilmFolder()
{
    // The user's Videos folder when it exists; a fresh home may have none (and a headless one no
    // Videos at all), so otherwise the app's own outputs folder, which start() creates.
    const QString movies = QStandardPaths::writableLocation(QStandardPaths::MoviesLocation);
    if (!movies.isEmpty() && QFileInfo(movies).isDir())
        return movies;
    return QDir(HistoryStore::dataDirectory()).filePath(QStringLiteral("outputs/films"));
}

void FilmExportDialog::reportFailure(const QString &text)
{
    m_status->setText(text);
    ditstudio::logError(QStringLiteral("Export film: %1").arg(text).toStdString()); // reaches the log panel
}

void FilmExportDialog::start()
{
    if (isRunning())
        return;
    ExportJob job;
    job.settings = m_settings;
    job.path = outputPath();
    const QString folder = QFileInfo(job.path).absolutePath();
    if (!QDir().mkpath(folder)) {
        reportFailure(tr("Cannot create the folder %1 for the film").arg(QDir::toNativeSeparators(folder)));
        return;
    }
    job.kind = m_mode->currentIndex() == 1 ? JobKind::Walk : JobKind::Film;
    auto codec = ditstudio::videoCodecForPath(job.path.toStdString());
    if (!codec.ok()) {
        reportFailure(QString::fromStdString(codec.error().message));
        return;
    }
    ditstudio::VideoWriterOptions vo;
    vo.codec = codec.value();
    vo.fps = m_fps->value();
    vo.overwrite = m_overwrite->isChecked();
    const auto filter = ditstudio::parseScaleFilter(m_filter->currentData().toString().toStdString());
    job.film.video = vo;
    job.film.frames = ditstudio::parseFilmFrames(m_frames->currentData().toString().toStdString()).value();
    job.film.holdSeconds = m_hold->value();
    job.film.scale = m_scale->value();
    job.film.filter = filter.value();
    job.film.caption = m_caption->isChecked();
    job.walk.video = vo;
    job.walk.frames = m_walkFrames->value();
    job.walk.toSeed = static_cast<std::uint64_t>(m_toSeed->value());
    job.walk.scale = m_scale->value();
    job.walk.filter = filter.value();
    job.walk.caption = m_caption->isChecked();
    job.toPrompt = m_toPrompt->text();

    m_ok = false;
    m_resultText.clear();
    m_startButton->setEnabled(false);
    m_cancelButton->setEnabled(true);
    m_progress->setRange(0, 0); // busy until the first frame
    m_status->setText(tr("Starting…"));
    auto outcome = std::make_shared<FilmExportOutcome>();
    m_outcome = outcome;
    const QString title = QStringLiteral("%1 → %2").arg(m_settings.prompt, QFileInfo(job.path).fileName());
    submitJob(job.kind, title,
              [job, outcome](ditstudio::EngineSession &engine, const JobContext &context,
                             const ditstudio::CancelToken &cancel) {
                  auto progress = [&context](int done, int total, const std::string &stage) {
                      context.progress(done, total, QString::fromStdString(stage));
                  };
                  *outcome = runExport(engine, job, cancel, progress);
                  return jobResultOf(*outcome);
              });
}

void FilmExportDialog::onJobProgress(int done, int total, const QString &stage)
{
    if (isCancelRequested())
        return;
    m_progress->setRange(0, total);
    m_progress->setValue(done);
    m_status->setText(tr("%1: frame %2 of %3").arg(stage).arg(done).arg(total));
}

void FilmExportDialog::onJobFinished(const JobInfo &info)
{
    const FilmExportOutcome outcome = takeOutcome(m_outcome, info);
    m_ok = outcome.ok;
    m_resultText = outcome.text;
    m_status->setText(outcome.text);
    if (!outcome.ok && !outcome.cancelled)
        ditstudio::logError(QStringLiteral("Export film: %1").arg(outcome.text).toStdString());
    m_progress->setRange(0, 1);
    m_progress->setValue(outcome.ok ? 1 : 0);
    m_startButton->setEnabled(true);
    m_cancelButton->setEnabled(false);
    emit finishedExport(outcome.ok, outcome.text);
}
