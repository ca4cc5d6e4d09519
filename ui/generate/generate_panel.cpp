#include "generate/generate_panel.h"

#include <QComboBox>
#include <QCompleter>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QStringListModel>
#include <QToolButton>
#include <QVBoxLayout>

#include "ditstudio/defaults.h"
#include "ditstudio/engine.h"

#include <limits>

namespace {

constexpr int kMaxSeed = std::numeric_limits<int>::max();

// Settings keys (QSettings) of the panel's fields.
const QString kKeySteps = QStringLiteral("generation/steps");
const QString kKeyCfg = QStringLiteral("generation/cfgScale");
const QString kKeySampler = QStringLiteral("generation/sampler");
const QString kKeyEta = QStringLiteral("generation/eta");
const QString kKeyCache = QStringLiteral("generation/cacheInterval");
const QString kKeyGuided = QStringLiteral("generation/guidedChannels");
const QString kKeySeed = QStringLiteral("generation/seed");
const QString kKeySeedMode = QStringLiteral("generation/seedMode");
const QString kKeyBatch = QStringLiteral("generation/batchCount");
const QString kKeyPrompt = QStringLiteral("generation/prompt");
const QString kKeyVae = QStringLiteral("model/vaePath");
const QString kKeyDevice = QStringLiteral("model/device");
const QString kKeyPrecision = QStringLiteral("model/precision");

// QFormLayout::addRow(text, layout) makes a label without a buddy, which would show the '&'.
QLabel *buddyLabel(const QString &text, QWidget *buddy, QWidget *parent)
{
    auto *label = new QLabel(text, parent);
    label->setBuddy(buddy);
    return label;
}

} // namespace

