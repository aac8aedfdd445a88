package media

import (
	"fmt"
	"strconv"
	"sync/atomic"
)

const (
	// MaxDimension bounds CodedWidth and CodedHeight, as GPU textures are
	// limited to 16384 on the hardware we target.
	MaxDimension = 16384
	// MaxPixels bounds CodedWidth*CodedHeight so that the largest frame
	// (RGBA, 256 MiB) stays allocatable; a MaxDimension square would be
	// 1 GiB per frame and is rejected.
	MaxPixels = 8192 * 8192
)

// VideoFrameInit describes a frame to construct.
type VideoFrameInit struct {
	Format                  PixelFormat
	CodedWidth, CodedHeight int
	Timestamp               int64 // presentation time in microseconds; may be negative
	Duration                int64 // microseconds; 0 means unknown
	ColorSpace              ColorSpace
	// Layout describes where the planes are in the data passed to
	// NewVideoFrame; nil means tightly packed planes in order. It must be
	// nil for AllocVideoFrame, whose frames are always tightly packed.
	Layout []PlaneLayout
}

// Plane is direct access to one plane of a frame. Width and Height are in
// samples of that plane: ceil(w/2) x ceil(h/2) for 4:2:0 chroma, UV pairs
// for the NV12 chroma plane, pixels for packed RGB. Data starts at the
// plane's first byte and holds at least Stride*(Height-1)+rowBytes bytes;
// it is capped so appends cannot spill into the next plane.
type Plane struct {
	Data                  []byte
	Stride, Width, Height int
}

// VideoFrame is a WebCodecs-style video frame: a handle to pooled, reference
// counted pixels. It is a small value, cheap to copy; all copies denote the
// same frame and Close through any of them closes it. The zero value is a
// closed frame. See the package documentation for lifetime and concurrency
// rules.
type VideoFrame struct {
	h   *videoHandle
	gen uint64
}

type videoHandle struct {
	core
	meta    atomic.Uint64 // packed videoMeta fields, see pack
	ts, dur atomic.Int64
}

// videoMeta is the immutable description of an open frame.
type videoMeta struct {
	format  PixelFormat
	w, h    int
	cs      ColorSpace
	ts, dur int64
}

// Metadata lives in atomics because a handle is rewritten on reuse while
// stale frame values may still read it; the generation is checked before
// and after the reads (a seqlock), so a reader sees either a consistent
// snapshot or ErrClosed, and the race detector stays quiet.
func (m *videoMeta) pack() uint64 {
	v := uint64(m.format) | uint64(m.cs.Matrix)<<8 | uint64(m.w)<<16 | uint64(m.h)<<32
	if m.cs.FullRange {
		v |= 1 << 12
	}
	return v
}

func unpackVideo(v uint64) videoMeta {
	return videoMeta{
		format: PixelFormat(v),
		cs:     ColorSpace{Matrix: Matrix(v>>8) & 0xf, FullRange: v&(1<<12) != 0},
		w:      int(v>>16) & 0xffff,
		h:      int(v>>32) & 0xffff,
	}
}

var videoHandles freeList[videoHandle]

func openVideo(b *buffer, m videoMeta) VideoFrame {
	h := videoHandles.get()
	h.meta.Store(m.pack())
	h.ts.Store(m.ts)
	h.dur.Store(m.dur)
	h.buf.Store(b)
	g := h.gen.Add(1) // even -> odd publishes the fields above
	stats.liveVideo.Add(1)
	return VideoFrame{h: h, gen: g}
}

// snapshot reads the frame's metadata and buffer without taking a reference.
func (f VideoFrame) snapshot() (videoMeta, *buffer, bool) {
	h := f.h
	if h == nil || h.gen.Load() != f.gen {
		return videoMeta{}, nil, false
	}
	m := unpackVideo(h.meta.Load())
	m.ts = h.ts.Load()
	m.dur = h.dur.Load()
	b := h.buf.Load()
	if b == nil || h.gen.Load() != f.gen {
		return videoMeta{}, nil, false
	}
	return m, b, true
}

