#include "generate/compare_dialog.h"

#include "widgets/image_view.h"

#include <QButtonGroup>
#include <QDialogButtonBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QPainter>
#include <QPushButton>
#include <QSlider>
#include <QStackedWidget>
#include <QToolButton>
#include <QVBoxLayout>

#include <cmath>
#include <limits>
#include <tuple>

namespace {

double psnrOf(const QImage &a, const QImage &b)
{
    if (a.isNull() || b.isNull() || a.size() != b.size())
        return std::numeric_limits<double>::quiet_NaN();
    const QImage x = a.convertToFormat(QImage::Format_RGB888);
    const QImage y = b.convertToFormat(QImage::Format_RGB888);
    double sum = 0;
    for (int row = 0; row < x.height(); ++row) {
        const uchar *p = x.constScanLine(row);
        const uchar *q = y.constScanLine(row);
        for (int i = 0; i < x.width() * 3; ++i) {
            const double d = double(p[i]) - double(q[i]);
            sum += d * d;
        }
    }
    const double mse = sum / (double(x.width()) * x.height() * 3);
    return mse == 0 ? std::numeric_limits<double>::infinity() : 10.0 * std::log10(255.0 * 255.0 / mse);
}

} // namespace

SwipeView::SwipeView(QWidget *parent) : QWidget(parent)
{
    setAttribute(Qt::WA_OpaquePaintEvent);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    setAccessibleName(tr("Swipe comparison: drag to move the divider"));
    setCursor(Qt::SplitHCursor);
}

void SwipeView::setImages(const QImage &a, const QImage &b)
{
    m_a = a;
    m_b = b;
    update();
}

void SwipeView::setPosition(double position)
{
    position = qBound(0.0, position, 1.0);
    if (position == m_position)
        return;
    m_position = position;
    update();
    emit positionChanged(position);
}

QRect SwipeView::imageRect() const
{
    const QImage &ref = m_a.isNull() ? m_b : m_a;
    if (ref.isNull())
        return {};
    const QRect area = rect().adjusted(8, 8, -8, -8);
    // Whole-number enlargement when it fits (small model images stay crisp), else fit.
    const double fit = qMin(double(area.width()) / ref.width(), double(area.height()) / ref.height());
    const double s = fit >= 1.0 ? std::floor(fit) : fit;
    QRect r(0, 0, int(ref.width() * s), int(ref.height() * s));
    r.moveCenter(area.center());
    return r;
}

void SwipeView::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.fillRect(rect(), QColor(0x2b, 0x2d, 0x30));
    const QRect r = imageRect();
    if (r.isEmpty())
        return;
    const QImage &ref = m_a.isNull() ? m_b : m_a;
    p.setRenderHint(QPainter::SmoothPixmapTransform, r.width() < ref.width());
    const int split = r.left() + int(std::round(r.width() * m_position));
    p.save();
    p.setClipRect(QRect(r.left(), r.top(), split - r.left(), r.height()));
    p.drawImage(r, m_a);
    p.restore();
    p.save();
    p.setClipRect(QRect(split, r.top(), r.right() - split + 1, r.height()));
    p.drawImage(r, m_b);
    p.restore();
    p.setPen(QPen(QColor(0xf0, 0xc0, 0x40), 2));
    p.drawLine(split, r.top() - 6, split, r.bottom() + 6);
    p.setPen(Qt::white);
    p.drawText(r.adjusted(6, 4, -6, -4), Qt::AlignLeft | Qt::AlignTop, QStringLiteral("A"));
    p.drawText(r.adjusted(6, 4, -6, -4), Qt::AlignRight | Qt::AlignTop, QStringLiteral("B"));
}

void SwipeView::mousePressEvent(QMouseEvent *event)
{
    const QRect r = imageRect();
    if (!r.isEmpty())
        setPosition((event->position().x() - r.left()) / qMax(1, r.width()));
}

void SwipeView::mouseMoveEvent(QMouseEvent *event)
{
    if (event->buttons() & Qt::LeftButton)
        mousePressEvent(event);
}

