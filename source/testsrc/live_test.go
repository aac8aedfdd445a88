package testsrc

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/shadercast/shadercast/media"
)

func checkPoolClean(t *testing.T) {
	t.Cleanup(func() {
		st := media.PoolStats()
		if st.LiveVideoFrames != 0 || st.LiveAudioData != 0 {
			t.Errorf("left open: %d video frames, %d audio blocks", st.LiveVideoFrames, st.LiveAudioData)
		}
	})
}

// lit reports whether the sync square's inside is bright in an RGBA frame,
// measured on the pixels alone.
func lit(t *testing.T, f media.VideoFrame, r image4) bool {
	p, err := f.Plane(0)
	if err != nil {
		t.Fatal(err)
	}
	var sum, n int
	for y := r.y0; y < r.y1; y++ {
		for x := r.x0; x < r.x1; x++ {
			o := y*p.Stride + 4*x
			sum += int(p.Data[o]) + int(p.Data[o+1]) + int(p.Data[o+2])
			n += 3
		}
	}
	return sum/n > 200
}

type image4 struct{ x0, y0, x1, y1 int }

// TestFlashAndBeepCoincide reads video and audio concurrently for a bit
// over a second and finds, independently, where the square lights up (from
// pixels) and where the beep sounds (from the amplitude envelope: the tone
// alone never exceeds ToneLevel), then checks that they start and end
// within 1 ms of each other.
func TestFlashAndBeepCoincide(t *testing.T) {
	checkPoolClean(t)
	const fps = 47.952 // not a divisor of anything: frame edges fall between samples
	s, err := NewSource(320, 180, fps, SourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fr := s.Pattern().FlashRect()
	in := image4{fr.Min.X + 3, fr.Min.Y + 3, fr.Max.X - 3, fr.Max.Y - 3}

	const frames, blocks = 56, 60 // 1.17 s, 1.2 s
	var spans [][2]int64          // lit frames' [start, end) in µs, merged
	var samples []float32
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for k := 0; k < blocks; k++ {
			a, err := s.ReadAudio(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			if a.Timestamp() != int64(k)*20000 || a.NumberOfFrames() != AudioBlock || a.NumberOfChannels() != 2 || a.SampleRate() != AudioSampleRate {
				t.Errorf("block %d: %v", k, a)
			}
			buf := make([]byte, 4*2*AudioBlock)
			if err := a.CopyTo(buf, media.AudioDataCopyToOptions{}); err != nil {
				t.Error(err)
			}
			a.Close()
			for i := 0; i < AudioBlock; i++ {
				l := math.Float32frombits(binary.LittleEndian.Uint32(buf[8*i:]))
				r := math.Float32frombits(binary.LittleEndian.Uint32(buf[8*i+4:]))
				if l != r {
					t.Errorf("sample %d: channels differ", k*AudioBlock+i)
					return
				}
				samples = append(samples, l)
			}
		}
	}()
	var prevTS int64 = -1
	for i := 0; i < frames; i++ {
		f, err := s.ReadVideo(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if f.Timestamp() <= prevTS || f.Format() != media.RGBA || f.CodedWidth() != 320 {
			t.Fatalf("frame %d: %v", i, f)
		}
		prevTS = f.Timestamp()
		if want := int64(math.Round(float64(i) * 1e6 / fps)); f.Timestamp() != want {
			t.Errorf("frame %d at %d µs, want %d", i, f.Timestamp(), want)
		}
		if lit(t, f, in) {
			end := f.Timestamp() + f.Duration()
			if n := len(spans); n > 0 && spans[n-1][1] == f.Timestamp() {
				spans[n-1][1] = end
			} else {
				spans = append(spans, [2]int64{f.Timestamp(), end})
			}
		}
		f.Close()
	}
	wg.Wait()
	if len(spans) != 2 {
		t.Fatalf("lit spans %v, want two (frame 0 and the first frame after 1 s)", spans)
	}

	// Beep spans from the envelope, in µs.
	var beeps [][2]int64
	lastLoud := -1000
	for n, v := range samples {
		if math.Abs(float64(v)) <= ToneLevel+0.02 {
			continue
		}
		us := int64(n) * 1_000_000 / AudioSampleRate
		if n-lastLoud > 48 { // >1 ms of quiet: a new beep
			beeps = append(beeps, [2]int64{us, us})
		}
		beeps[len(beeps)-1][1] = us
		lastLoud = n
	}
	if len(beeps) != len(spans) {
		t.Fatalf("beeps %v, flashes %v", beeps, spans)
	}
	for i := range spans {
		if d := beeps[i][0] - spans[i][0]; d < 0 || d > 1000 {
			t.Errorf("flash %d starts at %d µs, beep at %d", i, spans[i][0], beeps[i][0])
		}
		if d := spans[i][1] - beeps[i][1]; d < 0 || d > 1000 {
			t.Errorf("flash %d ends at %d µs, beep's last loud sample at %d", i, spans[i][1], beeps[i][1])
		}
		// The beep is the 1 kHz component: far more energy there than at a
		// neighbouring frequency.
		n0, n1 := int(beeps[i][0]*48/1000), int(beeps[i][1]*48/1000)
		if e1k, e700 := goertzel(samples[n0:n1], 1000), goertzel(samples[n0:n1], 700); e1k < 100*e700 {
			t.Errorf("beep %d: energy at 1 kHz %.3g vs 700 Hz %.3g", i, e1k, e700)
		}
	}
	// The tone alone elsewhere, continuous (no phase jumps between blocks):
	// consecutive samples differ by at most what a 440 Hz sine can move.
	maxStep := ToneLevel*2*math.Pi*ToneHz/AudioSampleRate + 1e-4
	for n := 1; n < len(samples); n++ {
		us := int64(n) * 1_000_000 / AudioSampleRate
		quiet := true
		for _, b := range beeps {
			if us >= b[0]-2000 && us <= b[1]+2000 {
				quiet = false
			}
		}
		if quiet && math.Abs(float64(samples[n]-samples[n-1])) > maxStep {
			t.Fatalf("sample %d: step %.4f, larger than a %d Hz tone allows", n, samples[n]-samples[n-1], ToneHz)
		}
	}
}

func goertzel(x []float32, hz float64) float64 {
	w := 2 * math.Pi * hz / AudioSampleRate
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v) + c*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - c*s1*s2
}

func TestLivePacingAndClose(t *testing.T) {
	checkPoolClean(t)
	s, err := NewSource(320, 180, 100, SourceOptions{Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < 10; i++ {
		f, err := s.ReadVideo(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if el := time.Since(start); el < 90*time.Millisecond {
		t.Errorf("10 frames at 100 fps took %v, want >= 90ms", el)
	}
	// Audio shares the clock's origin: block 10 (200 ms) is not due before
	// 200 ms after the first video frame.
	for k := 0; k <= 10; k++ {
		a, err := s.ReadAudio(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if a.NumberOfChannels() != 1 {
			t.Fatalf("%d channels", a.NumberOfChannels())
		}
		a.Close()
	}
	if el := time.Since(start); el < 190*time.Millisecond {
		t.Errorf("audio block 10 came %v after the first frame, want >= 200ms", el)
	}

	s2, _ := NewSource(320, 180, 1, SourceOptions{})
	f, err := s2.ReadVideo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	if _, err := s2.ReadVideo(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled read: %v", err)
	}
	errc := make(chan error, 2)
	go func() {
		f, err := s2.ReadVideo(context.Background())
		f.Close()
		errc <- err
	}()
	go func() {
		for { // a block every 20 ms until Close
			a, err := s2.ReadAudio(context.Background())
			if err != nil {
				errc <- err
				return
			}
			a.Close()
		}
	}()
	time.Sleep(20 * time.Millisecond)
	s2.Close()
	for i := 0; i < 2; i++ {
		select {
		case err := <-errc:
			if !errors.Is(err, ErrClosed) {
				t.Errorf("read across Close: %v", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("Close did not unblock a read")
		}
	}
	if _, err := NewSource(320, 180, 30, SourceOptions{Channels: 3}); err == nil {
		t.Error("3 channels accepted")
	}
}

func TestLiveDoesNotAllocate(t *testing.T) {
	s, err := NewSource(320, 180, 1000, SourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	// Warm the pools and the pacing timers.
	for i := 0; i < 3; i++ {
		f, _ := s.ReadVideo(ctx)
		f.Close()
		a, _ := s.ReadAudio(ctx)
		a.Close()
	}
	if n := testing.AllocsPerRun(20, func() {
		f, err := s.ReadVideo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}); n != 0 {
		t.Errorf("%v allocations per video frame", n)
	}
	// Audio is paced at 50 blocks/s: ten blocks take 200 ms.
	if n := testing.AllocsPerRun(10, func() {
		a, err := s.ReadAudio(ctx)
		if err != nil {
			t.Fatal(err)
		}
		a.Close()
	}); n != 0 {
		t.Errorf("%v allocations per audio block", n)
	}
}
