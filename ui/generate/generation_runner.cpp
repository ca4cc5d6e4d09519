#include "generate/generation_runner.h"

#include "generate/generate_panel.h"
#include "generate/preview_panel.h"
#include "generate/prompt_checker.h"
#include "history/history_panel.h"
#include "inside/inside_panel.h"
#include "widgets/error_box.h"

#include <QAction>
#include <QKeySequence>
#include <QLineEdit>
#include <QMenu>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QToolButton>

namespace {

constexpr int kStatusTimeoutMs = 8000;

QString formatSeconds(double seconds)
{
    if (seconds < 60)
        return QStringLiteral("%1 s").arg(seconds, 0, 'f', 1);
    const int total = static_cast<int>(seconds + 0.5);
    return QStringLiteral("%1:%2").arg(total / 60).arg(total % 60, 2, 10, QLatin1Char('0'));
}

} // namespace

GenerationRunner::GenerationRunner(GenerationController *controller, GeneratePanel *panel,
                                   PromptChecker *prompts, PreviewPanel *preview, InsidePanel *inside,
                                   HistoryRecorder *recorder, QWidget *window)
    : QObject(window), m_controller(controller), m_panel(panel), m_prompts(prompts), m_preview(preview),
      m_inside(inside), m_recorder(recorder), m_window(window), m_progress(new QProgressBar(window)),
      m_generateAction(new QAction(tr("&Generate"), window)),
      m_cancelAction(new QAction(tr("&Stop now"), window)),
      m_cancelAfterAction(new QAction(tr("Stop &after the current image"), window))
{
    m_progress->setObjectName(QStringLiteral("progress"));
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progress->setTextVisible(true);
    m_progress->setAlignment(Qt::AlignCenter);
    m_progress->setFormat(tr("Idle"));

    m_generateAction->setShortcuts(
        {QKeySequence(Qt::CTRL | Qt::Key_Return), QKeySequence(Qt::CTRL | Qt::Key_Enter)});
    connect(m_generateAction, &QAction::triggered, this, [this] { start(); });
    m_cancelAction->setShortcut(QKeySequence(Qt::Key_Escape));
    m_cancelAction->setObjectName(QStringLiteral("cancelAction"));
    connect(m_cancelAction, &QAction::triggered, this, [this] { cancel(); });
    m_cancelAfterAction->setShortcut(QKeySequence(Qt::SHIFT | Qt::Key_Escape));
    m_cancelAfterAction->setObjectName(QStringLiteral("cancelAfterAction"));
    connect(m_cancelAfterAction, &QAction::triggered, this,
            [this] { cancel(GenerationController::CancelMode::AfterCurrentItem); });
    connect(panel->generateButton(), &QPushButton::clicked, m_generateAction, &QAction::trigger);
    QToolButton *cancelButton = panel->cancelButton();
    auto *cancelMenu = new QMenu(cancelButton);
    cancelMenu->addAction(m_cancelAction);
    cancelMenu->addAction(m_cancelAfterAction);
    cancelButton->setMenu(cancelMenu);
    connect(cancelButton, &QToolButton::clicked, m_cancelAction, &QAction::trigger);

    connect(controller, &GenerationController::itemStarted, this, &GenerationRunner::onItemStarted);
    connect(controller, &GenerationController::stepFinished, this, &GenerationRunner::onStepFinished);
    connect(controller, &GenerationController::previewReady, this, &GenerationRunner::onPreviewReady);
    connect(controller, &GenerationController::probesReady, inside,
            [inside](const InsideProbes &probes, int step) { inside->addProbes(step, probes); });
    connect(controller, &GenerationController::itemFinished, this, &GenerationRunner::onItemFinished);
    connect(controller, &GenerationController::finished, this, &GenerationRunner::onFinished);
    connect(inside, &InsidePanel::interventionRequested, this, &GenerationRunner::startIntervention);
}

