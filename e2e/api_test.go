package e2e

import (
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shadercast/shadercast/internal/rtctest"
)

// Still-image colours: left and right halves of the test PNG.
var (
	stillLeft  = [3]float64{220, 40, 40}
	stillRight = [3]float64{30, 80, 200}
)

func writeSplitPNG(t testing.TB, path string, w, h int, left, right [3]float64) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := left
			if x >= w/2 {
				c = right
			}
			img.Set(x, y, color.RGBA{uint8(c[0]), uint8(c[1]), uint8(c[2]), 255})
		}
	}
	writePNG(t, path, img)
}

// writePNG writes img to path as PNG.
func writePNG(t testing.TB, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// snapshot fetches /api/snapshot.png.
func (s *service) snapshot(t testing.TB, token string) image.Image {
	t.Helper()
	resp := rtctest.Do(t, http.MethodGet, s.URL+"api/snapshot.png", token, "", "")
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("snapshot: %d %s", resp.StatusCode, readAll(resp.Body))
	}
	img, err := png.Decode(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// patch is the mean colour of the 9×9 patch around (x, y).
func patch(img image.Image, x, y int) [3]float64 {
	var s [3]float64
	n := 0.0
	for dy := -4; dy <= 4; dy++ {
		for dx := -4; dx <= 4; dx++ {
			r, g, b, _ := img.At(x+dx, y+dy).RGBA()
			s[0] += float64(r >> 8)
			s[1] += float64(g >> 8)
			s[2] += float64(b >> 8)
			n++
		}
	}
	return [3]float64{s[0] / n, s[1] / n, s[2] / n}
}

func inv(c [3]float64) [3]float64 { return [3]float64{255 - c[0], 255 - c[1], 255 - c[2]} }

func scale(c [3]float64, k float64) [3]float64 { return [3]float64{c[0] * k, c[1] * k, c[2] * k} }

// pipelineNames is the pass order GET /api/pipeline reports.
func pipelineNames(t testing.TB, s *service, token string) []string {
	t.Helper()
	var v struct {
		Passes []struct {
			Name    string `json:"name"`
			Enabled bool   `json:"enabled"`
		} `json:"passes"`
	}
	if code := s.getJSON(t, "api/pipeline", token, &v); code != http.StatusOK {
		t.Fatalf("GET /api/pipeline: %d", code)
	}
	var out []string
	for _, p := range v.Passes {
		out = append(out, p.Name)
	}
	return out
}

// TestStillImageAndControlAPI: a PNG input shows its colours to a viewer;
// pipeline changes through the API show in the next composited frames
// (invert, a vignette whose effect depends on the order, a parameter,
// disabling); bad requests get JSON errors with the right status; the
// control token is enforced.
func TestStillImageAndControlAPI(t *testing.T) {
	const tok = "x"
	path := filepath.Join(t.TempDir(), "split.png")
	writeSplitPNG(t, path, 640, 360, stillLeft, stillRight)
	s := start(t, []string{"SHADERCAST_CONTROL_TOKEN=" + tok}, nil, "--input", path)

	t.Run("colours", func(t *testing.T) {
		v := watch(t, s, "")
		v.WaitFrames(t, 10, 30*time.Second)
		f := v.latestSized(t, 640, 360, 10*time.Second)
		defer f.Close()
		l := [3]float64{}
		l[0], l[1], l[2] = meanRGB(f.VideoFrame, 80, 100, 240, 260)
		r := [3]float64{}
		r[0], r[1], r[2] = meanRGB(f.VideoFrame, 400, 100, 560, 260)
		if !near(l, stillLeft, 12) || !near(r, stillRight, 12) {
			t.Errorf("decoded halves %.0f and %.0f, want %.0f and %.0f (±12)", l, r, stillLeft, stillRight)
		}
	})

	// Points sampled from snapshots: the middle of the left half, and a
	// corner (where the vignette is strongest).
	mid := func(img image.Image) [3]float64 { return patch(img, 160, 180) }
	corner := func(img image.Image) [3]float64 { return patch(img, 8, 8) }
	// waitSnap waits until a snapshot's samples match want (±14).
	waitSnap := func(t *testing.T, what string, wantMid, wantCorner [3]float64) {
		t.Helper()
		var m, c [3]float64
		deadline := time.Now().Add(5 * time.Second)
		for {
			img := s.snapshot(t, tok)
			m, c = mid(img), corner(img)
			if near(m, wantMid, 14) && near(c, wantCorner, 14) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: snapshot middle %.0f corner %.0f, want %.0f and %.0f (±14)", what, m, c, wantMid, wantCorner)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	patchOK := func(t *testing.T, body string) {
		t.Helper()
		if code, resp := s.request(t, http.MethodPatch, "api/pipeline", tok, "application/json", body); code != http.StatusOK {
			t.Fatalf("PATCH %s: %d %s", body, code, resp)
		}
	}

	t.Run("pipeline", func(t *testing.T) {
		if got := pipelineNames(t, s, tok); strings.Join(got, ",") != "barcode" {
			t.Fatalf("passes %v, want [barcode]", got)
		}
		waitSnap(t, "original", stillLeft, stillLeft)

		patchOK(t, `{"add":["invert"]}`)
		waitSnap(t, "inverted", inv(stillLeft), inv(stillLeft))

		// Vignette after invert darkens the inverted corner; before it,
		// the darkened corner is inverted (brighter). Default amount 0.6
		// leaves 40% at the corner.
		patchOK(t, `{"add":["vignette"]}`)
		waitSnap(t, "invert then vignette", inv(stillLeft), scale(inv(stillLeft), 0.4))
		patchOK(t, `{"order":["barcode","vignette","invert"]}`)
		if got := pipelineNames(t, s, tok); strings.Join(got, ",") != "barcode,vignette,invert" {
			t.Fatalf("after reordering: passes %v", got)
		}
		waitSnap(t, "vignette then invert", inv(stillLeft), inv(scale(stillLeft, 0.4)))

		patchOK(t, `{"passes":{"vignette":{"inputs":{"amount":0}}}}`)
		waitSnap(t, "vignette amount 0", inv(stillLeft), inv(stillLeft))

		patchOK(t, `{"passes":{"invert":{"enabled":false},"vignette":{"enabled":false}}}`)
		waitSnap(t, "both disabled", stillLeft, stillLeft)

		patchOK(t, `{"remove":["invert","vignette"]}`)
		if got := pipelineNames(t, s, tok); strings.Join(got, ",") != "barcode" {
			t.Fatalf("after removing: passes %v, want [barcode]", got)
		}
	})

	t.Run("errors", func(t *testing.T) {
		big := `{"add":["` + strings.Repeat("x", 70<<10) + `"]}`
		for _, c := range []struct {
			name, method, ctype, body string
			code                      int
			reason                    string // in the error, lower case
		}{
			{"unknown pass", http.MethodPatch, "application/json", `{"add":["no-such-pass"]}`, http.StatusUnprocessableEntity, "no-such-pass"},
			{"unknown pass in order", http.MethodPatch, "application/json", `{"order":["barcode","nope"]}`, http.StatusUnprocessableEntity, "nope"},
			{"bad JSON", http.MethodPatch, "application/json", `{"add":`, http.StatusBadRequest, "json"},
			{"unknown field", http.MethodPatch, "application/json", `{"ad":["invert"]}`, http.StatusBadRequest, "ad"},
			{"wrong method", http.MethodDelete, "", "", http.StatusMethodNotAllowed, "delete"},
			{"too large", http.MethodPatch, "application/json", big, http.StatusRequestEntityTooLarge, "larger"},
			{"wrong content type", http.MethodPatch, "text/plain", `{"add":["invert"]}`, http.StatusUnsupportedMediaType, "application/json"},
		} {
			code, body := s.request(t, c.method, "api/pipeline", tok, c.ctype, c.body)
			var e struct {
				Error string `json:"error"`
			}
			if code != c.code {
				t.Errorf("%s: status %d, want %d (%.200s)", c.name, code, c.code, body)
				continue
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
				t.Errorf("%s: body is not JSON with an error reason: %v %.200q", c.name, err, body)
				continue
			}
			if !strings.Contains(strings.ToLower(e.Error), c.reason) {
				t.Errorf("%s: reason %q does not mention %q", c.name, e.Error, c.reason)
			}
		}
		// A refused change changed nothing.
		if got := pipelineNames(t, s, tok); strings.Join(got, ",") != "barcode" {
			t.Errorf("after refused requests: passes %v, want [barcode]", got)
		}
		waitSnap(t, "after refused requests", stillLeft, stillLeft)
	})

	t.Run("token", func(t *testing.T) {
		for _, p := range []string{"api/pipeline", "api/stats", "api/snapshot.png"} {
			for _, c := range []struct {
				token string
				want  int
			}{{"", http.StatusUnauthorized}, {"wrong", http.StatusUnauthorized}, {tok, http.StatusOK}} {
				code, body := s.request(t, http.MethodGet, p, c.token, "", "")
				if code != c.want {
					t.Errorf("GET /%s with token %q: %d, want %d", p, c.token, code, c.want)
				}
				if code == http.StatusUnauthorized {
					var e struct {
						Error string `json:"error"`
					}
					if json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
						t.Errorf("GET /%s 401 body is not a JSON error: %.200q", p, body)
					}
				}
			}
		}
		code, body := s.request(t, http.MethodPatch, "api/pipeline", "", "application/json", `{"add":["invert"]}`)
		if code != http.StatusUnauthorized {
			t.Errorf("PATCH without the token: %d %s", code, body)
		}
		if got := pipelineNames(t, s, tok); strings.Join(got, ",") != "barcode" {
			t.Errorf("an unauthorized PATCH changed the chain: %v", got)
		}
		// The viewer endpoints do not take the control token.
		if code, _ := s.request(t, http.MethodGet, "healthz", "", "", ""); code != http.StatusOK {
			t.Errorf("/healthz: %d", code)
		}
	})
}
