/*{
	"DESCRIPTION": "Trails: mixes each frame into a persistent buffer",
	"CREDIT": "shadercast (in the style of the ISF examples)",
	"ISFVSN": "2",
	"CATEGORIES": [
		"Blur"
	],
	"INPUTS": [
		{
			"NAME": "inputImage",
			"TYPE": "image"
		},
		{
			"NAME": "persistence",
			"LABEL": "Persistence",
			"TYPE": "float",
			"DEFAULT": 0.5,
			"MIN": 0.0,
			"MAX": 1.0
		},
		{
			"NAME": "clear",
			"TYPE": "event"
		}
	],
	"PASSES": [
		{
			"TARGET":"bufferVariableNameA",
			"persistentBuffer": true,
			"FLOAT": true
		},
		{

		}
	]
}*/

void main()
{
	if (PASSINDEX == 0)	{
		vec4		freshPixel = IMG_THIS_PIXEL(inputImage);
		vec4		stalePixel = IMG_THIS_PIXEL(bufferVariableNameA);
		gl_FragColor = (clear || FRAMEINDEX == 0) ? freshPixel : mix(freshPixel, stalePixel, persistence);
	}
	else	{
		gl_FragColor = IMG_THIS_PIXEL(bufferVariableNameA);
	}
}
