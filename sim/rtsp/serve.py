#!/usr/bin/python3
"""Simulated cameras' RTSP streams (issue #4): one GStreamer RTSP server on
127.0.0.1, one mount per camera, each a live test picture with the camera's
name and a clock burnt in, H.264 (or H.265 where asked and x265enc exists),
behind per-camera digest (or basic) authentication.

Usage: /usr/bin/python3 sim/rtsp/serve.py CONFIG.json
  CONFIG.json (mode 0600, it holds passwords):
  {"port": 0, "width": 640, "height": 360, "fps": 15, "auth": "digest",
   "cameras": [{"id": "cam-01", "name": "Hall A", "username": "u1",
                "password": "...", "codec": "h264"}]}
Prints "READY <port>" on stdout once listening; exits 0 on SIGTERM/SIGINT or
when stdin closes (the parent died). Passwords are never printed.

Debian packages: python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base
gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly (x264enc) gstreamer1.0-x
(textoverlay, clockoverlay); gstreamer1.0-plugins-bad for H.265 (x265enc).
"""
import json
import os
import re
import signal
import stat
import sys

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
NEEDED = ["videotestsrc", "textoverlay", "clockoverlay", "videoconvert", "x264enc", "rtph264pay"]


def fail(msg, code=2):
    sys.stderr.write("serve.py: " + msg + "\n")
    sys.stderr.flush()
    sys.exit(code)


try:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtsp", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402
except (ImportError, ValueError) as e:
    fail(
        "GStreamer RTSP server bindings unavailable (%s); install python3-gi and "
        "gir1.2-gst-rtsp-server-1.0 and run with /usr/bin/python3" % e,
        3,
    )


def load_config(path):
    try:
        st = os.stat(path)
    except OSError as e:
        fail("cannot stat config %s: %s" % (path, e.strerror))
    if stat.S_IMODE(st.st_mode) & 0o077:
        fail("config %s is readable by group or others (mode %o); it holds passwords, use 0600"
             % (path, stat.S_IMODE(st.st_mode)))
    try:
        with open(path, "r", encoding="utf-8") as f:
            cfg = json.load(f)
    except (OSError, ValueError) as e:
        fail("cannot read config %s: %s" % (path, type(e).__name__))
    cams = cfg.get("cameras")
    if not isinstance(cams, list) or not cams:
        fail("config: cameras must be a non-empty list")
    seen = set()
    for i, cam in enumerate(cams):
        for key in ("id", "username", "password"):
            if not isinstance(cam.get(key), str) or not cam.get(key):
                fail("config: cameras[%d].%s must be a non-empty string" % (i, key))
        if not ID_RE.match(cam["id"]):
            fail("config: cameras[%d].id %r is not a safe mount name" % (i, cam["id"]))
        if cam["id"] in seen:
            fail("config: cameras[%d].id %r is duplicated" % (i, cam["id"]))
        seen.add(cam["id"])
        if cam.get("codec", "h264") not in ("h264", "h265"):
            fail("config: cameras[%d].codec must be h264 or h265" % i)
    if cfg.get("auth", "digest") not in ("digest", "basic"):
        fail("config: auth must be digest or basic")
    for key, lo, hi in (("width", 16, 3840), ("height", 16, 2160), ("fps", 1, 60), ("port", 0, 65535)):
        v = cfg.get(key)
        if v is not None and (not isinstance(v, int) or v < lo or v > hi):
            fail("config: %s must be an integer in [%d, %d], got %r" % (key, lo, hi, v))
    return cfg


class CameraFactory(GstRtspServer.RTSPMediaFactory):
    """Builds the pipeline itself so the camera name is set as a property,
    never spliced into a launch string (no quoting to get wrong)."""

    def __init__(self, label, launch):
        GstRtspServer.RTSPMediaFactory.__init__(self)
        self._label = label
        self._launch = launch

    def do_create_element(self, url):
        element = Gst.parse_launch(self._launch)
        overlay = element.get_by_name("label")
        if overlay is not None:
            overlay.set_property("text", self._label)
        # A live camera cannot seek. videotestsrc says it can, so the media
        # would seek the shared pipeline to the PLAY Range (npt=0) of every
        # new viewer, resetting the timestamps of those already watching.
        # Failing the SEEKING query marks the media not seekable.
        pay = element.get_by_name("pay0")
        pay.get_static_pad("src").add_probe(Gst.PadProbeType.QUERY_UPSTREAM, _refuse_seeking)
        return element


