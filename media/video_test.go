package media

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

var allPixelFormats = []PixelFormat{I420, NV12, RGBA, RGBX, BGRA, BGRX}

// planeSpec is the test's own statement of plane geometry, written from the
// format definitions rather than from the package's geom.
type planeSpec struct{ w, h, bps int }

func specOf(f PixelFormat, w, h int) []planeSpec {
	cw, ch := (w+1)/2, (h+1)/2
	switch f {
	case I420:
		return []planeSpec{{w, h, 1}, {cw, ch, 1}, {cw, ch, 1}}
	case NV12:
		return []planeSpec{{w, h, 1}, {cw, ch, 2}}
	default:
		return []planeSpec{{w, h, 4}}
	}
}

func (p planeSpec) rowBytes() int { return p.w * p.bps }

// sample is the expected value of byte k of sample (x, y) of plane i.
func sample(seed, i, x, y, k int) byte {
	return byte(seed + i*71 + x*13 + y*29 + k*101 + (x*y)>>3)
}

func tightSize(specs []planeSpec) int {
	n := 0
	for _, p := range specs {
		n += p.rowBytes() * p.h
	}
	return n
}

// paddedLayout puts planes in reverse order with a leading gap and per-plane
// stride padding, so offsets, order and strides all differ from tight.
func paddedLayout(specs []planeSpec, lead, pad int) ([]PlaneLayout, int) {
	l := make([]PlaneLayout, len(specs))
	off := lead
	for i := len(specs) - 1; i >= 0; i-- {
		p := specs[i]
		stride := p.rowBytes() + pad + i
		l[i] = PlaneLayout{Offset: off, Stride: stride}
		off += stride*(p.h-1) + p.rowBytes() + 3
	}
	return l, off
}

// fill writes the pattern at layout l into buf, returning which bytes are
// pixel bytes.
func fill(buf []byte, specs []planeSpec, l []PlaneLayout, seed int) []bool {
	used := make([]bool, len(buf))
	for i, p := range specs {
		for y := 0; y < p.h; y++ {
			for x := 0; x < p.w; x++ {
				for k := 0; k < p.bps; k++ {
					o := l[i].Offset + y*l[i].Stride + x*p.bps + k
					buf[o] = sample(seed, i, x, y, k)
					used[o] = true
				}
			}
		}
	}
	return used
}

// verify checks every sample at layout l and that non-pixel bytes still
// hold junk.
func verify(t *testing.T, what string, buf []byte, specs []planeSpec, l []PlaneLayout, seed int, junk byte) {
	t.Helper()
	used := make([]bool, len(buf))
	for i, p := range specs {
		for y := 0; y < p.h; y++ {
			for x := 0; x < p.w; x++ {
				for k := 0; k < p.bps; k++ {
					o := l[i].Offset + y*l[i].Stride + x*p.bps + k
					used[o] = true
					if got, want := buf[o], sample(seed, i, x, y, k); got != want {
						t.Fatalf("%s: plane %d (%d,%d)[%d] = %#x, want %#x", what, i, x, y, k, got, want)
					}
				}
			}
		}
	}
	for o, u := range used {
		if !u && buf[o] != junk {
			t.Fatalf("%s: padding byte %d overwritten with %#x", what, o, buf[o])
		}
	}
}

