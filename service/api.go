package service

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shadercast/shadercast/assets"
	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/media"
)

// maxAPIBody bounds control requests: a pipeline change is a few hundred
// bytes; anything near this is a mistake or an attack.
const maxAPIBody = 64 << 10

func (s *Service) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", assets.Handler())
	// /whep is open to every origin (players are embedded elsewhere);
	// /whip only to this page's own and --cors-origin ones.
	mux.Handle("/whep", s.whepH)
	mux.Handle("/whep/", s.whepH)
	mux.Handle("/whip", s.doors.originGuard(s.whipH))
	mux.Handle("/whip/", s.doors.originGuard(http.HandlerFunc(s.routeWHIP)))
	mux.HandleFunc("/healthz", s.healthz)
	mux.Handle("/metrics", s.control(promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}).ServeHTTP, http.MethodGet))
	mux.Handle("/api/pipeline", s.control(s.apiPipeline, http.MethodGet, http.MethodPatch))
	mux.Handle("/api/stats", s.control(s.apiStats, http.MethodGet))
	// EventSource cannot send an Authorization header: the one route
	// that takes ?token=.
	mux.Handle("/api/events", s.doors.api(s.apiEvents, true, http.MethodGet))
	mux.Handle("/api/snapshot.png", s.control(s.apiSnapshot, http.MethodGet))
	mux.Handle("/api/barcodes", s.control(s.apiBarcodes, http.MethodGet))
	mux.Handle("/api/scenes", s.control(s.apiScenes, http.MethodGet, http.MethodPut, http.MethodPatch))
	mux.Handle("/api/sources", s.control(s.apiSources, http.MethodGet))
	mux.Handle("/api/scenes/", s.control(s.apiScene, http.MethodPost))
	mux.Handle("/api/sources/", s.control(s.apiSourceFields, http.MethodPost))
	mux.Handle("/api/", s.control(func(w http.ResponseWriter, r *http.Request) {
		jsonError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	}))
	return mux
}

// control wraps a control route (/api/*, /metrics): same-origin or
// --cors-origin pages only, method check, the control bearer token from
// the Authorization header when one is set, body limit (see doors.api).
func (s *Service) control(h http.HandlerFunc, methods ...string) http.Handler {
	return s.doors.api(h, false, methods...)
}

func jsonError(w http.ResponseWriter, code int, reason string) {
	writeJSON(w, code, map[string]any{"error": reason, "status": code})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

func (s *Service) healthz(w http.ResponseWriter, r *http.Request) {
	// Healthy means frames are flowing to viewers (composited or, while
	// the input stalls, repeated); the input's own state is in the body.
	s.inputs.mu.Lock()
	state := s.inputs.state
	s.inputs.mu.Unlock()
	code, status := http.StatusOK, "ok"
	if time.Since(s.lastOut()) > 5*time.Second {
		code, status = http.StatusServiceUnavailable, "no frames composited for 5s"
	}
	if reason := s.guard.overrunReason(); reason != "" {
		code, status = http.StatusServiceUnavailable, reason
	}
	writeJSON(w, code, map[string]any{"status": status, "input": state, "uptimeSeconds": time.Since(s.start).Seconds()})
}

func (s *Service) lastOut() time.Time {
	t := s.lat.lastPut.Load()
	if t == 0 {
		return s.start
	}
	return time.Unix(0, t)
}

// PipelineView is GET /api/pipeline.
type PipelineView struct {
	Input  InputView  `json:"input"`
	Output OutputView `json:"output"`
	Passes []PassView `json:"passes"`
	// Available are the passes that can be added by name.
	Available []AvailablePass `json:"available"`
}

// PassView is a pass of the chain; Error is set while its plugin file
// does not load, compile or pass its trial (the previous version keeps
// running), and while the pass is held out of the chain (it failed on a
// frame, or a frame overran the deadline in it).
type PassView struct {
	compositor.PassInfo
	Error string `json:"error,omitempty"`
}

// InputView describes the input.
type InputView struct {
	Configured string `json:"configured"`
	Active     string `json:"active"`
	State      string `json:"state"` // live, stalled, waiting, failed, ended
	LastError  string `json:"lastError,omitempty"`
	LastErrAt  string `json:"lastErrorAt,omitempty"`
}

// OutputView describes what viewers get.
type OutputView struct {
	Width  int     `json:"width"`
	Height int     `json:"height"`
	FPS    float64 `json:"fps"`
	Codecs string  `json:"codecs"`
}

// AvailablePass is a pass the registry can make.
type AvailablePass struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	File        string `json:"file,omitempty"`
	Error       string `json:"error,omitempty"`
}

