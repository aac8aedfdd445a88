// Package source defines what a live input is: something that hands out
// video frames (and optionally audio) paced in real time. The concrete
// inputs live in sub-packages (testsrc, y4m, still, and the WHIP ingest);
// the service reads them and never knows which one it has.
package source

import (
	"context"
	"errors"

	"github.com/shadercast/shadercast/media"
)

// ErrNoAudio is returned by ReadAudio of a source that has no sound.
var ErrNoAudio = errors.New("source: no audio")

// Video is a real-time video input. ReadVideo blocks until the next frame
// is due (a file source sleeps to honour its frame rate; a live source
// waits for the network) and returns it; the caller owns the frame and
// must Close it. io.EOF means the input ended cleanly; any other error
// means it failed (the error says why). Timestamps are microseconds on the
// source's own clock and never go backwards, across loops included.
type Video interface {
	ReadVideo(ctx context.Context) (media.VideoFrame, error)
	// Close releases the input; a blocked ReadVideo returns.
	Close() error
}

// Audio is implemented by sources that also have sound. ReadAudio follows
// ReadVideo's rules; its timestamps share the video's clock, so that a
// flash on screen and a beep in the sound carry the same time.
type Audio interface {
	ReadAudio(ctx context.Context) (media.AudioData, error)
}
