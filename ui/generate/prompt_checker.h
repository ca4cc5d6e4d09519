#pragma once
/// \file prompt_checker.h
/// The prompt field's help while typing: its completions (the loaded model's class names) and the
/// inline verdict under it, from a debounced check of the text against the model's classes.

#include "engine/generation_types.h"

#include <QObject>
#include <QString>

#include <optional>

class GenerationController;
class GeneratePanel;
class QTimer;

/// Owns the prompt's completion list, the check timer and the worker's last verdict on the prompt
/// (GenerationController::checkPrompt / promptChecked), and what the status line under the prompt
/// says. Wires itself to the controller and the panel's prompt field.
class PromptChecker : public QObject {
    Q_OBJECT
public:
    PromptChecker(GenerationController *controller, GeneratePanel *panel, QObject *parent = nullptr);

    /// Whether a run may start with the prompt as it is. When it is empty or known to be invalid:
    /// false, the reason under the field, the status bar's version of it in `refusal`, and the focus
    /// on the field. Otherwise true, with the completion popup closed (it would cover the hint and
    /// the panel during the run).
    bool acceptForRun(QString *refusal);

private:
    void onModelLoaded(const ModelSummary &model);
    void schedule();
    void onChecked(const PromptCheck &check);
    void setStatus(const QString &text, const QString &color);

    GenerationController *m_controller;
    GeneratePanel *m_panel;
    QTimer *m_timer;
    std::optional<PromptCheck> m_check; ///< the worker's verdict on the current prompt text
};
