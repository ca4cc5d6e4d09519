#pragma once
/// \file generation_types.h
/// Plain values that travel between the generation worker thread and the GUI thread in queued
/// signals. Only Qt value types and our own backend types: cheap to copy, safe across threads.

#include <QImage>
#include <QList>
#include <QMetaType>
#include <QString>
#include <QStringList>

/// What the GUI needs to know about a loaded model (a summary of ditstudio::CheckpointInfo).
struct ModelSummary {
    QString path;          ///< the file or diffusers folder that was loaded
    QString fileName;      ///< last path component, for the status bar
    QString architecture;  ///< e.g. "DiT-XL/2" or "DiT-custom(d2,w64,h4)/2"
    QString format;        ///< "safetensors", "pytorch-zip", "diffusers", ...
    qint64 parameterCount = 0;
    int numClasses = 0;
    int imageSize = 0;     ///< side of the generated image in pixels (latent models: without a VAE, the latent side)
    bool latentSpace = true;
    QStringList classNames; ///< empty when the checkpoint carries no names

    /// "DiT-XL/2 · model.safetensors · 1000 classes"
    QString displayText() const;
};

/// How a generation job ended. Every job ends with exactly one GenerationOutcome.
struct GenerationOutcome {
    enum class Status { Completed, Cancelled, Failed };

    quint64 jobId = 0;
    Status status = Status::Failed;
    QList<QImage> images;    ///< one per batch item when Completed (Cancelled: the partial sample)
    QString message;         ///< the backend's error message when Failed
    QStringList warnings;    ///< prompt-matching notes, e.g. "'snekaer' read as 'sneaker'"
    QString conditioning;    ///< the resolved conditioning, e.g. "sneaker" or "0.7 coat + 0.3 shirt"
    QString parameters;      ///< the PNG "parameters" text (prompt line + "Steps: 50, Sampler: ...")
    quint64 seed = 0;        ///< seed of the first image
    int stepsDone = 0;
    double seconds = 0;
};

Q_DECLARE_METATYPE(ModelSummary)
Q_DECLARE_METATYPE(GenerationOutcome)
