#pragma once
/// \file window_placement.h
/// Where a restored top-level window may stand: on the screens there are now.

class QWidget;

/// Saved on another monitor or at another scale factor, a window's geometry may lie partly off
/// every screen or be larger than the screen: then the window comes back centred on the screen that
/// shows most of it (else the primary one), no larger than nine tenths of it. A window that is
/// (almost) all on screens stays where the user put it.
void keepOnScreen(QWidget *window);
