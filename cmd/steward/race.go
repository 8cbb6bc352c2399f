//go:build race

package main

// raceBuild is a build with the race detector.
const raceBuild = true
