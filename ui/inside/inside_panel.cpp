#include "inside/inside_panel.h"

#include "inside/activity_heatmap.h"
#include "inside/inside_map_view.h"
#include "widgets/image_conversion.h"

#include "ditstudio/editing.h"
#include "ditstudio/inside.h"

#include <QChart>
#include <QChartView>
#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineSeries>
#include <QListWidget>
#include <QMessageBox>
#include <QPainter>
#include <QPushButton>
#include <QSaveFile>
#include <QSlider>
#include <QSpinBox>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QVBoxLayout>
#include <QValueAxis>

#include <cmath>
#include <limits>

namespace {

constexpr qint64 kAttentionRunBudget = 768LL << 20; // bytes of attention kept for one run
const char *const kChunkNames[6]
    = {"shift_msa", "scale_msa", "gate_msa", "shift_mlp", "scale_mlp", "gate_mlp"};

// Mean |value| of adaLN chunk `chunk` of batch row 0 over the hidden channels.
double chunkMeanAbs(const ditstudio::HostTensor &adaln, int chunk)
{
    if (adaln.shape.size() != 3 || adaln.data.empty())
        return std::nan("");
    const auto d = adaln.shape[2];
    double s = 0;
    for (qint64 i = 0; i < d; ++i)
        s += std::fabs(adaln.data[static_cast<size_t>(chunk * d + i)]);
    return s / static_cast<double>(d);
}

QImage rgb(const QImage &image)
{
    return image.isNull() ? image : image.convertToFormat(QImage::Format_RGB888);
}

} // namespace