// acquire is snapshot plus a buffer reference, so the pixels stay valid even
// if the frame is closed meanwhile. The caller must release the buffer.
func (f VideoFrame) acquire() (videoMeta, *buffer, bool) {
	m, b, ok := f.snapshot()
	if !ok || !b.tryRetain() {
		return videoMeta{}, nil, false
	}
	// The handle may have been closed and reused between snapshot and
	// tryRetain, in which case b may now belong to another frame.
	if f.h.gen.Load() != f.gen {
		b.release()
		return videoMeta{}, nil, false
	}
	return m, b, true
}

func validateVideoInit(init *VideoFrameInit) (videoMeta, error) {
	m := videoMeta{format: init.Format, w: init.CodedWidth, h: init.CodedHeight,
		ts: init.Timestamp, dur: init.Duration, cs: init.ColorSpace}
	if !m.format.valid() {
		return m, fieldErr("Format", m.format, "unknown pixel format")
	}
	if m.w <= 0 || m.w > MaxDimension {
		return m, fieldErr("CodedWidth", m.w, "must be in 1..%d", MaxDimension)
	}
	if m.h <= 0 || m.h > MaxDimension {
		return m, fieldErr("CodedHeight", m.h, "must be in 1..%d", MaxDimension)
	}
	if m.w*m.h > MaxPixels {
		return m, fieldErr("CodedWidth*CodedHeight", m.w*m.h, "exceeds MaxPixels (%d)", MaxPixels)
	}
	if m.dur < 0 {
		return m, fieldErr("Duration", m.dur, "must not be negative")
	}
	if m.cs.Matrix >= numMatrices {
		return m, fieldErr("ColorSpace.Matrix", m.cs.Matrix, "unknown matrix")
	}
	if m.format.IsYUV() {
		switch m.cs.Matrix {
		case MatrixRGB:
			return m, fieldErr("ColorSpace.Matrix", m.cs.Matrix, "rgb matrix on %v data", m.format)
		case MatrixUnspecified:
			m.cs.Matrix = MatrixBT709
		}
	} else {
		m.cs = ColorSpaceSRGB
	}
	return m, nil
}

// validateLayout checks a caller-described layout of buffer bufName (length
// bufLen) against frame geometry, following WebCodecs' layout rules except
// that a plane may end right after its last row's pixels instead of a full
// stride, which padded decoder output often does. name is "Layout" or
// "layout" to match how the caller spelled it.
func validateLayout(name string, layout []PlaneLayout, m *videoMeta, bufName string, bufLen int) error {
	np := m.format.NumPlanes()
	if len(layout) != np {
		return fieldErr(name, len(layout), "%v needs %d plane layouts", m.format, np)
	}
	var ends [maxPlanes]int
	for i, l := range layout {
		g := m.format.geom(m.w, m.h, i)
		if l.Offset < 0 {
			return fieldErr(name+"["+strconv.Itoa(i)+"].Offset", l.Offset, "must not be negative")
		}
		if l.Stride < g.rowBytes {
			return fieldErr(name+"["+strconv.Itoa(i)+"].Stride", l.Stride, "smaller than the %d-byte row of plane %d", g.rowBytes, i)
		}
		if l.Offset > bufLen {
			return fieldErr(name+"["+strconv.Itoa(i)+"].Offset", l.Offset, "plane %d starts past the end of %s (%d bytes)", i, bufName, bufLen)
		}
		// Divide instead of multiplying so a huge stride cannot overflow.
		avail := bufLen - l.Offset - g.rowBytes
		if avail < 0 || g.rows > 1 && l.Stride > avail/(g.rows-1) {
			return fieldErr(bufName, bufLen, "too short for plane %d (offset %d, stride %d, %d rows)", i, l.Offset, l.Stride, g.rows)
		}
		ends[i] = l.Offset + l.Stride*(g.rows-1) + g.rowBytes
		for j := range i {
			if l.Offset < ends[j] && layout[j].Offset < ends[i] {
				return fieldErr(name+"["+strconv.Itoa(i)+"].Offset", l.Offset, "plane %d overlaps plane %d", i, j)
			}
		}
	}
	return nil
}

