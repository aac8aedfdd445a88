package whip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/shadercast/shadercast/codec/h264"
	"github.com/shadercast/shadercast/codec/opus"
	"github.com/shadercast/shadercast/codec/vp8"
	"github.com/shadercast/shadercast/media"
)

// PublicationStats counts what a publication received; all cumulative.
type PublicationStats struct {
	VideoPackets, AudioPackets uint64 // RTP packets read
	FramesDecoded              uint64 // video frames decoded and queued
	Keyframes                  uint64 // keyframes among FramesDecoded
	// FramesSkipped are complete video frames not decoded because a gap
	// came before them and no keyframe since.
	FramesSkipped uint64
	// FramesDropped are decoded video frames the reader was too slow
	// for (evicted from the queue, oldest first).
	FramesDropped uint64
	// Gaps counts RTP sequence discontinuities in the video (lost packets
	// that NACK did not repair in time, or whole frames lost).
	Gaps             uint64
	KeyframeRequests uint64 // PLIs sent
	DecodeErrors     uint64 // video frames or Opus packets the decoder refused
	AudioDecoded     uint64 // Opus packets decoded and queued
	AudioConcealed   uint64 // lost Opus packets replaced by concealment
	AudioDropped     uint64 // audio blocks the reader was too slow for
}

type stats struct {
	videoPackets, audioPackets, decoded, keyframes, skipped, gaps, plis, decodeErrors atomic.Uint64
	audioDecoded, concealed                                                           atomic.Uint64
}

// Stats returns the publication's counters.
func (p *Publication) Stats() PublicationStats {
	st := PublicationStats{
		VideoPackets: p.st.videoPackets.Load(), AudioPackets: p.st.audioPackets.Load(),
		FramesDecoded: p.st.decoded.Load(), Keyframes: p.st.keyframes.Load(), FramesSkipped: p.st.skipped.Load(),
		FramesDropped: p.video.P.Stats().Dropped, Gaps: p.st.gaps.Load(), KeyframeRequests: p.st.plis.Load(),
		DecodeErrors: p.st.decodeErrors.Load(), AudioDecoded: p.st.audioDecoded.Load(), AudioConcealed: p.st.concealed.Load(),
	}
	if p.audio != nil {
		st.AudioDropped = p.audio.P.Stats().Dropped
	}
	return st
}

// rtpClock turns one stream's 32-bit RTP timestamps into microseconds on
// the publication's clock: unwrapped (a 90 kHz clock wraps every 13 h, and
// starts anywhere), anchored at the arrival of the stream's first packet
// (RTP clocks of different streams have random offsets, so arrival is what
// puts audio and video on one clock), and never going backwards.
type rtpClock struct {
	rate    int64
	started bool
	last    uint32
	ext     int64 // unwrapped RTP time of the last packet
	first   int64 // unwrapped RTP time of the first packet
	anchor  int64 // µs on the publication clock of the first packet
	out     int64 // last µs returned
}

func (c *rtpClock) micros(ts uint32, now int64) int64 {
	if !c.started {
		c.started, c.last, c.ext, c.first, c.anchor, c.out = true, ts, int64(ts), int64(ts), now, now
		return now
	}
	// The signed difference unwraps across 2^32 in either direction.
	c.ext += int64(int32(ts - c.last))
	c.last = ts
	us := c.anchor + (c.ext-c.first)*1_000_000/c.rate
	if us <= c.out {
		us = c.out + 1 // reordered or repeated timestamp: keep monotonic
	}
	c.out = us
	return us
}

// videoCodec is one codec's side of receiveVideo.
type videoCodec struct {
	name string
	// depacketizer reassembles the codec's RTP payloads into frames
	// (H.264: Annex B access units).
	depacketizer func() rtp.Depacketizer
	keyframe     func(frame []byte) bool
	// decoder makes a decoder that refuses, before it allocates, pictures
	// over maxW x maxH (an error wrapping tooLarge).
	decoder  func(maxW, maxH int) (videoDecoder, error)
	noFrame  error // a frame that decoded to no picture (not an error)
	tooLarge error
}

