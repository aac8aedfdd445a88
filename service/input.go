package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/generator"
	"github.com/shadercast/shadercast/internal/dropq"
	"github.com/shadercast/shadercast/internal/safe"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/source"
	"github.com/shadercast/shadercast/source/still"
	"github.com/shadercast/shadercast/source/testsrc"
	"github.com/shadercast/shadercast/source/y4m"
	"github.com/shadercast/shadercast/whip"
)

// session is one run of one input (the configured input after each
// (re)open, each WHIP publication). Its frames and sound carry its own
// clock; the compositor maps that clock onto the output timeline with one
// offset per session, which both video and audio use, so A/V sync within
// a session survives restamping.
type session struct {
	name   string
	offset atomic.Int64 // output µs = source µs + offset
	// anchored is set once the compositor chose offset (first frame).
	anchored atomic.Bool
	// audioOffset is the sound's mapping, taken from offset when the
	// first block after anchoring arrives and then only ever moved
	// forward by runAudio (when the sound fell behind what was already
	// sent); video re-anchoring after a stall does not drag it along,
	// since a jump in the sound is worse than a few ms of A/V offset.
	// runAudio's goroutine only.
	audioOffset   int64
	audioAnchored bool
}

type inputFrame struct {
	f       media.VideoFrame
	sess    *session
	created time.Time
}

type inputAudio struct {
	a    media.AudioData
	sess *session
}

// inputState is what /api/pipeline and /api/stats say about inputs.
type inputState struct {
	mu        sync.Mutex
	active    string // what is on air: "testsrc", "whip:<id>", ...
	state     string // "live", "stalled", "failed", "ended", "waiting"
	lastError string
	lastErrAt time.Time
	whip      *session // non-nil while a WHIP publisher is on air
}

func (st *inputState) set(active, state string) {
	st.mu.Lock()
	st.active, st.state = active, state
	st.mu.Unlock()
}

// fail records err as the last error; repeat says it is the same as the
// one before (a file that fails the same way at every retry).
func (st *inputState) fail(err error) (repeat bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	msg := err.Error()
	repeat = msg == st.lastError
	st.lastError, st.lastErrAt = msg, time.Now()
	return repeat
}

func (st *inputState) whipSession() *session {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.whip
}

// openInput opens the configured input.
func (s *Service) openInput() (source.Video, error) {
	kind, err := s.cfg.InputKind()
	if err != nil {
		return nil, err
	}
	switch kind {
	case "testsrc":
		return testsrc.NewSource(s.cfg.Width, s.cfg.Height, s.cfg.FPS, testsrc.SourceOptions{})
	case "y4m":
		return y4m.Open(s.cfg.Input, y4m.Options{Loop: s.cfg.Loop})
	case "image":
		return still.Open(s.cfg.Input, s.cfg.FPS, still.Options{MaxImagePixels: s.cfg.MaxImagePixels})
	}
	return nil, nil // "whip": nothing to open, publishers arrive by POST
}

