#include "history/history_store.h"
#include <QDateTime>
#include <QFile>

#include <QAtomicInt>
#include <QBuffer>
#include <QDir>
#include <QFileInfo>
#include <QJsonDocument>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QStandardPaths>
#include <QVariant>

namespace {

QAtomicInt g_connectionCounter;

// A null QString binds as SQL NULL, which the NOT NULL columns refuse: bind "" instead.
QString text(const QString &s)
{
    return s.isNull() ? QStringLiteral("") : s;
}

// Schema version 1. Settings are one JSON column (GenerationSettings::toJson) so that new settings
// need no migration; what the gallery searches and sorts on has its own columns.
const char *const kSchema = R"(
CREATE TABLE IF NOT EXISTS generations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at    TEXT    NOT NULL,
    prompt        TEXT    NOT NULL,
    conditioning  TEXT    NOT NULL,
    settings_json TEXT    NOT NULL,
    model_path    TEXT    NOT NULL,
    model_hash    TEXT    NOT NULL,
    seed          TEXT    NOT NULL,
    width         INTEGER NOT NULL,
    height        INTEGER NOT NULL,
    steps         INTEGER NOT NULL,
    seconds       REAL    NOT NULL,
    thumbnail     BLOB,
    image_path    TEXT    NOT NULL DEFAULT ''
))";

const char *const kColumns = "id, created_at, conditioning, settings_json, width, height, steps, seconds, "
                             "thumbnail, image_path";

HistoryEntry readRow(const QSqlQuery &q)
{
    HistoryEntry e;
    e.id = q.value(0).toLongLong();
    e.createdAt = QDateTime::fromString(q.value(1).toString(), Qt::ISODateWithMs);
    e.createdAt.setTimeSpec(Qt::UTC);
    e.conditioning = q.value(2).toString();
    const QJsonDocument doc = QJsonDocument::fromJson(q.value(3).toString().toUtf8());
    if (auto s = GenerationSettings::fromJson(doc.object()))
        e.settings = *s;
    e.imageSize = QSize(q.value(4).toInt(), q.value(5).toInt());
    e.steps = q.value(6).toInt();
    e.seconds = q.value(7).toDouble();
    e.thumbnailPng = q.value(8).toByteArray();
    e.imagePath = q.value(9).toString();
    return e;
}

} // namespace

HistoryStore::HistoryStore(const QString &databasePath)
    : m_connection(QStringLiteral("ditstudio-history-%1").arg(g_connectionCounter.fetchAndAddRelaxed(1))),
      m_path(databasePath)
{
    QDir().mkpath(QFileInfo(databasePath).absolutePath());
    if (openDatabase())
        return;
    // A damaged file (not a database, or failing SQLite's quick check): move it aside with its WAL
    // and shared-memory files, say so, and start a new history, so the app keeps working and the
    // old file stays for recovery tools.
    const QString damagedError = m_error;
    {
        QSqlDatabase db = QSqlDatabase::database(m_connection, false);
        if (db.isValid())
            db.close();
    }
    QSqlDatabase::removeDatabase(m_connection);
    if (!QFileInfo(databasePath).isFile())
        return; // only a damaged file is moved aside (a folder or a missing path: m_error says why)
    const QString stem = databasePath + QStringLiteral(".damaged-")
        + QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss"));
    QString aside = stem;
    for (int n = 1; QFileInfo::exists(aside); ++n) // never replace an earlier damaged copy
        aside = stem + QLatin1Char('-') + QString::number(n);
    if (!QFile::rename(databasePath, aside)) {
        m_error = QStringLiteral("history database %1 is damaged (%2) and could not be moved aside")
                      .arg(databasePath, damagedError);
        return;
    }
    for (const char *suffix : {"-wal", "-shm"})
        if (QFileInfo::exists(databasePath + QLatin1String(suffix)))
            QFile::rename(databasePath + QLatin1String(suffix), aside + QLatin1String(suffix));
    m_recoveryNote
        = QStringLiteral("The history database %1 was damaged (%2). It was moved to %3 and a new, empty "
                         "history was started.")
              .arg(QDir::toNativeSeparators(databasePath), damagedError, QDir::toNativeSeparators(aside));
    m_error.clear();
    openDatabase();
}

