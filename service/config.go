package service

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shadercast/shadercast/codec/vp8"
	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/internal/rtcendpoint"
	"github.com/shadercast/shadercast/trial"
)

// Config is everything the service can be told. The command line fills it
// from flags over an optional JSON config file (same names as the JSON
// tags); secrets come from the environment (see cmd/shadercast).
type Config struct {
	// Listen is the HTTP address; loopback by default so that a fresh
	// install exposes nothing.
	Listen string `json:"listen"`
	// Input selects the source: "testsrc", "whip" (wait for a WHIP
	// publisher), a .y4m path or "-" (Y4M on stdin), or a .png/.jpg path.
	Input string `json:"input"`
	// Loop replays a Y4M file input when it ends.
	Loop bool `json:"loop"`
	// Scenes is a scenes file (docs/SCENES.md): the service composes its
	// sources into its programme scene instead of showing Input, on its
	// canvas (which sets Width, Height and FPS).
	Scenes string `json:"scenes"`
	// Media is the folder whose files descriptions sent through the
	// control API (PUT and PATCH /api/scenes) may name: sources' paths,
	// fonts and shaders, relative to it or within it. Without it they may
	// name only files the scenes file names.
	Media string `json:"media"`
	// Width, Height and FPS size the test source, the still-image rate
	// and the "no signal" slate.
	Width  int     `json:"width"`
	Height int     `json:"height"`
	FPS    float64 `json:"fps"`

	// Passes are the passes after the barcode pass, by name, in order.
	Passes []string `json:"passes"`
	// ShaderDirs are folders of ISF/ShaderToy plugins.
	ShaderDirs []string `json:"shaderDirs"`
	// NoBarcode leaves the barcode pass out of the chain.
	NoBarcode bool `json:"noBarcode"`
	// BarcodeAnalysis bounds the long side of the barcode pass's analysis
	// resolution (barcode.Params.MaxAnalysisSide). 0 picks 640 on a GPU
	// and 427 on a software renderer (a third of 720p, to keep 720p30
	// within budget). Lower is cheaper but misses small codes.
	BarcodeAnalysis int `json:"barcodeAnalysis"`

	// Bitrate is the VP8 target in bit/s (bandwidth estimation may lower
	// it per the weakest viewer).
	Bitrate    int `json:"bitrate"`
	MaxViewers int `json:"maxViewers"`

	// Three roles, three bearer tokens: ViewerToken protects /whep,
	// PublishToken /whip, ControlToken /api/* and /metrics. A viewer
	// token never lets anyone publish. Not read from the config file's
	// JSON on purpose (json:"-"): secrets come from the environment. A
	// non-loopback Listen needs PublishToken and ControlToken unless
	// Insecure is set (see Validate).
	ViewerToken  string `json:"-"`
	PublishToken string `json:"-"`
	ControlToken string `json:"-"`
	// Insecure allows a non-loopback Listen without the publisher and
	// control tokens (New logs a warning).
	Insecure bool `json:"insecure"`
	// CORSOrigins are the origins ("https://panel.example:8443") besides
	// the page's own that may use /api, /metrics and /whip from a
	// browser; /whep is open to every origin (players are embedded
	// elsewhere). No wildcard.
	CORSOrigins []string `json:"corsOrigins"`
	// AllowedHosts are Host header names accepted besides localhost
	// names and loopback IPs. Host is checked on loopback binds (against
	// DNS rebinding) and on any bind once this is set; a name matches on
	// any port, "name:port" on that port only.
	AllowedHosts []string `json:"allowedHosts"`
	// MaxEventClients caps concurrent /api/events streams; 0 means 32.
	// Past it a client gets 503 with Retry-After.
	MaxEventClients int `json:"maxEventClients"`
	// ReadTimeout bounds reading a whole request, body included (offers
	// and pipeline changes are small); 0 means 10 s. IdleTimeout closes a
	// keep-alive connection with no request for that long; 0 means 60 s.
	ReadTimeout Duration `json:"readTimeout"`
	IdleTimeout Duration `json:"idleTimeout"`

	// WHIPPush, when set, publishes the stream to that WHIP endpoint.
	WHIPPush      string `json:"whipPush"`
	WHIPPushToken string `json:"-"`
	// WHIPPushCodec is the video codec pushed: "vp8", "h264", or "" for
	// both offered (VP8 first) and the one the server's answer puts
	// first sent.
	WHIPPushCodec string `json:"whipPushCodec"`
	// Renditions is the ladder below the canvas: each "1/N" (the canvas's
	// sides divided by N) or "WxH", named by its height ("360p"); a
	// WHEP viewer asks for one with ?rendition=NAME. Each is scaled on
	// the GPU and encoded only while somebody receives it. ["none"]: no
	// ladder.
	Renditions []string `json:"renditions"`

	// Record paths: .webm (VP8 and Opus as sent), .mp4 (H.264 and Opus as
	// sent, fragmented), .ivf (the VP8 sent) and/or .y4m (the composited
	// frames).
	Record []string `json:"record"`

	// Preview opens the desktop window.
	Preview bool `json:"preview"`
	// SaveDir is where the preview's S key writes PNGs.
	SaveDir string `json:"saveDir"`

	// UDPPortMin/Max restrict ICE ports; NAT1To1IPs announce a public
	// address (see whep.Config).
	UDPPortMin uint16   `json:"udpPortMin"`
	UDPPortMax uint16   `json:"udpPortMax"`
	NAT1To1IPs []string `json:"nat1to1IPs"`
	// ICEServers are STUN/TURN URLs (no credentials).
	ICEServers []string `json:"iceServers"`

	// Timecode stamps each input frame's creation time (Unix ms) as a
	// strip of 32 black/white cells at the bottom left, for measuring
	// glass-to-glass latency in a browser.
	Timecode bool `json:"timecode"`

	// ShutdownTimeout bounds a graceful stop.
	ShutdownTimeout Duration `json:"shutdownTimeout"`

	// MaxImagePixels refuses a still input, an IMPORTED image or an image
	// input whose header declares more pixels, before it is decoded; 0
	// means 64 Mpx (imagefile.DefaultMaxPixels).
	MaxImagePixels int64 `json:"maxImagePixels"`
	// ShaderDeadline bounds the trial render of each new or changed
	// plugin shader (a few frames at the output size, in a child
	// process): one that does not finish is refused and the previous
	// version keeps running. 2 s when zero.
	ShaderDeadline Duration `json:"shaderDeadline"`
	// FrameDeadline is the live watchdog: a frame rendering longer makes
	// /healthz answer 503 naming the pass, and that pass is disabled once
	// the frame returns. 5 s when zero.
	FrameDeadline Duration `json:"frameDeadline"`
	// StuckExit is how long a frame may render before the service gives
	// up on the GL thread and calls OnStuck (the command exits non-zero
	// so that a supervisor restarts it). 60 s when zero.
	StuckExit Duration `json:"stuckExit"`
	// OnStuck is called once when a frame has been rendering for
	// StuckExit: the GPU never returned, and nothing in the process can
	// make it. Nil only logs.
	OnStuck func(pass string, d time.Duration) `json:"-"`
	// Limits of the WebRTC doors (see whep.Config and whip.Config).
	// ConnectTimeout: a WHEP viewer that has not connected, or a WHIP
	// publisher that has not sent its first picture, within it is
	// dropped and its slot given back. MaxConnectingPerIP: sessions one
	// address (IPv4, IPv6 /64) may have still connecting (429 past it;
	// negative: no limit). MinBitrate: the floor below which no viewer's
	// bandwidth estimate lowers the shared encode; 0 means a quarter of
	// Bitrate. MaxVideoWidth/Height: WHIP pictures larger than this are
	// refused before decoding.
	ConnectTimeout     Duration `json:"connectTimeout"`
	MaxConnectingPerIP int      `json:"maxConnectingPerIP"`
	MinBitrate         int      `json:"minBitrate"`
	MaxVideoWidth      int      `json:"maxVideoWidth"`
	MaxVideoHeight     int      `json:"maxVideoHeight"`
}

