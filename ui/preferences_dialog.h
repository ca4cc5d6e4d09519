#pragma once
/// \file preferences_dialog.h
/// Edit → Preferences: where results go, auto-save, the theme (system, light, dark), smooth or
/// crisp preview scaling, the compute thread count and the default device. Values live in QSettings
/// under "prefs/…"; Preferences::load() reads them with their defaults, save() writes them.
///
///     PreferencesDialog dialog(Preferences::load(), this);
///     if (dialog.exec() == QDialog::Accepted)
///         apply(dialog.preferences());

#include <QDialog>
#include <QString>

class QCheckBox;
class QComboBox;
class QLineEdit;
class QSpinBox;

struct Preferences {
    QString outputFolder; ///< auto-saved images go to <outputFolder>/<date>/
    bool autoSave = true;
    QString theme = QStringLiteral("system"); ///< "system", "light" or "dark"
    bool smoothPreview = true; ///< smooth (bilinear) fit scaling in the preview; off: crisp pixels
    int threads = 0; ///< compute threads; 0 = all cores
    QString device = QStringLiteral("auto"); ///< the device models load on by default

    /// The app's outputs folder when none is set: <data dir>/outputs.
    static QString defaultOutputFolder();
    static Preferences load();
    void save() const;
};

class PreferencesDialog : public QDialog {
    Q_OBJECT
public:
    /// devices: the entries of the main window's device list ("auto", "cpu", "cuda", ...).
    PreferencesDialog(const Preferences &current, const QStringList &devices, QWidget *parent = nullptr);
    Preferences preferences() const;

private:
    QLineEdit *m_outputFolder = nullptr;
    QCheckBox *m_autoSave = nullptr;
    QComboBox *m_theme = nullptr;
    QCheckBox *m_smooth = nullptr;
    QSpinBox *m_threads = nullptr;
    QComboBox *m_device = nullptr;
};

/// Apply a theme to the whole application: "dark" (Fusion with a dark palette), "light" (Fusion
/// with a light palette) or "system" (the platform's own style and palette).
void applyTheme(const QString &theme);
