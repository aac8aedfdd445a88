package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io"
	"sync"
	"time"

	"github.com/shadercast/shadercast/internal/safe"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/scene"
	"github.com/shadercast/shadercast/source"
	"github.com/shadercast/shadercast/source/still"
	"github.com/shadercast/shadercast/source/testsrc"
	"github.com/shadercast/shadercast/source/text"
	"github.com/shadercast/shadercast/source/y4m"
)

// sceneSource is one source of the description on the service: opened
// (again, with backoff, after a failure), read, its newest frame kept.
type sceneSource struct {
	name string
	spec scene.Source
	// stop ends run; done closes when it has.
	stop context.CancelFunc
	done chan struct{}

	mu        sync.Mutex
	frame     media.VideoFrame // newest, owned; closed when none yet
	at        time.Time        // when it came
	frames    uint64
	state     string // "opening", "live", "ended", "failed"
	lastError string
	started   time.Time // when it was first started
	// slate is shown in place of a source that has had no frame for
	// sourceStallAfter; slateFor is what it says, made again only when
	// that changes.
	slate    media.VideoFrame
	slateFor string
	// A text source's fields set through the API, given again to each
	// instance opened; running is the one open.
	fields  map[string]string
	running *text.Source
	// audio is the source's sound waiting for the mixer.
	audio sourceAudio
	// announce tells the events stream of a state change (under mu).
	announce func(SourceEvent)
	ended    bool // end has run: nothing more is made for it
}

// start runs the source on its own goroutine.
func (ss *sceneSource) start(ctx context.Context, s *Service, set *sceneSet) {
	if ss.spec.Type == scene.TypeISF || ss.spec.Type == scene.TypeScene {
		return // drawn on the GL thread: nothing to read
	}
	ss.mu.Lock()
	ss.started = time.Now()
	ss.announce = func(ev SourceEvent) {
		if b, err := json.Marshal(ev); err == nil {
			s.hub.publish(event{name: "source", data: b})
		}
	}
	ss.mu.Unlock()
	ctx, ss.stop = context.WithCancel(ctx)
	ss.done = make(chan struct{})
	go func() {
		defer close(ss.done)
		ss.run(ctx, s, set)
	}()
}

// end stops the source and frees its last frame once it has stopped.
func (ss *sceneSource) end() {
	if ss.stop == nil {
		return
	}
	ss.stop()
	<-ss.done
	ss.mu.Lock()
	ss.frame.Close()
	ss.slate.Close()
	ss.ended = true
	ss.mu.Unlock()
}

// newest returns a reference to the source's newest frame, which the
// caller closes: closed when it has none yet, and a slate ("NO SIGNAL",
// the source's name and why) once it has had no frame for
// sourceStallAfter, so that a dead camera is told from a frozen one.
func (ss *sceneSource) newest(set *sceneSet) media.VideoFrame {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.ended {
		return media.VideoFrame{} // stopped: a mixer still on the old set shows nothing of it
	}
	if ss.stalledLocked(time.Now()) {
		return ss.slateLocked(set)
	}
	f, err := ss.frame.Clone()
	if err != nil {
		return media.VideoFrame{}
	}
	return f
}

// stalledLocked reports whether the source has had no frame for
// sourceStallAfter (since it started, or since its last frame) while one
// was due: not a colour or a generator, which need none, nor a file that
// ended, which stays on its last frame. Under mu.
func (ss *sceneSource) stalledLocked(now time.Time) bool {
	switch {
	case ss.spec.Type == scene.TypeColor || ss.spec.Type == scene.TypeISF || ss.spec.Type == scene.TypeScene || ss.state == "ended" || ss.started.IsZero():
		return false
	case ss.frames == 0:
		return now.Sub(ss.started) > sourceStallAfter
	}
	return now.Sub(ss.at) > sourceStallAfter
}

// slateLocked returns the slate, made for what it says now (at the last
// frame's size, or the source's); under mu.
func (ss *sceneSource) slateLocked(set *sceneSet) media.VideoFrame {
	why := "no frame for " + sourceStallAfter.String()
	if ss.lastError != "" {
		why = ss.lastError
	}
	why = ss.name + ": " + why
	if why != ss.slateFor || ss.slate.Closed() {
		w, h := ss.frame.CodedWidth(), ss.frame.CodedHeight()
		if w == 0 {
			sz := set.size(ss.spec)
			w, h = sz[0], sz[1]
		}
		f, err := slate(w, h, why)
		if err != nil {
			return media.VideoFrame{}
		}
		ss.slate.Close()
		ss.slate, ss.slateFor = f, why
	}
	f, err := ss.slate.Clone()
	if err != nil {
		return media.VideoFrame{}
	}
	return f
}

// put keeps f as the newest frame, closing the one before.
func (ss *sceneSource) put(f media.VideoFrame) {
	ss.mu.Lock()
	ss.frame.Close()
	ss.frame, ss.at = f, time.Now()
	ss.frames++
	ss.mu.Unlock()
}

func (ss *sceneSource) set(state, lastError string) {
	ss.mu.Lock()
	changed := ss.state != state
	ss.state = state
	if lastError != "" {
		ss.lastError = lastError
	}
	announce := ss.announce
	ss.mu.Unlock()
	if changed && announce != nil {
		announce(SourceEvent{Source: ss.name, State: state, LastError: lastError})
	}
}

