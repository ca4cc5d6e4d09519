#include "engine/generation_types.h"

#include <QObject>

QString ModelSummary::displayText() const
{
    QString text = architecture.isEmpty() ? QStringLiteral("DiT") : architecture;
    if (!fileName.isEmpty())
        text += QStringLiteral(" · ") + fileName;
    if (numClasses > 0)
        text += QStringLiteral(" · %1 classes").arg(numClasses);
    if (imageSize > 0)
        text += QStringLiteral(" · %1×%1").arg(imageSize);
    return text;
}

QString jobKindName(JobKind kind)
{
    switch (kind) {
    case JobKind::Generate:
        return QObject::tr("Generate");
    case JobKind::EditImage:
        return QObject::tr("Edit image");
    case JobKind::EditVideo:
        return QObject::tr("Edit video");
    case JobKind::Film:
        return QObject::tr("Denoising film");
    case JobKind::Walk:
        return QObject::tr("Latent walk");
    }
    return QObject::tr("Job");
}

QString jobStateName(JobState state)
{
    switch (state) {
    case JobState::Queued:
        return QObject::tr("queued");
    case JobState::Running:
        return QObject::tr("running");
    case JobState::Finished:
        return QObject::tr("finished");
    case JobState::Cancelled:
        return QObject::tr("cancelled");
    case JobState::Failed:
        return QObject::tr("failed");
    }
    return {};
}
