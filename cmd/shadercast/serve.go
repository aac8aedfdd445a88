package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shadercast/shadercast/service"
)

// Environment variables for secrets: flags would show them in ps(1) and in
// shell history.
const (
	envViewerToken  = "SHADERCAST_VIEWER_TOKEN"
	envPublishToken = "SHADERCAST_PUBLISH_TOKEN"
	envControlToken = "SHADERCAST_CONTROL_TOKEN"
	envPushToken    = "SHADERCAST_WHIP_PUSH_TOKEN"
	// envOldToken once served viewers and publishers alike; setting it
	// is an error now rather than a silent change of meaning.
	envOldToken = "SHADERCAST_TOKEN"
)

// roleEnv names the variable that sets each role's token, for
// service.NoTokensError.
var roleEnv = map[string]string{"viewer": envViewerToken, "publisher": envPublishToken, "control": envControlToken}

// durationFlag is a service.Duration flag ("10s").
type durationFlag struct{ dst *service.Duration }

func (d durationFlag) String() string {
	if d.dst == nil {
		return ""
	}
	return time.Duration(*d.dst).String()
}

func (d durationFlag) Set(v string) error {
	t, err := time.ParseDuration(v)
	if err != nil {
		return err
	}
	*d.dst = service.Duration(t)
	return nil
}

// exitStuck is the exit status when a frame never returned (--stuck-exit).
const exitStuck = 3

// listFlag is a repeatable flag; the first use on the command line
// replaces what the config file said rather than appending to it.
type listFlag struct {
	dst *[]string
	set bool
}

func (l *listFlag) String() string {
	if l.dst == nil {
		return ""
	}
	return strings.Join(*l.dst, ",")
}

func (l *listFlag) Set(v string) error {
	if !l.set {
		*l.dst, l.set = nil, true
	}
	*l.dst = append(*l.dst, v)
	return nil
}

const serveUsage = `Usage: shadercast [serve] [flags]

Runs the compositor service: an input goes through the GPU pass chain
(barcode highlighting first, then any --pass), and the result is published
over WebRTC. Open the printed URL in a browser to watch; WHEP players use
/whep, WHIP publishers (OBS, a browser camera) /whip.

Inputs (--input):
  testsrc          built-in moving scene with EAN-13, Code 128 and QR codes,
                   a clock, a frame counter, a 440 Hz tone and a beep in sync
                   with a flashing square (default)
  FILE.y4m         a YUV4MPEG2 file at its own frame rate (--loop to repeat)
  -                Y4M on stdin, e.g.
                   ffmpeg -i any.mp4 -f yuv4mpegpipe - | shadercast --input -
  FILE.png|.jpg    a still image, repeated at --fps
  whip             wait for a publisher at /whip (a publisher also takes over
                   any other input while it is connected)

Scenes (--scenes FILE, docs/SCENES.md): many sources composed on a canvas,
each in its layers (rect, fit, crop, opacity, rotation, z-order); the
programme scene goes through the pass chain instead of --input. This
version composes testsrc, y4m, image, color and text sources.

Endpoints: / (viewer page), /whep, /whip, /api/pipeline (GET, PATCH),
/api/stats, /api/events (server-sent events), /api/snapshot.png, /api/scenes, /metrics
(Prometheus), /healthz.

Secrets come from the environment (bearer tokens, one per role):
  ` + envViewerToken + `   required by /whep (watching); unset: anyone may watch
  ` + envPublishToken + `  required by /whip (publishing)
  ` + envControlToken + `  required by /api/* and /metrics
  ` + envPushToken + `  token for --whip-push (or --whip-token)
A --listen address other than loopback needs ` + envPublishToken + ` and
` + envControlToken + ` unless --insecure is given. ` + envOldToken + ` (one token
for viewers and publishers) is no longer accepted.

Flags:
`

