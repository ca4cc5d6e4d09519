#include "generate/generation_settings.h"

#include "ditstudio/runtime.h"

#include <QFileInfo>

#include <QJsonDocument>
#include <QJsonValue>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSize>
#include <QStringList>
#include <cmath>

#include <limits>

namespace {

// Seeds the GUI draws stay below 2^31 so that they fit the seed spin box and A1111 readers.
constexpr quint64 kRandomSeedBound = quint64(std::numeric_limits<int>::max());

bool takeString(const QJsonObject &json, const char *key, QString &out, QString *error)
{
    const QJsonValue v = json.value(QLatin1String(key));
    if (v.isUndefined() || v.isNull())
        return true;
    if (!v.isString()) {
        if (error)
            *error = QStringLiteral("field '%1': expected a string").arg(QLatin1String(key));
        return false;
    }
    out = v.toString();
    return true;
}

bool takeNumber(const QJsonObject &json, const char *key, double &out, QString *error)
{
    const QJsonValue v = json.value(QLatin1String(key));
    if (v.isUndefined() || v.isNull())
        return true;
    if (!v.isDouble()) {
        if (error)
            *error = QStringLiteral("field '%1': expected a number").arg(QLatin1String(key));
        return false;
    }
    out = v.toDouble();
    return true;
}

bool takeBool(const QJsonObject &json, const char *key, bool &out, QString *error)
{
    const QJsonValue v = json.value(QLatin1String(key));
    if (v.isUndefined() || v.isNull())
        return true;
    if (!v.isBool()) {
        if (error)
            *error = QStringLiteral("field '%1': expected true or false").arg(QLatin1String(key));
        return false;
    }
    out = v.toBool();
    return true;
}

QString num(double value)
{
    return QString::number(value, 'g', 10);
}

} // namespace

QString seedModeName(SeedMode mode)
{
    switch (mode) {
    case SeedMode::Random:
        return QStringLiteral("random");
    case SeedMode::Fixed:
        return QStringLiteral("fixed");
    case SeedMode::Increment:
        return QStringLiteral("increment");
    }
    return QStringLiteral("random");
}

std::optional<SeedMode> parseSeedMode(const QString &text)
{
    for (SeedMode m : {SeedMode::Random, SeedMode::Fixed, SeedMode::Increment})
        if (text.compare(seedModeName(m), Qt::CaseInsensitive) == 0)
            return m;
    return std::nullopt;
}

bool GenerationSettings::operator==(const GenerationSettings &o) const
{
    return prompt == o.prompt && steps == o.steps && sampler == o.sampler && cfgScale == o.cfgScale
        && eta == o.eta && guidedChannels == o.guidedChannels && seedMode == o.seedMode && seed == o.seed
        && batchCount == o.batchCount && cacheInterval == o.cacheInterval
        && embeddedDefault == o.embeddedDefault && modelPath == o.modelPath && modelHash == o.modelHash
        && modelArchitecture == o.modelArchitecture && vaePath == o.vaePath && device == o.device
        && precision == o.precision;
}

std::optional<ditstudio::GenerateRequest> GenerationSettings::toRequest(quint64 seedValue,
                                                                        QString *error) const
{
    ditstudio::GenerateRequest r;
    r.prompt = prompt.trimmed().toStdString();
    r.steps = steps;
    const auto kind = ditstudio::parseSampler(sampler.toStdString());
    if (!kind.ok()) {
        if (error)
            *error = QString::fromStdString(kind.error().message);
        return std::nullopt;
    }
    r.sampler = *kind;
    r.eta = eta;
    r.cfgScale = cfgScale;
    if (guidedChannels == QLatin1String("3"))
        r.guidedChannels = ditstudio::GuidedChannels::First3;
    else if (guidedChannels == QLatin1String("all"))
        r.guidedChannels = ditstudio::GuidedChannels::All;
    else {
        if (error)
            *error = QStringLiteral("guided channels '%1': expected 3 or all").arg(guidedChannels);
        return std::nullopt;
    }
    r.seed = seedValue;
    r.cacheInterval = cacheInterval;
    r.batch = 1;
    r.wantPreviews = true;
    return r;
}

QList<quint64> GenerationSettings::jobSeeds() const
{
    QList<quint64> seeds;
    const int count = qMax(1, batchCount);
    for (int i = 0; i < count; ++i) {
        switch (seedMode) {
        case SeedMode::Random:
            seeds << QRandomGenerator::global()->bounded(kRandomSeedBound);
            break;
        case SeedMode::Fixed:
            seeds << seed;
            break;
        case SeedMode::Increment:
            seeds << seed + quint64(i);
            break;
        }
    }
    return seeds;
}

