/*{
	"ISFVSN": "2",
	"DESCRIPTION": "Light trails: bright things leave a fading trace (a persistent buffer fed back every frame)",
	"CREDIT": "shadercast",
	"CATEGORIES": ["Stylize"],
	"INPUTS": [
		{"NAME": "inputImage", "TYPE": "image"},
		{"NAME": "decay", "TYPE": "float", "LABEL": "Persistence", "DEFAULT": 0.9, "MIN": 0.0, "MAX": 0.99},
		{"NAME": "clear", "TYPE": "event", "LABEL": "Clear trails"}
	],
	"PASSES": [
		{"TARGET": "trail", "PERSISTENT": true, "FLOAT": true},
		{}
	]
}*/

// The trail buffer keeps its content from frame to frame (PERSISTENT) and
// is a float target (FLOAT) so that a slow decay does not stall on 8-bit
// steps. Pass 0 reads its own previous content: the compositor gives a
// pass the last frame's buffer while it draws the new one.
void main() {
	vec4 c = IMG_THIS_PIXEL(inputImage);
	if (PASSINDEX == 0) {
		vec4 prev = clear ? vec4(0.0) : IMG_THIS_PIXEL(trail);
		gl_FragColor = max(c, prev * decay);
	} else {
		gl_FragColor = vec4(IMG_THIS_PIXEL(trail).rgb, c.a);
	}
}