// runInputs runs the configured input (reopening it with backoff after a
// failure) and every WHIP publication, until ctx ends.
func (s *Service) runInputs(ctx context.Context) {
	kind, _ := s.cfg.InputKind()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.runWHIP(ctx)
	}()
	if kind == "whip" {
		s.inputs.set("whip", "waiting")
		<-ctx.Done()
		return
	}
	backoff := time.Second
	for ctx.Err() == nil {
		// Opening parses the file's header (or decodes the whole
		// picture): outside data, so a panic there is the input's
		// failure, not the process's.
		src, err := safe.Value(s.openInput)
		if err != nil {
			s.inputFailed(err)
			if !sleepCtx(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, 30*time.Second)
			continue
		}
		sess := &session{name: kind}
		s.inputs.set(kind, "live")
		start := time.Now()
		err = s.pump(ctx, src, sess)
		if cerr := safe.Do(src.Close); cerr != nil && isPanic(cerr) {
			s.panicked("closing the input", cerr)
		}
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, io.EOF) {
			s.log.Info("input ended", "input", s.cfg.Input)
			s.inputs.set(kind, "ended")
			s.endInput()
			return
		}
		s.inputFailed(err)
		if s.cfg.Input == "-" || (!s.cfg.Loop && brokenStream(err)) {
			// A pipe cannot be reopened, and reopening a file whose
			// content is broken would replay it up to the same break,
			// the picture jumping back at every retry: stay on air
			// with the last frame, say why, and keep serving.
			s.inputs.set(kind, "failed")
			<-ctx.Done()
			return
		}
		if time.Since(start) > time.Minute {
			backoff = time.Second
		}
		if !sleepCtx(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// brokenStream says whether err is about the input's content (it will be
// the same after a reopen) rather than about reading it. A recovered panic
// counts: the same bytes would reach the same bug again.
func brokenStream(err error) bool {
	var sc *y4m.SizeChangeError
	var he *y4m.HeaderError
	return errors.Is(err, y4m.ErrTruncated) || errors.Is(err, y4m.ErrFrameMarker) || errors.As(err, &sc) || errors.As(err, &he) || isPanic(err)
}

func isPanic(err error) bool {
	var pe *safe.PanicError
	return errors.As(err, &pe)
}

// panicked counts and logs (once, with the stack) a panic recovered from
// an input's work.
func (s *Service) panicked(what string, err error) {
	var pe *safe.PanicError
	if !errors.As(err, &pe) {
		return
	}
	s.stats.panics.Add(1)
	s.log.Error("input panicked (recovered); staying on air with the last frame", "input", s.cfg.Input, "while", what, "err", err, "stack", string(pe.Stack))
}

func (s *Service) inputFailed(err error) {
	s.stats.inputErrors.Add(1)
	repeat := s.inputs.fail(err)
	kind, _ := s.cfg.InputKind()
	s.inputs.set(kind, "failed")
	if isPanic(err) {
		s.panicked("reading", err)
		return
	}
	if repeat {
		// The same failure at every retry is logged once; the API's
		// input state and input_errors_total still count each one.
		s.log.Debug("input failed again", "input", s.cfg.Input, "err", err)
		return
	}
	s.log.Error("input failed; staying on air with the last frame", "input", s.cfg.Input, "err", err)
}

// pump reads one input until it ends or fails, sound too when it has any.
// Sources parse outside data (files, publishers' streams), so each read
// runs under safe.Value: a panic in either reader ends the pump with a
// *safe.PanicError, which the caller reports as the input's failure.
func (s *Service) pump(ctx context.Context, src source.Video, sess *session) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	// Deferred after wg.Wait, so it runs first: the sound reader stops
	// when the video does, whatever ended it.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var audioPanic error // set before cancel; read after wg.Wait or ctx.Done
	if a, ok := src.(source.Audio); ok {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				d, err := safe.Value(func() (media.AudioData, error) { return a.ReadAudio(ctx) })
				if err != nil {
					if isPanic(err) {
						audioPanic = err
						cancel()
					}
					return
				}
				s.deliverAudio(d, sess)
			}
		}()
	}
	for {
		f, err := safe.Value(func() (media.VideoFrame, error) { return src.ReadVideo(ctx) })
		if err != nil {
			if ctx.Err() != nil {
				cancel()
				wg.Wait()
				if audioPanic != nil {
					return audioPanic
				}
				return ctx.Err()
			}
			return err
		}
		s.deliver(f, sess)
	}
}

// newFrameQueue is the inputs' queue to the compositor: two frames, so
// that one can arrive while the other is composed; the oldest goes when
// the compositor is behind.
func newFrameQueue() *dropq.Queue[inputFrame] {
	return dropq.New(2, func(in inputFrame) { in.f.Close() })
}

// newAudioQueue is the inputs' queue to the audio writer: 32 blocks (640
// ms of 20 ms blocks), the oldest dropped when the writer is behind.
func newAudioQueue() *dropq.Queue[inputAudio] {
	return dropq.New(32, func(in inputAudio) { in.a.Close() })
}

// deliver queues a frame for the compositor, dropping the oldest queued
// one when the compositor is behind. Frames of the configured input are
// dropped while a WHIP publisher is on air.
func (s *Service) deliver(f media.VideoFrame, sess *session) {
	if w := s.inputs.whipSession(); w != nil && w != sess {
		f.Close()
		s.stats.dropsInactive.Add(1)
		return
	}
	if s.frames.Push(inputFrame{f: f, sess: sess, created: time.Now()}) {
		s.stats.dropsQueue.Add(1)
	}
}

func (s *Service) deliverAudio(a media.AudioData, sess *session) {
	if w := s.inputs.whipSession(); w != nil && w != sess {
		a.Close()
		return
	}
	if s.audioQ.Push(inputAudio{a: a, sess: sess}) {
		s.stats.audioDrops.Add(1)
	}
}

// runWHIP puts each WHIP publication on air while it lasts.
func (s *Service) runWHIP(ctx context.Context) {
	for {
		var p *whip.Publication
		select {
		case <-ctx.Done():
			return
		case p = <-s.whipPubs:
		}
		s.goFn(func() { s.onAir(ctx, p) })
	}
}

