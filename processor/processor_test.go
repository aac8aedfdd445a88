package processor

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/shadercast/shadercast/internal/mediatest"
	"github.com/shadercast/shadercast/media"
)

func frame(t testing.TB, ts int64) media.VideoFrame {
	t.Helper()
	f, err := mediatest.SplitFrame(16, 16, ts, 33333, mediatest.YUV{16, 128, 128}, mediatest.YUV{235, 128, 128})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func live() int64 { return media.PoolStats().LiveVideoFrames }

func TestDropOldest(t *testing.T) {
	base := live()
	v := NewVideo(Options{MaxBufferSize: 3})
	var pushed []media.VideoFrame
	for ts := int64(0); ts < 7; ts++ {
		f := frame(t, ts)
		pushed = append(pushed, f)
		if err := v.P.Push(f); err != nil {
			t.Fatal(err)
		}
	}
	// 0..3 were evicted, oldest first, and closed by the processor.
	for i, f := range pushed[:4] {
		if !f.Closed() {
			t.Errorf("evicted frame %d not closed", i)
		}
	}
	for want := int64(4); want < 7; want++ {
		f, err := v.ReadVideo(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if f.Timestamp() != want {
			t.Errorf("read ts %d, want %d", f.Timestamp(), want)
		}
		f.Close()
	}
	if st := v.P.Stats(); st.Pushed != 7 || st.Read != 3 || st.Dropped != 4 || st.Queued != 0 {
		t.Errorf("stats %+v", st)
	}
	// Default size is 1: only the newest survives.
	d := New[media.VideoFrame](Options{})
	d.Push(frame(t, 1))
	d.Push(frame(t, 2))
	f, _ := d.Read(context.Background())
	if f.Timestamp() != 2 {
		t.Errorf("default buffer: got ts %d, want 2", f.Timestamp())
	}
	f.Close()
	d.Close(nil)
	v.Close()
	if n := live(); n != base {
		t.Errorf("live video frames %d, want %d", n, base)
	}
}

func TestCloseUnblocksAndReleases(t *testing.T) {
	base := live()
	p := New[media.VideoFrame](Options{MaxBufferSize: 4})
	errc := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() {
			_, err := p.Read(context.Background())
			errc <- err
		}()
	}
	time.Sleep(20 * time.Millisecond) // let both block
	reason := errors.New("publisher went away")
	p.Close(reason)
	for i := 0; i < 2; i++ {
		select {
		case err := <-errc:
			if err != reason {
				t.Errorf("blocked reader got %v, want %v", err, reason)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("Close did not unblock a reader")
		}
	}

	// Queued frames are closed by Close; a later push is refused and its
	// frame closed; a clean close gives io.EOF.
	q := New[media.VideoFrame](Options{MaxBufferSize: 4})
	q.Push(frame(t, 1))
	q.Push(frame(t, 2))
	q.Close(nil)
	late := frame(t, 3)
	if err := q.Push(late); !errors.Is(err, ErrClosed) || !late.Closed() {
		t.Errorf("push after close: %v, frame closed %v", err, late.Closed())
	}
	if _, err := q.Read(context.Background()); err != io.EOF {
		t.Errorf("read after clean close: %v, want io.EOF", err)
	}
	if st := q.Stats(); st.Dropped != 3 || st.Queued != 0 {
		t.Errorf("stats %+v", st)
	}
	select {
	case <-q.Done():
	default:
		t.Error("Done not closed")
	}

	// A context ends a read.
	r := New[media.VideoFrame](Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := r.Read(ctx); err != context.DeadlineExceeded {
		t.Errorf("read with expiring ctx: %v", err)
	}
	// The reader closing its adapter ends the stream with ErrCanceled.
	v := &Video{P: r}
	r.Push(frame(t, 9))
	v.Close()
	if _, err := v.ReadVideo(context.Background()); err != ErrCanceled {
		t.Errorf("after reader Close: %v", err)
	}
	if n := live(); n != base {
		t.Errorf("live video frames %d, want %d", n, base)
	}
}

// TestConcurrent runs producers and readers together (meant for -race):
// every frame is either read (and closed by the reader) or dropped, the
// counters add up, and nothing leaks.
func TestConcurrent(t *testing.T) {
	base := media.PoolStats().LiveAudioData
	a := NewAudio(Options{MaxBufferSize: 3})
	const producers, per = 4, 300
	var wg sync.WaitGroup
	var readMu sync.Mutex
	read := 0
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				d, err := a.ReadAudio(ctx)
				if err != nil {
					return
				}
				readMu.Lock()
				read++
				readMu.Unlock()
				d.Close()
			}
		}()
	}
	var pw sync.WaitGroup
	for i := 0; i < producers; i++ {
		pw.Add(1)
		go func() {
			defer pw.Done()
			for k := int64(0); k < per; k++ {
				d, err := mediatest.Tone(k, 440)
				if err != nil {
					panic(err)
				}
				a.P.Push(d)
			}
		}()
	}
	pw.Wait()
	a.P.Close(nil)
	wg.Wait()
	st := a.P.Stats()
	if st.Pushed != producers*per || st.Read+st.Dropped != st.Pushed || st.Read != uint64(read) {
		t.Errorf("stats %+v, readers saw %d", st, read)
	}
	if n := media.PoolStats().LiveAudioData; n != base {
		t.Errorf("live audio data %d, want %d", n, base)
	}
}
