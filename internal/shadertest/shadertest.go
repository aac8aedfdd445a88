// Package shadertest holds the ISF shaders that tests of the shader safety
// nets share (the trial render, the watchdog, the bypass of failing
// passes), from unit tests to the built binary's: one copy, so that every
// level tests the same hostile shader.
package shadertest

// Grey is a well-behaved filter: the input times level (0.5 by default).
const Grey = `/*{
	"DESCRIPTION": "grey",
	"INPUTS": [
		{"NAME": "inputImage", "TYPE": "image"},
		{"NAME": "level", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0}
	]
}*/
void main() {
	gl_FragColor = vec4(vec3(level), 1.0) * IMG_THIS_PIXEL(inputImage);
}
`

// Endless loops 2^31 x 2^31 times per pixel: for ever on a GPU; on llvmpipe
// (which ends a shader invocation after 65535 loop iterations in all)
// still seconds to minutes per frame. Its gain input lets a test set a
// value that a reload must be tried with; the picture is 0.75 grey times
// gain.
const Endless = `/*{
	"DESCRIPTION": "never finishes a frame",
	"INPUTS": [
		{"NAME": "inputImage", "TYPE": "image"},
		{"NAME": "gain", "TYPE": "float", "DEFAULT": 1.0}
	]
}*/
void main() {
	float a = 0.0;
	for (int i = 0; i < 2147483647; i++) {
		for (int j = 0; j < 2147483647; j++) {
			a += sin(a + float(j)) * cos(a - float(i)) + sin(a * 1.0001) * cos(a * 0.9999);
		}
	}
	gl_FragColor = vec4(vec3(0.75) * gain + a * 1e-30, 1.0);
}
`

// Heavy does count iterations of real work per pixel: trivial at its
// default (1), as slow as wanted when the input is raised, the way a
// parameter change can make a live shader overrun.
const Heavy = `/*{
	"DESCRIPTION": "as slow as its count",
	"INPUTS": [
		{"NAME": "inputImage", "TYPE": "image"},
		{"NAME": "count", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 2000000000.0}
	]
}*/
void main() {
	vec4 c = IMG_THIS_PIXEL(inputImage);
	float a = 0.0;
	int n = int(count);
	for (int i = 0; i < n; i++) {
		a += sin(a + float(i)) * cos(a - float(i));
	}
	gl_FragColor = vec4(c.rgb + vec3(a * 1e-30), c.a);
}
`

// RedBuf paints red through a persistent-size target whose width is the
// frame's times scale: a scale that makes the target larger than the GL
// implementation allows fails the pass on a frame (a real render error),
// and scale 1 makes it work again.
const RedBuf = `/*{
	"INPUTS": [
		{"NAME": "inputImage", "TYPE": "image"},
		{"NAME": "scale", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 100000.0}
	],
	"PASSES": [{"TARGET": "buf", "WIDTH": "$WIDTH * $scale", "HEIGHT": "$HEIGHT"}, {}]
}*/
void main() {
	if (PASSINDEX == 0) {
		gl_FragColor = vec4(1.0, 0.0, 0.0, 1.0);
	} else {
		gl_FragColor = IMG_NORM_PIXEL(buf, isf_FragNormCoord);
	}
}
`
