package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/color"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadercast/shadercast/internal/shadertest"
)

// quick is an HTTP client for "answers promptly": a request the service
// holds fails instead of hanging the test.
var quick = &http.Client{Timeout: 3 * time.Second}

// timedGet GETs path and returns the status, body and time taken.
func (s *service) timedGet(path string) (int, string, time.Duration, error) {
	t0 := time.Now()
	resp, err := quick.Get(s.URL + path)
	if err != nil {
		return 0, "", time.Since(t0), err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), time.Since(t0), err
}

// prober GETs the read endpoints in a loop and remembers the slowest
// answer and any failure.
type prober struct {
	s      *service
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	n      int
	max    time.Duration
	maxWhy string
	errs   []string
}

func probe(s *service) *prober {
	p := &prober{s: s, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for {
			for _, path := range []string{"api/pipeline", "api/stats", "metrics"} {
				code, _, d, err := s.timedGet(path)
				p.mu.Lock()
				p.n++
				if d > p.max {
					p.max, p.maxWhy = d, path
				}
				if err != nil || code != http.StatusOK {
					p.errs = append(p.errs, fmt.Sprintf("GET /%s: %d %v after %v", path, code, err, d))
				}
				p.mu.Unlock()
			}
			select {
			case <-p.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return p
}

// finish stops probing and fails the test if an answer took over limit.
func (p *prober) finish(t *testing.T, limit time.Duration) {
	t.Helper()
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	t.Logf("%d reads, slowest %v (/%s)", p.n, p.max.Round(time.Millisecond), p.maxWhy)
	for _, e := range p.errs {
		t.Error(e)
	}
	if p.max > limit {
		t.Errorf("a read took %v (/%s), want < %v", p.max, p.maxWhy, limit)
	}
}

// TestShaderCheckRefusesEndlessLoop: `shader check` of a shader that never
// finishes a frame fails within seconds instead of running for ever.
func TestShaderCheckRefusesEndlessLoop(t *testing.T) {
	file := filepath.Join(t.TempDir(), "loop.fs")
	if err := os.WriteFile(file, []byte(shadertest.Endless), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "shader", "check", file)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t0 := time.Now()
	err := cmd.Run()
	took := time.Since(t0)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v after %v, want status 1\nstdout: %s\nstderr: %s", err, took, &stdout, &stderr)
	}
	if want := file + ": did not finish a frame in 2s"; !strings.HasPrefix(stderr.String(), want) {
		t.Errorf("stderr %q, want it to start with %q", stderr.String(), want)
	}
	if took > 15*time.Second {
		t.Errorf("shader check took %v", took)
	}
	t.Logf("refused in %v: %s", took.Round(time.Millisecond), strings.TrimSpace(stderr.String()))
	// A normal filter passes, with the same deadline.
	out, err := exec.Command(binary, "shader", "check", "--deadline", "2s", "../shaders/filters/vignette.fs").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "vignette.fs: ok") {
		t.Errorf("vignette: %v\n%s", err, out)
	}
}

// TestEndlessShaderRefusedLive: a shader that never finishes a frame,
// dropped into the --shaders folder and added through the API, is refused
// with the error at its file; the viewer keeps receiving frames and the
// read endpoints answer promptly throughout.
func TestEndlessShaderRefusedLive(t *testing.T) {
	dir := t.TempDir()
	s := start(t, nil, nil, "--width", "320", "--height", "180", "--shaders", dir)
	defer func() {
		if t.Failed() {
			t.Logf("service log:\n%s", s.stderr)
		}
	}()
	v := watch(t, s, "")
	v.WaitFrames(t, 10, 20*time.Second)
	sse := subscribe(t, s, "")
	p := probe(s)

	file := filepath.Join(dir, "loop.fs")
	if err := os.WriteFile(file, []byte(shadertest.Endless), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "loop listed as available", func() bool {
		_, body, _, err := s.timedGet("api/pipeline")
		return err == nil && strings.Contains(body, `"name": "loop"`)
	})
	t0 := time.Now()
	code, body := s.request(t, http.MethodPatch, "api/pipeline", "", "application/json", `{"add": ["loop"]}`)
	took := time.Since(t0)
	t1 := time.Now()
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, file+": did not finish a frame in 2s") {
		t.Fatalf("PATCH add loop: %d %s", code, body)
	}
	t.Logf("refused after %v", took.Round(time.Millisecond))
	v.WaitFrames(t, 10, 5*time.Second)
	p.finish(t, 2*time.Second)

	// Frames kept coming while the shader was tried.
	if gap := maxGap(v.Log(), t0, t1); gap > 2*time.Second {
		t.Errorf("the viewer went %v without a frame while the shader was tried", gap)
	}
	if names := pipelineNames(t, s, ""); strings.Contains(strings.Join(names, ","), "loop") {
		t.Errorf("the refused shader joined the chain: %v", names)
	}
	eventually(t, 5*time.Second, "a shader-error event naming the file", func() bool {
		return strings.Contains(sse.last("shader-error"), "did not finish a frame")
	})
	if e := sse.last("shader-error"); !strings.Contains(e, file) {
		t.Errorf("shader-error event: %s", e)
	}
	_, metrics, _, _ := s.timedGet("metrics")
	if !strings.Contains(metrics, "shadercast_shader_trials_refused_total 1") {
		t.Errorf("metrics lack the refused trial:\n%s", grepLines(metrics, "trials"))
	}

	// Named with --pass at start, it is refused too: the service does
	// not start rather than freeze.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "--listen", "127.0.0.1:0", "--width", "320", "--height", "180",
		"--shaders", dir, "--pass", "loop").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !strings.Contains(string(out), "--pass loop: "+file+": did not finish a frame in 2s") {
		t.Errorf("--pass loop: %v\n%s", err, out)
	}
}

