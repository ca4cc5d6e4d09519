#include "preferences_dialog.h"

#include "history/history_store.h"

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPalette>
#include <QSettings>
#include <QSpinBox>
#include <QStyle>
#include <QStyleFactory>
#include <QThread>
#include <QToolButton>
#include <QVBoxLayout>

namespace {
const QString kOutput = QStringLiteral("prefs/outputFolder");
const QString kAutoSave = QStringLiteral("files/autoSave"); // shared with File → Auto-save
const QString kTheme = QStringLiteral("prefs/theme");
const QString kSmooth = QStringLiteral("prefs/smoothPreview");
const QString kThreads = QStringLiteral("prefs/threads");
const QString kDevice = QStringLiteral("model/device"); // shared with the Generate panel
} // namespace

QString Preferences::defaultOutputFolder()
{
    return QDir(HistoryStore::dataDirectory()).filePath(QStringLiteral("outputs"));
}

Preferences Preferences::load()
{
    QSettings s;
    Preferences p;
    p.outputFolder = s.value(kOutput).toString();
    if (p.outputFolder.isEmpty())
        p.outputFolder = defaultOutputFolder();
    p.autoSave = s.value(kAutoSave, true).toBool();
    p.theme = s.value(kTheme, QStringLiteral("system")).toString();
    if (p.theme != QLatin1String("light") && p.theme != QLatin1String("dark"))
        p.theme = QStringLiteral("system");
    p.smoothPreview = s.value(kSmooth, true).toBool();
    p.threads = qBound(0, s.value(kThreads, 0).toInt(), 1024);
    p.device = s.value(kDevice, QStringLiteral("auto")).toString();
    return p;
}

void Preferences::save() const
{
    QSettings s;
    // The default folder is not pinned: it follows DITSTUDIO_DATA_DIR.
    s.setValue(kOutput, outputFolder == defaultOutputFolder() ? QString() : outputFolder);
    s.setValue(kAutoSave, autoSave);
    s.setValue(kTheme, theme);
    s.setValue(kSmooth, smoothPreview);
    s.setValue(kThreads, threads);
    s.setValue(kDevice, device);
}

PreferencesDialog::PreferencesDialog(const Preferences &current, const QStringList &devices, QWidget *parent)
    : QDialog(parent)
{
    setWindowTitle(tr("Preferences"));
    setObjectName(QStringLiteral("preferencesDialog"));
    auto *form = new QFormLayout;

    m_outputFolder = new QLineEdit(current.outputFolder, this);
    m_outputFolder->setObjectName(QStringLiteral("prefsOutputFolder"));
    m_outputFolder->setMinimumWidth(320);
    auto *browse = new QToolButton(this);
    browse->setText(QStringLiteral("…"));
    browse->setAccessibleName(tr("Choose the output folder"));
    connect(browse, &QToolButton::clicked, this, [this] {
        const QString dir
            = QFileDialog::getExistingDirectory(this, tr("Output folder"), m_outputFolder->text());
        if (!dir.isEmpty())
            m_outputFolder->setText(dir);
    });
    auto *folderRow = new QHBoxLayout;
    folderRow->addWidget(m_outputFolder, 1);
    folderRow->addWidget(browse);
    auto *folderLabel = new QLabel(tr("&Output folder"), this);
    folderLabel->setBuddy(m_outputFolder);
    form->addRow(folderLabel, folderRow);

    m_autoSave
        = new QCheckBox(tr("Save every generated image (with its settings) to the output folder"), this);
    m_autoSave->setObjectName(QStringLiteral("prefsAutoSave"));
    m_autoSave->setChecked(current.autoSave);
    form->addRow(tr("&Auto-save"), m_autoSave);

    m_theme = new QComboBox(this);
    m_theme->setObjectName(QStringLiteral("prefsTheme"));
    m_theme->addItem(tr("System"), QStringLiteral("system"));
    m_theme->addItem(tr("Light"), QStringLiteral("light"));
    m_theme->addItem(tr("Dark"), QStringLiteral("dark"));
    m_theme->setCurrentIndex(qMax(0, m_theme->findData(current.theme)));
    form->addRow(tr("&Theme"), m_theme);

    m_smooth = new QCheckBox(tr("Smooth scaling when an image is fitted (off: crisp pixels)"), this);
    m_smooth->setObjectName(QStringLiteral("prefsSmooth"));
    m_smooth->setChecked(current.smoothPreview);
    form->addRow(tr("&Preview"), m_smooth);

    m_threads = new QSpinBox(this);
    m_threads->setObjectName(QStringLiteral("prefsThreads"));
    m_threads->setRange(0, qMax(1, QThread::idealThreadCount()) * 2);
    m_threads->setSpecialValueText(tr("all cores (%1)").arg(QThread::idealThreadCount()));
    m_threads->setValue(current.threads);
    m_threads->setToolTip(tr("Threads for the model's matrix products; 0 = all cores"));
    form->addRow(tr("Compute t&hreads"), m_threads);

    m_device = new QComboBox(this);
    m_device->setObjectName(QStringLiteral("prefsDevice"));
    for (const QString &d : devices)
        m_device->addItem(d, d);
    if (m_device->findData(current.device) < 0)
        m_device->addItem(current.device, current.device);
    m_device->setCurrentIndex(qMax(0, m_device->findData(current.device)));
    m_device->setToolTip(tr("Where models load by default (applies on the next load)"));
    form->addRow(tr("Default &device"), m_device);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(buttons);
}