def _refuse_seeking(_pad, info):
    query = info.get_query()
    if query is not None and query.type == Gst.QueryType.SEEKING:
        return Gst.PadProbeReturn.DROP
    return Gst.PadProbeReturn.OK


def launch_line(codec, width, height, fps):
    # key-int-max = fps: one keyframe a second, so a new viewer waits <= 1 s.
    src = (
        "videotestsrc is-live=true pattern=ball ! "
        "video/x-raw,width=%d,height=%d,framerate=%d/1 ! "
        "textoverlay name=label valignment=top halignment=left font-desc=\"Sans 16\" ! "
        "clockoverlay valignment=bottom halignment=right font-desc=\"Sans 14\" "
        "time-format=\"%%Y-%%m-%%d %%H:%%M:%%S\" ! videoconvert ! " % (width, height, fps)
    )
    if codec == "h265":
        enc = (
            "x265enc tune=zerolatency speed-preset=ultrafast key-int-max=%d ! "
            "video/x-h265,profile=main ! rtph265pay name=pay0 pt=96 config-interval=1" % fps
        )
    else:
        enc = (
            "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=%d bitrate=800 ! "
            "video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=1" % fps
        )
    return "( " + src + enc + " )"


def main():
    if len(sys.argv) != 2:
        fail("usage: serve.py CONFIG.json")
    cfg = load_config(sys.argv[1])
    Gst.init(None)
    missing = [n for n in NEEDED if Gst.ElementFactory.find(n) is None]
    if missing:
        fail("GStreamer elements missing: %s (install gstreamer1.0-plugins-base, "
             "-good, -ugly and gstreamer1.0-x)" % ", ".join(missing), 3)
    cams = cfg["cameras"]
    if any(c.get("codec") == "h265" for c in cams) and Gst.ElementFactory.find("x265enc") is None:
        fail("a camera asks for H.265 but x265enc is missing (gstreamer1.0-plugins-bad)", 3)

    width, height, fps = cfg.get("width", 640), cfg.get("height", 360), cfg.get("fps", 15)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")  # loopback only, whatever the config says
    server.set_service(str(cfg.get("port", 0)))

    auth = GstRtspServer.RTSPAuth()
    digest = cfg.get("auth", "digest") == "digest"
    auth.set_supported_methods(
        GstRtsp.RTSPAuthMethod.DIGEST if digest else GstRtsp.RTSPAuthMethod.BASIC
    )
    mounts = server.get_mount_points()
    for i, cam in enumerate(cams):
        # One role per camera; a user's token carries only that role, and only
        # that camera's factory grants it access (cam A's user cannot read B).
        role = "cam%d" % i
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", role)
        if digest:
            auth.add_digest(cam["username"], cam["password"], token)
        else:
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(cam["username"], cam["password"]), token)
        factory = CameraFactory(cam.get("name") or cam["id"],
                                launch_line(cam.get("codec", "h264"), width, height, fps))
        factory.set_shared(True)
        factory.add_role_from_structure(Gst.Structure.new_from_string(
            "%s, media.factory.access=(boolean)true, media.factory.construct=(boolean)true" % role))
        mounts.add_factory("/" + cam["id"], factory)
    server.set_auth(auth)

    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        fail("cannot listen on 127.0.0.1:%s" % cfg.get("port", 0), 4)

    def quit_loop(*_args):
        loop.quit()
        return GLib.SOURCE_REMOVE

    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, quit_loop)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, quit_loop)
    # The parent holds our stdin; EOF or HUP means it is gone: do not linger.
    GLib.io_add_watch(GLib.IOChannel.unix_new(0), GLib.PRIORITY_DEFAULT,
                      GLib.IOCondition.HUP | GLib.IOCondition.IN | GLib.IOCondition.ERR,
                      lambda ch, cond: quit_loop() if (cond & ~GLib.IOCondition.IN) or not os.read(0, 1024) else GLib.SOURCE_CONTINUE)

    sys.stdout.write("READY %d\n" % server.get_bound_port())
    sys.stdout.flush()
    sys.stderr.write("serve.py: %d camera(s) on 127.0.0.1:%d (%dx%d@%d, %s auth)\n"
                     % (len(cams), server.get_bound_port(), width, height, fps,
                        "digest" if digest else "basic"))
    sys.stderr.flush()
    loop.run()
    sys.stderr.write("serve.py: stopped\n")
    sys.stderr.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
