// Command whep-fanout measures what WHEP fan-out costs: one 720p VP8 stream
// served by whep.Handler on 127.0.0.1 to N pion viewers that read RTP
// without decoding it.
//
//	go run ./cmd/whep-fanout -viewers 1,10,50,100 -seconds 10
//
// The viewers run in a child process (this binary re-executed with
// -connect), so the server's CPU figure (getrusage RUSAGE_SELF of this
// process) does not include the viewers' SRTP decryption and receive
// work; that is printed separately. Per N it prints:
//
//   - srv cpu: CPU seconds the server process used per wall second during
//     the measured window: encoder, fan-out and HTTP, plus the frame feeder
//     (which only copies pre-rendered frames, see below);
//   - view cpu: the same for the viewer process;
//   - pkt/s: RTP packets per second received by all viewers together, and
//     per viewer;
//   - write→1st pkt: from the generator Write of a frame to the moment its
//     first RTP packet is written (whep.SampleInfo.Sent, just before
//     WriteSample), median and p99; this is queueing plus VP8 encoding;
//   - fanout: how long WriteSample took to packetize the frame and write it
//     to all N viewers (Written-Sent), median and p99.
//
// The picture is the testsrc pattern (moving gradient, checker, barcodes,
// clock). Its frames are rendered and converted to I420 once at start (a
// 3 s loop), so that rendering, which is not what is measured, does not
// compete with the encoder for the CPU.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"image"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/generator"
	"github.com/shadercast/shadercast/media"
	"github.com/shadercast/shadercast/source/testsrc"
	"github.com/shadercast/shadercast/whep"
)

const (
	width, height = 1280, 720
	fps           = 30
	loopFrames    = 3 * fps
	frameUS       = 1_000_000 / fps
)

func main() {
	viewers := flag.String("viewers", "1,10,50,100", "comma-separated viewer counts to measure")
	seconds := flag.Float64("seconds", 10, "measured seconds per viewer count")
	bitrate := flag.Int("bitrate", 2_000_000, "VP8 target bit rate")
	connect := flag.String("connect", "", "internal: run as the viewer process against this WHEP URL")
	n := flag.Int("n", 0, "internal: viewers in the viewer process")
	flag.Parse()
	if *connect != "" {
		if err := runViewers(*connect, *n, time.Duration(*seconds*float64(time.Second))); err != nil {
			log.Fatal(err)
		}
		return
	}
	var counts []int
	for _, f := range strings.Split(*viewers, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c <= 0 {
			log.Fatalf("bad -viewers entry %q", f)
		}
		counts = append(counts, c)
	}
	if err := runServer(counts, *seconds, *bitrate); err != nil {
		log.Fatal(err)
	}
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func loopbackEngine() *webrtc.SettingEngine {
	se := &webrtc.SettingEngine{}
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() && ip.To4() != nil })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	return se
}

// render prepares the looped I420 frames (BT.601 limited range, 2x2 chroma
// averaging).
func render() ([][]byte, error) {
	pat, err := testsrc.New(width, height, fps)
	if err != nil {
		return nil, err
	}
	rgba := image.NewRGBA(image.Rect(0, 0, width, height))
	out := make([][]byte, loopFrames)
	for i := range out {
		pat.Render(i, rgba)
		buf := make([]byte, width*height*3/2)
		y, u, v := buf[:width*height], buf[width*height:width*height*5/4], buf[width*height*5/4:]
		for py := 0; py < height; py++ {
			for px := 0; px < width; px++ {
				o := py*rgba.Stride + px*4
				r, g, b := int(rgba.Pix[o]), int(rgba.Pix[o+1]), int(rgba.Pix[o+2])
				y[py*width+px] = byte((66*r+129*g+25*b+128)>>8 + 16)
			}
		}
		for cy := 0; cy < height/2; cy++ {
			for cx := 0; cx < width/2; cx++ {
				var r, g, b int
				for _, d := range [4][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
					o := (2*cy+d[1])*rgba.Stride + (2*cx+d[0])*4
					r, g, b = r+int(rgba.Pix[o]), g+int(rgba.Pix[o+1]), b+int(rgba.Pix[o+2])
				}
				r, g, b = r/4, g/4, b/4
				u[cy*width/2+cx] = byte((-38*r-74*g+112*b+128)>>8 + 128)
				v[cy*width/2+cx] = byte((112*r-94*g-18*b+128)>>8 + 128)
			}
		}
		out[i] = buf
	}
	return out, nil
}