// TestWatchdogDisablesOverrunningPass: a shader that passes its trial at
// its default, then has its loop count raised through the API until one
// frame overruns the frame deadline (however fast the renderer): /healthz
// answers 503 naming the pass while the frame renders, the API still
// answers, and once the frame returns the pass is disabled, reported, and
// frames flow again.
func TestWatchdogDisablesOverrunningPass(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "heavy.fs"), []byte(shadertest.Heavy), 0o644); err != nil {
		t.Fatal(err)
	}
	s := start(t, nil, nil, "--width", "320", "--height", "180", "--shaders", dir, "--pass", "heavy",
		"--frame-deadline", "1s", "--stuck-exit", "10m")
	defer func() {
		if t.Failed() {
			t.Logf("service log:\n%s", s.stderr)
		}
	}()
	v := watch(t, s, "")
	v.WaitFrames(t, 10, 20*time.Second)
	sse := subscribe(t, s, "")
	if code, body, _, _ := s.timedGet("healthz"); code != http.StatusOK {
		t.Fatalf("healthz before: %d %s", code, body)
	}

	// Raise the count step by step until a frame overruns the deadline.
	var health string
	for count := 500; health == ""; count *= 8 {
		if count > 2_000_000_000/8 {
			t.Fatal("no frame overran the 1s frame deadline")
		}
		// Enabled again each time: a frame that overran by less than
		// the polling below could see has disabled the pass already.
		code, body := s.request(t, http.MethodPatch, "api/pipeline", "", "application/json",
			fmt.Sprintf(`{"passes": {"heavy": {"enabled": true, "inputs": {"count": %d}}}}`, count))
		if code != http.StatusOK {
			t.Fatalf("PATCH count %d: %d %s", count, code, body)
		}
		for end := time.Now().Add(2500 * time.Millisecond); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			code, body, d, err := s.timedGet("healthz")
			if err != nil || d > 2*time.Second {
				t.Fatalf("healthz: %v after %v", err, d)
			}
			if code == http.StatusServiceUnavailable && strings.Contains(body, "frame deadline") {
				health = body
				break
			}
		}
		t.Logf("count %d: overrun seen %v", count, health != "")
	}
	if !strings.Contains(health, `pass \"heavy\"`) {
		t.Errorf("healthz does not name the pass: %s", health)
	}
	// The API answers while the frame is still on the GPU.
	for _, path := range []string{"api/pipeline", "api/stats", "metrics"} {
		code, _, d, err := s.timedGet(path)
		if err != nil || code != http.StatusOK || d > 2*time.Second {
			t.Errorf("GET /%s during the overrun: %d %v after %v", path, code, err, d)
		}
	}
	// A new event stream gets its first message too.
	late := subscribe(t, s, "")
	t2 := time.Now()
	eventually(t, 2*time.Second, "the first SSE message during the overrun", func() bool { return late.count("pipeline") > 0 })
	t.Logf("first SSE message after %v", time.Since(t2).Round(time.Millisecond))
	if code, _, _, _ := s.timedGet("healthz"); code != http.StatusServiceUnavailable {
		t.Log("the frame returned before the reads above were done")
	}
	tOverrun := time.Now()

	// Once the frame returns: the pass is disabled, with its error.
	var view struct {
		Passes []struct {
			Name    string
			Enabled bool
			Error   string
		}
	}
	eventually(t, 2*time.Minute, "the overrunning pass disabled", func() bool {
		view.Passes = nil
		if s.getJSON(t, "api/pipeline", "", &view) != http.StatusOK {
			return false
		}
		for _, p := range view.Passes {
			if p.Name == "heavy" {
				return !p.Enabled && strings.Contains(p.Error, "frame deadline")
			}
		}
		return false
	})
	t.Logf("pass disabled %v after the overrun was seen; log:\n%s", time.Since(tOverrun).Round(100*time.Millisecond),
		grepLines(s.stderr.String(), "heavy"))
	eventually(t, 10*time.Second, "healthz back to 200", func() bool {
		code, _, _, _ := s.timedGet("healthz")
		return code == http.StatusOK
	})
	v.WaitFrames(t, 15, 10*time.Second)
	eventually(t, 5*time.Second, "a shader-error event for the pass", func() bool {
		e := sse.last("shader-error")
		return strings.Contains(e, `"name":"heavy"`) && strings.Contains(e, "frame deadline")
	})
	_, metrics, _, _ := s.timedGet("metrics")
	overruns := metricValue(metrics, "shadercast_frame_overruns_total")
	if overruns < 1 || metricValue(metrics, `shadercast_pass_errors_total{kind="overrun",pass="heavy"}`) < 1 {
		t.Errorf("metrics lack the overrun:\n%s", grepLines(metrics, "overrun"))
	}
	// Logged once per overrunning frame, not per watchdog look.
	if n := strings.Count(s.stderr.String(), "a frame overran the frame deadline"); n != int(overruns) {
		t.Errorf("%v overruns logged %d times", overruns, n)
	}
}

