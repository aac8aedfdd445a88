package service

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/codec/h264"
	"github.com/shadercast/shadercast/codec/vp8"
	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/generator"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/whep"
)

// rung is one rendition of the ladder below the canvas: the composite
// scaled on the GPU (compositor.Rendition), its own video track, and a
// publisher per codec that encodes it while somebody receives it. The
// pipeline makes a rung's frames only while one of its publishers is in
// use, so a rung nobody watches costs nothing.
type rung struct {
	name   string // its height: "360p"
	w, h   int
	track  *generator.Track
	pubs   []*whep.Publisher // VP8, H.264
	frames atomic.Uint64     // renditions made and written to track
}

// rungName names a rendition by its height, as video players do.
func rungName(h int) string { return strconv.Itoa(h) + "p" }

// parseRungs reads Config.Renditions: each "1/N" (the canvas divided by
// N, rounded down to even sides) or "WxH", smaller than the canvas, at
// least compositor.MinRenditionSide, with distinct heights (they name
// the rungs); "none" alone means no ladder. They come out largest first.
func parseRungs(specs []string, cw, ch int) ([][2]int, error) {
	if len(specs) == 1 && specs[0] == "none" {
		return nil, nil
	}
	var out [][2]int
	for _, s := range specs {
		s = strings.TrimSpace(s)
		var w, h int
		if n, ok := strings.CutPrefix(s, "1/"); ok {
			d, err := strconv.Atoi(n)
			if err != nil || d < 2 {
				return nil, fmt.Errorf("rendition %q: 1/N needs a whole N ≥ 2", s)
			}
			w, h = cw/d&^1, ch/d&^1
		} else if ws, hs, ok := strings.Cut(s, "x"); ok {
			var err1, err2 error
			w, err1 = strconv.Atoi(ws)
			h, err2 = strconv.Atoi(hs)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("rendition %q: want 1/N or WxH", s)
			}
		} else {
			return nil, fmt.Errorf("rendition %q: want 1/N or WxH", s)
		}
		if w < compositor.MinRenditionSide || h < compositor.MinRenditionSide || w > cw || h > ch || w == cw && h == ch {
			return nil, fmt.Errorf("rendition %q is %dx%d: it must be smaller than the %dx%d canvas and at least %d a side", s, w, h, cw, ch, compositor.MinRenditionSide)
		}
		for _, o := range out {
			if o[1] == h {
				return nil, fmt.Errorf("rendition %q: two renditions %d high (they are named by their height)", s, h)
			}
		}
		if h == ch {
			return nil, fmt.Errorf("rendition %q: as high as the canvas, whose name %s it would take", s, rungName(ch))
		}
		out = append(out, [2]int{w, h})
	}
	// Largest first: a viewer that asks for nothing gets the top, and the
	// compositor scales each rung from the one above it.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j][0]*out[j][1] > out[j-1][0]*out[j-1][1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

// rungBitrate scales the canvas's bitrate to a rung's area by the 3/4
// power (bits per pixel grow as pictures shrink), so half the sides gets
// about 35% of the bits and a quarter 12%, within the encoders' bounds.
func rungBitrate(bitrate, cw, ch, w, h int) int {
	b := int(float64(bitrate) * math.Pow(float64(w*h)/float64(cw*ch), 0.75))
	return min(max(b, vp8.MinBitrate), vp8.MaxBitrate)
}

// newRungs makes the ladder's rungs with their tracks and publishers
// (vcfg is the top's, scaled down); on error what was made is closed.
func (s *Service) newRungs(vcfg whep.VideoConfig) ([]*rung, error) {
	sizes, err := parseRungs(s.cfg.Renditions, s.cfg.Width, s.cfg.Height)
	if err != nil {
		return nil, err
	}
	var out []*rung
	fail := func(err error) ([]*rung, error) {
		closeRungs(out)
		return nil, err
	}
	for _, sz := range sizes {
		r := &rung{name: rungName(sz[1]), w: sz[0], h: sz[1]}
		if r.track, err = generator.New(generator.KindVideo); err != nil {
			return fail(err)
		}
		out = append(out, r)
		r.track.SetLabel("shadercast video " + r.name)
		c := vcfg
		c.Rendition, c.Width, c.Height, c.StreamID, c.OnSample = r.name, sz[0], sz[1], s.stream.ID(), nil
		c.Bitrate = rungBitrate(vcfg.Bitrate, s.cfg.Width, s.cfg.Height, sz[0], sz[1])
		c.MinBitrate, c.MaxBitrate = min(max(c.Bitrate/4, vp8.MinBitrate), c.Bitrate), c.Bitrate
		for _, codec := range []string{webrtc.MimeTypeVP8, webrtc.MimeTypeH264} {
			c.Codec, c.ProfileLevelID = codec, ""
			if codec == webrtc.MimeTypeH264 {
				level, err := h264.LevelFor(sz[0], sz[1], s.cfg.FPS)
				if err != nil {
					return fail(err)
				}
				c.ProfileLevelID = level.ProfileLevelID()
			}
			p, err := whep.NewVideoPublisher(r.track, c)
			if err != nil {
				return fail(fmt.Errorf("rendition %s: %w", r.name, err))
			}
			r.pubs = append(r.pubs, p)
		}
	}
	return out, nil
}

// inUse reports whether somebody receives one of the rung's codecs.
func (r *rung) inUse() bool {
	for _, p := range r.pubs {
		if p.InUse() {
			return true
		}
	}
	return false
}

// closeRungs closes the rungs' publishers and stops their tracks.
func closeRungs(rs []*rung) {
	for _, r := range rs {
		for _, p := range r.pubs {
			p.Close()
		}
		r.track.Stop()
	}
}

// askRungs sets the renditions the pipeline makes in out's next frame:
// the rungs somebody receives.
func (s *Service) askRungs(out *compositor.Output) {
	out.Renditions = out.Renditions[:0]
	for _, r := range s.rungs {
		if r.inUse() {
			out.Renditions = append(out.Renditions, compositor.Rendition{Width: r.w, Height: r.h})
		}
	}
}

// writeRungs hands each rendition the pipeline made to its rung's track,
// which takes it; a rendition the pipeline could not make is logged once.
func (s *Service) writeRungs(out *compositor.Output, write func(*generator.Track, media.VideoFrame)) {
	for i := range out.Renditions {
		rd := &out.Renditions[i]
		f := rd.Frame
		rd.Frame = media.VideoFrame{}
		if rd.Err != nil {
			if msg := rd.Err.Error(); msg != s.lastRungErr {
				s.lastRungErr = msg
				s.log.Warn("rendition not made", "err", rd.Err)
			}
			continue
		}
		for _, r := range s.rungs {
			if r.w == rd.Width && r.h == rd.Height {
				r.frames.Add(1)
				write(r.track, f)
				f = media.VideoFrame{}
				break
			}
		}
		f.Close()
	}
}
