package generator

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sync"
	"testing"

	"github.com/shadercast/shadercast/media"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewKinds(t *testing.T) {
	checkLeaks(t)
	for _, kind := range []string{KindAudio, KindVideo} {
		tr, err := New(kind)
		if err != nil {
			t.Fatalf("New(%q): %v", kind, err)
		}
		if tr.Kind() != kind || tr.Writable().Kind() != kind {
			t.Errorf("Kind = %q, %q; want %q", tr.Kind(), tr.Writable().Kind(), kind)
		}
		if !uuidRE.MatchString(tr.ID()) {
			t.Errorf("ID %q is not a v4 UUID", tr.ID())
		}
		if tr.ReadyState() != ReadyStateLive || !tr.Enabled() || tr.Muted() || tr.Label() != "" {
			t.Errorf("new track: state %q enabled %v muted %v label %q", tr.ReadyState(), tr.Enabled(), tr.Muted(), tr.Label())
		}
		tr.SetLabel("cam")
		if tr.Label() != "cam" {
			t.Errorf("Label = %q", tr.Label())
		}
		tr.Stop()
		if tr.ReadyState() != "ended" {
			t.Errorf("after Stop: %q", tr.ReadyState())
		}
	}
	for _, kind := range []string{"", "Video", "data"} {
		if tr, err := New(kind); !errors.Is(err, ErrUnknownKind) || tr != nil {
			t.Errorf("New(%q) = %v, %v; want ErrUnknownKind", kind, tr, err)
		}
	}
	a, _ := New(KindVideo)
	b, _ := New(KindVideo)
	if a.ID() == b.ID() || a.Clone().ID() == a.ID() {
		t.Error("IDs are not unique")
	}
	a.Stop()
	b.Stop()
}

func TestWriteAfterEnd(t *testing.T) {
	checkLeaks(t)
	for name, end := range map[string]func(*Track){
		"Close": func(tr *Track) { tr.Writable().Close() },
		"Stop":  func(tr *Track) { tr.Stop() },
	} {
		t.Run(name, func(t *testing.T) {
			tr := mustNew(t, KindVideo, Options{})
			end(tr)
			f := i420(t, 0)
			if err := tr.Writable().Write(context.Background(), f); !errors.Is(err, ErrEnded) {
				t.Errorf("Write after end = %v; want ErrEnded", err)
			}
			if !f.Closed() {
				t.Error("frame not closed after failed write")
			}
		})
	}
}

func TestWriteClosedFrame(t *testing.T) {
	checkLeaks(t)
	tr := mustNew(t, KindVideo, Options{})
	defer tr.Stop()
	f := i420(t, 0)
	f.Close()
	if err := tr.Writable().Write(context.Background(), f); !errors.Is(err, media.ErrClosed) {
		t.Errorf("Write(closed) = %v; want media.ErrClosed", err)
	}
	if err := tr.Writable().Write(context.Background(), media.VideoFrame{}); !errors.Is(err, media.ErrClosed) {
		t.Errorf("Write(zero) = %v; want media.ErrClosed", err)
	}
	if tr.Stats().Written != 0 {
		t.Errorf("Written = %d", tr.Stats().Written)
	}
}

type fakeFrame struct{ closed bool }

func (f *fakeFrame) Close() error     { f.closed = true; return nil }
func (f *fakeFrame) Closed() bool     { return f.closed }
func (f *fakeFrame) Timestamp() int64 { return 0 }
func (f *fakeFrame) Duration() int64  { return 0 }