bool HistoryStore::openDatabase()
{
    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_connection);
    db.setDatabaseName(m_path);
    if (!db.open()) {
        m_error = QStringLiteral("history database %1: %2").arg(m_path, db.lastError().text());
        return false;
    }
    // SQLite opens any file lazily: the quick check reads it and fails on a damaged one.
    {
        QSqlQuery check(db);
        if (!check.exec(QStringLiteral("PRAGMA quick_check")) || !check.next()
            || check.value(0).toString() != QStringLiteral("ok")) {
            const QString why
                = check.lastError().isValid() ? check.lastError().text() : check.value(0).toString();
            m_error = QStringLiteral("history database %1: %2").arg(m_path, why);
            return false;
        }
    }
    // WAL with synchronous=NORMAL: an insert appends to the log without the fsync per commit that
    // the default journal mode does, so recording a result never stalls the GUI thread on the disk.
    exec(QStringLiteral("PRAGMA journal_mode=WAL"));
    exec(QStringLiteral("PRAGMA synchronous=NORMAL"));
    m_open = exec(QString::fromLatin1(kSchema))
        && exec(QStringLiteral("CREATE INDEX IF NOT EXISTS generations_created ON generations(created_at)"));
    return m_open;
}

HistoryStore::~HistoryStore()
{
    {
        QSqlDatabase db = QSqlDatabase::database(m_connection, false);
        if (db.isValid())
            db.close();
    } // the handle must be gone before the connection is removed
    QSqlDatabase::removeDatabase(m_connection);
}

QString HistoryStore::dataDirectory()
{
    QString dir = qEnvironmentVariable("DITSTUDIO_DATA_DIR");
    if (dir.isEmpty())
        dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    QDir().mkpath(dir);
    return dir;
}

QString HistoryStore::defaultDatabasePath()
{
    return QDir(dataDirectory()).filePath(QStringLiteral("history.sqlite"));
}

QByteArray HistoryStore::makeThumbnail(const QImage &image)
{
    if (image.isNull())
        return {};
    const QImage thumb
        = image.scaled(kThumbnailSide, kThumbnailSide, Qt::KeepAspectRatio, Qt::SmoothTransformation);
    QByteArray png;
    QBuffer buffer(&png);
    buffer.open(QIODevice::WriteOnly);
    thumb.save(&buffer, "PNG");
    return png;
}

bool HistoryStore::exec(const QString &sql)
{
    QSqlQuery q(QSqlDatabase::database(m_connection));
    if (!q.exec(sql)) {
        m_error = QStringLiteral("history database %1: %2").arg(m_path, q.lastError().text());
        return false;
    }
    return true;
}

qint64 HistoryStore::add(const HistoryEntry &e)
{
    if (!m_open)
        return 0;
    QSqlQuery q(QSqlDatabase::database(m_connection));
    q.prepare(QStringLiteral(
        "INSERT INTO generations (created_at, prompt, conditioning, settings_json, model_path, model_hash, "
        "seed, "
        "width, height, steps, seconds, thumbnail, image_path) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"));
    const QDateTime created = e.createdAt.isValid() ? e.createdAt : QDateTime::currentDateTimeUtc();
    q.addBindValue(created.toUTC().toString(Qt::ISODateWithMs));
    q.addBindValue(text(e.settings.prompt));
    q.addBindValue(text(e.conditioning));
    q.addBindValue(QString::fromUtf8(QJsonDocument(e.settings.toJson()).toJson(QJsonDocument::Compact)));
    q.addBindValue(text(e.settings.modelPath));
    q.addBindValue(text(e.settings.modelHash));
    q.addBindValue(QString::number(e.settings.seed));
    q.addBindValue(e.imageSize.width());
    q.addBindValue(e.imageSize.height());
    q.addBindValue(e.steps);
    q.addBindValue(e.seconds);
    q.addBindValue(e.thumbnailPng);
    q.addBindValue(text(e.imagePath));
    if (!q.exec()) {
        m_error = QStringLiteral("history database %1: cannot add an entry: %2")
                      .arg(m_path, q.lastError().text());
        return 0;
    }
    return q.lastInsertId().toLongLong();
}

