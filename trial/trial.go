// Package trial renders a plugin shader for a few frames in a child
// process with a deadline, before it may join a live pipeline. A GPU
// cannot be interrupted in the middle of a draw: a shader whose loop runs
// for minutes holds the one GL thread of a process for minutes. Tried in
// a child, such a shader costs only the child, which is killed (its whole
// process group) at the deadline, and the shader is refused with an
// error at its file; the live chain never sees it.
//
// The child is the same executable started in a hidden mode: every
// program that runs trials calls RunChildIfRequested first thing in main
// (and test binaries in TestMain, since there os.Executable is the test
// binary). The child gets the shader's source as it was read, so a file
// swapped meanwhile cannot make it try something else, and opens its own
// GL context (a GPU or llvmpipe).
package trial

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/shadercast/shadercast/compositor"
)

// Defaults of Options.
const (
	DefaultDeadline = 2 * time.Second
	DefaultFrames   = 3
	DefaultWidth    = 1280
	DefaultHeight   = 720
	// DefaultSetupTimeout bounds the child's start, GL context and
	// compile: generous, since it is not the shader's running time.
	DefaultSetupTimeout = 30 * time.Second
)

// envChild marks the child process; an environment variable, so that no
// flag parsing of the program is involved.
const envChild = "SHADERCAST_TRIAL_CHILD"

// maxStderr bounds what is kept of the child's stderr for error messages.
const maxStderr = 8 << 10

// Shader is a plugin shader to try, as it was read.
type Shader struct {
	// Name is the pass name; File is the path errors name. File's
	// extension says how Source is read (.fs ISF, .glsl ShaderToy).
	Name string `json:"name"`
	File string `json:"file"`
	// Dir is the folder the shader's IMPORTED images are read from (the
	// folder the registry confines it to); "" when it has none.
	Dir string `json:"dir,omitempty"`
	// Base is File relative to Dir (the name the shader was loaded as).
	Base string `json:"base,omitempty"`
	// Source is the fragment shader; Vertex the .vs beside it, nil when
	// there was none.
	Source []byte `json:"source"`
	Vertex []byte `json:"vertex,omitempty"`
	// Inputs are the values the pass starts with (others take their
	// default), as the live pass would: a reload keeps the values set.
	Inputs map[string]any `json:"inputs,omitempty"`
	// MaxImagePixels bounds its IMPORTED images as the service does (0:
	// imagefile's default).
	MaxImagePixels int64 `json:"maxImagePixels,omitempty"`
}

// Options bound a trial; the zero value uses the defaults.
type Options struct {
	// Deadline is how long the frames may take, from the moment the
	// shader compiled (DefaultDeadline when zero).
	Deadline time.Duration
	// Frames is how many frames are rendered (DefaultFrames when zero).
	Frames int
	// Width and Height are the frame size: the live output's, since a
	// shader's cost grows with it (DefaultWidth x DefaultHeight when 0).
	Width, Height int
	// SetupTimeout bounds starting the child, opening GL and compiling
	// (DefaultSetupTimeout when zero).
	SetupTimeout time.Duration
	// Executable is the program started in child mode; os.Executable()
	// when empty.
	Executable string
}

func (o *Options) defaults() {
	if o.Deadline <= 0 {
		o.Deadline = DefaultDeadline
	}
	if o.Frames <= 0 {
		o.Frames = DefaultFrames
	}
	if o.Width <= 0 || o.Height <= 0 {
		o.Width, o.Height = DefaultWidth, DefaultHeight
	}
	if o.SetupTimeout <= 0 {
		o.SetupTimeout = DefaultSetupTimeout
	}
}

// Result describes a trial the shader passed.
type Result struct {
	Passes        int // the shader's render passes
	Width, Height int // of the frames rendered
	Frames        int
	// Setup is the child's start, GL context and compile; Render the
	// frames; Wall the whole trial as the caller waited for it.
	Setup, Render, Wall time.Duration
}

// ErrDeadline matches the error of a shader that did not render its
// frames within the deadline (errors.Is).
var ErrDeadline = errors.New("trial: deadline exceeded")

// deadlineError is a refusal for time; it matches ErrDeadline.
type deadlineError struct{ msg string }

func (e *deadlineError) Error() string { return e.msg }
func (e *deadlineError) Unwrap() error { return ErrDeadline }

