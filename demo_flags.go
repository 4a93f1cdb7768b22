package main

// demoFlags are the demo command's flags.
type demoFlags struct {
	addr, publicURL, mapping, api, experience string
}
