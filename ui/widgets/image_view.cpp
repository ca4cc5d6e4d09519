#include "widgets/image_view.h"

#include <QAction>
#include <QContextMenuEvent>
#include <QKeyEvent>
#include <QMenu>
#include <QMouseEvent>
#include <QPaintEvent>
#include <QPainter>
#include <QWheelEvent>

#include <cmath>

namespace {
constexpr int kMargin = 8;
constexpr double kZoomStep = 1.25;
constexpr double kMinZoom = 0.05;
constexpr double kMaxZoom = 64.0;
const QColor kBackdrop(0x2b, 0x2d, 0x30);
const QColor kFrame(0x45, 0x48, 0x4d);
const QColor kPlaceholder(0x9a, 0x9d, 0xa3);

bool isWhole(double v)
{
    return std::abs(v - std::round(v)) < 1e-9;
}
} // namespace

ImageView::ImageView(QWidget *parent) : QWidget(parent), m_placeholder(tr("No image yet"))
{
    setAttribute(Qt::WA_OpaquePaintEvent);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    setFocusPolicy(Qt::StrongFocus); // + - 0 1 P from the keyboard
    setAccessibleName(tr("Image view"));
    setToolTip(tr("Wheel: zoom · drag: pan · double click: fit · right click: Fit / 100% / Pixel-exact"));
}

