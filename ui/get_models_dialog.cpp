#include "get_models_dialog.h"

#include "engine/engine_module.h"

#include <QCheckBox>
#include <QCloseEvent>
#include <QDir>
#include <QFileInfo>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QProgressBar>
#include <QPushButton>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace {

QString humanBytes(double bytes)
{
    return QLocale::system().formattedDataSize(static_cast<qint64>(bytes), 1, QLocale::DataSizeSIFormat);
}

QString timeLeft(double seconds)
{
    if (seconds < 0)
        return QStringLiteral("--:--");
    const qint64 s = static_cast<qint64>(seconds + 0.5);
    if (s >= 3600)
        return QStringLiteral("%1:%2:%3")
            .arg(s / 3600)
            .arg((s / 60) % 60, 2, 10, QLatin1Char('0'))
            .arg(s % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1:%2").arg(s / 60, 2, 10, QLatin1Char('0')).arg(s % 60, 2, 10, QLatin1Char('0'));
}

const std::vector<ditstudio::CatalogModel> &catalog()
{
    return ditstudio::modelCatalog();
}

} // namespace

GetModelsDialog::GetModelsDialog(QWidget *parent, const QString &directory)
    : QDialog(parent),
      m_directory(directory.isEmpty() ? QString::fromStdString(ditstudio::defaultModelsDir().string())
                                      : directory)
{
    setObjectName(QStringLiteral("getModelsDialog"));
    setWindowTitle(tr("Get models"));
    auto *layout = new QVBoxLayout(this);

    auto *intro = new QLabel(
        tr("The official Diffusion Transformer weights and the Stable Diffusion VAE that decodes "
           "their latents. Downloads resume where they stopped and are checked (size, SHA-256, "
           "architecture) before they are used.<br>Folder: <code>%1</code>")
            .arg(QDir::toNativeSeparators(m_directory).toHtmlEscaped()),
        this);
    intro->setWordWrap(true);
    intro->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(intro);

    m_list = new QTreeWidget(this);
    m_list->setObjectName(QStringLiteral("modelList"));
    m_list->setHeaderLabels({tr("Model"), tr("Size"), tr("Licence"), tr("State")});
    m_list->setRootIsDecorated(false);
    m_list->setUniformRowHeights(true);
    for (const auto &m : catalog()) {
        auto *item = new QTreeWidgetItem(m_list);
        item->setText(0, QString::fromStdString(m.title));
        item->setText(
            1, m.sizeBytes > 0 ? humanBytes(double(m.sizeBytes)) : QString::fromStdString(m.approxSize));
        item->setText(2, QString::fromStdString(m.license));
        item->setData(0, Qt::UserRole, QString::fromStdString(m.name));
    }
    m_list->header()->setSectionResizeMode(0, QHeaderView::Stretch);
    m_list->header()->setStretchLastSection(false);
    for (int c = 1; c < 4; ++c)
        m_list->header()->setSectionResizeMode(c, QHeaderView::ResizeToContents);
    // Four entries: as tall as they need, the rest of the height goes to details and progress.
    const int listHeight = m_list->sizeHintForRow(0) * (m_list->topLevelItemCount() + 1)
        + m_list->header()->sizeHint().height() + 2 * m_list->frameWidth();
    m_list->setMinimumHeight(listHeight);
    m_list->setMaximumHeight(listHeight);
    layout->addWidget(m_list);

    m_details = new QLabel(this);
    m_details->setObjectName(QStringLiteral("modelDetails"));
    m_details->setWordWrap(true);
    m_details->setTextInteractionFlags(Qt::TextBrowserInteraction);
    m_details->setOpenExternalLinks(true);
    layout->addWidget(m_details);

    auto *licenseBox = new QGroupBox(tr("Licence"), this);
    auto *licenseLayout = new QVBoxLayout(licenseBox);
    m_license = new QLabel(licenseBox);
    m_license->setObjectName(QStringLiteral("licenseText"));
    m_license->setWordWrap(true);
    m_license->setTextInteractionFlags(Qt::TextSelectableByMouse);
    licenseLayout->addWidget(m_license);
    m_accept = new QCheckBox(tr("I accept these terms (non-commercial use only)"), licenseBox);
    m_accept->setObjectName(QStringLiteral("acceptLicense"));
    licenseLayout->addWidget(m_accept);
    layout->addWidget(licenseBox);

    m_progress = new QProgressBar(this);
    m_progress->setObjectName(QStringLiteral("downloadProgress"));
    m_progress->setRange(0, 1000);
    m_progress->setValue(0);
    m_progress->setTextVisible(true);
    m_progress->setFormat(QString());
    layout->addWidget(m_progress);
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("downloadStatus"));
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_status);
    layout->addStretch(1);

    auto *buttons = new QHBoxLayout;
    m_downloadButton = new QPushButton(tr("&Download"), this);
    m_downloadButton->setObjectName(QStringLiteral("downloadButton"));
    m_downloadButton->setDefault(true);
    m_cancelButton = new QPushButton(tr("&Cancel download"), this);
    m_cancelButton->setObjectName(QStringLiteral("cancelDownloadButton"));
    m_useButton = new QPushButton(tr("&Use this model"), this);
    m_useButton->setObjectName(QStringLiteral("useModelButton"));
    m_closeButton = new QPushButton(tr("Close"), this);
    buttons->addWidget(m_downloadButton);
    buttons->addWidget(m_cancelButton);
    buttons->addStretch(1);
    buttons->addWidget(m_useButton);
    buttons->addWidget(m_closeButton);
    layout->addLayout(buttons);

    connect(m_list, &QTreeWidget::currentItemChanged, this, [this] { updateDetails(); });
    connect(m_accept, &QCheckBox::toggled, this, [this] { updateDetails(); });
    connect(m_downloadButton, &QPushButton::clicked, this, [this] { startDownload(); });
    connect(m_cancelButton, &QPushButton::clicked, this, &GetModelsDialog::cancelDownload);
    connect(m_closeButton, &QPushButton::clicked, this, &QDialog::reject);
    connect(m_useButton, &QPushButton::clicked, this, [this] {
        if (!m_lastPath.isEmpty()) {
            emit useModel(m_lastPath, m_lastKind);
            accept();
        }
    });

    refreshStates();
    m_list->setCurrentItem(m_list->topLevelItem(0));
    setRunning(false);
    resize(720, 480);
}

