package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shadercast/shadercast/barcode"
	"github.com/shadercast/shadercast/source/testsrc"
)

// trackEvent is a "barcode-appeared" or "barcode-gone" event.
type trackEvent struct {
	Type      string `json:"type"`
	Timestamp int64  `json:"timestamp"`
	TrackID   int64  `json:"trackId"`
	Format    string `json:"format"`
	RawValue  string `json:"rawValue"`
	Frames    int    `json:"frames"`
	FirstSeen int64  `json:"firstSeen"`
	LastSeen  int64  `json:"lastSeen"`
	Source    string `json:"source"`
}

func (c *sseClient) all(name string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.events[name]...)
}

func trackEvents(t *testing.T, c *sseClient, name string) []trackEvent {
	t.Helper()
	var out []trackEvent
	for _, d := range c.all(name) {
		var e trackEvent
		if err := json.Unmarshal([]byte(d), &e); err != nil {
			t.Fatalf("%s event %s: %v", name, d, err)
		}
		out = append(out, e)
	}
	return out
}

type scanLogView struct {
	Barcodes []struct {
		TrackID  int64  `json:"trackId"`
		Format   string `json:"format"`
		RawValue string `json:"rawValue"`
		Frames   int    `json:"frames"`
		InView   bool   `json:"inView"`
		Source   string `json:"source"`
	} `json:"barcodes"`
	InView int `json:"inView"`
}

// TestBarcodeTracksOfTestScene: the test scene's three codes each get one
// track for as long as they stay in view: one appearance each (with its
// value, or a second one with the value when read later), no
// disappearance, the same trackId on every frame's detection of that
// value, and GET /api/barcodes lists the three, in view, read.
func TestBarcodeTracksOfTestScene(t *testing.T) {
	s := start(t, nil, nil)
	ev := subscribe(t, s, "")
	want := map[string]string{"ean_13": testsrc.EAN13Value, "code_128": testsrc.Code128Value, "qr_code": testsrc.QRValue}
	eventually(t, 20*time.Second, "the three codes read", func() bool {
		read := 0
		for _, e := range trackEvents(t, ev, "barcode-appeared") {
			if want[e.Format] == e.RawValue {
				read++
			}
		}
		return read >= 3
	})
	time.Sleep(3 * time.Second) // ~90 more frames of the same codes
	if gone := ev.all("barcode-gone"); len(gone) != 0 {
		t.Errorf("codes that never left the view went: %v", gone)
	}
	tracks := map[int64]string{} // id -> value
	for _, e := range trackEvents(t, ev, "barcode-appeared") {
		if prev, ok := tracks[e.TrackID]; ok && prev != "" {
			t.Errorf("track %d appeared again after it was read (%q then %q)", e.TrackID, prev, e.RawValue)
		}
		tracks[e.TrackID] = e.RawValue
		if e.Source != "testsrc" {
			t.Errorf("track %d source %q, want testsrc", e.TrackID, e.Source)
		}
	}
	byValue := map[string]int64{}
	for id, v := range tracks {
		if v == "" {
			continue
		}
		if other, ok := byValue[v]; ok {
			t.Errorf("%q has two tracks, %d and %d, while it stayed in view", v, other, id)
		}
		byValue[v] = id
	}
	if len(byValue) != 3 {
		t.Fatalf("read tracks %v, want one for each of %v", tracks, want)
	}
	// Every frame's detections carry the track of their value.
	frames := 0
	for _, d := range ev.all("detections") {
		var de struct {
			Barcodes []barcode.DetectedBarcode `json:"barcodes"`
		}
		if err := json.Unmarshal([]byte(d), &de); err != nil {
			t.Fatal(err)
		}
		frames++
		for _, b := range de.Barcodes {
			if b.RawValue == "" {
				continue
			}
			if id, ok := byValue[b.RawValue]; ok && b.TrackID != id {
				t.Fatalf("a detection of %q carries track %d, want %d", b.RawValue, b.TrackID, id)
			}
		}
	}
	if frames < 20 { // 30 fps for 3 s; fewer on a loaded machine, enough to judge
		t.Fatalf("only %d detections events", frames)
	}
	var log scanLogView
	if code := s.getJSON(t, "api/barcodes", "", &log); code != 200 {
		t.Fatalf("/api/barcodes: %d", code)
	}
	inView := 0
	for _, b := range log.Barcodes {
		if b.InView && want[b.Format] == b.RawValue {
			inView++
			if b.TrackID != byValue[b.RawValue] || b.Frames < 20 {
				t.Errorf("scan log entry %+v: want track %d seen in 20+ frames", b, byValue[b.RawValue])
			}
		}
	}
	if inView != 3 || log.InView < 3 {
		t.Errorf("/api/barcodes: %d of the codes in view (inView %d): %+v", inView, log.InView, log)
	}
}

