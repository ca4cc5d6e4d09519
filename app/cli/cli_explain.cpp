// ditstudio-cli explain: sample like `generate` with the probes of probes.h switched on, and write what
// happened inside the transformer: every probe as tensors (--probe-out) and as pictures (--out).
#include "cli/cli_commands.h"
#include "cli/cli_common.h"
#include "ditstudio/engine.h"
#include "ditstudio/inside.h"
#include "ditstudio/plot.h"
#include "ditstudio/tensor_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

namespace ditstudio::cli {

namespace fs = std::filesystem;

std::string usageExplain()
{
    return R"(
explain options (generate's sampling options, plus):
  --probe-out FILE.safetensors   every probe per step s (0 = first, noisiest) and block b:
                        attn.s{s}.b{b} [rows, heads, queries, T], adaln.s{s}.b{b} [rows, 6, hidden],
                        activity.s{s} [blocks, rows], guidance.s{s} [batch, C, H, W], x0_change [steps, batch];
                        rows = the model's batch (with guidance: conditional rows, then unconditional)
  --out DIR/            pictures: process_sheet.png (steps x [x_t, x0, guidance, attention of the patch]),
                        attention.png (patch attention per block over steps), guidance.png, activity.png,
                        adaln_gate_msa.png, adaln_gate_mlp.png, adaln_scale_msa.png, adaln_scale_mlp.png
  --probes LIST         attention,adaln,activity,guidance,x0-change (default: all)
  --blocks LIST         record attention of these blocks only (default: all)
  --patch ROW,COL       the patch whose attention the pictures show (default: the centre patch)
  --query-tokens LIST   record attention rows of these tokens only (default: all)
  --head-mean           record attention averaged over heads
  --attention-budget-mb N   refuse requests whose attention per step exceeds N MB (default 256)
  --batch N  --init-noise FILE (tensor "z")  --class A,B,... (one class per image)
  interventions (every step, every row):
  --disable-head B:H[,B:H...]   switch off head H of block B   --skip-block LIST   skip blocks
  --zero-gate B[:attn|mlp][,...]   zero a block's attention and/or MLP gate
  --overwrite  --json  --quiet
)";
}

namespace {

std::vector<int> intList(const Args &a, const std::string &key)
{
    std::vector<int> out;
    if (!a.options.count(key))
        return out;
    std::stringstream ss(opt(a, key));
    std::string item;
    while (std::getline(ss, item, ',')) {
        char *end = nullptr;
        const long v = std::strtol(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0')
            throw UsageError(key + ": expected integers separated by commas, got '" + opt(a, key) + "'");
        out.push_back(static_cast<int>(v));
    }
    return out;
}

std::vector<std::string> words(const std::string &text)
{
    std::vector<std::string> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ','))
        if (!item.empty())
            out.push_back(item);
    return out;
}

ProbeOptions probesFromFlags(const Args &a)
{
    ProbeOptions p;
    const auto list = words(opt(a, "--probes", "attention,adaln,activity,guidance,x0-change"));
    for (const auto &w : list) {
        if (w == "attention")
            p.attention = true;
        else if (w == "adaln")
            p.adaln = true;
        else if (w == "activity")
            p.activity = true;
        else if (w == "guidance")
            p.guidance = true;
        else if (w == "x0-change")
            p.x0Change = true;
        else
            throw UsageError("--probes: unknown probe '" + w
                             + "' (attention, adaln, activity, guidance, x0-change)");
    }
    p.attentionBlocks = intList(a, "--blocks");
    p.queryTokens = intList(a, "--query-tokens");
    p.headMean = has(a, "--head-mean");
    p.attentionBudgetBytes = intOpt(a, "--attention-budget-mb", 256, 1, 1 << 20) << 20;
    return p;
}

Interventions interventionsFromFlags(const Args &a)
{
    Interventions iv;
    for (const auto &w : words(opt(a, "--disable-head"))) {
        const auto colon = w.find(':');
        if (colon == std::string::npos)
            throw UsageError("--disable-head: expected BLOCK:HEAD pairs, got '" + w + "'");
        try {
            iv.disabledHeads.emplace_back(std::stoi(w.substr(0, colon)), std::stoi(w.substr(colon + 1)));
        } catch (const std::exception &) {
            throw UsageError("--disable-head: expected BLOCK:HEAD pairs, got '" + w + "'");
        }
    }
    iv.skippedBlocks = intList(a, "--skip-block");
    for (const auto &w : words(opt(a, "--zero-gate"))) {
        const auto colon = w.find(':');
        const std::string which = colon == std::string::npos ? "both" : w.substr(colon + 1);
        int b = 0;
        try {
            b = std::stoi(w.substr(0, colon));
        } catch (const std::exception &) {
            throw UsageError("--zero-gate: expected BLOCK[:attn|mlp], got '" + w + "'");
        }
        if (which == "attn" || which == "both")
            iv.zeroAttentionGates.push_back(b);
        if (which == "mlp" || which == "both")
            iv.zeroMlpGates.push_back(b);
        if (which != "attn" && which != "mlp" && which != "both")
            throw UsageError("--zero-gate: expected BLOCK[:attn|mlp], got '" + w + "'");
    }
    return iv;
}

std::string stepKey(const char *what, int step, int block = -1)
{
    std::string k = std::string(what) + ".s" + std::to_string(step);
    if (block >= 0)
        k += ".b" + std::to_string(block);
    return k;
}

// Mean |value| of adaLN chunk `chunk` of row 0 over the hidden channels.
double chunkMeanAbs(const HostTensor &adaln, int chunk)
{
    if (adaln.shape.size() != 3)
        return std::nan("");
    const auto d = adaln.shape[2];
    double s = 0;
    for (std::int64_t i = 0; i < d; ++i)
        s += std::fabs(adaln.data[static_cast<size_t>(chunk * d + i)]);
    return s / static_cast<double>(d);
}

std::vector<int> sheetSteps(int total, int maxRows)
{
    std::vector<int> out;
    if (total <= maxRows) {
        for (int s = 0; s < total; ++s)
            out.push_back(s);
        return out;
    }
    for (int i = 0; i < maxRows; ++i) {
        const int s = static_cast<int>(std::lround(static_cast<double>(i) * (total - 1) / (maxRows - 1)));
        if (out.empty() || out.back() != s)
            out.push_back(s);
    }
    return out;
}

// A 1-pixel cyan frame around token `token` of a grid x grid token layout drawn over `image`.
void outlineToken(Image &image, int grid, int token)
{
    if (image.empty() || grid <= 0 || token < 0 || image.channels < 3)
        return;
    const int r = token / grid, c = token % grid;
    const int x0 = c * image.width / grid, x1 = (c + 1) * image.width / grid - 1;
    const int y0 = r * image.height / grid, y1 = (r + 1) * image.height / grid - 1;
    auto put = [&](int x, int y) {
        std::uint8_t *p = image.row(y) + static_cast<size_t>(x) * image.channels;
        p[0] = 0, p[1] = 220, p[2] = 255;
    };
    for (int x = x0; x <= x1; ++x)
        put(x, y0), put(x, y1);
    for (int y = y0; y <= y1; ++y)
        put(x0, y), put(x1, y);
}

void writeImage(const fs::path &path, const Image &image, bool overwrite, std::vector<std::string> &written)
{
    auto w = writePng(path.string(), image, {{"Software", "DiT Studio explain"}}, overwrite);
    if (!w.ok())
        fail(w.error().code, w.error().message);
    written.push_back(path.string());
}

} // namespace