bool GenerationRunner::canGenerate() const
{
    return m_generateAction->isEnabled();
}

void GenerationRunner::updateActions()
{
    const bool busy = m_controller->isBusy();
    const bool ready = m_controller->hasModel() && !busy && !m_controller->isLoading();
    QPushButton *generateButton = m_panel->generateButton();
    QToolButton *cancelButton = m_panel->cancelButton();
    // A button that gets disabled while it has focus would hand focus to the next widget in tab
    // order; keep it on the prompt instead so typing continues to work.
    if ((generateButton->hasFocus() && !ready) || (cancelButton->hasFocus() && !busy))
        m_panel->prompt()->setFocus();
    generateButton->setEnabled(ready);
    m_generateAction->setEnabled(ready);
    cancelButton->setEnabled(busy);
    m_cancelAction->setEnabled(busy);
    m_cancelAfterAction->setEnabled(busy && !m_controller->isCancelling());
}

GenerationSettings GenerationRunner::currentSettings() const
{
    GenerationSettings s = m_panel->settings();
    if (m_controller->hasModel()) {
        const ModelSummary &m = m_controller->model();
        s.embeddedDefault = m.embeddedDefault;
        s.modelPath = m.path;
        s.modelHash = m.weightHash;
        s.modelArchitecture = m.architecture;
        // What the model was actually loaded with (the panel may have changed since).
        s.vaePath = m.vaePath;
        s.precision = m.precision;
        if (!m.device.isEmpty())
            s.device = m.device;
    }
    return s;
}

bool GenerationRunner::start()
{
    if (!m_controller->hasModel() || m_controller->isBusy() || m_controller->isLoading())
        return false;
    QString refusal;
    if (!m_prompts->acceptForRun(&refusal)) {
        emit statusMessage(refusal, kStatusTimeoutMs);
        return false;
    }
    const QString prompt = m_panel->prompt()->text().trimmed();
    GenerationSettings settings = currentSettings();
    const QList<quint64> seeds = settings.jobSeeds();
    QString error;
    auto request = settings.toRequest(seeds.front(), &error);
    if (!request) {
        showErrorBox(m_window, tr("Cannot generate"), error);
        return false;
    }
    if (m_inside->isRecording()) {
        request->probes = m_inside->probeOptions(request->steps);
        request->cacheInterval = 1; // the probes look inside every step's blocks: exact run
    }
    if (settings.seedMode == SeedMode::Random)
        m_panel->seed()->setValue(static_cast<int>(seeds.back()));
    if (m_controller->generate(*request, seeds) == 0)
        return false;
    m_jobSettings = settings;
    m_lastBatch.clear();
    m_jobItem = 0;
    m_jobItems = static_cast<int>(seeds.size());
    m_jobTimer.start();
    m_progress->setRange(0, request->steps * m_jobItems);
    m_progress->setValue(0);
    m_progress->setFormat(tr("Starting…"));
    emit statusMessage(m_jobItems > 1 ? tr("Generating %1 images of “%2”…").arg(m_jobItems).arg(prompt)
                                      : tr("Generating “%1”…").arg(prompt),
                       0);
    emit runStarted();
    return true;
}

void GenerationRunner::cancel(GenerationController::CancelMode mode)
{
    if (!m_controller->isBusy())
        return;
    m_controller->cancel(mode);
    if (mode == GenerationController::CancelMode::Now)
        m_progress->setFormat(tr("Cancelling…"));
    else
        emit statusMessage(tr("Stopping after the current image…"), 0);
}

void GenerationRunner::onItemStarted(int index, int count, quint64 seed, const QString &conditioning)
{
    m_jobItem = index;
    const QString what = conditioning.isEmpty() ? m_jobSettings.prompt : conditioning;
    m_inside->beginRun(m_jobSettings.steps,
                       m_interventionJob ? tr("%1 · seed %2 with interventions").arg(what).arg(seed)
                                         : tr("%1 · seed %2").arg(what).arg(seed));
    m_preview->beginRun(
        m_jobSettings.steps,
        count > 1 ? tr("%1 — image %2 of %3 · seed %4").arg(what).arg(index + 1).arg(count).arg(seed)
                  : tr("%1 · seed %2").arg(what).arg(seed));
}

