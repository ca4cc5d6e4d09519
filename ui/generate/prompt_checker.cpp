#include "generate/prompt_checker.h"

#include "engine/generation_controller.h"
#include "generate/generate_panel.h"

#include <QAbstractItemView>
#include <QCompleter>
#include <QLabel>
#include <QLineEdit>
#include <QRegularExpression>
#include <QStringListModel>
#include <QTimer>

namespace {
constexpr int kPromptCheckDelayMs = 250;
const QString kHintColor = QStringLiteral("#8a8f98");
const QString kErrorColor = QStringLiteral("#d0473e");
} // namespace

PromptChecker::PromptChecker(GenerationController *controller, GeneratePanel *panel, QObject *parent)
    : QObject(parent), m_controller(controller), m_panel(panel), m_timer(new QTimer(this))
{
    m_timer->setSingleShot(true);
    m_timer->setInterval(kPromptCheckDelayMs);
    QLineEdit *prompt = panel->prompt();
    connect(m_timer, &QTimer::timeout, this, [this, prompt] {
        if (m_controller->hasModel() && !prompt->text().trimmed().isEmpty())
            m_controller->checkPrompt(prompt->text());
    });
    connect(prompt, &QLineEdit::textChanged, this, &PromptChecker::schedule);
    connect(controller, &GenerationController::promptChecked, this, &PromptChecker::onChecked);
    connect(controller, &GenerationController::modelLoaded, this, &PromptChecker::onModelLoaded);
}

bool PromptChecker::acceptForRun(QString *refusal)
{
    QLineEdit *prompt = m_panel->prompt();
    if (prompt->text().trimmed().isEmpty()) {
        setStatus(tr("Type a class name first (e.g. one the completer offers, or #3)"), kErrorColor);
        *refusal = tr("Type a class name first");
        prompt->setFocus();
        return false;
    }
    if (m_check && m_check->prompt == prompt->text() && !m_check->ok) {
        // Known to be invalid: say so where the user is typing instead of a dialog.
        setStatus(m_check->message, kErrorColor);
        *refusal = tr("Fix the prompt first: %1").arg(m_check->message);
        prompt->setFocus();
        return false;
    }
    QCompleter *completer = m_panel->completer();
    if (completer->popup() && completer->popup()->isVisible())
        completer->popup()->hide(); // it would cover the hint and the panel during the run
    return true;
}

void PromptChecker::onModelLoaded(const ModelSummary &model)
{
    // Completion: the class names with their aliases ("Sneaker, sneakers, trainer" offers all three),
    // or "#0".."#N-1" for checkpoints that carry none.
    QStringList completions;
    for (const QString &name : model.classNames)
        for (const QString &alias : name.split(QStringLiteral(", "), Qt::SkipEmptyParts))
            if (!completions.contains(alias.trimmed()))
                completions << alias.trimmed();
    if (completions.isEmpty())
        for (int i = 0; i < model.numClasses; ++i)
            completions << QStringLiteral("#%1").arg(i);
    m_panel->completionModel()->setStringList(completions);
    schedule(); // the verdict on the prompt was the previous model's
}

void PromptChecker::schedule()
{
    m_check.reset();
    if (m_panel->prompt()->text().trimmed().isEmpty()) {
        setStatus(m_controller->hasModel()
                      ? tr("Type a class name — the completer offers the model's classes")
                      : QString(),
                  kHintColor);
        return;
    }
    m_timer->start();
}

void PromptChecker::setStatus(const QString &text, const QString &color)
{
    QLabel *status = m_panel->promptStatus();
    const QFontMetrics fm(status->font());
    const int width = qMax(160, status->width() > 0 ? status->width() : 220);
    // Word wrap breaks lines early; leave some slack so two lines always hold the elided text.
    const QString shown = fm.elidedText(text, Qt::ElideRight, width * 2 - fm.averageCharWidth() * 8);
    status->setToolTip(shown == text ? QString() : text);
    status->setText(
        text.isEmpty()
            ? QString()
            : QStringLiteral("<span style=\"color:%1\">%2</span>").arg(color, shown.toHtmlEscaped()));
}

void PromptChecker::onChecked(const PromptCheck &check)
{
    if (check.prompt != m_panel->prompt()->text())
        return; // the text changed since: a newer check is on its way
    m_check = check;
    if (!check.ok) {
        // A class name being typed ("snea") is not an error yet: offer what it completes to.
        QString typing = check.prompt.section(QLatin1Char('+'), -1).trimmed();
        typing.remove(QRegularExpression(QStringLiteral("^[0-9.]+\\s*")));
        QStringList matches;
        if (!typing.isEmpty() && !typing.startsWith(QLatin1Char('#')))
            for (const QString &c : m_panel->completionModel()->stringList())
                if (c.startsWith(typing, Qt::CaseInsensitive))
                    matches << c;
        if (!matches.isEmpty()) {
            setStatus(tr("… %1? Keep typing or pick one from the list")
                          .arg(matches.mid(0, 3).join(QStringLiteral(", "))),
                      kHintColor);
            return;
        }
        setStatus(check.message, kErrorColor);
    } else if (!check.warnings.isEmpty())
        setStatus(tr("→ %1 (%2)").arg(check.conditioning, check.warnings.join(QStringLiteral("; "))),
                  QStringLiteral("#b7791f"));
    else
        setStatus(tr("→ %1").arg(check.conditioning), QStringLiteral("#3f8f4f"));
}