InsidePanel::InsidePanel(QWidget *parent) : QWidget(parent)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);

    m_record = new QCheckBox(tr("&Record inside while sampling"), this);
    m_record->setObjectName(QStringLiteral("insideRecord"));
    m_record->setChecked(true);
    m_record->setToolTip(tr("Record attention, adaLN modulation, block activity and guidance at every step.\n"
                            "Costs a little time per step; off, sampling runs the plain forward pass."));
    connect(m_record, &QCheckBox::toggled, this, &InsidePanel::recordingChanged);
    layout->addWidget(m_record);

    // Controls in two columns, so the map keeps most of the panel's height.
    auto *grid = new QGridLayout;
    grid->setContentsMargins(0, 0, 0, 0);
    grid->setHorizontalSpacing(6);
    grid->setVerticalSpacing(3);
    auto addControl = [&](int row, int col, const QString &text, QWidget *w) {
        auto *label = new QLabel(text, this);
        label->setBuddy(w);
        grid->addWidget(label, row, col * 2);
        grid->addWidget(w, row, col * 2 + 1);
    };
    m_view = new QComboBox(this);
    m_view->setObjectName(QStringLiteral("insideView"));
    m_view->addItems(
        {tr("Attention of a patch"), tr("Guidance map"), tr("Block activity"), tr("adaLN gates and scales")});
    m_view->setAccessibleName(tr("Inside view"));
    m_block = new QComboBox(this);
    m_block->setObjectName(QStringLiteral("insideBlock"));
    m_block->setAccessibleName(tr("Block"));
    m_head = new QComboBox(this);
    m_head->setObjectName(QStringLiteral("insideHead"));
    m_head->setAccessibleName(tr("Head"));
    m_base = new QComboBox(this);
    m_base->setObjectName(QStringLiteral("insideBase"));
    m_base->addItems({tr("x̂₀ (predicted)"), tr("x_t (noisy)")});
    m_base->setAccessibleName(tr("Overlay on"));
    m_chunk = new QComboBox(this);
    m_chunk->setObjectName(QStringLiteral("insideChunk"));
    for (int c : {2, 5, 1, 4, 0, 3})
        m_chunk->addItem(QString::fromLatin1(kChunkNames[c]), c);
    m_chunk->setAccessibleName(tr("adaLN chunk"));
    m_opacity = new QSlider(Qt::Horizontal, this);
    m_opacity->setObjectName(QStringLiteral("insideOpacity"));
    m_opacity->setRange(0, 100);
    m_opacity->setValue(65);
    m_opacity->setAccessibleName(tr("Overlay opacity"));
    addControl(0, 0, tr("&Show:"), m_view);
    addControl(0, 1, tr("&Block:"), m_block);
    addControl(1, 0, tr("&Head:"), m_head);
    addControl(1, 1, tr("&Over:"), m_base);
    addControl(2, 0, tr("&Curve:"), m_chunk);
    addControl(2, 1, tr("O&pacity:"), m_opacity);
    grid->setColumnStretch(1, 3);
    grid->setColumnStretch(3, 2);
    layout->addLayout(grid);

    m_stack = new QStackedWidget(this);
    m_map = new InsideMapView(m_stack);
    m_map->setObjectName(QStringLiteral("insideMap"));
    m_map->setPlaceholderText(
        tr("Generate an image with “Record inside” on, then click a patch to see where it "
           "looks."));
    m_activity = new ActivityHeatmap(m_stack);
    m_activity->setObjectName(QStringLiteral("insideActivity"));
    auto *chart = new QChart;
    chart->legend()->setAlignment(Qt::AlignRight);
    chart->setMargins(QMargins(2, 2, 2, 2));
    m_chartView = new QChartView(chart, m_stack);
    m_chartView->setObjectName(QStringLiteral("insideAdalnChart"));
    m_chartView->setRenderHint(QPainter::Antialiasing);
    m_chartView->setAccessibleName(tr("adaLN curves per block over the steps"));
    m_stack->addWidget(m_map);
    m_stack->addWidget(m_activity);
    m_stack->addWidget(m_chartView);
    layout->addWidget(m_stack, 1);

    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("insideStatus"));
    m_status->setWordWrap(true);
    layout->addWidget(m_status);

    auto *exportRow = new QHBoxLayout;
    auto *sheet = new QPushButton(tr("Export process &sheet…"), this);
    sheet->setObjectName(QStringLiteral("insideExportSheet"));
    connect(sheet, &QPushButton::clicked, this, &InsidePanel::exportSheetDialog);
    auto *film = new QPushButton(tr("Export &film with overlay…"), this);
    film->setObjectName(QStringLiteral("insideExportFilm"));
    connect(film, &QPushButton::clicked, this, &InsidePanel::exportFilmRequested);
    exportRow->addWidget(sheet);
    exportRow->addWidget(film);
    layout->addLayout(exportRow);

    // Interventions: change the forward pass, re-run with the same seed, compare.
    auto *ivBox = new QGroupBox(tr("Interventions"), this);
    auto *iv = new QVBoxLayout(ivBox);
    auto *ivRow = new QHBoxLayout;
    m_ivKind = new QComboBox(ivBox);
    m_ivKind->setObjectName(QStringLiteral("insideInterventionKind"));
    m_ivKind->addItem(tr("Switch off head"), QStringLiteral("head"));
    m_ivKind->addItem(tr("Skip block"), QStringLiteral("skip"));
    m_ivKind->addItem(tr("Zero attention gate"), QStringLiteral("gate-attn"));
    m_ivKind->addItem(tr("Zero MLP gate"), QStringLiteral("gate-mlp"));
    m_ivKind->setAccessibleName(tr("Intervention"));
    m_ivBlock = new QSpinBox(ivBox);
    m_ivBlock->setObjectName(QStringLiteral("insideInterventionBlock"));
    m_ivBlock->setPrefix(tr("block "));
    m_ivBlock->setAccessibleName(tr("Intervention block"));
    m_ivHead = new QSpinBox(ivBox);
    m_ivHead->setObjectName(QStringLiteral("insideInterventionHead"));
    m_ivHead->setPrefix(tr("head "));
    m_ivHead->setAccessibleName(tr("Intervention head"));
    auto *add = new QPushButton(tr("&Add"), ivBox);
    add->setObjectName(QStringLiteral("insideInterventionAdd"));
    ivRow->addWidget(m_ivKind, 1);
    ivRow->addWidget(m_ivBlock);
    ivRow->addWidget(m_ivHead);
    ivRow->addWidget(add);
    iv->addLayout(ivRow);
    m_ivList = new QListWidget(ivBox);
    m_ivList->setObjectName(QStringLiteral("insideInterventionList"));
    m_ivList->setMaximumHeight(44);
    m_ivList->setAccessibleName(tr("Interventions to apply"));
    iv->addWidget(m_ivList);
    auto *ivButtons = new QHBoxLayout;
    m_rerun = new QPushButton(tr("&Re-run with the same seed"), ivBox);
    m_rerun->setObjectName(QStringLiteral("insideRerun"));
    auto *clear = new QPushButton(tr("C&lear"), ivBox);
    clear->setObjectName(QStringLiteral("insideInterventionClear"));
    ivButtons->addWidget(m_rerun, 1);
    ivButtons->addWidget(clear);
    iv->addLayout(ivButtons);
    auto *compare = new QHBoxLayout;
    compare->addStretch(1);
    m_before = new QLabel(ivBox);
    m_after = new QLabel(ivBox);
    for (QLabel *l : {m_before, m_after}) {
        l->setMinimumSize(84, 84);
        l->setAlignment(Qt::AlignCenter);
        l->setFrameShape(QFrame::StyledPanel);
    }
    m_before->setObjectName(QStringLiteral("insideBefore"));
    m_after->setObjectName(QStringLiteral("insideAfter"));
    m_before->setToolTip(tr("Before: the run as sampled"));
    m_after->setToolTip(tr("After: the same seed with the interventions"));
    compare->addWidget(m_before);
    compare->addWidget(m_after);
    compare->addStretch(1);
    iv->addLayout(compare);
    m_psnr = new QLabel(ivBox);
    m_psnr->setObjectName(QStringLiteral("insidePsnr"));
    m_psnr->setWordWrap(true);
    iv->addWidget(m_psnr);
    layout->addWidget(ivBox);

    connect(add, &QPushButton::clicked, this, [this] {
        addIntervention(m_ivKind->currentData().toString(), m_ivBlock->value(), m_ivHead->value());
    });
    connect(clear, &QPushButton::clicked, this, &InsidePanel::clearInterventions);
    connect(m_rerun, &QPushButton::clicked, this, &InsidePanel::requestRerun);
    connect(m_ivKind, &QComboBox::currentIndexChanged, this, &InsidePanel::updateControls);
    connect(m_view, &QComboBox::currentIndexChanged, this, [this] {
        updateControls();
        refresh();
    });
    for (QComboBox *c : {m_block, m_head, m_base, m_chunk})
        connect(c, &QComboBox::currentIndexChanged, this, &InsidePanel::refresh);
    connect(m_opacity, &QSlider::valueChanged, this, &InsidePanel::refresh);
    connect(m_map, &InsideMapView::tokenClicked, this, &InsidePanel::selectToken);
    connect(m_activity, &ActivityHeatmap::cellClicked, this, [this](int, int block) {
        setBlock(block);
        setView(View::Attention);
    });
    updateControls();
    refresh();
}