void GenerationRunner::onStepFinished(int step, int total, double timestep, double sigma, double)
{
    m_preview->addStep(step, timestep, sigma);
    m_inside->setTimestep(step, timestep);
    const int overallTotal = total * qMax(1, m_jobItems);
    const int overall = m_jobItem * total + step;
    if (m_progress->maximum() != overallTotal)
        m_progress->setRange(0, overallTotal);
    m_progress->setValue(overall);
    if (m_controller->isCancelling() && m_controller->isBusy()
        && m_progress->format().startsWith(tr("Cancelling")))
        return;
    // ETA over the whole job: the mean time per step so far times the steps left.
    const double elapsed = m_jobTimer.nsecsElapsed() / 1e9;
    const double eta = overall > 0 ? elapsed / overall * (overallTotal - overall) : 0.0;
    QString text = tr("step %1/%2 · t=%3 · %4 elapsed · ETA %5")
                       .arg(step)
                       .arg(total)
                       .arg(QString::number(timestep, 'f', 0), formatSeconds(elapsed), formatSeconds(eta));
    if (m_jobItems > 1)
        text = tr("image %1/%2 · ").arg(m_jobItem + 1).arg(m_jobItems) + text;
    m_progress->setFormat(text);
}

void GenerationRunner::onPreviewReady(const QImage &xt, const QImage &x0, int step)
{
    m_preview->addPreview(step, xt, x0);
    m_inside->addPreview(step, xt, x0);
}

void GenerationRunner::onItemFinished(quint64 jobId, const QImage &image, quint64 seed, double seconds,
                                      const QString &conditioning)
{
    if (jobId == m_interventionJob && m_interventionJob != 0)
        return; // an Inside-view re-run is never added to the history
    // Every finished image goes to the history at once (a batch does not wait for its last image).
    m_result.image = image;
    m_result.settings = m_jobSettings.forImage(seed);
    m_result.conditioning = conditioning;
    m_result.historyId
        = m_recorder->record(image, m_result.settings, conditioning, seconds, m_jobSettings.steps);
    m_lastBatch << qMakePair(image, tr("seed %1").arg(seed)); // the grid's title names the class
    emit changed();
}

void GenerationRunner::onFinished(const GenerationOutcome &outcome)
{
    using Status = GenerationOutcome::Status;
    if (outcome.jobId == m_interventionJob && m_interventionJob != 0) {
        onInterventionFinished(outcome);
        return;
    }
    // Each finished image went to the history as it finished (onItemFinished).
    if (!outcome.images.isEmpty()) {
        m_preview->finishRun(outcome.images.back());
        m_inside->finishRun(outcome.images.back());
    }
    switch (outcome.status) {
    case Status::Completed: {
        m_progress->setValue(m_progress->maximum());
        m_progress->setFormat(
            outcome.images.size() > 1
                ? tr("Done: %1 images in %2").arg(outcome.images.size()).arg(formatSeconds(outcome.seconds))
                : tr("Done: %1 steps in %2").arg(outcome.stepsDone).arg(formatSeconds(outcome.seconds)));
        QString message = tr("Generated “%1” (seed %2) in %3")
                              .arg(outcome.conditioning)
                              .arg(outcome.seeds.isEmpty() ? outcome.seed : outcome.seeds.back())
                              .arg(formatSeconds(outcome.seconds));
        if (!outcome.warnings.isEmpty())
            message += QStringLiteral(" — ") + outcome.warnings.join(QStringLiteral("; "));
        emit statusMessage(message, 0);
        break;
    }
    case Status::Cancelled:
        if (outcome.images.isEmpty())
            m_progress->setFormat(
                tr("Cancelled after %1 of %2 steps").arg(outcome.stepsDone).arg(m_progress->maximum()));
        else
            m_progress->setFormat(
                tr("Cancelled: kept %1 of %2 images").arg(outcome.images.size()).arg(outcome.itemsRequested));
        emit statusMessage(tr("Cancelled"), kStatusTimeoutMs);
        break;
    case Status::Failed:
        m_progress->setValue(0);
        m_progress->setFormat(tr("Failed"));
        emit statusMessage(tr("Generation failed"), kStatusTimeoutMs);
        showErrorBox(m_window, tr("Generation failed"), outcome.message);
        break;
    }
    emit changed();
}