GeneratePanel::GeneratePanel(QWidget *parent) : QWidget(parent)
{
    auto *panel = this;
    setObjectName(QStringLiteral("generatePanel"));
    auto *outer = new QVBoxLayout(panel);
    outer->setContentsMargins(0, 0, 4, 0);
    outer->setSpacing(8);

    auto section = [&](const QString &title) {
        auto *label = new QLabel(QStringLiteral("<b>%1</b>").arg(title.toHtmlEscaped()), panel);
        outer->addWidget(label);
        auto *form = new QFormLayout;
        form->setLabelAlignment(Qt::AlignRight | Qt::AlignVCenter);
        form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
        form->setHorizontalSpacing(8);
        form->setVerticalSpacing(6);
        outer->addLayout(form);
        return form;
    };

    // --- Model ---
    QFormLayout *model = section(tr("Model"));
    m_modelCombo = new QComboBox(panel);
    m_modelCombo->setObjectName(QStringLiteral("modelCombo"));
    m_modelCombo->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_modelCombo->setMinimumContentsLength(18);
    m_modelCombo->setToolTip(
        tr("The embedded default model, a recent model, or open a checkpoint / diffusers folder"));
    model->addRow(tr("&Model"), m_modelCombo);
    auto *vaeRow = new QHBoxLayout;
    vaeRow->setSpacing(4);
    m_vaePath = new QLineEdit(panel);
    m_vaePath->setObjectName(QStringLiteral("vaePath"));
    m_vaePath->setPlaceholderText(tr("none (pixel-space model)"));
    m_vaePath->setClearButtonEnabled(true);
    m_vaePath->setToolTip(
        tr("Stable Diffusion VAE for latent-space models (file or folder); applied on the next load"));
    m_vaeBrowse = new QToolButton(panel);
    m_vaeBrowse->setObjectName(QStringLiteral("vaeBrowse"));
    m_vaeBrowse->setText(QStringLiteral("…"));
    m_vaeBrowse->setToolTip(tr("Choose a VAE checkpoint"));
    m_vaeBrowse->setAccessibleName(tr("Choose a VAE checkpoint"));
    vaeRow->addWidget(m_vaePath, 1);
    vaeRow->addWidget(m_vaeBrowse);
    model->addRow(buddyLabel(tr("&VAE"), m_vaePath, panel), vaeRow);
    auto *deviceRow = new QHBoxLayout;
    deviceRow->setSpacing(4);
    m_device = new QComboBox(panel);
    m_device->setObjectName(QStringLiteral("device"));
    m_device->addItem(tr("auto"), QStringLiteral("auto"));
    m_device->addItem(QStringLiteral("cpu"), QStringLiteral("cpu"));
    m_device->setToolTip(tr("Compute device")); // CUDA devices join once the engine has loaded
    m_precision = new QComboBox(panel);
    m_precision->setObjectName(QStringLiteral("precision"));
    for (const char *p : {"fp32", "bf16", "fp16"})
        m_precision->addItem(QString::fromLatin1(p), QString::fromLatin1(p));
    m_precision->setToolTip(tr("Weights and compute precision (fp16 needs CUDA)"));
    deviceRow->addWidget(m_device, 1);
    deviceRow->addWidget(m_precision, 1);
    model->addRow(buddyLabel(tr("&Device"), m_device, panel), deviceRow);

    // --- Prompt ---
    QFormLayout *prompt = section(tr("Prompt"));
    m_prompt = new QLineEdit(panel);
    m_prompt->setObjectName(QStringLiteral("prompt"));
    m_prompt->setPlaceholderText(tr("class name, #3, or 0.7 coat + 0.3 dress"));
    m_prompt->setClearButtonEnabled(true);
    m_prompt->setToolTip(tr("A class name (completion offers the model's classes), a class index such as #3, "
                            "or a weighted mix such as 0.7 coat + 0.3 dress"));
    m_completionModel = new QStringListModel(panel);
    m_completer = new QCompleter(m_completionModel, panel);
    m_completer->setCaseSensitivity(Qt::CaseInsensitive);
    m_completer->setFilterMode(Qt::MatchContains);
    m_completer->setMaxVisibleItems(12);
    m_prompt->setCompleter(m_completer);
    prompt->addRow(tr("&Prompt"), m_prompt);
    m_promptStatus = new QLabel(panel);
    m_promptStatus->setObjectName(QStringLiteral("promptStatus"));
    m_promptStatus->setWordWrap(true);
    m_promptStatus->setTextFormat(Qt::RichText);
    // Two lines, fixed: a long message is elided (whole in the tooltip) instead of pushing the
    // Sampling section down.
    m_promptStatus->setFixedHeight(fontMetrics().lineSpacing() * 2 + 4);
    m_promptStatus->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    prompt->addRow(QString(), m_promptStatus);

    // --- Sampling ---
    QFormLayout *sampling = section(tr("Sampling"));
    m_guidance = new QDoubleSpinBox(panel);
    m_guidance->setObjectName(QStringLiteral("guidance"));
    m_guidance->setRange(0.0, 20.0);
    m_guidance->setSingleStep(0.5);
    m_guidance->setDecimals(2);
    m_guidance->setValue(ditstudio::kDefaultCfgScale);
    m_guidance->setToolTip(tr("Classifier-free guidance scale (1 = no guidance)"));
    sampling->addRow(tr("&Guidance"), m_guidance);
    m_guidedChannels = new QComboBox(panel);
    m_guidedChannels->setObjectName(QStringLiteral("guidedChannels"));
    m_guidedChannels->addItem(tr("first 3 (official DiT)"), QStringLiteral("3"));
    m_guidedChannels->addItem(tr("all (diffusers)"), QStringLiteral("all"));
    m_guidedChannels->setToolTip(
        tr("Which output channels guidance mixes: the official DiT sampler guides the "
           "first three eps channels, diffusers guides all"));
    sampling->addRow(tr("Guided c&hannels"), m_guidedChannels);
    m_steps = new QSpinBox(panel);
    m_steps->setObjectName(QStringLiteral("steps"));
    m_steps->setRange(1, 1000);
    m_steps->setValue(ditstudio::kDefaultSteps);
    m_steps->setToolTip(tr("Number of sampling steps"));
    sampling->addRow(tr("S&teps"), m_steps);
    m_sampler = new QComboBox(panel);
    m_sampler->setObjectName(QStringLiteral("sampler"));
    for (const auto &name : ditstudio::samplerNames())
        m_sampler->addItem(QString::fromStdString(name));
    m_sampler->setCurrentText(QString::fromLatin1(ditstudio::samplerName(ditstudio::kDefaultSampler)));
    sampling->addRow(tr("Sa&mpler"), m_sampler);
    m_eta = new QDoubleSpinBox(panel);
    m_eta->setObjectName(QStringLiteral("eta"));
    m_eta->setRange(0.0, 1.0);
    m_eta->setSingleStep(0.1);
    m_eta->setDecimals(2);
    m_eta->setToolTip(tr("DDIM stochasticity (0 = deterministic DDIM, 1 = DDPM-like); DDIM only"));
    sampling->addRow(tr("&Eta"), m_eta);
    m_cache = new QComboBox(panel);
    m_cache->setObjectName(QStringLiteral("cacheInterval"));
    m_cache->addItem(tr("off (exact)"), 1);
    m_cache->addItem(tr("fast: blocks every 2nd step"), 2);
    m_cache->addItem(tr("faster: every 3rd step"), 3);
    m_cache->setToolTip(
        tr("Step caching (FORA): the transformer blocks run in full on every Nth model call and "
           "their attention/MLP outputs are reused in between — about N× fewer block FLOPs, "
           "slightly different images. Off while Inside records. Pays off with many steps (DDPM 50: "
           "the same quality at 1.85× fewer block FLOPs); with few steps (10 DPM++ steps) it costs "
           "quality."));
    sampling->addRow(tr("F&ast mode"), m_cache);
    connect(m_sampler, &QComboBox::currentTextChanged, m_eta,
            [this](const QString &name) { m_eta->setEnabled(name == QLatin1String("ddim")); });

    // --- Seeds and count ---
    QFormLayout *seeds = section(tr("Seeds"));
    auto *seedRow = new QHBoxLayout;
    seedRow->setSpacing(4);
    m_seed = new QSpinBox(panel);
    m_seed->setObjectName(QStringLiteral("seed"));
    m_seed->setRange(0, kMaxSeed);
    m_seed->setToolTip(tr("The seed (random mode shows the seed of the last image)"));
    m_seedMode = new QComboBox(panel);
    m_seedMode->setObjectName(QStringLiteral("seedMode"));
    m_seedMode->addItem(tr("random"), static_cast<int>(SeedMode::Random));
    m_seedMode->addItem(tr("fixed"), static_cast<int>(SeedMode::Fixed));
    m_seedMode->addItem(tr("increment"), static_cast<int>(SeedMode::Increment));
    m_seedMode->setToolTip(
        tr("random: a new seed per image · fixed: the same seed · increment: seed, seed+1, …"));
    seedRow->addWidget(m_seed, 3);
    seedRow->addWidget(m_seedMode, 2);
    seeds->addRow(buddyLabel(tr("S&eed"), m_seed, panel), seedRow);
    connect(m_seedMode, &QComboBox::currentIndexChanged, this, [this] {
        m_seed->setEnabled(static_cast<SeedMode>(m_seedMode->currentData().toInt()) != SeedMode::Random);
    });
    m_batchCount = new QSpinBox(panel);
    m_batchCount->setObjectName(QStringLiteral("batchCount"));
    m_batchCount->setRange(1, 100);
    m_batchCount->setToolTip(tr("How many images to make, one after the other (each goes to the history)"));
    seeds->addRow(tr("&Images"), m_batchCount);

    // --- Buttons ---
    outer->addSpacing(4);
    auto *buttons = new QHBoxLayout;
    m_generateButton = new QPushButton(tr("Generate"), panel);
    m_generateButton->setObjectName(QStringLiteral("generateButton"));
    m_generateButton->setDefault(true);
    m_generateButton->setToolTip(tr("Generate (Ctrl+Return)"));
    m_generateButton->setMinimumHeight(32);
    QFont bold = m_generateButton->font();
    bold.setBold(true);
    m_generateButton->setFont(bold);
    m_cancelButton = new QToolButton(panel);
    m_cancelButton->setObjectName(QStringLiteral("cancelButton"));
    m_cancelButton->setText(tr("Cancel"));
    m_cancelButton->setToolTip(
        tr("Stop now (Esc); the arrow offers: stop after the current image (Shift+Esc)"));
    m_cancelButton->setPopupMode(QToolButton::MenuButtonPopup);
    m_cancelButton->setMinimumHeight(32);
    m_cancelButton->setToolButtonStyle(Qt::ToolButtonTextOnly);
    buttons->addWidget(m_generateButton, 1);
    buttons->addWidget(m_cancelButton);
    outer->addLayout(buttons);
    outer->addStretch(1);
}