// onAir puts p on air once its first keyframe is decoded; until then the
// programme keeps its current input, so an offer that never connects (the
// handler drops it after its connect timeout) takes nothing over.
func (s *Service) onAir(ctx context.Context, p *whip.Publication) {
	select {
	case <-p.FirstFrame():
	case <-p.Done():
		s.whipEnded(ctx, p)
		if err := p.Err(); err != nil {
			// Refused (too large, no picture in time) or lost: the
			// programme never changed, but the operator should see why
			// the camera did not come on.
			s.stats.inputErrors.Add(1)
			s.inputs.fail(fmt.Errorf("WHIP publisher %s, before its first picture: %w", p.ID, err))
		}
		s.log.Info("WHIP publisher left before its first picture", "id", p.ID, "err", p.Err())
		return
	case <-ctx.Done():
		return
	}
	defer s.whipEnded(ctx, p)
	sess := &session{name: "whip:" + p.ID}
	s.inputs.mu.Lock()
	prev := s.inputs.active
	s.inputs.whip, s.inputs.active, s.inputs.state = sess, sess.name, "live"
	s.inputs.mu.Unlock()
	s.log.Info("WHIP publisher on air", "id", p.ID, "audio", p.Audio != nil)
	var src source.Video = p.Video
	if p.Audio != nil {
		src = withAudio{p.Video, p.Audio}
	}
	err := s.pump(ctx, src, sess)
	s.inputs.mu.Lock()
	if s.inputs.whip == sess {
		s.inputs.whip = nil
		kind, _ := s.cfg.InputKind()
		s.inputs.active, s.inputs.state = prev, "live"
		if kind == "whip" {
			s.inputs.active, s.inputs.state = "whip", "waiting"
		}
	}
	s.inputs.mu.Unlock()
	if err != nil && !errors.Is(err, io.EOF) && ctx.Err() == nil {
		s.stats.inputErrors.Add(1)
		s.inputs.fail(fmt.Errorf("WHIP publisher %s: %w", p.ID, err))
		s.panicked("reading WHIP publisher "+p.ID, err)
	}
	s.log.Info("WHIP publisher left", "id", p.ID, "err", err)
}

// whipEnded counts a WHIP publication that ended with a recovered panic
// (its receive loop failed; the handler logged it) in the service's panic
// metric. It waits for p's end (its video queue closes just before).
func (s *Service) whipEnded(ctx context.Context, p *whip.Publication) {
	select {
	case <-p.Done():
	case <-ctx.Done():
		return
	}
	var pe *safe.PanicError
	if errors.As(p.Err(), &pe) {
		s.stats.panics.Add(1)
	}
}

type withAudio struct {
	source.Video
	a source.Audio
}

func (w withAudio) ReadAudio(ctx context.Context) (media.AudioData, error) { return w.a.ReadAudio(ctx) }

// runCompositor is the one goroutine that feeds the pipeline. Input
// frames are composited as they come; when none comes for stallAfter the
// last one (or the slate) is composited again at the configured rate, so
// viewers never see a frozen or vanished track and pass changes still show.
func (s *Service) runCompositor(ctx context.Context) {
	interval := time.Duration(float64(time.Second) / s.cfg.FPS)
	stallAfter := max(250*time.Millisecond, 3*interval)
	var (
		out     compositor.Output
		last    media.VideoFrame // the last input frame, kept for repeats
		lastOut int64            = -1
		cur     *session
		timer   = time.NewTimer(stallAfter)
		stalled bool
	)
	defer func() {
		timer.Stop()
		last.Close()
		s.frames.Drain()
	}()
	now := func() int64 { return time.Since(s.start).Microseconds() }
	dur := interval.Microseconds()
	for {
		var (
			f       media.VideoFrame
			ts      int64
			created time.Time
		)
		select {
		case <-ctx.Done():
			return
		case in := <-s.frames.C():
			if in.sess != cur || !in.sess.anchored.Load() {
				cur = in.sess
				if !cur.anchored.Load() {
					cur.offset.Store(max(now(), lastOut+1) - in.f.Timestamp())
					cur.anchored.Store(true)
				}
			}
			ts = in.f.Timestamp() + cur.offset.Load()
			if ts <= lastOut {
				// The source's clock fell behind ours (it stalled and we
				// repeated frames meanwhile): move its anchor forward.
				cur.offset.Store(lastOut + dur - in.f.Timestamp())
				ts = lastOut + dur
			}
			last.Close()
			last, created = in.f, in.created
			if s.cfg.Timecode {
				stampTimecode(last, created)
			}
			s.stats.framesIn.Add(1)
			if stalled {
				stalled = false
				s.inputs.mu.Lock()
				if s.inputs.state == "stalled" {
					s.inputs.state = "live"
				}
				s.inputs.mu.Unlock()
			}
			timer.Reset(stallAfter)
		case <-timer.C:
			if !stalled {
				stalled = true
				s.inputs.mu.Lock()
				if s.inputs.state == "live" {
					s.inputs.state = "stalled"
				}
				s.inputs.mu.Unlock()
			}
			if last.Closed() {
				var err error
				s.inputs.mu.Lock()
				reason := s.inputs.lastError
				if s.inputs.state == "waiting" {
					reason = "waiting for a WHIP publisher at /whip"
				}
				s.inputs.mu.Unlock()
				if last, err = slate(s.cfg.Width, s.cfg.Height, reason); err != nil {
					s.log.Error("slate", "err", err)
				}
			}
			ts, created = max(now(), lastOut+1), time.Now()
			s.stats.repeats.Add(1)
			timer.Reset(interval)
		}
		var err error
		if f, err = last.WithTimestamp(ts, dur); err != nil {
			continue
		}
		lastOut = ts
		s.composite(ctx, f, created, &out)
		f.Close()
	}
}