func TestWriteWrongKind(t *testing.T) {
	checkLeaks(t)
	vt := mustNew(t, KindVideo, Options{})
	at := mustNew(t, KindAudio, Options{})
	defer vt.Stop()
	defer at.Stop()
	ctx := context.Background()

	a := audio(t, media.S16, 0)
	if err := vt.Writable().Write(ctx, a); !errors.Is(err, ErrWrongKind) || !a.Closed() {
		t.Errorf("audio into video: %v, closed %v", err, a.Closed())
	}
	v := i420(t, 0)
	if err := at.Writable().Write(ctx, v); !errors.Is(err, ErrWrongKind) || !v.Closed() {
		t.Errorf("video into audio: %v, closed %v", err, v.Closed())
	}
	ff := &fakeFrame{}
	if err := vt.Writable().Write(ctx, ff); !errors.Is(err, ErrWrongKind) || !ff.closed {
		t.Errorf("foreign frame: %v, closed %v", err, ff.closed)
	}
	if err := vt.Writable().Write(ctx, nil); !errors.Is(err, ErrWrongKind) {
		t.Errorf("nil frame: %v", err)
	}
}

func TestWriteCanceledContext(t *testing.T) {
	checkLeaks(t)
	tr := mustNew(t, KindVideo, Options{})
	defer tr.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := i420(t, 0)
	if err := tr.Writable().Write(ctx, f); !errors.Is(err, context.Canceled) || !f.Closed() {
		t.Errorf("Write = %v, closed %v; want context.Canceled and closed", err, f.Closed())
	}
	k := tr.NewSink()
	defer k.Close()
	if _, err := k.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next = %v; want context.Canceled", err)
	}
}

func TestMutedDropsCounted(t *testing.T) {
	checkLeaks(t)
	tr := mustNew(t, KindVideo, Options{})
	defer tr.Stop()
	clone := tr.Clone()
	defer clone.Stop()
	k := tr.NewSink()
	defer k.Close()

	clone.SetMuted(true) // muted belongs to the shared source
	if !tr.Muted() {
		t.Fatal("mute not shared by clones")
	}
	for i := range 3 {
		f := i420(t, int64(i))
		write(t, tr.Writable(), f)
		if !f.Closed() {
			t.Error("muted frame not closed")
		}
	}
	expectEmpty(t, k)
	if s := tr.Stats(); s.DroppedMuted != 3 || s.Written != 0 {
		t.Errorf("stats %+v; want 3 muted drops, 0 written", s)
	}
	tr.SetMuted(false)
	write(t, tr.Writable(), i420(t, 10))
	f := next(t, k)
	defer f.Close()
	if f.Timestamp() != 10 {
		t.Errorf("got ts %d; want 10", f.Timestamp())
	}
	if s := tr.Stats(); s.DroppedMuted != 3 || s.Written != 1 || s.Delivered != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestDisabledVideoBlack(t *testing.T) {
	checkLeaks(t)
	cases := []struct {
		format media.PixelFormat
		cs     media.ColorSpace
		want   [][]byte // repeating pattern per plane
	}{
		{media.I420, media.ColorSpaceBT709Limited, [][]byte{{16}, {128}, {128}}},
		{media.I420, media.ColorSpaceBT601Full, [][]byte{{0}, {128}, {128}}},
		{media.NV12, media.ColorSpaceBT709Limited, [][]byte{{16}, {128}}},
		{media.RGBA, media.ColorSpaceSRGB, [][]byte{{0, 0, 0, 255}}},
		{media.BGRA, media.ColorSpaceSRGB, [][]byte{{0, 0, 0, 255}}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.format, c.cs.FullRange), func(t *testing.T) {
			tr := mustNew(t, KindVideo, Options{QueueSize: 4})
			enabled := tr.Clone()
			kOff := tr.NewSink()
			kOn := enabled.NewSink()
			tr.SetEnabled(false)
			if tr.Enabled() || !enabled.Enabled() {
				t.Fatal("enabled must be per track object")
			}
			for i := range 2 { // twice: the second reuses the cached picture
				write(t, tr.Writable(), video(t, c.format, c.cs, 1000+int64(i), 40000))
			}
			for i := range 2 {
				f := next(t, kOff).(media.VideoFrame)
				if f.Timestamp() != 1000+int64(i) || f.Duration() != 40000 || f.Format() != c.format ||
					f.CodedWidth() != 4 || f.CodedHeight() != 4 || f.ColorSpace() != c.cs {
					t.Errorf("black frame %v does not match the written one", f)
				}
				for p, pat := range c.want {
					pl, err := f.Plane(p)
					if err != nil {
						t.Fatal(err)
					}
					for j, b := range pl.Data {
						if b != pat[j%len(pat)] {
							t.Fatalf("plane %d byte %d = %d; want %d", p, j, b, pat[j%len(pat)])
						}
					}
				}
				f.Close()

				g := next(t, kOn).(media.VideoFrame)
				if pl, _ := g.Plane(0); pl.Data[0] != 200 {
					t.Errorf("enabled clone got %d; want real content", pl.Data[0])
				}
				g.Close()
			}
			tr.SetEnabled(true)
			write(t, tr.Writable(), video(t, c.format, c.cs, 2000, 40000))
			f := next(t, kOff).(media.VideoFrame)
			if pl, _ := f.Plane(0); pl.Data[0] != 200 {
				t.Errorf("re-enabled track got %d; want real content", pl.Data[0])
			}
			f.Close()
			tr.Writable().Close()
			kOn.Close()
			kOff.Close()
		})
	}
}

