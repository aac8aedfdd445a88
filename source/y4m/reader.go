// Package y4m reads YUV4MPEG2 (.y4m) video, the uncompressed format that
// ffmpeg, mjpegtools and Chromium's fake capture device use, and plays a
// file (or stdin) as a live shadercast input paced at its frame rate.
//
// Only 8-bit 4:2:0 and monochrome streams are read: those are what the
// compositor takes without a conversion pass, and anything else is one
// `ffmpeg -pix_fmt yuv420p` away. Frames come out as pooled I420
// media.VideoFrames whose planes are filled straight from the stream.
package y4m

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"strconv"
	"strings"

	"github.com/shadercast/shadercast/media"
)

const (
	streamMagic = "YUV4MPEG2"
	frameMagic  = "FRAME"
	// maxLine bounds header lines: a header is a few dozen bytes, so a
	// longer "line" means the input is not Y4M (or a header was lost) and
	// must not make the reader buffer without limit.
	maxLine = 4096

	// maxRatioTerm bounds each side of a ratio (F, A): the largest value
	// ffmpeg's 32-bit rationals write, far above any real rate's terms
	// (F30000:1001, F60000:1001, F24000:1001). Every product the reader
	// forms from the terms then fits in 64 bits.
	maxRatioTerm = 1<<31 - 1
	// maxFrameSeconds and maxFrameRate bound the F rate: one frame an
	// hour (a time-lapse) to 10000 fps (high-speed captures), so that
	// every real file plays and frame times stay far from overflow.
	maxFrameSeconds = 3600
	maxFrameRate    = 10000
	// maxHeadersInARow bounds stream headers met one after another with
	// no frame between them (a mid-stream header is adopted, see
	// ReadFrame): a stream of nothing but headers is garbage, not video.
	maxHeadersInARow = 16
)

var (
	// ErrTruncated means the stream ended inside a frame. The error
	// returned wraps it and says how many bytes of how many arrived.
	ErrTruncated = errors.New("y4m: truncated frame")
	// ErrFrameMarker means a frame did not start with a FRAME line where
	// one was due (garbage, or a frame size that disagrees with the
	// header).
	ErrFrameMarker = errors.New("y4m: missing or garbled FRAME marker")
	// ErrUnsupported is wrapped by the *HeaderError for streams that are
	// valid Y4M but not 8-bit 4:2:0 or mono.
	ErrUnsupported = errors.New("y4m: unsupported format")
)

// HeaderError is a stream or frame header that cannot be used. Token is the
// offending token as written ("" for a problem with the line as a whole).
type HeaderError struct {
	Token  string
	Reason string
	Err    error // ErrUnsupported for valid but unsupported formats, else nil
}

func (e *HeaderError) Error() string {
	if e.Token == "" {
		return "y4m: bad header: " + e.Reason
	}
	return fmt.Sprintf("y4m: bad header token %q: %s", e.Token, e.Reason)
}

func (e *HeaderError) Unwrap() error { return e.Err }

// SizeChangeError is returned when a FRAME line carries its own W or H
// parameters that differ from the stream header's: the format allows
// per-frame parameters, but a frame-local size cannot be honoured without
// breaking the stream's frame accounting. (A whole new stream header in the
// middle, as `cat a.y4m b.y4m` produces, is not an error: see ReadFrame.)
type SizeChangeError struct {
	From, To [2]int // width, height
}

func (e *SizeChangeError) Error() string {
	return fmt.Sprintf("y4m: frame header changes the size from %dx%d to %dx%d", e.From[0], e.From[1], e.To[0], e.To[1])
}

// Ratio is a rational number as Y4M writes it (F30000:1001, A1:1).
type Ratio struct{ Num, Den int }

func (r Ratio) String() string { return strconv.Itoa(r.Num) + ":" + strconv.Itoa(r.Den) }

// Header is a parsed stream header.
type Header struct {
	Width, Height int
	FrameRate     Ratio // F; 25:1 when absent, as ffmpeg assumes
	// Interlace is the I token's value: "p" progressive, "t" top field
	// first, "b" bottom field first, "m" mixed, "?" or "" unknown. Frames
	// are returned as stored (woven fields); nothing is deinterlaced.
	Interlace   string
	PixelAspect Ratio  // A; 0:0 when unknown or absent
	Colorspace  string // C without the C: "420jpeg", "420mpeg2", "420paldv", "420", "mono"
	// ColorRange is the XCOLORRANGE extension ffmpeg writes: "FULL",
	// "LIMITED", or "" when absent (treated as limited).
	ColorRange string
	// Comments are the X tokens without their X, in order (XCOLORRANGE and
	// ffmpeg's XYSCSS included).
	Comments []string
}

