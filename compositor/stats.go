package compositor

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-gl/gl/v3.3-core/gl"
)

// Stats are a pipeline's counters and timings. Millisecond figures are
// exponentially weighted moving averages (weight 1/16 per frame).
type Stats struct {
	FramesIn  uint64 `json:"framesIn"`
	FramesOut uint64 `json:"framesOut"`
	Errors    uint64 `json:"errors"`
	// Drops counts frames not processed, by reason: "invalid" (closed or
	// malformed input), "canceled" (the caller's context ended first).
	Drops          map[string]uint64 `json:"drops"`
	UploadMillis   float64           `json:"uploadMs"`   // CPU time to hand the planes to GL
	ReadbackMillis float64           `json:"readbackMs"` // CPU time to get the output back
	LatencyMillis  float64           `json:"latencyMs"`  // Process call to output ready
	// InputGPUMillis and OutputGPUMillis are the GPU times of the YUV to
	// RGB conversion and of the I420 packing.
	InputGPUMillis  float64 `json:"inputGpuMs"`
	OutputGPUMillis float64 `json:"outputGpuMs"`
	// PassFailures counts passes held out after failing on a frame;
	// Overruns counts frames that ran past the frame deadline.
	PassFailures uint64         `json:"passFailures"`
	Overruns     uint64         `json:"overruns"`
	Passes       []PassStats    `json:"passes"`
	Objects      map[string]int `json:"glObjects"`
}

// PassStats are one pass's figures.
type PassStats struct {
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
	// GPUMillis is measured with timer queries; Measured is false where
	// the driver has none.
	GPUMillis float64 `json:"gpuMs"`
	Measured  bool    `json:"measured"`
	// FusedInput: the pass converted the YUV input itself, so its GPU
	// time includes the conversion.
	FusedInput bool `json:"fusedInput"`
	// Error is PassInfo.Error: why the pass is held out of the chain.
	Error string `json:"error,omitempty"`
}

const (
	dropInvalid = iota
	dropCanceled
	numDrops
)

var dropNames = [numDrops]string{"invalid", "canceled"}

type statsRecorder struct {
	in, out, errs atomic.Uint64
	passFailures  atomic.Uint64
	overruns      atomic.Uint64
	drops         [numDrops]atomic.Uint64
	upload        ewma
	readback      ewma
	latency       ewma
}

func (s *statsRecorder) dropped(reason int) { s.drops[reason].Add(1) }
func (s *statsRecorder) failed()            { s.errs.Add(1) }
func (s *statsRecorder) frameOut(latency time.Duration) {
	s.out.Add(1)
	s.latency.add(latency)
}

func (s *statsRecorder) snapshot() Stats {
	st := Stats{
		FramesIn:       s.in.Load(),
		FramesOut:      s.out.Load(),
		Errors:         s.errs.Load(),
		PassFailures:   s.passFailures.Load(),
		Overruns:       s.overruns.Load(),
		Drops:          map[string]uint64{},
		UploadMillis:   s.upload.millis(),
		ReadbackMillis: s.readback.millis(),
		LatencyMillis:  s.latency.millis(),
	}
	for i := range s.drops {
		st.Drops[dropNames[i]] = s.drops[i].Load()
	}
	return st
}

// ewma is a moving average of durations, safe for concurrent use.
type ewma struct {
	mu sync.Mutex
	v  float64
	n  int
}

func (e *ewma) add(d time.Duration) { e.addMillis(float64(d) / 1e6) }

func (e *ewma) addMillis(ms float64) {
	e.mu.Lock()
	if e.n == 0 {
		e.v = ms
	} else {
		e.v += (ms - e.v) / 16
	}
	e.n++
	e.mu.Unlock()
}

func (e *ewma) millis() float64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.v
}

// timerSet makes GPU timers when the driver has timer queries.
type timerSet struct{ enabled bool }

// passTimer measures a pass with TIME_ELAPSED queries. Results are read a
// few frames later, when available, so measuring never stalls the GPU.
type passTimer struct {
	q        [4]uint32
	inFlight [4]bool
	next     int
	active   bool
	measured atomic.Bool // read by Stats from any goroutine
	avg      ewma
	avail    int32  // scratch: its address goes to GL
	ns       uint64 // scratch
}

func (ts *timerSet) newTimer(d *Device) *passTimer {
	t := &passTimer{}
	if ts.enabled {
		for i := range t.q {
			t.q[i] = d.newQuery()
		}
	}
	return t
}

func (ts *timerSet) deleteTimer(d *Device, t *passTimer) {
	if t == nil {
		return
	}
	for i := range t.q {
		d.deleteQuery(&t.q[i])
	}
}

func (t *passTimer) begin() {
	t.active = false
	if t.q[0] == 0 || t.inFlight[t.next] {
		return
	}
	gl.BeginQuery(gl.TIME_ELAPSED, t.q[t.next])
	t.active = true
}

func (t *passTimer) end() {
	if !t.active {
		return
	}
	gl.EndQuery(gl.TIME_ELAPSED)
	t.inFlight[t.next] = true
	t.next = (t.next + 1) % len(t.q)
	t.active = false
}

// poll reads the results that are ready; GL thread.
func (t *passTimer) poll() {
	for i, busy := range t.inFlight {
		if !busy {
			continue
		}
		gl.GetQueryObjectiv(t.q[i], gl.QUERY_RESULT_AVAILABLE, &t.avail)
		if t.avail == 0 {
			continue
		}
		gl.GetQueryObjectui64v(t.q[i], gl.QUERY_RESULT, &t.ns)
		t.inFlight[i] = false
		if t.ns > 10e9 {
			// llvmpipe has returned absurd values (tens of minutes)
			// for passes that render into several framebuffers; a
			// frame never takes 10 s, so such a sample is dropped
			// rather than poisoning the average.
			continue
		}
		t.avg.addMillis(float64(t.ns) / 1e6)
		t.measured.Store(true)
	}
}

func (t *passTimer) millis() float64 { return t.avg.millis() }

// collect polls every timer of the pipeline; GL thread, once per frame.
func (ts *timerSet) collect(p *Pipeline) {
	if !ts.enabled {
		return
	}
	p.inTimer.poll()
	p.outTimer.poll()
	for _, e := range p.chain {
		e.timer.poll()
	}
}