func TestDisabledAudioSilence(t *testing.T) {
	checkLeaks(t)
	for _, c := range []struct {
		format media.SampleFormat
		want   byte
	}{{media.S16, 0}, {media.F32Planar, 0}, {media.U8, 0x80}, {media.U8Planar, 0x80}} {
		t.Run(c.format.String(), func(t *testing.T) {
			tr := mustNew(t, KindAudio, Options{})
			defer tr.Writable().Close()
			k := tr.NewSink()
			defer k.Close()
			tr.SetEnabled(false)
			write(t, tr.Writable(), audio(t, c.format, 5000))
			a := next(t, k).(media.AudioData)
			defer a.Close()
			if a.Timestamp() != 5000 || a.Format() != c.format || a.SampleRate() != 48000 ||
				a.NumberOfChannels() != 2 || a.NumberOfFrames() != 480 || a.Duration() != 10000 {
				t.Errorf("silence %v does not match the written data", a)
			}
			for p := range 2 {
				opts := media.AudioDataCopyToOptions{PlaneIndex: p}
				if !c.format.Planar() {
					if p > 0 {
						break
					}
				}
				n, err := a.AllocationSize(opts)
				if err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, n)
				if err := a.CopyTo(buf, opts); err != nil {
					t.Fatal(err)
				}
				for i, b := range buf {
					if b != c.want {
						t.Fatalf("plane %d byte %d = %#x; want %#x", p, i, b, c.want)
					}
				}
			}
		})
	}
}

func TestClonesAndLastStop(t *testing.T) {
	checkLeaks(t)
	orig := mustNew(t, KindVideo, Options{})
	orig.SetLabel("cam")
	orig.SetEnabled(false)
	clone := orig.Clone()
	if clone.Writable() != orig.Writable() || clone.Label() != "cam" || clone.Enabled() {
		t.Fatal("clone must share the writable and copy label and enabled")
	}
	clone.SetEnabled(true)
	var ends [2]int
	orig.OnEnded(func(err error) {
		if err != nil {
			t.Errorf("Stop reason %v; want nil", err)
		}
		ends[0]++
	})
	clone.OnEnded(func(error) { ends[1]++ })
	ko := orig.NewSink()
	kc := clone.NewSink()
	defer ko.Close()
	defer kc.Close()

	write(t, orig.Writable(), i420(t, 1))
	orig.Stop()
	orig.Stop()
	if ends != [2]int{1, 0} || orig.ReadyState() != ReadyStateEnded || clone.ReadyState() != ReadyStateLive {
		t.Fatalf("after stopping the original: ends %v, states %q %q", ends, orig.ReadyState(), clone.ReadyState())
	}
	// The original's sink drains what was queued before reporting the end.
	next(t, ko).Close()
	expectEnded(t, ko)

	write(t, orig.Writable(), i420(t, 2)) // the writable lives on for the clone
	// kc's one-frame queue dropped ts 1 for ts 2.
	f := next(t, kc)
	if f.Timestamp() != 2 {
		t.Errorf("clone got ts %d; want 2", f.Timestamp())
	}
	f.Close()
	if c := orig.Clone(); c.ReadyState() != ReadyStateEnded {
		t.Error("clone of an ended track must be ended")
	}

	clone.Stop() // the last live clone: closes the writable
	if ends != [2]int{1, 1} {
		t.Fatalf("ends %v", ends)
	}
	if err := orig.Writable().Write(context.Background(), i420(t, 3)); !errors.Is(err, ErrEnded) {
		t.Errorf("Write after last stop = %v; want ErrEnded", err)
	}
	expectEnded(t, kc)
}