GetModelsDialog::~GetModelsDialog()
{
    m_cancel.cancel();
    joinWorker();
}

void GetModelsDialog::joinWorker()
{
    if (m_thread.joinable())
        m_thread.join();
}

int GetModelsDialog::currentIndex() const
{
    return m_list->currentItem() ? m_list->indexOfTopLevelItem(m_list->currentItem()) : -1;
}

bool GetModelsDialog::selectModel(const QString &name)
{
    for (int i = 0; i < m_list->topLevelItemCount(); ++i)
        if (m_list->topLevelItem(i)->data(0, Qt::UserRole).toString() == name) {
            m_list->setCurrentItem(m_list->topLevelItem(i));
            return true;
        }
    return false;
}

void GetModelsDialog::refreshStates()
{
    for (int i = 0; i < m_list->topLevelItemCount() && i < int(catalog().size()); ++i) {
        const QString file = QDir(m_directory).filePath(QString::fromStdString(catalog()[i].fileName));
        QString state = tr("not downloaded");
        if (QFileInfo::exists(file))
            state = tr("downloaded");
        else if (QFileInfo::exists(file + QStringLiteral(".part")))
            state = tr("partial (%1), resumable")
                        .arg(humanBytes(double(QFileInfo(file + QStringLiteral(".part")).size())));
        m_list->topLevelItem(i)->setText(3, state);
    }
}

void GetModelsDialog::updateDetails()
{
    const int i = currentIndex();
    if (i < 0) {
        m_details->clear();
        m_license->clear();
        m_accept->hide();
        m_downloadButton->setEnabled(false);
        return;
    }
    const auto &m = catalog()[static_cast<std::size_t>(i)];
    const QString url = QString::fromStdString(m.url);
    m_details->setText(QStringLiteral("<b>%1</b><br>%2<br><a href=\"%3\">%3</a>")
                           .arg(QString::fromStdString(m.title).toHtmlEscaped(),
                                QString::fromStdString(m.description).toHtmlEscaped(), url.toHtmlEscaped()));
    m_license->setText(QString::fromStdString(m.licenseNotice));
    m_accept->setVisible(m.requiresAcceptance);
    const QString file = QDir(m_directory).filePath(QString::fromStdString(m.fileName));
    if (!m_running) {
        m_downloadButton->setEnabled(!m.requiresAcceptance || m_accept->isChecked());
        m_downloadButton->setText(QFileInfo::exists(file + QStringLiteral(".part")) ? tr("&Resume download")
                                                                                    : tr("&Download"));
        m_lastPath = QFileInfo::exists(file) ? file : QString();
        m_lastKind = m.kind;
        m_useButton->setEnabled(!m_lastPath.isEmpty());
    }
}

void GetModelsDialog::setRunning(bool running)
{
    m_running = running;
    m_list->setEnabled(!running);
    m_accept->setEnabled(!running);
    m_cancelButton->setEnabled(running);
    m_closeButton->setText(running ? tr("Cancel and close") : tr("Close"));
    if (running) {
        if (auto *item = m_list->currentItem())
            item->setText(3, tr("downloading…"));
        m_downloadButton->setEnabled(false);
        m_useButton->setEnabled(false);
    } else {
        updateDetails();
    }
}

