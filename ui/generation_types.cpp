#include "generation_types.h"

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