void ImageView::setImage(const QImage &image)
{
    const bool sizeChanged = image.size() != m_image.size();
    m_image = image;
    m_scaled = QImage();
    if (sizeChanged)
        clampOffset();
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

double ImageView::fitScale() const
{
    if (m_image.isNull())
        return 1.0;
    const QRect area = rect().adjusted(kMargin, kMargin, -kMargin, -kMargin);
    return qMax(1e-6, qMin(double(area.width()) / m_image.width(), double(area.height()) / m_image.height()));
}

double ImageView::scale() const
{
    if (m_zoom > 0)
        return m_zoom;
    switch (m_mode) {
    case FitMode::Fit:
        return fitScale();
    case FitMode::ActualSize:
        return 1.0;
    case FitMode::PixelExact:
        return qMax(1.0, std::floor(fitScale()));
    }
    return 1.0;
}

QRectF ImageView::imageRect() const
{
    if (m_image.isNull())
        return {};
    const double s = scale();
    const QSizeF size(m_image.width() * s, m_image.height() * s);
    QRectF r(QPointF(0, 0), size);
    r.moveCenter(QRectF(rect()).center() + m_offset);
    if (m_mode != FitMode::Fit || m_zoom > 0) {
        // Whole screen pixels: every image pixel covers the same number of them.
        r.moveTopLeft(QPointF(std::round(r.left()), std::round(r.top())));
    }
    return r;
}

void ImageView::clampOffset()
{
    // Pan only as far as the image reaches: some of it always stays in view.
    if (m_image.isNull()) {
        m_offset = {};
        return;
    }
    const double s = scale();
    const double maxX = qMax(0.0, (m_image.width() * s - width()) / 2 + width() / 4.0);
    const double maxY = qMax(0.0, (m_image.height() * s - height()) / 2 + height() / 4.0);
    if (m_image.width() * s <= width() && m_image.height() * s <= height() && m_zoom <= 0) {
        m_offset = {};
        return;
    }
    m_offset.setX(qBound(-maxX, m_offset.x(), maxX));
    m_offset.setY(qBound(-maxY, m_offset.y(), maxY));
}

void ImageView::announce()
{
    emit viewChanged(m_mode, m_zoom, m_offset);
}

void ImageView::setFitMode(FitMode mode)
{
    m_mode = mode;
    m_zoom = 0;
    m_offset = {};
    m_scaled = QImage();
    update();
    announce();
}

void ImageView::setSmoothing(bool on)
{
    m_smoothing = on;
    m_scaled = QImage();
    update();
}

void ImageView::setView(FitMode mode, double zoom, const QPointF &offset)
{
    m_mode = mode;
    m_zoom = zoom;
    m_offset = offset;
    m_scaled = QImage();
    update();
}

void ImageView::zoomBy(double factor, const QPointF &anchor)
{
    if (m_image.isNull())
        return;
    const double before = scale();
    double after = qBound(kMinZoom, before * factor, kMaxZoom);
    // In pixel-exact mode zooming steps through whole-number scales.
    if (m_mode == FitMode::PixelExact && after >= 1.0)
        after = factor > 1 ? std::max(before + 1, std::floor(after))
                           : std::max(1.0, std::min(before - 1, std::ceil(after)));
    if (after == before)
        return;
    // Keep the image point under the anchor where it is.
    const QPointF centre = QRectF(rect()).center() + m_offset;
    const QPointF fromCentre = anchor - centre;
    m_offset += fromCentre - fromCentre * (after / before);
    m_zoom = after;
    clampOffset();
    m_scaled = QImage();
    update();
    announce();
}

void ImageView::zoomIn()
{
    zoomBy(kZoomStep, QRectF(rect()).center());
}

void ImageView::zoomOut()
{
    zoomBy(1.0 / kZoomStep, QRectF(rect()).center());
}

void ImageView::resizeEvent(QResizeEvent *event)
{
    m_scaled = QImage();
    QWidget::resizeEvent(event);
}

void ImageView::wheelEvent(QWheelEvent *event)
{
    if (m_image.isNull())
        return QWidget::wheelEvent(event);
    const double notches = event->angleDelta().y() / 120.0;
    if (notches == 0)
        return QWidget::wheelEvent(event);
    zoomBy(std::pow(kZoomStep, notches), event->position());
    event->accept();
}

void ImageView::mousePressEvent(QMouseEvent *event)
{
    if (event->button() == Qt::LeftButton && !m_image.isNull()) {
        m_dragging = true;
        m_dragStart = event->position().toPoint();
        m_offsetAtDragStart = m_offset;
        setCursor(Qt::ClosedHandCursor);
        event->accept();
        return;
    }
    QWidget::mousePressEvent(event);
}

void ImageView::mouseMoveEvent(QMouseEvent *event)
{
    if (!m_dragging)
        return QWidget::mouseMoveEvent(event);
    m_offset = m_offsetAtDragStart + QPointF(event->position().toPoint() - m_dragStart);
    clampOffset();
    update();
    announce();
}

void ImageView::mouseReleaseEvent(QMouseEvent *event)
{
    if (m_dragging && event->button() == Qt::LeftButton) {
        m_dragging = false;
        unsetCursor();
        event->accept();
        return;
    }
    QWidget::mouseReleaseEvent(event);
}

void ImageView::mouseDoubleClickEvent(QMouseEvent *event)
{
    setFitMode(FitMode::Fit);
    event->accept();
}

void ImageView::keyPressEvent(QKeyEvent *event)
{
    switch (event->key()) {
    case Qt::Key_Plus:
    case Qt::Key_Equal:
        zoomIn();
        break;
    case Qt::Key_Minus:
        zoomOut();
        break;
    case Qt::Key_0:
        setFitMode(FitMode::Fit);
        break;
    case Qt::Key_1:
        setFitMode(FitMode::ActualSize);
        break;
    case Qt::Key_P:
        setFitMode(FitMode::PixelExact);
        break;
    default:
        QWidget::keyPressEvent(event);
        return;
    }
    event->accept();
}

void ImageView::contextMenuEvent(QContextMenuEvent *event)
{
    QMenu menu(this);
    const struct {
        FitMode mode;
        QString text;
    } modes[] = {{FitMode::Fit, tr("&Fit (0)")},
                 {FitMode::ActualSize, tr("&Actual size, 100% (1)")},
                 {FitMode::PixelExact, tr("&Pixel-exact (P)")}};
    for (const auto &m : modes) {
        QAction *a = menu.addAction(m.text, this, [this, mode = m.mode] { setFitMode(mode); });
        a->setCheckable(true);
        a->setChecked(m_zoom <= 0 && m_mode == m.mode);
    }
    menu.addSeparator();
    menu.addAction(tr("Zoom &in (+)"), this, &ImageView::zoomIn);
    menu.addAction(tr("Zoom &out (-)"), this, &ImageView::zoomOut);
    QAction *smooth = menu.addAction(tr("&Smooth scaling"), this, [this](bool on) { setSmoothing(on); });
    smooth->setCheckable(true);
    smooth->setChecked(m_smoothing);
    menu.exec(event->globalPos());
}

void ImageView::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    painter.fillRect(rect(), kBackdrop);
    painter.setPen(kFrame);
    painter.drawRect(rect().adjusted(0, 0, -1, -1));
    const QRectF target = imageRect();
    if (target.isEmpty()) {
        painter.setPen(kPlaceholder);
        painter.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap, m_placeholder);
        return;
    }
    const double s = scale();
    const bool nearest = !m_smoothing || m_mode == FitMode::PixelExact || (s >= 1.0 && isWhole(s));
    if (m_mode == FitMode::Fit && m_zoom <= 0 && !nearest) {
        // Fit with smoothing: scale once per size (bilinear) and cache it; repaints during a run are
        // then a plain blit.
        const QSize size = target.size().toSize();
        if (m_scaled.size() != size)
            m_scaled = m_image.scaled(size, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
        painter.drawImage(target.topLeft(), m_scaled);
        return;
    }
    // Zoomed: the painter scales only what is visible (no huge intermediate image).
    painter.setRenderHint(QPainter::SmoothPixmapTransform, !nearest);
    painter.setClipRect(rect().adjusted(1, 1, -1, -1));
    painter.drawImage(target, m_image);
}
