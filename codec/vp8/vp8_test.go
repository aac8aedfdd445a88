package vp8

import (
	"errors"
	"math"
	"testing"

	"github.com/shadercast/shadercast/media"
)

// Patch geometry and colour (BT.601 limited-range YUV of a saturated
// orange) for the round-trip test.
const (
	patchX, patchY, patchW, patchH = 96, 64, 128, 96
	patchYv, patchU, patchV        = 150, 60, 190
)

// pattern fills an I420 frame: a diagonal luma gradient and smooth chroma
// ramps that scroll by shift pixels, a fine texture when textured is set
// (so the encoder needs real bits), and a solid patch.
func pattern(t testing.TB, w, h int, ts int64, shift int, textured bool) media.VideoFrame {
	t.Helper()
	f, err := media.AllocVideoFrame(media.VideoFrameInit{Format: media.I420, CodedWidth: w, CodedHeight: h, Timestamp: ts})
	if err != nil {
		t.Fatal(err)
	}
	y, _ := f.Plane(0)
	u, _ := f.Plane(1)
	v, _ := f.Plane(2)
	for r := range y.Height {
		row := y.Data[r*y.Stride:]
		for c := range y.Width {
			val := 16 + ((c+shift)*219/max(1, w)+r*219/max(1, h))/2
			if textured {
				// deterministic hash noise that moves with the content
				x := uint32((c+shift)*7919 + r*104729)
				x ^= x >> 13
				x *= 0x5bd1e995
				val += int(x>>27) - 16
			}
			row[c] = byte(min(235, max(16, val)))
		}
	}
	for r := range u.Height {
		for c := range u.Width {
			u.Data[r*u.Stride+c] = byte(64 + ((c+shift/2)*128/max(1, u.Width))%128)
			v.Data[r*v.Stride+c] = byte(64 + r*128/max(1, u.Height))
		}
	}
	if w >= patchX+patchW && h >= patchY+patchH {
		for r := patchY; r < patchY+patchH; r++ {
			for c := patchX; c < patchX+patchW; c++ {
				y.Data[r*y.Stride+c] = patchYv
			}
		}
		for r := patchY / 2; r < (patchY+patchH)/2; r++ {
			for c := patchX / 2; c < (patchX+patchW)/2; c++ {
				u.Data[r*u.Stride+c] = patchU
				v.Data[r*v.Stride+c] = patchV
			}
		}
	}
	return f
}

func psnrY(t testing.TB, a, b media.VideoFrame) float64 {
	t.Helper()
	pa, err := a.Plane(0)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := b.Plane(0)
	if err != nil {
		t.Fatal(err)
	}
	if pa.Width != pb.Width || pa.Height != pb.Height {
		t.Fatalf("size mismatch %dx%d vs %dx%d", pa.Width, pa.Height, pb.Width, pb.Height)
	}
	var sse float64
	for r := range pa.Height {
		for c := range pa.Width {
			d := float64(pa.Data[r*pa.Stride+c]) - float64(pb.Data[r*pb.Stride+c])
			sse += d * d
		}
	}
	mse := sse / float64(pa.Width*pa.Height)
	if mse == 0 {
		return 99
	}
	return 10 * math.Log10(255*255/mse)
}

// meanRect averages plane i over a rectangle given in that plane's samples.
func meanRect(t testing.TB, f media.VideoFrame, i, x0, y0, x1, y1 int) float64 {
	t.Helper()
	p, err := f.Plane(i)
	if err != nil {
		t.Fatal(err)
	}
	var s float64
	for r := y0; r < y1; r++ {
		for c := x0; c < x1; c++ {
			s += float64(p.Data[r*p.Stride+c])
		}
	}
	return s / float64((x1-x0)*(y1-y0))
}

