package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/shadercast/shadercast/barcode"
	"github.com/shadercast/shadercast/barcode/barcodepass"
	"github.com/shadercast/shadercast/compositor"
	"github.com/shadercast/shadercast/internal/imagefile"
	"github.com/shadercast/shadercast/media"
)

// detectResult is one line of `detect --json`.
type detectResult struct {
	File     string                    `json:"file"`
	Width    int                       `json:"width,omitempty"`
	Height   int                       `json:"height,omitempty"`
	Barcodes []barcode.DetectedBarcode `json:"barcodes"`
	Error    string                    `json:"error,omitempty"`
}

func detect(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("detect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print one JSON object per image: file, width, height, barcodes (DetectedBarcode: format, rawValue, boundingBox, cornerPoints)")
	maxPixels := fs.Int64("max-image-pixels", 0, "refuse images whose header declares more than `N` pixels, before decoding (0: 64 Mpx)")
	outDir := fs.String("out", "", "write each image with its barcodes highlighted to `DIR`/NAME.png (NAME-2.png, ... when names repeat)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: shadercast detect [--json] [--out DIR] IMAGE...

Runs each PNG, JPEG or GIF image through the same GPU pipeline as the video
(barcode localization on the GPU, decoding with zxing-cpp on the located
regions) and prints what it found, in image pixels. An image that cannot be
read, or whose header declares more pixels than --max-image-pixels, gets an
error line and the others go on; the exit status is 1 when any image failed.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	if *outDir != "" {
		if err := os.MkdirAll(*outDir, 0o755); err != nil {
			fmt.Fprintf(stderr, "shadercast detect: %v\n", err)
			return 1
		}
	}
	dev, err := compositor.OpenDevice(compositor.DeviceOptions{})
	if err != nil {
		fmt.Fprintf(stderr, "shadercast detect: %v\n", err)
		return 1
	}
	defer dev.Close()
	params := barcode.DefaultParams()
	params.DisableCache = true // still images: every one is new
	bp := barcodepass.New(params)
	pl, err := compositor.NewPipeline(dev, compositor.Config{Output: compositor.OutputRGBA}, bp)
	if err != nil {
		fmt.Fprintf(stderr, "shadercast detect: %v\n", err)
		return 1
	}
	defer pl.Close()

	enc := json.NewEncoder(stdout)
	used := map[string]bool{} // output names given so far: a/1.png and b/1.png must not collide
	failed := false
	var out compositor.Output
	for _, file := range fs.Args() {
		res := detectResult{File: file, Barcodes: []barcode.DetectedBarcode{}}
		outPath := ""
		if *outDir != "" {
			base := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
			name := base
			for n := 2; used[name]; n++ {
				name = fmt.Sprintf("%s-%d", base, n)
			}
			used[name] = true
			outPath = filepath.Join(*outDir, name+".png")
		}
		err := detectOne(pl, file, outPath, imagefile.Options{MaxPixels: *maxPixels}, &res, &out)
		if err != nil {
			failed = true
			res.Error = err.Error()
			if !*asJSON {
				msg := err.Error()
				if !strings.HasPrefix(msg, file+": ") { // image errors name their file already
					msg = file + ": " + msg
				}
				fmt.Fprintln(stderr, msg)
				continue
			}
		}
		if *asJSON {
			if err := enc.Encode(res); err != nil {
				fmt.Fprintf(stderr, "shadercast detect: %v\n", err)
				return 1
			}
			continue
		}
		fmt.Fprintf(stdout, "%s: %dx%d, %d barcode(s)\n", file, res.Width, res.Height, len(res.Barcodes))
		for _, b := range res.Barcodes {
			bb := b.BoundingBox
			fmt.Fprintf(stdout, "  %-11s %q at (%.0f,%.0f) %.0fx%.0f\n", b.Format, b.RawValue, bb.X, bb.Y, bb.Width, bb.Height)
		}
	}
	if failed {
		return 1
	}
	return 0
}

func detectOne(pl *compositor.Pipeline, file, outPath string, opts imagefile.Options, res *detectResult, out *compositor.Output) error {
	img, _, err := imagefile.Open(file, opts)
	if err != nil {
		return err
	}
	frame, err := frameFromImage(img, 0)
	if err != nil {
		return err
	}
	defer frame.Close()
	if err := pl.Process(context.Background(), frame, out); err != nil {
		return err
	}
	defer out.Frame.Close()
	res.Width, res.Height = frame.CodedWidth(), frame.CodedHeight()
	res.Barcodes = append(res.Barcodes, barcodepass.Barcodes(out.Results)...)
	if outPath == "" {
		return nil
	}
	rgba, err := imageFromFrame(out.Frame)
	if err != nil {
		return err
	}
	return writePNG(outPath, rgba)
}

// frameFromImage converts any image to an RGBA frame.
func frameFromImage(img image.Image, timestamp int64) (media.VideoFrame, error) {
	b := img.Bounds()
	rgba, ok := img.(*image.RGBA)
	if !ok || rgba.Rect.Min != (image.Point{}) {
		rgba = image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		draw.Draw(rgba, rgba.Rect, img, b.Min, draw.Src)
	}
	return media.NewVideoFrame(rgba.Pix, media.VideoFrameInit{
		Format: media.RGBA, CodedWidth: b.Dx(), CodedHeight: b.Dy(), Timestamp: timestamp,
		Layout: []media.PlaneLayout{{Offset: 0, Stride: rgba.Stride}},
	})
}

// imageFromFrame copies an RGBA frame into an image.
func imageFromFrame(f media.VideoFrame) (*image.RGBA, error) {
	if f.Format() != media.RGBA {
		return nil, fmt.Errorf("frame is %v, want RGBA", f.Format())
	}
	img := image.NewRGBA(image.Rect(0, 0, f.CodedWidth(), f.CodedHeight()))
	if _, err := f.CopyTo(img.Pix, []media.PlaneLayout{{Offset: 0, Stride: img.Stride}}); err != nil {
		return nil, err
	}
	return img, nil
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