// TestStuckFrameExits: a frame that does not return within --stuck-exit
// makes the process exit non-zero (for a supervisor to restart it), with
// a log line naming the pass.
func TestStuckFrameExits(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "heavy.fs"), []byte(shadertest.Heavy), 0o644); err != nil {
		t.Fatal(err)
	}
	s := start(t, nil, nil, "--width", "320", "--height", "180", "--shaders", dir, "--pass", "heavy",
		"--frame-deadline", "1s", "--stuck-exit", "3s")
	// Raise the count until a frame takes longer than 3 s: the process
	// must then exit by itself.
	client := &http.Client{Timeout: 10 * time.Second}
	exited := false
	for count := 500; !exited; count *= 8 {
		if count > 2_000_000_000/8 {
			t.Fatalf("still running after the largest count\n%s", s.stderr)
		}
		// Enabled again each time: a frame shorter than --stuck-exit
		// but over --frame-deadline has disabled the pass.
		req, _ := http.NewRequest(http.MethodPatch, s.URL+"api/pipeline", strings.NewReader(fmt.Sprintf(`{"passes": {"heavy": {"enabled": true, "inputs": {"count": %d}}}}`, count)))
		req.Header.Set("Content-Type", "application/json")
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
		}
		select {
		case <-s.exited:
			exited = true
		case <-time.After(5 * time.Second):
		}
	}
	var ee *exec.ExitError
	if !errors.As(s.err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("exit: %v, want a non-zero status\n%s", s.err, s.stderr)
	}
	log := s.stderr.String()
	if !strings.Contains(log, "a frame never returned") || !strings.Contains(log, "pass=heavy") {
		t.Errorf("no log line naming the pass:\n%s", log)
	}
	t.Logf("exit %v", s.err)
}

