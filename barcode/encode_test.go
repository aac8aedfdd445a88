package barcode

import "testing"

func TestEncode(t *testing.T) {
	cases := []struct{ format, text string }{
		{"ean_13", "5901234123457"},
		{"upc_a", "036000291452"},
		{"code_128", "shadercast 128"},
		{"qr_code", "https://example.com/shadercast"},
		{"data_matrix", "DataMatrix 42"},
		{"code_39", "CODE39"},
		{"itf", "12345678"},
		{"pdf417", "pdf417 payload"},
	}
	for _, c := range cases {
		img, err := Encode(c.format, c.text, 300, 150)
		if err != nil {
			t.Fatalf("%s: %v", c.format, err)
		}
		b := img.Bounds()
		if b.Dx() < 20 || b.Dy() < 20 {
			t.Fatalf("%s: tiny image %v", c.format, b)
		}
		black := 0
		for _, v := range img.Pix {
			if v == 0 {
				black++
			}
		}
		if black == 0 || black == len(img.Pix) {
			t.Fatalf("%s: degenerate image", c.format)
		}
		g := Gray{Pix: img.Pix, Stride: img.Stride, Width: b.Dx(), Height: b.Dy()}
		rs, err := decodeAll(g, zxWebFormats, zxTryHarder|zxTryRotate)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 || rs[0].Format != c.format || rs[0].Text != c.text {
			t.Fatalf("%s: round trip got %+v", c.format, rs)
		}
	}
	if _, err := Encode("ean_13", "not digits", 100, 50); err == nil {
		t.Fatal("expected error for invalid EAN-13 content")
	}
	if _, err := Encode("nope", "x", 10, 10); err == nil {
		t.Fatal("expected error for unknown format")
	}
}

// zxResult is one symbol read by zxing-cpp, in the coordinates of the view.
type zxResult struct {
	Format string
	Text   string
	Corner [4]Point
}

// decodeAll reads every symbol of g (one at a time is what Detector does;
// here a single symbol is expected).
func decodeAll(g Gray, formats, flags int) ([]zxResult, error) {
	var d decoder
	var out []zxResult
	_, err := d.read(g, formats, flags, 1, func(f int, text []byte, c *[4]Point) {
		name, ok := webFormats[f]
		if !ok {
			name = "unknown"
		}
		out = append(out, zxResult{Format: name, Text: string(text), Corner: *c})
	})
	return out, err
}