GenerationSettings GenerationSettings::forImage(quint64 imageSeed) const
{
    GenerationSettings s = *this;
    s.seed = imageSeed;
    s.seedMode = SeedMode::Fixed;
    s.batchCount = 1;
    return s;
}

QJsonObject GenerationSettings::toJson() const
{
    QJsonObject model {{QStringLiteral("embedded"), embeddedDefault},
                       {QStringLiteral("path"), modelPath},
                       {QStringLiteral("hash"), modelHash},
                       {QStringLiteral("architecture"), modelArchitecture},
                       {QStringLiteral("vae"), vaePath},
                       {QStringLiteral("device"), device},
                       {QStringLiteral("precision"), precision}};
    // Seeds go as strings: JSON numbers are doubles and would round 64-bit seeds.
    return QJsonObject {{QStringLiteral("prompt"), prompt},
                        {QStringLiteral("steps"), steps},
                        {QStringLiteral("sampler"), sampler},
                        {QStringLiteral("cfg_scale"), cfgScale},
                        {QStringLiteral("eta"), eta},
                        {QStringLiteral("guided_channels"), guidedChannels},
                        {QStringLiteral("seed_mode"), seedModeName(seedMode)},
                        {QStringLiteral("seed"), QString::number(seed)},
                        {QStringLiteral("batch_count"), batchCount},
                        {QStringLiteral("cache_interval"), cacheInterval},
                        {QStringLiteral("model"), model}};
}

std::optional<GenerationSettings> GenerationSettings::fromJson(const QJsonObject &json, QString *error)
{
    GenerationSettings s;
    double steps = s.steps, batch = s.batchCount, cache = s.cacheInterval;
    QString seedMode = seedModeName(s.seedMode), seed = QString::number(s.seed);
    if (!takeString(json, "prompt", s.prompt, error) || !takeNumber(json, "steps", steps, error)
        || !takeString(json, "sampler", s.sampler, error) || !takeNumber(json, "cfg_scale", s.cfgScale, error)
        || !takeNumber(json, "eta", s.eta, error)
        || !takeString(json, "guided_channels", s.guidedChannels, error)
        || !takeString(json, "seed_mode", seedMode, error) || !takeString(json, "seed", seed, error)
        || !takeNumber(json, "batch_count", batch, error)
        || !takeNumber(json, "cache_interval", cache, error))
        return std::nullopt;
    if (cache < 1 || cache > 8 || cache != std::floor(cache)) {
        if (error)
            *error = QStringLiteral("field 'cache_interval': expected a whole number in 1..8, got %1")
                         .arg(cache);
        return std::nullopt;
    }
    s.cacheInterval = int(cache);
    const QJsonValue model = json.value(QStringLiteral("model"));
    if (!model.isUndefined() && !model.isNull()) {
        if (!model.isObject()) {
            if (error)
                *error = QStringLiteral("field 'model': expected an object");
            return std::nullopt;
        }
        const QJsonObject m = model.toObject();
        if (!takeBool(m, "embedded", s.embeddedDefault, error) || !takeString(m, "path", s.modelPath, error)
            || !takeString(m, "hash", s.modelHash, error)
            || !takeString(m, "architecture", s.modelArchitecture, error)
            || !takeString(m, "vae", s.vaePath, error) || !takeString(m, "device", s.device, error)
            || !takeString(m, "precision", s.precision, error))
            return std::nullopt;
    }
    s.steps = static_cast<int>(steps);
    s.batchCount = static_cast<int>(batch);
    if (s.steps < 1 || s.steps > 1000 || steps != s.steps) {
        if (error)
            *error = QStringLiteral("field 'steps': expected a whole number in 1..1000, got %1").arg(steps);
        return std::nullopt;
    }
    if (s.batchCount < 1 || batch != s.batchCount) {
        if (error)
            *error = QStringLiteral("field 'batch_count': expected a whole number >= 1, got %1").arg(batch);
        return std::nullopt;
    }
    const auto mode = parseSeedMode(seedMode);
    if (!mode) {
        if (error)
            *error = QStringLiteral("field 'seed_mode': expected random, fixed or increment, got '%1'")
                         .arg(seedMode);
        return std::nullopt;
    }
    s.seedMode = *mode;
    bool ok = false;
    s.seed = seed.toULongLong(&ok);
    if (!ok) {
        if (error)
            *error = QStringLiteral("field 'seed': expected an unsigned integer, got '%1'").arg(seed);
        return std::nullopt;
    }
    if (!s.toRequest(s.seed, error))
        return std::nullopt;
    return s;
}

