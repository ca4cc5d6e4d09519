#!/usr/bin/env python3
"""The first frames of a launch (issue 18: "the first frame after launch is black for ~150-270 ms").

Starts a private Xvfb whose framebuffer is a memory-mapped file (-fbdir) and a white root window,
waits until the server has painted that root white, launches the app on it with a fresh home and
data folder, and samples the screen every few milliseconds for the first seconds. Fails when any sample shows the window area mostly black (an
unpainted window), or when the window never appears. Prints when it appeared.

usage: first_frame.py PATH/TO/ditstudio
"""
import mmap
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

WIDTH, HEIGHT = 1400, 900


def main() -> int:
    app_path = sys.argv[1]
    xvfb = shutil.which("Xvfb")
    if not xvfb:
        print("Xvfb is not installed (scripts/install-deps.sh installs it)")
        return 1
    work = tempfile.mkdtemp(prefix="ditstudio-first-frame-")
    fbdir = os.path.join(work, "fb")
    os.makedirs(fbdir)
    # Xvfb picks a free display itself and writes its number to the pipe once it accepts clients, so
    # a display left over by another test (or another run of this one) can never collide with ours.
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen([xvfb, "-displayfd", str(write_fd), "-screen", "0", "%dx%dx24" % (WIDTH, HEIGHT),
                               "-fbdir", fbdir, "-wr", "-nolisten", "tcp"], stderr=subprocess.DEVNULL,
                              pass_fds=(write_fd,))
    os.close(write_fd)
    try:
        with os.fdopen(read_fd, "rb") as pipe:
            number = pipe.readline().strip()
        if not number:
            print("Xvfb did not start (it wrote no display number; exit code %s)" % server.poll())
            return 1
        display = ":" + number.decode()
        path = os.path.join(fbdir, "Xvfb_screen0")
        deadline = time.time() + 30
        while not os.path.exists(path) and time.time() < deadline:
            time.sleep(0.05)
        if not os.path.exists(path):
            print("Xvfb wrote no framebuffer file %s within 30 s" % path)
            return 1
        with open(path, "rb") as f:
            fb = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        header = struct.unpack(">25I", fb[:100])
        header_size, width, height, bytes_per_line, ncolors = header[0], header[4], header[5], header[12], header[19]
        offset = header_size + ncolors * 12

        def shares():
            n = black = white = 0
            for y in range(40, min(height, 800), 16):
                row = fb[offset + y * bytes_per_line: offset + y * bytes_per_line + width * 4]
                for x in range(40, min(width, 1240), 16):
                    b, g, r = row[4 * x], row[4 * x + 1], row[4 * x + 2]
                    n += 1
                    black += r < 10 and g < 10 and b < 10
                    white += r > 250 and g > 250 and b > 250
            return black / n, white / n

        # The framebuffer starts black and turns white when the server paints its root window (-wr);
        # on a loaded machine that can take a while. Launching before then would read the server's
        # own unpainted screen as the app's (a CI run saw "appeared 2 ms after launch ... black 1.00").
        deadline = time.time() + 30
        while shares()[1] < 0.99:
            if time.time() > deadline:
                print("the Xvfb screen did not turn white (its root window) within 30 s: white share %.2f"
                      % shares()[1])
                return 1
            time.sleep(0.02)

        env = dict(os.environ, DISPLAY=display, HOME=os.path.join(work, "home"),
                   XDG_CONFIG_HOME=os.path.join(work, "home", ".config"),
                   DITSTUDIO_DATA_DIR=os.path.join(work, "data"), DITSTUDIO_LOG="warn")
        env.pop("QT_QPA_PLATFORM", None)
        start = time.time()
        app = subprocess.Popen([app_path], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        appeared = None
        worst = 0.0
        samples = 0
        # Until 3 s after the window appeared (the first paints), or 30 s if it never does: a loaded
        # machine may take several seconds to start the app, which is not what this test measures.
        while time.time() - start < (appeared + 3 if appeared is not None else 30):
            black, white = shares()
            samples += 1
            if appeared is None and white < 0.9:
                appeared = time.time() - start
            if appeared is not None:
                worst = max(worst, black)
            time.sleep(0.002)
        app.terminate()
        app.wait(10)
        if appeared is None:
            print("the window never appeared (the screen stayed white for 30 s after launch, %d samples)" % samples)
            return 1
        print("window appeared %.0f ms after launch; largest black share of the screen in %d samples: %.2f"
              % (appeared * 1000, samples, worst))
        if worst > 0.3:
            print("a frame showed the window mostly black (unpainted)")
            return 1
        return 0
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
