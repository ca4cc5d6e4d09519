#pragma once
/// \file history_panel.h
/// The gallery: thumbnails of every stored result (newest first), a search box that filters by
/// class, and Reuse settings / Open file location / Delete. It reads and deletes through the
/// HistoryStore it is given (not owned); the main window adds entries and calls refresh().

#include "history/history_store.h"

#include <QWidget>

class QLabel;
class QLineEdit;
class QListWidget;
class QListWidgetItem;
class QPushButton;

class HistoryPanel : public QWidget {
    Q_OBJECT

public:
    explicit HistoryPanel(HistoryStore *store, QWidget *parent = nullptr);

    /// Reload the list from the store (keeps the filter; selects selectId when given).
    void refresh(qint64 selectId = 0);
    /// Show a just-stored entry first and select it (cheaper than refresh(): no reload).
    void addEntry(const HistoryEntry &entry);
    void setFilter(const QString &text);
    /// Id of the selected entry, 0 when none.
    qint64 selectedId() const;
    /// Every selected entry's id, in list order (newest first).
    QList<qint64> selectedIds() const;
    /// The entry's full image (its PNG when it still exists, else the thumbnail).
    static QImage imageOf(const HistoryEntry &entry);
    /// Put the selected image on the clipboard (Ctrl+C).
    void copySelected();
    /// Send to Edit / Compare (two selected) / Grid (two or more selected).
    void editSelected();
    void compareSelected();
    void gridOfSelected();
    void select(qint64 id);
    int visibleCount() const;

    /// Actions on the selection (what the buttons do).
    void reuseSelected();
    /// Ask for the denoising film of the selected run (its own settings and seed).
    void exportFilmOfSelected();
    void openSelectedLocation();
    /// Deletes the selected entry from the history (the image file stays on disk).
    void deleteSelected();

signals:
    void reuseRequested(const HistoryEntry &entry);
    void filmRequested(const HistoryEntry &entry);
    /// Double-click: show the entry's image.
    void showRequested(const HistoryEntry &entry);
    /// "Send to Edit": open the image editor on this entry's image.
    void editRequested(const HistoryEntry &entry);
    /// A/B compare of two entries (a is the newer).
    void compareRequested(const HistoryEntry &a, const HistoryEntry &b);
    /// The selected entries as a grid.
    void gridRequested(const QList<HistoryEntry> &entries);
    /// An operation failed (message names the file).
    void errorOccurred(const QString &message);

private:
    QListWidgetItem *makeItem(const HistoryEntry &entry) const;
    void updateSummary(int shown);
    void updateButtons();
    void showContextMenu(const QPoint &pos);

    HistoryStore *m_store;
    QLineEdit *m_search = nullptr;
    QListWidget *m_list = nullptr;
    QLabel *m_summary = nullptr;
    QPushButton *m_reuse = nullptr;
    QPushButton *m_open = nullptr;
    QPushButton *m_delete = nullptr;
    QPushButton *m_edit = nullptr;
    QPushButton *m_compare = nullptr;
    QPushButton *m_grid = nullptr;
};