// feed writes the loop at 30 fps, recording each frame's Write time under
// its frame number for the latency hook.
func feed(ctx context.Context, w *generator.Writable, frames [][]byte, writeAt *[256]atomic.Int64) {
	tk := time.NewTicker(time.Second / fps)
	defer tk.Stop()
	for i := int64(0); ; i++ {
		f, err := media.AllocVideoFrame(media.VideoFrameInit{
			Format: media.I420, CodedWidth: width, CodedHeight: height,
			Timestamp: i * frameUS, Duration: frameUS,
		})
		if err != nil {
			log.Fatal(err)
		}
		src := frames[i%loopFrames]
		off := 0
		for pi := 0; pi < 3; pi++ {
			p, _ := f.Plane(pi)
			for row := 0; row < p.Height; row++ {
				copy(p.Data[row*p.Stride:row*p.Stride+p.Width], src[off:])
				off += p.Width
			}
		}
		writeAt[i%256].Store(time.Now().UnixNano())
		if err := w.Write(ctx, f); err != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
	}
}

// latencies collects the hook's measurements while recording is on.
type latencies struct {
	mu              sync.Mutex
	on              bool
	first, fanout   []time.Duration
	writeAt         *[256]atomic.Int64
	unknownWriteGap int
}

func (l *latencies) onSample(s whep.SampleInfo) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.on {
		return
	}
	i := s.Timestamp / frameUS
	w := l.writeAt[i%256].Load()
	if w == 0 {
		l.unknownWriteGap++
		return
	}
	l.first = append(l.first, time.Duration(s.Sent.UnixNano()-w))
	l.fanout = append(l.fanout, s.Written.Sub(s.Sent))
}

func (l *latencies) set(on bool) ([]time.Duration, []time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, b := l.first, l.fanout
	l.on, l.first, l.fanout = on, nil, nil
	return a, b
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(p*float64(len(d))))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/1e6) }

func runServer(counts []int, seconds float64, bitrate int) error {
	log.Printf("rendering %d frames of %dx%d testsrc", loopFrames, width, height)
	frames, err := render()
	if err != nil {
		return err
	}
	track, err := generator.New(generator.KindVideo)
	if err != nil {
		return err
	}
	var writeAt [256]atomic.Int64
	lat := &latencies{writeAt: &writeAt}
	pub, err := whep.NewVideoPublisher(track, whep.VideoConfig{Bitrate: bitrate, FrameRate: fps, Threads: 1, OnSample: lat.onSample})
	if err != nil {
		return err
	}
	defer pub.Close()
	h, err := whep.NewHandler(whep.Config{
		Publishers: []*whep.Publisher{pub}, SettingEngine: loopbackEngine(),
		MaxViewers: 1000, GatherTimeout: 5 * time.Second, IncludeLoopback: true,
	})
	if err != nil {
		return err
	}
	defer h.Close()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/whep", h)
	mux.Handle("/whep/", h)
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/whep"

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go feed(ctx, track.Writable(), frames, &writeAt)
	defer track.Writable().Close()
	time.Sleep(time.Second) // encoder warm

	self, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Printf("whep-fanout: %dx%d VP8 %d kbit/s %d fps, %.0f s per row, %d CPUs\n",
		width, height, bitrate/1000, fps, seconds, runtime.NumCPU())
	fmt.Printf("%8s %8s %9s %10s %12s %22s %18s\n", "viewers", "srv cpu", "view cpu", "pkt/s", "pkt/s/viewer", "write→1st pkt med/p99", "fanout med/p99")
	for _, n := range counts {
		cmd := exec.Command(self, "-connect", url, "-n", strconv.Itoa(n), "-seconds", fmt.Sprint(seconds))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return err
		}
		rd := bufio.NewReader(out)
		line, err := rd.ReadString('\n')
		if err != nil || strings.TrimSpace(line) != "ready" {
			cmd.Wait()
			return fmt.Errorf("viewer process for %d: %q %v", n, line, err)
		}
		// The window is the child's: it prints "ready" when all its
		// viewers are connected and measures for -seconds after that.
		c0, t0 := cpuSeconds(), time.Now()
		lat.set(true)
		line, err = rd.ReadString('\n')
		c1, t1 := cpuSeconds(), time.Now()
		first, fan := lat.set(false)
		io.Copy(io.Discard, rd)
		if werr := cmd.Wait(); werr != nil || err != nil {
			return fmt.Errorf("viewer process for %d: %v %v", n, err, werr)
		}
		var pkts int64
		var childCPU, childWall float64
		if _, err := fmt.Sscan(line, &pkts, &childCPU, &childWall); err != nil {
			return fmt.Errorf("viewer process said %q", line)
		}
		wall := t1.Sub(t0).Seconds()
		fmt.Printf("%8d %8.3f %9.3f %10.0f %12.1f %22s %18s\n", n, (c1-c0)/wall, childCPU/childWall,
			float64(pkts)/childWall, float64(pkts)/childWall/float64(n),
			ms(pct(first, 0.5))+" / "+ms(pct(first, 0.99))+" ms", ms(pct(fan, 0.5))+" / "+ms(pct(fan, 0.99))+" ms")
		// Sessions end with the child's DELETEs; let the server settle.
		for deadline := time.Now().Add(10 * time.Second); h.Sessions() > 0 && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
		}
	}
	st := pub.Stats()
	fmt.Printf("publisher: %d frames, %d samples, %d keyframes, %d skipped\n", st.Frames, st.Samples, st.Keyframes, st.Skipped)
	return nil
}

