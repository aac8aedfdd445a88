// Package barcodetest loads the barcode ground-truth photos
// (../shared/testdata/barcodes relative to the module root) and scores
// detections against them. It is shared by the CPU reference tests and the GPU
// pipeline tests so that both report the same figures.
package barcodetest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	_ "image/gif" // decoders for the photo set
	_ "image/jpeg"
	_ "image/png"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Acceptance bars (issue 10's for stills). Decoded counts a code only where
// a localizing detection carries its value.
const (
	MinLocalized       = 0.97
	MinDecoded         = 0.99
	MaxFalsePosImages  = 0
	MinCoverage        = 0.60 // intersection / ground-truth box area
	MaxAreaRatio       = 4.0  // detection box area / ground-truth box area
	FalsePositivesDir  = "falsepositives-2"
	relativeDataFolder = "../shared/testdata/barcodes"
)

// Box is an axis-aligned box in image pixels.
type Box struct{ X, Y, W, H float64 }

// Area returns W*H.
func (b Box) Area() float64 { return b.W * b.H }

func (b Box) intersect(o Box) float64 {
	w := min(b.X+b.W, o.X+o.W) - max(b.X, o.X)
	h := min(b.Y+b.H, o.Y+o.H) - max(b.Y, o.Y)
	if w <= 0 || h <= 0 {
		return 0
	}
	return w * h
}

// Truth is one ground-truth barcode.
type Truth struct {
	Format string // Shape Detection API name (ean_13, qr_code, ...)
	Text   string
	Points [4][2]float64
	Box    Box // bounding box of Points
}

// Case is one image: either with ground truth or from the false-positive set.
type Case struct {
	Path          string // absolute
	Name          string // relative to the data dir, e.g. "ean13-2/14.png"
	Width, Height int
	Truth         []Truth
	FalsePositive bool // image is known to contain no barcode
}

// Detection is what a detector reported, reduced to what is scored.
type Detection struct {
	Box      Box
	Format   string
	RawValue string
}

// webName maps zxing-cpp format names (manifest) to Shape Detection names.
var webName = map[string]string{
	"Aztec": "aztec", "Codabar": "codabar", "Code39": "code_39", "Code93": "code_93",
	"Code128": "code_128", "DataMatrix": "data_matrix", "EAN-8": "ean_8", "EAN-13": "ean_13",
	"ITF": "itf", "PDF417": "pdf417", "QRCode": "qr_code", "UPC-A": "upc_a", "UPC-E": "upc_e",
}

// DataDir finds the photo set by walking up from the working directory to the
// module root (the directory holding go.mod) and taking
// ../shared/testdata/barcodes from there. It fails the test when missing:
// the quality bar must never pass by skipping.
func DataDir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("barcodetest: %v", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			dir := filepath.Join(d, relativeDataFolder)
			if _, err := os.Stat(filepath.Join(dir, "manifest.jsonl")); err != nil {
				t.Fatalf("barcodetest: barcode photo set missing: expected %s/manifest.jsonl (module root %s): %v", dir, d, err)
			}
			return dir
		}
		if filepath.Dir(d) == d {
			t.Fatalf("barcodetest: no go.mod above %s, cannot locate %s", wd, relativeDataFolder)
		}
	}
}