// minBitrate is the encode floor MinBitrate asks for: a quarter of the
// target by default, i.e. one viewer on a congested link can cost the
// others a 4x drop in bits at most (see whep's package comment); never
// under the encoder's minimum nor over the target.
func (c Config) minBitrate() int {
	if c.MinBitrate > 0 {
		return c.MinBitrate
	}
	return min(c.Bitrate, max(c.Bitrate/4, vp8.MinBitrate))
}

// Duration is a time.Duration that reads "2s" from JSON.
type Duration time.Duration

// UnmarshalJSON accepts a Go duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return errors.New("duration must be a string like \"5s\" or seconds")
	}
	// A float64 beyond int64's range converts to an unspecified value:
	// refuse rather than wrap around to some other duration.
	if math.Abs(f) > float64(math.MaxInt64)/float64(time.Second) {
		return fmt.Errorf("duration %g s out of range", f)
	}
	*d = Duration(f * float64(time.Second))
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// DefaultConfig is what `shadercast` runs with no flags.
func DefaultConfig() Config {
	return Config{
		Listen:          "127.0.0.1:8080",
		Input:           "testsrc",
		Width:           1280,
		Height:          720,
		FPS:             30,
		Bitrate:         1_500_000,
		Renditions:      []string{"1/2", "1/4"},
		MaxViewers:      100,
		MaxEventClients: defaultMaxEventClients,
		ReadTimeout:     Duration(defaultReadTimeout),
		IdleTimeout:     Duration(defaultIdleTimeout),
		SaveDir:         ".",
		ShutdownTimeout: Duration(5 * time.Second),
		ShaderDeadline:  Duration(trial.DefaultDeadline),
		FrameDeadline:   Duration(compositor.DefaultFrameDeadline),
		StuckExit:       Duration(defaultStuckExit),

		ConnectTimeout:     Duration(rtcendpoint.DefaultConnectTimeout),
		MaxConnectingPerIP: rtcendpoint.DefaultMaxUnconnectedPerAddr,
		MaxVideoWidth:      1920,
		MaxVideoHeight:     1080,
	}
}