func TestVideoFrameValidation(t *testing.T) {
	checkLeaks(t)
	i420 := func(w, h int) VideoFrameInit { return VideoFrameInit{Format: I420, CodedWidth: w, CodedHeight: h} }
	with := func(init VideoFrameInit, f func(*VideoFrameInit)) VideoFrameInit { f(&init); return init }
	// I420 4x4: Y 16 bytes, U 4, V 4.
	tight4 := []PlaneLayout{{0, 4}, {16, 2}, {20, 2}}
	big := make([]byte, 64)
	tests := []struct {
		name  string
		data  []byte
		init  VideoFrameInit
		field string // "" = valid
	}{
		{"ok", big, i420(4, 4), ""},
		{"ok odd I420", make([]byte, 3*5+2*2*3), i420(3, 5), ""},
		{"ok odd NV12", make([]byte, 3*5+4*3), VideoFrameInit{Format: NV12, CodedWidth: 3, CodedHeight: 5}, ""},
		{"ok 1x1", make([]byte, 3), i420(1, 1), ""},
		{"ok explicit layout", big, with(i420(4, 4), func(i *VideoFrameInit) { i.Layout = tight4 }), ""},
		{"ok plane ends at row end", make([]byte, 24), with(i420(4, 4), func(i *VideoFrameInit) {
			i.Layout = []PlaneLayout{{0, 4}, {16, 2}, {20, 2}}
		}), ""},
		{"unknown format", big, VideoFrameInit{CodedWidth: 4, CodedHeight: 4}, "Format"},
		{"bad format", big, VideoFrameInit{Format: 200, CodedWidth: 4, CodedHeight: 4}, "Format"},
		{"zero width", big, i420(0, 4), "CodedWidth"},
		{"negative width", big, i420(-2, 4), "CodedWidth"},
		{"huge width", big, i420(MaxDimension+1, 4), "CodedWidth"},
		{"zero height", big, i420(4, 0), "CodedHeight"},
		{"negative height", big, i420(4, -1), "CodedHeight"},
		{"huge height", big, i420(4, MaxDimension+1), "CodedHeight"},
		{"too many pixels", big, i420(MaxDimension, MaxDimension), "CodedWidth*CodedHeight"},
		{"too many pixels 2", big, i420(8192, 8193), "CodedWidth*CodedHeight"},
		{"negative duration", big, with(i420(4, 4), func(i *VideoFrameInit) { i.Duration = -1 }), "Duration"},
		{"unknown matrix", big, with(i420(4, 4), func(i *VideoFrameInit) { i.ColorSpace.Matrix = 9 }), "ColorSpace.Matrix"},
		{"rgb matrix on yuv", big, with(i420(4, 4), func(i *VideoFrameInit) { i.ColorSpace = ColorSpaceSRGB }), "ColorSpace.Matrix"},
		{"data short", make([]byte, 23), i420(4, 4), "data"},
		{"data short odd", make([]byte, 3*5+2*2*3-1), i420(3, 5), "data"},
		{"data nil", nil, VideoFrameInit{Format: RGBA, CodedWidth: 1, CodedHeight: 1}, "data"},
		{"layout count", big, with(i420(4, 4), func(i *VideoFrameInit) { i.Layout = tight4[:2] }), "Layout"},
		{"layout empty", big, with(i420(4, 4), func(i *VideoFrameInit) { i.Layout = []PlaneLayout{} }), "Layout"},
		{"layout extra", big, with(VideoFrameInit{Format: RGBA, CodedWidth: 2, CodedHeight: 2}, func(i *VideoFrameInit) {
			i.Layout = []PlaneLayout{{0, 8}, {32, 8}}
		}), "Layout"},
		{"stride too small", big, with(i420(4, 4), func(i *VideoFrameInit) {
			i.Layout = []PlaneLayout{{0, 4}, {16, 1}, {20, 2}}
		}), "Layout[1].Stride"},
		{"stride zero rgba", big, with(VideoFrameInit{Format: RGBA, CodedWidth: 2, CodedHeight: 2}, func(i *VideoFrameInit) {
			i.Layout = []PlaneLayout{{0, 7}}
		}), "Layout[0].Stride"},
		{"negative offset", big, with(i420(4, 4), func(i *VideoFrameInit) {
			i.Layout = []PlaneLayout{{-1, 4}, {16, 2}, {20, 2}}
		}), "Layout[0].Offset"},
		{"offset past end", big, with(i420(4, 4), func(i *VideoFrameInit) {
			i.Layout = []PlaneLayout{{0, 4}, {16, 2}, {65, 2}}
		}), "Layout[2].Offset"},
		{"plane past end", big, with(i420(4, 4), func(i *VideoFrameInit) {
			i.Layout = []PlaneLayout{{0, 4}, {16, 2}, {61, 2}}
		}), "data"},
		{"stride runs past end", big, with(i420(4, 4), func(i *VideoFrameInit) {
			i.Layout = []PlaneLayout{{0, 21}, {30, 2}, {40, 2}}
		}), "data"},
		{"huge stride no overflow", big, with(i420(4, 4), func(i *VideoFrameInit) {
			i.Layout = []PlaneLayout{{0, 1 << 62}, {16, 2}, {20, 2}}
		}), "data"},
		{"overlap", big, with(i420(4, 4), func(i *VideoFrameInit) {
			i.Layout = []PlaneLayout{{0, 4}, {15, 2}, {24, 2}}
		}), "Layout[1].Offset"},
		{"overlap later plane", big, with(i420(4, 4), func(i *VideoFrameInit) {
			i.Layout = []PlaneLayout{{8, 4}, {40, 2}, {6, 2}}
		}), "Layout[2].Offset"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := NewVideoFrame(tc.data, tc.init)
			defer f.Close()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if f.Closed() {
					t.Fatal("valid frame reports closed")
				}
				return
			}
			if got := fieldOf(err); got != tc.field {
				t.Fatalf("error %v names field %q, want %q", err, got, tc.field)
			}
			if !f.Closed() {
				t.Fatal("failed constructor returned an open frame")
			}
			if !strings.HasPrefix(err.Error(), "media: invalid "+tc.field+" (") {
				t.Errorf("message %q does not follow the FieldError format", err)
			}
			// AllocVideoFrame validates the same init fields.
			if !strings.HasPrefix(tc.field, "Layout") && tc.field != "data" {
				a, err := AllocVideoFrame(tc.init)
				defer a.Close()
				if got := fieldOf(err); got != tc.field {
					t.Fatalf("AllocVideoFrame: error %v names field %q, want %q", err, got, tc.field)
				}
			}
		})
	}
	t.Run("alloc with layout", func(t *testing.T) {
		_, err := AllocVideoFrame(VideoFrameInit{Format: I420, CodedWidth: 4, CodedHeight: 4, Layout: tight4})
		if fieldOf(err) != "Layout" {
			t.Fatalf("got %v, want Layout error", err)
		}
	})
}

