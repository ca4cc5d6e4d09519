#include "generate/grid_dialog.h"

#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFontMetrics>
#include <QImageWriter>
#include <QLabel>
#include <QPainter>
#include <QPushButton>
#include <QSaveFile>
#include <QScrollArea>
#include <QStandardPaths>
#include <QVBoxLayout>

#include <cmath>

namespace {
constexpr int kGap = 8;
constexpr int kTargetCell = 160; // screen pixels an image aims for
} // namespace

QImage GridDialog::compose(const QList<Item> &items, int columns, int factor, const QFont &font)
{
    if (items.isEmpty() || columns < 1)
        return {};
    int cellW = 0, cellH = 0;
    for (const Item &it : items) {
        cellW = qMax(cellW, it.first.width() * factor);
        cellH = qMax(cellH, it.first.height() * factor);
    }
    const QFontMetrics fm(font);
    int lines = 1;
    for (const Item &it : items)
        lines = qMax(lines, int(it.second.count(QLatin1Char('\n'))) + 1);
    const int captionH = lines * fm.lineSpacing() + 4;
    const int rows = (int(items.size()) + columns - 1) / columns;
    QImage grid(columns * cellW + (columns + 1) * kGap, rows * (cellH + captionH) + (rows + 1) * kGap,
                QImage::Format_RGB888);
    grid.fill(QColor(0x2b, 0x2d, 0x30));
    QPainter p(&grid);
    p.setFont(font);
    p.setPen(QColor(0xe0, 0xe2, 0xe6));
    p.setRenderHint(QPainter::SmoothPixmapTransform, false); // whole-number factor, nearest
    for (int i = 0; i < items.size(); ++i) {
        const int r = i / columns, c = i % columns;
        const QPoint origin(kGap + c * (cellW + kGap), kGap + r * (cellH + captionH + kGap));
        const QImage &img = items[i].first;
        const QSize size(img.width() * factor, img.height() * factor);
        const QRect target(origin + QPoint((cellW - size.width()) / 2, (cellH - size.height()) / 2), size);
        p.drawImage(target, img);
        // Each caption line elided to the cell.
        const QStringList captionLines = items[i].second.split(QLatin1Char('\n'));
        for (int l = 0; l < captionLines.size(); ++l) {
            const QRect line(origin.x(), origin.y() + cellH + 2 + l * fm.lineSpacing(), cellW,
                             fm.lineSpacing());
            p.drawText(line, Qt::AlignHCenter | Qt::AlignTop,
                       fm.elidedText(captionLines[l], Qt::ElideRight, cellW));
        }
    }
    return grid;
}

GridDialog::GridDialog(const QList<Item> &items, const QString &title, QWidget *parent)
    : QDialog(parent), m_items(items)
{
    setWindowTitle(tr("Grid — %1").arg(title));
    setObjectName(QStringLiteral("gridDialog"));
    int maxSide = 1;
    for (const Item &it : items)
        maxSide = qMax(maxSide, qMax(it.first.width(), it.first.height()));
    // Whole-number enlargement towards ~160 px cells (28 px images: x5); big images stay 1:1.
    const int factor = qMax(1, kTargetCell / maxSide);
    m_columns = qMax(1, int(std::ceil(std::sqrt(double(items.size())))));
    m_grid = compose(items, m_columns, factor, font());

    auto *layout = new QVBoxLayout(this);
    auto *scroll = new QScrollArea(this);
    m_view = new QLabel;
    m_view->setObjectName(QStringLiteral("gridView"));
    m_view->setPixmap(QPixmap::fromImage(m_grid));
    m_view->setAccessibleName(tr("%n image(s) in a grid", nullptr, int(items.size())));
    scroll->setWidget(m_view);
    scroll->setAlignment(Qt::AlignCenter);
    layout->addWidget(scroll, 1);
    m_status = new QLabel(tr("%n image(s), enlarged ×%1", nullptr, int(items.size())).arg(factor), this);
    m_status->setObjectName(QStringLiteral("gridStatus"));
    layout->addWidget(m_status);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    QPushButton *save = buttons->addButton(tr("&Save grid…"), QDialogButtonBox::ActionRole);
    connect(save, &QPushButton::clicked, this, [this] {
        const QString dir = QStandardPaths::writableLocation(QStandardPaths::PicturesLocation);
        const QString path = QFileDialog::getSaveFileName(
            this, tr("Save grid"), QDir(dir).filePath(QStringLiteral("grid.png")), tr("PNG images (*.png)"));
        if (!path.isEmpty())
            saveTo(path);
    });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);
    resize(qMin(m_grid.width() + 60, 1100), qMin(m_grid.height() + 110, 800));
}

bool GridDialog::saveTo(const QString &path)
{
    // QSaveFile: written to a temporary file and renamed, so a failure leaves no partial PNG.
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || !m_grid.save(&file, "PNG") || !file.commit()) {
        m_status->setText(
            tr("Could not write %1: %2").arg(QDir::toNativeSeparators(path), file.errorString()));
        return false;
    }
    m_status->setText(tr("Saved %1").arg(QDir::toNativeSeparators(path)));
    return true;
}
