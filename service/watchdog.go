package service

// A shader must not freeze the service. New and changed plugin shaders
// are tried in a child process before they join the chain (tryShader);
// a pass that fails on a frame is bypassed and reported once
// (runPassErrors); and a frame that still overruns the deadline live (a
// parameter change can make a loop huge) is watched from outside the GL
// thread (runWatchdog): /healthz says so, the pass is disabled once the
// frame returns, and a frame that never returns ends in OnStuck.

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/trial"
)

const defaultStuckExit = 60 * time.Second

// watchdogTick is how often the watchdog looks at the GL thread.
const watchdogTick = 100 * time.Millisecond

// shaderGuard is the service's state for the above.
type shaderGuard struct {
	// errs carries pass errors from the GL thread (which must not
	// block) to runPassErrors.
	errs chan compositor.PassError

	// trialMu runs one trial at a time: a child renders on the same
	// cores as the live pipeline, and several at once (a folder of
	// changed plugins, concurrent API calls) would each get a fraction
	// of them and fail their deadline for a load they did not make.
	trialMu sync.Mutex

	mu      sync.Mutex
	overrun string            // why /healthz fails while a frame overruns; "" otherwise
	byPass  map[[2]string]int // (pass, "failed"|"overrun") -> times held out

	overruns      atomic.Uint64 // frames seen overrunning the deadline
	trialsPassed  atomic.Uint64
	trialsRefused atomic.Uint64
}

func newShaderGuard() shaderGuard {
	return shaderGuard{errs: make(chan compositor.PassError, 64), byPass: map[[2]string]int{}}
}

func (s *Service) shaderDeadline() time.Duration {
	if s.cfg.ShaderDeadline > 0 {
		return time.Duration(s.cfg.ShaderDeadline)
	}
	return trial.DefaultDeadline
}

func (s *Service) frameDeadline() time.Duration {
	if s.cfg.FrameDeadline > 0 {
		return time.Duration(s.cfg.FrameDeadline)
	}
	return compositor.DefaultFrameDeadline
}

func (s *Service) stuckExit() time.Duration {
	if s.cfg.StuckExit > 0 {
		return time.Duration(s.cfg.StuckExit)
	}
	return defaultStuckExit
}

// outputSize is the size frames are composited at: the last output's,
// else the configured size.
func (s *Service) outputSize() (int, int) {
	s.snapMu.Lock()
	w, h := s.snap.CodedWidth(), s.snap.CodedHeight()
	s.snapMu.Unlock()
	if w == 0 || h == 0 {
		return s.cfg.Width, s.cfg.Height
	}
	return w, h
}

// tryShader is the registry's trial (plugins.Options.Trial): a few frames
// at the output size in a child process, within the shader deadline.
func (s *Service) tryShader(sh trial.Shader) error {
	w, h := s.outputSize()
	s.guard.trialMu.Lock()
	defer s.guard.trialMu.Unlock()
	res, err := trial.Run(context.Background(), sh, trial.Options{Deadline: s.shaderDeadline(), Width: w, Height: h})
	if err != nil {
		s.guard.trialsRefused.Add(1)
		return err
	}
	s.guard.trialsPassed.Add(1)
	s.log.Info("shader passed its trial render", "name", sh.Name, "file", sh.File, "size", fmt.Sprintf("%dx%d", w, h),
		"frames", res.Frames, "took", res.Wall.Round(time.Millisecond))
	return nil
}

// onPassError is the pipeline's OnPassError; it runs on the GL thread.
func (s *Service) onPassError(e compositor.PassError) {
	select {
	case s.guard.errs <- e:
	default: // reports pile up only if runPassErrors is gone
	}
}