type videoDecoder interface {
	Decode(data []byte, ts int64) (media.VideoFrame, error)
	Close() error
}

// ingestCodecs are the video codecs a publication may send, by MIME type.
var ingestCodecs = map[string]*videoCodec{
	strings.ToLower(webrtc.MimeTypeVP8): {
		name:         "VP8",
		depacketizer: func() rtp.Depacketizer { return &codecs.VP8Packet{} },
		// VP8 payload header, bit 0 of the first byte: 0 = key frame.
		keyframe: func(f []byte) bool { return f[0]&1 == 0 },
		decoder: func(maxW, maxH int) (videoDecoder, error) {
			d, err := vp8.NewDecoder(1)
			if err == nil {
				d.SetMaxSize(maxW, maxH)
			}
			return d, err
		},
		noFrame: vp8.ErrNoFrame, tooLarge: vp8.ErrTooLarge,
	},
	strings.ToLower(webrtc.MimeTypeH264): {
		name:         "H.264",
		depacketizer: func() rtp.Depacketizer { return &codecs.H264Packet{} },
		keyframe:     h264.IsKeyframe,
		decoder: func(maxW, maxH int) (videoDecoder, error) {
			d, err := h264.NewDecoder()
			if err == nil {
				d.SetMaxSize(maxW, maxH)
			}
			return d, err
		},
		noFrame: h264.ErrNoFrame, tooLarge: h264.ErrTooLarge,
	},
}

// receiveVideo depacketizes, checks continuity, decodes and queues the
// track's video (VP8 or H.264) until the track ends (nil) or the
// publisher sends video over the configured bounds (an error wrapping
// ErrTooLarge: the publication is refused).
func (p *Publication) receiveVideo(tr *webrtc.TrackRemote) error {
	cfg := &p.h.cfg
	vc := ingestCodecs[strings.ToLower(tr.Codec().MimeType)]
	if vc == nil {
		return fmt.Errorf("whip: no decoder for %s", tr.Codec().MimeType)
	}
	// Pictures over the bound are refused before the decoder allocates.
	dec, err := vc.decoder(cfg.MaxWidth, cfg.MaxHeight)
	if err != nil {
		return fmt.Errorf("whip: %s decoder: %w", vc.name, err)
	}
	defer dec.Close()
	// The samplebuilder holds a frame's packets until it is complete: its
	// window must fit a frame of MaxFrameBytes (packets carry ~1000-1200
	// bytes), at least 256 packets. A frame is held at most JitterBuffer
	// for reordering/NACK repair.
	window := uint16(min(max(cfg.MaxFrameBytes/1000, 256), 4096))
	sb := samplebuilder.New(window, vc.depacketizer(), 90000,
		samplebuilder.WithRTPHeaders(true), samplebuilder.WithMaxTimeDelay(p.h.cfg.JitterBuffer))
	ssrc := uint32(tr.SSRC())
	var lastPLI time.Time
	pli := func(force bool) {
		if !force && time.Since(lastPLI) < p.h.cfg.PLIInterval {
			return
		}
		lastPLI = time.Now()
		if p.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}) == nil {
			p.st.plis.Add(1)
		}
	}
	// The first frame we see may be a delta frame (we joined after the
	// publisher's first keyframe): ask at once.
	pli(true)
	var (
		clock      = rtpClock{rate: 90000}
		waitingKey = true
		haveSeq    bool
		nextSeq    uint16
	)
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return nil
		}
		p.st.videoPackets.Add(1)
		sb.Push(pkt)
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			if len(s.RTPHeaders) == 0 || len(s.Data) == 0 {
				continue
			}
			if len(s.Data) > cfg.MaxFrameBytes {
				return fmt.Errorf("%w: a frame of %d bytes, at most %d", ErrTooLarge, len(s.Data), cfg.MaxFrameBytes)
			}
			first := s.RTPHeaders[0].SequenceNumber
			// The samplebuilder only emits runs of consecutive packets,
			// so a gap shows as a jump between samples, or as packets it
			// threw away (frames with a missing head or middle).
			if (haveSeq && first != nextSeq) || s.PrevDroppedPackets > 0 {
				p.st.gaps.Add(1)
				waitingKey = true
				pli(false)
			}
			haveSeq, nextSeq = true, s.RTPHeaders[len(s.RTPHeaders)-1].SequenceNumber+1
			key := vc.keyframe(s.Data)
			if waitingKey && !key {
				p.st.skipped.Add(1)
				pli(false)
				continue
			}
			ts := clock.micros(s.PacketTimestamp, int64(time.Since(p.start)/time.Microsecond))
			select {
			case <-p.video.P.Done():
				// The reader closed Video: nobody wants pictures, so
				// save the decode (the session lives on until it ends).
				continue
			default:
			}
			f, err := dec.Decode(s.Data, ts)
			if err != nil {
				if errors.Is(err, vc.noFrame) {
					continue
				}
				if errors.Is(err, vc.tooLarge) {
					return fmt.Errorf("%w (%w)", ErrTooLarge, err)
				}
				p.st.decodeErrors.Add(1)
				waitingKey = true
				pli(true)
				continue
			}
			waitingKey = false
			p.st.decoded.Add(1)
			if key {
				p.st.keyframes.Add(1)
			}
			p.video.P.Push(f)
			p.firstFrameOnce.Do(func() { close(p.firstFrame) })
		}
	}
}

