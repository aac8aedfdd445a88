// Package licenses names the licence of a dependency from its licence
// file, so that a test can keep the README's list of dependencies and
// their licences true when dependencies change (licenses_test.go).
package licenses

import "strings"

// Allowed are the licences compatible with shadercast's own (Apache-2.0)
// for code built into the binary or linked with it: permissive ones, and
// the LGPL for a library linked dynamically and replaceable.
var Allowed = map[string]bool{
	"Apache-2.0": true, "MIT": true, "BSD-2-Clause": true, "BSD-3-Clause": true,
	"ISC": true, "Zlib": true, "LGPL-2.1-or-later": true,
}

// Classify names the licence whose text is text, by phrases each licence
// has and the others do not; "" when it recognises none. It is meant for
// the licence files of dependencies, not for arbitrary prose.
func Classify(text string) string {
	t := strings.Join(strings.Fields(text), " ")
	has := func(s string) bool { return strings.Contains(t, s) }
	switch {
	case has("GNU GENERAL PUBLIC LICENSE") || has("GNU AFFERO"):
		return "GPL"
	case has("GNU LESSER GENERAL PUBLIC LICENSE"):
		return "LGPL-2.1-or-later"
	case has("Mozilla Public License"):
		return "MPL-2.0"
	case has("Apache License") && has("Version 2.0"):
		return "Apache-2.0"
	case has("Permission is hereby granted, free of charge"):
		return "MIT"
	case has("Permission to use, copy, modify, and/or distribute"):
		return "ISC"
	case has("This software is provided 'as-is'"):
		return "Zlib"
	case has("Redistribution and use in source and binary forms"):
		if has("Neither the name") || has("names of its contributors") || has("name of the copyright holder") {
			return "BSD-3-Clause"
		}
		return "BSD-2-Clause"
	}
	return ""
}
