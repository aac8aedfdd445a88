// Package service is shadercast the product: it joins an input (the test
// source, a Y4M file or pipe, a still image, a WHIP publisher), the GPU
// compositor (barcode pass first, then any configured passes), the track
// generators and their encoders, and serves the result over HTTP: WHEP
// viewers and the viewer page, WHIP ingest, the control API, detection
// events, snapshots and Prometheus metrics; optionally it pushes to a WHIP
// server, records, and shows a desktop preview window.
//
// Data flows one way: input goroutines → one compositor goroutine (which
// hands frames to the GL thread) → generator tracks → encoders → network.
// Every queue between them is bounded and drops the oldest entry: this is
// real time, a late frame is worth less than the next one.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/barcode"
	"github.com/shadercast/shadercast/barcode/barcodepass"
	"github.com/shadercast/shadercast/codec/h264"
	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/generator"
	"github.com/shadercast/shadercast/internal/dropq"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/scene"
	"github.com/shadercast/shadercast/whep"
	"github.com/shadercast/shadercast/whip"
)

// Service is one running shadercast. Make it with New, run it with Run.
type Service struct {
	cfg   Config
	log   *slog.Logger
	start time.Time

	dev     *compositor.Device
	pl      *compositor.Pipeline
	barcode *barcodepass.Pass
	// barcodeParams are every barcode pass's: the output chain's and the
	// layers'.
	barcodeParams barcode.Params
	// dets is the frame's barcodes on the programme (programDetections;
	// compositor goroutine).
	dets   []Detection
	passes *passes
	scenes *scenes // with --scenes: what the programme composes

	video, audio *generator.Track
	stream       *generator.MediaStream
	pubs         []*whep.Publisher // video first, then audio
	rungs        []*rung           // the rendition ladder below the canvas
	lastRungErr  string            // output goroutine
	whepH        *whep.Handler
	whipH        *whip.Handler
	whipSrcs     whipSources // --scenes: the whip sources' endpoints
	ice          []webrtc.ICEServer
	push         *whip.Client

	hub     *hub
	scans   *scanLog
	doors   *doors
	ln      net.Listener
	srv     *http.Server
	metrics *metrics
	lat     latencyTracker
	rate    rateMeter
	rec     *recorders
	win     previewWindow

	frames   *dropq.Queue[inputFrame] // inputs → compositor
	whipPubs chan *whip.Publication
	audioQ   *dropq.Queue[inputAudio] // inputs → audio writer

	// snap is the latest composited frame (a clone), for snapshots.
	snapMu sync.Mutex
	snap   media.VideoFrame

	inputs inputState
	stats  counters
	guard  shaderGuard // trials, pass errors, the frame watchdog (watchdog.go)
	// hadDetections: the last frame had barcodes (compositor goroutine).
	hadDetections bool
	// lastProcessErr is the last compositing error logged (compositor
	// goroutine), so that a failure repeated every frame is logged once.
	lastProcessErr string

	// ended is closed when the input ended for good (a file without
	// --loop): Run then stops like on a signal.
	ended     chan struct{}
	endedOnce sync.Once

	wg sync.WaitGroup
}

// counters are the service-level numbers behind /api/stats and /metrics.
type counters struct {
	framesIn      atomic.Uint64 // input frames that reached the compositor
	framesOut     atomic.Uint64 // composited frames written to the track
	repeats       atomic.Uint64 // frames re-sent while the input stalled
	dropsQueue    atomic.Uint64 // input frames replaced by newer ones before compositing
	dropsInactive atomic.Uint64 // frames of an input not on air (WHIP overrides it)
	dropsLate     atomic.Uint64 // programme frames (--scenes) skipped: the mixer was a whole frame late
	scenesErrors  atomic.Uint64 // versions of the scenes file not applied (each error once)
	processErrors atomic.Uint64
	inputErrors   atomic.Uint64
	audioIn       atomic.Uint64
	audioDrops    atomic.Uint64
	silence       atomic.Uint64
	audioDropped  atomic.Uint64 // --scenes: sources' audio frames dropped
	detections    atomic.Uint64 // frames with at least one barcode
	// panics counts panics recovered at the boundaries that run untrusted
	// work (input readers, decoders, plugin loading; see internal/safe).
	panics atomic.Uint64
}