func TestAbortOnEndedOnce(t *testing.T) {
	checkLeaks(t)
	reason := errors.New("camera unplugged")
	tr := mustNew(t, KindVideo, Options{QueueSize: 2})
	tracks := []*Track{tr, tr.Clone(), tr.Clone()}
	var mu sync.Mutex
	got := map[*Track][]error{}
	for _, x := range tracks[:2] {
		x.OnEnded(func(err error) {
			mu.Lock()
			got[x] = append(got[x], err)
			mu.Unlock()
		})
	}
	k := tr.NewSink()
	defer k.Close()
	write(t, tr.Writable(), i420(t, 1))

	tr.Writable().Abort(reason)
	tr.Writable().Abort(errors.New("second"))
	tr.Writable().Close()
	tracks[0].Stop()
	for _, x := range tracks[:2] {
		if len(got[x]) != 1 || got[x][0] != reason {
			t.Errorf("OnEnded calls %v; want exactly [%v]", got[x], reason)
		}
	}
	// A handler set after the end is told at once, and only once.
	var late []error
	tracks[2].OnEnded(func(err error) { late = append(late, err) })
	tracks[2].OnEnded(func(err error) { late = append(late, err) })
	if len(late) != 1 || late[0] != reason {
		t.Errorf("late OnEnded calls %v; want [%v]", late, reason)
	}
	for _, x := range tracks {
		if x.ReadyState() != ReadyStateEnded {
			t.Error("clone not ended by Abort")
		}
	}

	next(t, k).Close() // queued frames still drain
	if err := expectEnded(t, k); !errors.Is(err, reason) {
		t.Errorf("Next error %v does not wrap the reason", err)
	}
	err := tr.Writable().Write(context.Background(), i420(t, 2))
	if !errors.Is(err, ErrEnded) || !errors.Is(err, reason) {
		t.Errorf("Write after Abort = %v; want ErrEnded wrapping the reason", err)
	}
	if late := tr.NewSink(); !errors.Is(expectEnded(t, late), reason) {
		t.Error("sink of an ended track must report the reason")
	}

	t2 := mustNew(t, KindAudio, Options{})
	var r error
	t2.OnEnded(func(err error) { r = err })
	t2.Writable().Abort(nil)
	if !errors.Is(r, ErrAborted) {
		t.Errorf("Abort(nil) reason %v; want ErrAborted", r)
	}

	t3 := mustNew(t, KindAudio, Options{})
	r = errors.New("unset")
	t3.OnEnded(func(err error) { r = err })
	t3.Writable().Close()
	if r != nil {
		t.Errorf("Close reason %v; want nil", r)
	}
}

