package service

import (
	"reflect"
	"strings"
	"testing"

	"github.com/shadercast/shadercast/codec/vp8"
)

func TestParseRungs(t *testing.T) {
	for _, c := range []struct {
		specs []string
		want  [][2]int
		err   string
	}{
		{[]string{"1/2", "1/4"}, [][2]int{{640, 360}, {320, 180}}, ""},
		{[]string{"1/4", "1/2"}, [][2]int{{640, 360}, {320, 180}}, ""}, // largest first
		{[]string{"1/3"}, [][2]int{{426, 240}}, ""},                    // even sides
		{[]string{"854x480", " 1/4"}, [][2]int{{854, 480}, {320, 180}}, ""},
		{[]string{"none"}, nil, ""},
		{nil, nil, ""},
		{[]string{"1/1"}, nil, "N ≥ 2"},
		{[]string{"1/x"}, nil, "N ≥ 2"},
		{[]string{"half"}, nil, "1/N or WxH"},
		{[]string{"640x"}, nil, "1/N or WxH"},
		{[]string{"1280x720"}, nil, "smaller than"},
		{[]string{"1920x1080"}, nil, "smaller than"},
		{[]string{"1/100"}, nil, "at least 16"},
		{[]string{"640x720"}, nil, "as high as the canvas"},
		{[]string{"1/2", "320x360"}, nil, "two renditions 360 high"},
	} {
		got, err := parseRungs(c.specs, 1280, 720)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want one saying %q", c.specs, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %v %v, want %v", c.specs, got, err, c.want)
		}
	}
}

func TestRungBitrate(t *testing.T) {
	top := 1_500_000
	half, quarter := rungBitrate(top, 1280, 720, 640, 360), rungBitrate(top, 1280, 720, 320, 180)
	if half < top/3 || half > top*2/5 || quarter < top/9 || quarter > top/7 {
		t.Errorf("1.5 Mbit/s top: half %d, quarter %d; want about 35%% and 12%%", half, quarter)
	}
	if b := rungBitrate(top, 1280, 720, 16, 16); b != vp8.MinBitrate {
		t.Errorf("a 16x16 rung gets %d bit/s, want the encoders' floor %d", b, vp8.MinBitrate)
	}
}
