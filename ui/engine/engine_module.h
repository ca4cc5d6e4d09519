#pragma once
/// \file engine_module.h
/// The engine module (ditstudio/module_api.h) as the GUI sees it. LibTorch and the ~290 shared
/// libraries it pulls in take most of a second to load; the GUI executable does not link them. It
/// starts loading the module on a background thread at launch and shows its window meanwhile; the
/// first engine call waits for the rest of the load (on the worker thread, so the window never does).
///
/// All functions are thread-safe. Those that need the engine wait for the load and, when the module
/// could not be loaded, return an Error that says why and where it was looked for.

#include "ditstudio/module_api.h"

#include <QString>

#include <memory>

namespace EngineModule {

/// Start loading on a background thread (idempotent). Call once QCoreApplication exists (the
/// module is looked for next to the executable). Every function below starts it when needed,
/// unless holdLoading() was called. Once loaded, LibTorch computes on all cores.
void startLoading();
/// Make engine calls wait for an explicit startLoading() instead of starting the load themselves
/// (the app starts it after its window's first paint: the load holds the dynamic loader's lock).
void holdLoading();
/// True once the load has finished, successfully or not (never waits, never starts it).
bool isFinished();
/// The module, waiting for the load; nullptr when it could not be loaded.
ditstudio::EngineModuleInterface *api();
/// A new engine (no model) from the module, waiting for the load; null when the module is missing
/// (unavailableError() says why). Use it from one thread at a time (see EngineSession).
std::unique_ptr<ditstudio::EngineSession> createSession();
/// Why the load failed (empty when it succeeded); waits for the load.
QString errorText();
/// The file that was loaded (empty on failure); waits for the load.
QString path();
/// Seconds from startLoading() to the module being ready; waits for the load.
double loadSeconds();
/// The error engine calls return when the module is missing (errorText() in a sentence).
ditstudio::Error unavailableError();

// The engine's free functions, through the module (see runtime.h and engine.h for each).
ditstudio::Result<void> writePng(const std::string &path, const ditstudio::Image &image,
                                 const std::vector<std::pair<std::string, std::string>> &textChunks = {},
                                 bool overwrite = false);
ditstudio::Result<std::vector<std::pair<std::string, std::string>>> readPngText(const std::string &path);
ditstudio::Result<ditstudio::DeviceSpec> parseDevice(const std::string &text);
/// What a downloaded checkpoint is (models.h), by the engine's inspection; waits for the module.
ditstudio::Result<std::string> identifyModelFile(const std::string &path, ditstudio::ModelKind kind);
/// 0 when the module is missing.
int cudaDeviceCount();
bool cudaAvailable();
/// LibTorch's intra-op threads (<= 0: all cores); returns the count in effect, 0 without the module.
int setComputeThreads(int threads);
/// runtimeInfoText() of the engine, or the reason it is missing.
std::string runtimeInfoText(const std::vector<std::string> &extraLines = {});

} // namespace EngineModule