void InsidePanel::setModel(const ModelSummary &model)
{
    m_model = model;
    const QSignalBlocker b1(m_block), b2(m_head);
    m_block->clear();
    for (int b = 0; b < model.depth; ++b)
        m_block->addItem(tr("block %1").arg(b), b);
    m_block->setCurrentIndex(qMax(0, model.depth / 2));
    m_head->clear();
    m_head->addItem(tr("mean of heads"), kHeadMean);
    m_head->addItem(tr("rollout (blocks 0…b)"), kRollout);
    for (int h = 0; h < model.numHeads; ++h)
        m_head->addItem(tr("head %1").arg(h), h);
    m_ivBlock->setRange(0, qMax(0, model.depth - 1));
    m_ivHead->setRange(0, qMax(0, model.numHeads - 1));
    m_map->setGrid(model.tokensPerSide);
    if (model.tokensPerSide > 0)
        m_token = (model.tokensPerSide / 2) * model.tokensPerSide + model.tokensPerSide / 2;
    m_map->setSelectedToken(m_token);
    m_frames.clear();
    m_totalSteps = 0;
    m_runResult = QImage();
    clearInterventions();
    m_before->clear();
    m_after->clear();
    m_psnr->clear();
    updateControls();
    refresh();
}

bool InsidePanel::isRecording() const
{
    return m_record->isChecked();
}

