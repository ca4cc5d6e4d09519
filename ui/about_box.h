#pragma once
/// \file about_box.h
/// Help → About DiT Studio: the version and what the app runs on (Qt, the engine's LibTorch, OpenCV
/// and FFmpeg, the history database).

#include <QString>

class QWidget;

/// Show the About box over `parent` (modal). Right after launch, while the engine module is still
/// loading, it says so instead of waiting for it.
void showAboutBox(QWidget *parent, const QString &historyDatabase);
