#pragma once
/// \file history_recorder.h
/// Where finished images go: into the history and, with auto-save on, into the outputs folder; File →
/// Save image… for one of them; and the settings read back from such a PNG (File → Open image…).
///
///     auto *recorder = new HistoryRecorder(store, historyPanel, window);
///     const qint64 id = recorder->record(image, settings, conditioning, seconds, steps);

#include "generate/generation_settings.h"

#include <QImage>
#include <QObject>
#include <QString>

#include <optional>

class HistoryPanel;
class HistoryStore;
class QAction;
class QWidget;

/// One finished image, what made it, and its history entry (0: not recorded).
struct FinishedImage {
    QImage image;
    GenerationSettings settings;
    QString conditioning;
    qint64 historyId = 0;
};

/// Owns the auto-save switch (File → Auto-save every result) and the outputs folder it writes to.
/// Each recorded image becomes a history entry (store and gallery); with auto-save on it is also
/// written as a PNG with its settings embedded, under <outputs>/<date>/, never over an existing
/// file. Errors are logged (recording) or shown over `window` (saving).
class HistoryRecorder : public QObject {
    Q_OBJECT
public:
    HistoryRecorder(HistoryStore *store, HistoryPanel *panel, QWidget *window);

    /// Checkable, objectName "autoSaveAction"; on by default.
    QAction *autoSaveAction() const { return m_autoSaveAction; }
    /// Where auto-saved images go (the Preferences' output folder).
    void setOutputsFolder(const QString &folder);

    /// Add the image to the history (auto-saving it first when that is on); returns the entry's id,
    /// 0 when the history could not take it.
    qint64 record(const QImage &image, const GenerationSettings &settings, const QString &conditioning,
                  double seconds, int steps);
    /// File → Save image…: ask where (the last folder used), then saveTo().
    void saveWithDialog(const FinishedImage &result);
    /// Write the image as PNG with its settings embedded (an A1111 "parameters" chunk and a
    /// "ditstudio" JSON chunk); without overwrite an existing file is refused. A history entry that
    /// has no file of its own then points at this one. Errors are shown.
    bool saveTo(const QString &path, const FinishedImage &result, bool overwrite);
    /// The settings embedded in the PNG at `path` (DiT Studio's own or A1111-style parameters).
    /// Qt reads the text chunks itself, so this never waits for the engine module. Errors are shown.
    std::optional<GenerationSettings> readSettings(const QString &path);
    /// The folder Save image… wrote to last (before any: <data dir>/outputs).
    static QString lastSaveFolder();

signals:
    void statusMessage(const QString &text, int timeoutMs);

private:
    QString autoSave(const QImage &image, const GenerationSettings &settings, const QString &conditioning);

    HistoryStore *m_store;
    HistoryPanel *m_panel;
    QWidget *m_window;
    QAction *m_autoSaveAction;
    QString m_outputsFolder;
};
