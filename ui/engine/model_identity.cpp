#include "engine/model_identity.h"

#include <QCryptographicHash>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QStringList>

namespace {

constexpr qint64 kChunk = 1 << 20; // 1 MiB from each end

bool addFile(QCryptographicHash &hash, const QString &filePath, const QString &relative, QString *error)
{
    QFile file(filePath);
    if (!file.open(QIODevice::ReadOnly)) {
        if (error)
            *error = QStringLiteral("%1: %2").arg(filePath, file.errorString());
        return false;
    }
    const qint64 size = file.size();
    hash.addData(relative.toUtf8());
    hash.addData(QByteArray::number(size));
    hash.addData(file.read(qMin(size, kChunk)));
    if (size > kChunk) {
        // The last MiB, without re-reading bytes the first read already covered.
        const qint64 tailStart = qMax(kChunk, size - kChunk);
        if (!file.seek(tailStart)) {
            if (error)
                *error = QStringLiteral("%1: cannot seek to byte %2").arg(filePath).arg(tailStart);
            return false;
        }
        hash.addData(file.read(size - tailStart));
    }
    return true;
}

} // namespace

QString quickWeightHash(const QString &path, QString *error)
{
    const QFileInfo info(path);
    QCryptographicHash hash(QCryptographicHash::Sha256);
    if (info.isFile()) {
        if (!addFile(hash, info.absoluteFilePath(), QString(), error)) // a renamed copy keeps its identity
            return {};
    } else if (info.isDir()) {
        const QStringList patterns {QStringLiteral("*.safetensors"), QStringLiteral("*.bin"),
                                    QStringLiteral("*.pt"), QStringLiteral("*.pth"),
                                    QStringLiteral("*.ckpt")};
        QStringList files;
        QDirIterator it(path, patterns, QDir::Files, QDirIterator::Subdirectories);
        while (it.hasNext())
            files << QDir(path).relativeFilePath(it.next());
        files.sort();
        if (files.isEmpty()) {
            if (error)
                *error = QStringLiteral("%1: no weight files (*.safetensors, *.bin, *.pt, *.pth, *.ckpt)")
                             .arg(path);
            return {};
        }
        for (const QString &relative : files)
            if (!addFile(hash, QDir(path).filePath(relative), relative, error))
                return {};
    } else {
        if (error)
            *error = QStringLiteral("%1: no such file or folder").arg(path);
        return {};
    }
    return QStringLiteral("q1:") + QString::fromLatin1(hash.result().toHex());
}
