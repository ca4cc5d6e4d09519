#pragma once
/// \file generation_settings.h
/// Everything the Generate panel sets, as one value: what a history entry stores, what a saved PNG
/// embeds (an AUTOMATIC1111-style "parameters" text chunk and a "ditstudio" JSON chunk), and what
/// "Reuse settings" / opening a PNG puts back into the panel.

#include "ditstudio/defaults.h"
#include "ditstudio/engine.h"

#include <QJsonObject>
#include <QList>
#include <QPair>
#include <QString>

#include <optional>

/// How the seeds of a job's images are chosen.
enum class SeedMode {
    Random, ///< a fresh random seed for every image
    Fixed, ///< every image uses the seed as typed
    Increment ///< image i uses seed + i
};
QString seedModeName(SeedMode mode); ///< "random", "fixed", "increment"
std::optional<SeedMode> parseSeedMode(const QString &text);

struct GenerationSettings {
    QString prompt;
    int steps = ditstudio::kDefaultSteps;
    QString sampler
        = QString::fromLatin1(ditstudio::samplerName(ditstudio::kDefaultSampler)); ///< samplerName()
    double cfgScale = ditstudio::kDefaultCfgScale;
    double eta = 0.0;
    QString guidedChannels = QStringLiteral("3"); ///< "3" (official DiT) or "all" (diffusers)
    SeedMode seedMode = SeedMode::Random;
    quint64 seed = 0;
    int batchCount = 1;
    int cacheInterval = 1; ///< fast mode: step caching every N model calls (1 = off, exact)

    // The model (see ModelSummary / ModelLoadSpec).
    bool embeddedDefault = true; ///< the embedded default model (modelPath is informative only)
    QString modelPath;
    QString modelHash; ///< quickWeightHash(), "q1:<sha256>"
    QString modelArchitecture;
    QString vaePath;
    QString device = QStringLiteral("auto");
    QString precision = QStringLiteral("fp32");

    bool operator==(const GenerationSettings &other) const;

    /// The engine request for one image with the given seed. Fails (nullopt + *error) on an unknown
    /// sampler or guided-channel name.
    std::optional<ditstudio::GenerateRequest> toRequest(quint64 seedValue, QString *error = nullptr) const;
    /// The seeds of a job's images for the seed mode; random draws from the global generator.
    QList<quint64> jobSeeds() const;
    /// This job's settings narrowed to one of its images: that image's seed, fixed, count 1. What is
    /// stored in history and in a PNG, so that reusing it reproduces exactly that image.
    GenerationSettings forImage(quint64 imageSeed) const;

    QJsonObject toJson() const;
    /// Reads toJson()'s layout; missing keys keep their defaults, wrong types are errors naming the key.
    static std::optional<GenerationSettings> fromJson(const QJsonObject &json, QString *error = nullptr);

    /// AUTOMATIC1111's "parameters" layout: the prompt, then "Steps: 50, Sampler: ddpm, CFG scale: 4, ..."
    QString parametersText(const QString &conditioning, const QSize &imageSize) const;
    /// Best-effort reader of parametersText() (and of A1111 files: the prompt, steps, CFG, seed).
    static std::optional<GenerationSettings> fromParametersText(const QString &text,
                                                                QString *error = nullptr);
};

/// Key of the PNG text chunk that holds toJson() plus the result facts (conditioning, size, app version).
inline constexpr const char *kPngJsonKey = "ditstudio";

/// The PNG text chunks for an image made with these settings.
std::vector<std::pair<std::string, std::string>>
pngTextChunks(const GenerationSettings &settings, const QString &conditioning, const QSize &imageSize);
/// Settings from a PNG's text chunks: the "ditstudio" JSON when present, else the "parameters"
/// text. nullopt + *error when neither is there or readable.
std::optional<GenerationSettings>
settingsFromPngText(const std::vector<std::pair<std::string, std::string>> &chunks, QString *error = nullptr);
