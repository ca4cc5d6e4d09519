#pragma once
/// \file class_names.h
/// Class names of a model and prompt matching: the names a checkpoint carries (or the ImageNet list),
/// a prompt turned into class conditioning, and suggestions for a half-typed name. Pure functions:
/// thread-safe, no state; bad prompts come back as Error values naming the unknown or ambiguous word.
///
/// Example:
///     const auto &names = ditstudio::imagenetClassNames();
///     auto match = ditstudio::matchPrompt("0.7 golden retriever + 0.3 tabby cat", names, 1000);
///     // match->conditioning.classes: {207, 0.7}, {281, 0.3}
///     std::string name = ditstudio::displayName(names, 207); // "golden retriever"

#include "ditstudio/engine.h"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace ditstudio {

/// The 1000 ImageNet-1k classes (comma-separated synonyms per class), compiled into the binary.
const std::vector<std::string> &imagenetClassNames();

/// Parse a labels text: one class per line, either "names" or "id<TAB>names" (the ImageNet tsv).
std::vector<std::string> parseLabelsText(const std::string &text);

/// Class names for a model: metadata "class_names" (JSON list), a labels file beside the model
/// (<stem>.labels.txt, labels.txt, classes.txt, class_names.txt), or ImageNet when numClasses is 1000.
std::vector<std::string> findClassNames(const std::filesystem::path &modelPath,
                                        const std::map<std::string, std::string> &metadata, int numClasses);

/// Map a prompt to conditioning: "golden retriever", "#207", "0.7 golden retriever + 0.3 tabby cat".
/// Names are matched case-insensitively against every synonym; small typos are tolerated (with a
/// warning); an ambiguous name is an error listing the candidates with their ids.
Result<PromptMatch> matchPrompt(const std::string &prompt, const std::vector<std::string> &classNames,
                                int numClasses);

/// The first synonym of a class (the display name), or "class N".
std::string displayName(const std::vector<std::string> &classNames, int classId);

/// Up to `limit` class ids whose names are closest to `text` (for suggestions and completion).
std::vector<int> closestClasses(const std::string &text, const std::vector<std::string> &classNames,
                                int limit);

} // namespace ditstudio
