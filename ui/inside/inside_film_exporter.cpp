#include "inside/inside_film_exporter.h"

#include "engine/engine_module.h"
#include "inside/inside_panel.h"
#include "widgets/error_box.h"
#include "widgets/image_conversion.h"

#include "ditstudio/engine.h"
#include "ditstudio/video.h"

#include <QDir>
#include <QFileDialog>
#include <QFutureWatcher>
#include <QStandardPaths>
#include <QtConcurrent/QtConcurrentRun>

#include <vector>

namespace {
constexpr int kStatusTimeoutMs = 8000;
} // namespace

InsideFilmExporter::InsideFilmExporter(InsidePanel *panel, QWidget *window)
    : QObject(window), m_panel(panel), m_window(window)
{
    connect(panel, &InsidePanel::exportFilmRequested, this, &InsideFilmExporter::exportFilm);
}

void InsideFilmExporter::exportFilm()
{
    const QList<QImage> frames = m_panel->overlayFrames();
    if (frames.isEmpty()) {
        showErrorBox(m_window, tr("Export film with overlay"),
                     tr("Nothing to export: generate an image with “Record inside” on first."));
        return;
    }
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::MoviesLocation);
    QDir().mkpath(dir);
    const QString path = QFileDialog::getSaveFileName(m_window, tr("Export film with overlay"),
                                                      dir + QStringLiteral("/inside-film.mp4"),
                                                      tr("Videos (*.mp4 *.webm *.gif)"));
    if (path.isEmpty())
        return;
    auto *api = EngineModule::api();
    if (!api) {
        showErrorBox(m_window, tr("Export film with overlay"),
                     QString::fromStdString(EngineModule::unavailableError().message));
        return;
    }
    // Frames become crisp pixels at >= 256 px high (even sizes for the encoders).
    std::vector<ditstudio::Image> images;
    for (const QImage &f : frames) {
        const int factor = qMax(1, (256 + f.height() - 1) / qMax(1, f.height()));
        QImage big = f.scaled(f.width() * factor, f.height() * factor, Qt::IgnoreAspectRatio,
                              Qt::FastTransformation);
        big = big.copy(0, 0, big.width() & ~1, big.height() & ~1);
        images.push_back(toDitImage(big.convertToFormat(QImage::Format_RGB888)));
    }
    emit statusMessage(tr("Encoding %1 frames…").arg(images.size()), 0);
    auto *watcher = new QFutureWatcher<ditstudio::Result<ditstudio::VideoInfo>>(this);
    connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher, path] {
        const auto result = watcher->result();
        watcher->deleteLater();
        if (!result.ok()) {
            showErrorBox(m_window, tr("Export film with overlay"),
                         QString::fromStdString(result.error().message));
            return;
        }
        emit statusMessage(
            tr("Wrote %1 (%2 frames)").arg(QDir::toNativeSeparators(path)).arg(result->frameCount),
            kStatusTimeoutMs);
    });
    const std::string target = path.toStdString();
    watcher->setFuture(QtConcurrent::run([api, target, images = std::move(images)] {
        ditstudio::VideoWriterOptions options;
        if (auto codec = ditstudio::videoCodecForPath(target); codec.ok())
            options.codec = *codec;
        options.fps = 8;
        options.overwrite = true; // the file dialog asked before replacing
        return api->writeVideo(target, images, options);
    }));
}
