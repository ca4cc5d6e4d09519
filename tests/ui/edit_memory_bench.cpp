// Memory of an image edit in the app's own job path (issue 13): the model is loaded once by the
// controller and EditDialog's job runs on that engine, so an edit must not hold a second copy of
// the model. Loads CHECKPOINT through GenerationController, runs one img2img through EditDialog,
// and prints the process's resident memory (Linux /proc/self/status) after the load and its peak
// during the edit, next to the checkpoint's size. Not a ctest: a bench to run by hand (the numbers
// go in the closing note):
//   ditstudio_edit_memory_bench CHECKPOINT [STEPS]
#include "edit/edit_panel.h"
#include "engine/generation_controller.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QSignalSpy>
#include <QTextStream>

#include <cstdio>

namespace {

// kB of a /proc/self/status field (VmRSS, VmHWM); -1 elsewhere.
long long statusKb(const char *field)
{
#if defined(__linux__)
    QFile f(QStringLiteral("/proc/self/status"));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    const QString key = QString::fromLatin1(field) + QLatin1Char(':');
    for (const QByteArray &line : f.readAll().split('\n'))
        if (line.startsWith(key.toLatin1()))
            return QString::fromLatin1(line.mid(key.size()))
                .simplified()
                .section(QLatin1Char(' '), 0, 0)
                .toLongLong();
#else
    (void)field;
#endif
    return -1;
}

// Reset the peak (VmHWM) so it measures from now on (Linux: write 5 to clear_refs).
bool resetPeak()
{
#if defined(__linux__)
    QFile f(QStringLiteral("/proc/self/clear_refs"));
    return f.open(QIODevice::WriteOnly) && f.write("5") == 1;
#else
    return false;
#endif
}

} // namespace

int main(int argc, char **argv)
{
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s CHECKPOINT [STEPS]\n", argv[0]);
        return 2;
    }
    const QString path = QString::fromLocal8Bit(argv[1]);
    const int steps = argc > 2 ? std::atoi(argv[2]) : 4;
    GenerationController engine;
    QSignalSpy loaded(&engine, &GenerationController::modelLoaded);
    QSignalSpy failed(&engine, &GenerationController::loadFailed);
    ModelLoadSpec spec;
    spec.path = path;
    spec.device = QStringLiteral("cpu");
    engine.loadModel(spec);
    while (loaded.isEmpty() && failed.isEmpty())
        loaded.wait(1000);
    if (!failed.isEmpty()) {
        std::fprintf(stderr, "load failed: %s\n", qPrintable(failed.first().first().toString()));
        return 1;
    }
    const ModelSummary model = engine.model();
    const long long afterLoad = statusKb("VmRSS");
    const long long loadPeak = statusKb("VmHWM");
    const bool reset = resetPeak();

    GenerationSettings settings;
    settings.prompt = QStringLiteral("#3");
    settings.steps = steps;
    settings.sampler = QStringLiteral("ddim");
    settings.seedMode = SeedMode::Fixed;
    settings.seed = 1;
    settings.device = QStringLiteral("cpu");
    EditDialog dialog(&engine, settings);
    QImage image(model.imageSize, model.imageSize, QImage::Format_RGB888);
    image.fill(QColor(90, 140, 200));
    dialog.setImage(image);
    dialog.setMode(EditDialog::Img2Img);
    dialog.setStrength(1.0);
    QSignalSpy done(&dialog, &EditDialog::finishedEdit);
    QElapsedTimer timer;
    timer.start();
    dialog.start();
    while (done.isEmpty())
        done.wait(1000);
    const double seconds = timer.nsecsElapsed() / 1e9;
    const long long editPeak = statusKb("VmHWM");
    const double fileMb = QFileInfo(path).size() / 1048576.0;
    QTextStream out(stdout);
    out << "model: " << model.architecture << ", " << model.parameterCount << " parameters, "
        << model.imageSize << " px; checkpoint " << qRound(fileMb) << " MiB\n";
    out << "edit: " << (done.first().first().toBool() ? "ok" : "FAILED") << " in " << seconds << " s ("
        << dialog.resultText() << ")\n";
    out << "RSS after load: " << afterLoad / 1024 << " MiB (peak while loading " << loadPeak / 1024
        << " MiB)\n";
    out << "peak RSS during the edit" << (reset ? "" : " (whole run: clear_refs unavailable)") << ": "
        << editPeak / 1024 << " MiB, " << (editPeak - afterLoad) / 1024 << " MiB above the loaded model\n";
    return done.first().first().toBool() ? 0 : 1;
}