// Interlaced reports whether the header declares interlaced content.
func (h Header) Interlaced() bool {
	return h.Interlace == "t" || h.Interlace == "b" || h.Interlace == "m"
}

// ColorSpace is the color space frames of this stream carry. Y4M stores no
// matrix; what writers (ffmpeg among them) assume, and what players then
// use, is BT.601 for standard definition and BT.709 for HD, so the reader
// follows the same rule: BT.709 from 720 lines up, BT.601 below. The range
// comes from XCOLORRANGE, limited unless it says FULL.
func (h Header) ColorSpace() media.ColorSpace {
	cs := media.ColorSpace{Matrix: media.MatrixBT601, FullRange: h.ColorRange == "FULL"}
	if h.Height >= 720 {
		cs.Matrix = media.MatrixBT709
	}
	return cs
}

// frameTime converts frame index n to microseconds exactly (128-bit
// intermediate), so that timestamps never drift from the declared rate.
// The parser keeps the rate's terms in 1..maxRatioTerm, so Den*1e6 fits in
// 64 bits; a product beyond int64 microseconds (hundreds of thousands of
// years of media time) saturates instead of wrapping or panicking in
// Div64.
func (h Header) frameTime(n int64) int64 {
	num, den := h.FrameRate.Num, h.FrameRate.Den
	if n <= 0 || num <= 0 || den <= 0 || den > maxRatioTerm {
		return 0
	}
	hi, lo := bits.Mul64(uint64(n), uint64(den)*1_000_000)
	if hi >= uint64(num) {
		return math.MaxInt64 // the quotient does not fit in 64 bits
	}
	q, _ := bits.Div64(hi, lo, uint64(num))
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(q)
}

// addTime adds microsecond times, saturating instead of wrapping.
func addTime(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// Reader reads frames from a Y4M stream.
type Reader struct {
	br   *bufio.Reader
	hdr  Header
	mono bool
	cs   media.ColorSpace

	// Timestamps: frame n of the current header is at base + frameTime(n).
	// A new header mid-stream (possibly at another rate) restarts n and
	// moves base to where the previous frame ended, so time never goes back.
	n    int64
	base int64
}

// NewReader reads and parses the stream header from r.
func NewReader(r io.Reader) (*Reader, error) {
	rd := &Reader{br: bufio.NewReaderSize(r, 64<<10)}
	if err := rd.readStreamHeader(); err != nil {
		return nil, err
	}
	return rd, nil
}

// Header returns the header now in force (the latest, after a mid-stream
// header).
func (r *Reader) Header() Header { return r.hdr }

// restart continues on a new stream (a loop back to the start of a file)
// with timestamps following on from the frames read so far.
func (r *Reader) restart(src io.Reader) error {
	r.br.Reset(src)
	r.base = addTime(r.base, r.hdr.frameTime(r.n))
	r.n = 0
	return r.readStreamHeader()
}

func (r *Reader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) || (err == nil && len(line) > maxLine) {
		return nil, &HeaderError{Reason: fmt.Sprintf("no newline within %d bytes (not a Y4M header)", maxLine)}
	}
	return line, err
}

func (r *Reader) readStreamHeader() error {
	line, err := r.readLine()
	if err != nil {
		if errors.Is(err, io.EOF) {
			if len(line) == 0 {
				return &HeaderError{Reason: "empty input"}
			}
			return &HeaderError{Reason: "stream header ends without a newline"}
		}
		return err
	}
	return r.parseStreamHeader(line[:len(line)-1])
}

