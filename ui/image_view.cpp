#include "image_view.h"

#include <QPaintEvent>
#include <QPainter>

namespace {
constexpr int kMargin = 8;
const QColor kBackdrop(0x2b, 0x2d, 0x30);
const QColor kFrame(0x45, 0x48, 0x4d);
const QColor kPlaceholder(0x9a, 0x9d, 0xa3);
} // namespace

ImageView::ImageView(QWidget *parent)
    : QWidget(parent)
    , m_placeholder(tr("No image yet"))
{
    setAttribute(Qt::WA_OpaquePaintEvent);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

void ImageView::setImage(const QImage &image)
{
    m_image = image;
    m_scaled = QImage();
    update();
}

void ImageView::clear()
{
    setImage(QImage());
}

void ImageView::setPlaceholderText(const QString &text)
{
    m_placeholder = text;
    update();
}

QSize ImageView::sizeHint() const
{
    return {320, 320};
}

QSize ImageView::minimumSizeHint() const
{
    return {160, 160};
}

QRect ImageView::targetRect() const
{
    if (m_image.isNull())
        return {};
    const QRect area = rect().adjusted(kMargin, kMargin, -kMargin, -kMargin);
    QSize size = m_image.size().scaled(area.size(), Qt::KeepAspectRatio);
    if (size.isEmpty())
        return {};
    QRect target(QPoint(0, 0), size);
    target.moveCenter(area.center());
    return target;
}

void ImageView::resizeEvent(QResizeEvent *event)
{
    m_scaled = QImage();
    QWidget::resizeEvent(event);
}

void ImageView::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    painter.fillRect(rect(), kBackdrop);
    painter.setPen(kFrame);
    painter.drawRect(rect().adjusted(0, 0, -1, -1));
    const QRect target = targetRect();
    if (target.isEmpty()) {
        painter.setPen(kPlaceholder);
        painter.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap, m_placeholder);
        return;
    }
    // Scale once per size with Qt::SmoothTransformation (bilinear) and cache it: repaints during a
    // run are then a plain blit.
    if (m_scaled.size() != target.size())
        m_scaled = m_image.scaled(target.size(), Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
    painter.drawImage(target.topLeft(), m_scaled);
}
