package service

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/record"
	"github.com/shadercast/shadercast/whep"
)

// recorders write --record files off the hot path: the encoder and the
// compositor hand copies to bounded queues, one writer goroutine per file
// drains them. A full queue (a disk slower than real time) drops: for
// IVF that means waiting for the next keyframe, since VP8 cannot skip a
// frame.
type recorders struct {
	s     *Service
	ivf   []*ivfRec
	y4m   []*y4mRec
	av    []*avRec
	wg    sync.WaitGroup
	once  sync.Once
	holds []func() // release the encoders the recordings need
}

// RecordingStats describe one recording.
type RecordingStats struct {
	Path    string `json:"path"`
	Frames  uint64 `json:"frames"`
	Dropped uint64 `json:"dropped"`
	Error   string `json:"error,omitempty"`
}

type recBase struct {
	path          string
	f             *os.File
	frames, drops atomic.Uint64
	mu            sync.Mutex
	err           error
	stopped       atomic.Bool
}

func (b *recBase) fail(err error) {
	b.mu.Lock()
	if b.err == nil {
		b.err = err
	}
	b.mu.Unlock()
	b.stopped.Store(true)
}

func (b *recBase) stats() RecordingStats {
	st := RecordingStats{Path: b.path, Frames: b.frames.Load(), Dropped: b.drops.Load()}
	b.mu.Lock()
	if b.err != nil {
		st.Error = b.err.Error()
	}
	b.mu.Unlock()
	return st
}

type packet struct {
	data []byte
	pts  int64
}

type ivfRec struct {
	recBase
	ch        chan packet
	started   bool // first keyframe seen (encoder goroutine)
	needKey   bool
	w         *record.IVF
	requested atomic.Bool
}

type y4mRec struct {
	recBase
	ch chan media.VideoFrame
	w  *record.Y4M
	bw *bufio.Writer
}

func openRecorders(cfg Config, s *Service) (*recorders, error) {
	if len(cfg.Record) == 0 {
		return nil, nil
	}
	r := &recorders{s: s}
	for _, path := range cfg.Record {
		f, err := os.Create(path)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("--record: %w", err)
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".ivf":
			rec := &ivfRec{recBase: recBase{path: path, f: f}, ch: make(chan packet, 64)}
			r.ivf = append(r.ivf, rec)
			r.wg.Add(1)
			go r.runIVF(rec)
		case ".y4m":
			rec := &y4mRec{recBase: recBase{path: path, f: f}, ch: make(chan media.VideoFrame, 8)}
			r.y4m = append(r.y4m, rec)
			r.wg.Add(1)
			go r.runY4M(rec)
		case ".webm", ".mp4":
			// pubs: VP8, H.264, audio. A second of video and sound fits
			// the queue.
			mp4 := strings.EqualFold(filepath.Ext(path), ".mp4")
			rec := &avRec{recBase: recBase{path: path, f: f}, pub: s.pubs[0], ch: make(chan avPacket, 128), mp4: mp4}
			if mp4 {
				rec.pub = s.pubs[1]
			}
			r.av = append(r.av, rec)
			r.holds = append(r.holds, rec.pub.Hold())
			r.wg.Add(1)
			go r.runAV(rec)
		}
		s.log.Info("recording", "path", path)
	}
	if len(r.ivf) > 0 {
		// The IVF files are the VP8 stream sent: it must be encoded
		// whether or not a viewer watches.
		r.holds = append(r.holds, s.pubs[0].Hold())
	}
	return r, nil
}

// sample runs on the encoder goroutine.
func (r *recorders) sample(si whep.SampleInfo) {
	for _, rec := range r.ivf {
		if rec.stopped.Load() {
			continue
		}
		if !rec.started || rec.needKey {
			if !si.Keyframe {
				if rec.requested.CompareAndSwap(false, true) {
					r.s.pubs[0].RequestKeyframe()
				}
				continue
			}
			rec.started, rec.needKey = true, false
			rec.requested.Store(false)
		}
		select {
		case rec.ch <- packet{data: append([]byte(nil), si.Data...), pts: si.Timestamp}:
		default:
			rec.drops.Add(1)
			rec.needKey = true
		}
	}
}

// frame runs on the compositor goroutine; f stays the caller's.
func (r *recorders) frame(f media.VideoFrame) {
	for _, rec := range r.y4m {
		if rec.stopped.Load() {
			continue
		}
		c, err := f.Clone()
		if err != nil {
			continue
		}
		select {
		case rec.ch <- c:
		default:
			c.Close()
			rec.drops.Add(1)
		}
	}
}

func (r *recorders) runIVF(rec *ivfRec) {
	defer r.wg.Done()
	for p := range rec.ch {
		if rec.stopped.Load() {
			continue
		}
		if rec.w == nil {
			w, h := 0, 0
			r.s.snapMu.Lock()
			w, h = r.s.snap.CodedWidth(), r.s.snap.CodedHeight()
			r.s.snapMu.Unlock()
			var err error
			// Millisecond time base: what ffmpeg writes for WebRTC
			// captures, and exact for our µs timestamps rounded down.
			if rec.w, err = record.NewIVF(rec.f, w, h, 1, 1000); err != nil {
				rec.fail(err)
				continue
			}
		}
		if err := rec.w.WriteFrame(p.data, p.pts/1000); err != nil {
			rec.fail(err)
			r.s.log.Error("recording stopped", "path", rec.path, "err", err)
			continue
		}
		rec.frames.Add(1)
	}
	if rec.w != nil {
		rec.w.Close()
	}
	rec.f.Close()
}

func (r *recorders) runY4M(rec *y4mRec) {
	defer r.wg.Done()
	rec.bw = bufio.NewWriterSize(rec.f, 1<<20)
	for f := range rec.ch {
		if rec.stopped.Load() {
			f.Close()
			continue
		}
		if rec.w == nil {
			var err error
			if rec.w, err = record.NewY4M(rec.bw, record.Y4MOptions{FrameRateNum: int(r.s.cfg.FPS * 1000), FrameRateDen: 1000}); err != nil {
				rec.fail(err)
				f.Close()
				continue
			}
		}
		err := rec.w.WriteFrame(f)
		f.Close()
		if err != nil {
			rec.fail(err)
			r.s.log.Error("recording stopped", "path", rec.path, "err", err)
			continue
		}
		rec.frames.Add(1)
	}
	rec.bw.Flush()
	rec.f.Close()
}

func (r *recorders) stats() []RecordingStats {
	var out []RecordingStats
	for _, rec := range r.ivf {
		out = append(out, rec.stats())
	}
	for _, rec := range r.y4m {
		out = append(out, rec.stats())
	}
	for _, rec := range r.av {
		out = append(out, rec.stats())
	}
	return out
}

// Close finishes the files; call after the encoder and compositor stopped.
func (r *recorders) Close() {
	r.once.Do(func() {
		for _, rec := range r.ivf {
			close(rec.ch)
		}
		for _, rec := range r.y4m {
			close(rec.ch)
		}
		for _, rec := range r.av {
			close(rec.ch)
		}
		r.wg.Wait()
		for _, release := range r.holds {
			release()
		}
	})
}
