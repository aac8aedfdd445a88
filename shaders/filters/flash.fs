/*{
	"ISFVSN": "2",
	"DESCRIPTION": "Flashes the frame with a colour for one frame each time the event fires (press the button)",
	"CREDIT": "shadercast",
	"CATEGORIES": ["Utility"],
	"INPUTS": [
		{"NAME": "inputImage", "TYPE": "image"},
		{"NAME": "flash", "TYPE": "event", "LABEL": "Flash"},
		{"NAME": "flashColor", "TYPE": "color", "LABEL": "Colour", "DEFAULT": [1.0, 1.0, 1.0, 0.8]}
	]
}*/

// An event input is true for exactly one frame after it fires.
void main() {
	vec4 c = IMG_THIS_PIXEL(inputImage);
	if (flash) {
		c.rgb = mix(c.rgb, flashColor.rgb, flashColor.a);
	}
	gl_FragColor = c;
}