QString GenerationSettings::parametersText(const QString &conditioning, const QSize &imageSize) const
{
    // The layout of AUTOMATIC1111's "parameters" chunk: the prompt on the first line, then
    // "Key: value" pairs, so that existing PNG-info readers show it.
    QString first = prompt.trimmed();
    if (first.isEmpty())
        first = conditioning;
    QStringList fields;
    fields << QStringLiteral("Steps: %1").arg(steps) << QStringLiteral("Sampler: %1").arg(sampler)
           << QStringLiteral("CFG scale: %1").arg(num(cfgScale)) << QStringLiteral("Seed: %1").arg(seed);
    if (imageSize.isValid())
        fields << QStringLiteral("Size: %1x%2").arg(imageSize.width()).arg(imageSize.height());
    if (sampler == QLatin1String("ddim"))
        fields << QStringLiteral("Eta: %1").arg(num(eta));
    fields << QStringLiteral("Guided channels: %1").arg(guidedChannels);
    if (cacheInterval > 1)
        fields << QStringLiteral("Step cache: %1").arg(cacheInterval);
    if (!conditioning.isEmpty())
        fields << QStringLiteral("Class: %1").arg(conditioning);
    const QString modelName
        = embeddedDefault ? QStringLiteral("embedded default") : QFileInfo(modelPath).fileName();
    if (!modelName.isEmpty())
        fields << QStringLiteral("Model: %1").arg(modelName);
    if (!modelHash.isEmpty())
        fields << QStringLiteral("Model hash: %1").arg(modelHash);
    if (!modelArchitecture.isEmpty())
        fields << QStringLiteral("Architecture: %1").arg(modelArchitecture);
    return first + QLatin1Char('\n') + fields.join(QStringLiteral(", "));
}

std::optional<GenerationSettings> GenerationSettings::fromParametersText(const QString &text, QString *error)
{
    // The last line that starts with "Steps:" holds the fields; the lines above it are the prompt
    // (A1111 puts a "Negative prompt:" line in between, which class-conditional models ignore).
    QStringList lines = text.split(QLatin1Char('\n'));
    int fieldsLine = -1;
    for (int i = lines.size() - 1; i >= 0; --i)
        if (lines[i].startsWith(QLatin1String("Steps:"))) {
            fieldsLine = i;
            break;
        }
    if (fieldsLine < 1) {
        if (error)
            *error = QStringLiteral(
                "'parameters' text: expected the prompt, then a line starting with 'Steps:'");
        return std::nullopt;
    }
    GenerationSettings s;
    QStringList promptLines;
    for (int i = 0; i < fieldsLine; ++i)
        if (!lines[i].startsWith(QLatin1String("Negative prompt:")))
            promptLines << lines[i];
    s.prompt = promptLines.join(QLatin1Char(' ')).trimmed();
    s.seedMode = SeedMode::Fixed;
    // Fields are "Key: value" separated by ", "; values may hold commas (architectures), so split
    // only before something that looks like the next key.
    static const QRegularExpression splitter(QStringLiteral(", (?=[A-Za-z][A-Za-z0-9 _-]*: )"));
    QString model;
    for (const QString &field : lines[fieldsLine].split(splitter)) {
        const int colon = field.indexOf(QLatin1String(": "));
        if (colon < 0)
            continue;
        const QString key = field.left(colon).trimmed();
        const QString value = field.mid(colon + 2).trimmed();
        bool ok = true;
        if (key == QLatin1String("Steps"))
            s.steps = value.toInt(&ok);
        else if (key == QLatin1String("Sampler"))
            s.sampler = value;
        else if (key == QLatin1String("CFG scale"))
            s.cfgScale = value.toDouble(&ok);
        else if (key == QLatin1String("Seed"))
            s.seed = value.toULongLong(&ok);
        else if (key == QLatin1String("Eta"))
            s.eta = value.toDouble(&ok);
        else if (key == QLatin1String("Guided channels"))
            s.guidedChannels = value;
        else if (key == QLatin1String("Step cache"))
            s.cacheInterval = qBound(1, value.toInt(&ok), 8);
        else if (key == QLatin1String("Model"))
            model = value;
        else if (key == QLatin1String("Model hash"))
            s.modelHash = value;
        else if (key == QLatin1String("Architecture"))
            s.modelArchitecture = value;
        if (!ok) {
            if (error)
                *error = QStringLiteral("'parameters' text: field '%1' has a bad value '%2'").arg(key, value);
            return std::nullopt;
        }
    }
    s.embeddedDefault = model.isEmpty() || model == QLatin1String("embedded default");
    if (!s.embeddedDefault)
        s.modelPath = model; // a file name only: the caller looks for it
    // AUTOMATIC1111's names for the samplers we have ("Euler a", "DPM++ 2M Karras", ...; the app has
    // no Karras schedule switch, so " Karras" only names the sampler); any other falls back to the
    // default.
    if (!ditstudio::parseSampler(s.sampler.toStdString()).ok()) {
        static const QList<QPair<QString, QString>> a1111
            = {{QStringLiteral("euler a"), QStringLiteral("euler-a")},
               {QStringLiteral("euler"), QStringLiteral("euler")},
               {QStringLiteral("dpm++ 2m"), QStringLiteral("dpmpp-2m")},
               {QStringLiteral("heun"), QStringLiteral("heun")},
               {QStringLiteral("ddim"), QStringLiteral("ddim")},
               {QStringLiteral("ddpm"), QStringLiteral("ddpm")}};
        QString name = s.sampler.trimmed().toLower();
        if (name.endsWith(QLatin1String(" karras")))
            name.chop(7);
        QString ours = QString::fromLatin1(ditstudio::samplerName(ditstudio::kDefaultSampler));
        for (const auto &[theirs, mine] : a1111)
            if (name == theirs)
                ours = mine;
        s.sampler = ours;
    }
    if (s.guidedChannels != QLatin1String("3") && s.guidedChannels != QLatin1String("all"))
        s.guidedChannels = QStringLiteral("3");
    if (s.steps < 1 || s.steps > 1000) {
        if (error)
            *error = QStringLiteral("'parameters' text: Steps must be in 1..1000, got %1").arg(s.steps);
        return std::nullopt;
    }
    return s;
}

