// The engine module as the GUI loads it: in the background, once, from the build folder here;
// engines are EngineSession interfaces it creates; without it every engine call says why instead of crashing.
#include "engine/engine_module.h"

#include "ditstudio/engine.h"

#include "test_skip.h"
#include <QElapsedTimer>
#include <QLibrary>
#include <QTest>

class EngineModuleTest : public QObject {
    Q_OBJECT

private:
    static bool missingModuleRun() { return qEnvironmentVariableIsSet("DITSTUDIO_TEST_MISSING_ENGINE"); }

private slots:
    void loadsInTheBackgroundAndForwards()
    {
        if (missingModuleRun())
            QSKIP("the missing-module run checks errors only (ctest runs each function in its own variant)");
        QElapsedTimer timer;
        timer.start();
        EngineModule::startLoading();
        // startLoading() returns at once; the load itself (LibTorch and friends) is on another thread.
        QVERIFY2(timer.elapsed() < 1000, "startLoading() waited for the load");
        auto *api = EngineModule::api();
        QVERIFY2(api, qPrintable(EngineModule::errorText()));
        QVERIFY(EngineModule::isFinished());
        QVERIFY(EngineModule::errorText().isEmpty());
        QVERIFY2(EngineModule::path().contains(QLatin1String(ditstudio::kEngineModuleName)),
                 qPrintable(EngineModule::path()));
        QCOMPARE(QString::fromLatin1(api->version()), QString::fromLatin1(ditstudio::appVersion()));
        // The ABI check: the entry refuses a caller built for another version and says its own.
        QLibrary library(EngineModule::path());
        QVERIFY(library.load());
        const auto entry
            = reinterpret_cast<ditstudio::EngineModuleEntry>(library.resolve(ditstudio::kEngineModuleEntry));
        QVERIFY(entry);
        std::uint32_t moduleAbi = 0;
        QVERIFY(entry(ditstudio::kEngineModuleAbi + 1, &moduleAbi) == nullptr);
        QCOMPARE(moduleAbi, ditstudio::kEngineModuleAbi);
        QCOMPARE(entry(ditstudio::kEngineModuleAbi, nullptr), api);
        QVERIFY(EngineModule::loadSeconds() > 0);
        QVERIFY(QString::fromStdString(EngineModule::runtimeInfoText()).contains(QLatin1String("LibTorch")));

        std::unique_ptr<ditstudio::EngineSession> session = EngineModule::createSession();
        QVERIFY(session);
        ditstudio::EngineSession &engine = *session;
        QVERIFY(!engine.hasModel());
        QVERIFY(engine.classNames().empty());
        QVERIFY(!engine.parsePrompt("sneaker").ok());
        if (api->defaultModelPath().empty())
            DITSTUDIO_QSKIP("the embedded default model was not found");
        const auto loaded = engine.loadDefaultModel();
        QVERIFY2(loaded.ok(), loaded.ok() ? "" : loaded.error().toString().c_str());
        QVERIFY(engine.hasModel());
        QCOMPARE(int(engine.classNames().size()), 10);
        const auto match = engine.parsePrompt("sneaker");
        QVERIFY(match.ok());
        QCOMPARE(match->conditioning.classes.at(0).classId, 7); // Fashion-MNIST: 7 = Sneaker
        ditstudio::GenerateRequest request;
        request.prompt = "sneaker";
        request.steps = 3;
        request.seed = 1;
        int steps = 0;
        ditstudio::GenerateObserver observer;
        observer.onStep = [&](const ditstudio::StepUpdate &) { ++steps; };
        const auto result = engine.generate(request, observer);
        QVERIFY2(result.ok(), result.ok() ? "" : result.error().toString().c_str());
        QCOMPARE(steps, 3);
        QCOMPARE(int(result->images.size()), 1);
        QCOMPARE(result->images.front().width, 28);
    }

    void missingModuleGivesAClearError()
    {
        if (!missingModuleRun())
            QSKIP("run with DITSTUDIO_TEST_MISSING_ENGINE and DITSTUDIO_ENGINE_MODULE=<no such file> (ctest "
                  "does)");
        QVERIFY(EngineModule::api() == nullptr);
        const QString why = EngineModule::errorText();
        QVERIFY2(why.contains(qEnvironmentVariable("DITSTUDIO_ENGINE_MODULE")), qPrintable(why));
        QVERIFY(EngineModule::createSession() == nullptr);
        const QString message = QString::fromStdString(EngineModule::unavailableError().toString());
        QVERIFY2(message.contains(QLatin1String("engine module"))
                     && message.contains(QLatin1String("DITSTUDIO_ENGINE_MODULE")),
                 qPrintable(message));
        QVERIFY(!EngineModule::writePng("x.png", ditstudio::Image {}).ok());
        QVERIFY(!EngineModule::cudaAvailable());
        QVERIFY(QString::fromStdString(EngineModule::runtimeInfoText())
                    .contains(QLatin1String("could not be loaded")));
    }
};

QTEST_GUILESS_MAIN(EngineModuleTest)
#include "engine_module_test.moc"
