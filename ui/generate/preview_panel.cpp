#include "generate/preview_panel.h"

#include "generate/noise_chart.h"
#include "widgets/image_view.h"

#include <QAbstractButton>
#include <QButtonGroup>
#include <QHBoxLayout>
#include <QLabel>
#include <QSlider>
#include <QToolButton>
#include <QVBoxLayout>

#include <cmath>

namespace {

QWidget *makeColumn(const QString &html, ImageView *&view, QLabel *&caption, const QString &name,
                    QWidget *parent)
{
    auto *column = new QWidget(parent);
    auto *layout = new QVBoxLayout(column);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(4);
    caption = new QLabel(html, column);
    caption->setObjectName(name + QStringLiteral("Caption"));
    caption->setTextFormat(Qt::RichText);
    caption->setAlignment(Qt::AlignHCenter);
    view = new ImageView(column);
    view->setObjectName(name);
    layout->addWidget(caption);
    layout->addWidget(view, 1);
    return column;
}

QString xtCaptionText()
{
    return QObject::tr("<b>x<sub>t</sub></b> — current sample");
}
QString x0CaptionText()
{
    return QObject::tr("<b>x̂<sub>0</sub></b> — predicted clean image");
}

} // namespace

PreviewPanel::PreviewPanel(QWidget *parent) : QWidget(parent)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(6);

    // Header: what is shown, and the view mode (x_t | x0 | both).
    auto *header = new QHBoxLayout;
    m_title = new QLabel(tr("Preview"), this);
    m_title->setObjectName(QStringLiteral("previewTitle"));
    QFont titleFont = m_title->font();
    titleFont.setBold(true);
    m_title->setFont(titleFont);
    header->addWidget(m_title, 1);
    m_modeGroup = new QButtonGroup(this);
    m_modeGroup->setExclusive(true);
    const struct {
        ViewMode mode;
        QString text, tip, name;
    } modes[] = {
        {ViewMode::Xt, tr("x_t"), tr("The noisy sample at the shown step"), QStringLiteral("modeXt")},
        {ViewMode::X0, tr("x̂₀"), tr("The model's prediction of the clean image at the shown step"),
         QStringLiteral("modeX0")},
        {ViewMode::SideBySide, tr("Side by side"), tr("Both next to each other"), QStringLiteral("modeBoth")},
    };
    for (const auto &m : modes) {
        auto *button = new QToolButton(this);
        button->setText(m.text);
        button->setToolTip(m.tip);
        button->setObjectName(m.name);
        button->setCheckable(true);
        button->setAutoRaise(false);
        m_modeGroup->addButton(button, static_cast<int>(m.mode));
        header->addWidget(button);
    }
    m_modeGroup->button(static_cast<int>(m_mode))->setChecked(true);
    header->addSpacing(12);
    // Zoom: fit, actual size, pixel-exact (crisp whole-number enlargement of small images).
    m_zoomGroup = new QButtonGroup(this);
    m_zoomGroup->setExclusive(true);
    const struct {
        ImageView::FitMode mode;
        QString text, tip, name;
    } zooms[] = {
        {ImageView::FitMode::Fit, tr("Fit"), tr("Fit the image to the pane (Ctrl+0); wheel zooms, drag pans"),
         QStringLiteral("zoomFit")},
        {ImageView::FitMode::ActualSize, tr("100%"), tr("One image pixel per screen pixel"),
         QStringLiteral("zoom100")},
        {ImageView::FitMode::PixelExact, tr("Pixels"),
         tr("Pixel-exact: the largest whole-number enlargement, each image pixel a crisp square (Ctrl+9)"),
         QStringLiteral("zoomPixels")},
    };
    for (const auto &z : zooms) {
        auto *button = new QToolButton(this);
        button->setText(z.text);
        button->setToolTip(z.tip);
        button->setAccessibleName(z.tip);
        button->setObjectName(z.name);
        button->setCheckable(true);
        m_zoomGroup->addButton(button, static_cast<int>(z.mode));
        header->addWidget(button);
    }
    m_zoomGroup->button(static_cast<int>(ImageView::FitMode::Fit))->setChecked(true);
    connect(m_zoomGroup, &QButtonGroup::idClicked, this, [this](int id) { setFitMode(id); });
    connect(m_modeGroup, &QButtonGroup::idClicked, this,
            [this](int id) { setViewMode(static_cast<ViewMode>(id)); });
    layout->addLayout(header);

    auto *views = new QHBoxLayout;
    views->setSpacing(12);
    m_xtColumn = makeColumn(xtCaptionText(), m_xtView, m_xtCaption, QStringLiteral("xtView"), this);
    m_x0Column = makeColumn(x0CaptionText(), m_x0View, m_x0Caption, QStringLiteral("x0View"), this);
    // Linked panes: zooming or panning one moves the other the same way.
    connect(m_xtView, &ImageView::viewChanged, m_x0View, &ImageView::setView);
    connect(m_x0View, &ImageView::viewChanged, m_xtView, &ImageView::setView);
    for (ImageView *v : {m_xtView, m_x0View})
        connect(v, &ImageView::viewChanged, this,
                [this](ImageView::FitMode mode, double zoom, const QPointF &) {
                    // The buttons show the fit mode while no free zoom is set.
                    if (auto *b = m_zoomGroup->button(static_cast<int>(mode)); b && zoom <= 0)
                        b->setChecked(true);
                    else if (zoom > 0 && m_zoomGroup->checkedButton()) {
                        m_zoomGroup->setExclusive(false);
                        m_zoomGroup->checkedButton()->setChecked(false);
                        m_zoomGroup->setExclusive(true);
                    }
                });
    views->addWidget(m_xtColumn, 1);
    views->addWidget(m_x0Column, 1);
    layout->addLayout(views, 1);

    // Timeline: scrubber, step label, "live" toggle.
    auto *scrub = new QHBoxLayout;
    scrub->setSpacing(8);
    m_slider = new QSlider(Qt::Horizontal, this);
    m_slider->setObjectName(QStringLiteral("timelineSlider"));
    m_slider->setRange(0, 0);
    m_slider->setEnabled(false);
    m_slider->setToolTip(tr("Revisit any step of the run (also while it is running)"));
    m_stepLabel = new QLabel(this);
    m_stepLabel->setObjectName(QStringLiteral("timelineLabel"));
    m_stepLabel->setMinimumWidth(
        fontMetrics().horizontalAdvance(QStringLiteral("step 1000/1000 · t=999 · σ=1.00e+02")));
    m_liveButton = new QToolButton(this);
    m_liveButton->setObjectName(QStringLiteral("timelineLive"));
    m_liveButton->setText(tr("Live"));
    m_liveButton->setCheckable(true);
    m_liveButton->setChecked(true);
    m_liveButton->setToolTip(tr("Follow the newest step"));
    scrub->addWidget(m_slider, 1);
    scrub->addWidget(m_stepLabel);
    scrub->addWidget(m_liveButton);
    layout->addLayout(scrub);

    m_chart = new NoiseChart(this);
    m_chart->setObjectName(QStringLiteral("noiseChart"));
    layout->addWidget(m_chart);

    connect(m_slider, &QSlider::valueChanged, this, [this](int value) {
        if (m_updatingSlider)
            return;
        m_followLive = value >= m_lastStep;
        m_liveButton->setChecked(m_followLive);
        showStep(value);
    });
    connect(m_liveButton, &QToolButton::toggled, this, [this](bool live) {
        m_followLive = live;
        if (live && m_lastStep > 0)
            showStep(m_lastStep);
        updateSlider();
    });
    connect(m_chart, &NoiseChart::stepPicked, this, [this](int step) {
        if (m_timeline.isEmpty())
            return;
        m_followLive = step >= m_lastStep;
        m_liveButton->setChecked(m_followLive);
        showStep(step);
        updateSlider();
    });
    setViewMode(m_mode);
    updateStepLabel();
}

