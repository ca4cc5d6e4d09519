#include "history_panel.h"

#include <QDesktopServices>
#include <QDir>
#include <QFileInfo>
#include <QFontMetrics>
#include <QHBoxLayout>
#include <QIcon>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMenu>
#include <QPixmap>
#include <QPushButton>
#include <QUrl>
#include <QVBoxLayout>

namespace {
constexpr int kIdRole = Qt::UserRole + 1;
constexpr int kIconSide = 96;

QString tooltipFor(const HistoryEntry &e)
{
    const GenerationSettings &s = e.settings;
    return QObject::tr("<b>%1</b><br>%2<br>seed %3 · %4 steps · %5 · CFG %6<br>%7×%8 · %9 s<br>%10<br>%11")
        .arg(e.conditioning.toHtmlEscaped(), e.createdAt.toLocalTime().toString(QStringLiteral("yyyy-MM-dd hh:mm:ss")))
        .arg(s.seed)
        .arg(e.steps)
        .arg(s.sampler)
        .arg(s.cfgScale)
        .arg(e.imageSize.width())
        .arg(e.imageSize.height())
        .arg(e.seconds, 0, 'f', 2)
        .arg((s.embeddedDefault ? QObject::tr("embedded default model") : QFileInfo(s.modelPath).fileName())
                 .toHtmlEscaped(),
             QDir::toNativeSeparators(e.imagePath).toHtmlEscaped());
}
} // namespace

HistoryPanel::HistoryPanel(HistoryStore *store, QWidget *parent)
    : QWidget(parent)
    , m_store(store)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->setSpacing(6);

    m_search = new QLineEdit(this);
    m_search->setObjectName(QStringLiteral("historySearch"));
    m_search->setPlaceholderText(tr("Search by class…"));
    m_search->setClearButtonEnabled(true);
    layout->addWidget(m_search);

    m_list = new QListWidget(this);
    m_list->setObjectName(QStringLiteral("historyList"));
    m_list->setViewMode(QListView::IconMode);
    m_list->setIconSize(QSize(kIconSide, kIconSide));
    // Room for the thumbnail and two caption lines (class, seed), each elided to the cell (makeItem).
    m_list->setGridSize(QSize(kIconSide + 32, kIconSide + 2 * fontMetrics().lineSpacing() + 16));
    m_list->setResizeMode(QListView::Adjust);
    m_list->setMovement(QListView::Static);
    m_list->setWordWrap(false);
    m_list->setTextElideMode(Qt::ElideRight);
    m_list->setUniformItemSizes(true);
    m_list->setSelectionMode(QAbstractItemView::SingleSelection);
    m_list->setContextMenuPolicy(Qt::CustomContextMenu);
    layout->addWidget(m_list, 1);

    m_summary = new QLabel(this);
    m_summary->setObjectName(QStringLiteral("historySummary"));
    layout->addWidget(m_summary);

    auto *buttons = new QHBoxLayout;
    m_reuse = new QPushButton(tr("Reuse settings"), this);
    m_reuse->setObjectName(QStringLiteral("historyReuse"));
    m_reuse->setToolTip(tr("Put this image's prompt, seed and parameters back into the Generate panel"));
    m_open = new QPushButton(tr("Show file"), this);
    m_open->setObjectName(QStringLiteral("historyOpen"));
    m_open->setToolTip(tr("Open the folder that holds the image file"));
    m_delete = new QPushButton(tr("Delete"), this);
    m_delete->setObjectName(QStringLiteral("historyDelete"));
    m_delete->setToolTip(tr("Remove from the history (the image file is kept)"));
    buttons->addWidget(m_reuse);
    buttons->addWidget(m_open);
    buttons->addWidget(m_delete);
    layout->addLayout(buttons);

    connect(m_search, &QLineEdit::textChanged, this, [this] { refresh(selectedId()); });
    connect(m_list, &QListWidget::itemSelectionChanged, this, &HistoryPanel::updateButtons);
    // One click shows the image (as in any gallery); Return on the selected item too.
    connect(m_list, &QListWidget::itemClicked, this, [this](QListWidgetItem *item) {
        if (auto e = m_store->entry(item->data(kIdRole).toLongLong()))
            emit showRequested(*e);
    });
    connect(m_list, &QListWidget::itemActivated, this, [this](QListWidgetItem *item) {
        if (auto e = m_store->entry(item->data(kIdRole).toLongLong()))
            emit showRequested(*e);
    });
    connect(m_list, &QListWidget::customContextMenuRequested, this, &HistoryPanel::showContextMenu);
    connect(m_reuse, &QPushButton::clicked, this, &HistoryPanel::reuseSelected);
    connect(m_open, &QPushButton::clicked, this, &HistoryPanel::openSelectedLocation);
    connect(m_delete, &QPushButton::clicked, this, &HistoryPanel::deleteSelected);
    refresh();
}

void HistoryPanel::refresh(qint64 selectId)
{
    m_list->clear();
    const QList<HistoryEntry> entries = m_store->list(m_search->text());
    for (const HistoryEntry &e : entries)
        m_list->addItem(makeItem(e));
    updateSummary(static_cast<int>(entries.size()));
    if (selectId != 0)
        select(selectId);
    updateButtons();
}