// runPassErrors reports each pass held out of the chain once: log,
// metric, "shader-error" event, new pipeline description.
func (s *Service) runPassErrors(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-s.guard.errs:
			kind := "failed"
			if e.Overrun {
				kind = "overrun"
			}
			s.guard.mu.Lock()
			s.guard.byPass[[2]string{e.Pass, kind}]++
			s.guard.mu.Unlock()
			s.log.Error("pass taken out of the chain", "pass", e.Pass, "why", kind, "err", e.Err)
			file := ""
			if s.passes != nil {
				if in, ok := s.passes.reg.Lookup(e.Pass); ok {
					file = in.File
				}
			}
			b, _ := json.Marshal(ShaderError{Type: "shader-error", Name: e.Pass, File: file, Message: e.Err.Error()})
			s.hub.publish(event{name: "shader-error", data: b})
			if s.win != nil {
				s.win.SetStatus("pass " + e.Pass + ": " + firstLine(e.Err.Error()))
			}
			s.publishPipeline()
		}
	}
}

// runWatchdog watches the GL thread from outside: a frame rendering past
// the frame deadline makes /healthz fail naming the pass (logged and
// counted once per frame); past StuckExit, OnStuck is called once.
func (s *Service) runWatchdog(ctx context.Context) {
	tick := time.NewTicker(watchdogTick)
	defer tick.Stop()
	var episode time.Time // Since of the overrunning frame reported
	stuck := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		a := s.pl.Activity()
		deadline := s.frameDeadline()
		if !a.Busy || !a.Frame || a.For() <= deadline {
			if !episode.IsZero() {
				s.guard.setOverrun("")
				episode = time.Time{}
			}
			continue
		}
		pass := a.Pass
		if pass == "" {
			pass = "(none known)"
		}
		s.guard.setOverrun(fmt.Sprintf("a frame has been rendering for %v in pass %q, past the %v frame deadline; the pass is disabled when the frame returns",
			a.For().Round(100*time.Millisecond), pass, deadline))
		if !a.Since.Equal(episode) {
			episode = a.Since
			s.guard.overruns.Add(1)
			s.log.Error("a frame overran the frame deadline; the pass is disabled when the frame returns", "pass", pass, "deadline", deadline)
		}
		if d := a.For(); d > s.stuckExit() && !stuck {
			stuck = true
			s.log.Error("a frame never returned: the GL thread is lost", "pass", pass, "after", d.Round(time.Second))
			if s.cfg.OnStuck != nil {
				s.cfg.OnStuck(pass, d)
			}
		}
	}
}

func (g *shaderGuard) setOverrun(reason string) {
	g.mu.Lock()
	g.overrun = reason
	g.mu.Unlock()
}

// overrunReason is why /healthz fails because of the watchdog, or "".
func (g *shaderGuard) overrunReason() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.overrun
}

// passErrorDesc and the counters below are the watchdog's metrics.
var passErrorDesc = prometheus.NewDesc("shadercast_pass_errors_total",
	"Passes taken out of the chain: failed on a frame (bypassed until changed) or overran the frame deadline (disabled).",
	[]string{"pass", "kind"}, nil)

type passErrorCollector struct{ g *shaderGuard }

func (c passErrorCollector) Describe(ch chan<- *prometheus.Desc) { ch <- passErrorDesc }
func (c passErrorCollector) Collect(ch chan<- prometheus.Metric) {
	c.g.mu.Lock()
	defer c.g.mu.Unlock()
	for k, n := range c.g.byPass {
		ch <- prometheus.MustNewConstMetric(passErrorDesc, prometheus.CounterValue, float64(n), k[0], k[1])
	}
}

// registerShaderMetrics adds the trial and watchdog metrics.
func registerShaderMetrics(m *metrics, s *Service) {
	g := &s.guard
	m.reg.MustRegister(passErrorCollector{g})
	for _, c := range []struct {
		name, help string
		v          *atomic.Uint64
	}{
		{"frame_overruns_total", "Frames seen rendering past the frame deadline (watchdog).", &g.overruns},
		{"shader_trials_passed_total", "New or changed shaders that passed their trial render.", &g.trialsPassed},
		{"shader_trials_refused_total", "New or changed shaders refused by their trial render (error, or too slow).", &g.trialsRefused},
	} {
		v := c.v
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "shadercast", Name: c.name, Help: c.help},
			func() float64 { return float64(v.Load()) }))
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "shadercast", Name: "frame_rendering_seconds",
		Help: "How long the frame on the GPU has been rendering (0 when idle)."}, func() float64 {
		if a := s.pl.Activity(); a.Frame {
			return a.For().Seconds()
		}
		return 0
	}))
}
