package y4m

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/source"
	"github.com/shadercast/shadercast/source/internal/pace"
)

// Options configures Open.
type Options struct {
	// Loop starts the file over at its end instead of returning io.EOF;
	// timestamps keep increasing across loops. Not possible with stdin.
	Loop bool
}

// Source plays a Y4M file as a live input (source.Video): each frame is
// returned when it is due at the file's frame rate, on a schedule anchored
// at the first ReadVideo.
type Source struct {
	f    *os.File
	r    *Reader
	loop bool
	ps   pace.Stream

	// pending is a frame whose wait was cut short by the caller's context:
	// the next ReadVideo returns it rather than losing it.
	mu      sync.Mutex
	pending media.VideoFrame
	closed  bool

	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

var _ source.Video = (*Source)(nil)

// Open opens path ("-" for standard input) and reads its header.
func Open(path string, opts Options) (*Source, error) {
	var f *os.File
	if path == "-" {
		if opts.Loop {
			return nil, errors.New("y4m: cannot loop standard input: a pipe cannot rewind")
		}
		f = os.Stdin
	} else {
		var err error
		if f, err = os.Open(path); err != nil {
			return nil, fmt.Errorf("y4m: %w", err)
		}
	}
	r, err := NewReader(f)
	if err != nil {
		if f != os.Stdin {
			f.Close()
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s := &Source{f: f, r: r, loop: opts.Loop, done: make(chan struct{}), ps: pace.Stream{Clock: new(pace.Clock)}}
	return s, nil
}

// Header returns the stream header now in force.
func (s *Source) Header() Header { return s.r.Header() }

// ReadVideo returns the next frame once it is due. A caller that falls more
// than a frame behind gets the late frame at once, and the schedule is
// re-anchored so that it is not followed by a burst. At the end of the file
// it returns io.EOF, or starts over when looping. After Close it returns
// ErrClosed. A read abandoned through ctx loses nothing: the frame it was
// holding is what the next ReadVideo returns.
func (s *Source) ReadVideo(ctx context.Context) (media.VideoFrame, error) {
	select {
	case <-s.done:
		return media.VideoFrame{}, ErrClosed
	default:
	}
	s.mu.Lock()
	f := s.pending
	s.pending = media.VideoFrame{}
	s.mu.Unlock()
	if !f.Closed() {
		return s.wait(ctx, f)
	}
	f, err := s.r.ReadFrame()
	if errors.Is(err, io.EOF) && s.loop {
		if _, err = s.f.Seek(0, io.SeekStart); err == nil {
			if err = s.r.restart(s.f); err == nil {
				f, err = s.r.ReadFrame()
			}
		}
		if errors.Is(err, io.EOF) {
			err = errors.New("y4m: cannot loop a file without frames")
		}
	}
	if err != nil {
		select {
		case <-s.done:
			return media.VideoFrame{}, ErrClosed
		default:
		}
		return media.VideoFrame{}, err
	}
	return s.wait(ctx, f)
}

func (s *Source) wait(ctx context.Context, f media.VideoFrame) (media.VideoFrame, error) {
	s.ps.Slack = time.Duration(f.Duration()) * time.Microsecond
	err := s.ps.Wait(ctx, time.Duration(f.Timestamp())*time.Microsecond, s.done)
	if err == nil {
		return f, nil
	}
	if errors.Is(err, pace.ErrClosed) {
		f.Close()
		return media.VideoFrame{}, ErrClosed
	}
	s.mu.Lock()
	if s.closed {
		f.Close()
	} else {
		s.pending = f
	}
	s.mu.Unlock()
	return media.VideoFrame{}, err
}

// ErrClosed is returned by ReadVideo after Close.
var ErrClosed = errors.New("y4m: source closed")

// Close closes the file, which makes a ReadVideo blocked on it or on the
// schedule return ErrClosed. Standard input is left open (closing it would
// take it from the rest of the process), so a ReadVideo blocked reading a
// pipe that produces nothing returns only when the pipe does.
func (s *Source) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.pending.Close()
		s.mu.Unlock()
		close(s.done)
		if s.f != os.Stdin {
			s.closeErr = s.f.Close()
		}
	})
	return s.closeErr
}
