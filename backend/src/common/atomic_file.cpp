#include "common/atomic_file.h"

#include "common/errors.h"

#include <fstream>
#include <random>

namespace ditstudio {

namespace fs = std::filesystem;

fs::path temporarySibling(const fs::path &target)
{
    static thread_local std::mt19937_64 rng {std::random_device {}()};
    const auto name = target.filename().string() + ".tmp-" + std::to_string(rng() % 100000000ULL);
    return target.parent_path() / name;
}

void commitTemporary(const fs::path &tmp, const fs::path &target)
{
    std::error_code ec;
    fs::rename(tmp, target, ec);
    if (ec) {
        fs::remove(tmp, ec);
        fail(ErrorCode::IoError,
             target.string() + ": cannot move the finished file into place: " + ec.message());
    }
}

void writeFileAtomically(const fs::path &target, const std::function<void(std::ostream &)> &write,
                         bool overwrite)
{
    std::error_code ec;
    if (!overwrite && fs::exists(target, ec))
        fail(ErrorCode::IoError, target.string() + ": file exists (refusing to overwrite)");
    const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
    if (!fs::is_directory(dir, ec))
        fail(ErrorCode::IoError, target.string() + ": directory '" + dir.string() + "' does not exist");
    const fs::path tmp = temporarySibling(target);
    try {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out)
            fail(ErrorCode::IoError, target.string() + ": cannot create a file in '" + dir.string() + "'");
        write(out);
        out.flush();
        if (!out)
            fail(ErrorCode::IoError, target.string() + ": write failed (disk full?)");
        out.close();
        if (out.fail())
            fail(ErrorCode::IoError, target.string() + ": close failed");
    } catch (...) {
        fs::remove(tmp, ec);
        throw;
    }
    commitTemporary(tmp, target);
}

} // namespace ditstudio
