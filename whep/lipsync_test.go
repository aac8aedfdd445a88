package whep

import (
	"context"
	"encoding/binary"
	"math"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/shadercast/shadercast/codec/opus"
	"github.com/shadercast/shadercast/generator"
	"github.com/shadercast/shadercast/media"
)

// Lip-sync test schedule: every syncPeriod of source time, the video shows one
// white frame (otherwise dark) and the audio beeps for syncBeep (otherwise
// silence), both starting at the same source timestamp. The receiver finds
// the flash and the beep onsets in the RTP stream by payload size (a full
// picture change and a tone after silence cost far more bytes than a static
// picture or digital silence) and maps their RTP timestamps to NTP time
// through each track's RTCP Sender Reports, as a browser's A/V sync does.
const (
	syncPeriod = time.Second
	syncBeep   = 100 * time.Millisecond
	syncFPS    = 30
)

// rtpRec is one received RTP packet (or video frame: bytes summed over the
// packets of one RTP timestamp).
type rtpRec struct {
	ts    uint32
	bytes int
}

type srRec struct {
	ntp uint64 // 32.32 fixed point
	rtp uint32
}

// ntpSeconds maps an RTP timestamp to NTP seconds through sr.
func (sr srRec) ntpSeconds(ts uint32, clock float64) float64 {
	ntp := float64(sr.ntp>>32) + float64(sr.ntp&0xffffffff)/(1<<32)
	return ntp + float64(int32(ts-sr.rtp))/clock
}

// audioOnsets returns the timestamps of packets with a beep (rms over
// 0.05, scaled by 1000 in rtpRec.bytes) after a quiet one.
func audioOnsets(recs []rtpRec) []uint32 {
	var out []uint32
	for i := 1; i < len(recs); i++ {
		if recs[i].bytes > 50 && recs[i-1].bytes <= 50 {
			out = append(out, recs[i].ts)
		}
	}
	return out
}

// onsets returns the timestamps of records much larger than the typical one
// whose predecessor was not (the start of a flash or beep), skipping the
// first skip records (the initial keyframe, encoder start-up).
func onsets(recs []rtpRec, skip int) []uint32 {
	if len(recs) <= skip+1 {
		return nil
	}
	sizes := make([]int, 0, len(recs)-skip)
	for _, r := range recs[skip:] {
		sizes = append(sizes, r.bytes)
	}
	sort.Ints(sizes)
	thr := 3*sizes[len(sizes)/2] + 20
	var out []uint32
	for i := skip + 1; i < len(recs); i++ {
		if recs[i].bytes > thr && recs[i-1].bytes <= thr {
			out = append(out, recs[i].ts)
		}
	}
	return out
}