// maxConfigFile bounds a config file: real ones are a few hundred bytes;
// this keeps --config /dev/zero from eating memory.
const maxConfigFile = 1 << 20

// LoadConfigFile reads a JSON config over c. Unknown keys are errors, so
// that a typo does not silently leave a setting at its default.
func LoadConfigFile(path string, c *Config) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfigFile+1))
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	if len(b) > maxConfigFile {
		return fmt.Errorf("config %s: larger than %d bytes", path, maxConfigFile)
	}
	if err := parseConfig(b, c); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

// parseConfig decodes one JSON object over c; trailing data is an error
// (a second object would otherwise be ignored silently).
func parseConfig(b []byte, c *Config) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}

// InputKind classifies Config.Input.
func (c Config) InputKind() (string, error) {
	in := c.Input
	switch {
	case in == "testsrc" || in == "whip":
		return in, nil
	case in == "-":
		return "y4m", nil
	}
	switch strings.ToLower(filepath.Ext(in)) {
	case ".y4m":
		return "y4m", nil
	case ".png", ".jpg", ".jpeg", ".gif":
		return "image", nil
	}
	return "", fmt.Errorf("unknown --input %q: want testsrc, whip, a .y4m file, - (Y4M on stdin) or a .png/.jpg image", in)
}

// Validate checks the settings that can be checked without opening
// anything.
func (c Config) Validate() error {
	if _, err := c.InputKind(); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("--listen %q: %w", c.Listen, err)
	}
	if c.Width < 16 || c.Height < 16 || c.Width > 7680 || c.Height > 4320 {
		return fmt.Errorf("size %dx%d out of range (16x16 to 7680x4320)", c.Width, c.Height)
	}
	if c.FPS <= 0 || c.FPS > 240 {
		return fmt.Errorf("--fps %g out of range (0, 240]", c.FPS)
	}
	if c.ShaderDeadline < 0 || c.FrameDeadline < 0 || c.StuckExit < 0 {
		return errors.New("--shader-deadline, --frame-deadline and --stuck-exit cannot be negative")
	}
	if c.StuckExit > 0 && c.FrameDeadline > 0 && c.StuckExit <= c.FrameDeadline {
		return fmt.Errorf("--stuck-exit %v must be longer than --frame-deadline %v", time.Duration(c.StuckExit), time.Duration(c.FrameDeadline))
	}
	if c.Loop && c.Input == "-" {
		return errors.New("--loop cannot rewind stdin")
	}
	for _, r := range c.Record {
		switch strings.ToLower(filepath.Ext(r)) {
		case ".ivf", ".y4m", ".webm", ".mp4":
		default:
			return fmt.Errorf("--record %q: want a .webm (VP8 and Opus as sent), .mp4 (H.264 and Opus as sent, fragmented), .ivf (VP8 as sent) or .y4m (composited frames) file", r)
		}
	}
	if err := c.validateDoors(); err != nil {
		return err
	}
	return nil
}
