#!/usr/bin/env python3
"""Render installer/icons/ditstudio.svg to the hicolor PNG sizes (installer/icons/hicolor/NxN/apps).

Uses librsvg and cairo through ctypes (Debian 12: librsvg2-2, libcairo2), because this machine's
ImageMagick has no SVG delegate and rsvg-convert is not installed. The PNGs are committed; run this
only after changing the SVG.
"""
import ctypes
import ctypes.util
import os
import subprocess
import sys

SIZES = [16, 22, 24, 32, 48, 64, 128, 256, 512]
HERE = os.path.dirname(os.path.abspath(__file__))
ICONS = os.path.join(HERE, "..", "installer", "icons")


def load(name, fallback):
    path = ctypes.util.find_library(name) or fallback
    return ctypes.CDLL(path)


def main():
    rsvg = load("rsvg-2", "librsvg-2.so.2")
    cairo = load("cairo", "libcairo.so.2")
    gobject = load("gobject-2.0", "libgobject-2.0.so.0")
    rsvg.rsvg_handle_new_from_file.restype = ctypes.c_void_p
    rsvg.rsvg_handle_new_from_file.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
    rsvg.rsvg_handle_render_cairo.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    cairo.cairo_image_surface_create.restype = ctypes.c_void_p
    cairo.cairo_create.restype = ctypes.c_void_p
    cairo.cairo_create.argtypes = [ctypes.c_void_p]
    cairo.cairo_scale.argtypes = [ctypes.c_void_p, ctypes.c_double, ctypes.c_double]
    cairo.cairo_surface_write_to_png.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    cairo.cairo_surface_write_to_png.restype = ctypes.c_int
    cairo.cairo_destroy.argtypes = [ctypes.c_void_p]
    cairo.cairo_surface_destroy.argtypes = [ctypes.c_void_p]
    gobject.g_object_unref.argtypes = [ctypes.c_void_p]

    svg = os.path.join(ICONS, "ditstudio.svg").encode()
    err = ctypes.c_void_p()
    handle = rsvg.rsvg_handle_new_from_file(svg, ctypes.byref(err))
    if not handle:
        sys.exit("render-icons: librsvg could not read %s" % svg.decode())
    for size in SIZES:
        surface = cairo.cairo_image_surface_create(0, size, size)  # CAIRO_FORMAT_ARGB32
        cr = cairo.cairo_create(surface)
        cairo.cairo_scale(cr, size / 256.0, size / 256.0)  # the SVG's viewBox is 256x256
        if not rsvg.rsvg_handle_render_cairo(handle, cr):
            sys.exit("render-icons: librsvg could not render at %d px" % size)
        out_dir = os.path.join(ICONS, "hicolor", "%dx%d" % (size, size), "apps")
        os.makedirs(out_dir, exist_ok=True)
        out = os.path.join(out_dir, "ditstudio.png")
        if cairo.cairo_surface_write_to_png(surface, out.encode()) != 0:
            sys.exit("render-icons: cannot write " + out)
        cairo.cairo_destroy(cr)
        cairo.cairo_surface_destroy(surface)
        print("render-icons: wrote", os.path.relpath(out))
    gobject.g_object_unref(handle)
    # The Windows icon (NSIS installer) from the PNGs; ImageMagick reads PNG fine, only SVG is missing.
    pngs = [os.path.join(ICONS, "hicolor", "%dx%d" % (s, s), "apps", "ditstudio.png") for s in (16, 24, 32, 48, 64, 128, 256)]
    ico = os.path.join(ICONS, "ditstudio.ico")
    if os.path.exists("/usr/bin/convert") and subprocess.call(["/usr/bin/convert"] + pngs + [ico]) == 0:
        print("render-icons: wrote", os.path.relpath(ico))
    else:
        print("render-icons: ImageMagick's convert failed or is missing; installer/icons/ditstudio.ico not updated")


if __name__ == "__main__":
    main()
