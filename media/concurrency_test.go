package media

import (
	"errors"
	"runtime"
	"sync"
	"testing"
)

func TestConcurrentCloneClose(t *testing.T) {
	checkLeaks(t)
	f := newPattern(t, I420, 33, 17, 6)
	size, _ := f.AllocationSize()
	want := make([]byte, size)
	if _, err := f.CopyTo(want, nil); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			dst := make([]byte, size)
			for i := range 300 {
				c, err := f.Clone()
				if err != nil {
					t.Error(err)
					return
				}
				c2, err := c.Clone()
				if err != nil {
					t.Error(err)
					return
				}
				// Close the first clone from one or two goroutines at once.
				var inner sync.WaitGroup
				inner.Go(func() { c.Close() })
				if (g+i)%2 == 0 {
					c.Close()
				}
				inner.Wait()
				if _, err := c2.CopyTo(dst, nil); err != nil {
					t.Error(err)
					return
				}
				if string(dst) != string(want) {
					t.Error("clone pixels changed while other frames were churned")
					return
				}
				c2.Close()
				c2.Close()
				// Churn the pool with frames of the same size class.
				o, _ := AllocVideoFrame(VideoFrameInit{Format: I420, CodedWidth: 33, CodedHeight: 17})
				p, _ := o.Plane(0)
				clear(p.Data)
				o.Close()
			}
		})
	}
	wg.Wait()
	mustClose(t, f)
}

// Close racing with Clone and CopyTo of the same frame is allowed: each
// either works on intact data or reports ErrClosed, and exactly one
// release happens.
func TestCloseRacingUse(t *testing.T) {
	checkLeaks(t)
	dst := make([]byte, 64*64*4)
	for range 200 {
		f := newPattern(t, RGBX, 64, 64, 7)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				switch g % 3 {
				case 0:
					f.Close()
				case 1:
					if c, err := f.Clone(); err == nil {
						if c.CodedWidth() != 64 {
							t.Error("clone of a closing frame has bad metadata")
						}
						c.Close()
					} else if !errors.Is(err, ErrClosed) {
						t.Error(err)
					}
				case 2:
					buf := make([]byte, len(dst))
					if _, err := f.CopyTo(buf, nil); err == nil {
						if buf[0] != sample(7, 0, 0, 0, 0) || buf[len(buf)-1] != sample(7, 0, 63, 63, 3) {
							t.Error("CopyTo of a closing frame copied wrong pixels")
						}
					} else if !errors.Is(err, ErrClosed) {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		f.Close()
	}
}

// Stale copies read from a different goroutine while their handle is
// recycled must see "closed", never the new frame's metadata, and must not
// trip the race detector.
func TestStaleReadersDuringReuse(t *testing.T) {
	checkLeaks(t)
	var staleArr [8]VideoFrame
	for i := range staleArr {
		staleArr[i], _ = AllocVideoFrame(VideoFrameInit{Format: NV12, CodedWidth: 2, CodedHeight: 2})
	}
	stale := staleArr[:]
	for _, f := range stale {
		f.Close()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, s := range stale {
					if !s.Closed() || s.Format() != FormatUnknown || s.CodedWidth() != 0 || s.Timestamp() != 0 {
						t.Error("stale copy observed a reused handle")
						return
					}
					if _, err := s.Clone(); !errors.Is(err, ErrClosed) {
						t.Error("stale Clone succeeded")
						return
					}
					s.Close()
				}
				runtime.Gosched()
			}
		})
	}
	// Take all recycled handles at once so every stale copy's handle is
	// reissued, repeatedly.
	var live [len(staleArr)]VideoFrame
	for i := range 500 {
		for j := range live {
			f, err := AllocVideoFrame(VideoFrameInit{Format: RGBA, CodedWidth: 4, CodedHeight: 4, Timestamp: int64(i + 1)})
			if err != nil {
				t.Fatal(err)
			}
			live[j] = f
		}
		for _, f := range live {
			if f.Timestamp() != int64(i+1) || f.Closed() {
				t.Fatal("live frame disturbed by stale Close")
			}
			f.Close()
		}
	}
	close(stop)
	wg.Wait()
}

func TestConcurrentAudio(t *testing.T) {
	checkLeaks(t)
	a, err := NewAudioData(make([]byte, 480*2*2), AudioDataInit{Format: S16, SampleRate: 48000, NumberOfFrames: 480, NumberOfChannels: 2})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			dst := make([]byte, 480*4)
			for range 200 {
				c, err := a.Clone()
				if err != nil {
					t.Error(err)
					return
				}
				if err := c.CopyTo(dst, AudioDataCopyToOptions{Format: F32Planar, PlaneIndex: 1}); err != nil {
					t.Error(err)
				}
				c.Close()
				c.Close()
			}
		})
	}
	wg.Wait()
	mustClose(t, a)
}
