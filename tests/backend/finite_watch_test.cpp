// The NaN/Inf watch of a sampling run: at once on the CPU, deferred (no per-step sync) on a GPU. The
// deferred path is the GPU's; it runs here on CPU tensors, which is the same code.
#include "test_util.h"

#include "common/errors.h"
#include "diffusion/finite_watch.h"

namespace ditstudio::test {
namespace {

std::string messageOf(const std::function<void()> &f)
{
    try {
        f();
    } catch (const DitException &e) {
        EXPECT_EQ(e.code(), ErrorCode::NumericError);
        return e.what();
    }
    return {};
}

TEST(FiniteWatch, DeferredWatchNamesTheFirstBadStepWhenChecked)
{
    FiniteWatch watch;
    const auto good = torch::zeros({2, 1, 4, 4});
    auto bad = good.clone();
    bad[1][0][2][3] = std::numeric_limits<float>::quiet_NaN();
    const double timesteps[] = {999, 749, 499, 249, 0};
    for (int s = 0; s < 5; ++s)
        watch.observe(s, 5, timesteps[s], s >= 2 ? bad : good, good, false); // never throws: no sync
    const auto message = messageOf([&] { watch.check(); });
    EXPECT_NE(message.find("step 3 of 5"), std::string::npos) << message;
    EXPECT_NE(message.find("timestep 499"), std::string::npos) << message;
    EXPECT_EQ(messageOf([&] { watch.check(); }), "") << "reported once";
}

TEST(FiniteWatch, ImmediateWatchStopsAtTheStepAndReportsAnEarlierDeferredOneFirst)
{
    const auto good = torch::zeros({1, 3});
    auto inf = good.clone();
    inf[0][1] = std::numeric_limits<float>::infinity();
    FiniteWatch watch;
    watch.observe(0, 4, 900, good, good, true);
    EXPECT_NE(messageOf([&] { watch.observe(1, 4, 600, good, inf, true); }).find("step 2 of 4"),
              std::string::npos);

    FiniteWatch mixed;
    mixed.observe(0, 4, 900, good, inf, false); // deferred: bad at step 1
    EXPECT_NE(messageOf([&] { mixed.observe(1, 4, 600, good, good, true); }).find("step 1 of 4"),
              std::string::npos);
}

TEST(FiniteWatch, CleanRunsPass)
{
    FiniteWatch watch;
    const auto x = torch::randn({2, 4});
    for (int s = 0; s < 3; ++s)
        watch.observe(s, 3, 10.0 * s, x, x, s == 1);
    EXPECT_NO_THROW(watch.check());
}

} // namespace
} // namespace ditstudio::test
