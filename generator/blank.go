package generator

import (
	"github.com/shadercast/shadercast/media"
)

// blank returns the black or silent stand-in for f, owned by the caller.
// s.mu is held.
func (s *source) blank(f Frame) (Frame, error) {
	switch f := f.(type) {
	case media.VideoFrame:
		if err := s.ensureBlack(f); err != nil {
			return nil, err
		}
		// Black pixels never change, so one picture is shared and only
		// retimed: disabling a track costs no pixel fill per frame.
		return s.black.WithTimestamp(f.Timestamp(), f.Duration())
	case media.AudioData:
		n := f.NumberOfFrames() * f.NumberOfChannels() * f.Format().BytesPerSample()
		fill := byte(0)
		if f.Format() == media.U8 || f.Format() == media.U8Planar {
			fill = 0x80 // unsigned 8-bit silence is mid-scale
		}
		if len(s.silence) != n || n > 0 && s.silence[0] != fill {
			s.silence = make([]byte, n)
			for i := range s.silence {
				s.silence[i] = fill
			}
		}
		return media.NewAudioData(s.silence, media.AudioDataInit{
			Format:           f.Format(),
			SampleRate:       f.SampleRate(),
			NumberOfFrames:   f.NumberOfFrames(),
			NumberOfChannels: f.NumberOfChannels(),
			Timestamp:        f.Timestamp(),
		})
	}
	return nil, ErrWrongKind
}

// ensureBlack makes s.black a black picture with f's format, size and
// color space.
func (s *source) ensureBlack(f media.VideoFrame) error {
	b := s.black
	if !b.Closed() && b.Format() == f.Format() && b.CodedWidth() == f.CodedWidth() &&
		b.CodedHeight() == f.CodedHeight() && b.ColorSpace() == f.ColorSpace() {
		return nil
	}
	b.Close()
	s.black = media.VideoFrame{}
	nb, err := media.AllocVideoFrame(media.VideoFrameInit{
		Format:      f.Format(),
		CodedWidth:  f.CodedWidth(),
		CodedHeight: f.CodedHeight(),
		ColorSpace:  f.ColorSpace(),
	})
	if err != nil {
		return err
	}
	if err := fillBlack(nb); err != nil {
		nb.Close()
		return err
	}
	s.black = nb
	return nil
}

// fillBlack paints an allocated frame black: Y 16 (limited range) or 0
// (full range) with neutral chroma 128 for YUV, and 0,0,0 with opaque
// alpha for packed RGB formats (the X byte gets 255 too, harmlessly).
func fillBlack(f media.VideoFrame) error {
	format := f.Format()
	for i := range format.NumPlanes() {
		p, err := f.Plane(i)
		if err != nil {
			return err
		}
		if !format.IsYUV() {
			for j := range p.Data {
				if j%4 == 3 {
					p.Data[j] = 255
				} else {
					p.Data[j] = 0
				}
			}
			continue
		}
		v := byte(128)
		if i == 0 {
			v = 16
			if f.ColorSpace().FullRange {
				v = 0
			}
		}
		for j := range p.Data {
			p.Data[j] = v
		}
	}
	return nil
}