func TestDropOldest(t *testing.T) {
	checkLeaks(t)
	for _, size := range []int{0, 1, 3} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			eff := max(size, 1)
			tr := mustNew(t, KindVideo, Options{QueueSize: size})
			defer tr.Writable().Close()
			slow := tr.NewSink()
			fast := tr.NewSink()
			defer slow.Close()
			defer fast.Close()
			const n = 6
			for i := range n {
				write(t, tr.Writable(), i420(t, int64(i)))
				next(t, fast).Close() // keeps up, loses nothing
			}
			for i := n - eff; i < n; i++ {
				f := next(t, slow)
				if f.Timestamp() != int64(i) {
					t.Errorf("slow sink got ts %d; want %d (newest frames, in order)", f.Timestamp(), i)
				}
				f.Close()
			}
			expectEmpty(t, slow)
			want := Stats{Written: n, Delivered: n + uint64(eff), DroppedOverflow: uint64(n - eff)}
			if s := tr.Stats(); s != want {
				t.Errorf("stats %+v; want %+v", s, want)
			}
		})
	}
}

func TestLateSinkGetsLastFrame(t *testing.T) {
	checkLeaks(t)
	tr := mustNew(t, KindVideo, Options{QueueSize: 4})
	defer tr.Writable().Close()
	early := tr.NewSink()
	expectEmpty(t, early) // nothing written yet
	early.Close()

	write(t, tr.Writable(), i420(t, 1))
	write(t, tr.Writable(), i420(t, 2))
	late := tr.NewSink()
	defer late.Close()
	write(t, tr.Writable(), i420(t, 3))
	for _, want := range []int64{2, 3} {
		f := next(t, late)
		if f.Timestamp() != want {
			t.Errorf("late sink got ts %d; want %d", f.Timestamp(), want)
		}
		f.Close()
	}

	// On a disabled track the replayed frame is blanked too.
	tr.SetEnabled(false)
	dark := tr.NewSink()
	defer dark.Close()
	f := next(t, dark).(media.VideoFrame)
	defer f.Close()
	if pl, _ := f.Plane(0); f.Timestamp() != 3 || pl.Data[0] != 16 {
		t.Errorf("late sink on disabled track got ts %d luma %d; want 3, 16", f.Timestamp(), pl.Data[0])
	}
}

func TestSinkClose(t *testing.T) {
	checkLeaks(t)
	tr := mustNew(t, KindAudio, Options{QueueSize: 3})
	defer tr.Writable().Close()
	k := tr.NewSink()
	write(t, tr.Writable(), audio(t, media.S16, 1))
	write(t, tr.Writable(), audio(t, media.S16, 2))
	k.Close() // closes the queued frames
	k.Close()
	if _, err := k.Next(context.Background()); !errors.Is(err, ErrSinkClosed) {
		t.Errorf("Next after Close = %v; want ErrSinkClosed", err)
	}
	write(t, tr.Writable(), audio(t, media.S16, 3)) // detached: not delivered to k
}

func TestSettingsObserved(t *testing.T) {
	checkLeaks(t)
	vt := mustNew(t, KindVideo, Options{})
	defer vt.Stop()
	if s := vt.Settings(); s != (Settings{}) {
		t.Errorf("settings before any write: %+v", s)
	}
	for i := range 10 {
		write(t, vt.Writable(), i420(t, int64(i)*33333))
	}
	s := vt.Settings()
	if s.Width != 4 || s.Height != 4 || math.Abs(s.FrameRate-30) > 0.01 {
		t.Errorf("video settings %+v; want 4x4 at 30 fps", s)
	}
	// The estimate follows a rate change.
	for i := range 60 {
		write(t, vt.Writable(), i420(t, 333330+int64(i+1)*40000))
	}
	if s := vt.Settings(); math.Abs(s.FrameRate-25) > 0.01 {
		t.Errorf("frame rate %v after switching to 25 fps", s.FrameRate)
	}

	at := mustNew(t, KindAudio, Options{})
	defer at.Stop()
	write(t, at.Writable(), audio(t, media.F32, 0))
	if s := at.Settings(); s.SampleRate != 48000 || s.ChannelCount != 2 {
		t.Errorf("audio settings %+v", s)
	}
}

