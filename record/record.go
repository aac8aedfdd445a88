// Package record writes what the service produces to files: the encoded VP8
// stream as IVF (playable by ffmpeg, ffplay, VLC; remuxable to WebM without
// re-encoding) and the composited frames as raw Y4M (for exact, lossless
// comparison of output pixels). Writers are plain and synchronous: whoever
// feeds them from a real-time path puts a bounded queue in front.
package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("record: writer is closed")

const ivfHeaderSize = 32

// IVF writes VP8 frames into an IVF container.
type IVF struct {
	w      io.Writer
	owned  io.Closer // the file CreateIVF opened, closed by Close
	frames uint32
	hdr    [12]byte // per-frame header scratch, so WriteFrame does not allocate
	err    error    // first write error: the file is unusable after it
	closed bool
}

// NewIVF writes an IVF file header for width x height VP8 frames whose
// timestamps are in units of num/den seconds (1/1000000 for microseconds,
// 1/90000 for RTP time). The frame count in the header is patched on Close
// when w is an io.WriteSeeker; otherwise it stays 0, which readers
// (ffmpeg included) accept. NewIVF does not take ownership of w.
func NewIVF(w io.Writer, width, height int, num, den int) (*IVF, error) {
	if width <= 0 || height <= 0 || width > 0xffff || height > 0xffff {
		return nil, fmt.Errorf("record: IVF size %dx%d out of range 1..65535", width, height)
	}
	if num <= 0 || den <= 0 || int64(num) > 0xffffffff || int64(den) > 0xffffffff {
		return nil, fmt.Errorf("record: IVF timebase %d/%d must be positive 32-bit", num, den)
	}
	var h [ivfHeaderSize]byte
	copy(h[0:], "DKIF")
	binary.LittleEndian.PutUint16(h[4:], 0)  // version
	binary.LittleEndian.PutUint16(h[6:], 32) // header size
	copy(h[8:], "VP80")
	binary.LittleEndian.PutUint16(h[12:], uint16(width))
	binary.LittleEndian.PutUint16(h[14:], uint16(height))
	// IVF stores the timebase as rate (denominator) then scale (numerator).
	binary.LittleEndian.PutUint32(h[16:], uint32(den))
	binary.LittleEndian.PutUint32(h[20:], uint32(num))
	if _, err := w.Write(h[:]); err != nil {
		return nil, fmt.Errorf("record: IVF header: %w", err)
	}
	return &IVF{w: w}, nil
}

// CreateIVF is NewIVF on a new file at path, which Close closes.
func CreateIVF(path string, width, height, num, den int) (*IVF, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	v, err := NewIVF(f, width, height, num, den)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	v.owned = f
	return v, nil
}

// WriteFrame appends one encoded frame with presentation time pts in
// timebase units. It does not retain data.
func (v *IVF) WriteFrame(data []byte, pts int64) error {
	switch {
	case v.closed:
		return ErrClosed
	case v.err != nil:
		return v.err
	case len(data) == 0:
		return errors.New("record: empty IVF frame")
	case int64(len(data)) > 0xffffffff:
		return fmt.Errorf("record: IVF frame of %d bytes too large", len(data))
	}
	binary.LittleEndian.PutUint32(v.hdr[0:], uint32(len(data)))
	binary.LittleEndian.PutUint64(v.hdr[4:], uint64(pts))
	if _, err := v.w.Write(v.hdr[:]); err != nil {
		v.err = fmt.Errorf("record: IVF: %w", err)
		return v.err
	}
	if _, err := v.w.Write(data); err != nil {
		v.err = fmt.Errorf("record: IVF: %w", err)
		return v.err
	}
	v.frames++
	return nil
}

// Frames returns how many frames were written.
func (v *IVF) Frames() int { return int(v.frames) }

// Close patches the frame count into the header if the writer can seek
// (leaving the write position at the end), and closes the file if CreateIVF
// opened it.
func (v *IVF) Close() error {
	if v.closed {
		return nil
	}
	v.closed = true
	err := v.err
	if ws, ok := v.w.(io.WriteSeeker); ok && err == nil {
		err = patchCount(ws, v.frames)
	}
	if v.owned != nil {
		if cerr := v.owned.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("record: %w", cerr)
		}
	}
	return err
}

func patchCount(ws io.WriteSeeker, n uint32) error {
	end, err := ws.Seek(0, io.SeekCurrent)
	if err != nil {
		// A pipe or terminal behind an *os.File: not seekable after all,
		// and the count is optional.
		return nil
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], n)
	if _, err := ws.Seek(24, io.SeekStart); err != nil {
		return fmt.Errorf("record: IVF frame count: %w", err)
	}
	if _, err := ws.Write(b[:]); err != nil {
		return fmt.Errorf("record: IVF frame count: %w", err)
	}
	if _, err := ws.Seek(end, io.SeekStart); err != nil {
		return fmt.Errorf("record: IVF frame count: %w", err)
	}
	return nil
}
