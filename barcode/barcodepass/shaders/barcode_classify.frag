#version 330 core
// Barcode pass, stage 3 of 3: vertical box mean and features -> RGBA8 mask.
// Go reference: barcode.poolPixel + barcode.classifyPixel (barcode/stages.go);
// keep in sync. The RGBA8 result is read back as barcode.Mask.
//
// Input  uInput, uInput1: stage 2 planes (RGBA32F, RG32F), w x h = uInputSize.
// Output: RGBA8 (UNORM), w x h, analysis resolution:
//   R = coherence  |mean z^2| / mean |g|^2            (1: parallel bars)
//   G = grid score |mean z^4/|g|^2| / mean |g|^2      (1: perpendicular grid or bars)
//   B = grid orientation atan(mean z^4)/4 in [0, pi/2), mapped to [0, 1)
//   A = min(sqrt(mean |g|^2) * uEnergyGain, 1)
// where the means are over the (2r+1) x (2r+1) window (vertical part here,
// horizontal part in stage 2), rows clamped to the edge.
// Defines:
//   RADIUS  pooling radius r = Params.WindowRadius (0..12), a compile-time
//           constant so that the loop unrolls.
// Uniforms:
//   uEnergyGain (float) Params.EnergyGain

uniform sampler2D uInput;
uniform sampler2D uInput1;
uniform ivec2 uInputSize;
const int kRadius = RADIUS;
uniform float uEnergyGain;

out vec4 fragColor;

const float kPi = 3.14159265358979;

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec4 a = vec4(0.0);
    vec2 b = vec2(0.0);
    for (int j = -kRadius; j <= kRadius; j++) {
        ivec2 q = ivec2(p.x, clamp(p.y + j, 0, uInputSize.y - 1));
        a += texelFetch(uInput, q, 0);
        b += texelFetch(uInput1, q, 0).rg;
    }
    float inv = 1.0 / float(2 * kRadius + 1);
    float e = a.x * inv;
    vec2 z2 = a.yz * inv;
    vec2 z4 = b.xy * inv;
    float den = e + 1e-6;
    float coh = length(z2) / den;
    float grid = length(z4) / den;
    // atan(0, 0) is undefined in GLSL; flat areas get angle 0 like the Go side.
    float ga = 0.0;
    if (z4.x != 0.0 || z4.y != 0.0) {
        ga = 0.25 * atan(z4.y, z4.x);
    }
    if (ga < 0.0) {
        ga += kPi / 2.0;
    }
    fragColor = vec4(min(coh, 1.0), min(grid, 1.0), ga * (2.0 / kPi),
                     min(sqrt(e) * uEnergyGain, 1.0));
}
