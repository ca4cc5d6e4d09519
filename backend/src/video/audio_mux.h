#pragma once
// Copy an audio stream into a freshly encoded video by remuxing (packets copied, no re-encode):
// VideoWriter writes video only, video-to-video wants the source's sound back.

#include <filesystem>
#include <string>

namespace ditstudio::editing {

/// True when FFmpeg finds an audio stream in `path` (false for unreadable files too).
bool hasAudioStream(const std::filesystem::path &path);

/// Write `target` (atomically: temporary sibling, then rename) with the video stream of videoOnly
/// and the first audio stream of audioSource, packets copied; audio past the video's end is dropped.
/// The container follows target's extension. Returns false (and writes nothing) when audioSource has
/// no audio or the container cannot hold its codec (e.g. AAC in WebM); `why` then says so.
/// Throws DitException naming the file and FFmpeg call on I/O failures.
bool muxVideoWithAudio(const std::filesystem::path &videoOnly, const std::filesystem::path &audioSource,
                       const std::filesystem::path &target, bool overwrite, std::string &why);

} // namespace ditstudio::editing