// request is what the parent sends the child on stdin.
type request struct {
	Shader Shader `json:"shader"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Frames int    `json:"frames"`
}

// message is one line the child writes on stdout: "ready" once compiled,
// "frame" after each frame, then "done" or "error".
type message struct {
	Kind     string                      `json:"kind"`
	Frame    int                         `json:"frame,omitempty"`
	Passes   int                         `json:"passes,omitempty"`
	Error    string                      `json:"error,omitempty"`
	Messages []compositor.CompileMessage `json:"messages,omitempty"`
	NoGL     bool                        `json:"noGL,omitempty"`
}

// Run tries sh in a child process: parse, compile, then opts.Frames
// frames at opts.Width x opts.Height within opts.Deadline. An error means
// the shader must not join a live pipeline: it names sh.File (a compile
// error is a *compositor.CompileError, a shader too slow matches
// ErrDeadline, no GL at all compositor.ErrNoGL). ctx cancels the trial.
func Run(ctx context.Context, sh Shader, opts Options) (Result, error) {
	opts.defaults()
	t0 := time.Now()
	res := Result{Width: opts.Width, Height: opts.Height}
	exe := opts.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return res, fmt.Errorf("trial: finding this program to start it in trial mode: %w", err)
		}
		if runtime.GOOS == "linux" {
			// The very file this process runs, even after an upgrade
			// replaced the one at exe's path.
			if _, err := os.Stat("/proc/self/exe"); err == nil {
				exe = "/proc/self/exe"
			}
		}
	}
	req, err := json.Marshal(request{Shader: sh, Width: opts.Width, Height: opts.Height, Frames: opts.Frames})
	if err != nil {
		return res, fmt.Errorf("trial: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envChild+"=1")
	cmd.Stdin = bytes.NewReader(req)
	stderr := &tailBuffer{max: maxStderr}
	cmd.Stderr = stderr
	// Its own process group, so that the kill reaches anything it
	// started; and killed with us should we die first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return res, fmt.Errorf("trial: %w", err)
	}
	// Pdeathsig follows the OS thread that forked, not the process: keep
	// that thread until the child is reaped, or its end (Go retires
	// threads) would kill the child early.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("trial: starting %s: %w", exe, err)
	}
	lines := make(chan message, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			var m message
			if json.Unmarshal(sc.Bytes(), &m) == nil && m.Kind != "" {
				lines <- m
			}
		}
		io.Copy(io.Discard, out)
	}()
	kill := func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	defer func() {
		kill()
		for range lines {
		}
		cmd.Wait()
	}()

	setup := time.NewTimer(opts.SetupTimeout)
	defer setup.Stop()
	var render <-chan time.Time
	var tRender time.Time
	for {
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("%s: trial render: %w", sh.File, ctx.Err())
		case <-setup.C:
			return res, fmt.Errorf("%s: did not compile in %v (trial render; the shader is refused)", sh.File, opts.SetupTimeout)
		case <-render:
			res.Wall = time.Since(t0)
			if res.Frames == 0 {
				return res, &deadlineError{fmt.Sprintf("%s: did not finish a frame in %v (trial render at %dx%d; the shader is refused)",
					sh.File, opts.Deadline, opts.Width, opts.Height)}
			}
			return res, &deadlineError{fmt.Sprintf("%s: finished only %d of %d frames in %v (trial render at %dx%d; the shader is refused)",
				sh.File, res.Frames, opts.Frames, opts.Deadline, opts.Width, opts.Height)}
		case m, ok := <-lines:
			if !ok {
				cmd.Wait()
				return res, fmt.Errorf("%s: the trial render crashed (%v)%s", sh.File, cmd.ProcessState, stderrTail(stderr))
			}
			switch m.Kind {
			case "ready":
				setup.Stop()
				tRender = time.Now()
				res.Setup = tRender.Sub(t0)
				render = time.After(opts.Deadline)
			case "frame":
				res.Frames = m.Frame
			case "done":
				res.Passes, res.Wall = m.Passes, time.Since(t0)
				res.Render = time.Since(tRender)
				return res, nil
			case "error":
				res.Wall = time.Since(t0)
				return res, childError(sh, m)
			}
		}
	}
}

// childError rebuilds the child's error so that callers can tell kinds
// apart as if the work had been done in-process.
func childError(sh Shader, m message) error {
	switch {
	case m.NoGL:
		return fmt.Errorf("%w: %s", compositor.ErrNoGL, m.Error)
	case len(m.Messages) > 0:
		return &compositor.CompileError{File: sh.File, Messages: m.Messages, Log: m.Error}
	}
	msg := m.Error
	if !strings.HasPrefix(msg, sh.File) && !strings.HasPrefix(msg, filepath.Clean(sh.File)) {
		msg = sh.File + ": " + msg
	}
	return errors.New(msg)
}

func stderrTail(b *tailBuffer) string {
	s := strings.TrimSpace(b.String())
	if s == "" {
		return ""
	}
	return ": " + s
}

// tailBuffer keeps the last max bytes written.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.buf) }
