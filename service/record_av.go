package service

import (
	"errors"
	"sync/atomic"

	"github.com/shadercast/shadercast/record"
	"github.com/shadercast/shadercast/whep"
)

// avRec writes a recording with sound: .webm (the VP8 sent, and Opus) or
// .mp4 (the H.264 sent, and Opus, fragmented), from the encoded streams,
// without encoding again. The encoders' goroutines hand copies to a
// bounded queue; a full one drops, and video then waits for a keyframe
// (requested from the codec's encoder).
type avRec struct {
	recBase
	pub       *whep.Publisher // the video codec's publisher
	ch        chan avPacket
	started   bool // a keyframe was queued (video encoder goroutine)
	needKey   bool
	requested atomic.Bool
	// audio is the last audio packet's stream description (channels and
	// pre-skip), for the file's header.
	audio atomic.Pointer[whep.AudioSampleInfo]
	mp4   bool
}

type avPacket struct {
	video, key bool
	data       []byte
	pts        int64
}

// avWriter is record.WebM or record.MP4.
type avWriter interface {
	WriteVideo(data []byte, key bool, ts int64) error
	WriteAudio(data []byte, ts int64) error
	Close() error
}

// video runs on the codec's encoder goroutine.
func (rec *avRec) video(si whep.SampleInfo) {
	if rec.stopped.Load() {
		return
	}
	if !rec.started || rec.needKey {
		if !si.Keyframe {
			if rec.requested.CompareAndSwap(false, true) {
				rec.pub.RequestKeyframe()
			}
			return
		}
		rec.started, rec.needKey = true, false
		rec.requested.Store(false)
	}
	select {
	case rec.ch <- avPacket{video: true, key: si.Keyframe, data: append([]byte(nil), si.Data...), pts: si.Timestamp}:
	default:
		rec.drops.Add(1)
		rec.needKey = true
	}
}

// sound runs on the audio encoder goroutine.
func (rec *avRec) sound(si whep.AudioSampleInfo) {
	if rec.stopped.Load() {
		return
	}
	desc := whep.AudioSampleInfo{Channels: si.Channels, PreSkip: si.PreSkip}
	rec.audio.Store(&desc)
	select {
	case rec.ch <- avPacket{data: append([]byte(nil), si.Data...), pts: si.PTS}:
	default:
		rec.drops.Add(1) // a lost Opus packet is concealed by players
	}
}

func (r *recorders) runAV(rec *avRec) {
	defer r.wg.Done()
	var w avWriter
	// early is the sound queued before the first keyframe: video comes
	// out of its encoder later than the sound of the same instant, so the
	// sound of the keyframe's time is already here when it comes.
	var early []avPacket
	for p := range rec.ch {
		if rec.stopped.Load() {
			continue
		}
		if w == nil {
			if !p.video {
				if len(early) == 64 { // 1.3 s of Opus: more is before any keyframe
					early = early[1:]
				}
				early = append(early, p)
				continue // the file starts with a keyframe
			}
			// The sound's channels and pre-skip as its encoder says them;
			// libopus's defaults (stereo, 312) before its first packet.
			ch, skip := 2, 312
			if a := rec.audio.Load(); a != nil {
				ch, skip = a.Channels, a.PreSkip
			}
			var err error
			if rec.mp4 {
				w = record.NewMP4(rec.f, ch, skip)
			} else if w, err = record.NewWebM(rec.f, r.s.cfg.Width, r.s.cfg.Height, ch, skip); err != nil {
				rec.fail(err)
				continue
			}
		}
		var err error
		if p.video {
			err = w.WriteVideo(p.data, p.key, p.pts)
			rec.frames.Add(1)
			for _, a := range early {
				if err == nil && a.pts >= p.pts {
					err = w.WriteAudio(a.data, a.pts)
				}
			}
			early = nil
		} else {
			err = w.WriteAudio(p.data, p.pts)
		}
		if err != nil {
			rec.fail(err)
			r.s.log.Error("recording stopped", "path", rec.path, "err", err)
		}
	}
	if w == nil {
		rec.f.Close()
		if !rec.stopped.Load() {
			rec.fail(errors.New("no keyframe came before the recording ended"))
		}
		return
	}
	if err := w.Close(); err != nil && !rec.stopped.Load() {
		rec.fail(err)
	}
}
