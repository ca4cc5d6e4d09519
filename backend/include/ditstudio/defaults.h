#pragma once
/// \file defaults.h
/// The sampling settings the app and ditstudio-cli start from when the user gives none. They were
/// chosen by measurement on the embedded default model: the fastest (sampler, steps) whose agreement
/// with the requested class and Frechet distance stay within 5% of 250-step DDPM (see
/// resources/models/MODEL_CARD.md). GenerateRequest itself keeps the official DDPM defaults, so the
/// API reproduces the reference code unless asked otherwise.
///
/// Example:
///     ditstudio::GenerateRequest request;
///     request.sampler = ditstudio::kDefaultSampler; // DPM++ 2M
///     request.steps = ditstudio::kDefaultSteps;     // 10

#include "ditstudio/engine.h"

namespace ditstudio {

inline constexpr SamplerKind kDefaultSampler = SamplerKind::DpmPP2M;
inline constexpr int kDefaultSteps = 10;

} // namespace ditstudio