QListWidgetItem *HistoryPanel::makeItem(const HistoryEntry &e) const
{
    QPixmap thumb;
    thumb.loadFromData(e.thumbnailPng, "PNG");
    if (!thumb.isNull() && thumb.width() < kIconSide)
        thumb = thumb.scaled(kIconSide, kIconSide, Qt::KeepAspectRatio, Qt::SmoothTransformation);
    // Each caption line fits the cell: a long mix of classes is elided (the tooltip has it whole).
    const int width = m_list->gridSize().width() - 8;
    const QFontMetrics fm(m_list->font());
    const QString text = fm.elidedText(e.conditioning, Qt::ElideRight, width) + QLatin1Char('\n')
                         + fm.elidedText(tr("seed %1").arg(e.settings.seed), Qt::ElideRight, width);
    auto *item = new QListWidgetItem(QIcon(thumb), text);
    item->setData(kIdRole, e.id);
    item->setToolTip(tooltipFor(e));
    item->setTextAlignment(Qt::AlignHCenter | Qt::AlignTop);
    return item;
}

void HistoryPanel::updateSummary(int shown)
{
    const int total = m_store->count();
    m_summary->setText(m_search->text().trimmed().isEmpty()
                           ? tr("%n image(s)", nullptr, total)
                           : tr("%1 of %n image(s) match", nullptr, total).arg(shown));
}

void HistoryPanel::addEntry(const HistoryEntry &entry)
{
    const QString filter = m_search->text().trimmed();
    if (!filter.isEmpty() && !entry.conditioning.contains(filter, Qt::CaseInsensitive)
        && !entry.settings.prompt.contains(filter, Qt::CaseInsensitive)) {
        updateSummary(m_list->count());
        return;
    }
    m_list->insertItem(0, makeItem(entry));
    updateSummary(m_list->count());
    select(entry.id);
    updateButtons();
}

void HistoryPanel::setFilter(const QString &text)
{
    m_search->setText(text);
}

qint64 HistoryPanel::selectedId() const
{
    const auto items = m_list->selectedItems();
    return items.isEmpty() ? 0 : items.front()->data(kIdRole).toLongLong();
}

void HistoryPanel::select(qint64 id)
{
    for (int i = 0; i < m_list->count(); ++i)
        if (m_list->item(i)->data(kIdRole).toLongLong() == id) {
            m_list->setCurrentRow(i);
            m_list->scrollToItem(m_list->item(i));
            return;
        }
}

int HistoryPanel::visibleCount() const
{
    return m_list->count();
}

void HistoryPanel::updateButtons()
{
    const bool any = selectedId() != 0;
    m_reuse->setEnabled(any);
    m_open->setEnabled(any);
    m_delete->setEnabled(any);
}

void HistoryPanel::reuseSelected()
{
    if (auto e = m_store->entry(selectedId()))
        emit reuseRequested(*e);
}

void HistoryPanel::exportFilmOfSelected()
{
    if (auto e = m_store->entry(selectedId()))
        emit filmRequested(*e);
}

void HistoryPanel::openSelectedLocation()
{
    const auto e = m_store->entry(selectedId());
    if (!e)
        return;
    const QFileInfo file(e->imagePath);
    if (e->imagePath.isEmpty() || !file.exists()) {
        emit errorOccurred(tr("The image file %1 no longer exists (moved or deleted).")
                               .arg(QDir::toNativeSeparators(e->imagePath)));
        return;
    }
    // Portable: open the folder in the desktop's file manager (selecting the file itself needs
    // per-platform calls).
    if (!QDesktopServices::openUrl(QUrl::fromLocalFile(file.absolutePath())))
        emit errorOccurred(tr("Could not open the folder %1.").arg(QDir::toNativeSeparators(file.absolutePath())));
}

void HistoryPanel::deleteSelected()
{
    const qint64 id = selectedId();
    if (id == 0)
        return;
    const int row = m_list->currentRow();
    if (!m_store->remove(id)) {
        emit errorOccurred(m_store->errorString());
        return;
    }
    refresh();
    if (m_list->count() > 0)
        m_list->setCurrentRow(qMin(row, m_list->count() - 1));
}

void HistoryPanel::showContextMenu(const QPoint &pos)
{
    if (!m_list->itemAt(pos))
        return;
    QMenu menu(this);
    menu.addAction(tr("Reuse settings"), this, &HistoryPanel::reuseSelected);
    menu.addAction(tr("Show image"), this, [this] {
        if (auto e = m_store->entry(selectedId()))
            emit showRequested(*e);
    });
    menu.addAction(tr("Export film of this run…"), this, &HistoryPanel::exportFilmOfSelected);
    menu.addAction(tr("Open file location"), this, &HistoryPanel::openSelectedLocation);
    menu.addSeparator();
    menu.addAction(tr("Delete from history"), this, &HistoryPanel::deleteSelected);
    menu.exec(m_list->viewport()->mapToGlobal(pos));
}
