#pragma once
// QSKIP for a missing dependency, or QFAIL under DITSTUDIO_REQUIRE_ALL=1 (set by .ci/run), so a green
// CI run never hides an untested path.

#include <QtTest>

inline bool ditstudioRequireAll()
{
    return qEnvironmentVariable("DITSTUDIO_REQUIRE_ALL") == QStringLiteral("1");
}

#define DITSTUDIO_QSKIP(reason)                                                                              \
    do {                                                                                                     \
        if (ditstudioRequireAll())                                                                           \
            QFAIL(qPrintable(QStringLiteral("DITSTUDIO_REQUIRE_ALL=1 and this test cannot run: ")            \
                             + QStringLiteral(reason)));                                                     \
        else                                                                                                 \
            QSKIP(reason);                                                                                   \
    } while (0)
