package service

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/shadercast/shadercast/internal/safe"
	"github.com/shadercast/shadercast/media"
)

// panicky is a source whose reads panic the way a parser bug reached by a
// crafted file would (an index out of range in the reader).
type panicky struct {
	videoPanics, audioPanics bool
	frames                   int
}

func (p *panicky) ReadVideo(ctx context.Context) (media.VideoFrame, error) {
	if p.videoPanics {
		var b []byte
		_ = b[p.frames] // index out of range
	}
	<-ctx.Done()
	return media.VideoFrame{}, ctx.Err()
}

func (p *panicky) ReadAudio(ctx context.Context) (media.AudioData, error) {
	if p.audioPanics {
		panic("audio parser bug")
	}
	<-ctx.Done()
	return media.AudioData{}, ctx.Err()
}

func (p *panicky) Close() error { return nil }

// TestPumpRecoversReaderPanics: a panic in an input's ReadVideo or
// ReadAudio ends that input with a *safe.PanicError; reported, it is the
// input's failed state with its error, one log line with the stack, and a
// count in the panics metric. The process goes on.
func TestPumpRecoversReaderPanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  *panicky
		want string
	}{
		{"video", &panicky{videoPanics: true}, "index out of range"},
		{"audio", &panicky{audioPanics: true}, "audio parser bug"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := &Service{cfg: Config{Input: "clip.y4m"}, log: slog.New(slog.NewTextHandler(&logs, nil)),
				frames: newFrameQueue(), audioQ: newAudioQueue()}
			done := make(chan error, 1)
			go func() { done <- s.pump(context.Background(), tc.src, &session{name: "y4m"}) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("pump did not return after a panic")
			}
			var pe *safe.PanicError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) || !brokenStream(err) {
				t.Fatalf("pump: %v, want a PanicError saying %q", err, tc.want)
			}
			s.inputFailed(err)
			if n := s.stats.panics.Load(); n != 1 {
				t.Errorf("panics counted: %d", n)
			}
			s.inputs.mu.Lock()
			state, lastErr := s.inputs.state, s.inputs.lastError
			s.inputs.mu.Unlock()
			if state != "failed" || !strings.Contains(lastErr, tc.want) {
				t.Errorf("input state %q, error %q", state, lastErr)
			}
			if lines := strings.Count(strings.TrimSpace(logs.String()), "\n") + 1; lines != 1 || !strings.Contains(logs.String(), "goroutine") {
				t.Errorf("want one log line with the stack, got %d:\n%s", lines, logs.String())
			}
		})
	}
}
