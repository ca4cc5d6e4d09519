#pragma once
/// \file error_box.h
/// The app's one way of reporting an error to the user: logged, and shown in a window-modal box
/// that does not block (no nested event loop while worker signals keep arriving).

#include <QString>

class QWidget;

/// Log "title: message" as an error and open a warning box (objectName "errorBox") over `parent`;
/// the box deletes itself when closed.
void showErrorBox(QWidget *parent, const QString &title, const QString &message);
