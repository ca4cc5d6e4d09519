#pragma once
/// \file job_queue_view.h
/// The "Jobs" panel: the engine's queue as the user sees it. One row per job (running first, then
/// the waiting ones in order, then the last ended ones), with its kind, what it does, its state and
/// progress; "Cancel job" cancels the selected running or waiting job.
///
///     auto *view = new JobQueueView(controller); // follows controller->jobChanged

#include "engine/generation_types.h"

#include <QWidget>

class GenerationController;
class QPushButton;
class QTreeWidget;
class QTreeWidgetItem;

class JobQueueView : public QWidget {
    Q_OBJECT
public:
    explicit JobQueueView(GenerationController *engine, QWidget *parent = nullptr);

    QTreeWidget *tree() const { return m_tree; }
    /// Rows in the view (tests).
    int rowCount() const;
    /// The row text of a job ("" when not shown): "kind · title · state · progress".
    QString rowText(quint64 jobId) const;
    /// Select a job's row (tests and the main window).
    void select(quint64 jobId);

public slots:
    void cancelSelected();

private:
    void rebuild();
    void updateRow(QTreeWidgetItem *item, const JobInfo &info);

    GenerationController *m_engine = nullptr;
    QTreeWidget *m_tree = nullptr;
    QPushButton *m_cancel = nullptr;
};