void InsidePanel::setRecording(bool on)
{
    m_record->setChecked(on);
}

ditstudio::ProbeOptions InsidePanel::probeOptions(int steps) const
{
    ditstudio::ProbeOptions p;
    p.attention = p.adaln = p.activity = p.guidance = p.x0Change = true;
    const qint64 t = static_cast<qint64>(m_model.tokensPerSide) * m_model.tokensPerSide;
    const qint64 rows = 2; // one image, conditional and unconditional rows
    const qint64 depth = qMax(1, m_model.depth), heads = qMax(1, m_model.numHeads);
    const qint64 fullStep = rows * heads * t * t * depth * 4;
    const qint64 meanStep = rows * t * t * depth * 4;
    steps = qMax(1, steps);
    if (fullStep * steps <= kAttentionRunBudget) {
        p.attentionBudgetBytes = qMax<qint64>(p.attentionBudgetBytes, fullStep);
        return p;
    }
    p.headMean = true;
    if (meanStep * steps > kAttentionRunBudget) {
        // Evenly spaced blocks, as many as fit in the run's budget (at least block 0).
        const qint64 perBlockRun = rows * t * t * 4 * steps;
        const qint64 maxBlocks = qMax<qint64>(1, kAttentionRunBudget / qMax<qint64>(1, perBlockRun));
        const qint64 stride = (depth + maxBlocks - 1) / maxBlocks;
        for (qint64 b = 0; b < depth && static_cast<qint64>(p.attentionBlocks.size()) < maxBlocks;
             b += stride)
            p.attentionBlocks.push_back(static_cast<int>(b));
    }
    p.attentionBudgetBytes = qMax<qint64>(p.attentionBudgetBytes, meanStep);
    return p;
}

void InsidePanel::beginRun(int totalSteps, const QString &title)
{
    m_totalSteps = qMax(0, totalSteps);
    m_frames = QVector<Frame>(m_totalSteps);
    m_shownStep = 0;
    m_activity->reset(m_totalSteps, m_model.depth);
    m_status->setText(title);
    refresh();
}

void InsidePanel::addPreview(int step, const QImage &xt, const QImage &x0)
{
    if (step < 1 || step > m_frames.size())
        return;
    m_frames[step - 1].xt = xt;
    m_frames[step - 1].x0 = x0;
    if (m_shownStep == 0 || m_shownStep == step)
        refresh();
}

void InsidePanel::setTimestep(int step, double timestep)
{
    if (step >= 1 && step <= m_frames.size())
        m_frames[step - 1].timestep = timestep;
}

void InsidePanel::addProbes(int step, const InsideProbes &probes)
{
    if (step < 1 || step > m_frames.size() || !probes)
        return;
    m_frames[step - 1].probes = probes;
    const auto &act = probes->activity;
    if (act.shape.size() == 2) {
        QVector<float> perBlock;
        for (qint64 b = 0; b < act.shape[0]; ++b)
            perBlock << act.data[static_cast<size_t>(b * act.shape[1])]; // row 0: the conditional row
        m_activity->setStep(step, perBlock);
    }
    if (m_shownStep == 0 || m_shownStep == step)
        refresh();
    else if (m_view->currentIndex() == static_cast<int>(View::Adaln))
        refreshAdalnChart();
}

void InsidePanel::finishRun(const QImage &result)
{
    m_runResult = result;
    if (!result.isNull())
        m_before->setPixmap(
            QPixmap::fromImage(result).scaled(84, 84, Qt::KeepAspectRatio, Qt::FastTransformation));
    updateControls();
}

void InsidePanel::showStep(int step)
{
    m_shownStep = qMax(0, step);
    refresh();
}

int InsidePanel::storedSteps() const
{
    int n = 0;
    for (const auto &f : m_frames)
        if (f.probes)
            ++n;
    return n;
}

