#pragma once
/// \file generation_types.h
/// Plain values that travel between the generation worker thread and the GUI thread in queued
/// signals. Only Qt value types and our own backend types: cheap to copy, safe across threads.

#include "ditstudio/cancel_token.h"
#include "ditstudio/probes.h"

#include <QImage>
#include <QList>
#include <QMetaType>
#include <QString>
#include <QStringList>

#include <functional>
#include <memory>

namespace ditstudio {
class EngineSession;
}

/// What the GUI needs to know about a loaded model (a summary of ditstudio::CheckpointInfo).
struct ModelSummary {
    QString path; ///< the file or diffusers folder that was loaded
    QString fileName; ///< last path component, for the status bar
    QString architecture; ///< e.g. "DiT-XL/2" or "DiT-custom(d2,w64,h4)/2"
    QString format; ///< "safetensors", "pytorch-zip", "diffusers", ...
    QString weightHash; ///< quickWeightHash() of path (see model_identity.h); empty when unreadable
    bool embeddedDefault = false; ///< loaded through "the embedded default model"
    QString vaePath; ///< the VAE that was requested with it (empty: none)
    QString device; ///< the device it was loaded on, e.g. "cpu"
    QString precision; ///< "fp32", "bf16", "fp16"
    qint64 parameterCount = 0;
    int numClasses = 0;
    int imageSize
        = 0; ///< side of the generated image in pixels (latent models: without a VAE, the latent side)
    bool latentSpace = true;
    int depth = 0; ///< transformer blocks
    int numHeads = 0; ///< attention heads per block
    int tokensPerSide = 0; ///< the token grid is tokensPerSide x tokensPerSide
    QStringList classNames; ///< empty when the checkpoint carries no names

    /// "DiT-XL/2 · model.safetensors · 1000 classes"
    QString displayText() const;
};

/// How to load a model: the file or folder (empty = the embedded default) and the load options.
struct ModelLoadSpec {
    QString path; ///< empty: the embedded default model
    QString vaePath; ///< optional SD VAE for latent models
    QString device = QStringLiteral("auto"); ///< "auto", "cpu", "cuda", "cuda:N"
    QString precision = QStringLiteral("fp32"); ///< "fp32", "bf16", "fp16"
};

/// How a generation job ended. Every job ends with exactly one GenerationOutcome.
/// A job makes one image per seed, one after the other (the batch count).
struct GenerationOutcome {
    enum class Status { Completed, Cancelled, Failed };

    quint64 jobId = 0;
    Status status = Status::Failed;
    QList<QImage> images; ///< the images that completed, in order (all of them when Completed)
    QList<quint64> seeds; ///< seed of each completed image
    QList<double> itemSeconds; ///< sampling time of each completed image
    QImage partial; ///< Cancelled mid-image: that image's last sample (not a result)
    int itemsRequested = 0;
    QString message; ///< the backend's error message when Failed
    QStringList warnings; ///< prompt-matching notes, e.g. "'snekaer' read as 'sneaker'"
    QString conditioning; ///< the resolved conditioning, e.g. "Sneaker" or "0.7 Coat + 0.3 Shirt"
    quint64 seed = 0; ///< seed of the first image
    int stepsDone = 0; ///< sampling steps run, summed over the images
    double seconds = 0; ///< wall time of the whole job
};

/// The worker's verdict on a prompt (Engine::parsePrompt against the loaded model).
struct PromptCheck {
    QString prompt; ///< the text that was checked
    bool ok = false;
    QString conditioning; ///< when ok: the resolved classes, e.g. "Sneaker"
    QString message; ///< when not ok: the backend's message (with its suggestions)
    QStringList warnings; ///< when ok: fuzzy-match notes
};

/// The kinds of work the engine thread runs; every one is a job in GenerationController's queue.
enum class JobKind { Generate, EditImage, EditVideo, Film, Walk };

/// A job's life: Queued -> Running -> one of Finished, Cancelled, Failed (a queued job that is
/// cancelled goes straight to Cancelled).
enum class JobState { Queued, Running, Finished, Cancelled, Failed };

/// "Generate", "Edit image", ... (for the queue view and the log).
QString jobKindName(JobKind kind);
/// "queued", "running", "finished", "cancelled", "failed".
QString jobStateName(JobState state);

/// A job as the queue view shows it.
struct JobInfo {
    quint64 id = 0;
    JobKind kind = JobKind::Generate;
    QString title; ///< what it does, e.g. "img2img 0.75 · Sneaker"
    JobState state = JobState::Queued;
    int done = 0, total = 0; ///< progress in the job's own units (steps, frames); total 0: unknown
    QString stage; ///< the job's last progress text, e.g. "encoding"
    QString message; ///< when it ended: the outcome in words
    bool cancelRequested = false;
    bool isActive() const { return state == JobState::Queued || state == JobState::Running; }
};

/// How an engine task ended (its own results travel in the task's captures).
struct JobResult {
    JobState state = JobState::Failed; ///< Finished, Cancelled or Failed
    QString message;
};

/// What an engine task may use while it runs on the engine thread. progress and preview may be
/// called from that thread any number of times; they reach the GUI thread as the controller's
/// jobProgress / jobPreview signals.
struct JobContext {
    quint64 jobId = 0;
    std::function<void(int done, int total, const QString &stage)> progress;
    std::function<void(const QImage &image)> preview;
};

/// Work for the engine thread: runs there with the loaded model's engine and the job's cancel
/// token. It must not touch widgets (it only captures values; results go into its captures, which
/// the submitter reads once the job has finished).
using EngineTask = std::function<JobResult(ditstudio::EngineSession &engine, const JobContext &context,
                                           const ditstudio::CancelToken &cancel)>;

/// What the probes recorded at one step (shared, read-only: it crosses threads without copying).
using InsideProbes = std::shared_ptr<const ditstudio::StepProbes>;

Q_DECLARE_METATYPE(ModelSummary)
Q_DECLARE_METATYPE(InsideProbes)
Q_DECLARE_METATYPE(ModelLoadSpec)
Q_DECLARE_METATYPE(GenerationOutcome)
Q_DECLARE_METATYPE(PromptCheck)
Q_DECLARE_METATYPE(JobInfo)
Q_DECLARE_METATYPE(JobResult)
Q_DECLARE_METATYPE(EngineTask)
