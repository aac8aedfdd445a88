// Package text is a source of text: lines drawn with a TrueType font (Go's
// own, or a TTF file) on a transparent frame, with live fields that the
// text names in double braces: {{clock}} (the local time, HH:MM:SS),
// {{date}} (YYYY-MM-DD) and any other name, whose value is set with
// SetField (a caption, a score, a reading from another system). A frame is
// drawn again only when the text it shows changes; in between the same
// pixels are handed out with new timestamps, which the compositor does not
// upload again.
package text

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/shadercast/shadercast/internal/regularfile"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/source"
	"github.com/shadercast/shadercast/source/internal/pace"
)

// Options configure a text source. Zero values are defaults.
type Options struct {
	Width, Height int     // the frame; required
	FPS           float64 // frames a second; required
	// Size is the font's size in pixels; 48 when zero.
	Size float64
	// Font is a TrueType (or OpenType) file; Go Regular when empty.
	Font string
	// Color of the text; opaque white when zero. The text has a dark
	// shadow, so that it reads on any picture.
	Color color.RGBA
	// Now is the clock of {{clock}} and {{date}}; time.Now when nil.
	Now func() time.Time
}

// MaxFontBytes bounds a font file.
const MaxFontBytes = 32 << 20

// ErrClosed is returned by ReadVideo after Close.
var ErrClosed = errors.New("text: source closed")

