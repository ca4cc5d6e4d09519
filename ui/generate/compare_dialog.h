#pragma once
/// \file compare_dialog.h
/// A/B compare of two images (History → Compare): side by side (linked zoom and pan) or a swipe
/// (one image over the other, a divider dragged across), with their captions and the PSNR.
///
///     CompareDialog dialog(imageA, tr("seed 1"), imageB, tr("seed 2"), this);
///     dialog.setMode(CompareDialog::Mode::Swipe);
///     dialog.exec();

#include <QDialog>
#include <QImage>
#include <QWidget>

class ImageView;
class QButtonGroup;
class QLabel;
class QSlider;
class QStackedWidget;

/// One image over the other, split at a vertical divider: A left of it, B right of it.
class SwipeView : public QWidget {
    Q_OBJECT
public:
    explicit SwipeView(QWidget *parent = nullptr);
    void setImages(const QImage &a, const QImage &b);
    /// The divider's position, 0 (all B) .. 1 (all A).
    void setPosition(double position);
    double position() const { return m_position; }
    QSize sizeHint() const override { return {480, 480}; }

signals:
    void positionChanged(double position);

protected:
    void paintEvent(QPaintEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;

private:
    QRect imageRect() const;
    QImage m_a, m_b;
    double m_position = 0.5;
};

class CompareDialog : public QDialog {
    Q_OBJECT
public:
    enum class Mode { SideBySide = 0, Swipe = 1 };
    CompareDialog(const QImage &a, const QString &captionA, const QImage &b, const QString &captionB,
                  QWidget *parent = nullptr);
    void setMode(Mode mode);
    Mode mode() const { return m_mode; }
    SwipeView *swipeView() const { return m_swipe; }
    /// PSNR of B against A in dB (infinite when equal; NaN when the sizes differ).
    double psnr() const { return m_psnr; }

private:
    Mode m_mode = Mode::SideBySide;
    QStackedWidget *m_stack = nullptr;
    QButtonGroup *m_modes = nullptr;
    ImageView *m_viewA = nullptr;
    ImageView *m_viewB = nullptr;
    SwipeView *m_swipe = nullptr;
    QSlider *m_slider = nullptr;
    double m_psnr = 0;
};