int InsidePanel::effectiveStep() const
{
    if (m_shownStep > 0 && m_shownStep <= m_frames.size())
        return m_shownStep;
    for (int s = m_frames.size(); s >= 1; --s)
        if (m_frames[s - 1].probes || !m_frames[s - 1].x0.isNull())
            return s;
    return 0;
}

const InsidePanel::Frame *InsidePanel::frameFor(int step) const
{
    if (step < 1 || step > m_frames.size())
        return nullptr;
    return &m_frames[step - 1];
}

void InsidePanel::setView(View view)
{
    m_view->setCurrentIndex(static_cast<int>(view));
}

InsidePanel::View InsidePanel::view() const
{
    return static_cast<View>(m_view->currentIndex());
}

void InsidePanel::setBlock(int block)
{
    const int i = m_block->findData(block);
    if (i >= 0)
        m_block->setCurrentIndex(i);
}

void InsidePanel::setHead(int head)
{
    const int i = m_head->findData(head);
    if (i >= 0)
        m_head->setCurrentIndex(i);
}

void InsidePanel::setBase(Base base)
{
    m_base->setCurrentIndex(static_cast<int>(base));
}

void InsidePanel::selectToken(int token)
{
    m_token = token;
    m_map->setSelectedToken(token);
    refresh();
}

QImage InsidePanel::currentMap() const
{
    return m_map->image();
}

QString InsidePanel::statusText() const
{
    return m_status->text();
}

QImage InsidePanel::baseImage(const Frame &f) const
{
    return m_base->currentIndex() == static_cast<int>(Base::Xt) ? f.xt : f.x0;
}

QImage InsidePanel::attentionImage(const Frame &f, int step, QVector<float> *values) const
{
    Q_UNUSED(step);
    if (!f.probes || f.probes->attention.empty() || m_token < 0)
        return {};
    const auto &p = *f.probes;
    const int block = m_block->currentData().toInt();
    const int head = m_head->currentData().toInt();
    ditstudio::Result<std::vector<float>> map = std::vector<float> {};
    if (head == kRollout) {
        map = ditstudio::attentionRollout(p, 0, m_token, block);
    } else {
        const auto it = std::find(p.attentionBlocks.begin(), p.attentionBlocks.end(), block);
        if (it == p.attentionBlocks.end())
            return {};
        const auto &a = p.attention[static_cast<size_t>(it - p.attentionBlocks.begin())];
        const int recordedHeads = a.shape.size() == 4 ? static_cast<int>(a.shape[1]) : 0;
        map = ditstudio::attentionOfQuery(p, a, 0, head >= 0 && head < recordedHeads ? head : -1, m_token);
    }
    if (!map.ok())
        return {};
    if (values)
        *values = QVector<float>(map->begin(), map->end());
    const QImage base = rgb(baseImage(f));
    return toQImage(ditstudio::overlayMap(toDitImage(base), *map, p.tokensPerSide, p.tokensPerSide,
                                          m_opacity->value() / 100.0));
}

QImage InsidePanel::guidanceImage(const Frame &f) const
{
    if (!f.probes || f.probes->guidance.data.empty())
        return {};
    ditstudio::MapSize size;
    auto map = ditstudio::guidanceMagnitude(f.probes->guidance, 0, &size);
    if (!map.ok())
        return {};
    return toQImage(ditstudio::overlayMap(toDitImage(rgb(baseImage(f))), *map, size.width, size.height,
                                          m_opacity->value() / 100.0));
}

