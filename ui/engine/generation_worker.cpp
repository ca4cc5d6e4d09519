#include "engine/generation_worker.h"

#include "engine/engine_module.h"
#include "engine/model_identity.h"
#include "widgets/image_conversion.h"

#include "ditstudio/runtime.h"

#include <QElapsedTimer>
#include <QFileInfo>

#include <exception>

namespace {

QString fromStd(const std::string &text)
{
    return QString::fromStdString(text);
}

ModelSummary summarize(const ditstudio::CheckpointInfo &info, const ModelLoadSpec &spec)
{
    ModelSummary s;
    s.path = fromStd(info.path);
    s.fileName = QFileInfo(s.path).fileName();
    s.architecture = fromStd(info.config.name());
    s.format = fromStd(info.format);
    s.embeddedDefault = spec.path.isEmpty();
    s.vaePath = spec.vaePath;
    s.precision = spec.precision;
    if (auto device = EngineModule::parseDevice(spec.device.toStdString()); device.ok())
        s.device = fromStd(device->toString());
    s.parameterCount = info.parameterCount;
    s.numClasses = info.config.numClasses;
    s.imageSize = info.config.inputSize;
    s.latentSpace = info.latentSpace;
    s.depth = info.config.depth;
    s.numHeads = info.config.numHeads;
    s.tokensPerSide = info.config.patchSize > 0 ? info.config.inputSize / info.config.patchSize : 0;
    for (const auto &name : info.classNames)
        s.classNames << fromStd(name);
    // Reads at most 2 MiB per weight file, so it is cheap next to the load itself.
    s.weightHash = quickWeightHash(s.path);
    return s;
}

} // namespace

GenerationWorker::GenerationWorker(QObject *parent) : QObject(parent) { }

GenerationWorker::~GenerationWorker() = default;

ditstudio::EngineSession *GenerationWorker::engine()
{
    if (!m_engine)
        m_engine = EngineModule::createSession();
    return m_engine.get();
}

void GenerationWorker::loadModel(const ModelLoadSpec &spec)
{
    ditstudio::LoadOptions options;
    options.device = spec.device.isEmpty() ? std::string("auto") : spec.device.toStdString();
    options.vaePath = spec.vaePath.toStdString();
    const auto dtype = ditstudio::parseDType(spec.precision.toStdString());
    if (!dtype.ok()) {
        emit loadFailed(QString::fromStdString(dtype.error().message));
        return;
    }
    options.dtype = *dtype;
    ditstudio::EngineSession *session = engine();
    if (!session) {
        emit loadFailed(fromStd(EngineModule::unavailableError().message));
        return;
    }
    const auto result = spec.path.isEmpty() ? session->loadDefaultModel(options)
                                            : session->loadModel(spec.path.toStdString(), options);
    if (!result.ok()) {
        emit loadFailed(fromStd(result.error().message));
        return;
    }
    m_spec = spec;
    emit modelLoaded(summarize(result.value(), spec));
}

void GenerationWorker::checkPrompt(const QString &prompt)
{
    PromptCheck check;
    check.prompt = prompt;
    if (!m_engine || !m_engine->hasModel()) {
        check.message = tr("no model loaded");
        emit promptChecked(check);
        return;
    }
    const auto match = m_engine->parsePrompt(prompt.trimmed().toStdString());
    if (match.ok()) {
        check.ok = true;
        check.conditioning = fromStd(match->conditioning.describe(m_engine->classNames()));
        for (const auto &w : match->warnings)
            check.warnings << fromStd(w);
    } else {
        check.message = fromStd(match.error().message);
    }
    emit promptChecked(check);
}

