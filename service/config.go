package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shadercast/shadercast/codec/vp8"
	"github.com/shadercast/shadercast/internal/rtcendpoint"
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

	// Token protects WHEP and WHIP; ControlToken protects /api. Not read
	// from the config file's JSON on purpose (json:"-"): secrets come
	// from the environment.
	Token        string `json:"-"`
	ControlToken string `json:"-"`

	// WHIPPush, when set, publishes the stream to that WHIP endpoint.
	WHIPPush      string `json:"whipPush"`
	WHIPPushToken string `json:"-"`

	// Record paths: .ivf (the VP8 sent to viewers) and/or .y4m (the
	// composited frames).
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
		MaxViewers:      100,
		SaveDir:         ".",
		ShutdownTimeout: Duration(5 * time.Second),

		ConnectTimeout:     Duration(rtcendpoint.DefaultConnectTimeout),
		MaxConnectingPerIP: rtcendpoint.DefaultMaxUnconnectedPerAddr,
		MaxVideoWidth:      1920,
		MaxVideoHeight:     1080,
	}
}

// LoadConfigFile reads a JSON config over c. Unknown keys are errors, so
// that a typo does not silently leave a setting at its default.
func LoadConfigFile(path string, c *Config) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
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
	if c.Loop && c.Input == "-" {
		return errors.New("--loop cannot rewind stdin")
	}
	for _, r := range c.Record {
		switch strings.ToLower(filepath.Ext(r)) {
		case ".ivf", ".y4m":
		default:
			return fmt.Errorf("--record %q: want a .ivf (VP8 as sent) or .y4m (composited frames) file", r)
		}
	}
	return nil
}