func serve(args []string, stdout, stderr io.Writer, log *slog.Logger) error {
	cfg := service.DefaultConfig()
	// The config file is read before the other flags so that flags
	// override it, whatever their order.
	for i, a := range args {
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name != "config" || !strings.HasPrefix(a, "-") {
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return fmt.Errorf("--config needs a file")
			}
			val = args[i+1]
		}
		if err := service.LoadConfigFile(val, &cfg); err != nil {
			return err
		}
		break
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, serveUsage)
		fs.PrintDefaults()
	}
	fs.String("config", "", "JSON `FILE` with the same settings as the flags (flags win); see README")
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "HTTP `address`; use 0.0.0.0:8080 to serve other machines (needs the publisher and control tokens, or --insecure)")
	fs.BoolVar(&cfg.Insecure, "insecure", cfg.Insecure, "serve a non-loopback --listen address without the publisher and control tokens (anyone who reaches it can publish and control)")
	fs.Var(&listFlag{dst: &cfg.CORSOrigins}, "cors-origin", "let pages from `ORIGIN` (https://host[:port]) use /api, /metrics and /whip (repeatable; /whep is open to all)")
	fs.Var(&listFlag{dst: &cfg.AllowedHosts}, "allowed-host", "accept `NAME`[:port] in the Host header besides localhost and loopback IPs (repeatable; needed behind a proxy that keeps its own name)")
	fs.IntVar(&cfg.MaxEventClients, "max-event-clients", cfg.MaxEventClients, "concurrent /api/events streams; more get 503")
	fs.Var(durationFlag{&cfg.ReadTimeout}, "read-timeout", "read each request, body included, within `DURATION`")
	fs.Var(durationFlag{&cfg.IdleTimeout}, "idle-timeout", "close keep-alive connections idle for `DURATION`")
	fs.StringVar(&cfg.Input, "input", cfg.Input, "`input`: testsrc, whip, FILE.y4m, - (Y4M on stdin), FILE.png/.jpg")
	fs.StringVar(&cfg.Scenes, "scenes", cfg.Scenes, "compose the sources of a scenes `FILE` (JSON, docs/SCENES.md) instead of --input; its canvas sets the size and rate")
	fs.StringVar(&cfg.Media, "media", cfg.Media, "the `DIR` whose files scenes sent through the control API (PUT/PATCH /api/scenes) may name; without it, only files the scenes file names")
	fs.BoolVar(&cfg.Loop, "loop", cfg.Loop, "replay a Y4M file input when it ends (otherwise the tracks end and shadercast exits)")
	fs.IntVar(&cfg.Width, "width", cfg.Width, "test source and slate width")
	fs.IntVar(&cfg.Height, "height", cfg.Height, "test source and slate height")
	fs.Float64Var(&cfg.FPS, "fps", cfg.FPS, "test source and still-image frame rate")
	fs.Var(&listFlag{dst: &cfg.Passes}, "pass", "add the pass `NAME` after the barcode pass (repeatable, in order)")
	fs.Var(&listFlag{dst: &cfg.ShaderDirs}, "shaders", "load ISF/ShaderToy plugins from `DIR` (repeatable; hot reloaded)")
	fs.BoolVar(&cfg.NoBarcode, "no-barcode", cfg.NoBarcode, "leave the barcode pass out")
	fs.IntVar(&cfg.BarcodeAnalysis, "barcode-analysis", cfg.BarcodeAnalysis, "barcode analysis resolution, long side in `pixels` (0: 640 on a GPU, 427 on a software renderer); lower is cheaper but misses small codes")
	fs.IntVar(&cfg.Bitrate, "bitrate", cfg.Bitrate, "VP8 target `bits/s` (bandwidth estimation may lower it)")
	fs.IntVar(&cfg.MaxViewers, "max-viewers", cfg.MaxViewers, "concurrent WHEP viewers")
	fs.StringVar(&cfg.WHIPPush, "whip-push", cfg.WHIPPush, "also publish to this WHIP endpoint `URL` (reconnects with backoff)")
	fs.Func("renditions", "the rendition `ladder` below the canvas, comma-separated: 1/N (the canvas divided by N) or WxH; none for no ladder (default 1/2,1/4)", func(v string) error {
		cfg.Renditions = strings.Split(v, ",")
		return nil
	})
	fs.StringVar(&cfg.WHIPPushCodec, "whip-push-codec", cfg.WHIPPushCodec, "video `codec` of --whip-push: vp8 or h264 (default: both offered, the server's choice sent)")
	pushToken := fs.String("whip-token", "", "bearer token for --whip-push (prefer $"+envPushToken+")")
	fs.Var(&listFlag{dst: &cfg.Record}, "record", "record to `FILE`.webm (VP8 and Opus as sent), FILE.mp4 (H.264 and Opus as sent, fragmented), FILE.ivf (the VP8 sent) or FILE.y4m (composited frames); repeatable")
	fs.BoolVar(&cfg.Preview, "preview", cfg.Preview, "open a desktop preview window (needs a display; keys: F fullscreen, S save PNG, B barcode pass, Esc close)")
	fs.StringVar(&cfg.SaveDir, "save-dir", cfg.SaveDir, "`DIR` for PNGs saved from the preview window")
	udp := fs.String("udp-ports", "", "restrict ICE to UDP ports `MIN-MAX`")
	fs.Var(&listFlag{dst: &cfg.NAT1To1IPs}, "nat-ip", "announce this public `IP` instead of local addresses (repeatable)")
	fs.Var(&listFlag{dst: &cfg.ICEServers}, "ice-server", "STUN `URL` for ICE (repeatable), e.g. stun:stun.l.google.com:19302")
	fs.BoolVar(&cfg.Timecode, "timecode", cfg.Timecode, "stamp each frame's creation time as a bit strip at the bottom left (latency measurement)")
	fs.DurationVar((*time.Duration)(&cfg.ShaderDeadline), "shader-deadline", time.Duration(cfg.ShaderDeadline), "refuse a new or changed plugin shader that does not render 3 frames at the output size within `D` (tried in a child process first)")
	fs.DurationVar((*time.Duration)(&cfg.FrameDeadline), "frame-deadline", time.Duration(cfg.FrameDeadline), "watchdog: a live frame rendering longer than `D` makes /healthz fail and disables the pass it overran in")
	fs.DurationVar((*time.Duration)(&cfg.StuckExit), "stuck-exit", time.Duration(cfg.StuckExit), "exit with status 3 when a frame has been rendering for `D` (the GPU never returned; a supervisor restarts the service)")
	level := fs.String("log-level", "info", "log `level`: debug, info, warn, error")

	fs.Int64Var(&cfg.MaxImagePixels, "max-image-pixels", cfg.MaxImagePixels, "refuse still inputs and shader images whose header declares more than `N` pixels, before decoding (0: 64 Mpx)")

	// Limits of the WebRTC doors (service.Config.ConnectTimeout and on).
	fs.DurationVar((*time.Duration)(&cfg.ConnectTimeout), "connect-timeout", time.Duration(cfg.ConnectTimeout),
		"drop a WHEP viewer that has not connected, or a WHIP publisher that has sent no picture, after this `duration` (frees its slot)")
	fs.IntVar(&cfg.MaxConnectingPerIP, "max-connecting-per-ip", cfg.MaxConnectingPerIP,
		"WHEP/WHIP sessions one IP address (IPv6: /64) may have still connecting; more get 429 (negative: no limit)")
	fs.IntVar(&cfg.MinBitrate, "min-bitrate", cfg.MinBitrate,
		"floor in `bits/s` for the shared VP8 encode: no viewer's bandwidth estimate lowers it further, a viewer with less just loses packets (0: a quarter of --bitrate)")
	fs.IntVar(&cfg.MaxVideoWidth, "max-video-width", cfg.MaxVideoWidth, "refuse WHIP publishers whose video is wider than this many `pixels`, before decoding")
	fs.IntVar(&cfg.MaxVideoHeight, "max-video-height", cfg.MaxVideoHeight, "refuse WHIP publishers whose video is taller than this many `pixels`, before decoding")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (see --help)", fs.Args())
	}
	if *udp != "" {
		lo, hi, ok := strings.Cut(*udp, "-")
		a, err1 := strconv.ParseUint(lo, 10, 16)
		b, err2 := strconv.ParseUint(hi, 10, 16)
		if !ok || err1 != nil || err2 != nil || a > b {
			return fmt.Errorf("--udp-ports %q: want MIN-MAX", *udp)
		}
		cfg.UDPPortMin, cfg.UDPPortMax = uint16(a), uint16(b)
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv}))
	if os.Getenv(envOldToken) != "" {
		return fmt.Errorf("%s is no longer read: viewers and publishers have their own tokens now; set %s (watching) and %s (publishing) instead",
			envOldToken, envViewerToken, envPublishToken)
	}
	cfg.ViewerToken = os.Getenv(envViewerToken)
	cfg.PublishToken = os.Getenv(envPublishToken)
	cfg.OnStuck = func(pass string, d time.Duration) {
		// Nothing in the process can interrupt the GPU: only a restart
		// gets the service back (systemd: Restart=on-failure).
		log.Error("exiting: a frame never returned from the GPU", "pass", pass, "after", d.Round(time.Second), "status", exitStuck)
		os.Exit(exitStuck)
	}
	cfg.ControlToken = os.Getenv(envControlToken)
	cfg.WHIPPushToken = os.Getenv(envPushToken)
	if *pushToken != "" {
		cfg.WHIPPushToken = *pushToken
	}

	svc, err := service.New(cfg, log)
	if nt := (*service.NoTokensError)(nil); errors.As(err, &nt) {
		var names []string
		for _, m := range nt.Missing {
			names = append(names, roleEnv[m])
		}
		return fmt.Errorf("--listen %s is not a loopback address: set %s (and %s for a private stream), or pass --insecure to serve without them",
			nt.Listen, strings.Join(names, " and "), envViewerToken)
	}
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stdout, "shadercast: watch at %s\n", svc.URL())
	return svc.Run(ctx)
}