// copyPlanes copies pixel rows between two validated layouts.
func copyPlanes(dst []byte, dl []PlaneLayout, src []byte, sl []PlaneLayout, m *videoMeta) {
	for i := range m.format.NumPlanes() {
		g := m.format.geom(m.w, m.h, i)
		d, s := dl[i], sl[i]
		if d.Stride == g.rowBytes && s.Stride == g.rowBytes {
			n := g.rowBytes * g.rows
			copy(dst[d.Offset:d.Offset+n], src[s.Offset:s.Offset+n])
			continue
		}
		for y := range g.rows {
			do, so := d.Offset+y*d.Stride, s.Offset+y*s.Stride
			copy(dst[do:do+g.rowBytes], src[so:so+g.rowBytes])
		}
	}
}

// NewVideoFrame validates init and copies the planes of data, laid out as
// init.Layout says (tightly packed if nil), into a pooled buffer. The frame
// does not retain data. Invalid input yields a *FieldError.
func NewVideoFrame(data []byte, init VideoFrameInit) (VideoFrame, error) {
	m, err := validateVideoInit(&init)
	if err != nil {
		return VideoFrame{}, err
	}
	tl, size := tightLayout(m.format, m.w, m.h)
	src := init.Layout
	if src == nil {
		if len(data) < size {
			return VideoFrame{}, fieldErr("data", len(data), "too short: %v %dx%d needs %d bytes", m.format, m.w, m.h, size)
		}
		src = tl[:m.format.NumPlanes()]
	} else if err := validateLayout("Layout", src, &m, "data", len(data)); err != nil {
		return VideoFrame{}, err
	}
	b := getBuffer(size)
	copyPlanes(b.data, tl[:], data, src, &m)
	return openVideo(b, m), nil
}

// AllocVideoFrame returns a tightly packed frame whose pixel contents are
// unspecified (a recycled buffer is not cleared). It is for producers such
// as decoders and GPU readback that write planes in place via Plane, which
// saves the copy NewVideoFrame makes. The producer must finish writing
// before it clones the frame or hands it to anyone else: frames are treated
// as immutable from then on. init.Layout must be nil.
func AllocVideoFrame(init VideoFrameInit) (VideoFrame, error) {
	m, err := validateVideoInit(&init)
	if err != nil {
		return VideoFrame{}, err
	}
	if init.Layout != nil {
		return VideoFrame{}, fieldErr("Layout", len(init.Layout), "must be nil: allocated frames are tightly packed")
	}
	_, size := tightLayout(m.format, m.w, m.h)
	return openVideo(getBuffer(size), m), nil
}

// Closed reports whether the frame is closed (or the zero value).
func (f VideoFrame) Closed() bool {
	_, _, ok := f.snapshot()
	return !ok
}

// Format returns the pixel format, or FormatUnknown if the frame is closed.
func (f VideoFrame) Format() PixelFormat {
	m, _, _ := f.snapshot()
	return m.format
}

// CodedWidth returns the width in pixels, or 0 if the frame is closed.
func (f VideoFrame) CodedWidth() int {
	m, _, _ := f.snapshot()
	return m.w
}

// CodedHeight returns the height in pixels, or 0 if the frame is closed.
func (f VideoFrame) CodedHeight() int {
	m, _, _ := f.snapshot()
	return m.h
}

// Timestamp returns the presentation time in microseconds (0 if closed).
func (f VideoFrame) Timestamp() int64 {
	m, _, _ := f.snapshot()
	return m.ts
}

// Duration returns the duration in microseconds; 0 means unknown or closed.
func (f VideoFrame) Duration() int64 {
	m, _, _ := f.snapshot()
	return m.dur
}

// ColorSpace returns the resolved color space (never MatrixUnspecified for
// an open frame), or the zero ColorSpace if the frame is closed.
func (f VideoFrame) ColorSpace() ColorSpace {
	m, _, _ := f.snapshot()
	return m.cs
}

// Plane gives direct access to plane index. The memory is valid until the
// frame and every clone sharing it are closed; see AllocVideoFrame for who
// may write to it.
func (f VideoFrame) Plane(index int) (Plane, error) {
	m, b, ok := f.snapshot()
	if !ok {
		return Plane{}, ErrClosed
	}
	if np := m.format.NumPlanes(); index < 0 || index >= np {
		return Plane{}, fieldErr("index", index, "%v has %d planes", m.format, np)
	}
	tl, _ := tightLayout(m.format, m.w, m.h)
	g := m.format.geom(m.w, m.h, index)
	off, end := tl[index].Offset, tl[index].Offset+g.rowBytes*g.rows
	return Plane{Data: b.data[off:end:end], Stride: tl[index].Stride, Width: g.width, Height: g.rows}, nil
}