// receiveAudio decodes Opus to interleaved f32 AudioData at 48 kHz until
// the track ends. The channel count is the first packet's (the TOC stereo
// flag); a short run of lost packets is concealed by the decoder.
func (p *Publication) receiveAudio(tr *webrtc.TrackRemote) error {
	var (
		dec     *opus.Decoder
		ch      int
		clock   = rtpClock{rate: 48000}
		haveSeq bool
		lastSeq uint16
		buf     []byte
	)
	defer func() {
		if dec != nil {
			dec.Close()
		}
	}()
	push := func(pcm []float32, ts int64) {
		if len(pcm) == 0 {
			return
		}
		if cap(buf) < 4*len(pcm) {
			buf = make([]byte, 4*len(pcm))
		}
		b := buf[:4*len(pcm)]
		for i, v := range pcm {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		a, err := media.NewAudioData(b, media.AudioDataInit{
			Format: media.F32, SampleRate: opus.SampleRate, NumberOfFrames: len(pcm) / ch,
			NumberOfChannels: ch, Timestamp: ts,
		})
		if err != nil {
			p.st.decodeErrors.Add(1)
			return
		}
		p.audio.P.Push(a)
	}
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return nil
		}
		p.st.audioPackets.Add(1)
		if len(pkt.Payload) == 0 {
			continue
		}
		if haveSeq {
			d := int16(pkt.SequenceNumber - lastSeq)
			if d <= 0 {
				continue // late or duplicate: its time has passed
			}
			if d > 1 && d <= 6 && dec != nil {
				// Conceal up to 100 ms of loss so the sound does not
				// jump; longer gaps are left as gaps in the timestamps.
				for i := 1; i < int(d); i++ {
					pcm, err := dec.Decode(nil)
					if err != nil {
						break
					}
					p.st.concealed.Add(1)
					ts := clock.micros(pkt.Timestamp-uint32((int(d)-i)*len(pcm)/ch), int64(time.Since(p.start)/time.Microsecond))
					push(pcm, ts)
				}
			}
		}
		haveSeq, lastSeq = true, pkt.SequenceNumber
		if dec == nil {
			ch = 1
			if pkt.Payload[0]&0x4 != 0 {
				ch = 2
			}
			if dec, err = opus.NewDecoder(ch); err != nil {
				// Video goes on without sound, as it would without audio.
				p.h.log.Error("whip: Opus decoder", "err", err)
				return nil
			}
		}
		pcm, err := dec.Decode(pkt.Payload)
		if err != nil {
			p.st.decodeErrors.Add(1)
			continue
		}
		ts := clock.micros(pkt.Timestamp, int64(time.Since(p.start)/time.Microsecond))
		p.st.audioDecoded.Add(1)
		push(pcm, ts)
	}
}