// composite runs one frame through the pipeline and hands the result on.
func (s *Service) composite(ctx context.Context, f media.VideoFrame, created time.Time, out *compositor.Output) {
	s.output(ctx, s.pl.Process(ctx, f, out), created, out)
}

// output hands on what the pipeline made of one frame (Process's or
// Compose's, whose error is err): the detections, the snapshot, the
// recording and the video track.
func (s *Service) output(ctx context.Context, err error, created time.Time, out *compositor.Output) {
	// The next frame makes the renditions somebody receives then.
	defer s.askRungs(out)
	s.writeRungs(out, func(tr *generator.Track, f media.VideoFrame) { tr.Writable().Write(ctx, f) })
	if err != nil {
		if ctx.Err() == nil {
			s.stats.processErrors.Add(1)
			// Once per cause, not once per frame (the counter counts).
			if msg := err.Error(); msg != s.lastProcessErr {
				s.lastProcessErr = msg
				s.log.Warn("frame not composited", "err", err)
			}
		}
		return
	}
	s.lastProcessErr = ""
	res := out.Frame
	out.Frame = media.VideoFrame{}
	s.lat.put(res.Timestamp(), created)
	dets := s.programDetections(out)
	if len(dets) > 0 {
		s.stats.detections.Add(1)
	}
	s.publishDetections(res, dets)
	if c, err := res.Clone(); err == nil {
		s.snapMu.Lock()
		s.snap.Close()
		s.snap = c
		s.snapMu.Unlock()
	}
	if s.rec != nil {
		s.rec.frame(res)
	}
	if err := s.video.Writable().Write(ctx, res); err == nil {
		s.stats.framesOut.Add(1)
	}
}

// runAudio writes the input's sound, restamped onto the output clock, and
// silence whenever there is none (a Y4M input, a WHIP publisher without
// audio, a stall), so that viewers' audio tracks never starve.
func (s *Service) runAudio(ctx context.Context) {
	const block = 20 * time.Millisecond
	const rate, frames = 48000, 960
	silence := make([]byte, frames*4)
	scope := newScope()
	tick := time.NewTicker(block)
	defer tick.Stop()
	var next int64 = -1 // the output µs the next block should start at
	lastReal := time.Time{}
	for {
		select {
		case <-ctx.Done():
			s.audioQ.Drain()
			return
		case in := <-s.audioQ.C():
			sess := in.sess
			if !sess.audioAnchored {
				if !sess.anchored.Load() {
					// Video has not fixed this session's clock yet.
					in.a.Close()
					continue
				}
				sess.audioOffset, sess.audioAnchored = sess.offset.Load(), true
			}
			ts := in.a.Timestamp() + sess.audioOffset
			if next >= 0 && ts < next-int64(block/time.Microsecond) {
				// Behind what was already sent (silence covered a gap,
				// or the source fell behind its clock): shift the
				// session's sound forward rather than drop it.
				sess.audioOffset += next - ts
				ts = next
			}
			a, err := in.a.WithTimestamp(ts)
			in.a.Close()
			if err != nil {
				continue
			}
			next = ts + int64(a.NumberOfFrames())*1e6/int64(a.SampleRate())
			lastReal = time.Now()
			s.stats.audioIn.Add(1)
			scope.feed(s.pl, a)
			s.audio.Writable().Write(ctx, a)
		case <-tick.C:
			if time.Since(lastReal) < 5*block {
				continue
			}
			now := time.Since(s.start).Microseconds()
			if next < 0 || next < now-int64(5*block/time.Microsecond) {
				next = now
			}
			a, err := media.NewAudioData(silence, media.AudioDataInit{Format: media.F32, SampleRate: rate,
				NumberOfFrames: frames, NumberOfChannels: 1, Timestamp: next})
			if err != nil {
				continue
			}
			next += int64(block / time.Microsecond)
			s.stats.silence.Add(1)
			scope.feed(s.pl, a)
			s.audio.Writable().Write(ctx, a)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
