#include "widgets/window_placement.h"

#include <QGuiApplication>
#include <QScreen>
#include <QWidget>

void keepOnScreen(QWidget *window)
{
    const QRect frame = window->frameGeometry();
    const qint64 area = qint64(frame.width()) * frame.height();
    qint64 visible = 0;
    const QScreen *best = nullptr;
    qint64 bestShare = -1;
    for (const QScreen *screen : QGuiApplication::screens()) {
        const QRect shared = screen->availableGeometry().intersected(frame);
        const qint64 share = shared.isEmpty() ? 0 : qint64(shared.width()) * shared.height();
        visible += share;
        if (share > bestShare) {
            bestShare = share;
            best = screen;
        }
    }
    if (area <= 0 || visible * 100 >= area * 97)
        return; // (almost) all of it is on screens: where the user put it
    if (bestShare <= 0 || !best)
        best = QGuiApplication::primaryScreen();
    if (!best)
        return;
    if (window->isMaximized() || window->isFullScreen())
        window->showNormal();
    const QRect avail = best->availableGeometry();
    const QSize decoration = frame.size() - window->size();
    const QSize inner(qMin(window->width(), avail.width() * 9 / 10 - decoration.width()),
                      qMin(window->height(), avail.height() * 9 / 10 - decoration.height()));
    window->resize(inner);
    const QSize outer = inner + decoration;
    window->move(avail.center() - QPoint(outer.width() / 2, outer.height() / 2));
}
