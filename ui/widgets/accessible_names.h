#pragma once
/// \file accessible_names.h
/// Names for screen readers, given once a window's widgets exist.

class QWidget;

/// Every control under `root` without an accessible name gets one: a labelled control its label's
/// text (without the mnemonic '&'), any other focusable control its tooltip up to a '('.
void nameControlsForScreenReaders(QWidget *root);