int cmdExplain(const std::vector<std::string> &argv)
{
    const Args a = parseArgs(argv, 1, {"--head-mean", "--overwrite", "--karras", "--json", "--quiet"});
    if (has(a, "--help")) {
        std::cout << usageExplain();
        return 0;
    }
    std::set<std::string> allowed = kGenerationKeys;
    allowed.insert({"--probe-out", "--out", "--probes", "--blocks", "--patch", "--query-tokens",
                    "--head-mean", "--attention-budget-mb", "--batch", "--init-noise", "--disable-head",
                    "--skip-block", "--zero-gate", "--overwrite"});
    allowOnly(a, allowed, "explain");
    if (!a.positional.empty())
        throw UsageError("explain: unexpected argument '" + a.positional[0] + "'");
    const std::string probeOut = opt(a, "--probe-out"), outDir = opt(a, "--out");
    if (probeOut.empty() && outDir.empty())
        throw UsageError("explain: give --probe-out FILE.safetensors and/or --out DIR/");
    const bool overwrite = has(a, "--overwrite");
    if (!probeOut.empty() && !overwrite && fs::exists(probeOut))
        fail(ErrorCode::IoError, probeOut + ": file exists (use --overwrite to replace it)");

    Engine engine;
    GenerateRequest req = generationFromFlags(a, engine, SamplerKind::Ddpm, true);
    const auto &info = engine.modelInfo();
    const auto &cfg = info.config;
    req.batch = static_cast<int>(
        intOpt(a, "--batch", req.itemConditioning.empty() ? 1 : req.itemConditioning.size(), 1, 256));
    req.probes = probesFromFlags(a);
    req.interventions = interventionsFromFlags(a);
    req.wantPreviews = !outDir.empty();
    if (a.options.count("--init-noise"))
        req.initNoise = initNoiseFromFile(opt(a, "--init-noise"));
    const int grid = cfg.inputSize / cfg.patchSize;
    int patchToken = (grid / 2) * grid + grid / 2;
    if (a.options.count("--patch")) {
        const auto rc = intList(a, "--patch");
        if (rc.size() != 2 || rc[0] < 0 || rc[1] < 0 || rc[0] >= grid || rc[1] >= grid)
            throw UsageError("--patch: expected ROW,COL within the " + std::to_string(grid) + "x"
                             + std::to_string(grid) + " token grid");
        patchToken = rc[0] * grid + rc[1];
    }
    if (!req.probes.queryTokens.empty() && !a.options.count("--patch"))
        patchToken = req.probes.queryTokens.front();
    if (!req.probes.queryTokens.empty()
        && std::find(req.probes.queryTokens.begin(), req.probes.queryTokens.end(), patchToken)
            == req.probes.queryTokens.end())
        req.probes.queryTokens.push_back(patchToken);

    // Everything recorded, per step.
    std::map<std::string, HostTensor> tensors;
    std::vector<StepProbes> steps;
    std::vector<std::vector<Image>> xtImages, x0Images;
    std::vector<double> timesteps;
    ProgressBar bar(!has(a, "--quiet"));
    GenerateObserver observer;
    observer.onStep = [&](const StepUpdate &u) {
        bar.update(u.step + 1, u.totalSteps, u.elapsedSeconds, "sampling (probes on)");
        const auto &p = u.probes;
        if (!probeOut.empty()) {
            for (size_t i = 0; i < p.attention.size(); ++i)
                tensors[stepKey("attn", u.step, p.attentionBlocks[i])] = p.attention[i];
            for (size_t b = 0; b < p.adaln.size(); ++b)
                if (!p.adaln[b].data.empty())
                    tensors[stepKey("adaln", u.step, static_cast<int>(b))] = p.adaln[b];
            if (!p.activity.data.empty())
                tensors[stepKey("activity", u.step)] = p.activity;
            if (!p.guidance.data.empty())
                tensors[stepKey("guidance", u.step)] = p.guidance;
        }
        timesteps.push_back(u.timestep);
        if (!outDir.empty()) {
            xtImages.push_back(u.previewXt);
            x0Images.push_back(u.previewX0);
        }
        steps.push_back(p);
    };
    auto result = generateInterruptibly(engine, req, observer);
    if (!result)
        return 130;
    std::cerr << '\n';
    const int n = static_cast<int>(steps.size());
    std::vector<std::string> written;

    if (!probeOut.empty()) {
        tensors["timesteps"] = HostTensor {{static_cast<std::int64_t>(timesteps.size())},
                                           std::vector<float>(timesteps.begin(), timesteps.end())};
        if (req.probes.x0Change && n > 0) {
            HostTensor t {{n, req.batch}, std::vector<float>(static_cast<size_t>(n) * req.batch, 0.f)};
            for (int s = 0; s < n; ++s)
                for (int i = 0; i < req.batch && i < static_cast<int>(steps[s].x0Change.size()); ++i)
                    t.data[static_cast<size_t>(s) * req.batch + i] = static_cast<float>(steps[s].x0Change[i]);
            tensors["x0_change"] = t;
        }
        nlohmann::json meta = {{"architecture", cfg.name()},
                               {"model", info.path},
                               {"sampler", samplerName(req.sampler)},
                               {"steps", n},
                               {"cfg", req.cfgScale},
                               {"batch", req.batch},
                               {"rows", req.cfgScale != 1.0 ? 2 * req.batch : req.batch},
                               {"tokens_per_side", grid},
                               {"query_tokens", req.probes.queryTokens},
                               {"head_mean", req.probes.headMean}};
        if (!probeOut.empty() && !fs::path(probeOut).parent_path().empty())
            fs::create_directories(fs::path(probeOut).parent_path());
        check(writeTensorFile(probeOut, tensors, {{"ditstudio_explain", meta.dump()}}));
        written.push_back(probeOut);
    }

    if (!outDir.empty() && n > 0) {
        fs::create_directories(outDir);
        const fs::path dir(outDir);
        const int patchRow = patchToken / grid, patchCol = patchToken % grid;
        const std::string patchText
            = "patch (" + std::to_string(patchRow) + ", " + std::to_string(patchCol) + ")";
        // The block whose attention the process sheet shows: the middle recorded one.
        const auto &blocks = steps.front().attentionBlocks;
        const int sheetBlock = blocks.empty() ? -1 : blocks[blocks.size() / 2];
        auto attentionCell = [&](int s, int blockIndex) -> Image {
            const auto &p = steps[s];
            if (blockIndex < 0 || blockIndex >= static_cast<int>(p.attention.size()))
                return {};
            auto map = attentionOfQuery(p, p.attention[blockIndex], 0, -1, patchToken);
            if (!map.ok())
                return {};
            const Image base = x0Images[s].empty() ? Image {} : x0Images[s][0];
            Image cell = overlayMap(resizeNearest(base, grid * 8, grid * 8), *map, grid, grid, 0.65);
            outlineToken(cell, grid, patchToken);
            return cell;
        };
        auto guidanceCell = [&](int s) -> Image {
            const auto &g = steps[s].guidance;
            if (g.data.empty())
                return {};
            MapSize size;
            auto map = guidanceMagnitude(g, 0, &size);
            if (!map.ok())
                return {};
            const Image base = x0Images[s].empty() ? Image {} : x0Images[s][0];
            return overlayMap(base, *map, size.width, size.height, 0.6);
        };
        const auto rowsShown = sheetSteps(n, 12);
        std::vector<std::string> rowLabels;
        for (int s : rowsShown) {
            char buf[48];
            std::snprintf(buf, sizeof buf, "step %d  t=%.0f", s, timesteps[s]);
            rowLabels.push_back(buf);
        }
        // Process sheet: rows = steps, columns = x_t, x0, guidance map, attention of the patch.
        {
            std::vector<std::vector<Image>> cells;
            const int blockIndex = sheetBlock < 0
                ? -1
                : static_cast<int>(std::find(blocks.begin(), blocks.end(), sheetBlock) - blocks.begin());
            for (int s : rowsShown)
                cells.push_back({xtImages[s].empty() ? Image {} : xtImages[s][0],
                                 x0Images[s].empty() ? Image {} : x0Images[s][0], guidanceCell(s),
                                 attentionCell(s, blockIndex)});
            const std::string attnLabel
                = sheetBlock < 0 ? "attention (off)" : "attention b" + std::to_string(sheetBlock);
            writeImage(
                dir / "process_sheet.png",
                makeLabelledGrid(cells, rowLabels, {"x_t", "x0 (predicted)", "guidance", attnLabel}, 112,
                                 result->conditioning.front().describe(info.classNames) + ", "
                                     + samplerName(req.sampler) + " " + std::to_string(n) + " steps, cfg "
                                     + std::to_string(req.cfgScale).substr(0, 4) + ", " + patchText),
                true, written);
        }
        if (!blocks.empty()) {
            std::vector<std::vector<Image>> cells;
            std::vector<std::string> colLabels;
            for (int b : blocks)
                colLabels.push_back("b" + std::to_string(b));
            for (int s : rowsShown) {
                std::vector<Image> row;
                for (size_t bi = 0; bi < blocks.size(); ++bi)
                    row.push_back(attentionCell(s, static_cast<int>(bi)));
                cells.push_back(row);
            }
            writeImage(dir / "attention.png",
                       makeLabelledGrid(cells, rowLabels, colLabels, 72,
                                        "attention of " + patchText
                                            + " (mean over heads) on x0, per block and step"),
                       true, written);
        }
        if (!steps.front().guidance.data.empty()
            || std::any_of(steps.begin(), steps.end(),
                           [](const StepProbes &p) { return !p.guidance.data.empty(); })) {
            std::vector<std::vector<Image>> cells(1);
            std::vector<std::string> colLabels;
            for (int s : rowsShown) {
                cells[0].push_back(guidanceCell(s));
                colLabels.push_back("s" + std::to_string(s));
            }
            writeImage(dir / "guidance.png",
                       makeLabelledGrid(cells, {}, colLabels, 96,
                                        "guidance |eps_cond - eps_uncond| on x0, per step (image 0)"),
                       true, written);
        }
        if (!steps.front().activity.data.empty()) {
            const int depth = static_cast<int>(steps.front().activity.shape[0]);
            const int rowsPerStep = static_cast<int>(steps.front().activity.shape[1]);
            std::vector<float> values;
            for (const auto &p : steps)
                for (int b = 0; b < depth; ++b)
                    values.push_back(p.activity.data[static_cast<size_t>(b * rowsPerStep)]); // row 0
            HeatmapOptions ho;
            ho.title = "block activity |out - in| / |in| (image 0, conditional row)";
            ho.xLabel = "block";
            ho.yLabel = "step";
            ho.cellWidth = std::max(8, 480 / depth);
            ho.cellHeight = std::max(4, 360 / n);
            writeImage(dir / "activity.png", renderHeatmap(values, n, depth, ho), true, written);
        }
        if (!steps.front().adaln.empty()) {
            const int depth = static_cast<int>(steps.front().adaln.size());
            const char *names[6]
                = {"shift_msa", "scale_msa", "gate_msa", "shift_mlp", "scale_mlp", "gate_mlp"};
            for (int chunk : {2, 5, 1, 4}) {
                std::vector<PlotSeries> series;
                for (int b = 0; b < depth; ++b) {
                    PlotSeries ps;
                    ps.label = "block " + std::to_string(b);
                    std::uint8_t rgb[3];
                    colormapRgb(0.1f + 0.8f * static_cast<float>(b) / std::max(1, depth - 1), rgb);
                    ps.rgb = {rgb[0], rgb[1], rgb[2]};
                    for (int s = 0; s < n; ++s) {
                        ps.x.push_back(s);
                        ps.y.push_back(chunkMeanAbs(steps[s].adaln.at(b), chunk));
                    }
                    series.push_back(ps);
                }
                PlotOptions po;
                po.title = std::string("adaLN ") + names[chunk]
                    + ": mean |value| per block (image 0, conditional row)";
                po.xLabel = "step";
                po.yLabel = std::string("mean |") + names[chunk] + "|";
                const std::string file = std::string("adaln_")
                    + (chunk == 2       ? "gate_msa"
                           : chunk == 5 ? "gate_mlp"
                           : chunk == 1 ? "scale_msa"
                                        : "scale_mlp")
                    + ".png";
                writeImage(dir / file, renderLinePlot(series, po), true, written);
            }
        }
    }
    if (has(a, "--json")) {
        nlohmann::json j = {{"architecture", cfg.name()}, {"steps", n},         {"seconds", result->seconds},
                            {"outputs", written},         {"batch", req.batch}, {"patch_token", patchToken}};
        std::cout << j.dump(2) << '\n';
    } else {
        for (const auto &w : written)
            std::cerr << "wrote " << w << '\n';
    }
    return 0;
}

} // namespace ditstudio::cli
