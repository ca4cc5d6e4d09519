#!/usr/bin/env python3
"""Regenerate backend/src/common/imagenet_classes.cpp from resources/data/imagenet-1k-classes.tsv."""
import pathlib
root = pathlib.Path(__file__).resolve().parent.parent
lines = (root / 'resources/data/imagenet-1k-classes.tsv').read_text().splitlines()
out = ['// Generated from resources/data/imagenet-1k-classes.tsv (see ../shared/data/README.md): the 1000',
       '// ImageNet-1k classes in model index order, comma-separated synonyms. Do not edit by hand;',
       '// regenerate with scripts/gen_imagenet_classes.py.',
       '#include "common/class_names.h"', '', 'namespace ditstudio {', '',
       'const std::vector<std::string> &imagenetClassNames()', '{',
       '    static const std::vector<std::string> names = {']
for line in lines:
    names = line.split('\t', 1)[1]
    out.append('        "%s",' % names.replace('\\', '\\\\').replace('"', '\\"'))
out += ['    };', '    return names;', '}', '', '} // namespace ditstudio', '']
(root / 'backend/src/common/imagenet_classes.cpp').write_text('\n'.join(out))