func TestLipSync(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ~5 s of real-time media")
	}
	v, err := generator.New("video")
	if err != nil {
		t.Fatal(err)
	}
	a, err := generator.New("audio")
	if err != nil {
		t.Fatal(err)
	}
	const stream = "lipsync"
	vp, err := NewVideoPublisher(v, VideoConfig{Bitrate: 500_000, Threads: 1, StreamID: stream})
	if err != nil {
		t.Fatal(err)
	}
	ap, err := NewAudioPublisher(a, AudioConfig{StreamID: stream})
	if err != nil {
		t.Fatal(err)
	}
	s := &source{video: v, audio: a, vpub: vp, apub: ap}

	// The viewer connects before the media starts, so that both tracks are
	// bound from their first sample on.
	_, srv := newTestHandler(t, s, nil)
	pc := newClientPC(t)
	var (
		mu        sync.Mutex
		vrecs     []rtpRec
		arecs     []rtpRec
		vsr, asr  []srRec
		vSSRC     uint32
		aSSRC     uint32
		wg        sync.WaitGroup
		closeOnce sync.Once
		pcClosed  bool
	)
	closePC := func() {
		closeOnce.Do(func() {
			mu.Lock()
			pcClosed = true
			mu.Unlock()
			pc.Close()
			wg.Wait()
		})
	}
	t.Cleanup(closePC)
	pc.OnTrack(func(tr *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
		video := tr.Kind() == webrtc.RTPCodecTypeVideo
		mu.Lock()
		if video {
			vSSRC = uint32(tr.SSRC())
		} else {
			aSSRC = uint32(tr.SSRC())
		}
		// pion may start this handler after pc.Close returned; the
		// flag keeps wg.Add from racing with closePC's Wait.
		if pcClosed {
			mu.Unlock()
			return
		}
		wg.Add(2) // this handler and its RTCP reader
		mu.Unlock()
		defer wg.Done()
		var dec *opus.Decoder
		if !video {
			var err error
			if dec, err = opus.NewDecoder(1); err != nil {
				panic(err)
			}
			defer dec.Close()
		}
		go func() {
			defer wg.Done()
			for {
				pkts, _, err := rcv.ReadRTCP()
				if err != nil {
					return
				}
				for _, p := range pkts {
					sr, ok := p.(*rtcp.SenderReport)
					if !ok || sr.SSRC != uint32(tr.SSRC()) {
						continue
					}
					mu.Lock()
					if video {
						vsr = append(vsr, srRec{sr.NTPTime, sr.RTPTime})
					} else {
						asr = append(asr, srRec{sr.NTPTime, sr.RTPTime})
					}
					mu.Unlock()
				}
			}
		}()
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			mu.Lock()
			if video {
				if n := len(vrecs); n > 0 && vrecs[n-1].ts == pkt.Timestamp {
					vrecs[n-1].bytes += len(pkt.Payload)
				} else {
					vrecs = append(vrecs, rtpRec{pkt.Timestamp, len(pkt.Payload)})
				}
			} else if pcm, err := dec.Decode(pkt.Payload); err == nil {
				// Audio is recorded by level: Opus CBR packets are
				// the same size whatever they carry.
				var e float64
				for _, x := range pcm {
					e += float64(x) * float64(x)
				}
				rms := math.Sqrt(e / float64(max(len(pcm), 1)))
				arecs = append(arecs, rtpRec{pkt.Timestamp, int(rms * 1000)})
			}
			mu.Unlock()
		}
	})
	connected := make(chan struct{})
	var connOnce sync.Once
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateConnected {
			connOnce.Do(func() { close(connected) })
		}
	})
	sdp := offer(t, pc, webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio)
	resp := post(t, srv.URL+"/whep", "", sdp)
	body := make([]byte, 0, 8192)
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		body = append(body, buf[:n]...)
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("not connected")
	}
	// Let DTLS/SRTP settle on the server side too.
	time.Sleep(200 * time.Millisecond)

	// One clock for both tracks: source time 0 is start, and each frame or
	// block is written when its timestamp comes due.
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	due := func(ts int64) bool {
		tm := time.NewTimer(time.Until(start.Add(time.Duration(ts) * time.Microsecond)))
		defer tm.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-tm.C:
			return true
		}
	}
	period := syncPeriod.Microseconds()
	var feeders sync.WaitGroup
	feeders.Add(2)
	go func() {
		defer feeders.Done()
		for i := int64(0); ; i++ {
			ts := i * 1_000_000 / syncFPS
			if !due(ts) {
				return
			}
			// The frame whose interval [ts, ts+1/fps) holds a sync
			// point is white.
			y := byte(40)
			if ts > 0 && (ts+1_000_000/syncFPS-1)/period != (ts-1)/period {
				y = 235
			}
			f, err := media.AllocVideoFrame(media.VideoFrameInit{
				Format: media.I420, CodedWidth: testW, CodedHeight: testH,
				Timestamp: ts, Duration: 1_000_000 / syncFPS,
			})
			if err != nil {
				panic(err)
			}
			for pi, val := range [3]byte{y, 128, 128} {
				p, _ := f.Plane(pi)
				fillRect(p, 0, p.Width, val)
			}
			if err := v.Writable().Write(ctx, f); err != nil {
				return
			}
		}
	}()
	go func() {
		defer feeders.Done()
		const n = 960 // 20 ms at 48 kHz
		pcm := make([]byte, 4*n)
		for i := int64(0); ; i++ {
			ts := i * 20_000
			if !due(ts) {
				return
			}
			beep := ts >= period && ts%period < syncBeep.Microseconds()
			for k := 0; k < n; k++ {
				s := 0.0
				if beep {
					s = 0.5 * math.Sin(2*math.Pi*1000*float64(i*n+int64(k))/48000)
				}
				binary.LittleEndian.PutUint32(pcm[4*k:], math.Float32bits(float32(s)))
			}
			d, err := media.NewAudioData(pcm, media.AudioDataInit{
				Format: media.F32, SampleRate: 48000, NumberOfFrames: n, NumberOfChannels: 1,
				Timestamp: ts,
			})
			if err != nil {
				panic(err)
			}
			if err := a.Writable().Write(ctx, d); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		feeders.Wait()
		v.Writable().Close()
		a.Writable().Close()
		vp.Close()
		ap.Close()
	})

	// Five sync points; SRs come about every second per track.
	time.Sleep(5*syncPeriod + 300*time.Millisecond)
	cancel()
	feeders.Wait()
	time.Sleep(100 * time.Millisecond)
	closePC()

	mu.Lock()
	defer mu.Unlock()
	t.Logf("video: %d frames, %d SRs (ssrc %d); audio: %d packets, %d SRs (ssrc %d)",
		len(vrecs), len(vsr), vSSRC, len(arecs), len(asr), aSSRC)
	if len(vsr) == 0 || len(asr) == 0 {
		t.Fatalf("no sender reports (video %d, audio %d)", len(vsr), len(asr))
	}
	// The last SR of each track: a receiver uses the latest mapping.
	vs, as := vsr[len(vsr)-1], asr[len(asr)-1]
	// Skip the first half second: the keyframe and encoder start-up.
	vOn := onsets(vrecs, syncFPS/2)
	aOn := audioOnsets(arecs)
	t.Logf("video onsets %d, audio onsets %d", len(vOn), len(aOn))
	var vt, at []float64
	for _, ts := range vOn {
		vt = append(vt, vs.ntpSeconds(ts, 90000))
	}
	for _, ts := range aOn {
		at = append(at, as.ntpSeconds(ts, 48000))
	}
	pairs := 0
	var offs []float64
	for _, x := range vt {
		// The audio onset nearest in NTP time is the same sync point:
		// sync points are a second apart.
		best := math.Inf(1)
		for _, y := range at {
			if math.Abs(y-x) < math.Abs(best) {
				best = y - x
			}
		}
		if math.Abs(best) > 0.4 {
			continue
		}
		pairs++
		off := time.Duration(best * float64(time.Second))
		t.Logf("sync point: audio - video = %v", off.Round(100*time.Microsecond))
		offs = append(offs, best)
		// Each sync point reads the sender reports' NTP/RTP mapping,
		// which jitters by tens of ms on a loaded 2-core machine; the
		// median must be tight, single points within what viewers
		// cannot notice (ITU-R BT.1359: +45 ms audio early).
		if off < -60*time.Millisecond || off > 60*time.Millisecond {
			t.Errorf("A/V offset %v outside ±60 ms", off)
		}
	}
	sort.Float64s(offs)
	if len(offs) > 0 {
		if med := offs[len(offs)/2]; math.Abs(med) > 0.030 {
			t.Errorf("median A/V offset %.1f ms outside ±30 ms", med*1000)
		}
	}
	if pairs < 3 {
		t.Fatalf("only %d sync points matched (video onsets %d, audio onsets %d)", pairs, len(vOn), len(aOn))
	}
}