func TestFieldErrorMessage(t *testing.T) {
	err := error(&FieldError{Field: "CodedWidth", Value: 0, Reason: "must be in 1..16384"})
	if got, want := err.Error(), "media: invalid CodedWidth (0): must be in 1..16384"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestZeroValueIsClosed(t *testing.T) {
	checkLeaks(t)
	var f VideoFrame
	if !f.Closed() || f.Format() != FormatUnknown || f.CodedWidth() != 0 || f.CodedHeight() != 0 ||
		f.Timestamp() != 0 || f.Duration() != 0 || f.ColorSpace() != (ColorSpace{}) {
		t.Fatal("zero VideoFrame has non-zero accessors")
	}
	checkAllClosed(t, f)
	if f.String() != "VideoFrame(closed)" {
		t.Errorf("String() = %q", f.String())
	}
}

// checkAllClosed checks every fallible method reports ErrClosed and Close
// is a harmless no-op.
func checkAllClosed(t *testing.T, f VideoFrame) {
	t.Helper()
	if !f.Closed() || f.Format() != FormatUnknown || f.CodedWidth() != 0 {
		t.Fatal("closed frame reports open metadata")
	}
	if _, err := f.Plane(0); !errors.Is(err, ErrClosed) {
		t.Errorf("Plane: %v", err)
	}
	if _, err := f.Layout(); !errors.Is(err, ErrClosed) {
		t.Errorf("Layout: %v", err)
	}
	if _, err := f.AllocationSize(); !errors.Is(err, ErrClosed) {
		t.Errorf("AllocationSize: %v", err)
	}
	if _, err := f.CopyTo(make([]byte, 1<<16), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("CopyTo: %v", err)
	}
	if c, err := f.Clone(); !errors.Is(err, ErrClosed) || !c.Closed() {
		t.Errorf("Clone: %v", err)
	}
	if c, err := f.WithTimestamp(1, 2); !errors.Is(err, ErrClosed) || !c.Closed() {
		t.Errorf("WithTimestamp: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("Close of closed frame: %v", err)
	}
}

func newPattern(t *testing.T, f PixelFormat, w, h, seed int) VideoFrame {
	t.Helper()
	specs := specOf(f, w, h)
	l, n := paddedLayout(specs, 0, 0)
	buf := make([]byte, n)
	fill(buf, specs, l, seed)
	fr, err := NewVideoFrame(buf, VideoFrameInit{Format: f, CodedWidth: w, CodedHeight: h, Timestamp: 1000, Duration: 40000, Layout: l})
	if err != nil {
		t.Fatal(err)
	}
	return fr
}

func TestCloseIdempotentAndStats(t *testing.T) {
	checkLeaks(t)
	TrimPool()
	s0 := PoolStats()
	f := newPattern(t, I420, 7, 5, 1)
	s1 := PoolStats()
	if s1.LiveVideoFrames != s0.LiveVideoFrames+1 || s1.LiveBuffers != s0.LiveBuffers+1 || s1.BufferAllocs != s0.BufferAllocs+1 {
		t.Fatalf("after New: %+v (before %+v)", s1, s0)
	}
	c, err := f.Clone()
	if err != nil {
		t.Fatal(err)
	}
	s2 := PoolStats()
	if s2.LiveVideoFrames != s0.LiveVideoFrames+2 || s2.LiveBuffers != s0.LiveBuffers+1 || s2.BufferAllocs != s1.BufferAllocs {
		t.Fatalf("Clone must add a frame but share the buffer: %+v", s2)
	}
	mustClose(t, f)
	mustClose(t, f) // second Close is a no-op
	s3 := PoolStats()
	if s3.LiveVideoFrames != s0.LiveVideoFrames+1 || s3.LiveBuffers != s0.LiveBuffers+1 || s3.IdleBuffers != s0.IdleBuffers {
		t.Fatalf("buffer must stay live while a clone is open: %+v", s3)
	}
	mustClose(t, c)
	s4 := PoolStats()
	if s4.LiveVideoFrames != s0.LiveVideoFrames || s4.LiveBuffers != s0.LiveBuffers || s4.IdleBuffers != s0.IdleBuffers+1 {
		t.Fatalf("last Close must return the buffer to the pool: %+v", s4)
	}
	// The next frame of the same size class reuses it instead of allocating.
	g := newPattern(t, I420, 7, 5, 2)
	defer g.Close()
	s5 := PoolStats()
	if s5.BufferAllocs != s4.BufferAllocs || s5.BufferReuses != s4.BufferReuses+1 || s5.IdleBuffers != s4.IdleBuffers-1 {
		t.Fatalf("expected a pool hit: %+v", s5)
	}
}

func TestCloneSharesPixelsAndSurvivesClose(t *testing.T) {
	checkLeaks(t)
	f, err := AllocVideoFrame(VideoFrameInit{Format: RGBA, CodedWidth: 3, CodedHeight: 2, Timestamp: -5})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := f.Plane(0)
	for i := range p.Data {
		p.Data[i] = byte(i)
	}
	c, err := f.Clone()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cp, _ := c.Plane(0)
	if &cp.Data[0] != &p.Data[0] {
		t.Fatal("Clone copied the pixels instead of sharing them")
	}
	if c.Timestamp() != -5 || c.Format() != RGBA || c.CodedWidth() != 3 || c.CodedHeight() != 2 {
		t.Fatalf("clone metadata: %v", c)
	}
	mustClose(t, f)
	if !f.Closed() || c.Closed() {
		t.Fatal("closing the original must not close the clone")
	}
	// Churn the pool; the clone's buffer must not be handed out.
	for range 10 {
		g, _ := AllocVideoFrame(VideoFrameInit{Format: RGBA, CodedWidth: 3, CodedHeight: 2})
		gp, _ := g.Plane(0)
		clear(gp.Data)
		g.Close()
	}
	cp, err = c.Plane(0)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range cp.Data {
		if b != byte(i) {
			t.Fatalf("clone pixel %d = %d after original closed", i, b)
		}
	}
}

func TestStaleCopyAfterHandleReuse(t *testing.T) {
	checkLeaks(t)
	f := newPattern(t, NV12, 5, 3, 3)
	stale := f // a copy, as held by some other component
	mustClose(t, f)
	g := newPattern(t, RGBA, 2, 2, 4)
	defer g.Close()
	if g.h != f.h {
		t.Fatal("test premise: LIFO free list should reuse the handle")
	}
	checkAllClosed(t, stale) // includes stale.Close()
	if g.Closed() || g.Format() != RGBA || g.CodedWidth() != 2 {
		t.Fatalf("stale Close affected the new frame: %v", g)
	}
	p, err := g.Plane(0)
	if err != nil || p.Data[0] != sample(4, 0, 0, 0, 0) {
		t.Fatalf("new frame damaged: %v", err)
	}
}

func TestPlaneGeometry(t *testing.T) {
	checkLeaks(t)
	for _, f := range allPixelFormats {
		for _, sz := range [][2]int{{1, 1}, {3, 5}, {16, 9}, {17, 8}} {
			w, h := sz[0], sz[1]
			fr := newPattern(t, f, w, h, 5)
			specs := specOf(f, w, h)
			size, _ := fr.AllocationSize()
			if size != tightSize(specs) {
				t.Errorf("%v %dx%d AllocationSize %d, want %d", f, w, h, size, tightSize(specs))
			}
			if f.NumPlanes() != len(specs) {
				t.Errorf("%v NumPlanes %d", f, f.NumPlanes())
			}
			l, _ := fr.Layout()
			off := 0
			for i, s := range specs {
				p, err := fr.Plane(i)
				if err != nil {
					t.Fatal(err)
				}
				if p.Width != s.w || p.Height != s.h || p.Stride != s.rowBytes() || len(p.Data) != s.rowBytes()*s.h || cap(p.Data) != len(p.Data) {
					t.Errorf("%v %dx%d plane %d: %+v", f, w, h, i, p)
				}
				if l[i] != (PlaneLayout{off, s.rowBytes()}) {
					t.Errorf("%v plane %d layout %+v, want offset %d", f, i, l[i], off)
				}
				off += s.rowBytes() * s.h
			}
			for _, bad := range []int{-1, len(specs)} {
				if _, err := fr.Plane(bad); fieldOf(err) != "index" {
					t.Errorf("Plane(%d): %v", bad, err)
				}
			}
			fr.Close()
		}
	}
}

func TestCopyToRoundTrip(t *testing.T) {
	checkLeaks(t)
	sizes := [][2]int{{1, 1}, {2, 2}, {3, 5}, {5, 3}, {17, 9}, {33, 1}, {1, 31}, {640, 360}}
	for _, f := range allPixelFormats {
		for _, sz := range sizes {
			w, h := sz[0], sz[1]
			t.Run(fmt.Sprintf("%v_%dx%d", f, w, h), func(t *testing.T) {
				const junk = 0xEE
				seed := w*7 + h
				specs := specOf(f, w, h)
				srcL, n := paddedLayout(specs, 5, 3)
				src := bytes.Repeat([]byte{0xAA}, n+7)
				fill(src, specs, srcL, seed)
				fr, err := NewVideoFrame(src, VideoFrameInit{Format: f, CodedWidth: w, CodedHeight: h, Layout: srcL})
				if err != nil {
					t.Fatal(err)
				}
				defer fr.Close()
				clear(src) // the frame must own a copy

				// Direct plane access matches the pattern.
				for i, s := range specs {
					p, _ := fr.Plane(i)
					verify(t, fmt.Sprintf("Plane(%d)", i), p.Data, []planeSpec{s}, []PlaneLayout{{0, p.Stride}}, seed+i*71, p.Data[0]^1)
				}

				// Custom destination layout, different from the source's.
				dstL, m := paddedLayout(specs, 11, 8)
				dst := bytes.Repeat([]byte{junk}, m+9)
				got, err := fr.CopyTo(dst, dstL)
				if err != nil {
					t.Fatal(err)
				}
				if &got[0] != &dstL[0] {
					t.Error("CopyTo with a layout should return that layout")
				}
				verify(t, "CopyTo(custom)", dst, specs, dstL, seed, junk)

				// Tight copy, verified against an independently computed layout.
				size, _ := fr.AllocationSize()
				tight := bytes.Repeat([]byte{junk}, size)
				tl, err := fr.CopyTo(tight, nil)
				if err != nil {
					t.Fatal(err)
				}
				want := make([]PlaneLayout, len(specs))
				off := 0
				for i, s := range specs {
					want[i] = PlaneLayout{off, s.rowBytes()}
					off += s.rowBytes() * s.h
				}
				if fmt.Sprint(tl) != fmt.Sprint(want) || size != off {
					t.Fatalf("tight layout %v size %d, want %v size %d", tl, size, want, off)
				}
				verify(t, "CopyTo(nil)", tight, specs, want, seed, junk)

				// Round trip: a frame built from the custom copy equals the
				// original byte for byte.
				back, err := NewVideoFrame(dst, VideoFrameInit{Format: f, CodedWidth: w, CodedHeight: h, Layout: dstL})
				if err != nil {
					t.Fatal(err)
				}
				defer back.Close()
				tight2 := make([]byte, size)
				if _, err := back.CopyTo(tight2, nil); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(tight, tight2) {
					t.Fatal("round trip through custom layout changed pixels")
				}
			})
		}
	}
}

func TestCopyToValidation(t *testing.T) {
	checkLeaks(t)
	f := newPattern(t, I420, 3, 3, 9) // Y 9 bytes, U/V 4 bytes each
	defer f.Close()
	tests := []struct {
		name   string
		dst    int
		layout []PlaneLayout
		field  string
	}{
		{"tight ok", 17, nil, ""},
		{"tight short", 16, nil, "dst"},
		{"empty dst", 0, nil, "dst"},
		{"layout ok", 40, []PlaneLayout{{20, 3}, {0, 2}, {8, 4}}, ""},
		{"layout count", 40, []PlaneLayout{{0, 3}}, "layout"},
		{"layout stride", 40, []PlaneLayout{{0, 2}, {9, 2}, {13, 2}}, "layout[0].Stride"},
		{"layout negative", 40, []PlaneLayout{{0, 3}, {-9, 2}, {13, 2}}, "layout[1].Offset"},
		{"layout overlap", 40, []PlaneLayout{{0, 3}, {8, 2}, {13, 2}}, "layout[1].Offset"},
		{"dst short for layout", 16, []PlaneLayout{{0, 3}, {9, 2}, {13, 2}}, "dst"},
		{"offset past dst", 17, []PlaneLayout{{0, 3}, {9, 2}, {18, 2}}, "layout[2].Offset"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.CopyTo(make([]byte, tc.dst), tc.layout)
			if got := fieldOf(err); got != tc.field || (tc.field == "" && err != nil) {
				t.Fatalf("error %v names %q, want %q", err, got, tc.field)
			}
		})
	}
}

func TestColorSpaceResolution(t *testing.T) {
	checkLeaks(t)
	tests := []struct {
		format PixelFormat
		in     ColorSpace
		want   ColorSpace
	}{
		{I420, ColorSpace{}, ColorSpaceBT709Limited},
		{NV12, ColorSpace{FullRange: true}, ColorSpaceBT709Full},
		{I420, ColorSpaceBT601Limited, ColorSpaceBT601Limited},
		{NV12, ColorSpaceBT601Full, ColorSpaceBT601Full},
		{I420, ColorSpaceBT709Full, ColorSpaceBT709Full},
		{RGBA, ColorSpace{}, ColorSpaceSRGB},
		{BGRX, ColorSpaceBT601Limited, ColorSpaceSRGB},
	}
	for _, tc := range tests {
		f, err := AllocVideoFrame(VideoFrameInit{Format: tc.format, CodedWidth: 2, CodedHeight: 2, ColorSpace: tc.in})
		if err != nil {
			t.Fatal(err)
		}
		if got := f.ColorSpace(); got != tc.want {
			t.Errorf("%v %+v: got %+v, want %+v", tc.format, tc.in, got, tc.want)
		}
		f.Close()
	}
}

func TestWithTimestamp(t *testing.T) {
	checkLeaks(t)
	f := newPattern(t, BGRA, 4, 4, 1)
	defer f.Close()
	g, err := f.WithTimestamp(123, 456)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if g.Timestamp() != 123 || g.Duration() != 456 || f.Timestamp() != 1000 || f.Duration() != 40000 {
		t.Fatalf("timing: f=%v g=%v", f, g)
	}
	fp, _ := f.Plane(0)
	gp, _ := g.Plane(0)
	if &fp.Data[0] != &gp.Data[0] {
		t.Fatal("WithTimestamp should share pixels")
	}
	if _, err := f.WithTimestamp(0, -1); fieldOf(err) != "Duration" {
		t.Fatalf("negative duration: %v", err)
	}
}

func TestPixelFormatNames(t *testing.T) {
	for _, f := range allPixelFormats {
		p, err := ParsePixelFormat(strings.ToLower(f.String()))
		if err != nil || p != f {
			t.Errorf("ParsePixelFormat(%q) = %v, %v", f.String(), p, err)
		}
	}
	if _, err := ParsePixelFormat("YUY2"); fieldOf(err) != "format" {
		t.Errorf("ParsePixelFormat(YUY2): %v", err)
	}
	if FormatUnknown.NumPlanes() != 0 || PixelFormat(99).String() != "PixelFormat(99)" {
		t.Error("invalid formats")
	}
}

func TestSizeClasses(t *testing.T) {
	prev := -1
	for n := 1; n <= 1<<maxPooledShift; n += 1 + n/97 {
		c := classOf(n)
		if c < prev || c < 0 || c >= numClasses {
			t.Fatalf("classOf(%d) = %d after %d", n, c, prev)
		}
		prev = c
		s := classSize(c)
		if s < n || (n > 64 && s-n > n/4) {
			t.Fatalf("classOf(%d) = %d with size %d", n, c, s)
		}
		if c > 0 && classSize(c-1) >= n {
			t.Fatalf("classOf(%d) = %d is not the smallest fit", n, c)
		}
	}
	if classOf(1<<maxPooledShift+1) != -1 {
		t.Error("oversize buffers must not be pooled")
	}
	if classOf(1920*1080*3/2) == classOf(1920*1080*4) {
		t.Error("distinct frame sizes share a class")
	}
}