void InsidePanel::refresh()
{
    const View v = view();
    m_stack->setCurrentWidget(v == View::Activity    ? static_cast<QWidget *>(m_activity)
                                  : v == View::Adaln ? static_cast<QWidget *>(m_chartView)
                                                     : static_cast<QWidget *>(m_map));
    const int step = effectiveStep();
    m_activity->setCurrentStep(step);
    const Frame *f = frameFor(step);
    const QString stepText = step > 0 ? tr("step %1 of %2").arg(step).arg(m_totalSteps) : QString();
    m_lastAttention.clear();
    if (v == View::Adaln) {
        refreshAdalnChart();
        m_status->setText(
            stepText.isEmpty()
                ? tr("No run recorded yet")
                : tr("%1 · mean |%2| of each block (conditional row)").arg(stepText, m_chunk->currentText()));
        return;
    }
    if (v == View::Activity) {
        m_status->setText(m_activity->stepsWithData() == 0
                              ? tr("No run recorded yet")
                              : tr("%1 · brighter = the block changes its input more").arg(stepText));
        return;
    }
    if (!f || (!f->probes && f->x0.isNull())) {
        m_map->setImage({});
        m_status->setText(m_frames.isEmpty() ? tr("No run recorded yet") : tr("Waiting for the first step…"));
        return;
    }
    if (!f->probes) {
        m_map->setImage(baseImage(*f));
        m_status->setText(
            tr("%1 · nothing recorded (turn on “Record inside” and generate again)").arg(stepText));
        return;
    }
    const int grid = f->probes->tokensPerSide;
    if (v == View::Guidance) {
        m_map->setGrid(0);
        const QImage img = guidanceImage(*f);
        m_map->setImage(img.isNull() ? baseImage(*f) : img);
        m_status->setText(img.isNull()
                              ? tr("%1 · no guidance at this step (guidance scale 1, or outside the guidance "
                                   "interval)")
                                    .arg(stepText)
                              : tr("%1 · |eps_cond − eps_uncond|: where guidance pushes").arg(stepText));
        return;
    }
    m_map->setGrid(grid);
    m_map->setSelectedToken(m_token);
    const QImage img = attentionImage(*f, step, &m_lastAttention);
    m_map->setImage(img.isNull() ? baseImage(*f) : img);
    const int head = m_head->currentData().toInt();
    const QString what = head == kRollout ? tr("rollout over blocks 0…%1").arg(m_block->currentData().toInt())
        : head == kHeadMean               ? tr("block %1, mean of heads").arg(m_block->currentData().toInt())
                            : tr("block %1, head %2").arg(m_block->currentData().toInt()).arg(head);
    if (img.isNull()) {
        m_status->setText(tr("%1 · the attention of %2 was not recorded for this run").arg(stepText, what));
        return;
    }
    const int row = m_token / qMax(1, grid), col = m_token % qMax(1, grid);
    m_status->setText(tr("%1 · attention of patch (%2, %3), %4").arg(stepText).arg(row).arg(col).arg(what));
}

void InsidePanel::refreshAdalnChart()
{
    QChart *chart = m_chartView->chart();
    chart->removeAllSeries();
    for (QAbstractAxis *axis : chart->axes())
        chart->removeAxis(axis);
    const int chunk = m_chunk->currentData().toInt();
    chart->setTitle(tr("adaLN %1 per block").arg(m_chunk->currentText()));
    const int depth = m_model.depth;
    double lo = std::numeric_limits<double>::max(), hi = std::numeric_limits<double>::lowest();
    auto *x = new QValueAxis;
    x->setTitleText(tr("step"));
    x->setLabelFormat(QStringLiteral("%d"));
    x->setRange(1, qMax(2, m_totalSteps));
    auto *y = new QValueAxis;
    y->setTitleText(tr("mean |%1|").arg(m_chunk->currentText()));
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    for (int b = 0; b < depth; ++b) {
        auto *series = new QLineSeries;
        series->setName(tr("block %1").arg(b));
        std::uint8_t c[3];
        ditstudio::colormapRgb(0.1f + 0.8f * static_cast<float>(b) / qMax(1, depth - 1), c);
        series->setColor(QColor(c[0], c[1], c[2]));
        for (int s = 1; s <= m_frames.size(); ++s) {
            const auto &f = m_frames[s - 1];
            if (!f.probes || static_cast<int>(f.probes->adaln.size()) <= b)
                continue;
            const double v = chunkMeanAbs(f.probes->adaln[b], chunk);
            if (!std::isfinite(v))
                continue;
            series->append(s, v);
            lo = qMin(lo, v);
            hi = qMax(hi, v);
        }
        chart->addSeries(series);
        series->attachAxis(x);
        series->attachAxis(y);
    }
    if (hi >= lo) {
        const double pad = (hi - lo) * 0.05 + 1e-9;
        y->setRange(lo - pad, hi + pad);
        const int step = effectiveStep();
        if (step > 0) {
            auto *marker = new QLineSeries;
            marker->setName(tr("shown step"));
            marker->setPen(QPen(QColor(0, 170, 220), 1, Qt::DashLine));
            marker->append(step, lo - pad);
            marker->append(step, hi + pad);
            chart->addSeries(marker);
            marker->attachAxis(x);
            marker->attachAxis(y);
        }
    }
    chart->legend()->setVisible(depth <= 12);
}