std::vector<std::pair<std::string, std::string>>
pngTextChunks(const GenerationSettings &settings, const QString &conditioning, const QSize &imageSize)
{
    QJsonObject json = settings.toJson();
    json.insert(QStringLiteral("conditioning"), conditioning);
    json.insert(QStringLiteral("width"), imageSize.width());
    json.insert(QStringLiteral("height"), imageSize.height());
    json.insert(QStringLiteral("app"),
                QStringLiteral("DiT Studio %1").arg(QString::fromLatin1(ditstudio::appVersion())));
    std::vector<std::pair<std::string, std::string>> chunks;
    chunks.emplace_back("parameters", settings.parametersText(conditioning, imageSize).toStdString());
    chunks.emplace_back(kPngJsonKey, QJsonDocument(json).toJson(QJsonDocument::Compact).toStdString());
    chunks.emplace_back("Software", std::string("DiT Studio ") + ditstudio::appVersion());
    return chunks;
}

std::optional<GenerationSettings>
settingsFromPngText(const std::vector<std::pair<std::string, std::string>> &chunks, QString *error)
{
    for (const auto &[key, value] : chunks) {
        if (key != kPngJsonKey)
            continue;
        QJsonParseError parseError {};
        const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(value), &parseError);
        if (!doc.isObject()) {
            if (error)
                *error = QStringLiteral("'%1' chunk: not a JSON object (%2)")
                             .arg(QLatin1String(kPngJsonKey), parseError.errorString());
            return std::nullopt;
        }
        QString jsonError;
        auto s = GenerationSettings::fromJson(doc.object(), &jsonError);
        if (!s && error)
            *error = QStringLiteral("'%1' chunk: %2").arg(QLatin1String(kPngJsonKey), jsonError);
        return s;
    }
    for (const auto &[key, value] : chunks)
        if (key == "parameters")
            return GenerationSettings::fromParametersText(QString::fromStdString(value), error);
    if (error)
        *error = QStringLiteral("no '%1' or 'parameters' text chunk: the image was not made by DiT Studio "
                                "(or its metadata was stripped)")
                     .arg(QLatin1String(kPngJsonKey));
    return std::nullopt;
}
