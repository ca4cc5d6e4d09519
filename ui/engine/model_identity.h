#pragma once
/// \file model_identity.h
/// A quick, content-based identity for model weights, stored with every history entry so that a
/// result can be traced to the exact weights even when a file is later replaced under the same name.

#include <QString>

/// "q1:" + SHA-256 hex over, for every weight file (a single file, or in a folder all *.safetensors,
/// *.bin, *.pt, *.pth, *.ckpt files in sorted relative-path order): the relative path (folders only), the
/// size in bytes, the first MiB and the last MiB. Reading at most 2 MiB per file keeps it fast for multi-GB
/// checkpoints; any change to the size, header (safetensors put every tensor's shape and offset there) or
/// tail changes the hash. It is not a full-content hash: two files that differ only in their middle bytes
/// would collide (the "q1" scheme tag leaves room for a full hash later). The modification time is
/// deliberately left out, so a copied checkpoint keeps its identity. Returns an empty string and sets *error
/// when the path cannot be read.
QString quickWeightHash(const QString &path, QString *error = nullptr);