// PipelinePatch is the body of PATCH /api/pipeline. Every part is
// optional; they apply in the order remove, add, order, passes.
type PipelinePatch struct {
	// Add appends passes by name (from "available").
	Add []string `json:"add,omitempty"`
	// Remove takes passes out of the chain.
	Remove []string `json:"remove,omitempty"`
	// Order is the complete new order of the chain's passes.
	Order []string `json:"order,omitempty"`
	// Passes sets enabled state and parameters per pass name.
	Passes map[string]PassPatch `json:"passes,omitempty"`
}

// PassPatch changes one pass.
type PassPatch struct {
	Enabled *bool `json:"enabled,omitempty"`
	// Inputs sets parameters (ISF inputs / uniforms) by name.
	Inputs map[string]json.RawMessage `json:"inputs,omitempty"`
}

func (s *Service) pipelineView() PipelineView {
	// An empty chain is [], not null: pages iterate it.
	v := PipelineView{Available: s.available(), Passes: []PassView{}}
	errs := s.passErrors()
	for _, p := range s.pl.Passes() {
		e := errs[p.Name]
		if p.Error != "" && e != "" {
			e += "; " + p.Error
		} else if p.Error != "" {
			e = p.Error
		}
		v.Passes = append(v.Passes, PassView{PassInfo: p, Error: e})
	}
	s.inputs.mu.Lock()
	v.Input = InputView{Configured: s.configuredInput(), Active: s.inputs.active, State: s.inputs.state, LastError: s.inputs.lastError}
	if !s.inputs.lastErrAt.IsZero() {
		v.Input.LastErrAt = s.inputs.lastErrAt.UTC().Format(time.RFC3339Nano)
	}
	s.inputs.mu.Unlock()
	s.snapMu.Lock()
	v.Output = OutputView{Width: s.snap.CodedWidth(), Height: s.snap.CodedHeight(), FPS: s.cfg.FPS, Codecs: "VP8, Opus"}
	s.snapMu.Unlock()
	return v
}

func (s *Service) apiPipeline(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		writeJSON(w, http.StatusOK, s.pipelineView())
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "application/merge-patch+json") {
		jsonError(w, http.StatusUnsupportedMediaType, "PATCH /api/pipeline takes application/json")
		return
	}
	p, err := decodePatch(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			jsonError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", maxAPIBody))
			return
		}
		jsonError(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return
	}
	if err := s.applyPatch(p); err != nil {
		s.log.Warn("pipeline change refused", "err", err)
		s.metrics.apiErrors.Inc()
		code := http.StatusUnprocessableEntity
		if errors.Is(err, compositor.ErrBusy) {
			code = http.StatusServiceUnavailable // not the request's fault: try again
			w.Header().Set("Retry-After", "5")
		}
		jsonError(w, code, err.Error())
		return
	}
	s.publishPipeline()
	writeJSON(w, http.StatusOK, s.pipelineView())
}

