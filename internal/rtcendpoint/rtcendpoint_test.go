package rtcendpoint

import (
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
