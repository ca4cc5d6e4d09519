#pragma once
/// \file generate_panel.h
/// The Generate panel at the left of the main window: the model (file, VAE, device, precision), the
/// prompt with its inline status, the sampling settings, seeds and count, and Generate / Cancel.
/// It owns the fields and turns them into GenerationSettings and back; MainWindow wires it to the
/// engine (what a field change or a button does).
///
///     auto *panel = new GeneratePanel(parent);
///     panel->applySettings(entry.settings);        // e.g. reuse a history entry
///     GenerationSettings s = panel->settings();    // the fields as they are

#include "generate/generation_settings.h"

#include <QWidget>

class QComboBox;
class QCompleter;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSettings;
class QSpinBox;
class QStringListModel;
class QToolButton;

class GeneratePanel : public QWidget {
    Q_OBJECT
public:
    explicit GeneratePanel(QWidget *parent = nullptr);

    /// The fields as settings (the model's own path, hash and architecture are the window's to add).
    GenerationSettings settings() const;
    /// Set the fields from settings (the model itself is the window's to load).
    void applySettings(const GenerationSettings &settings);
    /// Restore / save the fields (QSettings keys generation/... and model/vaePath, device, precision).
    void readSettings(const QSettings &settings);
    /// With a model loaded, its VAE (loadedVae) is saved: only what loaded, so a refused VAE cannot
    /// break the next launch; without one the saved VAE stays.
    void writeSettings(QSettings &settings, bool modelLoaded, const QString &loadedVae) const;

    QComboBox *modelCombo() const { return m_modelCombo; }
    QLineEdit *vaePath() const { return m_vaePath; }
    QToolButton *vaeBrowse() const { return m_vaeBrowse; }
    QComboBox *device() const { return m_device; }
    QComboBox *precision() const { return m_precision; }
    QLineEdit *prompt() const { return m_prompt; }
    QLabel *promptStatus() const { return m_promptStatus; }
    QCompleter *completer() const { return m_completer; }
    QStringListModel *completionModel() const { return m_completionModel; }
    QDoubleSpinBox *guidance() const { return m_guidance; }
    QComboBox *guidedChannels() const { return m_guidedChannels; }
    QSpinBox *steps() const { return m_steps; }
    QComboBox *sampler() const { return m_sampler; }
    QDoubleSpinBox *eta() const { return m_eta; }
    QComboBox *cache() const { return m_cache; }
    QSpinBox *seed() const { return m_seed; }
    QComboBox *seedMode() const { return m_seedMode; }
    QSpinBox *batchCount() const { return m_batchCount; }
    QPushButton *generateButton() const { return m_generateButton; }
    QToolButton *cancelButton() const { return m_cancelButton; }

private:
    QComboBox *m_modelCombo = nullptr;
    QLineEdit *m_vaePath = nullptr;
    QToolButton *m_vaeBrowse = nullptr;
    QComboBox *m_device = nullptr;
    QComboBox *m_precision = nullptr;
    QLineEdit *m_prompt = nullptr;
    QLabel *m_promptStatus = nullptr;
    QCompleter *m_completer = nullptr;
    QStringListModel *m_completionModel = nullptr;
    QDoubleSpinBox *m_guidance = nullptr;
    QComboBox *m_guidedChannels = nullptr;
    QSpinBox *m_steps = nullptr;
    QComboBox *m_sampler = nullptr;
    QDoubleSpinBox *m_eta = nullptr;
    QComboBox *m_cache = nullptr; ///< fast mode (step caching)
    QSpinBox *m_seed = nullptr;
    QComboBox *m_seedMode = nullptr;
    QSpinBox *m_batchCount = nullptr;
    QPushButton *m_generateButton = nullptr;
    QToolButton *m_cancelButton = nullptr;
};
