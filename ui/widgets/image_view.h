#pragma once
/// \file image_view.h
/// Shows one image on a dark backdrop, or a placeholder text when empty, with zoom and pan:
/// - Fit (default): scaled to fit, aspect kept, smooth filtering unless smoothing is off;
/// - Actual size (100%) and Pixel-exact (the largest whole-number scale that fits, nearest
///   neighbour: a 28x28 model's pixels stay crisp squares);
/// - the mouse wheel zooms around the cursor, dragging pans, a double click returns to Fit;
///   keys: + / - zoom, 0 fit, 1 actual size, P pixel-exact.
/// Views can be linked (PreviewPanel links x_t and x̂₀): viewChanged() carries the zoom and pan.
///
///     auto *view = new ImageView(parent);
///     view->setImage(image);
///     view->setFitMode(ImageView::FitMode::PixelExact);

#include <QImage>
#include <QPoint>
#include <QPointF>
#include <QString>
#include <QWidget>

class ImageView : public QWidget {
    Q_OBJECT

public:
    enum class FitMode { Fit, ActualSize, PixelExact };

    explicit ImageView(QWidget *parent = nullptr);

    void setImage(const QImage &image);
    void clear();
    const QImage &image() const { return m_image; }
    void setPlaceholderText(const QString &text);

    FitMode fitMode() const { return m_mode; }
    /// Screen pixels per image pixel as shown now.
    double scale() const;
    /// Smooth (bilinear) filtering when an image is scaled by a non-integer factor (Fit, zoom);
    /// off: nearest neighbour everywhere. Pixel-exact and whole-number zooms are always nearest.
    bool smoothing() const { return m_smoothing; }
    /// The zoom set by the wheel or zoomIn/zoomOut (0: none, the fit mode decides).
    double explicitZoom() const { return m_zoom; }
    QPointF panOffset() const { return m_offset; }
    /// The image's rectangle in widget coordinates (empty without an image).
    QRectF imageRect() const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

public slots:
    void setFitMode(ImageView::FitMode mode);
    void setSmoothing(bool on);
    void zoomIn();
    void zoomOut();
    /// Zoom by factor keeping the image point under `anchor` (widget coordinates) in place.
    void zoomBy(double factor, const QPointF &anchor);
    /// Take another view's zoom and pan (linked views); emits nothing.
    void setView(ImageView::FitMode mode, double zoom, const QPointF &offset);

signals:
    void viewChanged(ImageView::FitMode mode, double zoom, const QPointF &offset);

protected:
    void paintEvent(QPaintEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    void wheelEvent(QWheelEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;
    void mouseDoubleClickEvent(QMouseEvent *event) override;
    void keyPressEvent(QKeyEvent *event) override;
    void contextMenuEvent(QContextMenuEvent *event) override;

private:
    double fitScale() const;
    void clampOffset();
    void announce();

    QImage m_image;
    QImage m_scaled; // Fit mode with smoothing: m_image at the target size, rebuilt on change or resize
    QString m_placeholder;
    FitMode m_mode = FitMode::Fit;
    double m_zoom = 0; // explicit zoom (wheel, zoomIn/Out); 0 = from the fit mode
    QPointF m_offset; // pan, in widget pixels from the centred position
    bool m_smoothing = true;
    bool m_dragging = false;
    QPoint m_dragStart;
    QPointF m_offsetAtDragStart;
};

Q_DECLARE_METATYPE(ImageView::FitMode)