// whipConfig is the configuration of every WHIP endpoint of the service
// (the default /whip, whip sources' /whip/{name}).
func (s *Service) whipConfig(onPublish func(*whip.Publication)) whip.Config {
	cfg := &s.cfg
	return whip.Config{
		Token: cfg.PublishToken, ICEServers: s.ice, Logger: s.log,
		UDPPortMin: cfg.UDPPortMin, UDPPortMax: cfg.UDPPortMax, NAT1To1IPs: cfg.NAT1To1IPs,

		ConnectTimeout: time.Duration(cfg.ConnectTimeout), MaxUnconnectedPerAddr: cfg.MaxConnectingPerIP,
		MaxWidth: cfg.MaxVideoWidth, MaxHeight: cfg.MaxVideoHeight,

		OnPublish: onPublish,
	}
}

// New opens the GPU device, builds the pipeline, generators, encoders and
// HTTP endpoints, and binds the listener; nothing runs until Run. Errors
// here are configuration errors (bad flags, no OpenGL, port in use).
func New(cfg Config, log *slog.Logger) (_ *Service, err error) {
	var desc *scene.Description
	if cfg.Scenes != "" {
		if desc, err = loadScenes(cfg.Scenes); err != nil {
			return nil, err
		}
		cfg.Width, cfg.Height, cfg.FPS = desc.Canvas.Width, desc.Canvas.Height, desc.Canvas.FPS
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Service{cfg: cfg, log: log, start: time.Now(), hub: newHub(), scans: newScanLog(), guard: newShaderGuard(),
		frames: newFrameQueue(), audioQ: newAudioQueue(),
		whipPubs: make(chan *whip.Publication, 4), ended: make(chan struct{})}
	defer func() {
		if err != nil {
			s.close()
		}
	}()

	if cfg.Preview {
		if s.win, err = openPreview(s); err != nil {
			return nil, fmt.Errorf("--preview: %w", err)
		}
	}
	opts := compositor.DeviceOptions{}
	if s.win != nil {
		opts.NewContext = s.win.Context
	}
	if s.dev, err = compositor.OpenDevice(opts); err != nil {
		return nil, err
	}
	info := s.dev.Info()
	log.Info("OpenGL ready", "platform", info.Platform, "renderer", info.Renderer, "version", info.Version)
	var passes []compositor.Pass
	bp := barcode.DefaultParams()
	switch {
	case cfg.BarcodeAnalysis > 0:
		bp.MaxAnalysisSide = cfg.BarcodeAnalysis
	case info.Software:
		// Without a GPU the analysis passes are most of the CPU: a
		// third of 720p (427x240) instead of half keeps 720p30 under
		// 60% of two cores and still reads the test scene's codes in
		// every frame; a GPU gets the finer default.
		bp.MaxAnalysisSide = softwareAnalysisSide
	}
	// Every barcode pass of the service (the output chain's, the
	// layers') numbers its codes from one counter: one scan log.
	bp.TrackIDs = &barcode.TrackIDs{}
	s.barcodeParams = bp
	// With --scenes, barcodes are looked for where the description puts
	// the barcode pass: in layers, on their sources.
	if !cfg.NoBarcode && desc == nil {
		s.barcode = barcodepass.New(bp)
		passes = append(passes, s.barcode)
	}
	plcfg := compositor.Config{FrameDeadline: s.frameDeadline(), OnPassError: s.onPassError}
	if s.pl, err = compositor.NewPipeline(s.dev, plcfg, passes...); err != nil {
		return nil, err
	}
	if err = s.setupPasses(); err != nil {
		return nil, err
	}
	if desc != nil {
		s.scenes = &scenes{path: cfg.Scenes, fromFile: desc}
		chains, err := s.buildChains(desc, nil)
		if err != nil {
			return nil, fmt.Errorf("--scenes %s: %w", cfg.Scenes, err)
		}
		s.scenes.chains = chains
		s.scenes.cur.Store(newSceneSet(desc, nil, chains))
		s.scenes.changed() // the version loaded: a change is one after it
	}
	if s.win != nil {
		s.pl.SetPresenter(s.win)
	}

	if s.video, err = generator.New(generator.KindVideo); err != nil {
		return nil, err
	}
	s.video.SetLabel("shadercast video")
	if s.audio, err = generator.New(generator.KindAudio); err != nil {
		return nil, err
	}
	s.audio.SetLabel("shadercast audio")
	s.stream = generator.NewMediaStream(s.video, s.audio)
	// Each codec is encoded while somebody receives it (a viewer, the
	// push, an IVF recording), once for all of them.
	vcfg := whep.VideoConfig{Bitrate: cfg.Bitrate, FrameRate: cfg.FPS, OnSample: s.onSample, OnDemand: true,
		Rendition: rungName(cfg.Height), Width: cfg.Width, Height: cfg.Height}
	vcfg.MinBitrate = cfg.minBitrate()
	if s.pubs, err = whep.NewStreamPublishers(s.stream, vcfg, whep.AudioConfig{OnSample: s.onAudioSample}); err != nil {
		return nil, err
	}
	// pubs: VP8, then H.264, then audio.
	if err := s.addH264(vcfg); err != nil {
		for _, p := range s.pubs {
			p.Close()
		}
		return nil, err
	}
	if s.rungs, err = s.newRungs(vcfg); err != nil {
		for _, p := range s.pubs {
			p.Close()
		}
		return nil, fmt.Errorf("--renditions: %w", err)
	}
	// Viewers choose among the ladder's publishers: the top's first.
	viewed := append([]*whep.Publisher(nil), s.pubs[:2]...)
	for _, r := range s.rungs {
		viewed = append(viewed, r.pubs...)
	}
	viewed = append(viewed, s.pubs[2:]...)
	var ice []webrtc.ICEServer
	for _, u := range cfg.ICEServers {
		ice = append(ice, webrtc.ICEServer{URLs: []string{u}})
	}
	s.whepH, err = whep.NewHandler(whep.Config{
		Publishers: viewed, Token: cfg.ViewerToken, MaxViewers: cfg.MaxViewers, ICEServers: ice,
		UDPPortMin: cfg.UDPPortMin, UDPPortMax: cfg.UDPPortMax, NAT1To1IPs: cfg.NAT1To1IPs,
		OnSession: s.onViewer,

		ConnectTimeout: time.Duration(cfg.ConnectTimeout), MaxUnconnectedPerAddr: cfg.MaxConnectingPerIP,
	})
	if err != nil {
		return nil, err
	}
	s.ice = ice
	s.whipH, err = whip.NewHandler(s.whipConfig(func(p *whip.Publication) {
		select {
		case s.whipPubs <- p:
		default:
			// The service is not taking publications (stopping).
			go p.Close()
		}
	}))
	if err != nil {
		return nil, err
	}
	if cfg.WHIPPush != "" {
		// pubs: VP8, H.264, audio.
		push := s.pubs
		switch strings.ToLower(cfg.WHIPPushCodec) {
		case "vp8":
			push = []*whep.Publisher{s.pubs[0], s.pubs[2]}
		case "h264":
			push = []*whep.Publisher{s.pubs[1], s.pubs[2]}
		case "":
		default:
			return nil, fmt.Errorf("--whip-push-codec %q: vp8 or h264", cfg.WHIPPushCodec)
		}
		s.push, err = whip.NewClient(whip.ClientConfig{URL: cfg.WHIPPush, Token: cfg.WHIPPushToken,
			Publishers: push, ICEServers: ice, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("--whip-push: %w", err)
		}
	}
	if s.rec, err = openRecorders(cfg, s); err != nil {
		return nil, err
	}
	s.metrics = newMetrics(s)
	if s.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, err
	}
	if s.srv, err = s.httpServer(); err != nil {
		return nil, err
	}
	return s, nil
}

// softwareAnalysisSide is the barcode analysis bound on a software
// renderer (see New).
const softwareAnalysisSide = 427

// URL is the viewer page's address.
func (s *Service) URL() string { return "http://" + s.ln.Addr().String() + "/" }

// Run serves until ctx ends (a signal) or a file input ends without
// --loop, then shuts down gracefully: inputs stop, tracks end, viewer
// sessions close, recordings are finalized. It returns nil on a clean stop.
func (s *Service) Run(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srvErr := make(chan error, 1)
	go func() { srvErr <- s.srv.Serve(s.ln) }()
	s.log.Info("serving", "url", s.URL(), "whep", s.URL()+"whep", "whip", s.URL()+"whip", "input", s.configuredInput())

	if s.scenes != nil {
		s.goFn(func() { s.runScenes(runCtx) })
	} else {
		s.goFn(func() { s.runCompositor(runCtx) })
		s.goFn(func() { s.runInputs(runCtx) })
	}
	if s.scenes != nil {
		s.goFn(func() { s.mixAudio(runCtx) })
	} else {
		s.goFn(func() { s.runAudio(runCtx) })
	}
	s.goFn(func() { s.runPluginEvents(runCtx) })
	s.goFn(func() { s.runPassErrors(runCtx) })
	s.goFn(func() { s.runWatchdog(runCtx) })
	if s.push != nil {
		s.goFn(func() {
			if err := s.push.Run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
				s.log.Error("WHIP push stopped", "err", err)
			}
		})
	}
	if s.win != nil {
		s.win.SetStatus("")
	}

	var err error
	select {
	case <-ctx.Done():
		s.log.Info("stopping", "reason", context.Cause(ctx))
	case <-s.ended:
		s.log.Info("input ended; stopping")
	case err = <-srvErr:
		s.log.Error("HTTP server failed", "err", err)
	}
	s.shutdown(cancel)
	return err
}

