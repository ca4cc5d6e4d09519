#include "history/history_recorder.h"

#include "engine/engine_module.h"
#include "history/history_panel.h"
#include "history/history_store.h"
#include "widgets/error_box.h"
#include "widgets/image_conversion.h"

#include "ditstudio/runtime.h"

#include <QAction>
#include <QDateTime>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QImageReader>
#include <QRegularExpression>
#include <QSettings>
#include <QStandardPaths>

namespace {

constexpr int kStatusTimeoutMs = 8000;
const QString kKeySaveDir = QStringLiteral("files/lastSaveDir");

QString safeFileStem(QString text)
{
    text.replace(QRegularExpression(QStringLiteral("[^A-Za-z0-9._+-]+")), QStringLiteral("_"));
    text.remove(QRegularExpression(QStringLiteral("^_+|_+$")));
    return text.isEmpty() ? QStringLiteral("ditstudio") : text.left(80);
}

} // namespace

HistoryRecorder::HistoryRecorder(HistoryStore *store, HistoryPanel *panel, QWidget *window)
    : QObject(window), m_store(store), m_panel(panel), m_window(window),
      m_autoSaveAction(new QAction(tr("&Auto-save every result"), window))
{
    m_autoSaveAction->setObjectName(QStringLiteral("autoSaveAction"));
    m_autoSaveAction->setCheckable(true);
    m_autoSaveAction->setChecked(true);
    setOutputsFolder(QDir(HistoryStore::dataDirectory()).filePath(QStringLiteral("outputs")));
}

void HistoryRecorder::setOutputsFolder(const QString &folder)
{
    m_outputsFolder = folder;
    m_autoSaveAction->setToolTip(
        tr("Write every generated image (with its settings) to %1").arg(QDir::toNativeSeparators(folder)));
}

QString HistoryRecorder::autoSave(const QImage &image, const GenerationSettings &settings,
                                  const QString &conditioning)
{
    const QDateTime now = QDateTime::currentDateTime();
    const QDir dir(QDir(m_outputsFolder).filePath(now.toString(QStringLiteral("yyyy-MM-dd"))));
    if (!QDir().mkpath(dir.path())) {
        ditstudio::logWarn("auto-save: cannot create " + dir.path().toStdString());
        return {};
    }
    const QString stem = safeFileStem(QStringLiteral("%1-%2").arg(conditioning).arg(settings.seed));
    const auto chunks = pngTextChunks(settings, conditioning, image.size());
    const ditstudio::Image pixels = toDitImage(image);
    // Never overwrite: the same class and seed twice a day gets "-2", "-3", ...
    for (int n = 1; n < 1000; ++n) {
        const QString path = dir.filePath(n == 1 ? stem + QStringLiteral(".png")
                                                 : QStringLiteral("%1-%2.png").arg(stem).arg(n));
        if (QFileInfo::exists(path))
            continue;
        const auto written = EngineModule::writePng(path.toStdString(), pixels, chunks, /*overwrite=*/false);
        if (written.ok())
            return path;
        ditstudio::logWarn("auto-save: " + written.error().message);
        return {};
    }
    return {};
}

qint64 HistoryRecorder::record(const QImage &image, const GenerationSettings &settings,
                               const QString &conditioning, double seconds, int steps)
{
    HistoryEntry entry;
    entry.createdAt = QDateTime::currentDateTimeUtc();
    entry.settings = settings;
    entry.conditioning = conditioning;
    entry.imageSize = image.size();
    entry.seconds = seconds;
    entry.steps = steps;
    entry.thumbnailPng = HistoryStore::makeThumbnail(image);
    if (m_autoSaveAction->isChecked())
        entry.imagePath = autoSave(image, entry.settings, conditioning);
    entry.id = m_store->add(entry);
    if (entry.id == 0)
        ditstudio::logWarn(m_store->errorString().toStdString());
    else
        m_panel->addEntry(entry);
    return entry.id;
}

void HistoryRecorder::saveWithDialog(const FinishedImage &result)
{
    if (result.image.isNull())
        return;
    QSettings settings;
    QString dir = settings.value(kKeySaveDir).toString();
    if (dir.isEmpty() || !QFileInfo(dir).isDir())
        dir = QStandardPaths::writableLocation(QStandardPaths::PicturesLocation);
    const QString stem
        = safeFileStem(QStringLiteral("%1-%2").arg(result.conditioning).arg(result.settings.seed));

    // QFileDialog asks before replacing an existing file (also after it appended ".png").
    QFileDialog dialog(m_window, tr("Save image"), QDir(dir).filePath(stem + QStringLiteral(".png")),
                       tr("PNG images (*.png)"));
    dialog.setAcceptMode(QFileDialog::AcceptSave);
    dialog.setDefaultSuffix(QStringLiteral("png"));
    if (dialog.exec() != QDialog::Accepted || dialog.selectedFiles().isEmpty())
        return;
    const QString path = dialog.selectedFiles().constFirst();
    if (saveTo(path, result, /*overwrite=*/true)) // the dialog asked before replacing a file
        settings.setValue(kKeySaveDir, QFileInfo(path).absolutePath());
}

bool HistoryRecorder::saveTo(const QString &path, const FinishedImage &result, bool overwrite)
{
    if (result.image.isNull())
        return false;
    const auto chunks = pngTextChunks(result.settings, result.conditioning, result.image.size());
    const auto written
        = EngineModule::writePng(path.toStdString(), toDitImage(result.image), chunks, overwrite);
    if (!written.ok()) {
        showErrorBox(m_window, tr("Could not save the image"),
                     QString::fromStdString(written.error().message));
        return false;
    }
    // Without an auto-saved copy, the history entry points at the file the user chose.
    if (result.historyId != 0)
        if (auto e = m_store->entry(result.historyId);
            e && (e->imagePath.isEmpty() || !QFileInfo::exists(e->imagePath)))
            m_store->setImagePath(result.historyId, QFileInfo(path).absoluteFilePath());
    emit statusMessage(tr("Saved %1").arg(QDir::toNativeSeparators(path)), kStatusTimeoutMs);
    return true;
}

QString HistoryRecorder::lastSaveFolder()
{
    return QSettings()
        .value(kKeySaveDir, QDir(HistoryStore::dataDirectory()).filePath(QStringLiteral("outputs")))
        .toString();
}

std::optional<GenerationSettings> HistoryRecorder::readSettings(const QString &path)
{
    // Qt reads the PNG's text chunks (tEXt, zTXt, iTXt) itself: opening an image never waits for
    // the engine module, which may still be loading right after launch.
    QImageReader reader(path);
    if (!reader.canRead()) {
        showErrorBox(m_window, tr("Could not read the image"),
                     tr("%1: %2").arg(QDir::toNativeSeparators(path), reader.errorString()));
        return std::nullopt;
    }
    std::vector<std::pair<std::string, std::string>> text;
    for (const QString &key : reader.textKeys())
        text.emplace_back(key.toStdString(), reader.text(key).toStdString());
    QString error;
    auto settings = settingsFromPngText(text, &error);
    if (!settings)
        showErrorBox(m_window, tr("No settings in this image"),
                     QStringLiteral("%1: %2").arg(QDir::toNativeSeparators(path), error));
    return settings;
}