void GenerationWorker::generate(quint64 jobId, const ditstudio::GenerateRequest &requestIn,
                                const QList<quint64> &seedsIn, const ditstudio::CancelToken &cancel)
{
    QElapsedTimer wall;
    wall.start();
    const QList<quint64> seeds = seedsIn.isEmpty() ? QList<quint64> {requestIn.seed} : seedsIn;
    GenerationOutcome outcome;
    outcome.jobId = jobId;
    outcome.seed = seeds.front();
    outcome.itemsRequested = static_cast<int>(seeds.size());
    auto finish = [&](GenerationOutcome::Status status) {
        outcome.status = status;
        outcome.seconds = wall.nsecsElapsed() / 1e9;
        emit finished(outcome);
    };
    try {
        ditstudio::GenerateRequest request = requestIn;
        request.batch = 1;
        ditstudio::EngineSession *session = engine();
        if (!session) {
            outcome.message = fromStd(EngineModule::unavailableError().message);
            finish(GenerationOutcome::Status::Failed);
            return;
        }
        const auto classNames = session->classNames();
        // Resolve the prompt once, here rather than inside generate(), so that the outcome can carry
        // the matcher's notes and the resolved classes (for the status bar, history and PNG).
        if (!request.conditioning && !cancel.isCancelRequested()) {
            auto match = session->parsePrompt(request.prompt);
            if (!match.ok()) {
                outcome.message = fromStd(match.error().message);
                finish(GenerationOutcome::Status::Failed);
                return;
            }
            for (const auto &w : match->warnings)
                outcome.warnings << fromStd(w);
            request.conditioning = match->conditioning;
        }
        if (request.conditioning)
            outcome.conditioning = fromStd(request.conditioning->describe(classNames));

        ditstudio::GenerateObserver observer;
        observer.onStep = [this](const ditstudio::StepUpdate &u) {
            const int step = u.step + 1;
            emit stepFinished(step, u.totalSteps, u.timestep, u.sigma, u.elapsedSeconds);
            if (!u.previewXt.empty() && !u.previewX0.empty())
                emit previewReady(toQImage(u.previewXt.front()), toQImage(u.previewX0.front()), step);
            if (!u.probes.empty())
                emit probesReady(std::make_shared<const ditstudio::StepProbes>(u.probes), step);
        };
        for (int i = 0; i < seeds.size(); ++i) {
            // Any cancel request stops before the next image starts (also one that came while the
            // job waited in the queue); "after the current image" lets a running image finish.
            if (cancel.isCancelRequested()) {
                finish(GenerationOutcome::Status::Cancelled);
                return;
            }
            request.seed = seeds[i];
            emit itemStarted(i, static_cast<int>(seeds.size()), seeds[i], outcome.conditioning);
            auto result = session->generate(request, observer, cancel);
            if (!result.ok()) {
                outcome.message = fromStd(result.error().message);
                finish(GenerationOutcome::Status::Failed);
                return;
            }
            const auto &r = result.value();
            outcome.stepsDone += r.stepsDone;
            if (r.status == ditstudio::JobStatus::Cancelled) {
                if (!r.images.empty())
                    outcome.partial = toQImage(r.images.front());
                finish(GenerationOutcome::Status::Cancelled);
                return;
            }
            if (!r.images.empty()) {
                outcome.images << toQImage(r.images.front());
                outcome.seeds << seeds[i];
                outcome.itemSeconds << r.seconds;
                emit itemFinished(jobId, outcome.images.back(), seeds[i], r.seconds, outcome.conditioning);
            }
        }
        finish(GenerationOutcome::Status::Completed);
    } catch (const std::exception &e) {
        // The engine converts library exceptions itself; this only guards the Qt event loop.
        outcome.message = QString::fromUtf8(e.what());
        finish(GenerationOutcome::Status::Failed);
    }
}

void GenerationWorker::runTask(quint64 jobId, const EngineTask &task, const ditstudio::CancelToken &cancel)
{
    JobResult result;
    if (cancel.isCancelRequested()) {
        result.state = JobState::Cancelled;
        result.message = tr("Cancelled before it started.");
        emit taskFinished(jobId, result);
        return;
    }
    if (!m_engine || !m_engine->hasModel()) {
        result.message = tr("No model is loaded: load one first.");
        emit taskFinished(jobId, result);
        return;
    }
    JobContext context;
    context.jobId = jobId;
    context.progress = [this, jobId](int done, int total, const QString &stage) {
        emit jobProgress(jobId, done, total, stage);
    };
    context.preview = [this, jobId](const QImage &image) { emit jobPreview(jobId, image); };
    try {
        result = task(*m_engine, context, cancel);
    } catch (const std::exception &e) {
        // The engine converts library exceptions itself; this only guards the Qt event loop.
        result.state = JobState::Failed;
        result.message = QString::fromUtf8(e.what());
    }
    emit taskFinished(jobId, result);
}
