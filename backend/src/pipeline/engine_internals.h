#pragma once
// The engine's side of the loaded-model record: the one place that reads an Engine's private state
// (Engine befriends EngineInternals). Only the pipeline uses it, to hand features a LoadedModel.

#include "ditstudio/engine.h"
#include "model/loaded_model.h"

namespace ditstudio {

struct EngineInternals {
    /// The engine's loaded model. Throws DitException(InvalidArgument) when no model is loaded.
    static LoadedModel of(Engine &engine);
};

} // namespace ditstudio
