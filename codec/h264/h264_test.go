package h264

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shadercast/shadercast/internal/codectest"
	"github.com/shadercast/shadercast/media"
)

const frameDur = codectest.FrameDur

func newEnc(t testing.TB, w, h, bps int) *Encoder {
	t.Helper()
	e, err := NewEncoder(EncoderConfig{Width: w, Height: h, Bitrate: bps, FrameRate: 30, Threads: 1, KeyframeInterval: -1},
		media.ColorSpace{Matrix: media.MatrixBT709})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func newDec(t testing.TB) *Decoder {
	t.Helper()
	d, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// encodeClip encodes n frames of the moving pattern and returns the
// sources (closed by the test's end) and the packets.
func encodeClip(t *testing.T, e *Encoder, w, h, n int) ([]media.VideoFrame, []Packet) {
	t.Helper()
	var srcs []media.VideoFrame
	var pkts []Packet
	for i := range n {
		src := codectest.Pattern(t, w, h, int64(i+1)*frameDur, 3*i, true)
		t.Cleanup(func() { src.Close() })
		p, err := e.Encode(src, false, nil)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		srcs, pkts = append(srcs, src), append(pkts, p)
	}
	return srcs, pkts
}

// TestRoundTrip: 30 frames of a moving textured picture at 720p and 2.5
// Mbps decode, with our decoder, to within 30 dB of the source each; the
// first access unit is an IDR whose SPS says constrained baseline at
// level 3.1 and 1280x720, the others are not IDRs; durations and
// timestamps are the frames'.
func TestRoundTrip(t *testing.T) {
	const w, h = 1280, 720
	e, d := newEnc(t, w, h, 2_500_000), newDec(t)
	srcs, pkts := encodeClip(t, e, w, h, 30)
	sps := spsOf(t, pkts[0].Data)
	if !sps.ConstrainedBaseline() || sps.Level != 31 || sps.Width != w || sps.Height != h {
		t.Errorf("SPS %+v, want constrained baseline 3.1 1280x720", sps)
	}
	if e.Level().ProfileLevelID() != "42e01f" {
		t.Errorf("profile-level-id %s", e.Level().ProfileLevelID())
	}
	for i, p := range pkts {
		if p.Keyframe != (i == 0) {
			t.Errorf("packet %d: keyframe %v", i, p.Keyframe)
		}
		if p.PTS != int64(i+1)*frameDur {
			t.Errorf("packet %d: PTS %d", i, p.PTS)
		}
		out, err := d.Decode(p.Data, p.PTS)
		if err != nil {
			t.Fatalf("decode %d: %v", i, err)
		}
		if out.CodedWidth() != w || out.CodedHeight() != h || out.Timestamp() != p.PTS {
			t.Fatalf("decoded %dx%d at %d", out.CodedWidth(), out.CodedHeight(), out.Timestamp())
		}
		if psnr := codectest.PSNRY(t, srcs[i], out); psnr < 30 {
			t.Errorf("frame %d: PSNR(Y) %.1f dB", i, psnr)
		}
		out.Close()
	}
}

// TestIndependentDecoder: what the encoder makes is decoded by FFmpeg too
// (another decoder than openh264's), to the same pictures within 30 dB of
// the source, and ffprobe reads its profile and colour matrix.
func TestIndependentDecoder(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal("ffmpeg is needed (scripts/install-deps installs it)")
	}
	const w, h, n = 640, 360, 20
	e := newEnc(t, w, h, 1_500_000)
	srcs, pkts := encodeClip(t, e, w, h, n)
	var stream bytes.Buffer
	for _, p := range pkts {
		stream.Write(p.Data)
	}
	file := filepath.Join(t.TempDir(), "clip.h264")
	if err := os.WriteFile(file, stream.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	raw, err := exec.Command(ffmpeg, "-v", "error", "-i", file, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	size := w*h + 2*(w/2)*(h/2)
	if len(raw) != n*size {
		t.Fatalf("ffmpeg decoded %d bytes, want %d frames of %d", len(raw), n, size)
	}
	for i := range n {
		f, err := media.NewVideoFrame(raw[i*size:(i+1)*size], media.VideoFrameInit{Format: media.I420, CodedWidth: w, CodedHeight: h})
		if err != nil {
			t.Fatal(err)
		}
		if psnr := codectest.PSNRY(t, srcs[i], f); psnr < 30 {
			t.Errorf("frame %d through FFmpeg: PSNR(Y) %.1f dB", i, psnr)
		}
		f.Close()
	}
	probe, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
		"stream=profile,level,color_space,width,height", "-of", "default=nw=1", file).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	for _, want := range []string{"profile=Constrained Baseline", "width=640", "height=360", "color_space=bt709"} {
		if !bytes.Contains(probe, []byte(want)) {
			t.Errorf("ffprobe says %q, want %s", probe, want)
		}
	}
}

// TestDecodesMainAndHigh: streams of the profiles OBS and phones send
// (baseline, and main and high with CABAC; made by FFmpeg's libx264)
// decode to what FFmpeg decodes them to, each picture with its own access
// unit's timestamp (main and high come one call late; Flush gives the
// last).
func TestDecodesMainAndHigh(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal("ffmpeg is needed (scripts/install-deps installs it)")
	}
	const w, h, n = 320, 240, 12
	for _, profile := range []string{"baseline", "main", "high", "high-bframes"} {
		t.Run(profile, func(t *testing.T) {
			bframes := profile == "high-bframes"
			profile, _, _ := strings.Cut(profile, "-")
			dir := t.TempDir()
			file := filepath.Join(dir, "in.h264")
			cmd := exec.Command(ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-frames:v", "12",
				"-c:v", "libx264", "-profile:v", profile, "-pix_fmt", "yuv420p", "-bf", map[bool]string{false: "0", true: "2"}[bframes], file)
			if profile != "baseline" {
				cmd.Args = append(cmd.Args[:len(cmd.Args)-1], "-x264-params", "cabac=1", file)
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("ffmpeg (libx264): %v %s", err, out)
			}
			stream, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := exec.Command(ffmpeg, "-v", "error", "-i", file, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-").Output()
			if err != nil {
				t.Fatal(err)
			}
			d := newDec(t)
			size := w*h + 2*(w/2)*(h/2)
			got := 0
			check := func(out media.VideoFrame) {
				t.Helper()
				// With B-frames the access units come in decode order;
				// their timestamps here are that order, not the display's.
				if !bframes && out.Timestamp() != int64(got) {
					t.Errorf("picture %d carries the timestamp of access unit %d", got, out.Timestamp())
				}
				ref, err := media.NewVideoFrame(raw[got*size:(got+1)*size], media.VideoFrameInit{Format: media.I420, CodedWidth: w, CodedHeight: h})
				if err != nil {
					t.Fatal(err)
				}
				if psnr := codectest.PSNRY(t, ref, out); psnr < 45 {
					t.Errorf("picture %d: PSNR(Y) %.1f dB against FFmpeg's decode", got, psnr)
				}
				ref.Close()
				out.Close()
				got++
			}
			for i, au := range accessUnits(stream) {
				out, err := d.Decode(au, int64(i))
				if errors.Is(err, ErrNoFrame) {
					continue
				}
				if err != nil {
					t.Fatalf("access unit %d: %v", i, err)
				}
				check(out)
			}
			for {
				out, err := d.Flush()
				if errors.Is(err, ErrNoFrame) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				check(out)
			}
			if got != n {
				t.Errorf("%d pictures decoded, want %d", got, n)
			}
		})
	}
}

// accessUnits splits an Annex B stream at each slice that starts a new
// picture (first_mb_in_slice 0: its first payload bit set), with the
// parameter sets before it.
func accessUnits(b []byte) [][]byte {
	var out [][]byte
	start, seenSlice := 0, false
	for i := 0; i+3 < len(b); i++ {
		if b[i] != 0 || b[i+1] != 0 || b[i+2] != 1 {
			continue
		}
		at := i
		if at > 0 && b[at-1] == 0 {
			at--
		}
		typ := b[i+3] & 0x1f
		newPic := (typ == NALSlice || typ == NALIDRSlice) && i+4 < len(b) && b[i+4]&0x80 != 0
		if (newPic || typ == NALSPS || typ == NALAUD) && seenSlice {
			out = append(out, b[start:at])
			start, seenSlice = at, false
		}
		if typ == NALSlice || typ == NALIDRSlice {
			seenSlice = true
		}
		i += 2
	}
	return append(out, b[start:])
}

func spsOf(t *testing.T, au []byte) SPS {
	t.Helper()
	for _, nal := range NALUnits(au) {
		if nal[0]&0x1f == NALSPS {
			s, err := ParseSPS(nal)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	t.Fatal("no SPS in the access unit")
	return SPS{}
}

// TestKeyframeOnRequest: RequestKeyframe (any number of times) makes the
// next access unit one IDR with SPS and PPS, which a fresh decoder starts
// from; the one after is not an IDR.
func TestKeyframeOnRequest(t *testing.T) {
	const w, h = 320, 180
	e := newEnc(t, w, h, 500_000)
	var pkts []Packet
	for i := range 8 {
		if i == 5 {
			e.RequestKeyframe()
			e.RequestKeyframe()
		}
		f := codectest.Pattern(t, w, h, int64(i+1)*frameDur, i, true)
		p, err := e.Encode(f, false, nil)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, p)
	}
	for i, p := range pkts {
		if p.Keyframe != (i == 0 || i == 5) {
			t.Errorf("packet %d: keyframe %v", i, p.Keyframe)
		}
	}
	types := map[byte]bool{}
	for _, nal := range NALUnits(pkts[5].Data) {
		types[nal[0]&0x1f] = true
	}
	if !types[NALSPS] || !types[NALPPS] || !types[NALIDRSlice] {
		t.Errorf("requested IDR holds NAL types %v", types)
	}
	d := newDec(t)
	if out, err := d.Decode(pkts[4].Data, 0); err == nil {
		out.Close()
		t.Error("a fresh decoder decoded a P frame")
	}
	for _, p := range pkts[5:] {
		out, err := d.Decode(p.Data, p.PTS)
		if err != nil {
			t.Fatalf("from the IDR on: %v", err)
		}
		out.Close()
	}
}

// TestRejectsBadInput: wrong sizes, formats, timestamps and settings are
// errors, not crashes.
func TestRejectsBadInput(t *testing.T) {
	e := newEnc(t, 640, 360, 1_000_000)
	codectest.CheckRejectsBadFrames(t, encoder{e}, 640, 360)
	ok := codectest.Pattern(t, 640, 360, 1000, 0, false)
	defer ok.Close()
	for _, cfg := range []EncoderConfig{
		{Width: 0, Height: 10, Bitrate: 1e6},
		{Width: 11, Height: 10, Bitrate: 1e6},
		{Width: 10, Height: 10, Bitrate: 1},
		{Width: 10, Height: 10, Bitrate: 1e6, FrameRate: -1},
		{Width: 16384, Height: 16384, Bitrate: 1e6},
	} {
		if e, err := NewEncoder(cfg, media.ColorSpace{}); err == nil {
			e.Close()
			t.Errorf("NewEncoder(%+v): no error", cfg)
		}
	}
	e.Close()
	if _, err := e.Encode(ok, false, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("closed encoder: %v", err)
	}
}

// TestDecodeErrors: empty, garbage, truncated and oversized input give
// errors and no frame; the decoder goes on with the next intact IDR.
func TestDecodeErrors(t *testing.T) {
	const w, h = 320, 180
	e := newEnc(t, w, h, 500_000)
	f := codectest.Pattern(t, w, h, 1, 0, true)
	defer f.Close()
	key, err := e.Encode(f, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := newDec(t)
	if _, err := d.Decode(nil, 0); err == nil {
		t.Error("empty access unit: no error")
	}
	if out, err := d.Decode([]byte{0, 0, 0, 1, 0x65, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 0); err == nil {
		out.Close()
		t.Error("garbage: no error")
	}
	if out, err := d.Decode(key.Data[:len(key.Data)*2/3], 0); err == nil {
		out.Close()
		t.Log("truncated IDR decoded (openh264 may conceal a cut slice's end)")
	}
	out, err := d.Decode(key.Data, 0)
	if err != nil {
		t.Fatalf("intact IDR after errors: %v", err)
	}
	out.Close()
	d.SetMaxSize(160, 90)
	if _, err := d.Decode(key.Data, 0); !errors.Is(err, ErrTooLarge) {
		t.Errorf("IDR of 320x180 past a 160x90 bound: %v", err)
	}
}

// TestParseSPS: sizes with cropping, and hostile SPS units fail cleanly.
func TestParseSPS(t *testing.T) {
	for _, sz := range [][2]int{{1280, 720}, {1920, 1080}, {322, 182}, {16, 16}} {
		e := newEnc(t, sz[0], sz[1], 500_000)
		f := codectest.Pattern(t, sz[0], sz[1], 1, 0, false)
		p, err := e.Encode(f, false, nil)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if s := spsOf(t, p.Data); s.Width != sz[0] || s.Height != sz[1] {
			t.Errorf("%v: SPS says %dx%d", sz, s.Width, s.Height)
		}
	}
	for _, bad := range [][]byte{nil, {0x67}, {0x67, 66, 0xc0, 31}, {0x68, 1, 2, 3, 4}, {0x67, 100, 0, 31, 0, 0, 0, 0, 0, 0}} {
		if _, err := ParseSPS(bad); err == nil {
			t.Errorf("ParseSPS(%x): no error", bad)
		}
	}
}

// FuzzParseSPS: no input makes the SPS parser panic, loop or claim a
// picture past the limits.
func FuzzParseSPS(f *testing.F) {
	f.Add([]byte{0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8, 0x06, 0xd0, 0xa1, 0x35})
	f.Add([]byte{0x67, 100, 0, 40, 0xac, 0xd9, 0x40, 0x78, 0x02, 0x27, 0xe5, 0x84})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSPS(b)
		if err == nil && (s.Width <= 0 || s.Height <= 0 || s.Width > 1<<16 || s.Height > 1<<17) {
			t.Fatalf("size %dx%d", s.Width, s.Height)
		}
	})
}

// encoder adapts Encoder to codectest's checks.
type encoder struct{ *Encoder }

func (e encoder) Encode(f media.VideoFrame, key bool, dst []byte) ([]byte, bool, error) {
	p, err := e.Encoder.Encode(f, key, dst)
	return p.Data, p.Keyframe, err
}

// TestSetBitrate: a lower target makes smaller access units.
func TestSetBitrate(t *testing.T) {
	e := newEnc(t, 640, 360, 2_000_000)
	codectest.CheckBitrateChange(t, encoder{e}, 640, 360)
	if e.Config().Bitrate != 300_000 {
		t.Errorf("Config().Bitrate = %d", e.Config().Bitrate)
	}
}

// TestEncodeZeroAllocs: steady-state encoding allocates nothing when the
// packet buffer is reused.
func TestEncodeZeroAllocs(t *testing.T) {
	codectest.CheckZeroAllocs(t, encoder{newEnc(t, 320, 180, 500_000)}, 320, 180)
}

// TestQuality: at 720p and 2.5 Mbit/s the moving textured picture keeps
// above 30 dB (the figure beside package vp8's, docs/PERFORMANCE.md).
func TestQuality(t *testing.T) {
	psnr, bps := codectest.Quality(t, encoder{newEnc(t, 1280, 720, 2_500_000)}, newDec(t), 1280, 720, 90)
	t.Logf("H.264 720p: %.2f dB PSNR(Y) at %.0f kbit/s", psnr, bps/1000)
	if psnr < 30 {
		t.Errorf("%.1f dB", psnr)
	}
}
