#pragma once
// Helpers shared by the Qt Test suites that drive a MainWindow.

#include "generation_controller.h"
#include "main_window.h"

#include <QObject>
#include <QSignalSpy>
#include <QString>

#include <QtGlobal>

namespace ditstudio::uitest {

/// The child named `name` (any depth), with a warning naming it when there is none.
template <typename T>
T *child(const QObject &parent, const char *name)
{
    T *w = parent.findChild<T *>(QString::fromLatin1(name));
    if (!w)
        qWarning("no child %s", name);
    return w;
}

/// Load `path` (empty: the embedded default model) into the window and wait for exactly one load.
inline bool loadWindowModel(MainWindow &window, const QString &path, int timeoutMs = 60000)
{
    QSignalSpy loaded(window.controller(), &GenerationController::modelLoaded);
    if (path.isEmpty())
        window.openDefaultModel();
    else
        window.openModel(path);
    return loaded.wait(timeoutMs) && loaded.count() == 1;
}

} // namespace ditstudio::uitest
