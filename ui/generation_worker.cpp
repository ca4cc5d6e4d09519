#include "generation_worker.h"

#include "image_conversion.h"

#include <QFileInfo>

#include <exception>

namespace {

QString fromStd(const std::string &text)
{
    return QString::fromStdString(text);
}

ModelSummary summarize(const ditstudio::CheckpointInfo &info)
{
    ModelSummary s;
    s.path = fromStd(info.path);
    s.fileName = QFileInfo(s.path).fileName();
    s.architecture = fromStd(info.config.name());
    s.format = fromStd(info.format);
    s.parameterCount = info.parameterCount;
    s.numClasses = info.config.numClasses;
    s.imageSize = info.config.inputSize;
    s.latentSpace = info.latentSpace;
    for (const auto &name : info.classNames)
        s.classNames << fromStd(name);
    return s;
}

} // namespace

GenerationWorker::GenerationWorker(QObject *parent)
    : QObject(parent)
{
}

GenerationWorker::~GenerationWorker() = default;

void GenerationWorker::loadModel(const QString &path)
{
    reportLoad(m_engine.loadModel(path.toStdString()));
}

void GenerationWorker::loadDefaultModel()
{
    reportLoad(m_engine.loadDefaultModel());
}

void GenerationWorker::reportLoad(const ditstudio::Result<ditstudio::CheckpointInfo> &result)
{
    if (result.ok())
        emit modelLoaded(summarize(result.value()));
    else
        emit loadFailed(fromStd(result.error().message));
}

void GenerationWorker::generate(quint64 jobId, const ditstudio::GenerateRequest &requestIn,
                                const ditstudio::CancelToken &cancel)
{
    GenerationOutcome outcome;
    outcome.jobId = jobId;
    outcome.seed = requestIn.seed;
    // A job cancelled while it waited in the queue never starts.
    if (cancel.isCancelled()) {
        outcome.status = GenerationOutcome::Status::Cancelled;
        emit finished(outcome);
        return;
    }
    try {
        ditstudio::GenerateRequest request = requestIn;
        const auto classNames = m_engine.classNames();
        // Resolve the prompt here rather than inside generate() so that the outcome can carry the
        // matcher's notes and the resolved classes (for the status bar and the PNG parameters).
        if (!request.conditioning) {
            auto match = m_engine.parsePrompt(request.prompt);
            if (!match.ok()) {
                outcome.message = fromStd(match.error().message);
                emit finished(outcome);
                return;
            }
            for (const auto &w : match->warnings)
                outcome.warnings << fromStd(w);
            request.conditioning = match->conditioning;
        }
        outcome.conditioning = fromStd(request.conditioning->describe(classNames));

        ditstudio::GenerateObserver observer;
        observer.onStep = [this](const ditstudio::StepUpdate &u) {
            const int step = u.step + 1;
            emit stepFinished(step, u.totalSteps, u.timestep, u.elapsedSeconds);
            if (!u.previewXt.empty() && !u.previewX0.empty())
                emit previewReady(toQImage(u.previewXt.front()), toQImage(u.previewX0.front()), step);
        };
        auto result = m_engine.generate(request, observer, cancel);
        if (!result.ok()) {
            outcome.message = fromStd(result.error().message);
            emit finished(outcome);
            return;
        }
        const auto &r = result.value();
        outcome.status = r.status == ditstudio::JobStatus::Completed ? GenerationOutcome::Status::Completed
                                                                     : GenerationOutcome::Status::Cancelled;
        for (const auto &img : r.images)
            outcome.images << toQImage(img);
        outcome.stepsDone = r.stepsDone;
        outcome.seconds = r.seconds;
        const int imageSize = r.images.empty() ? 0 : r.images.front().width;
        outcome.parameters = parametersText(request, outcome.conditioning, imageSize);
    } catch (const std::exception &e) {
        // The engine converts library exceptions itself; this only guards the Qt event loop.
        outcome.status = GenerationOutcome::Status::Failed;
        outcome.message = QString::fromUtf8(e.what());
    }
    emit finished(outcome);
}

QString GenerationWorker::parametersText(const ditstudio::GenerateRequest &request, const QString &conditioning,
                                         int imageSize) const
{
    // The layout of AUTOMATIC1111's "parameters" chunk: the prompt on the first line, then
    // "Key: value" pairs, so that existing PNG-info readers show it.
    QString prompt = fromStd(request.prompt);
    if (prompt.trimmed().isEmpty())
        prompt = conditioning;
    QStringList fields;
    fields << QStringLiteral("Steps: %1").arg(request.steps)
           << QStringLiteral("Sampler: %1").arg(QString::fromLatin1(ditstudio::samplerName(request.sampler)))
           << QStringLiteral("CFG scale: %1").arg(request.cfgScale)
           << QStringLiteral("Seed: %1").arg(request.seed);
    if (imageSize > 0)
        fields << QStringLiteral("Size: %1x%1").arg(imageSize);
    fields << QStringLiteral("Class: %1").arg(conditioning);
    if (m_engine.hasModel()) {
        const auto &info = m_engine.modelInfo();
        fields << QStringLiteral("Model: %1 (%2)")
                      .arg(QFileInfo(fromStd(info.path)).fileName(), fromStd(info.config.name()));
    }
    return prompt + QLatin1Char('\n') + fields.join(QStringLiteral(", "));
}