// fieldRE finds the live fields: a name of letters, digits, '_', '.' or
// '-' in double braces.
var fieldRE = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}`)

// Source is a text source (source.Video).
type Source struct {
	text string
	opts Options
	face font.Face

	mu     sync.Mutex
	fields map[string]string

	done   chan struct{}
	closed sync.Once
	clock  pace.Clock
	vps    pace.Stream
	vi     int
	fps    float64

	lastMu sync.Mutex       // ReadVideo and Close
	shown  string           // the text of last
	last   media.VideoFrame // drawn last, handed out again while the text stays
}

var _ source.Video = (*Source)(nil)

// Open prepares a source showing text.
func Open(text string, opts Options) (*Source, error) {
	if opts.Width < 1 || opts.Height < 1 || opts.Width > 7680 || opts.Height > 4320 {
		return nil, fmt.Errorf("text: size %dx%d out of range (1x1 to 7680x4320)", opts.Width, opts.Height)
	}
	if !(opts.FPS > 0 && opts.FPS <= 240) {
		return nil, fmt.Errorf("text: frame rate %v: want more than 0, at most 240", opts.FPS)
	}
	if opts.Size == 0 {
		opts.Size = 48
	}
	if !(opts.Size >= 1 && opts.Size <= 1000) {
		return nil, fmt.Errorf("text: size %v: want 1 to 1000 pixels", opts.Size)
	}
	if opts.Color == (color.RGBA{}) {
		opts.Color = color.RGBA{255, 255, 255, 255}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ttf := goregular.TTF
	if opts.Font != "" {
		f, err := regularfile.Open(opts.Font)
		if err != nil {
			return nil, fmt.Errorf("text: font: %w", err)
		}
		ttf, err = regularfile.ReadAll(f, opts.Font, MaxFontBytes)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("text: font: %w", err)
		}
	}
	ft, err := opentype.Parse(ttf)
	if err != nil {
		return nil, fmt.Errorf("text: font %s: %w", opts.Font, err)
	}
	face, err := opentype.NewFace(ft, &opentype.FaceOptions{Size: opts.Size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("text: font %s: %w", opts.Font, err)
	}
	s := &Source{text: text, opts: opts, face: face, fields: map[string]string{}, done: make(chan struct{}), fps: opts.FPS}
	s.vps = pace.Stream{Clock: &s.clock, Slack: time.Duration(float64(time.Second) / opts.FPS)}
	return s, nil
}

// SetField sets the value {{name}} shows (from the next frame).
func (s *Source) SetField(name, value string) {
	s.mu.Lock()
	s.fields[name] = value
	s.mu.Unlock()
}

// Expand returns the text with its fields filled in at t.
func (s *Source) Expand(t time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fieldRE.ReplaceAllStringFunc(s.text, func(m string) string {
		name := fieldRE.FindStringSubmatch(m)[1]
		switch name {
		case "clock":
			return t.Format("15:04:05")
		case "date":
			return t.Format("2006-01-02")
		}
		return s.fields[name]
	})
}

// ReadVideo returns the next frame when it is due. The caller owns it.
func (s *Source) ReadVideo(ctx context.Context) (media.VideoFrame, error) {
	select {
	case <-s.done:
		return media.VideoFrame{}, ErrClosed
	default:
	}
	ts := int64(math.Round(float64(s.vi) * 1e6 / s.fps))
	next := int64(math.Round(float64(s.vi+1) * 1e6 / s.fps))
	if err := s.vps.Wait(ctx, time.Duration(ts)*time.Microsecond, s.done); err != nil {
		if errors.Is(err, pace.ErrClosed) {
			return media.VideoFrame{}, ErrClosed
		}
		return media.VideoFrame{}, err
	}
	s.vi++
	s.lastMu.Lock()
	defer s.lastMu.Unlock()
	select {
	case <-s.done:
		return media.VideoFrame{}, ErrClosed
	default:
	}
	if shown := s.Expand(s.opts.Now()); shown != s.shown || s.last.Closed() {
		f, err := s.draw(shown)
		if err != nil {
			return media.VideoFrame{}, err
		}
		s.last.Close()
		s.last, s.shown = f, shown
	}
	return s.last.WithTimestamp(ts, next-ts)
}

// draw renders lines of text, left-aligned from the top-left, each with a
// shadow a twentieth of the size down and right.
func (s *Source) draw(text string) (media.VideoFrame, error) {
	w, h := s.opts.Width, s.opts.Height
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	m := s.face.Metrics()
	line := m.Height
	if line <= 0 {
		line = fixed.I(int(s.opts.Size * 1.2))
	}
	off := fixed.I(int(math.Max(1, math.Round(s.opts.Size/20))))
	margin := fixed.I(int(math.Round(s.opts.Size / 4)))
	for pass, c := range []color.RGBA{{0, 0, 0, 160}, s.opts.Color} {
		dot := fixed.Point26_6{X: margin, Y: margin + m.Ascent}
		if pass == 0 {
			dot.X += off
			dot.Y += off
		}
		d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: s.face, Dot: dot}
		for _, l := range strings.Split(text, "\n") {
			d.Dot.X = dot.X
			d.DrawString(l)
			d.Dot.Y += line
		}
	}
	// font.Drawer composes with "over" on premultiplied RGBA; frames
	// carry straight alpha (as WebCodecs' RGBA does).
	unpremultiply(img)
	f, err := media.NewVideoFrame(img.Pix, media.VideoFrameInit{
		Format: media.RGBA, CodedWidth: w, CodedHeight: h,
		Layout: []media.PlaneLayout{{Stride: img.Stride}},
	})
	if err != nil {
		return media.VideoFrame{}, err
	}
	return f, nil
}

func unpremultiply(img *image.RGBA) {
	p := img.Pix
	for i := 0; i+3 < len(p); i += 4 {
		a := uint32(p[i+3])
		if a == 0 || a == 255 {
			continue
		}
		for k := 0; k < 3; k++ {
			p[i+k] = uint8(min(255, (uint32(p[i+k])*255+a/2)/a))
		}
	}
}

// Close releases the source; a blocked ReadVideo returns ErrClosed.
func (s *Source) Close() error {
	s.closed.Do(func() {
		close(s.done)
		s.lastMu.Lock()
		s.last.Close()
		s.lastMu.Unlock()
	})
	return nil
}