QList<HistoryEntry> HistoryStore::list(const QString &filter, int limit) const
{
    QList<HistoryEntry> out;
    if (!m_open)
        return out;
    QSqlQuery q(QSqlDatabase::database(m_connection));
    const QString trimmed = filter.trimmed();
    // LIKE is case-insensitive for ASCII in SQLite; escape its wildcards so "%" matches itself.
    QString pattern = trimmed;
    pattern.replace(QLatin1Char('\\'), QStringLiteral("\\\\"))
        .replace(QLatin1Char('%'), QStringLiteral("\\%"))
        .replace(QLatin1Char('_'), QStringLiteral("\\_"));
    q.prepare(QStringLiteral("SELECT %1 FROM generations %2 ORDER BY id DESC LIMIT ?")
                  .arg(QLatin1String(kColumns),
                       trimmed.isEmpty() ? QString()
                                         : QStringLiteral("WHERE conditioning LIKE ? ESCAPE '\\' "
                                                          "OR prompt LIKE ? ESCAPE '\\'")));
    if (!trimmed.isEmpty()) {
        q.addBindValue(QStringLiteral("%") + pattern + QStringLiteral("%"));
        q.addBindValue(QStringLiteral("%") + pattern + QStringLiteral("%"));
    }
    q.addBindValue(limit);
    if (!q.exec()) {
        m_error = QStringLiteral("history database %1: %2").arg(m_path, q.lastError().text());
        return out;
    }
    while (q.next())
        out << readRow(q);
    return out;
}

std::optional<HistoryEntry> HistoryStore::entry(qint64 id) const
{
    if (!m_open)
        return std::nullopt;
    QSqlQuery q(QSqlDatabase::database(m_connection));
    q.prepare(QStringLiteral("SELECT %1 FROM generations WHERE id = ?").arg(QLatin1String(kColumns)));
    q.addBindValue(id);
    if (!q.exec() || !q.next())
        return std::nullopt;
    return readRow(q);
}

bool HistoryStore::remove(qint64 id)
{
    if (!m_open)
        return false;
    QSqlQuery q(QSqlDatabase::database(m_connection));
    q.prepare(QStringLiteral("DELETE FROM generations WHERE id = ?"));
    q.addBindValue(id);
    if (!q.exec()) {
        m_error = QStringLiteral("history database %1: cannot delete entry %2: %3")
                      .arg(m_path)
                      .arg(id)
                      .arg(q.lastError().text());
        return false;
    }
    return q.numRowsAffected() == 1;
}

bool HistoryStore::setImagePath(qint64 id, const QString &path)
{
    if (!m_open)
        return false;
    QSqlQuery q(QSqlDatabase::database(m_connection));
    q.prepare(QStringLiteral("UPDATE generations SET image_path = ? WHERE id = ?"));
    q.addBindValue(path);
    q.addBindValue(id);
    if (!q.exec()) {
        m_error = QStringLiteral("history database %1: %2").arg(m_path, q.lastError().text());
        return false;
    }
    return q.numRowsAffected() == 1;
}

int HistoryStore::count() const
{
    if (!m_open)
        return 0;
    QSqlQuery q(QSqlDatabase::database(m_connection));
    return q.exec(QStringLiteral("SELECT COUNT(*) FROM generations")) && q.next() ? q.value(0).toInt() : 0;
}