// TestFailingPassBypassedLive: a pass that fails on every frame is
// skipped, and the rest of the chain still applies; it is reported once
// (API, event, metric, one log line) and used again when its input
// changes.
func TestFailingPassBypassedLive(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "redbuf.fs"), []byte(shadertest.RedBuf), 0o644); err != nil {
		t.Fatal(err)
	}
	still := filepath.Join(t.TempDir(), "blue.png")
	writeSolidPNG(t, still, 320, 240, color.RGBA{20, 100, 200, 255})
	s := start(t, nil, nil, "--input", still, "--no-barcode", "--shaders", dir, "--pass", "redbuf", "--pass", "invert")
	defer func() {
		if t.Failed() {
			t.Logf("service log:\n%s", s.stderr)
		}
	}()
	sse := subscribe(t, s, "")
	looks := func(c color.RGBA, want [3]float64) bool {
		return near([3]float64{float64(c.R), float64(c.G), float64(c.B)}, want, 12)
	}
	eventually(t, 10*time.Second, "red, inverted (cyan)", func() bool { return looks(snapshotAt(t, s, 160, 120), [3]float64{0, 255, 255}) })

	code, body := s.request(t, http.MethodPatch, "api/pipeline", "", "application/json", `{"passes": {"redbuf": {"inputs": {"scale": 1000}}}}`)
	if code != http.StatusOK {
		t.Fatalf("PATCH: %d %s", code, body)
	}
	// The frames go on, without the failing pass and with the invert.
	eventually(t, 5*time.Second, "the input, inverted", func() bool { return looks(snapshotAt(t, s, 160, 120), [3]float64{235, 155, 55}) })
	in := s.stats(t, "").Frames.Out
	time.Sleep(time.Second)
	if out := s.stats(t, "").Frames.Out; out < in+10 {
		t.Errorf("%d frames out in a second with a failing pass", out-in)
	}
	var view struct {
		Passes []struct {
			Name    string
			Enabled bool
			Error   string
		}
	}
	s.getJSON(t, "api/pipeline", "", &view)
	if len(view.Passes) != 2 || !view.Passes[0].Enabled || !strings.Contains(view.Passes[0].Error, "WIDTH") || view.Passes[1].Error != "" {
		t.Errorf("pipeline: %+v", view.Passes)
	}
	eventually(t, 5*time.Second, "a shader-error event", func() bool { return strings.Contains(sse.last("shader-error"), `"name":"redbuf"`) })
	_, metrics, _, _ := s.timedGet("metrics")
	if v := metricValue(metrics, `shadercast_pass_errors_total{kind="failed",pass="redbuf"}`); v != 1 {
		t.Errorf("pass_errors_total = %v:\n%s", v, grepLines(metrics, "pass_errors"))
	}
	if n := strings.Count(s.stderr.String(), "pass taken out of the chain"); n != 1 {
		t.Errorf("logged %d times, want once", n)
	}
	if n := sse.count("shader-error"); n != 1 {
		t.Errorf("%d shader-error events, want 1", n)
	}
	// Its input back to something that works: used again.
	s.request(t, http.MethodPatch, "api/pipeline", "", "application/json", `{"passes": {"redbuf": {"inputs": {"scale": 1}}}}`)
	eventually(t, 5*time.Second, "red, inverted again", func() bool { return looks(snapshotAt(t, s, 160, 120), [3]float64{0, 255, 255}) })
}

// grepLines returns the lines of s containing sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
