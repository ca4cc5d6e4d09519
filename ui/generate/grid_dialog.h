#pragma once
/// \file grid_dialog.h
/// A batch (or any selection from History) as a grid: every image enlarged by the same
/// whole-number factor (small model images stay crisp) with its caption; "Save grid…" writes the
/// grid as one PNG.
///
///     GridDialog dialog({{image1, "seed 1"}, {image2, "seed 2"}}, tr("Sneaker"), this);
///     dialog.exec();

#include <QDialog>
#include <QImage>
#include <QList>
#include <QPair>
#include <QString>

class QLabel;
class QScrollArea;

class GridDialog : public QDialog {
    Q_OBJECT
public:
    using Item = QPair<QImage, QString>;
    GridDialog(const QList<Item> &items, const QString &title, QWidget *parent = nullptr);

    /// The grid as one image (what Save writes): columns x rows of cells, captions under the images.
    QImage gridImage() const { return m_grid; }
    int columns() const { return m_columns; }
    /// Write gridImage() as PNG; false (and a message in the dialog) on failure.
    bool saveTo(const QString &path);

    /// Compose a grid: each image scaled by `factor` (nearest), `columns` per row, captions below.
    static QImage compose(const QList<Item> &items, int columns, int factor, const QFont &font);

private:
    QList<Item> m_items;
    QImage m_grid;
    int m_columns = 1;
    QLabel *m_view = nullptr;
    QLabel *m_status = nullptr;
};
