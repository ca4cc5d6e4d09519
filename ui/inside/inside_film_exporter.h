#pragma once
/// \file inside_film_exporter.h
/// The Inside view's "Export film with overlay": its overlay frames as a video file.

#include <QObject>
#include <QString>

class InsidePanel;
class QWidget;

/// Answers the panel's exportFilmRequested: asks where (in the Movies folder), scales the frames up
/// to crisp pixels and has the engine module encode them on a worker thread (QtConcurrent), never
/// on the GUI thread. Errors are shown over `window`; progress and the result go to statusMessage.
class InsideFilmExporter : public QObject {
    Q_OBJECT
public:
    InsideFilmExporter(InsidePanel *panel, QWidget *window);

    /// Export the panel's overlay frames now (what the panel's button asks for).
    void exportFilm();

signals:
    void statusMessage(const QString &text, int timeoutMs);

private:
    InsidePanel *m_panel;
    QWidget *m_window;
};