void PreviewPanel::setFitMode(int mode)
{
    const auto m = static_cast<ImageView::FitMode>(mode);
    m_xtView->setFitMode(m); // announces: the x̂₀ pane follows
    m_x0View->setView(m, 0, {});
    if (auto *b = m_zoomGroup->button(mode))
        b->setChecked(true);
}

void PreviewPanel::zoomIn()
{
    (m_xtColumn->isVisible() ? m_xtView : m_x0View)->zoomIn();
}

void PreviewPanel::zoomOut()
{
    (m_xtColumn->isVisible() ? m_xtView : m_x0View)->zoomOut();
}

void PreviewPanel::setSmoothing(bool on)
{
    m_xtView->setSmoothing(on);
    m_x0View->setSmoothing(on);
}

void PreviewPanel::setStill(bool still, const QString &detail)
{
    m_still = still;
    // A finished image is one picture: one pane, captioned as what it is, no x_t / x̂₀ modes.
    m_x0Caption->setText(still ? tr("<b>Image</b> — %1").arg(detail.toHtmlEscaped()) : x0CaptionText());
    for (QAbstractButton *b : m_modeGroup->buttons())
        b->setEnabled(!still);
    setViewMode(m_mode);
}

void PreviewPanel::setViewMode(ViewMode mode)
{
    m_mode = mode;
    if (m_still) {
        m_xtColumn->setVisible(false);
        m_x0Column->setVisible(true);
        if (auto *b = m_modeGroup->button(static_cast<int>(mode)); b && !b->isChecked())
            b->setChecked(true);
        emit viewModeChanged(mode);
        return;
    }
    m_xtColumn->setVisible(mode != ViewMode::X0);
    m_x0Column->setVisible(mode != ViewMode::Xt);
    if (auto *b = m_modeGroup->button(static_cast<int>(mode)); b && !b->isChecked())
        b->setChecked(true);
    emit viewModeChanged(mode);
}