func newEnc(t testing.TB, w, h, bps int) *Encoder {
	t.Helper()
	e, err := NewEncoder(EncoderConfig{Width: w, Height: h, Bitrate: bps, FrameRate: 30, Threads: 1, KeyframeInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func newDec(t testing.TB) *Decoder {
	t.Helper()
	d, err := NewDecoder(1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

const frameDur = 33333

func TestRoundTripPSNR(t *testing.T) {
	const w, h = 640, 360
	e, d := newEnc(t, w, h, 1_000_000), newDec(t)
	var buf []byte
	for i := range 30 {
		ts := int64(i) * frameDur
		src := pattern(t, w, h, ts, 0, false)
		pkt, err := e.Encode(src, false, buf)
		if err != nil {
			t.Fatal(err)
		}
		buf = pkt.Data[:0]
		if pkt.PTS != ts {
			t.Errorf("frame %d: PTS %d, want %d", i, pkt.PTS, ts)
		}
		if pkt.Duration <= 0 {
			t.Errorf("frame %d: duration %d", i, pkt.Duration)
		}
		if (i == 0) != pkt.Keyframe {
			t.Errorf("frame %d: keyframe=%v", i, pkt.Keyframe)
		}
		out, err := d.Decode(pkt.Data, pkt.PTS)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if out.CodedWidth() != w || out.CodedHeight() != h || out.Timestamp() != ts {
			t.Fatalf("decoded %v", out)
		}
		p := psnrY(t, src, out)
		if i >= 5 && p < 30 {
			t.Errorf("frame %d: PSNR(Y) %.1f dB < 30", i, p)
		}
		if i == 29 {
			t.Logf("PSNR(Y) frame 0..: last %.1f dB, packet %d bytes", p, len(pkt.Data))
			// Interior of the patch, away from block edges that blur.
			checks := []struct {
				plane          int
				x0, y0, x1, y1 int
				want           float64
			}{
				{0, patchX + 8, patchY + 8, patchX + patchW - 8, patchY + patchH - 8, patchYv},
				{1, patchX/2 + 4, patchY/2 + 4, (patchX+patchW)/2 - 4, (patchY+patchH)/2 - 4, patchU},
				{2, patchX/2 + 4, patchY/2 + 4, (patchX+patchW)/2 - 4, (patchY+patchH)/2 - 4, patchV},
			}
			for _, c := range checks {
				if m := meanRect(t, out, c.plane, c.x0, c.y0, c.x1, c.y1); math.Abs(m-c.want) > 3 {
					t.Errorf("patch plane %d mean %.1f, want %v±3", c.plane, m, c.want)
				}
			}
		}
		src.Close()
		out.Close()
	}
}

func TestKeyframeOnRequest(t *testing.T) {
	const w, h = 320, 180
	e := newEnc(t, w, h, 500_000)
	var pkts []Packet
	for i := range 20 {
		f := pattern(t, w, h, int64(i)*frameDur, i, true)
		if i == 10 {
			e.RequestKeyframe()
			e.RequestKeyframe() // coalesced: one keyframe
		}
		pkt, err := e.Encode(f, i == 15, nil)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, pkt)
	}
	for i, p := range pkts {
		want := i == 0 || i == 10 || i == 15
		if p.Keyframe != want {
			t.Errorf("packet %d: keyframe=%v, want %v", i, p.Keyframe, want)
		}
	}
	// A decoder joining at a delta frame fails; at the requested keyframe it
	// decodes the rest.
	d := newDec(t)
	if f, err := d.Decode(pkts[5].Data, 0); err == nil {
		f.Close()
		t.Error("decoding a delta frame first: no error")
	}
	d2 := newDec(t)
	for i := 10; i < len(pkts); i++ {
		f, err := d2.Decode(pkts[i].Data, pkts[i].PTS)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		f.Close()
	}
}

func avgSize(ps []Packet) float64 {
	n := 0
	for _, p := range ps {
		n += len(p.Data)
	}
	return float64(n) / float64(len(ps))
}

func TestSetBitrate(t *testing.T) {
	const w, h = 640, 360
	e := newEnc(t, w, h, 2_000_000)
	enc := func(from, n int) []Packet {
		var ps []Packet
		for i := from; i < from+n; i++ {
			f := pattern(t, w, h, int64(i)*frameDur, 3*i, true)
			p, err := e.Encode(f, false, nil)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, p)
		}
		return ps
	}
	high := avgSize(enc(0, 45)[15:])
	if err := e.SetBitrate(300_000); err != nil {
		t.Fatal(err)
	}
	low := avgSize(enc(45, 45)[15:])
	t.Logf("avg packet: %.0f B at 2 Mbps, %.0f B at 300 kbps (targets %d / %d B)", high, low, 2_000_000/8/30, 300_000/8/30)
	if low > high*0.4 {
		t.Errorf("bitrate drop had little effect: %.0f -> %.0f bytes/frame", high, low)
	}
	if e.Config().Bitrate != 300_000 {
		t.Errorf("Config().Bitrate = %d", e.Config().Bitrate)
	}
	if err := e.SetBitrate(1); err == nil {
		t.Error("SetBitrate(1): no error")
	}
}

func TestOddSize(t *testing.T) {
	const w, h = 321, 181
	e, d := newEnc(t, w, h, 800_000), newDec(t)
	for i := range 10 {
		src := pattern(t, w, h, int64(i)*frameDur, 0, false)
		pkt, err := e.Encode(src, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := d.Decode(pkt.Data, pkt.PTS)
		if err != nil {
			t.Fatal(err)
		}
		if out.CodedWidth() != w || out.CodedHeight() != h {
			t.Fatalf("decoded %dx%d", out.CodedWidth(), out.CodedHeight())
		}
		if p := psnrY(t, src, out); i >= 3 && p < 30 {
			t.Errorf("frame %d: PSNR(Y) %.1f dB", i, p)
		}
		// The last chroma column/row (odd size) must survive too.
		if m := meanRect(t, out, 1, 160, 0, 161, 90); math.Abs(m-meanRect(t, src, 1, 160, 0, 161, 90)) > 6 {
			t.Errorf("last chroma column off: %.1f", m)
		}
		src.Close()
		out.Close()
	}
}

func TestRejectsBadFrames(t *testing.T) {
	e := newEnc(t, 640, 360, 1_000_000)
	small := pattern(t, 320, 180, 0, 0, false)
	defer small.Close()
	if _, err := e.Encode(small, false, nil); err == nil {
		t.Error("wrong size: no error")
	} else {
		t.Log(err)
	}
	rgba, err := media.AllocVideoFrame(media.VideoFrameInit{Format: media.RGBA, CodedWidth: 640, CodedHeight: 360})
	if err != nil {
		t.Fatal(err)
	}
	defer rgba.Close()
	if _, err := e.Encode(rgba, false, nil); err == nil {
		t.Error("RGBA: no error")
	} else {
		t.Log(err)
	}
	closed := pattern(t, 640, 360, 0, 0, false)
	closed.Close()
	if _, err := e.Encode(closed, false, nil); !errors.Is(err, media.ErrClosed) {
		t.Errorf("closed frame: %v", err)
	}
	ok := pattern(t, 640, 360, 1000, 0, false)
	defer ok.Close()
	if _, err := e.Encode(ok, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Encode(ok, false, nil); err == nil {
		t.Error("repeated timestamp: no error")
	}
	for _, cfg := range []EncoderConfig{
		{Width: 0, Height: 10, Bitrate: 1e6},
		{Width: 10, Height: 10, Bitrate: 1},
		{Width: 10, Height: 10, Bitrate: 1e6, CPUUsed: 17},
		{Width: 10, Height: 10, Bitrate: 1e6, FrameRate: -1},
	} {
		if e, err := NewEncoder(cfg); err == nil {
			e.Close()
			t.Errorf("NewEncoder(%+v): no error", cfg)
		}
	}
	e.Close()
	if _, err := e.Encode(ok, false, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("closed encoder: %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	const w, h = 320, 180
	e := newEnc(t, w, h, 500_000)
	f := pattern(t, w, h, 0, 0, true)
	defer f.Close()
	key, err := e.Encode(f, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := newDec(t)
	if _, err := d.Decode(nil, 0); err == nil {
		t.Error("empty packet: no error")
	}
	if _, err := d.Decode([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0); err == nil {
		t.Error("garbage: no error")
	}
	if out, err := d.Decode(key.Data[:len(key.Data)/3], 0); err == nil {
		out.Close()
		t.Error("truncated keyframe: no error")
	} else {
		t.Log(err)
	}
	out, err := d.Decode(key.Data, 0)
	if err != nil {
		t.Fatalf("intact keyframe after errors: %v", err)
	}
	out.Close()
}

func TestEncodeZeroAllocs(t *testing.T) {
	const w, h = 320, 180
	e := newEnc(t, w, h, 500_000)
	base := pattern(t, w, h, 0, 0, true)
	defer base.Close()
	var buf []byte
	ts := int64(0)
	step := func() {
		ts += frameDur
		f, err := base.WithTimestamp(ts, frameDur)
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.Encode(f, false, buf)
		if err != nil {
			t.Fatal(err)
		}
		buf = p.Data[:0]
		f.Close()
	}
	for range 10 {
		step()
	}
	buf = make([]byte, 0, 1<<20)
	if n := testing.AllocsPerRun(50, step); n != 0 {
		t.Errorf("Encode allocates %.1f times per frame", n)
	}
}

func TestNoLeaks(t *testing.T) {
	before := media.PoolStats().LiveVideoFrames
	TestOddSize(t)
	if after := media.PoolStats().LiveVideoFrames; after != before {
		t.Errorf("live frames %d -> %d", before, after)
	}
}