// SourceEvent is SSE "source": a scene source's state changed (opening,
// waiting, live, ended, failed; stalled is told by GET /api/scenes and
// the metrics, as it is a matter of time, not of an event).
type SourceEvent struct {
	Source    string `json:"source"`
	State     string `json:"state"`
	LastError string `json:"lastError,omitempty"`
}

// run opens and reads the source until ctx ends. A failure is logged once
// per cause and the source reopened with backoff (1 s, doubling, at most
// 30 s); its last frame stays on the canvas meanwhile. A file that ends
// without loop stays on its last frame.
func (ss *sceneSource) run(ctx context.Context, s *Service, set *sceneSet) {
	if ss.spec.Type == scene.TypeColor {
		f, err := ss.colorFrame(set)
		if err != nil {
			ss.set("failed", err.Error())
			return
		}
		ss.put(f)
		ss.set("live", "")
		return
	}
	backoff, lastErr := time.Second, ""
	for ctx.Err() == nil {
		src, err := safe.Value(func() (source.Video, error) { return ss.open(ctx, s, set) })
		if err == nil {
			if t, ok := src.(*text.Source); ok {
				ss.mu.Lock()
				for k, v := range ss.fields {
					t.SetField(k, v)
				}
				ss.running = t
				ss.mu.Unlock()
			}
			ss.set("live", "")
			start := time.Now()
			stopAudio := func() {}
			if a, ok := src.(source.Audio); ok {
				actx, stop := context.WithCancel(ctx)
				go ss.pumpAudio(actx, a, &s.stats.audioDropped)
				stopAudio = stop
			}
			err = ss.pump(ctx, src)
			stopAudio()
			ss.mu.Lock()
			ss.running = nil
			ss.mu.Unlock()
			if cerr := safe.Do(src.Close); cerr != nil && isPanic(cerr) {
				s.panicked("closing source "+ss.name, cerr)
			}
			if ctx.Err() != nil {
				return
			}
			if ss.spec.Type == scene.TypeWHIP {
				// A publisher that leaves (DELETE, or lost) makes room
				// for the next: no backoff, nothing failed.
				s.log.Info("WHIP source's publisher left", "source", ss.name, "err", err)
				continue
			}
			if errors.Is(err, io.EOF) {
				s.log.Info("source ended; its last frame stays", "source", ss.name)
				ss.set("ended", "")
				return
			}
			if time.Since(start) > time.Minute {
				backoff = time.Second
			}
		}
		if ctx.Err() != nil {
			return // stopped while opening (a whip source waiting): no failure
		}
		s.stats.inputErrors.Add(1)
		ss.set("failed", err.Error())
		if isPanic(err) {
			s.panicked("source "+ss.name, err)
		} else if err.Error() != lastErr {
			s.log.Error("source failed; reopening", "source", ss.name, "err", err, "in", backoff)
		}
		lastErr = err.Error()
		if ss.spec.Type == scene.TypeWHIP {
			// A publisher gone before its first picture: wait for the
			// next soon, without the growing backoff of a file.
			if !sleepCtx(ctx, 250*time.Millisecond) {
				return
			}
			continue
		}
		if !sleepCtx(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

func (ss *sceneSource) open(ctx context.Context, s *Service, set *sceneSet) (source.Video, error) {
	sz := set.size(ss.spec)
	fps := set.desc.Canvas.FPS
	switch ss.spec.Type {
	case scene.TypeWHIP:
		ss.set("waiting", "waiting for a publisher at /whip/"+ss.name)
		return s.awaitPublisher(ctx, ss.name)
	case scene.TypeTestsrc:
		return testsrc.NewSource(sz[0], sz[1], fps, testsrc.SourceOptions{ToneHz: ss.spec.Tone})
	case scene.TypeY4M:
		return y4m.Open(ss.spec.Path, y4m.Options{Loop: ss.spec.Loop})
	case scene.TypeImage:
		return still.Open(ss.spec.Path, fps, still.Options{MaxImagePixels: s.cfg.MaxImagePixels})
	case scene.TypeText:
		return text.Open(ss.spec.Text, text.Options{Width: sz[0], Height: sz[1], FPS: fps, Size: ss.spec.Size, Font: ss.spec.Font})
	}
	return nil, fmt.Errorf("source type %q is not composed yet", ss.spec.Type)
}

// pump reads the source until it ends or fails; each read runs under
// safe.Value (sources parse outside data).
func (ss *sceneSource) pump(ctx context.Context, src source.Video) error {
	for {
		f, err := safe.Value(func() (media.VideoFrame, error) { return src.ReadVideo(ctx) })
		if err != nil {
			return err
		}
		ss.put(f)
	}
}

// colorFrame is a color source's one frame.
func (ss *sceneSource) colorFrame(set *sceneSet) (media.VideoFrame, error) {
	sz := set.size(ss.spec)
	c, _ := scene.ParseColor(ss.spec.Color) // checked by Validate
	img := image.NewRGBA(image.Rect(0, 0, sz[0], sz[1]))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.RGBA{c[0], c[1], c[2], c[3]}}, image.Point{}, draw.Src)
	return media.NewVideoFrame(img.Pix, media.VideoFrameInit{
		Format: media.RGBA, CodedWidth: sz[0], CodedHeight: sz[1],
		Layout: []media.PlaneLayout{{Stride: img.Stride}},
	})
}
