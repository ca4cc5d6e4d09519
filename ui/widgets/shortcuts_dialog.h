#pragma once
/// \file shortcuts_dialog.h
/// Help → Keyboard shortcuts: every menu action that has a shortcut, plus the keys of the image
/// views, the history and the Inside view, in one table (objectName "shortcutsTable").

#include <QDialog>

class QMenuBar;

class ShortcutsDialog : public QDialog {
    Q_OBJECT
public:
    /// Lists the shortcuts of the actions in `menus` as they are now.
    explicit ShortcutsDialog(const QMenuBar *menus, QWidget *parent = nullptr);
};
