// The public training entry point (ditstudio/training.h): the trainer behind a Result.
#include "ditstudio/training.h"

#include "common/errors.h"
#include "training/distributed.h"
#include "training/trainer.h"

namespace ditstudio {

Result<TrainResult> train(const TrainRequest &request,
                          const std::function<void(const TrainProgress &)> &onProgress,
                          const CancelToken &cancel)
{
    return guarded("training in " + request.outDir, [&]() -> TrainResult {
        TrainResult result;
        result.outDir = request.outDir;
        result.step = trainDiT(request, onProgress, cancel);
        result.cancelled = result.step < request.totalSteps && cancel.isCancelRequested();
        return result;
    });
}

Result<DistributedOptions> distributedFromEnvironment(DistributedOptions defaults)
{
    return guarded({}, [&] { return distributedOptionsFromEnvironment(defaults); });
}

} // namespace ditstudio