// applyPatch checks what can be checked up front (names, the order's
// completeness) so that a bad request changes nothing; a parameter whose
// value the pass refuses stops the patch there, with earlier parts applied,
// and says which.
func (s *Service) applyPatch(p PipelinePatch) error {
	var chain []string
	for _, pi := range s.pl.Passes() {
		chain = append(chain, pi.Name)
	}
	if err := p.check(chain, s.canMake); err != nil {
		return err
	}
	for _, n := range p.Remove {
		if err := s.removePass(n); err != nil {
			return err
		}
	}
	for _, n := range p.Add {
		if err := s.addPass(n); err != nil {
			return fmt.Errorf("add %q: %w", n, err)
		}
	}
	if p.Order != nil {
		if err := s.pl.SetOrder(p.Order); err != nil {
			return err
		}
	}
	for n, pp := range p.Passes {
		if pp.Enabled != nil {
			if err := s.pl.SetEnabled(n, *pp.Enabled); err != nil {
				return err
			}
		}
		for k, raw := range pp.Inputs {
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				return fmt.Errorf("pass %q input %q: %w", n, k, err)
			}
			if err := s.pl.SetUniform(n, k, v); err != nil {
				return fmt.Errorf("pass %q input %q: %w", n, k, err)
			}
		}
	}
	return nil
}

func (s *Service) publishPipeline() {
	b, err := json.Marshal(s.pipelineView())
	if err == nil {
		s.hub.publish(event{name: "pipeline", data: b})
	}
}

func (s *Service) publishDetections(f media.VideoFrame, d []Detection) {
	// Tracking first: ids and carried values go into the event.
	s.trackDetections(f.Timestamp(), d)
	// An event per frame with barcodes, and one empty event when they
	// disappear, so a list can clear; nothing while there are none.
	if len(d) == 0 && !s.hadDetections {
		return
	}
	s.hadDetections = len(d) > 0
	if s.hub.subscribers() == 0 {
		// Nobody listens: no JSON to build on the compositor goroutine.
		return
	}
	ev := DetectionsEvent{Type: "detections", Timestamp: f.Timestamp(), Frame: s.stats.framesOut.Load(),
		Width: f.CodedWidth(), Height: f.CodedHeight(), Barcodes: d}
	if ev.Barcodes == nil {
		ev.Barcodes = []Detection{}
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return
	}
	s.hub.publish(event{name: "detections", data: b})
}

func (s *Service) apiEvents(w http.ResponseWriter, r *http.Request) {
	s.hub.serveSSE(w, r, func() []event {
		b, _ := json.Marshal(s.pipelineView())
		return []event{{name: "pipeline", data: b}}
	})
}

func (s *Service) apiSnapshot(w http.ResponseWriter, r *http.Request) {
	s.snapMu.Lock()
	f, err := s.snap.Clone()
	s.snapMu.Unlock()
	if err != nil {
		jsonError(w, http.StatusServiceUnavailable, "no frame composited yet")
		return
	}
	defer f.Close()
	img, err := frameToRGBA(f)
	if err != nil {
		jsonError(w, http.StatusInternalServerError, err.Error())
		return
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		jsonError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Timestamp", fmt.Sprint(f.Timestamp()))
	io.Copy(w, &buf)
}

// frameToRGBA converts an I420 output frame for PNG encoding with the
// BT.709 limited-range matrix the pipeline packs with.
func frameToRGBA(f media.VideoFrame) (*image.RGBA, error) {
	if f.Format() != media.I420 {
		return nil, fmt.Errorf("snapshot of %v not supported", f.Format())
	}
	w, h := f.CodedWidth(), f.CodedHeight()
	py, err := f.Plane(0)
	if err != nil {
		return nil, err
	}
	pu, _ := f.Plane(1)
	pv, _ := f.Plane(2)
	yp, ys, up, us, vp := py.Data, py.Stride, pu.Data, pu.Stride, pv.Data
	full := f.ColorSpace().FullRange
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			Y := float64(yp[y*ys+x])
			U := float64(up[(y/2)*us+x/2]) - 128
			V := float64(vp[(y/2)*us+x/2]) - 128
			if full {
				Y /= 255
				U /= 255
				V /= 255
			} else {
				Y = (Y - 16) / 219
				U /= 224
				V /= 224
			}
			r := Y + 1.5748*V
			g := Y - 0.1873*U - 0.4681*V
			b := Y + 1.8556*U
			o := y*img.Stride + 4*x
			img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = clamp8(r), clamp8(g), clamp8(b), 255
		}
	}
	return img, nil
}

func clamp8(v float64) uint8 {
	v = v*255 + 0.5
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}