bool GetModelsDialog::startDownload()
{
    const int i = currentIndex();
    if (i < 0 || m_running)
        return false;
    const ditstudio::CatalogModel entry = catalog()[static_cast<std::size_t>(i)];
    if (entry.requiresAcceptance && !m_accept->isChecked()) {
        m_status->setText(tr("Accept the licence first: these weights are for non-commercial use only."));
        return false;
    }
    joinWorker(); // the previous download's thread has already delivered its result
    m_cancel = ditstudio::CancelToken();
    ditstudio::ModelDownloadOptions options;
    options.directory = m_directory.toStdString();
    options.urlOverride = m_urlOverride.toStdString();
    const ditstudio::ModelKind kind = entry.kind;
    // The architecture check needs the engine: through the module (waits for it on this thread).
    options.identify = [kind](const std::filesystem::path &file) {
        return EngineModule::identifyModelFile(file.string(), kind);
    };
    m_lastKind = kind;
    m_progress->setRange(0, 0); // busy until the size is known
    m_status->setText(
        tr("Connecting to %1…")
            .arg(QString::fromStdString(options.urlOverride.empty() ? entry.url : options.urlOverride)));
    setRunning(true);
    const ditstudio::CancelToken cancel = m_cancel;
    m_thread = std::thread([this, entry, options, cancel] {
        auto observer = [this](const ditstudio::DownloadProgress &p) {
            QMetaObject::invokeMethod(
                this, [this, p] { onProgress(p); }, Qt::QueuedConnection);
        };
        auto result = ditstudio::downloadCatalogModel(entry, options, observer, cancel);
        QMetaObject::invokeMethod(
            this, [this, result] { onDone(result); }, Qt::QueuedConnection);
    });
    return true;
}

void GetModelsDialog::cancelDownload()
{
    if (!m_running)
        return;
    m_cancel.cancel();
    m_status->setText(tr("Cancelling…"));
}

void GetModelsDialog::onProgress(const ditstudio::DownloadProgress &p)
{
    using Phase = ditstudio::DownloadProgress::Phase;
    if (!m_running)
        return;
    if (p.phase == Phase::Verifying) {
        m_progress->setRange(0, 0);
        m_progress->setFormat(QString());
        m_status->setText(
            tr("Checking %1 (size, SHA-256, architecture)…").arg(humanBytes(double(p.bytesDone))));
        return;
    }
    if (p.phase == Phase::Connecting) {
        if (p.resumedFrom > 0)
            m_status->setText(tr("Resuming at %1…").arg(humanBytes(double(p.resumedFrom))));
        return;
    }
    if (p.bytesTotal > 0) {
        m_progress->setRange(0, 1000);
        m_progress->setValue(static_cast<int>(1000.0 * double(p.bytesDone) / double(p.bytesTotal)));
        m_progress->setFormat(
            QStringLiteral("%1%").arg(100.0 * double(p.bytesDone) / double(p.bytesTotal), 0, 'f', 1));
    }
    QString text = tr("%1 of %2 · %3/s · %4 left")
                       .arg(humanBytes(double(p.bytesDone)),
                            p.bytesTotal > 0 ? humanBytes(double(p.bytesTotal)) : tr("unknown size"),
                            humanBytes(p.bytesPerSecond), timeLeft(p.etaSeconds));
    if (p.resumedFrom > 0)
        text += tr(" · resumed at %1").arg(humanBytes(double(p.resumedFrom)));
    if (p.attempt > 1)
        text += tr(" · attempt %1").arg(p.attempt);
    m_status->setText(text);
    emit progressChanged(p.bytesDone, p.bytesTotal, p.bytesPerSecond, p.etaSeconds);
}

void GetModelsDialog::onDone(const ditstudio::Result<ditstudio::DownloadResult> &result)
{
    joinWorker();
    m_progress->setRange(0, 1000);
    setRunning(false);
    refreshStates();
    if (!result.ok()) {
        m_progress->setValue(0);
        m_progress->setFormat(QString());
        const QString message = QString::fromStdString(result.error().toString());
        m_status->setText(tr("Download failed: %1").arg(message));
        updateDetails();
        emit downloadFailed(message);
        return;
    }
    const auto &r = *result;
    if (r.status == ditstudio::DownloadStatus::Cancelled) {
        m_progress->setFormat(QString());
        m_status->setText(
            tr("Cancelled; %1 kept, the next download resumes it.").arg(humanBytes(double(r.bytes))));
        updateDetails();
        emit downloadCancelled();
        return;
    }
    m_progress->setValue(1000);
    m_progress->setFormat(QStringLiteral("100%"));
    const QString path = QString::fromStdString(r.path.string());
    const QString description = QString::fromStdString(r.contentDescription);
    if (r.status == ditstudio::DownloadStatus::AlreadyPresent)
        m_status->setText(tr("Already downloaded: %1").arg(QDir::toNativeSeparators(path)));
    else
        m_status->setText(tr("Done: %1\n%2 · %3 · SHA-256 %4 (%5)")
                              .arg(QDir::toNativeSeparators(path), description, humanBytes(double(r.bytes)),
                                   QString::fromStdString(r.sha256),
                                   r.sha256Verified ? tr("verified") : tr("recorded in downloads.json")));
    updateDetails();
    m_lastPath = path;
    m_useButton->setEnabled(true);
    emit downloadFinished(path, description);
}

void GetModelsDialog::closeEvent(QCloseEvent *event)
{
    cancelDownload();
    QDialog::closeEvent(event);
}

void GetModelsDialog::reject()
{
    cancelDownload();
    QDialog::reject();
}
