#pragma once
// Atomic file writes: write to "<name>.tmp-<random>" beside the target, flush, then rename over it.
// Nothing the user made is lost: callers decide whether overwriting an existing target is allowed.

#include <filesystem>
#include <functional>
#include <ostream>
#include <string>

namespace ditstudio {

/// Calls write(stream) on a temporary file next to target and renames it into place on success.
/// On any failure (exception from write, I/O error) the temporary file is removed and a
/// DitException(IoError) naming the target is thrown. overwrite=false refuses an existing target.
void writeFileAtomically(const std::filesystem::path &target,
                         const std::function<void(std::ostream &)> &write, bool overwrite = true);

/// A unique temporary path next to target (same directory, so rename is atomic).
std::filesystem::path temporarySibling(const std::filesystem::path &target);

/// Rename tmp over target (replacing it); throws DitException(IoError) on failure.
void commitTemporary(const std::filesystem::path &tmp, const std::filesystem::path &target);

} // namespace ditstudio