GenerationSettings GeneratePanel::settings() const
{
    GenerationSettings s;
    s.prompt = m_prompt->text().trimmed();
    s.steps = m_steps->value();
    s.sampler = m_sampler->currentText();
    s.cfgScale = m_guidance->value();
    s.eta = m_eta->value();
    s.guidedChannels = m_guidedChannels->currentData().toString();
    s.seedMode = static_cast<SeedMode>(m_seedMode->currentData().toInt());
    s.seed = static_cast<quint64>(m_seed->value());
    s.batchCount = m_batchCount->value();
    s.cacheInterval = m_cache->currentData().toInt();
    s.vaePath = m_vaePath->text().trimmed();
    s.device = m_device->currentData().toString();
    s.precision = m_precision->currentData().toString();
    return s;
}

void GeneratePanel::applySettings(const GenerationSettings &s)
{
    m_prompt->setText(s.prompt);
    m_steps->setValue(s.steps);
    const int sampler = m_sampler->findText(s.sampler);
    if (sampler >= 0)
        m_sampler->setCurrentIndex(sampler);
    m_guidance->setValue(s.cfgScale);
    m_eta->setValue(s.eta);
    m_guidedChannels->setCurrentIndex(qMax(0, m_guidedChannels->findData(s.guidedChannels)));
    m_seedMode->setCurrentIndex(m_seedMode->findData(static_cast<int>(s.seedMode)));
    m_seed->setValue(static_cast<int>(qMin<quint64>(s.seed, kMaxSeed)));
    m_batchCount->setValue(s.batchCount);
    m_cache->setCurrentIndex(qMax(0, m_cache->findData(s.cacheInterval)));
    const int precision = m_precision->findData(s.precision);
    if (precision >= 0)
        m_precision->setCurrentIndex(precision);
    const int device = m_device->findData(s.device); // a device this machine lacks keeps the current one
    if (device >= 0)
        m_device->setCurrentIndex(device);
}