void GenerationRunner::onInterventionFinished(const GenerationOutcome &outcome)
{
    // An Inside-view re-run: compared with the result it varies, never added to the history.
    using Status = GenerationOutcome::Status;
    m_interventionJob = 0;
    if (!outcome.images.isEmpty())
        m_preview->finishRun(outcome.images.back());
    if (outcome.status == Status::Completed && !outcome.images.isEmpty()) {
        m_inside->showInterventionResult(outcome.images.back());
        m_progress->setValue(m_progress->maximum());
        m_progress->setFormat(tr("Intervention re-run done in %1").arg(formatSeconds(outcome.seconds)));
    } else if (outcome.status == Status::Cancelled) {
        m_inside->interventionFailed(tr("cancelled"));
        m_progress->setFormat(tr("Cancelled"));
    } else {
        m_inside->interventionFailed(outcome.message);
        m_progress->setFormat(tr("Failed"));
    }
    emit changed();
}

void GenerationRunner::startIntervention(const ditstudio::Interventions &interventions,
                                         const QString &description)
{
    if (m_result.image.isNull() || !m_controller->hasModel()) {
        m_inside->interventionFailed(tr("generate an image first"));
        return;
    }
    if (m_controller->isBusy() || m_controller->isLoading()) {
        m_inside->interventionFailed(tr("wait for the running job to finish"));
        return;
    }
    // The last result's own settings and seed, so that only the interventions differ.
    const GenerationSettings settings = m_result.settings;
    QString error;
    auto request = settings.toRequest(settings.seed, &error);
    if (!request) {
        m_inside->interventionFailed(error);
        return;
    }
    request->interventions = interventions;
    request->cacheInterval = 1; // interventions change blocks that a cached call would skip
    if (m_inside->isRecording())
        request->probes = m_inside->probeOptions(request->steps);
    const quint64 job = m_controller->generate(*request, {settings.seed});
    if (job == 0) {
        m_inside->interventionFailed(tr("the engine is busy"));
        return;
    }
    m_interventionJob = job;
    m_jobSettings = settings;
    m_jobItem = 0;
    m_jobItems = 1;
    m_jobTimer.start();
    m_progress->setRange(0, request->steps);
    m_progress->setValue(0);
    m_progress->setFormat(tr("Re-running with %1…").arg(description));
    emit statusMessage(tr("Re-running seed %1 with %2").arg(settings.seed).arg(description), 0);
    emit changed();
}

void GenerationRunner::showHistoryEntry(const HistoryEntry &entry)
{
    if (m_controller->isBusy()) {
        // The running job owns the preview; the image shows when asked again after it.
        emit statusMessage(tr("A run is in progress: open the history image when it has finished"),
                           kStatusTimeoutMs);
        return;
    }
    const QImage image = HistoryPanel::imageOf(entry);
    const GenerationSettings &s = entry.settings;
    m_preview->showStill(
        image, tr("%1 · seed %2 (history)").arg(entry.conditioning).arg(s.seed),
        tr("finished image · %1 steps %2 · CFG %3").arg(entry.steps).arg(s.sampler).arg(s.cfgScale));
    // The bar describes what is shown, not the last run.
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progress->setFormat(tr("Showing a history image"));
}