// runViewers is the viewer process: connect n viewers, print "ready", count
// RTP packets for d, print "packets cpu-seconds wall-seconds", DELETE all.
func runViewers(url string, n int, d time.Duration) error {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return err
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		return err
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(*loopbackEngine()))
	var pkts atomic.Int64
	type conn struct {
		pc  *webrtc.PeerConnection
		loc string
	}
	conns := make([]conn, n)
	connected := make(chan struct{}, n)
	// Connect a few at a time: a real audience trickles in, and 100
	// simultaneous DTLS handshakes on two cores would time out.
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			pc, err := api.NewPeerConnection(webrtc.Configuration{})
			if err != nil {
				errs <- err
				return
			}
			conns[i].pc = pc
			var once sync.Once
			pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
				if s == webrtc.PeerConnectionStateConnected {
					once.Do(func() { connected <- struct{}{} })
				}
			})
			pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
				buf := make([]byte, 1500)
				for {
					if _, _, err := tr.Read(buf); err != nil {
						return
					}
					pkts.Add(1)
				}
			})
			if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
				errs <- err
				return
			}
			o, err := pc.CreateOffer(nil)
			if err != nil {
				errs <- err
				return
			}
			g := webrtc.GatheringCompletePromise(pc)
			if err := pc.SetLocalDescription(o); err != nil {
				errs <- err
				return
			}
			<-g
			resp, err := http.Post(url, "application/sdp", strings.NewReader(pc.LocalDescription().SDP))
			if err != nil {
				errs <- err
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				errs <- fmt.Errorf("POST: %d %s", resp.StatusCode, body)
				return
			}
			conns[i].loc = resp.Header.Get("Location")
			if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	timeout := time.After(30 * time.Second)
	for i := 0; i < n; i++ {
		select {
		case <-connected:
		case <-timeout:
			return fmt.Errorf("only %d of %d viewers connected", i, n)
		}
	}
	time.Sleep(500 * time.Millisecond) // first packets, keyframe request
	fmt.Println("ready")
	p0, c0, t0 := pkts.Load(), cpuSeconds(), time.Now()
	time.Sleep(d)
	p1, c1, t1 := pkts.Load(), cpuSeconds(), time.Now()
	fmt.Println(p1-p0, c1-c0, t1.Sub(t0).Seconds())
	base := strings.TrimSuffix(url, "/whep")
	for _, c := range conns {
		if c.loc != "" {
			req, _ := http.NewRequest(http.MethodDelete, base+c.loc, nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
		c.pc.Close()
	}
	return nil
}
