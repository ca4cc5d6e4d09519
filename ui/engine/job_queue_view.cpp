#include "engine/job_queue_view.h"

#include "engine/generation_controller.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace {
constexpr int kIdRole = Qt::UserRole + 1;

QString progressText(const JobInfo &info)
{
    if (info.state == JobState::Queued)
        return QObject::tr("waiting");
    if (!info.isActive())
        return info.message;
    QString text
        = info.total > 0 ? QStringLiteral("%1 / %2").arg(info.done).arg(info.total) : QObject::tr("starting");
    if (!info.stage.isEmpty())
        text += QStringLiteral(" · ") + info.stage;
    if (info.cancelRequested)
        text += QStringLiteral(" · ") + QObject::tr("cancelling");
    return text;
}
} // namespace

JobQueueView::JobQueueView(GenerationController *engine, QWidget *parent)
    : QWidget(parent), m_engine(engine), m_tree(new QTreeWidget(this)),
      m_cancel(new QPushButton(tr("Cancel job"), this))
{
    m_tree->setObjectName(QStringLiteral("jobTree"));
    m_tree->setRootIsDecorated(false);
    m_tree->setUniformRowHeights(true);
    m_tree->setHeaderLabels({tr("#"), tr("Job"), tr("What"), tr("State"), tr("Progress")});
    m_tree->header()->setStretchLastSection(true);
    m_tree->setAccessibleName(tr("Engine jobs"));
    m_cancel->setObjectName(QStringLiteral("cancelJobButton"));
    m_cancel->setToolTip(tr("Cancel the selected job (a waiting job never runs)"));
    m_cancel->setEnabled(false);
    auto *hint = new QLabel(tr("One engine runs every job in turn on the loaded model."), this);
    hint->setEnabled(false);
    auto *buttons = new QHBoxLayout;
    buttons->addWidget(hint, 1);
    buttons->addWidget(m_cancel);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->addWidget(m_tree, 1);
    layout->addLayout(buttons);

    connect(m_cancel, &QPushButton::clicked, this, &JobQueueView::cancelSelected);
    connect(m_tree, &QTreeWidget::itemSelectionChanged, this, [this] {
        const auto *item = m_tree->currentItem();
        const JobInfo info
            = item && m_engine ? m_engine->job(item->data(0, kIdRole).toULongLong()) : JobInfo();
        m_cancel->setEnabled(info.id != 0 && info.isActive() && !info.cancelRequested);
    });
    if (m_engine)
        connect(m_engine, &GenerationController::jobChanged, this, [this](const JobInfo &info) {
            // Progress updates touch one row; a new or ended job reorders the list.
            for (int i = 0; i < m_tree->topLevelItemCount(); ++i) {
                QTreeWidgetItem *item = m_tree->topLevelItem(i);
                if (item->data(0, kIdRole).toULongLong() == info.id
                    && item->data(3, kIdRole).toInt() == static_cast<int>(info.state)) {
                    updateRow(item, info);
                    return;
                }
            }
            rebuild();
        });
    rebuild();
}

void JobQueueView::rebuild()
{
    const quint64 selected
        = m_tree->currentItem() ? m_tree->currentItem()->data(0, kIdRole).toULongLong() : 0;
    m_tree->clear();
    if (!m_engine)
        return;
    for (const JobInfo &info : m_engine->jobs()) {
        auto *item = new QTreeWidgetItem(m_tree);
        updateRow(item, info);
        if (info.id == selected)
            m_tree->setCurrentItem(item);
    }
    for (int c = 0; c < 4; ++c)
        m_tree->resizeColumnToContents(c);
}

void JobQueueView::updateRow(QTreeWidgetItem *item, const JobInfo &info)
{
    item->setData(0, kIdRole, QVariant::fromValue(info.id));
    item->setData(3, kIdRole, static_cast<int>(info.state));
    item->setText(0, QString::number(info.id));
    item->setText(1, jobKindName(info.kind));
    item->setText(2, info.title);
    item->setText(3, jobStateName(info.state));
    item->setText(4, progressText(info));
    item->setToolTip(4, progressText(info));
    QFont f = item->font(0);
    f.setBold(info.state == JobState::Running);
    for (int c = 0; c < 5; ++c) {
        item->setFont(c, f);
        item->setForeground(c, info.isActive() ? palette().text() : palette().placeholderText());
    }
    if (item == m_tree->currentItem())
        m_cancel->setEnabled(info.isActive() && !info.cancelRequested);
}

int JobQueueView::rowCount() const
{
    return m_tree->topLevelItemCount();
}

QString JobQueueView::rowText(quint64 jobId) const
{
    for (int i = 0; i < m_tree->topLevelItemCount(); ++i) {
        const QTreeWidgetItem *item = m_tree->topLevelItem(i);
        if (item->data(0, kIdRole).toULongLong() == jobId)
            return QStringLiteral("%1 · %2 · %3 · %4")
                .arg(item->text(1), item->text(2), item->text(3), item->text(4));
    }
    return {};
}

void JobQueueView::select(quint64 jobId)
{
    for (int i = 0; i < m_tree->topLevelItemCount(); ++i)
        if (m_tree->topLevelItem(i)->data(0, kIdRole).toULongLong() == jobId)
            m_tree->setCurrentItem(m_tree->topLevelItem(i));
}

void JobQueueView::cancelSelected()
{
    const auto *item = m_tree->currentItem();
    if (!item || !m_engine)
        return;
    m_engine->cancelJob(item->data(0, kIdRole).toULongLong());
}
