package trial

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/internal/regularfile"
	"github.com/shadercast/shadercast/isf"
	"github.com/shadercast/shadercast/isf/isfpass"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/source/testsrc"
)

// RunChildIfRequested turns the process into a trial child when it was
// started as one (by Run), and then exits; otherwise it returns at once.
// Call it first thing in main, and in TestMain of test binaries whose
// tests start trials.
func RunChildIfRequested() {
	if os.Getenv(envChild) == "" {
		return
	}
	// Anything the child starts must not think it is a child too.
	os.Unsetenv(envChild)
	os.Exit(child(os.Stdin, os.Stdout))
}

// child reads a request, tries the shader and reports on out; its exit
// status is 0 whenever it could report.
func child(in io.Reader, out io.Writer) int {
	enc := json.NewEncoder(out)
	say := func(m message) {
		if err := enc.Encode(m); err != nil {
			os.Exit(3) // the parent is gone
		}
	}
	fail := func(err error) int {
		m := message{Kind: "error", Error: err.Error(), NoGL: errors.Is(err, compositor.ErrNoGL)}
		var ce *compositor.CompileError
		if errors.As(err, &ce) {
			m.Messages = ce.Messages
		}
		say(m)
		return 0
	}
	var req request
	if err := json.NewDecoder(io.LimitReader(in, 64<<20)).Decode(&req); err != nil {
		fmt.Fprintln(os.Stderr, "trial child: reading the request:", err)
		return 2
	}
	sh, err := load(req.Shader)
	if err != nil {
		return fail(err)
	}
	name := req.Shader.Name
	if name == "" {
		name = sh.Name
	}
	pass, err := isfpass.NewNamed(name, sh)
	if err != nil {
		return fail(err)
	}
	for k, v := range req.Shader.Inputs {
		// As a reload does: a value that no longer fits keeps the
		// default.
		_ = pass.SetInput(k, v)
	}
	dev, err := compositor.OpenDevice(compositor.DeviceOptions{})
	if err != nil {
		return fail(err)
	}
	// The parent kills the whole process at the deadline: no watchdog
	// here, and no cleanup worth waiting for on the way out.
	pl, err := compositor.NewPipeline(dev, compositor.Config{FrameDeadline: -1}, pass)
	if err != nil {
		return fail(err)
	}
	frame, err := patternFrame(req.Width, req.Height)
	if err != nil {
		return fail(err)
	}
	say(message{Kind: "ready"})
	for i := 0; i < req.Frames; i++ {
		f, err := frame.WithTimestamp(int64(i)*33333, 33333)
		if err != nil {
			return fail(err)
		}
		var o compositor.Output
		err = pl.Process(context.Background(), f, &o)
		f.Close()
		if err != nil {
			return fail(err)
		}
		o.Frame.Close()
		// A pass that fails on a frame is bypassed by a live pipeline;
		// here that is the shader's refusal.
		if info := pl.Passes(); len(info) == 1 && info[0].Error != "" {
			return fail(errors.New(info[0].Error))
		}
		say(message{Kind: "frame", Frame: i + 1})
	}
	say(message{Kind: "done", Passes: len(sh.Passes)})
	return 0
}

// load parses the shader from the source it was given, reading only its
// IMPORTED images from its folder.
func load(s Shader) (*isf.Shader, error) {
	base := s.Base
	if base == "" {
		base = filepath.Base(s.File)
	}
	if s.Dir == "" {
		sh, err := isf.Parse(base, s.Source, s.Vertex)
		if err != nil {
			return nil, renamed(err, s)
		}
		sh.File = s.File
		return sh, nil
	}
	sh, err := isf.ParseIn(regularfile.DirFS(s.Dir), base, s.Source, s.Vertex, isf.LoadOptions{MaxImagePixels: s.MaxImagePixels})
	if err != nil {
		return nil, renamed(err, s)
	}
	sh.File = s.File
	if sh.VertexFile != "" {
		sh.VertexFile = filepath.Join(s.Dir, filepath.FromSlash(sh.VertexFile))
	}
	return sh, nil
}

// renamed makes isf's errors name the path the caller knows.
func renamed(err error, s Shader) error {
	var ie *isf.Error
	if errors.As(err, &ie) && !filepath.IsAbs(ie.File) && !strings.HasPrefix(ie.File, s.File) {
		if s.Dir != "" {
			ie.File = filepath.Join(s.Dir, filepath.FromSlash(ie.File))
		} else if filepath.Base(s.File) == ie.File {
			ie.File = s.File
		}
	}
	return err
}

// patternFrame is the built-in test picture at w x h, so that a filter
// has real content to work on.
func patternFrame(w, h int) (media.VideoFrame, error) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	if pat, err := testsrc.New(w, h, 30); err == nil {
		pat.Render(0, img)
	} else {
		// Too small for the pattern: a gradient does.
		for i := 0; i < len(img.Pix); i += 4 {
			x, y := (i/4)%w, (i/4)/w
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(x*255/w), uint8(y*255/h), 128, 255
		}
	}
	return media.NewVideoFrame(img.Pix, media.VideoFrameInit{Format: media.RGBA, CodedWidth: w, CodedHeight: h})
}
