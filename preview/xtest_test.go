package preview

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// xvfbKill stops a test's X server early (tests run one at a time).
var xvfbKill = map[*testing.T]func(){}

func killXvfb(t *testing.T) { xvfbKill[t]() }

// startXvfb starts a private X server and returns its display name; it
// stops at the end of the test.
//
// The display number is drawn at random from a high range rather than left
// to -displayfd, which always tries :0 first: other tests on the machine
// start and kill X servers at the same time, and a server killed outright
// leaves a stale lock that two new servers can both claim.
func startXvfb(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("Xvfb")
	if err != nil {
		t.Fatalf("the preview tests need Xvfb (Debian: apt-get install xvfb xauth, or scripts/install-deps): %v", err)
	}
	var errs []string
	for try := 0; try < 5; try++ {
		n := 200 + rand.IntN(30000)
		display, err := tryXvfb(t, bin, n)
		if err == nil {
			return display
		}
		errs = append(errs, fmt.Sprintf(":%d: %v", n, err))
	}
	t.Fatalf("Xvfb did not start:\n%s", strings.Join(errs, "\n"))
	return ""
}

func tryXvfb(t *testing.T, bin string, n int) (string, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return "", err
	}
	defer r.Close()
	cmd := exec.Command(bin, ":"+strconv.Itoa(n), "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		w.Close()
		return "", err
	}
	w.Close()
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	kill := func() {
		// SIGTERM lets Xvfb remove its lock file and socket.
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case s := <-line:
		// Xvfb writes the number once it accepts connections.
		if s != strconv.Itoa(n) {
			kill()
			return "", fmt.Errorf("reported display %q: %s", s, stderr.String())
		}
	case <-exited:
		return "", fmt.Errorf("exited at start: %s", stderr.String())
	case <-time.After(20 * time.Second):
		kill()
		return "", fmt.Errorf("not ready within 20 s: %s", stderr.String())
	}
	xvfbKill[t] = kill
	t.Cleanup(func() {
		delete(xvfbKill, t)
		kill()
	})
	return ":" + strconv.Itoa(n), nil
}

// tool runs an X client against display and returns its trimmed output.
func tool(t *testing.T, display, name string, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("the preview tests need %s (Debian: x11-apps for xwd, xdotool; or scripts/install-deps): %v", name, err)
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	out, err := cmd.Output()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		err = fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, ee.Stderr)
	}
	return strings.TrimSpace(string(out)), err
}

// screenshot takes the whole screen with xwd.
func screenshot(t *testing.T, display string) *image.RGBA {
	t.Helper()
	cmd := exec.Command("xwd", "-root", "-silent", "-display", display)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("xwd: %v", err)
	}
	img, err := parseXWD(out)
	if err != nil {
		t.Fatalf("parsing xwd output: %v", err)
	}
	return img
}

// parseXWD decodes an X Window Dump in ZPixmap format with 24 or 32 bits
// per pixel and true-colour masks: what xwd writes for a 24-bit screen.
func parseXWD(b []byte) (*image.RGBA, error) {
	const fields = 25
	if len(b) < fields*4 {
		return nil, errors.New("short header")
	}
	h := make([]uint32, fields)
	for i := range h {
		h[i] = binary.BigEndian.Uint32(b[4*i:])
	}
	headerSize, version, format := h[0], h[1], h[2]
	width, height := int(h[4]), int(h[5])
	byteOrder, bpp, bpl := h[7], int(h[11]), int(h[12])
	masks := [3]uint32{h[14], h[15], h[16]}
	ncolors := int(h[19])
	if version != 7 {
		return nil, fmt.Errorf("XWD version %d, want 7", version)
	}
	if format != 2 {
		return nil, fmt.Errorf("pixmap format %d, want ZPixmap (2)", format)
	}
	if bpp != 24 && bpp != 32 {
		return nil, fmt.Errorf("%d bits per pixel, want 24 or 32", bpp)
	}
	off := int(headerSize) + 12*ncolors
	if off+bpl*height > len(b) || bpl < width*bpp/8 {
		return nil, fmt.Errorf("image data: %d bytes for %dx%d at %d bytes per line, have %d", bpl*height, width, height, bpl, len(b)-off)
	}
	var shift [3]uint
	for i, m := range masks {
		if m == 0 {
			return nil, errors.New("zero colour mask (not true colour)")
		}
		for m&1 == 0 {
			m >>= 1
			shift[i]++
		}
	}
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	step := bpp / 8
	for y := 0; y < height; y++ {
		row := b[off+y*bpl:]
		for x := 0; x < width; x++ {
			p := row[x*step : x*step+step]
			var v uint32
			for i := 0; i < step; i++ {
				if byteOrder == 0 { // LSBFirst
					v |= uint32(p[i]) << (8 * i)
				} else {
					v = v<<8 | uint32(p[i])
				}
			}
			img.SetRGBA(x, y, color.RGBA{
				R: uint8((v & masks[0]) >> shift[0]),
				G: uint8((v & masks[1]) >> shift[1]),
				B: uint8((v & masks[2]) >> shift[2]),
				A: 255,
			})
		}
	}
	return img, nil
}

// geometry is a window's position and size on the screen.
type geometry struct{ x, y, w, h int }

func windowGeometry(t *testing.T, display, id string) geometry {
	t.Helper()
	out, err := tool(t, display, "xdotool", "getwindowgeometry", "--shell", id)
	if err != nil {
		t.Fatal(err)
	}
	var g geometry
	for _, l := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(l, "=")
		n, _ := strconv.Atoi(v)
		switch k {
		case "X":
			g.x = n
		case "Y":
			g.y = n
		case "WIDTH":
			g.w = n
		case "HEIGHT":
			g.h = n
		}
	}
	return g
}
