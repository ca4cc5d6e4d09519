// identifyModelFile() of models.h: what a downloaded file is, by the engine's checkpoint inspection
// (headers and shapes only; no weights are loaded). Needs the engine, so it is not in ditstudio_common.
#include "common/errors.h"
#include "ditstudio/models.h"
#include "model/model_loader.h"
#include "model/vae_loader.h"

#include <atomic>
#include <filesystem>
#include <string>

namespace ditstudio {

namespace {

std::string withThousands(std::int64_t n)
{
    std::string digits = std::to_string(n);
    for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3)
        digits.insert(static_cast<std::size_t>(i), ",");
    return digits;
}

/// The readers choose the format by extension, so a download in progress ("x.pt.part") is inspected
/// through a hidden alias with the real extension (a hard link beside it; a symlink where hard links
/// fail), removed again afterwards.
class InspectionAlias {
public:
    explicit InspectionAlias(const std::filesystem::path &file) : m_path(file)
    {
        namespace fs = std::filesystem;
        if (file.extension() != ".part")
            return;
        static std::atomic<unsigned> counter {0};
        const fs::path alias = file.parent_path()
            / (".inspect-" + std::to_string(counter++) + "-" + file.stem().filename().string());
        std::error_code ec;
        fs::remove(alias, ec);
        fs::create_hard_link(file, alias, ec);
        if (ec)
            fs::create_symlink(fs::absolute(file), alias, ec);
        if (!ec) {
            m_alias = alias;
            m_path = alias;
        }
    }
    ~InspectionAlias()
    {
        std::error_code ec;
        if (!m_alias.empty())
            std::filesystem::remove(m_alias, ec);
    }
    InspectionAlias(const InspectionAlias &) = delete;
    InspectionAlias &operator=(const InspectionAlias &) = delete;
    const std::filesystem::path &path() const { return m_path; }

private:
    std::filesystem::path m_path;
    std::filesystem::path m_alias;
};

} // namespace

Result<std::string> identifyModelFile(const std::string &path, ModelKind kind)
{
    std::string aliasName;
    auto result = guarded(path, [&]() -> std::string {
        const InspectionAlias file(path);
        aliasName = file.path().string();
        if (kind == ModelKind::DiT) {
            const CheckpointInfo info = describeCheckpoint(file.path());
            const int imageSize = info.latentSpace ? info.config.inputSize * 8 : info.config.inputSize;
            return info.config.name() + ", " + std::to_string(imageSize) + " px, "
                + withThousands(info.parameterCount) + " parameters";
        }
        const VaeCheckpointInfo info = describeVaeCheckpoint(file.path());
        return "Stable Diffusion VAE (" + info.layout + " layout), "
            + std::to_string(info.config.latentChannels) + " latent channels, "
            + withThousands(info.parameterCount) + " parameters";
    });
    if (!result.ok() && !aliasName.empty() && aliasName != path) {
        // Name the file the caller knows, not the temporary alias.
        Error error = result.error();
        for (std::size_t at; (at = error.message.find(aliasName)) != std::string::npos;)
            error.message.replace(at, aliasName.size(), path);
        return error;
    }
    return result;
}

} // namespace ditstudio