void GeneratePanel::readSettings(const QSettings &s)
{
    m_steps->setValue(s.value(kKeySteps, ditstudio::kDefaultSteps).toInt());
    m_guidance->setValue(s.value(kKeyCfg, ditstudio::kDefaultCfgScale).toDouble());
    const int sampler = m_sampler->findText(
        s.value(kKeySampler, QString::fromLatin1(ditstudio::samplerName(ditstudio::kDefaultSampler)))
            .toString());
    if (sampler >= 0)
        m_sampler->setCurrentIndex(sampler);
    m_eta->setValue(s.value(kKeyEta, 0.0).toDouble());
    m_cache->setCurrentIndex(qMax(0, m_cache->findData(s.value(kKeyCache, 1).toInt())));
    m_eta->setEnabled(m_sampler->currentText() == QLatin1String("ddim"));
    const int guided = m_guidedChannels->findData(s.value(kKeyGuided, QStringLiteral("3")).toString());
    m_guidedChannels->setCurrentIndex(qMax(0, guided));
    m_seed->setValue(s.value(kKeySeed, 0).toInt());
    const auto mode = parseSeedMode(s.value(kKeySeedMode, QStringLiteral("random")).toString());
    m_seedMode->setCurrentIndex(m_seedMode->findData(static_cast<int>(mode.value_or(SeedMode::Random))));
    m_seed->setEnabled(mode.value_or(SeedMode::Random) != SeedMode::Random);
    m_batchCount->setValue(s.value(kKeyBatch, 1).toInt());
    m_prompt->setText(s.value(kKeyPrompt).toString());
    m_vaePath->setText(s.value(kKeyVae).toString());
    m_device->setCurrentIndex(
        qMax(0, m_device->findData(s.value(kKeyDevice, QStringLiteral("auto")).toString())));
    m_precision->setCurrentIndex(
        qMax(0, m_precision->findData(s.value(kKeyPrecision, QStringLiteral("fp32")).toString())));
}

void GeneratePanel::writeSettings(QSettings &s, bool modelLoaded, const QString &loadedVae) const
{
    s.setValue(kKeySteps, m_steps->value());
    s.setValue(kKeyCfg, m_guidance->value());
    s.setValue(kKeySampler, m_sampler->currentText());
    s.setValue(kKeyEta, m_eta->value());
    s.setValue(kKeyCache, m_cache->currentData().toInt());
    s.setValue(kKeyGuided, m_guidedChannels->currentData().toString());
    s.setValue(kKeySeed, m_seed->value());
    s.setValue(kKeySeedMode, seedModeName(static_cast<SeedMode>(m_seedMode->currentData().toInt())));
    s.setValue(kKeyBatch, m_batchCount->value());
    s.setValue(kKeyPrompt, m_prompt->text());
    // Only what loaded: a VAE that was refused must not break the next launch.
    if (modelLoaded)
        s.setValue(kKeyVae, loadedVae);
    s.setValue(kKeyDevice, m_device->currentData().toString());
    s.setValue(kKeyPrecision, m_precision->currentData().toString());
}
