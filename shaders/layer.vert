#version 330 core
// One layer of a scene: a quad over the layer's destination rectangle
// (canvas pixels, x right, y down, row 0 at the top: no flip), turned by
// uRot (cos, sin; clockwise on the screen) about uCenter, sampling the
// source rectangle uSrc (texture coordinates: x, y, width, height). No
// vertex buffer: the four corners come from gl_VertexID (a strip).
uniform vec4 uDst;
uniform vec4 uSrc;
uniform vec2 uCenter;
uniform vec2 uRot;
uniform vec2 uTargetSize;
out vec2 vUV;

void main() {
	vec2 k = vec2(float(gl_VertexID & 1), float((gl_VertexID >> 1) & 1));
	vec2 p = uDst.xy + k * uDst.zw - uCenter;
	// y points down, so this turns clockwise on the screen.
	p = vec2(p.x * uRot.x - p.y * uRot.y, p.x * uRot.y + p.y * uRot.x) + uCenter;
	gl_Position = vec4(p / uTargetSize * 2.0 - 1.0, 0.0, 1.0);
	vUV = uSrc.xy + k * uSrc.zw;
}
