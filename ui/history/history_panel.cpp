#include "history/history_panel.h"

#include <QAction>
#include <QClipboard>
#include <QDesktopServices>
#include <QDir>
#include <QFileInfo>
#include <QFontMetrics>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QIcon>
#include <QImage>
#include <QKeySequence>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMenu>
#include <QPixmap>
#include <QPushButton>
#include <QShortcut>
#include <QUrl>
#include <QVBoxLayout>

namespace {
constexpr int kIdRole = Qt::UserRole + 1;
constexpr int kIconSide = 96;

QString tooltipFor(const HistoryEntry &e)
{
    const GenerationSettings &s = e.settings;
    return QObject::tr("<b>%1</b><br>%2<br>seed %3 · %4 steps · %5 · CFG %6<br>%7×%8 · %9 s<br>%10<br>%11")
        .arg(e.conditioning.toHtmlEscaped(),
             e.createdAt.toLocalTime().toString(QStringLiteral("yyyy-MM-dd hh:mm:ss")))
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

HistoryPanel::HistoryPanel(HistoryStore *store, QWidget *parent) : QWidget(parent), m_store(store)
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
    m_list->setSelectionMode(QAbstractItemView::ExtendedSelection); // Ctrl/Shift: compare, grid
    m_list->setAccessibleName(tr("History of generated images"));
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
    auto *more = new QHBoxLayout;
    m_edit = new QPushButton(tr("Send to Edit"), this);
    m_edit->setObjectName(QStringLiteral("historyEdit"));
    m_edit->setToolTip(tr("Open this image in the image editor (img2img, inpaint, invert)"));
    m_compare = new QPushButton(tr("Compare"), this);
    m_compare->setObjectName(QStringLiteral("historyCompare"));
    m_compare->setToolTip(
        tr("Compare two selected images side by side or with a swipe (Ctrl+click selects two)"));
    m_grid = new QPushButton(tr("Grid"), this);
    m_grid->setObjectName(QStringLiteral("historyGrid"));
    m_grid->setToolTip(tr("Show the selected images as a grid (Ctrl/Shift+click selects several)"));
    more->addWidget(m_edit);
    more->addWidget(m_compare);
    more->addWidget(m_grid);
    layout->addLayout(more);
    auto *copy = new QShortcut(QKeySequence::Copy, m_list, nullptr, nullptr, Qt::WidgetShortcut);
    connect(copy, &QShortcut::activated, this, &HistoryPanel::copySelected);
    connect(m_edit, &QPushButton::clicked, this, &HistoryPanel::editSelected);
    connect(m_compare, &QPushButton::clicked, this, &HistoryPanel::compareSelected);
    connect(m_grid, &QPushButton::clicked, this, &HistoryPanel::gridOfSelected);

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
    // The current item when it is selected (the one the user clicked last), else the first selected.
    if (QListWidgetItem *current = m_list->currentItem(); current && current->isSelected())
        return current->data(kIdRole).toLongLong();
    const auto items = m_list->selectedItems();
    return items.isEmpty() ? 0 : items.front()->data(kIdRole).toLongLong();
}

QList<qint64> HistoryPanel::selectedIds() const
{
    QList<qint64> ids;
    for (int i = 0; i < m_list->count(); ++i)
        if (m_list->item(i)->isSelected())
            ids << m_list->item(i)->data(kIdRole).toLongLong();
    return ids;
}

QImage HistoryPanel::imageOf(const HistoryEntry &entry)
{
    QImage image;
    if (!entry.imagePath.isEmpty())
        image.load(entry.imagePath);
    if (image.isNull())
        image.loadFromData(entry.thumbnailPng, "PNG");
    return image;
}

void HistoryPanel::copySelected()
{
    const auto e = m_store->entry(selectedId());
    if (!e)
        return;
    const QImage image = imageOf(*e);
    if (image.isNull()) {
        emit errorOccurred(tr("The image of “%1” cannot be read.").arg(e->conditioning));
        return;
    }
    QGuiApplication::clipboard()->setImage(image);
}

void HistoryPanel::editSelected()
{
    if (auto e = m_store->entry(selectedId()))
        emit editRequested(*e);
}

void HistoryPanel::compareSelected()
{
    const QList<qint64> ids = selectedIds();
    if (ids.size() != 2)
        return;
    const auto a = m_store->entry(ids[0]);
    const auto b = m_store->entry(ids[1]);
    if (a && b)
        emit compareRequested(*a, *b);
}

void HistoryPanel::gridOfSelected()
{
    QList<HistoryEntry> entries;
    for (qint64 id : selectedIds())
        if (auto e = m_store->entry(id))
            entries << *e;
    if (entries.size() >= 2)
        emit gridRequested(entries);
}

void HistoryPanel::select(qint64 id)
{
    for (int i = 0; i < m_list->count(); ++i)
        if (m_list->item(i)->data(kIdRole).toLongLong() == id) {
            m_list->setCurrentRow(i, QItemSelectionModel::ClearAndSelect); // only this one
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
    const int n = int(selectedIds().size());
    m_reuse->setEnabled(any);
    m_open->setEnabled(any);
    m_delete->setEnabled(any);
    m_edit->setEnabled(any);
    m_compare->setEnabled(n == 2);
    m_grid->setEnabled(n >= 2);
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
        emit errorOccurred(
            tr("Could not open the folder %1.").arg(QDir::toNativeSeparators(file.absolutePath())));
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
    menu.addAction(tr("Send to &Edit"), this, &HistoryPanel::editSelected);
    menu.addAction(tr("&Copy image"), this, &HistoryPanel::copySelected)->setShortcut(QKeySequence::Copy);
    QAction *compare = menu.addAction(tr("Co&mpare the two selected…"), this, &HistoryPanel::compareSelected);
    compare->setEnabled(selectedIds().size() == 2);
    QAction *grid = menu.addAction(tr("Show selected as a &grid…"), this, &HistoryPanel::gridOfSelected);
    grid->setEnabled(selectedIds().size() >= 2);
    menu.addAction(tr("Export film of this run…"), this, &HistoryPanel::exportFilmOfSelected);
    menu.addAction(tr("Open file location"), this, &HistoryPanel::openSelectedLocation);
    menu.addSeparator();
    menu.addAction(tr("Delete from history"), this, &HistoryPanel::deleteSelected);
    menu.exec(m_list->viewport()->mapToGlobal(pos));
}