void PreviewPanel::beginRun(int totalSteps, const QString &title)
{
    if (m_still)
        setStill(false);
    m_timeline.reset(totalSteps);
    m_timesteps = QVector<double>(totalSteps, std::nan(""));
    m_chart->reset(totalSteps);
    m_shownStep = 0;
    m_lastStep = 0;
    m_followLive = true;
    m_liveButton->setChecked(true);
    m_title->setText(title);
    updateSlider();
    updateStepLabel();
}

void PreviewPanel::addStep(int step, double timestep, double sigma)
{
    if (step < 1)
        return;
    if (step > m_timesteps.size())
        m_timesteps.resize(step, std::nan(""));
    m_timesteps[step - 1] = timestep;
    m_chart->setSigma(step, sigma);
    m_lastStep = qMax(m_lastStep, step);
    if (m_followLive) {
        m_chart->setCurrentStep(step);
        if (m_shownStep != step && !m_timeline.frameAt(step))
            m_shownStep = step;
    }
    updateSlider();
    updateStepLabel();
}

void PreviewPanel::addPreview(int step, const QImage &xt, const QImage &x0)
{
    StepFrame frame;
    frame.step = step;
    frame.timestep = step <= m_timesteps.size() ? m_timesteps[step - 1] : 0.0;
    frame.sigma = m_chart->sigma(step);
    frame.xt = xt;
    frame.x0 = x0;
    m_timeline.add(frame);
    m_lastStep = qMax(m_lastStep, step);
    if (m_followLive)
        showStep(step);
    updateSlider();
}

void PreviewPanel::finishRun(const QImage &result)
{
    if (!result.isNull() && m_followLive) {
        // The final sample is the clean image: show it where the prediction was.
        m_x0View->setImage(result);
        if (m_timeline.isEmpty())
            m_xtView->setImage(result);
    }
}

void PreviewPanel::showStill(const QImage &image, const QString &title, const QString &detail)
{
    setStill(true, detail.isEmpty() ? tr("a finished image") : detail);
    m_timeline.reset(0);
    m_timesteps.clear();
    m_chart->reset(0);
    m_shownStep = 0;
    m_lastStep = 0;
    m_xtView->setImage(image);
    m_x0View->setImage(image);
    m_title->setText(title);
    updateSlider();
    updateStepLabel();
}

bool PreviewPanel::showStep(int step)
{
    const StepFrame *frame = m_timeline.frameAt(step);
    if (!frame)
        return false;
    m_shownStep = frame->step;
    m_xtView->setImage(frame->xt);
    m_x0View->setImage(frame->x0);
    m_chart->setCurrentStep(frame->step);
    updateStepLabel();
    return true;
}

void PreviewPanel::updateSlider()
{
    m_updatingSlider = true;
    const int total = qMax(m_timeline.totalSteps(), m_lastStep);
    m_slider->setEnabled(!m_timeline.isEmpty());
    m_slider->setRange(m_timeline.isEmpty() ? 0 : 1, qMax(1, m_lastStep));
    m_slider->setPageStep(qMax(1, total / 10));
    if (m_shownStep > 0)
        m_slider->setValue(m_shownStep);
    m_updatingSlider = false;
}

void PreviewPanel::updateStepLabel()
{
    if (m_announcedStep != m_shownStep) {
        m_announcedStep = m_shownStep;
        emit shownStepChanged(m_shownStep);
    }
    if (m_shownStep <= 0) {
        m_stepLabel->setText(m_still                           ? tr("finished image: its steps are not kept")
                                 : m_timeline.totalSteps() > 0 ? tr("waiting for the first step…")
                                                               : tr("no steps yet"));
        return;
    }
    const int total = qMax(m_timeline.totalSteps(), m_lastStep);
    QString text = tr("step %1/%2").arg(m_shownStep).arg(total);
    if (m_shownStep <= m_timesteps.size() && !std::isnan(m_timesteps[m_shownStep - 1]))
        text += tr(" · t=%1").arg(QString::number(m_timesteps[m_shownStep - 1], 'f', 0));
    const double sigma = m_chart->sigma(m_shownStep);
    if (!std::isnan(sigma))
        text += tr(" · σ=%1").arg(QString::number(sigma, 'g', 3));
    m_stepLabel->setText(text);
}
