package record

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/shadercast/shadercast/media"
)

// Y4MOptions configures NewY4M.
type Y4MOptions struct {
	// FrameRate is written as F<Num>:<Den>; both must be positive. Y4M
	// frames carry no timestamps, so this is all a player has.
	FrameRateNum, FrameRateDen int
}

// Y4M writes I420 media.VideoFrames as a YUV4MPEG2 stream. The header is
// written with the first frame, from its size and color space: progressive,
// square pixels, C420jpeg, and XCOLORRANGE=FULL for full-range frames (the
// extension ffmpeg reads). Every later frame must have the same size.
type Y4M struct {
	w      io.Writer
	bw     *bufio.Writer
	owned  io.Closer
	opts   Y4MOptions
	width  int
	height int
	hdr    []byte
	err    error
	closed bool
}

var frameLine = []byte("FRAME\n")

// NewY4M returns a writer on w; it does not take ownership of w.
func NewY4M(w io.Writer, opts Y4MOptions) (*Y4M, error) {
	if opts.FrameRateNum <= 0 || opts.FrameRateDen <= 0 {
		return nil, fmt.Errorf("record: Y4M frame rate %d:%d must be positive", opts.FrameRateNum, opts.FrameRateDen)
	}
	// A 720p frame is 1.4 MB; the buffer only saves syscalls for the short
	// FRAME line and rows of strided planes, and is flushed every frame.
	return &Y4M{w: w, bw: bufio.NewWriterSize(w, 64<<10), opts: opts}, nil
}

// CreateY4M is NewY4M on a new file at path, which Close closes.
func CreateY4M(path string, opts Y4MOptions) (*Y4M, error) {
	y, err := NewY4M(nil, opts)
	if err != nil {
		return nil, err
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	y.w, y.owned = f, f
	y.bw.Reset(f)
	return y, nil
}

// WriteFrame appends frame f (which stays the caller's to Close). A frame
// that is not I420, or whose size differs from the first frame's, is
// refused with an error before anything is written, so the file stays
// valid. A write error is final.
func (y *Y4M) WriteFrame(f media.VideoFrame) error {
	if y.closed {
		return ErrClosed
	}
	if y.err != nil {
		return y.err
	}
	if f.Closed() {
		return fmt.Errorf("record: Y4M frame: %w", media.ErrClosed)
	}
	if f.Format() != media.I420 {
		return fmt.Errorf("record: Y4M takes I420 frames, got %v", f.Format())
	}
	w, h := f.CodedWidth(), f.CodedHeight()
	if y.hdr == nil {
		y.width, y.height = w, h
		y.hdr = fmt.Appendf(nil, "YUV4MPEG2 W%d H%d F%d:%d Ip A1:1 C420jpeg XYSCSS=420JPEG", w, h, y.opts.FrameRateNum, y.opts.FrameRateDen)
		if f.ColorSpace().FullRange {
			y.hdr = append(y.hdr, " XCOLORRANGE=FULL"...)
		}
		y.hdr = append(y.hdr, '\n')
		if _, err := y.bw.Write(y.hdr); err != nil {
			return y.fail(err)
		}
	} else if w != y.width || h != y.height {
		return fmt.Errorf("record: Y4M frame is %dx%d, the stream is %dx%d (a Y4M stream has one size)", w, h, y.width, y.height)
	}
	// Hold the planes for the whole write: the caller may close its frame
	// concurrently (media allows it), and the clone keeps the memory ours.
	c, err := f.Clone()
	if err != nil {
		return fmt.Errorf("record: Y4M frame: %w", err)
	}
	defer c.Close()
	if _, err := y.bw.Write(frameLine); err != nil {
		return y.fail(err)
	}
	for i := 0; i < 3; i++ {
		p, err := c.Plane(i)
		if err != nil {
			return y.fail(err)
		}
		for r := 0; r < p.Height; r++ {
			if _, err := y.bw.Write(p.Data[r*p.Stride : r*p.Stride+p.Width]); err != nil {
				return y.fail(err)
			}
		}
	}
	if err := y.bw.Flush(); err != nil {
		return y.fail(err)
	}
	return nil
}

func (y *Y4M) fail(err error) error {
	y.err = fmt.Errorf("record: Y4M: %w", err)
	return y.err
}

// Close flushes and closes the file if CreateY4M opened it. A stream with
// no frames has no header either (Y4M needs the size): the file is empty.
func (y *Y4M) Close() error {
	if y.closed {
		return nil
	}
	y.closed = true
	err := y.err
	if err == nil {
		if ferr := y.bw.Flush(); ferr != nil {
			err = fmt.Errorf("record: Y4M: %w", ferr)
		}
	}
	if y.owned != nil {
		if cerr := y.owned.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("record: %w", cerr)
		}
	}
	return err
}