// Layout returns the frame's own plane layout (tightly packed).
func (f VideoFrame) Layout() ([]PlaneLayout, error) {
	m, _, ok := f.snapshot()
	if !ok {
		return nil, ErrClosed
	}
	tl, _ := tightLayout(m.format, m.w, m.h)
	return append([]PlaneLayout(nil), tl[:m.format.NumPlanes()]...), nil
}

// AllocationSize returns the number of bytes CopyTo needs without a layout.
func (f VideoFrame) AllocationSize() (int, error) {
	m, _, ok := f.snapshot()
	if !ok {
		return 0, ErrClosed
	}
	_, size := tightLayout(m.format, m.w, m.h)
	return size, nil
}

// CopyTo copies the pixels into dst, placing plane i at layout[i]; a nil
// layout means tightly packed (AllocationSize bytes). Bytes of dst outside
// the planes' rows are left untouched. It returns the layout used: layout
// itself when non-nil (so a fixed layout costs no allocation), otherwise a
// new slice describing the tight layout. Invalid layouts and a too short dst
// yield a *FieldError naming "layout[i]..." or "dst".
func (f VideoFrame) CopyTo(dst []byte, layout []PlaneLayout) ([]PlaneLayout, error) {
	m, b, ok := f.acquire()
	if !ok {
		return nil, ErrClosed
	}
	defer b.release()
	tl, size := tightLayout(m.format, m.w, m.h)
	src := tl[:m.format.NumPlanes()]
	if layout == nil {
		if len(dst) < size {
			return nil, fieldErr("dst", len(dst), "too short: need %d bytes", size)
		}
		copyPlanes(dst, src, b.data, src, &m)
		return append([]PlaneLayout(nil), src...), nil
	}
	if err := validateLayout("layout", layout, &m, "dst", len(dst)); err != nil {
		return nil, err
	}
	copyPlanes(dst, layout, b.data, src, &m)
	return layout, nil
}

// Clone returns a new frame sharing the same pixels. The clone and the
// original are closed independently; the pixels return to the pool when
// the last of them is closed.
func (f VideoFrame) Clone() (VideoFrame, error) {
	m, b, ok := f.acquire()
	if !ok {
		return VideoFrame{}, ErrClosed
	}
	return openVideo(b, m), nil
}

// WithTimestamp is Clone with new timing, like WebCodecs'
// new VideoFrame(frame, {timestamp, duration}); retiming a frame for output
// needs no pixel copy. The receiver stays open.
func (f VideoFrame) WithTimestamp(timestamp, duration int64) (VideoFrame, error) {
	if duration < 0 {
		return VideoFrame{}, fieldErr("Duration", duration, "must not be negative")
	}
	m, b, ok := f.acquire()
	if !ok {
		return VideoFrame{}, ErrClosed
	}
	m.ts, m.dur = timestamp, duration
	return openVideo(b, m), nil
}

// Close releases the frame. It is idempotent and goroutine-safe: closing an
// already closed frame, the zero value or a stale copy does nothing and
// returns nil. The error result exists so VideoFrame satisfies io.Closer.
func (f VideoFrame) Close() error {
	h := f.h
	if h == nil {
		return nil
	}
	b, ok := h.close(f.gen)
	if !ok {
		return nil
	}
	stats.liveVideo.Add(-1)
	videoHandles.put(h)
	if b != nil {
		b.release()
	}
	return nil
}

// String describes the frame for logs.
func (f VideoFrame) String() string {
	m, _, ok := f.snapshot()
	if !ok {
		return "VideoFrame(closed)"
	}
	return fmt.Sprintf("VideoFrame(%v %dx%d ts=%dus dur=%dus %v/%v)", m.format, m.w, m.h, m.ts, m.dur, m.cs.Matrix, rangeName(m.cs.FullRange))
}

func rangeName(full bool) string {
	if full {
		return "full"
	}
	return "limited"
}
