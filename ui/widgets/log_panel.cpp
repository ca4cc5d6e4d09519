#include "widgets/log_panel.h"

#include "ditstudio/runtime.h"

#include <QMetaObject>
#include <QPlainTextEdit>
#include <QPointer>
#include <QTextBlock>
#include <QVBoxLayout>

#include <atomic>

namespace {
constexpr int kMaxLines = 5000;
std::atomic<LogPanel *> g_activePanel {nullptr};
} // namespace

LogPanel::LogPanel(QWidget *parent) : QWidget(parent)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    m_text = new QPlainTextEdit(this);
    m_text->setObjectName(QStringLiteral("logText"));
    m_text->setReadOnly(true);
    m_text->setMaximumBlockCount(kMaxLines);
    m_text->setLineWrapMode(QPlainTextEdit::NoWrap);
    QFont mono(QStringLiteral("monospace"));
    mono.setStyleHint(QFont::Monospace);
    mono.setPointSizeF(qMax(7.0, font().pointSizeF() * 0.9));
    m_text->setFont(mono);
    layout->addWidget(m_text);
    g_activePanel = this;
    ditstudio::setLogCallback(&LogPanel::onLog, this);
}

LogPanel::~LogPanel()
{
    // The callback runs under the backend's lock, so once this returns no call is in flight; lines
    // already queued to this object are dropped by Qt when it is destroyed.
    LogPanel *expected = this;
    if (g_activePanel.compare_exchange_strong(expected, nullptr))
        ditstudio::setLogCallback(nullptr, nullptr);
}

void LogPanel::onLog(void *self, const char *level, const char *message)
{
    auto *panel = static_cast<LogPanel *>(self);
    const QString lvl = QString::fromUtf8(level);
    const QString msg = QString::fromUtf8(message);
    QMetaObject::invokeMethod(
        panel, [panel, lvl, msg] { panel->appendLine(lvl, msg); }, Qt::QueuedConnection);
}

void LogPanel::appendLine(const QString &level, const QString &message)
{
    QString color;
    if (level.startsWith(QLatin1String("err")) || level.startsWith(QLatin1String("crit")))
        color = QStringLiteral("#e06c6c");
    else if (level.startsWith(QLatin1String("warn")))
        color = QStringLiteral("#d9a441");
    else if (level == QLatin1String("debug") || level == QLatin1String("trace"))
        color = QStringLiteral("#8a8f98");
    QString html = message.toHtmlEscaped();
    if (!color.isEmpty())
        html = QStringLiteral("<span style=\"color:%1\">%2</span>").arg(color, html);
    m_text->appendHtml(html);
}

QString LogPanel::text() const
{
    return m_text->toPlainText();
}

int LogPanel::lineCount() const
{
    return m_text->document()->blockCount();
}