CompareDialog::CompareDialog(const QImage &a, const QString &captionA, const QImage &b,
                             const QString &captionB, QWidget *parent)
    : QDialog(parent), m_psnr(psnrOf(a, b))
{
    setWindowTitle(tr("Compare"));
    setObjectName(QStringLiteral("compareDialog"));
    auto *layout = new QVBoxLayout(this);

    auto *header = new QHBoxLayout;
    m_modes = new QButtonGroup(this);
    for (const auto &[mode, text, name] :
         {std::tuple {Mode::SideBySide, tr("&Side by side"), "compareSideBySide"},
          std::tuple {Mode::Swipe, tr("S&wipe"), "compareSwipe"}}) {
        auto *button = new QToolButton(this);
        button->setText(text);
        button->setObjectName(QString::fromLatin1(name));
        button->setCheckable(true);
        m_modes->addButton(button, int(mode));
        header->addWidget(button);
    }
    m_modes->button(int(Mode::SideBySide))->setChecked(true);
    connect(m_modes, &QButtonGroup::idClicked, this, [this](int id) { setMode(Mode(id)); });
    header->addStretch(1);
    auto *psnr = new QLabel(this);
    psnr->setObjectName(QStringLiteral("comparePsnr"));
    psnr->setText(
        std::isnan(m_psnr)
            ? tr("sizes differ: %1×%2 vs %3×%4").arg(a.width()).arg(a.height()).arg(b.width()).arg(b.height())
            : std::isinf(m_psnr) ? tr("identical images")
                                 : tr("PSNR of B against A: %1 dB").arg(m_psnr, 0, 'f', 2));
    header->addWidget(psnr);
    layout->addLayout(header);

    m_stack = new QStackedWidget(this);
    auto *sideBySide = new QWidget(m_stack);
    auto *grid = new QHBoxLayout(sideBySide);
    grid->setContentsMargins(0, 0, 0, 0);
    for (auto [view, image, caption, name] :
         {std::tuple {&m_viewA, &a, captionA, "compareA"}, std::tuple {&m_viewB, &b, captionB, "compareB"}}) {
        auto *column = new QVBoxLayout;
        auto *label = new QLabel(caption, sideBySide);
        label->setAlignment(Qt::AlignHCenter);
        label->setWordWrap(true);
        *view = new ImageView(sideBySide);
        (*view)->setObjectName(QString::fromLatin1(name));
        (*view)->setImage(*image);
        (*view)->setFitMode(ImageView::FitMode::PixelExact);
        (*view)->setAccessibleName(caption);
        column->addWidget(label);
        column->addWidget(*view, 1);
        grid->addLayout(column, 1);
    }
    connect(m_viewA, &ImageView::viewChanged, m_viewB, &ImageView::setView);
    connect(m_viewB, &ImageView::viewChanged, m_viewA, &ImageView::setView);
    m_stack->addWidget(sideBySide);

    auto *swipePage = new QWidget(m_stack);
    auto *swipeLayout = new QVBoxLayout(swipePage);
    swipeLayout->setContentsMargins(0, 0, 0, 0);
    auto *captions = new QHBoxLayout;
    captions->addWidget(new QLabel(tr("A: %1").arg(captionA), swipePage), 1);
    auto *right = new QLabel(tr("B: %1").arg(captionB), swipePage);
    right->setAlignment(Qt::AlignRight);
    captions->addWidget(right, 1);
    swipeLayout->addLayout(captions);
    m_swipe = new SwipeView(swipePage);
    m_swipe->setObjectName(QStringLiteral("compareSwipeView"));
    m_swipe->setImages(a, b);
    swipeLayout->addWidget(m_swipe, 1);
    m_slider = new QSlider(Qt::Horizontal, swipePage);
    m_slider->setObjectName(QStringLiteral("compareSwipeSlider"));
    m_slider->setRange(0, 1000);
    m_slider->setValue(500);
    m_slider->setAccessibleName(tr("Divider position"));
    connect(m_slider, &QSlider::valueChanged, this, [this](int v) { m_swipe->setPosition(v / 1000.0); });
    connect(m_swipe, &SwipeView::positionChanged, this, [this](double p) {
        const QSignalBlocker block(m_slider);
        m_slider->setValue(int(std::round(p * 1000)));
    });
    swipeLayout->addWidget(m_slider);
    m_stack->addWidget(swipePage);
    layout->addWidget(m_stack, 1);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);
    resize(900, 560);
}

void CompareDialog::setMode(Mode mode)
{
    m_mode = mode;
    m_stack->setCurrentIndex(int(mode));
    if (auto *b = m_modes->button(int(mode)))
        b->setChecked(true);
}