func (r *Reader) parseStreamHeader(line []byte) error {
	fields := bytes.Split(line, []byte{' '})
	if string(fields[0]) != streamMagic {
		return &HeaderError{Token: clip(fields[0]), Reason: "stream does not start with YUV4MPEG2"}
	}
	h := Header{FrameRate: Ratio{25, 1}, Colorspace: "420jpeg"}
	for _, f := range fields[1:] {
		if len(f) == 0 {
			continue // tolerate doubled spaces
		}
		tok, v := string(f), string(f[1:])
		switch f[0] {
		case 'W', 'H':
			n, ok := parseUint(v, media.MaxDimension)
			if !ok || n == 0 {
				return &HeaderError{Token: clip(f), Reason: fmt.Sprintf("size must be 1..%d", media.MaxDimension)}
			}
			if f[0] == 'W' {
				h.Width = n
			} else {
				h.Height = n
			}
		case 'F':
			rt, ok := parseRatio(v)
			if !ok {
				return &HeaderError{Token: clip(f), Reason: "frame rate must be num:den, two whole numbers"}
			}
			if rt == (Ratio{}) {
				rt = Ratio{25, 1} // F0:0 is "unknown"; ffmpeg reads it as 25 fps too
			}
			if rt.Num == 0 || rt.Den == 0 {
				return &HeaderError{Token: clip(f), Reason: "frame rate must be num:den, both positive"}
			}
			// Terms below 2^31 keep the products here and in frameTime
			// within 64 bits; then num/den is checked exactly.
			if rt.Num > maxRatioTerm || rt.Den > maxRatioTerm ||
				int64(rt.Num)*maxFrameSeconds < int64(rt.Den) || int64(rt.Num) > maxFrameRate*int64(rt.Den) {
				return &HeaderError{Token: clip(f), Reason: fmt.Sprintf("frame rate %s (%.3g fps) out of range: want one frame an hour to %d fps, with num and den up to %d", rt, float64(rt.Num)/float64(rt.Den), maxFrameRate, maxRatioTerm)}
			}
			h.FrameRate = rt
		case 'A':
			rt, ok := parseRatio(v)
			if !ok || rt.Num > maxRatioTerm || rt.Den > maxRatioTerm {
				return &HeaderError{Token: clip(f), Reason: fmt.Sprintf("pixel aspect must be num:den, two whole numbers up to %d", maxRatioTerm)}
			}
			h.PixelAspect = rt
		case 'I':
			switch v {
			case "p", "t", "b", "m", "?":
				h.Interlace = v
			default:
				return &HeaderError{Token: clip(f), Reason: "interlacing must be one of p, t, b, m, ?"}
			}
		case 'C':
			switch v {
			// The four 4:2:0 variants differ only in chroma siting
			// (centred, co-sited left, DV's alternating lines). The
			// compositor samples chroma centred, so the others are off by
			// up to half a chroma pixel: invisible at video sizes, and not
			// worth a resampling pass.
			case "420jpeg", "420mpeg2", "420paldv", "420", "mono":
				h.Colorspace = v
			default:
				return &HeaderError{Token: tok, Err: ErrUnsupported,
					Reason: "only 8-bit 4:2:0 (C420jpeg, C420mpeg2, C420paldv, C420) and Cmono are read; convert with ffmpeg -pix_fmt yuv420p"}
			}
		case 'X':
			h.Comments = append(h.Comments, v)
			if k, val, ok := bytes.Cut(f[1:], []byte{'='}); ok && string(k) == "COLORRANGE" {
				switch string(val) {
				case "FULL", "LIMITED":
					h.ColorRange = string(val)
				default:
					return &HeaderError{Token: tok, Reason: "must be FULL or LIMITED"}
				}
			}
		default:
			return &HeaderError{Token: tok, Reason: "unknown header parameter"}
		}
	}
	if h.Width == 0 {
		return &HeaderError{Token: "W", Reason: "width missing"}
	}
	if h.Height == 0 {
		return &HeaderError{Token: "H", Reason: "height missing"}
	}
	if h.Width*h.Height > media.MaxPixels {
		return &HeaderError{Token: fmt.Sprintf("W%d H%d", h.Width, h.Height), Reason: "frame too large"}
	}
	r.hdr, r.mono, r.cs = h, h.Colorspace == "mono", h.ColorSpace()
	return nil
}

// parseRatio reads "num:den", two whole numbers below 10^18 (so that a
// term too large for its field is reported with its value; callers check
// their own bounds).
func parseRatio(s string) (Ratio, bool) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return Ratio{}, false
	}
	n, ok1 := parseUint(a, 1e18)
	d, ok2 := parseUint(b, 1e18)
	return Ratio{n, d}, ok1 && ok2
}

// parseUint reads a whole number of decimal digits (no sign, no spaces)
// up to limit, without overflowing on any length of input.
func parseUint(s string, limit int) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int(c - '0')
		if n > (limit-d)/10 {
			return 0, false // checked before multiplying: no wrap-around
		}
		n = n*10 + d
	}
	return n, true
}

// clip keeps error messages about binary garbage short and printable.
func clip(b []byte) string {
	if len(b) > 32 {
		b = b[:32]
	}
	return string(b)
}

// FrameSize is the number of pixel bytes in one frame of h.
func (h Header) FrameSize() int {
	y := h.Width * h.Height
	if h.Colorspace == "mono" {
		return y
	}
	return y + 2*((h.Width+1)/2)*((h.Height+1)/2)
}