// TestBarcodeGone: a QR code shown for one second, then an empty picture:
// it appears once with its value, goes once (about half a second after its
// last frame, with the frames it was seen in), and the scan log keeps it,
// out of view.
func TestBarcodeGone(t *testing.T) {
	const value = "gone-test-42"
	sym, err := barcode.Encode("qr_code", value, 240, 240)
	if err != nil {
		t.Fatal(err)
	}
	clip := filepath.Join(t.TempDir(), "gone.y4m")
	const w, h, shown, blank = 640, 360, 30, 150
	var b bytes.Buffer
	fmt.Fprintf(&b, "YUV4MPEG2 W%d H%d F30:1 Ip A1:1 C420jpeg\n", w, h)
	for i := 0; i < shown+blank; i++ {
		b.WriteString("FRAME\n")
		y := bytes.Repeat([]byte{235}, w*h)
		if i < shown {
			drawGray(y, w, sym, 200+i*2, 60)
		}
		b.Write(y)
		b.Write(bytes.Repeat([]byte{128}, w*h/2))
	}
	if err := os.WriteFile(clip, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	s := start(t, nil, nil, "--input", clip, "--width", "640", "--height", "360")
	ev := subscribe(t, s, "")
	eventually(t, 15*time.Second, "the code gone", func() bool { return ev.count("barcode-gone") > 0 })
	app, gone := trackEvents(t, ev, "barcode-appeared"), trackEvents(t, ev, "barcode-gone")
	var id int64
	for _, e := range app {
		if e.RawValue == value {
			id = e.TrackID
		}
	}
	if id == 0 || len(gone) != 1 || gone[0].TrackID != id || gone[0].RawValue != value {
		t.Fatalf("appeared %+v, gone %+v: want %q to appear and go once", app, gone, value)
	}
	if gone[0].Frames < shown/2 || gone[0].Frames > shown {
		t.Errorf("gone after %d frames seen, want about %d", gone[0].Frames, shown)
	}
	// Gone half a second (media time) after the code's last frame, having
	// been seen for about the second it was shown.
	g := gone[0]
	if d := g.Timestamp - g.LastSeen; d <= barcode.DefaultGoneAfter || d > barcode.DefaultGoneAfter+100_000 {
		t.Errorf("gone %d µs after it was last seen, want just over %d µs", d, barcode.DefaultGoneAfter)
	}
	if d := g.LastSeen - g.FirstSeen; d < 500_000 || d > 1_000_000 {
		t.Errorf("seen from %d to %d µs, want about the second it was shown", g.FirstSeen, g.LastSeen)
	}
	var log scanLogView
	s.getJSON(t, "api/barcodes", "", &log)
	if len(log.Barcodes) == 0 || log.Barcodes[0].TrackID != id || log.Barcodes[0].InView || log.InView != 0 {
		t.Errorf("/api/barcodes after it went: %+v", log)
	}
}

// drawGray copies g into the luma plane y (stride w) at x0, y0.
func drawGray(y []byte, w int, g *image.Gray, x0, y0 int) {
	r := g.Bounds()
	for j := 0; j < r.Dy(); j++ {
		for i := 0; i < r.Dx(); i++ {
			y[(y0+j)*w+x0+i] = 16 + byte(int(g.Pix[j*g.Stride+i])*219/255)
		}
	}
}
