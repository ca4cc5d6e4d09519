#pragma once
// Helpers shared by the Qt Test suites that drive a MainWindow.

#include "engine/generation_controller.h"
#include "main_window.h"

#include <QObject>
#include <QSignalSpy>
#include <QString>

#include <QtGlobal>

#include <memory>

namespace ditstudio::uitest {

/// The child named `name` (any depth), with a warning naming it when there is none.
template<typename T> T *child(const QObject &parent, const char *name)
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

namespace ditstudio::uitest {

/// A controller (the one engine thread) with the embedded default model loaded on the CPU, for the
/// job dialogs; null when the load fails or times out.
inline std::unique_ptr<GenerationController> loadedDefaultEngine(int timeoutMs = 60000)
{
    auto engine = std::make_unique<GenerationController>();
    QSignalSpy loaded(engine.get(), &GenerationController::modelLoaded);
    ModelLoadSpec spec;
    spec.device = QStringLiteral("cpu");
    engine->loadModel(spec);
    if (!loaded.wait(timeoutMs) || loaded.count() != 1)
        return nullptr;
    return engine;
}

} // namespace ditstudio::uitest
