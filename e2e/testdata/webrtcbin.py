#!/usr/bin/python3
"""A GStreamer webrtcbin peer for shadercast's tests: a WHIP publisher or a
WHEP viewer. GStreamer 1.22 has no whipsink/whepsrc, so this posts the SDP
itself (non-trickle: the offer goes out once ICE gathering is complete).

  webrtcbin.py publish URL --codec vp8|h264|h264high --bundle max-bundle|max-compat|none [--audio-first] [--seconds N]
  webrtcbin.py view URL --codec vp8|h264 --bundle ... [--seconds N]

It prints one JSON line: the HTTP status, the answer's media lines, and for
a viewer the frames it decoded and the tone it heard (RMS, frequency).
"""
import argparse
import json
import os
import math
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

VIDEO_PUB = {
    "vp8": "vp8enc deadline=1 target-bitrate=600000 keyframe-max-dist=30 ! rtpvp8pay pt=96 ! "
           "application/x-rtp,media=video,encoding-name=VP8,payload=96",
    "h264": "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 bitrate=600 ! "
            "video/x-h264,profile=constrained-baseline ! rtph264pay config-interval=-1 pt=102 ! "
            "application/x-rtp,media=video,encoding-name=H264,payload=102",
    "h264high": "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 bitrate=600 ! "
                "video/x-h264,profile=high ! rtph264pay config-interval=-1 pt=102 ! "
                "application/x-rtp,media=video,encoding-name=H264,payload=102",
}
VIDEO_VIEW = {
    "vp8": "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000",
    "h264": "application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000,"
            "packetization-mode=(string)1,profile-level-id=(string)42e01f",
}
AUDIO_VIEW = "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["publish", "view"])
    ap.add_argument("url")
    ap.add_argument("--codec", default="vp8")
    ap.add_argument("--bundle", default="max-bundle")
    ap.add_argument("--audio-first", action="store_true")
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--token", default="")
    a = ap.parse_args()
    Gst.init(None)
    out = {"status": 0, "answer_media": [], "frames": 0, "audio_rms": 0.0, "audio_hz": 0.0, "error": ""}
    loop = GLib.MainLoop()

    if a.mode == "publish":
        video = ("videotestsrc is-live=true pattern=solid-color foreground-color=0xffc02020 ! "
                 "video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert ! queue ! " + VIDEO_PUB[a.codec] + " ! w.")
        audio = ("audiotestsrc is-live=true wave=sine freq=440 volume=0.5 ! audioconvert ! audioresample ! "
                 "opusenc ! rtpopuspay pt=111 ! application/x-rtp,media=audio,encoding-name=OPUS,payload=111 ! w.")
        branches = [audio, video] if a.audio_first else [video, audio]
        pipe = Gst.parse_launch("webrtcbin name=w bundle-policy=%s %s %s" % (a.bundle, branches[0], branches[1]))
        w = pipe.get_by_name("w")
    else:
        pipe = Gst.Pipeline.new("view")
        w = Gst.ElementFactory.make("webrtcbin", "w")
        Gst.util_set_object_arg(w, "bundle-policy", a.bundle)
        pipe.add(w)
    # libnice leaves loopback out: the service is on this host.
    agent = w.get_property("ice-agent")
    agent.emit("add-local-ip-address", "127.0.0.1")

    lock = threading.Lock()
    samples = []

    if a.mode == "view":
        for caps in (VIDEO_VIEW[a.codec], AUDIO_VIEW):
            w.emit("add-transceiver", GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY, Gst.caps_from_string(caps))

        def on_frame(sink, buf, pad):
            with lock:
                out["frames"] += 1

        def on_audio(sink):
            s = sink.emit("pull-sample")
            buf = s.get_buffer()
            ok, info = buf.map(Gst.MapFlags.READ)
            if ok:
                data = info.data
                with lock:
                    samples.extend(int.from_bytes(data[i:i + 2], "little", signed=True) for i in range(0, len(data) - 1, 2))
                buf.unmap(info)
            return Gst.FlowReturn.OK

        def on_decoded(dec, pad):
            name = pad.get_current_caps().get_structure(0).get_name()
            if name.startswith("video"):
                sink = Gst.parse_bin_from_description("videoconvert ! fakesink name=vs signal-handoffs=true sync=false", True)
                sink.get_by_name("vs").connect("handoff", on_frame)
            else:
                sink = Gst.parse_bin_from_description(
                    "audioconvert ! audioresample ! audio/x-raw,format=S16LE,channels=1,rate=48000 ! "
                    "appsink name=as emit-signals=true sync=false", True)
                sink.get_by_name("as").connect("new-sample", on_audio)
            pipe.add(sink)
            sink.sync_state_with_parent()
            pad.link(sink.get_static_pad("sink"))

        def on_pad(_, pad):
            if pad.get_direction() != Gst.PadDirection.SRC:
                return
            dec = Gst.ElementFactory.make("decodebin")
            dec.connect("pad-added", on_decoded)
            pipe.add(dec)
            dec.sync_state_with_parent()
            pad.link(dec.get_static_pad("sink"))

        w.connect("pad-added", on_pad)

    def post(sdp):
        req = urllib.request.Request(a.url, data=sdp.encode(), method="POST",
                                     headers={"Content-Type": "application/sdp"})
        if a.token:
            req.add_header("Authorization", "Bearer " + a.token)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                out["location"] = resp.headers.get("Location", "")
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def gathered(*_):
        if w.get_property("ice-gathering-state") != GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            return
        if out.get("posted"):
            return
        out["posted"] = True
        sdp = w.get_property("local-description").sdp.as_text()
        status, body = post(sdp)
        if os.environ.get("WEBRTCBIN_SDP"):
            sys.stderr.write("offer:\n%s\nanswer:\n%s\n" % (sdp, body))
        out["status"] = status
        if status != 201:
            out["error"] = body.strip()
            GLib.idle_add(loop.quit)
            return
        out["answer_media"] = [l for l in body.split("\r\n") if l.startswith("m=")]
        _, msg = GstSdp.SDPMessage.new_from_text(body)
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
        w.emit("set-remote-description", answer, Gst.Promise.new())
        GLib.timeout_add(int(a.seconds * 1000), loop.quit)

    def on_offer(promise, _):
        promise.wait()
        reply = promise.get_reply()
        offer = reply.get_value("offer") if reply is not None and reply.has_field("offer") else None
        if offer is None:
            err = reply.get_value("error") if reply is not None and reply.has_field("error") else "no reply"
            out["error"] = "create-offer: %s" % err
            GLib.idle_add(loop.quit)
            return
        w.emit("set-local-description", offer, Gst.Promise.new())

    def negotiate(_):
        # Once, a moment after the first request: each linked pad asks,
        # and an offer made before the last one is incomplete.
        if out.get("negotiating"):
            return
        out["negotiating"] = True

        def offer():
            w.emit("create-offer", None, Gst.Promise.new_with_change_func(on_offer, None))
            return False
        GLib.timeout_add(300, offer)

    w.connect("on-negotiation-needed", negotiate)
    w.connect("notify::ice-gathering-state", lambda *x: GLib.idle_add(gathered))
    GLib.timeout_add(int((a.seconds + 15) * 1000), loop.quit)  # a hard stop
    pipe.set_state(Gst.State.PLAYING)
    loop.run()
    pipe.set_state(Gst.State.NULL)
    if out.get("location"):
        # End the session as a WHIP/WHEP client should.
        req = urllib.request.Request(urllib.parse.urljoin(a.url, out["location"]), method="DELETE")
        if a.token:
            req.add_header("Authorization", "Bearer " + a.token)
        try:
            urllib.request.urlopen(req, timeout=5).close()
        except (urllib.error.URLError, OSError) as e:
            out["error"] = "DELETE: %s" % e
    with lock:
        pcm = samples[len(samples) // 4:]  # past the decoder's start
    if pcm:
        out["audio_rms"] = math.sqrt(sum(x * x for x in pcm) / len(pcm)) / 32768
        crossings = sum(1 for i in range(1, len(pcm)) if pcm[i - 1] < 0 <= pcm[i])
        out["audio_hz"] = crossings * 48000 / len(pcm)
    out.pop("posted", None)
    out.pop("negotiating", None)
    print(json.dumps(out))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