// TestConcurrent runs writers, readers and state changes at once; run
// with -race. Every sink reads until ErrEnded, so each written frame is
// either delivered to or dropped by each sink.
func TestConcurrent(t *testing.T) {
	checkLeaks(t)
	const writers, sinks, perWriter = 4, 3, 200
	tr := mustNew(t, KindVideo, Options{QueueSize: 2})
	clone := tr.Clone()
	var ks []*Sink
	for i := range sinks {
		if i%2 == 0 {
			ks = append(ks, tr.NewSink())
		} else {
			ks = append(ks, clone.NewSink())
		}
	}
	var readers sync.WaitGroup
	for _, k := range ks {
		readers.Go(func() {
			defer k.Close()
			last := make([]int64, writers)
			for i := range last {
				last[i] = -1
			}
			for {
				f, err := k.Next(context.Background())
				if err != nil {
					if !errors.Is(err, ErrEnded) {
						t.Errorf("Next: %v", err)
					}
					return
				}
				// ts = writer*1e6 + seq: frames of one writer stay in order.
				w, seq := f.Timestamp()/1e6, f.Timestamp()%1e6
				if seq <= last[w] {
					t.Errorf("writer %d: seq %d after %d", w, seq, last[w])
				}
				last[w] = seq
				f.Close()
			}
		})
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				if err := tr.Writable().Write(context.Background(), i420(t, int64(w)*1e6+int64(i))); err != nil {
					t.Errorf("Write: %v", err)
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 100 {
			clone.SetEnabled(i%2 == 0)
			_ = tr.Settings()
			_ = tr.Stats()
		}
	})
	wg.Wait()
	tr.Writable().Close()
	readers.Wait()
	s := tr.Stats()
	if s.Written != writers*perWriter || s.Delivered+s.DroppedOverflow != sinks*s.Written {
		t.Errorf("stats %+v: each of %d sinks must account for every write", s, sinks)
	}
}

func TestMediaStream(t *testing.T) {
	checkLeaks(t)
	v := mustNew(t, KindVideo, Options{})
	a := mustNew(t, KindAudio, Options{})
	defer v.Stop()
	defer a.Stop()
	s := NewMediaStream(v)
	if !uuidRE.MatchString(s.ID()) || s.ID() == NewMediaStream().ID() {
		t.Errorf("stream ID %q", s.ID())
	}
	s.AddTrack(a)
	s.AddTrack(v) // duplicate: ignored
	s.AddTrack(nil)
	if got := s.Tracks(); len(got) != 2 || got[0] != v || got[1] != a {
		t.Errorf("Tracks = %v", got)
	}
	if got := s.VideoTracks(); len(got) != 1 || got[0] != v {
		t.Errorf("VideoTracks = %v", got)
	}
	if got := s.AudioTracks(); len(got) != 1 || got[0] != a {
		t.Errorf("AudioTracks = %v", got)
	}
	s.RemoveTrack(v)
	if got := s.Tracks(); len(got) != 1 || got[0] != a || len(s.VideoTracks()) != 0 {
		t.Errorf("after RemoveTrack: %v", got)
	}
	if v.ReadyState() != ReadyStateLive {
		t.Error("RemoveTrack must not stop the track")
	}
}

// TestNextStopsWithFramesQueued: a done context ends Next even when frames
// are waiting, so a consumer slower than its producer can always stop.
func TestNextStopsWithFramesQueued(t *testing.T) {
	tr, err := New(KindVideo)
	if err != nil {
		t.Fatal(err)
	}
	sink := tr.NewSink()
	if err := tr.Writable().Write(context.Background(), i420(t, 0)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if f, err := sink.Next(ctx); !errors.Is(err, context.Canceled) {
		if f != nil {
			f.Close()
		}
		t.Fatalf("Next with a canceled context and a queued frame: %v", err)
	}
	f, err := sink.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	sink.Close()
	tr.Writable().Close()
}