// Load returns every image with ground truth plus every image of the
// false-positive folder, sorted by name. Images that zxing-cpp could not read
// when the ground truth was made are left out (nothing to score there).
func Load(t testing.TB) []Case {
	t.Helper()
	dir := DataDir(t)
	f, err := os.Open(filepath.Join(dir, "manifest.jsonl"))
	if err != nil {
		t.Fatalf("barcodetest: %v", err)
	}
	defer f.Close()
	byName := map[string]*Case{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var rec struct {
			File   string       `json:"file"`
			W      int          `json:"w"`
			H      int          `json:"h"`
			Format string       `json:"format"`
			Text   string       `json:"text"`
			Points [][2]float64 `json:"points"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("barcodetest: manifest line %d: %v", line, err)
		}
		if len(rec.Points) != 4 {
			t.Fatalf("barcodetest: manifest line %d: %d points", line, len(rec.Points))
		}
		c := byName[rec.File]
		if c == nil {
			c = &Case{Path: filepath.Join(dir, rec.File), Name: rec.File, Width: rec.W, Height: rec.H}
			byName[rec.File] = c
		}
		tr := Truth{Format: webName[rec.Format], Text: rec.Text}
		if tr.Format == "" {
			tr.Format = "unknown"
		}
		x0, y0, x1, y1 := rec.Points[0][0], rec.Points[0][1], rec.Points[0][0], rec.Points[0][1]
		for i, p := range rec.Points {
			tr.Points[i] = p
			x0, y0 = min(x0, p[0]), min(y0, p[1])
			x1, y1 = max(x1, p[0]), max(y1, p[1])
		}
		tr.Box = Box{x0, y0, x1 - x0, y1 - y0}
		c.Truth = append(c.Truth, tr)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("barcodetest: %v", err)
	}
	fps, err := filepath.Glob(filepath.Join(dir, FalsePositivesDir, "*"))
	if err != nil {
		t.Fatalf("barcodetest: %v", err)
	}
	for _, p := range fps {
		switch strings.ToLower(filepath.Ext(p)) {
		case ".png", ".jpg", ".jpeg", ".gif":
		default:
			continue
		}
		name := FalsePositivesDir + "/" + filepath.Base(p)
		byName[name] = &Case{Path: p, Name: name, FalsePositive: true}
	}
	if len(byName) == 0 {
		t.Fatalf("barcodetest: no cases in %s", dir)
	}
	cases := make([]Case, 0, len(byName))
	for _, c := range byName {
		cases = append(cases, *c)
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].Name < cases[j].Name })
	return cases
}

// LoadRGBA decodes an image file into RGBA (what the compositor uploads).
func LoadRGBA(path string) (*image.RGBA, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b := img.Bounds()
	rgba := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(rgba, rgba.Bounds(), img, b.Min, draw.Src)
	return rgba, nil
}

// Tally counts ground-truth barcodes.
type Tally struct{ Total, Localized, Decoded int }

func (t Tally) frac(n int) float64 {
	if t.Total == 0 {
		return 0
	}
	return float64(n) / float64(t.Total)
}

// LocalizedRate is Localized/Total.
func (t Tally) LocalizedRate() float64 { return t.frac(t.Localized) }

// DecodedRate is Decoded/Total.
func (t Tally) DecodedRate() float64 { return t.frac(t.Decoded) }

// Report holds the scored figures.
type Report struct {
	Overall       Tally
	PerFormat     map[string]*Tally
	FPImages      int // false-positive images with at least one detection
	FPTotalImages int
	FPDetections  int      // detections on false-positive images
	Missed        []string // "name format text" of not-localized truths
	Undecoded     []string // localized but not decoded
	FalseAlarms   []string // false-positive images with detections
}

// Localized reports whether det localizes tr: the detection's box covers at
// least MinCoverage of the ground-truth box and is at most MaxAreaRatio times
// its area.
func Localized(det, tr Box) bool {
	ga := tr.Area()
	if ga <= 0 {
		return false
	}
	return det.intersect(tr)/ga >= MinCoverage && det.Area() <= MaxAreaRatio*ga
}

// Score scores the detections of each case (dets[i] belongs to cases[i]).
func Score(cases []Case, dets [][]Detection) Report {
	r := Report{PerFormat: map[string]*Tally{}}
	for i, c := range cases {
		var ds []Detection
		if i < len(dets) {
			ds = dets[i]
		}
		if c.FalsePositive {
			r.FPTotalImages++
			if len(ds) > 0 {
				r.FPImages++
				r.FPDetections += len(ds)
				r.FalseAlarms = append(r.FalseAlarms, fmt.Sprintf("%s (%d)", c.Name, len(ds)))
			}
			continue
		}
		for _, tr := range c.Truth {
			pf := r.PerFormat[tr.Format]
			if pf == nil {
				pf = &Tally{}
				r.PerFormat[tr.Format] = pf
			}
			pf.Total++
			r.Overall.Total++
			loc, dec := false, false
			for _, d := range ds {
				if Localized(d.Box, tr.Box) {
					loc = true
					if d.RawValue == tr.Text {
						dec = true
					}
				}
			}
			id := fmt.Sprintf("%s %s %q", c.Name, tr.Format, tr.Text)
			if loc {
				pf.Localized++
				r.Overall.Localized++
			} else {
				r.Missed = append(r.Missed, id)
			}
			if dec {
				pf.Decoded++
				r.Overall.Decoded++
			} else if loc {
				r.Undecoded = append(r.Undecoded, id)
			}
		}
	}
	return r
}

// String formats the per-format and overall figures as a table.
func (r Report) String() string {
	var b strings.Builder
	names := make([]string, 0, len(r.PerFormat))
	for n := range r.PerFormat {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(&b, "%-12s %5s %16s %16s\n", "format", "n", "localized", "decoded")
	row := func(n string, t Tally) {
		fmt.Fprintf(&b, "%-12s %5d %5d (%5.1f%%) %5d (%5.1f%%)\n", n, t.Total,
			t.Localized, 100*t.LocalizedRate(), t.Decoded, 100*t.DecodedRate())
	}
	for _, n := range names {
		row(n, *r.PerFormat[n])
	}
	row("overall", r.Overall)
	fmt.Fprintf(&b, "false-positive images: %d of %d (%d detections)\n", r.FPImages, r.FPTotalImages, r.FPDetections)
	return b.String()
}

// Check fails t when the acceptance bars are not met.
func (r Report) Check(t testing.TB) {
	t.Helper()
	if r.Overall.Total == 0 {
		t.Fatal("barcodetest: no ground truth scored")
	}
	if got := r.Overall.LocalizedRate(); got < MinLocalized {
		t.Errorf("localized %.1f%% < %.0f%%", 100*got, 100*MinLocalized)
	}
	if got := r.Overall.DecodedRate(); got < MinDecoded {
		t.Errorf("decoded %.1f%% < %.0f%%", 100*got, 100*MinDecoded)
	}
	if r.FPImages > MaxFalsePosImages {
		t.Errorf("false-positive images %d > %d", r.FPImages, MaxFalsePosImages)
	}
}
