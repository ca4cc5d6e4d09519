#include "inside/inside_map_view.h"

#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>

InsideMapView::InsideMapView(QWidget *parent) : QWidget(parent)
{
    setFocusPolicy(Qt::StrongFocus);
    setCursor(Qt::CrossCursor);
    setAccessibleName(tr("Inside map: click a patch to see its attention"));
}

void InsideMapView::setImage(const QImage &image)
{
    m_image = image;
    update();
}

void InsideMapView::setGrid(int tokensPerSide)
{
    m_grid = qMax(0, tokensPerSide);
    if (m_token >= m_grid * m_grid)
        m_token = -1;
    update();
}

void InsideMapView::setSelectedToken(int token)
{
    m_token = token;
    update();
}

void InsideMapView::setPlaceholderText(const QString &text)
{
    m_placeholder = text;
    update();
}

QRect InsideMapView::targetRect() const
{
    if (m_image.isNull())
        return {};
    // Largest integer multiple of the image that fits (crisp pixels), else fit keeping the aspect.
    const QSize avail = size() - QSize(8, 8);
    const int factor
        = qMin(avail.width() / qMax(1, m_image.width()), avail.height() / qMax(1, m_image.height()));
    QSize s = factor >= 1 ? m_image.size() * factor : m_image.size().scaled(avail, Qt::KeepAspectRatio);
    return QRect(QPoint((width() - s.width()) / 2, (height() - s.height()) / 2), s);
}

int InsideMapView::tokenAtPosition(const QPoint &pos) const
{
    const QRect r = targetRect();
    if (m_grid <= 0 || !r.contains(pos))
        return -1;
    const int col = qBound(0, (pos.x() - r.left()) * m_grid / qMax(1, r.width()), m_grid - 1);
    const int row = qBound(0, (pos.y() - r.top()) * m_grid / qMax(1, r.height()), m_grid - 1);
    return row * m_grid + col;
}

QRect InsideMapView::tokenRect(int token) const
{
    const QRect r = targetRect();
    if (m_grid <= 0 || token < 0 || token >= m_grid * m_grid || r.isEmpty())
        return {};
    const int row = token / m_grid, col = token % m_grid;
    const int x0 = r.left() + col * r.width() / m_grid, x1 = r.left() + (col + 1) * r.width() / m_grid;
    const int y0 = r.top() + row * r.height() / m_grid, y1 = r.top() + (row + 1) * r.height() / m_grid;
    return QRect(QPoint(x0, y0), QPoint(x1 - 1, y1 - 1));
}

void InsideMapView::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.fillRect(rect(), palette().window());
    const QRect r = targetRect();
    if (m_image.isNull()) {
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap, m_placeholder);
        return;
    }
    p.setRenderHint(QPainter::SmoothPixmapTransform, false);
    p.drawImage(r, m_image);
    if (m_token >= 0) {
        const QRect t = tokenRect(m_token);
        p.setPen(QPen(QColor(0, 220, 255), 2));
        p.setBrush(Qt::NoBrush);
        p.drawRect(t.adjusted(1, 1, -1, -1));
    }
    if (hasFocus()) {
        p.setPen(QPen(palette().color(QPalette::Highlight), 1, Qt::DotLine));
        p.drawRect(r.adjusted(-2, -2, 1, 1));
    }
}

void InsideMapView::mousePressEvent(QMouseEvent *event)
{
    const int token = tokenAtPosition(event->position().toPoint());
    if (token < 0)
        return;
    setSelectedToken(token);
    emit tokenClicked(token);
}

void InsideMapView::keyPressEvent(QKeyEvent *event)
{
    if (m_grid <= 0) {
        QWidget::keyPressEvent(event);
        return;
    }
    int row = m_token < 0 ? m_grid / 2 : m_token / m_grid, col = m_token < 0 ? m_grid / 2 : m_token % m_grid;
    switch (event->key()) {
    case Qt::Key_Left:
        col = qMax(0, col - 1);
        break;
    case Qt::Key_Right:
        col = qMin(m_grid - 1, col + 1);
        break;
    case Qt::Key_Up:
        row = qMax(0, row - 1);
        break;
    case Qt::Key_Down:
        row = qMin(m_grid - 1, row + 1);
        break;
    default:
        QWidget::keyPressEvent(event);
        return;
    }
    setSelectedToken(row * m_grid + col);
    emit tokenClicked(m_token);
}
