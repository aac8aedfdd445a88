package assets

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(http.StripPrefix("/view", Handler()))
	defer srv.Close()
	for _, tc := range []struct {
		path, method string
		status       int
		ctype, body  string
	}{
		{"/view/", "GET", 200, "text/html; charset=utf-8", `<script src="viewer.js">`},
		{"/view/viewer.html", "GET", 200, "text/html; charset=utf-8", "<video"},
		{"/view/viewer.js", "GET", 200, "text/javascript; charset=utf-8", "window.shadercast"},
		{"/view/viewer.js", "HEAD", 200, "text/javascript; charset=utf-8", ""},
		{"/view/nope.css", "GET", 404, "", ""},
		{"/view/", "POST", 405, "", ""},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
			continue
		}
		if tc.ctype != "" && resp.Header.Get("Content-Type") != tc.ctype {
			t.Errorf("%s %s: Content-Type %q, want %q", tc.method, tc.path, resp.Header.Get("Content-Type"), tc.ctype)
		}
		if !strings.Contains(string(b), tc.body) {
			t.Errorf("%s %s: body lacks %q", tc.method, tc.path, tc.body)
		}
	}
}