void InsidePanel::updateControls()
{
    const View v = view();
    const bool attention = v == View::Attention;
    m_block->setEnabled(attention);
    m_head->setEnabled(attention);
    m_base->setEnabled(attention || v == View::Guidance);
    m_opacity->setEnabled(attention || v == View::Guidance);
    m_chunk->setEnabled(v == View::Adaln);
    m_ivHead->setEnabled(m_ivKind->currentData().toString() == QStringLiteral("head"));
    m_rerun->setEnabled(!m_runResult.isNull() && m_interventions.any());
}

void InsidePanel::addIntervention(const QString &kind, int block, int head)
{
    if (block < 0 || block >= m_model.depth)
        return;
    QString text;
    if (kind == QStringLiteral("head")) {
        if (head < 0 || head >= m_model.numHeads)
            return;
        m_interventions.disabledHeads.emplace_back(block, head);
        text = tr("head %1 of block %2 off").arg(head).arg(block);
    } else if (kind == QStringLiteral("skip")) {
        m_interventions.skippedBlocks.push_back(block);
        text = tr("block %1 skipped").arg(block);
    } else if (kind == QStringLiteral("gate-attn")) {
        m_interventions.zeroAttentionGates.push_back(block);
        text = tr("attention gate of block %1 zeroed").arg(block);
    } else if (kind == QStringLiteral("gate-mlp")) {
        m_interventions.zeroMlpGates.push_back(block);
        text = tr("MLP gate of block %1 zeroed").arg(block);
    } else {
        return;
    }
    m_interventionText << text;
    m_ivList->addItem(text);
    updateControls();
}

void InsidePanel::clearInterventions()
{
    m_interventions = {};
    m_interventionText.clear();
    m_ivList->clear();
    updateControls();
}

bool InsidePanel::requestRerun()
{
    if (m_runResult.isNull() || !m_interventions.any())
        return false;
    m_psnr->setText(tr("Re-running with %1…").arg(m_interventionText.join(QStringLiteral(", "))));
    emit interventionRequested(m_interventions, m_interventionText.join(QStringLiteral(", ")));
    return true;
}

void InsidePanel::showInterventionResult(const QImage &after)
{
    m_after->setPixmap(QPixmap::fromImage(after).scaled(84, 84, Qt::KeepAspectRatio, Qt::FastTransformation));
    const auto psnr = ditstudio::imagePsnr(toDitImage(rgb(m_runResult)), toDitImage(rgb(after)));
    if (psnr.ok()) {
        m_lastPsnr = *psnr;
        m_psnr->setText(
            std::isinf(*psnr)
                ? tr("%1: identical images (PSNR ∞)").arg(m_interventionText.join(QStringLiteral(", ")))
                : tr("%1: PSNR %2 dB between before and after")
                      .arg(m_interventionText.join(QStringLiteral(", ")))
                      .arg(*psnr, 0, 'f', 2));
    } else {
        m_psnr->setText(QString::fromStdString(psnr.error().message));
    }
}

void InsidePanel::interventionFailed(const QString &message)
{
    m_psnr->setText(tr("The re-run failed: %1").arg(message));
}

