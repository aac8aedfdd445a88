// Package still turns a still image (PNG, JPEG, or a GIF's first frame) into
// a live input: the same picture, re-issued at a fixed frame rate, so that a
// poster, a slate or a barcode photo can run through the pipeline like
// video.
package still

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"math"
	"sync"
	"time"

	"github.com/shadercast/shadercast/internal/imagefile"
	"github.com/shadercast/shadercast/internal/safe"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/source"
	"github.com/shadercast/shadercast/source/internal/pace"
)

// ErrClosed is returned by ReadVideo after Close.
var ErrClosed = errors.New("still: source closed")

// Source is a decoded image played as video (source.Video).
type Source struct {
	frame media.VideoFrame // the picture, converted once; reads hand out retimed clones
	fps   float64
	ps    pace.Stream
	i     int

	done      chan struct{}
	closeOnce sync.Once
}

var _ source.Video = (*Source)(nil)

// Options configures Open. The zero value is the defaults.
type Options struct {
	// MaxImagePixels refuses a picture whose header declares more pixels
	// (before decoding it); 0 means imagefile.DefaultMaxPixels (64 Mpx).
	MaxImagePixels int64
}

// Open decodes the image at path and prepares to return it fps times a
// second. The picture is converted once to an RGBA frame (straight, not
// premultiplied, alpha, as WebCodecs' RGBA frames are), at its own size,
// odd sizes included. Only a regular file is read (a FIFO or device is
// refused without blocking), and a picture over opts.MaxImagePixels is
// refused from its header, before it is decoded.
func Open(path string, fps float64, opts Options) (*Source, error) {
	if !(fps > 0) || fps > 1000 || math.IsInf(fps, 0) {
		return nil, fmt.Errorf("still: frame rate %v must be in (0, 1000]", fps)
	}
	img, kind, err := imagefile.Open(path, imagefile.Options{MaxPixels: opts.MaxImagePixels})
	if err != nil {
		return nil, fmt.Errorf("still: %w", err)
	}
	s, err := safe.Value(func() (*Source, error) { return newSource(path, kind, img, fps) })
	if err != nil {
		return nil, fmt.Errorf("still: %s: %w", path, err)
	}
	return s, nil
}

// newSource converts the decoded picture; it runs under safe.Value since
// the image came from outside.
func newSource(path, kind string, img image.Image, fps float64) (*Source, error) {
	b := img.Bounds()
	f, err := media.AllocVideoFrame(media.VideoFrameInit{Format: media.RGBA, CodedWidth: b.Dx(), CodedHeight: b.Dy()})
	if err != nil {
		return nil, fmt.Errorf("%s (%s, %dx%d): %w", path, kind, b.Dx(), b.Dy(), err)
	}
	p, _ := f.Plane(0)
	dst := &image.NRGBA{Pix: p.Data, Stride: p.Stride, Rect: image.Rect(0, 0, b.Dx(), b.Dy())}
	draw.Draw(dst, dst.Rect, img, b.Min, draw.Src)
	s := &Source{frame: f, fps: fps, done: make(chan struct{})}
	s.ps = pace.Stream{Clock: new(pace.Clock), Slack: s.dur(0)}
	return s, nil
}

// Size returns the picture's size.
func (s *Source) Size() (width, height int) {
	return s.frame.CodedWidth(), s.frame.CodedHeight()
}

func (s *Source) ts(i int) int64 { return int64(math.Round(float64(i) * 1e6 / s.fps)) }

func (s *Source) dur(i int) time.Duration {
	return time.Duration(s.ts(i+1)-s.ts(i)) * time.Microsecond
}

// ReadVideo returns the picture as frame i (timestamp i/fps in µs) when it
// is due, paced like a file: a caller more than a frame late gets it at
// once and the schedule re-anchors instead of bursting.
func (s *Source) ReadVideo(ctx context.Context) (media.VideoFrame, error) {
	select {
	case <-s.done:
		return media.VideoFrame{}, ErrClosed
	default:
	}
	ts := s.ts(s.i)
	if err := s.ps.Wait(ctx, time.Duration(ts)*time.Microsecond, s.done); err != nil {
		if errors.Is(err, pace.ErrClosed) {
			return media.VideoFrame{}, ErrClosed
		}
		return media.VideoFrame{}, err
	}
	f, err := s.frame.WithTimestamp(ts, s.ts(s.i+1)-ts)
	if errors.Is(err, media.ErrClosed) {
		return f, ErrClosed
	}
	if err != nil {
		return f, err
	}
	s.i++
	return f, nil
}

// Close releases the picture (frames already returned stay valid) and makes
// reads return ErrClosed.
func (s *Source) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.frame.Close()
	})
	return nil
}
