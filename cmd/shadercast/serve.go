package main

import (
	"context"
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
	envToken        = "SHADERCAST_TOKEN"
	envControlToken = "SHADERCAST_CONTROL_TOKEN"
	envPushToken    = "SHADERCAST_WHIP_PUSH_TOKEN"
)

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

Endpoints: / (viewer page), /whep, /whip, /api/pipeline (GET, PATCH),
/api/stats, /api/events (server-sent events), /api/snapshot.png, /metrics
(Prometheus), /healthz.

Secrets come from the environment:
  ` + envToken + `          bearer token required by /whep and /whip
  ` + envControlToken + `  bearer token required by /api/*
  ` + envPushToken + `  token for --whip-push (or --whip-token)

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
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "HTTP `address`; use 0.0.0.0:8080 to serve other machines")
	fs.StringVar(&cfg.Input, "input", cfg.Input, "`input`: testsrc, whip, FILE.y4m, - (Y4M on stdin), FILE.png/.jpg")
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
	pushToken := fs.String("whip-token", "", "bearer token for --whip-push (prefer $"+envPushToken+")")
	fs.Var(&listFlag{dst: &cfg.Record}, "record", "record to `FILE`.ivf (the VP8 sent) or FILE.y4m (composited frames); repeatable")
	fs.BoolVar(&cfg.Preview, "preview", cfg.Preview, "open a desktop preview window (needs a display; keys: F fullscreen, S save PNG, B barcode pass, Esc close)")
	fs.StringVar(&cfg.SaveDir, "save-dir", cfg.SaveDir, "`DIR` for PNGs saved from the preview window")
	udp := fs.String("udp-ports", "", "restrict ICE to UDP ports `MIN-MAX`")
	fs.Var(&listFlag{dst: &cfg.NAT1To1IPs}, "nat-ip", "announce this public `IP` instead of local addresses (repeatable)")
	fs.Var(&listFlag{dst: &cfg.ICEServers}, "ice-server", "STUN `URL` for ICE (repeatable), e.g. stun:stun.l.google.com:19302")
	fs.BoolVar(&cfg.Timecode, "timecode", cfg.Timecode, "stamp each frame's creation time as a bit strip at the bottom left (latency measurement)")
	level := fs.String("log-level", "info", "log `level`: debug, info, warn, error")

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
	cfg.Token = os.Getenv(envToken)
	cfg.ControlToken = os.Getenv(envControlToken)
	cfg.WHIPPushToken = os.Getenv(envPushToken)
	if *pushToken != "" {
		cfg.WHIPPushToken = *pushToken
	}

	svc, err := service.New(cfg, log)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stdout, "shadercast: watch at %s\n", svc.URL())
	return svc.Run(ctx)
}
