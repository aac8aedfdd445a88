package pace

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestScheduleDoesNotDrift(t *testing.T) {
	s := Stream{Clock: new(Clock), Slack: 10 * time.Millisecond}
	start := time.Now()
	for i := 0; i < 10; i++ {
		if err := s.Wait(context.Background(), time.Duration(i)*10*time.Millisecond, nil); err != nil {
			t.Fatal(err)
		}
		// Work that takes most of a period must not push the schedule.
		time.Sleep(8 * time.Millisecond)
	}
	el := time.Since(start)
	// The last frame is due at 90 ms, so this takes about 98 ms; sleeping a
	// period after each frame's work would take 10*(10+8) = 180.
	if el < 90*time.Millisecond || el > 160*time.Millisecond {
		t.Errorf("10 frames at 10 ms took %v, want about 98 ms", el)
	}
}

func TestReanchorWhenLate(t *testing.T) {
	s := Stream{Clock: new(Clock), Slack: 10 * time.Millisecond}
	s.Wait(context.Background(), 0, nil)
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	for i := 1; i <= 5; i++ {
		if err := s.Wait(context.Background(), time.Duration(i)*10*time.Millisecond, nil); err != nil {
			t.Fatal(err)
		}
	}
	// The late frame at once, then four 10 ms periods: no burst.
	if el := time.Since(start); el < 35*time.Millisecond {
		t.Errorf("after a 100 ms stall 5 frames took %v: burst", el)
	}
}

func TestSharedOriginAndStop(t *testing.T) {
	c := new(Clock)
	a, b := Stream{Clock: c}, Stream{Clock: c}
	a.Wait(context.Background(), 0, nil)
	start := time.Now()
	b.Wait(context.Background(), 30*time.Millisecond, nil)
	if el := time.Since(start); el < 25*time.Millisecond {
		t.Errorf("second stream ignored the shared origin: %v", el)
	}

	done := make(chan struct{})
	go func() { time.Sleep(10 * time.Millisecond); close(done) }()
	if err := a.Wait(context.Background(), time.Hour, done); !errors.Is(err, ErrClosed) {
		t.Errorf("closed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := a.Wait(ctx, time.Hour, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled: %v", err)
	}
	// The timer is reused: a later wait still works.
	if err := a.Wait(context.Background(), 0, nil); err != nil {
		t.Error(err)
	}
}
