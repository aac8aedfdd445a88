package media

import (
	"errors"
	"testing"
)

// checkLeaks fails the test if it leaves more open frames or buffers than
// it found. Tests in this package do not run in parallel, so the global
// counters are attributable.
func checkLeaks(t *testing.T) {
	t.Helper()
	before := PoolStats()
	t.Cleanup(func() {
		after := PoolStats()
		if after.LiveVideoFrames != before.LiveVideoFrames ||
			after.LiveAudioData != before.LiveAudioData ||
			after.LiveBuffers != before.LiveBuffers {
			t.Errorf("leak: live video %d->%d, audio %d->%d, buffers %d->%d",
				before.LiveVideoFrames, after.LiveVideoFrames,
				before.LiveAudioData, after.LiveAudioData,
				before.LiveBuffers, after.LiveBuffers)
		}
	})
}

func fieldOf(err error) string {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}

func mustClose(t *testing.T, c interface{ Close() error }) {
	t.Helper()
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}
