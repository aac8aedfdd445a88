// Package chromium drives Debian's headless Chromium over the DevTools
// protocol on --remote-debugging-pipe (JSON messages separated by NUL on
// file descriptors 3 and 4) for end-to-end tests of the viewer and
// publisher pages: no port to discover, no Origin checks, no websocket
// dependency. Tests fail (never skip) when Chromium is missing.
package chromium

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Path is Debian's chromium; $CHROMIUM overrides it.
func Path() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

type Browser struct {
	t   testing.TB
	cmd *exec.Cmd
	in  *os.File // our end of Chromium's fd 3 (commands)

	stderr *tailBuffer

	wmu  sync.Mutex // serializes writes to in
	mu   sync.Mutex
	next int64
	wait map[int64]chan cdpMessage
	dead chan struct{} // closed when the reader sees EOF
	logs []string      // console messages and exceptions, bounded
}

type cdpMessage struct {
	ID        int64           `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

func Launch(t testing.TB, extra ...string) *Browser {
	t.Helper()
	// Our own temp dir rather than t.TempDir: Chromium's helper processes
	// can still be writing for a moment after the browser exits, and we
	// want to kill them all before removing it.
	dir, err := os.MkdirTemp("", "shadercast-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	cmdR, cmdW, err := os.Pipe() // we write commands, Chromium reads fd 3
	if err != nil {
		t.Fatal(err)
	}
	evR, evW, err := os.Pipe() // Chromium writes fd 4, we read
	if err != nil {
		t.Fatal(err)
	}
	bin := Path()
	if _, err := exec.LookPath(bin); err != nil {
		t.Fatalf("chromium not found at %s (%v): this test needs Debian's `chromium` package; run scripts/install-deps (or set CHROMIUM to a Chromium binary)", bin, err)
	}
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		// No network here but loopback: without these Chromium keeps
		// trying (and failing) to reach Google's services.
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--autoplay-policy=no-user-gesture-required",
		// Let WebRTC gather 127.0.0.1 host candidates too, so ICE does not
		// depend on the machine having any other interface.
		"--allow-loopback-in-peer-connection",
		"--mute-audio",
		"--remote-debugging-pipe",
		"--user-data-dir=" + dir,
	}
	args = append(append(args, extra...), "about:blank")
	cmd := exec.Command(bin, args...)
	cmd.ExtraFiles = []*os.File{cmdR, evW} // fd 3, fd 4
	// Own process group, so cleanup can end the browser and every helper
	// process it forked (renderer, GPU, utility) by one group id.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	b := &Browser{t: t, cmd: cmd, in: cmdW, stderr: &tailBuffer{max: 16 << 10},
		wait: map[int64]chan cdpMessage{}, dead: make(chan struct{})}
	cmd.Stderr = b.stderr
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		t.Fatalf("start %s: %v", bin, err)
	}
	cmdR.Close()
	evW.Close()
	go b.read(evR)

	t.Cleanup(func() {
		// Ask politely first so Chromium flushes and exits on its own,
		// then make sure of the whole group.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, _ = b.Call(ctx, "", "Browser.close", nil)
		cancel()
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		// Helpers that outlived the browser process.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmdW.Close()
		evR.Close()
		var err error
		for i := 0; i < 20; i++ {
			if err = os.RemoveAll(dir); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("remove Chromium profile %s: %v", dir, err)
	})
	return b
}

func (b *Browser) read(r io.Reader) {
	defer close(b.dead)
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		msg, err := br.ReadBytes(0)
		if err != nil {
			return
		}
		var m cdpMessage
		if json.Unmarshal(msg[:len(msg)-1], &m) != nil {
			continue
		}
		if m.ID != 0 {
			b.mu.Lock()
			ch := b.wait[m.ID]
			delete(b.wait, m.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		b.event(m)
	}
}

// event keeps the page's console output and uncaught exceptions for the
// failure message: they usually say why nothing plays.
func (b *Browser) event(m cdpMessage) {
	var line string
	switch m.Method {
	case "Runtime.consoleAPICalled":
		var p struct {
			Type string `json:"type"`
			Args []struct {
				Value       any    `json:"value"`
				Description string `json:"description"`
			} `json:"args"`
		}
		_ = json.Unmarshal(m.Params, &p)
		var parts []string
		for _, a := range p.Args {
			if a.Value != nil {
				parts = append(parts, fmt.Sprint(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		line = "console." + p.Type + ": " + strings.Join(parts, " ")
	case "Runtime.exceptionThrown":
		var p struct {
			Details struct {
				Text      string `json:"text"`
				Exception struct {
					Description string `json:"description"`
				} `json:"exception"`
			} `json:"exceptionDetails"`
		}
		_ = json.Unmarshal(m.Params, &p)
		line = "exception: " + p.Details.Text + " " + p.Details.Exception.Description
	default:
		return
	}
	b.mu.Lock()
	if len(b.logs) < 200 {
		b.logs = append(b.logs, line)
	}
	b.mu.Unlock()
}

// call sends one command (to the browser when session is "", else to that
// attached target) and waits for its reply.
// Call sends a DevTools command; see the protocol documentation.
func (b *Browser) Call(ctx context.Context, session, method string, params any) (json.RawMessage, error) {
	ch := make(chan cdpMessage, 1)
	b.mu.Lock()
	b.next++
	id := b.next
	b.wait[id] = ch
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.wait, id)
		b.mu.Unlock()
	}()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	b.wmu.Lock()
	_, err = b.in.Write(append(data, 0))
	b.wmu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("%s: write to Chromium: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return nil, fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		return m.Result, nil
	case <-b.dead:
		return nil, fmt.Errorf("%s: Chromium exited", method)
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

type Page struct {
	b       *Browser
	session string
}

// openPage creates a tab at url and attaches to it in flat mode (commands
// carry the sessionId; no nested Target.sendMessageToTarget).
func (b *Browser) OpenPage(ctx context.Context, url string) (*Page, error) {
	res, err := b.Call(ctx, "", "Target.createTarget", map[string]any{"url": url})
	if err != nil {
		return nil, err
	}
	var tgt struct {
		TargetID string `json:"targetId"`
	}
	if err := json.Unmarshal(res, &tgt); err != nil {
		return nil, err
	}
	res, err = b.Call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": tgt.TargetID, "flatten": true})
	if err != nil {
		return nil, err
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	if err := json.Unmarshal(res, &att); err != nil {
		return nil, err
	}
	p := &Page{b: b, session: att.SessionID}
	// Console and exceptions into b.logs (events raised before this are
	// replayed by Runtime.enable).
	if _, err := b.Call(ctx, p.session, "Runtime.enable", nil); err != nil {
		return nil, err
	}
	return p, nil
}

// eval evaluates expr in the page (awaiting a promise result) and decodes
// the value into out.
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	res, err := p.b.Call(ctx, p.session, "Runtime.evaluate", map[string]any{
		"expression": expr, "returnByValue": true, "awaitPromise": true,
	})
	if err != nil {
		return err
	}
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return err
	}
	if e := r.ExceptionDetails; e != nil {
		return fmt.Errorf("evaluate %q: %s %s", expr, e.Text, e.Exception.Description)
	}
	if len(r.Result.Value) == 0 || string(r.Result.Value) == "null" {
		return errors.New("evaluate: no value")
	}
	return json.Unmarshal(r.Result.Value, out)
}

// diagnostics is what a failure message needs: the page's console and the
// tail of Chromium's stderr.
func (b *Browser) Diagnostics() string {
	b.mu.Lock()
	logs := strings.Join(b.logs, "\n")
	b.mu.Unlock()
	return "page console:\n" + logs + "\nchromium stderr (tail):\n" + b.stderr.String()
}

// tailBuffer keeps the last max bytes written (Chromium can be chatty).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