// ReadFrame reads the next frame as an I420 media.VideoFrame that the
// caller must Close. Its timestamp is the frame index times the frame
// duration in microseconds, computed exactly from the F ratio; its color
// space is Header().ColorSpace(). Mono streams get neutral chroma (128).
//
// A new YUV4MPEG2 header in the middle of the stream (what concatenating
// two files gives) is adopted, not refused: ReadFrame returns the next
// frame at the new size, Header reports the new header, and timestamps go
// on from where the previous part ended. Callers that care compare frame
// sizes; the compositor takes any size frame by frame.
//
// At the clean end of the stream ReadFrame returns io.EOF. A short last
// frame gives an error wrapping ErrTruncated; a line where a FRAME line
// should be gives one wrapping ErrFrameMarker; frame parameters that cannot
// be honoured give a *HeaderError or *SizeChangeError. The partial frame is
// released in every error case.
func (r *Reader) ReadFrame() (media.VideoFrame, error) {
	headers := 0
	for {
		line, err := r.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if len(line) == 0 {
					return media.VideoFrame{}, io.EOF
				}
				return media.VideoFrame{}, fmt.Errorf("%w: stream ends inside a frame header (%q)", ErrTruncated, clip(line))
			}
			var he *HeaderError
			if errors.As(err, &he) {
				return media.VideoFrame{}, fmt.Errorf("%w: no FRAME line after frame %d", ErrFrameMarker, r.n)
			}
			return media.VideoFrame{}, err
		}
		body := line[:len(line)-1]
		if bytes.HasPrefix(body, []byte(streamMagic+" ")) {
			if headers++; headers > maxHeadersInARow {
				return media.VideoFrame{}, &HeaderError{Reason: fmt.Sprintf("%d stream headers in a row without a frame", headers)}
			}
			prev := r.hdr
			r.base = addTime(r.base, prev.frameTime(r.n))
			r.n = 0
			if err := r.parseStreamHeader(body); err != nil {
				return media.VideoFrame{}, err
			}
			continue
		}
		if !bytes.HasPrefix(body, []byte(frameMagic)) || (len(body) > len(frameMagic) && body[len(frameMagic)] != ' ') {
			return media.VideoFrame{}, fmt.Errorf("%w: after frame %d got %q", ErrFrameMarker, r.n, clip(body))
		}
		if err := r.checkFrameParams(body[len(frameMagic):]); err != nil {
			return media.VideoFrame{}, err
		}
		return r.readPlanes()
	}
}

// checkFrameParams accepts what the format allows per frame and the reader
// can honour: I (interlacing, only flagged anyway) and X comments. A
// frame-local size is refused with *SizeChangeError; anything else is a
// *HeaderError.
func (r *Reader) checkFrameParams(params []byte) error {
	for len(params) > 0 {
		var f []byte
		params = bytes.TrimLeft(params, " ")
		f, params, _ = bytes.Cut(params, []byte{' '})
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case 'I', 'X':
		case 'W', 'H':
			n, ok := parseUint(string(f[1:]), media.MaxDimension)
			if !ok {
				return &HeaderError{Token: clip(f), Reason: "bad frame size"}
			}
			to := [2]int{r.hdr.Width, r.hdr.Height}
			to[bool2int(f[0] == 'H')] = n
			if to != [2]int{r.hdr.Width, r.hdr.Height} {
				return &SizeChangeError{From: [2]int{r.hdr.Width, r.hdr.Height}, To: to}
			}
		default:
			return &HeaderError{Token: clip(f), Reason: "frame parameter not supported"}
		}
	}
	return nil
}

func bool2int(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (r *Reader) readPlanes() (media.VideoFrame, error) {
	h := &r.hdr
	ts := addTime(r.base, h.frameTime(r.n))
	f, err := media.AllocVideoFrame(media.VideoFrameInit{
		Format: media.I420, CodedWidth: h.Width, CodedHeight: h.Height,
		Timestamp: ts, Duration: addTime(r.base, h.frameTime(r.n+1)) - ts, ColorSpace: r.cs,
	})
	if err != nil {
		return f, err
	}
	want, got := h.FrameSize(), 0
	planes := 3
	if r.mono {
		planes = 1
	}
	for i := 0; i < planes; i++ {
		p, _ := f.Plane(i)
		// Allocated frames are tightly packed: each plane is one read.
		n, err := io.ReadFull(r.br, p.Data)
		got += n
		if err != nil {
			f.Close()
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return media.VideoFrame{}, fmt.Errorf("%w: frame %d has %d of %d bytes", ErrTruncated, r.n, got, want)
			}
			return media.VideoFrame{}, err
		}
	}
	if r.mono {
		for i := 1; i < 3; i++ {
			p, _ := f.Plane(i)
			for k := range p.Data {
				p.Data[k] = 128
			}
		}
	}
	r.n++
	return f, nil
}