QImage InsidePanel::processSheet(int maxRows) const
{
    QList<int> steps;
    for (int s = 1; s <= m_frames.size(); ++s)
        if (m_frames[s - 1].probes || !m_frames[s - 1].x0.isNull())
            steps << s;
    if (steps.isEmpty())
        return {};
    if (steps.size() > maxRows) {
        QList<int> chosen;
        for (int i = 0; i < maxRows; ++i) {
            const int s = steps[static_cast<int>(
                std::lround(static_cast<double>(i) * (steps.size() - 1) / (maxRows - 1)))];
            if (chosen.isEmpty() || chosen.back() != s)
                chosen << s;
        }
        steps = chosen;
    }
    const int cell = 112, pad = 4, label = 104, header = 40;
    const QStringList columns = {tr("x_t"), tr("x̂₀ (predicted)"), tr("guidance"),
                                 tr("attention, block %1").arg(m_block->currentData().toInt())};
    QImage sheet(label + columns.size() * (cell + pad) + pad, header + steps.size() * (cell + pad) + pad,
                 QImage::Format_RGB888);
    sheet.fill(Qt::white);
    QPainter p(&sheet);
    p.setPen(Qt::black);
    const int grid = m_model.tokensPerSide;
    const int row = grid > 0 ? m_token / grid : 0, col = grid > 0 ? m_token % grid : 0;
    p.drawText(QRect(6, 2, sheet.width() - 12, 18), Qt::AlignLeft | Qt::AlignVCenter,
               tr("%1 — process sheet; attention of patch (%2, %3), mean of heads")
                   .arg(m_model.architecture)
                   .arg(row)
                   .arg(col));
    for (int c = 0; c < columns.size(); ++c)
        p.drawText(QRect(label + c * (cell + pad), 20, cell, 18), Qt::AlignCenter, columns[c]);
    for (int r = 0; r < steps.size(); ++r) {
        const Frame &f = m_frames[steps[r] - 1];
        const int y = header + r * (cell + pad);
        p.drawText(QRect(4, y, label - 8, cell), Qt::AlignVCenter | Qt::AlignLeft,
                   f.timestep >= 0 ? tr("step %1\nt = %2").arg(steps[r]).arg(f.timestep, 0, 'f', 0)
                                   : tr("step %1").arg(steps[r]));
        // The attention cell uses the mean over heads of the chosen block (or the rollout when chosen).
        const QImage cells[4] = {f.xt, f.x0, guidanceImage(f), attentionImage(f, steps[r], nullptr)};
        for (int c = 0; c < 4; ++c) {
            const QRect target(label + c * (cell + pad), y, cell, cell);
            if (cells[c].isNull()) {
                p.fillRect(target, QColor(235, 235, 235));
                continue;
            }
            p.drawImage(target, cells[c].scaled(cell, cell, Qt::IgnoreAspectRatio, Qt::FastTransformation));
        }
    }
    return sheet;
}

bool InsidePanel::exportProcessSheet(const QString &path, QString *error)
{
    const QImage sheet = processSheet();
    if (sheet.isNull()) {
        if (error)
            *error = tr("Nothing to export: generate an image with “Record inside” on first.");
        return false;
    }
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || !sheet.save(&file, "PNG") || !file.commit()) {
        if (error)
            *error = tr("Could not write %1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

QList<QImage> InsidePanel::overlayFrames() const
{
    QList<QImage> out;
    for (int s = 1; s <= m_frames.size(); ++s) {
        const Frame &f = m_frames[s - 1];
        if (f.x0.isNull())
            continue;
        QImage overlay = view() == View::Guidance ? guidanceImage(f) : attentionImage(f, s, nullptr);
        if (overlay.isNull())
            overlay = rgb(f.x0);
        const QImage x0 = rgb(f.x0).scaled(overlay.size(), Qt::IgnoreAspectRatio, Qt::FastTransformation);
        QImage frame(overlay.width() * 2, overlay.height(), QImage::Format_RGB888);
        QPainter p(&frame);
        p.drawImage(0, 0, x0);
        p.drawImage(overlay.width(), 0, rgb(overlay));
        out << frame;
    }
    return out;
}

void InsidePanel::exportSheetDialog()
{
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::PicturesLocation);
    const QString path
        = QFileDialog::getSaveFileName(this, tr("Export process sheet"),
                                       dir + QStringLiteral("/process-sheet.png"), tr("PNG images (*.png)"));
    if (path.isEmpty())
        return;
    QString error;
    if (!exportProcessSheet(path, &error))
        QMessageBox::warning(this, tr("Export process sheet"), error);
}
