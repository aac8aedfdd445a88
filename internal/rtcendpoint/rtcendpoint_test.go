package rtcendpoint

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/pion/webrtc/v4"
)

func TestICEServerLinksFormat(t *testing.T) {
	servers := []webrtc.ICEServer{
		{URLs: []string{"stun:stun.example.net:3478", "stun:[2001:db8::1]:3478"}},
		{URLs: []string{"turn:turn.example.net:3478?transport=udp", "turns:turn.example.net:5349?transport=tcp"},
			Username: "user", Credential: `pa"ss\word`},
		// OAuth credentials cannot be expressed in a Link header.
		{URLs: []string{"turn:oauth.example.net"}, Username: "u", Credential: webrtc.OAuthCredential{MACKey: "k", AccessToken: "t"}},
	}
	want := []string{
		`<stun:stun.example.net:3478>; rel="ice-server"`,
		`<stun:[2001:db8::1]:3478>; rel="ice-server"`,
		`<turn:turn.example.net:3478?transport=udp>; rel="ice-server"; username="user"; credential="pa\"ss\\word"; credential-type="password"`,
		`<turns:turn.example.net:5349?transport=tcp>; rel="ice-server"; username="user"; credential="pa\"ss\\word"; credential-type="password"`,
	}
	if got := ICEServerLinks(servers, true); !slices.Equal(got, want) {
		t.Errorf("with secrets:\n got %q\nwant %q", got, want)
	}
	if got := ICEServerLinks(servers, false); !slices.Equal(got, want[:2]) {
		t.Errorf("without secrets:\n got %q\nwant %q", got, want[:2])
	}
}

func TestUnconnectedPerAddress(t *testing.T) {
	u := NewUnconnected(2)
	req := func(remote string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.RemoteAddr = remote
		return r
	}
	var rel []func()
	for i, remote := range []string{"192.0.2.1:1000", "192.0.2.1:1001"} {
		f, ok := u.Take(req(remote))
		if !ok {
			t.Fatalf("take %d refused under the limit", i)
		}
		rel = append(rel, f)
	}
	if _, ok := u.Take(req("192.0.2.1:1002")); ok {
		t.Fatal("third session of one address accepted past the limit of 2")
	}
	if _, ok := u.Take(req("192.0.2.2:1000")); !ok {
		t.Fatal("another address refused")
	}
	// One IPv6 /64 is one address; another /64 is not.
	for i := 0; i < 2; i++ {
		if _, ok := u.Take(req(fmt.Sprintf("[2001:db8:1:2::%d]:5000", i+1))); !ok {
			t.Fatalf("v6 take %d refused", i)
		}
	}
	if _, ok := u.Take(req("[2001:db8:1:2:ffff::9]:5000")); ok {
		t.Fatal("third session of one /64 accepted")
	}
	if _, ok := u.Take(req("[2001:db8:1:3::1]:5000")); !ok {
		t.Fatal("another /64 refused")
	}
	rel[0]()
	rel[0]() // idempotent: must not free a second slot
	if _, ok := u.Take(req("192.0.2.1:1003")); !ok {
		t.Fatal("slot not given back by release")
	}
	if _, ok := u.Take(req("192.0.2.1:1004")); ok {
		t.Fatal("a double release freed two slots")
	}
	if n := len(NewUnconnected(0).n); n != 0 {
		t.Fatal(n)
	}
	unl := NewUnconnected(0)
	for i := 0; i < 100; i++ {
		if _, ok := unl.Take(req("192.0.2.1:1")); !ok {
			t.Fatal("max 0 must mean no limit")
		}
	}
}
