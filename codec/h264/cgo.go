package h264

/*
#cgo pkg-config: openh264
#include "sch264.h"
*/
import "C"