func (s *Service) goFn(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// shutdown stops everything in data-flow order, each step bounded.
func (s *Service) shutdown(cancel context.CancelFunc) {
	deadline := time.Duration(s.cfg.ShutdownTimeout)
	if deadline <= 0 {
		deadline = 5 * time.Second
	}
	ctx, done := context.WithTimeout(context.Background(), deadline)
	defer done()
	// Inputs and loops first, so nothing writes into ended tracks.
	cancel()
	waited := make(chan struct{})
	go func() { s.wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		s.log.Warn("loops did not stop in time")
	}
	// Ending the tracks lets the encoders drain and the viewers see
	// their tracks end; then the sessions close.
	s.video.Writable().Close()
	s.audio.Writable().Close()
	pubs := s.pubs
	for _, r := range s.rungs {
		r.track.Writable().Close()
		pubs = append(pubs[:len(pubs):len(pubs)], r.pubs...)
	}
	for _, p := range pubs {
		select {
		case <-p.Done():
		case <-ctx.Done():
		}
	}
	s.srv.SetKeepAlivesEnabled(false)
	// SSE streams never end by themselves: Shutdown would wait for them,
	// so close the listener and connections after a short grace period.
	shCtx, shDone := context.WithTimeout(ctx, time.Second)
	if err := s.srv.Shutdown(shCtx); err != nil {
		s.srv.Close()
	}
	shDone()
	s.close()
	s.log.Info("stopped", "uptime", time.Since(s.start).Round(time.Millisecond))
}

// close releases everything New made; safe on a partial Service.
func (s *Service) close() {
	if s.whepH != nil {
		s.whepH.Close()
	}
	if s.whipH != nil {
		s.whipH.Close()
	}
	s.closeWHIPSources()
	for _, p := range s.pubs {
		p.Close()
	}
	closeRungs(s.rungs)
	if s.rec != nil {
		s.rec.Close()
	}
	if s.video != nil {
		s.video.Stop()
	}
	if s.audio != nil {
		s.audio.Stop()
	}
	s.snapMu.Lock()
	s.snap.Close()
	s.snap = media.VideoFrame{}
	s.snapMu.Unlock()
	s.passes.close()
	glLost := false
	if s.pl != nil {
		if err := s.pl.Close(); errors.Is(err, compositor.ErrBusy) {
			// A frame that never returned holds the GL thread: closing
			// the device would wait for it for ever.
			s.log.Warn("GL thread busy at exit; its objects are left to the process's end", "err", err)
			glLost = true
		}
	}
	if s.dev != nil && !glLost {
		s.dev.Close()
	}
	if s.win != nil {
		s.win.Close()
	}
	if s.ln != nil {
		s.ln.Close()
	}
}

// onViewer gives every WHEP session with an application m-section the
// "detections" data channel.
func (s *Service) onViewer(id string, pc *webrtc.PeerConnection, hasData bool) func() {
	s.log.Info("viewer joined", "session", id, "dataChannel", hasData)
	if !hasData {
		return func() { s.log.Info("viewer left", "session", id) }
	}
	cleanup, err := s.hub.attachDataChannel(pc)
	if err != nil {
		s.log.Warn("detections data channel", "session", id, "err", err)
		return nil
	}
	return func() {
		cleanup()
		s.log.Info("viewer left", "session", id)
	}
}

// onSample runs on the VP8 encoder's goroutine after each frame went to
// the network: latency bookkeeping and the IVF recording.
func (s *Service) onSample(si whep.SampleInfo) {
	s.rate.add(si.Bytes, si.Sent)
	s.onLatencySample(si)
	if s.rec != nil {
		s.rec.sample(si)
		for _, rec := range s.rec.av {
			if !rec.mp4 {
				rec.video(si)
			}
		}
	}
}

// onH264Sample runs on the H.264 encoder's goroutine: latency, and the
// MP4 recordings.
func (s *Service) onH264Sample(si whep.SampleInfo) {
	s.onLatencySample(si)
	if s.rec != nil {
		for _, rec := range s.rec.av {
			if rec.mp4 {
				rec.video(si)
			}
		}
	}
}

// onAudioSample runs on the Opus encoder's goroutine: the recordings with
// sound.
func (s *Service) onAudioSample(si whep.AudioSampleInfo) {
	if s.rec != nil {
		for _, rec := range s.rec.av {
			rec.sound(si)
		}
	}
}

// onLatencySample records a frame's latency, from its composition to its
// first packet, for whichever encoder sent it first.
func (s *Service) onLatencySample(si whep.SampleInfo) {
	if created, ok := s.lat.take(si.Timestamp); ok {
		d := si.Sent.Sub(created)
		s.lat.observe(d)
		if s.metrics != nil {
			s.metrics.latency.Observe(d.Seconds())
		}
	}
}

// endInput ends the service after a file input ended without --loop.
func (s *Service) endInput() { s.endedOnce.Do(func() { close(s.ended) }) }

// addH264 adds the H.264 publisher of the video track after the VP8 one:
// constrained baseline at the canvas's level, encoded only while watched.
func (s *Service) addH264(vcfg whep.VideoConfig) error {
	level, err := h264.LevelFor(s.cfg.Width, s.cfg.Height, s.cfg.FPS)
	if err != nil {
		return err
	}
	vcfg.Codec, vcfg.ProfileLevelID = webrtc.MimeTypeH264, level.ProfileLevelID()
	vcfg.StreamID = s.stream.ID()
	vcfg.OnSample = s.onH264Sample
	p, err := whep.NewVideoPublisher(s.video, vcfg)
	if err != nil {
		return err
	}
	s.pubs = append(s.pubs[:1], append([]*whep.Publisher{p}, s.pubs[1:]...)...)
	return nil
}
