package codectest

import (
	"errors"
	"testing"

	"github.com/shadercast/shadercast/media"
)

// FrameDur is the frame interval the checks use: 30 fps, in µs.
const FrameDur = 33333

// Encoder is what the shared checks need of a video encoder (each codec
// package's test adapts its own).
type Encoder interface {
	// Encode encodes f (forcing a keyframe when asked) into dst's storage
	// and returns the packet's bytes and whether it is a keyframe.
	Encode(f media.VideoFrame, keyframe bool, dst []byte) (data []byte, key bool, err error)
	SetBitrate(bps int) error
}

// Decoder is what the benchmarks need of a decoder.
type Decoder interface {
	Decode(data []byte, ts int64) (media.VideoFrame, error)
}

// CheckBitrateChange: after SetBitrate from 2 Mbit/s to 300 kbit/s (e
// was made for 2 Mbit/s, w x h), packets shrink to less than 40% of
// their size; an absurd bitrate is refused.
func CheckBitrateChange(t *testing.T, e Encoder, w, h int) {
	t.Helper()
	avg := func(from, n int) float64 {
		total := 0
		for i := from; i < from+n; i++ {
			f := Pattern(t, w, h, int64(i+1)*FrameDur, 3*i, true)
			data, _, err := e.Encode(f, false, nil)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if i >= from+15 { // rate control settles
				total += len(data)
			}
		}
		return float64(total) / float64(n-15)
	}
	high := avg(0, 45)
	if err := e.SetBitrate(300_000); err != nil {
		t.Fatal(err)
	}
	low := avg(45, 45)
	t.Logf("avg packet: %.0f B at 2 Mbps, %.0f B at 300 kbps (targets %d / %d B)", high, low, 2_000_000/8/30, 300_000/8/30)
	if low > high*0.4 {
		t.Errorf("bitrate drop had little effect: %.0f -> %.0f bytes/frame", high, low)
	}
	if err := e.SetBitrate(1); err == nil {
		t.Error("SetBitrate(1): no error")
	}
}

// CheckRejectsBadFrames: a frame of another size, an RGBA frame, a closed
// frame (an error wrapping media.ErrClosed) and a repeated timestamp are
// refused by e, made for w x h.
func CheckRejectsBadFrames(t *testing.T, e Encoder, w, h int) {
	t.Helper()
	small := Pattern(t, w/2, h/2, 0, 0, false)
	defer small.Close()
	if _, _, err := e.Encode(small, false, nil); err == nil {
		t.Error("wrong size: no error")
	}
	rgba, err := media.AllocVideoFrame(media.VideoFrameInit{Format: media.RGBA, CodedWidth: w, CodedHeight: h})
	if err != nil {
		t.Fatal(err)
	}
	defer rgba.Close()
	if _, _, err := e.Encode(rgba, false, nil); err == nil {
		t.Error("RGBA: no error")
	}
	closed := Pattern(t, w, h, 0, 0, false)
	closed.Close()
	if _, _, err := e.Encode(closed, false, nil); !errors.Is(err, media.ErrClosed) {
		t.Errorf("closed frame: %v", err)
	}
	ok := Pattern(t, w, h, 1000, 0, false)
	defer ok.Close()
	if _, _, err := e.Encode(ok, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Encode(ok, false, nil); err == nil {
		t.Error("repeated timestamp: no error")
	}
}

// CheckZeroAllocs: steady-state encoding of w x h frames allocates
// nothing when the packet buffer is reused.
func CheckZeroAllocs(t *testing.T, e Encoder, w, h int) {
	t.Helper()
	base := Pattern(t, w, h, 0, 0, true)
	defer base.Close()
	buf := make([]byte, 0, 1<<20)
	ts := int64(0)
	enc := func() {
		ts += FrameDur
		f, err := base.WithTimestamp(ts, FrameDur)
		if err != nil {
			t.Fatal(err)
		}
		data, _, err := e.Encode(f, false, buf)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		buf = data[:0]
	}
	enc()
	if n := testing.AllocsPerRun(50, enc); n > 0 {
		t.Errorf("%.1f allocations per Encode", n)
	}
}

// BenchSizes are the sizes and bitrates the codec benchmarks compare at.
var BenchSizes = []struct {
	Name string
	W, H int
	BPS  int
}{{"720p", 1280, 720, 2_500_000}, {"1080p", 1920, 1080, 4_500_000}}

// BenchEncode encodes textured content scrolling 4 pixels a frame (every
// frame differs) and reports the bitrate it made.
func BenchEncode(b *testing.B, e Encoder, w, h int) {
	frames := make([]media.VideoFrame, 16)
	for i := range frames {
		frames[i] = Pattern(b, w, h, 0, 4*i, true)
		defer frames[i].Close()
	}
	buf := make([]byte, 0, 1<<20)
	var ts, bytes int64
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ts += FrameDur
		f, err := frames[i%len(frames)].WithTimestamp(ts, FrameDur)
		if err != nil {
			b.Fatal(err)
		}
		data, _, err := e.Encode(f, false, buf)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		buf, bytes = data[:0], bytes+int64(len(data))
	}
	b.ReportMetric(float64(bytes)*8*30/1e6/float64(b.N), "Mbps@30fps")
}

// BenchDecode decodes 60 packets of that content (a keyframe, then
// interframes) in a loop, with a keyframe at each loop's start.
func BenchDecode(b *testing.B, e Encoder, d Decoder, w, h int) {
	var pkts [][]byte
	for i := range 60 {
		f := Pattern(b, w, h, int64(i+1)*FrameDur, 4*i, true)
		data, _, err := e.Encode(f, i == 0, nil)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		pkts = append(pkts, data)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		out, err := d.Decode(pkts[i%len(pkts)], int64(i))
		if err != nil {
			b.Fatal(err)
		}
		out.Close()
	}
}

// Quality encodes n frames of w x h textured content scrolling 3 pixels a
// frame (continuously) with e, decodes them with d, and returns the mean
// luma PSNR (dB) of the pictures after the first second and the bitrate
// made over that time (bit/s at 30 fps): the codecs' quality at equal
// bitrates, beside the benchmarks' speed.
func Quality(t *testing.T, e Encoder, d Decoder, w, h, n int) (psnr, bps float64) {
	t.Helper()
	var sum float64
	var bytes, counted int
	for i := range n {
		src := Pattern(t, w, h, int64(i+1)*FrameDur, 3*i, true)
		data, _, err := e.Encode(src, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := d.Decode(data, src.Timestamp())
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if i >= 30 {
			sum += PSNRY(t, src, out)
			bytes += len(data)
			counted++
		}
		src.Close()
		out.Close()
	}
	return sum / float64(counted), float64(bytes) * 8 * 30 / float64(counted)
}