Preferences PreferencesDialog::preferences() const
{
    Preferences p;
    p.outputFolder = QDir::fromNativeSeparators(m_outputFolder->text().trimmed());
    if (p.outputFolder.isEmpty())
        p.outputFolder = Preferences::defaultOutputFolder();
    p.autoSave = m_autoSave->isChecked();
    p.theme = m_theme->currentData().toString();
    p.smoothPreview = m_smooth->isChecked();
    p.threads = m_threads->value();
    p.device = m_device->currentData().toString();
    return p;
}

void applyTheme(const QString &theme)
{
    // The platform's style and palette, captured before the first change.
    static const QString systemStyle = QApplication::style() ? QApplication::style()->name() : QString();
    static const QPalette systemPalette = QApplication::palette();
    if (theme == QLatin1String("dark")) {
        QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
        QPalette p;
        const QColor window(0x2f, 0x31, 0x35), base(0x23, 0x25, 0x28), text(0xe4, 0xe6, 0xea);
        const QColor disabled(0x80, 0x84, 0x8a), accent(0x3d, 0x8e, 0xd8);
        p.setColor(QPalette::Window, window);
        p.setColor(QPalette::WindowText, text);
        p.setColor(QPalette::Base, base);
        p.setColor(QPalette::AlternateBase, window);
        p.setColor(QPalette::ToolTipBase, base);
        p.setColor(QPalette::ToolTipText, text);
        p.setColor(QPalette::PlaceholderText, disabled);
        p.setColor(QPalette::Text, text);
        p.setColor(QPalette::Button, QColor(0x3a, 0x3d, 0x42));
        p.setColor(QPalette::ButtonText, text);
        p.setColor(QPalette::BrightText, Qt::white);
        p.setColor(QPalette::Light, QColor(0x4a, 0x4d, 0x52));
        p.setColor(QPalette::Midlight, QColor(0x42, 0x45, 0x4a));
        p.setColor(QPalette::Mid, QColor(0x2a, 0x2c, 0x30));
        p.setColor(QPalette::Dark, QColor(0x1e, 0x20, 0x22));
        p.setColor(QPalette::Shadow, Qt::black);
        p.setColor(QPalette::Highlight, accent);
        p.setColor(QPalette::HighlightedText, Qt::white);
        p.setColor(QPalette::Link, accent.lighter(130));
        for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
            p.setColor(QPalette::Disabled, role, disabled);
        QApplication::setPalette(p);
    } else if (theme == QLatin1String("light")) {
        QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
        QApplication::setPalette(QApplication::style()->standardPalette());
    } else {
        if (!systemStyle.isEmpty())
            QApplication::setStyle(QStyleFactory::create(systemStyle));
        QApplication::setPalette(systemPalette);
    }
}
