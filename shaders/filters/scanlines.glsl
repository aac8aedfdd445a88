// A ShaderToy shader, as pasted from shadertoy.com: shadercast runs
// mainImage with iChannel0 bound to the frame. It imitates a CRT: every
// other pair of rows is darkened, and the picture is slightly curved
// towards black at the corners.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
	vec2 uv = fragCoord / iResolution.xy;
	vec3 c = texture(iChannel0, uv).rgb;
	// Rows 0-1 of each group of 4 (counted from the bottom) stay, rows 2-3
	// are darkened: 2-pixel lines read well at any size.
	float line = mod(floor(fragCoord.y), 4.0) < 2.0 ? 1.0 : 0.7;
	// Corner fall-off: 1 in the middle, 0.8 at the corners.
	vec2 d = uv - 0.5;
	float corner = 1.0 - 0.4 * dot(d, d);
	fragColor = vec4(c * line * corner, 1.0);
}
