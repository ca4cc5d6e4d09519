#include "ditstudio/class_names.h"

#include "common/errors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace ditstudio {

namespace fs = std::filesystem;

namespace {

std::string normalize(const std::string &s)
{
    std::string out;
    bool space = false;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '\'') {
            if (space && !out.empty())
                out.push_back(' ');
            space = false;
            out.push_back(static_cast<char>(std::tolower(c)));
        } else {
            space = true; // spaces, '-', '_', punctuation all separate words
        }
    }
    return out;
}

std::vector<std::string> synonyms(const std::string &names)
{
    std::vector<std::string> out;
    std::stringstream ss(names);
    std::string item;
    while (std::getline(ss, item, ','))
        if (auto n = normalize(item); !n.empty())
            out.push_back(n);
    return out;
}

int editDistance(const std::string &a, const std::string &b)
{
    std::vector<int> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j)
        prev[j] = static_cast<int>(j);
    for (size_t i = 1; i <= a.size(); ++i) {
        cur[0] = static_cast<int>(i);
        for (size_t j = 1; j <= b.size(); ++j)
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

std::string readText(const fs::path &p)
{
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace

std::vector<std::string> parseLabelsText(const std::string &text)
{
    std::vector<std::string> out;
    std::stringstream ss(text);
    std::string line;
    while (std::getline(ss, line)) {
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (line.empty())
            continue;
        const auto tab = line.find('\t');
        out.push_back(tab == std::string::npos ? line : line.substr(tab + 1));
    }
    return out;
}

std::vector<std::string> findClassNames(const fs::path &modelPath,
                                        const std::map<std::string, std::string> &metadata, int numClasses)
{
    if (auto it = metadata.find("class_names"); it != metadata.end()) {
        try {
            auto j = nlohmann::json::parse(it->second);
            std::vector<std::string> names = j.get<std::vector<std::string>>();
            if (static_cast<int>(names.size()) == numClasses)
                return names;
        } catch (const std::exception &) {
            // fall through to the other sources
        }
    }
    std::error_code ec;
    const fs::path dir = fs::is_directory(modelPath, ec) ? modelPath : modelPath.parent_path();
    std::vector<fs::path> candidates = {dir / (modelPath.stem().string() + ".labels.txt"), dir / "labels.txt",
                                        dir / "classes.txt", dir / "class_names.txt"};
    for (const auto &c : candidates) {
        if (fs::is_regular_file(c, ec)) {
            auto names = parseLabelsText(readText(c));
            if (static_cast<int>(names.size()) == numClasses)
                return names;
        }
    }
    if (numClasses == 1000)
        return imagenetClassNames();
    return {};
}

std::string displayName(const std::vector<std::string> &classNames, int classId)
{
    if (classId >= 0 && classId < static_cast<int>(classNames.size())) {
        const auto &n = classNames[classId];
        const auto comma = n.find(',');
        return comma == std::string::npos ? n : n.substr(0, comma);
    }
    return "class " + std::to_string(classId);
}

std::vector<int> closestClasses(const std::string &text, const std::vector<std::string> &classNames,
                                int limit)
{
    const std::string q = normalize(text);
    std::vector<std::pair<int, int>> scored; // (score, id)
    for (int id = 0; id < static_cast<int>(classNames.size()); ++id) {
        int best = 1 << 20;
        for (const auto &syn : synonyms(classNames[id])) {
            int d = editDistance(q, syn);
            if (!q.empty() && syn.rfind(q, 0) == 0)
                d = 0; // prefix match (completion)
            else if (!q.empty() && syn.find(q) != std::string::npos)
                d = std::min(d, 1);
            best = std::min(best, d);
        }
        scored.emplace_back(best, id);
    }
    std::stable_sort(scored.begin(), scored.end());
    std::vector<int> out;
    for (int i = 0; i < limit && i < static_cast<int>(scored.size()); ++i)
        out.push_back(scored[i].second);
    return out;
}

Result<PromptMatch> matchPrompt(const std::string &prompt, const std::vector<std::string> &classNames,
                                int numClasses)
{
    PromptMatch match;
    std::vector<std::string> terms;
    {
        std::stringstream ss(prompt);
        std::string t;
        while (std::getline(ss, t, '+'))
            terms.push_back(t);
    }
    if (normalize(prompt).empty())
        return makeError(ErrorCode::InvalidArgument,
                         "empty prompt: type a class name (e.g. '" + displayName(classNames, 0)
                             + "') or '#N'");
    for (auto term : terms) {
        // Optional leading weight: "0.7 golden retriever", "0.7*cat", "70% cat".
        double weight = 1.0;
        {
            size_t i = 0;
            while (i < term.size() && std::isspace(static_cast<unsigned char>(term[i])))
                ++i;
            size_t j = i;
            while (j < term.size() && (std::isdigit(static_cast<unsigned char>(term[j])) || term[j] == '.'))
                ++j;
            if (j > i
                && (j == term.size() || term[j] == ' ' || term[j] == '*' || term[j] == '%'
                    || term[j] == 'x')) {
                bool isId = i > 0 && term[i - 1] == '#';
                if (!isId) {
                    // strtod, not stod: "." or "1.2.3" or 400 digits are a clear error, not an exception.
                    const std::string number = term.substr(i, j - i);
                    char *end = nullptr;
                    weight = std::strtod(number.c_str(), &end);
                    if (end != number.c_str() + number.size() || !std::isfinite(weight))
                        return makeError(ErrorCode::InvalidArgument,
                                         "prompt '" + prompt + "': '" + number
                                             + "' is not a weight (write e.g. '0.7 "
                                             + displayName(classNames, 0) + "')");
                    if (j < term.size() && term[j] == '%')
                        weight /= 100.0;
                    term = term.substr(j + (j < term.size() && term[j] != ' ' ? 1 : 0));
                }
            }
        }
        const std::string trimmed = normalize(term);
        if (trimmed.empty()) {
            if (terms.size() == 1 && weight != 1.0) // a bare number: treat as class id
                return makeError(ErrorCode::InvalidArgument,
                                 "prompt '" + prompt + "': use '#N' for a class id");
            return makeError(ErrorCode::InvalidArgument,
                             "prompt '" + prompt + "': empty term between '+' signs");
        }
        if (weight <= 0)
            return makeError(ErrorCode::InvalidArgument, "prompt '" + prompt + "': weights must be positive");
        int id = -1;
        // "#207" or "class 207"
        std::string raw = term;
        raw.erase(0, raw.find_first_not_of(" \t"));
        if (!raw.empty() && raw[0] == '#') {
            try {
                id = std::stoi(raw.substr(1));
            } catch (...) {
                id = -2;
            }
            if (id < 0 || id >= numClasses)
                return makeError(ErrorCode::InvalidArgument,
                                 "prompt '" + prompt + "': class id must be #0..#"
                                     + std::to_string(numClasses - 1));
        }
        if (id < 0) {
            if (classNames.empty())
                return makeError(ErrorCode::NotFound,
                                 "this model has no class names: use '#N' (0.."
                                     + std::to_string(numClasses - 1) + ")");
            std::vector<int> exact;
            for (int c = 0; c < static_cast<int>(classNames.size()); ++c)
                for (const auto &syn : synonyms(classNames[c]))
                    if (syn == trimmed) {
                        exact.push_back(c);
                        break;
                    }
            if (exact.size() > 1) {
                std::string list;
                for (int c : exact)
                    list += (list.empty() ? "" : ", ") + std::string("#") + std::to_string(c) + " ("
                        + displayName(classNames, c) + ")";
                return makeError(ErrorCode::InvalidArgument,
                                 "'" + trimmed + "' is ambiguous: it names " + list + "; use the id, e.g. '#"
                                     + std::to_string(exact[0]) + "'");
            }
            if (exact.size() == 1) {
                id = exact[0];
            } else {
                // Tolerate small typos: a unique closest synonym within ~20% edits.
                int best = 1 << 20;
                std::vector<int> bestIds;
                for (int c = 0; c < static_cast<int>(classNames.size()); ++c) {
                    int d = 1 << 20;
                    for (const auto &syn : synonyms(classNames[c]))
                        d = std::min(d, editDistance(trimmed, syn));
                    if (d < best) {
                        best = d;
                        bestIds = {c};
                    } else if (d == best) {
                        bestIds.push_back(c);
                    }
                }
                const int allowed = std::max(1, static_cast<int>(trimmed.size()) / 5);
                if (best <= allowed && bestIds.size() == 1) {
                    id = bestIds[0];
                    match.warnings.push_back("'" + trimmed + "' read as '" + displayName(classNames, id)
                                             + "' (#" + std::to_string(id) + ")");
                } else {
                    std::string list;
                    for (int c : closestClasses(trimmed, classNames, 3))
                        list += (list.empty() ? "" : ", ") + std::string("'") + displayName(classNames, c)
                            + "'";
                    return makeError(ErrorCode::NotFound,
                                     "unknown class '" + trimmed + "'; did you mean " + list + "?");
                }
            }
        }
        match.conditioning.classes.push_back({id, weight});
    }
    // Normalize mix weights to sum to 1.
    double sum = 0;
    for (const auto &c : match.conditioning.classes)
        sum += c.weight;
    for (auto &c : match.conditioning.classes)
        c.weight /= sum;
    return match;
}

std::string Conditioning::describe(const std::vector<std::string> &classNames) const
{
    if (classes.size() == 1)
        return displayName(classNames, classes[0].classId);
    std::ostringstream o;
    for (size_t i = 0; i < classes.size(); ++i) {
        if (i)
            o << " + ";
        o << classes[i].weight << ' ' << displayName(classNames, classes[i].classId);
    }
    return o.str();
}

} // namespace ditstudio
