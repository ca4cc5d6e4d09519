#pragma once
/// \file log_panel.h
/// The log panel: every spdlog line (backend and UI) as it happens, colored by level. Fed by the
/// backend's log callback (ditstudio::setLogCallback), which runs on whatever thread logs; lines
/// are handed to the GUI thread with a queued call, so a busy worker never touches the widget.
/// Only one panel receives lines at a time (the callback is process-wide): the newest one.

#include <QWidget>

class QPlainTextEdit;

class LogPanel : public QWidget {
    Q_OBJECT

public:
    explicit LogPanel(QWidget *parent = nullptr);
    ~LogPanel() override;

    /// Append a line (GUI thread). level: spdlog's name ("info", "warning", "error", ...).
    void appendLine(const QString &level, const QString &message);
    QString text() const;
    int lineCount() const;

private:
    static void onLog(void *self, const char *level, const char *message);

    QPlainTextEdit *m_text = nullptr;
};
