#pragma once
/// \file history_store.h
/// Every generated image, kept in a SQLite database (Qt SQL, QSQLITE driver) with the settings
/// that made it, the model's identity, timing, a PNG thumbnail and the path of the image file.
/// GUI thread only (a QSqlDatabase connection belongs to the thread that opened it).

#include "generate/generation_settings.h"

#include <QByteArray>
#include <QDateTime>
#include <QImage>
#include <QList>
#include <QSize>
#include <QString>

/// One stored result.
struct HistoryEntry {
    qint64 id = 0; ///< assigned by HistoryStore::add
    QDateTime createdAt; ///< UTC
    GenerationSettings settings; ///< narrowed to this image (its seed, fixed, count 1)
    QString conditioning; ///< resolved classes, e.g. "Sneaker" (what search matches)
    QSize imageSize;
    double seconds = 0; ///< sampling time of this image
    int steps = 0; ///< steps run
    QByteArray thumbnailPng; ///< at most kThumbnailSide px on the long side
    QString imagePath; ///< the auto-saved or saved PNG (may have been moved since)
};

class HistoryStore {
public:
    static constexpr int kThumbnailSide = 128;

    /// Opens (creating when needed) the database file; check isOpen() / errorString().
    explicit HistoryStore(const QString &databasePath);
    ~HistoryStore();
    HistoryStore(const HistoryStore &) = delete;
    HistoryStore &operator=(const HistoryStore &) = delete;

    /// $DITSTUDIO_DATA_DIR when set (tests, portable installs), else
    /// QStandardPaths::AppDataLocation. Created when missing.
    static QString dataDirectory();
    /// dataDirectory()/history.sqlite
    static QString defaultDatabasePath();
    /// A thumbnail PNG of the image (smoothly scaled to fit kThumbnailSide).
    static QByteArray makeThumbnail(const QImage &image);

    bool isOpen() const { return m_open; }
    QString databasePath() const { return m_path; }
    /// The last error, naming the database file and the operation.
    QString errorString() const { return m_error; }
    /// Non-empty when a damaged database file was moved aside and a new one started (says where).
    QString recoveryNote() const { return m_recoveryNote; }

    /// Store an entry; returns its new id, 0 on error.
    qint64 add(const HistoryEntry &entry);
    /// Entries newest first; filter (case-insensitive) matches the resolved classes or the prompt.
    QList<HistoryEntry> list(const QString &filter = {}, int limit = 500) const;
    std::optional<HistoryEntry> entry(qint64 id) const;
    bool remove(qint64 id);
    bool setImagePath(qint64 id, const QString &path);
    int count() const;

private:
    bool exec(const QString &sql);
    bool openDatabase(); ///< open m_path and check it; false with m_error on a damaged file
    QString m_connection;
    QString m_path;
    bool m_open = false;
    mutable QString m_error;
    QString m_recoveryNote;
};
